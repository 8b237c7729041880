//! The pool socket's protocol: one JSON object per line, a request from the
//! client, then the server's reply. Tasks go in; outcomes come out.

use std::io::{self, BufRead, Write};
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::capture::Captured;
use crate::task::{Outcome, Status};

/// Bytes as base64 text: commands and output need not be UTF-8.
mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

/// One task as `submit` hands it over.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Each word base64-encoded.
    pub words: Vec<String>,
    pub shell: Option<String>,
    pub timeout_ms: Option<u64>,
    pub grace_ms: u64,
    pub retries: u32,
    /// `-j` given: the pool's size from now on.
    pub jobs: Option<usize>,
    /// `--on-done` and `--on-error`: the callback's words, each base64-encoded.
    pub on_done: Option<Vec<String>>,
    pub on_error: Option<Vec<String>>,
    /// `--fail-fast`: the pool stops at the first failed task.
    pub fail_fast: bool,
    /// The directory `submit` ran in, which must be the pool's.
    #[serde(with = "b64")]
    pub cwd: Vec<u8>,
}

pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_default()
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    Submit(TaskSpec),
    Get {
        id: u64,
    },
    Wait,
    Status,
    /// One task, or every task when `None`.
    Cancel {
        id: Option<u64>,
    },
}

/// One line of `ppool status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub id: u64,
    pub state: String,
    pub running_ms: Option<u64>,
    pub exit: Option<i32>,
    #[serde(with = "b64")]
    pub command: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Reply {
    Submitted {
        id: u64,
    },
    Result(Ended),
    /// Every task of the pool, in submission order, with whether a `get`
    /// already printed it.
    Results {
        tasks: Vec<(Ended, bool)>,
        /// `--fail-fast` stopped the pool at this task.
        stopped_at: Option<u64>,
    },
    Status(Vec<Row>),
    /// How many tasks a cancel reached.
    Cancelled(u64),
    /// The pool is ending and takes no more tasks: start a new one.
    Ending,
    Error(String),
}

/// An outcome as it travels: what output rendering and the summary need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ended {
    pub seq: u64,
    #[serde(with = "b64")]
    pub input: Vec<u8>,
    pub status: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    #[serde(with = "b64")]
    pub stdout: Vec<u8>,
    #[serde(with = "b64")]
    pub stderr: Vec<u8>,
    pub attempts: u32,
    pub slot: usize,
    pub duration_ms: u64,
    /// The task's callback failed: how, for the summary.
    #[serde(default)]
    pub callback_failed: Option<String>,
}

impl Ended {
    pub fn from_outcome(mut outcome: Outcome) -> Ended {
        let stdout = outcome.stdout.read_all().unwrap_or_default();
        let stderr = outcome.stderr.read_all().unwrap_or_default();
        Ended {
            seq: outcome.seq,
            input: outcome.input,
            status: outcome.status.as_str().to_owned(),
            exit_code: outcome.exit_code,
            signal: outcome.signal,
            stdout,
            stderr,
            attempts: outcome.attempts,
            slot: outcome.slot,
            duration_ms: outcome.duration.as_millis() as u64,
            callback_failed: None,
        }
    }

    /// The task's own exit status, as the exit table gives it.
    pub fn clone_outcome_code(&self) -> i32 {
        self.clone()
            .into_outcome()
            .map_or(crate::exit::FAILED, |o| o.own_exit_code())
    }

    /// The outcome again; output over the capture limit spills to a file,
    /// as a task's own does.
    pub fn into_outcome(self) -> io::Result<Outcome> {
        let status = match self.status.as_str() {
            "ok" => Status::Ok,
            "timeout" => Status::Timeout,
            "invalid-input" => Status::InvalidInput,
            "worker-died" => Status::WorkerDied,
            "transfer" => Status::Transfer,
            "slurm" => Status::Slurm,
            "skipped" => Status::Skipped,
            _ => Status::Failed,
        };
        let mut outcome = Outcome::without_run(self.seq, self.input, status, "");
        outcome.exit_code = self.exit_code;
        outcome.signal = self.signal;
        outcome.stdout = captured(&self.stdout)?;
        outcome.stderr = captured(&self.stderr)?;
        outcome.attempts = self.attempts;
        outcome.slot = self.slot;
        outcome.duration = Duration::from_millis(self.duration_ms);
        Ok(outcome)
    }
}

fn captured(bytes: &[u8]) -> io::Result<Captured> {
    let mut captured = Captured::default();
    captured.push(bytes)?;
    Ok(captured)
}

/// Writes one message as a line.
pub fn send(out: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Reads one message; `None` when the other end closed first.
pub fn receive<T: for<'de> Deserialize<'de>>(input: &mut impl BufRead) -> io::Result<Option<T>> {
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
