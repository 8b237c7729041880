//! Input sources and how they combine, as GNU parallel combines them:
//! `:::` values, `::::` files, repeated `-a`, stdin; their cartesian product
//! (first source outermost), `--link` (shorter sources wrap) and `:::+`
//! (linked to the previous source, the shortest decides).
//!
//! A single file or stdin streams. With several sources the first one
//! streams when it is not linked; every other source is read into memory
//! first, as the product goes through it again for each outer value.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::columns::{csv_fields, read_csv_record};
use super::{json_record, Format, Record};

/// Where one input source's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// `::: A B C`
    Values(Vec<OsString>),
    /// `:::: FILE` or `-a FILE`.
    File(PathBuf),
    /// `-` as a file, or no source given.
    Stdin,
}

/// One input source as the command line gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub origin: Origin,
    /// `:::+` / `::::+`: paired with the source before it.
    pub linked: bool,
    /// How messages name it: `::: group 2`, `:::: FILE`, `--arg-file FILE`, `stdin`.
    pub name: String,
}

/// One value of a source: a line, a NUL item or a CSV record.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Its line (or item) number in its source, from 1.
    line: u64,
    bytes: Vec<u8>,
    /// `--csv`: its fields, or why it is no valid CSV record.
    csv: Option<Result<Vec<Vec<u8>>, String>>,
}

/// Reads up to and without the next `delimiter` (not empty) into `out`;
/// false at the end of the input.
fn read_until_delimiter(reader: &mut impl BufRead, delimiter: &[u8], out: &mut Vec<u8>) -> io::Result<bool> {
    let last = delimiter[delimiter.len() - 1];
    let mut any = false;
    loop {
        let n = reader.read_until(last, out)?;
        any |= n > 0;
        if n == 0 {
            return Ok(any);
        }
        if out.ends_with(delimiter) {
            out.truncate(out.len() - delimiter.len());
            return Ok(true);
        }
    }
}

/// Reads up to and without the next `separator`, and whether it was there
/// (the input's last line may lack it); `None` at the end of the input. A line found whole in the buffer, as most are, is copied once into
/// a vector of its size: one allocation, not the three or four of a vector
/// grown as `read_until` fills it.
fn read_line(reader: &mut impl BufRead, separator: u8) -> io::Result<Option<(Vec<u8>, bool)>> {
    let mut line: Option<Vec<u8>> = None;
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            return Ok(line.map(|line| (line, false)));
        }
        let (taken, used) = match crate::bytes::find(separator, buffer) {
            Some(at) => (&buffer[..at], at + 1),
            None => (buffer, buffer.len()),
        };
        match &mut line {
            Some(line) => line.extend_from_slice(taken),
            None => line = Some(taken.to_vec()),
        }
        let found = used > taken.len();
        reader.consume(used);
        if found {
            return Ok(line.map(|line| (line, true)));
        }
    }
}

/// A source being read.
struct Reader {
    inner: BufReader<Box<dyn Read + Send>>,
    name: String,
    line: u64,
    /// `-E EOF` was met.
    ended: bool,
}

impl Reader {
    fn next(&mut self, format: &Format) -> io::Result<Option<Item>> {
        if self.ended {
            return Ok(None);
        }
        let item = if format.csv {
            read_csv_record(&mut self.inner, format.csv_delimiter(), &mut self.line)?.map(|(bytes, line)| Item {
                csv: Some(csv_fields(&bytes, format.csv_delimiter(), line).map_err(|e| format!("{}, {e}", self.name))),
                line,
                bytes,
            })
        } else if let Some(delimiter) = &format.delimiter {
            let mut bytes = Vec::new();
            if !read_until_delimiter(&mut self.inner, delimiter, &mut bytes)? {
                return Ok(None);
            }
            self.line += 1;
            Some(Item {
                line: self.line,
                bytes,
                csv: None,
            })
        } else {
            let separator = if format.null { b'\0' } else { b'\n' };
            let Some((mut bytes, ended)) = read_line(&mut self.inner, separator)? else {
                return Ok(None);
            };
            if ended && !format.null && bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
            self.line += 1;
            Some(Item {
                line: self.line,
                bytes,
                csv: None,
            })
        };
        match (&item, &format.eof) {
            // The rest of the source is left unread, as xargs -E does.
            (Some(item), Some(eof)) if item.bytes == *eof => {
                self.ended = true;
                Ok(None)
            }
            _ => Ok(item),
        }
    }

