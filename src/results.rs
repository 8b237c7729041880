//! `--results DIR`: each task's stdout, stderr and outcome written to files
//! as the task ends, so that they outlive the run (a CI job's artifacts).
//! Plain `DIR` gives `DIR/SEQ/{stdout,stderr,outcome.json}`; a `DIR` with
//! placeholders names each task's files as GNU parallel does.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, bail, Context, Result};

use crate::cancel::Cancel;
use crate::input::Record;
use crate::observer::Observer;
use crate::task::{Outcome, Status};
use crate::template::Template;

/// Where one task's files go.
#[derive(Debug, PartialEq)]
struct Paths {
    stdout: PathBuf,
    stderr: PathBuf,
    outcome: PathBuf,
    /// GNU parallel's `seq` file, written when the path does not hold the
    /// task number already.
    seq: Option<PathBuf>,
}

enum Layout {
    /// `DIR/SEQ/…`.
    Numbered(PathBuf),
    /// A template: `PATH`, `PATH.err`, `PATH.seq`, `PATH.json`; or, when
    /// it ends with `/`, `PATH/stdout`, `PATH/stderr`, `PATH/seq`,
    /// `PATH/outcome.json`, as GNU parallel names them.
    Template(Template),
}

pub struct Results {
    layout: Layout,
    /// Told to start no more tasks when a file cannot be written: results
    /// missing from a run a CI job keeps would go unnoticed. `None` when
    /// nothing is left to start.
    stop: Option<Arc<Cancel>>,
    /// The first write that failed, as the note that told it.
    failed: Mutex<Option<String>>,
}

impl Results {
    /// `spec` is `--results` as given; `json`: whether `--json` is on, for
    /// its field placeholders. A plain directory is made at once, so that
    /// a path that cannot be one is a usage error before any task runs.
    pub fn new(spec: &OsStr, json: bool, stop: Option<Arc<Cancel>>) -> Result<Results> {
        if spec.is_empty() {
            bail!("--results needs a directory, for example --results out");
        }
        let template = Template::parse(&[spec.to_os_string()], json)
            .map_err(|e| anyhow!("--results {}: {e}", spec.to_string_lossy()))?;
        let layout = if template.has_placeholder() {
            Layout::Template(template)
        } else {
            let dir = PathBuf::from(spec);
            fs::create_dir_all(&dir).with_context(|| {
                format!(
                    "cannot create --results directory {}: check the path and its permissions",
                    dir.display()
                )
            })?;
            Layout::Numbered(dir)
        };
        Ok(Results {
            layout,
            stop,
            failed: Mutex::new(None),
        })
    }

    fn paths(&self, record: &Record, seq: u64) -> Result<Paths, String> {
        match &self.layout {
            Layout::Numbered(dir) => {
                let dir = dir.join(seq.to_string());
                Ok(Paths {
                    stdout: dir.join("stdout"),
                    stderr: dir.join("stderr"),
                    outcome: dir.join("outcome.json"),
                    seq: None,
                })
            }
            Layout::Template(template) => {
                let mut words = template.render_argv(&safe_record(record), 0).map_err(|e| e.0)?;
                let path = words.pop().unwrap_or_default().into_vec();
                if path.ends_with(b"/") {
                    let dir = PathBuf::from(OsString::from_vec(path));
                    return Ok(Paths {
                        stdout: dir.join("stdout"),
                        stderr: dir.join("stderr"),
                        outcome: dir.join("outcome.json"),
                        seq: Some(dir.join("seq")),
                    });
                }
                let with = |suffix: &str| PathBuf::from(OsString::from_vec([&path[..], suffix.as_bytes()].concat()));
                Ok(Paths {
                    stdout: with(""),
                    stderr: with(".err"),
                    outcome: with(".json"),
                    seq: Some(with(".seq")),
                })
            }
        }
    }

    fn write(&self, record: &Record, outcome: &Outcome) -> Result<(), String> {
        let paths = self.paths(record, outcome.seq)?;
        let fail = |path: &Path, e: io::Error| format!("{}: {e}", path.display());
        for path in [&paths.stdout, &paths.outcome] {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| fail(parent, e))?;
            }
        }
        write_file(&paths.stdout, |out| outcome.stdout.write_to(out)).map_err(|e| fail(&paths.stdout, e))?;
        write_file(&paths.stderr, |out| outcome.stderr.write_to(out)).map_err(|e| fail(&paths.stderr, e))?;
        if let Some(path) = &paths.seq {
            write_file(path, |out| write!(out, "{}", outcome.seq)).map_err(|e| fail(path, e))?;
        }
        // Last: a task whose outcome file is there has all of its files.
        write_file(&paths.outcome, |out| {
            serde_json::to_writer(&mut *out, &crate::output::JsonOutcome::of(outcome, None))?;
            out.write_all(b"\n")
        })
        .map_err(|e| fail(&paths.outcome, e))
    }
}

