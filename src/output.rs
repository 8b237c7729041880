//! Rendering outcomes: grouped text (each task's stdout and stderr whole)
//! or one JSON object per task, through locked, buffered handles.

use std::io::{self, BufWriter, IsTerminal, Stderr, Write};

use base64::Engine;
use indicatif::ProgressBar;
use serde::Serialize;

use std::sync::Arc;

use crate::capture::Lane;
use crate::input::Record;
use crate::task::Outcome;
use crate::template::{BatchStyle, Syntax, Template};

/// What `--tag` or `--tagstring` puts before each line of a task's output.
#[derive(Debug)]
pub enum Tag {
    /// `--tag`: the record.
    Record,
    /// `--tagstring STR`: STR with the task's placeholders filled in.
    Template(Template),
    /// `--tagstring STR` without a placeholder: STR as it is.
    Text(Vec<u8>),
}

impl Tag {
    /// `--tagstring`: placeholders spelled as in the command. The error
    /// names a placeholder that cannot be used in it. As GNU parallel, a
    /// batch fills `{}` with its records separated by spaces, except with
    /// `-X` (`repeat`), which repeats each space-separated word holding it.
    pub fn template(text: &std::ffi::OsStr, syntax: &Syntax, repeat: bool) -> Result<Tag, String> {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let words: Vec<std::ffi::OsString> = text
            .as_bytes()
            .split(|&b| b == b' ')
            .map(|w| std::ffi::OsString::from_vec(w.to_vec()))
            .collect();
        let style = if repeat { BatchStyle::Repeat } else { BatchStyle::Join };
        let template = Template::parse_text(&words, syntax)?.with_batch_style(style);
        Ok(match template.has_placeholder() {
            true => Tag::Template(template),
            false => Tag::Text(text.as_bytes().to_vec()),
        })
    }

    /// The prefix for `record`'s lines in `slot`, its TAB included. A tag
    /// string that cannot be rendered for this record (a field it lacks)
    /// leaves the tag empty, as GNU parallel leaves the missing value.
    pub fn render(&self, record: &Record, slot: usize) -> Vec<u8> {
        use std::os::unix::ffi::OsStrExt;
        let mut tag = match self {
            Tag::Record => record.shown().into_owned(),
            Tag::Text(text) => text.clone(),
            Tag::Template(template) => template
                .render_argv(record, slot)
                .map(|words| words.join(std::ffi::OsStr::new(" ")).as_bytes().to_vec())
                .unwrap_or_default(),
        };
        tag.push(b'\t');
        tag
    }
}

/// How each outcome is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Each task's stdout and stderr, whole.
    Text,
    /// One JSON object per task on stdout.
    Json,
}

/// Bytes of stdout gathered before they are written out.
const STDOUT_BUFFER: usize = 64 * 1024;

pub struct Output {
    /// The buffer takes the writes: the writer behind it is called once a
    /// flush (or once per write larger than the buffer), not once a task.
    stdout: BufWriter<Box<dyn Write>>,
    stderr: ErrorStream,
    format: Format,
    tag: bool,
    /// Each task is flushed as soon as it is printed: a terminal's reader
    /// sees it at once.
    interactive: bool,
    /// The process's own stdout, watched for a reader that has gone.
    watched: bool,
    /// `--progress` on a terminal: output is written with the bar hidden.
    progress: Option<ProgressBar>,
    /// `--files`: each task's stdout goes to a new file in this directory,
    /// and its path is printed instead.
    files: Option<std::path::PathBuf>,
    /// Shared with tasks that pass a large stdout straight through: held
    /// from the first write until the flush, and whether it goes by turn.
    lane: Option<(Arc<Lane>, bool)>,
    holding: bool,
    /// The last task printed, whose successor's turn comes at the flush.
    last: u64,
    /// `-v`: print each task's command line before its stdout.
    commands: bool,
}

/// Where task stderr and ppool's notes go.
enum ErrorStream {
    /// The process's stderr, locked per task rather than for the whole run,
    /// so that a progress bar can draw on it from its own thread.
    Process(Stderr),
    #[cfg(test)]
    Writer(Box<dyn Write>),
}

impl ErrorStream {
    /// Runs `write` with the stream held for one task's output or one note.
    fn hold(&mut self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
        match self {
            ErrorStream::Process(stderr) => write(&mut stderr.lock()),
            #[cfg(test)]
            ErrorStream::Writer(writer) => write(writer),
        }
    }
}