    /// Every item for a format that takes items as they are (lines or NUL
    /// items, no `-E`, no columns, no trimming), each with its line number
    /// and whether the next is already buffered: found in the read buffer
    /// and copied out once, instead of grown into a vector byte run by
    /// byte run. An item that spans two reads goes the way of [`Reader::next`].
    fn each_plain(
        &mut self,
        format: &Format,
        recycler: Option<&super::Recycler>,
        push: &mut dyn FnMut(u64, Vec<u8>, bool) -> io::Result<()>,
    ) -> io::Result<()> {
        let separator = if format.null { b'\0' } else { b'\n' };
        let mut spare = super::Spare::new(recycler);
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(());
            }
            let mut used = 0;
            while let Some(at) = crate::bytes::find(separator, &buf[used..]) {
                let mut item = &buf[used..used + at];
                used += at + 1;
                if !format.null && item.last() == Some(&b'\r') {
                    item = &item[..item.len() - 1];
                }
                self.line += 1;
                push(self.line, spare.copy(item), used < buf.len())?;
            }
            if used > 0 {
                self.inner.consume(used);
                continue;
            }
            // No separator in the buffer: the item goes on in the next read.
            match self.next(format)? {
                Some(item) => {
                    let ready = self.ready();
                    push(item.line, item.bytes, ready)?;
                }
                None => return Ok(()),
            }
        }
    }

    /// Whether the next value is already buffered.
    fn ready(&self) -> bool {
        !self.inner.buffer().is_empty()
    }

    fn error(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("{} at line {}: {e}", self.name, self.line + 1))
    }
}

enum Values {
    Memory(Vec<Item>),
    Stream(Reader),
}

struct Opened {
    values: Values,
    linked: bool,
}

/// The sources, opened, with the header taken off when asked.
pub struct Sources {
    list: Vec<Opened>,
    /// `--link`: all sources paired, the shorter ones wrapping.
    wrap: bool,
    /// Where records that have run give their buffers back to be read into.
    recycler: Option<std::sync::Arc<super::Recycler>>,
}

/// Opens every source; with `header`, takes each source's first value off
/// and returns the column names it holds, in column order.
pub fn open(specs: &[SourceSpec], format: &Format, wrap: bool, header: bool) -> Result<(Sources, Vec<Vec<u8>>)> {
    let mut list = Vec::with_capacity(specs.len());
    for spec in specs {
        let values = match &spec.origin {
            Origin::Values(values) => Values::Memory(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| value_item(i as u64 + 1, v.as_bytes(), format, &spec.name))
                    .collect(),
            ),
            Origin::File(path) => {
                let file = File::open(path)
                    .with_context(|| format!("cannot open {}: check the path and its permissions", spec.name))?;
                Values::Stream(reader(Box::new(file), &spec.name))
            }
            Origin::Stdin => {
                // On a terminal a note says how to end the input, as GNU
                // parallel's does: a forgotten `:::` or pipe looks like a hang.
                if io::IsTerminal::is_terminal(&io::stdin()) {
                    crate::say("ppool: reading input from the terminal; end with Ctrl-D");
                }
                Values::Stream(reader(Box::new(io::stdin()), &spec.name))
            }
        };
        list.push(Opened {
            values,
            linked: spec.linked,
        });
    }
    let mut sources = Sources {
        list,
        wrap,
        recycler: None,
    };
    let names = if header {
        sources.take_header(format, specs)?
    } else {
        Vec::new()
    };
    sources.load(format, specs)?;
    Ok((sources, names))
}

fn reader(inner: Box<dyn Read + Send>, name: &str) -> Reader {
    Reader {
        inner: BufReader::with_capacity(64 * 1024, inner),
        name: name.to_owned(),
        line: 0,
        ended: false,
    }
}

