//! Command templates: parse the command words once, render them per record; shell quoting.
//!
//! A template is the command's words, each split once into literal bytes and
//! placeholders. Rendering walks those segments for every record, so it does
//! no parsing and allocates only the words it returns.
//!
//! Placeholders (several per word are allowed, e.g. `out/{/.}.txt`):
//!
//! | placeholder | value |
//! |---|---|
//! | `{}` | the whole record |
//! | `{.}` | the record without its last extension |
//! | `{/}` | basename |
//! | `{//}` | dirname |
//! | `{/.}` | basename without extension |
//! | `{#}` | the record's sequence number |
//! | `{%}` | the worker slot |
//! | `{N}` | field N, from 1; also `{N.}`, `{N/}`, `{N//}`, `{N/.}` |
//! | `{name}`, `{a.b.0}` | with `--json` only: a JSON field, by dotted path |
//!
//! `{.}`, `{/}`, `{//}` and `{/.}` are the string rules of GNU parallel, not
//! [`std::path`] rules: `{.}` is `s:\.[^/.]*$::`, `{/}` is Perl's `s:.*/::`
//! (where `.` does not match a newline), `{//}` is Perl's
//! `File::Basename::dirname`, and `{/.}` is `{/}` then `{.}`.
//!
//! Undocumented corners, decided here:
//!
//! - Text in braces that is not a placeholder is literal: `{print $1}`,
//!   `{ }`, `{0}`, `{-1}`, an unterminated `{abc`, and `{name}` without
//!   `--json`. A `{` is a placeholder's start only if the next brace after it
//!   is a `}`: `{{}` is a literal `{` then `{}`, and `{}}` is `{}` then a
//!   literal `}`.
//! - `{N}` accepts leading zeros (`{01}` is field 1, as in GNU parallel); a
//!   number too large for the platform's `usize` is literal text.
//! - `{1}` on a record without fields (a plain line, a JSON object) is the
//!   whole record; any other field beyond the record's fields is an error.
//! - In a JSON path, a segment of digits indexes an array (from 0) or, on an
//!   object, is looked up as a key; any other segment is an object key.
//! - A record marked invalid, or one whose substituted value holds a NUL byte
//!   (which no argv can carry), renders to a [`RenderError`].

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use serde_json::Value;

use crate::input::Record;

/// How much of a record an error message quotes, in bytes.
const SHOWN_RECORD_BYTES: usize = 200;

/// A command, parsed once into words of literal bytes and placeholders.
#[derive(Debug, Clone)]
pub struct Template {
    words: Vec<Word>,
    has_placeholder: bool,
}

/// A record that cannot be rendered (a missing JSON field, …): becomes a failed task with status invalid-input.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderError(pub String);

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RenderError {}

#[derive(Debug, Clone)]
struct Word {
    /// The word as written, returned as is when it holds no placeholder.
    raw: OsString,
    segments: Vec<Segment>,
    has_placeholder: bool,
    /// Total length of the literal segments, to size the rendered word.
    literal_len: usize,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(Box<[u8]>),
    Placeholder(Placeholder),
}

#[derive(Debug, Clone)]
enum Placeholder {
    Seq,
    Slot,
    /// The whole record, or a field when `Some(index from 0)`.
    Value(Option<usize>, PathRule),
    Json(JsonPath),
}

/// GNU parallel's string rules on a value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PathRule {
    Whole,
    NoExt,
    Basename,
    Dirname,
    BasenameNoExt,
}

#[derive(Debug, Clone)]
struct JsonPath {
    /// The path as written, for error messages.
    text: String,
    segments: Vec<JsonSegment>,
}

#[derive(Debug, Clone)]
struct JsonSegment {
    key: String,
    /// The key as an array index, when it is all digits and fits.
    index: Option<usize>,
}

impl Template {
    /// `json`: whether `--json` is on (only then are `{name}` / `{a.b.0}` field placeholders).
    pub fn parse(words: &[OsString], json: bool) -> Template {
        let words: Vec<Word> = words.iter().map(|w| parse_word(w, json)).collect();
        let has_placeholder = words.iter().any(|w| w.has_placeholder);
        Template { words, has_placeholder }
    }

    /// True when any word holds a placeholder (otherwise the record is appended, as xargs does).
    pub fn has_placeholder(&self) -> bool {
        self.has_placeholder
    }

    /// Direct exec: the argv after substitution (program first). With no placeholder, `record.implicit_args()` are appended as extra words.
    pub fn render_argv(&self, record: &Record, slot: usize) -> Result<Vec<OsString>, RenderError> {
        check_record(record)?;
        if !self.has_placeholder {
            let implicit = record.implicit_args();
            let mut argv = Vec::with_capacity(self.words.len() + implicit.len());
            argv.extend(self.words.iter().map(|w| w.raw.clone()));
            for arg in implicit {
                check_nul(arg, record)?;
                argv.push(OsString::from_vec(arg.to_vec()));
            }
            return Ok(argv);
        }
        let mut argv = Vec::with_capacity(self.words.len());
        for word in &self.words {
            if !word.has_placeholder {
                argv.push(word.raw.clone());
                continue;
            }
            let mut out = Vec::with_capacity(word.literal_len + record.whole.len());
            render_word(word, record, slot, false, &mut out)?;
            argv.push(OsString::from_vec(out));
        }
        Ok(argv)
    }

