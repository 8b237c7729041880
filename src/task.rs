//! Outcome: what every task yields exactly once, failures included.

use std::time::{Duration, SystemTime};

use crate::capture::Captured;
use crate::exit;
use crate::input::Record;

/// How a task ended. A failed task is data, never an `Err`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Failed,
    Timeout,
    InvalidInput,
    WorkerDied,
    /// `--ssh`: a file could not be copied to the host or back from it.
    Transfer,
    /// `--slurm`: Slurm ended the step or job, or could not start it.
    Slurm,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::InvalidInput => "invalid-input",
            Status::WorkerDied => "worker-died",
            Status::Transfer => "transfer",
            Status::Slurm => "slurm",
            Status::Skipped => "skipped",
        }
    }

    /// Whether this outcome counts as a failure for the exit status and
    /// the summary. Skipped tasks (already done in an earlier run) do not.
    pub fn is_failure(self) -> bool {
        !matches!(self, Status::Ok | Status::Skipped)
    }
}

/// The result of one task: one per input record. Kept small: millions of
/// them pass through the queues by value, and an `imap` run holds a window
/// of them; what few tasks have lives in [`Extra`].
#[derive(Debug)]
pub struct Outcome {
    pub seq: u64,
    /// The record as `{}` renders it (a batch: its records joined by spaces).
    pub input: Vec<u8>,
    pub status: Status,
    /// The run was already stopping when this task ended, so the stop may
    /// have ended it: after a fail-fast stop, `unordered` prints only the
    /// tasks that ended before. Set by the scheduler as each task ends.
    pub ended_in_stop: bool,
    pub attempts: u32,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Captured,
    pub stderr: Captured,
    pub slot: usize,
    pub start: SystemTime,
    pub duration: Duration,
    /// `None` when every field of [`Extra`] would be empty.
    extra: Option<Box<Extra>>,
}

/// What a slot hands on as tasks end: one task's outcome, or a chunk of
/// tasks that went the common way.
#[derive(Debug)]
pub enum Ended {
    Task(Outcome),
    Chunk(Chunk),
}

/// Tasks numbered in a row that ran in one slot and succeeded, printing
/// to stdout only: carried together from the executor to the output when
/// nothing needs them one by one (plain text output, nothing watching each
/// task end). Each is still a task of its own for counts and ordering.
#[derive(Debug, Default)]
pub struct Chunk {
    first: u64,
    /// Where each task's stdout ends in `stdout`.
    ends: Vec<usize>,
    stdout: Vec<u8>,
    pub slot: usize,
    /// As [`Outcome::ended_in_stop`], for every task of the chunk.
    pub ended_in_stop: bool,
}

impl Chunk {
    pub fn new(slot: usize) -> Chunk {
        Chunk {
            slot,
            ..Chunk::default()
        }
    }

    /// The first task's number.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// The last task's number; `first - 1` when empty.
    pub fn last(&self) -> u64 {
        (self.first + self.ends.len() as u64).saturating_sub(1)
    }

    /// The number of tasks.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of stdout held.
    pub fn bytes(&self) -> usize {
        self.stdout.len()
    }

    /// Adds task `seq`, which printed `stdout`. False, and nothing added,
    /// when `seq` does not follow the last task.
    pub fn push(&mut self, seq: u64, stdout: &[u8]) -> bool {
        if self.ends.is_empty() {
            self.first = seq;
        } else if seq != self.first + self.ends.len() as u64 {
            return false;
        }
        self.stdout.extend_from_slice(stdout);
        self.ends.push(self.stdout.len());
        true
    }

    /// Adds tasks numbered from `seq` on, one for each line of `lines`
    /// (which ends in a newline), in one copy. False, and nothing added,
    /// when `seq` does not follow the last task.
    pub fn push_lines(&mut self, seq: u64, lines: &[u8]) -> bool {
        if self.ends.is_empty() {
            self.first = seq;
        } else if seq != self.first + self.ends.len() as u64 {
            return false;
        }
        let base = self.stdout.len();
        self.stdout.extend_from_slice(lines);
        crate::bytes::each(b'\n', lines, |at| self.ends.push(base + at + 1));
        true
    }

