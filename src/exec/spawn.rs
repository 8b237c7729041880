//! Every child ppool starts (a task, a builtin worker, a `--worker`
//! coprocess, ssh) starts here, as `posix_spawn` starts it (on Linux by
//! ppool's own steps, [`shared`], one of them cheaper), and is waited for
//! and reaped here. A process start is the floor of a command task's
//! cost, so this path builds nothing per spawn that can be built once: the
//! environment is captured at the first spawn and each child adds only its
//! `PPOOL_SEQ` and `PPOOL_SLOT`.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::ptr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How the child's stdin, stdout and stderr are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// stdout and stderr are pipes to ppool; stdin is /dev/null, or with
    /// `hold_stdin` a pipe that ppool keeps open and never writes.
    Piped { hold_stdin: bool },
    /// All three passed through (`apply`).
    Inherit,
    /// stdin and stdout are pipes ppool writes and reads; stderr is passed
    /// through (a builtin worker or a `--worker` coprocess).
    Coprocess,
}

/// A started process: its pid and ppool's ends of its pipes.
pub struct Child {
    pub pid: i32,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// What a child process reports when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

pub struct Request<'a> {
    pub program: &'a OsStr,
    /// The arguments after the program.
    pub args: &'a [OsString],
    /// `PPOOL_SEQ`: the task's number; a worker that serves many has none.
    pub seq: Option<u64>,
    pub slot: usize,
    pub stdio: Stdio,
    /// Start the process in a process group of its own.
    pub own_group: bool,
}

/// The parent's environment as `KEY=VALUE` strings, without the variables
/// ppool sets per task. Captured once: ppool never changes its environment.
fn base_environment() -> &'static [CString] {
    static ENV: OnceLock<Vec<CString>> = OnceLock::new();
    ENV.get_or_init(|| {
        std::env::vars_os()
            .filter(|(key, _)| key != "PPOOL_SEQ" && key != "PPOOL_SLOT")
            .filter_map(|(key, value)| {
                let mut pair = key.into_vec();
                pair.push(b'=');
                pair.extend_from_slice(value.as_bytes());
                CString::new(pair).ok()
            })
            .collect()
    })
}

/// Makes the pipe behind `fd` hold up to 1 MiB where the system allows.
pub fn widen_pipe(fd: &OwnedFd) {
    crate::sys::widen_pipe(fd.as_raw_fd());
}

/// /dev/null, opened once, for the stdin of every task.
fn dev_null() -> io::Result<i32> {
    static NULL: OnceLock<Option<OwnedFd>> = OnceLock::new();
    let fd = NULL.get_or_init(|| std::fs::File::open("/dev/null").ok().map(OwnedFd::from));
    fd.as_ref()
        .map(AsRawFd::as_raw_fd)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "cannot open /dev/null"))
}

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "an argument holds a NUL byte"))
}

/// `words` as C strings, one after the other in one buffer: a task's
/// arguments cost one allocation, however many there are (a batch has
/// thousands).
fn c_strings<'a>(words: impl Iterator<Item = &'a OsStr> + Clone) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(words.clone().map(|w| w.len() + 1).sum());
    for word in words {
        let word = word.as_bytes();
        if crate::bytes::find(0, word).is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an argument holds a NUL byte",
            ));
        }
        bytes.extend_from_slice(word);
        bytes.push(0);
    }
    Ok(bytes)
}

pub(crate) use crate::sys::pipe;

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod shared;

fn check(code: libc::c_int) -> io::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(code))
    }
}

/// posix_spawn's file actions, destroyed on drop.
struct FileActions(libc::posix_spawn_file_actions_t);

impl FileActions {
    fn new() -> io::Result<FileActions> {
        // SAFETY: an all-zero value is a valid place for init to write into.
        let mut actions: libc::posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
        // SAFETY: actions is valid for writes.
        check(unsafe { libc::posix_spawn_file_actions_init(&mut actions) })?;
        Ok(FileActions(actions))
    }

    fn dup2(&mut self, fd: i32, target: i32) -> io::Result<()> {
        // SAFETY: self.0 was initialised by posix_spawn_file_actions_init.
        check(unsafe { libc::posix_spawn_file_actions_adddup2(&mut self.0, fd, target) })
    }
}

impl Drop for FileActions {
    fn drop(&mut self) {
        // SAFETY: self.0 was initialised and is destroyed once.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.0);
        }
    }
}

/// posix_spawn's attributes, destroyed on drop.
struct Attributes(libc::posix_spawnattr_t);

