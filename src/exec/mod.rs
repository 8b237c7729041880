//! Executors: how a task becomes an outcome (a process, a builtin worker, …).

pub mod command;
pub mod coprocess;
#[cfg(test)]
pub mod fake;
pub mod frame;
pub mod gate;
pub mod pool;
pub mod process;
pub mod session;
pub mod slurm;
pub mod spawn;
pub mod ssh;
pub mod transfer;
pub mod worker;

use crate::cancel::Cancel;
use crate::input::Record;
use crate::task::{Ended, Outcome};

/// Runs one attempt of one task. Never fails: a task that cannot run is an
/// outcome with a failed status, so every record yields exactly one.
pub trait Executor: Sync {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome;

    /// Records a slot takes at a time. Executors that amortise a cost over
    /// many records (a pipe round trip to a worker) take more than one.
    fn batch_size(&self) -> usize {
        1
    }

    /// The lane through which tasks pass a large stdout straight to ppool's
    /// stdout, for the printer to share; `None` when they never do.
    fn stdout_lane(&self) -> Option<std::sync::Arc<crate::capture::Lane>> {
        None
    }

    /// The slots an executor brings itself (the hosts of `--ssh`, each with
    /// its own), when it decides how many tasks run at once: asked before the
    /// first task, then again as tasks end, at most every second.
    fn slots(&self) -> Option<usize> {
        None
    }

    /// Tasks each record becomes: `--onall` runs every record once per host.
    fn copies(&self) -> u64 {
        1
    }

    /// Runs a batch taken by one slot, one outcome per record, through `emit`.
    /// Retries are the scheduler's; `emit` returns false when nobody listens.
    fn run_batch(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Outcome) -> bool) {
        for record in records {
            if !emit(self.run(record, slot, cancel)) {
                return;
            }
        }
    }

    /// [`Executor::run_batch`], for a run where nothing needs tasks one by
    /// one: tasks in a row that succeed with stdout only may come as one
    /// [`crate::task::Chunk`]. Every other task comes as its own outcome.
    fn run_chunked(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Ended) -> bool) {
        self.run_batch(records, slot, cancel, &mut |outcome| emit(Ended::Task(outcome)));
    }
}

/// For an executor whose one run of a batch serves both
/// [`Executor::run_batch`] and [`Executor::run_chunked`]: hands each task's
/// outcome to `emit` where chunks were not asked for (so none is made).
pub(crate) fn tasks_only(emit: &mut dyn FnMut(Outcome) -> bool) -> impl FnMut(Ended) -> bool + '_ {
    move |ended| match ended {
        Ended::Task(outcome) => emit(outcome),
        // Not asked for: never made.
        Ended::Chunk(chunk) => chunk.is_empty(),
    }
}
