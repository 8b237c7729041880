//! Command tasks: render the template for a record, find the program, run
//! it as a process and turn how it ended into an Outcome.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::process::{self, Lines, Spawn};
use super::Executor;
use crate::cancel::Cancel;
use crate::capture::{Lane, LineSink};
use crate::input::Record;
use crate::output::Tag;
use crate::task::{Outcome, Status};
use crate::template::{quote_argv, Syntax, Template};

/// How long a task that hits the process limit waits for room when no other
/// task of the run holds any.
const EAGAIN_PATIENCE: Duration = Duration::from_secs(1);

pub struct CommandExecutor {
    template: Template,
    /// `--shell`: the shell, resolved, and the words are joined for its -c.
    shell: Option<Result<PathBuf, String>>,
    /// The program when the first word is fixed text: looked up in PATH
    /// once, since a lookup per spawn costs every task.
    program: Option<Result<PathBuf, String>>,
    timeout: Option<Duration>,
    grace: Duration,
    inherit_stdio: bool,
    /// `apply` with no input: the words run as written, nothing substituted.
    as_written: Option<Vec<OsString>>,
    /// `--line-buffer`: stdout and stderr lines go out as they arrive.
    line_sinks: Option<(Arc<LineSink>, Arc<LineSink>)>,
    /// `--tag` or `--tagstring`, for lines passed on as they arrive.
    tag: Option<Arc<Tag>>,
    /// No command words: each record is a shell command line, run as it is.
    records_are_commands: bool,
    /// `--cat` or `--fifo`: a `--pipe` block goes to a temporary file or
    /// named pipe, named by `{}`, instead of stdin.
    block_file: Option<BlockFile>,
    /// A large stdout goes straight to ppool's stdout when this lane lets it.
    stream: Option<Arc<Lane>>,
    /// `--timeout N%`: the limit follows the run times seen so far.
    median_timeout: Option<Arc<MedianTimeout>>,
}

/// GNU parallel's `--timeout N%`: a task may take that fraction of the
/// median run time of the tasks that succeeded before it started.
pub struct MedianTimeout {
    fraction: f64,
    /// The latest run times: the median of a bounded window keeps each
    /// start's cost small however long the run.
    recent: std::sync::Mutex<std::collections::VecDeque<Duration>>,
}

impl MedianTimeout {
    const WINDOW: usize = 999;

    pub fn new(fraction: f64) -> MedianTimeout {
        MedianTimeout {
            fraction,
            recent: Default::default(),
        }
    }

    /// The limit for a task starting now; none before a task has succeeded.
    fn limit(&self) -> Option<Duration> {
        let mut times: Vec<Duration> = self
            .recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        if times.is_empty() {
            return None;
        }
        let mid = times.len() / 2;
        let (_, median, _) = times.select_nth_unstable(mid);
        Some(Duration::try_from_secs_f64(median.as_secs_f64() * self.fraction).unwrap_or(Duration::MAX))
    }

    fn record(&self, took: Duration) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == Self::WINDOW {
            recent.pop_front();
        }
        recent.push_back(took);
    }
}

impl CommandExecutor {
    pub fn new(
        words: &[OsString],
        shell: Option<&OsStr>,
        syntax: &Syntax,
        timeout: Option<Duration>,
        grace: Duration,
        inherit_stdio: bool,
    ) -> Result<CommandExecutor, String> {
        let template = match shell {
            Some(_) => Template::parse_shell_as(words, syntax),
            None => Template::parse_as(words, syntax),
        }?;
        let shell = shell.map(resolve);
        let program = match (&shell, words.first()) {
            (None, Some(first)) if template.program_is_fixed() => Some(resolve_program(first)),
            _ => None,
        };
        Ok(CommandExecutor {
            template,
            shell,
            program,
            timeout,
            grace,
            inherit_stdio,
            as_written: None,
            line_sinks: None,
            tag: None,
            records_are_commands: words.is_empty(),
            block_file: None,
            stream: None,
            median_timeout: None,
        })
    }

    /// `--line-buffer`: pass whole lines on as they arrive, tagged with the
    /// tag when one is given.
    pub fn with_line_buffer(mut self, tag: Option<Arc<Tag>>) -> CommandExecutor {
        self.line_sinks = Some((LineSink::new(libc::STDOUT_FILENO), LineSink::new(libc::STDERR_FILENO)));
        self.tag = tag;
        self
    }

