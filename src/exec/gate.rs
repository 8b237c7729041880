//! When a task may start: `--delay` spaces starts apart, `--memfree` and
//! `--load` hold them while the machine is short of memory or busy,
//! whatever executor runs the tasks.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Executor;
use crate::cancel::Cancel;
use crate::input::Record;
use crate::task::Outcome;

/// How often a task waiting for its turn looks whether the run is stopping.
const CANCEL_CHECK: Duration = Duration::from_millis(50);
/// How often the machine is measured again while it is over a limit.
const RECHECK: Duration = Duration::from_millis(500);

/// The conditions a task start waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Limits {
    /// `--delay`: the least time between two starts.
    pub gap: Option<Duration>,
    /// `--memfree`: bytes that must be free, as GNU parallel counts them.
    pub memfree: Option<u64>,
    /// `--load`: start only while fewer threads than this run or wait for disk.
    pub load: Option<f64>,
    /// `--noswap`: start only while the machine is not swapping both in and
    /// out (GNU parallel's `vmstat` si times so).
    pub noswap: bool,
}

impl Limits {
    pub fn any(&self) -> bool {
        *self != Limits::default()
    }
}

pub struct StartGate<'a> {
    inner: &'a dyn Executor,
    limits: Limits,
    /// When the next task may start; `None` before the first.
    next: Mutex<Option<Instant>>,
    /// `--noswap`: the swap counters when last measured.
    swapped: Mutex<Option<(u64, u64)>>,
}

impl<'a> StartGate<'a> {
    pub fn new(inner: &'a dyn Executor, limits: Limits) -> StartGate<'a> {
        StartGate {
            inner,
            limits,
            next: Mutex::new(None),
            swapped: Mutex::new(crate::sys::swap_pages()),
        }
    }

    /// Waits for this task's turn. The lock is held while waiting, so turns
    /// are taken one at a time and each start is measured again, as GNU
    /// parallel starts at most one task that pushes the machine over.
    fn wait_turn(&self, cancel: &Cancel) {
        let mut next = crate::lock(&self.next);
        if let Some(at) = *next {
            wait_until(|| Instant::now() >= at, CANCEL_CHECK, cancel);
        }
        wait_until(|| self.machine_has_room(), RECHECK, cancel);
        *next = self.limits.gap.and_then(|gap| Instant::now().checked_add(gap));
    }

    fn machine_has_room(&self) -> bool {
        let memory = self
            .limits
            .memfree
            .map_or(true, |want| crate::sys::free_memory().is_some_and(|free| free >= want));
        let load = self.limits.load.map_or(true, |most| {
            crate::sys::busy_threads().is_some_and(|busy| (busy as f64) < most)
        });
        memory && load && !(self.limits.noswap && self.swapping())
    }

    /// Whether pages were swapped both in and out since the last look.
    fn swapping(&self) -> bool {
        let now = crate::sys::swap_pages();
        let before = std::mem::replace(&mut *crate::lock(&self.swapped), now);
        match (before, now) {
            (Some((was_in, was_out)), Some((now_in, now_out))) => now_in > was_in && now_out > was_out,
            // Unknown swapping counts as swapping, as in GNU parallel.
            _ => true,
        }
    }
}

/// Waits until `ready`, looking again every `every`, or until the run stops.
fn wait_until(ready: impl Fn() -> bool, every: Duration, cancel: &Cancel) {
    while !ready() && !cancel.is_stopping() {
        let mut slept = Duration::ZERO;
        while slept < every && !cancel.is_stopping() {
            std::thread::sleep(CANCEL_CHECK);
            slept += CANCEL_CHECK;
        }
    }
}

impl Executor for StartGate<'_> {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        self.wait_turn(cancel);
        if cancel.is_stopping() {
            // It waited for its turn when the run stopped: it never starts.
            let message = format!(
                "ppool: task {}: not started: the run stopped while it waited to start",
                record.seq
            );
            return Outcome::not_run(record, slot, crate::task::Status::Failed, &message);
        }
        self.inner.run(record, slot, cancel)
    }
}
