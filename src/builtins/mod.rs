//! The builtin registry: one file per builtin, one line each in `REGISTRY`.
//!
//! A builtin turns one record into stdout bytes or a [`Failure`]; it does no
//! process management. The tools it imitates are matched as they behave under
//! `LC_ALL=C`, so a builtin's output does not depend on the worker's locale.

use std::io;

mod echo;
mod exit;
mod sleep;

/// How a builtin task failed: an exit code (as a command would have) and a message for stderr.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

pub trait Builtin: Sync {
    fn name(&self) -> &'static str;
    /// One line for `ppool builtins`.
    fn help(&self) -> &'static str;
    /// Run one record (raw bytes, no trailing newline). Append this task's
    /// stdout bytes to `out` (including the trailing '\n' where the tool
    /// would print one). Err = the task failed.
    fn run(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), Failure>;
}

pub static REGISTRY: &[&dyn Builtin] = &[&echo::Echo, &sleep::Sleep, &exit::Exit];

pub fn find(name: &str) -> Option<&'static dyn Builtin> {
    REGISTRY.iter().copied().find(|b| b.name() == name)
}

/// Writes "name<pad>help\n" for every builtin, names aligned.
pub fn list(out: &mut impl io::Write) -> io::Result<()> {
    let width = REGISTRY.iter().map(|b| b.name().len()).max().unwrap_or(0);
    for b in REGISTRY {
        writeln!(out, "{:width$}  {}", b.name(), b.help())?;
    }
    Ok(())
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
}