    /// A task's stdout larger than the in-memory limit passes straight
    /// through to ppool's stdout whenever `lane` lets it.
    /// `--timeout N%`: `fraction` of the median run time of the tasks
    /// that succeeded, instead of a fixed timeout.
    pub fn with_median_timeout(mut self, fraction: Option<f64>) -> CommandExecutor {
        self.median_timeout = fraction.map(|f| Arc::new(MedianTimeout::new(f)));
        self
    }

    pub fn with_stream(mut self, lane: Option<Arc<Lane>>) -> CommandExecutor {
        self.stream = lane;
        self
    }

    /// `--cat` or `--fifo`: each block is written to a temporary file or
    /// named pipe whose path is `{}`, removed once the task has ended.
    pub fn with_block_file(mut self, kind: BlockFile) -> CommandExecutor {
        self.block_file = Some(kind);
        self
    }

    /// With `--cat`, the block in a temporary file and the record the
    /// command is rendered from: `{}` is the file's path. The file is
    /// removed when the returned handle drops, after the task has ended,
    /// failed or been stopped.
    fn stage(&self, record: &Record) -> std::io::Result<Option<(Staged, Record)>> {
        let (Some(kind), Some(block)) = (self.block_file, record.block.as_ref()) else {
            return Ok(None);
        };
        let (staged, path) = match kind {
            BlockFile::Cat => {
                let mut file = tempfile::Builder::new().prefix("ppool-block-").tempfile()?;
                std::io::Write::write_all(&mut file, &block.bytes)?;
                let path = file.path().as_os_str().as_bytes().to_vec();
                (Staged::File(file), path)
            }
            BlockFile::Fifo => {
                let dir = tempfile::Builder::new().prefix("ppool-block-").tempdir()?;
                let path = dir.path().join("fifo");
                let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
                // SAFETY: c_path is a valid NUL-terminated path that outlives the call.
                if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let stop = Arc::new(AtomicBool::new(false));
                feed_fifo(path.clone(), Arc::clone(&block.bytes), Arc::clone(&stop))?;
                (Staged::Fifo(dir, stop), path.as_os_str().as_bytes().to_vec())
            }
        };
        let staged_record = Record {
            whole: path,
            block: None,
            ..record.clone()
        };
        Ok(Some((staged, staged_record)))
    }

    /// How a batch's records fill the words with a placeholder.
    pub fn with_batch_style(mut self, style: crate::template::BatchStyle) -> CommandExecutor {
        self.template = self.template.with_batch_style(style);
        self
    }

    /// The parsed command, to measure batches by.
    pub fn template(&self) -> &Template {
        &self.template
    }

    /// Runs the words as written: there is no record to substitute.
    pub fn running_as_written(mut self, words: &[OsString]) -> CommandExecutor {
        self.as_written = Some(words.to_vec());
        self
    }

    /// Whether `{choose_k}` or `{uniq}` skips this record's task.
    pub fn skips(&self, record: &Record) -> bool {
        self.as_written.is_none() && self.template.skips(record)
    }

    /// The command line a wrapper (ssh, srun) runs for this record, or the
    /// outcome of a task that runs nothing: one skipped, or one whose input
    /// cannot be rendered.
    pub(crate) fn wrapped_line(&self, record: &Record, slot: usize) -> Result<Vec<u8>, Box<Outcome>> {
        if self.skips(record) {
            return Err(Box::new(Outcome::not_run(record, slot, Status::Skipped, "")));
        }
        self.render_line(record, slot)
            .map(std::os::unix::ffi::OsStringExt::into_vec)
            .map_err(|message| {
                let message = format!("ppool: task {}: {message}", record.seq);
                Box::new(Outcome::not_run(record, slot, Status::InvalidInput, &message))
            })
    }

