//! Builtin tasks in persistent worker processes: one copy of ppool itself
//! (`ppool __worker NAME`) per slot, owned by that slot, fed records in
//! chunks over pipes (see [`super::frame`] for the protocol). A worker that
//! dies or overruns `--timeout` is replaced; the tasks of its chunk that had
//! not been answered go to the replacement.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::coprocess::{describe_exit, end_all, Coprocess, Pump};
use super::frame::{self, FLUSH, RUN, RUN_AND_FLUSH};
use super::Executor;
use crate::cancel::Cancel;
use crate::capture::{Captured, SPILL_LIMIT};
use crate::input::Record;
use crate::lock;
use crate::slot_table::SlotTable;
use crate::task::{Chunk, End, Ended, Outcome, Status};

/// The automatic chunk size aims at about this much work per chunk: enough
/// to spread the pipe round trip over many cheap tasks, little enough that
/// slow tasks still spread over every slot.
const CHUNK_WORK: Duration = Duration::from_millis(10);
/// The automatic chunk size never exceeds this.
const MAX_CHUNK: usize = 10_000;
/// How much the automatic chunk size may grow from one chunk to the next.
const GROWTH: usize = 8;

pub struct PoolExecutor {
    /// The builtin's name: each worker is `ppool __worker NAME`, which finds
    /// the builtin in the registry itself, so the pool need not know it.
    builtin: &'static str,
    program: PathBuf,
    chunksize: Option<usize>,
    max_tasks: Option<u64>,
    timeout: Option<Duration>,
    grace: Duration,
    /// The scheduler may re-run a failed task (`--retries`), through
    /// [`Executor::run`] and so through this slot's worker: a failure is
    /// then handed on only once the worker is back in its slot.
    retries: bool,
    /// Index = slot (slot 0 unused); grows with the slots used.
    slots: SlotTable<Mutex<SlotState>>,
    /// `--slurm`: srun and its options, before each worker's command.
    launcher: Vec<OsString>,
    /// The automatic chunk size, learnt from the chunks so far.
    chunk: AtomicUsize,
    /// Wall time per task in the last chunk, in nanoseconds.
    nanos_per_task: AtomicU64,
}

#[derive(Default)]
struct SlotState {
    worker: Option<Coprocess>,
    /// The chunk's request frames, reused from chunk to chunk.
    requests: Vec<u8>,
}

/// How a chunk ended.
enum ChunkEnd {
    /// Every task answered.
    Answered,
    /// The worker closed its stdout (it died) or broke the protocol.
    Died(&'static str),
    TimedOut,
}

impl PoolExecutor {
    pub fn new(
        builtin: &'static str,
        chunksize: Option<usize>,
        max_tasks: Option<u64>,
        timeout: Option<Duration>,
        grace: Duration,
        retries: u32,
    ) -> anyhow::Result<PoolExecutor> {
        let program = std::env::current_exe()
            .map_err(|e| anyhow::anyhow!("cannot find ppool's own program to start builtin workers: {e}"))?;
        Ok(PoolExecutor {
            builtin,
            program,
            chunksize,
            max_tasks,
            timeout,
            grace,
            retries: retries > 0,
            slots: SlotTable::new(),
            launcher: Vec::new(),
            chunk: AtomicUsize::new(1),
            nanos_per_task: AtomicU64::new(0),
        })
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
        let args = [OsString::from("__worker"), OsString::from(self.builtin)];
        super::coprocess::spawn_through(&self.launcher, self.program.as_os_str(), &args, slot)
    }

    /// Learns from a chunk of `tasks` that took `took`: the next chunks
    /// hold about [`CHUNK_WORK`] of work.
    fn learn(&self, tasks: usize, took: Duration) {
        if self.chunksize.is_some() || tasks == 0 {
            return;
        }
        let nanos = (took.as_nanos() / tasks as u128).max(1) as u64;
        self.nanos_per_task.store(nanos, Ordering::Relaxed);
        let fits = (CHUNK_WORK.as_nanos() as u64 / nanos).max(1) as usize;
        let size = fits.min(tasks.saturating_mul(GROWTH)).clamp(1, MAX_CHUNK);
        self.chunk.store(size, Ordering::Relaxed);
    }

