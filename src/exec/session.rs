//! Long-lived remote shells: one per (host, slot), opened by the slot's
//! first task as a session of the host's shared connection and kept for
//! the run.
//!
//! A new ssh session costs the remote host a login shell, with whatever
//! its rc files run (a `pyenv init` there takes longer than most tasks):
//! paid once per slot here, not once per task. Each task is written to the
//! shell's stdin as one frame (a header line `SEQ SLOT N`, then the task's
//! remote line as N lines); the shell runs it in the same wrapper a
//! session of its own would use (see [`super::ssh::remote_line`]) and then
//! marks the end of the task's stderr with the run's random token, and
//! the end of its stdout with the token and the exit status. The task's
//! stdin is /dev/null, as in a session of its own. A new shell marks its
//! start the same way before it reads its first frame.
//!
//! The channel is the task's watcher while it runs: a timeout, a stop of
//! the run or `--fail-fast` ends the local ssh client, the remote wrapper
//! reads end-of-file and stops the task's process group, which is the
//! shell's too. The session is then gone, and the slot's next task opens
//! a new one. Closing the shell's stdin between tasks ends it.

use std::ffi::OsString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use super::process::Ended;
use super::spawn::{self, Request, Stdio};
use crate::cancel::Cancel;
use crate::capture::Captured;
use crate::target::Target;
use crate::template::quote;

/// The shell that reads the frames, run by `sh -c` with the token as `$1`
/// and the wrapper as `$2`. `read -r` with an empty IFS keeps every byte of
/// a line but NUL, which a command line cannot hold anyway.
///
/// A task's stdout and stderr are pipes of their own, each copied to the
/// shell's by a `cat` (fds 4 and 5 are the shell's own): the end marks go
/// out only once every writer has closed them, a process the task left in
/// the background included, as a session of its own ends only then. So
/// nothing a task writes late lands in the next task's output. Its exit
/// status comes back through fd 3, a command substitution's pipe, which
/// the task does not hold.
const DRIVER: &str = "t=$1 w=$2\n\
    exec 4>&1 5>&2\n\
    printf '%s\\n' \"$t\" >&2\n\
    printf '%s 0\\n' \"$t\"\n\
    while IFS= read -r h; do\n\
    set -- $h\n\
    q=$1 p=$2 n=$3 c=\n\
    while [ \"$n\" -gt 0 ]; do IFS= read -r l || exit 0; c=\"$c$l\n\"; n=$((n-1)); done\n\
    s=$( { { { PPOOL_SEQ=$q PPOOL_SLOT=$p sh -c \"$w\" sh \"${c%?}\" 3>&- 4>&- 5>&- 6>&-; \
    echo $? >&3; } 2>&1 >&6 | cat >&5; } 6>&1 | cat >&4; } 3>&1 )\n\
    printf '%s\\n' \"$t\" >&2\n\
    printf '%s %s\\n' \"$t\" \"$s\"\n\
    done";

/// A random token for the run: what marks a task's end in the streams.
pub fn token() -> String {
    let mut bytes = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| io::Read::read_exact(&mut f, &mut bytes));
    if read.is_err() {
        // No /dev/urandom: the time and the pid, which no task can guess
        // before it runs either.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        bytes[..8].copy_from_slice(&(now.as_nanos() as u64).to_le_bytes());
        bytes[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ppool-end-{hex}")
}

/// The remote command that starts the shell: `wrapper` is the script each
/// task runs in, with the task's line as its `$1`.
pub fn remote_command(token: &str, wrapper: &str) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    let mut out = b"exec sh -c ".to_vec();
    out.extend_from_slice(&quote(DRIVER.as_bytes()));
    out.extend_from_slice(b" sh ");
    out.extend_from_slice(&quote(token.as_bytes()));
    out.push(b' ');
    out.extend_from_slice(&quote(wrapper.as_bytes()));
    OsString::from_vec(out)
}

/// The frame that hands `line` to the shell.
pub fn frame(line: &[u8], seq: u64, slot: usize) -> Vec<u8> {
    let pieces = line.split(|&b| b == b'\n').count();
    let mut out = format!("{seq} {slot} {pieces}\n").into_bytes();
    out.extend_from_slice(line);
    out.push(b'\n');
    out
}

/// One remote shell: the local ssh client in a process group of its own,
/// and ppool's ends of its pipes.
pub struct Session {
    pid: i32,
    stdin: Option<std::fs::File>,
    stdout: OwnedFd,
    stderr: OwnedFd,
    /// The shell has said it is ready.
    ready: bool,
}

/// How a task in a session ended.
pub enum Ran {
    /// Both end marks came: the session is ready for the next task.
    Done(Ended, Session),
    /// The session ended first (a timeout, a stop, a lost connection):
    /// ssh's own exit status, and the output that came.
    Gone(Ended),
}

