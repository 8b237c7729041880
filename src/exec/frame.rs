//! The builtin worker protocol: length-prefixed binary frames over a pipe,
//! little-endian, shared by ppool (the pool) and `ppool __worker NAME`.
//!
//! Request, pool -> worker: `kind: u8, seq: u64, len: u32`, then `len`
//! record bytes. Kinds:
//! - [`RUN`]: run the record; the answer may wait in the worker's buffer;
//! - [`RUN_AND_FLUSH`]: run it and write the answer at once (used with
//!   `--timeout`, so the pool sees each task end as it happens);
//! - [`FLUSH`]: end of a chunk (seq 0, no bytes): write every held answer.
//!
//! Response, worker -> pool, one per run request and in request order:
//! `seq: u64, failed: u8, code: i32, nanos: u64, out_len: u32, err_len: u32`,
//! then `out_len` stdout bytes and `err_len` stderr bytes (the builtin's
//! failure message and a newline).

use std::io::{self, Read};
use std::time::Duration;

/// Bytes read from a pipe and not yet used: frames or lines are parsed in
/// place, so a buffer full of answers costs one read.
#[derive(Debug)]
pub struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    /// Advanced by a [`super::coprocess::Coprocess`] that reads into
    /// [`ReadBuf::space`] itself, between polls.
    pub(super) end: usize,
}

impl ReadBuf {
    pub(crate) fn new(capacity: usize) -> ReadBuf {
        ReadBuf {
            buf: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Room to read into: moves what is left to the front, and grows the
    /// buffer when a single frame fills it.
    pub(super) fn space(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let len = self.buf.len().max(4096) * 2;
                self.buf.resize(len, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// One read from `reader` (blocking); `Ok(0)` at its end.
    pub(crate) fn read_from(&mut self, reader: &mut impl Read) -> io::Result<usize> {
        loop {
            match reader.read(self.space()) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

pub(crate) const RUN: u8 = b'r';
pub(crate) const RUN_AND_FLUSH: u8 = b't';
pub(crate) const FLUSH: u8 = b'f';

const REQUEST_HEAD: usize = 1 + 8 + 4;
pub(crate) const RESPONSE_HEAD: usize = 8 + 1 + 4 + 8 + 4 + 4;

/// The longest record a frame can carry.
pub(crate) const MAX_RECORD: usize = u32::MAX as usize;

pub(crate) struct Request<'a> {
    pub(crate) kind: u8,
    pub(crate) seq: u64,
    pub(crate) record: &'a [u8],
}

/// Appends one request; `record` must be at most [`MAX_RECORD`] bytes.
pub(crate) fn push_request(buf: &mut Vec<u8>, kind: u8, seq: u64, record: &[u8]) {
    debug_assert!(record.len() <= MAX_RECORD);
    buf.reserve(REQUEST_HEAD + record.len());
    buf.push(kind);
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&(record.len() as u32).to_le_bytes());
    buf.extend_from_slice(record);
}

/// The whole request at the start of `data` and its length in bytes, or
/// `None` while it has not fully arrived.
pub(crate) fn parse_request(data: &[u8]) -> Option<(Request<'_>, usize)> {
    let head = data.get(..REQUEST_HEAD)?;
    let seq = u64::from_le_bytes(head[1..9].try_into().ok()?);
    let len = u32::from_le_bytes(head[9..13].try_into().ok()?) as usize;
    let record = data.get(REQUEST_HEAD..REQUEST_HEAD + len)?;
    Some((
        Request {
            kind: head[0],
            seq,
            record,
        },
        REQUEST_HEAD + len,
    ))
}

/// Starts a response in `buf`: the builtin appends its stdout after this
/// and [`end_response`] fills the head in. Returns where the head starts.
pub(crate) fn begin_response(buf: &mut Vec<u8>, seq: u64) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&seq.to_le_bytes());
    buf.extend_from_slice(&[0; RESPONSE_HEAD - 8]);
    at
}

/// Completes the response begun at `at`: the bytes after its head are
/// `out_len` of stdout, then the rest is stderr.
pub(crate) fn end_response(buf: &mut [u8], at: usize, failure: Option<i32>, duration: Duration, out_len: usize) {
    let err_len = buf.len() - at - RESPONSE_HEAD - out_len;
    let head = &mut buf[at + 8..at + RESPONSE_HEAD];
    head[0] = u8::from(failure.is_some());
    head[1..5].copy_from_slice(&failure.unwrap_or(0).to_le_bytes());
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    head[5..13].copy_from_slice(&nanos.to_le_bytes());
    head[13..17].copy_from_slice(&(out_len as u32).to_le_bytes());
    head[17..21].copy_from_slice(&(err_len as u32).to_le_bytes());
}

pub(crate) struct Response<'a> {
    pub(crate) seq: u64,
    /// The builtin failed with this exit code.
    pub(crate) failure: Option<i32>,
    pub(crate) duration: Duration,
    pub(crate) stdout: &'a [u8],
    pub(crate) stderr: &'a [u8],
}

/// The whole response at the start of `data` and its length, or `None`
/// while it has not fully arrived.
pub(crate) fn parse_response(data: &[u8]) -> Option<(Response<'_>, usize)> {
    let head = data.get(..RESPONSE_HEAD)?;
    let word = |at: usize| u32::from_le_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    let seq = u64::from_le_bytes(head[..8].try_into().ok()?);
    let code = word(9) as i32;
    let nanos = u64::from_le_bytes(head[13..21].try_into().ok()?);
    let out_len = word(21) as usize;
    let err_len = word(25) as usize;
    let total = RESPONSE_HEAD + out_len + err_len;
    let body = data.get(RESPONSE_HEAD..total)?;
    Some((
        Response {
            seq,
            failure: (head[8] != 0).then_some(code),
            duration: Duration::from_nanos(nanos),
            stdout: &body[..out_len],
            stderr: &body[out_len..],
        },
        total,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_wait_for_their_last_byte() {
        let mut buf = Vec::new();
        push_request(&mut buf, RUN, 7, b"a\0b");
        push_request(&mut buf, FLUSH, 0, b"");
        let (first, len) = parse_request(&buf).expect("whole frame");
        assert_eq!((first.kind, first.seq, first.record), (RUN, 7, &b"a\0b"[..]));
        let (second, rest) = parse_request(&buf[len..]).expect("whole frame");
        assert_eq!((second.kind, second.record.len()), (FLUSH, 0));
        assert_eq!(len + rest, buf.len());
        assert!(parse_request(&buf[..len - 1]).is_none());
    }

    #[test]
    fn responses_round_trip() {
        let mut buf = Vec::new();
        let at = begin_response(&mut buf, 3);
        buf.extend_from_slice(b"out\n");
        buf.extend_from_slice(b"bad\n");
        end_response(&mut buf, at, Some(2), Duration::from_micros(5), 4);
        let at = begin_response(&mut buf, 4);
        end_response(&mut buf, at, None, Duration::ZERO, 0);
        let (r, len) = parse_response(&buf).expect("whole frame");
        assert_eq!(
            (r.seq, r.failure, r.stdout, r.stderr),
            (3, Some(2), &b"out\n"[..], &b"bad\n"[..])
        );
        assert_eq!(r.duration, Duration::from_micros(5));
        let (r, rest) = parse_response(&buf[len..]).expect("whole frame");
        assert_eq!((r.seq, r.failure, r.stdout.len(), r.stderr.len()), (4, None, 0, 0));
        assert_eq!(len + rest, buf.len());
        assert!(parse_response(&buf[..len - 1]).is_none());
    }
}