    /// `--shell`: the command words joined with single spaces, each substituted value shell-quoted (implicit args appended quoted, separated by spaces). Literal template text is NOT quoted (the user wrote shell syntax).
    pub fn render_shell(&self, record: &Record, slot: usize) -> Result<OsString, RenderError> {
        check_record(record)?;
        let literal: usize = self.words.iter().map(|w| w.literal_len + 1).sum();
        let mut out = Vec::with_capacity(literal + record.whole.len() + 8);
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            render_word(word, record, slot, true, &mut out)?;
        }
        if !self.has_placeholder {
            let mut separate = !self.words.is_empty();
            for arg in record.implicit_args() {
                check_nul(arg, record)?;
                if separate {
                    out.push(b' ');
                }
                out.extend_from_slice(&quote(arg));
                separate = true;
            }
        }
        Ok(OsString::from_vec(out))
    }
}

/// Quote bytes for a POSIX shell so that `sh -c "printf %s <quoted>"` prints
/// exactly the input bytes. NUL bytes cannot reach a shell (no argv can carry
/// them), so they are dropped. The empty string quotes to `''`.
pub fn quote(bytes: &[u8]) -> Cow<'_, [u8]> {
    if memchr(0, bytes).is_none() {
        return quote_nul_free(bytes);
    }
    let stripped: Vec<u8> = bytes.iter().copied().filter(|&b| b != 0).collect();
    Cow::Owned(quote_nul_free(&stripped).into_owned())
}

/// Quote bytes known to hold no NUL.
fn quote_nul_free(bytes: &[u8]) -> Cow<'_, [u8]> {
    match shlex::bytes::try_quote(bytes) {
        Ok(quoted) => quoted,
        // shlex fails only on NUL bytes, which the caller removed; quote by
        // hand all the same rather than panic.
        Err(_) => {
            let mut out = Vec::with_capacity(bytes.len() + 2);
            out.push(b'\'');
            for &b in bytes {
                if b == b'\'' {
                    out.extend_from_slice(b"'\\''");
                } else if b != 0 {
                    out.push(b);
                }
            }
            out.push(b'\'');
            Cow::Owned(out)
        }
    }
}

/// For `--dry-run`: an argv rendered as one shell-quoted line (each word quoted with `quote`, joined by spaces).
pub fn quote_argv(argv: &[OsString]) -> OsString {
    let mut out = Vec::new();
    for (i, word) in argv.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(&quote(word.as_bytes()));
    }
    OsString::from_vec(out)
}

// ---------------------------------------------------------------------------
// Parsing

fn parse_word(word: &OsString, json: bool) -> Word {
    let bytes = word.as_bytes();
    let mut segments = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let rest = &bytes[i + 1..];
            if let Some(k) = rest.iter().position(|&b| b == b'{' || b == b'}') {
                if rest[k] == b'}' {
                    if let Some(placeholder) = parse_placeholder(&rest[..k], json) {
                        if literal_start < i {
                            segments.push(Segment::Literal(bytes[literal_start..i].into()));
                        }
                        segments.push(Segment::Placeholder(placeholder));
                        i += k + 2;
                        literal_start = i;
                        continue;
                    }
                }
                // Not a placeholder: everything up to the next brace is literal.
                i += k + 1;
                continue;
            }
            // No brace after this one: the rest is literal.
            break;
        }
        i += 1;
    }
    if literal_start < bytes.len() {
        segments.push(Segment::Literal(bytes[literal_start..].into()));
    }
    let has_placeholder = segments.iter().any(|s| matches!(s, Segment::Placeholder(_)));
    let literal_len = segments
        .iter()
        .map(|s| match s {
            Segment::Literal(b) => b.len(),
            Segment::Placeholder(_) => 0,
        })
        .sum();
    Word {
        raw: word.clone(),
        segments,
        has_placeholder,
        literal_len,
    }
}

/// The placeholder named by the text between `{` and `}`, if it is one.
fn parse_placeholder(inner: &[u8], json: bool) -> Option<Placeholder> {
    match inner {
        b"#" => return Some(Placeholder::Seq),
        b"%" => return Some(Placeholder::Slot),
        _ => {}
    }
    if let Some(rule) = parse_rule(inner) {
        return Some(Placeholder::Value(None, rule));
    }
    let digits = inner.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        let rule = parse_rule(&inner[digits..])?;
        let n: usize = std::str::from_utf8(&inner[..digits]).ok()?.parse().ok()?;
        return match n {
            0 => None,
            n => Some(Placeholder::Value(Some(n - 1), rule)),
        };
    }
    if json {
        return parse_json_path(inner).map(Placeholder::Json);
    }
    None
}

fn parse_rule(suffix: &[u8]) -> Option<PathRule> {
    Some(match suffix {
        b"" => PathRule::Whole,
        b"." => PathRule::NoExt,
        b"/" => PathRule::Basename,
        b"//" => PathRule::Dirname,
        b"/." => PathRule::BasenameNoExt,
        _ => return None,
    })
}

