//! Input: lines, NUL items, `:::` groups, `--colsep` columns and JSON Lines,
//! read lazily on a thread of its own and numbered in order.

pub mod blocks;
pub mod columns;
mod record;
pub mod sources;

pub use columns::{Colsep, Trim};
pub use record::{Block, Deal, Part, Record, Span};
pub use sources::{Origin, SourceSpec, Sources};

use std::io;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

/// Records travel in batches so that millions of tiny records do not cost a
/// channel operation each; a batch is sent early whenever the reader would
/// block, so a slow producer's records still start at once.
const BATCH: usize = 1024;
/// Batches read ahead of the workers: bounds memory whatever the input size.
const READ_AHEAD: usize = 16;

/// How a raw item becomes a record.
#[derive(Debug, Clone, Default)]
pub struct Format {
    /// `-0`: items end with NUL instead of newline.
    pub null: bool,
    /// `-d DELIM`: items end with DELIM instead of newline, which is then
    /// part of an item.
    pub delimiter: Option<Vec<u8>>,
    /// `-E EOF`: a stdin or file item equal to EOF ends its source.
    pub eof: Option<Vec<u8>>,
    pub colsep: Option<Colsep>,
    /// `--csv`: each item is a CSV record (RFC 4180); the delimiter is a
    /// one-byte `--colsep`, else a comma.
    pub csv: bool,
    pub trim: Trim,
    pub json: bool,
    /// `-r`: a record with an empty or blank value is left out, and the
    /// records after it are numbered as if it never was (GNU parallel's `-r`).
    pub skip_blank: bool,
    /// `--shuf`: every record is read first, then they go on in random
    /// order, numbered in that order.
    pub shuffle: bool,
}

/// `-n`, `-X`, `-m`: consecutive records grouped into one task, as many as
/// `max_records` and the command-line size allow.
pub struct Grouping {
    pub max_records: usize,
    /// The command line's limit, in `size` units.
    pub max_size: usize,
    /// The size of a command with no record in it.
    pub base: usize,
    /// What one record adds to the command line.
    pub size: Box<dyn Fn(&Record) -> usize + Send>,
    /// `-X`/`-m` with no count: the input's last command (the whole input
    /// when it fits in one) is spread over this many tasks (the job
    /// slots), as GNU parallel spreads it.
    pub spread: usize,
    /// Groups read ahead of the slots: about one for each. A group holds
    /// up to a command line's worth of records, and reading the whole input
    /// ahead gave each of them fresh memory where they could have reused the
    /// memory of groups that have run.
    pub ahead: usize,
}

impl Format {
    fn csv_delimiter(&self) -> u8 {
        match &self.colsep {
            Some(Colsep::Literal(sep)) if sep.len() == 1 => sep[0],
            _ => b',',
        }
    }
}

/// What the reader thread leaves behind: how many records it read, and the
/// error that stopped it early, if any.
/// The byte buffers of records that have run, handed back to the reader to
/// read new records into: a stream of millions of short records then
/// costs no allocation a record, nor a free on another thread than the
/// one that allocated it.
#[derive(Debug, Default)]
pub struct Recycler {
    bundles: Mutex<Vec<Vec<Vec<u8>>>>,
}

/// Bundles of buffers kept at most: as many batches as the reader may have
/// read ahead.
const RECYCLED_BUNDLES: usize = READ_AHEAD;
/// A buffer larger than this (a long record's) is freed, not kept.
const RECYCLED_CAPACITY: usize = 256;

impl Recycler {
    /// Records that have run: their buffers are kept for the reader, unless
    /// it has plenty already.
    pub fn give(&self, records: Vec<Record>) {
        if records.is_empty() || crate::lock(&self.bundles).len() >= RECYCLED_BUNDLES {
            return;
        }
        let buffers: Vec<Vec<u8>> = records
            .into_iter()
            .map(|record| record.whole)
            .filter(|whole| whole.capacity() <= RECYCLED_CAPACITY)
            .collect();
        crate::lock(&self.bundles).push(buffers);
    }

    fn take(&self) -> Option<Vec<Vec<u8>>> {
        crate::lock(&self.bundles).pop()
    }
}

