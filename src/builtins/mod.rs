//! The builtin registry: one file per builtin, one line each in `REGISTRY`.
//!
//! A builtin turns one record into stdout bytes or a [`Failure`]; it does no
//! process management. The tools it imitates are matched as they behave under
//! `LC_ALL=C`, so a builtin's output does not depend on the worker's locale.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

mod echo;
mod exit;
pub(crate) mod serve;
mod sha256;
mod sleep;
mod stat;
mod wc;

/// How a builtin task failed: an exit code (as a command would have) and a message for stderr.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) code: i32,
    pub(crate) message: String,
}

pub(crate) trait Builtin: Sync {
    fn name(&self) -> &'static str;
    /// One line for `ppool builtins`.
    fn help(&self) -> &'static str;
    /// Run one record (raw bytes, no trailing newline). Append this task's
    /// stdout bytes to `out` (including the trailing '\n' where the tool
    /// would print one). Err = the task failed.
    fn run(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), Failure>;
}

pub(crate) static REGISTRY: &[&dyn Builtin] = &[
    &echo::Echo,
    &sleep::Sleep,
    &exit::Exit,
    &sha256::Sha256,
    &wc::Wc,
    &stat::Stat,
];

pub(crate) fn find(name: &str) -> Option<&'static dyn Builtin> {
    REGISTRY.iter().copied().find(|b| b.name() == name)
}

/// Writes "name<pad>help\n" for every builtin, names aligned.
pub(crate) fn list(out: &mut impl io::Write) -> io::Result<()> {
    let width = REGISTRY.iter().map(|b| b.name().len()).max().unwrap_or(0);
    for b in REGISTRY {
        writeln!(out, "{:width$}  {}", b.name(), b.help())?;
    }
    Ok(())
}

/// Read size for builtins that stream a file.
const CHUNK: usize = 64 * 1024;

/// A record naming a file, as a path.
fn record_path(record: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(record))
}

/// `TOOL: PATH: DESCRIPTION`, code 1, as coreutils reports an unreadable file.
fn io_failure(tool: &str, record: &[u8], err: &io::Error) -> Failure {
    Failure {
        code: 1,
        message: format!(
            "{tool}: {}: {}",
            String::from_utf8_lossy(record),
            error_description(err)
        ),
    }
}

/// The C library's text for an error ("No such file or directory"), without
/// the " (os error 2)" that `io::Error`'s `Display` appends.
fn error_description(err: &io::Error) -> String {
    let text = err.to_string();
    match (err.raw_os_error(), text.rfind(" (os error ")) {
        (Some(_), Some(at)) => text[..at].to_string(),
        _ => text,
    }
}

/// Reads `reader` to its end in [`CHUNK`]-sized pieces, retrying interrupted
/// reads.
fn for_each_chunk(reader: &mut impl io::Read, mut f: impl FnMut(&[u8])) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => f(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_knows_every_registered_name() {
        for b in REGISTRY {
            let found = find(b.name()).expect("registered builtin is found");
            assert_eq!(found.name(), b.name());
        }
        assert!(find("nope").is_none());
        assert!(find("").is_none());
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = REGISTRY.iter().map(|b| b.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len());
    }

    #[test]
    fn list_aligns_names() {
        let mut out = Vec::new();
        list(&mut out).expect("writing to a Vec");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.ends_with('\n'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), REGISTRY.len());
        let column = REGISTRY.iter().map(|b| b.name().len()).max().unwrap_or(0) + 2;
        for (b, line) in REGISTRY.iter().zip(&lines) {
            let (name, help) = line.split_at(column);
            assert_eq!(name.trim_end(), b.name());
            assert_eq!(help, b.help());
        }
        assert!(lines[0].starts_with("echo  "), "{}", lines[0]);
    }

    #[test]
    fn error_description_drops_the_os_error_number() {
        let err = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(error_description(&err), "No such file or directory");
        let f = io_failure("wc", b"/x", &err);
        assert_eq!(f.code, 1);
        assert_eq!(f.message, "wc: /x: No such file or directory");
    }
}
