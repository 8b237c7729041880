//! Observers: what watches tasks end (the progress bar, the job log, the
//! `--results` files) and never decides anything. Whatever runs tasks tells
//! each one, once per task, on the thread that ended it; the run's end is
//! told once.

use crate::input::Record;
use crate::task::Outcome;

/// Watches every task end. Calls come from several slot threads at once,
/// hence `&self` and `Sync`.
pub trait Observer: Sync {
    /// A task has ended, after its retries; a skipped task too. `outcome`
    /// carries its command line when the run renders one.
    fn ended(&self, outcome: &Outcome);

    /// [`Observer::ended`], with the record the task ran for, for an
    /// observer that needs its fields (the paths of `--results`).
    fn ended_for(&self, record: &Record, outcome: &Outcome) {
        let _ = record;
        self.ended(outcome);
    }

    /// The run is over: clear what was drawn, flush what was written. An
    /// error says what the run missed because of this observer.
    fn finish(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The observers of one run, in the order they are told.
#[derive(Default)]
pub struct Observers(Vec<Box<dyn Observer>>);

impl Observers {
    pub const fn new() -> Observers {
        Observers(Vec::new())
    }

    pub fn push(&mut self, observer: Box<dyn Observer>) {
        self.0.push(observer);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn ended(&self, outcome: &Outcome) {
        for observer in &self.0 {
            observer.ended(outcome);
        }
    }

    pub fn ended_for(&self, record: &Record, outcome: &Outcome) {
        for observer in &self.0 {
            observer.ended_for(record, outcome);
        }
    }

    /// Finishes every observer, even after one fails; returns the first error.
    pub fn finish(&self) -> anyhow::Result<()> {
        let mut first = Ok(());
        for observer in &self.0 {
            let result = observer.finish();
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}