    /// The stdout of the tasks numbered up to `last`.
    pub fn stdout_through(&self, last: u64) -> &[u8] {
        if last >= self.last() {
            return &self.stdout;
        }
        let Some(tasks) = last.checked_sub(self.first) else {
            return &[];
        };
        &self.stdout[..self.ends[tasks as usize]]
    }

    /// Each task's number and stdout.
    pub fn tasks(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        (self.first..)
            .zip(starts.zip(self.ends.iter()))
            .map(|(seq, (start, &end))| (seq, &self.stdout[start..end]))
    }

    /// Hands the tasks so far on, leaving this chunk empty.
    pub fn take(&mut self) -> Chunk {
        std::mem::replace(self, Chunk::new(self.slot))
    }
}

/// What only some outcomes carry: batches, blocks, a job log's command
/// line, `--tagstring`, `--ssh`.
#[derive(Debug, Default)]
pub struct Extra {
    /// A batch's records, each as `{}` renders it; kept only for what
    /// lists them (JSON output, `--results`).
    pub batch: Option<Vec<Vec<u8>>>,
    /// `--pipe`: where the task's block lies in the input.
    pub block: Option<crate::input::Span>,
    /// The command as run, shell-quoted, for the job log.
    pub command: Vec<u8>,
    /// `--tagstring`: the prefix of each output line, rendered for this task.
    pub tag: Option<Vec<u8>>,
    /// The remote host that ran it (`--ssh`, the node for `--slurm`);
    /// `None` for this machine.
    pub host: Option<String>,
    /// `--slurm`: the job step that ran it, `JOBID.STEPID`.
    pub slurm_id: Option<String>,
    /// `--transferfile` / `--return`: the bytes of the files sent to the
    /// host and of those brought back, for the job log.
    pub transferred: Option<(u64, u64)>,
}

/// How a task's process (or a worker's answer for it) ended: what
/// [`Outcome::ended`] turns into a status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct End {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// `--timeout` stopped it: the limit it ran into.
    pub timed_out: Option<Duration>,
}

impl End {
    /// Timeout when stopped by `--timeout`; ok for exit code 0; failed
    /// otherwise (another code, a signal, no status at all).
    pub fn status(&self) -> Status {
        if self.timed_out.is_some() {
            Status::Timeout
        } else if self.exit_code == Some(0) {
            Status::Ok
        } else {
            Status::Failed
        }
    }
}

impl Outcome {
    /// The outcome of one attempt at `record`'s task in `slot` that ran
    /// from `start` for `duration` and ended so: a timed-out task gets
    /// ppool's note at the end of its stderr.
    pub fn ended(
        record: &Record,
        slot: usize,
        (start, duration): (SystemTime, Duration),
        end: End,
        stdout: Captured,
        mut stderr: Captured,
    ) -> Outcome {
        if let Some(limit) = end.timed_out {
            stderr.push_message(&timeout_note(record.seq, Some(limit)));
        }
        let mut outcome = Outcome {
            seq: record.seq,
            input: record.shown().into_owned(),
            status: end.status(),
            ended_in_stop: false,
            attempts: 1,
            exit_code: end.exit_code,
            signal: end.signal,
            stdout,
            stderr,
            slot,
            start,
            duration,
            extra: None,
        };
        outcome.take_shape(record);
        outcome
    }

    /// A block's place, from the record. A batch's records are not
    /// copied here: only what reads them asks for them (see
    /// [`crate::scheduler::Plan::batches`]).
    fn take_shape(&mut self, record: &Record) {
        if let Some(block) = record.block.as_deref() {
            self.extra().block = Some(block.span());
        }
    }

    /// The rare fields, to set one.
    pub fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    pub fn batch(&self) -> Option<&[Vec<u8>]> {
        self.extra.as_ref()?.batch.as_deref()
    }

    pub fn block(&self) -> Option<crate::input::Span> {
        self.extra.as_ref()?.block
    }

    pub fn command(&self) -> &[u8] {
        self.extra.as_ref().map_or(&[], |extra| &extra.command)
    }

    pub fn tag(&self) -> Option<&[u8]> {
        self.extra.as_ref()?.tag.as_deref()
    }

    pub fn host(&self) -> Option<&str> {
        self.extra.as_ref()?.host.as_deref()
    }

    pub fn transferred(&self) -> Option<(u64, u64)> {
        self.extra.as_ref()?.transferred
    }

