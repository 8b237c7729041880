//! The guard: nothing of a run outlives a `ppool` killed with SIGKILL at any
//! moment, nothing of it outlives a `ppool` that exits by itself, and a
//! stopped guard holds nothing up.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{children_of, cmdline_of, ppool_std, processes_whose, send_signal};

/// A variable every process of the run inherits: tasks, their children and
/// the guard (a fork of ppool) carry it, whatever their command line.
const MARK: &str = "PPOOL_TEST_GUARD_MARK";

fn mark(name: &str) -> String {
    format!("guard-{name}-{}", std::process::id())
}

/// Live (not zombie) processes whose environment holds `MARK=mark`.
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("{MARK}={mark}").into_bytes();
    let mut found = processes_whose("environ", |environ| {
        environ.split(|&b| b == 0).any(|v| v == needle.as_slice())
    });
    found.retain(|&pid| state(pid) != Some('Z'));
    found
}

fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.get(stat.rfind(')')? + 2..)?.chars().next()
}

/// Waits up to `limit` for every marked process to be gone; those left.
fn wait_unmarked(mark: &str, limit: Duration) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let left = marked(mark);
        if left.is_empty() || start.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn describe(pids: &[u32]) -> String {
    pids.iter()
        .map(|&p| {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            format!("{p} {:?} ({}): {}", state(p), comm.trim(), cmdline_of(p))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The guard among `ppool`'s children (this version's name, or the
/// `__guard` subcommand of earlier ones).
fn guard_of(ppool: u32) -> Option<u32> {
    children_of(ppool).into_iter().find(|&pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "ppool-guard")
            || cmdline_of(pid).contains("__guard")
    })
}

fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(start.elapsed() < limit, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Two busy loops, so that the kills below land on a loaded machine.
struct Load(Vec<Child>);

impl Load {
    fn start() -> Load {
        Load(
            (0..2)
                .map(|_| {
                    std::process::Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("starting a busy loop")
                })
                .collect(),
        )
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `-j8` tasks that sleep, each with a sleeping child.
fn sleepers(mark: &str) -> Child {
    ppool_std()
        .env(MARK, mark)
        .args(["imap", "-j8", "--grace", "1s", "sh", "-c", "sleep 50 & sleep 50"])
        .arg(":::")
        .args((1..=8).map(|i| i.to_string()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting ppool")
}

/// `-j100`, 3,000 short tasks, each starting a child.
fn short_tasks(mark: &str) -> Child {
    ppool_std()
        .env(MARK, mark)
        .args(["unordered", "-j100", "--grace", "1s", "sh", "-c", "sleep 0.05 & wait"])
        .arg(":::")
        .args((1..=3000).map(|i| i.to_string()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting ppool")
}

/// SIGKILLs `child` after `delay`; then the guard ends what is left, and
/// itself: nothing marked remains.
fn kill_and_check(mut child: Child, delay: Duration, mark: &str, what: &str) {
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();
    let left = wait_unmarked(mark, Duration::from_secs(20));
    assert!(
        left.is_empty(),
        "{what} killed after {delay:?}: left running: {}",
        describe(&left)
    );
}

#[test]
fn a_sigkill_at_any_moment_leaves_nothing_running() {
    let _load = Load::start();
    // Mostly in the first milliseconds, when the first tasks start.
    let moments = (0..12).map(|i| i * 500).chain([200_000]);
    for (i, us) in moments.enumerate() {
        let mark = mark(&format!("kill-{i}"));
        kill_and_check(sleepers(&mark), Duration::from_micros(us), &mark, "-j8");
    }
    let mark = mark("kill-short");
    kill_and_check(short_tasks(&mark), Duration::from_millis(500), &mark, "-j100");
}

/// A run that outlasts the guard's first 100 ms has a guard of its own
/// memory (ppool's program run again, `__guard`), which the OOM killer does
/// not take along with ppool; it stops the tasks all the same.
#[test]
fn a_guard_that_runs_on_its_own_still_stops_the_tasks() {
    let mark = mark("own");
    let child = sleepers(&mark);
    let ppool = child.id();
    wait_for("the guard as its own program", Duration::from_secs(20), || {
        guard_of(ppool).filter(|&guard| cmdline_of(guard).starts_with("ppool __guard "))
    });
    kill_and_check(child, Duration::ZERO, &mark, "-j8, its guard on its own");
}

/// Under a file size limit below the guard's table, no memory file is made
/// (growing it would raise SIGXFSZ): the guard is a fork of ppool, and does
/// its work.
#[test]
fn under_a_file_size_limit_the_guard_is_forked_and_stops_the_tasks() {
    use std::os::unix::process::CommandExt;
    let mark = mark("fsize");
    let mut command = ppool_std();
    command
        .env(MARK, &mark)
        .args(["imap", "-j2", "--grace", "1s", "sleep", "50", ":::", "1", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setrlimit is async-signal-safe and touches no memory but
    // `limit`, on the child's stack.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: libc::RLIM_INFINITY,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            Ok(())
        });
    }
    let child = command.spawn().expect("starting ppool");
    let ppool = child.id();
    let guard = wait_for("the guard", Duration::from_secs(20), || guard_of(ppool));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        cmdline_of(guard),
        cmdline_of(ppool),
        "the guard should be a fork of ppool"
    );
    kill_and_check(child, Duration::ZERO, &mark, "-j2 under a file size limit");
}

#[test]
fn the_guard_program_is_not_for_the_command_line() {
    let output = ppool_std().args(["__guard", "1", "x", "2", "3"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not for use on the command line"), "{stderr}");
    // A file too small to hold a table, of any size around the header's.
    let dir = tempfile::tempdir().unwrap();
    for size in [1, 24, 30, 40, 41] {
        let path = dir.path().join(format!("table-{size}"));
        std::fs::write(&path, vec![0u8; size]).unwrap();
        let output = ppool_std()
            .args(["__guard", "0", "x", "2", "0"])
            .stdin(std::fs::File::open(&path).unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(255), "{size} bytes: {stderr}");
        assert!(stderr.contains("no table to read"), "{size} bytes: {stderr}");
    }
}

#[test]
#[ignore = "heavy: 50 kills under load, about a minute"]
fn fifty_sigkills_under_load_leave_nothing_running() {
    let _load = Load::start();
    // A small deterministic spread of moments (no random crate needed).
    let mut seed = std::process::id() as u64 | 1;
    let mut next = move |range: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % range
    };
    for i in 0..50 {
        let mark = mark(&format!("heavy-{i}"));
        if i % 2 == 0 {
            let delay = Duration::from_micros(next(20_000));
            kill_and_check(sleepers(&mark), delay, &mark, "-j8");
        } else {
            let delay = Duration::from_millis(300 + next(500));
            kill_and_check(short_tasks(&mark), delay, &mark, "-j100");
        }
    }
}

/// Where the reaper finds ppool's arguments, one per line.
const REAPER_ARGS: &str = "PPOOL_TEST_REAPER_ARGS";

/// `ppool ARGS` run as the child of a process that is a subreaper and never
/// reaps anything but ppool: whatever ppool leaves behind, running or not
/// reaped, becomes that process's child, and stays visible. The reaper is
/// this test binary run again (see [`reaper`]), so nothing forks inside a
/// test process with many threads.
struct UnderReaper {
    reaper: Child,
    ppool: u32,
    status: std::fs::File,
}

/// Not a test of its own: the reaper of [`UnderReaper`], when run by it.
/// Its descriptor 3 is ppool's stdout (when given), 4 the status pipe.
#[test]
#[ignore = "the reaper process of the guard tests; does nothing when run directly"]
fn reaper() {
    use std::os::unix::process::CommandExt;
    let Some(args) = std::env::var_os(REAPER_ARGS) else {
        return;
    };
    let args: Vec<&std::ffi::OsStr> = args
        .as_bytes()
        .split(|&b| b == b'\n')
        .map(std::ffi::OsStr::from_bytes)
        .collect();
    // SAFETY: prctl with plain integer arguments touches no memory.
    assert_eq!(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }, 0);
    // SAFETY: descriptors 3 and 4 were set up by UnderReaper for this process.
    let mut status = unsafe { std::fs::File::from_raw_fd(4) };
    // SAFETY: fcntl only tells whether descriptor 3 is open.
    let stdout = if unsafe { libc::fcntl(3, libc::F_GETFD) } >= 0 {
        // SAFETY: descriptor 3 was set up by UnderReaper for this process.
        Stdio::from(unsafe { OwnedFd::from_raw_fd(3) })
    } else {
        Stdio::null()
    };
    let mut child = std::process::Command::new(crate::util::bin())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("starting ppool");
    let pid = child.id() as i32;
    status.write_all(&pid.to_ne_bytes()).unwrap();
    // Waits for ppool alone; any other child stays unreaped.
    let code = std::os::unix::process::ExitStatusExt::into_raw(child.wait().expect("waiting for ppool"));
    status.write_all(&code.to_ne_bytes()).unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

impl UnderReaper {
    fn start(args: &[&str], stdout: Option<&OwnedFd>) -> UnderReaper {
        use std::os::unix::process::CommandExt;
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into fds.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both descriptors were just created and belong to nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let out = stdout.map(|fd| fd.as_raw_fd());
        let status_fd = write.as_raw_fd();
        let mut command = std::process::Command::new(std::env::current_exe().expect("the test binary"));
        command
            .args(["--exact", "guard::reaper", "--ignored", "--test-threads=1", "--quiet"])
            .env(REAPER_ARGS, args.join("\n"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        // SAFETY: dup2 is async-signal-safe and the descriptors stay open
        // in this process until the child has started.
        unsafe {
            command.pre_exec(move || {
                if let Some(out) = out {
                    if libc::dup2(out, 3) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else {
                    libc::close(3);
                }
                if libc::dup2(status_fd, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // dup2 onto itself (a descriptor that already was 3 or 4)
                // leaves close-on-exec set: clear it on both.
                for fd in [3, 4] {
                    libc::fcntl(fd, libc::F_SETFD, 0);
                }
                Ok(())
            });
        }
        let reaper = command.spawn().expect("starting the reaper");
        drop(write);
        let mut status = std::fs::File::from(read);
        let mut pid = [0u8; 4];
        status.read_exact(&mut pid).expect("the reaper reports ppool's pid");
        UnderReaper {
            reaper,
            ppool: i32::from_ne_bytes(pid) as u32,
            status,
        }
    }

    /// ppool's exit code (128+N for signal N), once it has exited.
    fn exit_code(&mut self) -> i32 {
        let mut status = [0u8; 4];
        self.status
            .read_exact(&mut status)
            .expect("the reaper reports ppool's status");
        let status = i32::from_ne_bytes(status);
        if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        }
    }

    /// What ppool left behind: the reaper's children.
    fn left(&self) -> Vec<u32> {
        children_of(self.reaper.id())
    }
}

impl Drop for UnderReaper {
    fn drop(&mut self) {
        for pid in self.left() {
            send_signal(pid, libc::SIGKILL);
        }
        let _ = self.reaper.kill();
        let _ = self.reaper.wait();
    }
}

/// Nothing of the run is left: no process running, and no guard even as a
/// zombie. A task's child that died with it is a zombie of the reaper's
/// too (its parent, the task, died first), but ppool never had it to reap.
fn assert_reaped(run: &UnderReaper, what: &str) {
    let left: Vec<u32> = run
        .left()
        .into_iter()
        .filter(|&pid| {
            state(pid) != Some('Z')
                || std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim().starts_with("ppool"))
        })
        .collect();
    assert!(left.is_empty(), "{what}: ppool left {}", describe(&left));
}

#[test]
fn the_guard_is_reaped_after_a_normal_run_and_an_error() {
    let mut run = UnderReaper::start(&["imap", "echo", ":::", "a", "b"], None);
    assert_eq!(run.exit_code(), 0);
    assert_reaped(&run, "a normal run");

    let mut run = UnderReaper::start(&["unordered", "--arg-file", "/no/such/file", "echo"], None);
    assert_eq!(run.exit_code(), 255);
    assert_reaped(&run, "an error");

    let mut run = UnderReaper::start(&["map", "sh", "-c", "exit 3", ":::", "a"], None);
    assert_eq!(run.exit_code(), 1);
    assert_reaped(&run, "a failed task");
}

fn signalled(signal: i32, code: i32) {
    let mut run = UnderReaper::start(&["imap", "-j2", "sleep", "30", ":::", "1", "2"], None);
    let ppool = run.ppool;
    // Both tasks and the guard.
    wait_for("the tasks", Duration::from_secs(20), || {
        (children_of(ppool).len() >= 3).then_some(())
    });
    send_signal(ppool, signal);
    assert_eq!(run.exit_code(), code);
    assert_reaped(&run, "a signal");
}

#[test]
fn the_guard_is_reaped_after_sigterm() {
    signalled(libc::SIGTERM, 143);
}

#[test]
fn sighup_stops_a_run_like_sigterm_and_reaps_the_guard() {
    signalled(libc::SIGHUP, 129);
}

#[test]
fn the_guard_is_reaped_after_a_closed_stdout() {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two descriptors into fds.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and belong to nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut run = UnderReaper::start(&["imap", "sh", "-c", "seq 100000", ":::", "1", "2", "3"], Some(&write));
    drop(write);
    let mut lines = BufReader::new(std::fs::File::from(read));
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    assert_eq!(first, "1\n");
    drop(lines);
    assert_eq!(run.exit_code(), 141);
    assert_reaped(&run, "a closed stdout");
}

#[test]
fn a_stopped_guard_does_not_block_the_run() {
    let mut child = ppool_std()
        .args(["unordered", "-j2", "--worker", "while read l; do echo $l; done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = wait_for("the guard", Duration::from_secs(20), || guard_of(child.id()));
    send_signal(guard, libc::SIGSTOP);
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..20_000 {
            if writeln!(stdin, "{i}").is_err() {
                break;
            }
        }
    });
    let stdout = child.stdout.take().unwrap();
    let counter = std::thread::spawn(move || BufReader::new(stdout).lines().count());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(60) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    send_signal(guard, libc::SIGCONT);
    if status.is_none() {
        send_signal(guard, libc::SIGKILL);
        child.kill().unwrap();
        child.wait().unwrap();
    }
    feeder.join().unwrap();
    let printed = counter.join().unwrap();
    assert!(status.is_some(), "the run hung behind its stopped guard");
    assert!(status.unwrap().success());
    assert_eq!(printed, 20_000);
    // A stopped guard is not waited for: ppool ended it.
    assert!(state(guard).map_or(true, |s| s == 'Z'), "the guard outlived ppool");
}

#[test]
fn a_stdout_closed_at_start_is_an_error() {
    let bin = crate::util::bin();
    let output = std::process::Command::new("sh")
        .args(["-c", r#"exec "$0" imap echo ::: a >&-"#])
        .arg(bin)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("ppool: stdout is closed: "), "{stderr}");
}