impl Attributes {
    fn new(own_group: bool) -> io::Result<Attributes> {
        // SAFETY: an all-zero value is a valid place for init to write into.
        let mut attr: libc::posix_spawnattr_t = unsafe { std::mem::zeroed() };
        // SAFETY: attr is valid for writes.
        check(unsafe { libc::posix_spawnattr_init(&mut attr) })?;
        let mut attributes = Attributes(attr);
        // SAFETY: sigset_t is plain data; the libc calls below fill it in.
        let mut signals: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: every pointer is to a live, initialised value.
        unsafe {
            // Rust ignores SIGPIPE; the task gets the default back, as with
            // std's Command, and an empty signal mask.
            libc::sigemptyset(&mut signals);
            libc::sigaddset(&mut signals, libc::SIGPIPE);
            check(libc::posix_spawnattr_setsigdefault(&mut attributes.0, &signals))?;
            libc::sigemptyset(&mut signals);
            check(libc::posix_spawnattr_setsigmask(&mut attributes.0, &signals))?;
            let mut flags = libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK;
            if own_group {
                flags |= libc::POSIX_SPAWN_SETPGROUP;
                check(libc::posix_spawnattr_setpgroup(&mut attributes.0, 0))?;
            }
            check(libc::posix_spawnattr_setflags(
                &mut attributes.0,
                flags as libc::c_short,
            ))?;
        }
        Ok(attributes)
    }
}

impl Drop for Attributes {
    fn drop(&mut self) {
        // SAFETY: self.0 was initialised and is destroyed once.
        unsafe {
            libc::posix_spawnattr_destroy(&mut self.0);
        }
    }
}

/// Starts the process. The program must be a path: it is not looked up.
pub fn spawn(request: &Request) -> io::Result<Child> {
    spawn_with(request, &[])
}

/// As [`spawn`], with further arguments after `request.args`: `more` holds
/// them as C strings back to back, each ending in its NUL, as a batch's
/// command is rendered, so they are passed on without a copy.
pub fn spawn_with(request: &Request, more: &[u8]) -> io::Result<Child> {
    if more.last().is_some_and(|&b| b != 0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an argument lacks its terminating NUL",
        ));
    }
    let words = || std::iter::once(request.program).chain(request.args.iter().map(OsString::as_os_str));
    let strings = c_strings(words())?;
    // `more` is not counted first: a pass over its bytes costs more than
    // the vector's few growths.
    let mut argv: Vec<*const libc::c_char> = Vec::with_capacity(request.args.len() + 2);
    let mut start = 0;
    for word in words() {
        argv.push(strings[start..].as_ptr().cast());
        start += word.len() + 1;
    }
    let mut rest = more;
    while let Some(end) = crate::bytes::find(0, rest) {
        argv.push(rest.as_ptr().cast());
        rest = &rest[end + 1..];
    }
    argv.push(ptr::null());

    let base = base_environment();
    let seq = match request.seq {
        Some(seq) => Some(c_string(format!("PPOOL_SEQ={seq}").as_bytes())?),
        None => None,
    };
    let slot = c_string(format!("PPOOL_SLOT={}", request.slot).as_bytes())?;
    let mut envp: Vec<*const libc::c_char> = Vec::with_capacity(base.len() + 3);
    envp.extend(base.iter().map(|e| e.as_ptr()));
    envp.extend(seq.iter().map(|e| e.as_ptr()));
    envp.push(slot.as_ptr());
    envp.push(ptr::null());

    // (descriptor, number it takes in the child)
    let mut dups: Vec<(i32, i32)> = Vec::with_capacity(3);
    let mut child = Child {
        pid: 0,
        stdin: None,
        stdout: None,
        stderr: None,
    };
    // The child's ends: close-on-exec here, dup'ed onto 0, 1 and 2 in the child.
    let mut child_ends = Vec::new();
    let (stdin, stdout, stderr) = match request.stdio {
        Stdio::Piped { hold_stdin } => (hold_stdin, true, true),
        Stdio::Inherit => (false, false, false),
        Stdio::Coprocess => (true, true, false),
    };
    if stdin {
        let (read, write) = pipe()?;
        dups.push((read.as_raw_fd(), 0));
        child.stdin = Some(write);
        child_ends.push(read);
    } else if stdout {
        dups.push((dev_null()?, 0));
    }
    if stdout {
        let (read, write) = pipe()?;
        dups.push((write.as_raw_fd(), 1));
        child.stdout = Some(read);
        child_ends.push(write);
    }
    if stderr {
        let (read, write) = pipe()?;
        dups.push((write.as_raw_fd(), 2));
        child.stderr = Some(read);
        child_ends.push(write);
    }
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    let pid = shared::spawn(&argv, &envp, &dups, request.own_group)?;
    #[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
    let pid = posix_spawn(&argv, &envp, &dups, request.own_group)?;
    drop(child_ends);
    child.pid = pid;
    Ok(child)
}

