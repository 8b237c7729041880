//! `--eta`: GNU parallel's progress lines on stderr, the estimated time
//! left among them. It only watches tasks end: after a header, each end
//! rewrites one status line (`\r`, as GNU parallel writes it, terminal or
//! not), and the run's end closes it with a newline.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::input::ReadEnd;
use crate::observer::Observer;
use crate::task::Outcome;

pub struct Eta {
    start: Instant,
    jobs: usize,
    /// The task count when known up front; else the input tells it once read.
    total: Option<u64>,
    read_end: Arc<Mutex<ReadEnd>>,
    done: Mutex<u64>,
}

impl Eta {
    /// Writes GNU parallel's header for one computer, this one, with `jobs` slots.
    pub fn start(jobs: usize, total: Option<u64>, read_end: Arc<Mutex<ReadEnd>>) -> Eta {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let _ = write!(
            std::io::stderr().lock(),
            "\nComputers / CPU cores / Max jobs to run\n1:local / {cores} / {jobs}\n\n\
             Computer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n"
        );
        Eta {
            start: Instant::now(),
            jobs,
            total,
            read_end,
            done: Mutex::new(0),
        }
    }

    fn total(&self) -> Option<u64> {
        self.total.or_else(|| crate::lock(&self.read_end).total)
    }
}

/// GNU parallel's status line after `done` of `total` tasks in `elapsed`
/// seconds on `jobs` slots: the time left is the average time a task took
/// (wall clock over tasks done) times the tasks left.
pub fn status_line(done: u64, total: Option<u64>, elapsed: f64, jobs: usize) -> String {
    let average = if done == 0 { 0.0 } else { elapsed / done as f64 };
    let host = |running: u64| format!("local:{running}/{done}/100%/{average:.1}s");
    match total {
        Some(total) => {
            let left = total.saturating_sub(done);
            let eta = (average * left as f64) as u64;
            let running = left.min(jobs as u64);
            format!("ETA: {eta}s Left: {left} AVG: {average:.2}s  {}", host(running))
        }
        None => format!("ETA: ?s Left: ? AVG: {average:.2}s  {}", host(jobs as u64)),
    }
}

impl Observer for Eta {
    fn ended(&self, _outcome: &Outcome) {
        let mut done = crate::lock(&self.done);
        *done += 1;
        let line = status_line(*done, self.total(), self.start.elapsed().as_secs_f64(), self.jobs);
        // Under the lock, so that lines of slots ending at once keep their order.
        let _ = write!(std::io::stderr().lock(), "\r{line}");
    }

    fn finish(&self) -> anyhow::Result<()> {
        let done = *crate::lock(&self.done);
        let line = status_line(done, self.total(), self.start.elapsed().as_secs_f64(), self.jobs);
        let _ = writeln!(std::io::stderr().lock(), "\r{line}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_gnu_parallels() {
        assert_eq!(
            status_line(7, Some(9), 7.77, 2),
            "ETA: 2s Left: 2 AVG: 1.11s  local:2/7/100%/1.1s"
        );
        assert_eq!(
            status_line(9, Some(9), 10.0, 2),
            "ETA: 0s Left: 0 AVG: 1.11s  local:0/9/100%/1.1s"
        );
        assert_eq!(
            status_line(0, Some(3), 0.5, 4),
            "ETA: 0s Left: 3 AVG: 0.00s  local:3/0/100%/0.0s"
        );
        assert_eq!(
            status_line(2, None, 1.0, 4),
            "ETA: ?s Left: ? AVG: 0.50s  local:4/2/100%/0.5s"
        );
    }
}