    /// The command as it would run, shell-quoted: for `--dry-run` and the job log.
    pub fn render_line(&self, record: &Record, slot: usize) -> Result<OsString, String> {
        if let Some(words) = &self.as_written {
            return Ok(match &self.shell {
                Some(_) => words.join(OsStr::new(" ")),
                None => quote_argv(words),
            });
        }
        if self.records_are_commands {
            return Ok(OsStr::from_bytes(&record.shown()).to_owned());
        }
        match &self.shell {
            Some(_) => self.template.render_shell(record, slot).map_err(|e| e.0),
            None => self
                .template
                .render_argv(record, slot)
                .map(|argv| quote_argv(&argv))
                .map_err(|e| e.0),
        }
    }

    /// `--line-buffer`: where this task's lines go as they arrive.
    pub(crate) fn lines(&self, record: &Record, slot: usize) -> Option<Lines> {
        self.line_sinks.as_ref().map(|(stdout, stderr)| Lines {
            stdout: Arc::clone(stdout),
            stderr: Arc::clone(stderr),
            tag: self.tag.as_ref().map(|tag| tag.render(record, slot)),
        })
    }

    /// The program and its arguments for this record.
    pub(crate) fn argv(&self, record: &Record, slot: usize) -> Result<(PathBuf, Vec<OsString>), (Status, i32, String)> {
        let invalid = |e: crate::template::RenderError| (Status::InvalidInput, 0, e.0);
        if let Some(words) = &self.as_written {
            let not_found = |m| (Status::Failed, 127, m);
            return match &self.shell {
                Some(shell) => {
                    let line = words.join(std::ffi::OsStr::new(" "));
                    Ok((shell.clone().map_err(not_found)?, vec!["-c".into(), line]))
                }
                None => {
                    let program = self.program.clone().unwrap_or_else(|| resolve_program(&words[0]));
                    Ok((program.map_err(not_found)?, words[1..].to_vec()))
                }
            };
        }
        if let Some(shell) = &self.shell {
            let line = match self.records_are_commands {
                true => OsStr::from_bytes(&record.shown()).to_owned(),
                false => self.template.render_shell(record, slot).map_err(invalid)?,
            };
            let shell = shell.clone().map_err(|m| (Status::Failed, 127, m))?;
            return Ok((shell, vec!["-c".into(), line]));
        }
        let mut argv = self.template.render_argv(record, slot).map_err(invalid)?;
        if argv.is_empty() {
            return Err((Status::Failed, 127, "ppool: the command is empty".into()));
        }
        let first = argv.remove(0);
        let program = match &self.program {
            Some(found) => found.clone(),
            None => resolve_program(&first),
        }
        .map_err(|m| (Status::Failed, 127, m))?;
        Ok((program, argv))
    }
}

/// A task's program, its arguments, and further arguments as C strings back
/// to back (see [`process::Spawn::more`]).
type TaskArgv = (PathBuf, Vec<OsString>, Vec<u8>);

impl CommandExecutor {
    /// As [`CommandExecutor::argv`], for a task run here: with direct exec,
    /// the arguments come as C strings back to back (the third part), which
    /// spawn passes on as they are.
    fn task_argv(&self, record: &Record, slot: usize) -> Result<TaskArgv, (Status, i32, String)> {
        if self.as_written.is_some() || self.shell.is_some() {
            let (program, args) = self.argv(record, slot)?;
            return Ok((program, args, Vec::new()));
        }
        let invalid = |e: crate::template::RenderError| (Status::InvalidInput, 0, e.0);
        let mut words = self.template.render_c_argv(record, slot).map_err(invalid)?;
        let Some(end) = crate::bytes::find(0, &words) else {
            return Err((Status::Failed, 127, "ppool: the command is empty".into()));
        };
        let program = match &self.program {
            Some(found) => found.clone(),
            None => resolve_program(OsStr::from_bytes(&words[..end])),
        }
        .map_err(|m| (Status::Failed, 127, m))?;
        words.drain(..=end);
        Ok((program, Vec::new(), words))
    }
}

