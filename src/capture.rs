//! A task's captured stdout or stderr: in memory up to a limit, then
//! spilled to an unlinked temporary file so memory does not grow with output.
//! A spilled result that has to wait for its turn moves to the run's
//! [`Shelf`], so that waiting results do not hold a descriptor each;
//! with `--compress` it is kept there lz4-compressed. A large stdout whose
//! turn it is goes straight to ppool's stdout instead, through the [`Lane`]
//! it shares with the printer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use lz4_flex::frame::{FrameDecoder, FrameEncoder};

/// Output kept in memory before it moves to a temporary file.
pub const SPILL_LIMIT: usize = 1 << 20;

/// The in-memory limit in force: [`SPILL_LIMIT`], or less under an
/// address-space limit ([`spill_earlier`]).
static SPILL_AT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(SPILL_LIMIT);

/// Output past `bytes` moves to a temporary file from now on (at most
/// [`SPILL_LIMIT`]): under `ulimit -v`, so that each slot holds little.
pub fn spill_earlier(bytes: usize) {
    SPILL_AT.fetch_min(bytes, Ordering::Relaxed);
}

/// Where spill files go instead of `$TMPDIR`, set once by a process whose
/// output must stay in a directory of its own (a pool's server). Not done
/// through `TMPDIR`, which the tasks would inherit.
static SPILL_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Spill files of this process go to `dir` from now on. A second call
/// changes nothing: the first directory stays.
pub fn spill_in(dir: &Path) {
    let _ = SPILL_DIR.set(dir.to_path_buf());
}

/// `--compress`: whether shelves made from now on compress what they hold.
static COMPRESS_SHELVED: AtomicBool = AtomicBool::new(false);

/// Results that wait for their turn on disk are kept compressed from now on
/// (`--compress`), for output that is large and compresses well.
pub fn compress_shelved() {
    COMPRESS_SHELVED.store(true, Ordering::Relaxed);
}

/// A new unlinked spill file: nothing is left on disk however the process ends.
fn spill_file() -> io::Result<File> {
    match SPILL_DIR.get() {
        Some(dir) => tempfile::tempfile_in(dir),
        None => tempfile::tempfile(),
    }
}

/// The directory of spill files, and what to do when it has no room.
fn spill_place() -> (PathBuf, &'static str) {
    match SPILL_DIR.get() {
        Some(dir) => (dir.clone(), "free space there"),
        None => (std::env::temp_dir(), "set TMPDIR to a directory with room"),
    }
}

#[derive(Debug, Default)]
pub struct Captured {
    memory: Vec<u8>,
    /// Past `SPILL_LIMIT`: everything, `memory` included, lives here. The
    /// file is unlinked on creation, so it vanishes with `ppool` however it ends.
    spill: Option<File>,
    /// Or, once shelved, here: `len` bytes from this offset of the shelf.
    /// This and `lines` are boxed: most outputs have neither, and every
    /// outcome carries two captures through the queues.
    shelved: Option<Box<Shelved>>,
    len: u64,
    /// What few captures have. Boxed: a task's result is moved about whole.
    rare: Option<Box<Rare>>,
    /// Written to ppool's stdout as it arrived (through the [`Lane`]): there
    /// is nothing left to print.
    passed: bool,
}

#[derive(Debug, Default)]
struct Rare {
    /// `--line-buffer`: whole lines are written out as they arrive; only the
    /// unfinished last line waits in `memory`.
    lines: Option<PassingLines>,
    /// A large output kept in its own file while it waits, rather than
    /// copied into the shelf: counted by the shelf while it lives.
    kept: Option<Arc<()>>,
}

/// Where `--line-buffer` passes lines on, and the tag before each.
type PassingLines = (Arc<LineSink>, Option<Vec<u8>>);

/// Who writes to ppool's stdout: the printer (which holds it while its
/// buffer holds anything) or the one task whose large output is passed
/// straight through as it arrives. A task only ever tries to take it, so
/// nothing waits on a task that waits; the printer waits for the task.
#[derive(Debug)]
pub struct Lane {
    state: Mutex<LaneState>,
    freed: Condvar,
}

#[derive(Debug)]
struct LaneState {
    holder: Holder,
    /// `imap`: the task whose turn it is, every earlier one printed and
    /// flushed; `None` when any task may take the lane (`unordered`).
    turn: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Free,
    Printer,
    Task,
}

