//! `--number-of-cores`, `--number-of-threads`, `--number-of-sockets`: the
//! machine's CPUs counted as GNU parallel counts them, from
//! `/proc/cpuinfo` where there is one.

/// What to count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum CpuCount {
    /// Physical cores (GNU parallel's `--number-of-cpus` too).
    Cores,
    /// Hardware threads: what the system schedules on.
    Threads,
    Sockets,
}

/// The count on this machine; without `/proc/cpuinfo`, every thread the
/// system offers counts as a core on one socket.
pub(crate) fn count(what: CpuCount) -> usize {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let counted = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| count_in(&text, what));
    counted.unwrap_or(match what {
        CpuCount::Cores | CpuCount::Threads => threads,
        CpuCount::Sockets => 1,
    })
}

/// Counts in the text of `/proc/cpuinfo`: processors, distinct
/// (physical id, core id) pairs, distinct physical ids. `None` when it
/// names no processor.
fn count_in(cpuinfo: &str, what: CpuCount) -> Option<usize> {
    let mut processors = 0;
    let mut cores = std::collections::HashSet::new();
    let mut sockets = std::collections::HashSet::new();
    let mut socket = None;
    for line in cpuinfo.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "processor" => processors += 1,
            "physical id" => {
                socket = Some(value.trim().to_string());
                sockets.insert(value.trim().to_string());
            }
            "core id" => {
                cores.insert((socket.clone(), value.trim().to_string()));
            }
            _ => {}
        }
    }
    if processors == 0 {
        return None;
    }
    Some(match what {
        CpuCount::Threads => processors,
        // Without core ids (some ARM and virtual machines) each processor is a core.
        CpuCount::Cores if cores.is_empty() => processors,
        CpuCount::Cores => cores.len(),
        CpuCount::Sockets => sockets.len().max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_sockets_of_two_cores_with_two_threads_each() {
        let mut text = String::new();
        for (n, (socket, core)) in [(0, 0), (0, 1), (1, 0), (1, 1), (0, 0), (0, 1), (1, 0), (1, 1)]
            .iter()
            .enumerate()
        {
            text += &format!("processor\t: {n}\nphysical id\t: {socket}\ncore id\t\t: {core}\n\n");
        }
        assert_eq!(count_in(&text, CpuCount::Threads), Some(8));
        assert_eq!(count_in(&text, CpuCount::Cores), Some(4));
        assert_eq!(count_in(&text, CpuCount::Sockets), Some(2));
        let bare = "processor\t: 0\nprocessor\t: 1\n";
        assert_eq!(count_in(bare, CpuCount::Cores), Some(2));
        assert_eq!(count_in(bare, CpuCount::Sockets), Some(1));
        assert_eq!(count_in("", CpuCount::Threads), None);
    }
}
