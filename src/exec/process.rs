//! One task as one process: its own process group, stdout and stderr read
//! concurrently, a timeout enforced with SIGTERM then SIGKILL, always reaped.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::spawn::{self, Request, Stdio};
use crate::cancel::{Cancel, StopReason};
use crate::capture::{Captured, Lane, LaneGuard, LineSink, SPILL_LIMIT};
use crate::escaped::{self, Which};
use crate::input::Record;
use crate::signals;
use crate::sys::Spliced;
pub use crate::target::{signal_group, Target};
use crate::task::{End, Outcome};

/// How the process ended.
#[derive(Debug, Default)]
pub struct Ended {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: Captured,
    pub stderr: Captured,
    /// `--round-robin`: bytes dealt to the task that it never read, because
    /// it stopped reading before the input ended.
    pub input_lost: u64,
}

impl Ended {
    /// The outcome of `record`'s task that ended so.
    pub fn into_outcome(
        self,
        record: &Record,
        slot: usize,
        start: SystemTime,
        took: Duration,
        timeout: Option<Duration>,
    ) -> Outcome {
        let end = End {
            exit_code: self.exit_code,
            signal: self.signal,
            timed_out: self.timed_out.then(|| timeout.unwrap_or_default()),
        };
        let lost = self.input_lost;
        let mut outcome = Outcome::ended(record, slot, (start, took), end, self.stdout, self.stderr);
        if lost > 0 {
            // Blocks dealt to a task that stopped reading are gone: that
            // is a failure even when the task itself exited 0.
            if outcome.status == crate::task::Status::Ok {
                outcome.status = crate::task::Status::Failed;
            }
            outcome.stderr.push_message(&format!(
                "ppool: task {}: it stopped reading its input before the input ended; {lost} bytes \
                 dealt to it were never read, and with --round-robin they are lost",
                record.seq
            ));
        }
        outcome
    }
}

/// What to run and how.
pub struct Spawn<'a> {
    /// The resolved program (an absolute path, looked up in PATH once).
    pub program: &'a Path,
    /// The arguments after the program.
    pub args: &'a [OsString],
    /// Further arguments after `args`, as C strings back to back, each
    /// ending in its NUL (a batch's, rendered so).
    pub more: &'a [u8],
    pub seq: u64,
    pub slot: usize,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    /// `apply`: stdin, stdout and stderr passed straight through.
    pub inherit_stdio: bool,
    /// stdin is a pipe held open, never written, until the process exits
    /// (`--ssh`: the remote side watches it to learn the connection closed).
    pub hold_stdin: bool,
    /// `--pipe`: the block written to stdin, which then closes.
    pub feed: Option<crate::input::Block>,
    /// `--line-buffer`: whole lines go out as they arrive instead of whole output.
    pub lines: Option<Lines>,
    /// A stdout larger than the in-memory limit goes straight to ppool's
    /// stdout as it arrives whenever this lane lets it.
    pub stream: Option<Arc<Lane>>,
}

/// Where `--line-buffer` sends a task's lines, and the `--tag` before each.
pub struct Lines {
    pub stdout: Arc<LineSink>,
    pub stderr: Arc<LineSink>,
    pub tag: Option<Vec<u8>>,
}

