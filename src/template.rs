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
//! | `{-N}` | field N from the end, from 1; also with the rules above |
//! | `--plus` | GNU parallel's `{+.}`, `{..}`, `{:-str}`, `{/re/str}`, …, also with `N` or `-N` |
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
//!   `{ }`, `{0}`, `{-0}`, an unterminated `{abc`, `{name}` without
//!   `--json`, and `--plus` strings without `--plus`, where they may be
//!   the shell's (`cp f{,.bak}`).
//! - `--plus` patterns are Perl's as GNU parallel writes them, read by the
//!   regex crate: on bytes, with its syntax (no backreferences or
//!   lookaround), and `$` only at the very end. A `{` is a placeholder's start only if the next brace after it
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
    /// The context the shell text ends in, for the values appended to it.
    tail: Context,
    /// `--shell`: the words are one line of shell text.
    shell: bool,
    batch_style: BatchStyle,
    /// [`Template::size_of`] with no record, asked once per record of a
    /// batch: kept once known.
    empty_size: std::sync::OnceLock<usize>,
}

/// How placeholders are spelled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Syntax {
    /// `--json`: `{name}` and `{a.b.0}` are field placeholders.
    pub json: bool,
    /// `-I STR` / `--replace`: STR stands for the whole record instead of
    /// `{}`, which is then plain text; the other placeholders keep their
    /// spelling (GNU parallel's `-I`).
    pub replace: Option<Vec<u8>>,
    /// `--plus`: GNU parallel's further replacement strings (`{+.}`,
    /// `{..}`, `{:-str}`, `{/re/str}`, …).
    pub plus: bool,
    /// The number of slots, which `{0%}` pads the slot to.
    pub jobs: usize,
    /// `--er STR` and the like: STR stands for the placeholder whose text
    /// between the braces is given (`.`), which is then plain text, also
    /// with a field number, as in GNU parallel.
    pub renames: Vec<(Vec<u8>, &'static [u8])>,
    /// The number of tasks, when it is known before the first starts
    /// (`:::` inputs): `{##}` and `{0#}` need it.
    pub total: Option<u64>,
    /// `-N0`: a command without placeholders gets no record appended
    /// (GNU parallel reads one record per task and inserts none).
    pub no_args: bool,
}

impl Syntax {
    fn is_renamed(&self) -> bool {
        self.replace.is_some() || !self.renames.is_empty()
    }

    /// The names that stand for a placeholder, with its text between braces.
    fn names(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let whole: &[u8] = b"";
        let replace = self.replace.as_deref().map(|name| (name, whole));
        replace
            .into_iter()
            .chain(self.renames.iter().map(|(name, inner)| (name.as_slice(), *inner)))
    }

    /// Whether `{inner}` was renamed, so is plain text: `{}` under `-I`,
    /// `{.}` and `{1.}` under `--er`.
    fn renamed_away(&self, inner: &[u8]) -> bool {
        if inner.is_empty() {
            return self.replace.is_some();
        }
        let digits = inner.iter().take_while(|b| b.is_ascii_digit()).count();
        self.renames.iter().any(|(_, original)| {
            *original == inner || (digits > 0 && !matches!(*original, b"#" | b"%") && *original == &inner[digits..])
        })
    }
}

/// How a batch's records fill a word that holds a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchStyle {
    /// `-X`, and `-n` alone: the word is repeated once per record (GNU
    /// parallel's context replace).
    #[default]
    Repeat,
    /// `-m`: the records' values, separated as arguments, take the
    /// placeholder's place (GNU parallel's `-m`).
    Join,
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
    /// Shell text: the context at its end.
    tail: Context,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(Box<[u8]>),
    Placeholder(Placeholder, Context),
}

/// Where a placeholder stands, which decides how its value is quoted.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Context {
    /// An argv word that no shell reads: the value as it is.
    Argv,
    /// Shell code outside any quotes (also inside `$(…)`).
    Bare,
    /// Inside the user's `'…'`.
    Single,
    /// Inside the user's `"…"`.
    Double,
    /// Inside a `#` comment: never run, but a newline would end it.
    Comment,
    /// Inside `$((…))` or `((…))`, which evaluate any text as code whatever
    /// its quotes: only an integer is let in.
    Arithmetic,
}

#[derive(Debug, Clone)]
enum Placeholder {
    Seq,
    Slot,
    /// The whole record, or a field when `Some(index from 0)`.
    Value(Option<usize>, PathRule),
    Json(JsonPath),
    /// `{-N}` and `--plus`'s editing strings: a value, then an edit.
    Edited(FieldRef, Box<Edit>),
    /// `{0%}`: the slot, zero-padded to the width of the number of slots.
    PaddedSlot(usize),
    /// `{0#}`: the task number, zero-padded to the width of the total.
    PaddedSeq(usize),
    /// `{##}`: the number of tasks.
    Total(u64),
    /// `{choose_k}` and `{uniq}`: the whole record (`{2choose_k}`: field 2,
    /// here from 0), and the task is skipped unless its fields rise strictly
    /// (`choose_k`) or differ (`uniq`).
    Filter(Filter, Option<usize>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Filter {
    ChooseK,
    Uniq,
}

impl Filter {
    /// GNU parallel's tests, on the fields (or the whole record): Perl's
    /// string `ge` between neighbours, and `uniq` over all of them.
    fn skips(self, record: &Record) -> bool {
        let args: Vec<&[u8]> = record.implicit_args().collect();
        match self {
            Filter::ChooseK => args.windows(2).any(|pair| pair[0] >= pair[1]),
            Filter::Uniq => args.iter().enumerate().any(|(i, a)| args[..i].contains(a)),
        }
    }
}

/// Which value an edited placeholder starts from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FieldRef {
    Whole,
    /// Field N, from 0.
    Index(usize),
    /// `{-N}`: the N-th field from the end, from 1.
    FromEnd(usize),
}

/// What `--plus` does to a value, as GNU parallel's Perl expressions do.
#[derive(Debug, Clone)]
enum Edit {
    Rule(PathRule),
    /// `{:-str}`: Perl's `$_ ||= str`, so `0` is replaced as well as an
    /// empty value.
    Default(Vec<u8>),
    /// `{:N}`: without the first N bytes.
    Skip(usize),
    /// `{:N:M}`: M bytes from byte N.
    Substring(usize, usize),
    /// `{#re}` `{##re}` `{%re}` `{%%re}` and the `{/re/str}` family: a
    /// Perl substitution; `expand` when the replacement is `$1`.
    Substitute {
        regex: regex::bytes::Regex,
        with: Vec<u8>,
        expand: bool,
        all: bool,
    },
    /// `{^re}` `{^^re}` `{,re}` `{,,re}`: the match in upper or lower case.
    Case {
        regex: regex::bytes::Regex,
        upper: bool,
        all: bool,
    },
}

/// GNU parallel's string rules on a value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PathRule {
    Whole,
    NoExt,
    Basename,
    Dirname,
    BasenameNoExt,
    /// `--plus`: `{+/}` `{+.}` `{+..}` `{+...}` `{..}` `{...}` `{/..}` `{/...}`.
    DirnamePlus,
    Ext(usize),
    NoExts(usize),
    BasenameNoExts(usize),
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
    /// Direct exec: each word is one argv entry. The script of a shell run
    /// with `-c` (`sh -c 'echo {}'`, also after `env`) is shell text, so its
    /// values are quoted for the context they stand in. `json`: whether
    /// `--json` is on (only then are `{name}` / `{a.b.0}` field placeholders).
    /// The error names a placeholder that stands where no quoting is safe.
    pub fn parse(words: &[OsString], json: bool) -> Result<Template, String> {
        Template::parse_as(
            words,
            &Syntax {
                json,
                ..Syntax::default()
            },
        )
    }

    /// [`Template::parse`] with placeholders spelled as `syntax` says.
    pub fn parse_as(words: &[OsString], syntax: &Syntax) -> Result<Template, String> {
        let script = script_word(words)?;
        let parsed = words
            .iter()
            .enumerate()
            .map(|(i, w)| parse_word(w, syntax, Some(i) == script))
            .collect::<Result<Vec<Word>, String>>()?;
        if script.is_none() {
            if let Some((shell, _)) = later_script(words, 0).filter(|&(_, at)| parsed[at].has_placeholder) {
                let shell = String::from_utf8_lossy(program_name(&words[shell])).into_owned();
                return Err(format!(
                    "`{shell} -c` after {program:?} is given a script that holds a placeholder: ppool \
                     quotes a value for a shell script only where the shell is the command (or follows \
                     env), so if {program:?} runs that shell, a record could run as code there. Pass \
                     the value as an argument of the script instead: {shell} -c '… \"$1\" …' {shell} {{}}",
                    program = words[0].to_string_lossy(),
                ));
            }
        }
        Ok(Template::new(parsed, Context::Bare, false).without_args(syntax.no_args))
    }

    /// `-N0`: as if a placeholder took the record, so none is appended.
    fn without_args(mut self, no_args: bool) -> Template {
        self.has_placeholder |= no_args;
        self.empty_size = std::sync::OnceLock::new();
        self
    }

    /// Words that no program runs (a tag): every value goes in as it is,
    /// even after `sh -c`.
    pub fn parse_text(words: &[OsString], syntax: &Syntax) -> Result<Template, String> {
        let words = words
            .iter()
            .map(|w| parse_word(w, syntax, false))
            .collect::<Result<Vec<Word>, String>>()?;
        Ok(Template::new(words, Context::Bare, false))
    }

    /// `--shell`: the words joined with spaces are one shell line; each
    /// value is quoted for the context it stands in.
    #[cfg(test)]
    pub fn parse_shell(words: &[OsString], json: bool) -> Result<Template, String> {
        Template::parse_shell_as(
            words,
            &Syntax {
                json,
                ..Syntax::default()
            },
        )
    }

    /// [`Template::parse_shell`] with placeholders spelled as `syntax` says.
    pub fn parse_shell_as(words: &[OsString], syntax: &Syntax) -> Result<Template, String> {
        if words.is_empty() {
            return Ok(Template::new(Vec::new(), Context::Bare, true));
        }
        let line = OsString::from_vec(words.iter().map(|w| w.as_bytes()).collect::<Vec<_>>().join(&b' '));
        let word = parse_word(&line, syntax, true)?;
        let tail = word.tail;
        Ok(Template::new(vec![word], tail, true).without_args(syntax.no_args))
    }

    fn new(words: Vec<Word>, tail: Context, shell: bool) -> Template {
        let has_placeholder = words.iter().any(|w| w.has_placeholder);
        Template {
            words,
            has_placeholder,
            tail,
            shell,
            batch_style: BatchStyle::default(),
            empty_size: std::sync::OnceLock::new(),
        }
    }

    /// How a batch's records fill the words with a placeholder.
    pub fn with_batch_style(mut self, style: BatchStyle) -> Template {
        self.batch_style = style;
        self.empty_size = std::sync::OnceLock::new();
        self
    }

    /// The bytes a command line of `records` (a batch) takes, counted as
    /// xargs counts them: each argument with its terminating NUL. `None`
    /// when the records cannot be rendered (their task fails on its own).
    fn size_of(&self, records: &[Record]) -> Option<usize> {
        let batch = Record::default();
        if self.shell {
            let line = self.shell_members(&batch, records, 1).ok()?;
            // `/bin/sh -c LINE`.
            Some(line.len() + 1 + 11)
        } else {
            let argv = self.argv_members(&batch, records, 1).ok()?;
            Some(argv.iter().map(|w| w.len() + 1).sum())
        }
    }

    /// The size of a batch's command with no record in it, with room for
    /// the longest batch and slot numbers.
    pub fn batch_base(&self) -> usize {
        let numbers = self
            .segments()
            .filter(|s| matches!(s, Segment::Placeholder(Placeholder::Seq | Placeholder::Slot, _)))
            .count();
        self.size_of(&[]).unwrap_or(0) + numbers * 19
    }

