//! `--worker CMD`: one long-running `/bin/sh -c CMD` per slot, in its own
//! process group. A task is one line on the worker's stdin (the record and
//! a newline); its result is the worker's next line on stdout. A worker that
//! exits or overruns `--timeout` is replaced and that task fails. So is a
//! worker that writes a line no record is waiting for (a banner, a second
//! line for one record): the lines carry no record number, so such a line
//! is caught when it is seen before the worker has read its next record
//! (at each answer, before each record is sent, and while a record is
//! still unread in the pipe); one written just before the worker reads its
//! next record can still pass for that record's answer. The worker's
//! stderr is ppool's own: it passes straight through, unbuffered and
//! ungrouped, since it belongs to no single task.

use std::ffi::{OsStr, OsString};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::coprocess::{describe_exit, end_all, Coprocess, Pump};
use super::Executor;
use crate::cancel::Cancel;
use crate::capture::Captured;
use crate::input::Record;
use crate::lock;
use crate::slot_table::SlotTable;
use crate::task::{End, Outcome, Status};

const SHELL: &str = "/bin/sh";

pub struct WorkerExecutor {
    command: String,
    max_tasks: Option<u64>,
    timeout: Option<Duration>,
    grace: Duration,
    /// Index = slot (slot 0 unused); grows with the slots used.
    slots: SlotTable<Mutex<SlotState>>,
    /// `--slurm`: srun and its options, before each worker's command.
    launcher: Vec<OsString>,
}

#[derive(Default)]
struct SlotState {
    worker: Option<Coprocess>,
    line: Vec<u8>,
    /// The last task the worker answered, to name in a protocol error.
    answered: Option<u64>,
}

impl WorkerExecutor {
    pub fn new(command: &str, max_tasks: Option<u64>, timeout: Option<Duration>, grace: Duration) -> WorkerExecutor {
        WorkerExecutor {
            command: command.to_string(),
            max_tasks,
            timeout,
            grace,
            slots: SlotTable::new(),
            launcher: Vec::new(),
        }
    }

    /// `--slurm`: each worker runs as `LAUNCHER… COMMAND`, a long-lived step.
    pub fn with_launcher(mut self, launcher: Vec<OsString>) -> Self {
        self.launcher = launcher;
        self
    }

    /// Closes every worker (end of stdin) and reaps it.
    pub fn close(&self, cancel: Option<&Cancel>) {
        let workers = self.slots.iter().enumerate();
        end_all(
            workers.filter_map(|(slot, state)| Some((slot, lock(state).worker.take()?))),
            self.grace,
            cancel,
        );
    }

    fn spawn(&self, slot: usize) -> std::io::Result<Coprocess> {
        let args = [OsString::from("-c"), OsString::from(&self.command)];
        super::coprocess::spawn_through(&self.launcher, OsStr::new(SHELL), &args, slot)
    }
}