impl Lane {
    /// `ordered`: a task takes the lane only in its turn (`imap`).
    pub fn new(ordered: bool) -> Arc<Lane> {
        Arc::new(Lane {
            state: Mutex::new(LaneState {
                holder: Holder::Free,
                turn: ordered.then_some(1),
            }),
            freed: Condvar::new(),
        })
    }

    /// Task `seq` takes stdout if it is free and its turn; the guard gives
    /// it back.
    pub fn try_take(self: &Arc<Lane>, seq: u64) -> Option<LaneGuard> {
        let mut state = crate::lock(&self.state);
        if state.holder != Holder::Free || state.turn.is_some_and(|turn| turn != seq) {
            return None;
        }
        state.holder = Holder::Task;
        Some(LaneGuard(Arc::clone(self)))
    }

    /// The printer is about to write: it waits for a task passing its
    /// output through to finish.
    pub fn hold(&self) {
        let mut state = crate::lock(&self.state);
        while state.holder == Holder::Task {
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        state.holder = Holder::Printer;
    }

    /// The printer has flushed everything it wrote; `next` is the task
    /// whose turn it is now (`imap`).
    pub fn release(&self, next: Option<u64>) {
        let mut state = crate::lock(&self.state);
        if state.holder == Holder::Printer {
            state.holder = Holder::Free;
        }
        if let (Some(turn), Some(next)) = (&mut state.turn, next) {
            *turn = next;
        }
    }
}

/// A task's hold on stdout, given back when dropped.
#[derive(Debug)]
pub struct LaneGuard(Arc<Lane>);

impl Drop for LaneGuard {
    fn drop(&mut self) {
        crate::lock(&self.0.state).holder = Holder::Free;
        self.0.freed.notify_all();
    }
}

/// `--line-buffer`: a descriptor (1 or 2) that every slot writes whole lines
/// to, one write at a time, so lines of different tasks never mix.
#[derive(Debug)]
pub struct LineSink {
    fd: i32,
    lock: Mutex<()>,
}

impl LineSink {
    pub fn new(fd: i32) -> Arc<LineSink> {
        Arc::new(LineSink {
            fd,
            lock: Mutex::new(()),
        })
    }

    /// Writes `lines`, each prefixed with `tag`. A closed reader is not an
    /// error here: the run notices a closed stdout and stops on its own.
    fn write(&self, tag: Option<&[u8]>, lines: &[u8]) {
        let text = match tag {
            None => std::borrow::Cow::Borrowed(lines),
            Some(tag) => {
                let mut tagged = Vec::with_capacity(lines.len() + tag.len() * 4);
                // The unwrap-free write_tagged cannot fail on a Vec.
                let _ = write_tagged(&mut &lines[..], &mut tagged, tag);
                std::borrow::Cow::Owned(tagged)
            }
        };
        let _guard = crate::lock(&self.lock);
        let mut rest = &text[..];
        while !rest.is_empty() {
            // SAFETY: rest is valid for rest.len() bytes; fd stays open for the run.
            let n = unsafe { libc::write(self.fd, rest.as_ptr().cast(), rest.len()) };
            if n > 0 {
                rest = &rest[n as usize..];
            } else if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            } else {
                return;
            }
        }
    }
}

/// One unlinked temporary file per run that holds the spilled output of
/// results waiting for their turn (all of `map`'s; `imap`'s that ended before
/// an earlier task), one descriptor for all of them. The space of a result
/// is given back as soon as it is printed.
#[derive(Debug)]
pub struct Shelf {
    file: Option<Arc<ShelfFile>>,
    end: u64,
    compress: bool,
    /// One clone per large output kept in its own file while it waits.
    kept: Arc<()>,
}

/// The shelf's file; with `compressed`, every region in it is an lz4 frame.
#[derive(Debug)]
struct ShelfFile {
    file: File,
    compressed: bool,
}

impl Default for Shelf {
    fn default() -> Shelf {
        Shelf {
            file: None,
            end: 0,
            compress: COMPRESS_SHELVED.load(Ordering::Relaxed),
            kept: Arc::new(()),
        }
    }
}

/// A waiting output larger than this keeps its own file instead of being
/// copied into the shelf: copying a gigabyte costs more than a descriptor.
const KEEP_OWN_FILE: u64 = 64 << 20;

/// At most this many waiting outputs keep a file of their own; beyond it
/// they are copied into the shelf, so descriptors stay few.
const KEPT_FILES: usize = 64;