    /// What `record` adds to a batch's command line (see
    /// [`Template::size_of`]), with the separator before it where the
    /// record's values share a word or a shell line with others.
    pub fn batch_size(&self, record: &Record) -> usize {
        if !self.has_placeholder && !self.shell {
            // Each of its arguments is appended as a word of its own: the
            // command's words need not be built to count them.
            return record.implicit_args().map(|arg| arg.len() + 1).sum();
        }
        let with = self.size_of(std::slice::from_ref(record)).unwrap_or(0);
        let without = *self.empty_size.get_or_init(|| self.size_of(&[]).unwrap_or(0));
        let separators = if self.shell || self.batch_style == BatchStyle::Join {
            self.segments()
                .filter(|s| matches!(s, Segment::Placeholder(..)))
                .count()
        } else {
            0
        };
        with.saturating_sub(without) + separators
    }

    fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.words.iter().flat_map(|w| &w.segments)
    }

    /// True when any word holds a placeholder (otherwise the record is appended, as xargs does).
    pub fn has_placeholder(&self) -> bool {
        self.has_placeholder
    }

    /// Whether `{choose_k}` or `{uniq}` skips this record's task, as GNU
    /// parallel's `skip()` does.
    pub fn skips(&self, record: &Record) -> bool {
        record.batch.is_empty()
            && self
                .segments()
                .any(|s| matches!(s, Segment::Placeholder(Placeholder::Filter(f, _), _) if f.skips(record)))
    }

    /// True when the first word (the program) holds no placeholder.
    pub fn program_is_fixed(&self) -> bool {
        self.words.first().is_some_and(|w| !w.has_placeholder)
    }

    /// Direct exec: the argv after substitution (program first). With no placeholder, `record.implicit_args()` are appended as extra words.
    pub fn render_argv(&self, record: &Record, slot: usize) -> Result<Vec<OsString>, RenderError> {
        if !record.batch.is_empty() {
            return self.argv_members(record, &record.batch, slot);
        }
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
            render_word(word, record, slot, &mut out)?;
            argv.push(OsString::from_vec(out));
        }
        Ok(argv)
    }

    /// As [`Template::render_argv`], the words written as C strings back to
    /// back, each ending in its NUL: a batch of thousands of records with
    /// no placeholder takes one allocation, not one a record.
    pub fn render_c_argv(&self, record: &Record, slot: usize) -> Result<Vec<u8>, RenderError> {
        if record.batch.is_empty() || self.has_placeholder {
            let argv = self.render_argv(record, slot)?;
            let mut out = Vec::with_capacity(argv.iter().map(|w| w.len() + 1).sum());
            for word in &argv {
                check_nul(word.as_bytes(), record)?;
                out.extend_from_slice(word.as_bytes());
                out.push(0);
            }
            return Ok(out);
        }
        let members = &record.batch;
        for member in members {
            check_record(member)?;
        }
        let words: usize = self.words.iter().map(|w| w.raw.len() + 1).sum();
        let args: usize = members
            .iter()
            .flat_map(Record::implicit_args)
            .map(|arg| arg.len() + 1)
            .sum();
        let mut out = Vec::with_capacity(words + args);
        for word in &self.words {
            out.extend_from_slice(word.raw.as_bytes());
            out.push(0);
        }
        for member in members {
            for arg in member.implicit_args() {
                check_nul(arg, member)?;
                out.extend_from_slice(arg);
                out.push(0);
            }
        }
        // A record's NUL is named first, as render_argv names it.
        for word in &self.words {
            check_nul(word.raw.as_bytes(), record)?;
        }
        Ok(out)
    }

    /// `--shell`: the shell line with each substituted value quoted for its context (implicit args appended quoted, separated by spaces). Literal template text is NOT quoted (the user wrote shell syntax).
    pub fn render_shell(&self, record: &Record, slot: usize) -> Result<OsString, RenderError> {
        if !record.batch.is_empty() {
            return self.shell_members(record, &record.batch, slot);
        }
        check_record(record)?;
        let literal: usize = self.words.iter().map(|w| w.literal_len + 1).sum();
        let mut out = Vec::with_capacity(literal + record.whole.len() + 8);
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            render_word(word, record, slot, &mut out)?;
        }
        if !self.has_placeholder {
            let mut separate = !self.words.is_empty();
            for arg in record.implicit_args() {
                check_nul(arg, record)?;
                if separate {
                    out.push(b' ');
                }
                quote_into(self.tail, arg, &mut out);
                separate = true;
            }
        }
        Ok(OsString::from_vec(out))
    }

    /// Direct exec of a batch (`batch` gives `{#}`): with no placeholder,
    /// each record's arguments are appended; a word with a per-record
    /// placeholder is repeated for each record (`Repeat`), or its values
    /// become arguments of their own in its place (`Join`).
    fn argv_members(&self, batch: &Record, members: &[Record], slot: usize) -> Result<Vec<OsString>, RenderError> {
        for member in members {
            check_record(member)?;
        }
        let mut argv = Vec::with_capacity(self.words.len() + members.len());
        if !self.has_placeholder {
            argv.extend(self.words.iter().map(|w| w.raw.clone()));
            for member in members {
                for arg in member.implicit_args() {
                    check_nul(arg, member)?;
                    argv.push(OsString::from_vec(arg.to_vec()));
                }
            }
            return Ok(argv);
        }
        for word in &self.words {
            if !word.has_placeholder {
                argv.push(word.raw.clone());
                continue;
            }
            if word.is_record_past(members.len()) {
                // As the shell drops an empty word GNU parallel gives it.
                continue;
            }
            let mut out = Vec::new();
            if word.is_shell_text() {
                // The script of `sh -c`: one word, as with --shell, each
                // placeholder standing for every record's value.
                out.push(Vec::new());
                batch_word(word, batch, members, None, slot, true, &mut out)?;
            } else if self.batch_style == BatchStyle::Repeat && word.per_record() {
                for member in members {
                    out.push(Vec::new());
                    batch_word(word, batch, members, Some(member), slot, false, &mut out)?;
                }
            } else {
                out.push(Vec::new());
                batch_word(word, batch, members, None, slot, false, &mut out)?;
            }
            argv.extend(out.into_iter().map(OsString::from_vec));
        }
        Ok(argv)
    }

    /// `--shell` with a batch: each placeholder stands for every record's
    /// value, each quoted for its context, separated by spaces; with no
    /// placeholder, every record's arguments are appended.
    fn shell_members(&self, batch: &Record, members: &[Record], slot: usize) -> Result<OsString, RenderError> {
        for member in members {
            check_record(member)?;
        }
        let mut out = vec![Vec::new()];
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                out[0].push(b' ');
            }
            batch_word(word, batch, members, None, slot, true, &mut out)?;
        }
        // Shell text stays one word: values are separated by spaces in it.
        let mut line = out.pop().unwrap_or_default();
        if !self.has_placeholder {
            let mut separate = !self.words.is_empty();
            for member in members {
                for arg in member.implicit_args() {
                    check_nul(arg, member)?;
                    if separate {
                        line.push(b' ');
                    }
                    quote_into(self.tail, arg, &mut line);
                    separate = true;
                }
            }
        }
        Ok(OsString::from_vec(line))
    }
}

impl Word {
    /// Whether the word is shell text (the script of `sh -c`): its
    /// placeholders have shell contexts.
    fn is_shell_text(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Placeholder(_, context) if *context != Context::Argv))
    }

    /// Whether the word is only `{N}` (or `{N.}`, …) with N past a batch of `count` records.
    fn is_record_past(&self, count: usize) -> bool {
        matches!(&self.segments[..], [Segment::Placeholder(Placeholder::Value(Some(index), _), _)] if *index >= count)
    }

    /// Whether the word holds a placeholder whose value differs from record
    /// to record of a batch (`{}`, `{.}`, a JSON field; not `{#}` or `{N}`).
    fn per_record(&self) -> bool {
        self.segments.iter().any(|s| {
            matches!(
                s,
                Segment::Placeholder(
                    Placeholder::Value(None, _) | Placeholder::Json(_) | Placeholder::Edited(FieldRef::Whole, _),
                    _
                )
            )
        })
    }
}

/// Appends one word of a batch's command to the last of `out`. `member`: the
/// record this copy of the word is for; `None`: every record's value in
/// turn, each starting a new argument (or, in shell text, after a space).
fn batch_word(
    word: &Word,
    batch: &Record,
    members: &[Record],
    member: Option<&Record>,
    slot: usize,
    shell: bool,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), RenderError> {
    fn last(out: &mut [Vec<u8>]) -> &mut Vec<u8> {
        let n = out.len() - 1;
        &mut out[n]
    }
    for segment in &word.segments {
        match segment {
            Segment::Literal(bytes) => last(out).extend_from_slice(bytes),
            Segment::Placeholder(Placeholder::Seq, _) => write_number(last(out), batch.seq),
            Segment::Placeholder(Placeholder::Slot, _) => write_number(last(out), slot as u64),
            Segment::Placeholder(placeholder, context) => {
                let values: Vec<(Cow<'_, [u8]>, &Record)> = match (placeholder, member) {
                    // `{N}` is the batch's record N, nothing past its end (GNU parallel).
                    (Placeholder::Value(Some(index), rule), _) => match members.get(*index) {
                        Some(m) => vec![(apply_rule(*rule, &m.whole), m)],
                        None => Vec::new(),
                    },
                    (_, Some(m)) => vec![(value(placeholder, m, slot)?, m)],
                    (_, None) => members
                        .iter()
                        .map(|m| value(placeholder, m, slot).map(|v| (v, m)))
                        .collect::<Result<_, _>>()?,
                };
                for (k, (value, owner)) in values.iter().enumerate() {
                    check_nul(value, owner)?;
                    check_shell_value(*context, value, owner, owner.line)?;
                    if k > 0 {
                        if shell {
                            last(out).push(b' ');
                        } else {
                            out.push(Vec::new());
                        }
                    }
                    quote_into(*context, value, last(out));
                }
            }
        }
    }
    Ok(())
}

/// Quote bytes for a POSIX shell so that `sh -c "printf %s <quoted>"` prints
/// exactly the input bytes: a word of only harmless characters as it is,
/// anything else in single quotes, each `'` written `'\''`. NUL bytes cannot
/// reach a shell (no argv can carry them), so they are dropped. The empty
/// string quotes to `''`.
pub fn quote(bytes: &[u8]) -> Cow<'_, [u8]> {
    if is_plain(bytes) {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + 2);
    quote_bare(bytes, &mut out);
    Cow::Owned(out)
}

/// A word the shell reads as itself, outside quotes. `=` is left out (a
/// first word `a=b` would be an assignment), and so are `~`, globs and
/// every byte outside ASCII.
fn is_plain(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes.iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b',' | b':' | b'+' | b'@' | b'%')
        })
}

/// Append `bytes` as one shell word, outside quotes: plain, or in `'…'`.
fn quote_bare(bytes: &[u8], out: &mut Vec<u8>) {
    if is_plain(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'\'');
    quote_single(bytes, out);
    out.push(b'\'');
}

/// Inside `'…'`: each `'` closes the quotes, adds an escaped `'` and reopens them.
fn quote_single(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        match b {
            b'\'' => out.extend_from_slice(b"'\\''"),
            0 => {}
            _ => out.push(b),
        }
    }
}

/// Inside `"…"`: a backslash before the four characters that stay special
/// there. `!` is left alone: history expansion never happens in `sh -c`, and
/// in double quotes a backslash before it would stay in the value.
fn quote_double(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        if matches!(b, b'"' | b'\\' | b'$' | b'`') {
            out.push(b'\\');
        }
        if b != 0 {
            out.push(b);
        }
    }
}