/// The reader's side of a [`Recycler`]: buffers at hand, and when to look
/// for more.
struct Spare<'a> {
    recycler: Option<&'a Recycler>,
    stock: Vec<Vec<u8>>,
    /// Records to copy before looking again when the recycler had none:
    /// the lock is not taken for each record of a run that gives none back.
    wait: usize,
}

impl<'a> Spare<'a> {
    fn new(recycler: Option<&'a Recycler>) -> Spare<'a> {
        Spare {
            recycler,
            stock: Vec::new(),
            wait: 0,
        }
    }

    /// `bytes` in a buffer of their own: a recycled one when there is one.
    fn copy(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.stock.is_empty() {
            if let Some(recycler) = self.recycler {
                if self.wait == 0 {
                    match recycler.take() {
                        Some(bundle) => self.stock = bundle,
                        None => self.wait = BATCH,
                    }
                } else {
                    self.wait -= 1;
                }
            }
        }
        match self.stock.pop() {
            Some(mut buffer) => {
                buffer.clear();
                buffer.extend_from_slice(bytes);
                buffer
            }
            None => bytes.to_vec(),
        }
    }
}

#[derive(Debug, Default)]
pub struct ReadEnd {
    pub total: Option<u64>,
    pub error: Option<String>,
}

/// The records, in batches, and how reading ended.
pub type Reading = (Receiver<Vec<Record>>, Arc<Mutex<ReadEnd>>);

/// Starts reading on a thread of its own. The receiver yields batches in
/// order; when it closes, `end` says whether input ended or failed.
/// Fails only when the thread cannot be started (the thread limit).
/// Records known already (no source streams) that fit in the channel are
/// all sent before it returns, with no thread: a thread is a measurable
/// share of a short run.
pub fn spawn(sources: Sources, format: Format, grouping: Option<Grouping>) -> io::Result<Reading> {
    let end = Arc::new(Mutex::new(ReadEnd::default()));
    // Each batch holds one record at least, and without grouping up to
    // `BATCH`: sending never waits for room.
    let room = if grouping.is_some() {
        READ_AHEAD
    } else {
        READ_AHEAD * BATCH
    };
    if sources.known_total().is_some_and(|n| n <= room as u64) {
        let (tx, rx) = sync_channel(READ_AHEAD);
        read_all(sources, &format, grouping, tx, &end);
        return Ok((rx, end));
    }
    let ahead = grouping.as_ref().map_or(READ_AHEAD, |g| g.ahead.clamp(1, READ_AHEAD));
    let (tx, rx) = sync_channel(ahead);
    let end_writer = Arc::clone(&end);
    thread::Builder::new()
        .name("input".into())
        .spawn(move || read_all(sources, &format, grouping, tx, &end_writer))?;
    Ok((rx, end))
}

/// Reads every record of `sources` into `tx`, then records in `end` how
/// reading ended.
fn read_all(
    sources: Sources,
    format: &Format,
    grouping: Option<Grouping>,
    tx: SyncSender<Vec<Record>>,
    end: &Mutex<ReadEnd>,
) {
    // No more room than the records need: a batch's room for `BATCH`
    // records is a mapping of its own, dear for a run of one task. A group
    // goes on alone, as soon as it is full.
    let room = match &grouping {
        Some(_) => 1,
        None => sources
            .known_total()
            .map_or(BATCH, |n| n.clamp(1, BATCH as u64) as usize),
    };
    let mut batcher = Batcher::new(tx, grouping, room);
    let result = if format.shuffle {
        shuffled(sources, format, &mut batcher)
    } else {
        sources.each(format, &mut |record, ready| batcher.push(record, ready))
    };
    // The last group is not full, and runs all the same; after a read
    // error too, as the records read before it do.
    let result = match result {
        Ok(_) => batcher.finish_input(),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(e),
        Err(e) => {
            let _ = batcher.finish_group();
            Err(e)
        }
    };
    let mut end = crate::lock(end);
    match result {
        Ok(()) => end.total = Some(batcher.tasks),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => end.error = Some(format!("cannot read {e}")),
    }
    batcher.flush();
}

/// `--shuf`: reads every record, then pushes them in random order, each
/// numbered by its place in it. Records read before a read error still go.
fn shuffled(sources: Sources, format: &Format, batcher: &mut Batcher) -> io::Result<u64> {
    let mut all = Vec::new();
    let read = sources.each(format, &mut |record, _| {
        all.push(record);
        Ok(())
    });
    shuffle(&mut all);
    let count = all.len() as u64;
    for (i, mut record) in all.into_iter().enumerate() {
        record.seq = i as u64 + 1;
        batcher.push(record, true)?;
    }
    read.map(|_| count)
}

/// Fisher–Yates with xorshift, seeded by the clock and the process: the
/// order need only differ between runs, not resist guessing.
fn shuffle<T>(items: &mut [T]) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut state = (nanos ^ (u64::from(std::process::id()) << 32)) | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

struct Batcher {
    tx: SyncSender<Vec<Record>>,
    /// Allocated when its first record comes, with room for `room`.
    batch: Vec<Record>,
    room: usize,
    /// Records sent on: records, or groups of them.
    tasks: u64,
    closed: bool,
    grouping: Option<Grouping>,
    /// The records of the group being filled, and its size so far.
    group: Vec<Record>,
    group_size: usize,
}

impl Batcher {
    fn new(tx: SyncSender<Vec<Record>>, grouping: Option<Grouping>, room: usize) -> Batcher {
        Batcher {
            tx,
            batch: Vec::new(),
            room,
            tasks: 0,
            closed: false,
            grouping,
            group: Vec::new(),
            group_size: 0,
        }
    }

