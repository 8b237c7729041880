//! Builtins in persistent workers, and `--worker` coprocesses, through the
//! real binary.

use std::fs;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use crate::util::{children_of, cmdline_of, json_lines, marker, ppool};

/// Processes holding `marker` in their command line or environment (a run's
/// marker is put in its environment, and every worker inherits it).
fn processes_with_marker(marker: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let needle = marker.as_bytes();
        let holds = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        if holds(&environ) || holds(&cmdline) {
            found.push(pid);
        }
    }
    found
}

fn assert_nothing_left(marker: &str) {
    // Reaping is done before ppool exits; allow the kernel a moment to
    // remove /proc entries of processes that just ended.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_with_marker(marker);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn reference(program: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let out = StdCommand::new(program)
        .args(args)
        .current_dir(dir)
        .env("LC_ALL", "C")
        .output()
        .expect("reference tool runs");
    out.stdout
}

#[test]
fn sha256_and_wc_match_coreutils() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("empty"), b"").expect("write");
    fs::write(dir.path().join("no-newline"), b"one two\nthree").expect("write");
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    fs::write(dir.path().join("binary"), &binary).expect("write");
    let big: Vec<u8> = b"lorem ipsum dolor\n".iter().copied().cycle().take(10 << 20).collect();
    fs::write(dir.path().join("big"), &big).expect("write");
    let files = ["empty", "no-newline", "binary", "big"];
    for (builtin, tool) in [("sha256", "sha256sum"), ("wc", "wc")] {
        let out = ppool()
            .current_dir(dir.path())
            .args(["map", "-j2", "--builtin", builtin, ":::"])
            .args(files)
            .output()
            .expect("ppool runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut expected = Vec::new();
        for file in files {
            expected.extend(reference(tool, &[file], dir.path()));
        }
        assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&expected));
    }
}

#[test]
fn failures_among_answers_keep_their_place_in_every_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut names = Vec::new();
    let mut present = Vec::new();
    for n in 1..=30 {
        let name = format!("f{n}");
        if n % 7 == 3 {
            // Fails with a message on stderr, between tasks that print.
            names.push(format!("missing-{n}"));
            continue;
        }
        fs::write(dir.path().join(&name), name.repeat(n)).expect("write");
        present.push(name.clone());
        names.push(name);
    }
    let mut expected = Vec::new();
    for file in &present {
        expected.extend(reference("sha256sum", &[file], dir.path()));
    }
    let expected = String::from_utf8_lossy(&expected).into_owned();
    for mode in ["imap", "map", "unordered"] {
        let out = ppool()
            .current_dir(dir.path())
            .args([mode, "-j2", "--chunksize", "4", "--builtin", "sha256"])
            .write_stdin(names.join("\n"))
            .output()
            .expect("ppool runs");
        assert_eq!(out.status.code(), Some(4), "{mode}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if mode == "unordered" {
            let mut lines: Vec<&str> = stdout.lines().collect();
            let mut want: Vec<&str> = expected.lines().collect();
            lines.sort_unstable();
            want.sort_unstable();
            assert_eq!(lines, want, "{mode}");
        } else {
            assert_eq!(stdout, expected, "{mode}");
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("ppool: 4 of 30 tasks failed:\n"), "{mode}: {err}");
        let missing: Vec<&str> = err.lines().filter(|l| l.starts_with("sha256: ")).collect();
        assert_eq!(missing.len(), 4, "{mode}: {err}");
        if mode != "unordered" {
            for (line, n) in missing.iter().zip([3, 10, 17, 24]) {
                assert!(line.contains(&format!("missing-{n}")), "{mode}: {err}");
            }
        }
    }
}

#[test]
fn builtins_lists_every_builtin() {
    let out = ppool().arg("builtins").output().expect("ppool runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["echo", "sleep", "exit", "sha256", "wc", "stat"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing:\n{text}");
    }
}

#[test]
fn unknown_builtin_is_a_usage_error() {
    let out = ppool()
        .args(["map", "--builtin", "no-such", ":::", "a"])
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(255));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("ppool: "), "{err}");
    assert!(err.contains("no-such") && err.contains("ppool builtins"), "{err}");
}

#[test]
fn exit_builtin_failures_count_and_are_summarised() {
    let out = ppool()
        .args(["map", "-j2", "--builtin", "exit", ":::", "0", "3", "0", "4"])
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 of 4 tasks failed"), "{err}");
    assert!(err.contains("task 2 (3): failed, exit code 3"), "{err}");
    assert!(err.contains("task 4 (4): failed, exit code 4"), "{err}");

    let out = ppool()
        .args(["imap", "--fail-fast", "-j1", "--builtin", "exit", ":::", "0", "7", "0"])
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn json_output_gives_status_code_and_message() {
    let out = ppool()
        .args(["imap", "--output", "json", "--builtin", "exit", ":::", "0", "3", "x"])
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["status"], "ok");
    assert_eq!(lines[0]["exit_code"], 0);
    assert_eq!(lines[1]["status"], "failed");
    assert_eq!(lines[1]["exit_code"], 3);
    assert_eq!(lines[2]["exit_code"], 2);
    assert_eq!(lines[2]["stderr"], "exit: invalid exit code 'x'\n");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], i as u64 + 1);
        assert_eq!(line["attempts"], 1);
        assert!(line["slot"].as_u64().is_some_and(|s| s >= 1));
    }
}

