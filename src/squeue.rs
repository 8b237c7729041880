//! This run's jobs and steps in Slurm's queue (`--slurm`): each is named
//! `ppool:<seq>:<run>` (a worker `ppool:worker:<run>`), so that the guard of
//! a ppool killed outright can find them in `squeue` and cancel them with
//! `scancel`. Only Slurm's commands and the standard library: the guard
//! calls this after ppool is gone.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The directory of a run's prolog and step files, named by the run so
/// that the guard of a ppool killed outright removes it too.
pub fn side_dir(run: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ppool-slurm-{run}"))
}

/// This user's id, as squeue and scancel take it.
pub fn uid() -> String {
    // SAFETY: getuid cannot fail and touches no memory.
    unsafe { libc::getuid() }.to_string()
}

/// Cancels the jobs or steps this run left in Slurm, found in squeue by
/// their names, and removes its prolog: the guard's last act for a ppool
/// killed outright. Inside an
/// allocation they are its steps; outside, jobs of this user.
pub fn cancel_run(run: &str) {
    let _ = std::fs::remove_dir_all(side_dir(run));
    let allocation = std::env::var("SLURM_JOB_ID").ok().filter(|j| !j.is_empty());
    let mut squeue = Command::new("squeue");
    squeue.args(["--noheader", "--format=%i %j"]);
    match &allocation {
        Some(job) => squeue.args(["--steps", "--jobs", job]),
        None => squeue.args(["--user", &uid()]),
    };
    let Ok(listed) = squeue.stdin(Stdio::null()).stderr(Stdio::null()).output() else {
        return;
    };
    let ours = ours(&String::from_utf8_lossy(&listed.stdout), run);
    if ours.is_empty() {
        return;
    }
    let _ = Command::new("scancel")
        .arg("--quiet")
        .args(&ours)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The ids in squeue's `%i %j` lines whose name is `ppool:<seq>:<run>` or
/// `ppool:worker:<run>`.
fn ours(listed: &str, run: &str) -> Vec<String> {
    listed
        .lines()
        .filter_map(|line| line.trim().split_once(' '))
        .filter(|(_, name)| {
            name.strip_prefix("ppool:")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(seq, r)| r == run && (seq == "worker" || seq.parse::<u64>().is_ok()))
        })
        .map(|(id, _)| id.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_name_this_runs_jobs_steps_and_workers() {
        let listed = "12.0 ppool:1:77.5\n12.1 ppool:2:77.5\n12.2 ppool:3:78.1\n12.batch batch\n13 ppool:x:77.5\n14 ppool:worker:77.5\n";
        assert_eq!(ours(listed, "77.5"), ["12.0", "12.1", "14"]);
    }
}
