//! Failure policies, retries, timeouts, signals and closed pipes.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::*;

/// Task 1 ends at once, task 2 fails; the others would run for a minute.
fn fail_fast_run(mode: &str, mark: &str) -> (std::process::Output, Duration) {
    let start = Instant::now();
    let script =
        format!("if [ {{}} = 2 ]; then echo out-{{}}; exit 3; fi; echo out-{{}}; [ {{}} = 1 ] || sleep 60 # {mark}");
    let out = ppool()
        .args([
            mode,
            "--fail-fast",
            "--grace",
            "1s",
            "-j3",
            "sh",
            "-c",
            &script,
            ":::",
            "1",
            "2",
            "3",
            "4",
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    (out, start.elapsed())
}

#[test]
fn fail_fast_stops_everything_and_exits_with_the_failed_code() {
    for mode in ["imap", "unordered", "map"] {
        let mark = marker(&format!("ff-{mode}"));
        let (out, took) = fail_fast_run(mode, &mark);
        assert_eq!(out.status.code(), Some(3), "{mode}: {}", stderr_of(&out));
        assert!(took < Duration::from_secs(20), "{mode}: took {took:?}");
        assert!(
            wait_gone(&mark, Duration::from_secs(5)).is_empty(),
            "{mode}: processes left"
        );
        assert!(stderr_of(&out).contains("task 2"), "{mode}: {}", stderr_of(&out));
        // Which tasks each mode prints is checked without processes in the
        // scheduler's unit tests; here, whether task 1 ended before the
        // failure is up to the machine, but the failure and the tasks the
        // stop killed are known.
        let stdout = stdout_of(&out);
        match mode {
            "map" => assert_eq!(stdout, "", "all-or-nothing"),
            _ => {
                assert!(stdout.contains("out-2\n"), "{mode}: {stdout}");
                assert!(
                    !stdout.contains("out-3") && !stdout.contains("out-4"),
                    "{mode}: {stdout}"
                );
            }
        }
    }
}

#[test]
fn collect_errors_summary_names_twenty_then_counts() {
    let out = ppool()
        .args(["imap", "--collect-errors", "sh", "-c", "exit 2"])
        .write_stdin((1..=25).map(|i| format!("r{i}\n")).collect::<String>())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(25));
    let err = stderr_of(&out);
    assert!(err.contains("25 of 25 tasks failed"), "{err}");
    assert!(err.contains("task 20 (r20): failed, exit code 2"), "{err}");
    assert!(!err.contains("task 21 (r21)"), "{err}");
    assert!(err.contains("and 5 more"), "{err}");
}

#[test]
fn retries_run_a_failed_task_again_and_count_attempts() {
    let dir = tempfile::tempdir().unwrap();
    // Fails twice, then succeeds: a counter file per record.
    let script = "n=$(cat c-{} 2>/dev/null || echo 0); n=$((n+1)); echo $n > c-{}; [ $n -ge 3 ] && echo done-{}";
    let out = ppool()
        .current_dir(dir.path())
        .args([
            "imap",
            "--retries",
            "2",
            "--output",
            "json",
            "sh",
            "-c",
            script,
            ":::",
            "a",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["attempts"], 3);
    assert_eq!(json["stdout"], "done-a\n");
    let out = ppool()
        .current_dir(dir.path())
        .args(["imap", "--retries", "1", "sh", "-c", "exit 1", ":::", "b"])
        .output()
        .unwrap();
    assert!(stderr_of(&out).contains("2 attempts"), "{}", stderr_of(&out));
}

#[test]
fn timeout_stops_a_task_with_term_then_kill() {
    let mark = marker("timeout");
    let script = format!("trap '' TERM; sleep 60 # {mark}");
    let start = Instant::now();
    let out = ppool()
        .args([
            "imap",
            "--timeout",
            "300ms",
            "--grace",
            "500ms",
            "--output",
            "json",
            "sh",
            "-c",
            &script,
            ":::",
            "x",
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "timeout");
    assert_eq!(json["signal"], 9);
    assert!(wait_gone(&mark, Duration::from_secs(5)).is_empty());
}

#[test]
fn apply_exit_status_is_124_on_timeout() {
    ppool()
        .args(["apply", "--timeout", "200ms", "sleep", "30"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(124);
}

/// Starts `unordered -j2` over three tasks that each leave a grandchild in
/// the background and wait in the foreground, every process carrying
/// `mark`; returns once the first two tasks and their grandchildren run.
fn start_tasks_with_grandchildren(mark: &str, dir: &Path, stderr: Stdio) -> std::process::Child {
    let script = format!("touch started-{{}}; sh -c 'sleep 100; : {mark}' & sleep 100 # {mark}");
    let child = ppool_std()
        .current_dir(dir)
        .args([
            "unordered",
            "-j2",
            "--grace",
            "1s",
            "sh",
            "-c",
            &script,
            ":::",
            "a",
            "b",
            "c",
        ])
        .stderr(stderr)
        .spawn()
        .unwrap();
    assert!(wait_for_file(&dir.join("started-a"), Duration::from_secs(10)));
    assert!(wait_for_file(&dir.join("started-b"), Duration::from_secs(10)));
    // ppool itself, 2 tasks, 2 grandchildren.
    let start = Instant::now();
    while processes_with(mark).len() < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the grandchildren did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn signal_run(signal: i32, expected: i32) {
    let mark = marker(&format!("sig{signal}"));
    let dir = tempfile::tempdir().unwrap();
    let child = start_tasks_with_grandchildren(&mark, dir.path(), Stdio::piped());
    send_signal(child.id(), signal);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(expected));
    assert!(stderr_of(&out).contains("stopped by"), "{}", stderr_of(&out));
    assert!(
        !dir.path().join("started-c").exists(),
        "a task started after the signal"
    );
    assert!(
        wait_gone(&mark, Duration::from_secs(5)).is_empty(),
        "processes outlived ppool"
    );
}

#[test]
fn sigint_stops_tasks_and_grandchildren_and_exits_130() {
    signal_run(libc::SIGINT, 130);
}

#[test]
fn sigterm_stops_tasks_and_grandchildren_and_exits_143() {
    signal_run(libc::SIGTERM, 143);
}

/// A `ppool` killed with SIGKILL cannot stop anything itself: its guard
/// stops the tasks (and their children) it left, then goes too.
#[test]
fn sigkill_of_ppool_leaves_no_task_running() {
    let mark = marker("sigkill");
    let dir = tempfile::tempdir().unwrap();
    let mut child = start_tasks_with_grandchildren(&mark, dir.path(), Stdio::inherit());
    let guard = children_of(child.id())
        .into_iter()
        .find(|&pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "ppool-guard"))
        .expect("ppool runs a guard");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        wait_gone(&mark, Duration::from_secs(10)).is_empty(),
        "tasks outlived a SIGKILLed ppool"
    );
    let start = Instant::now();
    while is_running(guard) {
        assert!(start.elapsed() < Duration::from_secs(10), "the guard stays");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!dir.path().join("started-c").exists(), "a task started after the kill");
}

#[test]
fn a_second_sigint_kills_at_once() {
    let mark = marker("second-int");
    let dir = tempfile::tempdir().unwrap();
    let script = format!("trap '' TERM; touch started; sleep 100 # {mark}");
    let child = ppool_std()
        .current_dir(dir.path())
        .args(["imap", "--grace", "60s", "sh", "-c", &script, ":::", "a"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for_file(&dir.path().join("started"), Duration::from_secs(10)));
    let start = Instant::now();
    send_signal(child.id(), libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    send_signal(child.id(), libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(start.elapsed() < Duration::from_secs(30), "waited for the grace");
    let err = stderr_of(&out);
    assert!(err.contains("task 1 (a): failed, killed by signal 9"), "{err}");
    assert!(wait_gone(&mark, Duration::from_secs(5)).is_empty());
}

#[test]
fn closed_stdout_stops_quietly_and_leaves_nothing_running() {
    let mark = marker("head");
    let script = format!(
        "seq 1000000 | '{}' imap sh -c 'echo {{}}; [ {{}} -gt 4 ] && sleep 60; true # {mark}' | head -1",
        crate::util::bin().display()
    );
    let start = Instant::now();
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(stdout_of(&out), "1\n");
    assert_eq!(stderr_of(&out), "", "ppool wrote to stderr");
    assert!(wait_gone(&mark, Duration::from_secs(5)).is_empty());
}

#[test]
fn closed_stdout_with_fast_tasks_never_panics() {
    let script = format!(
        "set -o pipefail; seq 100000 | '{}' imap echo | head -3; echo status=$?",
        crate::util::bin().display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "1\n2\n3\nstatus=141\n");
    assert_eq!(stderr_of(&out), "");
}

#[test]
fn apply_forwards_signals_to_its_task() {
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let mark = marker(&format!("apply-sig{signal}"));
        let dir = tempfile::tempdir().unwrap();
        // The task ignores SIGTERM, so only the SIGKILL after the grace ends it.
        let script = format!("trap '' TERM; touch started; sleep 100 & sleep 100 # {mark}");
        let mut child = ppool_std()
            .current_dir(dir.path())
            .args(["apply", "--grace", "500ms", "sh", "-c", &script])
            .spawn()
            .unwrap();
        assert!(wait_for_file(&dir.path().join("started"), Duration::from_secs(10)));
        send_signal(child.id(), signal);
        assert_eq!(child.wait().unwrap().code(), Some(code));
        assert!(
            wait_gone(&mark, Duration::from_secs(5)).is_empty(),
            "processes outlived ppool"
        );
    }
}

#[test]
fn closed_stdout_is_quiet_for_listings_too() {
    let bin = crate::util::bin();
    for args in ["man", "completions bash", "apply --dry-run echo x"] {
        // The reader is gone before ppool writes a byte.
        let script = format!("{{ sleep 0.3; '{}' {args}; }} | true", bin.display());
        let out = std::process::Command::new("bash")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(stderr_of(&out), "", "ppool {args} complained about a closed pipe");
    }
}