#[test]
fn imap_keeps_input_order_over_many_records() {
    let input: String = (1..=100_000).map(|n| format!("{n}\n")).collect();
    let out = ppool()
        .args(["imap", "-j3", "--builtin", "echo"])
        .write_stdin(input.clone())
        .output()
        .expect("ppool runs");
    assert!(out.status.success());
    assert!(out.stdout == input.as_bytes(), "imap output differs from its input");

    let out = ppool()
        .args(["unordered", "-j3", "--chunksize", "7", "--tag", "--builtin", "echo"])
        .write_stdin("a\nb\nc\n")
        .output()
        .expect("ppool runs");
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect();
    lines.sort();
    assert_eq!(lines, ["a\ta", "b\tb", "c\tc"]);
}

#[test]
fn max_tasks_per_worker_recycles_without_losing_tasks() {
    let input: String = (1..=50).map(|n| format!("{n}\n")).collect();
    for n in ["1", "3"] {
        let mark = marker(&format!("recycle-{n}"));
        let out = ppool()
            .env("PPOOL_TEST_MARKER", &mark)
            .args(["imap", "-j2", "--max-tasks-per-worker", n, "--builtin", "echo"])
            .write_stdin(input.clone())
            .output()
            .expect("ppool runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout == input.as_bytes());
        assert_nothing_left(&mark);
    }
}

#[test]
fn builtin_timeout_kills_the_worker_and_the_rest_run() {
    let mark = marker("timeout");
    let started = Instant::now();
    let out = ppool()
        .env("PPOOL_TEST_MARKER", &mark)
        .args(["imap", "-j1", "--chunksize", "3", "--timeout", "1s", "--grace", "1s"])
        .args(["--output", "json", "--builtin", "sleep", ":::", "0", "30", "0"])
        .output()
        .expect("ppool runs");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    let statuses: Vec<&str> = lines.iter().map(|l| l["status"].as_str().unwrap_or("")).collect();
    assert_eq!(statuses, ["ok", "timeout", "ok"]);
    assert!(lines[1]["stderr"].as_str().is_some_and(|s| s.contains("timed out")));
    assert_nothing_left(&mark);
}

/// The `ppool __worker` children of `parent`, found through /proc.
fn workers_of(parent: u32) -> Vec<i32> {
    children_of(parent)
        .into_iter()
        .filter(|&pid| cmdline_of(pid).contains("__worker"))
        .map(|pid| pid as i32)
        .collect()
}

#[test]
fn a_killed_worker_fails_its_task_and_the_run_completes() {
    let mark = marker("kill");
    let bin = crate::util::bin();
    let mut child = StdCommand::new(bin)
        .env("PPOOL_TEST_MARKER", &mark)
        .args(["unordered", "-j2", "--output", "json", "--builtin", "sleep"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ppool starts");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all("0.4\n".repeat(12).as_bytes()).expect("write input");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let victim = loop {
        if let Some(&pid) = workers_of(child.id()).first() {
            break pid;
        }
        assert!(Instant::now() < deadline, "no worker appeared");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(600));
    // SAFETY: kill(2) on a pid found above; no memory is involved.
    unsafe {
        libc::kill(victim, libc::SIGKILL);
    }
    let out = child.wait_with_output().expect("ppool ends");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 12, "{}", String::from_utf8_lossy(&out.stderr));
    let died = lines.iter().filter(|l| l["status"] == "worker-died").count();
    let ok = lines.iter().filter(|l| l["status"] == "ok").count();
    assert_eq!((died, ok), (1, 11), "{lines:?}");
    assert_eq!(out.status.code(), Some(1));
    assert_nothing_left(&mark);
}

#[test]
fn worker_command_answers_one_line_per_record() {
    let mark = marker("upper");
    let script = format!(": {mark}; while IFS= read -r l; do printf '%s\\n' \"$l\" | tr a-z A-Z; done");
    let out = ppool()
        .env("PPOOL_TEST_MARKER", &mark)
        .args(["imap", "-j2", "--worker", &script, ":::", "ab", "cd", "ef", "gh"])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "AB\nCD\nEF\nGH\n");
    assert_nothing_left(&mark);
}

#[test]
fn a_worker_command_that_exits_fails_its_task_and_is_replaced() {
    let mark = marker("exits");
    let script = format!(
        ": {mark}; i=0; while IFS= read -r l; do i=$((i+1)); [ $i -gt 3 ] && exit 3; printf '%s\\n' \"$l\"; done"
    );
    let out = ppool()
        .env("PPOOL_TEST_MARKER", &mark)
        .args(["imap", "-j1", "--output", "json", "--worker", &script])
        .args([":::", "a", "b", "c", "d", "e", "f"])
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    let statuses: Vec<&str> = lines.iter().map(|l| l["status"].as_str().unwrap_or("")).collect();
    assert_eq!(statuses, ["ok", "ok", "ok", "worker-died", "ok", "ok"]);
    assert_eq!(lines[4]["stdout"], "e\n");
    assert_nothing_left(&mark);
}

#[test]
fn a_silent_worker_command_times_out() {
    let mark = marker("silent");
    let script = format!(": {mark}; while IFS= read -r l; do [ \"$l\" = hang ] && sleep 30; echo \"$l\"; done");
    let started = Instant::now();
    let out = ppool()
        .env("PPOOL_TEST_MARKER", &mark)
        .args(["imap", "-j1", "--timeout", "1s", "--grace", "1s", "--output", "json"])
        .args(["--worker", &script, ":::", "a", "hang", "b"])
        .output()
        .expect("ppool runs");
    assert!(started.elapsed() < Duration::from_secs(20));
    let lines = json_lines(&out.stdout);
    let statuses: Vec<&str> = lines.iter().map(|l| l["status"].as_str().unwrap_or("")).collect();
    assert_eq!(statuses, ["ok", "timeout", "ok"]);
    assert_nothing_left(&mark);
}