/// A region of the shelf, freed when dropped.
#[derive(Debug)]
struct Shelved {
    file: Arc<ShelfFile>,
    offset: u64,
    /// Bytes on the shelf: fewer than the output's when compressed.
    len: u64,
}

impl Drop for Shelved {
    fn drop(&mut self) {
        // Gives the disk space back; the file keeps its size and the other
        // regions their place.
        crate::sys::punch_hole(&self.file.file, self.offset, self.len);
    }
}

/// Reads `len` bytes of a file from `offset`, without moving its position.
struct Region<'a> {
    file: &'a File,
    offset: u64,
    left: u64,
}

impl Read for Region<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

impl Captured {
    #[cfg(test)]
    pub fn from_vec(memory: Vec<u8>) -> Captured {
        let len = memory.len() as u64;
        Captured {
            memory,
            len,
            ..Captured::default()
        }
    }

    /// A capture that passes whole lines on to `sink` as they arrive.
    pub fn passing_lines(sink: Arc<LineSink>, tag: Option<Vec<u8>>) -> Captured {
        Captured {
            rare: Some(Box::new(Rare {
                lines: Some((sink, tag)),
                kept: None,
            })),
            ..Captured::default()
        }
    }

    fn lines(&self) -> Option<&PassingLines> {
        self.rare.as_ref()?.lines.as_ref()
    }

