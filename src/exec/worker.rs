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
//!
//! With `--chunksize K`, up to K records are written at once and answered
//! in order, the i-th line for the i-th record, as `Pool.imap` chunks: a
//! round trip a record would cost more than a small worker's work. A line
//! no record awaits is then caught only between chunks (it fails the next
//! chunk's first task), and at start, since each new worker's first record
//! goes alone.

use std::ffi::{OsStr, OsString};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::coprocess::{describe_exit, end_all, Coprocess, Pump};
use super::Executor;
use crate::cancel::Cancel;
use crate::capture::{Captured, SPILL_LIMIT};
use crate::input::Record;
use crate::lock;
use crate::slot_table::SlotTable;
use crate::task::{Chunk, End, Ended, Outcome, Status};

const SHELL: &str = "/bin/sh";

pub struct WorkerExecutor {
    command: String,
    /// `--chunksize`: records written at a time; one when not given.
    chunksize: Option<usize>,
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
    pub fn new(
        command: &str,
        chunksize: Option<usize>,
        max_tasks: Option<u64>,
        timeout: Option<Duration>,
        grace: Duration,
    ) -> WorkerExecutor {
        WorkerExecutor {
            command: command.to_string(),
            chunksize,
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
    fn batch_size(&self) -> usize {
        self.chunksize.unwrap_or(1).max(1)
    }

    fn run_batch(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Outcome) -> bool) {
        self.run_records(records, slot, cancel, false, &mut super::tasks_only(emit));
    }

    fn run_chunked(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Ended) -> bool) {
        self.run_records(records, slot, cancel, true, emit);
    }

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
                    break Reply::Stray {
                        line: shorten(worker.read.data()),
                        answered: false,
                    };
                }
                // More output already there is a second line for one
                // record: which of them is the answer cannot be told.
                worker.read_ready();
                let data = worker.read.data();
                if data.len() > at + 1 {
                    break Reply::Stray {
                        line: format!("{} and {}", shorten(&data[..at]), shorten(&data[at + 1..])),
                        answered: true,
                    };
                }
                let mut stdout = Captured::default();
                // A write error to a spill file loses only this answer.
                let _ = stdout.push(&data[..=at]);
                worker.read.consume(at + 1);
                break Reply::Answer(stdout);
            }
            match worker.pump(&state.line, &mut written, deadline) {
                Ok(Pump::Data) => {}
                Ok(Pump::Eof) | Err(_) => break Reply::Exited,
                Ok(Pump::TimedOut) => break Reply::TimedOut,
            }
        };
        let Some(worker) = state.worker.take() else {
            unreachable!("the worker was just used");
        };
        match ended {
            Reply::Answer(stdout) => {
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
            Reply::Stray { line, answered } => {
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
            Reply::Exited | Reply::TimedOut => {
                let timed_out = matches!(ended, Reply::TimedOut);
                let signal_first = timed_out.then_some(libc::SIGTERM);
                let who = self.describe(slot, worker.pid);
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
                            "ppool: task {}: {who} ended ({}) before answering; it was replaced",
                            record.seq,
                            describe_exit(status)
                        ),
                    )
                }
            }
        }
    }
}

/// How a chunk sent to a worker ended.
enum ChunkEnd {
    /// Every record was answered.
    Answered,
    Exited,
    TimedOut,
    /// `emit` said nobody listens any more.
    Deaf,
}

impl WorkerExecutor {
    /// A slot's batch: in chunks with `--chunksize`, else one record at a
    /// time. `chunked`: answers read together go on as one [`Chunk`].
    fn run_records(
        &self,
        records: &[Record],
        slot: usize,
        cancel: &Cancel,
        chunked: bool,
        emit: &mut dyn FnMut(Ended) -> bool,
    ) {
        let mut rest = records;
        while let Some(first) = rest.first() {
            if cancel.is_stopping() {
                // Like commands not yet started when a stop comes: no outcome.
                return;
            }
            let taken = match self.chunksize.is_some_and(|k| k > 1) {
                true => self.exchange(rest, slot, cancel, chunked, emit),
                false => None,
            };
            match taken {
                Some((_, ChunkEnd::Deaf)) => return,
                Some((answered, _)) => rest = &rest[answered..],
                None => {
                    if !emit(Ended::Task(self.run(first, slot, cancel))) {
                        return;
                    }
                    rest = &rest[1..];
                }
            }
        }
    }

