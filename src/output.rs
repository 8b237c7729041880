//! Rendering outcomes: grouped text (each task's stdout and stderr whole)
//! or one JSON object per task, through locked, buffered handles.

use std::io::{self, BufWriter, IsTerminal, Stderr, StdoutLock, Write};

use base64::Engine;
use indicatif::ProgressBar;
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::task::Outcome;

pub struct Output {
    stdout: BufWriter<StdoutLock<'static>>,
    /// Locked per task rather than for the whole run, so that a progress
    /// bar can draw on it from its own thread.
    stderr: Stderr,
    format: OutputFormat,
    tag: bool,
    /// A terminal sees each task as soon as it is printed.
    interactive: bool,
    /// `--progress` on a terminal: output is written with the bar hidden.
    progress: Option<ProgressBar>,
}

impl Output {
    pub fn new(format: OutputFormat, tag: bool) -> Output {
        let stdout = io::stdout();
        Output {
            interactive: stdout.is_terminal(),
            stdout: BufWriter::with_capacity(64 * 1024, stdout.lock()),
            stderr: io::stderr(),
            format,
            tag,
            progress: None,
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
        self.around_bar(|out| match out.format {
            OutputFormat::Json => out.write_json(outcome),
            OutputFormat::Text => out.write_text(outcome, with_stdout),
        })
    }

    fn write_text(&mut self, outcome: &mut Outcome, with_stdout: bool) -> io::Result<()> {
        let tag = self.tag.then(|| {
            let mut tag = outcome.input.clone();
            tag.push(b'\t');
            tag
        });
        if with_stdout {
            outcome.stdout.copy_to(&mut self.stdout, tag.as_deref())?;
        }
        if !outcome.stderr.is_empty() {
            // Keep the two streams in step on a shared terminal.
            self.stdout.flush()?;
            // A stderr that cannot be written to (a full disk) is no reason
            // to stop the run, and there is nowhere to say so.
            let _ = outcome.stderr.copy_to(&mut self.stderr.lock(), tag.as_deref());
        }
        if self.interactive {
            self.stdout.flush()?;
        }
        Ok(())
    }

    fn write_json(&mut self, outcome: &mut Outcome) -> io::Result<()> {
        let stdout = outcome.stdout.to_vec()?;
        let stderr = outcome.stderr.to_vec()?;
        let (stdout, stdout_base64) = text_or_base64(stdout);
        let (stderr, stderr_base64) = text_or_base64(stderr);
        let (input, input_base64) = text_or_base64(outcome.input.clone());
        let record = JsonOutcome {
            seq: outcome.seq,
            input: input.unwrap_or_else(|| String::from_utf8_lossy(&outcome.input).into_owned()),
            input_base64,
            status: outcome.status.as_str(),
            exit_code: outcome.exit_code,
            signal: outcome.signal,
            stdout,
            stdout_base64,
            stderr,
            stderr_base64,
            attempts: outcome.attempts,
            slot: outcome.slot,
            host: outcome.host.as_deref(),
            duration_s: outcome.duration.as_secs_f64(),
        };
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
            let _ = writeln!(out.stderr.lock(), "{line}");
            Ok(())
        })
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.stdout.flush()
    }

    /// Whether stdout is a pipe whose reader has gone (`| head -1`): then
    /// the run stops before it has anything more to write.
    pub fn is_closed(&self) -> bool {
        use std::os::fd::AsRawFd;
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

#[derive(Serialize)]
struct JsonOutcome<'a> {
    seq: u64,
    input: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    input_base64: Option<String>,
    status: &'a str,
    exit_code: Option<i32>,
    signal: Option<i32>,
    stdout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stdout_base64: Option<String>,
    stderr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stderr_base64: Option<String>,
    attempts: u32,
    slot: usize,
    /// `--ssh`: the remote host that ran the task; absent for this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    duration_s: f64,
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