impl Executor for CommandExecutor {
    fn stdout_lane(&self) -> Option<Arc<Lane>> {
        self.stream.clone()
    }

    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        let start = SystemTime::now();
        let clock = Instant::now();
        let fail = |status, code: i32, message: &str| {
            let mut outcome = Outcome::not_run(record, slot, status, message);
            outcome.exit_code = (code != 0).then_some(code);
            outcome
        };
        if self.skips(record) {
            return Outcome::not_run(record, slot, Status::Skipped, "");
        }
        let outcome_record = record;
        let staged = match self.stage(record) {
            Ok(staged) => staged,
            Err(e) => {
                let message = format!(
                    "ppool: task {}: cannot write its block to a temporary file: {e} (free space in $TMPDIR, or set TMPDIR)",
                    record.seq
                );
                return fail(Status::Failed, 0, &message);
            }
        };
        let record = staged.as_ref().map_or(record, |(_, staged)| staged);
        let (program, args, more) = match self.task_argv(record, slot) {
            Ok(found) => found,
            Err((status, code, message)) => {
                let message = if status == Status::InvalidInput {
                    format!("ppool: task {}: {message}", record.seq)
                } else {
                    message
                };
                return fail(status, code, &message);
            }
        };
        let timeout = match &self.median_timeout {
            Some(median) => median.limit(),
            None => self.timeout,
        };
        let spawn = Spawn {
            program: &program,
            args: &args,
            more: &more,
            seq: record.seq,
            slot,
            timeout,
            grace: self.grace,
            inherit_stdio: self.inherit_stdio,
            hold_stdin: false,
            feed: record.block.as_deref().cloned(),
            lines: self.lines(record, slot),
            stream: self.stream.clone(),
        };
        let mut pause = Duration::from_millis(1);
        let mut waited = Duration::ZERO;
        let ended = loop {
            match process::run(&spawn, cancel) {
                // The process limit (`ulimit -u`) or the descriptor limit
                // (`ulimit -n`, for its pipes) is reached: the task waits
                // for one of the others to end, as GNU parallel does; with
                // none running, a little while for threads that are ending.
                Err(e)
                    if matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EMFILE | libc::ENFILE))
                        && !cancel.is_stopping()
                        && (cancel.running_besides(slot) || waited < EAGAIN_PATIENCE) =>
                {
                    std::thread::sleep(pause);
                    waited += pause;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                result => break result,
            }
        };
        let ended = match ended {
            Ok(ended) => ended,
            Err(e) => {
                let code = if e.kind() == std::io::ErrorKind::NotFound {
                    127
                } else {
                    126
                };
                let hint = match e.raw_os_error() {
                    Some(libc::E2BIG) => {
                        " (the record is too long for a command line: pass it on stdin, for example with --worker)"
                    }
                    Some(libc::EAGAIN) => " (the process limit is reached: lower --jobs or raise `ulimit -u`)",
                    Some(libc::EMFILE) => {
                        " (the descriptor limit is reached, with no other task running to give some back: raise `ulimit -n` or lower --jobs)"
                    }
                    Some(libc::ENFILE) => {
                        " (the system's table of open files is full, with no other task running to give some back: lower --jobs or close files)"
                    }
                    _ => "",
                };
                let message = format!("ppool: cannot run {}: {e}{hint}", program.display());
                return fail(Status::Failed, code, &message);
            }
        };
        drop(staged);
        let took = clock.elapsed();
        if let Some(median) = &self.median_timeout {
            if ended.exit_code == Some(0) && !ended.timed_out {
                median.record(took);
            }
        }
        ended.into_outcome(outcome_record, slot, start, took, timeout)
    }
}

/// Where `--cat` and `--fifo` put a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockFile {
    Cat,
    Fifo,
}

/// A block's temporary file or named pipe, removed when dropped; a named
/// pipe's writer is told to give up then if the task never opened it.
enum Staged {
    File(#[allow(dead_code)] tempfile::NamedTempFile),
    Fifo(#[allow(dead_code)] tempfile::TempDir, Arc<AtomicBool>),
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Staged::Fifo(_, stop) = self {
            stop.store(true, Ordering::SeqCst);
        }
    }
}

/// How often a named pipe's writer looks for its reader.
const FIFO_POLL: Duration = Duration::from_millis(5);

/// Writes `bytes` into the named pipe at `path` on a thread of its own,
/// once the task opens it for reading. Opening without blocking, and
/// trying again until `stop`, lets the thread end when the task never
/// opens the pipe; a task that ends before reading it all breaks the pipe.
fn feed_fifo(path: PathBuf, bytes: Arc<crate::input::blocks::Bytes>, stop: Arc<AtomicBool>) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::thread::Builder::new()
        .name("fifo".into())
        .spawn(move || {
            let file = loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                match std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&path)
                {
                    Ok(file) => break file,
                    // ENXIO: no reader yet.
                    Err(e) if e.raw_os_error() == Some(libc::ENXIO) => std::thread::sleep(FIFO_POLL),
                    Err(_) => return,
                }
            };
            // Blocking writes from here: the reader sets the pace.
            // SAFETY: F_SETFL on a descriptor this thread owns; clearing O_NONBLOCK is always valid.
            unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), libc::F_SETFL, 0) };
            let mut file = file;
            let _ = std::io::Write::write_all(&mut file, &bytes);
        })
        .map(drop)
}

