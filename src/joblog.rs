//! `--joblog`: GNU parallel's tab-separated log of finished tasks, one line
//! written by the slot that ran the task as soon as it ended; and reading an
//! old log back for `--resume` / `--resume-failed`. A run holds the log
//! alone (an advisory lock) from opening it to its end.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use anyhow::{anyhow, bail, Result};

use crate::cancel::Cancel;
use crate::observer::Observer;
use crate::task::{Outcome, Status};

/// Which tasks of an earlier run's log are not run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    No,
    /// Skip every task the job log holds.
    All,
    /// Skip the tasks the job log holds as succeeded.
    Failed,
}

/// The first line of every job log, as GNU parallel writes it.
pub const HEADER: &str = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

/// The open log. Each line goes out in one `write` to a file opened with
/// `O_APPEND`, so a line is never split, and a killed run loses no task
/// that had finished.
pub struct JobLog {
    file: File,
    path: PathBuf,
    /// Set by the first failed write: nothing is written after it, so the
    /// log holds whole lines only.
    broken: bool,
}

impl JobLog {
    /// Opens the log and locks it for this run; returns it with the tasks
    /// an earlier run has done (see [`done`]). A resumed run keeps what is
    /// there, less a last line cut by a kill or a full disk; otherwise the
    /// file starts over, as GNU parallel does without `--resume`. The
    /// header is written to a new or empty file.
    #[cfg(test)]
    pub fn open(path: &Path, resume: Resume) -> Result<(JobLog, HashSet<u64>)> {
        JobLog::open_batched(path, resume, None)
    }

    /// As [`JobLog::open`], for a run that groups its records as `batches`
    /// says (`-n 2 -X --max-chars 63664`), which the header's Command
    /// column records: `Command (batches: …)`. Tasks are batches, matched by
    /// number, so a log written with other batches (or none) is refused.
    pub fn open_batched(path: &Path, resume: Resume, batches: Option<&str>) -> Result<(JobLog, HashSet<u64>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| open_error(path, resume, e))?;
        let regular = file.metadata().map_err(|e| write_error(path, e))?.is_file();
        let mut done = HashSet::new();
        // Devices (`/dev/null`) and pipes are shared by nature, hold no old
        // lines and cannot be cut: only a regular file is locked and read.
        if regular {
            lock(&file, path)?;
            if resume == Resume::No {
                file.set_len(0).map_err(|e| write_error(path, e))?;
            } else {
                let mut bytes = Vec::new();
                file.seek(SeekFrom::Start(0))
                    .and_then(|_| file.read_to_end(&mut bytes))
                    .map_err(|e| open_error(path, resume, e))?;
                let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
                if whole < bytes.len() {
                    // The tail after the last newline is a line cut by a
                    // kill or a full disk: it reads as absent, so remove it
                    // before lines are appended after it.
                    file.set_len(whole as u64).map_err(|e| write_error(path, e))?;
                    bytes.truncate(whole);
                }
                check_batches(&bytes, path, batches)?;
                done = done_in(&bytes, path, resume)?;
            }
        }
        let mut log = JobLog {
            file,
            path: path.to_path_buf(),
            broken: false,
        };
        if log.file.metadata().map_err(|e| write_error(path, e))?.len() == 0 {
            let header = match batches {
                None => HEADER.to_owned(),
                Some(batches) => format!("{} (batches: {batches})\n", HEADER.trim_end()),
            };
            log.write_line(header.as_bytes()).map_err(|e| write_error(path, e))?;
        }
        Ok((log, done))
    }

    /// Writes `line` in one `write`. Should the system take only part of it
    /// (a full disk), the rest is tried once more for the real error, and
    /// the part written is removed again, so no cut line is left behind.
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let mut written = 0;
        while written < line.len() {
            match self.file.write(&line[written..]) {
                Ok(0) => {
                    self.remove_part(written);
                    return Err(io::ErrorKind::WriteZero.into());
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.remove_part(written);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Cuts the last `written` bytes: the part of a line that could not be
    /// finished. Best effort; a reader skips a cut last line anyway. The
    /// lock keeps every other writer out, so those bytes are ours.
    fn remove_part(&mut self, written: usize) {
        if written == 0 {
            return;
        }
        if let Ok(meta) = self.file.metadata() {
            if meta.is_file() {
                let _ = self.file.set_len(meta.len().saturating_sub(written as u64));
            }
        }
    }

    /// Logs a task that ended. Returns the error of the first write that
    /// fails; nothing is written after it.
    pub fn record(&mut self, outcome: &Outcome) -> io::Result<()> {
        // A skipped task is logged already, by the run that did it.
        if outcome.status == Status::Skipped || self.broken {
            return Ok(());
        }
        let result = self.write_line(&line(outcome));
        self.broken = result.is_err();
        result
    }

    /// Whether a write has failed, so the log misses tasks that ended.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// What to tell about a failed write, `then` saying what happens next.
    pub fn failure_note(&self, e: &io::Error, then: &str) -> String {
        format!("ppool: cannot write --joblog {}: {e}; {then}", self.path.display())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run is over. Every line is written as the task ends; sync so a
    /// crash of the machine right after the run loses nothing either. The
    /// lock goes with the file.
    pub fn finish(&mut self) {
        let _ = self.file.sync_data();
    }
}

/// Takes the log for this run: an advisory lock that the kernel releases
/// when the file is closed, so a killed run leaves no stale lock behind.
fn lock(file: &File, path: &Path) -> Result<()> {
    loop {
        // SAFETY: flock on a descriptor we own touches no memory.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => {
                let holder = lock_holder(file).map(|pid| format!(" (pid {pid})")).unwrap_or_default();
                bail!(
                    "job log {} is in use by another ppool run{holder}: wait for it to end, or give \
                     another --joblog",
                    path.display()
                );
            }
            // A file system without locks: the run goes on unguarded.
            _ => return Ok(()),
        }
    }
}

/// The process holding a lock on `file`, from /proc/locks.
#[cfg(target_os = "linux")]
fn lock_holder(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata().ok()?;
    let id = format!(
        "{:02x}:{:02x}:{}",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        // `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`; a waiter's line has `->`.
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            [_, "FLOCK", _, _, pid, file_id, ..] if file_id == id => pid.parse().ok(),
            _ => None,
        }
    })
}

