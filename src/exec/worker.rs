//! `--worker CMD`: one long-running `/bin/sh -c CMD` per slot, in its own
//! process group. A task is one line on the worker's stdin (the record and
//! a newline); its result is the worker's next line on stdout. A worker that
//! exits or overruns `--timeout` is replaced and that task fails. The
//! worker's stderr is ppool's own: it passes straight through, unbuffered
//! and ungrouped, since it belongs to no single task.

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::capture::Captured;
use super::coprocess::{describe_exit, end_all, Coprocess, Pump};
use super::Executor;
use crate::cancel::Cancel;
use crate::input::Record;
use crate::lock;
use crate::slot_table::SlotTable;
use crate::task::{timeout_note, Outcome, Status};

const SHELL: &str = "/bin/sh";

pub struct WorkerExecutor {
    command: String,
    max_tasks: Option<u64>,
    timeout: Option<Duration>,
    grace: Duration,
    /// Index = slot (slot 0 unused); grows with the slots used.
    slots: SlotTable<Mutex<SlotState>>,
}

#[derive(Default)]
struct SlotState {
    worker: Option<Coprocess>,
    line: Vec<u8>,
}

impl WorkerExecutor {
    pub fn new(command: &str, max_tasks: Option<u64>, timeout: Option<Duration>, grace: Duration) -> WorkerExecutor {
        WorkerExecutor {
            command: command.to_string(),
            max_tasks,
            timeout,
            grace,
            slots: SlotTable::new(),
        }
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
        let mut command = Command::new(SHELL);
        command.arg("-c").arg(&self.command).env("PPOOL_SLOT", slot.to_string());
        Coprocess::spawn(&mut command)
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
        let worker = match &mut state.worker {
            Some(worker) => worker,
            None => match self.spawn(slot) {
                Ok(worker) => state.worker.insert(worker),
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
                let mut stdout = Captured::default();
                // A write error to a spill file loses only this answer.
                let _ = stdout.push(&worker.read.data()[..=at]);
                worker.read.consume(at + 1);
                break Ok(stdout);
            }
            match worker.pump(&state.line, &mut written, deadline) {
                Ok(Pump::Data) => {}
                Ok(Pump::Eof) | Err(_) => break Err(false),
                Ok(Pump::TimedOut) => break Err(true),
            }
        };
        let Some(worker) = state.worker.take() else {
            unreachable!("the worker was just used");
        };
        match ended {
            Ok(stdout) => {
                if self.max_tasks.is_some_and(|max| worker.tasks >= max) {
                    worker.end(None, self.grace, Some((cancel, slot)));
                } else {
                    cancel.unregister(slot);
                    state.worker = Some(worker);
                }
                drop(guard);
                Outcome {
                    seq: record.seq,
                    input: record.whole.clone(),
                    status: Status::Ok,
                    exit_code: Some(0),
                    signal: None,
                    stdout,
                    stderr: Captured::default(),
                    attempts: 1,
                    slot,
                    start,
                    duration: clock.elapsed(),
                    command: Vec::new(),
                    host: None,
                }
            }
            Err(timed_out) => {
                use std::os::unix::process::ExitStatusExt;
                let signal_first = timed_out.then_some(libc::SIGTERM);
                let status = worker.end(signal_first, self.grace, Some((cancel, slot)));
                drop(guard);
                if timed_out {
                    fail(
                        Status::Timeout,
                        status.signal(),
                        &timeout_note(record.seq, self.timeout),
                    )
                } else if cancel.is_stopping() {
                    fail(Status::Failed, status.signal(), "")
                } else {
                    fail(
                        Status::WorkerDied,
                        status.signal(),
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

impl Drop for WorkerExecutor {
    fn drop(&mut self) {
        self.close(None);
    }
}
