//! `--pipe`: the input cut into blocks of whole records, each block one
//! task that reads it on stdin. Blocks are read on a thread of their own
//! through a short channel, so a slow task holds reading back and memory
//! stays about `jobs × 2 × block` whatever the input size.

use std::io::{self, Read};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::thread;

use super::{Block, ReadEnd, Reading, Record};

/// How the input is cut into blocks.
#[derive(Debug, Clone)]
pub struct Cutting {
    /// About this many bytes per block (`--block`); a record longer than
    /// that grows its block.
    pub size: usize,
    /// A record ends with this (`--recend`)…
    pub recend: Vec<u8>,
    /// …and the next starts with this (`--recstart`); one may be empty,
    /// not both.
    pub recstart: Vec<u8>,
    /// `-N`: exactly this many records per block (the last may have fewer).
    pub records: Option<usize>,
    /// `--pipepart --block -N`: about this many blocks (N × jobs) instead
    /// of `size`, which is then worked out from the file's size.
    pub blocks: Option<usize>,
    /// `--header N`: the first N lines go at the top of every block.
    pub header: usize,
    /// `--header REGEXP`: what it matches at the start of the input goes
    /// at the top of every block instead.
    pub header_regex: Option<regex::bytes::Regex>,
    /// `--pipe -L N`: a record is N lines (of `recend`).
    pub lines_per_record: Option<usize>,
    /// `--regexp`: a match of `--recend` then one of `--recstart`, as one
    /// expression with an empty group where they meet; then `recend` and
    /// `recstart` are not used.
    pub regexp: Option<regex::bytes::Regex>,
    /// Whether each block's records are counted (for `--output json`): a
    /// pass over every byte, which the fastest runs do without.
    pub count: bool,
    /// `--rrs`: the separators taken out of each block.
    pub remove_separators: Option<Separators>,
}

/// `--rrs`: what GNU parallel takes out of a block, in its order: every
/// record end followed by a record start, then a start that opens the
/// block, then an end that closes it.
#[derive(Debug, Clone)]
pub struct Separators {
    between: regex::bytes::Regex,
    leading: regex::bytes::Regex,
    trailing: regex::bytes::Regex,
}

impl Separators {
    /// From `--recend` and `--recstart` as expressions.
    pub fn new(recend: &str, recstart: &str) -> Result<Separators, regex::Error> {
        Ok(Separators {
            between: regex::bytes::Regex::new(&format!("(?:{recend})(?:{recstart})"))?,
            leading: regex::bytes::Regex::new(&format!(r"\A(?:{recstart})"))?,
            trailing: regex::bytes::Regex::new(&format!(r"(?:{recend})\z"))?,
        })
    }

    pub fn remove(&self, block: Vec<u8>) -> Vec<u8> {
        let block = self.between.replace_all(&block, &b""[..]).into_owned();
        let block = self.leading.replace(&block, &b""[..]).into_owned();
        self.trailing.replace(&block, &b""[..]).into_owned()
    }
}

impl Default for Cutting {
    fn default() -> Cutting {
        Cutting {
            size: 1 << 20,
            recend: b"\n".to_vec(),
            recstart: Vec::new(),
            records: None,
            blocks: None,
            header: 0,
            header_regex: None,
            lines_per_record: None,
            regexp: None,
            count: true,
            remove_separators: None,
        }
    }
}

/// `--recend` and `--recstart` as GNU parallel users write them: `\n`,
/// `\t`, `\r`, `\0` and `\\` stand for their characters; any other
/// backslash is kept as written.
pub fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        let escaped = match (b, bytes.peek()) {
            (b'\\', Some(b'n')) => b'\n',
            (b'\\', Some(b't')) => b'\t',
            (b'\\', Some(b'r')) => b'\r',
            (b'\\', Some(b'0')) => 0,
            (b'\\', Some(b'\\')) => b'\\',
            _ => {
                out.push(b);
                continue;
            }
        };
        bytes.next();
        out.push(escaped);
    }
    out
}