#[cfg(not(target_os = "linux"))]
fn lock_holder(_file: &File) -> Option<u32> {
    None
}

fn open_error(path: &Path, resume: Resume, e: io::Error) -> anyhow::Error {
    if resume != Resume::No && path.exists() {
        anyhow!(
            "cannot read --joblog {}: {e}; check its permissions, or remove --resume to start over",
            path.display()
        )
    } else {
        write_error(path, e)
    }
}

fn write_error(path: &Path, e: io::Error) -> anyhow::Error {
    let hint = match e.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG) => "make room on its disk, or give another path",
        _ => "check the path and its permissions",
    };
    anyhow!("cannot write --joblog {}: {e}; {hint}", path.display())
}

/// One line of the log, in GNU parallel's format: Starttime as epoch seconds
/// with 3 decimals, JobRuntime `%10.3f`, Send and Receive the bytes of the
/// files a remote task sent and brought back (`--transferfile`,
/// `--return`), else 0 and the bytes of stdout, a newline in the command
/// written as NUL.
pub fn line(outcome: &Outcome) -> Vec<u8> {
    let start = outcome
        .start
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let (exitval, signal) = exit_columns(outcome);
    let (send, receive) = outcome.transferred().unwrap_or((0, outcome.stdout.len()));
    let mut line = format!(
        "{}\t{}\t{start:.3}\t{:10.3}\t{send}\t{receive}\t{exitval}\t{signal}\t",
        outcome.seq,
        outcome.host().unwrap_or(":"),
        outcome.duration.as_secs_f64(),
    )
    .into_bytes();
    line.extend(outcome.command().iter().map(|&b| if b == b'\n' { 0 } else { b }));
    line.push(b'\n');
    line
}

/// Exitval and Signal as GNU parallel logs them: a task killed by a signal
/// has Exitval 0 and that signal; one stopped by `--timeout` has Exitval -1;
/// a task that ran no process (invalid input, a dead worker) or whose files
/// could not be copied (`transfer`) has Exitval -1.
fn exit_columns(outcome: &Outcome) -> (i64, i32) {
    let signal = outcome.signal.unwrap_or(0);
    match outcome.status {
        Status::Ok | Status::Skipped => (0, 0),
        Status::Timeout => (-1, outcome.signal.unwrap_or(libc::SIGTERM)),
        Status::InvalidInput | Status::WorkerDied | Status::Transfer | Status::Slurm => (-1, signal),
        Status::Failed => match (outcome.exit_code, outcome.signal) {
            (Some(code), _) => (i64::from(code), signal),
            (None, Some(_)) => (0, signal),
            (None, None) => (-1, 0),
        },
    }
}