/// Append a value quoted for `context`.
fn quote_into(context: Context, value: &[u8], out: &mut Vec<u8>) {
    match context {
        // Arithmetic: only integers get here (see `render_word`).
        Context::Argv | Context::Arithmetic => out.extend_from_slice(value),
        Context::Bare => quote_bare(value, out),
        Context::Single => quote_single(value, out),
        Context::Double => quote_double(value, out),
        // A comment's text never runs, but a newline would end it; the
        // value stays quoted so that a misjudged comment is still safe.
        Context::Comment => {
            let kept: Vec<u8> = value.iter().copied().filter(|&b| b != b'\n').collect();
            quote_bare(&kept, out);
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

/// Split a word into literal text and placeholders; for shell text, each
/// placeholder also gets the context it stands in.
fn parse_word(word: &OsString, syntax: &Syntax, shell: bool) -> Result<Word, String> {
    let bytes = word.as_bytes();
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let renamed = syntax
            .names()
            .find(|(name, _)| !name.is_empty() && bytes[i..].starts_with(name));
        if let Some((name, inner)) = renamed {
            let Ok(Some(placeholder)) = parse_placeholder(inner, &Syntax::default()) else {
                unreachable!("only placeholders are renamed");
            };
            pieces.extend(bytes[literal_start..i].iter().map(|&b| Piece::Byte(b)));
            pieces.push(Piece::Hole(placeholder, &bytes[i..i + name.len()]));
            i += name.len();
            literal_start = i;
            continue;
        }
        if bytes[i] == b'{' {
            let rest = &bytes[i + 1..];
            if let Some(k) = rest.iter().position(|&b| b == b'{' || b == b'}') {
                // Renamed, `{}` is plain text; the other placeholders stay.
                let renamed_away = syntax.renamed_away(&rest[..k]);
                if rest[k] == b'}' && !renamed_away {
                    if let Some(placeholder) = parse_placeholder(&rest[..k], syntax)? {
                        pieces.extend(bytes[literal_start..i].iter().map(|&b| Piece::Byte(b)));
                        pieces.push(Piece::Hole(placeholder, &bytes[i..i + k + 2]));
                        i += k + 2;
                        literal_start = i;
                        continue;
                    }
                }
                // Not a placeholder: everything up to the next brace is
                // literal, unless a renamed `{}` may stand in it.
                i += if syntax.is_renamed() { 1 } else { k + 1 };
                continue;
            }
            if !syntax.is_renamed() {
                // No brace after this one: the rest is literal.
                break;
            }
        }
        i += 1;
    }
    pieces.extend(bytes[literal_start..].iter().map(|&b| Piece::Byte(b)));
    let (segments, tail) = if shell {
        shell_segments(pieces, bytes)?
    } else {
        (argv_segments(pieces), Context::Bare)
    };
    let has_placeholder = segments.iter().any(|s| matches!(s, Segment::Placeholder(..)));
    let literal_len = segments
        .iter()
        .map(|s| match s {
            Segment::Literal(b) => b.len(),
            Segment::Placeholder(..) => 0,
        })
        .sum();
    Ok(Word {
        raw: word.clone(),
        segments,
        has_placeholder,
        literal_len,
        tail,
    })
}

/// A word's bytes and placeholders, before literal bytes are gathered.
enum Piece<'w> {
    Byte(u8),
    /// A placeholder and its text as written.
    Hole(Placeholder, &'w [u8]),
}

/// Gathers literal bytes into segments.
#[derive(Default)]
struct Segments {
    done: Vec<Segment>,
    literal: Vec<u8>,
}

impl Segments {
    fn placeholder(&mut self, placeholder: Placeholder, context: Context) {
        if !self.literal.is_empty() {
            self.done
                .push(Segment::Literal(std::mem::take(&mut self.literal).into()));
        }
        self.done.push(Segment::Placeholder(placeholder, context));
    }

    fn finish(mut self) -> Vec<Segment> {
        if !self.literal.is_empty() {
            self.done.push(Segment::Literal(self.literal.into()));
        }
        self.done
    }
}

fn argv_segments(pieces: Vec<Piece<'_>>) -> Vec<Segment> {
    let mut segments = Segments::default();
    for piece in pieces {
        match piece {
            Piece::Byte(b) => segments.literal.push(b),
            Piece::Hole(placeholder, _) => segments.placeholder(placeholder, Context::Argv),
        }
    }
    segments.finish()
}

/// The placeholder named by the text between `{` and `}`, if it is one;
/// the error names a `--plus` string that ppool cannot fill.
fn parse_placeholder(inner: &[u8], syntax: &Syntax) -> Result<Option<Placeholder>, String> {
    match inner {
        b"#" => return Ok(Some(Placeholder::Seq)),
        b"%" => return Ok(Some(Placeholder::Slot)),
        b"0%" if syntax.plus => {
            let width = syntax.jobs.max(1).to_string().len();
            return Ok(Some(Placeholder::PaddedSlot(width)));
        }
        b"choose_k" if syntax.plus => return Ok(Some(Placeholder::Filter(Filter::ChooseK, None))),
        b"uniq" if syntax.plus => return Ok(Some(Placeholder::Filter(Filter::Uniq, None))),
        b"##" | b"0#" if syntax.plus => {
            let Some(total) = syntax.total else {
                return Err(format!(
                    "{{{}}} needs the number of tasks before the first starts, which ppool knows only for \
                     inputs given with ::: (stdin and files are read as tasks run; batches are counted as they form)",
                    String::from_utf8_lossy(inner)
                ));
            };
            return Ok(Some(match inner {
                b"##" => Placeholder::Total(total),
                _ => Placeholder::PaddedSeq(total.max(1).to_string().len()),
            }));
        }
        _ => {}
    }
    if let Some(rule) = parse_rule(inner, false) {
        return Ok(Some(Placeholder::Value(None, rule)));
    }
    let digits = inner.iter().take_while(|b| b.is_ascii_digit()).count();
    // `{2choose_k}`, `{1uniq}`: the filter, showing one field.
    let filter = match &inner[digits..] {
        b"choose_k" => Some(Filter::ChooseK),
        b"uniq" => Some(Filter::Uniq),
        _ => None,
    };
    if let (true, Some(filter), Some(n)) = (syntax.plus, filter, parse_count(&inner[..digits])) {
        return Ok(Some(Placeholder::Filter(filter, Some(n - 1))));
    }
    if digits > 0 {
        if let Some(rule) = parse_rule(&inner[digits..], false) {
            let Some(n) = std::str::from_utf8(&inner[..digits])
                .ok()
                .and_then(|d| d.parse::<usize>().ok())
            else {
                return Ok(None);
            };
            return Ok(match n {
                0 => None,
                n => Some(Placeholder::Value(Some(n - 1), rule)),
            });
        }
    }
    let from_end = match inner.strip_prefix(b"-") {
        Some(rest) => rest.iter().take_while(|b| b.is_ascii_digit()).count(),
        None => 0,
    };
    let (field, op) = if from_end > 0 {
        match std::str::from_utf8(&inner[1..=from_end])
            .ok()
            .and_then(|d| d.parse::<usize>().ok())
        {
            Some(n) if n > 0 => (FieldRef::FromEnd(n), &inner[1 + from_end..]),
            _ => return Ok(None),
        }
    } else if digits > 0 {
        match std::str::from_utf8(&inner[..digits])
            .ok()
            .and_then(|d| d.parse::<usize>().ok())
        {
            Some(n) if n > 0 => (FieldRef::Index(n - 1), &inner[digits..]),
            _ => return Ok(None),
        }
    } else {
        (FieldRef::Whole, inner)
    };
    if let Some(rule) = parse_rule(op, syntax.plus) {
        return Ok(Some(Placeholder::Edited(field, Box::new(Edit::Rule(rule)))));
    }
    if syntax.plus {
        if let Some(edit) = parse_edit(op).map_err(|e| format!("{{{}}}: {e}", String::from_utf8_lossy(inner)))? {
            return Ok(Some(Placeholder::Edited(field, Box::new(edit))));
        }
    }
    if field == FieldRef::Whole && syntax.json {
        return Ok(parse_json_path(inner).map(Placeholder::Json));
    }
    Ok(None)
}

fn parse_rule(suffix: &[u8], plus: bool) -> Option<PathRule> {
    Some(match suffix {
        b"" => PathRule::Whole,
        b"." => PathRule::NoExt,
        b"/" => PathRule::Basename,
        b"//" => PathRule::Dirname,
        b"/." => PathRule::BasenameNoExt,
        b"+/" if plus => PathRule::DirnamePlus,
        b"+." if plus => PathRule::Ext(1),
        b"+.." if plus => PathRule::Ext(2),
        b"+..." if plus => PathRule::Ext(3),
        b".." if plus => PathRule::NoExts(2),
        b"..." if plus => PathRule::NoExts(3),
        b"/.." if plus => PathRule::BasenameNoExts(2),
        b"/..." if plus => PathRule::BasenameNoExts(3),
        _ => return None,
    })
}

/// GNU parallel's bash-like `--plus` strings, with the patterns it gives
/// Perl; `None` when `op` is none of them.
fn parse_edit(op: &[u8]) -> Result<Option<Edit>, String> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let number = |b: &[u8]| -> Option<usize> {
        (!b.is_empty() && b.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(b).ok()?.parse().ok())
            .flatten()
    };
    let substitute = |pattern: String, with: &[u8], expand: bool, all: bool| -> Result<Option<Edit>, String> {
        Ok(Some(Edit::Substitute {
            regex: compile(&pattern)?,
            with: with.to_vec(),
            expand,
            all,
        }))
    };
    let case = |re: &[u8], upper: bool, all: bool| -> Result<Option<Edit>, String> {
        Ok(Some(Edit::Case {
            regex: compile(&format!("{}({})", if all { "" } else { "^" }, text(re)))?,
            upper,
            all,
        }))
    };
    // `re/str` of `{/re/str}`: the regex up to the first `/`.
    let split = |b: &'_ [u8]| -> Option<(Vec<u8>, Vec<u8>)> {
        let at = b.iter().position(|&c| c == b'/')?;
        (at > 0).then(|| (b[..at].to_vec(), b[at + 1..].to_vec()))
    };
    if let Some(default) = op.strip_prefix(b":-").filter(|d| !d.is_empty()) {
        return Ok(Some(Edit::Default(default.to_vec())));
    }
    if let Some(rest) = op.strip_prefix(b":") {
        if let Some(n) = number(rest) {
            return Ok(Some(Edit::Skip(n)));
        }
        if let Some(colon) = rest.iter().position(|&b| b == b':') {
            if let (Some(from), Some(len)) = (number(&rest[..colon]), number(&rest[colon + 1..])) {
                return Ok(Some(Edit::Substring(from, len)));
            }
        }
        return Ok(None);
    }
    if let Some(re) = op.strip_prefix(b"##").filter(|r| !r.is_empty() && r[0] != b'#') {
        return substitute(format!("^{}", text(re)), b"", false, false);
    }
    if let Some(re) = op.strip_prefix(b"#").filter(|r| !r.is_empty() && r[0] != b'#') {
        return substitute(format!("^{}(.*)", ungreedy(&text(re))), b"$1", true, false);
    }
    if let Some(re) = op.strip_prefix(b"%%").filter(|r| !r.is_empty()) {
        return substitute(format!("{}$", text(re)), b"", false, false);
    }
    if let Some(re) = op.strip_prefix(b"%").filter(|r| !r.is_empty()) {
        return substitute(format!("(.*){}$", ungreedy(&text(re))), b"$1", true, false);
    }
    if let Some((re, with)) = op.strip_prefix(b"/#").and_then(split) {
        return substitute(format!("^{}", text(&re)), &with, false, true);
    }
    if let Some((re, with)) = op.strip_prefix(b"/%").and_then(split) {
        return substitute(format!("{}$", text(&re)), &with, false, true);
    }
    if let Some((re, with)) = op.strip_prefix(b"//").and_then(split) {
        return substitute(text(&re), &with, false, true);
    }
    if let Some((re, with)) = op.strip_prefix(b"/").and_then(split) {
        if !re.iter().any(|b| matches!(b, b'#' | b'%')) {
            return substitute(text(&re), &with, false, false);
        }
        return Ok(None);
    }
    for (prefix, upper, all) in [
        (&b"^^"[..], true, true),
        (b"^", true, false),
        (b",,", false, true),
        (b",", false, false),
    ] {
        if let Some(re) = op.strip_prefix(prefix).filter(|r| !r.is_empty()) {
            return case(re, upper, all);
        }
    }
    Ok(None)
}

