//! Slots, retries, the fail-fast policy and cancellation: which record runs
//! where and when, and when to stop starting new ones.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cancel::{Cancel, StopReason};
use crate::config::Policy;
use crate::exec::Executor;
use crate::input::Record;
use crate::task::{Outcome, Status};

/// Batches of outcomes waiting for the sink; a slow stdout holds the slots back.
const OUTCOME_QUEUE: usize = 16;
/// Outcomes of a batch-capable executor travel to the sink this many at a
/// time at most, so millions of tiny tasks do not cost a channel operation
/// (and a wake-up) each.
const OUTCOME_BATCH: usize = 256;

/// Says whether a record is already done (`--resume`): it then yields a
/// `skipped` outcome without running.
pub type SkipFilter<'a> = &'a (dyn Fn(&Record) -> bool + Sync);

pub struct Plan<'a> {
    pub jobs: usize,
    pub retries: u32,
    pub policy: Policy,
    pub skip: Option<SkipFilter<'a>>,
    /// `imap` with batches: hand out no record more than this many past
    /// the oldest one still running, so the sink's reorder buffer (and
    /// memory) stays bounded when one slot lags behind the others.
    pub window: Option<u64>,
    /// Told of each task that ended (after its retries), on the slot's
    /// thread, before its outcome waits for the sink: the job log, so that
    /// a slow stdout does not hold log lines back.
    pub ended: Option<&'a (dyn Fn(&Outcome) + Sync)>,
}

/// A good `Plan::window` for batch-capable executors: many batches wide.
pub const REORDER_WINDOW: u64 = 1 << 16;

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
        window: plan.window,
        oldest: (0..=plan.jobs).map(|_| AtomicU64::new(u64::MAX)).collect(),
        next: AtomicU64::new(1),
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
            let outcomes = match rx.try_recv() {
                Ok(outcomes) => outcomes,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    consumer.idle();
                    // Wake now and then while tasks run, so the consumer can
                    // notice a closed stdout before it has anything to write.
                    match rx.recv_timeout(Duration::from_millis(200)) {
                        Ok(outcomes) => outcomes,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            for outcome in outcomes {
                consumer.accept(outcome);
            }
        }
    });
}

fn run_slot(
    slot: usize,
    plan: &Plan,
    dispenser: &Dispenser,
    executor: &dyn Executor,
    cancel: &Arc<Cancel>,
    tx: SyncSender<Vec<Outcome>>,
) {
    let deliver_all = |outcomes: Vec<Outcome>| {
        if plan.policy == Policy::FailFast {
            if let Some(failed) = outcomes.iter().find(|o| o.status.is_failure()) {
                // Names the failed task, so the sink tells it from the tasks
                // the stop kills, whichever of them it sees first.
                cancel.stop(StopReason::FailFast { seq: failed.seq });
            }
        }
        tx.send(outcomes).is_ok()
    };
    let ended = |outcome: &Outcome| {
        if let Some(ended) = plan.ended {
            ended(outcome);
        }
    };
    let deliver = |outcome: Outcome| {
        ended(&outcome);
        deliver_all(vec![outcome])
    };
    loop {
        // Asked each time: an executor may learn its best batch size as it goes.
        let batch_size = executor.batch_size().max(1);
        let Some(mut records) = dispenser.take(slot, batch_size, cancel) else {
            return;
        };
        if let Some(skip) = plan.skip {
            let mut run = Vec::with_capacity(records.len());
            for record in records {
                if !skip(&record) {
                    run.push(record);
                } else if !deliver(Outcome::without_run(record.seq, record.whole, Status::Skipped, "")) {
                    return;
                }
            }
            records = run;
        }
        if batch_size == 1 {
            for record in &records {
                if !deliver(run_with_retries(record, slot, plan.retries, executor, cancel)) {
                    return;
                }
            }
            continue;
        }
        if records.iter().any(|r| r.invalid.is_some()) {
            let mut run = Vec::with_capacity(records.len());
            for record in records {
                match invalid_input(&record, slot) {
                    Some(outcome) => {
                        if !deliver(outcome) {
                            return;
                        }
                    }
                    None => run.push(record),
                }
            }
            records = run;
        }
        let mut listening = true;
        let mut outcomes = Vec::new();
        executor.run_batch(&records, slot, cancel, &mut |mut outcome| {
            outcome.ended_in_stop = cancel.is_stopping();
            let outcome = if should_retry(&outcome, plan.retries, cancel) {
                match records.binary_search_by_key(&outcome.seq, |r| r.seq) {
                    Ok(at) => retry(&records[at], outcome, slot, plan.retries, executor, cancel),
                    Err(_) => outcome,
                }
            } else {
                outcome
            };
            // A failure that stops the run goes at once.
            let urgent = outcome.status.is_failure() && plan.policy == Policy::FailFast;
            ended(&outcome);
            outcomes.push(outcome);
            if urgent || outcomes.len() >= OUTCOME_BATCH {
                listening = deliver_all(std::mem::replace(&mut outcomes, Vec::with_capacity(OUTCOME_BATCH)));
            }
            listening
        });
        if listening && !outcomes.is_empty() {
            listening = deliver_all(outcomes);
        }
        if !listening {
            return;
        }
    }
}

/// Runs a task, and again after each failure, up to `retries` more times.
pub fn run_with_retries(
    record: &Record,
    slot: usize,
    retries: u32,
    executor: &dyn Executor,
    cancel: &Cancel,
) -> Outcome {
    if let Some(outcome) = invalid_input(record, slot) {
        return outcome;
    }
    let mut outcome = attempt(record, slot, executor, cancel);
    outcome.attempts = 1;
    retry(record, outcome, slot, retries, executor, cancel)
}

