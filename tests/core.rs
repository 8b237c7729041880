//! The core runner: input, templates, exec, the four modes, grouped output, exit status.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::util::*;

/// Reads ppool's stdout lines on a thread, to watch when they appear.
fn watch_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    rx
}

/// A shell loop that waits for the file `go` (up to 20 s).
macro_rules! wait_for_go {
    () => {
        "i=0; while [ ! -e go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done"
    };
}
const WAIT_FOR_GO_LOOP: &str = wait_for_go!();
/// Task `a` ends at once; task `b` waits for the file `go`.
const WAIT_FOR_GO: &str = concat!("if [ {} = b ]; then ", wait_for_go!(), "; fi; echo {}");

/// Runs ppool in a fresh directory and checks that `first` is printed while
/// a task still waits for the file `go`, and `second` once it exists.
fn expect_streaming(args: &[&str], first: &str, second: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = ppool_std()
        .current_dir(dir.path())
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = watch_lines(&mut child);
    assert_eq!(lines.recv_timeout(Duration::from_secs(10)).unwrap(), first);
    std::fs::write(dir.path().join("go"), "").unwrap();
    assert_eq!(lines.recv_timeout(Duration::from_secs(20)).unwrap(), second);
    assert!(child.wait().unwrap().success());
}

// The order of each mode is checked without processes in the scheduler's
// unit tests; here one run of real processes per mode, ordered by files, not
// by sleeps.

#[test]
fn imap_streams_a_result_while_later_tasks_still_run() {
    expect_streaming(&["imap", "-j2", "sh", "-c", WAIT_FOR_GO, ":::", "a", "b"], "a", "b");
}

#[test]
fn unordered_prints_in_completion_order() {
    expect_streaming(
        &["unordered", "-j2", "sh", "-c", WAIT_FOR_GO, ":::", "b", "a"],
        "a",
        "b",
    );
}

#[test]
fn map_prints_results_in_input_order() {
    // Task `a` ends first and lets task `b` end.
    let script = concat!("if [ {} = b ]; then ", wait_for_go!(), "; else touch go; fi; echo {}");
    let dir = tempfile::tempdir().unwrap();
    ppool()
        .current_dir(dir.path())
        .args(["map", "-j2", "sh", "-c", script, ":::", "b", "a"])
        .timeout(Duration::from_secs(30))
        .assert()
        .success()
        .stdout("b\na\n");
}

#[test]
fn input_is_read_lazily_work_starts_before_stdin_ends() {
    let mut child = ppool_std()
        .args(["unordered", "echo"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let lines = watch_lines(&mut child);
    stdin.write_all(b"a\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(lines.recv_timeout(Duration::from_secs(10)).unwrap(), "a");
    stdin.write_all(b"b\n").unwrap();
    drop(stdin);
    assert_eq!(lines.recv_timeout(Duration::from_secs(10)).unwrap(), "b");
    assert!(child.wait().unwrap().success());
}

#[test]
fn each_tasks_output_is_written_whole() {
    let out = ppool()
        .args([
            "unordered",
            "-j4",
            "sh",
            "-c",
            "for i in $(seq 300); do echo {}-$i; echo {}-$i >&2; done",
        ])
        .args([":::", "a", "b", "c", "d", "e", "f"])
        .output()
        .unwrap();
    assert!(out.status.success());
    for stream in [stdout_of(&out), stderr_of(&out)] {
        let lines: Vec<&str> = stream.lines().collect();
        assert_eq!(lines.len(), 6 * 300);
        for block in lines.chunks(300) {
            let task = block[0].split('-').next().unwrap();
            let expected: Vec<String> = (1..=300).map(|i| format!("{task}-{i}")).collect();
            assert_eq!(block, expected, "task {task}'s lines were interleaved");
        }
    }
}

#[test]
fn fifty_megabytes_on_each_stream_do_not_deadlock() {
    let out = ppool()
        .args([
            "imap",
            "sh",
            "-c",
            "head -c 50000000 /dev/zero >&2; head -c 50000000 /dev/zero",
            ":::",
            "x",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 50_000_000);
    assert_eq!(out.stderr.len(), 50_000_000);
}

#[test]
fn tag_prefixes_lines_with_the_record() {
    ppool()
        .args(["imap", "--tag", "printf", "%s\\n%s\\n", "one", ":::", "x", "y"])
        .assert()
        .success()
        .stdout("x\tone\nx\tx\ny\tone\ny\ty\n");
}

#[test]
fn non_utf8_bytes_reach_the_command_unchanged() {
    let out = ppool()
        .args(["imap", "printf", "%s|"])
        .write_stdin(&b"\xff\xfe\n\x80abc\n"[..])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"\xff\xfe|\x80abc|");
}

#[test]
fn shell_mode_quotes_hostile_input_as_one_literal_argument() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "'; touch PWNED; '\n$(touch PWNED2)\n`touch PWNED3`\na b  c\n";
    let out = ppool()
        .current_dir(dir.path())
        .args(["imap", "-s", "printf '%s\\n' {}"])
        .write_stdin(hostile)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), hostile);
    let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(created.is_empty(), "the input ran as shell code");
}