/// A Perl pattern as the regex crate reads it, on bytes as Perl sees them.
fn compile(pattern: &str) -> Result<regex::bytes::Regex, String> {
    regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .map_err(|e| format!("the pattern {pattern:?} is not a regular expression ppool reads: {e}"))
}

/// GNU parallel's `make_regexp_ungreedy`: a `?` after each quantifier that
/// has none, outside character classes.
fn ungreedy(regexp: &str) -> String {
    let (mut class, mut escape, mut found) = (false, false, false);
    let mut out = String::with_capacity(regexp.len() + 4);
    for c in regexp.chars() {
        if found {
            if c != '?' {
                out.push('?');
            }
            found = false;
        }
        out.push(c);
        if escape {
            escape = false;
            continue;
        }
        if c == '\\' {
            escape = true;
            continue;
        }
        if c == '[' {
            class = true;
            continue;
        }
        if class {
            class = c != ']';
            continue;
        }
        found = matches!(c, '*' | '}' | '+');
    }
    if found {
        out.push('?');
    }
    out
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
// Shell contexts
//
// Shell text is read once, as the shell will read it, to learn where each
// placeholder stands: outside quotes, in `'…'`, in `"…"`, in a comment, or
// somewhere no quoting keeps a value literal (backquotes, `$'…'`, `${…}`,
// arithmetic, a here-document), which is an error. `$(…)` starts a new
// context, as in the shell: its text is read like the whole line's.

/// Programs whose `-c` argument is shell text.
const SHELLS: [&[u8]; 9] = [
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"mksh", b"ash", b"posh", b"yash",
];

/// A command word's program name, without its directory.
fn program_name(word: &OsString) -> &[u8] {
    word.as_bytes().rsplit(|&b| b == b'/').next().unwrap_or_default()
}

/// The index of the script word in `SHELL [options] -c SCRIPT …`, the shell
/// being the program or run through `env [options] [NAME=value…]`. An
/// error where `env -S` hides the program.
fn script_word(words: &[OsString]) -> Result<Option<usize>, String> {
    let Some(first) = words.first() else {
        return Ok(None);
    };
    let program = if program_name(first) == b"env" {
        after_env(words)?
    } else {
        0
    };
    Ok(shell_script(words, program))
}

/// The index of the program that `env` (`words[0]`) runs: after its options
/// (GNU's and the BSDs'; short ones grouped or not, long ones shortened),
/// `-`, and `NAME=value` words.
fn after_env(words: &[OsString]) -> Result<usize, String> {
    const SPLIT: &str = "`env -S` (--split-string) puts the command in one word, where ppool cannot see \
         which text a shell reads: write the command as separate words";
    let mut i = 1;
    while let Some(w) = words.get(i).map(|w| w.as_bytes()) {
        if w == b"--" {
            i += 1;
            break;
        }
        if w == b"-" || !w.starts_with(b"-") {
            break;
        }
        if let Some(long) = w.strip_prefix(b"--") {
            let name = long.split(|&b| b == b'=').next().unwrap_or_default();
            let is = |full: &[u8]| !name.is_empty() && full.starts_with(name);
            if is(b"split-string") {
                return Err(SPLIT.to_owned());
            }
            let separate = !long.contains(&b'=') && (is(b"unset") || is(b"chdir") || is(b"argv0"));
            i += if separate { 2 } else { 1 };
            continue;
        }
        // Grouped short options: one that takes a value takes the rest of
        // the word, or the next word when it is the last.
        let mut step = 1;
        for (k, &c) in w.iter().enumerate().skip(1) {
            if c == b'S' {
                return Err(SPLIT.to_owned());
            }
            if b"uCaPLU".contains(&c) {
                if k + 1 == w.len() {
                    step = 2;
                }
                break;
            }
        }
        i += step;
    }
    if words.get(i).is_some_and(|w| w.as_bytes() == b"-") {
        i += 1;
    }
    while words.get(i).is_some_and(|w| w.as_bytes().contains(&b'=')) {
        i += 1;
    }
    Ok(i)
}

/// With a shell at `at`: the index of the script its `-c` runs.
fn shell_script(words: &[OsString], at: usize) -> Option<usize> {
    if !SHELLS.contains(&program_name(words.get(at)?)) {
        return None;
    }
    let mut i = at + 1;
    let mut command = false;
    while let Some(w) = words.get(i).map(|w| w.as_bytes()) {
        if w == b"--" || w == b"-" {
            i += 1;
            break;
        }
        if let Some(long) = w.strip_prefix(b"--") {
            i += if matches!(long, b"rcfile" | b"init-file") { 2 } else { 1 };
        } else if w.len() > 1 && (w[0] == b'-' || w[0] == b'+') {
            command |= w[0] == b'-' && w.contains(&b'c');
            // `-o NAME` and bash's `-O NAME` take the next word.
            i += 1 + w[1..].iter().filter(|&&b| b == b'o' || b == b'O').count();
        } else {
            break;
        }
    }
    (command && i < words.len()).then_some(i)
}

/// A shell's `-c` script further on in the command, run by a program ppool
/// does not read the options of (`timeout 5 sh -c …`, `nice bash -c …`):
/// (the shell's index, the script's).
fn later_script(words: &[OsString], program: usize) -> Option<(usize, usize)> {
    (program + 1..words.len()).find_map(|at| shell_script(words, at).map(|script| (at, script)))
}

/// The shell's reading state.
#[derive(Debug)]
enum Frame {
    /// Shell code: the whole text, or the inside of `$(…)`, `${…}`, `$((…))`.
    /// `cases` counts open `case … esac`, whose patterns end with a `)`
    /// that does not close `$(`.
    Code {
        end: CodeEnd,
        depth: u32,
        cases: u32,
    },
    Single,
    /// `$'…'`.
    DollarSingle,
    Double,
    Backquote,
    Comment,
    /// A here-document's body, up to its delimiter line.
    Heredoc {
        delimiter: Vec<u8>,
        strip_tabs: bool,
        line: Vec<u8>,
    },
}

/// What ends a code frame; `depth` counts the parentheses (or braces)
/// opened inside it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CodeEnd {
    Text,
    Paren,
    Brace,
    Arithmetic,
}

struct Scanner {
    stack: Vec<Frame>,
    /// The next character is escaped by a backslash.
    escaped: bool,
    /// The next character starts a word (so `#` starts a comment).
    word_start: bool,
    /// Here-documents opened on the current line: delimiter, `<<-`.
    heredocs: Vec<(Vec<u8>, bool)>,
    /// A `$'…'` held `\'`: bash ends it later than dash does, so where the
    /// text after it stands depends on the shell.
    ambiguous: bool,
    /// The simple commands being read, one for each code frame open.
    commands: Vec<Command>,
}

/// A simple command's words as the shell will see them (quotes removed,
/// expansions left as written), to find the words that a program the
/// command runs reads as shell code again.
#[derive(Default)]
struct Command {
    /// The index in the scanner's stack of the code frame it is read in.
    frame: usize,
    words: Vec<OsString>,
    /// Which of `words` hold a placeholder.
    holes: Vec<bool>,
    /// The word being read, and whether it holds a placeholder.
    current: Option<(Vec<u8>, bool)>,
}

impl Command {
    fn word(&mut self) -> &mut (Vec<u8>, bool) {
        self.current.get_or_insert_with(Default::default)
    }

    fn end_word(&mut self) {
        if let Some((text, hole)) = self.current.take() {
            self.words.push(OsString::from_vec(text));
            self.holes.push(hole);
        }
    }

    /// Ends the command: an error when a placeholder stands in a word that
    /// a program run by it reads as shell code (the script of `sh -c`,
    /// the arguments of `eval`), where its value would be read a second
    /// time, unquoted.
    fn end(&mut self) -> Result<(), String> {
        self.end_word();
        let words = std::mem::take(&mut self.words);
        let holes = std::mem::take(&mut self.holes);
        let first = words
            .iter()
            .position(|w| !(w.as_bytes().contains(&b'=') || COMMAND_PREFIXES.contains(&w.as_bytes())));
        if let Some(first) = first.filter(|&f| words[f].as_bytes() == b"eval") {
            if holes[first + 1..].iter().any(|&h| h) {
                return Err(
                    "is an argument of eval, which runs it as shell code a second time, where \
                            its quotes no longer hold: pass the value in a variable or as an argument \
                            of a script instead"
                        .to_owned(),
                );
            }
        }
        for at in 0..words.len() {
            if shell_script(&words, at).is_some_and(|script| holes[script]) {
                let shell = String::from_utf8_lossy(program_name(&words[at])).into_owned();
                return Err(format!(
                    "is in the script of `{shell} -c`, a second shell that would read the value \
                     again, unquoted: pass it as an argument of the script instead \
                     ({shell} -c '… \"$1\" …' {shell} {{}})"
                ));
            }
        }
        Ok(())
    }
}

/// Words that may come before a command's program.
const COMMAND_PREFIXES: [&[u8]; 12] = [
    b"!", b"{", b"then", b"do", b"else", b"elif", b"if", b"while", b"until", b"time", b"command", b"builtin",
];