/// Looks a program up in PATH as a shell would; a word with a `/` is used as
/// it is. The error is the message for the failed task.
pub fn resolve(word: &OsStr) -> Result<PathBuf, String> {
    let bytes = word.as_bytes();
    if bytes.contains(&b'/') {
        return Ok(PathBuf::from(word));
    }
    if !bytes.is_empty() {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(word);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(format!("ppool: {}: command not found", word.to_string_lossy()))
}

/// Shell builtins that have no program of their own in PATH: a command
/// that starts with one only works in a shell.
const SHELL_BUILTINS: &[&str] = &[
    ".", ":", "alias", "bg", "break", "builtin", "cd", "continue", "declare", "eval", "exec", "exit", "export", "fg",
    "function", "hash", "jobs", "let", "local", "readonly", "return", "set", "shift", "source", "trap", "typeset",
    "ulimit", "umask", "unalias", "unset", "wait",
];

/// [`resolve`] for the program of a task, whose message says what to do:
/// a word that only a shell understands (a builtin, `NAME=value`, a command
/// line in one word) and an unknown name, which may be a shell function,
/// both point to `--shell`. Only the shell and ssh are looked up without it.
pub fn resolve_program(word: &OsStr) -> Result<PathBuf, String> {
    resolve(word).map_err(|message| {
        let bytes = word.as_bytes();
        let name = word.to_string_lossy();
        let hint = if bytes.iter().any(u8::is_ascii_whitespace) {
            "to run it as a shell command line, add --shell".to_owned()
        } else if SHELL_BUILTINS.contains(&name.as_ref()) {
            format!("`{name}` is a shell builtin: add --shell to run the command in a shell")
        } else if let Some(at) = bytes.iter().position(|&b| b == b'=').filter(|&at| at > 0) {
            format!(
                "`{name}` sets a variable only in a shell: add --shell, or put `env` before it to set {} for the command",
                String::from_utf8_lossy(&bytes[..at])
            )
        } else {
            format!(
                "if `{name}` is a shell function or alias, add --shell; a function must be exported \
                 (bash: `export -f {name}`, with PPOOL_SHELL=bash)"
            )
        };
        format!("{message} ({hint})")
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_finds_programs_in_path_and_suggests_shell_for_what_only_a_shell_runs() {
        assert!(resolve(OsStr::new("sh")).unwrap().is_absolute());
        assert!(resolve_program(OsStr::new("sh")).unwrap().is_absolute());
        let e = resolve(OsStr::new("no-such-program-xyz")).unwrap_err();
        assert_eq!(e, "ppool: no-such-program-xyz: command not found");
        for (word, says) in [
            ("echo hi", "shell command line, add --shell"),
            ("cd", "`cd` is a shell builtin: add --shell"),
            ("exit", "`exit` is a shell builtin"),
            ("source", "`source` is a shell builtin"),
            (".", "`.` is a shell builtin"),
            ("alias", "`alias` is a shell builtin"),
            ("export", "`export` is a shell builtin"),
            (
                "FOO=1",
                "`FOO=1` sets a variable only in a shell: add --shell, or put `env` before it to set FOO",
            ),
            (
                "my_function",
                "if `my_function` is a shell function or alias, add --shell",
            ),
        ] {
            let e = resolve_program(OsStr::new(word)).unwrap_err();
            assert!(e.starts_with(&format!("ppool: {word}: command not found (")), "{e}");
            assert!(e.contains(says), "{word}: {e}");
        }
    }
}
