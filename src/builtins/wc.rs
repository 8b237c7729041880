//! `wc`: counts lines, words and bytes of the named file, printing the line
//! GNU `wc FILE` prints.
//!
//! Matched against GNU coreutils 9.1 under `LC_ALL=C`:
//!
//! - Lines are `\n` bytes. A word starts at a printable, non-space byte
//!   (`!`..=`~`) and ends at a whitespace byte (space, `\t`, `\n`, `\v`, `\f`,
//!   `\r`). Other bytes (controls, NUL, DEL and everything from 0x80) neither
//!   start nor end a word, so `a\x01b` is one word and `\xff` alone is none.
//!   (Newer coreutils count every non-space byte as a word byte; in a UTF-8
//!   locale coreutils also treats valid non-ASCII characters as printable
//!   and Unicode spaces as separators.)
//! - The three counts are right-aligned to one width: the number of digits
//!   of the file's size as `stat` reports it before reading (at least 1), or
//!   7 when the file is not a regular one (a FIFO, a device). A count wider
//!   than that simply widens its column.
//! - A name holding a newline is quoted for the shell, as coreutils' `quotef`
//!   does (see [`push_shell_escaped`]); any other name is printed as is.
//! - A read error (the name is a directory) still prints the counts so far,
//!   then fails, as `wc` prints its line and exits 1.

use std::fs::File;

use super::{for_each_chunk, io_failure, record_path, Builtin, Failure};

pub(crate) struct Wc;

impl Builtin for Wc {
    fn name(&self) -> &'static str {
        "wc"
    }

    fn help(&self) -> &'static str {
        "line, word and byte counts of the file the record names, as `wc FILE` prints them"
    }

    fn run(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
        let mut file = File::open(record_path(record)).map_err(|e| io_failure("wc", record, &e))?;
        let width = match file.metadata() {
            Ok(meta) if meta.is_file() => digits(meta.len()),
            Ok(_) => 7,
            Err(_) => 1,
        };
        let mut counts = Counts::default();
        let read = for_each_chunk(&mut file, |chunk| counts.add(chunk));
        counts.write(width, record, out);
        read.map_err(|e| io_failure("wc", record, &e))
    }
}

/// What each byte does to the word count.
#[derive(Clone, Copy, PartialEq)]
enum Class {
    /// Starts or continues a word.
    Word,
    /// Ends a word.
    Space,
    /// Neither: a control or non-ASCII byte.
    Other,
}

const CLASS: [Class; 256] = {
    let mut table = [Class::Other; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => Class::Space,
            b'!'..=b'~' => Class::Word,
            _ => Class::Other,
        };
        b += 1;
    }
    table
};

/// Running counts; `in_word` carries a word across chunk boundaries.
#[derive(Debug, Default, PartialEq)]
struct Counts {
    lines: u64,
    words: u64,
    bytes: u64,
    in_word: bool,
}

impl Counts {
    fn add(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len() as u64;
        let mut lines = 0;
        let mut words = 0;
        let mut in_word = self.in_word;
        for &b in chunk {
            lines += u64::from(b == b'\n');
            match CLASS[usize::from(b)] {
                Class::Word => {
                    words += u64::from(!in_word);
                    in_word = true;
                }
                Class::Space => in_word = false,
                Class::Other => {}
            }
        }
        self.lines += lines;
        self.words += words;
        self.in_word = in_word;
    }

    fn write(&self, width: usize, name: &[u8], out: &mut Vec<u8>) {
        let line = format!("{:>width$} {:>width$} {:>width$} ", self.lines, self.words, self.bytes);
        out.extend_from_slice(line.as_bytes());
        if name.contains(&b'\n') {
            push_shell_escaped(name, out);
        } else {
            out.extend_from_slice(name);
        }
        out.push(b'\n');
    }
}

fn digits(mut n: u64) -> usize {
    let mut width = 1;
    while n >= 10 {
        n /= 10;
        width += 1;
    }
    width
}

