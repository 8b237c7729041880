//! Columns: `--colsep` (literal, with `\t` and `\\`), `--colsep-regex`,
//! `--csv` (RFC 4180), `--trim`, and the `--header :` names that become
//! column numbers in the command.

use std::ffi::OsString;
use std::io::{self, BufRead};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// How a value is split into columns.
#[derive(Debug, Clone)]
pub enum Colsep {
    /// `--colsep`: a literal string.
    Literal(Vec<u8>),
    /// `--colsep-regex`.
    Regex(regex::bytes::Regex),
}

impl Colsep {
    pub fn split(&self, text: &[u8]) -> Vec<Vec<u8>> {
        match self {
            Colsep::Literal(sep) => split_on(text, sep),
            Colsep::Regex(re) => re.split(text).map(<[u8]>::to_vec).collect(),
        }
    }
}

/// `--colsep` as GNU parallel users write it: `\t` is a tab and `\\` a
/// backslash; a backslash before other punctuation gives that character
/// (as the regular expression GNU reads would, `\|` is `|`); any other
/// backslash is kept as written.
pub fn unescape_colsep(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match (b, bytes.peek().copied()) {
            (b'\\', Some(b't')) => {
                bytes.next();
                out.push(b'\t');
            }
            (b'\\', Some(next)) if next.is_ascii_punctuation() => {
                bytes.next();
                out.push(next);
            }
            _ => out.push(b),
        }
    }
    out
}

pub fn split_on(text: &[u8], sep: &[u8]) -> Vec<Vec<u8>> {
    if sep.is_empty() {
        return vec![text.to_vec()];
    }
    let mut fields = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.windows(sep.len()).position(|w| w == sep) {
        fields.push(rest[..at].to_vec());
        rest = &rest[at + sep.len()..];
    }
    fields.push(rest.to_vec());
    fields
}

/// `--trim`: which ends of each value lose their white space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Trim {
    #[default]
    No,
    Left,
    Right,
    Both,
}

impl Trim {
    pub fn apply(self, text: &[u8]) -> &[u8] {
        // Perl's \s, which GNU parallel trims: space, \t, \n, \v, \f, \r.
        let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        let mut text = text;
        if matches!(self, Trim::Left | Trim::Both) {
            let start = text.iter().position(|b| !space(b)).unwrap_or(text.len());
            text = &text[start..];
        }
        if matches!(self, Trim::Right | Trim::Both) {
            let end = text.iter().rposition(|b| !space(b)).map_or(0, |i| i + 1);
            text = &text[..end];
        }
        text
    }
}

/// Reads one CSV record (RFC 4180): it ends at a newline outside a quoted
/// field, so a quoted field may hold separators and newlines. A stray quote
/// inside an unquoted field opens nothing, so the error it is stays in its
/// own record. Returns the raw text without the line end and its first
/// line; `line` counts the lines read.
pub fn read_csv_record(reader: &mut impl BufRead, delimiter: u8, line: &mut u64) -> io::Result<Option<(Vec<u8>, u64)>> {
    let mut raw = Vec::new();
    let start = *line + 1;
    // Whether a field has just started, whether we are inside quotes, and
    // whether the last byte closed them (`""` inside quotes is a quote).
    let (mut field_start, mut quoted, mut closed) = (true, false, false);
    loop {
        let before = raw.len();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            if raw.is_empty() {
                return Ok(None);
            }
            break;
        }
        *line += 1;
        for &b in &raw[before..] {
            let toggles = b == b'"' && (field_start || quoted || closed);
            if toggles {
                quoted = !quoted;
            }
            closed = toggles && !quoted;
            field_start = !quoted && (b == delimiter || b == b'\n');
        }
        if !quoted {
            break;
        }
    }
    if raw.last() == Some(&b'\n') {
        raw.pop();
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
    }
    Ok(Some((raw, start)))
}

/// The fields of one CSV record, checked against RFC 4180 first (the `csv`
/// crate itself accepts any text), so that a stray quote is an error that
/// names its line and column rather than a silently different field.
pub fn csv_fields(raw: &[u8], delimiter: u8, line: u64) -> Result<Vec<Vec<u8>>, String> {
    check_csv(raw, delimiter, line)?;
    if raw.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(raw);
    match reader.byte_records().next() {
        Some(Ok(record)) => Ok(record.iter().map(<[u8]>::to_vec).collect()),
        Some(Err(e)) => Err(format!("line {line}: {e}")),
        None => Ok(vec![Vec::new()]),
    }
}

fn check_csv(raw: &[u8], delimiter: u8, first_line: u64) -> Result<(), String> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let (mut line, mut column) = (first_line, 0u64);
    let (mut open_line, mut open_column) = (line, 0);
    for &b in raw {
        column += 1;
        state = match state {
            State::FieldStart if b == b'"' => {
                (open_line, open_column) = (line, column);
                State::Quoted
            }
            State::FieldStart | State::Unquoted if b == delimiter => State::FieldStart,
            State::FieldStart | State::Unquoted if b == b'"' => {
                return Err(format!(
                    "line {line}, column {column}: a quote inside an unquoted field (quote the whole field and double the quote: \"a\"\"b\")"
                ))
            }
            State::FieldStart | State::Unquoted => State::Unquoted,
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            State::QuoteInQuoted if b == delimiter => State::FieldStart,
            State::QuoteInQuoted => {
                return Err(format!(
                    "line {line}, column {column}: text after the closing quote of a field"
                ))
            }
        };
        if b == b'\n' {
            line += 1;
            column = 0;
        }
    }
    if state == State::Quoted {
        return Err(format!(
            "line {open_line}, column {open_column}: the quoted field is not closed"
        ));
    }
    Ok(())
}