impl Output {
    /// The process's own stdout and stderr.
    pub fn new(format: Format, tag: bool) -> Output {
        let stdout = io::stdout();
        Output {
            interactive: stdout.is_terminal(),
            watched: true,
            stdout: BufWriter::with_capacity(STDOUT_BUFFER, Box::new(stdout.lock())),
            stderr: ErrorStream::Process(io::stderr()),
            format,
            tag,
            progress: None,
            files: None,
            lane: None,
            holding: false,
            last: 0,
            commands: false,
        }
    }

    /// `-v`: each task's command line goes before its stdout.
    pub fn with_commands(mut self, commands: bool) -> Output {
        self.commands = commands;
        self
    }

    /// Tasks may pass a large stdout straight through `lane`; `ordered`
    /// (`imap`): only in their turn.
    pub fn with_lane(mut self, lane: Option<Arc<Lane>>, ordered: bool) -> Output {
        self.lane = lane.map(|lane| (lane, ordered));
        self
    }

    /// `--files DIR`: print the path of a file holding each task's stdout.
    pub fn with_files(mut self, dir: Option<std::path::PathBuf>) -> Output {
        self.files = dir;
        self
    }

    /// Output to the given writers instead. Each task is flushed as it is
    /// printed, so a reader of `stdout` sees what a terminal would, when it
    /// would; nothing checks whether its reader has gone.
    #[cfg(test)]
    pub fn with_writers(format: Format, tag: bool, stdout: Box<dyn Write>, stderr: Box<dyn Write>) -> Output {
        Output {
            interactive: true,
            watched: false,
            stdout: BufWriter::with_capacity(STDOUT_BUFFER, stdout),
            stderr: ErrorStream::Writer(stderr),
            format,
            tag,
            progress: None,
            files: None,
            lane: None,
            holding: false,
            last: 0,
            commands: false,
        }
    }

    /// From now on each write hides `bar` first and draws it again after.
    pub fn show_progress(&mut self, bar: ProgressBar) {
        self.progress = Some(bar);
    }

    /// Runs `write` with the progress bar, if any, out of the way.
    fn around_bar(&mut self, write: impl FnOnce(&mut Output) -> io::Result<()>) -> io::Result<()> {
        match self.progress.take() {
            None => write(self),
            Some(bar) => {
                let result = bar.suspend(|| {
                    // Out before the bar comes back, wherever stdout goes.
                    write(self).and_then(|()| self.stdout.flush())
                });
                self.progress = Some(bar);
                result
            }
        }
    }

    /// Prints one task. `with_stdout` false holds its stdout back (`map --fail-fast`).
    pub fn write(&mut self, outcome: &mut Outcome, with_stdout: bool) -> io::Result<()> {
        if let (Some((lane, _)), false) = (&self.lane, self.holding) {
            lane.hold();
            self.holding = true;
        }
        self.last = outcome.seq;
        self.around_bar(|out| match out.format {
            Format::Json => out.write_json(outcome),
            Format::Text => out.write_text(outcome, with_stdout),
        })
    }

    /// Prints the stdout of tasks that printed nothing else, up to task
    /// `last`, as plain text output would print each of them.
    pub fn write_chunk(&mut self, stdout: &[u8], last: u64) -> io::Result<()> {
        if let (Some((lane, _)), false) = (&self.lane, self.holding) {
            lane.hold();
            self.holding = true;
        }
        self.last = last;
        self.around_bar(|out| {
            out.stdout.write_all(stdout)?;
            if out.interactive {
                out.stdout.flush()?;
            }
            Ok(())
        })
    }

    fn write_text(&mut self, outcome: &mut Outcome, with_stdout: bool) -> io::Result<()> {
        let tag = self.tag.then(|| {
            outcome.tag().map(<[u8]>::to_vec).unwrap_or_else(|| {
                let mut tag = outcome.input.clone();
                tag.push(b'\t');
                tag
            })
        });
        if self.commands && with_stdout {
            if let Some(tag) = &tag {
                self.stdout.write_all(tag)?;
            }
            self.stdout.write_all(outcome.command())?;
            self.stdout.write_all(b"\n")?;
        }
        match (&self.files, with_stdout) {
            (Some(dir), true) => {
                // GNU parallel's names, which scripts that read them may expect.
                let mut file = tempfile::Builder::new().prefix("par").suffix(".par").tempfile_in(dir)?;
                outcome.stdout.copy_to(file.as_file_mut(), None)?;
                let (_, path) = file.keep().map_err(|e| e.error)?;
                if let Some(tag) = &tag {
                    self.stdout.write_all(tag)?;
                }
                self.stdout.write_all(path.as_os_str().as_encoded_bytes())?;
                self.stdout.write_all(b"\n")?;
            }
            (None, true) if tag.is_none() && self.watched && send_stored(&mut self.stdout, &outcome.stdout)? => {}
            (None, true) => outcome.stdout.copy_to(&mut self.stdout, tag.as_deref())?,
            (_, false) => {}
        }
        if !outcome.stderr.is_empty() {
            // Keep the two streams in step on a shared terminal.
            self.stdout.flush()?;
            // A stderr that cannot be written to (a full disk) is no reason
            // to stop the run, and there is nowhere to say so.
            let stderr = &mut outcome.stderr;
            let _ = self.stderr.hold(|out| stderr.copy_to(out, tag.as_deref()));
        }
        if self.interactive {
            self.stdout.flush()?;
        }
        Ok(())
    }