/// gnulib's `shell_escape_always` quoting in the C locale, which is what
/// `quotef` produces for a name holding a newline: the name goes in single
/// quotes; a `'` becomes `'\''`; a run of unprintable bytes goes in one
/// `$'…'` segment, as `\a \b \t \n \v \f \r` or three octal digits, and
/// plain quoting resumes with `''` after it. `a'b\n` becomes
/// `'a'\''b'$'\n'`.
fn push_shell_escaped(name: &[u8], out: &mut Vec<u8>) {
    out.push(b'\'');
    let mut in_dollar = false;
    for &b in name {
        let escape = match b {
            0x07 => Some(b'a'),
            0x08 => Some(b'b'),
            b'\t' => Some(b't'),
            b'\n' => Some(b'n'),
            0x0b => Some(b'v'),
            0x0c => Some(b'f'),
            b'\r' => Some(b'r'),
            b' '..=b'~' => None,
            _ => Some(0),
        };
        match escape {
            Some(letter) => {
                if !in_dollar {
                    out.extend_from_slice(b"'$'");
                    in_dollar = true;
                }
                out.push(b'\\');
                if letter == 0 {
                    out.extend_from_slice(&[b'0' + (b >> 6), b'0' + ((b >> 3) & 7), b'0' + (b & 7)]);
                } else {
                    out.push(letter);
                }
            }
            None if b == b'\'' => {
                // Closes whichever quote is open, then reopens a plain one.
                out.extend_from_slice(b"'\\''");
                in_dollar = false;
            }
            None => {
                if in_dollar {
                    out.extend_from_slice(b"''");
                    in_dollar = false;
                }
                out.push(b);
            }
        }
    }
    out.push(b'\'');
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::process::Command;

    use super::super::CHUNK;
    use super::*;

    fn ours(path: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        Wc.run(path.as_os_str().as_bytes(), &mut out)
            .expect("counting succeeds");
        out
    }

    fn theirs(path: &Path) -> Vec<u8> {
        let output = Command::new("wc")
            .arg(path)
            .env("LC_ALL", "C")
            .output()
            .expect("wc runs");
        assert!(output.status.success(), "{output:?}");
        output.stdout
    }

    fn same_as_wc_named(name: &[u8], content: &[u8]) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(OsStr::from_bytes(name));
        std::fs::write(&path, content).expect("write test file");
        assert_eq!(
            String::from_utf8_lossy(&ours(&path)),
            String::from_utf8_lossy(&theirs(&path))
        );
        assert_eq!(ours(&path), theirs(&path));
    }

    fn same_as_wc(content: &[u8]) {
        same_as_wc_named(b"f", content);
    }

    #[test]
    fn matches_wc_on_small_files() {
        same_as_wc(b"");
        same_as_wc(b"hello");
        same_as_wc(b"hello\n");
        same_as_wc(b"\n\n\n");
        same_as_wc(b"one two  three\nfour\n");
        same_as_wc(b"  leading and trailing  ");
        same_as_wc(&[b'x'; 12345]);
    }

    #[test]
    fn matches_wc_on_every_whitespace_kind() {
        same_as_wc(b"a\tb\rc\x0bd\x0ce f\ng");
        same_as_wc(b"\t\r\x0b\x0c \n");
        same_as_wc(b"a\r\nb\r\n");
    }

    #[test]
    fn matches_wc_on_binary_content() {
        same_as_wc(b"\x00\xff\x00\x80\n\xfe\x00");
        same_as_wc(b"a\x00b \xff c\x01d \x7f \x01 \x80abc\n");
        same_as_wc(b"caf\xc3\xa9 \xc3\xa9t\xc3\xa9 \xc2\xa0x\n");
        let all: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        same_as_wc(&all);
    }

    #[test]
    fn matches_wc_on_a_large_file() {
        let mut content = Vec::with_capacity(10_000_000);
        let mut x: u32 = 1;
        while content.len() < 10_000_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let alphabet = b"ab c\n\t\x00\xffz  ";
            content.push(alphabet[(x >> 16) as usize % alphabet.len()]);
        }
        same_as_wc(&content);
    }

    #[test]
    fn a_word_spanning_a_chunk_boundary_counts_once() {
        let mut content = vec![b' '; CHUNK - 2];
        content.extend_from_slice(b"word across\n");
        same_as_wc(&content);
        let mut c = Counts::default();
        c.add(&content[..CHUNK]);
        c.add(&content[CHUNK..]);
        assert_eq!((c.lines, c.words), (1, 2));

        // A boundary falling on a space, and on an ignored byte inside a word.
        let mut content = vec![b'x'; CHUNK - 1];
        content.push(b' ');
        content.push(b'y');
        same_as_wc(&content);
        let mut content = vec![b'x'; CHUNK - 1];
        content.push(0x01);
        content.push(b'y');
        same_as_wc(&content);
    }

    #[test]
    fn chunking_does_not_change_counts() {
        let content = b"a bb\tccc\n\x00dd\xffee \n f";
        let mut whole = Counts::default();
        whole.add(content);
        for split in 0..=content.len() {
            let mut parts = Counts::default();
            parts.add(&content[..split]);
            parts.add(&content[split..]);
            assert_eq!(parts, whole, "split at {split}");
        }
        assert_eq!((whole.lines, whole.words, whole.bytes), (2, 5, 19));
    }

    #[test]
    fn width_follows_the_file_size() {
        // 9, 10, 99 999 and 100 000 bytes: widths 1, 2, 5 and 6.
        for size in [9, 10, 99_999, 100_000] {
            same_as_wc(&vec![b'\n'; size]);
        }
    }

    #[test]
    fn width_is_seven_for_other_files() {
        let mut out = Vec::new();
        Wc.run(b"/dev/null", &mut out).expect("counting succeeds");
        assert_eq!(out, b"      0       0       0 /dev/null\n");
        assert_eq!(ours(Path::new("/dev/null")), theirs(Path::new("/dev/null")));
    }

    #[test]
    fn names_are_printed_like_wc_prints_them() {
        same_as_wc_named(b"with spaces  here", b"x y\n");
        same_as_wc_named(b"back\\slash", b"x");
        same_as_wc_named(b"tab\there", b"x");
        same_as_wc_named(b"quote'd", b"x");
        same_as_wc_named(b"\xff-latin1-\xe9", b"x");
    }

    #[test]
    fn names_with_a_newline_are_shell_quoted_like_wc() {
        for name in [
            &b"new\nline"[..],
            b"\nstart",
            b"end\n",
            b"it's\nx",
            b"a'\nb",
            b"x\ty\nz",
            b"a\x01\xff\nb",
            b"caf\xc3\xa9\n",
            b"a:b $\"`\\\n",
            b"\x07\x08\x0b\x0c\r\n\x7f",
            b"''\n''",
        ] {
            same_as_wc_named(name, b"x");
        }
    }

    #[test]
    fn shell_escape_examples() {
        let q = |name: &[u8]| {
            let mut out = Vec::new();
            push_shell_escaped(name, &mut out);
            String::from_utf8(out).expect("quoted names are ASCII")
        };
        assert_eq!(q(b"a\nb"), r"'a'$'\n''b'");
        assert_eq!(q(b"a'b\n"), r"'a'\''b'$'\n'");
        assert_eq!(q(b"\n"), r"''$'\n'");
        assert_eq!(q(b"\x01\xff\n"), r"''$'\001\377\n'");
        assert_eq!(q(b"\n'"), r"''$'\n'\'''");
    }

    #[test]
    fn missing_file_fails_naming_it() {
        let mut out = Vec::new();
        let err = Wc.run(b"/nonexistent/ppool-test", &mut out).expect_err("missing file");
        assert_eq!(
            err,
            Failure {
                code: 1,
                message: "wc: /nonexistent/ppool-test: No such file or directory".into()
            }
        );
        assert!(out.is_empty());
    }

    #[test]
    fn directory_prints_zero_counts_then_fails() {
        let dir = tempfile::tempdir().expect("temp dir");
        let name = dir.path().as_os_str().as_bytes();
        let mut out = Vec::new();
        let err = Wc.run(name, &mut out).expect_err("a directory is unreadable");
        assert_eq!(err.code, 1);
        assert!(err.message.ends_with(": Is a directory"), "{}", err.message);
        let output = Command::new("wc")
            .arg(dir.path())
            .env("LC_ALL", "C")
            .output()
            .expect("wc runs");
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(out, output.stdout);
    }
}