/// `name(.segment)*`: a name is letters, digits, `_` and `-`, starting with
/// a letter or `_`; a later segment may also be all digits (an index).
fn parse_json_path(inner: &[u8]) -> Option<JsonPath> {
    let text = std::str::from_utf8(inner).ok()?;
    let mut segments = Vec::new();
    for (n, part) in text.split('.').enumerate() {
        let first = *part.as_bytes().first()?;
        let name_chars = part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        let all_digits = part.bytes().all(|b| b.is_ascii_digit());
        let is_name = name_chars && (first.is_ascii_alphabetic() || first == b'_');
        if !(is_name || (n > 0 && all_digits)) {
            return None;
        }
        segments.push(JsonSegment {
            key: part.to_owned(),
            index: if all_digits { part.parse().ok() } else { None },
        });
    }
    Some(JsonPath {
        text: text.to_owned(),
        segments,
    })
}

// ---------------------------------------------------------------------------
// Rendering

fn check_record(record: &Record) -> Result<(), RenderError> {
    match &record.invalid {
        Some(reason) => Err(RenderError(reason.clone())),
        None => Ok(()),
    }
}

fn check_nul(value: &[u8], record: &Record) -> Result<(), RenderError> {
    match memchr(0, value) {
        None => Ok(()),
        Some(_) => Err(RenderError(format!(
            "record {} holds a NUL byte, which no command argument can carry: {}",
            record.seq,
            show(record)
        ))),
    }
}

/// Append one word, each placeholder's value quoted when `quoted`.
fn render_word(word: &Word, record: &Record, slot: usize, quoted: bool, out: &mut Vec<u8>) -> Result<(), RenderError> {
    for segment in &word.segments {
        match segment {
            Segment::Literal(bytes) => out.extend_from_slice(bytes),
            Segment::Placeholder(Placeholder::Seq) => write_number(out, record.seq),
            Segment::Placeholder(Placeholder::Slot) => write_number(out, slot as u64),
            Segment::Placeholder(placeholder) => {
                let value = value(placeholder, record, slot)?;
                check_nul(&value, record)?;
                if quoted {
                    out.extend_from_slice(&quote_nul_free(&value));
                } else {
                    out.extend_from_slice(&value);
                }
            }
        }
    }
    Ok(())
}

fn write_number(out: &mut Vec<u8>, n: u64) {
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{n}");
}

/// The bytes a value placeholder stands for.
fn value<'r>(placeholder: &Placeholder, record: &'r Record, slot: usize) -> Result<Cow<'r, [u8]>, RenderError> {
    match placeholder {
        Placeholder::Seq => Ok(Cow::Owned(record.seq.to_string().into_bytes())),
        Placeholder::Slot => Ok(Cow::Owned(slot.to_string().into_bytes())),
        Placeholder::Value(None, rule) => Ok(apply_rule(*rule, &record.whole)),
        Placeholder::Value(Some(index), rule) => {
            let field = match record.fields.get(*index) {
                Some(field) => field.as_slice(),
                None if *index == 0 && record.fields.is_empty() => record.whole.as_slice(),
                None => {
                    return Err(RenderError(format!(
                        "no field {{{}}} in record {} (it has {} field{}): {}",
                        index + 1,
                        record.seq,
                        record.fields.len(),
                        if record.fields.len() == 1 { "" } else { "s" },
                        show(record)
                    )))
                }
            };
            Ok(apply_rule(*rule, field))
        }
        Placeholder::Json(path) => json_value(path, record),
    }
}

fn json_value<'r>(path: &JsonPath, record: &'r Record) -> Result<Cow<'r, [u8]>, RenderError> {
    let Some(root) = &record.json else {
        return Err(RenderError(format!(
            "field \"{}\" needs a JSON record; record {} is not one: {}",
            path.text,
            record.seq,
            show(record)
        )));
    };
    let mut current = root;
    for segment in &path.segments {
        let next = match current {
            Value::Object(map) => map.get(&segment.key),
            Value::Array(items) => segment.index.and_then(|i| items.get(i)),
            _ => None,
        };
        current = match next {
            Some(v) => v,
            None => {
                return Err(RenderError(format!(
                    "missing field \"{}\" in record {}: {}",
                    path.text,
                    record.seq,
                    show(record)
                )))
            }
        };
    }
    match current {
        Value::String(s) => Ok(Cow::Borrowed(s.as_bytes())),
        other => serde_json::to_vec(other).map(Cow::Owned).map_err(|e| {
            RenderError(format!(
                "field \"{}\" in record {} cannot be rendered: {e}",
                path.text, record.seq
            ))
        }),
    }
}

