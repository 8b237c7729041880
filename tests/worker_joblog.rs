//! `--worker` protocol errors, and a job log that a kill, a full disk or a
//! second run on the same file cannot break.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{json_lines, marker, ppool, ppool_std, stderr_of, wait_gone};

const HEADER: &str = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n";

fn in_dir(dir: &Path) -> assert_cmd::Command {
    let mut cmd = ppool();
    cmd.current_dir(dir);
    cmd
}

fn records(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| n.to_string()).collect()
}

/// How many times each line occurs in `path`.
fn tally(path: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
        *counts.entry(line.to_owned()).or_default() += 1;
    }
    counts
}

/// The Seq column of every line after the header; each line must be whole
/// (nine TAB-separated columns).
fn logged_seqs(log: &str) -> Vec<u64> {
    assert!(log.starts_with(HEADER), "{log:?}");
    assert!(log.ends_with('\n'), "{log:?}");
    log[HEADER.len()..]
        .lines()
        .map(|line| {
            let columns: Vec<&str> = line.splitn(9, '\t').collect();
            assert_eq!(columns.len(), 9, "a malformed line {line:?} in {log:?}");
            columns[0].parse().unwrap()
        })
        .collect()
}

#[test]
fn a_log_cut_mid_line_resumes_twice_and_every_task_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let script = "echo {} >> ran";
    let run = |last: u32, resume: bool| {
        let mut cmd = in_dir(dir.path());
        cmd.args(["imap", "-j2", "--joblog", "log"]);
        if resume {
            cmd.arg("--resume");
        }
        cmd.args(["sh", "-c", script, ":::"]).args(records(1..=last));
        cmd
    };
    run(3, false).assert().success();
    // A run killed (or a disk filled) while writing task 4's line.
    let log = dir.path().join("log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(b"4\t:\t1700000000.1");
    std::fs::write(&log, bytes).unwrap();

    run(5, true).assert().success();
    run(8, true).assert().success();
    run(8, true).assert().success().stdout("");

    let ran = tally(&dir.path().join("ran"));
    for record in records(1..=8) {
        assert_eq!(ran.get(&record), Some(&1), "record {record}: {ran:?}");
    }
    let mut seqs = logged_seqs(&std::fs::read_to_string(&log).unwrap());
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=8).collect::<Vec<u64>>());
}

/// Starts a run on `dir/log` whose tasks wait for `dir/go`; returns once it
/// holds the log (its header is written after the lock is taken).
fn start_holding_run(dir: &Path) -> std::process::Child {
    let child = ppool_std()
        .current_dir(dir)
        .args(["imap", "-j2", "--joblog", "log", "sh", "-c"])
        .arg("while [ ! -e go ]; do sleep 0.02; done; echo {}")
        .args([":::", "a", "b", "c"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ppool starts");
    let log = dir.join("log");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&log).unwrap_or_default() != HEADER {
        assert!(Instant::now() < deadline, "the first run never wrote its header");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn a_second_run_on_a_log_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_holding_run(dir.path());
    let in_use = format!("ppool: job log log is in use by another ppool run (pid {})", first.id());
    for args in [
        &["imap", "--joblog", "log", "echo", ":::", "x"][..],
        &["unordered", "--joblog", "log", "--resume", "echo", ":::", "x"],
        &["apply", "--joblog", "log", "echo", ":::", "x"],
    ] {
        let out = in_dir(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(255), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).starts_with(&in_use), "{args:?}: {}", stderr_of(&out));
        assert!(out.stdout.is_empty(), "{args:?} ran: {:?}", out.stdout);
    }
    // The refused runs left the first run's log alone.
    assert_eq!(std::fs::read_to_string(dir.path().join("log")).unwrap(), HEADER);

    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nb\nc\n");
    let mut seqs = logged_seqs(&std::fs::read_to_string(dir.path().join("log")).unwrap());
    seqs.sort_unstable();
    assert_eq!(seqs, [1, 2, 3]);
}

#[test]
fn a_killed_run_leaves_the_log_free() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = start_holding_run(dir.path());
    first.kill().unwrap(); // SIGKILL: the kernel drops the lock
    first.wait().unwrap();
    std::fs::write(dir.path().join("go"), "").unwrap();
    in_dir(dir.path())
        .args(["imap", "--joblog", "log", "--resume", "echo", ":::", "a", "b", "c"])
        .assert()
        .success()
        .stdout("a\nb\nc\n");
}