    /// `--chunksize`: writes as many of `records` as fit one chunk to the
    /// slot's worker and hands on each answer. Returns how many were
    /// answered, or `None` when this worker cannot take a chunk now (there
    /// is none yet, or it spoke unasked): then one record goes alone, which
    /// starts a worker or tells of the stray line. Answers are handed on
    /// with the slot held: they are successes, which nobody retries.
    /// `chunked`: the answers of one read go on together, as one [`Chunk`].
    fn exchange(
        &self,
        records: &[Record],
        slot: usize,
        cancel: &Cancel,
        chunked: bool,
        emit: &mut dyn FnMut(Ended) -> bool,
    ) -> Option<(usize, ChunkEnd)> {
        let mut guard = lock(&self.slots[slot]);
        let state = &mut *guard;
        let worker = state.worker.as_mut()?;
        worker.read_ready();
        if !worker.read.data().is_empty() {
            return None;
        }
        let room = self
            .max_tasks
            .map_or(usize::MAX, |max| max.saturating_sub(worker.tasks).max(1) as usize);
        let count = records
            .iter()
            .take(room.min(self.chunksize.unwrap_or(1)))
            .take_while(|r| !r.whole.contains(&b'\n'))
            .count();
        if count == 0 {
            return None;
        }
        let chunk = &records[..count];
        state.line.clear();
        for record in chunk {
            state.line.extend_from_slice(&record.whole);
            state.line.push(b'\n');
        }
        worker.tasks += count as u64;
        cancel.register(slot, worker.pid);
        let mut written = 0;
        let mut answered = 0;
        // Bytes of the answers taken, for the size of the next read.
        let mut answer_bytes = 0;
        let sent = Instant::now();
        let (mut start, mut clock) = (SystemTime::now(), sent);
        // The last read brought bytes: the worker is answering.
        let mut flowing = false;
        let mut together = Chunk::new(slot);
        // Hands on the answers gathered so far.
        let pass = |together: &mut Chunk, emit: &mut dyn FnMut(Ended) -> bool| {
            together.is_empty() || emit(Ended::Chunk(together.take()))
        };
        let end = 'chunk: loop {
            let data = worker.read.data();
            let lines = count_lines(data);
            let ready = lines.min(count - answered);
            // The usual read: whole answers, as many as owed or fewer, of
            // tasks numbered in a row: one copy for all of them.
            let whole = match data.last() {
                Some(b'\n') if lines == ready => data.len(),
                _ => 0,
            };
            let in_a_row =
                ready > 0 && chunk[answered + ready - 1].seq.checked_sub(chunk[answered].seq) == Some(ready as u64 - 1);
            if chunked && in_a_row && whole > 0 && whole < SPILL_LIMIT {
                together.push_lines(chunk[answered].seq, &data[..whole]);
                worker.read.consume(whole);
                answer_bytes += whole;
                answered += ready;
                if !pass(&mut together, emit) {
                    break 'chunk ChunkEnd::Deaf;
                }
                (start, clock) = (SystemTime::now(), Instant::now());
            } else if ready > 0 && chunked {
                // Nothing looks at these tasks one by one: no clock, no
                // outcome, one buffer for the answers of the read.
                let data = worker.read.data();
                let mut taken = 0;
                let mut listening = true;
                for line in data.split_inclusive(|&b| b == b'\n').take(ready) {
                    let record = &chunk[answered];
                    listening = if line.len() < SPILL_LIMIT && together.push(record.seq, line) {
                        together.bytes() < SPILL_LIMIT || pass(&mut together, emit)
                    } else if line.len() < SPILL_LIMIT {
                        // Not in a row with the tasks gathered: they go first.
                        let listening = pass(&mut together, emit);
                        together.push(record.seq, line);
                        listening
                    } else {
                        let mut stdout = Captured::default();
                        // A write error to a spill file loses only this answer.
                        let _ = stdout.push(line);
                        let end = End {
                            exit_code: Some(0),
                            ..End::default()
                        };
                        let outcome =
                            Outcome::ended(record, slot, (start, Duration::ZERO), end, stdout, Captured::default());
                        pass(&mut together, emit) && emit(Ended::Task(outcome))
                    };
                    taken += line.len();
                    answered += 1;
                    if !listening {
                        break;
                    }
                }
                worker.read.consume(taken);
                answer_bytes += taken;
                if !listening || !pass(&mut together, emit) {
                    break 'chunk ChunkEnd::Deaf;
                }
                (start, clock) = (SystemTime::now(), Instant::now());
            } else if ready > 0 {
                // The answers of one read share the time since the last
                // one: two clock reads a read, not a task.
                let (now, wall) = (Instant::now(), SystemTime::now());
                let share = now.saturating_duration_since(clock) / u32::try_from(ready).unwrap_or(u32::MAX);
                for _ in 0..ready {
                    let data = worker.read.data();
                    let Some(at) = data.iter().position(|&b| b == b'\n') else {
                        break;
                    };
                    let mut stdout = Captured::default();
                    // A write error to a spill file loses only this answer.
                    let _ = stdout.push(&data[..=at]);
                    worker.read.consume(at + 1);
                    answer_bytes += at + 1;
                    let end = End {
                        exit_code: Some(0),
                        ..End::default()
                    };
                    let outcome =
                        Outcome::ended(&chunk[answered], slot, (start, share), end, stdout, Captured::default());
                    answered += 1;
                    start = start.checked_add(share).unwrap_or(start);
                    if !emit(Ended::Task(outcome)) {
                        break 'chunk ChunkEnd::Deaf;
                    }
                }
                (start, clock) = (wall, now);
            }
            if answered == count {
                break ChunkEnd::Answered;
            }
            let deadline = self.timeout.map(|t| clock + t);
            if flowing {
                gather(sent.elapsed(), (answered, answer_bytes), count - answered, deadline);
            }
            match worker.pump(&state.line, &mut written, deadline) {
                Ok(Pump::Data) => flowing = true,
                Ok(Pump::Eof) | Err(_) => break ChunkEnd::Exited,
                Ok(Pump::TimedOut) => break ChunkEnd::TimedOut,
            }
        };
        if matches!(end, ChunkEnd::Answered) && !self.max_tasks.is_some_and(|max| worker.tasks >= max) {
            cancel.unregister(slot);
            state.answered = chunk.last().map(|r| r.seq);
            return Some((answered, end));
        }
        let worker = state.worker.take()?;
        let who = self.describe(slot, worker.pid);
        let signal_first = match end {
            ChunkEnd::TimedOut => Some(libc::SIGTERM),
            ChunkEnd::Deaf => Some(libc::SIGKILL),
            ChunkEnd::Answered | ChunkEnd::Exited => None,
        };
        let status = worker.end(signal_first, self.grace, Some((cancel, slot)));
        drop(guard);
        let Some(record) = chunk.get(answered) else {
            return Some((answered, end));
        };
        let outcome = match end {
            ChunkEnd::Answered | ChunkEnd::Deaf => return Some((answered, end)),
            ChunkEnd::TimedOut => {
                let end = End {
                    exit_code: None,
                    signal: status.signal,
                    timed_out: Some(self.timeout.unwrap_or_default()),
                };
                let (stdout, stderr) = (Captured::default(), Captured::default());
                Outcome::ended(record, slot, (start, clock.elapsed()), end, stdout, stderr)
            }
            ChunkEnd::Exited if cancel.is_stopping() => {
                let mut outcome = Outcome::not_run(record, slot, Status::Failed, "");
                outcome.signal = status.signal;
                outcome
            }
            ChunkEnd::Exited => {
                let message = format!(
                    "ppool: task {}: {who} ended ({}) before answering; it was replaced",
                    record.seq,
                    describe_exit(status)
                );
                let mut outcome = Outcome::not_run(record, slot, Status::WorkerDied, &message);
                outcome.signal = status.signal;
                outcome
            }
        };
        // The failed task counts as handled; the records after it go to
        // the next worker.
        if !emit(Ended::Task(outcome)) {
            return Some((answered + 1, ChunkEnd::Deaf));
        }
        Some((answered + 1, end))
    }
}