/// GNU parallel's `--header` names: `{name}`, `{name.}`, `{name/}`,
/// `{name//}` and `{name/.}` in the command become column `id`'s, where
/// `names[id - 1]` is the name. Empty names are skipped.
pub fn rename(words: &[OsString], names: &[Vec<u8>]) -> Vec<OsString> {
    words
        .iter()
        .map(|word| {
            let mut text = word.as_bytes().to_vec();
            for (i, name) in names.iter().enumerate() {
                if name.is_empty() {
                    continue;
                }
                text = rename_one(&text, name, i + 1);
            }
            OsString::from_vec(text)
        })
        .collect()
}

fn rename_one(text: &[u8], name: &[u8], id: usize) -> Vec<u8> {
    const RULES: [&[u8]; 5] = [b"}", b".}", b"/}", b"//}", b"/.}"];
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'{' && text[i + 1..].starts_with(name) {
            let after = &text[i + 1 + name.len()..];
            if let Some(rule) = RULES.iter().find(|r| after.starts_with(r)) {
                out.push(b'{');
                out.extend_from_slice(id.to_string().as_bytes());
                out.extend_from_slice(rule);
                i += 1 + name.len() + rule.len();
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(raw: &str) -> Result<Vec<String>, String> {
        csv_fields(raw.as_bytes(), b',', 1).map(|f| f.into_iter().map(|f| String::from_utf8(f).unwrap()).collect())
    }

    #[test]
    fn colsep_escapes() {
        assert_eq!(unescape_colsep(br"\t"), b"\t");
        assert_eq!(unescape_colsep(br"a\\b"), br"a\b");
        assert_eq!(unescape_colsep(br"\|"), b"|");
        assert_eq!(unescape_colsep(br"\d"), br"\d");
        assert_eq!(unescape_colsep(br"x\"), br"x\");
    }

    #[test]
    fn trims() {
        assert_eq!(Trim::Both.apply(b" \ta b\r\n"), b"a b");
        assert_eq!(Trim::Left.apply(b" a "), b"a ");
        assert_eq!(Trim::Right.apply(b" a "), b" a");
        assert_eq!(Trim::No.apply(b" a "), b" a ");
        assert_eq!(Trim::Both.apply(b"   "), b"");
    }

    #[test]
    fn csv_quoted_fields() {
        assert_eq!(fields(r#"a,"b,c","d""e""#).unwrap(), ["a", "b,c", "d\"e"]);
        assert_eq!(fields("\"x\ny\",z").unwrap(), ["x\ny", "z"]);
        assert_eq!(fields("").unwrap(), [""]);
        assert_eq!(fields("a,,").unwrap(), ["a", "", ""]);
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let e = fields(r#"ab"c"#).unwrap_err();
        assert!(e.starts_with("line 1, column 3: a quote inside"), "{e}");
        let e = fields("\"a\"x").unwrap_err();
        assert!(e.starts_with("line 1, column 4: text after"), "{e}");
        let e = fields("a,\"b\nc").unwrap_err();
        assert!(e.starts_with("line 1, column 3: the quoted field is not closed"), "{e}");
        let e = fields("\"a\nb\"c").unwrap_err();
        assert!(e.starts_with("line 2, column 3"), "{e}");
    }

    #[test]
    fn csv_records_span_lines_inside_quotes() {
        let mut reader = &b"a,\"b\nc\"\r\nd\na\"b,c\n\"x\"\"\ny\"\n\"e"[..];
        let mut line = 0;
        let mut next = || read_csv_record(&mut reader, b',', &mut line).unwrap();
        assert_eq!(next(), Some((b"a,\"b\nc\"".to_vec(), 1)));
        assert_eq!(next(), Some((b"d".to_vec(), 3)));
        assert_eq!(next(), Some((b"a\"b,c".to_vec(), 4)));
        assert_eq!(next(), Some((b"\"x\"\"\ny\"".to_vec(), 5)));
        assert_eq!(next(), Some((b"\"e".to_vec(), 7)));
        assert_eq!(next(), None);
    }

    #[test]
    fn names_become_column_numbers() {
        let words: Vec<OsString> = ["{a}-{b.}", "{b/.}{c}", "{ab}", "x{a"]
            .iter()
            .map(OsString::from)
            .collect();
        let names = vec![b"a".to_vec(), b"b".to_vec()];
        let renamed = rename(&words, &names);
        assert_eq!(renamed, ["{1}-{2.}", "{2/.}{c}", "{ab}", "x{a"]);
    }
}