    /// End of output: an unfinished last line is passed on as it is.
    pub fn end_lines(&mut self) {
        if let Some((sink, tag)) = self.lines() {
            if !self.memory.is_empty() {
                sink.write(tag.as_deref(), &self.memory);
                self.memory.clear();
            }
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[cfg(test)]
    pub fn is_spilled(&self) -> bool {
        self.spill.is_some() && self.rare.as_ref().is_none_or(|rare| rare.kept.is_none())
    }

    /// Moves what the pipe `from` holds now straight into the spill file,
    /// inside the kernel, once output has spilled. `Unsupported` when it
    /// has not (or the kernel cannot): then the caller reads and pushes.
    pub fn splice_from(&mut self, from: RawFd) -> io::Result<crate::sys::Spliced> {
        use crate::sys::Spliced;
        let Some(file) = self.spill.as_ref().filter(|_| self.lines().is_none() && !self.passed) else {
            return Ok(Spliced::Unsupported);
        };
        let spliced = crate::sys::splice_out(from, file.as_raw_fd(), 1 << 20).map_err(spill_error)?;
        if let Spliced::Moved(n) = spliced {
            self.len += n as u64;
        }
        Ok(spliced)
    }

    /// Writes what was captured so far to `out` (ppool's stdout, whose lane
    /// the caller holds); from now on the output goes there as it arrives
    /// and is counted by [`Captured::passed_on`].
    pub fn pass_through(&mut self, out: RawFd) -> io::Result<()> {
        // A running task's output: in memory or in its own spill file,
        // never yet on the shelf.
        match &self.spill {
            None => crate::sys::write_all_fd(out, &self.memory)?,
            Some(file) => send_region(file, 0, self.len, out)?,
        }
        self.memory = Vec::new();
        self.spill = None;
        self.passed = true;
        Ok(())
    }

    /// `bytes` more went straight to stdout.
    pub fn passed_on(&mut self, bytes: usize) {
        self.len += bytes as u64;
    }

    /// Whether the output lives in a file of its own, to be printed from there.
    pub fn is_stored(&self) -> bool {
        self.lines().is_none() && !self.passed && self.spill.is_some()
    }

    /// Prints an output spilled to a file of its own to the descriptor
    /// `out` inside the kernel; false otherwise, for the caller's own copy.
    ///
    /// Not from the shelf: a pipe holds the file's pages themselves until
    /// its reader takes them, and giving a region's space back zeroes the
    /// pages it shares with its neighbours in place. A file of its own is
    /// only ever closed whole, which leaves the pages as they are.
    pub fn send_stored(&self, out: RawFd) -> io::Result<bool> {
        match (&self.spill, self.lines(), self.passed) {
            (Some(file), None, false) => send_region(file, 0, self.len, out).map(|()| true),
            _ => Ok(false),
        }
    }

    /// A spilled output moves to `shelf` and closes its own file; output in
    /// memory stays where it is.
    pub fn shelve(&mut self, shelf: &mut Shelf) -> io::Result<()> {
        let Some(spill) = &mut self.spill else {
            return Ok(());
        };
        // Compressed, a large output takes little room on the shelf.
        if !shelf.compress && self.len > KEEP_OWN_FILE && Arc::strong_count(&shelf.kept) <= KEPT_FILES {
            self.rare.get_or_insert_with(Box::default).kept = Some(Arc::clone(&shelf.kept));
            return Ok(());
        }
        let file = match &shelf.file {
            Some(file) => Arc::clone(file),
            None => Arc::clone(shelf.file.insert(Arc::new(ShelfFile {
                file: spill_file()?,
                compressed: shelf.compress,
            }))),
        };
        let offset = shelf.end;
        spill.seek(SeekFrom::Start(0))?;
        let mut to = &file.file;
        to.seek(SeekFrom::Start(offset))?;
        let (copied, stored) = if file.compressed {
            let mut encoder = FrameEncoder::new(io::BufWriter::with_capacity(1 << 16, to));
            let copied = io::copy(spill, &mut encoder)?;
            encoder.finish().map_err(io::Error::other)?.flush()?;
            (copied, to.stream_position()? - offset)
        } else {
            // File to file: the kernel copies (copy_file_range), not ppool.
            let copied = io::copy(spill, &mut to)?;
            (copied, copied)
        };
        // A short copy (a full disk) leaves the output where it was, whole.
        shelf.end += stored;
        if copied != self.len {
            return Err(io::Error::other("output was not shelved whole"));
        }
        self.spill = None;
        self.shelved = Some(Box::new(Shelved {
            file,
            offset,
            len: stored,
        }));
        Ok(())
    }

    /// The output read from where it lives when not in memory.
    fn stored(&self) -> Option<Box<dyn Read + '_>> {
        let region = |file, offset, left| Region { file, offset, left };
        match (&self.spill, &self.shelved) {
            (Some(file), _) => Some(Box::new(region(file, 0, self.len))),
            (None, Some(shelved)) => {
                let region = region(&shelved.file.file, shelved.offset, shelved.len);
                Some(if shelved.file.compressed {
                    Box::new(FrameDecoder::new(region))
                } else {
                    Box::new(region)
                })
            }
            (None, None) => None,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) -> io::Result<()> {
        debug_assert!(self.shelved.is_none(), "output added after it was shelved");
        self.len += bytes.len() as u64;
        if let Some((sink, tag)) = self.rare.as_ref().and_then(|rare| rare.lines.as_ref()) {
            self.memory.extend_from_slice(bytes);
            if let Some(end) = self.memory.iter().rposition(|&b| b == b'\n') {
                sink.write(tag.as_deref(), &self.memory[..=end]);
                self.memory.drain(..=end);
            }
            return Ok(());
        }
        if let Some(file) = &mut self.spill {
            return file.write_all(bytes).map_err(spill_error);
        }
        if self.memory.len() + bytes.len() <= SPILL_AT.load(Ordering::Relaxed) {
            self.memory.extend_from_slice(bytes);
            return Ok(());
        }
        let file = match spill_file() {
            // The descriptor limit is reached for now: the output stays in
            // memory a little longer, and the next read tries again.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                self.memory.extend_from_slice(bytes);
                return Ok(());
            }
            other => other,
        };
        let mut file = file.map_err(|e| {
            let (dir, hint) = spill_place();
            io::Error::new(
                e.kind(),
                format!(
                    "cannot create a temporary file in {} for output over {} KiB: {e} ({hint})",
                    dir.display(),
                    SPILL_AT.load(Ordering::Relaxed) >> 10
                ),
            )
        })?;
        file.write_all(&self.memory).map_err(spill_error)?;
        file.write_all(bytes).map_err(spill_error)?;
        self.memory = Vec::new();
        self.spill = Some(file);
        Ok(())
    }

    /// Adds one line of ppool's own about this task (a missing program, bad input).
    pub fn push_message(&mut self, message: &str) {
        let mut line = Vec::with_capacity(message.len() + 1);
        line.extend_from_slice(message.as_bytes());
        if !message.ends_with('\n') {
            line.push(b'\n');
        }
        // Memory holds a message unless output already spilled; a write error
        // to the spill file then loses only this note.
        let _ = self.push(&line);
    }

    /// Everything captured, read back from the file when not in memory.
    pub fn read_all(&mut self) -> io::Result<Vec<u8>> {
        match self.stored() {
            None => Ok(self.memory.clone()),
            Some(mut stored) => {
                let mut all = Vec::with_capacity(self.len as usize);
                stored.read_to_end(&mut all)?;
                Ok(all)
            }
        }
    }

    /// Copies the output to `out` as it is, leaving it where it is kept: for
    /// an observer, which sees a task's output before it is printed.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.passed {
            return Ok(());
        }
        match self.stored() {
            None => out.write_all(&self.memory),
            Some(mut stored) => io::copy(&mut stored, out).map(drop),
        }
    }

    /// Copies the output to `out`, each line prefixed with `tag` when given.
    /// Output already passed on line by line is not copied again.
    pub fn copy_to(&mut self, out: &mut dyn Write, tag: Option<&[u8]>) -> io::Result<()> {
        if self.lines().is_some() || self.passed {
            return Ok(());
        }
        match (self.stored(), tag) {
            (None, None) => out.write_all(&self.memory),
            (None, Some(tag)) => write_tagged(&mut &self.memory[..], out, tag),
            (Some(mut stored), None) => io::copy(&mut stored, out).map(drop),
            (Some(stored), Some(tag)) => write_tagged(&mut BufReader::new(stored), out, tag),
        }
    }
}