/// One run of a task, marked with whether the run was already stopping when
/// it ended: read here, before this slot can itself stop the run, so an
/// outcome that ended before the stop is never taken for one it ended.
fn attempt(record: &Record, slot: usize, executor: &dyn Executor, cancel: &Cancel) -> Outcome {
    let mut outcome = executor.run(record, slot, cancel);
    outcome.ended_in_stop = cancel.is_stopping();
    outcome
}

/// A record that cannot become a task (invalid JSON and such) never reaches
/// an executor: it is an `invalid-input` outcome here, whatever runs tasks.
fn invalid_input(record: &Record, slot: usize) -> Option<Outcome> {
    let message = record.invalid.as_ref()?;
    let note = format!("ppool: task {}: {message}", record.seq);
    Some(Outcome::not_run(record, slot, Status::InvalidInput, &note))
}

fn retry(
    record: &Record,
    mut outcome: Outcome,
    slot: usize,
    retries: u32,
    executor: &dyn Executor,
    cancel: &Cancel,
) -> Outcome {
    while should_retry(&outcome, retries, cancel) {
        let attempts = outcome.attempts.max(1) + 1;
        outcome = attempt(record, slot, executor, cancel);
        outcome.attempts = attempts;
    }
    outcome
}

fn should_retry(outcome: &Outcome, retries: u32, cancel: &Cancel) -> bool {
    outcome.status.is_failure()
        && outcome.status != Status::InvalidInput
        && outcome.attempts.max(1) <= retries
        && !cancel.is_stopping()
}

/// Hands out records, in input order, to whichever slot is free.
struct Dispenser {
    inner: Mutex<(Receiver<Vec<Record>>, VecDeque<Record>)>,
    window: Option<u64>,
    /// Index = slot: the first record of the batch it runs; MAX when none.
    oldest: Vec<AtomicU64>,
    /// The sequence number of the next record handed out.
    next: AtomicU64,
}

impl Dispenser {
    /// Up to `count` records: fewer when no more are ready just now.
    fn take(&self, slot: usize, count: usize, cancel: &Cancel) -> Option<Vec<Record>> {
        self.oldest[slot].store(u64::MAX, Ordering::SeqCst);
        if let Some(window) = self.window {
            // Rare: only when a slot lags a whole window behind.
            loop {
                let oldest = self.oldest.iter().map(|o| o.load(Ordering::SeqCst)).min();
                let next = self.next.load(Ordering::SeqCst);
                if oldest.map_or(true, |oldest| next < oldest.saturating_add(window)) {
                    break;
                }
                if cancel.is_stopping() {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let mut guard = crate::lock(&self.inner);
        let (rx, pending) = &mut *guard;
        loop {
            if cancel.is_stopping() {
                return None;
            }
            if !pending.is_empty() {
                while pending.len() < count {
                    match rx.try_recv() {
                        Ok(batch) => pending.extend(batch),
                        Err(_) => break,
                    }
                }
                let n = count.min(pending.len());
                let batch: Vec<Record> = pending.drain(..n).collect();
                if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
                    self.oldest[slot].store(first.seq, Ordering::SeqCst);
                    self.next.store(last.seq + 1, Ordering::SeqCst);
                }
                return Some(batch);
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// `F` fails; `wait` runs until the run stops; anything else succeeds.
    struct Fake;

    impl Executor for Fake {
        fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
            let status = match record.whole.as_slice() {
                b"F" => Status::Failed,
                b"wait" => {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while !cancel.is_stopping() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Status::Ok
                }
                _ => Status::Ok,
            };
            Outcome::not_run(record, slot, status, "")
        }
    }

    #[derive(Default)]
    struct Collect(Vec<(Vec<u8>, bool)>);

    impl Consumer for Collect {
        fn accept(&mut self, outcome: Outcome) {
            self.0.push((outcome.input, outcome.ended_in_stop));
        }
        fn idle(&mut self) {}
    }

    /// Runs `records` under `--fail-fast`; each record's input and whether
    /// it ended in the stop, in input order.
    fn fail_fast(jobs: usize, records: &[&str]) -> Vec<(String, bool)> {
        let plan = Plan {
            jobs,
            retries: 0,
            policy: Policy::FailFast,
            skip: None,
            window: None,
            ended: None,
        };
        let (tx, rx) = sync_channel(1);
        let batch = (1..)
            .zip(records)
            .map(|(seq, r)| Record::text(seq, r.as_bytes().to_vec()))
            .collect();
        tx.send(batch).unwrap();
        drop(tx);
        let cancel = Cancel::new(jobs, Duration::ZERO);
        let mut collect = Collect::default();
        run(&plan, rx, &Fake, &cancel, &mut collect);
        let mut got: Vec<_> = collect
            .0
            .into_iter()
            .map(|(input, stopped)| (String::from_utf8(input).unwrap(), stopped))
            .collect();
        got.sort_by_key(|(input, _)| records.iter().position(|r| r == input));
        got
    }

    #[test]
    fn tasks_that_ended_before_a_fail_fast_stop_are_marked_so_whenever_they_are_delivered() {
        let got = fail_fast(1, &["x", "y", "F", "z"]);
        let expected = [("x", false), ("y", false), ("F", false)];
        assert_eq!(got, expected.map(|(i, s)| (i.to_owned(), s)));
    }

    #[test]
    fn a_task_that_ends_in_the_stop_is_marked_so() {
        let got = fail_fast(2, &["wait", "F"]);
        let expected = [("wait", true), ("F", false)];
        assert_eq!(got, expected.map(|(i, s)| (i.to_owned(), s)));
    }
}
