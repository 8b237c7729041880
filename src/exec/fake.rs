//! A fake executor for tests: each task's outcome, and when it may end,
//! scripted per record; what ran, where and how often, recorded. No process
//! is started, and ordering needs no wall-clock sleeps: a task can wait for
//! another task's outcome, for a release by the test, or for the run to stop.

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Executor;
use crate::cancel::Cancel;
use crate::capture::Captured;
use crate::input::Record;
use crate::lock;
use crate::task::{Chunk, Ended, Outcome, Status};

/// A gate that stays shut this long is a test that would hang: it fails instead.
const STUCK: Duration = Duration::from_secs(20);

/// What one record's task does. By default it succeeds at once and prints
/// its record and a newline.
#[derive(Debug, Clone, Default)]
pub struct Task {
    status: Option<Status>,
    exit_code: Option<i32>,
    stdout: Option<Vec<u8>>,
    stderr: Vec<u8>,
    fail_first: u32,
    runs_for: Option<Duration>,
    after: Vec<u64>,
    after_start: Vec<u64>,
    held: bool,
    until_stopped: bool,
    together: Option<usize>,
}

impl Task {
    pub fn ok() -> Task {
        Task::default()
    }

    /// Fails with exit code `code`.
    pub fn fails(code: i32) -> Task {
        Task {
            status: Some(Status::Failed),
            exit_code: Some(code),
            ..Task::default()
        }
    }

    /// Ends with `status` (a timeout, a dead worker, …) and no exit code.
    pub fn status(status: Status) -> Task {
        Task {
            status: Some(status),
            ..Task::default()
        }
    }

    pub fn stderr(mut self, bytes: &[u8]) -> Task {
        self.stderr = bytes.to_vec();
        self
    }

    /// The first `n` attempts fail with exit code 1 and print
    /// `RECORD attempt K`; the attempts after them end as scripted.
    pub fn fail_first(mut self, n: u32) -> Task {
        self.fail_first = n;
        self
    }

    /// Runs this long (or until the run stops) before it ends.
    pub fn runs_for(mut self, duration: Duration) -> Task {
        self.runs_for = Some(duration);
        self
    }

    /// Ends only once task `seq`'s outcome has reached the consumer (the
    /// test's consumer tells the fake with [`Fake::delivered`]).
    pub fn after(mut self, seq: u64) -> Task {
        self.after.push(seq);
        self
    }

    /// Ends only once task `seq` has started.
    pub fn after_start_of(mut self, seq: u64) -> Task {
        self.after_start.push(seq);
        self
    }

    /// Ends only once the test calls [`Fake::release`] for it.
    pub fn held(mut self) -> Task {
        self.held = true;
        self
    }

    /// Runs until the run stops, then ends as a task killed by the stop
    /// (with the output it was scripted to print).
    pub fn until_stopped(mut self) -> Task {
        self.until_stopped = true;
        self
    }

    /// Ends only once `n` tasks have been running at the same time.
    pub fn together(mut self, n: usize) -> Task {
        self.together = Some(n);
        self
    }
}

impl Task {
    fn stdout_of(&self, record: &Record) -> Vec<u8> {
        self.stdout.clone().unwrap_or_else(|| {
            let mut line = record.shown().into_owned();
            line.push(b'\n');
            line
        })
    }
}

/// One attempt at one record, in the order attempts started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub seq: u64,
    pub slot: usize,
    pub attempt: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Start(u64),
    End(u64),
}

#[derive(Default)]
struct State {
    runs: Vec<Run>,
    events: Vec<Event>,
    batches: Vec<Vec<u64>>,
    running: usize,
    max_running: usize,
    busy_slots: HashSet<usize>,
    slot_shared: bool,
    released: HashSet<u64>,
    delivered: HashSet<u64>,
}

#[derive(Default)]
pub struct Fake {
    tasks: HashMap<u64, Task>,
    batch_size: usize,
    state: Mutex<State>,
    changed: Condvar,
}

impl Fake {
    pub fn new() -> Fake {
        Fake {
            batch_size: 1,
            ..Fake::default()
        }
    }

    /// Scripts the task of record `seq`.
    pub fn task(mut self, seq: u64, task: Task) -> Fake {
        self.tasks.insert(seq, task);
        self
    }

    /// Takes `size` records at a time, through [`Executor::run_batch`].
    pub fn batches_of(mut self, size: usize) -> Fake {
        self.batch_size = size;
        self
    }

    /// Task `seq`'s outcome reached the consumer: opens the gates of the
    /// tasks that wait for it.
    pub fn delivered(&self, seq: u64) {
        self.state().delivered.insert(seq);
        self.changed.notify_all();
    }

    /// Lets a [`Task::held`] task end.
    pub fn release(&self, seq: u64) {
        self.state().released.insert(seq);
        self.changed.notify_all();
    }

    /// Waits until `done` holds of what has been recorded, failing the
    /// test if it never does.
    pub fn wait_until(&self, what: &str, done: impl Fn(&[Event]) -> bool) {
        let deadline = Instant::now() + STUCK;
        let mut state = self.state();
        while !done(&state.events) {
            assert!(Instant::now() < deadline, "the fake waited too long for {what}");
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(10))
                .map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }

    /// Every attempt, in the order they started.
    pub fn runs(&self) -> Vec<Run> {
        self.state().runs.clone()
    }

    /// Starts and ends of attempts, in the order they happened.
    pub fn events(&self) -> Vec<Event> {
        self.state().events.clone()
    }

    /// The records of each batch `run_batch` was given.
    pub fn batches(&self) -> Vec<Vec<u64>> {
        self.state().batches.clone()
    }

    pub fn attempts(&self, seq: u64) -> u32 {
        self.state().runs.iter().filter(|r| r.seq == seq).count() as u32
    }

    /// The most attempts that ran at the same time.
    pub fn max_running(&self) -> usize {
        self.state().max_running
    }

    /// Whether an attempt started in a slot where another still ran.
    pub fn slot_shared(&self) -> bool {
        self.state().slot_shared
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Waits for the task's gates; true when the run stopped first.
    fn wait(&self, seq: u64, task: &Task, cancel: &Cancel) -> bool {
        let start = Instant::now();
        let mut state = self.state();
        loop {
            let open = task.after.iter().all(|j| state.delivered.contains(j))
                && task.after_start.iter().all(|j| state.runs.iter().any(|r| r.seq == *j))
                && (!task.held || state.released.contains(&seq))
                && !task.until_stopped
                && task.together.map_or(true, |n| state.max_running >= n)
                && task.runs_for.map_or(true, |d| start.elapsed() >= d);
            if open {
                return false;
            }
            if cancel.is_stopping() {
                return true;
            }
            assert!(
                start.elapsed() < STUCK,
                "fake task {seq} waited too long: a gate never opened"
            );
            // The stop does not notify this condvar: look again soon.
            state = self
                .changed
                .wait_timeout(state, Duration::from_millis(1))
                .map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }
}

impl Executor for Fake {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        let task = self.tasks.get(&record.seq).cloned().unwrap_or_default();
        let attempt = {
            let mut state = self.state();
            let attempt = state.runs.iter().filter(|r| r.seq == record.seq).count() as u32 + 1;
            state.runs.push(Run {
                seq: record.seq,
                slot,
                attempt,
            });
            state.events.push(Event::Start(record.seq));
            state.running += 1;
            state.max_running = state.max_running.max(state.running);
            if !state.busy_slots.insert(slot) {
                state.slot_shared = true;
            }
            attempt
        };
        self.changed.notify_all();
        let stopped = self.wait(record.seq, &task, cancel);
        let mut outcome = Outcome::not_run(record, slot, Status::Ok, "");
        if stopped {
            // As a process killed by the stop's SIGTERM, after it printed
            // what it was scripted to.
            outcome.status = Status::Failed;
            outcome.signal = Some(libc::SIGTERM);
            outcome.stdout = Captured::from_vec(task.stdout_of(record));
        } else if attempt <= task.fail_first {
            outcome.status = Status::Failed;
            outcome.exit_code = Some(1);
            let line = format!("{} attempt {attempt}\n", String::from_utf8_lossy(&record.shown()));
            outcome.stdout = Captured::from_vec(line.into_bytes());
        } else {
            outcome.status = task.status.unwrap_or(Status::Ok);
            outcome.exit_code = task.exit_code.or((outcome.status == Status::Ok).then_some(0));
            outcome.stdout = Captured::from_vec(task.stdout_of(record));
            outcome.stderr = Captured::from_vec(task.stderr.clone());
        }
        {
            let mut state = self.state();
            state.events.push(Event::End(record.seq));
            state.running -= 1;
            state.busy_slots.remove(&slot);
        }
        self.changed.notify_all();
        outcome
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn run_batch(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Outcome) -> bool) {
        self.state().batches.push(records.iter().map(|r| r.seq).collect());
        for record in records {
            if !emit(self.run(record, slot, cancel)) {
                return;
            }
        }
    }

    /// As a builtin pool does: tasks in a row that succeed with stdout only
    /// are gathered, and handed on before any other outcome and at the end
    /// of the batch.
    fn run_chunked(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Ended) -> bool) {
        self.state().batches.push(records.iter().map(|r| r.seq).collect());
        let mut together = Chunk::new(slot);
        for record in records {
            let mut outcome = self.run(record, slot, cancel);
            let plain = outcome.status == Status::Ok && outcome.stderr.is_empty();
            if plain {
                let stdout = outcome.stdout.read_all().expect("in memory");
                if together.push(record.seq, &stdout) {
                    continue;
                }
                let passed = together.take();
                together.push(record.seq, &stdout);
                if !emit(Ended::Chunk(passed)) {
                    return;
                }
                continue;
            }
            if !together.is_empty() && !emit(Ended::Chunk(together.take())) {
                return;
            }
            if !emit(Ended::Task(outcome)) {
                return;
            }
        }
        if !together.is_empty() {
            emit(Ended::Chunk(together));
        }
    }
}