/// Starts `argv` with `posix_spawn`: each of `dups` dup'ed onto its number,
/// SIGPIPE at its default, no signal blocked, in a group of its own with
/// `own_group`. On Linux, where no stack can be had for ppool's own steps.
fn posix_spawn(
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    dups: &[(i32, i32)],
    own_group: bool,
) -> io::Result<libc::pid_t> {
    let mut actions = FileActions::new()?;
    for &(fd, target) in dups {
        actions.dup2(fd, target)?;
    }
    let attributes = Attributes::new(own_group)?;
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid for the call: argv and envp are
    // NUL-terminated arrays of C strings (kept alive by the caller), argv[0]
    // the program; actions and attributes were initialised above.
    check(unsafe {
        libc::posix_spawn(
            &mut pid,
            argv[0],
            &actions.0,
            &attributes.0,
            argv.as_ptr() as *const *mut libc::c_char,
            envp.as_ptr() as *const *mut libc::c_char,
        )
    })?;
    Ok(pid)
}

/// Milliseconds from now to `deadline`, for poll(2): rounded up, so a
/// wake-up never comes before the deadline; 0 once it has passed; -1 (wait
/// for ever) without one; never more than poll takes.
pub fn poll_timeout(deadline: Option<Instant>) -> i32 {
    let Some(at) = deadline else {
        return -1;
    };
    millis_up(at.saturating_duration_since(Instant::now()))
}

fn millis_up(left: Duration) -> i32 {
    let millis = left.as_millis() + u128::from(left.subsec_nanos() % 1_000_000 != 0);
    i32::try_from(millis).unwrap_or(i32::MAX)
}

/// Waits, without reaping, until the child `pid` has exited or `deadline`
/// passes; says whether it exited. The child stays a zombie until
/// [`reap`], so its pid and process group id cannot be reused meanwhile.
/// Without a deadline it sleeps in the kernel; with one it looks, and
/// between looks naps a little longer each time, up to 10 ms.
pub fn wait_exited(pid: i32, deadline: Option<Instant>) -> bool {
    let mut nap = Duration::from_micros(200);
    loop {
        let flags = libc::WEXITED | libc::WNOWAIT | if deadline.is_some() { libc::WNOHANG } else { 0 };
        // SAFETY: siginfo_t is plain data; zeroed is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid writes into info, which outlives the call.
        let r = unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            // Not a child of ours (any more): nothing to wait for.
            return true;
        }
        // SAFETY: waitid filled info (or left it zeroed under WNOHANG).
        if unsafe { info.si_pid() } != 0 {
            return true;
        }
        let Some(at) = deadline else { continue };
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(nap.min(left));
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}

