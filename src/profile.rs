//! Default options from a file, as GNU parallel's `~/.parallel/config` and
//! `--profile NAME`: the file's words go before the command line's own
//! options, which therefore win where an option can be given once.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The options to put before the command line's, and the files they come
/// from: each `--profile` file in turn, or else the default file when there
/// is one. `None` when there is nothing to add.
pub(crate) fn defaults(profiles: &[String]) -> Result<Option<(Vec<OsString>, Vec<PathBuf>)>> {
    let dirs = directories();
    let files = if profiles.is_empty() {
        match dirs.iter().map(|dir| dir.join("config")).find(|file| file.is_file()) {
            Some(file) => vec![file],
            None => return Ok(None),
        }
    } else {
        let mut files = Vec::new();
        for name in profiles {
            match find(name, &dirs)? {
                Some(file) => files.push(file),
                // GNU parallel skips a profile it cannot read, so scripts
                // written for it may name one that is not there.
                None => crate::say(&format!(
                    "ppool: --profile {name}: there is no file {name} in {}; going on without it, as GNU \
                     parallel does (create it with the options it stands for)",
                    dirs.iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" or ")
                )),
            }
        }
        files
    };
    let mut words = Vec::new();
    for file in &files {
        words.extend(read(file)?);
    }
    Ok(Some((words, files)))
}

/// `$XDG_CONFIG_HOME/ppool` (default `~/.config/ppool`), then GNU
/// parallel's `~/.parallel`, which counts only when ours has no such file.
fn directories() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|c| !c.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    config
        .map(|c| c.join("ppool"))
        .into_iter()
        .chain(home.map(|h| h.join(".parallel")))
        .collect()
}

/// The file of profile `name`, or `None` when there is none to read.
fn find(name: &str, dirs: &[PathBuf]) -> Result<Option<PathBuf>> {
    if name.contains('/') {
        return Ok(Some(PathBuf::from(name)).filter(|file| file.is_file()));
    }
    if name.is_empty() || name == "." || name == ".." {
        bail!("--profile needs a NAME: a file in ~/.config/ppool (or ~/.parallel)");
    }
    Ok(dirs.iter().map(|dir| dir.join(name)).find(|file| file.is_file()))
}

/// The words of a profile: each line split as a shell would, blank lines
/// and `#` comments skipped.
fn read(file: &Path) -> Result<Vec<OsString>> {
    let text = std::fs::read(file).with_context(|| format!("cannot read the options in {}", file.display()))?;
    let mut words = Vec::new();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed.starts_with(b"#") {
            continue;
        }
        let Some(split) = shlex::bytes::split(trimmed) else {
            bail!(
                "{} line {}: cannot split it into words: check its quotes",
                file.display(),
                n + 1
            );
        };
        words.extend(split.into_iter().map(OsString::from_vec));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_split_like_a_shell_without_comments() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p");
        std::fs::write(&file, "# defaults\n-j 2 --tag\n\n  --tagstring 'a b'\n").unwrap();
        assert_eq!(read(&file).unwrap(), ["-j", "2", "--tag", "--tagstring", "a b"]);
        std::fs::write(&file, "--tagstring 'open\n").unwrap();
        assert!(read(&file).unwrap_err().to_string().contains("line 1"));
    }
}
