//! A task's captured stdout or stderr: in memory up to a limit, then
//! spilled to an unlinked temporary file so memory does not grow with output.
//! A spilled result that has to wait for its turn moves to the run's
//! [`Shelf`], so that waiting results do not hold a descriptor each;
//! with `--compress` it is kept there lz4-compressed.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use lz4_flex::frame::{FrameDecoder, FrameEncoder};

/// Output kept in memory before it moves to a temporary file.
pub const SPILL_LIMIT: usize = 1 << 20;

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
    shelved: Option<Shelved>,
    len: u64,
    /// `--line-buffer`: whole lines are written out as they arrive; only the
    /// unfinished last line waits in `memory`.
    lines: Option<(Arc<LineSink>, Option<Vec<u8>>)>,
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
        }
    }
}

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
            lines: Some((sink, tag)),
            ..Captured::default()
        }
    }

    /// End of output: an unfinished last line is passed on as it is.
    pub fn end_lines(&mut self) {
        if let Some((sink, tag)) = &self.lines {
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
        self.spill.is_some()
    }

    /// A spilled output moves to `shelf` and closes its own file; output in
    /// memory stays where it is.
    pub fn shelve(&mut self, shelf: &mut Shelf) -> io::Result<()> {
        let Some(spill) = &mut self.spill else {
            return Ok(());
        };
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
        self.shelved = Some(Shelved {
            file,
            offset,
            len: stored,
        });
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
        if let Some((sink, tag)) = &self.lines {
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
        if self.memory.len() + bytes.len() <= SPILL_LIMIT {
            self.memory.extend_from_slice(bytes);
            return Ok(());
        }
        let mut file = spill_file().map_err(|e| {
            let (dir, hint) = spill_place();
            io::Error::new(
                e.kind(),
                format!(
                    "cannot create a temporary file in {} for output over {} MiB: {e} ({hint})",
                    dir.display(),
                    SPILL_LIMIT >> 20
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
        match self.stored() {
            None => out.write_all(&self.memory),
            Some(mut stored) => io::copy(&mut stored, out).map(drop),
        }
    }

    /// Copies the output to `out`, each line prefixed with `tag` when given.
    /// Output already passed on line by line is not copied again.
    pub fn copy_to(&mut self, out: &mut dyn Write, tag: Option<&[u8]>) -> io::Result<()> {
        if self.lines.is_some() {
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