/// Reaps an exited child and decodes its status.
pub fn reap(pid: i32) -> io::Result<Exit> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid place for waitpid to write.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(if libc::WIFEXITED(status) {
        Exit {
            code: Some(libc::WEXITSTATUS(status)),
            signal: None,
        }
    } else if libc::WIFSIGNALED(status) {
        Exit {
            code: None,
            signal: Some(libc::WTERMSIG(status)),
        }
    } else {
        Exit {
            code: None,
            signal: None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn run(program: &str, args: &[&str], stdio: Stdio) -> (Child, Exit) {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let child = spawn(&Request {
            program: OsStr::new(program),
            args: &args,
            seq: Some(7),
            slot: 2,
            stdio,
            own_group: true,
        })
        .unwrap();
        let exit = reap(child.pid).unwrap();
        (child, exit)
    }

    #[test]
    fn pipes_environment_group_and_signals() {
        let script = "echo $PPOOL_SEQ $PPOOL_SLOT; echo err >&2; \
                      [ $(ps -o pgid= -p $$) = $$ ] && echo own-group; \
                      trap - PIPE; kill -PIPE $$";
        let (child, exit) = run("/bin/sh", &["-c", script], Stdio::Piped { hold_stdin: false });
        let mut out = String::new();
        std::fs::File::from(child.stdout.unwrap())
            .read_to_string(&mut out)
            .unwrap();
        let mut err = String::new();
        std::fs::File::from(child.stderr.unwrap())
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(out, "7 2\nown-group\n");
        assert_eq!(err, "err\n");
        // SIGPIPE is back to its default in the child: it kills.
        assert_eq!(exit.signal, Some(libc::SIGPIPE));
    }

    #[test]
    fn further_arguments_come_after_the_others_as_given() {
        let args: Vec<OsString> = vec!["-c".into(), "printf '<%s>' \"$@\"".into()];
        let request = Request {
            program: OsStr::new("/bin/sh"),
            args: &args,
            seq: Some(1),
            slot: 1,
            stdio: Stdio::Piped { hold_stdin: false },
            own_group: true,
        };
        let child = spawn_with(&request, b"sh\0a b\0\0c\0").unwrap();
        let mut out = String::new();
        std::fs::File::from(child.stdout.unwrap())
            .read_to_string(&mut out)
            .unwrap();
        reap(child.pid).unwrap();
        assert_eq!(out, "<a b><><c>");
        let error = spawn_with(&request, b"a\0b").err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn exit_codes_and_a_missing_program() {
        let (_, exit) = run("/bin/sh", &["-c", "exit 3"], Stdio::Piped { hold_stdin: false });
        assert_eq!(
            exit,
            Exit {
                code: Some(3),
                signal: None
            }
        );
        let args: Vec<OsString> = Vec::new();
        let error = spawn(&Request {
            program: OsStr::new("/no/such/program"),
            args: &args,
            seq: Some(1),
            slot: 1,
            stdio: Stdio::Piped { hold_stdin: false },
            own_group: true,
        })
        .err()
        .unwrap();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn poll_timeouts_round_up_and_are_clamped() {
        assert_eq!(millis_up(Duration::ZERO), 0);
        assert_eq!(millis_up(Duration::from_nanos(1)), 1);
        assert_eq!(millis_up(Duration::from_millis(1)), 1);
        assert_eq!(millis_up(Duration::from_nanos(1_000_001)), 2);
        assert_eq!(millis_up(Duration::from_millis(i32::MAX as u64)), i32::MAX);
        assert_eq!(millis_up(Duration::from_secs(u64::MAX)), i32::MAX);
        assert_eq!(poll_timeout(None), -1);
        let past = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(poll_timeout(Some(past)), 0);
        let soon = poll_timeout(Some(Instant::now() + Duration::from_secs(60)));
        assert!(soon > 0 && soon <= 60_000, "{soon}");
    }

    fn start(script: &str) -> Child {
        let args: Vec<OsString> = vec!["-c".into(), script.into()];
        spawn(&Request {
            program: OsStr::new("/bin/sh"),
            args: &args,
            seq: None,
            slot: 1,
            stdio: Stdio::Coprocess,
            own_group: true,
        })
        .unwrap()
    }

    #[test]
    fn a_wait_leaves_the_child_to_one_reap() {
        let child = start("exit 3");
        assert!(wait_exited(child.pid, None));
        // Not reaped: still there to look at, and to reap once.
        assert!(wait_exited(child.pid, Some(Instant::now())));
        assert_eq!(
            reap(child.pid).unwrap(),
            Exit {
                code: Some(3),
                signal: None
            }
        );
        assert_eq!(reap(child.pid).unwrap_err().raw_os_error(), Some(libc::ECHILD));
    }

    #[test]
    fn a_wait_ends_at_its_deadline_and_the_child_runs_on() {
        // It runs until its stdin closes.
        let child = start("read line");
        let deadline = Instant::now() + Duration::from_millis(20);
        assert!(!wait_exited(child.pid, Some(deadline)));
        assert!(Instant::now() >= deadline);
        // SAFETY: kill(2) touches no memory; the child is not reaped, so its pid is ours.
        unsafe { libc::kill(child.pid, libc::SIGKILL) };
        assert!(wait_exited(child.pid, Some(Instant::now() + Duration::from_secs(60))));
        assert_eq!(reap(child.pid).unwrap().signal, Some(libc::SIGKILL));
    }

    #[test]
    fn a_coprocess_has_pipes_for_stdin_and_stdout_and_no_task_number() {
        let child = start("read line; echo \"$line ${PPOOL_SEQ-none} $PPOOL_SLOT\"; echo err >&2");
        assert!(child.stderr.is_none());
        let mut stdin = std::fs::File::from(child.stdin.unwrap());
        std::io::Write::write_all(&mut stdin, b"hi\n").unwrap();
        let mut out = String::new();
        std::fs::File::from(child.stdout.unwrap())
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "hi none 1\n");
        assert_eq!(reap(child.pid).unwrap().code, Some(0));
    }
}