    /// Adds a record to the group being filled: a group that is full, or
    /// that the record would make too long, goes on first. A record too long
    /// for any command becomes a task of its own that fails.
    fn push(&mut self, record: Record, ready: bool) -> io::Result<()> {
        let Some(grouping) = &self.grouping else {
            self.tasks += 1;
            return self.send(record, ready);
        };
        let size = (grouping.size)(&record);
        let (base, max_size, max_records) = (grouping.base, grouping.max_size, grouping.max_records);
        if base.saturating_add(size) > max_size {
            self.finish_group()?;
            let mut alone = record;
            alone.invalid = Some(format!(
                "record {} is too long for a command line ({} bytes with the command, the limit is {}): \
                 shorten it, or raise --max-chars",
                alone.line,
                base.saturating_add(size),
                max_size
            ));
            self.tasks += 1;
            let seq = self.tasks;
            return self.send(Record::batch(seq, vec![alone]), ready);
        }
        if !self.group.is_empty() && base + self.group_size + size > max_size {
            self.finish_group()?;
        }
        self.group.push(record);
        self.group_size += size;
        if self.group.len() >= max_records {
            self.finish_group()?;
        }
        Ok(())
    }

    /// The end of input: the last group goes on, spread over the job slots
    /// as GNU parallel spreads it, whether or not full groups went before.
    fn finish_input(&mut self) -> io::Result<()> {
        let spread = self.grouping.as_ref().map_or(1, |g| g.spread);
        if spread < 2 || self.group.len() < 2 {
            return self.finish_group();
        }
        let per_task = self.group.len().div_ceil(spread);
        let mut records = std::mem::take(&mut self.group).into_iter();
        loop {
            self.group = records.by_ref().take(per_task).collect();
            if self.group.is_empty() {
                return Ok(());
            }
            self.finish_group()?;
        }
    }

    /// Sends the group being filled, if any, as one record.
    fn finish_group(&mut self) -> io::Result<()> {
        if self.group.is_empty() {
            return Ok(());
        }
        // The next group is likely as long as this one: room for as many
        // records, rather than a vector doubled a dozen times as it fills.
        let room = self.group.len();
        let records = std::mem::replace(&mut self.group, Vec::with_capacity(room));
        self.group_size = 0;
        self.tasks += 1;
        let seq = self.tasks;
        // A full group is sent at once: the next may be slow to come.
        self.send(Record::batch(seq, records), false)
    }

