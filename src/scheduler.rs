//! Slots, retries, the fail-fast policy and cancellation: which record runs
//! where and when, and when to stop starting new ones.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cancel::{Cancel, StopReason};
use crate::exec::Executor;
use crate::input::Record;
use crate::observer::Observers;
use crate::slot_table::SlotTable;
use crate::task::{Chunk, Ended, Outcome, Status};

/// What a failed task does to the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy {
    /// `--fail-fast`, GNU's `--halt now,fail=1`.
    FailFast,
    /// `--collect-errors`, GNU's `--halt never`: the default.
    CollectErrors,
    /// Any other `--halt WHEN,WHY=N`.
    Halt(Halt),
}

/// `--halt now|soon,fail|success|done=N|N%`, as GNU parallel spells it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Halt {
    /// `now`: stop the running tasks; `soon`: let them finish.
    pub now: bool,
    pub on: HaltOn,
    pub at: Threshold,
}

/// Which tasks count towards a halt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaltOn {
    Fail,
    Success,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Count(u64),
    /// Of all the tasks: judged once their number is known.
    Percent(f64),
}

impl Halt {
    /// Parses GNU's spellings: `never`, `now,fail=1`, `soon,success=30%`,
    /// and the old numbers `0`, `1`, `2`, `-1`, `-2` and `1-99%`.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let bad = || {
            format!(
                "--halt {text}: give never, or WHEN,WHY=N: WHEN is now or soon, WHY is fail, success or done, N a count from 1 or a percentage (now,fail=1, soon,fail=10%)"
            )
        };
        let halt = |now, on, at| Policy::Halt(Halt { now, on, at });
        let policy = match text {
            "never" | "0" => return Ok(Policy::CollectErrors),
            "1" => halt(false, HaltOn::Fail, Threshold::Count(1)),
            "2" => halt(true, HaltOn::Fail, Threshold::Count(1)),
            "-1" => halt(false, HaltOn::Success, Threshold::Count(1)),
            "-2" => halt(true, HaltOn::Success, Threshold::Count(1)),
            _ if text.ends_with('%') && !text.contains(',') => {
                halt(false, HaltOn::Fail, parse_threshold(text).ok_or_else(bad)?)
            }
            _ => {
                let (when, why) = text.split_once(',').ok_or_else(bad)?;
                let now = match when {
                    "now" => true,
                    "soon" => false,
                    _ => return Err(bad()),
                };
                let (on, n) = why.split_once('=').ok_or_else(bad)?;
                let on = match on {
                    "fail" => HaltOn::Fail,
                    "success" => HaltOn::Success,
                    "done" => HaltOn::Done,
                    _ => return Err(bad()),
                };
                halt(now, on, parse_threshold(n).ok_or_else(bad)?)
            }
        };
        Ok(match policy {
            Policy::Halt(Halt {
                now: true,
                on: HaltOn::Fail,
                at: Threshold::Count(1),
            }) => Policy::FailFast,
            other => other,
        })
    }

    /// Whether the tasks counted so far reach the threshold; `total` is
    /// the number of tasks, when known.
    fn reached(&self, tally: &Tally, total: Option<u64>) -> bool {
        let count = match self.on {
            HaltOn::Fail => tally.failed,
            HaltOn::Success => tally.succeeded,
            HaltOn::Done => tally.ended,
        };
        match self.at {
            Threshold::Count(n) => count >= n,
            Threshold::Percent(pct) => {
                total.is_some_and(|total| total > 0 && count as f64 * 100.0 >= pct * total as f64)
            }
        }
    }
}

/// `N` (from 1) or `N%` (above 0, at most 100).
fn parse_threshold(text: &str) -> Option<Threshold> {
    match text.strip_suffix('%') {
        Some(pct) => {
            let pct: f64 = pct.parse().ok()?;
            (pct > 0.0 && pct <= 100.0).then_some(Threshold::Percent(pct))
        }
        None => text.parse().ok().filter(|&n| n >= 1).map(Threshold::Count),
    }
}

/// The tasks of a run that ended by themselves (not by a stop, not
/// skipped), as a halt counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub ended: u64,
    pub failed: u64,
    pub succeeded: u64,
}

/// A halt that happened: the task that reached the threshold, and its own
/// exit status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Halted {
    pub halt: Halt,
    pub seq: u64,
    pub code: i32,
}

/// How the scheduler saw a run end: what a halt needs for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RunEnd {
    pub tally: Tally,
    pub halted: Option<Halted>,
}

impl RunEnd {
    /// The exit status GNU parallel gives for a `--halt` run, from how the
    /// sink saw it end: with a threshold of 1 the status of the task that
    /// reached it (also a percentage that comes to one task); after
    /// `success`, 0; with a percentage, the percentage of all tasks that
    /// failed; else the number of failed tasks.
    pub fn ending(&self, policy: Policy, total: Option<u64>, ending: crate::exit::Ending) -> crate::exit::Ending {
        use crate::exit::Ending;
        let (Policy::Halt(halt), Ending::Completed { failed }) = (policy, ending) else {
            return ending;
        };
        match (self.halted, halt.at) {
            (Some(h), _) if h.halt.on == HaltOn::Success => Ending::Completed { failed: 0 },
            (Some(h), Threshold::Count(1)) => Ending::FailFast { code: h.code },
            // A percentage that came to one task (25% of 4) is a threshold
            // of 1 too, as GNU parallel counts it.
            (Some(h), Threshold::Percent(pct))
                if total.is_some_and(|total| (pct * total as f64 / 100.0).ceil() <= 1.0) =>
            {
                Ending::FailFast { code: h.code }
            }
            (_, Threshold::Percent(_)) => {
                let total = total.unwrap_or(self.tally.ended).max(1);
                Ending::Completed {
                    failed: (self.tally.failed * 100).div_ceil(total).min(100),
                }
            }
            _ => Ending::Completed { failed },
        }
    }
}

/// Batches of outcomes waiting for the sink; a slow stdout holds the slots back.
const OUTCOME_QUEUE: usize = 16;
/// Outcomes of a batch-capable executor travel to the sink this many at a
/// time at most, so millions of tiny tasks do not cost a channel operation
/// (and a wake-up) each.
const OUTCOME_BATCH: usize = 256;

/// Says whether a record is already done (`--resume`): it then yields a
/// `skipped` outcome without running.
pub type SkipFilter<'a> = &'a (dyn Fn(&Record) -> bool + Sync);

/// A record's command line in a slot, shell-quoted, as `--dry-run` prints
/// it and the job log records it.
pub type Render<'a> = &'a (dyn Fn(&Record, usize) -> Result<std::ffi::OsString, String> + Sync);

/// A task's `--tagstring` tag, from its record and slot.
pub type TagRender<'a> = &'a (dyn Fn(&Record, usize) -> Vec<u8> + Sync);

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
    /// thread, before its outcome waits for the sink: so a slow stdout
    /// holds back neither job log lines nor the progress bar.
    pub observers: &'a Observers,
    /// Sets each outcome's command line before the observers see it; only
    /// given when one of them needs it, so other runs pay nothing.
    pub command: Option<Render<'a>>,
    /// `--tagstring`: renders each outcome's tag while its record is at
    /// hand (an outcome keeps only the record's text).
    pub tag: Option<TagRender<'a>>,
    /// Nothing needs tasks one by one (no observer, command line or tag;
    /// plain text output): tasks that succeed with stdout only may travel
    /// to the consumer in chunks, from executors that make them.
    pub chunked: bool,
    /// Each batch's outcome keeps its records' texts, for what lists them
    /// (JSON output, `--results`); other runs copy none of them.
    pub batches: bool,
    /// Given the records of each batch once it has run, so the reader can
    /// read new ones into their buffers.
    pub recycler: Option<&'a crate::input::Recycler>,
    /// The number of tasks, once known: a `--halt` percentage is of it.
    pub total: Option<&'a (dyn Fn() -> Option<u64> + Sync)>,
    /// `--jobs FILE`: the slots the file asks for now, read again at most
    /// every second as tasks end.
    pub jobs_from: Option<&'a (dyn Fn() -> Option<usize> + Sync)>,
}

