//! Slots, retries, the fail-fast policy and cancellation: which record runs
//! where and when, and when to stop starting new ones.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cancel::{Cancel, StopReason};
use crate::config::Policy;
use crate::exec::Executor;
use crate::input::Record;
use crate::slot_table::SlotTable;
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

/// Runs every record on up to `plan.jobs` slot threads and hands each
/// outcome to `consumer` on the calling thread, in completion order.
///
/// Slots start as they are needed: one at first, then another each time
/// every started slot is busy, so a huge `--jobs` costs only the slots the
/// input keeps busy. When the system will not start another thread, the
/// run goes on with the slots it has, after a warning; it is an error only
/// when not even one slot starts.
pub fn run(
    plan: &Plan,
    records: Receiver<Vec<Record>>,
    executor: &dyn Executor,
    cancel: &Arc<Cancel>,
    consumer: &mut dyn Consumer,
) -> anyhow::Result<()> {
    let dispenser = Dispenser {
        inner: Mutex::new((records, VecDeque::new())),
        window: plan.window,
        oldest: SlotTable::new(),
        next: AtomicU64::new(1),
    };
    let slots = Slots {
        plan,
        dispenser: &dispenser,
        executor,
        cancel,
        started: AtomicUsize::new(0),
        idle: AtomicUsize::new(0),
        limit: AtomicUsize::new(plan.jobs.max(1)),
        starting: Mutex::new(()),
    };
    let (tx, rx) = sync_channel(OUTCOME_QUEUE);
    std::thread::scope(|scope| {
        if let Err(e) = slots.start(scope, &tx) {
            return Err(anyhow::Error::new(e).context(
                "cannot start a thread to run tasks: the thread or process limit is reached (raise `ulimit -u`)",
            ));
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
        Ok(())
    })
}

/// The slot threads of a run, started as they are needed.
struct Slots<'a> {
    plan: &'a Plan<'a>,
    dispenser: &'a Dispenser,
    executor: &'a dyn Executor,
    cancel: &'a Arc<Cancel>,
    /// Slots started so far: they are numbered 1 to this.
    started: AtomicUsize,
    /// Started slots waiting for records.
    idle: AtomicUsize,
    /// The most slots to start: `--jobs`, fewer once the system refused one.
    limit: AtomicUsize,
    /// Held while a slot starts, so slot numbers have no gaps.
    starting: Mutex<()>,
}

impl<'a> Slots<'a> {
    /// Starts the next slot, unless all are started (or another thread is
    /// starting one right now). Fails only when no slot could be started.
    fn start<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        tx: &SyncSender<Vec<Outcome>>,
    ) -> std::io::Result<()> {
        let Ok(_starting) = self.starting.try_lock() else {
            return Ok(());
        };
        let started = self.started.load(Ordering::SeqCst);
        let limit = self.limit.load(Ordering::SeqCst);
        if started >= limit {
            return Ok(());
        }
        let slot = started + 1;
        // Counted idle before it runs, so the slot that asked for it does
        // not ask again before it has taken a record.
        self.idle.fetch_add(1, Ordering::SeqCst);
        let tx_slot = tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("slot-{slot}"))
            .spawn_scoped(scope, move || run_slot(slot, self, scope, tx_slot));
        match spawned {
            Ok(_) => {
                self.started.store(slot, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => {
                self.idle.fetch_sub(1, Ordering::SeqCst);
                if started == 0 {
                    self.limit.store(0, Ordering::SeqCst);
                    return Err(e);
                }
                // The limit counts processes and threads alike, and each
                // slot needs room for its task's process as well as its
                // own thread: half the slots stay, the others end after
                // their task and give their room to the tasks.
                let keep = (started / 2).max(1);
                self.limit.store(keep, Ordering::SeqCst);
                // A failed write to stderr cannot be reported anywhere.
                let _ = writeln!(
                    std::io::stderr(),
                    "ppool: warning: only {keep} of {} slots could be started (thread limit: {e}); running with {keep}",
                    self.plan.jobs
                );
                Ok(())
            }
        }
    }
}

fn run_slot<'scope>(
    slot: usize,
    slots: &'scope Slots<'scope>,
    scope: &'scope std::thread::Scope<'scope, '_>,
    tx: SyncSender<Vec<Outcome>>,
) {
    let Slots {
        plan,
        dispenser,
        executor,
        cancel,
        ..
    } = *slots;
    let executor: &dyn Executor = executor;
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
    // A new slot is counted idle by whoever started it.
    let mut busy = false;
    loop {
        if std::mem::take(&mut busy) {
            slots.idle.fetch_add(1, Ordering::SeqCst);
        }
        if slot > slots.limit.load(Ordering::SeqCst) {
            // Retired: the system had no room for this many slots.
            dispenser.oldest[slot].store(0, Ordering::SeqCst);
            return;
        }
        // Asked each time: an executor may learn its best batch size as it goes.
        let batch_size = executor.batch_size().max(1);
        let Some(mut records) = dispenser.take(slot, batch_size, cancel) else {
            return;
        };
        busy = true;
        // The last idle slot is busy now: start another for the next record.
        if slots.idle.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Not even the first slot can fail here: this one exists.
            let _ = slots.start(scope, &tx);
        }
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
        executor.run_batch(&records, slot, cancel, &mut |outcome| {
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
    let mut outcome = executor.run(record, slot, cancel);
    outcome.attempts = 1;
    retry(record, outcome, slot, retries, executor, cancel)
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
        outcome = executor.run(record, slot, cancel);
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
    /// Index = slot: the first record of the batch it runs; 0 when none
    /// (records are numbered from 1).
    oldest: SlotTable<AtomicU64>,
    /// The sequence number of the next record handed out.
    next: AtomicU64,
}

impl Dispenser {
    /// Up to `count` records: fewer when no more are ready just now.
    fn take(&self, slot: usize, count: usize, cancel: &Cancel) -> Option<Vec<Record>> {
        self.oldest[slot].store(0, Ordering::SeqCst);
        if let Some(window) = self.window {
            // Rare: only when a slot lags a whole window behind.
            loop {
                let oldest = self
                    .oldest
                    .iter()
                    .map(|o| o.load(Ordering::SeqCst))
                    .filter(|&o| o != 0)
                    .min();
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