#[test]
fn direct_exec_never_involves_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    ppool()
        .current_dir(dir.path())
        .args(["imap", "echo", "; touch PWNED"])
        .write_stdin("$(touch PWNED2)\n")
        .assert()
        .success()
        .stdout("; touch PWNED $(touch PWNED2)\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn unknown_braces_are_left_alone() {
    ppool()
        .args(["imap", "-s", "echo {} | awk '{print $2}'", ":::", "a b"])
        .assert()
        .success()
        .stdout("b\n");
}

#[test]
fn path_placeholders_follow_gnu_parallel() {
    ppool()
        .args([
            "imap",
            "echo",
            "{.}|{/}|{//}|{/.}",
            ":::",
            "a/b.tar.gz",
            ".hidden",
            "dir/",
            "a.b/c",
        ])
        .assert()
        .success()
        .stdout("a/b.tar|b.tar.gz|a|b.tar\n|.hidden|.|\ndir/||.|\na.b/c|c|a.b|c\n");
}

#[test]
fn sequence_and_slot_placeholders_and_environment() {
    let out = ppool()
        .args(["unordered", "-j3", "sh", "-c", "echo {#} {%} $PPOOL_SEQ $PPOOL_SLOT"])
        .write_stdin("x\n".repeat(30))
        .output()
        .unwrap();
    let mut seqs = BTreeSet::new();
    for line in stdout_of(&out).lines() {
        let w: Vec<u64> = line.split(' ').map(|w| w.parse().unwrap()).collect();
        assert_eq!(w[0], w[2], "{{#}} and PPOOL_SEQ differ");
        assert_eq!(w[1], w[3], "{{%}} and PPOOL_SLOT differ");
        assert!((1..=3).contains(&w[1]));
        seqs.insert(w[0]);
    }
    assert_eq!(seqs, (1..=30).collect());
}

#[test]
fn no_two_running_tasks_share_a_slot() {
    let dir = tempfile::tempdir().unwrap();
    ppool()
        .current_dir(dir.path())
        .args([
            "unordered",
            "-j4",
            "sh",
            "-c",
            "mkdir slot-$PPOOL_SLOT || exit 9; sleep 0.02; rmdir slot-$PPOOL_SLOT",
        ])
        .write_stdin("x\n".repeat(40))
        .assert()
        .success();
}

