//! One task as one process: its own process group, stdout and stderr read
//! concurrently, a timeout enforced with SIGTERM then SIGKILL, always reaped.

use std::cell::RefCell;
use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::capture::{Captured, LineSink};
use super::spawn::{self, Request, Stdio};
use crate::cancel::Cancel;
use crate::input::Record;
use crate::signals;
use crate::task::{timeout_note, Outcome, Status};

/// How the process ended.
#[derive(Debug, Default)]
pub struct Ended {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: Captured,
    pub stderr: Captured,
}

impl Ended {
    /// The outcome of `record`'s task that ended so: status from the exit
    /// and the timeout, and a note on stderr when it timed out.
    pub fn into_outcome(
        self,
        record: &Record,
        slot: usize,
        start: SystemTime,
        took: Duration,
        timeout: Option<Duration>,
    ) -> Outcome {
        let status = if self.timed_out {
            Status::Timeout
        } else if self.exit_code == Some(0) {
            Status::Ok
        } else {
            Status::Failed
        };
        let mut stderr = self.stderr;
        if status == Status::Timeout {
            stderr.push_message(&timeout_note(record.seq, timeout));
        }
        Outcome {
            seq: record.seq,
            input: record.whole.clone(),
            status,
            exit_code: self.exit_code,
            signal: self.signal,
            stdout: self.stdout,
            stderr,
            attempts: 1,
            slot,
            start,
            duration: took,
            command: Vec::new(),
            host: None,
        }
    }
}

/// What to run and how.
pub struct Spawn<'a> {
    /// The resolved program (an absolute path, looked up in PATH once).
    pub program: &'a Path,
    /// The arguments after the program.
    pub args: &'a [OsString],
    pub seq: u64,
    pub slot: usize,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    /// `apply`: stdin, stdout and stderr passed straight through.
    pub inherit_stdio: bool,
    /// stdin is a pipe held open, never written, until the process exits
    /// (`--ssh`: the remote side watches it to learn the connection closed).
    pub hold_stdin: bool,
    /// `--line-buffer`: whole lines go out as they arrive instead of whole output.
    pub lines: Option<Lines>,
}

/// Where `--line-buffer` sends a task's lines, and the `--tag` before each.
pub struct Lines {
    pub stdout: Arc<LineSink>,
    pub stderr: Arc<LineSink>,
    pub tag: Option<Vec<u8>>,
}

/// Starts the task and waits for it. `Err` only when it could not start.
pub fn run(spec: &Spawn, cancel: &Cancel) -> io::Result<Ended> {
    let (stdio, own_group) = if spec.inherit_stdio {
        // A task that reads the terminal must stay in the terminal's
        // foreground group, or it would be stopped by SIGTTIN.
        (Stdio::Inherit, !stdin_is_terminal())
    } else {
        (
            Stdio::Piped {
                hold_stdin: spec.hold_stdin,
            },
            true,
        )
    };
    cancel.spawning(spec.slot, spec.seq);
    let child = spawn::spawn(&Request {
        program: spec.program.as_os_str(),
        args: spec.args,
        seq: spec.seq,
        slot: spec.slot,
        stdio,
        own_group,
    })
    .inspect_err(|_| cancel.unregister(spec.slot))?;
    let pid = child.pid;
    cancel.register(spec.slot, pid);
    if spec.inherit_stdio {
        signals::foreground::started(if own_group { -pid } else { pid });
    }
    let mut clock = Clock::new(spec.timeout, spec.grace);
    let mut ended = Ended::default();
    if let Some(lines) = &spec.lines {
        ended.stdout = Captured::passing_lines(Arc::clone(&lines.stdout), lines.tag.clone());
        ended.stderr = Captured::passing_lines(Arc::clone(&lines.stderr), lines.tag.clone());
    }
    let read = match (child.stdout, child.stderr) {
        (Some(out), Some(err)) => read_both(out, err, &mut ended, &mut clock, pid),
        _ => Ok(()),
    };
    ended.stdout.end_lines();
    ended.stderr.end_lines();
    wait_exited(pid, &mut clock);
    // The leader stays a zombie until reaped below, so its group id cannot be
    // reused while it is still registered for signalling.
    cancel.unregister(spec.slot);
    if spec.inherit_stdio {
        signals::foreground::ended();
    }
    let exit = spawn::reap(pid)?;
    drop(child.stdin);
    read?;
    ended.exit_code = exit.code;
    ended.signal = exit.signal;
    ended.timed_out = clock.timed_out;
    Ok(ended)
}

fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    io::stdin().is_terminal()
}

/// The timeout, then the grace between SIGTERM and SIGKILL.
struct Clock {
    next: Option<Instant>,
    grace: Duration,
    timed_out: bool,
    killed: bool,
}

impl Clock {
    fn new(timeout: Option<Duration>, grace: Duration) -> Clock {
        Clock {
            next: timeout.map(|t| Instant::now() + t),
            grace,
            timed_out: false,
            killed: false,
        }
    }

    /// Milliseconds to the next step, for poll(2); -1 when there is none.
    fn poll_timeout(&self) -> i32 {
        match self.next {
            None => -1,
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now());
                // Round up so a wake-up never comes just before the deadline.
                left.as_millis().min(i32::MAX as u128 - 1) as i32 + 1
            }
        }
    }

    /// Sends the signal that is due, if one is.
    fn tick(&mut self, pid: i32) {
        let Some(at) = self.next else { return };
        if Instant::now() < at {
            return;
        }
        if !self.timed_out {
            self.timed_out = true;
            signal_group(pid, libc::SIGTERM);
            self.next = Some(Instant::now() + self.grace);
        } else if !self.killed {
            self.killed = true;
            signal_group(pid, libc::SIGKILL);
            self.next = None;
        }
    }
}

pub fn signal_group(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no
    // memory effects and fails harmlessly when the group is gone.
    unsafe {
        libc::kill(-pid, signal);
    }
}

thread_local! {
    /// Each slot thread reads its tasks' output through one buffer.
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; 64 * 1024]);
}

fn read_both(out: OwnedFd, err: OwnedFd, ended: &mut Ended, clock: &mut Clock, pid: i32) -> io::Result<()> {
    READ_BUFFER.with_borrow_mut(|buf| read_both_into(buf, &out, &err, ended, clock, pid))
}

fn read_both_into(
    buf: &mut [u8],
    out: &OwnedFd,
    err: &OwnedFd,
    ended: &mut Ended,
    clock: &mut Clock,
    pid: i32,
) -> io::Result<()> {
    let mut fds = [
        libc::pollfd {
            fd: out.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: err.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let mut result = Ok(());
    while fds[0].fd >= 0 || fds[1].fd >= 0 {
        // SAFETY: fds is a valid array of two pollfd; poll ignores negative fds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, clock.poll_timeout()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        clock.tick(pid);
        for (i, pfd) in fds.iter_mut().enumerate() {
            if pfd.fd < 0 || pfd.revents == 0 {
                continue;
            }
            // SAFETY: buf is valid for buf.len() bytes; fd is an open pipe we own.
            let got = unsafe { libc::read(pfd.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if got > 0 {
                let sink = if i == 0 { &mut ended.stdout } else { &mut ended.stderr };
                if let Err(e) = sink.push(&buf[..got as usize]) {
                    // Keep draining so the task is not blocked on a full pipe.
                    result = Err(e);
                }
            } else if got == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                pfd.fd = -1;
            }
        }
    }
    result
}

/// Waits until the process has exited without reaping it, still enforcing
/// the timeout (the task may have closed its output and run on).
fn wait_exited(pid: i32, clock: &mut Clock) {
    loop {
        let flags = if clock.next.is_some() {
            libc::WEXITED | libc::WNOWAIT | libc::WNOHANG
        } else {
            libc::WEXITED | libc::WNOWAIT
        };
        // SAFETY: siginfo_t is plain data; zeroed is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes into info, which outlives the call.
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        // SAFETY: waitid filled info (or left it zeroed under WNOHANG).
        if unsafe { info.si_pid() } != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
        clock.tick(pid);
    }
}
