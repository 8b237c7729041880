//! `--delay DUR`: task starts spaced at least DUR apart, whatever runs them.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Executor;
use crate::cancel::Cancel;
use crate::input::Record;
use crate::task::Outcome;

/// How often a task waiting for its turn looks whether the run is stopping.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

pub struct Delayed<'a> {
    inner: &'a dyn Executor,
    gap: Duration,
    /// When the next task may start; `None` before the first.
    next: Mutex<Option<Instant>>,
}

impl<'a> Delayed<'a> {
    pub fn new(inner: &'a dyn Executor, gap: Duration) -> Delayed<'a> {
        Delayed {
            inner,
            gap,
            next: Mutex::new(None),
        }
    }

    /// Waits for this task's turn. The lock is held while waiting, so turns
    /// are taken one at a time, in the order slots asked for them.
    fn wait_turn(&self, cancel: &Cancel) {
        let mut next = crate::lock(&self.next);
        if let Some(at) = *next {
            loop {
                let now = Instant::now();
                if now >= at || cancel.is_stopping() {
                    break;
                }
                std::thread::sleep((at - now).min(CANCEL_CHECK));
            }
        }
        *next = Instant::now().checked_add(self.gap);
    }
}

impl Executor for Delayed<'_> {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        self.wait_turn(cancel);
        self.inner.run(record, slot, cancel)
    }
}