#[test]
fn missing_program_fails_its_task_with_127_and_suggests_shell_for_spaces() {
    let out = ppool()
        .args(["imap", "no-such-program-ppool", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("no-such-program-ppool: command not found"));
    let out = ppool()
        .args(["imap", "--output", "json", "echo hi", ":::", "a"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["exit_code"], 127);
    assert!(json["stderr"].as_str().unwrap().contains("--shell"));
}

#[test]
fn json_output_has_every_field_and_base64_for_binary() {
    let out = ppool()
        .args([
            "imap",
            "--output",
            "json",
            "sh",
            "-c",
            "printf '\\377'; echo err >&2; exit {}",
            ":::",
            "0",
            "3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    let first = &lines[0];
    for field in [
        "seq",
        "input",
        "status",
        "exit_code",
        "signal",
        "stderr",
        "attempts",
        "slot",
        "duration_s",
    ] {
        assert!(first.get(field).is_some(), "missing {field}");
    }
    assert_eq!(first["seq"], 1);
    assert_eq!(first["input"], "0");
    assert_eq!(first["status"], "ok");
    assert_eq!(first["stdout_base64"], "/w==");
    assert_eq!(first["stderr"], "err\n");
    assert_eq!(lines[1]["status"], "failed");
    assert_eq!(lines[1]["exit_code"], 3);
}

#[test]
fn exit_status_counts_failures_and_caps_at_101() {
    let out = ppool()
        .args(["imap", "sh", "-c", "exit $(( {} % 2 ))"])
        .write_stdin("1\n2\n3\n4\n5\n6\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(err.contains("3 of 6 tasks failed"), "{err}");
    assert!(err.contains("task 1 (1): failed, exit code 1"), "{err}");
    assert!(err.contains("task 5 (5)"), "{err}");
    let out = ppool()
        .args(["unordered", "false"])
        .write_stdin("x\n".repeat(150))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(101));
    assert!(stderr_of(&out).contains("… and 130 more"));
}

#[test]
fn usage_errors_exit_255_with_a_ppool_message_and_no_stdout() {
    for args in [
        &["imap", "--no-such-flag", "true"][..],
        &["imap", "-j", "/no/such/jobs-file", "true"],
        &["apply", "echo", ":::", "a", "b"],
        &["apply"],
        &["frobnicate"],
        &["imap", "--timeout", "soon", "true"],
    ] {
        let out = ppool().args(args).write_stdin("").output().unwrap();
        assert_eq!(out.status.code(), Some(255), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(stderr_of(&out).starts_with("ppool: "), "{args:?}: {}", stderr_of(&out));
    }
    let out = ppool().args(["apply", "echo", ":::", "a", "b"]).output().unwrap();
    assert!(stderr_of(&out).contains("ppool map"));
}

#[test]
fn null_separated_input_keeps_newlines_inside_records() {
    ppool()
        .args(["imap", "-0", "printf", "[%s]"])
        .write_stdin(&b"a\nb\0c\0"[..])
        .assert()
        .success()
        .stdout("[a\nb][c]");
}

#[test]
fn lines_drop_crlf_and_keep_empty_records() {
    ppool()
        .args(["imap", "printf", "[%s]"])
        .write_stdin("a\r\n\nb")
        .assert()
        .success()
        .stdout("[a][][b]");
}

#[test]
fn arg_file_and_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in.txt");
    std::fs::write(&file, "x\ny\n").unwrap();
    ppool()
        .arg("imap")
        .arg("-a")
        .arg(&file)
        .arg("echo")
        .assert()
        .success()
        .stdout("x\ny\n");
    let out = ppool().args(["imap", "-a", "/no/such/file", "echo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr_of(&out).contains("/no/such/file"));
}

#[test]
fn groups_give_their_cartesian_product_and_numbered_fields() {
    ppool()
        .args(["imap", "echo", "{2}{1}", ":::", "a", "b", ":::", "1", "2"])
        .assert()
        .success()
        .stdout("1a\n2a\n1b\n2b\n");
    ppool()
        .args(["imap", "echo", ":::", "a", "b", ":::", "1"])
        .assert()
        .success()
        .stdout("a 1\nb 1\n");
}

#[test]
fn colsep_splits_a_single_group_of_arguments_too() {
    ppool()
        .args(["imap", "--colsep", ",", "echo", "{2}", ":::", "a,b", "c,d"])
        .assert()
        .success()
        .stdout("b\nd\n");
    ppool()
        .args(["apply", "--colsep", ",", "echo", "{2}", ":::", "a,b"])
        .assert()
        .success()
        .stdout("b\n");
}

#[test]
fn colsep_splits_columns() {
    ppool()
        .args(["imap", "--colsep", ",", "echo", "{2}-{1}"])
        .write_stdin("a,b\nc,d\n")
        .assert()
        .success()
        .stdout("b-a\nd-c\n");
}

#[test]
fn json_lines_fields_and_invalid_lines() {
    let out = ppool()
        .args(["imap", "--json", "echo", "{name}", "{tags.1}"])
        .write_stdin("{\"name\":\"ann\",\"tags\":[\"x\",\"y\"]}\n{oops\n{\"name\":\"bo\",\"tags\":[1,{\"k\":2}]}\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_of(&out), "ann y\nbo {\"k\":2}\n");
    let err = stderr_of(&out);
    assert!(err.contains("line 2, column 2"), "{err}");
    assert!(err.contains("invalid-input"), "{err}");
}

#[test]
fn json_missing_field_fails_only_that_task() {
    let out = ppool()
        .args(["imap", "--json", "--output", "json", "echo", "{a.b}"])
        .write_stdin("{\"a\":{\"b\":1}}\n{\"a\":2}\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["stdout"], "1\n");
    assert_eq!(lines[1]["status"], "invalid-input");
    assert!(lines[1]["stderr"].as_str().unwrap().contains("a.b"));
}

#[test]
fn empty_input_runs_nothing_and_succeeds() {
    ppool()
        .args(["imap", "echo"])
        .write_stdin("")
        .assert()
        .success()
        .stdout("");
}

#[test]
fn apply_passes_stdin_through_and_returns_the_task_status() {
    ppool()
        .args(["apply", "cat"])
        .write_stdin("hello\n")
        .assert()
        .success()
        .stdout("hello\n");
    ppool().args(["apply", "sh", "-c", "exit 7"]).assert().code(7);
    ppool()
        .args(["apply", "echo", "{}!", ":::", "x"])
        .assert()
        .success()
        .stdout("x!\n");
    ppool().args(["apply", "sh", "-c", "kill -9 $$"]).assert().code(137);
}

#[test]
fn line_buffer_prints_whole_lines_while_the_task_still_runs() {
    let script = format!("echo {{}}-1; {WAIT_FOR_GO_LOOP}; echo {{}}-2");
    let args = ["unordered", "--line-buffer", "--tag", "sh", "-c", &script, ":::", "x"];
    expect_streaming(&args, "x\tx-1", "x\tx-2");
}

#[test]
fn line_buffer_never_mixes_lines_of_different_tasks() {
    // Each line is written in three pieces, so a line could be torn apart.
    let script = "i=0; while [ $i -lt 500 ]; do printf '%s' {}; printf -- '-%s' $i; printf '.\\n'; i=$((i+1)); done";
    let out = ppool()
        .args([
            "unordered",
            "-j3",
            "--line-buffer",
            "sh",
            "-c",
            script,
            ":::",
            "a",
            "b",
            "c",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    let mut counts = std::collections::HashMap::new();
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        let task = &line[..1];
        let rest = &line[1..];
        let whole = rest.starts_with('-') && rest.ends_with('.') && rest[1..rest.len() - 1].parse::<u32>().is_ok();
        assert!(whole && "abc".contains(task), "torn line: {line:?}");
        *counts.entry(task.to_owned()).or_insert(0) += 1;
    }
    for task in ["a", "b", "c"] {
        assert_eq!(counts[task], 500, "{task}");
    }
}