impl Executor for WorkerExecutor {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        let start = SystemTime::now();
        let clock = Instant::now();
        let fail = |status, signal, message: &str| {
            let mut outcome = Outcome::not_run(record, slot, status, message);
            outcome.signal = signal;
            outcome.start = start;
            outcome.duration = clock.elapsed();
            outcome
        };
        if record.whole.contains(&b'\n') {
            return fail(
                Status::InvalidInput,
                None,
                &format!(
                    "ppool: task {}: a --worker task is one line, but this record holds a newline",
                    record.seq
                ),
            );
        }
        let mut guard = lock(&self.slots[slot]);
        let state = &mut *guard;
        // A worker speaks only when asked: a line it wrote after its last
        // answer belongs to no record, and this one must not get it.
        if let Some(worker) = &mut state.worker {
            worker.read_ready();
            if !worker.read.data().is_empty() {
                let stray = shorten(worker.read.data());
                let Some(worker) = state.worker.take() else {
                    unreachable!("the worker was just checked");
                };
                let who = self.describe(slot, worker.pid);
                cancel.register(slot, worker.pid);
                worker.end(Some(libc::SIGTERM), self.grace, Some((cancel, slot)));
                let after = state.answered.map(|seq| format!(" to task {seq}")).unwrap_or_default();
                return fail(
                    Status::WorkerDied,
                    None,
                    &format!(
                        "ppool: task {}: not run: {who} wrote a line after its answer{after}: {stray}; \
                         the worker was replaced",
                        record.seq
                    ),
                );
            }
        }
        let worker = match &mut state.worker {
            Some(worker) => worker,
            None => match self.spawn(slot) {
                Ok(worker) => {
                    state.answered = None;
                    state.worker.insert(worker)
                }
                Err(e) => {
                    let mut outcome = fail(
                        Status::Failed,
                        None,
                        &format!("ppool: cannot start --worker {SHELL} -c …: {e}"),
                    );
                    outcome.exit_code = Some(126);
                    return outcome;
                }
            },
        };
        state.line.clear();
        state.line.extend_from_slice(&record.whole);
        state.line.push(b'\n');
        worker.tasks += 1;
        cancel.register(slot, worker.pid);
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut written = 0;
        let ended = loop {
            if let Some(at) = worker.read.data().iter().position(|&b| b == b'\n') {
                // A line that came while the record was still in the pipe
                // was written before the worker read it: not its answer.
                if written < state.line.len() || worker.unread_input() > 0 {
                    break Ended::Stray {
                        line: shorten(worker.read.data()),
                        answered: false,
                    };
                }
                // More output already there is a second line for one
                // record: which of them is the answer cannot be told.
                worker.read_ready();
                let data = worker.read.data();
                if data.len() > at + 1 {
                    break Ended::Stray {
                        line: format!("{} and {}", shorten(&data[..at]), shorten(&data[at + 1..])),
                        answered: true,
                    };
                }
                let mut stdout = Captured::default();
                // A write error to a spill file loses only this answer.
                let _ = stdout.push(&data[..=at]);
                worker.read.consume(at + 1);
                break Ended::Answer(stdout);
            }
            match worker.pump(&state.line, &mut written, deadline) {
                Ok(Pump::Data) => {}
                Ok(Pump::Eof) | Err(_) => break Ended::Exited,
                Ok(Pump::TimedOut) => break Ended::TimedOut,
            }
        };
        let Some(worker) = state.worker.take() else {
            unreachable!("the worker was just used");
        };
        match ended {
            Ended::Answer(stdout) => {
                if self.max_tasks.is_some_and(|max| worker.tasks >= max) {
                    worker.end(None, self.grace, Some((cancel, slot)));
                } else {
                    cancel.unregister(slot);
                    state.worker = Some(worker);
                    state.answered = Some(record.seq);
                }
                drop(guard);
                let end = End {
                    exit_code: Some(0),
                    ..End::default()
                };
                Outcome::ended(record, slot, (start, clock.elapsed()), end, stdout, Captured::default())
            }
            Ended::Stray { line, answered } => {
                let who = self.describe(slot, worker.pid);
                worker.end(Some(libc::SIGTERM), self.grace, Some((cancel, slot)));
                drop(guard);
                let what = if answered {
                    format!("wrote two lines for this task's record: {line}")
                } else {
                    format!("wrote {line} before it read this task's record")
                };
                fail(
                    Status::WorkerDied,
                    None,
                    &format!("ppool: task {}: {who} {what}; the worker was replaced", record.seq),
                )
            }
            Ended::Exited | Ended::TimedOut => {
                let timed_out = matches!(ended, Ended::TimedOut);
                let signal_first = timed_out.then_some(libc::SIGTERM);
                let status = worker.end(signal_first, self.grace, Some((cancel, slot)));
                drop(guard);
                if timed_out || cancel.is_stopping() {
                    let end = End {
                        exit_code: None,
                        signal: status.signal,
                        timed_out: timed_out.then(|| self.timeout.unwrap_or_default()),
                    };
                    let (stdout, stderr) = (Captured::default(), Captured::default());
                    Outcome::ended(record, slot, (start, clock.elapsed()), end, stdout, stderr)
                } else {
                    fail(
                        Status::WorkerDied,
                        status.signal,
                        &format!(
                            "ppool: task {}: the worker {} before answering; it was replaced",
                            record.seq,
                            describe_exit(status)
                        ),
                    )
                }
            }
        }
    }
}

/// How a task sent to a worker ended.
enum Ended {
    Answer(Captured),
    /// The worker closed its stdout (it exited, most likely).
    Exited,
    TimedOut,
    /// A line no record was waiting for: written before the worker read
    /// the record, or after its answer (`answered`: then `line` shows both).
    Stray {
        line: String,
        answered: bool,
    },
}

impl WorkerExecutor {
    /// `the --worker in slot 2 (pid 4242: CMD)`, for a protocol error.
    fn describe(&self, slot: usize, pid: i32) -> String {
        format!(
            "the --worker in slot {slot} (pid {pid}: {})",
            shorten(self.command.as_bytes())
        )
    }
}

/// The first line of `bytes`, cut to a length that fits a message, quoted
/// with its control characters escaped.
fn shorten(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let mut short: String = text.chars().take(MAX).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("{short:?}")
}

impl Drop for WorkerExecutor {
    fn drop(&mut self) {
        self.close(None);
    }
}