/// The record for an error message, cut to a readable length.
fn show(record: &Record) -> String {
    let bytes = &record.whole;
    if bytes.len() <= SHOWN_RECORD_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut shown = String::from_utf8_lossy(&bytes[..SHOWN_RECORD_BYTES]).into_owned();
    shown.push('…');
    shown
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

// ---------------------------------------------------------------------------
// GNU parallel's path rules

fn apply_rule(rule: PathRule, value: &[u8]) -> Cow<'_, [u8]> {
    match rule {
        PathRule::Whole => Cow::Borrowed(value),
        PathRule::NoExt => Cow::Borrowed(strip_ext(value)),
        PathRule::Basename => basename(value),
        PathRule::Dirname => Cow::Borrowed(dirname(value)),
        PathRule::BasenameNoExt => match basename(value) {
            Cow::Borrowed(b) => Cow::Borrowed(strip_ext(b)),
            Cow::Owned(mut b) => {
                let keep = strip_ext(&b).len();
                b.truncate(keep);
                Cow::Owned(b)
            }
        },
    }
}

/// `{.}`: Perl's `s:\.[^/.]*$::`, which removes from the last `.` when no
/// `/` follows it. (Perl's `$` may also match before a final newline, but
/// `[^/.]*` is greedy and matches a newline, so that never changes the result.)
fn strip_ext(value: &[u8]) -> &[u8] {
    match value.iter().rposition(|&b| b == b'.' || b == b'/') {
        Some(i) if value[i] == b'.' => &value[..i],
        _ => value,
    }
}

/// `{/}`: Perl's `s:.*/::`. Perl's `.` does not match a newline, so the match
/// runs from the start of the first line that holds a `/` to that line's last
/// `/`, and text before that line stays.
fn basename(value: &[u8]) -> Cow<'_, [u8]> {
    let mut start = 0;
    loop {
        let end = memchr(b'\n', &value[start..]).map_or(value.len(), |n| start + n);
        if let Some(slash) = value[start..end].iter().rposition(|&b| b == b'/') {
            let after = &value[start + slash + 1..];
            if start == 0 {
                return Cow::Borrowed(after);
            }
            let mut out = Vec::with_capacity(start + after.len());
            out.extend_from_slice(&value[..start]);
            out.extend_from_slice(after);
            return Cow::Owned(out);
        }
        if end == value.len() {
            return Cow::Borrowed(value);
        }
        start = end + 1;
    }
}

/// Perl's `File::Basename::fileparse` on Unix: `m{^(.*/)?(.*)}s`, with `./`
/// as the directory when there is none.
fn fileparse(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => (b"./", path),
    }
}

/// `File::Basename::_strip_trailing_sep` on Unix: `s{(.)/*\z}{$1}s`, which
/// removes trailing slashes but keeps the first character.
fn strip_trailing_sep(dir: &[u8]) -> &[u8] {
    let mut n = dir.len();
    while n > 1 && dir[n - 1] == b'/' {
        n -= 1;
    }
    &dir[..n]
}