fn value_item(line: u64, bytes: &[u8], format: &Format, name: &str) -> Item {
    Item {
        line,
        bytes: bytes.to_vec(),
        csv: format
            .csv
            .then(|| csv_fields(bytes, format.csv_delimiter(), 1).map_err(|e| format!("{name}, value {line}: {e}"))),
    }
}

impl Sources {
    /// Plain lines are read into the buffers of records that have run,
    /// which `recycler` gets back.
    pub fn with_recycler(mut self, recycler: std::sync::Arc<super::Recycler>) -> Sources {
        self.recycler = Some(recycler);
        self
    }

    /// `--pipe`: the one stream, as raw bytes; `None` when the sources
    /// are not exactly one stream.
    pub fn into_stream(mut self) -> Option<Box<dyn Read + Send>> {
        if self.list.len() != 1 {
            return None;
        }
        match self.list.pop()?.values {
            Values::Stream(reader) => Some(Box::new(reader.inner)),
            Values::Memory(_) => None,
        }
    }

    /// One source read as it comes: stdin or a file already opened.
    #[cfg(test)]
    pub fn from_reader(inner: Box<dyn Read + Send>, name: &str) -> Sources {
        Sources {
            list: vec![Opened {
                values: Values::Stream(reader(inner, name)),
                linked: false,
            }],
            wrap: false,
            recycler: None,
        }
    }

    /// `:::` groups, combined as their product.
    pub fn from_groups(groups: &[Vec<OsString>], format: &Format) -> Sources {
        let list = groups
            .iter()
            .enumerate()
            .map(|(g, values)| {
                let name = format!("::: group {}", g + 1);
                Opened {
                    values: Values::Memory(
                        values
                            .iter()
                            .enumerate()
                            .map(|(i, v)| value_item(i as u64 + 1, v.as_bytes(), format, &name))
                            .collect(),
                    ),
                    linked: false,
                }
            })
            .collect();
        Sources {
            list,
            wrap: false,
            recycler: None,
        }
    }
}

impl Sources {
    fn take_header(&mut self, format: &Format, specs: &[SourceSpec]) -> Result<Vec<Vec<u8>>> {
        let mut names = Vec::new();
        for (source, spec) in self.list.iter_mut().zip(specs) {
            let first = match &mut source.values {
                Values::Memory(items) => (!items.is_empty()).then(|| items.remove(0)),
                Values::Stream(reader) => reader
                    .next(format)
                    .map_err(|e| reader.error(e))
                    .with_context(|| format!("cannot read the header of {}", spec.name))?,
            };
            if let Some(item) = first {
                match columns(&item, format) {
                    Ok(fields) => names.extend(fields),
                    Err(reason) => anyhow::bail!("the header of {} is no valid CSV: {reason}", spec.name),
                }
            }
        }
        Ok(names)
    }

    /// Reads into memory every source that cannot stream.
    fn load(&mut self, format: &Format, specs: &[SourceSpec]) -> Result<()> {
        let first_streams = self.list.len() == 1 || !(self.wrap || self.list.get(1).is_some_and(|s| s.linked));
        for (i, (source, spec)) in self.list.iter_mut().zip(specs).enumerate() {
            if i == 0 && first_streams {
                continue;
            }
            if let Values::Stream(reader) = &mut source.values {
                let mut items = Vec::new();
                while let Some(item) = reader
                    .next(format)
                    .map_err(|e| reader.error(e))
                    .with_context(|| format!("cannot read {}", spec.name))?
                {
                    items.push(item);
                }
                source.values = Values::Memory(items);
            }
        }
        Ok(())
    }