    /// Queues a record; `ready` says the next one may be slow to come.
    fn send(&mut self, record: Record, ready: bool) -> io::Result<()> {
        if self.batch.capacity() == 0 {
            self.batch.reserve_exact(self.room);
        }
        self.batch.push(record);
        if !ready || self.batch.len() >= BATCH {
            self.flush();
        }
        if self.closed {
            // Nobody takes records any more (a stop): end quietly.
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        Ok(())
    }

    fn flush(&mut self) {
        if self.batch.is_empty() || self.closed {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        if self.tx.send(batch).is_err() {
            self.closed = true;
        }
    }
}

/// `{}` of a JSON value: a string's text, anything else compact.
pub fn json_text(value: &serde_json::Value) -> Vec<u8> {
    match value {
        serde_json::Value::String(s) => s.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    }
}

fn json_record(seq: u64, line: u64, item: Vec<u8>) -> Record {
    match serde_json::from_slice::<serde_json::Value>(&item) {
        Ok(value) => {
            let fields = match &value {
                serde_json::Value::Array(items) => items.iter().map(json_text).collect(),
                _ => Vec::new(),
            };
            let whole = match &value {
                // A number as it was written: serde_json writes an exponent
                // its own way (`1E400` as `1e+400`).
                serde_json::Value::Number(_) => item.trim_ascii().to_vec(),
                other => json_text(other),
            };
            Record {
                seq,
                line,
                whole,
                fields,
                json: Some(Box::new(value)),
                invalid: None,
                batch: Vec::new(),
                block: None,
            }
        }
        Err(e) => Record {
            seq,
            line,
            invalid: Some(format!(
                "invalid JSON on line {}, column {}: {}",
                line,
                e.column(),
                strip_position(&e.to_string())
            )),
            whole: item,
            ..Record::default()
        },
    }
}

/// serde_json ends its messages with " at line L column C"; the line it
/// means is always 1 (one value per line), so ppool says the real one.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn collect(sources: Sources, format: Format) -> Vec<Record> {
        let (rx, end) = spawn(sources, format, None).unwrap();
        let records: Vec<Record> = rx.iter().flatten().collect();
        let end = end.lock().unwrap();
        assert_eq!(end.total, Some(records.len() as u64));
        records
    }

    #[test]
    fn lines_are_read_into_the_buffers_of_records_that_have_run() {
        let recycler = Recycler::default();
        let long = Record::text(2, vec![b'x'; RECYCLED_CAPACITY + 1]);
        let given = vec![Record::text(1, b"abcdefgh".to_vec()), long];
        let kept = given[0].whole.as_ptr();
        recycler.give(given);
        let mut spare = Spare::new(Some(&recycler));
        let first = spare.copy(b"new");
        assert_eq!(
            (first.as_slice(), first.as_ptr()),
            (&b"new"[..], kept),
            "the short buffer, again"
        );
        // The long record's buffer was freed, not kept: a new one.
        assert_eq!(spare.copy(b"next"), b"next");
        assert!(recycler.take().is_none());

        // Whatever is given back, a stream reads the same records.
        let recycler = std::sync::Arc::new(Recycler::default());
        recycler.give((1..=3).map(|n| Record::text(n, vec![b'?'; 40])).collect());
        let sources = Sources::from_reader(Box::new(&b"a\r\nbb\n\nccc"[..]), "stdin").with_recycler(recycler);
        let records = collect(sources, Format::default());
        let lines: Vec<(u64, u64, &[u8])> = records.iter().map(|r| (r.seq, r.line, r.whole.as_slice())).collect();
        assert_eq!(lines, [(1, 1, &b"a"[..]), (2, 2, b"bb"), (3, 3, b""), (4, 4, b"ccc")]);
    }

    #[test]
    fn plain_lines_that_span_reads_come_whole() {
        // Lines of every length up to past the reader's buffer, so that
        // some end exactly at a read's end and some span two or more reads.
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for n in (0..200_000).step_by(997) {
            let line: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            input.extend_from_slice(&line);
            input.push(b'\n');
            expected.push(line);
        }
        let input: &'static [u8] = Box::leak(input.into_boxed_slice());
        for null in [false, true] {
            let bytes: Vec<u8> = if null {
                input.iter().map(|&b| if b == b'\n' { 0 } else { b }).collect()
            } else {
                input.to_vec()
            };
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            let format = Format {
                null,
                ..Format::default()
            };
            let records = collect(Sources::from_reader(Box::new(bytes), "stdin"), format);
            let lines: Vec<Vec<u8>> = records.into_iter().map(|r| r.whole).collect();
            assert!(lines == expected, "null: {null}");
        }
    }