/// `--block SIZE` as GNU parallel reads it: a number, maybe with a
/// fraction, then `k`, `m`, `g`, `t` for powers of 1000 or `K`, `M`, `G`,
/// `T` (or `Ki`, `ki`, …) for powers of 1024. `None` when it is not one.
pub fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits);
    let number: f64 = number.parse().ok()?;
    let (letter, binary) = match suffix.strip_suffix('i') {
        Some(letter) => (letter, true),
        None => (suffix, suffix.chars().all(|c| c.is_ascii_uppercase())),
    };
    let power = match letter.to_ascii_lowercase().as_str() {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        _ => return None,
    };
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let bytes = number * base.powi(power);
    (bytes.is_finite() && bytes < usize::MAX as f64).then_some(bytes as usize)
}

/// Buffers of finished blocks kept for later ones, every one: reused
/// memory is already mapped, which spares the page faults of fresh memory.
/// A buffer given back to the allocator would stay in its arena (blocks are
/// above the size it maps and unmaps on its own after the first one is
/// freed) while the next block took fresh memory beside it: ppool would
/// hold more than the blocks in use. Kept, the buffers are never more than
/// the most blocks in use at once, `(jobs + 3)` (the running tasks', one
/// waiting, one being handed over, one being read).
type Pool = Mutex<Vec<Vec<u8>>>;

/// A block's bytes. When the last holder lets go (its task is done), the
/// buffer goes back to the reader for a later block.
#[derive(Debug, Default)]
pub struct Bytes {
    vec: Vec<u8>,
    pool: Option<Arc<Pool>>,
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.vec
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        self.vec == other.vec
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            let mut vec = std::mem::take(&mut self.vec);
            vec.clear();
            crate::lock(pool).push(vec);
        }
    }
}

/// Reads of a pipe return at most this much at a time anyway.
const CHUNK: usize = 64 * 1024;

/// Starts cutting `reader` into blocks on a thread of its own; the receiver
/// yields one block (a record) at a time, at most `ahead` of them waiting.
pub fn spawn(mut reader: Box<dyn Read + Send>, cutting: Cutting, ahead: usize) -> io::Result<Reading> {
    send_blocks(ahead, move |send| cut(&mut reader, &cutting, send))
}

/// `--pipepart`: starts cutting `file` into byte ranges on a thread of its
/// own; only the header and a little around each cut are read here.
pub fn spawn_parts(file: std::fs::File, cutting: Cutting, ahead: usize) -> io::Result<Reading> {
    send_blocks(ahead, move |send| parts(Arc::new(file), &cutting, send))
}

/// Runs `produce` on a thread of its own, each block it makes becoming a
/// record numbered from 1, at most `ahead` of them waiting; `produce`
/// returns false when nobody takes blocks any more (a stop).
fn send_blocks(
    ahead: usize,
    produce: impl FnOnce(&mut dyn FnMut(Block) -> bool) -> io::Result<bool> + Send + 'static,
) -> io::Result<Reading> {
    let (tx, rx) = sync_channel(ahead.max(1));
    let end = Arc::new(Mutex::new(ReadEnd::default()));
    let end_writer = Arc::clone(&end);
    thread::Builder::new().name("input".into()).spawn(move || {
        let mut seq = 0;
        let result = produce(&mut |block| {
            seq += 1;
            let record = Record {
                seq,
                line: seq,
                block: Some(Box::new(block)),
                ..Record::default()
            };
            tx.send(vec![record]).is_ok()
        });
        let mut end = crate::lock(&end_writer);
        match result {
            Ok(true) => end.total = Some(seq),
            Ok(false) => {}
            Err(e) => end.error = Some(format!("cannot read input: {e}")),
        }
    })?;
    Ok((rx, end))
}

