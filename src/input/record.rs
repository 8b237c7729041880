//! One input record, numbered, as every later stage sees it.

use std::borrow::Cow;

/// One unit of input: a line, a NUL-separated item, one combination of
/// `:::` groups, one JSON Lines value, or a batch of those (`-n`, `-X`,
/// `-m`), which is one task.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Record {
    /// Task sequence number (`{#}`), from 1, in input order.
    pub seq: u64,
    /// Line (or item) number in the input, from 1, for error messages.
    pub line: u64,
    /// What `{}` renders: the line's bytes; `:::` values joined by a space;
    /// a JSON string's text or any other JSON value in compact form.
    pub whole: Vec<u8>,
    /// `{1}`, `{2}`, …: `:::` group values, `--colsep` columns or, with
    /// `--json`, the elements of an array (rendered as `whole` is).
    pub fields: Vec<Vec<u8>>,
    /// The parsed value, with `--json`. Boxed, as `block` is: every record
    /// passes through channels and queues by value, and most have neither.
    pub json: Option<Box<serde_json::Value>>,
    /// Why this record cannot become a task (invalid JSON and such); it
    /// still yields an outcome, with status `invalid-input`.
    pub invalid: Option<String>,
    /// A batch's records, in input order (each numbered by its item); empty
    /// for a single record. A batch's `seq` is its batch number; its
    /// `whole` is empty ([`Record::shown`] joins its records).
    pub batch: Vec<Record>,
    /// `--pipe`: the block of input bytes written to the task's stdin.
    pub block: Option<Box<Block>>,
}

/// Where a `--pipe` block lies in the input: bytes `start..end` (its
/// records, without the `--header` lines), and how many records it holds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Span {
    pub start: u64,
    pub end: u64,
    pub records: u64,
}

/// A `--pipe` block: whole records of the input, fed to one task's stdin.
/// Shared, so that a retried task is fed the same bytes again.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub bytes: std::sync::Arc<super::blocks::Bytes>,
    /// Where the block starts in the input, in bytes.
    pub offset: u64,
    /// The records it holds.
    pub records: u64,
    /// The `--header` lines at its top, in `bytes` and not in the span.
    pub header: usize,
    /// `--pipepart`: the block's records are this range of the file, read
    /// by the task's writer after `bytes` (then only the header).
    pub part: Option<Part>,
    /// `--round-robin`: after its own bytes, the task is fed the blocks it
    /// takes from here, shared with the other tasks, until input ends.
    pub deal: Option<Deal>,
}

/// The blocks still to be dealt to `--round-robin` tasks: each task's
/// writer takes the next one when it is ready for more.
#[derive(Clone)]
pub struct Deal(pub std::sync::Arc<std::sync::Mutex<std::sync::mpsc::Receiver<Vec<Record>>>>);

impl std::fmt::Debug for Deal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deal")
    }
}

impl PartialEq for Deal {
    fn eq(&self, other: &Deal) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

/// A byte range of a seekable file.
#[derive(Debug, Clone)]
pub struct Part {
    pub file: std::sync::Arc<std::fs::File>,
    pub start: u64,
    pub len: u64,
}

impl PartialEq for Part {
    fn eq(&self, other: &Part) -> bool {
        (self.start, self.len) == (other.start, other.len)
    }
}

impl Block {
    /// The bytes a task is sent for the block.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64 + self.part.as_ref().map_or(0, |p| p.len)
    }

    pub fn span(&self) -> Span {
        let start = self.offset;
        Span {
            start,
            end: start + (self.bytes.len() - self.header) as u64 + self.part.as_ref().map_or(0, |p| p.len),
            records: self.records,
        }
    }
}

impl Record {
    /// A plain record of bytes, as lines and NUL items are.
    pub fn text(seq: u64, whole: Vec<u8>) -> Record {
        Record {
            seq,
            line: seq,
            whole,
            ..Record::default()
        }
    }

    /// Records grouped into one task, numbered `seq`. Its text (see
    /// [`Record::shown`]) is joined only where it is shown: a batch holds
    /// up to a command line's worth of records, and joining every batch's
    /// cost a copy of the whole input.
    pub fn batch(seq: u64, records: Vec<Record>) -> Record {
        Record {
            seq,
            line: records.first().map_or(seq, |r| r.line),
            batch: records,
            ..Record::default()
        }
    }

    /// What stands for the record in a tag, a message or a command line
    /// made of it: its text, or a batch's records joined by a space.
    pub fn shown(&self) -> Cow<'_, [u8]> {
        if self.batch.is_empty() {
            return Cow::Borrowed(&self.whole);
        }
        let size = self.batch.iter().map(|r| r.whole.len() + 1).sum::<usize>();
        let mut joined = Vec::with_capacity(size.saturating_sub(1));
        for (i, record) in self.batch.iter().enumerate() {
            if i > 0 {
                joined.push(b' ');
            }
            joined.extend_from_slice(&record.whole);
        }
        Cow::Owned(joined)
    }

    /// A batch's records' texts, for the JSON `input` array; `None` for a
    /// single record.
    pub fn batch_inputs(&self) -> Option<Vec<Vec<u8>>> {
        (!self.batch.is_empty()).then(|| self.batch.iter().map(|r| r.whole.clone()).collect())
    }

    /// The arguments appended to a command that has no placeholder: every
    /// field for `:::` groups and `--colsep`, as GNU parallel does, else the
    /// whole record.
    pub fn implicit_args(&self) -> ImplicitArgs<'_> {
        if self.block.is_some() {
            // A block is the task's stdin, not an argument.
            ImplicitArgs::Fields([].iter())
        } else if self.json.is_none() && !self.fields.is_empty() {
            ImplicitArgs::Fields(self.fields.iter())
        } else {
            ImplicitArgs::Whole(Some(&self.whole))
        }
    }
}

/// A record's arguments when no placeholder places them (see
/// [`Record::implicit_args`]), without a vector made for each record.
pub enum ImplicitArgs<'a> {
    Fields(std::slice::Iter<'a, Vec<u8>>),
    Whole(Option<&'a [u8]>),
}

impl<'a> Iterator for ImplicitArgs<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            ImplicitArgs::Fields(fields) => fields.next().map(Vec::as_slice),
            ImplicitArgs::Whole(whole) => whole.take(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = match self {
            ImplicitArgs::Fields(fields) => fields.len(),
            ImplicitArgs::Whole(whole) => usize::from(whole.is_some()),
        };
        (len, Some(len))
    }
}

impl ExactSizeIterator for ImplicitArgs<'_> {}