impl Session {
    /// Starts `program args` (an ssh client whose last word is
    /// [`remote_command`]); `Err` when it cannot start.
    pub fn open(program: &OsString, args: &[OsString], slot: usize) -> io::Result<Session> {
        let child = spawn::spawn(&Request {
            program,
            args,
            seq: None,
            slot,
            stdio: Stdio::Piped { hold_stdin: true },
            own_group: true,
        })?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin, child.stdout, child.stderr) else {
            signal_group(child.pid, libc::SIGKILL);
            let _ = spawn::reap(child.pid);
            return Err(io::Error::other("ssh started without its pipes"));
        };
        Ok(Session {
            pid: child.pid,
            stdin: Some(std::fs::File::from(stdin)),
            stdout,
            stderr,
            ready: false,
        })
    }

    /// Runs one task: `frame` written, its output read up to the end marks.
    /// A new shell first says it is ready (marks with no task before them):
    /// what the login shell's rc files print is the first task's, as it
    /// would be in a session of its own, and nothing they run can read the
    /// frame meant for the shell.
    pub fn run(
        mut self,
        frame: &[u8],
        token: &str,
        (seq, slot): (u64, usize),
        (timeout, grace): (Option<Duration>, Duration),
        cancel: &Cancel,
    ) -> Ran {
        let target = Target::group(self.pid);
        cancel.spawning(slot, seq);
        cancel.register_task(slot, target);
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut ended = Ended::default();
        let mut streams = [Stream::new(token, true), Stream::new(token, false)];
        let mut status = Some(0);
        if !self.ready {
            status = self.read(&mut streams, &mut ended, seq, (deadline, grace), target, cancel);
            self.ready = true;
            streams = [Stream::new(token, true), Stream::new(token, false)];
        }
        if status.is_some() && !ended.timed_out {
            let written = self.stdin.as_mut().map_or(Ok(()), |stdin| stdin.write_all(frame));
            status = match written {
                Ok(()) => self.read(&mut streams, &mut ended, seq, (deadline, grace), target, cancel),
                Err(_) => None,
            };
        }
        cancel.unregister(slot);
        match status {
            Some(status) if !ended.timed_out => {
                ended.exit_code = Some(status);
                Ran::Done(ended, self)
            }
            _ => {
                // Gone: whatever it wrote is the task's, then ssh's own end.
                self.stdin = None;
                let [out, err] = &mut streams;
                out.flush(&mut ended.stdout);
                err.flush(&mut ended.stderr);
                signal_group(self.pid, libc::SIGTERM);
                if !spawn::wait_exited(self.pid, Some(Instant::now() + grace.max(Duration::from_millis(100)))) {
                    signal_group(self.pid, libc::SIGKILL);
                }
                if let Ok(exit) = spawn::reap(self.pid) {
                    ended.exit_code = exit.code;
                    ended.signal = exit.signal;
                }
                Ran::Gone(ended)
            }
        }
    }

    /// Reads both streams until both end marks came (the status), or both
    /// closed (`None`). A timeout stops the local client: the remote side
    /// sees its channel close.
    fn read(
        &self,
        [out, err]: &mut [Stream; 2],
        ended: &mut Ended,
        seq: u64,
        (mut next, grace): (Option<Instant>, Duration),
        target: Target,
        cancel: &Cancel,
    ) -> Option<i32> {
        let pollfd = |fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let mut fds = [
            pollfd(self.stdout.as_raw_fd()),
            pollfd(self.stderr.as_raw_fd()),
            pollfd(cancel.stop_fd().unwrap_or(-1)),
        ];
        let mut killed = false;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if out.status.is_some() && err.done {
                return out.status;
            }
            if fds[0].fd < 0 && fds[1].fd < 0 {
                return None;
            }
            // SAFETY: fds is a valid array of pollfd; poll ignores negative fds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, spawn::poll_timeout(next)) };
            if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return None;
            }
            for (i, stream) in [(0, &mut *out), (1, &mut *err)] {
                if fds[i].fd < 0 || fds[i].revents == 0 {
                    continue;
                }
                // SAFETY: buf is valid for its length; the fd is an open pipe we own.
                let got = unsafe { libc::read(fds[i].fd, buf.as_mut_ptr().cast(), buf.len()) };
                if got > 0 {
                    let capture = if i == 0 { &mut ended.stdout } else { &mut ended.stderr };
                    if let Err(e) = stream.take(&buf[..got as usize], capture) {
                        cancel.fail(seq, format!("task {seq}: cannot keep its output: {e}"));
                    }
                } else if got == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    fds[i].fd = -1;
                }
            }
            if fds[2].fd >= 0 && fds[2].revents != 0 {
                // The cancel token signals the registered group itself.
                fds[2].fd = -1;
            }
            if cancel.is_killed() && !killed {
                killed = true;
                target.signal(libc::SIGKILL);
            }
            if next.is_some_and(|at| Instant::now() >= at) && !(out.status.is_some() && err.done) {
                if ended.timed_out {
                    target.signal(libc::SIGKILL);
                    next = None;
                } else {
                    ended.timed_out = true;
                    target.signal(libc::SIGTERM);
                    next = Some(Instant::now() + grace);
                }
            }
        }
    }

    /// Ends the shell: its stdin closed, then its client, if it lingers.
    pub fn close(mut self) {
        self.stdin = None;
        if !spawn::wait_exited(self.pid, Some(Instant::now() + Duration::from_secs(2))) {
            signal_group(self.pid, libc::SIGKILL);
        }
        let _ = spawn::reap(self.pid);
    }

    /// Closes the shell's stdin, so that it ends without being waited for.
    pub fn hang_up(&mut self) {
        self.stdin = None;
    }
}