    fn from_bytes(bytes: &'static [u8], format: Format) -> Vec<Record> {
        collect(Sources::from_reader(Box::new(bytes), "input"), format)
    }

    fn wholes(records: &[Record]) -> Vec<&[u8]> {
        records.iter().map(|r| r.whole.as_slice()).collect()
    }

    fn groups(sizes: &[usize]) -> Sources {
        let groups: Vec<Vec<OsString>> = sizes
            .iter()
            .map(|&n| (0..n).map(|i| OsString::from(i.to_string())).collect())
            .collect();
        Sources::from_groups(&groups, &Format::default())
    }

    /// Hands out one line per read, counting them, without end.
    struct Counted(Arc<std::sync::atomic::AtomicUsize>);

    impl io::Read for Counted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            buf[..2].copy_from_slice(b"x\n");
            Ok(2)
        }
    }

    #[test]
    fn grouped_input_is_read_about_one_group_per_slot_ahead() {
        let read = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sources = Sources::from_reader(Box::new(Counted(Arc::clone(&read))), "stdin");
        let grouping = Grouping {
            max_records: 10,
            max_size: usize::MAX,
            base: 0,
            size: Box::new(|_| 1),
            spread: 1,
            ahead: 2,
        };
        let (rx, _end) = spawn(sources, Format::default(), Some(grouping)).unwrap();
        // Nobody takes a group: the reader stops once the channel is full.
        let mut last = usize::MAX;
        for _ in 0..500 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            let now = read.load(std::sync::atomic::Ordering::SeqCst);
            if now == last {
                break;
            }
            last = now;
        }
        // Two groups in the channel and the one the reader waits to send:
        // 30 lines, and one it may have read on. Sixteen groups were read
        // ahead before.
        assert!(last <= 41, "{last} lines read ahead of the slots");
        let first: Vec<Record> = rx.recv().unwrap();
        assert_eq!((first.len(), first[0].batch.len()), (1, 10));
    }

    #[test]
    fn few_group_records_are_all_sent_before_spawn_returns() {
        let (rx, end) = spawn(groups(&[3, 2]), Format::default(), None).unwrap();
        // Nothing is left to wait for: the sender is gone already.
        let records: Vec<Record> = rx.try_iter().flatten().collect();
        assert!(matches!(
            rx.try_recv(),
            Err(std::sync::mpsc::TryRecvError::Disconnected)
        ));
        assert_eq!(end.lock().unwrap().total, Some(6));
        assert_eq!(wholes(&records)[..3], [&b"0 0"[..], b"0 1", b"1 0"]);
    }

    #[test]
    fn many_group_records_are_read_on_a_thread_in_order() {
        let records = collect(groups(&[200, 100]), Format::default());
        assert_eq!(records.len(), 20_000);
        assert!(records.iter().enumerate().all(|(i, r)| r.seq == i as u64 + 1));
        assert_eq!(records[19_999].whole, b"199 99");
    }

    #[test]
    fn json_numbers_keep_their_text() {
        let format = Format {
            json: true,
            ..Format::default()
        };
        let input = b"123456789012345678901234567890\n-0\n 1E400 \n[1.50,2]\n{\"n\":-0.0}\n";
        let records = from_bytes(input, format);
        assert_eq!(
            wholes(&records),
            [
                &b"123456789012345678901234567890"[..],
                b"-0",
                b"1E400",
                b"[1.50,2]",
                b"{\"n\":-0.0}"
            ]
        );
        assert!(records.iter().all(|r| r.invalid.is_none()));
        assert_eq!(records[3].fields, [&b"1.50"[..], b"2"]);
    }

    #[test]
    fn lines_strip_newline_and_carriage_return_and_keep_empty_lines() {
        let records = from_bytes(b"a\r\n\nb\nc", Format::default());
        assert_eq!(wholes(&records), [&b"a"[..], b"", b"b", b"c"]);
        let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4]);
    }

    #[test]
    fn nul_items_keep_newlines_and_carriage_returns() {
        let format = Format {
            null: true,
            ..Format::default()
        };
        let records = from_bytes(b"a\nb\r\0c\0", format);
        assert_eq!(wholes(&records), [&b"a\nb\r"[..], b"c"]);
    }

    #[test]
    fn non_utf8_bytes_are_kept() {
        let records = from_bytes(b"\xff\xfe\n", Format::default());
        assert_eq!(records[0].whole, b"\xff\xfe");
    }

    #[test]
    fn groups_form_the_cartesian_product_first_group_outermost() {
        let groups = vec![
            vec![OsString::from("a"), OsString::from("b")],
            vec![OsString::from("1"), OsString::from("2")],
        ];
        let records = collect(Sources::from_groups(&groups, &Format::default()), Format::default());
        assert_eq!(wholes(&records), [&b"a 1"[..], b"a 2", b"b 1", b"b 2"]);
        assert_eq!(records[2].fields, [b"b".to_vec(), b"1".to_vec()]);
    }

    #[test]
    fn colsep_splits_on_a_literal_string() {
        let format = Format {
            colsep: Some(Colsep::Literal(b"::".to_vec())),
            ..Format::default()
        };
        let records = from_bytes(b"a::b::::c\n", format);
        assert_eq!(
            records[0].fields,
            [b"a".to_vec(), b"b".to_vec(), b"".to_vec(), b"c".to_vec()]
        );
    }

    #[test]
    fn json_lines_parse_and_bad_lines_name_line_and_column() {
        let format = Format {
            json: true,
            ..Format::default()
        };
        let records = from_bytes(b"\"s\"\n{\"a\":1}\n{bad\n[1,\"x\"]\n", format);
        assert_eq!(records[0].whole, b"s");
        assert_eq!(records[1].whole, b"{\"a\":1}");
        let message = records[2].invalid.as_deref().unwrap();
        assert!(message.starts_with("invalid JSON on line 3, column 2"), "{message}");
        assert_eq!(records[3].fields, [b"1".to_vec(), b"x".to_vec()]);
    }

    #[test]
    fn split_agrees_with_a_simple_reference() {
        // The standard library's split over strings is the reference.
        for text in ["", "a", "a,b", ",", "a,,b,", ",,,"] {
            let ours = columns::split_on(text.as_bytes(), b",");
            let reference: Vec<Vec<u8>> = text.split(',').map(|s| s.as_bytes().to_vec()).collect();
            assert_eq!(ours, reference, "{text:?}");
        }
    }

    fn read_all(bytes: Vec<u8>, format: Format) -> Vec<Vec<u8>> {
        let (rx, _) = spawn(
            Sources::from_reader(Box::new(std::io::Cursor::new(bytes)), "input"),
            format,
            None,
        )
        .unwrap();
        rx.iter().flatten().map(|r| r.whole).collect()
    }

    /// The simplest reading of the rules: split on the separator, drop the
    /// empty piece after a final separator, strip one `\r` from each line
    /// that ended with a newline.
    fn reference(bytes: &[u8], separator: u8) -> Vec<Vec<u8>> {
        let mut items: Vec<Vec<u8>> = bytes.split(|&b| b == separator).map(<[u8]>::to_vec).collect();
        let unterminated = items.pop().filter(|last| !last.is_empty());
        if separator == b'\n' {
            for item in &mut items {
                if item.last() == Some(&b'\r') {
                    item.pop();
                }
            }
        }
        items.extend(unterminated);
        items
    }

    proptest::proptest! {
        #[test]
        fn line_splitting_agrees_with_the_reference(bytes in proptest::collection::vec(
            proptest::prop_oneof![Just(b'\n'), Just(b'\r'), Just(0u8), proptest::num::u8::ANY], 0..400)) {
            proptest::prop_assert_eq!(read_all(bytes.clone(), Format::default()), reference(&bytes, b'\n'));
        }

        #[test]
        fn nul_splitting_agrees_with_the_reference(bytes in proptest::collection::vec(
            proptest::prop_oneof![Just(b'\n'), Just(0u8), proptest::num::u8::ANY], 0..400)) {
            let format = Format { null: true, ..Format::default() };
            proptest::prop_assert_eq!(read_all(bytes.clone(), format), reference(&bytes, 0));
        }
    }

    use proptest::strategy::Just;
}