/// `len` bytes of `file` from `offset` to the descriptor `out`: by the
/// kernel where it can, the rest read and written here.
fn send_region(file: &File, offset: u64, len: u64, out: RawFd) -> io::Result<()> {
    let sent = crate::sys::send_file(file, offset, len, out)?;
    let mut rest = Region {
        file,
        offset: offset + sent,
        left: len - sent,
    };
    let mut buf = vec![0; rest.left.min(1 << 16) as usize];
    loop {
        match rest.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => crate::sys::write_all_fd(out, &buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A failed write to a spill file, naming where it is (it has no name of its own).
fn spill_error(e: io::Error) -> io::Error {
    let (dir, hint) = spill_place();
    io::Error::new(
        e.kind(),
        format!(
            "cannot write to a temporary file in {}: {e} (is the disk full? {hint})",
            dir.display()
        ),
    )
}

fn write_tagged(input: &mut dyn BufRead, out: &mut dyn Write, tag: &[u8]) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        out.write_all(tag)?;
        out.write_all(&line)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_stays_in_memory() {
        let mut c = Captured::default();
        c.push(b"hello\n").unwrap();
        assert!(!c.is_spilled());
        assert_eq!(c.read_all().unwrap(), b"hello\n");
    }

    #[test]
    fn large_output_spills_and_reads_back_whole() {
        let mut c = Captured::default();
        let block: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        for _ in 0..5 {
            c.push(&block).unwrap();
        }
        assert!(c.is_spilled());
        assert_eq!(c.len(), 1_500_000);
        let all = c.read_all().unwrap();
        assert_eq!(all.len(), 1_500_000);
        assert_eq!(&all[300_000..600_000], &block[..]);
        let mut copy = Vec::new();
        c.copy_to(&mut copy, None).unwrap();
        assert_eq!(copy, all);
    }

    #[test]
    fn shelved_outputs_share_one_file_and_read_back_whole() {
        let mut shelf = Shelf::default();
        let mut small = Captured::from_vec(b"small\n".to_vec());
        small.shelve(&mut shelf).unwrap();
        assert!(shelf.file.is_none(), "output in memory stays there");
        let outputs: Vec<Vec<u8>> = (0..3u8)
            .map(|i| {
                (0..=255u8)
                    .cycle()
                    .skip(i as usize)
                    .take(SPILL_LIMIT + 1 + 1000 * i as usize)
                    .collect()
            })
            .collect();
        let mut captured: Vec<Captured> = outputs
            .iter()
            .map(|bytes| {
                let mut c = Captured::default();
                c.push(bytes).unwrap();
                assert!(c.is_spilled());
                c.shelve(&mut shelf).unwrap();
                assert!(!c.is_spilled(), "its own file is closed");
                c
            })
            .collect();
        assert_eq!(shelf.end, outputs.iter().map(|o| o.len() as u64).sum::<u64>());
        for (c, bytes) in captured.iter_mut().zip(&outputs).rev() {
            assert_eq!(&c.read_all().unwrap(), bytes);
            let mut copy = Vec::new();
            c.copy_to(&mut copy, None).unwrap();
            assert_eq!(&copy, bytes);
        }
        let mut tagged = Vec::new();
        let mut lines = Captured::default();
        lines.push(&b"line\n".repeat(SPILL_LIMIT / 4)).unwrap();
        lines.shelve(&mut shelf).unwrap();
        lines.copy_to(&mut tagged, Some(b"t ")).unwrap();
        assert_eq!(tagged, b"t line\n".repeat(SPILL_LIMIT / 4));
    }

    #[test]
    fn a_task_takes_the_lane_only_when_free_and_in_its_turn() {
        let ordered = Lane::new(true);
        assert!(ordered.try_take(2).is_none(), "task 1's turn");
        let guard = ordered.try_take(1).expect("task 1's turn, lane free");
        assert!(ordered.try_take(1).is_none(), "held");
        drop(guard);
        ordered.hold();
        assert!(ordered.try_take(1).is_none(), "the printer holds it");
        ordered.release(Some(2));
        assert!(ordered.try_take(1).is_none(), "task 1 was printed");
        assert!(ordered.try_take(2).is_some());
        let any = Lane::new(false);
        assert!(any.try_take(7).is_some(), "unordered: any task");
    }

    #[test]
    fn the_printer_waits_for_a_task_passing_its_output_through() {
        let lane = Lane::new(false);
        let guard = lane.try_take(1).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let printer = {
            let lane = Arc::clone(&lane);
            std::thread::spawn(move || {
                lane.hold();
                tx.send(()).unwrap();
                lane.release(None);
            })
        };
        // Generous: the printer must still be waiting while the task holds it.
        assert!(rx.recv_timeout(std::time::Duration::from_millis(200)).is_err());
        drop(guard);
        rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
        printer.join().unwrap();
        assert!(lane.try_take(2).is_some(), "released");
    }

    #[test]
    fn a_large_waiting_output_keeps_its_own_file_and_prints_from_it() {
        let mut shelf = Shelf::default();
        let mut big = Captured::default();
        let chunk: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        for _ in 0..=(KEEP_OWN_FILE >> 20) {
            big.push(&chunk).unwrap();
        }
        big.shelve(&mut shelf).unwrap();
        assert!(shelf.file.is_none(), "not copied into the shelf");
        assert!(big.is_stored());
        let mut out = tempfile::tempfile().unwrap();
        assert!(big.send_stored(out.as_raw_fd()).unwrap());
        assert_eq!(out.metadata().unwrap().len(), big.len());
        let mut head = vec![0; chunk.len()];
        out.seek(SeekFrom::Start(big.len() - chunk.len() as u64)).unwrap();
        out.read_exact(&mut head).unwrap();
        assert!(head == chunk);
    }

    #[test]
    fn compressed_shelf_holds_outputs_in_less_room_and_reads_them_back_whole() {
        let mut shelf = Shelf {
            compress: true,
            ..Shelf::default()
        };
        let outputs: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                format!("line {i} of a large and repetitive output\n")
                    .repeat(SPILL_LIMIT / 20)
                    .into_bytes()
            })
            .collect();
        let mut captured: Vec<Captured> = outputs
            .iter()
            .map(|bytes| {
                let mut c = Captured::default();
                c.push(bytes).unwrap();
                assert!(c.is_spilled());
                c.shelve(&mut shelf).unwrap();
                assert!(!c.is_spilled());
                c
            })
            .collect();
        let total: u64 = outputs.iter().map(|o| o.len() as u64).sum();
        assert!(shelf.end * 10 < total, "{} bytes shelved for {total}", shelf.end);
        for (c, bytes) in captured.iter_mut().zip(&outputs).rev() {
            assert_eq!(c.len(), bytes.len() as u64);
            assert_eq!(&c.read_all().unwrap(), bytes);
            let mut tagged = Vec::new();
            c.copy_to(&mut tagged, Some(b"t ")).unwrap();
            assert_eq!(
                tagged.len(),
                bytes.len() + 2 * bytes.iter().filter(|&&b| b == b'\n').count()
            );
        }
    }

    #[test]
    fn tag_prefixes_every_line_including_an_unterminated_last() {
        let mut c = Captured::from_vec(b"a\nb\nc".to_vec());
        let mut out = Vec::new();
        c.copy_to(&mut out, Some(b"x\t")).unwrap();
        assert_eq!(out, b"x\ta\nx\tb\nx\tc");
    }
}