#[test]
fn a_full_disk_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = in_dir(dir.path())
        .args(["imap", "--joblog", "/dev/full", "echo", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    let stderr = stderr_of(&out);
    assert!(
        stderr.starts_with("ppool: cannot write --joblog /dev/full:") && stderr.contains("make room"),
        "{stderr}"
    );
}

/// A disk that fills during the run, as a file size limit makes it: the
/// run starts no more tasks, prints every result it has, exits 255, and
/// leaves a log that `--resume` completes.
#[test]
fn a_disk_filling_mid_run_stops_it_and_keeps_every_result() {
    let dir = tempfile::tempdir().unwrap();
    let bin = crate::util::bin();
    // 1 KiB of log at most; SIGXFSZ ignored, so the write fails with EFBIG.
    let out = std::process::Command::new("sh")
        .current_dir(dir.path())
        .args(["-c", "trap '' XFSZ; ulimit -f 2; exec \"$0\" \"$@\""])
        .arg(&bin)
        .args([
            "imap",
            "-j2",
            "--joblog",
            "log",
            "sh",
            "-c",
            "echo {} >> ran; echo {}",
            ":::",
        ])
        .args(records(1..=200))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("ppool: cannot write --joblog log:") && stderr.contains("--resume"),
        "{stderr}"
    );
    let printed = tally_bytes(&out.stdout);
    let ran = tally(&dir.path().join("ran"));
    assert_eq!(printed, ran, "every task that ran has its result printed");
    assert!(ran.len() < 200, "the run should have stopped: {} ran", ran.len());
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    let logged = logged_seqs(&log);
    assert!(!logged.is_empty() && logged.len() <= ran.len(), "{log}");

    in_dir(dir.path())
        .args([
            "imap",
            "-j2",
            "--joblog",
            "log",
            "--resume",
            "sh",
            "-c",
            "echo {} >> ran",
            ":::",
        ])
        .args(records(1..=200))
        .assert()
        .success();
    let ran = tally(&dir.path().join("ran"));
    for seq in logged {
        assert_eq!(ran[&seq.to_string()], 1, "task {seq} was logged, then ran again");
    }
    assert_eq!(ran.len(), 200);
}

fn tally_bytes(bytes: &[u8]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        *counts.entry(line.to_owned()).or_default() += 1;
    }
    counts
}

/// Runs `--worker script` over `inputs` with JSON output in a new directory; checks
/// that every task that succeeded has its own answer, `r` and its record,
/// and that no worker is left. Returns the exit code and the failed tasks'
/// (input, stderr).
fn run_worker(name: &str, jobs: &str, script: &str, inputs: &[&str]) -> (i32, Vec<(String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let mark = marker(name);
    let script = format!(": {mark}; {script}");
    let out = in_dir(dir)
        .args([
            "imap", "-j", jobs, "--grace", "500ms", "--output", "json", "--worker", &script, ":::",
        ])
        .args(inputs)
        .output()
        .unwrap();
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), inputs.len(), "{}", stderr_of(&out));
    let mut failed = Vec::new();
    for line in &lines {
        let input = line["input"].as_str().unwrap().to_owned();
        match line["status"].as_str().unwrap() {
            "ok" => assert_eq!(line["stdout"], format!("r{input}\n"), "an answer was shifted: {line}"),
            "worker-died" => failed.push((input, line["stderr"].as_str().unwrap().to_owned())),
            other => panic!("unexpected status {other}: {line}"),
        }
    }
    assert_eq!(out.status.code(), Some(failed.len() as i32), "{}", stderr_of(&out));
    assert!(
        wait_gone(&mark, Duration::from_secs(10)).is_empty(),
        "a worker outlived ppool"
    );
    (out.status.code().unwrap(), failed)
}

fn names_the_worker(message: &str) {
    assert!(
        message.starts_with("ppool: task ")
            && message.contains("the --worker in slot ")
            && message.contains("(pid ")
            && message.contains("ppool-test-")
            && message.contains("the worker was replaced"),
        "{message}"
    );
}

#[test]
fn a_worker_banner_is_never_taken_for_an_answer() {
    // Only the first worker started prints a banner, then waits (a generous
    // bound: it is stopped as soon as the banner is seen) before reading.
    let script = "mkdir once 2>/dev/null && { echo banner; sleep 30; }; \
                  while IFS= read -r l; do echo \"r$l\"; done";
    let inputs = ["a", "b", "c", "d", "e", "f"];
    let (code, failed) = run_worker("banner", "2", script, &inputs);
    assert_eq!(code, 1, "{failed:?}");
    let (_, message) = &failed[0];
    names_the_worker(message);
    assert!(
        message.contains("wrote \"banner\" before it read this task's record"),
        "{message}"
    );
}

#[test]
fn a_worker_answering_twice_is_caught_before_its_next_record() {
    // The second line comes after the answer, then the worker waits (a
    // generous bound: it is stopped once the line is seen) before reading.
    let script = "while IFS= read -r l; do echo \"r$l\"; echo \"again$l\"; sleep 30; done";
    let inputs = ["a", "b", "c", "d", "e", "f"];
    let (code, failed) = run_worker("answers-twice", "1", script, &inputs);
    assert!(code >= 1, "{failed:?}");
    for (input, message) in &failed {
        names_the_worker(message);
        assert!(message.contains("\"again"), "task {input}: {message}");
    }
}

#[test]
fn two_lines_for_one_record_fail_that_task() {
    let script = "while IFS= read -r l; do printf 'r%s\\nagain%s\\n' \"$l\" \"$l\"; done";
    let inputs = ["a", "b", "c"];
    let (code, failed) = run_worker("two-lines", "2", script, &inputs);
    assert_eq!(code, 3);
    for (input, message) in &failed {
        names_the_worker(message);
        let both = format!("wrote two lines for this task's record: \"r{input}\" and \"again{input}\"");
        assert!(message.contains(&both), "{message}");
    }
}