impl Plan<'_> {
    /// A task has ended: its command line goes with it, then the observers
    /// are told. Every outcome passes here exactly once.
    fn ended(&self, record: &Record, slot: usize, outcome: &mut Outcome) {
        if let Some(render) = self.command {
            use std::os::unix::ffi::OsStringExt;
            outcome.extra().command = render(record, slot).map(OsStringExt::into_vec).unwrap_or_default();
        }
        if let Some(tag) = self.tag {
            outcome.extra().tag = Some(tag(record, slot));
        }
        if self.batches && !record.batch.is_empty() {
            outcome.extra().batch = record.batch_inputs();
        }
        self.observers.ended_for(record, outcome);
    }

    /// `record`'s outcome when `--resume` finds it done already: it does
    /// not run.
    fn skipped(&self, record: &Record) -> Option<Outcome> {
        let skip = self.skip?;
        skip(record).then(|| Outcome::without_run(record.seq, record.shown().into_owned(), Status::Skipped, ""))
    }
}

/// Runs one task in slot 1 on the calling thread, as `apply` does: the same
/// way from record to observed outcome as a task on a slot thread.
pub fn run_one(plan: &Plan, record: &Record, executor: &dyn Executor, cancel: &Cancel) -> Outcome {
    let mut outcome = plan
        .skipped(record)
        .unwrap_or_else(|| run_with_retries(record, 1, plan.retries, executor, cancel));
    plan.ended(record, 1, &mut outcome);
    outcome
}

/// A good `Plan::window` for batch-capable executors: many batches wide.
pub const REORDER_WINDOW: u64 = 1 << 16;

/// Where outcomes go, on the thread that called `run`.
pub trait Consumer {
    fn accept(&mut self, outcome: Outcome);
    /// Tasks that went the common way, together (see [`Plan::chunked`]).
    fn accept_chunk(&mut self, chunk: Chunk);
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
) -> anyhow::Result<RunEnd> {
    let dispenser = Dispenser::new(records, plan.window);
    let slots = Slots::new(plan, &dispenser, executor, cancel);
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
            for ended in outcomes {
                match ended {
                    Ended::Task(outcome) => consumer.accept(outcome),
                    Ended::Chunk(chunk) => consumer.accept_chunk(chunk),
                }
            }
        }
        Ok(())
    })?;
    let end = *crate::lock(&slots.end);
    Ok(end)
}

/// Runs the records one at a time in slot 1 on the calling thread, each
/// outcome to `consumer` as its task ends: for a run of one task, which a
/// slot thread (and a thread watching signals, see
/// `signals::foreground`) would only make slower to start. The policies
/// and `--halt` act as in [`run`].
pub fn run_here(
    plan: &Plan,
    records: Receiver<Vec<Record>>,
    executor: &dyn Executor,
    cancel: &Arc<Cancel>,
    consumer: &mut dyn Consumer,
) -> RunEnd {
    let dispenser = Dispenser::new(records, None);
    let slots = Slots::new(plan, &dispenser, executor, cancel);
    // A stdout closed already stops the run before its task starts.
    consumer.idle();
    while let Some(records) = dispenser.take(1, 1, cancel) {
        for record in &records {
            let outcome = run_one(plan, record, executor, cancel);
            if plan.policy == Policy::FailFast && outcome.status.is_failure() {
                cancel.stop(StopReason::FailFast { seq: outcome.seq });
            }
            slots.count_one(&outcome);
            consumer.accept(outcome);
            consumer.idle();
        }
    }
    let end = *crate::lock(&slots.end);
    end
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
    /// The slots `--jobs FILE` asks for now (else `--jobs`): a slot above
    /// it waits instead of taking records.
    wanted: AtomicUsize,
    /// When `--jobs FILE` was last read.
    read_at: Mutex<std::time::Instant>,
    /// Held while a slot starts, so slot numbers have no gaps.
    starting: Mutex<()>,
    /// What a `--halt` counts, and the halt once it happened.
    end: Mutex<RunEnd>,
}

impl<'a> Slots<'a> {
    fn new(
        plan: &'a Plan<'a>,
        dispenser: &'a Dispenser,
        executor: &'a dyn Executor,
        cancel: &'a Arc<Cancel>,
    ) -> Slots<'a> {
        Slots {
            plan,
            dispenser,
            executor,
            cancel,
            started: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            limit: AtomicUsize::new(plan.jobs.max(1)),
            wanted: AtomicUsize::new(plan.jobs_from.and_then(|read| read()).unwrap_or(plan.jobs).max(1)),
            read_at: Mutex::new(std::time::Instant::now()),
            starting: Mutex::new(()),
            end: Mutex::new(RunEnd::default()),
        }
    }

    /// Starts the next slot, unless all are started. A call made while
    /// another slot is being started waits for it and then starts the one
    /// after: each call answers a slot that has just become busy. Fails
    /// only when no slot could be started.
    fn start<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        tx: &SyncSender<Vec<Ended>>,
    ) -> std::io::Result<()> {
        let _starting = crate::lock(&self.starting);
        let started = self.started.load(Ordering::SeqCst);
        let limit = self
            .limit
            .load(Ordering::SeqCst)
            .min(self.wanted.load(Ordering::SeqCst));
        if started >= limit {
            return Ok(());
        }
        let slot = started + 1;
        // Counted idle before it runs, so the slot that asked for it does
        // not ask again before it has taken a record.
        self.idle.fetch_add(1, Ordering::SeqCst);
        let tx_slot = tx.clone();
        let spawned = crate::limits::slot_thread(format!("slot-{slot}"))
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
                crate::say(&format!(
                    "ppool: warning: only {keep} of {} slots could be started (thread limit: {e}); running with {keep}",
                    self.plan.jobs
                ));
                Ok(())
            }
        }
    }

    /// Counts ended tasks for `--halt` and halts the run when they reach
    /// its threshold: `now` stops the running tasks, `soon` only starts no
    /// more.
    fn count(&self, outcomes: &[Ended]) {
        let Policy::Halt(halt) = self.plan.policy else {
            return;
        };
        let mut end = crate::lock(&self.end);
        for ended in outcomes {
            match ended {
                Ended::Task(outcome) => self.count_task(halt, &mut end, outcome),
                Ended::Chunk(chunk) if !chunk.ended_in_stop => {
                    for (seq, _) in chunk.tasks() {
                        self.count_ended(halt, &mut end, seq, false, 0);
                    }
                }
                Ended::Chunk(_) => {}
            }
        }
    }

    fn count_one(&self, outcome: &Outcome) {
        if let Policy::Halt(halt) = self.plan.policy {
            self.count_task(halt, &mut crate::lock(&self.end), outcome);
        }
    }

    fn count_task(&self, halt: Halt, end: &mut RunEnd, outcome: &Outcome) {
        if outcome.ended_in_stop || outcome.status == Status::Skipped {
            return;
        }
        let code = outcome.own_exit_code();
        self.count_ended(halt, end, outcome.seq, outcome.status.is_failure(), code);
    }

    /// Task `seq` ended by itself, failed or not, with its own exit status `code`.
    fn count_ended(&self, halt: Halt, end: &mut RunEnd, seq: u64, failed: bool, code: i32) {
        end.tally.ended += 1;
        if failed {
            end.tally.failed += 1;
        } else {
            end.tally.succeeded += 1;
        }
        if end.halted.is_none() && halt.reached(&end.tally, self.plan.total.and_then(|total| total())) {
            end.halted = Some(Halted { halt, seq, code });
            self.dispenser.halted.store(true, Ordering::SeqCst);
            if halt.now {
                self.cancel.stop(StopReason::Halt { seq });
            }
        }
    }

    /// `--jobs FILE`: reads the file again when a second has passed since
    /// it was last read. The read happens under the lock, so a slot that
    /// ends meanwhile waits for the new count instead of taking a record
    /// with the old one.
    fn reread_jobs(&self) {
        let Some(read) = self.plan.jobs_from else {
            return;
        };
        let mut at = crate::lock(&self.read_at);
        if at.elapsed() < Duration::from_secs(1) {
            return;
        }
        if let Some(wanted) = read() {
            self.wanted
                .store(wanted.clamp(1, self.plan.jobs.max(1)), Ordering::SeqCst);
        }
        *at = std::time::Instant::now();
    }
}

