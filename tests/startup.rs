//! A run of one task: it starts no thread of its own (the task runs on the
//! main thread and signals are handled without a watcher), and it keeps
//! every promise of a longer run: signals, the guard, kill -9.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::{children_of, cmdline_of, marker, ppool_std, send_signal, wait_gone};

/// Far above what any step below takes, even on a loaded machine.
const BOUND: Duration = Duration::from_secs(30);

/// `ppool MODE [OPTIONS] sh -c 'SCRIPT' ::: MARK`: one task, found by its mark.
fn one_task(mode: &str, options: &[&str], script: &str, mark: &str) -> Child {
    ppool_std()
        .arg(mode)
        .args(options)
        .args(["sh", "-c", script, ":::", mark])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the task to be running its `sleep`: a `sh` child of `ppool`
/// whose command line holds `mark`, with a `sleep` child of its own (by
/// then the script's traps are set). The guard and a task not yet
/// exec'd carry ppool's command line, mark included, so names tell them
/// apart.
fn wait_started(ppool: u32, mark: &str) {
    let named = |pid: u32, name: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == name)
    };
    let start = Instant::now();
    loop {
        let running = children_of(ppool)
            .into_iter()
            .filter(|&pid| named(pid, "sh") && cmdline_of(pid).contains(mark))
            .any(|sh| children_of(sh).into_iter().any(|pid| named(pid, "sleep")));
        if running {
            return;
        }
        assert!(start.elapsed() < BOUND, "the task never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn threads_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |dir| dir.count())
}

/// The exit status, waiting at most `BOUND`.
fn exit_code(mut child: Child) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > BOUND {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("ppool did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_one_task_run_of_each_mode_runs_on_the_main_thread_and_stops_on_a_signal() {
    for (mode, signal, code) in [
        ("unordered", libc::SIGTERM, 143),
        ("imap", libc::SIGINT, 130),
        ("map", libc::SIGHUP, 129),
    ] {
        let mark = marker(&format!("one-{mode}"));
        let child = one_task(mode, &[], "sleep 30; : $0", &mark);
        let ppool = child.id();
        wait_started(ppool, &mark);
        assert_eq!(threads_of(ppool), 1, "{mode}: threads of a one-task run");
        send_signal(ppool, signal);
        assert_eq!(exit_code(child), Some(code), "{mode}");
        assert!(wait_gone(&mark, BOUND).is_empty(), "{mode}: the task outlived ppool");
        assert!(children_of(ppool).is_empty(), "{mode}: the guard was not reaped");
    }
}

#[test]
fn a_second_interrupt_kills_a_one_task_run_that_ignores_the_first() {
    let mark = marker("one-twice");
    // The grace is far longer than the test: only the second SIGINT can
    // end the task in time.
    let child = one_task(
        "unordered",
        &["--grace", "300s"],
        "trap '' TERM INT; sleep 60; : $0",
        &mark,
    );
    let ppool = child.id();
    wait_started(ppool, &mark);
    // Again and again: two signals pending at once count as one, so
    // they are spaced out until one has come after the first.
    let start = Instant::now();
    let mut child = child;
    let code = loop {
        send_signal(ppool, libc::SIGINT);
        std::thread::sleep(Duration::from_millis(100));
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(start.elapsed() < BOUND, "the second SIGINT did not end the run");
    };
    assert_eq!(code, Some(130));
    assert!(wait_gone(&mark, BOUND).is_empty(), "the task outlived ppool");
}

#[test]
fn a_one_task_run_killed_outright_leaves_nothing_running() {
    let mark = marker("one-kill9");
    let child = one_task("imap", &["--grace", "1s"], "sleep 60; : $0", &mark);
    wait_started(child.id(), &mark);
    send_signal(child.id(), libc::SIGKILL);
    assert_eq!(exit_code(child), None, "ppool was killed");
    assert!(wait_gone(&mark, BOUND).is_empty(), "the guard left the task running");
}

#[test]
fn a_one_task_run_prints_and_exits_as_a_longer_run_does() {
    for mode in ["unordered", "imap", "map"] {
        let out = ppool_std()
            .args([mode, "sh", "-c", "echo out $0; echo err $0 >&2; exit 3", ":::", "x"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "out x\n", "{mode}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("err x\n"), "{mode}");
        assert_eq!(out.status.code(), Some(1), "{mode}: one task failed");
    }
    // The policies and --halt act on the one task as on any other.
    let out = ppool_std()
        .args(["unordered", "--halt", "now,fail=1", "sh", "-c", "exit 7", ":::", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7));
    let out = ppool_std()
        .args([
            "unordered",
            "--retries",
            "2",
            "sh",
            "-c",
            "echo try; exit 1",
            ":::",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "try\n");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_one_task_run_stops_when_its_stdout_closes() {
    let mark = marker("one-stdout");
    let mut child = one_task("imap", &["--grace", "1s"], "sleep 60; : $0", &mark);
    wait_started(child.id(), &mark);
    // Nobody reads stdout any more, while the task runs and prints nothing.
    drop(child.stdout.take());
    assert_eq!(exit_code(child), Some(141), "a closed stdout");
    assert!(wait_gone(&mark, BOUND).is_empty(), "the task outlived ppool");
}

/// The scheduling policy of `pid`: field 41 of /proc/PID/stat.
fn policy_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (field 2, in parentheses) start at 3.
    stat.get(stat.rfind(')')? + 2..)?.split(' ').nth(41 - 3)?.parse().ok()
}

#[test]
fn the_guard_is_a_batch_process_so_its_wake_up_does_not_preempt_ppool() {
    let mark = marker("one-batch");
    let child = one_task("unordered", &[], "sleep 60; : $0", &mark);
    let ppool = child.id();
    wait_started(ppool, &mark);
    let guard = children_of(ppool).into_iter().find(|&pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "ppool-guard")
    });
    let policy = guard.and_then(policy_of);
    send_signal(ppool, libc::SIGTERM);
    assert_eq!(exit_code(child), Some(143));
    assert_eq!(policy, Some(libc::SCHED_BATCH as u32), "the guard's scheduling policy");
}

/// The C maths library is not loaded at start: ppool has its own `pow`,
/// the only function of it ppool used (a tenth of a millisecond of each
/// start went to loading it).
#[test]
fn ppool_starts_without_loading_the_maths_library() {
    let out = ppool_std()
        .args(["apply", "sh", "-c", "cat /proc/$PPID/maps"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let maps = String::from_utf8_lossy(&out.stdout);
    assert!(maps.contains("ppool"), "not ppool's maps: {maps}");
    assert!(!maps.contains("libm."), "libm is loaded:\n{maps}");
}
