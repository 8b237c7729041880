//! `--joblog`: GNU parallel's tab-separated log of finished tasks, one line
//! written and flushed by the slot that ran the task as soon as it ended;
//! and reading an old log back for `--resume` / `--resume-failed`.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{bail, Context, Result};

use crate::cancel::Cancel;
use crate::config::Resume;
use crate::exec::Executor;
use crate::input::Record;
use crate::task::{Outcome, Status};

/// The first line of every job log, as GNU parallel writes it.
pub const HEADER: &str = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/// The open log. Each line goes out in one `write` and is flushed at once,
/// so a killed run loses no task that had finished.
pub struct JobLog {
    file: File,
    path: PathBuf,
    /// A failed write is reported once, not once per task.
    broken: bool,
}

impl JobLog {
    /// Opens the log. `append` (a resumed run) keeps what is there and adds
    /// the header only to a new or empty file; otherwise the file starts over,
    /// as GNU parallel does without `--resume`.
    pub fn open(path: &Path, append: bool) -> Result<JobLog> {
        let cannot = || {
            format!(
                "cannot write --joblog {}: check the path and its permissions",
                path.display()
            )
        };
        let mut file = if append {
            OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(path)
                .with_context(cannot)?
        } else {
            File::create(path).with_context(cannot)?
        };
        let len = file.metadata().with_context(cannot)?.len();
        if len == 0 {
            file.write_all(HEADER.as_bytes()).with_context(cannot)?;
        } else {
            // A run killed in the middle of a line left it unterminated:
            // start the next one on a line of its own.
            let mut last = [0u8];
            file.seek(SeekFrom::Start(len - 1)).with_context(cannot)?;
            file.read_exact(&mut last).with_context(cannot)?;
            if last[0] != b'\n' {
                file.write_all(b"\n").with_context(cannot)?;
            }
        }
        Ok(JobLog {
            file,
            path: path.to_path_buf(),
            broken: false,
        })
    }

    fn write(&mut self, outcome: &Outcome) -> io::Result<()> {
        self.file.write_all(&line(outcome))?;
        self.file.flush()
    }

    /// Logs a task that ended.
    pub fn record(&mut self, outcome: &Outcome) {
        // A skipped task is logged already, by the run that did it.
        if outcome.status == Status::Skipped || self.broken {
            return;
        }
        if let Err(e) = self.write(outcome) {
            self.broken = true;
            // A stderr that cannot be written to has nowhere to say so.
            let _ = writeln!(
                std::io::stderr(),
                "ppool: cannot write --joblog {}: {e}; the run goes on without it",
                self.path.display()
            );
        }
    }

    /// The run is over. Every line is flushed as it is written; sync so a
    /// crash of the machine right after the run loses nothing either.
    pub fn finish(&mut self) {
        let _ = self.file.sync_data();
    }
}

/// One line of the log, in GNU parallel's format: Starttime as epoch seconds
/// with 3 decimals, JobRuntime `%10.3f`, Send 0, Receive the bytes of stdout,
/// a newline in the command written as NUL.
pub fn line(outcome: &Outcome) -> Vec<u8> {
    let start = outcome
        .start
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let (exitval, signal) = exit_columns(outcome);
    let mut line = format!(
        "{}\t{}\t{start:.3}\t{:10.3}\t0\t{}\t{exitval}\t{signal}\t",
        outcome.seq,
        outcome.host.as_deref().unwrap_or(":"),
        outcome.duration.as_secs_f64(),
        outcome.stdout.len(),
    )
    .into_bytes();
    line.extend(outcome.command.iter().map(|&b| if b == b'\n' { 0 } else { b }));
    line.push(b'\n');
    line
}

/// Exitval and Signal as GNU parallel logs them: a task killed by a signal
/// has Exitval 0 and that signal; one stopped by `--timeout` has Exitval -1;
/// a task that ran no process (invalid input, a dead worker) has Exitval -1.
fn exit_columns(outcome: &Outcome) -> (i64, i32) {
    let signal = outcome.signal.unwrap_or(0);
    match outcome.status {
        Status::Ok | Status::Skipped => (0, 0),
        Status::Timeout => (-1, outcome.signal.unwrap_or(libc::SIGTERM)),
        Status::InvalidInput | Status::WorkerDied => (-1, signal),
        Status::Failed => match (outcome.exit_code, outcome.signal) {
            (Some(code), _) => (i64::from(code), signal),
            (None, Some(_)) => (0, signal),
            (None, None) => (-1, 0),
        },
    }
}