/// Starts the task and waits for it. `Err` only when it could not start.
///
/// The task is complete when its process has exited and its output pipes
/// have closed. A descendant that escaped the task's group (a daemon in a
/// session of its own) can hold the pipes open for ever: once the task has
/// timed out or the run is stopping, and its group has had the grace and
/// then SIGKILL, its pipes are let go and what was read is kept. Such a
/// descendant of a timed-out task is stopped with the group (see
/// [`Clock`]); those of a stopped run, by the cancel token and before ppool
/// exits (`crate::escaped`). A task that ends by itself keeps them.
pub fn run(spec: &Spawn, cancel: &Cancel) -> io::Result<Ended> {
    let (stdio, own_group) = if spec.inherit_stdio {
        // A task that reads the terminal must stay in the terminal's
        // foreground group, or it would be stopped by SIGTTIN.
        (Stdio::Inherit, !stdin_is_terminal())
    } else {
        (
            Stdio::Piped {
                hold_stdin: spec.hold_stdin || spec.feed.is_some(),
            },
            true,
        )
    };
    cancel.spawning(spec.slot, spec.seq);
    let request = Request {
        program: spec.program.as_os_str(),
        args: spec.args,
        seq: Some(spec.seq),
        slot: spec.slot,
        stdio,
        own_group,
    };
    let mut child = spawn::spawn_with(&request, spec.more).inspect_err(|_| cancel.unregister(spec.slot))?;
    let pid = child.pid;
    let target = Target::of(pid, own_group);
    cancel.register_task(spec.slot, target);
    // Only a fed stdin is taken: a held one (`--ssh`) stays open until the
    // task is reaped.
    let mut dealt = None;
    if let Some((block, stdin)) = spec.feed.as_ref().and_then(|block| Some((block, child.stdin.take()?))) {
        match feed(stdin, block.clone()) {
            Ok(verdict) => dealt = verdict,
            Err(e) => cancel.fail(
                spec.seq,
                format!(
                    "task {}: cannot start a thread to write its block: {e}: the thread limit is reached (raise `ulimit -u` or lower --jobs)",
                    spec.seq
                ),
            ),
        }
    }
    signals::foreground::started(target);
    let mut clock = Clock::new(spec.timeout, spec.grace, (spec.slot, spec.seq));
    let mut ended = Ended::default();
    if let Some(lines) = &spec.lines {
        ended.stdout = Captured::passing_lines(Arc::clone(&lines.stdout), lines.tag.clone());
        ended.stderr = Captured::passing_lines(Arc::clone(&lines.stderr), lines.tag.clone());
    }
    if let (Some(out), Some(err)) = (child.stdout, child.stderr) {
        let mut reader = Reader {
            ended: &mut ended,
            clock: &mut clock,
            target,
            cancel,
            seq: spec.seq,
            lost: false,
            lane: spec.stream.as_ref(),
            streaming: None,
            widened: false,
        };
        READ_BUFFER.with_borrow_mut(|buf| reader.read_both(buf, &out, &err));
    }
    ended.stdout.end_lines();
    ended.stderr.end_lines();
    // The task may have closed its output and run on: the clock still runs.
    while !spawn::wait_exited(pid, clock.next) {
        clock.tick(target);
    }
    // The leader stays a zombie until reaped below, so its group id cannot be
    // reused while it is still registered for signalling.
    cancel.unregister(spec.slot);
    signals::foreground::ended();
    let exit = spawn::reap(pid)?;
    // A task stopped with its group (a timeout, a stop of the run): the
    // group's other processes, killed with their leader, may still be on
    // their way out; ppool goes on once they are gone, so that none of
    // them outlives ppool.
    if let Some(group) = target
        .group_id()
        .filter(|_| clock.timed_out || clock.stopping || cancel.is_stopping())
    {
        let limit = Instant::now() + GROUP_END;
        while crate::sys::group_alive(group) && Instant::now() < limit {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // A timed-out task's processes that left its group had their SIGTERM
    // and SIGKILL with the group's; one that left it during the grace is
    // killed now (the grace was given), and its outcome waits for them.
    if clock.timed_out {
        escaped::finish(Which::Task(spec.slot, spec.seq), Instant::now());
    }
    drop(child.stdin);
    if let Some(dealt) = dealt {
        ended.input_lost = dealt.lost(cancel);
    }
    ended.exit_code = exit.code;
    ended.signal = exit.signal;
    ended.timed_out = clock.timed_out;
    Ok(ended)
}

/// Writes `bytes` to a task's stdin on a thread of its own while this one
/// reads the task's output: a task may write before it has read all its
/// input. Closing the pipe afterwards is the task's end of input. A task
/// that exits without reading everything makes the write fail (EPIPE,
/// SIGPIPE being ignored here): not an error, its exit status decides, as
/// in GNU parallel. Nothing waits for the thread: a killed task's pipe
/// breaks, and a descendant that keeps it open must not hold the run.
///
/// `--round-robin` (a dealt block): the thread goes on taking blocks from
/// the deal while the task reads, and the verdict it returns says how much
/// of what was dealt to the task the task never read.
fn feed(stdin: OwnedFd, block: crate::input::Block) -> io::Result<Option<Arc<Dealt>>> {
    spawn::widen_pipe(&stdin);
    let dealt = block.deal.is_some().then(|| Arc::new(Dealt::default()));
    let verdict = dealt.clone();
    std::thread::Builder::new()
        .name("stdin".into())
        // It only writes: std's 2 MiB would be address space for nothing.
        .stack_size(128 << 10)
        .spawn(move || {
            let mut stdin = std::fs::File::from(stdin);
            match (&block.deal, verdict) {
                (Some(deal), Some(verdict)) => verdict.finish(feed_dealt(&block, deal, &mut stdin)),
                _ => {
                    let _ = write_block(&block, &mut stdin);
                }
            }
        })
        .map(|_| dealt)
}

/// How often a `--round-robin` writer waiting for a block looks whether its
/// task still reads.
const DEAL_LOOK: Duration = Duration::from_millis(50);

/// Writes the first block, then blocks taken from the deal, until the input
/// ends or the task stops reading; the bytes dealt to it that it never read.
/// Once its task has stopped reading, no more blocks are taken for it: they
/// go to the tasks still reading.
fn feed_dealt(first: &crate::input::Block, deal: &crate::input::Deal, stdin: &mut std::fs::File) -> u64 {
    let mut lost = match write_block_counting(first, stdin) {
        Ok(()) => 0,
        Err(unwritten) => return unwritten + crate::sys::unread(stdin.as_raw_fd()),
    };
    loop {
        if !crate::sys::pipe_has_reader(stdin.as_raw_fd()) {
            break;
        }
        // The lock is held only to take a block, not to write it.
        let taken = crate::lock(&deal.0).recv_timeout(DEAL_LOOK);
        let taken = match taken {
            Ok(taken) => taken,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        for block in taken.iter().filter_map(|record| record.block.as_deref()) {
            if lost > 0 {
                lost += block.len();
            } else if let Err(unwritten) = write_block_counting(block, stdin) {
                lost = unwritten.max(1);
            }
        }
        if lost > 0 {
            break;
        }
    }
    if crate::sys::pipe_has_reader(stdin.as_raw_fd()) {
        lost
    } else {
        lost + crate::sys::unread(stdin.as_raw_fd())
    }
}

/// As [`write_block`]; on failure, the bytes of the block not written.
fn write_block_counting(block: &crate::input::Block, out: &mut std::fs::File) -> Result<(), u64> {
    let mut written = 0;
    while written < block.bytes.len() {
        match io::Write::write(out, &block.bytes[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let rest = (block.bytes.len() - written) as u64;
    if rest > 0 {
        return Err(rest + block.part.as_ref().map_or(0, |part| part.len));
    }
    match &block.part {
        Some(part) => copy_part(part, out).map_err(|_| part.len.max(1)),
        None => Ok(()),
    }
}

/// How long a `--round-robin` task's outcome waits for its writer's verdict.
const VERDICT_WAIT: Duration = Duration::from_secs(1);

/// A `--round-robin` writer's verdict, once it has finished.
#[derive(Default)]
struct Dealt {
    lost: std::sync::Mutex<Option<u64>>,
    done: std::sync::Condvar,
}

impl Dealt {
    fn finish(&self, lost: u64) {
        *crate::lock(&self.lost) = Some(lost);
        self.done.notify_all();
    }

    /// Waits for the verdict once the task has exited: its writer notices
    /// within [`DEAL_LOOK`] that nobody reads. A run that stops does not
    /// wait; nor, past [`VERDICT_WAIT`], does a task whose stdin a process
    /// it left still holds: that one may read the rest, so the task is
    /// judged by its exit status alone.
    fn lost(&self, cancel: &Cancel) -> u64 {
        let limit = Instant::now() + VERDICT_WAIT;
        let mut lost = crate::lock(&self.lost);
        loop {
            if let Some(bytes) = *lost {
                return bytes;
            }
            if cancel.is_stopping() || Instant::now() >= limit {
                return 0;
            }
            lost = match self.done.wait_timeout(lost, DEAL_LOOK) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

fn write_block(block: &crate::input::Block, out: &mut std::fs::File) -> io::Result<()> {
    io::Write::write_all(out, &block.bytes)?;
    match &block.part {
        Some(part) => copy_part(part, out),
        None => Ok(()),
    }
}

/// `--pipepart`: the task's range of the file, read at its offset (the
/// file is shared by every writer, so there is no seek position to keep).
/// The kernel moves it into the task's pipe where it can; whatever it did
/// not move is read and written here.
fn copy_part(part: &crate::input::Part, out: &mut std::fs::File) -> io::Result<()> {
    let done = crate::sys::splice_to_pipe(&part.file, part.start, part.len, out)?;
    copy_range(part, done, out)
}

/// The part's bytes from `done` on, through a buffer of this process.
fn copy_range(part: &crate::input::Part, mut done: u64, out: &mut std::fs::File) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    if done >= part.len {
        return Ok(());
    }
    let mut buf = vec![0; ((part.len - done) as usize).min(1 << 20)];
    while done < part.len {
        let want = buf.len().min((part.len - done) as usize);
        let got = match part.file.read_at(&mut buf[..want], part.start + done) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        io::Write::write_all(out, &buf[..got])?;
        done += got as u64;
    }
    Ok(())
}

fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    io::stdin().is_terminal()
}

/// What the clock does when its next moment comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The timeout: SIGTERM.
    Term,
    /// The grace is over: SIGKILL.
    Kill,
    /// Whatever still holds the pipes is not the task's: let them go.
    Abandon,
}

/// After SIGKILL, how long the pipes may take to close before they are let
/// go: the killed processes' ends close at once, so only a descendant that
/// escaped the group makes the reader wait this long.
const LINGER: Duration = Duration::from_millis(100);

/// How long a stopped task's group may take to be gone after its leader.
const GROUP_END: Duration = Duration::from_secs(1);

/// While the run is stopping, how often the reader looks for a second
/// interrupt (which kills at once).
const STOPPING_POLL: Duration = Duration::from_millis(50);

/// The timeout, then the grace between SIGTERM and SIGKILL, then the linger
/// before the pipes are let go. A timeout's signals also reach the task's
/// processes that left its group (found by the task's marker, Linux only).
struct Clock {
    next: Option<Instant>,
    step: Step,
    grace: Duration,
    timed_out: bool,
    /// The run is stopping: the cancel token signals the task's group; the
    /// clock only counts the grace.
    stopping: bool,
    /// The task's `(PPOOL_SLOT, PPOOL_SEQ)`.
    task: (usize, u64),
}

impl Clock {
    fn new(timeout: Option<Duration>, grace: Duration, task: (usize, u64)) -> Clock {
        Clock {
            next: timeout.map(|t| Instant::now() + t),
            step: Step::Term,
            grace,
            timed_out: false,
            stopping: false,
            task,
        }
    }

    /// Milliseconds to the next step, for poll(2); -1 when there is none.
    fn poll_timeout(&self) -> i32 {
        let mut next = self.next;
        if self.stopping {
            let look = Instant::now() + STOPPING_POLL;
            next = Some(next.map_or(look, |next| next.min(look)));
        }
        spawn::poll_timeout(next)
    }

    fn is_due(&self) -> bool {
        self.next.is_some_and(|at| Instant::now() >= at)
    }

    /// The run started to stop: SIGKILL after the grace, unless the timeout
    /// already got further.
    fn stop_seen(&mut self) {
        self.stopping = true;
        if self.step == Step::Term {
            self.step = Step::Kill;
            self.next = Some(Instant::now() + self.grace);
        }
    }

    /// Everything was killed at once (a second interrupt).
    fn kill_seen(&mut self) {
        if self.step != Step::Abandon {
            self.step = Step::Abandon;
            self.next = Some(Instant::now() + LINGER);
        }
    }

    /// Takes the step that is due, if one is; true when the pipes are to be
    /// let go.
    fn tick(&mut self, target: Target) -> bool {
        if !self.is_due() {
            return false;
        }
        match self.step {
            Step::Term => {
                self.timed_out = true;
                target.signal(libc::SIGTERM);
                let (slot, seq) = self.task;
                escaped::signal(Which::Task(slot, seq), libc::SIGTERM, &|t| t == target.raw());
                self.step = Step::Kill;
                self.next = Some(Instant::now() + self.grace);
                false
            }
            Step::Kill => {
                target.signal(libc::SIGKILL);
                if self.timed_out {
                    let (slot, seq) = self.task;
                    escaped::signal(Which::Task(slot, seq), libc::SIGKILL, &|_| false);
                }
                self.step = Step::Abandon;
                self.next = Some(Instant::now() + LINGER);
                false
            }
            Step::Abandon => {
                self.next = None;
                true
            }
        }
    }
}

/// Bytes one read of a task's pipe takes at most.
const READ_SIZE: usize = 64 * 1024;

/// A slot's first read goes to the stack: a slot whose tasks print nothing
/// (or little) never needs a buffer on the heap.
const FIRST_READ: usize = 1024;

thread_local! {
    /// Each slot thread reads its tasks' output through one buffer, made
    /// only once a task prints, and grown to `READ_SIZE` once a read fills
    /// it. Never zeroed: its pages take memory only once a read fills them,
    /// so a thousand slots whose tasks print little cost little.
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One read(2) of `fd` into `buf`, which then holds what was read.
fn read_into(fd: i32, buf: &mut Vec<u8>) -> isize {
    buf.clear();
    if buf.capacity() == 0 {
        let mut first = [0u8; FIRST_READ];
        // SAFETY: first is valid for its length; fd is an open pipe the caller owns.
        let got = unsafe { libc::read(fd, first.as_mut_ptr().cast(), first.len()) };
        if got > 0 {
            let got = got as usize;
            buf.reserve_exact(if got == FIRST_READ { READ_SIZE } else { FIRST_READ });
            buf.extend_from_slice(&first[..got]);
        }
        return got;
    }
    // SAFETY: buf's spare capacity is valid for buf.capacity() bytes; fd is
    // an open pipe the caller owns.
    let got = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.capacity()) };
    if got > 0 {
        // SAFETY: the kernel initialised the first `got` bytes, within capacity.
        unsafe { buf.set_len(got as usize) };
        if got as usize == buf.capacity() && buf.capacity() < READ_SIZE {
            buf.reserve_exact(READ_SIZE - buf.len());
        }
    }
    got
}

/// Reads a task's stdout and stderr until both close or are let go.
struct Reader<'a> {
    ended: &'a mut Ended,
    clock: &'a mut Clock,
    target: Target,
    cancel: &'a Cancel,
    seq: u64,
    /// ppool could not keep the output (a full disk): the rest is drained
    /// and dropped, and the run stops with ppool's own error.
    lost: bool,
    /// Where a large stdout may go as it arrives.
    lane: Option<&'a Arc<Lane>>,
    /// The task holds ppool's stdout and its stdout goes there.
    streaming: Option<Streaming>,
    /// The stdout pipe was made larger, once its output grew large.
    widened: bool,
}

/// A task's stdout passed straight through to ppool's stdout.
struct Streaming {
    _lane: LaneGuard,
    /// The kernel moves the bytes (`splice`); else they are read and written.
    splice: bool,
    /// ppool's stdout is full: the task's stdout pipe is set aside here, out
    /// of the poll, until stdout takes more.
    parked: Option<i32>,
}

/// Rounds of reading what is ready, without waiting, before a deadline is
/// judged: enough to empty the pipes of a task that has already ended.
const DRAIN_ROUNDS: usize = 64;

/// Output spliced (passed straight through, or into its spill file) moves
/// in pieces of at least this much when the task prints fast: after a
/// smaller piece ppool waits [`COALESCE_WAIT`] (too short for anyone to see)
/// before the next.
const COALESCE_BYTES: usize = 256 * 1024;
const COALESCE_WAIT: Duration = Duration::from_micros(200);

/// After a splice of `moved` bytes: a task printing fast wakes ppool for
/// every write it makes (4 KiB for `head`: 147,000 splices for 1 GB);
/// waiting a moment after a small piece lets its pipe fill, so that the
/// next splice moves hundreds of KiB.
fn let_the_pipe_fill(moved: usize) {
    if moved < COALESCE_BYTES {
        std::thread::sleep(COALESCE_WAIT);
    }
}

impl Reader<'_> {
    fn read_both(&mut self, buf: &mut Vec<u8>, out: &OwnedFd, err: &OwnedFd) {
        let pollfd = |fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // The third: readable once the run stops, so that a stop is seen
        // even while the task's pipes are silent. It costs no system call.
        // The fourth: ppool's stdout, watched while it is too full to take
        // more of a task's output passed through.
        let mut fds = [
            pollfd(out.as_raw_fd()),
            pollfd(err.as_raw_fd()),
            pollfd(self.cancel.stop_fd().unwrap_or(-1)),
            libc::pollfd {
                fd: -1,
                events: libc::POLLOUT,
                revents: 0,
            },
            // The fifth, when the run asks: stdout, whose reader going away
            // (POLLERR, reported without being asked for) stops the run.
            libc::pollfd {
                fd: self.cancel.watched_stdout(),
                events: 0,
                revents: 0,
            },
        ];
        while fds[0].fd >= 0 || fds[1].fd >= 0 || self.is_parked() {
            fds[3].fd = if self.is_parked() { libc::STDOUT_FILENO } else { -1 };
            if !self.poll(&mut fds, self.clock.poll_timeout()) {
                return;
            }
            if fds[4].revents != 0 {
                fds[4].fd = -1;
                self.cancel.stop(StopReason::BrokenPipe);
            }
            if fds[3].revents != 0 {
                if let Some(parked) = self.streaming.as_mut().and_then(|s| s.parked.take()) {
                    fds[0].fd = parked;
                    fds[0].revents = libc::POLLIN;
                }
            }
            self.read_ready(buf, &mut fds[..2]);
            if fds[2].revents != 0 {
                fds[2].fd = -1;
                self.clock.stop_seen();
            }
            if self.clock.stopping && self.cancel.is_killed() {
                self.clock.kill_seen();
            }
            if !self.clock.is_due() {
                continue;
            }
            if self.clock.step == Step::Term {
                // ppool may have been held up (SIGSTOP, a loaded machine)
                // past the deadline of a task that ended in time: what its
                // pipes hold is judged before the deadline is.
                self.drain(buf, &mut fds[..2]);
                if fds[0].fd < 0 && fds[1].fd < 0 && !self.is_parked() {
                    return;
                }
            }
            if self.clock.tick(self.target) {
                self.drain(buf, &mut fds[..2]);
                return;
            }
        }
    }

    /// poll(2), retried when interrupted; false on any other error, which
    /// ends the reading as if the pipes had closed.
    fn poll(&mut self, fds: &mut [libc::pollfd], timeout: i32) -> bool {
        loop {
            // SAFETY: fds is a valid array of pollfd; poll ignores negative fds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if n >= 0 {
                return true;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                self.give_up(&format!("cannot wait for its output: {e}"));
                return false;
            }
        }
    }

    /// Reads what is ready right now, a few rounds, without waiting.
    fn drain(&mut self, buf: &mut Vec<u8>, fds: &mut [libc::pollfd]) {
        for _ in 0..DRAIN_ROUNDS {
            if fds.iter().all(|pfd| pfd.fd < 0) || !self.poll(fds, 0) {
                return;
            }
            if fds.iter().all(|pfd| pfd.revents == 0) {
                return;
            }
            self.read_ready(buf, fds);
        }
    }

    /// One read from each pipe that poll found ready; a closed one is dropped.
    fn read_ready(&mut self, buf: &mut Vec<u8>, fds: &mut [libc::pollfd]) {
        for (i, pfd) in fds.iter_mut().enumerate() {
            if pfd.fd < 0 || pfd.revents == 0 {
                continue;
            }
            if crate::sys::HANGUP_IS_END && pfd.revents & (libc::POLLIN | libc::POLLHUP) == libc::POLLHUP {
                // Closed and empty: a task that printed nothing costs no read.
                pfd.fd = -1;
                continue;
            }
            if i == 0 && self.streaming.is_some() {
                self.pass_on(buf, pfd);
                continue;
            }
            let captured = if i == 0 {
                &mut self.ended.stdout
            } else {
                &mut self.ended.stderr
            };
            if !self.lost {
                // Spilled output moves from the pipe to its file in the kernel.
                match captured.splice_from(pfd.fd) {
                    Ok(Spliced::Unsupported) => {}
                    Ok(Spliced::Moved(n)) => {
                        if i == 0 {
                            self.grown(pfd.fd, 0);
                        }
                        let_the_pipe_fill(n);
                        continue;
                    }
                    Ok(Spliced::Blocked) => continue,
                    Ok(Spliced::End) => {
                        pfd.fd = -1;
                        continue;
                    }
                    Err(e) => self.give_up(&format!("output is incomplete: {e}")),
                }
            }
            let got = read_into(pfd.fd, buf);
            if got > 0 {
                if self.lost {
                    // Drained, so the task is not blocked on a full pipe.
                    continue;
                }
                let got = &buf[..];
                if i == 0 && self.grown(pfd.fd, got.len()) {
                    self.write_stdout(got);
                    continue;
                }
                let sink = if i == 0 {
                    &mut self.ended.stdout
                } else {
                    &mut self.ended.stderr
                };
                if let Err(e) = sink.push(got) {
                    self.give_up(&format!("output is incomplete: {e}"));
                }
            } else if got == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                pfd.fd = -1;
            }
        }
    }

    /// The task's stdout is about to hold `more` bytes beyond what it holds:
    /// past the in-memory limit its pipe is widened, and the output starts
    /// to pass straight through when the lane lets it. True when it does
    /// (what was held is out, and `more` is the caller's to write).
    fn grown(&mut self, fd: i32, more: usize) -> bool {
        if self.ended.stdout.len() + more as u64 <= SPILL_LIMIT as u64 || self.lost {
            return false;
        }
        if !self.widened {
            self.widened = true;
            crate::sys::widen_pipe(fd);
        }
        let Some(guard) = self.lane.and_then(|lane| lane.try_take(self.seq)) else {
            return false;
        };
        self.streaming = Some(Streaming {
            _lane: guard,
            splice: true,
            parked: None,
        });
        // Where stdout is a pipe, it takes as much as the task's pipe does,
        // so that one splice can move all the task's pipe holds.
        crate::sys::widen_pipe(libc::STDOUT_FILENO);
        if let Err(e) = self.ended.stdout.pass_through(libc::STDOUT_FILENO) {
            self.stdout_lost(e);
        }
        true
    }

    /// Moves what the task's stdout pipe holds to ppool's stdout.
    fn pass_on(&mut self, buf: &mut Vec<u8>, pfd: &mut libc::pollfd) {
        let Some(streaming) = self.streaming.as_mut() else {
            return;
        };
        if streaming.splice && !self.lost {
            match crate::sys::splice_out(pfd.fd, libc::STDOUT_FILENO, 1 << 20) {
                Ok(Spliced::Moved(n)) => {
                    self.ended.stdout.passed_on(n);
                    let_the_pipe_fill(n);
                    return;
                }
                Ok(Spliced::End) => {
                    pfd.fd = -1;
                    return;
                }
                Ok(Spliced::Blocked) => {
                    // The pipe was ready, so stdout is full.
                    streaming.parked = Some(pfd.fd);
                    pfd.fd = -1;
                    return;
                }
                Ok(Spliced::Unsupported) => streaming.splice = false,
                Err(e) => return self.stdout_lost(e),
            }
        }
        let got = read_into(pfd.fd, buf);
        if got > 0 {
            if !self.lost {
                self.write_stdout(buf);
            }
        } else if got == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            pfd.fd = -1;
        }
    }

    fn write_stdout(&mut self, bytes: &[u8]) {
        match crate::sys::write_all_fd(libc::STDOUT_FILENO, bytes) {
            Ok(()) => self.ended.stdout.passed_on(bytes.len()),
            Err(e) => self.stdout_lost(e),
        }
    }

    /// ppool's stdout cannot take the output passed through: its reader
    /// has gone. The run stops as for any closed stdout, quietly; the rest
    /// of the task's output is drained and dropped.
    fn stdout_lost(&mut self, e: io::Error) {
        self.lost = true;
        if let Some(streaming) = self.streaming.as_mut() {
            streaming.splice = false;
        }
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.cancel.stop(crate::cancel::StopReason::BrokenPipe);
        } else {
            self.cancel
                .fail(self.seq, format!("task {}: cannot write its output: {e}", self.seq));
        }
    }

    fn is_parked(&self) -> bool {
        self.streaming.as_ref().is_some_and(|s| s.parked.is_some())
    }

    /// ppool's own failure: the task's output cannot be kept, so the run
    /// stops with this error rather than report a task it could not judge.
    fn give_up(&mut self, reason: &str) {
        if !self.lost {
            self.lost = true;
            self.cancel.fail(self.seq, format!("task {}: {reason}", self.seq));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, Write};

    fn part(data: &[u8], start: u64, len: u64) -> crate::input::Part {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(data).unwrap();
        crate::input::Part {
            file: std::sync::Arc::new(file),
            start,
            len,
        }
    }

    #[test]
    fn a_read_buffer_is_made_only_once_a_task_prints_and_grows_once_filled() {
        let pipe_with = |bytes: &[u8]| {
            let (read, write) = crate::sys::pipe().unwrap();
            std::fs::File::from(write).write_all(bytes).unwrap();
            read
        };
        use std::os::fd::AsRawFd;
        let mut buf = Vec::new();
        // Nothing printed: no buffer at all.
        let silent = pipe_with(b"");
        assert_eq!(super::read_into(silent.as_raw_fd(), &mut buf), 0);
        assert_eq!(buf.capacity(), 0);
        let little = pipe_with(b"hello\n");
        assert_eq!(super::read_into(little.as_raw_fd(), &mut buf), 6);
        assert_eq!(buf, b"hello\n");
        assert_eq!(buf.capacity(), super::FIRST_READ);
        let much: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let more = pipe_with(&much);
        let mut got = Vec::new();
        loop {
            match super::read_into(more.as_raw_fd(), &mut buf) {
                0 => break,
                _ => got.extend_from_slice(&buf),
            }
        }
        assert!(got == much);
        assert!(buf.capacity() >= super::READ_SIZE, "{}", buf.capacity());
    }

    #[test]
    fn a_part_reaches_a_non_pipe_through_the_portable_copy() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        let part = part(&data, 7, 2_500_000);
        // splice needs a pipe on one end: into a plain file it cannot, so
        // every byte goes through pread and write.
        let mut out = tempfile::tempfile().unwrap();
        super::copy_part(&part, &mut out).unwrap();
        out.rewind().unwrap();
        let mut got = Vec::new();
        out.read_to_end(&mut got).unwrap();
        assert!(got == data[7..2_500_007]);
    }

    #[test]
    fn the_portable_copy_takes_over_where_the_kernel_stopped() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
        let part = part(&data, 10, 90_000);
        let mut out = tempfile::tempfile().unwrap();
        super::copy_range(&part, 40_000, &mut out).unwrap();
        out.rewind().unwrap();
        let mut got = Vec::new();
        out.read_to_end(&mut got).unwrap();
        assert!(got == data[40_010..90_010]);
    }

    #[test]
    fn a_part_reaches_a_pipe_whole() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 239) as u8).collect();
        let part = part(&data, 3, 900_000);
        let (read, write) = crate::sys::pipe().unwrap();
        let mut write = std::fs::File::from(write);
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::from(read).read_to_end(&mut got).unwrap();
            got
        });
        super::copy_part(&part, &mut write).unwrap();
        drop(write);
        assert!(reader.join().unwrap() == data[3..900_003]);
    }
}
