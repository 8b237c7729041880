//! Slots, retries, the fail-fast policy and cancellation: which record runs
//! where and when, and when to stop starting new ones.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cancel::{Cancel, StopReason};
use crate::config::Policy;
use crate::exec::Executor;
use crate::input::Record;
use crate::task::{Outcome, Status};

/// Outcomes waiting for the sink; a slow stdout holds the slots back.
const OUTCOME_QUEUE: usize = 256;

pub struct Plan {
    pub jobs: usize,
    pub retries: u32,
    pub policy: Policy,
}

/// Where outcomes go, on the thread that called `run`.
pub trait Consumer {
    fn accept(&mut self, outcome: Outcome);
    /// No outcome is waiting right now: a good moment to flush output.
    fn idle(&mut self);
}

/// Runs every record on `plan.jobs` slot threads and hands each outcome to
/// `consumer` on the calling thread, in completion order.
pub fn run(
    plan: &Plan,
    records: Receiver<Vec<Record>>,
    executor: &dyn Executor,
    cancel: &Arc<Cancel>,
    consumer: &mut dyn Consumer,
) {
    let dispenser = Dispenser {
        inner: Mutex::new((records, VecDeque::new())),
    };
    let (tx, rx) = sync_channel(OUTCOME_QUEUE);
    std::thread::scope(|scope| {
        for slot in 1..=plan.jobs {
            let tx = tx.clone();
            let dispenser = &dispenser;
            std::thread::Builder::new()
                .name(format!("slot-{slot}"))
                .spawn_scoped(scope, move || run_slot(slot, plan, dispenser, executor, cancel, tx))
                .expect("spawning a slot thread");
        }
        drop(tx);
        loop {
            let outcome = match rx.try_recv() {
                Ok(outcome) => outcome,
                Err(_) => {
                    consumer.idle();
                    match rx.recv() {
                        Ok(outcome) => outcome,
                        Err(_) => break,
                    }
                }
            };
            consumer.accept(outcome);
        }
    });
}

fn run_slot(
    slot: usize,
    plan: &Plan,
    dispenser: &Dispenser,
    executor: &dyn Executor,
    cancel: &Arc<Cancel>,
    tx: SyncSender<Outcome>,
) {
    while let Some(record) = dispenser.next(cancel) {
        let outcome = run_with_retries(&record, slot, plan.retries, executor, cancel);
        let failed = outcome.status.is_failure();
        if tx.send(outcome).is_err() {
            return;
        }
        // Sent first, so the sink sees the failure that stopped the run
        // before the outcomes of the tasks the stop kills.
        if failed && plan.policy == Policy::FailFast {
            cancel.stop(StopReason::FailFast);
        }
    }
}

pub fn run_with_retries(
    record: &Record,
    slot: usize,
    retries: u32,
    executor: &dyn Executor,
    cancel: &Cancel,
) -> Outcome {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut outcome = executor.run(record, slot, cancel);
        outcome.attempts = attempts;
        let retry = outcome.status.is_failure()
            && outcome.status != Status::InvalidInput
            && attempts <= retries
            && !cancel.is_stopping();
        if !retry {
            return outcome;
        }
    }
}

/// Hands out records one at a time to whichever slot is free.
struct Dispenser {
    inner: Mutex<(Receiver<Vec<Record>>, VecDeque<Record>)>,
}

impl Dispenser {
    fn next(&self, cancel: &Cancel) -> Option<Record> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (rx, pending) = &mut *guard;
        loop {
            if cancel.is_stopping() {
                return None;
            }
            if let Some(record) = pending.pop_front() {
                return Some(record);
            }
            // Wake now and then so a stop is seen while input is idle.
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(batch) => pending.extend(batch),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}