/// Cuts `file` into ranges of whole records of about `cutting.size` bytes.
fn parts(file: Arc<std::fs::File>, cutting: &Cutting, send: &mut dyn FnMut(Block) -> bool) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    let mut reader = &*file;
    let mut buf = Buffer {
        bytes: Vec::new(),
        start: 0,
        eof: false,
        pool: Arc::new(Mutex::new(Vec::new())),
    };
    let header = Arc::new(Bytes {
        vec: read_header(&mut reader, &mut buf, cutting)?,
        pool: None,
    });
    // As GNU parallel: 1 + size / blocks, so the cuts fall just past equal
    // shares and the last block is the shortest.
    let size = match cutting.blocks {
        Some(blocks) => 1 + len / blocks.max(1) as u64,
        None => cutting.size.max(1) as u64,
    };
    let mut start = header.len() as u64;
    while start < len {
        // As GNU parallel: the first record boundary past `size` bytes on.
        let mut end = start.saturating_add(size);
        if end < len {
            // The first boundary at or after `end`, read around it.
            let back = cutting.recend.len().max(1) as u64;
            let from = end - back.min(end - start);
            let mut window = 64 * 1024;
            end = loop {
                let want = window.min((len - from) as usize);
                let mut bytes = vec![0; want];
                let mut got = 0;
                while got < want {
                    match file.read_at(&mut bytes[got..], from + got as u64)? {
                        0 => break,
                        n => got += n,
                    }
                }
                bytes.truncate(got);
                let eof = from + got as u64 >= len;
                let after = (end - from) as usize;
                if let Some(p) = cutting.next_boundary(&bytes, after, eof) {
                    break from + p as u64;
                }
                if eof {
                    break len;
                }
                window *= 2;
            };
        }
        let end = end.min(len);
        let block = Block {
            bytes: Arc::clone(&header),
            offset: start,
            records: 0,
            header: header.len(),
            part: Some(super::Part {
                file: Arc::clone(&file),
                start,
                len: end - start,
            }),
            deal: None,
        };
        start = end;
        if !send(block) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `--round-robin`: `jobs` tasks, each fed blocks from `blocks` as it is
/// ready for more, until the input ends.
pub fn deal(blocks: Reading, jobs: usize) -> Reading {
    let (rx, end) = blocks;
    let shared = super::Deal(Arc::new(Mutex::new(rx)));
    let (tx, tasks) = sync_channel(jobs.max(1));
    for seq in 1..=jobs.max(1) as u64 {
        let block = Block {
            bytes: Arc::new(Bytes::default()),
            offset: 0,
            records: 0,
            header: 0,
            part: None,
            deal: Some(shared.clone()),
        };
        let record = Record {
            seq,
            line: seq,
            block: Some(Box::new(block)),
            ..Record::default()
        };
        // Room for every one: the channel holds `jobs`.
        let _ = tx.send(vec![record]);
    }
    (tasks, end)
}

/// The input read so far and not yet sent, from `start`.
struct Buffer {
    bytes: Vec<u8>,
    start: usize,
    eof: bool,
    pool: Arc<Pool>,
}

impl Buffer {
    fn pending(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    /// Reads until `want` bytes are pending or the input ends.
    fn fill(&mut self, reader: &mut dyn Read, want: usize) -> io::Result<()> {
        if self.start > 0 && self.start >= self.bytes.len() / 2 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        while !self.eof && self.pending().len() < want {
            let missing = want - self.pending().len();
            self.bytes.reserve(missing);
            let got = reader.take(missing as u64).read_to_end(&mut self.bytes)?;
            if got < missing {
                self.eof = true;
            }
        }
        Ok(())
    }

    /// One read of what is there (at least one byte, or the end): a slow
    /// producer's records are counted as they come.
    fn read_some(&mut self, reader: &mut dyn Read) -> io::Result<()> {
        if self.start > 0 && self.start >= self.bytes.len() / 2 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        let mut chunk = [0u8; CHUNK];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.bytes.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            return Ok(());
        }
    }

    /// An empty buffer, a finished block's if one is free.
    fn fresh(&self) -> Vec<u8> {
        crate::lock(&self.pool).pop().unwrap_or_default()
    }

    /// Takes the first `len` pending bytes.
    fn take(&mut self, len: usize) -> Vec<u8> {
        let mut other = self.fresh();
        if self.start == 0 && len * 2 >= self.bytes.len() {
            // Most of the buffer: hand it over and keep the short rest.
            other.extend_from_slice(&self.bytes[len..]);
            self.bytes.truncate(len);
            std::mem::replace(&mut self.bytes, other)
        } else {
            other.extend_from_slice(&self.bytes[self.start..self.start + len]);
            self.start += len;
            other
        }
    }
}

/// Cuts the input into blocks and hands each to `send`, in order; false
/// when `send` refused one (nobody takes them any more).
pub fn cut(reader: &mut dyn Read, cutting: &Cutting, send: &mut dyn FnMut(Block) -> bool) -> io::Result<bool> {
    let mut buf = Buffer {
        bytes: Vec::new(),
        start: 0,
        eof: false,
        pool: Arc::new(Mutex::new(Vec::new())),
    };
    let header = read_header(reader, &mut buf, cutting)?;
    let mut offset = header.len() as u64;
    loop {
        let len = match cutting.records {
            Some(n) => loop {
                if let Some(p) = cutting.nth_boundary(buf.pending(), n, buf.eof) {
                    break p;
                }
                if buf.eof {
                    break buf.pending().len();
                }
                buf.read_some(reader)?;
            },
            // Neither a record end nor a start: blocks of exactly the size.
            None if cutting.recend.is_empty() && cutting.recstart.is_empty() && cutting.regexp.is_none() => {
                let want = cutting.size.max(1);
                buf.fill(reader, want)?;
                buf.pending().len().min(want)
            }
            None => {
                let mut want = cutting.size.max(1);
                loop {
                    buf.fill(reader, want)?;
                    if buf.eof {
                        // GNU parallel: a last record short of N lines
                        // is a block of its own.
                        let whole = cutting
                            .lines_per_record
                            .and_then(|n| cutting.last_line_group(buf.pending(), n));
                        break whole.unwrap_or(buf.pending().len());
                    }
                    let last = match cutting.lines_per_record {
                        Some(n) => cutting.last_line_group(buf.pending(), n),
                        None => cutting.last_boundary(buf.pending()),
                    };
                    if let Some(p) = last {
                        break p;
                    }
                    // No whole record yet: the block grows to hold one.
                    want = want.saturating_mul(2);
                }
            }
        };
        if len == 0 {
            return Ok(true);
        }
        let records = buf.take(len);
        let counted = match cutting.count {
            true => cutting.count(&records),
            false => 0,
        };
        let records = match &cutting.remove_separators {
            Some(separators) => separators.remove(records),
            None => records,
        };
        let bytes = if header.is_empty() {
            records
        } else {
            let mut bytes = buf.fresh();
            bytes.extend_from_slice(&header);
            bytes.extend_from_slice(&records);
            bytes
        };
        let block = Block {
            records: counted,
            bytes: Arc::new(Bytes {
                vec: bytes,
                pool: Some(Arc::clone(&buf.pool)),
            }),
            offset,
            header: header.len(),
            part: None,
            deal: None,
        };
        offset += len as u64;
        if !send(block) {
            return Ok(false);
        }
    }
}

/// The header, taken off the buffer: the first `cutting.header` lines, or
/// what `cutting.header_regex` matches at the start of the first block's
/// worth of input.
fn read_header(reader: &mut dyn Read, buf: &mut Buffer, cutting: &Cutting) -> io::Result<Vec<u8>> {
    if let Some(re) = &cutting.header_regex {
        // More input may make a longer match: read on while the match
        // reaches the end of what was read, up to a block or 1 MiB.
        let most = cutting.size.max(1 << 20);
        let mut want = cutting.size.clamp(1, 4096);
        loop {
            buf.fill(reader, want)?;
            let found = re.find(buf.pending()).filter(|m| m.start() == 0).map(|m| m.end());
            let whole = matches!(found, Some(end) if end < buf.pending().len());
            if whole || buf.eof || want >= most {
                return Ok(buf.take(found.unwrap_or(0)));
            }
            want = want.saturating_mul(2).min(most);
        }
    }
    let lines = cutting.header;
    if lines == 0 {
        return Ok(Vec::new());
    }
    let mut from = 0;
    let mut found = 0;
    loop {
        while let Some(i) = buf.pending()[from..].iter().position(|&b| b == b'\n') {
            from += i + 1;
            found += 1;
            if found == lines {
                return Ok(buf.take(from));
            }
        }
        if buf.eof {
            let all = buf.pending().len();
            return Ok(buf.take(all));
        }
        buf.read_some(reader)?;
    }
}

impl Cutting {
    /// Where the last whole group of `n` lines in `buf` ends.
    fn last_line_group(&self, buf: &[u8], n: usize) -> Option<usize> {
        let end = *self.recend.last().unwrap_or(&b'\n');
        let mut lines = 0;
        let mut last = None;
        for (i, _) in buf.iter().enumerate().filter(|&(_, &b)| b == end) {
            lines += 1;
            if lines % n.max(1) == 0 {
                last = Some(i + 1);
            }
        }
        last
    }

    /// Whether one record ends and the next starts at `p` (the bytes of
    /// `--recstart` after it must be there to tell).
    fn is_boundary(&self, buf: &[u8], p: usize) -> bool {
        p > 0 && buf[..p].ends_with(&self.recend) && buf[p..].starts_with(&self.recstart)
    }

    /// The last record boundary in `buf`, searched from its end: only the
    /// last, partial record is scanned.
    fn last_boundary(&self, buf: &[u8]) -> Option<usize> {
        if let Some(re) = &self.regexp {
            return re
                .captures_iter(buf)
                .filter_map(|c| regexp_boundary(&c, buf.len(), false))
                .last();
        }
        let mut end = buf.len().checked_sub(self.recstart.len())?;
        loop {
            let p = match self.recend.last() {
                Some(&last) => buf[..end].iter().rposition(|&b| b == last)? + 1,
                None => buf[..=end.min(buf.len().checked_sub(1)?)]
                    .iter()
                    .rposition(|&b| b == self.recstart[0])?,
            };
            if self.is_boundary(buf, p) {
                return Some(p);
            }
            end = p.checked_sub(1)?;
        }
    }

    /// The first record boundary after `from` in `buf`.
    fn next_boundary(&self, buf: &[u8], from: usize, eof: bool) -> Option<usize> {
        if let Some(re) = &self.regexp {
            let mut at = from;
            while at < buf.len() {
                let c = re.captures_at(buf, at)?;
                match regexp_boundary(&c, buf.len(), eof) {
                    Some(p) if p > from => return Some(p),
                    _ => at = c.get(0)?.start() + 1,
                }
            }
            return None;
        }
        let limit = buf.len().checked_sub(self.recstart.len())?;
        let mut start = from + 1;
        loop {
            if start > limit {
                return None;
            }
            let p = match self.recend.last() {
                Some(&last) => start + buf[start - 1..limit].iter().position(|&b| b == last)?,
                None => start + buf[start..=limit].iter().position(|&b| b == self.recstart[0])?,
            };
            if self.is_boundary(buf, p) {
                return Some(p);
            }
            start = p + 1;
        }
    }

    /// Where the `n`th record of `buf` ends; at the end of the input, the
    /// end of `buf` ends the last one.
    fn nth_boundary(&self, buf: &[u8], n: usize, eof: bool) -> Option<usize> {
        let mut p = 0;
        for _ in 0..n {
            match self.next_boundary(buf, p, eof) {
                Some(next) => p = next,
                None if eof && p < buf.len() => return Some(buf.len()),
                None => return None,
            }
        }
        Some(p)
    }

    /// The records in a block of whole records.
    fn count(&self, block: &[u8]) -> u64 {
        if block.is_empty() {
            return 0;
        }
        // Blocks of a fixed size hold one record each.
        if self.recend.is_empty() && self.recstart.is_empty() && self.regexp.is_none() {
            return 1;
        }
        if let ([end], true, None) = (self.recend.as_slice(), self.recstart.is_empty(), &self.regexp) {
            let ends = block.iter().filter(|&&b| b == *end).count() as u64;
            return ends + u64::from(block.last() != Some(end));
        }
        let mut records = 1;
        let mut p = 0;
        while let Some(next) = self.next_boundary(block, p, true) {
            if next >= block.len() {
                break;
            }
            records += 1;
            p = next;
        }
        records
    }
}

/// Where a `--regexp` match puts a boundary: at its empty group, when
/// that is past the start and, before the end of the input, the match does
/// not reach the end of what was read (more bytes could change it).
fn regexp_boundary(c: &regex::bytes::Captures, len: usize, eof: bool) -> Option<usize> {
    let p = c.get(1)?.start();
    (p > 0 && (eof || c.get(0)?.end() < len)).then_some(p)
}

/// The one expression `--regexp` cuts with: `recend`, an empty group where
/// a block may end, then `recstart`.
pub fn regexp(recend: &str, recstart: &str) -> Result<regex::bytes::Regex, regex::Error> {
    regex::bytes::Regex::new(&format!("(?:{recend})()(?:{recstart})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(input: &[u8], cutting: &Cutting) -> Vec<(Vec<u8>, u64, u64)> {
        let mut out = Vec::new();
        let mut reader = input;
        let done = cut(&mut reader, cutting, &mut |b| {
            out.push((b.bytes.to_vec(), b.offset, b.records));
            true
        })
        .unwrap();
        assert!(done);
        out
    }

    fn texts(input: &[u8], cutting: &Cutting) -> Vec<String> {
        blocks(input, cutting)
            .into_iter()
            .map(|(b, _, _)| String::from_utf8(b).unwrap())
            .collect()
    }

    fn sized(size: usize) -> Cutting {
        Cutting {
            size,
            ..Cutting::default()
        }
    }

    #[test]
    fn sizes_and_escapes_read_as_gnu_parallel_reads_them() {
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("10k"), Some(10_000));
        assert_eq!(parse_size("2Ki"), Some(2048));
        assert_eq!(parse_size("1.5K"), Some(1536));
        assert_eq!(parse_size("300"), Some(300));
        assert_eq!(parse_size("1X"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(unescape(br"\n\0a\t\\\x"), b"\n\0a\t\\\\x");
    }

    #[test]
    fn blocks_end_at_the_last_newline_within_the_size() {
        assert_eq!(texts(b"aa\nbb\ncc\ndd\n", &sized(7)), ["aa\nbb\n", "cc\ndd\n"]);
        let all = blocks(b"aa\nbb\ncc\ndd\n", &sized(7));
        assert_eq!((all[1].1, all[1].2), (6, 2));
    }

    #[test]
    fn every_finished_block_gives_its_buffer_back_for_later_ones() {
        // Five blocks in use at once, as with three tasks running: all five
        // buffers are kept, so the next five take no fresh memory.
        let mut held = Vec::new();
        let mut reader = &b"aa\nbb\ncc\ndd\nee\nff\ngg\nhh\nii\njj\n"[..];
        cut(&mut reader, &sized(6), &mut |block| {
            held.push(block);
            true
        })
        .unwrap();
        assert_eq!(held.len(), 5);
        let pool = held[0].bytes.pool.clone().unwrap();
        drop(held);
        assert_eq!(crate::lock(&pool).len(), 5);
    }

    #[test]
    fn a_record_longer_than_the_block_grows_it() {
        assert_eq!(texts(b"a\nbbbbbbbbbb\nc\n", &sized(3)), ["a\n", "bbbbbbbbbb\n", "c\n"]);
    }

    #[test]
    fn input_without_a_final_newline_and_empty_input() {
        assert_eq!(texts(b"a\nb", &sized(100)), ["a\nb"]);
        assert_eq!(blocks(b"a\nb", &sized(100))[0].2, 2);
        assert!(texts(b"", &sized(100)).is_empty());
    }

    #[test]
    fn recstart_and_recend_cut_between_them() {
        let cutting = Cutting {
            size: 6,
            recend: b"\n".to_vec(),
            recstart: b">".to_vec(),
            ..Cutting::default()
        };
        let input = b">a\nx\n>b\ny\n>c\n";
        assert_eq!(texts(input, &cutting), [">a\nx\n", ">b\ny\n", ">c\n"]);
        assert_eq!(blocks(input, &cutting)[0].2, 1);
        let only_start = Cutting {
            recend: Vec::new(),
            ..cutting
        };
        assert_eq!(
            texts(
                b"SaaSbSc",
                &Cutting {
                    size: 3,
                    recstart: b"S".to_vec(),
                    ..only_start
                }
            ),
            ["SaaSb", "Sc"]
        );
    }

    #[test]
    fn n_records_per_block_and_a_header_on_each() {
        let cutting = Cutting {
            records: Some(2),
            header: 1,
            ..Cutting::default()
        };
        assert_eq!(texts(b"h\n1\n2\n3\n4\n5", &cutting), ["h\n1\n2\n", "h\n3\n4\n", "h\n5"]);
        let nul = Cutting {
            recend: vec![0],
            records: Some(1),
            ..Cutting::default()
        };
        assert_eq!(texts(b"a\nb\0c\0", &nul), ["a\nb\0", "c\0"]);
    }

    #[test]
    fn regexp_cuts_where_the_expressions_meet() {
        let cutting = Cutting {
            size: 8,
            records: None,
            regexp: Some(regexp("\\n+", "[0-9]").unwrap()),
            ..Cutting::default()
        };
        assert_eq!(
            texts(b"1a\n\nb\n2c\n3d\n\n4e\n", &cutting),
            ["1a\n\nb\n", "2c\n", "3d\n\n4e\n"]
        );
        let n = Cutting {
            records: Some(2),
            ..cutting
        };
        assert_eq!(texts(b"1a\n\nb\n2c\n3d\n\n4e\n", &n), ["1a\n\nb\n2c\n", "3d\n\n4e\n"]);
    }

    proptest::proptest! {
        #[test]
        fn blocks_concatenate_to_the_input_and_end_at_records(
            bytes in proptest::collection::vec(proptest::prop_oneof![proptest::strategy::Just(b'\n'), proptest::strategy::Just(b'>'), proptest::num::u8::ANY], 0..300),
            size in 1usize..40,
            start in proptest::bool::ANY,
        ) {
            let cutting = Cutting {
                size,
                recstart: if start { b">".to_vec() } else { Vec::new() },
                ..Cutting::default()
            };
            let all = blocks(&bytes, &cutting);
            let joined: Vec<u8> = all.iter().flat_map(|(b, _, _)| b.clone()).collect();
            proptest::prop_assert_eq!(&joined, &bytes);
            let mut at = 0;
            for (block, offset, _) in &all {
                proptest::prop_assert_eq!(*offset, at as u64);
                at += block.len();
                if at < bytes.len() {
                    proptest::prop_assert!(cutting.is_boundary(&bytes, at));
                }
            }
        }
    }
}