fn signal_group(pid: i32, signal: i32) {
    Target::group(pid).signal(signal);
}

/// One of a session's output streams, watched for the task's end mark.
struct Stream {
    /// stdout's mark: `TOKEN STATUS\n`; stderr's: `TOKEN\n`.
    mark: Vec<u8>,
    stdout: bool,
    /// Bytes not yet given to the capture: they may begin a mark.
    pending: Vec<u8>,
    status: Option<i32>,
    done: bool,
}

impl Stream {
    fn new(token: &str, stdout: bool) -> Stream {
        Stream {
            mark: token.as_bytes().to_vec(),
            stdout,
            pending: Vec::new(),
            status: None,
            done: false,
        }
    }

    /// Takes what was read: the task's bytes go to `capture`, the mark ends it.
    fn take(&mut self, bytes: &[u8], capture: &mut Captured) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        self.pending.extend_from_slice(bytes);
        if let Some(at) = find(&self.pending, &self.mark) {
            let after = &self.pending[at + self.mark.len()..];
            let Some(end) = after.iter().position(|&b| b == b'\n') else {
                // The rest of the mark's line is still on its way.
                capture.push(&self.pending[..at])?;
                self.pending.drain(..at);
                return Ok(());
            };
            if self.stdout {
                let text = String::from_utf8_lossy(&after[..end]);
                self.status = Some(text.trim().parse().unwrap_or(255));
            }
            capture.push(&self.pending[..at])?;
            self.pending.clear();
            self.done = true;
            return Ok(());
        }
        // Keep what could be the start of a mark cut by the read.
        let keep = self.mark.len().saturating_sub(1).min(self.pending.len());
        let give = self.pending.len() - keep;
        capture.push(&self.pending[..give])?;
        self.pending.drain(..give);
        Ok(())
    }

    /// The stream ended without its mark: what was held back is the task's.
    fn flush(&mut self, capture: &mut Captured) {
        if !self.done {
            let _ = capture.push(&self.pending);
            self.pending.clear();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take_all(chunks: &[&[u8]], stdout: bool) -> (Vec<u8>, Option<i32>, bool) {
        let mut stream = Stream::new("TOK", stdout);
        let mut capture = Captured::default();
        for chunk in chunks {
            stream.take(chunk, &mut capture).unwrap();
        }
        (capture.read_all().unwrap(), stream.status, stream.done)
    }

    #[test]
    fn the_mark_ends_the_output_wherever_the_reads_cut_it() {
        assert_eq!(
            take_all(&[b"hello\nTOK 3\n"], true),
            (b"hello\n".to_vec(), Some(3), true)
        );
        assert_eq!(
            take_all(&[b"no newline", b"TO", b"K 0", b"\n"], true),
            (b"no newline".to_vec(), Some(0), true)
        );
        assert_eq!(take_all(&[b"TO TOK", b"\n"], false), (b"TO ".to_vec(), None, true));
        assert_eq!(take_all(&[b"abc", b"TO"], false), (b"abc".to_vec(), None, false));
    }

    /// Runs the driver here, as the remote login shell would, fed `frames`.
    fn drive(frames: &[u8]) -> std::process::Output {
        use std::io::Write;
        use std::os::unix::ffi::OsStrExt;
        use std::process::{Command, Stdio};
        let wrapper = "exec 3<&-; sh -c \"$1\"";
        let command = remote_command("TOK", wrapper);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(std::ffi::OsStr::from_bytes(command.as_bytes()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(frames).unwrap();
        child.wait_with_output().unwrap()
    }

    #[test]
    fn the_driver_runs_each_frame_whole_and_marks_its_end() {
        let mut frames = frame(
            b"printf '%s|' \"$PPOOL_SEQ\" \"$PPOOL_SLOT\"; printf '%s\\n' 'a\n\n b\\c'",
            7,
            2,
        );
        frames.extend(frame(b"echo oops >&2; exit 4", 8, 2));
        frames.extend(frame(b"printf 'x\n'", 9, 2));
        let out = drive(&frames);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "TOK 0\n7|2|a\n\n b\\c\nTOK 0\nTOK 4\nx\nTOK 0\n"
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "TOK\nTOK\noops\nTOK\nTOK\n");
        assert!(out.status.success());
    }
}