    fn write_json(&mut self, outcome: &mut Outcome) -> io::Result<()> {
        let stdout = outcome.stdout.read_all()?;
        let stderr = outcome.stderr.read_all()?;
        let record = JsonOutcome::of(outcome, Some((stdout, stderr)));
        serde_json::to_writer(&mut self.stdout, &record)?;
        self.stdout.write_all(b"\n")?;
        if self.interactive {
            self.stdout.flush()?;
        }
        Ok(())
    }

    /// A line of ppool's own on stderr, after what stdout already holds.
    pub fn note(&mut self, line: &str) -> io::Result<()> {
        self.around_bar(|out| {
            out.stdout.flush()?;
            // As for a task's stderr: a failed write is nobody's to report.
            let _ = out.stderr.hold(|err| writeln!(err, "{line}"));
            Ok(())
        })
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.stdout.flush()?;
        if let (Some((lane, ordered)), true) = (&self.lane, self.holding) {
            self.holding = false;
            lane.release(ordered.then_some(self.last + 1));
        }
        Ok(())
    }

    /// Whether stdout is a pipe whose reader has gone (`| head -1`): then
    /// the run stops before it has anything more to write.
    pub fn is_closed(&self) -> bool {
        use std::os::fd::AsRawFd;
        if !self.watched {
            return false;
        }
        let mut fd = libc::pollfd {
            fd: io::stdout().as_raw_fd(),
            events: 0,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout: poll only reports state.
        let n = unsafe { libc::poll(&mut fd, 1, 0) };
        n > 0 && fd.revents & libc::POLLERR != 0
    }
}

/// A spilled stdout goes from its file to the process's stdout inside the
/// kernel, after what `buffered` holds; false when it is not spilled.
fn send_stored(buffered: &mut impl Write, stdout: &crate::capture::Captured) -> io::Result<bool> {
    if !stdout.is_stored() {
        return Ok(false);
    }
    buffered.flush()?;
    stdout.send_stored(libc::STDOUT_FILENO)
}

/// A batch's `input`: an array of its records' texts. When one is not
/// UTF-8, `input` holds lossy renderings and `input_base64` every record in
/// base64, in the same order.
fn batch_input(records: &[Vec<u8>]) -> (serde_json::Value, Option<serde_json::Value>) {
    let texts = records
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned().into())
        .collect();
    let base64 = records.iter().any(|r| std::str::from_utf8(r).is_err()).then(|| {
        let engine = base64::engine::general_purpose::STANDARD;
        records.iter().map(|r| engine.encode(r).into()).collect()
    });
    (serde_json::Value::Array(texts), base64.map(serde_json::Value::Array))
}

/// The object `--output json` prints for a task; `--results` writes it
/// without the output, which has files of its own there.
#[derive(Serialize)]
pub(crate) struct JsonOutcome<'a> {
    seq: u64,
    /// A string; for a batch, an array of its records; for a `--pipe`
    /// block, `{"start", "end", "records"}`: its bytes in the input.
    input: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_base64: Option<serde_json::Value>,
    status: &'a str,
    exit_code: Option<i32>,
    signal: Option<i32>,
    #[serde(flatten)]
    output: Option<JsonOutput>,
    attempts: u32,
    slot: usize,
    /// `--ssh`: the remote host that ran the task; absent for this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    /// `--slurm`: the job step that ran the task, `JOBID.STEPID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    slurm_id: Option<&'a str>,
    duration_s: f64,
}

/// A task's stdout and stderr in a [`JsonOutcome`].
#[derive(Serialize)]
struct JsonOutput {
    stdout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stdout_base64: Option<String>,
    stderr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stderr_base64: Option<String>,
}

