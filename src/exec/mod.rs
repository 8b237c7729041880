//! Executors: how a task becomes an outcome (a process, a builtin worker, …).

pub mod capture;
pub mod command;
pub mod process;

use crate::cancel::Cancel;
use crate::input::Record;
use crate::task::Outcome;

/// Runs one attempt of one task. Never fails: a task that cannot run is an
/// outcome with a failed status, so every record yields exactly one.
pub trait Executor: Sync {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome;
}