/// `{//}`: Perl's `File::Basename::dirname` on Unix.
fn dirname(path: &[u8]) -> &[u8] {
    let (dir, base) = fileparse(path);
    let dir = strip_trailing_sep(dir);
    if !base.is_empty() {
        return dir;
    }
    let (dir, _) = fileparse(dir);
    strip_trailing_sep(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::process::Command;

    fn os(s: &str) -> OsString {
        OsString::from(s)
    }

    fn words(ws: &[&str]) -> Vec<OsString> {
        ws.iter().map(|w| os(w)).collect()
    }

    fn line(seq: u64, s: &[u8]) -> Record {
        Record::text(seq, s.to_vec())
    }

    fn groups(seq: u64, fields: &[&str]) -> Record {
        Record {
            seq,
            line: seq,
            whole: fields.join(" ").into_bytes(),
            fields: fields.iter().map(|f| f.as_bytes().to_vec()).collect(),
            ..Record::default()
        }
    }

    fn json(seq: u64, text: &str) -> Record {
        let value: Value = serde_json::from_str(text).expect("test JSON is valid");
        let whole = match &value {
            Value::String(s) => s.clone().into_bytes(),
            other => serde_json::to_vec(other).expect("serializes"),
        };
        let fields = match &value {
            Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone().into_bytes(),
                    other => serde_json::to_vec(other).expect("serializes"),
                })
                .collect(),
            _ => Vec::new(),
        };
        Record {
            seq,
            line: seq,
            whole,
            fields,
            json: Some(value),
            invalid: None,
        }
    }

    fn argv(template: &[&str], json: bool, record: &Record, slot: usize) -> Vec<String> {
        Template::parse(&words(template), json)
            .render_argv(record, slot)
            .expect("renders")
            .into_iter()
            .map(|w| w.into_string().expect("UTF-8 in this test"))
            .collect()
    }

    /// Render one word with `{}` bound to `input`.
    fn one(template: &str, input: &[u8]) -> Vec<u8> {
        let t = Template::parse(&[os(template)], false);
        let mut out = t.render_argv(&line(1, input), 1).expect("renders");
        assert_eq!(out.len(), 1);
        out.remove(0).into_vec()
    }

    /// Run `sh -c SCRIPT` and return its stdout.
    fn sh(script: &[u8]) -> Vec<u8> {
        let output = Command::new("/bin/sh")
            .arg("-c")
            .arg(std::ffi::OsStr::from_bytes(script))
            .output()
            .expect("/bin/sh runs");
        assert!(output.status.success(), "sh failed: {output:?}");
        output.stdout
    }

    // Inputs and expected outputs below match GNU parallel 20221122, observed
    // with `parallel echo {.} ::: …` (and `-0` input for the newline cases).
    const PATHS: [&str; 22] = [
        "a.b/c",
        ".hidden",
        "dir/",
        "x.tar.gz",
        "a b/c d.e",
        "noext",
        "a/b.c/",
        "/abs",
        "",
        "/",
        "a/.hidden",
        "a/b/",
        "a//b",
        "//",
        "a.",
        ".",
        "..",
        "a/..",
        "a/.b.c",
        "dir//",
        "./x",
        "a/b.c/d",
    ];

    fn check_rule(placeholder: &str, expected: [&str; 22]) {
        for (input, want) in PATHS.iter().zip(expected) {
            let got = one(placeholder, input.as_bytes());
            assert_eq!(String::from_utf8_lossy(&got), want, "{placeholder} of {input:?}");
        }
    }

    #[test]
    fn no_extension_matches_gnu_parallel() {
        check_rule(
            "{.}",
            [
                "a.b/c", "", "dir/", "x.tar", "a b/c d", "noext", "a/b.c/", "/abs", "", "/", "a/", "a/b/", "a//b",
                "//", "a", "", ".", "a/.", "a/.b", "dir//", "./x", "a/b.c/d",
            ],
        );
    }

    #[test]
    fn basename_matches_gnu_parallel() {
        check_rule(
            "{/}",
            [
                "c", ".hidden", "", "x.tar.gz", "c d.e", "noext", "", "abs", "", "", ".hidden", "", "b", "", "a.", ".",
                "..", "..", ".b.c", "", "x", "d",
            ],
        );
    }

    #[test]
    fn dirname_matches_gnu_parallel() {
        check_rule(
            "{//}",
            [
                "a.b", ".", ".", ".", "a b", ".", "a", "/", ".", "/", "a", "a", "a", "/", ".", ".", ".", "a", "a", ".",
                ".", "a/b.c",
            ],
        );
    }

    #[test]
    fn basename_no_extension_matches_gnu_parallel() {
        check_rule(
            "{/.}",
            [
                "c", "", "", "x.tar", "c d", "noext", "", "abs", "", "", "", "", "b", "", "a", "", ".", ".", ".b", "",
                "x", "d",
            ],
        );
    }

    const NEWLINE_PATHS: [&str; 8] = [
        "a\nb/c", "x/y\nb/c", "a.b\nc", "a/b\n", "a.b\n", "a\n/b", "a/b\nc/d", "a.b/\nc",
    ];

    fn check_newline_rule(placeholder: &str, expected: [&str; 8]) {
        for (input, want) in NEWLINE_PATHS.iter().zip(expected) {
            let got = one(placeholder, input.as_bytes());
            assert_eq!(String::from_utf8_lossy(&got), want, "{placeholder} of {input:?}");
        }
    }

    #[test]
    fn path_rules_with_newlines_match_gnu_parallel() {
        // Observed with `printf '%s\0' … | parallel -0 …`.
        check_newline_rule(
            "{.}",
            ["a\nb/c", "x/y\nb/c", "a", "a/b\n", "a", "a\n/b", "a/b\nc/d", "a.b/\nc"],
        );
        check_newline_rule(
            "{/}",
            ["a\nc", "y\nb/c", "a.b\nc", "b\n", "a.b\n", "a\nb", "b\nc/d", "\nc"],
        );
        check_newline_rule("{//}", ["a\nb", "x/y\nb", ".", "a", ".", "a\n", "a/b\nc", "a.b"]);
        check_newline_rule("{/.}", ["a\nc", "y\nb/c", "a", "b\n", "a", "a\nb", "b\nc/d", "\nc"]);
    }

    #[test]
    fn every_simple_placeholder() {
        let r = line(7, b"dir/file.tar.gz");
        assert_eq!(
            argv(&["cmd", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}"], false, &r, 3),
            [
                "cmd",
                "dir/file.tar.gz",
                "dir/file.tar",
                "file.tar.gz",
                "dir",
                "file.tar",
                "7",
                "3"
            ]
        );
    }

    #[test]
    fn several_placeholders_in_one_word() {
        let r = line(12, b"in/photo.jpg");
        assert_eq!(
            argv(&["conv", "{}", "out/{/.}-{#}-{%}.png"], false, &r, 2),
            ["conv", "in/photo.jpg", "out/photo-12-2.png"]
        );
        assert_eq!(argv(&["{}{}"], false, &line(1, b"ab"), 1), ["abab"]);
    }

    #[test]
    fn numbered_fields() {
        let r = groups(1, &["a/b.c", "x y", "3"]);
        assert_eq!(
            argv(
                &["{1}", "{2}", "{3}", "{1.}", "{1/}", "{1//}", "{1/.}", "{01}", "{}"],
                false,
                &r,
                1
            ),
            ["a/b.c", "x y", "3", "a/b", "b.c", "a", "b", "a/b.c", "a/b.c x y 3"]
        );
    }

    #[test]
    fn field_one_of_a_plain_line_is_the_line() {
        assert_eq!(argv(&["{1}", "{1/}"], false, &line(1, b"p/q"), 1), ["p/q", "q"]);
    }

    #[test]
    fn field_out_of_range_is_an_error() {
        let t = Template::parse(&words(&["echo", "{3}"]), false);
        let err = t.render_argv(&groups(4, &["a", "b"]), 1).expect_err("no field 3");
        assert_eq!(err.0, "no field {3} in record 4 (it has 2 fields): a b", "{err}");
        let err = t.render_argv(&line(5, b"x"), 1).expect_err("no field 3");
        assert!(err.0.contains("{3}") && err.0.contains("record 5"), "{err}");
        assert!(Template::parse(&words(&["{2}"]), false)
            .render_argv(&line(1, b"x"), 1)
            .is_err());
    }

    #[test]
    fn implicit_append() {
        let t = Template::parse(&words(&["echo", "-n"]), false);
        assert!(!t.has_placeholder());
        let plain = t.render_argv(&line(1, b"a b"), 1).expect("renders");
        assert_eq!(plain, words(&["echo", "-n", "a b"]));
        let multi = t.render_argv(&groups(1, &["x", "y z"]), 1).expect("renders");
        assert_eq!(multi, words(&["echo", "-n", "x", "y z"]));
        let j = t.render_argv(&json(1, r#"{"a":[1,"b"]}"#), 1).expect("renders");
        assert_eq!(j, words(&["echo", "-n", r#"{"a":[1,"b"]}"#]));
        let s = t.render_argv(&json(1, r#""text""#), 1).expect("renders");
        assert_eq!(s, words(&["echo", "-n", "text"]));
        // A JSON array is still appended whole.
        let arr = t.render_argv(&json(1, r#"[1,"b"]"#), 1).expect("renders");
        assert_eq!(arr, words(&["echo", "-n", r#"[1,"b"]"#]));
    }

    #[test]
    fn implicit_append_in_shell_mode() {
        let t = Template::parse(&words(&["printf", "'[%s]'"]), false);
        let script = t.render_shell(&groups(1, &["a b", "$(id)"]), 1).expect("renders");
        assert_eq!(script, os("printf '[%s]' 'a b' '$(id)'"));
        assert_eq!(sh(script.as_bytes()), b"[a b][$(id)]");
        let script = t.render_shell(&line(1, b""), 1).expect("renders");
        assert_eq!(sh(script.as_bytes()), b"[]");
        // Without command words, the appended fields still form separate words.
        let t = Template::parse(&[], false);
        let script = t.render_shell(&groups(1, &["a", "b c"]), 1).expect("renders");
        assert_eq!(script, os("a 'b c'"));
    }

    #[test]
    fn placeholder_detection() {
        assert!(Template::parse(&words(&["echo", "x{}y"]), false).has_placeholder());
        assert!(Template::parse(&words(&["echo", "{#}"]), false).has_placeholder());
        assert!(!Template::parse(&words(&["echo", "{name}"]), false).has_placeholder());
        assert!(Template::parse(&words(&["echo", "{name}"]), true).has_placeholder());
        assert!(!Template::parse(&words(&["awk", "{print $1}"]), true).has_placeholder());
        assert!(!Template::parse(&[], false).has_placeholder());
    }

    #[test]
    fn non_utf8_bytes_pass_through() {
        let input: &[u8] = b"caf\xe9/\xff\xfe.b\x80n";
        let word = OsString::from_vec(b"\xc0x{}-{/.}".to_vec());
        let t = Template::parse(&[os("cmd"), word], false);
        let out = t.render_argv(&line(1, input), 1).expect("renders");
        let mut want = b"\xc0x".to_vec();
        want.extend_from_slice(input);
        want.extend_from_slice(b"-\xff\xfe");
        assert_eq!(out[1].as_bytes(), want.as_slice());

        let t = Template::parse(&words(&["cmd"]), false);
        let out = t.render_argv(&line(1, input), 1).expect("renders");
        assert_eq!(out[1].as_bytes(), input);

        let t = Template::parse(&words(&["printf", "%s", "{}"]), false);
        let script = t.render_shell(&line(1, input), 1).expect("renders");
        assert_eq!(sh(script.as_bytes()), input);
    }

    #[test]
    fn shell_mode_quotes_hostile_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        let hostile: [&[u8]; 9] = [
            b"'; touch PWNED; '",
            b"$(touch PWNED)",
            b"`touch PWNED`",
            b"a\nb\ntouch PWNED",
            b"\"; touch PWNED; \"",
            b"$HOME ${HOME} \\ * ? ~ # ! ^ %",
            b"-n",
            b"",
            b"  spaced\ttabs  ",
        ];
        let t = Template::parse(&words(&["cd", "DIR", "&&", "printf", "'%s'", "{}"]), false);
        for input in hostile {
            let script = t.render_shell(&line(1, input), 1).expect("renders");
            let dir_bytes = quote(dir.path().as_os_str().as_bytes()).into_owned();
            let script = replace(script.as_bytes(), b"DIR", &dir_bytes);
            assert_eq!(sh(&script), input, "script {:?}", String::from_utf8_lossy(&script));
            assert!(!dir.path().join("PWNED").exists(), "{input:?} ran a command");
        }
    }

    fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = hay
            .windows(from.len())
            .position(|w| w == from)
            .expect("pattern present");
        [&hay[..at], to, &hay[at + from.len()..]].concat()
    }

    #[test]
    fn shell_mode_quotes_values_inside_words_but_not_literals() {
        let t = Template::parse(&words(&["echo", "$HOME", "|", "cat", "out/{/.}.txt", "{#}"]), false);
        let script = t.render_shell(&line(9, b"in/a b.c"), 4).expect("renders");
        assert_eq!(script, os("echo $HOME | cat out/'a b'.txt 9"));
        let t = Template::parse(&words(&["printf", "%s", "x{}y"]), false);
        let script = t.render_shell(&line(1, b""), 1).expect("renders");
        assert_eq!(sh(script.as_bytes()), b"xy");
    }

    #[test]
    fn json_fields() {
        let r = json(
            3,
            r#"{"name":"a b","n":1,"a":{"b":[10,{"c":"deep"},[5,6]]},"k-1":null,"_x":true,"o":{"0":"zero"}}"#,
        );
        assert_eq!(
            argv(
                &[
                    "{name}",
                    "{n}",
                    "{a.b.0}",
                    "{a.b.1.c}",
                    "{a.b.2.1}",
                    "{a.b.2}",
                    "{k-1}",
                    "{_x}",
                    "{a}",
                    "{o.0}",
                    "{#}"
                ],
                true,
                &r,
                1
            ),
            [
                "a b",
                "1",
                "10",
                "deep",
                "6",
                "[5,6]",
                "null",
                "true",
                r#"{"b":[10,{"c":"deep"},[5,6]]}"#,
                "zero",
                "3"
            ]
        );
    }

    #[test]
    fn json_array_records_have_numbered_fields() {
        let r = json(1, r#"["x/y.z",{"a":1},3]"#);
        assert_eq!(
            argv(&["{1}", "{1/.}", "{2}", "{3}"], true, &r, 1),
            ["x/y.z", "y", r#"{"a":1}"#, "3"]
        );
        // A JSON object has no numbered fields; {1} is the whole record.
        assert_eq!(argv(&["{1}"], true, &json(1, r#"{"a":1}"#), 1), [r#"{"a":1}"#]);
    }

    #[test]
    fn json_missing_fields_are_errors() {
        let r = json(3, r#"{"a":1,"l":[1,2]}"#);
        let cases = [
            ("{a.b}", r#"missing field "a.b" in record 3: {"a":1,"l":[1,2]}"#),
            ("{b}", r#"missing field "b" in record 3: {"a":1,"l":[1,2]}"#),
            ("{l.2}", r#"missing field "l.2" in record 3: {"a":1,"l":[1,2]}"#),
            ("{l.x}", r#"missing field "l.x" in record 3: {"a":1,"l":[1,2]}"#),
            (
                "{l.99999999999999999999999}",
                r#"missing field "l.99999999999999999999999" in record 3: {"a":1,"l":[1,2]}"#,
            ),
        ];
        for (word, message) in cases {
            let t = Template::parse(&words(&["echo", word]), true);
            assert_eq!(t.render_argv(&r, 1), Err(RenderError(message.to_owned())), "{word}");
            assert!(t.render_shell(&r, 1).is_err());
        }
        let scalar = json(4, "5");
        let t = Template::parse(&words(&["{a}"]), true);
        assert!(t.render_argv(&scalar, 1).is_err());
    }

    #[test]
    fn json_placeholder_on_a_non_json_record_is_an_error() {
        let t = Template::parse(&words(&["echo", "{a}"]), true);
        let err = t.render_argv(&line(2, b"not json"), 1).expect_err("no JSON");
        assert!(err.0.contains("\"a\"") && err.0.contains("record 2"), "{err}");
    }

    #[test]
    fn invalid_records_do_not_render() {
        let mut r = line(2, b"{bad");
        r.invalid = Some("invalid JSON on line 2: EOF".to_owned());
        let t = Template::parse(&words(&["echo", "{}"]), true);
        assert_eq!(
            t.render_argv(&r, 1),
            Err(RenderError("invalid JSON on line 2: EOF".to_owned()))
        );
        assert!(t.render_shell(&r, 1).is_err());
    }

    #[test]
    fn names_are_literal_without_json() {
        assert_eq!(
            argv(&["sh", "-c", "echo ${HOME} {a.b} {x}"], false, &line(1, b"v"), 1),
            // No placeholder, so the record is appended.
            ["sh", "-c", "echo ${HOME} {a.b} {x}", "v"]
        );
    }

    #[test]
    fn other_braces_are_left_alone() {
        let r = line(1, b"V");
        for word in [
            "{print $1}",
            "{",
            "}",
            "{ }",
            "{-1}",
            "{0}",
            "{00}",
            "{abc",
            "a{b",
            "}{",
            "{.x}",
            "{1x}",
            "{//.}",
            "{##}",
            "{99999999999999999999999999}",
        ] {
            // No placeholder, so the record is appended.
            assert_eq!(argv(&[word], true, &r, 1), [word, "V"], "{word}");
            assert_eq!(argv(&[word], false, &r, 1), [word, "V"], "{word}");
        }
        assert_eq!(argv(&["{{}"], false, &r, 1), ["{V"]);
        assert_eq!(argv(&["{}}"], false, &r, 1), ["V}"]);
        assert_eq!(argv(&["{{}}"], false, &r, 1), ["{V}"]);
        assert_eq!(argv(&["{x{}"], false, &r, 1), ["{xV"]);
        assert_eq!(argv(&["awk", "{print {}}"], false, &r, 1), ["awk", "{print V}"]);
        // JSON paths that are not names stay literal too.
        for word in ["{1a.b}", "{a..b}", "{a.}", "{.a}", "{a b}", "{a.b c}", "{-a}"] {
            assert_eq!(argv(&[word, "{#}"], true, &json(1, r#"{"a":1}"#), 1), [word, "1"]);
        }
    }

    #[test]
    fn nul_bytes_are_errors_not_panics() {
        let r = line(6, b"a\0b");
        let t = Template::parse(&words(&["echo", "{}"]), false);
        let err = t.render_argv(&r, 1).expect_err("NUL");
        assert!(err.0.contains("NUL") && err.0.contains("record 6"), "{err}");
        assert!(t.render_shell(&r, 1).is_err());
        let t = Template::parse(&words(&["echo"]), false);
        assert!(t.render_argv(&r, 1).is_err());
        assert!(t.render_shell(&r, 1).is_err());
        assert_eq!(quote(b"a\0b").as_ref(), b"ab");
        assert_eq!(quote(b"\0").as_ref(), b"''");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(b"").as_ref(), b"''");
        assert_eq!(quote(b"plain-word_1.txt").as_ref(), b"plain-word_1.txt");
        assert!(matches!(quote(b"plain"), Cow::Borrowed(_)));
        for input in [&b"a b"[..], b"it's", b"$(id)", b"`id`", b"a\nb", b"\\", b"!^"] {
            let script = [b"printf %s ", quote(input).as_ref()].concat();
            assert_eq!(sh(&script), input);
        }
    }

    #[test]
    fn quote_argv_for_dry_run() {
        let line = quote_argv(&words(&["echo", "a b", "", "it's"]));
        assert_eq!(line, os(r#"echo 'a b' '' "it's""#));
        assert_eq!(quote_argv(&[]), os(""));
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        (
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..24),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..4),
            prop::option::of(arb_json()),
            prop::option::weighted(0.1, ".{0,8}"),
        )
            .prop_map(|(seq, whole, fields, json, invalid)| Record {
                seq,
                line: seq,
                whole,
                fields,
                json,
                invalid,
            })
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-z0-9\\x00/. ]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c0-2_-]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arb_word() -> impl Strategy<Value = OsString> {
        let piece = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..6),
            prop::sample::select(vec![
                "{", "}", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "{1}", "{2/.}", "{a}", "{a.0.b}", ".", "/",
                "\n",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
        ];
        prop::collection::vec(piece, 0..6).prop_map(|p| OsString::from_vec(p.concat()))
    }

    proptest! {
        #[test]
        fn rendering_never_panics(
            template in prop::collection::vec(arb_word(), 0..5),
            json in any::<bool>(),
            record in arb_record(),
            slot in any::<usize>(),
        ) {
            let t = Template::parse(&template, json);
            let argv = t.render_argv(&record, slot);
            let shell = t.render_shell(&record, slot);
            prop_assert_eq!(argv.is_ok(), shell.is_ok());
            if let Ok(argv) = argv {
                let extra = if t.has_placeholder() { 0 } else { record.implicit_args().len() };
                prop_assert_eq!(argv.len(), template.len() + extra);
            }
        }

        #[test]
        fn json_paths_never_panic(
            path in "[a-c0-2_.-]{0,12}",
            value in arb_json(),
        ) {
            let word = os(&format!("{{{path}}}"));
            let t = Template::parse(&[word], true);
            let record = Record { seq: 1, line: 1, whole: b"w".to_vec(), json: Some(value), ..Record::default() };
            let _ = t.render_argv(&record, 1);
            let _ = t.render_shell(&record, 1);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn quote_round_trips_through_sh(
            input in prop::collection::vec(1u8..=255, 0..40),
        ) {
            let script = [b"printf %s ", quote(&input).as_ref()].concat();
            prop_assert_eq!(sh(&script), input);
        }

        #[test]
        fn shell_rendering_round_trips_through_sh(
            input in prop::collection::vec(1u8..=255, 0..40),
        ) {
            let t = Template::parse(&words(&["printf", "%s", "x{}y"]), false);
            let script = t.render_shell(&line(1, &input), 1).expect("renders");
            let want = [b"x", input.as_slice(), b"y"].concat();
            prop_assert_eq!(sh(script.as_bytes()), want);
        }
    }
}