    /// Runs every record, replacing workers as needed. Returns false when
    /// `emit` said nobody listens any more.
    fn run_records(
        &self,
        state: &mut SlotState,
        records: &[Record],
        slot: usize,
        cancel: &Cancel,
        chunked: bool,
        emit: &mut dyn FnMut(Ended) -> bool,
    ) -> bool {
        let mut rest = records;
        while !rest.is_empty() {
            if cancel.is_stopping() {
                // Like commands not yet started when a stop comes: no outcome.
                return true;
            }
            let worker = match &mut state.worker {
                Some(worker) => worker,
                None => match self.spawn(slot) {
                    Ok(worker) => state.worker.insert(worker),
                    Err(e) => {
                        let message = format!(
                            "ppool: cannot start a worker for builtin {} ({}): {e}",
                            self.builtin,
                            self.program.display()
                        );
                        for record in rest {
                            if !emit(Ended::Task(failed(
                                record,
                                slot,
                                Status::Failed,
                                Some(126),
                                None,
                                &message,
                            ))) {
                                return false;
                            }
                        }
                        return true;
                    }
                },
            };
            let room = self
                .max_tasks
                .map_or(usize::MAX, |max| max.saturating_sub(worker.tasks).max(1) as usize);
            let chunk = &rest[..rest.len().min(room)];
            let (answered, end, listening) = self.exchange(state, chunk, slot, cancel, chunked, emit);
            if !listening {
                // The run is over; this worker may be mid-chunk.
                if let Some(worker) = state.worker.take() {
                    worker.end(Some(libc::SIGKILL), self.grace, Some((cancel, slot)));
                }
                return false;
            }
            rest = &rest[answered..];
            let Some(worker) = state.worker.take() else {
                return true;
            };
            match end {
                ChunkEnd::Answered => {
                    if self.max_tasks.is_some_and(|max| worker.tasks >= max) {
                        worker.end(None, self.grace, Some((cancel, slot)));
                    } else {
                        cancel.unregister(slot);
                        state.worker = Some(worker);
                    }
                }
                ChunkEnd::Died(why) => {
                    let status = worker.end(None, self.grace, Some((cancel, slot)));
                    let Some((record, after)) = rest.split_first() else {
                        return true;
                    };
                    rest = after;
                    let outcome = if cancel.is_stopping() {
                        // Stopped by the run's stop, as a command would be.
                        failed(record, slot, Status::Failed, None, status.signal, "")
                    } else {
                        let message = format!(
                            "ppool: task {}: the {} worker {} ({}); it was replaced",
                            record.seq,
                            self.builtin,
                            why,
                            describe_exit(status)
                        );
                        failed(record, slot, Status::WorkerDied, None, status.signal, &message)
                    };
                    if !emit(Ended::Task(outcome)) {
                        return false;
                    }
                }
                ChunkEnd::TimedOut => {
                    let status = worker.end(Some(libc::SIGTERM), self.grace, Some((cancel, slot)));
                    let Some((record, after)) = rest.split_first() else {
                        return true;
                    };
                    rest = after;
                    let end = End {
                        exit_code: None,
                        signal: status.signal,
                        timed_out: Some(self.timeout.unwrap_or_default()),
                    };
                    let (stdout, stderr) = (Captured::default(), Captured::default());
                    let outcome =
                        Outcome::ended(record, slot, (SystemTime::now(), Duration::ZERO), end, stdout, stderr);
                    if !emit(Ended::Task(outcome)) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Sends one chunk to the slot's worker and hands on each answer:
    /// `chunked`, the answers that succeeded with stdout only go on
    /// together, gathered while they are at hand and handed on before
    /// waiting for more. Returns how many tasks were answered, how the
    /// chunk ended and whether `emit` still listens.
    fn exchange(
        &self,
        state: &mut SlotState,
        chunk: &[Record],
        slot: usize,
        cancel: &Cancel,
        chunked: bool,
        emit: &mut dyn FnMut(Ended) -> bool,
    ) -> (usize, ChunkEnd, bool) {
        let Some(worker) = state.worker.as_mut() else {
            return (0, ChunkEnd::Died("could not start"), true);
        };
        let kind = if self.timeout.is_some() { RUN_AND_FLUSH } else { RUN };
        let requests = &mut state.requests;
        requests.clear();
        for record in chunk {
            frame::push_request(requests, kind, record.seq, &record.whole);
        }
        frame::push_request(requests, FLUSH, 0, b"");
        worker.tasks += chunk.len() as u64;
        cancel.register(slot, worker.pid);
        let started = Instant::now();
        let mut progress = started;
        let mut written = 0;
        let mut answered = 0;
        let mut together = Chunk::new(slot);
        // Hands on the answers gathered so far.
        let pass = |together: &mut Chunk, emit: &mut dyn FnMut(Ended) -> bool| {
            together.is_empty() || emit(Ended::Chunk(together.take()))
        };
        loop {
            let now = SystemTime::now();
            while answered < chunk.len() {
                let Some((response, len)) = frame::parse_response(worker.read.data()) else {
                    break;
                };
                let record = &chunk[answered];
                if response.seq != record.seq {
                    let listening = pass(&mut together, emit);
                    return (answered, ChunkEnd::Died("broke the protocol"), listening);
                }
                let plain = chunked
                    && response.failure.is_none()
                    && response.stderr.is_empty()
                    && response.stdout.len() < SPILL_LIMIT;
                let listening = if plain && together.push(record.seq, response.stdout) {
                    together.bytes() < SPILL_LIMIT || pass(&mut together, emit)
                } else if plain {
                    // Not in a row with the tasks gathered: they go first.
                    let listening = pass(&mut together, emit);
                    together.push(record.seq, response.stdout);
                    listening
                } else {
                    pass(&mut together, emit) && emit(Ended::Task(answer(record, slot, &response, now)))
                };
                worker.read.consume(len);
                answered += 1;
                if self.timeout.is_some() {
                    progress = Instant::now();
                }
                if !listening {
                    return (answered, ChunkEnd::Answered, false);
                }
            }
            if !pass(&mut together, emit) {
                return (answered, ChunkEnd::Answered, false);
            }
            if answered == chunk.len() {
                self.learn(chunk.len(), started.elapsed());
                return (answered, ChunkEnd::Answered, true);
            }
            let deadline = self.timeout.map(|t| progress + t);
            match worker.pump(requests, &mut written, deadline) {
                Ok(Pump::Data) => {}
                Ok(Pump::Eof) | Err(_) => return (answered, ChunkEnd::Died("died"), true),
                Ok(Pump::TimedOut) => return (answered, ChunkEnd::TimedOut, true),
            }
        }
    }

    fn slot(&self, slot: usize) -> MutexGuard<'_, SlotState> {
        lock(&self.slots[slot])
    }
}

impl Executor for PoolExecutor {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        let mut result = None;
        self.run_batch(std::slice::from_ref(record), slot, cancel, &mut |outcome| {
            result = Some(outcome);
            true
        });
        // A stop before it ran: it did not run, as a command stopped then.
        result.unwrap_or_else(|| failed(record, slot, Status::Failed, None, Some(libc::SIGTERM), ""))
    }

    fn batch_size(&self) -> usize {
        self.chunksize
            .unwrap_or_else(|| self.chunk.load(Ordering::Relaxed))
            .max(1)
    }

    fn run_batch(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Outcome) -> bool) {
        self.run_records_of(records, slot, cancel, false, &mut super::tasks_only(emit));
    }

    fn run_chunked(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Ended) -> bool) {
        self.run_records_of(records, slot, cancel, true, emit);
    }
}

impl PoolExecutor {
    /// A slot's batch: records too long for a frame fail here, the others
    /// go to the slot's worker; with retries, failures are handed on once
    /// the worker is back in its slot.
    fn run_records_of(
        &self,
        records: &[Record],
        slot: usize,
        cancel: &Cancel,
        chunked: bool,
        emit: &mut dyn FnMut(Ended) -> bool,
    ) {
        let mut held = Vec::new();
        let listening = {
            let mut state = self.slot(slot);
            let mut pass = |ended: Ended| match ended {
                Ended::Task(outcome) if self.retries && outcome.status.is_failure() => {
                    held.push(outcome);
                    true
                }
                ended => emit(ended),
            };
            if records.iter().any(|r| r.whole.len() > frame::MAX_RECORD) {
                let mut valid = Vec::with_capacity(records.len());
                let mut listening = true;
                for record in records {
                    if record.whole.len() > frame::MAX_RECORD {
                        let message = format!("ppool: task {}: the record is longer than 4 GiB", record.seq);
                        listening &= pass(Ended::Task(failed(
                            record,
                            slot,
                            Status::InvalidInput,
                            None,
                            None,
                            &message,
                        )));
                    } else {
                        valid.push(record.clone());
                    }
                }
                listening && self.run_records(&mut state, &valid, slot, cancel, chunked, &mut pass)
            } else {
                self.run_records(&mut state, records, slot, cancel, chunked, &mut pass)
            }
        };
        if listening {
            for outcome in held {
                if !emit(Ended::Task(outcome)) {
                    return;
                }
            }
        }
    }
}

impl Drop for PoolExecutor {
    fn drop(&mut self) {
        self.close(None);
    }
}

/// The outcome of an answered task.
fn answer(record: &Record, slot: usize, response: &frame::Response, now: SystemTime) -> Outcome {
    let mut stdout = Captured::default();
    let mut stderr = Captured::default();
    // A write error to a spill file loses only this task's output.
    let _ = stdout.push(response.stdout);
    if !response.stderr.is_empty() {
        let _ = stderr.push(response.stderr);
    }
    let end = End {
        exit_code: Some(response.failure.unwrap_or(0)),
        ..End::default()
    };
    let start = now.checked_sub(response.duration).unwrap_or(now);
    Outcome::ended(record, slot, (start, response.duration), end, stdout, stderr)
}

/// The outcome of a task that has no answer.
fn failed(
    record: &Record,
    slot: usize,
    status: Status,
    code: Option<i32>,
    signal: Option<i32>,
    message: &str,
) -> Outcome {
    let mut outcome = Outcome::not_run(record, slot, status, message);
    outcome.exit_code = code;
    outcome.signal = signal;
    outcome
}
