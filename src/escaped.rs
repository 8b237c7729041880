//! Processes that left their task's process group (a daemon started with
//! `setsid`), stopped by ppool itself when a task times out or the run
//! stops. Signals to a task's group do not reach them; they are found as
//! the guard finds a dead ppool's processes ([`Marked`]): every process the
//! run starts carries `PPOOL_RUN`, and each task's also `PPOOL_SLOT` and
//! `PPOOL_SEQ`. Linux only (/proc); elsewhere nothing is found.
//!
//! A task that ends by itself keeps what it started: only a timeout or a
//! stop of the run reaches beyond the task's group.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::guard::{self, Marked};

/// How often a wait for escaped processes looks again.
const LOOK: Duration = Duration::from_millis(50);

/// After SIGKILL, how long ppool waits for the killed to be gone.
const KILL_WAIT: Duration = Duration::from_secs(1);

/// Whose processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    /// One task's: `(PPOOL_SLOT, PPOOL_SEQ)`.
    Task(usize, u64),
    /// Every task's: those that carry a task's marker.
    Tasks,
    /// Every process of the run.
    Run,
}

/// The run was stopped: what is left of it gets SIGKILL from then.
static KILL_AT: Mutex<Option<Instant>> = Mutex::new(None);
/// A second interrupt: SIGKILL at once. Set from a signal handler.
static KILLED: AtomicBool = AtomicBool::new(false);

/// The run is stopping; its grace ends at `kill_at`.
pub(crate) fn run_stopped(kill_at: Instant) {
    let mut at = crate::lock(&KILL_AT);
    *at = Some(at.map_or(kill_at, |at| at.min(kill_at)));
}

/// Everything is killed at once. Only an atomic store: a signal handler
/// may call it.
pub(crate) fn run_killed() {
    KILLED.store(true, Ordering::SeqCst);
}

/// Before ppool exits (its tasks have ended, its workers and connections
/// are closed): a run that was stopped (a signal, a closed stdout,
/// `--fail-fast`, `--halt now`) leaves no process behind. Whatever still
/// carries the run's marker gets SIGTERM, and SIGKILL once the grace,
/// counted from the stop, is over; ppool waits for them to be gone. A run
/// that was not stopped leaves them be.
pub fn finish_run() {
    let kill_at = if KILLED.load(Ordering::SeqCst) {
        Some(Instant::now())
    } else {
        *crate::lock(&KILL_AT)
    };
    if let Some(kill_at) = kill_at {
        finish(Which::Run, kill_at);
    }
}

/// The finder of this run's processes: `None` where ppool did not mark its
/// run itself or cannot look (not Linux).
fn marked() -> Option<Marked> {
    let run = guard::own_run()?;
    // SAFETY: getpgrp cannot fail and touches no memory.
    let group = unsafe { libc::getpgrp() };
    let marked = Marked::new(run, group);
    marked.can_scan().then_some(marked)
}

/// Where the signals of `which`'s processes go now (`-group`, or a pid
/// when the process is in ppool's group), leaving out `except` (the
/// targets of the tasks still running, which their own stop reaches).
fn targets(marked: &Marked, which: Which, except: &dyn Fn(i32) -> bool) -> HashSet<i32> {
    marked
        .scan()
        .into_iter()
        .filter(|found| match which {
            Which::Task(slot, seq) => found.task == Some((slot, seq)),
            Which::Tasks => found.task.is_some(),
            Which::Run => true,
        })
        .map(|found| found.target)
        .filter(|&target| !except(target))
        .collect()
}

/// Sends `signal` to `which`'s processes but those of `except`.
pub(crate) fn signal(which: Which, signal: i32, except: &dyn Fn(i32) -> bool) {
    let Some(marked) = marked() else {
        return;
    };
    for target in targets(&marked, which, except) {
        guard::send(target, signal);
    }
}

/// Stops what is left of `which` once its tasks have ended: SIGTERM to
/// each process not told yet, SIGKILL to those still there at `kill_at`
/// (at once when it has passed: the grace was given), and waits up to
/// [`KILL_WAIT`] more for them to be gone, so that none outlives ppool.
pub(crate) fn finish(which: Which, kill_at: Instant) {
    let Some(marked) = marked() else {
        return;
    };
    let mut termed = HashSet::new();
    let mut killed: Option<Instant> = None;
    loop {
        let left = targets(&marked, which, &|_| false);
        if left.is_empty() || killed.is_some_and(|at| at.elapsed() >= KILL_WAIT) {
            return;
        }
        if Instant::now() >= kill_at {
            killed.get_or_insert_with(Instant::now);
            for &target in &left {
                guard::send(target, libc::SIGKILL);
            }
        } else {
            for &target in &left {
                if termed.insert(target) {
                    guard::send(target, libc::SIGTERM);
                }
            }
        }
        std::thread::sleep(LOOK);
    }
}
