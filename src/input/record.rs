//! One input record, numbered, as every later stage sees it.

/// One unit of input: a line, a NUL-separated item, one combination of
/// `:::` groups, or one JSON Lines value.
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
    /// The parsed value, with `--json`.
    pub json: Option<serde_json::Value>,
    /// Why this record cannot become a task (invalid JSON and such); it
    /// still yields an outcome, with status `invalid-input`.
    pub invalid: Option<String>,
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

    /// The arguments appended to a command that has no placeholder: every
    /// field for `:::` groups and `--colsep`, as GNU parallel does, else the
    /// whole record.
    pub fn implicit_args(&self) -> Vec<&[u8]> {
        if self.json.is_none() && !self.fields.is_empty() {
            self.fields.iter().map(Vec::as_slice).collect()
        } else {
            vec![self.whole.as_slice()]
        }
    }
}