impl Observer for Results {
    fn ended(&self, outcome: &Outcome) {
        self.ended_for(&Record::text(outcome.seq, outcome.input.clone()), outcome);
    }

    fn ended_for(&self, record: &Record, outcome: &Outcome) {
        // A skipped task keeps what the run that did it wrote.
        if outcome.status == Status::Skipped {
            return;
        }
        let Err(message) = self.write(record, outcome) else {
            return;
        };
        let mut failed = crate::lock(&self.failed);
        if failed.is_some() {
            return;
        }
        let then = if self.stop.is_some() {
            "starting no more tasks; the running ones finish"
        } else {
            "its results are incomplete"
        };
        crate::say(&format!(
            "ppool: cannot write --results of task {}: {message}; {then}",
            outcome.seq
        ));
        if let Some(cancel) = &self.stop {
            cancel.mark_stopping();
        }
        *failed = Some(message);
    }

    fn finish(&self) -> Result<()> {
        match &*crate::lock(&self.failed) {
            Some(message) if self.stop.is_some() => bail!(
                "the run stopped early: --results could not be written ({message}); make room or fix the \
                 path, then run again"
            ),
            _ => Ok(()),
        }
    }
}

fn write_file(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    write(&mut out)?;
    out.into_inner().map_err(io::IntoInnerError::into_error)?;
    Ok(())
}

/// A value as it may stand in a path: GNU parallel's quoting, `\` as `\\`
/// and `/` as `\_`, so that no value adds a directory level; and, beyond
/// it, an empty value, `.` and `..` behind a `\`, so that none names the
/// directory it is in or the one above.
pub fn safe(value: &[u8]) -> Vec<u8> {
    if matches!(value, b"" | b"." | b"..") {
        return [b"\\", value].concat();
    }
    let mut out = Vec::with_capacity(value.len());
    for &b in value {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\_"),
            _ => out.push(b),
        }
    }
    out
}

/// The record with every value made [`safe`], so that a template renders
/// a path under its own directories only.
fn safe_record(record: &Record) -> Record {
    Record {
        seq: record.seq,
        line: record.line,
        whole: safe(&record.whole),
        fields: record.fields.iter().map(|f| safe(f)).collect(),
        json: record.json.as_deref().cloned().map(safe_json).map(Box::new),
        invalid: None,
        batch: record.batch.iter().map(safe_record).collect(),
        block: record.block.clone(),
    }
}

fn safe_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(String::from_utf8_lossy(&safe(s.as_bytes())).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(safe_json).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, safe_json(v))).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_never_leave_their_directory() {
        assert_eq!(safe(b"a/b"), b"a\\_b");
        assert_eq!(safe(b"c\\d"), b"c\\\\d");
        assert_eq!(safe(b"../../etc"), b"..\\_..\\_etc");
        assert_eq!(safe(b".."), b"\\..");
        assert_eq!(safe(b"."), b"\\.");
        assert_eq!(safe(b""), b"\\");
        assert_eq!(safe(b"x y"), b"x y");
        // Quoted values cannot meet: a `\` in a value is always doubled.
        assert_ne!(safe(b"\\.."), safe(b".."));
    }

    #[test]
    fn paths_follow_gnu_parallels_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let at = |spec: &str| dir.path().join(spec);
        let record = Record {
            seq: 7,
            whole: b"a/b 1".to_vec(),
            fields: vec![b"a/b".to_vec(), b"..".to_vec()],
            ..Record::default()
        };
        let results = |spec: &Path| Results::new(spec.as_os_str(), false, None).unwrap();
        let numbered = results(&at("out")).paths(&record, 7).unwrap();
        assert_eq!(numbered.stdout, at("out/7/stdout"));
        assert_eq!(numbered.outcome, at("out/7/outcome.json"));
        assert_eq!(numbered.seq, None);
        let files = results(&at("t/{1}/{2}")).paths(&record, 7).unwrap();
        assert_eq!(files.stdout, at("t/a\\_b/\\.."));
        assert_eq!(files.stderr, at("t/a\\_b/\\...err"));
        assert_eq!(files.seq, Some(at("t/a\\_b/\\...seq")));
        assert_eq!(files.outcome, at("t/a\\_b/\\...json"));
        let dirs = results(&at("d/{1}/{#}/")).paths(&record, 7).unwrap();
        assert_eq!(dirs.stdout, at("d/a\\_b/7/stdout"));
        assert_eq!(dirs.seq, Some(at("d/a\\_b/7/seq")));
    }
}