/// Whether the word `name` (a reserved word) starts at `i`.
fn keyword(pieces: &[Piece<'_>], i: usize, name: &[u8]) -> bool {
    name.iter().enumerate().all(|(k, &c)| byte_at(pieces, i + k) == Some(c))
        && !matches!(byte_at(pieces, i + name.len()), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && !matches!(pieces.get(i + name.len()), Some(Piece::Hole(..)))
}

fn byte_at(pieces: &[Piece<'_>], i: usize) -> Option<u8> {
    match pieces.get(i) {
        Some(Piece::Byte(b)) => Some(*b),
        _ => None,
    }
}

/// Read shell text: its segments, each placeholder with its context, and
/// the context at the end.
fn shell_segments(mut pieces: Vec<Piece<'_>>, word: &[u8]) -> Result<(Vec<Segment>, Context), String> {
    let mut scanner = Scanner {
        stack: vec![Frame::Code {
            end: CodeEnd::Text,
            depth: 0,
            cases: 0,
        }],
        escaped: false,
        word_start: true,
        heredocs: Vec::new(),
        ambiguous: false,
        commands: Vec::new(),
    };
    let mut segments = Segments::default();
    let shown = || String::from_utf8_lossy(word).into_owned();
    let mut i = 0;
    while i < pieces.len() {
        // `${` before a placeholder's text is the shell's parameter
        // expansion (`${HOME}` with --json), not a placeholder.
        if byte_at(&pieces, i) == Some(b'$') && !scanner.escaped && scanner.expands_dollar() {
            if let Some(Piece::Hole(_, raw)) = pieces.get(i + 1) {
                let raw = *raw;
                pieces.splice(i + 1..i + 2, raw.iter().map(|&b| Piece::Byte(b)));
            }
        }
        match &pieces[i] {
            Piece::Byte(b) => {
                segments.literal.push(*b);
                scanner
                    .track(*b)
                    .map_err(|e| format!("a placeholder {e}, in the shell command {:?}", shown()))?;
                let used = scanner
                    .step(&pieces, i)
                    .map_err(|e| format!("{e} in the shell command {:?}", shown()))?;
                for k in i + 1..i + used {
                    if let Some(b) = byte_at(&pieces, k) {
                        segments.literal.push(b);
                    }
                }
                i += used.max(1);
                // A frame popped without using its byte hands it to the frame below.
                if used == 0 {
                    segments.literal.pop();
                    i -= 1;
                }
            }
            Piece::Hole(placeholder, raw) => {
                let context = match placeholder {
                    Placeholder::Seq
                    | Placeholder::Slot
                    | Placeholder::PaddedSlot(_)
                    | Placeholder::PaddedSeq(_)
                    | Placeholder::Total(_) => Ok(Context::Argv),
                    _ => scanner.context(),
                };
                let context = context.map_err(|why| {
                    format!(
                        "cannot quote {} {why}, in the shell command {:?}",
                        String::from_utf8_lossy(raw),
                        shown()
                    )
                })?;
                if context != Context::Argv {
                    scanner
                        .track_hole()
                        .map_err(|e| format!("a placeholder {e}, in the shell command {:?}", shown()))?;
                }
                scanner.hole();
                segments.placeholder(placeholder.clone(), context);
                i += 1;
            }
        }
    }
    scanner
        .end_commands(0)
        .map_err(|e| format!("a placeholder {e}, in the shell command {:?}", shown()))?;
    let tail = scanner.finish().map_err(|open| {
        format!(
            "the shell command {:?} ends inside {open}: close it, or the shell cannot run it",
            shown()
        )
    })?;
    Ok((segments.finish(), tail))
}

impl Scanner {
    fn top(&mut self) -> &mut Frame {
        // The base frame is never popped: a `)` or `}` too many in it is text.
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    /// Whether a `$` here starts an expansion.
    fn expands_dollar(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Code { .. } | Frame::Double))
    }

    /// Where a value placeholder stands now, or why it cannot be quoted.
    fn context(&self) -> Result<Context, &'static str> {
        if self.escaped {
            return Err("right after a backslash, which would escape its quoting (remove the backslash)");
        }
        for frame in self.stack.iter().rev() {
            match frame {
                Frame::Backquote => return Err("inside backquotes (use $(…) instead)"),
                Frame::DollarSingle => return Err("inside $'…' (put it outside those quotes)"),
                Frame::Heredoc { .. } => {
                    return Err("inside a here-document (pass the value as an argument or on stdin instead)")
                }
                Frame::Code {
                    end: CodeEnd::Brace, ..
                } => return Err("inside ${…} (put it outside the braces)"),
                _ => {}
            }
        }
        if self.ambiguous {
            return Err("after a $'…' holding \\', which shells end in different places");
        }
        let arithmetic = |f: &Frame| {
            matches!(
                f,
                Frame::Code {
                    end: CodeEnd::Arithmetic,
                    ..
                }
            )
        };
        if self.stack.iter().any(arithmetic) {
            return Ok(Context::Arithmetic);
        }
        Ok(match self.stack.last() {
            Some(Frame::Single) => Context::Single,
            Some(Frame::Double) => Context::Double,
            Some(Frame::Comment) => Context::Comment,
            _ => Context::Bare,
        })
    }

    /// The simple command read in the innermost code frame, the commands
    /// of frames closed since ended.
    fn command(&mut self) -> Result<Option<&mut Command>, String> {
        let frame = self.stack.iter().rposition(|f| {
            matches!(
                f,
                Frame::Code {
                    end: CodeEnd::Text | CodeEnd::Paren,
                    ..
                }
            )
        });
        let Some(frame) = frame else { return Ok(None) };
        self.end_commands(frame + 1)?;
        if !matches!(self.commands.last(), Some(c) if c.frame >= frame) {
            self.commands.push(Command {
                frame,
                ..Command::default()
            });
        }
        Ok(self.commands.last_mut())
    }

    /// Ends the commands of the frames from `frame` up.
    fn end_commands(&mut self, frame: usize) -> Result<(), String> {
        while self.commands.last().is_some_and(|c| c.frame >= frame) {
            if let Some(mut command) = self.commands.pop() {
                command.end()?;
            }
        }
        Ok(())
    }

    /// Adds the byte about to be read (before [`Scanner::step`]) to the
    /// words of the command it belongs to.
    fn track(&mut self, b: u8) -> Result<(), String> {
        let escaped = self.escaped;
        let word_start = self.word_start;
        match self.stack.last() {
            Some(Frame::Code {
                end: CodeEnd::Text | CodeEnd::Paren,
                ..
            }) => {
                let Some(command) = self.command()? else { return Ok(()) };
                match b {
                    b'\n' if escaped => {}
                    _ if escaped => command.word().0.push(b),
                    b' ' | b'\t' | b'<' | b'>' => command.end_word(),
                    b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'`' => command.end()?,
                    b'#' if word_start && command.current.is_none() => {}
                    b'\'' | b'"' | b'\\' => {
                        command.word();
                    }
                    _ => command.word().0.push(b),
                }
            }
            Some(Frame::Single) if b != b'\'' => {
                if let Some(command) = self.command()? {
                    command.word().0.push(b);
                }
            }
            Some(Frame::Double) if escaped || !matches!(b, b'"' | b'\\') => {
                if let Some(command) = self.command()? {
                    command.word().0.push(b);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A placeholder stands here: its word holds one.
    fn track_hole(&mut self) -> Result<(), String> {
        if matches!(
            self.stack.last(),
            Some(
                Frame::Code {
                    end: CodeEnd::Text | CodeEnd::Paren,
                    ..
                } | Frame::Single
                    | Frame::Double
            )
        ) {
            if let Some(command) = self.command()? {
                command.word().1 = true;
            }
        }
        Ok(())
    }

    /// A placeholder was read: it is part of the current word or line.
    fn hole(&mut self) {
        self.word_start = false;
        if let Some(Frame::Heredoc { line, .. }) = self.stack.last_mut() {
            // A line holding a placeholder is never the delimiter.
            line.push(b'{');
        }
    }

    /// Read the byte at `i`; returns how many pieces it used (0: it ends the
    /// comment and belongs to the frame below).
    fn step(&mut self, pieces: &[Piece<'_>], i: usize) -> Result<usize, String> {
        let Some(b) = byte_at(pieces, i) else { return Ok(1) };
        let next = byte_at(pieces, i + 1);
        let escaped = std::mem::take(&mut self.escaped);
        match self.top() {
            Frame::Code { .. } => return self.code(pieces, i, b, escaped),
            Frame::Single => {
                if b == b'\'' {
                    self.pop();
                }
            }
            Frame::DollarSingle => {
                if escaped {
                    self.ambiguous |= b == b'\'';
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'\'' {
                    self.pop();
                }
            }
            Frame::Double => {
                if escaped {
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.pop();
                } else if b == b'`' {
                    self.stack.push(Frame::Backquote);
                } else if b == b'$' {
                    return Ok(self.dollar(pieces, i, false));
                }
            }
            Frame::Backquote => {
                if escaped {
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'`' {
                    self.pop();
                }
            }
            Frame::Comment => {
                if b == b'\n' {
                    self.pop();
                    return Ok(0);
                }
            }
            Frame::Heredoc {
                delimiter,
                strip_tabs,
                line,
            } => {
                if b != b'\n' {
                    line.push(b);
                    return Ok(1);
                }
                let text = if *strip_tabs {
                    let tabs = line.iter().take_while(|&&c| c == b'\t').count();
                    &line[tabs..]
                } else {
                    &line[..]
                };
                if text == delimiter.as_slice() {
                    self.pop();
                    self.next_heredoc();
                } else {
                    line.clear();
                }
            }
        }
        let _ = next;
        Ok(1)
    }

    fn code(&mut self, pieces: &[Piece<'_>], i: usize, b: u8, escaped: bool) -> Result<usize, String> {
        let at_word = self.word_start && !escaped;
        let Frame::Code { end, depth, cases } = self.top() else {
            return Ok(1);
        };
        let (end, depth) = (*end, *depth);
        if at_word {
            if keyword(pieces, i, b"case") {
                *cases += 1;
            } else if keyword(pieces, i, b"esac") {
                *cases = cases.saturating_sub(1);
            }
        }
        let in_case = *cases > 0;
        let next = byte_at(pieces, i + 1);
        let word_start = std::mem::replace(
            &mut self.word_start,
            matches!(b, b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'),
        );
        if escaped {
            self.word_start = false;
            return Ok(1);
        }
        let set_depth = |s: &mut Scanner, d: u32| {
            if let Frame::Code { depth, .. } = s.top() {
                *depth = d;
            }
        };
        match b {
            b'\\' => self.escaped = true,
            b'\'' => self.stack.push(Frame::Single),
            b'"' => self.stack.push(Frame::Double),
            b'`' => self.stack.push(Frame::Backquote),
            b'$' => return Ok(self.dollar(pieces, i, true)),
            b'#' if word_start && matches!(end, CodeEnd::Text | CodeEnd::Paren) => self.stack.push(Frame::Comment),
            b'(' if word_start && next == Some(b'(') && end != CodeEnd::Arithmetic => {
                self.stack.push(Frame::Code {
                    end: CodeEnd::Arithmetic,
                    depth: 0,
                    cases: 0,
                });
                return Ok(2);
            }
            b'(' if end != CodeEnd::Brace => set_depth(self, depth + 1),
            b')' if depth == 0 && end == CodeEnd::Paren && !in_case => {
                self.pop();
                self.word_start = false;
            }
            b')' if depth == 0 && end == CodeEnd::Arithmetic && next == Some(b')') => {
                self.pop();
                self.word_start = false;
                return Ok(2);
            }
            b')' if end != CodeEnd::Brace => set_depth(self, depth.saturating_sub(1)),
            b'{' if end == CodeEnd::Brace => set_depth(self, depth + 1),
            b'}' if end == CodeEnd::Brace => {
                if depth == 0 {
                    self.pop();
                } else {
                    set_depth(self, depth - 1);
                }
            }
            b'<' if next == Some(b'<') && matches!(end, CodeEnd::Text | CodeEnd::Paren) => {
                if byte_at(pieces, i + 2) == Some(b'<') {
                    return Ok(3);
                }
                return self.heredoc(pieces, i + 2).map(|n| n + 2);
            }
            b'\n' => self.next_heredoc(),
            _ => {}
        }
        Ok(1)
    }

    /// A `$` at `i`: opens `$(…)`, `$((…))`, `${…}` or (outside double
    /// quotes) `$'…'`; returns the pieces used.
    fn dollar(&mut self, pieces: &[Piece<'_>], i: usize, code: bool) -> usize {
        let (frame, used) = match (byte_at(pieces, i + 1), byte_at(pieces, i + 2)) {
            (Some(b'\''), _) if code => (Frame::DollarSingle, 2),
            (Some(b'('), Some(b'(')) => (
                Frame::Code {
                    end: CodeEnd::Arithmetic,
                    depth: 0,
                    cases: 0,
                },
                3,
            ),
            (Some(b'('), _) => (
                Frame::Code {
                    end: CodeEnd::Paren,
                    depth: 0,
                    cases: 0,
                },
                2,
            ),
            (Some(b'{'), _) => (
                Frame::Code {
                    end: CodeEnd::Brace,
                    depth: 0,
                    cases: 0,
                },
                2,
            ),
            _ => {
                self.word_start = false;
                return 1;
            }
        };
        self.word_start = matches!(
            frame,
            Frame::Code {
                end: CodeEnd::Paren,
                ..
            }
        );
        self.stack.push(frame);
        used
    }

    /// After `<<`: read the delimiter word starting at `i`, quotes removed;
    /// the body starts at the end of the line. Returns the pieces used.
    fn heredoc(&mut self, pieces: &[Piece<'_>], i: usize) -> Result<usize, String> {
        let mut k = i;
        let strip_tabs = byte_at(pieces, k) == Some(b'-');
        if strip_tabs {
            k += 1;
        }
        while matches!(byte_at(pieces, k), Some(b' ' | b'\t')) {
            k += 1;
        }
        let mut delimiter = Vec::new();
        let mut quote = None;
        while k < pieces.len() {
            let Some(b) = byte_at(pieces, k) else {
                return Err("a placeholder cannot be a here-document's delimiter".to_owned());
            };
            match (quote, b) {
                (Some(q), _) if b == q => quote = None,
                (Some(_), _) => delimiter.push(b),
                (None, b'\'' | b'"') => quote = Some(b),
                (None, b'\\') => {
                    k += 1;
                    delimiter.extend(byte_at(pieces, k));
                }
                (None, b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')') => break,
                (None, _) => delimiter.push(b),
            }
            k += 1;
        }
        self.heredocs.push((delimiter, strip_tabs));
        self.word_start = false;
        Ok(k - i)
    }

    /// At the end of a line: the next here-document's body begins, if any.
    fn next_heredoc(&mut self) {
        if self.heredocs.is_empty() {
            return;
        }
        let (delimiter, strip_tabs) = self.heredocs.remove(0);
        self.stack.push(Frame::Heredoc {
            delimiter,
            strip_tabs,
            line: Vec::new(),
        });
    }

    /// The context the text ends in, or the construct left open.
    fn finish(mut self) -> Result<Context, &'static str> {
        if let Some(Frame::Heredoc {
            delimiter,
            strip_tabs,
            line,
        }) = self.stack.last()
        {
            let tabs = if *strip_tabs {
                line.iter().take_while(|&&c| c == b'\t').count()
            } else {
                0
            };
            if line[tabs..] == delimiter[..] {
                self.stack.pop();
            }
        }
        if let Some(Frame::Comment) = self.stack.last() {
            if self.stack.len() == 2 {
                return Ok(Context::Comment);
            }
        }
        if self.stack.len() == 1 {
            return Ok(Context::Bare);
        }
        Err(match self.stack.last() {
            Some(Frame::Single) => "a '…' quote",
            Some(Frame::DollarSingle) => "a $'…' quote",
            Some(Frame::Double) => "a \"…\" quote",
            Some(Frame::Backquote) => "backquotes",
            Some(Frame::Heredoc { .. }) => "a here-document",
            Some(Frame::Code {
                end: CodeEnd::Brace, ..
            }) => "${…}",
            Some(Frame::Code {
                end: CodeEnd::Arithmetic,
                ..
            }) => "arithmetic",
            _ => "$(…)",
        })
    }
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
    // Every argument of every record passes through here: a long one is
    // searched many bytes a step (memchr, through crate::bytes).
    match crate::bytes::find(0, value).is_some() {
        false => Ok(()),
        true => Err(RenderError(format!(
            "record {} holds a NUL byte, which no command argument can carry: {}",
            record.seq,
            show(record)
        ))),
    }
}

/// Append one word, each placeholder's value quoted for its context.
fn render_word(word: &Word, record: &Record, slot: usize, out: &mut Vec<u8>) -> Result<(), RenderError> {
    for segment in &word.segments {
        match segment {
            Segment::Literal(bytes) => out.extend_from_slice(bytes),
            // Digits are literal in every context, so numbers need no quotes.
            Segment::Placeholder(Placeholder::Seq, _) => write_number(out, record.seq),
            Segment::Placeholder(Placeholder::Slot, _) => write_number(out, slot as u64),
            Segment::Placeholder(placeholder, context) => {
                let value = value(placeholder, record, slot)?;
                check_nul(&value, record)?;
                check_shell_value(*context, &value, record, record.seq)?;
                quote_into(*context, &value, out);
            }
        }
    }
    Ok(())
}

/// A field number from 1, written in decimal digits.
fn parse_count(digits: &[u8]) -> Option<usize> {
    std::str::from_utf8(digits)
        .ok()?
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
}

/// What shell text cannot hold safely, quoted or not: in `$((…))` or
/// `((…))` anything but an integer; anywhere, an array subscript holding a
/// command substitution (`a[$(…)]`, `` a[`…`] ``), which bash, ksh and zsh
/// run wherever they take a value as a number (`[[ v -eq 1 ]]`, `let`, a
/// variable declared `-i`, a subscript, `printf -v`), however it is quoted.
/// `number` names the record in the message.
fn check_shell_value(context: Context, value: &[u8], record: &Record, number: u64) -> Result<(), RenderError> {
    let why = match context {
        Context::Argv | Context::Comment => return Ok(()),
        Context::Arithmetic if is_integer(value) => return Ok(()),
        Context::Arithmetic => "is used in shell arithmetic, where only an integer is safe",
        _ if !runs_as_number(value) => return Ok(()),
        _ => {
            "holds `[` and then `$(` or a backquote, which bash, ksh and zsh run as a command \
             wherever they read a value as a number ([[ … -eq … ]], let, an array subscript), \
             quoted or not"
        }
    };
    Err(RenderError(format!("record {number} {why}: {}", show(record))))
}

/// Whether `value` holds `[` followed by `$(` or a backquote: a subscript
/// that arithmetic evaluation would expand.
fn runs_as_number(value: &[u8]) -> bool {
    let Some(open) = crate::bytes::find(b'[', value) else {
        return false;
    };
    let rest = &value[open..];
    crate::bytes::find(b'`', rest).is_some() || rest.windows(2).any(|pair| pair == b"$(")
}

/// An optional sign and decimal digits.
fn is_integer(value: &[u8]) -> bool {
    let digits = value
        .strip_prefix(b"-")
        .or_else(|| value.strip_prefix(b"+"))
        .unwrap_or(value);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
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
        Placeholder::Value(Some(index), rule) => Ok(apply_rule(*rule, field(record, *index)?)),
        Placeholder::Json(path) => json_value(path, record),
        Placeholder::PaddedSlot(width) => Ok(Cow::Owned(format!("{slot:0width$}").into_bytes())),
        Placeholder::PaddedSeq(width) => Ok(Cow::Owned(format!("{:0width$}", record.seq).into_bytes())),
        Placeholder::Total(total) => Ok(Cow::Owned(total.to_string().into_bytes())),
        Placeholder::Filter(_, None) => Ok(Cow::Borrowed(&record.whole[..])),
        Placeholder::Filter(_, Some(index)) => Ok(Cow::Borrowed(field(record, *index)?)),
        Placeholder::Edited(from, edit) => {
            let start = match *from {
                FieldRef::Whole => &record.whole[..],
                FieldRef::Index(index) => field(record, index)?,
                FieldRef::FromEnd(n) => match record.fields.len() {
                    0 => &record.whole[..],
                    count if n <= count => &record.fields[count - n][..],
                    count => {
                        return Err(RenderError(format!(
                            "no field {{-{n}}} in record {}{} (it has {count} field{}): {}",
                            record.seq,
                            at_line(record),
                            if count == 1 { "" } else { "s" },
                            show(record)
                        )))
                    }
                },
            };
            Ok(edit.apply(start))
        }
    }
}

/// `, line N` when the record's line in its input is not its number (a
/// header line before it, a batch): where to look for it.
fn at_line(record: &Record) -> String {
    if record.line != record.seq && record.line > 0 {
        format!(", line {}", record.line)
    } else {
        String::new()
    }
}

/// Field `index` (from 0) of `record`; `{1}` of a record without fields is
/// the whole record.
fn field(record: &Record, index: usize) -> Result<&[u8], RenderError> {
    match record.fields.get(index) {
        Some(field) => Ok(field.as_slice()),
        None if index == 0 && record.fields.is_empty() => Ok(record.whole.as_slice()),
        None => Err(RenderError(format!(
            "no field {{{}}} in record {}{} (it has {} field{}): {}",
            index + 1,
            record.seq,
            at_line(record),
            record.fields.len(),
            if record.fields.len() == 1 { "" } else { "s" },
            show(record)
        ))),
    }
}

impl Edit {
    fn apply<'v>(&self, value: &'v [u8]) -> Cow<'v, [u8]> {
        match self {
            Edit::Rule(rule) => apply_rule(*rule, value),
            Edit::Default(default) if value.is_empty() || value == b"0" => Cow::Owned(default.clone()),
            Edit::Default(_) => Cow::Borrowed(value),
            Edit::Skip(n) => Cow::Borrowed(value.get(*n..).unwrap_or_default()),
            Edit::Substring(from, len) => {
                let rest = value.get(*from..).unwrap_or_default();
                Cow::Borrowed(&rest[..rest.len().min(*len)])
            }
            Edit::Substitute {
                regex,
                with,
                expand,
                all,
            } => {
                let limit = if *all { 0 } else { 1 };
                match expand {
                    true => regex.replacen(value, limit, with.as_slice()),
                    false => regex.replacen(value, limit, regex::bytes::NoExpand(with)),
                }
            }
            Edit::Case { regex, upper, all } => {
                let limit = if *all { 0 } else { 1 };
                regex.replacen(value, limit, |caps: &regex::bytes::Captures<'_>| match upper {
                    true => caps[1].to_ascii_uppercase(),
                    false => caps[1].to_ascii_lowercase(),
                })
            }
        }
    }
}

fn json_value<'r>(path: &JsonPath, record: &'r Record) -> Result<Cow<'r, [u8]>, RenderError> {
    let Some(root) = record.json.as_deref() else {
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
        // `s:/[^/]*$:: || s:.*$::`: all before the last `/`, else nothing.
        PathRule::DirnamePlus => match value.iter().rposition(|&b| b == b'/') {
            Some(i) => Cow::Borrowed(&value[..i]),
            None => Cow::Borrowed(&value[..0]),
        },
        // `s:.*\.:: || s:.*$::`: all after the last `.`, else nothing.
        PathRule::Ext(1) => match value.iter().rposition(|&b| b == b'.') {
            Some(i) => Cow::Borrowed(&value[i + 1..]),
            None => Cow::Borrowed(&value[..0]),
        },
        // `s:.*\.([^/.]*\.[^/.]*)$:$1: || s:.*$::` and the three-dot form.
        PathRule::Ext(n) => match exts_start(value, n) {
            Some(i) => Cow::Borrowed(&value[i + 1..]),
            None => Cow::Borrowed(&value[..0]),
        },
        // `s:\.[^/.]*\.[^/.]*$::` and the three-dot form.
        PathRule::NoExts(n) => Cow::Borrowed(&value[..exts_start(value, n).unwrap_or(value.len())]),
        PathRule::BasenameNoExts(n) => match basename(value) {
            Cow::Borrowed(b) => Cow::Borrowed(&b[..exts_start(b, n).unwrap_or(b.len())]),
            Cow::Owned(mut b) => {
                let keep = exts_start(&b, n).unwrap_or(b.len());
                b.truncate(keep);
                Cow::Owned(b)
            }
        },
    }
}

/// Where `(\.[^/.]*){n}$` starts: the `.` of the last N extensions.
fn exts_start(value: &[u8], n: usize) -> Option<usize> {
    let mut end = value.len();
    for _ in 0..n {
        let dot = value[..end].iter().rposition(|&b| b == b'.' || b == b'/')?;
        if value[dot] != b'.' {
            return None;
        }
        end = dot;
    }
    Some(end)
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
        let end = crate::bytes::find(b'\n', &value[start..]).map_or(value.len(), |n| start + n);
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

    fn parsed(words: &[OsString], json: bool) -> Template {
        Template::parse(words, json).expect("parses")
    }

    fn shell_parsed(words: &[OsString], json: bool) -> Template {
        Template::parse_shell(words, json).expect("parses")
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
            json: Some(Box::new(value)),
            invalid: None,
            batch: Vec::new(),
            block: None,
        }
    }

    fn argv(template: &[&str], json: bool, record: &Record, slot: usize) -> Vec<String> {
        parsed(&words(template), json)
            .render_argv(record, slot)
            .expect("renders")
            .into_iter()
            .map(|w| w.into_string().expect("UTF-8 in this test"))
            .collect()
    }

    /// Render one word with `{}` bound to `input`.
    fn one(template: &str, input: &[u8]) -> Vec<u8> {
        let t = parsed(&[os(template)], false);
        let mut out = t.render_argv(&line(1, input), 1).expect("renders");
        assert_eq!(out.len(), 1);
        out.remove(0).into_vec()
    }

    /// Run `sh -c SCRIPT` and return its stdout.
    fn sh(script: &[u8]) -> Vec<u8> {
        run("/bin/sh", script)
    }

    /// Run `SHELL -c SCRIPT` and return its stdout.
    fn run(shell: &str, script: &[u8]) -> Vec<u8> {
        let output = Command::new(shell)
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
        let t = parsed(&words(&["echo", "{3}"]), false);
        let err = t.render_argv(&groups(4, &["a", "b"]), 1).expect_err("no field 3");
        assert_eq!(err.0, "no field {3} in record 4 (it has 2 fields): a b", "{err}");
        let err = t.render_argv(&line(5, b"x"), 1).expect_err("no field 3");
        assert!(err.0.contains("{3}") && err.0.contains("record 5"), "{err}");
        assert!(parsed(&words(&["{2}"]), false).render_argv(&line(1, b"x"), 1).is_err());
        // Under a header line, record 1 is line 2 of its input: both are named.
        let mut under_header = groups(1, &["a", "b"]);
        under_header.line = 2;
        let err = t.render_argv(&under_header, 1).expect_err("no field 3");
        assert_eq!(
            err.0, "no field {3} in record 1, line 2 (it has 2 fields): a b",
            "{err}"
        );
    }

    #[test]
    fn implicit_append() {
        let t = parsed(&words(&["echo", "-n"]), false);
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
        let t = shell_parsed(&words(&["printf", "'[%s]'"]), false);
        let script = t.render_shell(&groups(1, &["a b", "$(id)"]), 1).expect("renders");
        assert_eq!(script, os("printf '[%s]' 'a b' '$(id)'"));
        assert_eq!(sh(script.as_bytes()), b"[a b][$(id)]");
        let script = t.render_shell(&line(1, b""), 1).expect("renders");
        assert_eq!(sh(script.as_bytes()), b"[]");
        // Without command words, the appended fields still form separate words.
        let t = shell_parsed(&[], false);
        let script = t.render_shell(&groups(1, &["a", "b c"]), 1).expect("renders");
        assert_eq!(script, os("a 'b c'"));
    }

    #[test]
    fn placeholder_detection() {
        assert!(parsed(&words(&["echo", "x{}y"]), false).has_placeholder());
        assert!(parsed(&words(&["echo", "{#}"]), false).has_placeholder());
        assert!(!parsed(&words(&["echo", "{name}"]), false).has_placeholder());
        assert!(parsed(&words(&["echo", "{name}"]), true).has_placeholder());
        assert!(!parsed(&words(&["awk", "{print $1}"]), true).has_placeholder());
        assert!(!parsed(&[], false).has_placeholder());
    }

    #[test]
    fn non_utf8_bytes_pass_through() {
        let input: &[u8] = b"caf\xe9/\xff\xfe.b\x80n";
        let word = OsString::from_vec(b"\xc0x{}-{/.}".to_vec());
        let t = parsed(&[os("cmd"), word], false);
        let out = t.render_argv(&line(1, input), 1).expect("renders");
        let mut want = b"\xc0x".to_vec();
        want.extend_from_slice(input);
        want.extend_from_slice(b"-\xff\xfe");
        assert_eq!(out[1].as_bytes(), want.as_slice());

        let t = parsed(&words(&["cmd"]), false);
        let out = t.render_argv(&line(1, input), 1).expect("renders");
        assert_eq!(out[1].as_bytes(), input);

        let t = shell_parsed(&words(&["printf", "%s", "{}"]), false);
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
        let t = shell_parsed(&words(&["cd", "DIR", "&&", "printf", "'%s'", "{}"]), false);
        for input in hostile {
            let script = t.render_shell(&line(1, input), 1).expect("renders");
            let dir_bytes = quote(dir.path().as_os_str().as_bytes()).into_owned();
            let script = replace(script.as_bytes(), b"DIR", &dir_bytes);
            assert_eq!(sh(&script), input, "script {:?}", String::from_utf8_lossy(&script));
            assert!(!dir.path().join("PWNED").exists(), "{input:?} ran a command");
        }
    }

    #[test]
    fn the_script_of_a_shell_run_with_c_is_found() {
        let found = |ws: &[&str]| script_word(&words(ws)).expect("no env -S");
        assert_eq!(found(&["sh", "-c", "s", "{}"]), Some(2));
        assert_eq!(found(&["/bin/bash", "-ec", "s"]), Some(2));
        assert_eq!(found(&["bash", "-o", "pipefail", "--norc", "-c", "s"]), Some(5));
        assert_eq!(found(&["zsh", "-c", "--", "s"]), Some(3));
        assert_eq!(found(&["env", "-i", "-u", "B", "A=1", "dash", "-c", "s"]), Some(7));
        assert_eq!(found(&["sh", "script.sh", "-c"]), None);
        assert_eq!(found(&["grep", "sh", "-c", "x"]), None);
        assert_eq!(found(&["sh", "-c"]), None);
        assert_eq!(found(&[]), None);
        // Only the script is shell text: later words are argv data.
        let t = parsed(&words(&["sh", "-c", "echo \"$1\" {}", "sh", "{}"]), false);
        let argv = t.render_argv(&line(1, b"a b"), 1).expect("renders");
        assert_eq!(argv, words(&["sh", "-c", "echo \"$1\" 'a b'", "sh", "a b"]));
    }

    #[test]
    fn env_options_are_skipped_in_every_spelling() {
        let found = |ws: &[&str]| script_word(&words(ws)).expect("no env -S");
        for (command, script) in [
            (&["env", "--", "FOO=1", "sh", "-c", "s"][..], 5),
            (&["env", "-iu", "X", "sh", "-c", "s"], 5),
            (&["env", "-ivu", "X", "sh", "-c", "s"], 5),
            (&["env", "-iC", "/tmp", "sh", "-c", "s"], 5),
            (&["env", "-uX", "-C/tmp", "sh", "-c", "s"], 5),
            (&["env", "-uS", "sh", "-c", "s"], 4),
            (&["env", "--chdir", "/", "--unset=X", "sh", "-c", "s"], 6),
            (&["env", "--ch", "/", "sh", "-c", "s"], 5),
            (&["env", "-", "A=1", "B=2", "bash", "-ec", "s"], 6),
            (&["/usr/bin/env", "-i", "--", "sh", "-c", "s"], 5),
        ] {
            assert_eq!(found(command), Some(script), "{command:?}");
        }
        // Options end at the first NAME=value, as in env: `-u` is its command.
        assert_eq!(found(&["env", "A=1", "-u", "B", "sh", "-c", "s"]), None);
        for command in [
            &["env", "-S", "sh -c", "echo {}"][..],
            &["env", "-iS", "sh -c"],
            &["env", "--split=sh -c"],
        ] {
            let err = script_word(&words(command)).expect_err("env -S");
            assert!(err.contains("env -S"), "{err}");
            assert!(Template::parse(&words(command), false).is_err());
        }
    }

    #[test]
    fn a_script_that_another_program_hands_to_a_shell_is_refused() {
        for command in [
            &["timeout", "5", "sh", "-c", "echo {}"][..],
            &["nice", "-n", "5", "bash", "-c", "echo '{}'"],
            &["env", "FOO=1", "setsid", "sh", "-ec", "echo \"{}\""],
        ] {
            let err = Template::parse(&words(command), false).expect_err("refused");
            assert!(err.contains("-c` after") && err.contains("\"$1\""), "{err}");
        }
        // The value as an argument of the script is data, and is allowed.
        let t = parsed(&words(&["timeout", "5", "sh", "-c", "echo \"$1\"", "sh", "{}"]), false);
        let argv = t.render_argv(&line(1, b"x; y"), 1).expect("renders");
        assert_eq!(argv[6], "x; y");
    }

    #[test]
    fn a_placeholder_that_a_second_shell_would_read_is_refused() {
        for (script, why) in [
            ("sh -c 'echo {}'", "`sh -c`"),
            ("timeout 5 bash -c \"echo {}\"", "`bash -c`"),
            ("echo \"$(sh -c 'echo x{}')\"", "`sh -c`"),
            ("if true; then dash -ec 'echo {}'; fi", "`dash -c`"),
            ("eval echo {}", "eval"),
            ("X=1 eval \"echo {}\"", "eval"),
            ("true && eval 'echo {}'", "eval"),
        ] {
            let err = Template::parse_shell(&words(&[script]), false).expect_err(script);
            assert!(err.contains(why) && err.contains("shell command"), "{script}: {err}");
            // The same in the script of direct exec's `sh -c`.
            assert!(
                Template::parse(&words(&["sh", "-c", script]), false).is_err(),
                "{script}"
            );
        }
        for script in [
            "sh -c 'echo \"$1\"' sh {}",
            "echo {}; sh -c 'echo hi'",
            "echo {} | bash -c cat",
            "echo eval {}",
            "sh -c 'echo {#}'",
        ] {
            let t = shell_parsed(&words(&[script]), false);
            assert!(t.render_shell(&line(1, b"x"), 1).is_ok(), "{script}");
        }
    }

    #[test]
    fn a_subscript_with_a_command_substitution_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pwned = dir.path().join("PWNED");
        let value = format!("a[$(touch {})]", pwned.display());
        // What bash does with it, quoted: it runs the substitution.
        let status = std::process::Command::new("bash")
            .args(["-c", "[[ $1 -eq 1 ]]", "bash", &value])
            .status()
            .expect("bash runs");
        assert!(
            !status.success() && pwned.exists(),
            "bash evaluates subscripts in [[ -eq ]]"
        );
        std::fs::remove_file(&pwned).expect("removed");
        for value in [value.as_str(), "x[`id`]", "[ $(id) ]"] {
            let t = parsed(&words(&["bash", "-c", "[[ {} -eq 1 ]]"]), false);
            let err = t.render_argv(&line(1, value.as_bytes()), 1).expect_err(value);
            assert!(err.0.contains("`[` and then `$(`"), "{err}");
            let t = shell_parsed(&words(&["[[ '{}' -eq 1 ]]"]), false);
            assert!(t.render_shell(&line(1, value.as_bytes()), 1).is_err(), "{value}");
        }
        assert!(!pwned.exists());
        // Either alone is quoted as usual; so is any value outside shell text.
        for value in ["a[1]", "$(id)", "`id` [x]"] {
            let t = parsed(&words(&["bash", "-c", "echo {}"]), false);
            assert!(t.render_argv(&line(1, value.as_bytes()), 1).is_ok(), "{value}");
        }
        let t = parsed(&words(&["echo", "{}"]), false);
        assert!(t.render_argv(&line(1, b"a[$(id)]"), 1).is_ok());
    }

    #[test]
    fn a_batch_fills_the_script_of_sh_c_once() {
        let records: Vec<Record> = ["a", "b c", "it's"]
            .iter()
            .enumerate()
            .map(|(i, w)| Record::text(i as u64 + 1, w.as_bytes().to_vec()))
            .collect();
        let batch = Record::batch(1, records);
        for style in [BatchStyle::Repeat, BatchStyle::Join] {
            let t = parsed(&words(&["sh", "-c", "printf '%s|' {}"]), false).with_batch_style(style);
            let argv = t.render_argv(&batch, 1).expect("renders");
            assert_eq!(argv.len(), 3, "{style:?}: {argv:?}");
            assert_eq!(sh(argv[2].as_bytes()), b"a|b c|it's|", "{style:?}");
        }
    }

    #[test]
    fn unsafe_contexts_are_errors_naming_the_command() {
        for (script, why) in [
            ("echo `echo {}`", "backquotes"),
            ("echo \"`echo {}`\"", "backquotes"),
            ("cat <<-'E'\n\t{}\nE", "here-document"),
            ("echo ${x:-{}}", "${…}"),
            ("echo $'a{}'", "$'…'"),
            ("echo \\{}", "backslash"),
            ("echo \"\\{}\"", "backslash"),
            ("echo $'\\'' {}", "shells end"),
            ("echo \"{}", "ends inside a \"…\" quote"),
            ("echo $(echo {}", "ends inside $(…)"),
        ] {
            let err = Template::parse_shell(&words(&[script]), false).expect_err(script);
            assert!(err.contains(why) && err.contains("shell command"), "{script}: {err}");
        }
        // Numbers are digits in every context; text after a here-document is code again.
        for script in ["echo `echo {#}` ${x:-{%}}", "cat <<E\nbody\nE\necho {}", "echo $'x' {}"] {
            assert!(Template::parse_shell(&words(&[script]), false).is_ok(), "{script}");
        }
    }

    #[test]
    fn contexts_follow_the_shells_reading() {
        let render = |script: &str, value: &[u8]| {
            let t = shell_parsed(&words(&[script]), false);
            t.render_shell(&line(1, value), 1).expect("renders").into_vec()
        };
        // `case` patterns end with `)` that does not close `$(`.
        let script = "printf %s \"$(case a in a) printf %s {};; esac)\"";
        assert_eq!(sh(&render(script, b"x; y")), b"x; y");
        assert_eq!(render("echo \"$(echo {})\"", b"a b"), b"echo \"$(echo 'a b')\"");
        // `${` is the shell's, even where `{name}` would be a placeholder.
        let t = shell_parsed(&words(&["echo ${HOME}"]), true);
        assert!(!t.has_placeholder());
        assert_eq!(render("echo '{}'\"{}\"{}", b""), b"echo ''\"\"''");
        assert_eq!(render("echo x # {}", b"a \nb"), b"echo x # 'a b'");
        let t = shell_parsed(&words(&["echo $(( {} * 2 ))"]), false);
        assert_eq!(
            sh(t.render_shell(&line(1, b"-21"), 1).expect("an integer").as_bytes()),
            b"-42\n"
        );
        assert!(t.render_shell(&line(1, b"a[$(id)]"), 1).is_err());
        // Appended values are quoted for where the text ends.
        let t = shell_parsed(&words(&["echo x #"]), false);
        assert_eq!(
            t.render_shell(&line(1, b"a \nb"), 1).expect("renders"),
            os("echo x # 'a b'")
        );
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
        let t = shell_parsed(&words(&["echo", "$HOME", "|", "cat", "out/{/.}.txt", "{#}"]), false);
        let script = t.render_shell(&line(9, b"in/a b.c"), 4).expect("renders");
        assert_eq!(script, os("echo $HOME | cat out/'a b'.txt 9"));
        let t = shell_parsed(&words(&["printf", "%s", "x{}y"]), false);
        let script = t.render_shell(&line(1, b""), 1).expect("renders");
        assert_eq!(sh(script.as_bytes()), b"xy");
    }

    #[test]
    fn plus_helpers_follow_gnu_parallel() {
        assert_eq!(ungreedy("z.*z."), "z.*?z.");
        assert_eq!(ungreedy("a+?[*+]b{2}\\*"), "a+?[*+]b{2}?\\*");
        assert_eq!(exts_start(b"d/a.b.c", 2), Some(3));
        assert_eq!(exts_start(b"a.b/c.d", 2), None);
        assert_eq!(exts_start(b"a.b", 2), None);
        let edit = |op: &str, value: &str| {
            let edit = parse_edit(op.as_bytes()).unwrap().unwrap();
            String::from_utf8(edit.apply(value.as_bytes()).into_owned()).unwrap()
        };
        assert_eq!(edit(":-d", "0"), "d");
        assert_eq!(edit(":-d", "00"), "00");
        assert_eq!(edit(":9", "abc"), "");
        assert_eq!(edit(":1:9", "abc"), "bc");
        assert_eq!(edit("/a/$1", "abc"), "$1bc");
        assert!(parse_edit(b":x").unwrap().is_none());
        assert!(parse_edit(b"/a#b/c").unwrap().is_none());
    }

    #[test]
    fn a_renamed_record_placeholder_leaves_braces_and_the_others() {
        let syntax = Syntax {
            json: false,
            replace: Some(b"XX".to_vec()),
            ..Syntax::default()
        };
        let t = Template::parse_as(&words(&["e", "{}", "aXXb", "{.}", "{XX}", "{{}"]), &syntax).unwrap();
        let argv: Vec<String> = t
            .render_argv(&line(1, b"f.c"), 1)
            .unwrap()
            .iter()
            .map(|w| w.to_string_lossy().into_owned())
            .collect();
        assert_eq!(argv, ["e", "{}", "af.cb", "f", "{f.c}", "{{}"]);
        let t = Template::parse_shell_as(&words(&["echo", "'XX'", "\"XX\"", "XX", "$XX"]), &syntax).unwrap();
        assert_eq!(
            t.render_shell(&line(1, b"it's $x"), 1).unwrap().as_bytes(),
            b"echo 'it'\\''s $x' \"it's \\$x\" 'it'\\''s $x' $XX"
        );
        // Where no quoting is safe, the renamed placeholder is refused too.
        assert!(Template::parse_shell_as(&words(&["echo", "`XX`"]), &syntax).is_err());
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
    fn json_values_keep_their_keys_in_the_order_written() {
        let record = json(1, r#"{"b":1,"a":{"d":2,"c":3}}"#);
        assert_eq!(
            argv(&["{}", "{a}"], true, &record, 1),
            [r#"{"b":1,"a":{"d":2,"c":3}}"#, r#"{"d":2,"c":3}"#]
        );
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
            let t = parsed(&words(&["echo", word]), true);
            assert_eq!(t.render_argv(&r, 1), Err(RenderError(message.to_owned())), "{word}");
            assert!(t.render_shell(&r, 1).is_err());
        }
        let scalar = json(4, "5");
        let t = parsed(&words(&["{a}"]), true);
        assert!(t.render_argv(&scalar, 1).is_err());
    }

    #[test]
    fn json_placeholder_on_a_non_json_record_is_an_error() {
        let t = parsed(&words(&["echo", "{a}"]), true);
        let err = t.render_argv(&line(2, b"not json"), 1).expect_err("no JSON");
        assert!(err.0.contains("\"a\"") && err.0.contains("record 2"), "{err}");
    }

    #[test]
    fn invalid_records_do_not_render() {
        let mut r = line(2, b"{bad");
        r.invalid = Some("invalid JSON on line 2: EOF".to_owned());
        let t = parsed(&words(&["echo", "{}"]), true);
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
            "{-0}",
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
        let t = parsed(&words(&["echo", "{}"]), false);
        let err = t.render_argv(&r, 1).expect_err("NUL");
        assert!(err.0.contains("NUL") && err.0.contains("record 6"), "{err}");
        assert!(t.render_shell(&r, 1).is_err());
        let t = parsed(&words(&["echo"]), false);
        assert!(t.render_argv(&r, 1).is_err());
        assert!(t.render_shell(&r, 1).is_err());
        assert_eq!(quote(b"a\0b").as_ref(), b"'ab'");
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
        assert_eq!(line, os(r#"echo 'a b' '' 'it'\''s'"#));
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
                json: json.map(Box::new),
                invalid,
                batch: Vec::new(),
                block: None,
            })
    }

    #[test]
    fn a_batch_is_never_longer_than_its_measured_size() {
        let records: Vec<Record> = ["a", "bb b", "it's", ""]
            .iter()
            .enumerate()
            .map(|(i, w)| Record::text(i as u64 + 1, w.as_bytes().to_vec()))
            .collect();
        let batch = Record::batch(12345, records.clone());
        for style in [BatchStyle::Repeat, BatchStyle::Join] {
            for template in [
                Template::parse(&words(&["echo", "x{}y", "{.}", "{#}"]), false).unwrap(),
                Template::parse(&words(&["echo"]), false).unwrap(),
                Template::parse_shell(&words(&["echo", "'{}'", "{}", "{#}"]), false).unwrap(),
                Template::parse(&words(&["sh", "-c", "echo \"{}\" '{.}' {#}", "sh", "{}"]), false).unwrap(),
            ] {
                let template = template.with_batch_style(style);
                let measured = template.batch_base() + records.iter().map(|r| template.batch_size(r)).sum::<usize>();
                let actual = if template.shell {
                    template.render_shell(&batch, 1).unwrap().len() + 1
                } else {
                    template
                        .render_argv(&batch, 1)
                        .unwrap()
                        .iter()
                        .map(|w| w.len() + 1)
                        .sum()
                };
                assert!(actual <= measured, "{style:?} {template:?}: {actual} > {measured}");
            }
        }
    }

    #[test]
    fn a_command_without_placeholders_measures_its_batch_exactly() {
        // Whole records, and records cut into columns (each column an
        // argument of its own): counted without building the command.
        let mut columns = Record::text(2, b"c d".to_vec());
        columns.fields = vec![b"c".to_vec(), b"dd".to_vec()];
        let records = vec![Record::text(1, b"a b".to_vec()), columns];
        let template = Template::parse(&words(&["stat", "-c", "%s"]), false).unwrap();
        let measured = template.batch_base() + records.iter().map(|r| template.batch_size(r)).sum::<usize>();
        let argv = template.render_argv(&Record::batch(1, records), 1).unwrap();
        assert_eq!(measured, argv.iter().map(|w| w.len() + 1).sum::<usize>());
        assert_eq!(argv.len(), 3 + 1 + 2);
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
            let Ok(t) = Template::parse(&template, json) else { return Ok(()) };
            let argv = t.render_argv(&record, slot);
            if let Ok(shell) = Template::parse_shell(&template, json) {
                match (&argv, shell.render_shell(&record, slot)) {
                    // Shell text refuses more: a subscript that runs a command.
                    (Ok(_), Err(e)) => prop_assert!(e.0.contains("`[` and then `$(`"), "{}", e),
                    (argv, shell) => prop_assert_eq!(argv.is_ok(), shell.is_ok()),
                }
            }
            if let Ok(argv) = argv {
                let extra = if t.has_placeholder() { 0 } else { record.implicit_args().len() };
                prop_assert_eq!(argv.len(), template.len() + extra);
            }
        }

        #[test]
        fn c_strings_hold_the_words_rendered(
            template in prop::collection::vec(arb_word(), 0..5),
            records in prop::collection::vec(arb_record(), 0..4),
            batch in any::<bool>(),
            join in any::<bool>(),
        ) {
            let Ok(t) = Template::parse(&template, false) else { return Ok(()) };
            let t = t.with_batch_style(if join { BatchStyle::Join } else { BatchStyle::Repeat });
            let record = match (batch, records.first()) {
                (true, _) | (false, None) => Record::batch(1, records.clone()),
                (false, Some(first)) => first.clone(),
            };
            let words = t.render_argv(&record, 1);
            let strings = t.render_c_argv(&record, 1);
            match words {
                // A NUL would end a C string early: never passed on.
                Ok(words) if words.iter().any(|w| w.as_bytes().contains(&0)) => prop_assert!(strings.is_err()),
                Ok(words) => {
                    let joined: Vec<u8> = words.iter().flat_map(|w| w.as_bytes().iter().copied().chain([0])).collect();
                    prop_assert_eq!(strings.ok(), Some(joined));
                }
                Err(e) => prop_assert_eq!(strings.err().map(|e| e.0), Some(e.0)),
            }
        }

        #[test]
        fn json_paths_never_panic(
            path in "[a-c0-2_.-]{0,12}",
            value in arb_json(),
        ) {
            let word = os(&format!("{{{path}}}"));
            let t = parsed(&[word], true);
            let record = Record { seq: 1, line: 1, whole: b"w".to_vec(), json: Some(Box::new(value)), ..Record::default() };
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
        fn every_context_round_trips_through_sh_and_bash(
            input in prop::collection::vec(1u8..=255, 0..40),
        ) {
            // Refused in shell text: see `a_subscript_with_a_command_substitution_is_refused`.
            prop_assume!(!runs_as_number(&input));
            for (script, want) in [
                ("printf %s {}", input.clone()),
                ("printf %s '{}'", input.clone()),
                ("printf %s \"{}\"", input.clone()),
                ("printf %s \"$(printf %s {}; printf .)\"", [input.as_slice(), b"."].concat()),
                ("printf %s x'a{}b'\"c{}d\"", [b"xa", input.as_slice(), b"bc", input.as_slice(), b"d"].concat()),
                ("printf %s {} # {}", input.clone()),
            ] {
                let t = shell_parsed(&words(&[script]), false);
                let record = line(1, &input);
                let rendered = t.render_shell(&record, 1).expect("renders");
                prop_assert_eq!(&run("/bin/sh", rendered.as_bytes()), &want, "sh: {:?}", rendered);
                prop_assert_eq!(&run("bash", rendered.as_bytes()), &want, "bash: {:?}", rendered);
                // The same script in direct exec, as `sh -c SCRIPT`.
                let argv = parsed(&words(&["sh", "-c", script]), false).render_argv(&record, 1).expect("renders");
                prop_assert_eq!(argv[2].as_bytes(), rendered.as_bytes());
            }
        }

        #[test]
        fn shell_rendering_round_trips_through_sh(
            input in prop::collection::vec(1u8..=255, 0..40),
        ) {
            prop_assume!(!runs_as_number(&input));
            let t = shell_parsed(&words(&["printf", "%s", "x{}y"]), false);
            let script = t.render_shell(&line(1, &input), 1).expect("renders");
            let want = [b"x", input.as_slice(), b"y"].concat();
            prop_assert_eq!(sh(script.as_bytes()), want);
        }
    }
}