    /// Sources paired together, by index: one group each unless linked.
    fn groups(&self) -> Vec<Vec<usize>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, source) in self.list.iter().enumerate() {
            match groups.last_mut() {
                Some(group) if self.wrap || source.linked => group.push(i),
                _ => groups.push(vec![i]),
            }
        }
        groups
    }

    /// The tuples of an in-memory group: with `--link` as many as its
    /// longest source (the others wrap), else as its shortest.
    fn tuples(&self, group: &[usize]) -> Vec<Vec<Item>> {
        let lists: Vec<&Vec<Item>> = group
            .iter()
            .filter_map(|&i| match &self.list[i].values {
                Values::Memory(items) => Some(items),
                Values::Stream(_) => None,
            })
            .collect();
        if lists.iter().any(|l| l.is_empty()) {
            return Vec::new();
        }
        let lengths = lists.iter().map(|l| l.len());
        let count = if self.wrap { lengths.max() } else { lengths.min() }.unwrap_or(0);
        (0..count)
            .map(|n| lists.iter().map(|l| l[n % l.len()].clone()).collect())
            .collect()
    }

    /// How many records there will be, when no source streams.
    pub fn known_total(&self) -> Option<u64> {
        if self.list.iter().any(|s| matches!(s.values, Values::Stream(_))) {
            return None;
        }
        Some(
            self.groups()
                .iter()
                .map(|g| self.tuples(g).len() as u64)
                .fold(1u64, u64::saturating_mul),
        )
    }

    /// The first record, for `apply`; `None` when a source is empty.
    pub fn first_record(mut self, format: &Format) -> io::Result<Option<Record>> {
        let single = self.list.len() == 1;
        let mut first = Vec::new();
        for group in self.groups() {
            match &mut self.list[group[0]].values {
                Values::Stream(reader) => match reader.next(format)? {
                    Some(item) => first.push(item),
                    None => return Ok(None),
                },
                Values::Memory(_) => match self.tuples(&group).into_iter().next() {
                    Some(tuple) => first.extend(tuple),
                    None => return Ok(None),
                },
            }
        }
        Ok(Some(assemble(1, &first, format, single)))
    }

    /// Makes every record in order and hands each to `push` with its
    /// sequence number; `push`'s second argument says whether the next
    /// record is at hand (so a slow source's records are sent at once).
    pub(crate) fn each(
        mut self,
        format: &Format,
        push: &mut dyn FnMut(Record, bool) -> io::Result<()>,
    ) -> io::Result<u64> {
        let single = self.list.len() == 1;
        let groups = self.groups();
        let inner: Vec<Vec<Vec<Item>>> = groups[1.min(groups.len())..].iter().map(|g| self.tuples(g)).collect();
        if groups.is_empty() || inner.iter().any(Vec::is_empty) {
            return Ok(0);
        }
        let first = groups[0][0];
        // `-r` drops blank values, which the path below does not look at.
        if inner.is_empty() && groups[0].len() == 1 && !format.skip_blank {
            // One source: each value moves into its record, uncopied.
            let mut seq = 0u64;
            match &mut self.list[first].values {
                Values::Stream(reader) if takes_items_as_they_are(format) => {
                    let mut each = |line: u64, whole: Vec<u8>, ready: bool| {
                        seq += 1;
                        let record = Record {
                            seq,
                            line,
                            whole,
                            ..Record::default()
                        };
                        push(record, ready)
                    };
                    let read = reader.each_plain(format, self.recycler.as_deref(), &mut each);
                    read.map_err(|e| reader.error(e))?;
                }
                Values::Stream(reader) => {
                    while let Some(item) = reader.next(format).map_err(|e| reader.error(e))? {
                        seq += 1;
                        let ready = reader.ready();
                        push(assemble_one(seq, item, format), ready)?;
                    }
                }
                Values::Memory(items) => {
                    for item in std::mem::take(items) {
                        seq += 1;
                        push(assemble_one(seq, item, format), true)?;
                    }
                }
            }
            return Ok(seq);
        }
        let mut seq = 0u64;
        let mut emit = |outer: &[Item], ready: bool, seq: &mut u64| -> io::Result<()> {
            let mut index = vec![0usize; inner.len()];
            loop {
                let mut items: Vec<Item> = outer.to_vec();
                for (g, &i) in index.iter().enumerate() {
                    items.extend(inner[g][i].iter().cloned());
                }
                let blank =
                    format.skip_blank && items.iter().any(|item| item.bytes.iter().all(u8::is_ascii_whitespace));
                if !blank {
                    *seq += 1;
                }
                // Advance the odometer, last group fastest.
                let mut g = inner.len();
                let last = loop {
                    if g == 0 {
                        break true;
                    }
                    g -= 1;
                    index[g] += 1;
                    if index[g] < inner[g].len() {
                        break false;
                    }
                    index[g] = 0;
                };
                if !blank {
                    push(assemble(*seq, &items, format, single), ready || !last)?;
                }
                if last {
                    return Ok(());
                }
            }
        };
        match &mut self.list[first].values {
            Values::Stream(reader) => {
                while let Some(item) = reader.next(format).map_err(|e| reader.error(e))? {
                    let ready = reader.ready();
                    emit(std::slice::from_ref(&item), ready, &mut seq)?;
                }
            }
            Values::Memory(_) => {
                for tuple in self.tuples(&groups[0]) {
                    emit(&tuple, true, &mut seq)?;
                }
            }
        }
        Ok(seq)
    }
}