fn run_slot<'scope>(
    slot: usize,
    slots: &'scope Slots<'scope>,
    scope: &'scope std::thread::Scope<'scope, '_>,
    tx: SyncSender<Vec<Ended>>,
) {
    let Slots {
        plan,
        dispenser,
        executor,
        cancel,
        ..
    } = *slots;
    let executor: &dyn Executor = executor;
    let deliver_all = |outcomes: Vec<Ended>| {
        if plan.policy == Policy::FailFast {
            let failure = outcomes.iter().find_map(|ended| match ended {
                Ended::Task(outcome) if outcome.status.is_failure() => Some(outcome),
                _ => None,
            });
            if let Some(failed) = failure {
                // Names the failed task, so the sink tells it from the tasks
                // the stop kills, whichever of them it sees first.
                cancel.stop(StopReason::FailFast { seq: failed.seq });
            }
        }
        slots.count(&outcomes);
        tx.send(outcomes).is_ok()
    };
    let deliver = |record: &Record, mut outcome: Outcome| {
        plan.ended(record, slot, &mut outcome);
        deliver_all(vec![Ended::Task(outcome)])
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
        slots.reread_jobs();
        if slot > slots.wanted.load(Ordering::SeqCst) {
            // `--jobs FILE` asks for fewer slots: this one waits until it
            // asks for more again, or the run ends.
            dispenser.oldest[slot].store(0, Ordering::SeqCst);
            if cancel.is_stopping() || dispenser.halted.load(Ordering::SeqCst) || dispenser.is_drained() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
            continue;
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
        if plan.skip.is_some() {
            let mut run = Vec::with_capacity(records.len());
            for record in records {
                match plan.skipped(&record) {
                    None => run.push(record),
                    Some(outcome) => {
                        if !deliver(&record, outcome) {
                            return;
                        }
                    }
                }
            }
            records = run;
        }
        if batch_size == 1 {
            for record in &records {
                if !deliver(record, run_with_retries(record, slot, plan.retries, executor, cancel)) {
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
                        if !deliver(&record, outcome) {
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
        let mut each = |ended: Ended| {
            let mut outcome = match ended {
                Ended::Task(outcome) => outcome,
                Ended::Chunk(mut chunk) => {
                    chunk.ended_in_stop = cancel.is_stopping();
                    // Already many tasks: it goes at once.
                    outcomes.push(Ended::Chunk(chunk));
                    listening = deliver_all(std::mem::take(&mut outcomes));
                    return listening;
                }
            };
            outcome.ended_in_stop = cancel.is_stopping();
            match records.binary_search_by_key(&outcome.seq, |r| r.seq) {
                Ok(at) => {
                    if should_retry(&outcome, plan.retries, cancel) {
                        outcome = retry(&records[at], outcome, slot, plan.retries, executor, cancel);
                    }
                    plan.ended(&records[at], slot, &mut outcome);
                }
                // Not one of the batch's records: an executor's bug, yet
                // still an outcome, so it is delivered as it is.
                Err(_) => plan.observers.ended(&outcome),
            }
            // A failure that stops the run goes at once.
            let urgent = outcome.status.is_failure() && plan.policy == Policy::FailFast;
            outcomes.push(Ended::Task(outcome));
            if urgent || outcomes.len() >= OUTCOME_BATCH {
                listening = deliver_all(std::mem::replace(&mut outcomes, Vec::with_capacity(OUTCOME_BATCH)));
            }
            listening
        };
        if plan.chunked {
            executor.run_chunked(&records, slot, cancel, &mut each);
        } else {
            executor.run_batch(&records, slot, cancel, &mut |outcome| each(Ended::Task(outcome)));
        }
        if let Some(recycler) = plan.recycler {
            recycler.give(records);
        }
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
    /// Index = slot: the first record of the batch it runs; 0 when none
    /// (records are numbered from 1).
    oldest: SlotTable<AtomicU64>,
    /// The sequence number of the next record handed out.
    next: AtomicU64,
    /// A `--halt` was reached: hand out no more records.
    halted: AtomicBool,
}

impl Dispenser {
    fn new(records: Receiver<Vec<Record>>, window: Option<u64>) -> Dispenser {
        Dispenser {
            inner: Mutex::new((records, VecDeque::new())),
            window,
            oldest: SlotTable::new(),
            next: AtomicU64::new(1),
            halted: AtomicBool::new(false),
        }
    }

    /// Whether the input has ended and every record was handed out.
    fn is_drained(&self) -> bool {
        let mut guard = crate::lock(&self.inner);
        let (rx, pending) = &mut *guard;
        if !pending.is_empty() {
            return false;
        }
        match rx.try_recv() {
            Ok(batch) => {
                pending.extend(batch);
                false
            }
            Err(TryRecvError::Empty) => false,
            Err(TryRecvError::Disconnected) => true,
        }
    }

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
        let mut batch: Vec<Record> = Vec::new();
        loop {
            if cancel.is_stopping() || self.halted.load(Ordering::SeqCst) {
                return None;
            }
            let n = count.min(pending.len());
            batch.extend(pending.drain(..n));
            // A batch from the input moves over whole where it fits: records
            // are copied only to split one.
            while batch.len() < count {
                let Ok(mut more) = rx.try_recv() else {
                    break;
                };
                let want = count - batch.len();
                if more.len() > want {
                    pending.extend(more.drain(want..));
                }
                if batch.is_empty() {
                    batch = more;
                } else {
                    // More batches are queued: room for the whole count at
                    // once, so records are not copied again as it grows.
                    if batch.capacity() - batch.len() < more.len() {
                        batch.reserve_exact(count - batch.len());
                    }
                    batch.append(&mut more);
                }
            }
            if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
                self.oldest[slot].store(first.seq, Ordering::SeqCst);
                self.next.store(last.seq + 1, Ordering::SeqCst);
                return Some(batch);
            }
            // Wake now and then so a stop is seen while input is idle.
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(more) => pending.extend(more),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::fake::{Event, Fake, Task};
    use crate::exit::Ending;
    use crate::output::screen::Screen;
    use crate::output::Format as OutputFormat;
    use crate::sink::Mode;
    use crate::sink::Sink;

    /// One outcome as the consumer got it, and what stdout held right after.
    #[derive(Debug)]
    struct Seen {
        seq: u64,
        status: Status,
        attempts: u32,
        ended_in_stop: bool,
        printed: String,
    }

    /// The consumer of the real pipeline, minus the closed-pipe handling:
    /// each outcome to a sink that prints to `screen`; the fake learns of
    /// each delivery, which opens the gates of the tasks waiting for it.
    struct Watch<'a> {
        sink: Sink,
        cancel: &'a Cancel,
        fake: &'a Fake,
        screen: Screen,
        seen: Vec<Seen>,
        /// Chunks taken.
        chunks: usize,
    }

    impl Consumer for Watch<'_> {
        fn accept(&mut self, outcome: Outcome) {
            let (seq, status, attempts, ended_in_stop) =
                (outcome.seq, outcome.status, outcome.attempts, outcome.ended_in_stop);
            self.sink.accept(outcome, self.cancel.reason()).unwrap();
            self.seen.push(Seen {
                seq,
                status,
                attempts,
                ended_in_stop,
                printed: self.screen.stdout(),
            });
            self.fake.delivered(seq);
        }

        fn accept_chunk(&mut self, chunk: Chunk) {
            let seqs: Vec<u64> = chunk.tasks().map(|(seq, _)| seq).collect();
            let ended_in_stop = chunk.ended_in_stop;
            self.sink.accept_chunk(chunk, self.cancel.reason()).unwrap();
            let printed = self.screen.stdout();
            for seq in seqs {
                self.seen.push(Seen {
                    seq,
                    status: Status::Ok,
                    attempts: 1,
                    ended_in_stop,
                    printed: printed.clone(),
                });
                self.fake.delivered(seq);
            }
            self.chunks += 1;
        }

        fn idle(&mut self) {
            self.sink.flush().unwrap();
        }
    }

    struct Report {
        ending: Ending,
        /// What the scheduler counted for `--halt`, and the halt.
        end: RunEnd,
        stdout: String,
        stderr: String,
        seen: Vec<Seen>,
        chunks: usize,
    }

    impl Report {
        fn order(&self) -> Vec<u64> {
            self.seen.iter().map(|s| s.seq).collect()
        }

        fn outcome(&self, seq: u64) -> &Seen {
            self.seen
                .iter()
                .find(|s| s.seq == seq)
                .expect("every record yields an outcome")
        }
    }

    static NO_OBSERVERS: Observers = Observers::new();

    fn plan(jobs: usize, policy: Policy) -> Plan<'static> {
        Plan {
            jobs,
            retries: 0,
            policy,
            skip: None,
            window: None,
            observers: &NO_OBSERVERS,
            command: None,
            tag: None,
            chunked: false,
            batches: false,
            recycler: None,
            total: None,
            jobs_from: None,
        }
    }

    /// Records `1..=n`, each record its own number.
    fn records(n: u64) -> Vec<Record> {
        (1..=n)
            .map(|seq| Record::text(seq, seq.to_string().into_bytes()))
            .collect()
    }

    /// Runs `records` through the scheduler, `fake` and a `mode` sink; `stop`
    /// runs beside it, to stop the run from outside.
    fn drive_with(
        mode: Mode,
        plan: &Plan,
        fake: &Fake,
        records: Vec<Record>,
        stop: impl FnOnce(&Cancel) + Send,
    ) -> Report {
        let (tx, rx) = sync_channel(1);
        tx.send(records).unwrap();
        drop(tx);
        let cancel = Cancel::new(plan.jobs, Duration::ZERO);
        let screen = Screen::default();
        let mut watch = Watch {
            sink: Sink::new(mode, screen.output(OutputFormat::Text, false)),
            cancel: &cancel,
            fake,
            screen: screen.clone(),
            seen: Vec::new(),
            chunks: 0,
        };
        let end = std::thread::scope(|scope| {
            scope.spawn(|| stop(&cancel));
            run(plan, rx, fake, &cancel, &mut watch).expect("the slots start")
        });
        let Watch { sink, seen, chunks, .. } = watch;
        let total = plan.total.and_then(|total| total());
        let ending = end.ending(plan.policy, total, sink.finish(cancel.reason()).unwrap());
        Report {
            ending,
            end,
            stdout: screen.stdout(),
            stderr: screen.stderr(),
            seen,
            chunks,
        }
    }

    fn drive(mode: Mode, plan: &Plan, fake: &Fake, records: Vec<Record>) -> Report {
        drive_with(mode, plan, fake, records, |_| {})
    }

    /// Five tasks on three slots that end in the order 3, 1, 2, 5, 4.
    fn out_of_order() -> Fake {
        Fake::new()
            .task(1, Task::ok().after(3))
            .task(2, Task::ok().after(1))
            .task(5, Task::ok().after(2))
            .task(4, Task::ok().after(5))
    }

    const OUT_OF_ORDER: [u64; 5] = [3, 1, 2, 5, 4];

    fn lines(seqs: &[u64]) -> String {
        seqs.iter().map(|seq| format!("{seq}\n")).collect()
    }

    #[test]
    fn map_prints_nothing_before_the_end_then_everything_in_input_order() {
        let fake = out_of_order();
        let report = drive(Mode::Map, &plan(3, Policy::CollectErrors), &fake, records(5));
        assert_eq!(report.order(), OUT_OF_ORDER);
        for seen in &report.seen {
            assert_eq!(seen.printed, "", "printed before the end, at task {}", seen.seq);
        }
        assert_eq!(report.stdout, lines(&[1, 2, 3, 4, 5]));
        assert_eq!(report.ending, Ending::Completed { failed: 0 });
    }

    #[test]
    fn imap_prints_each_task_as_soon_as_it_and_every_task_before_it_ended() {
        let fake = out_of_order();
        let report = drive(Mode::Imap, &plan(3, Policy::CollectErrors), &fake, records(5));
        assert_eq!(report.order(), OUT_OF_ORDER);
        let printed: Vec<&str> = report.seen.iter().map(|s| s.printed.as_str()).collect();
        let expected = ["", "1\n", "1\n2\n3\n", "1\n2\n3\n", "1\n2\n3\n4\n5\n"];
        assert_eq!(printed, expected);
        assert_eq!(report.stdout, lines(&[1, 2, 3, 4, 5]));
    }

    #[test]
    fn unordered_prints_in_completion_order_each_task_when_it_ends() {
        let fake = out_of_order();
        let report = drive(Mode::Unordered, &plan(3, Policy::CollectErrors), &fake, records(5));
        assert_eq!(report.order(), OUT_OF_ORDER);
        for (n, seen) in report.seen.iter().enumerate() {
            assert_eq!(seen.printed, lines(&OUT_OF_ORDER[..=n]));
        }
    }

    /// The tasks started before task `seq` ended, in number order.
    fn started_before_end_of(events: &[Event], seq: u64) -> Vec<u64> {
        let end = events.iter().position(|e| *e == Event::End(seq)).unwrap();
        let mut started: Vec<u64> = events[..end]
            .iter()
            .filter_map(|e| match e {
                Event::Start(seq) => Some(*seq),
                Event::End(_) => None,
            })
            .collect();
        started.sort_unstable();
        started
    }

    #[test]
    fn the_imap_window_hands_out_no_record_a_window_past_a_slow_task() {
        let fake = Fake::new().task(1, Task::ok().held());
        let mut plan = plan(2, Policy::CollectErrors);
        plan.window = Some(3);
        let report = drive_with(Mode::Imap, &plan, &fake, records(10), |_| {
            fake.wait_until("tasks 2 and 3 to end", |events| {
                events.contains(&Event::End(2)) && events.contains(&Event::End(3))
            });
            // Whatever a window that lets records through would hand out
            // now, it may; the assertion below does not depend on how long.
            std::thread::sleep(Duration::from_millis(50));
            fake.release(1);
        });
        let started = started_before_end_of(&fake.events(), 1);
        assert_eq!(started, [1, 2, 3], "records handed out while task 1 ran");
        assert_eq!(report.stdout, lines(&(1..=10).collect::<Vec<_>>()));
        assert!(fake.max_running() <= 2);
    }

    #[test]
    fn slots_run_jobs_tasks_at_once_and_never_two_in_one_slot() {
        for batch in [1, 2] {
            let fake = (1..=9).fold(Fake::new().batches_of(batch), |fake, seq| {
                fake.task(seq, Task::ok().together(3))
            });
            let report = drive(Mode::Imap, &plan(3, Policy::CollectErrors), &fake, records(9));
            assert_eq!(fake.max_running(), 3, "batches of {batch}");
            assert!(!fake.slot_shared(), "batches of {batch}");
            let mut ran: Vec<u64> = fake.runs().iter().map(|r| r.seq).collect();
            ran.sort_unstable();
            assert_eq!(ran, (1..=9).collect::<Vec<_>>(), "each record runs once");
            assert!(fake.runs().iter().all(|r| (1..=3).contains(&r.slot)));
            assert_eq!(report.stdout, lines(&(1..=9).collect::<Vec<_>>()));
            if batch > 1 {
                assert!(fake.batches().iter().all(|b| !b.is_empty() && b.len() <= batch));
                assert!(fake.batches().iter().any(|b| b.len() == batch), "{:?}", fake.batches());
            }
        }
    }

    #[test]
    fn retries_count_attempts_and_print_only_the_last_attempts_output() {
        for batch in [1, 4] {
            let fake = Fake::new()
                .batches_of(batch)
                .task(1, Task::ok().fail_first(2))
                .task(2, Task::ok().fail_first(5));
            let mut plan = plan(2, Policy::CollectErrors);
            plan.retries = 2;
            let report = drive(Mode::Imap, &plan, &fake, records(3));
            assert_eq!([1, 2, 3].map(|seq| fake.attempts(seq)), [3, 3, 1], "batches of {batch}");
            assert_eq!(report.outcome(1).status, Status::Ok);
            assert_eq!(report.outcome(1).attempts, 3);
            assert_eq!(report.outcome(2).status, Status::Failed);
            assert_eq!(report.outcome(2).attempts, 3);
            assert_eq!(report.outcome(3).attempts, 1);
            assert_eq!(report.stdout, "1\n2 attempt 3\n3\n", "batches of {batch}");
            assert_eq!(report.ending, Ending::Completed { failed: 1 });
            assert!(
                report.stderr.contains("task 2 (2): failed, exit code 1, 3 attempts"),
                "{}",
                report.stderr
            );
        }
    }

    fn halt(text: &str) -> Policy {
        Halt::parse(text).unwrap()
    }

    #[test]
    fn halt_reads_gnu_parallels_spellings() {
        let h = |now, on, at| Policy::Halt(Halt { now, on, at });
        assert_eq!(halt("never"), Policy::CollectErrors);
        assert_eq!(halt("0"), Policy::CollectErrors);
        assert_eq!(halt("now,fail=1"), Policy::FailFast);
        assert_eq!(halt("2"), Policy::FailFast);
        assert_eq!(halt("1"), h(false, HaltOn::Fail, Threshold::Count(1)));
        assert_eq!(halt("-2"), h(true, HaltOn::Success, Threshold::Count(1)));
        assert_eq!(halt("soon,done=3"), h(false, HaltOn::Done, Threshold::Count(3)));
        assert_eq!(
            halt("now,success=2.5%"),
            h(true, HaltOn::Success, Threshold::Percent(2.5))
        );
        assert_eq!(halt("10%"), h(false, HaltOn::Fail, Threshold::Percent(10.0)));
        for bad in [
            "",
            "now",
            "now,fail",
            "now,fail=0",
            "later,fail=1",
            "now,oops=1",
            "now,fail=0%",
            "now,fail=101%",
            "now,fail=-1",
        ] {
            let e = Halt::parse(bad).unwrap_err();
            assert!(e.starts_with(&format!("--halt {bad}:")), "{bad:?}: {e}");
        }
    }

    #[test]
    fn halt_soon_starts_no_more_and_lets_the_running_task_finish() {
        // Task 1 fails while task 2 runs; task 2 ends after task 1 reached the sink.
        let fake = Fake::new()
            .task(1, Task::fails(7).after_start_of(2))
            .task(2, Task::ok().after(1));
        let report = drive(Mode::Imap, &plan(2, halt("soon,fail=1")), &fake, records(5));
        assert_eq!(report.outcome(2).status, Status::Ok);
        assert!(!report.outcome(2).ended_in_stop);
        assert_eq!([3, 4, 5].map(|seq| fake.attempts(seq)), [0, 0, 0]);
        assert_eq!(report.stdout, "1\n2\n");
        assert_eq!(report.end.halted.map(|h| h.seq), Some(1));
        // GNU parallel: with fail=1, the failed task's own status.
        assert_eq!(report.ending, Ending::FailFast { code: 7 });
    }

    #[test]
    fn halt_now_on_a_count_stops_the_running_tasks_and_exits_with_the_number_failed() {
        let fake = Fake::new()
            .task(1, Task::ok().until_stopped())
            .task(2, Task::fails(5))
            .task(3, Task::fails(6));
        let report = drive(Mode::Unordered, &plan(2, halt("now,fail=2")), &fake, records(6));
        assert!(report.outcome(1).ended_in_stop);
        assert_eq!([4, 5, 6].map(|seq| fake.attempts(seq)), [0, 0, 0]);
        assert_eq!(report.end.halted.map(|h| h.seq), Some(3));
        assert_eq!(report.end.tally.failed, 2);
        // The task the stop killed is not printed; the others are.
        assert_eq!(report.stdout, "2\n3\n");
        assert_eq!(report.ending, Ending::Completed { failed: 3 });
    }

    #[test]
    fn halt_on_success_exits_0_whatever_failed_before() {
        for mode in [Mode::Map, Mode::Imap, Mode::Unordered] {
            let fake = Fake::new().task(1, Task::fails(3)).task(2, Task::ok());
            let report = drive(mode, &plan(1, halt("now,success=1")), &fake, records(4));
            assert_eq!(fake.attempts(3), 0, "{mode:?}");
            assert_eq!(report.stdout, "1\n2\n", "{mode:?}");
            assert_eq!(crate::exit::code(report.ending), 0, "{mode:?}");
        }
    }

    #[test]
    fn halt_on_a_percentage_counts_all_tasks_and_exits_with_the_percentage_failed() {
        let total = || Some(8);
        // 2 of 8 failed: 25%.
        let fake = Fake::new().task(1, Task::fails(1)).task(3, Task::fails(1));
        let mut plan = plan(1, halt("soon,fail=25%"));
        plan.total = Some(&total);
        let report = drive(Mode::Imap, &plan, &fake, records(8));
        assert_eq!(report.end.halted.map(|h| h.seq), Some(3));
        assert_eq!(fake.attempts(4), 0);
        assert_eq!(report.ending, Ending::Completed { failed: 25 });
        // Not reached: still the percentage that failed (1 of 8: 13%).
        let fake = Fake::new().task(2, Task::fails(1));
        let report = drive(Mode::Imap, &plan, &fake, records(8));
        assert_eq!(report.end.halted, None);
        assert_eq!(fake.runs().len(), 8);
        assert_eq!(report.ending, Ending::Completed { failed: 13 });
    }

    #[test]
    fn done_counts_every_task_and_its_threshold_of_one_gives_that_tasks_status() {
        let fake = Fake::new().task(1, Task::fails(4));
        let report = drive(Mode::Imap, &plan(1, halt("now,done=1")), &fake, records(3));
        assert_eq!(fake.runs().len(), 1);
        assert_eq!(report.ending, Ending::FailFast { code: 4 });
        let fake = Fake::new().task(3, Task::fails(4));
        let report = drive(Mode::Imap, &plan(1, halt("soon,done=2")), &fake, records(3));
        assert_eq!(fake.runs().len(), 2);
        assert_eq!(report.ending, Ending::Completed { failed: 0 });
    }

    #[test]
    fn the_jobs_file_is_read_again_as_tasks_end() {
        // The file asks for 1 slot at first, then for 2 while task 1
        // runs: tasks 2 and 3 can only end by running together, after task
        // 1 ended and the file was read again (a second after the start).
        let wanted = AtomicUsize::new(1);
        let read = || Some(wanted.load(Ordering::SeqCst));
        let fake = Fake::new()
            .task(1, Task::ok().runs_for(Duration::from_millis(1100)))
            .task(2, Task::ok().together(2))
            .task(3, Task::ok().together(2));
        let mut plan = plan(4, Policy::CollectErrors);
        plan.jobs_from = Some(&read);
        let report = drive_with(Mode::Imap, &plan, &fake, records(3), |_| {
            fake.wait_until("task 1 to start", |events| events.contains(&Event::Start(1)));
            assert_eq!(fake.max_running(), 1);
            wanted.store(2, Ordering::SeqCst);
        });
        assert_eq!(report.stdout, "1\n2\n3\n");
        assert_eq!(fake.max_running(), 2);
    }

    #[test]
    fn a_lower_count_in_the_jobs_file_leaves_one_slot_as_tasks_end() {
        // Three slots at first; the file asks for one while tasks 1-3 run,
        // which end together a second after the start: each slot that
        // ends reads the new count (or waits for the slot reading it), so
        // every later task runs on slot 1 alone.
        let wanted = AtomicUsize::new(3);
        let read = || Some(wanted.load(Ordering::SeqCst));
        let mut fake = Fake::new();
        for seq in 1..=3 {
            fake = fake.task(seq, Task::ok().together(3).runs_for(Duration::from_millis(1100)));
        }
        let mut plan = plan(4, Policy::CollectErrors);
        plan.jobs_from = Some(&read);
        let report = drive_with(Mode::Unordered, &plan, &fake, records(8), |_| {
            fake.wait_until("tasks 1-3 to start", |events| {
                (1..=3).all(|seq| events.contains(&Event::Start(seq)))
            });
            wanted.store(1, Ordering::SeqCst);
        });
        assert_eq!(report.seen.len(), 8);
        let later: Vec<usize> = fake.runs().iter().filter(|r| r.seq > 3).map(|r| r.slot).collect();
        assert_eq!(later, [1; 5]);
    }

    #[test]
    fn the_jobs_file_caps_the_slots() {
        let read = || Some(1);
        let fake = Fake::new();
        let mut plan = plan(4, Policy::CollectErrors);
        plan.jobs_from = Some(&read);
        let report = drive(Mode::Unordered, &plan, &fake, records(6));
        assert_eq!(report.seen.len(), 6);
        assert_eq!(fake.max_running(), 1);
    }

    fn chunked(jobs: usize, policy: Policy) -> Plan<'static> {
        Plan {
            chunked: true,
            ..plan(jobs, policy)
        }
    }

    #[test]
    fn chunks_keep_each_modes_order() {
        // Slot 1 runs 1-3, held until 4 reached the sink; slot 2 runs 4-6
        // first, as one chunk; the last three go as another, after 1-3.
        for (mode, before_first) in [(Mode::Imap, ""), (Mode::Unordered, "4\n5\n6\n"), (Mode::Map, "")] {
            let fake = Fake::new()
                .batches_of(3)
                .task(1, Task::ok().after(4))
                .task(7, Task::ok().after(1));
            let report = drive(mode, &chunked(2, Policy::CollectErrors), &fake, records(9));
            assert_eq!(report.order()[..6], [4, 5, 6, 1, 2, 3], "{mode:?}");
            assert_eq!(report.seen[0].printed, before_first, "{mode:?}");
            assert_eq!(report.chunks, 3, "{mode:?}");
            let expected = match mode {
                Mode::Unordered => lines(&report.order()),
                _ => lines(&(1..=9).collect::<Vec<_>>()),
            };
            assert_eq!(report.stdout, expected, "{mode:?}");
            if mode == Mode::Imap {
                assert_eq!(report.seen[3].printed, lines(&[1, 2, 3, 4, 5, 6]));
            }
            assert_eq!(report.ending, Ending::Completed { failed: 0 }, "{mode:?}");
        }
    }

    #[test]
    fn a_failure_mid_chunk_is_a_task_of_its_own_between_two_chunks() {
        for mode in [Mode::Imap, Mode::Unordered, Mode::Map] {
            let fake = Fake::new().batches_of(5).task(3, Task::fails(2).stderr(b"err-3\n"));
            let report = drive(mode, &chunked(1, Policy::CollectErrors), &fake, records(5));
            assert_eq!(report.order(), [1, 2, 3, 4, 5], "{mode:?}");
            assert_eq!(report.chunks, 2, "{mode:?}: 1-2, then 4-5");
            assert_eq!(report.outcome(3).status, Status::Failed);
            assert_eq!(report.stdout, lines(&[1, 2, 3, 4, 5]), "{mode:?}");
            assert!(report.stderr.starts_with("err-3\n"), "{mode:?}: {}", report.stderr);
            assert!(
                report.stderr.contains("ppool: 1 of 5 tasks failed:\n"),
                "{mode:?}: {}",
                report.stderr
            );
            assert_eq!(report.ending, Ending::Completed { failed: 1 }, "{mode:?}");
        }
    }

    #[test]
    fn fail_fast_mid_chunk_keeps_what_each_mode_shows() {
        // Task 3 fails and stops the run; task 4, in the same batch, ends in
        // the stop; 5 to 8 never start.
        for (mode, stdout) in [
            (Mode::Imap, "1\n2\n3\n"),
            (Mode::Unordered, "1\n2\n3\n"),
            (Mode::Map, ""),
        ] {
            let fake = Fake::new().batches_of(4).task(3, Task::fails(7).stderr(b"err-3\n"));
            let report = drive(mode, &chunked(1, Policy::FailFast), &fake, records(8));
            assert_eq!(report.stdout, stdout, "{mode:?}");
            assert!(report.outcome(4).ended_in_stop, "{mode:?}");
            assert_eq!(fake.attempts(5), 0, "{mode:?}");
            assert_eq!(report.ending, Ending::FailFast { code: 7 }, "{mode:?}");
            assert!(report.stderr.starts_with("err-3\n"), "{mode:?}: {}", report.stderr);
        }
    }

    #[test]
    fn the_imap_window_bounds_what_waits_in_chunks_too() {
        let fake = Fake::new().batches_of(2).task(1, Task::ok().held());
        let mut plan = chunked(2, Policy::CollectErrors);
        plan.window = Some(4);
        let report = drive_with(Mode::Imap, &plan, &fake, records(10), |_| {
            fake.wait_until("tasks 3 and 4 to end", |events| {
                events.contains(&Event::End(3)) && events.contains(&Event::End(4))
            });
            // Whatever a window that lets records through would hand out
            // now, it may; the assertion below does not depend on how long.
            std::thread::sleep(Duration::from_millis(50));
            fake.release(1);
        });
        let started = started_before_end_of(&fake.events(), 1);
        assert_eq!(started, [1, 3, 4], "records handed out while task 1 ran");
        assert_eq!(report.stdout, lines(&(1..=10).collect::<Vec<_>>()));
        assert!(report.chunks >= 5, "{} chunks", report.chunks);
    }

    #[test]
    fn invalid_input_is_never_run_nor_retried() {
        for batch in [1, 3] {
            let fake = Fake::new().batches_of(batch);
            let mut plan = plan(1, Policy::CollectErrors);
            plan.retries = 3;
            let mut input = records(3);
            input[1].invalid = Some("not JSON".into());
            let report = drive(Mode::Imap, &plan, &fake, input);
            assert_eq!(fake.attempts(2), 0, "batches of {batch}");
            assert_eq!(report.outcome(2).status, Status::InvalidInput);
            assert_eq!(report.outcome(2).attempts, 1);
            assert_eq!(report.stdout, "1\n3\n");
            assert!(report.stderr.contains("ppool: task 2: not JSON"), "{}", report.stderr);
            assert_eq!(report.ending, Ending::Completed { failed: 1 });
        }
    }

    #[test]
    fn a_task_ended_by_a_stop_is_not_retried() {
        for batch in [1, 2] {
            let fake = Fake::new().batches_of(batch).task(1, Task::ok().until_stopped());
            let mut plan = plan(1, Policy::CollectErrors);
            plan.retries = 3;
            let report = drive_with(Mode::Unordered, &plan, &fake, records(3), |cancel| {
                fake.wait_until("task 1 to start", |events| events.contains(&Event::Start(1)));
                cancel.stop(StopReason::Signal(libc::SIGTERM));
            });
            assert_eq!(fake.attempts(1), 1, "batches of {batch}");
            assert_eq!(report.outcome(1).status, Status::Failed);
            assert!(report.outcome(1).ended_in_stop);
            assert_eq!(fake.attempts(3), 0, "a task started after the stop");
            assert_eq!(report.ending, Ending::Signal(libc::SIGTERM));
            let err = &report.stderr;
            assert!(err.contains("task 1 (1): failed, killed by signal 15\n"), "{err}");
            assert!(err.ends_with("ppool: stopped by SIGTERM\n"), "{err}");
        }
    }

    /// Task 1 ends at once; task 2 fails with 3 once task 1 has reached the
    /// sink and task 4 took its slot; tasks 3 and 4 run until the stop; task
    /// 5 waits for a free slot.
    fn fail_fast(mode: Mode) -> (Report, Fake) {
        let fake = Fake::new()
            .task(2, Task::fails(3).after(1).after_start_of(4).stderr(b"err-2\n"))
            .task(3, Task::ok().until_stopped())
            .task(4, Task::ok().until_stopped());
        let report = drive(mode, &plan(3, Policy::FailFast), &fake, records(5));
        // The stop starts nothing more.
        assert_eq!(fake.attempts(5), 0, "{mode:?}");
        assert_eq!([3, 4].map(|seq| report.outcome(seq).ended_in_stop), [true, true]);
        assert_eq!(report.ending, Ending::FailFast { code: 3 }, "{mode:?}");
        let err = &report.stderr;
        assert!(err.starts_with("err-2\n"), "{mode:?}: {err}");
        assert!(
            err.ends_with("ppool: stopped after task 2 failed (--fail-fast)\n"),
            "{mode:?}: {err}"
        );
        (report, fake)
    }

    #[test]
    fn fail_fast_in_imap_prints_up_to_the_failed_task_and_exits_with_its_code() {
        let (report, _) = fail_fast(Mode::Imap);
        assert_eq!(report.stdout, "1\n2\n");
    }

    #[test]
    fn fail_fast_in_unordered_prints_what_ended_before_the_failure_and_the_failure() {
        let (report, _) = fail_fast(Mode::Unordered);
        assert_eq!(report.stdout, "1\n2\n");
    }

    #[test]
    fn fail_fast_in_map_prints_no_stdout_only_the_failed_tasks_stderr() {
        let (report, _) = fail_fast(Mode::Map);
        assert_eq!(report.stdout, "");
        assert_eq!(report.stderr.matches("err-2").count(), 1);
    }

    #[test]
    fn fail_fast_retries_a_failure_before_it_stops() {
        let fake = Fake::new().task(1, Task::ok().fail_first(1));
        let mut plan = plan(1, Policy::FailFast);
        plan.retries = 1;
        let report = drive(Mode::Imap, &plan, &fake, records(2));
        assert_eq!(fake.attempts(1), 2);
        assert_eq!(report.stdout, "1\n2\n");
        assert_eq!(report.ending, Ending::Completed { failed: 0 });
    }

    #[test]
    fn resume_skips_what_the_log_holds_without_running_it() {
        for batch in [1, 4] {
            let fake = Fake::new().batches_of(batch);
            let skip = |record: &Record| record.seq % 2 == 0;
            let mut plan = plan(2, Policy::CollectErrors);
            plan.skip = Some(&skip);
            let report = drive(Mode::Imap, &plan, &fake, records(6));
            let mut ran: Vec<u64> = fake.runs().iter().map(|r| r.seq).collect();
            ran.sort_unstable();
            assert_eq!(ran, [1, 3, 5], "batches of {batch}");
            for seq in [2, 4, 6] {
                assert_eq!(report.outcome(seq).status, Status::Skipped);
                assert_eq!(report.outcome(seq).attempts, 0);
            }
            assert_eq!(report.stdout, "1\n3\n5\n");
            assert_eq!(report.stderr, "");
            assert_eq!(report.ending, Ending::Completed { failed: 0 });
        }
    }

    #[test]
    fn tasks_that_ended_before_a_fail_fast_stop_are_marked_so_whenever_they_are_delivered() {
        let fake = Fake::new().task(3, Task::fails(1));
        let report = drive(Mode::Unordered, &plan(1, Policy::FailFast), &fake, records(4));
        let marks: Vec<(u64, bool)> = report.seen.iter().map(|s| (s.seq, s.ended_in_stop)).collect();
        assert_eq!(marks, [(1, false), (2, false), (3, false)]);
    }

    #[test]
    fn a_task_that_ends_in_the_stop_is_marked_so() {
        let fake = Fake::new().task(1, Task::ok().until_stopped()).task(2, Task::fails(1));
        let report = drive(Mode::Unordered, &plan(2, Policy::FailFast), &fake, records(2));
        assert!(report.outcome(1).ended_in_stop);
        assert!(!report.outcome(2).ended_in_stop);
    }

    /// What an observer was told: each task's number, its command line and
    /// the thread that told it.
    #[derive(Clone, Default)]
    struct Told(Arc<Mutex<Vec<(u64, String, String)>>>);

    impl crate::observer::Observer for Told {
        fn ended(&self, outcome: &Outcome) {
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            let command = String::from_utf8_lossy(outcome.command()).into_owned();
            crate::lock(&self.0).push((outcome.seq, command, thread));
        }
    }

    impl Told {
        fn sorted(&self) -> Vec<(u64, String, String)> {
            let mut told = crate::lock(&self.0).clone();
            told.sort();
            told
        }
    }

    /// The command line the tests render: `run RECORD`.
    fn render(record: &Record, _slot: usize) -> Result<std::ffi::OsString, String> {
        Ok(format!("run {}", String::from_utf8_lossy(&record.shown())).into())
    }

    fn observed_by(told: &Told) -> Observers {
        let mut observers = Observers::new();
        observers.push(Box::new(told.clone()));
        observers
    }

    #[test]
    fn each_task_is_observed_once_with_its_command_on_the_thread_that_ended_it() {
        for batch in [1, 4] {
            let fake = Fake::new()
                .batches_of(batch)
                .task(1, Task::ok().fail_first(1))
                .task(2, Task::fails(3))
                .task(7, Task::status(Status::Timeout));
            let told = Told::default();
            let observers = observed_by(&told);
            let skip = |record: &Record| record.seq == 6;
            let mut plan = plan(3, Policy::CollectErrors);
            plan.retries = 1;
            plan.skip = Some(&skip);
            plan.observers = &observers;
            plan.command = Some(&render);
            let mut input = records(8);
            input[4].invalid = Some("not JSON".into());
            let report = drive(Mode::Unordered, &plan, &fake, input);
            assert_eq!(report.seen.len(), 8, "batches of {batch}");
            let told = told.sorted();
            let seqs: Vec<u64> = told.iter().map(|(seq, _, _)| *seq).collect();
            assert_eq!(seqs, (1..=8).collect::<Vec<_>>(), "batches of {batch}: each task once");
            for (seq, command, thread) in &told {
                assert_eq!(*command, format!("run {seq}"), "batches of {batch}");
                // On the slot's thread: not when the sink, on the main
                // thread, gets to the outcome.
                assert!(
                    thread.starts_with("slot-"),
                    "batches of {batch}: task {seq} on {thread}"
                );
            }
        }
    }

    #[test]
    fn without_a_renderer_no_command_line_is_made() {
        let told = Told::default();
        let observers = observed_by(&told);
        let mut plan = plan(2, Policy::CollectErrors);
        plan.observers = &observers;
        drive(Mode::Imap, &plan, &Fake::new(), records(3));
        let commands: Vec<String> = told.sorted().into_iter().map(|(_, command, _)| command).collect();
        assert_eq!(commands, ["", "", ""]);
    }

    /// The log's lines, with each Starttime (the fake's wall clock) checked
    /// for its shape and replaced by `T`, sorted by task.
    fn logged(path: &std::path::Path) -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines: Vec<String> = text
            .split_inclusive('\n')
            .skip(1)
            .map(|line| {
                let mut fields: Vec<&str> = line.split('\t').collect();
                let (secs, millis) = fields[2].split_once('.').expect("Starttime has decimals");
                assert!(
                    secs.bytes().all(|b| b.is_ascii_digit()) && millis.len() == 3,
                    "{line:?}"
                );
                fields[2] = "T";
                fields.join("\t")
            })
            .collect();
        lines.sort_by_key(|line| line.split('\t').next().and_then(|seq| seq.parse::<u64>().ok()));
        lines
    }

    #[test]
    fn the_job_log_writes_one_line_per_task_in_gnu_parallels_format() {
        for batch in [1, 3] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("log");
            let (log, _) = crate::joblog::JobLog::open(&path, crate::joblog::Resume::No).unwrap();
            let mut observers = Observers::new();
            observers.push(Box::new(crate::joblog::Logger::new(log, None)));
            let fake = Fake::new()
                .batches_of(batch)
                .task(2, Task::fails(3))
                .task(3, Task::status(Status::Timeout));
            let mut plan = plan(2, Policy::CollectErrors);
            plan.observers = &observers;
            plan.command = Some(&render);
            let mut input = records(4);
            input[3].whole = b"a\nb".to_vec();
            drive(Mode::Imap, &plan, &fake, input);
            observers.finish().unwrap();
            assert!(std::fs::read_to_string(&path)
                .unwrap()
                .starts_with(crate::joblog::HEADER));
            assert_eq!(
                logged(&path),
                [
                    "1\t:\tT\t     0.000\t0\t2\t0\t0\trun 1\n",
                    "2\t:\tT\t     0.000\t0\t2\t3\t0\trun 2\n",
                    "3\t:\tT\t     0.000\t0\t2\t-1\t15\trun 3\n",
                    "4\t:\tT\t     0.000\t0\t4\t0\t0\trun a\0b\n",
                ],
                "batches of {batch}"
            );
        }
    }

    #[test]
    fn resumed_tasks_are_not_run_nor_logged_again() {
        for batch in [1, 4] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("log");
            let before = format!(
                "{}2\t:\t1.000\t     0.100\t0\t2\t0\t0\trun 2\n4\t:\t1.000\t     0.100\t0\t2\t0\t0\trun 4\n",
                crate::joblog::HEADER
            );
            std::fs::write(&path, &before).unwrap();
            let (log, done) = crate::joblog::JobLog::open(&path, crate::joblog::Resume::All).unwrap();
            let mut observers = Observers::new();
            observers.push(Box::new(crate::joblog::Logger::new(log, None)));
            let skip = |record: &Record| done.contains(&record.seq);
            let fake = Fake::new().batches_of(batch);
            let mut plan = plan(2, Policy::CollectErrors);
            plan.skip = Some(&skip);
            plan.observers = &observers;
            plan.command = Some(&render);
            let report = drive(Mode::Imap, &plan, &fake, records(5));
            observers.finish().unwrap();
            assert_eq!(report.stdout, "1\n3\n5\n", "batches of {batch}");
            let after = std::fs::read_to_string(&path).unwrap();
            assert!(after.starts_with(&before), "batches of {batch}: {after}");
            let mut added: Vec<&str> = after[before.len()..]
                .lines()
                .map(|l| l.split('\t').next().unwrap())
                .collect();
            added.sort_unstable();
            assert_eq!(added, ["1", "3", "5"], "batches of {batch}");
        }
    }

    #[test]
    fn a_single_task_goes_the_same_way_resumed_or_not() {
        use crate::joblog::Resume;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        // The first run runs the task (twice: one retry) and logs it; the
        // resumed one skips it and logs nothing more.
        for (resume, status, attempts) in [(Resume::No, Status::Ok, 2), (Resume::All, Status::Skipped, 0)] {
            let (log, done) = crate::joblog::JobLog::open(&path, resume).unwrap();
            let told = Told::default();
            let mut observers = observed_by(&told);
            observers.push(Box::new(crate::joblog::Logger::new(log, None)));
            let skip = |record: &Record| done.contains(&record.seq);
            let fake = Fake::new().task(1, Task::ok().fail_first(1));
            let mut plan = plan(1, Policy::CollectErrors);
            plan.retries = 1;
            plan.skip = Some(&skip);
            plan.observers = &observers;
            plan.command = Some(&render);
            let cancel = Cancel::new(1, Duration::ZERO);
            let outcome = run_one(&plan, &Record::text(1, b"x".to_vec()), &fake, &cancel);
            observers.finish().unwrap();
            assert_eq!(outcome.status, status, "{resume:?}");
            assert_eq!(fake.runs().len(), attempts, "{resume:?}");
            let told: Vec<(u64, String)> = told
                .sorted()
                .into_iter()
                .map(|(seq, command, _)| (seq, command))
                .collect();
            assert_eq!(told, [(1, "run x".to_owned())], "{resume:?}");
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().skip(1).collect();
            assert_eq!(lines.len(), 1, "{resume:?}: {text}");
            assert!(
                lines[0].starts_with("1\t:\t") && lines[0].ends_with("\t0\t0\trun x"),
                "{text}"
            );
        }
    }
}
