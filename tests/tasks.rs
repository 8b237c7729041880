//! A task's process: descendants that escape its group, timeouts on a
//! terminal, ppool stopped and continued, fail-fast output, and ppool's own
//! I/O errors.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// Far longer than any of these runs may take: a run still going after it
/// is waiting for the daemon.
const BOUND: Duration = Duration::from_secs(20);

/// A task that leaves a daemon in a session of its own (outside the task's
/// process group) holding its stdout and stderr, then ends.
fn daemon_task(mark: &str) -> String {
    format!("setsid sh -c 'sleep 60; exit 0 # {mark}' & echo started")
}

/// The daemons of `daemon_task(mark)` (or of a script that starts them so)
/// now running: ppool's and the task's command lines hold the marker too.
fn daemons(mark: &str) -> Vec<u32> {
    processes_with(mark)
        .into_iter()
        .filter(|&pid| {
            let cmdline = cmdline_of(pid);
            cmdline.starts_with("sh -c ") && !cmdline.contains("setsid")
        })
        .collect()
}

/// Waits for `child` up to `BOUND`; kills it and fails past that.
fn wait_bounded(mut child: Child, what: &str) -> std::process::Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > BOUND {
            child.kill().ok();
            panic!("{what}: still running after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Kills the daemons a test left, by their marker.
struct Daemons(String);

impl Drop for Daemons {
    fn drop(&mut self) {
        for pid in daemons(&self.0) {
            // The daemon leads a session and a process group of its own:
            // its sleep goes with it.
            // SAFETY: kill(2) has no memory effects.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
            }
        }
    }
}

#[test]
fn a_timeout_does_not_wait_for_a_daemon_holding_the_pipes() {
    let mark = marker("daemon-timeout");
    let _daemons = Daemons(mark.clone());
    let child = ppool_std()
        .args([
            "unordered",
            "--timeout",
            "1s",
            "--grace",
            "1s",
            "sh",
            "-c",
            &daemon_task(&mark),
            ":::",
            "x",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, "--timeout with a daemon");
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    // What was read is kept.
    assert_eq!(stdout_of(&out), "started\n");
    assert!(stderr_of(&out).contains("timed out"), "{}", stderr_of(&out));
    // The daemon left the task's group but carries its marker: the
    // timeout stopped it with the task.
    assert_eq!(
        daemons_after(&mark, GONE),
        Vec::<u32>::new(),
        "the daemon outlived its task's timeout"
    );
}

/// Generous for a loaded machine: the daemons go within the grace.
const GONE: Duration = Duration::from_secs(10);

/// Waits up to `limit` for the daemons of `mark` to be gone; those left.
fn daemons_after(mark: &str, limit: Duration) -> Vec<u32> {
    let deadline = Instant::now() + limit;
    loop {
        let left = daemons(mark);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The processes, not zombies, whose environment holds `PPOOL_RUN=run`.
fn processes_of_run(run: &str) -> Vec<u32> {
    let needle = format!("PPOOL_RUN={run}");
    processes_whose("environ", |environ| {
        environ.split(|&b| b == 0).any(|var| var == needle.as_bytes())
    })
    .into_iter()
    .filter(|&pid| is_running(pid))
    .collect()
}

/// The run id (`PPOOL_RUN`) in the environment of `pid`.
fn run_of(pid: u32) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    environ
        .split(|&b| b == 0)
        .find_map(|var| var.strip_prefix(b"PPOOL_RUN="))
        .map(|run| String::from_utf8_lossy(run).into_owned())
}

/// `ppool unordered -j2 --grace 1s` with two tasks that each leave a daemon
/// in a session of its own (the second one ignores SIGTERM) and run on.
fn two_daemons(mark: &str) -> Command {
    let script = format!(
        "if [ $0 = 2 ]; then setsid sh -c 'trap \"\" TERM; sleep 60; exit 0 # {mark}' & \\
         else setsid sh -c 'sleep 60; exit 0 # {mark}' & fi; sleep 60"
    );
    let mut command = ppool_std();
    command
        .args([
            "unordered",
            "-j2",
            "--grace",
            "1s",
            "sh",
            "-c",
            &script,
            ":::",
            "1",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for both daemons of [`two_daemons`]; the run's id (`PPOOL_RUN`).
fn run_of_daemons(child: &mut Child, mark: &str) -> String {
    let deadline = Instant::now() + BOUND;
    loop {
        let found = daemons(mark);
        if found.len() == 2 {
            if let Some(run) = found.iter().find_map(|&pid| run_of(pid)) {
                return run;
            }
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("the daemons never started: {found:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_and_sigint_leave_no_process_of_the_run() {
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let mark = marker(&format!("daemon-stop-{signal}"));
        let _daemons = Daemons(mark.clone());
        let mut child = two_daemons(&mark).spawn().unwrap();
        let run = run_of_daemons(&mut child, &mark);
        send_signal(child.id(), signal);
        let out = wait_bounded(child, "a stop with daemons");
        assert_eq!(out.status.code(), Some(code), "{}", stderr_of(&out));
        assert_eq!(
            daemons(&mark),
            Vec::<u32>::new(),
            "signal {signal}: a daemon outlived ppool"
        );
        assert_eq!(
            processes_of_run(&run),
            Vec::<u32>::new(),
            "signal {signal}: the run left processes"
        );
    }
}

#[test]
fn a_daemon_of_a_task_that_ended_by_itself_is_left_running() {
    let mark = marker("daemon-kept");
    let _daemons = Daemons(mark.clone());
    // Its output goes elsewhere, so the task is complete when its shell exits.
    let script = format!("setsid sh -c 'sleep 60; exit 0 # {mark}' >/dev/null 2>&1 & echo started");
    let out = ppool()
        .args(["unordered", "--grace", "1s", "sh", "-c", &script, ":::", "x"])
        .timeout(BOUND)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "started\n");
    // Well past the grace: nothing of ppool's is still at work on it.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(daemons(&mark).len(), 1, "a daemon started on purpose was stopped");
}

#[test]
fn sigterm_does_not_wait_for_a_daemon_holding_the_pipes() {
    let mark = marker("daemon-sigterm");
    let _daemons = Daemons(mark.clone());
    let child = ppool_std()
        .args([
            "unordered",
            "--grace",
            "1s",
            "sh",
            "-c",
            &daemon_task(&mark),
            ":::",
            "x",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + BOUND;
    while daemons(&mark).is_empty() {
        assert!(Instant::now() < deadline, "the daemon never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    send_signal(child.id(), libc::SIGTERM);
    let out = wait_bounded(child, "SIGTERM with a daemon");
    assert_eq!(out.status.code(), Some(143), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "started\n");
    assert_eq!(daemons(&mark), Vec::<u32>::new(), "the daemon outlived ppool");
}

#[test]
fn fail_fast_stops_the_daemon_of_a_running_task() {
    let mark = marker("daemon-fail-fast");
    let _daemons = Daemons(mark.clone());
    // Task 1 leaves a daemon and runs on; task 2 fails once it is there.
    let script = format!(
        "if [ $0 = 1 ]; then setsid sh -c 'sleep 60; exit 0 # {mark}' & sleep 60; \
         else while ! pgrep -f 'exit 0 # {mark}' >/dev/null; do sleep 0.05; done; exit 3; fi"
    );
    let child = ppool_std()
        .args([
            "unordered",
            "-j2",
            "--fail-fast",
            "--grace",
            "1s",
            "sh",
            "-c",
            &script,
            ":::",
            "1",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, "--fail-fast with a daemon");
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert_eq!(daemons(&mark), Vec::<u32>::new(), "the daemon outlived ppool");
}

#[test]
fn a_closed_stdout_does_not_wait_for_a_daemon_holding_the_pipes() {
    let mark = marker("daemon-head");
    let _daemons = Daemons(mark.clone());
    // Task 1 prints and ends; task 2 leaves the daemon behind.
    let script = format!("if [ {{}} = 2 ]; then {}; else echo line; fi", daemon_task(&mark));
    let pipeline = "\"$0\" unordered -j2 --grace 1s sh -c \"$1\" ::: 1 2 | head -1";
    let child = Command::new("sh")
        .args(["-c", pipeline])
        .arg(crate::util::bin())
        .arg(&script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, "| head -1 with a daemon");
    assert_eq!(stdout_of(&out).lines().count(), 1, "{}", stdout_of(&out));
    assert_eq!(stderr_of(&out), "");
}

#[test]
fn apply_on_a_terminal_times_out_a_task_in_the_terminals_group() {
    // `script` gives ppool a terminal on stdin, so the task stays in the
    // terminal's process group rather than one of its own.
    let line = format!(
        "{} apply --timeout 1s --grace 1s sleep 30",
        crate::util::bin().display()
    );
    let child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running `script` (util-linux) to get a pseudo-terminal");
    let out = wait_bounded(child, "apply --timeout on a terminal");
    assert_eq!(out.status.code(), Some(124), "{out:?}");
    assert!(stdout_of(&out).contains("timed out after 1s"), "{out:?}");
}

#[test]
fn tasks_that_ended_while_ppool_was_stopped_are_not_timeouts() {
    let mut child = ppool_std()
        .args([
            "unordered",
            "-j2",
            "--timeout",
            "2s",
            "--output",
            "json",
            "sleep",
            ":::",
            "0.5",
            "0.5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stopped once both tasks run, continued long after they ended and
    // after their deadline.
    let deadline = Instant::now() + BOUND;
    let sleeping = |pid: u32| cmdline_of(pid).contains("sleep 0.5");
    while children_of(child.id()).into_iter().filter(|&p| sleeping(p)).count() < 2 {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("the tasks never started");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    send_signal(child.id(), libc::SIGSTOP);
    std::thread::sleep(Duration::from_secs(3));
    send_signal(child.id(), libc::SIGCONT);
    let out = wait_bounded(child, "stopped and continued");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout_of(&out), stderr_of(&out));
    let statuses: Vec<_> = json_lines(&out.stdout)
        .iter()
        .map(|l| l["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["ok", "ok"]);
}

#[test]
fn unordered_fail_fast_prints_every_task_that_ended_before_the_failure() {
    for run in 0..100 {
        let out = ppool()
            .args([
                "unordered",
                "-j1",
                "--fail-fast",
                "sh",
                "-c",
                "echo $0; [ $0 != F ]",
                ":::",
                "x",
                "y",
                "F",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "run {run}: {}", stderr_of(&out));
        assert_eq!(stdout_of(&out), "x\ny\nF\n", "run {run}");
    }
}

#[test]
fn imap_fail_fast_prints_nothing_after_the_failed_task_even_if_it_was_waiting() {
    // Task 2 ends first and waits for task 1, which then fails.
    let out = ppool()
        .args([
            "imap",
            "-j2",
            "--fail-fast",
            "sh",
            "-c",
            "if [ $0 = 1 ]; then sleep 1; echo one; exit 3; fi; echo two",
            ":::",
            "1",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "one\n");
}

#[test]
fn a_spill_file_that_cannot_be_made_ends_the_run_with_ppools_own_error() {
    let dir = tempfile::tempdir().unwrap();
    // Over the 1 MiB kept in memory, so the output must go to a file.
    let script = "echo ran >> count; head -c 2000000 /dev/zero";
    let out = ppool()
        .current_dir(dir.path())
        .env("TMPDIR", "/nonexistent")
        .args(["unordered", "--retries", "2", "sh", "-c", script, ":::", "x"])
        .output()
        .unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("count")).unwrap(),
        "ran\n",
        "retried"
    );
    assert!(stderr.starts_with("ppool: "), "{stderr}");
    assert!(
        stderr.contains("/nonexistent") && stderr.contains("No such file"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot run"), "{stderr}");
    assert!(out.stdout.is_empty(), "incomplete output was printed");
}

#[test]
fn a_ppool_run_by_a_task_marks_its_tasks_with_a_run_of_its_own() {
    // A stop or timeout of the outer run must not reach the inner run's
    // tasks by their marker: each ppool, `apply` too, gives its own.
    for mode in ["apply", "unordered"] {
        let script = format!("echo \"$PPOOL_RUN\"; \"$1\" {mode} sh -c 'echo \"$PPOOL_RUN\"' ::: x");
        let out = ppool()
            .args(["unordered", "sh", "-c", &script, "sh"])
            .arg(crate::util::bin())
            .args([":::", "x"])
            .timeout(BOUND)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", stderr_of(&out));
        let runs: Vec<_> = stdout_of(&out).lines().map(str::to_owned).collect();
        assert_eq!(runs.len(), 2, "{mode}: {runs:?}");
        assert!(!runs[0].is_empty() && !runs[1].is_empty(), "{mode}: {runs:?}");
        assert_ne!(runs[0], runs[1], "{mode}: the inner run has the outer's id");
    }
}