/// An item's columns: its CSV fields, its `--colsep` columns, or itself.
fn columns(item: &Item, format: &Format) -> Result<Vec<Vec<u8>>, String> {
    let fields = match &item.csv {
        Some(fields) => fields.clone()?,
        None => match &format.colsep {
            Some(colsep) => colsep.split(&item.bytes),
            None => vec![item.bytes.clone()],
        },
    };
    Ok(fields.iter().map(|f| format.trim.apply(f).to_vec()).collect())
}

/// One record from one value of each source. A single source's value is
/// read like a line: `--json` parses it, `--csv` and `--colsep` split it.
/// With several sources, each value's columns follow the one before's, and
/// `{}` is the values joined by a space.
fn assemble(seq: u64, items: &[Item], format: &Format, single: bool) -> Record {
    if single && format.json {
        let item = &items[0];
        let mut record = json_record(seq, item.line, item.bytes.clone());
        record.line = item.line;
        return record;
    }
    let mut record = Record {
        seq,
        line: if single { items[0].line } else { seq },
        ..Record::default()
    };
    // A single plain line has no columns: `{1}` is the whole of it.
    let columns_apply = !single || format.csv || format.colsep.is_some();
    let mut wholes = Vec::with_capacity(items.len());
    for item in items {
        wholes.push(format.trim.apply(&item.bytes));
        // Only `--csv` splitting can fail, and it always applies.
        if !columns_apply {
            continue;
        }
        match columns(item, format) {
            Ok(fields) => record.fields.extend(fields),
            Err(reason) => {
                record.invalid.get_or_insert(format!("invalid CSV in {reason}"));
            }
        }
    }
    record.whole = match wholes[..] {
        [whole] => whole.to_vec(),
        _ => wholes.join(&b' '),
    };
    record
}

/// The record of a lone source's value, which it takes over: the line's
/// bytes become `{}` without a copy (only `--trim` shortens them in place).
/// Whether each line (or NUL item) is a record as it is, as
/// [`assemble_one`] would make it: no `-E`, columns, trimming or JSON.
fn takes_items_as_they_are(format: &Format) -> bool {
    format.delimiter.is_none()
        && format.eof.is_none()
        && format.colsep.is_none()
        && !format.csv
        && !format.json
        && matches!(format.trim, super::columns::Trim::No)
}

fn assemble_one(seq: u64, item: Item, format: &Format) -> Record {
    if format.json {
        return json_record(seq, item.line, item.bytes);
    }
    let mut record = Record {
        seq,
        line: item.line,
        ..Record::default()
    };
    // A plain line has no columns: `{1}` is the whole of it.
    if format.csv || format.colsep.is_some() {
        match columns(&item, format) {
            Ok(fields) => record.fields = fields,
            Err(reason) => record.invalid = Some(format!("invalid CSV in {reason}")),
        }
    }
    let kept = format.trim.apply(&item.bytes);
    let (start, len) = (kept.as_ptr() as usize - item.bytes.as_ptr() as usize, kept.len());
    let mut whole = item.bytes;
    if len != whole.len() {
        whole.truncate(start + len);
        whole.drain(..start);
    }
    record.whole = whole;
    record
}