    pub fn slurm_id(&self) -> Option<&str> {
        self.extra.as_ref()?.slurm_id.as_deref()
    }

    /// An outcome for a task that never ran a process: invalid input, a
    /// program that cannot be found, a skipped task.
    pub fn without_run(seq: u64, input: Vec<u8>, status: Status, message: &str) -> Outcome {
        let mut stderr = Captured::default();
        if !message.is_empty() {
            stderr.push_message(message);
        }
        Outcome {
            seq,
            input,
            status,
            ended_in_stop: false,
            attempts: 0,
            exit_code: None,
            signal: None,
            stdout: Captured::default(),
            stderr,
            slot: 0,
            start: SystemTime::now(),
            duration: Duration::ZERO,
            extra: None,
        }
    }

    /// One attempt at `record`'s task in `slot` that ended before it ran:
    /// bad input, a program that cannot be found, a worker that died.
    pub fn not_run(record: &Record, slot: usize, status: Status, message: &str) -> Outcome {
        let mut outcome = Outcome::without_run(record.seq, record.shown().into_owned(), status, message);
        outcome.take_shape(record);
        outcome.slot = slot;
        outcome.attempts = 1;
        outcome
    }

    /// The exit status this task stands for on its own, as the table in
    /// [`crate::exit`] says.
    pub fn own_exit_code(&self) -> i32 {
        match (self.status, self.exit_code, self.signal) {
            (Status::Ok | Status::Skipped, _, _) => 0,
            (Status::Timeout, _, _) => exit::TIMEOUT,
            (_, Some(code), _) if code != 0 => code,
            (_, _, Some(sig)) => exit::killed_by(sig),
            _ => exit::FAILED,
        }
    }
}