/// Refuses to resume from a log whose tasks were other batches of records.
fn check_batches(bytes: &[u8], path: &Path, batches: Option<&str>) -> Result<()> {
    let Some(header) = bytes.split(|&b| b == b'\n').next().filter(|l| l.starts_with(b"Seq\t")) else {
        return Ok(());
    };
    let column = header.rsplit(|&b| b == b'\t').next().unwrap_or_default();
    let logged = column
        .strip_prefix(b"Command (batches: ")
        .and_then(|rest| rest.strip_suffix(b")"))
        .map(|b| String::from_utf8_lossy(b).into_owned());
    if logged.as_deref() == batches {
        return Ok(());
    }
    let describe = |b: Option<&str>| b.map_or_else(|| "one record per task".to_owned(), |b| format!("batches {b}"));
    bail!(
        "--joblog {} was written by a run with {}, and this run makes {}: its task numbers would name \
         other records. Resume with the same -n/-L/-X/-m/--max-chars, or start a new log without --resume",
        path.display(),
        describe(logged.as_deref()),
        describe(batches)
    )
}

/// The sequence numbers an earlier run has done, from the log's `bytes`:
/// with `Resume::All` every task the log holds, with `Resume::Failed` those
/// with Exitval 0 and Signal 0 on some line.
fn done_in(bytes: &[u8], path: &Path, resume: Resume) -> Result<HashSet<u64>> {
    let mut done = HashSet::new();
    if resume == Resume::No {
        return Ok(done);
    }
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

/// `--retry-failed`: the commands of the log at `path`, each at the place
/// of its task's number (from 1), as GNU parallel reads them back: a
/// failed task's command line (its NULs are newlines again), `true` for
/// a task that succeeded (`--resume-failed` skips it), nothing for a
/// number the log lacks. No log: no commands.
pub fn commands_in(path: &Path) -> Result<Vec<std::ffi::OsString>> {
    use std::os::unix::ffi::OsStringExt;
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(open_error(path, Resume::Failed, e)),
    };
    let mut commands: Vec<Vec<u8>> = Vec::new();
    // A last line cut by a kill has no newline: its task runs again anyway.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
    for (index, line) in bytes[..whole].split(|&b| b == b'\n').enumerate() {
        if line.is_empty() || (index == 0 && line.starts_with(b"Seq\t")) {
            continue;
        }
        let parsed = parse(line).and_then(|(seq, exitval, signal)| {
            let command = line.splitn(9, |&b| b == b'\t').nth(8)?;
            Some((usize::try_from(seq).ok()?, exitval == 0 && signal == 0, command))
        });
        let Some((seq, succeeded, command)) = parsed.filter(|(seq, ..)| *seq > 0) else {
            bail!(
                "--joblog {} line {} is not a job log line (Seq, Host, Starttime, JobRuntime, Send, \
                 Receive, Exitval, Signal, Command, separated by TABs): fix or remove it",
                path.display(),
                index + 1
            );
        };
        if commands.len() < seq {
            commands.resize(seq, Vec::new());
        }
        commands[seq - 1] = match succeeded {
            true => b"true".to_vec(),
            false => command.iter().map(|&b| if b == 0 { b'\n' } else { b }).collect(),
        };
    }
    Ok(commands.into_iter().map(std::ffi::OsString::from_vec).collect())
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

/// The job log as an observer: each task's line is written on the thread
/// that ended it, as it ends, whatever waits for stdout.
pub struct Logger {
    log: Mutex<JobLog>,
    /// Told to start no more tasks when a line cannot be written, as GNU
    /// parallel does on a full disk: a log that misses finished tasks
    /// would have `--resume` run them again. `None` when nothing is left
    /// to start (`apply`, whose one task has ended by then): the failed
    /// write is then a warning, and the task's result stands.
    stop: Option<Arc<Cancel>>,
}

impl Logger {
    pub fn new(log: JobLog, stop: Option<Arc<Cancel>>) -> Logger {
        Logger {
            log: Mutex::new(log),
            stop,
        }
    }
}

impl Observer for Logger {
    fn ended(&self, outcome: &Outcome) {
        let mut log = crate::lock(&self.log);
        if let Err(e) = log.record(outcome) {
            let then = match &self.stop {
                Some(_) => "starting no more tasks; the running ones finish",
                None => "`--resume` will run this task again",
            };
            crate::say(&log.failure_note(&e, then));
            if let Some(cancel) = &self.stop {
                cancel.mark_stopping();
            }
        }
    }

    /// Syncs the log; an error when the run stopped starting tasks
    /// because a line could not be written.
    fn finish(&self) -> Result<()> {
        let mut log = crate::lock(&self.log);
        log.finish();
        if log.is_broken() && self.stop.is_some() {
            bail!(
                "the run stopped early: --joblog {} could not be written; make room, then run again with --resume",
                log.path().display()
            );
        }
        Ok(())
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
        o.extra().command = b"echo 'a\nb'".to_vec();
        o
    }

    #[test]
    fn retry_failed_reads_each_tasks_command_at_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(
            &path,
            format!(
                "{HEADER}3\t:\t1.0\t0.1\t0\t0\t1\t0\techo 'a\0b'\tc\n\
                 1\t:\t1.0\t0.1\t0\t0\t0\t0\techo ok\n\
                 4\t:\t1.0\t0.1\t0\t0\t0\t15\tsleep 9\n5\t:\t1.0"
            ),
        )
        .unwrap();
        let commands = commands_in(&path).unwrap();
        let commands: Vec<&str> = commands.iter().map(|c| c.to_str().unwrap()).collect();
        assert_eq!(commands, ["true", "", "echo 'a\nb'\tc", "sleep 9"]);
        assert!(commands_in(&dir.path().join("none")).unwrap().is_empty());
        std::fs::write(&path, "1\tbroken\n").unwrap();
        assert!(commands_in(&path).is_err());
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
        let done = |resume| JobLog::open(&path, resume).map(|(_, done)| done);
        assert_eq!(done(Resume::All).unwrap(), HashSet::from([1, 2, 3]));
        assert_eq!(done(Resume::Failed).unwrap(), HashSet::from([1, 2]));
        let missing = dir.path().join("missing");
        assert!(JobLog::open(&missing, Resume::All).unwrap().1.is_empty());
        assert_eq!(std::fs::read_to_string(&missing).unwrap(), HEADER);
        std::fs::write(&path, format!("{HEADER}garbage\n")).unwrap();
        let e = done(Resume::All).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("log"), "{e}");
    }

    #[test]
    fn a_cut_last_line_is_removed_before_a_resumed_run_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let whole = format!("{HEADER}1\t:\t1.000\t     0.100\t0\t2\t0\t0\techo a\n");
        std::fs::write(&path, format!("{whole}2\t:\t1.0")).unwrap();
        let (mut log, done) = JobLog::open(&path, Resume::All).unwrap();
        assert_eq!(done, HashSet::from([1]));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
        log.record(&outcome(2, Status::Ok, Some(0), None)).unwrap();
        drop(log);
        let (_, done) = JobLog::open(&path, Resume::All).unwrap();
        assert_eq!(done, HashSet::from([1, 2]));
        // A cut header leaves nothing whole: the log starts over.
        std::fs::write(&path, "Seq\tHo").unwrap();
        let (_, done) = JobLog::open(&path, Resume::All).unwrap();
        assert!(done.is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), HEADER);
    }

    #[test]
    fn a_log_in_use_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let (mut first, _) = JobLog::open(&path, Resume::No).unwrap();
        first.record(&outcome(1, Status::Ok, Some(0), None)).unwrap();
        for resume in [Resume::No, Resume::All] {
            let e = JobLog::open(&path, resume).err().expect("refused").to_string();
            let pid = std::process::id();
            assert!(
                e.starts_with("job log ") && e.contains(&format!("is in use by another ppool run (pid {pid})")),
                "{e}"
            );
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
        drop(first);
        assert!(JobLog::open(&path, Resume::All).is_ok());
    }

    #[test]
    fn a_full_disk_is_an_error_that_says_so() {
        let e = JobLog::open(Path::new("/dev/full"), Resume::No)
            .err()
            .expect("no room")
            .to_string();
        assert!(e.contains("/dev/full") && e.contains("make room"), "{e}");
        // Shared devices are not locked: two runs may both log to /dev/null.
        let _first = JobLog::open(Path::new("/dev/null"), Resume::No).unwrap();
        assert!(JobLog::open(Path::new("/dev/null"), Resume::All).is_ok());
    }
}