/// How many records `:::` values give, combined as [`Sources`] combines
/// them; a file or stdin counts as one value.
pub fn count(specs: &[SourceSpec], wrap: bool, header: bool) -> u64 {
    let mut total = 1u64;
    let mut group: Option<u64> = None;
    for (i, spec) in specs.iter().enumerate() {
        let n = match &spec.origin {
            Origin::Values(values) => values.len() as u64,
            _ => 1,
        };
        let n = if header { n.saturating_sub(1) } else { n };
        let joins = i > 0 && (wrap || spec.linked);
        group = match group {
            Some(g) if joins => Some(if g == 0 || n == 0 {
                0
            } else if wrap {
                g.max(n)
            } else {
                g.min(n)
            }),
            Some(g) => {
                total = total.saturating_mul(g);
                Some(n)
            }
            None => Some(n),
        };
    }
    total.saturating_mul(group.unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::super::{Colsep, Trim};
    use super::*;

    #[test]
    fn lines_are_read_across_buffer_refills_and_the_last_may_lack_its_newline() {
        // A 4-byte buffer: most lines are found in several pieces.
        let text: &[u8] = b"a\nbcdefghij\n\nxy\r\nlast\r";
        let mut reader = BufReader::with_capacity(4, text);
        let mut lines = Vec::new();
        while let Some(line) = read_line(&mut reader, b'\n').unwrap() {
            lines.push(line);
        }
        let expected: Vec<(Vec<u8>, bool)> = vec![
            (b"a".to_vec(), true),
            (b"bcdefghij".to_vec(), true),
            (b"".to_vec(), true),
            (b"xy\r".to_vec(), true),
            (b"last\r".to_vec(), false),
        ];
        assert_eq!(lines, expected);
        assert_eq!(read_line(&mut BufReader::new(&b""[..]), b'\n').unwrap(), None);
    }

    #[test]
    fn a_carriage_return_is_dropped_only_before_a_newline() {
        let mut sources = Sources::from_reader(Box::new(&b"a\r\nb\r"[..]), "stdin");
        let format = Format::default();
        let Values::Stream(reader) = &mut sources.list[0].values else {
            unreachable!()
        };
        assert_eq!(reader.next(&format).unwrap().unwrap().bytes, b"a");
        assert_eq!(reader.next(&format).unwrap().unwrap().bytes, b"b\r");
        assert!(reader.next(&format).unwrap().is_none());
    }

    fn one(bytes: &[u8], format: &Format) -> Record {
        let item = Item {
            line: 3,
            bytes: bytes.to_vec(),
            csv: None,
        };
        assemble_one(7, item, format)
    }

    #[test]
    fn a_records_size_stays_small_as_it_passes_through_the_queues_by_value() {
        let size = std::mem::size_of::<Record>();
        assert!(size <= 128, "Record is {size} bytes");
    }

    #[test]
    fn a_lone_sources_value_becomes_its_record_as_the_general_path_makes_it() {
        for trim in [Trim::No, Trim::Left, Trim::Right, Trim::Both] {
            for colsep in [None, Some(Colsep::Literal(b",".to_vec()))] {
                let format = Format {
                    trim,
                    colsep,
                    ..Format::default()
                };
                for text in [&b""[..], b"   ", b" a,b ", b"a", b"\t x \r"] {
                    let item = Item {
                        line: 3,
                        bytes: text.to_vec(),
                        csv: None,
                    };
                    let general = assemble(7, std::slice::from_ref(&item), &format, true);
                    assert_eq!(one(text, &format), general, "{trim:?} {text:?}");
                }
            }
        }
        let trimmed = one(
            b"  a b \t",
            &Format {
                trim: Trim::Both,
                ..Format::default()
            },
        );
        assert_eq!((trimmed.seq, trimmed.line, trimmed.whole), (7, 3, b"a b".to_vec()));
    }
}