/// ppool's note on the stderr of a task stopped by `--timeout`.
pub fn timeout_note(seq: u64, timeout: Option<Duration>) -> String {
    let limit = timeout
        .map(|t| humantime::format_duration(t).to_string())
        .unwrap_or_default();
    format!("ppool: task {seq} timed out after {limit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(status: Status, exit_code: Option<i32>, signal: Option<i32>) -> Outcome {
        let mut outcome = Outcome::without_run(1, b"a".to_vec(), status, "");
        outcome.exit_code = exit_code;
        outcome.signal = signal;
        outcome
    }

    #[test]
    fn an_outcome_stays_small_as_millions_pass_by_value_and_imap_holds_a_window_of_them() {
        // Two captures and the common fields; the rest is boxed in `Extra`.
        let size = std::mem::size_of::<Outcome>();
        assert!(size <= 224, "Outcome is {size} bytes");
        let mut outcome = finished(Status::Ok, Some(0), None);
        assert_eq!(
            (outcome.command(), outcome.tag(), outcome.host()),
            (&b""[..], None, None)
        );
        outcome.extra().host = Some("h".into());
        assert_eq!((outcome.host(), outcome.block()), (Some("h"), None));
    }

    #[test]
    fn a_chunk_takes_tasks_in_a_row_and_gives_each_its_stdout() {
        let mut chunk = Chunk::new(2);
        assert!(chunk.push(5, b"a\n"));
        assert!(chunk.push(6, b""));
        assert!(chunk.push(7, b"ccc\n"));
        assert!(!chunk.push(9, b"gap\n"), "task 8 is missing");
        assert!(!chunk.push(7, b"again\n"));
        assert_eq!((chunk.first(), chunk.last(), chunk.len()), (5, 7, 3));
        assert_eq!(chunk.bytes(), 6);
        assert_eq!(chunk.stdout_through(4), b"");
        assert_eq!(chunk.stdout_through(5), b"a\n");
        assert_eq!(chunk.stdout_through(6), b"a\n");
        assert_eq!(chunk.stdout_through(99), b"a\nccc\n");
        let tasks: Vec<(u64, &[u8])> = chunk.tasks().collect();
        assert_eq!(tasks, [(5, &b"a\n"[..]), (6, &b""[..]), (7, &b"ccc\n"[..])]);
        let taken = chunk.take();
        assert_eq!((taken.len(), chunk.len(), chunk.slot), (3, 0, 2));
        assert!(chunk.push(100, b"x\n"));
        assert_eq!((chunk.first(), chunk.last()), (100, 100));
    }

    #[test]
    fn a_chunk_takes_lines_in_one_copy_as_tasks_in_a_row() {
        let mut chunk = Chunk::new(1);
        assert!(chunk.push(3, b"a\n"));
        assert!(chunk.push_lines(4, b"bb\nc\n\n"));
        assert!(!chunk.push_lines(9, b"gap\n"), "tasks 7 and 8 are missing");
        assert!(chunk.push_lines(7, b"d\n"));
        let tasks: Vec<(u64, &[u8])> = chunk.tasks().collect();
        let expected: [(u64, &[u8]); 5] = [(3, b"a\n"), (4, b"bb\n"), (5, b"c\n"), (6, b"\n"), (7, b"d\n")];
        assert_eq!(tasks, expected);
        assert_eq!(chunk.stdout_through(5), b"a\nbb\nc\n");
    }

    #[test]
    fn own_exit_code_follows_the_table() {
        assert_eq!(finished(Status::Ok, Some(0), None).own_exit_code(), 0);
        assert_eq!(finished(Status::Skipped, None, None).own_exit_code(), 0);
        assert_eq!(finished(Status::Failed, Some(3), None).own_exit_code(), 3);
        assert_eq!(finished(Status::Failed, Some(127), None).own_exit_code(), 127);
        assert_eq!(
            finished(Status::Timeout, None, Some(libc::SIGTERM)).own_exit_code(),
            124
        );
        assert_eq!(finished(Status::Failed, None, Some(libc::SIGKILL)).own_exit_code(), 137);
        assert_eq!(
            finished(Status::WorkerDied, None, Some(libc::SIGSEGV)).own_exit_code(),
            139
        );
        assert_eq!(finished(Status::InvalidInput, None, None).own_exit_code(), 1);
        assert_eq!(finished(Status::WorkerDied, None, None).own_exit_code(), 1);
    }

    fn record() -> Record {
        Record {
            seq: 4,
            whole: b"in".to_vec(),
            ..Record::default()
        }
    }

    fn ended(end: End) -> Outcome {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(9);
        let mut stdout = Captured::default();
        stdout.push(b"out\n").unwrap();
        Outcome::ended(
            &record(),
            2,
            (start, Duration::from_millis(5)),
            end,
            stdout,
            Captured::default(),
        )
    }

    fn stderr(outcome: &mut Outcome) -> String {
        String::from_utf8(outcome.stderr.read_all().unwrap()).unwrap()
    }

    #[test]
    fn an_ended_process_becomes_one_attempt_with_its_status() {
        let mut ok = ended(End {
            exit_code: Some(0),
            ..End::default()
        });
        assert_eq!(
            (ok.seq, ok.input.as_slice(), ok.slot, ok.attempts),
            (4, &b"in"[..], 2, 1)
        );
        assert_eq!(ok.start, SystemTime::UNIX_EPOCH + Duration::from_secs(9));
        assert_eq!(ok.duration, Duration::from_millis(5));
        assert_eq!((ok.status, ok.exit_code, ok.signal), (Status::Ok, Some(0), None));
        assert_eq!(ok.stdout.read_all().unwrap(), b"out\n");
        assert_eq!(stderr(&mut ok), "");

        let code = ended(End {
            exit_code: Some(3),
            ..End::default()
        });
        assert_eq!((code.status, code.own_exit_code()), (Status::Failed, 3));

        let killed = ended(End {
            signal: Some(9),
            ..End::default()
        });
        assert_eq!(
            (killed.status, killed.exit_code, killed.own_exit_code()),
            (Status::Failed, None, 137)
        );
    }

    #[test]
    fn a_timed_out_process_gets_ppools_note() {
        let mut late = ended(End {
            exit_code: None,
            signal: Some(15),
            timed_out: Some(Duration::from_secs(2)),
        });
        assert_eq!(
            (late.status, late.signal, late.own_exit_code()),
            (Status::Timeout, Some(15), 124)
        );
        assert_eq!(stderr(&mut late), "ppool: task 4 timed out after 2s\n");
        // A timeout wins over a clean exit that came with it.
        let raced = ended(End {
            exit_code: Some(0),
            signal: None,
            timed_out: Some(Duration::from_secs(2)),
        });
        assert_eq!(raced.status, Status::Timeout);
    }
}