impl<'a> JsonOutcome<'a> {
    /// `output`: the task's stdout and stderr, read back already.
    pub(crate) fn of(outcome: &'a Outcome, output: Option<(Vec<u8>, Vec<u8>)>) -> JsonOutcome<'a> {
        let (input, input_base64) = match (outcome.batch(), outcome.block()) {
            (_, Some(span)) => (serde_json::json!(span), None),
            (Some(records), None) => batch_input(records),
            (None, None) => {
                let (input, base64) = text_or_base64(outcome.input.clone());
                let input = input.unwrap_or_else(|| String::from_utf8_lossy(&outcome.input).into_owned());
                (input.into(), base64.map(Into::into))
            }
        };
        let output = output.map(|(stdout, stderr)| {
            let (stdout, stdout_base64) = text_or_base64(stdout);
            let (stderr, stderr_base64) = text_or_base64(stderr);
            JsonOutput {
                stdout,
                stdout_base64,
                stderr,
                stderr_base64,
            }
        });
        JsonOutcome {
            seq: outcome.seq,
            input,
            input_base64,
            status: outcome.status.as_str(),
            exit_code: outcome.exit_code,
            signal: outcome.signal,
            output,
            attempts: outcome.attempts,
            slot: outcome.slot,
            host: outcome.host(),
            slurm_id: outcome.slurm_id(),
            duration_s: outcome.duration.as_secs_f64(),
        }
    }
}

/// UTF-8 text as it is; anything else as base64 (and no text).
fn text_or_base64(bytes: Vec<u8>) -> (Option<String>, Option<String>) {
    match String::from_utf8(bytes) {
        Ok(text) => (Some(text), None),
        Err(e) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
        ),
    }
}

/// In-memory writers for tests: what an [`Output`] wrote to each stream,
/// readable while it is still writing.
#[cfg(test)]
pub mod screen {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    use super::Format as OutputFormat;
    use super::Output;

    #[derive(Clone, Default)]
    pub struct Screen {
        stdout: Arc<Mutex<Vec<u8>>>,
        stderr: Arc<Mutex<Vec<u8>>>,
    }

    impl Screen {
        /// An output that writes to this screen.
        pub fn output(&self, format: OutputFormat, tag: bool) -> Output {
            Output::with_writers(
                format,
                tag,
                Box::new(Shared(Arc::clone(&self.stdout))),
                Box::new(Shared(Arc::clone(&self.stderr))),
            )
        }

        pub fn stdout(&self) -> String {
            String::from_utf8_lossy(&crate::lock(&self.stdout)).into_owned()
        }

        pub fn stderr(&self) -> String {
            String::from_utf8_lossy(&crate::lock(&self.stderr)).into_owned()
        }
    }

    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            crate::lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::screen::Screen;
    use super::*;
    use crate::capture::Captured;
    use crate::task::Status;

    fn outcome(seq: u64, input: &str, stdout: &[u8], stderr: &[u8]) -> Outcome {
        let mut outcome = Outcome::without_run(seq, input.as_bytes().to_vec(), Status::Ok, "");
        outcome.stdout = Captured::from_vec(stdout.to_vec());
        outcome.stderr = Captured::from_vec(stderr.to_vec());
        outcome
    }

    #[test]
    fn text_goes_to_the_injected_writers_tagged_and_each_task_at_once() {
        let screen = Screen::default();
        let mut output = screen.output(Format::Text, true);
        output
            .write(&mut outcome(1, "a", b"one\ntwo\n", b"err\n"), true)
            .unwrap();
        // No flush asked for: each task is out as soon as it is written.
        assert_eq!(screen.stdout(), "a\tone\na\ttwo\n");
        assert_eq!(screen.stderr(), "a\terr\n");
        output.write(&mut outcome(2, "b", b"held\n", b"only\n"), false).unwrap();
        assert_eq!(screen.stdout(), "a\tone\na\ttwo\n");
        assert_eq!(screen.stderr(), "a\terr\nb\tonly\n");
        output.note("ppool: a note").unwrap();
        assert_eq!(screen.stderr(), "a\terr\nb\tonly\nppool: a note\n");
        assert!(!output.is_closed(), "injected writers have no reader to lose");
    }

    #[test]
    fn json_goes_to_the_injected_stdout_with_base64_for_binary() {
        let screen = Screen::default();
        let mut output = screen.output(Format::Json, false);
        output.write(&mut outcome(3, "x", b"\xff", b"e\n"), true).unwrap();
        let line: serde_json::Value = serde_json::from_str(screen.stdout().trim_end()).unwrap();
        assert_eq!(line["seq"], 3);
        assert_eq!(line["input"], "x");
        assert_eq!(line["stdout"], serde_json::Value::Null);
        assert_eq!(line["stdout_base64"], "/w==");
        assert_eq!(line["stderr"], "e\n");
        assert_eq!(screen.stderr(), "");
    }
}