/// The longest ppool lets a worker's answers gather in the pipe before it
/// reads them: the most an answer can wait for ppool on top of the worker.
const GATHER_MAX: Duration = Duration::from_millis(1);
/// Answers worth one read: reading them one by one would cost ppool (and
/// the worker, whose every write would wake it) more than the worker's own
/// work per line when that is small.
const GATHER_ANSWERS: usize = 256;
/// And no more bytes of them than a pipe of the default size holds, so
/// that a worker with long answers is not left blocked on a full pipe.
const GATHER_BYTES: usize = 64 * 1024;
/// Shorter waits are not worth a sleep.
const GATHER_MIN: Duration = Duration::from_micros(20);

/// `--chunksize`: while a worker that answers quickly still owes `due`
/// answers, waits for about [`GATHER_ANSWERS`] of them (or
/// [`GATHER_BYTES`]) to be in the pipe, judging its pace by the answers
/// (how many, how many bytes) taken in the `elapsed` time since the chunk
/// was sent; at most [`GATHER_MAX`], never past `deadline`, and not at all
/// for a worker slower than a few answers in that time: each of its
/// answers is read as it comes.
fn gather(elapsed: Duration, (answered, bytes): (usize, usize), due: usize, deadline: Option<Instant>) {
    let Ok(count) = u32::try_from(answered) else {
        return;
    };
    if count == 0 {
        return;
    }
    let each = elapsed / count;
    if each > GATHER_MAX / 4 {
        return;
    }
    let fit = GATHER_BYTES / (bytes / answered).max(1);
    let worth = due.min(GATHER_ANSWERS).min(fit).max(1) as u32;
    let mut wait = each.saturating_mul(worth).min(GATHER_MAX);
    if let Some(deadline) = deadline {
        wait = wait.min(deadline.saturating_duration_since(Instant::now()));
    }
    if wait >= GATHER_MIN {
        std::thread::sleep(wait);
    }
}