/// The sequence numbers an earlier run has done: with `Resume::All` every
/// task the log holds, with `Resume::Failed` those with Exitval 0 and
/// Signal 0 on some line. A missing file means nothing is done yet.
pub fn done(path: &Path, resume: Resume) -> Result<HashSet<u64>> {
    let mut done = HashSet::new();
    if resume == Resume::No {
        return Ok(done);
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(done),
        Err(e) => bail!(
            "cannot read --joblog {}: {e}; check its permissions, or remove --resume to start over",
            path.display()
        ),
    };
    let ends_with_newline = bytes.last() == Some(&b'\n');
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let count = lines.len() - usize::from(ends_with_newline);
    for (index, line) in lines[..count].iter().enumerate() {
        if line.is_empty() || (index == 0 && line.starts_with(b"Seq\t")) {
            continue;
        }
        match parse(line) {
            Some((seq, exitval, signal)) => {
                if resume == Resume::All || (exitval == 0 && signal == 0) {
                    done.insert(seq);
                }
            }
            // The last line of a run killed while writing it: that task
            // is simply run again.
            None if index + 1 == count && !ends_with_newline => {}
            None => bail!(
                "--joblog {} line {} is not a job log line (Seq, Host, Starttime, JobRuntime, Send, \
                 Receive, Exitval, Signal, Command, separated by TABs): fix or remove it",
                path.display(),
                index + 1
            ),
        }
    }
    Ok(done)
}

/// Seq, Exitval and Signal of one log line.
fn parse(line: &[u8]) -> Option<(u64, i64, i64)> {
    let fields: Vec<&[u8]> = line.splitn(9, |&b| b == b'\t').collect();
    if fields.len() < 8 {
        return None;
    }
    let number = |field: &[u8]| std::str::from_utf8(field).ok()?.trim().parse::<i64>().ok();
    let seq = u64::try_from(number(fields[0])?).ok()?;
    Some((seq, number(fields[6])?, number(fields[7])?))
}

/// Wraps an executor so that each outcome carries its command line, as the
/// job log shows it. Only used with `--joblog`, so other runs pay nothing.
pub struct WithCommand<'a> {
    pub inner: &'a dyn Executor,
    pub render: &'a (dyn Fn(&Record, usize) -> Vec<u8> + Sync),
}

impl Executor for WithCommand<'_> {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        let mut outcome = self.inner.run(record, slot, cancel);
        outcome.command = (self.render)(record, slot);
        outcome
    }

    fn batch_size(&self) -> usize {
        self.inner.batch_size()
    }

    fn run_batch(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(Outcome) -> bool) {
        self.inner.run_batch(records, slot, cancel, &mut |mut outcome| {
            if let Ok(at) = records.binary_search_by_key(&outcome.seq, |r| r.seq) {
                outcome.command = (self.render)(&records[at], slot);
            }
            emit(outcome)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn outcome(seq: u64, status: Status, code: Option<i32>, signal: Option<i32>) -> Outcome {
        let mut o = Outcome::without_run(seq, b"x".to_vec(), status, "");
        o.exit_code = code;
        o.signal = signal;
        o.start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        o.duration = Duration::from_millis(12_345);
        o.command = b"echo 'a\nb'".to_vec();
        o
    }

    #[test]
    fn lines_look_like_gnu_parallels() {
        let line = line(&outcome(3, Status::Ok, Some(0), None));
        assert_eq!(line, b"3\t:\t1700000000.123\t    12.345\t0\t0\t0\t0\techo 'a\0b'\n");
    }

    #[test]
    fn exit_and_signal_columns() {
        assert_eq!(exit_columns(&outcome(1, Status::Failed, Some(3), None)), (3, 0));
        assert_eq!(exit_columns(&outcome(1, Status::Failed, None, Some(9))), (0, 9));
        assert_eq!(exit_columns(&outcome(1, Status::Timeout, None, Some(15))), (-1, 15));
        assert_eq!(exit_columns(&outcome(1, Status::InvalidInput, None, None)), (-1, 0));
    }

    #[test]
    fn reading_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(
            &path,
            format!("{HEADER}1\t:\t1.000\t     0.100\t0\t2\t0\t0\techo a\n2\t:\t1.000\t     0.100\t0\t0\t1\t0\tfalse\n3\t:\t1.000\t     0.100\t0\t0\t0\t9\tkill\n2\t:\t2.000\t     0.100\t0\t0\t0\t0\ttrue\n4\t:\t1.0"),
        )
        .unwrap();
        let all = done(&path, Resume::All).unwrap();
        assert_eq!(all, HashSet::from([1, 2, 3]));
        let ok = done(&path, Resume::Failed).unwrap();
        assert_eq!(ok, HashSet::from([1, 2]));
        assert!(done(&dir.path().join("missing"), Resume::All).unwrap().is_empty());
        std::fs::write(&path, format!("{HEADER}garbage\n")).unwrap();
        let e = done(&path, Resume::All).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("log"), "{e}");
    }
}
