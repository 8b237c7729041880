//! A long-running child fed through pipes (a builtin worker or a `--worker`
//! command): its own process group, non-blocking pipes driven with poll(2)
//! so a deadline is always kept, and an ending that always reaps it.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::frame::ReadBuf;
use super::process::signal_group;
use super::spawn::{self, Exit, Request, Stdio};
use crate::cancel::Cancel;

/// What one [`Coprocess::pump`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pump {
    /// New bytes are in `read`.
    Data,
    /// The child closed its stdout (it exited, most likely).
    Eof,
    TimedOut,
}

pub struct Coprocess {
    pub pid: i32,
    stdin: Option<OwnedFd>,
    stdout: File,
    pub read: ReadBuf,
    /// Tasks sent to it so far, for `--max-tasks-per-worker`.
    pub tasks: u64,
}

/// Starts `program` with `args` as [`Coprocess::spawn`] does, after the
/// words of `launcher` (`srun …`) when there are any.
pub fn spawn_through(launcher: &[OsString], program: &OsStr, args: &[OsString], slot: usize) -> io::Result<Coprocess> {
    match launcher.split_first() {
        None => Coprocess::spawn(program, args, slot),
        Some((first, rest)) => {
            let mut words = rest.to_vec();
            words.push(program.to_owned());
            words.extend_from_slice(args);
            Coprocess::spawn(first, &words, slot)
        }
    }
}

impl Coprocess {
    /// Starts `program` (a path: it is not looked up) with `args` in its
    /// own process group, with `PPOOL_SLOT` set to `slot`, piped stdin and
    /// stdout; stderr is ppool's.
    pub fn spawn(program: &OsStr, args: &[OsString], slot: usize) -> io::Result<Coprocess> {
        let child = spawn::spawn(&Request {
            program,
            args,
            seq: None,
            slot,
            stdio: Stdio::Coprocess,
            own_group: true,
        })?;
        let ended = |pid| {
            // It cannot be used: it goes at once, and is reaped.
            signal_group(pid, libc::SIGKILL);
            let _ = spawn::reap(pid);
        };
        let (Some(stdin), Some(stdout)) = (child.stdin, child.stdout) else {
            ended(child.pid);
            return Err(io::Error::other("a coprocess was started without its pipes"));
        };
        for fd in [stdin.as_raw_fd(), stdout.as_raw_fd()] {
            if let Err(e) = set_nonblocking(fd) {
                ended(child.pid);
                return Err(e);
            }
            widen_pipe(fd);
        }
        Ok(Coprocess {
            pid: child.pid,
            stdin: Some(stdin),
            stdout: File::from(stdout),
            read: ReadBuf::new(256 * 1024),
            tasks: 0,
        })
    }

    /// Writes what it can of `out[*written..]` and waits until there is
    /// something new to read, the child's stdout closes, or `deadline`
    /// passes. Bytes that arrived before the deadline are always read first.
    pub fn pump(&mut self, out: &[u8], written: &mut usize, deadline: Option<Instant>) -> io::Result<Pump> {
        loop {
            if *written < out.len() {
                if let Some(stdin) = &self.stdin {
                    match write_some(stdin.as_raw_fd(), &out[*written..]) {
                        Ok(n) => *written += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        // The child is gone or stopped reading: what it
                        // answered can still be read, then comes EOF.
                        Err(_) => self.stdin = None,
                    }
                }
            }
            match self.stdout.read(self.read.space()) {
                Ok(0) => return Ok(Pump::Eof),
                Ok(n) => {
                    self.read.end += n;
                    return Ok(Pump::Data);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Ok(Pump::Eof),
            }
            let timeout = spawn::poll_timeout(deadline);
            if timeout == 0 {
                return Ok(Pump::TimedOut);
            }
            let writing = *written < out.len() && self.stdin.is_some();
            let mut fds = [
                libc::pollfd {
                    fd: self.stdout.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.stdin.as_ref().map_or(-1, |s| s.as_raw_fd()),
                    events: libc::POLLOUT,
                    revents: 0,
                },
            ];
            let count = if writing { 2 } else { 1 };
            // SAFETY: fds is a valid array of at least `count` pollfd.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), count, timeout) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }

    /// Reads what the child has written so far, without waiting; says
    /// whether new bytes arrived. Its end, or an error, shows at the next
    /// [`Coprocess::pump`].
    pub fn read_ready(&mut self) -> bool {
        loop {
            match self.stdout.read(self.read.space()) {
                Ok(0) => return false,
                Ok(n) => {
                    self.read.end += n;
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
    }

    /// Bytes written to the child's stdin that it has not read yet. Where
    /// the system cannot tell (outside Linux), 0.
    pub fn unread_input(&self) -> usize {
        self.stdin.as_ref().map_or(0, |stdin| unread_in_pipe(stdin.as_raw_fd()))
    }

    /// Closes the child's stdin: a worker takes that as the end of its work.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Ends the child and reaps it: closes its stdin, sends `signal` to its
    /// group when given, waits up to `grace` for it to exit, then SIGKILLs
    /// the group. `registered` (the cancel token and slot it was registered
    /// for) is cleared just before the reap, while the group id cannot have
    /// been reused.
    pub fn end(mut self, signal: Option<i32>, grace: Duration, registered: Option<(&Cancel, usize)>) -> Exit {
        self.stdin = None;
        if let Some(signal) = signal {
            signal_group(self.pid, signal);
        }
        if !spawn::wait_exited(self.pid, Some(Instant::now() + grace)) {
            signal_group(self.pid, libc::SIGKILL);
            spawn::wait_exited(self.pid, None);
        }
        // Whatever the leader left behind in its group goes with it.
        signal_group(self.pid, libc::SIGKILL);
        if let Some((cancel, slot)) = registered {
            cancel.unregister(slot);
        }
        spawn::reap(self.pid).unwrap_or(Exit {
            code: None,
            signal: None,
        })
    }
}

/// How a child ended, in words: `exited with code 101`, `killed by signal 9`.
pub fn describe_exit(status: Exit) -> String {
    match (status.code, status.signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}

fn write_some(fd: i32, bytes: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: bytes is valid for bytes.len() bytes; fd is a pipe we own.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn set_nonblocking(fd: i32) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own; F_GETFL/F_SETFL touch no memory.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Bytes in the pipe behind `fd`: Linux answers FIONREAD on either end.
#[cfg(target_os = "linux")]
fn unread_in_pipe(fd: i32) -> usize {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int into `count`, which outlives the call.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut count) } < 0 {
        return 0;
    }
    usize::try_from(count).unwrap_or(0)
}

#[cfg(not(target_os = "linux"))]
fn unread_in_pipe(_fd: i32) -> usize {
    0
}

/// A larger pipe means fewer wake-ups per chunk. Best effort: the default
/// size works, only slower.
fn widen_pipe(fd: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: F_SETPIPE_SZ on a pipe we own touches no memory; failure is harmless.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

/// Ends every worker of a pool: all stdins are closed first, so they wind
/// down together, then each is waited for (SIGKILL after `grace`) and reaped.
pub fn end_all(workers: impl Iterator<Item = (usize, Coprocess)>, grace: Duration, cancel: Option<&Cancel>) {
    let workers: Vec<(usize, Coprocess)> = workers
        .map(|(slot, mut worker)| {
            worker.close_stdin();
            (slot, worker)
        })
        .collect();
    for (slot, worker) in workers {
        worker.end(None, grace, cancel.map(|c| (c, slot)));
    }
}