/// How many whole lines `data` starts with. A plain count over the whole
/// buffer, which the compiler turns into wide compares.
fn count_lines(data: &[u8]) -> usize {
    data.iter().filter(|&&b| b == b'\n').count()
}

/// How a task sent to a worker ended.
enum Reply {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: u64) -> Vec<Record> {
        (1..=n)
            .map(|seq| Record {
                seq,
                line: seq,
                whole: seq.to_string().into_bytes(),
                ..Record::default()
            })
            .collect()
    }

    /// Runs `records` chunked through a worker running `script`: each task
    /// handed on (number, stdout, status) and how many chunks carried them.
    fn run_chunked(script: &str, chunksize: usize, records: &[Record]) -> (Vec<(u64, String, Status)>, usize) {
        let executor = WorkerExecutor::new(script, Some(chunksize), None, None, Duration::from_secs(5));
        let cancel = Cancel::new(1, Duration::from_secs(5));
        let (mut tasks, mut chunks) = (Vec::new(), 0);
        let mut rest = records;
        while !rest.is_empty() {
            let (batch, after) = rest.split_at(rest.len().min(chunksize));
            executor.run_chunked(batch, 1, &cancel, &mut |ended| {
                match ended {
                    Ended::Chunk(chunk) => {
                        chunks += 1;
                        for (seq, stdout) in chunk.tasks() {
                            tasks.push((seq, String::from_utf8_lossy(stdout).into_owned(), Status::Ok));
                        }
                    }
                    Ended::Task(outcome) => {
                        let mut stdout = Vec::new();
                        outcome.stdout.write_to(&mut stdout).unwrap();
                        let stdout = String::from_utf8_lossy(&stdout).into_owned();
                        tasks.push((outcome.seq, stdout, outcome.status));
                    }
                }
                true
            });
            rest = after;
        }
        executor.close(None);
        (tasks, chunks)
    }

    #[test]
    fn chunked_answers_of_a_chunk_come_as_chunks() {
        let (tasks, chunks) = run_chunked("cat", 50, &records(200));
        let expected: Vec<_> = (1..=200).map(|seq| (seq, format!("{seq}\n"), Status::Ok)).collect();
        assert_eq!(tasks, expected);
        // The first record of a new worker goes alone, as its own outcome.
        assert!(chunks >= 4, "{chunks} chunks");
    }

    #[test]
    fn a_worker_dying_mid_chunk_delivers_its_answers_and_fails_the_task_it_was_on() {
        // Each worker answers four records, then exits on its fifth.
        let script = "i=0; while IFS= read -r l; do i=$((i+1)); [ $i -ge 5 ] && exit 3; echo \"r$l\"; done";
        let (tasks, chunks) = run_chunked(script, 6, &records(12));
        assert!(chunks >= 1, "{tasks:?}");
        let seqs: Vec<u64> = tasks.iter().map(|(seq, ..)| *seq).collect();
        assert_eq!(seqs, (1..=12).collect::<Vec<_>>(), "{tasks:?}");
        let died = tasks
            .iter()
            .filter(|(.., status)| *status == Status::WorkerDied)
            .count();
        assert!(died >= 2, "{tasks:?}");
        for (seq, stdout, status) in &tasks {
            if *status == Status::Ok {
                assert_eq!(stdout, &format!("r{seq}\n"));
            }
        }
    }
}
