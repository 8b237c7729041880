//! Batches: `-n`/`-N`, `-L`, `-X`, `-m` and `--max-chars` put several
//! records on one command line, and each batch is one task.

use crate::util::{gnu_parallel, json_lines, ppool, stderr_of, stdout_of};

fn run(args: &[&str]) -> std::process::Output {
    ppool().args(args).output().unwrap()
}

fn out(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    stdout_of(&output)
}

#[test]
fn n_appends_up_to_n_records_as_separate_arguments() {
    assert_eq!(
        out(&["imap", "-j2", "-n", "2", "printf", "<%s>\\n", ":::", "a b", "c", "d"]),
        "<a b>\n<c>\n<d>\n"
    );
    assert_eq!(out(&["imap", "-N", "2", "echo", ":::", "a", "b", "c"]), "a b\nc\n");
}

#[test]
fn l_is_n_on_input_lines() {
    let output = ppool()
        .args(["imap", "-L", "2", "echo"])
        .write_stdin("1\n2 \n3\n")
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "1 2 \n3\n");
}

#[test]
fn x_repeats_a_placeholder_word_per_record_and_m_joins() {
    let x = out(&[
        "imap", "-j1", "-X", "printf", "<%s>", "x{}y", "{/.}", ":::", "d/a.c", "b",
    ]);
    assert_eq!(x, "<xd/a.cy><xby><a><b>");
    let m = out(&["imap", "-j1", "-m", "printf", "<%s>", "x{}y", ":::", "a", "b", "c"]);
    assert_eq!(m, "<xa><b><cy>");
}

#[test]
fn numbered_placeholders_name_the_records_of_the_batch() {
    let output = out(&[
        "imap", "-N", "2", "printf", "<%s>", "{1}-{2}", "{#}", ":::", "a", "b", "c",
    ]);
    assert_eq!(output, "<a-b><1><c-><2>");
}

#[test]
fn batch_number_is_seq_and_ppool_seq() {
    let output = out(&[
        "imap",
        "-n",
        "2",
        "sh",
        "-c",
        "echo $PPOOL_SEQ \"$@\"",
        "sh",
        ":::",
        "a",
        "b",
        "c",
    ]);
    assert_eq!(output, "1 a b\n2 c\n");
}

#[test]
fn shell_quotes_each_record_for_its_context() {
    let output = out(&[
        "imap",
        "-n",
        "2",
        "-s",
        "printf '<%s>' {} \"{}\"",
        ":::",
        "it's",
        "$x y",
    ]);
    assert_eq!(output, "<it's><$x y><it's $x y>");
}

#[test]
fn dry_run_prints_each_batch_command() {
    assert_eq!(
        out(&["map", "--dry-run", "-n", "2", "echo", "{}", ":::", "a b", "c", "d"]),
        "echo 'a b' c\necho d\n"
    );
}

#[test]
fn json_input_is_the_array_of_the_batch() {
    let output = run(&["imap", "--output", "json", "-n", "2", "true", ":::", "a", "b", "c"]);
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["input"], serde_json::json!(["a", "b"]));
    assert_eq!(lines[1]["input"], serde_json::json!(["c"]));
    assert_eq!(lines[1]["seq"], 2);
}

/// Each line's `input`, by task number.
fn inputs_by_seq(lines: &[serde_json::Value]) -> Vec<(u64, serde_json::Value)> {
    let mut inputs: Vec<(u64, serde_json::Value)> = lines
        .iter()
        .map(|l| (l["seq"].as_u64().unwrap(), l["input"].clone()))
        .collect();
    inputs.sort_by_key(|(seq, _)| *seq);
    inputs
}

#[test]
fn json_lists_the_records_of_failed_and_resumed_batches_in_every_mode() {
    let batches = || vec![(1, serde_json::json!(["a", "b"])), (2, serde_json::json!(["c"]))];
    for mode in ["unordered", "imap", "map"] {
        let args = [
            mode, "-j2", "--output", "json", "-n", "2", "sh", "-c", "exit 3", "sh", ":::", "a", "b", "c",
        ];
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr_of(&output));
        let lines = json_lines(&output.stdout);
        assert!(lines.iter().all(|l| l["status"] == "failed"), "{lines:?}");
        assert_eq!(inputs_by_seq(&lines), batches(), "{args:?}");
    }
    // Batches a job log says are done are skipped, and still listed.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log = log.to_str().unwrap();
    out(&["unordered", "-n", "2", "--joblog", log, "true", ":::", "a", "b", "c"]);
    let output = run(&[
        "unordered",
        "-n",
        "2",
        "--joblog",
        log,
        "--resume",
        "--output",
        "json",
        "true",
        ":::",
        "a",
        "b",
        "c",
    ]);
    let lines = json_lines(&output.stdout);
    assert!(lines.iter().all(|l| l["status"] == "skipped"), "{lines:?}");
    assert_eq!(inputs_by_seq(&lines), batches());
}

#[test]
fn results_files_list_each_batchs_records() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("r");
    let args = [
        "unordered",
        "-j2",
        "-n",
        "2",
        "--results",
        results.to_str().unwrap(),
        "sh",
        "-c",
        "exit 3",
        "sh",
    ];
    let output = ppool().args(args).write_stdin("a\nb\nc\n").output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    for (seq, input) in [(1, serde_json::json!(["a", "b"])), (2, serde_json::json!(["c"]))] {
        let path = results.join(seq.to_string()).join("outcome.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let outcome: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (&outcome["input"], &outcome["status"]),
            (&input, &serde_json::json!("failed")),
            "{text}"
        );
    }
}

#[test]
fn the_failure_summary_and_job_log_name_each_batchs_records() {
    // The plain path, where nothing else looks at the tasks one by one.
    let output = ppool()
        .args(["unordered", "-j2", "-n", "2", "sh", "-c", "exit 3", "sh"])
        .write_stdin("a\nb\nc\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("task 1 (a b): failed, exit code 3"), "{stderr}");
    assert!(stderr.contains("task 2 (c): failed, exit code 3"), "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let output = ppool()
        .args([
            "unordered",
            "-j2",
            "-X",
            "--joblog",
            log.to_str().unwrap(),
            "sh",
            "-c",
            "exit 3",
            "sh",
        ])
        .write_stdin("a\nb\nc\n")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let mut records: Vec<&str> = text
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.rsplit('\t')
                .next()
                .unwrap()
                .strip_prefix("sh -c 'exit 3' sh ")
                .unwrap()
                .split(' ')
        })
        .collect();
    records.sort_unstable();
    assert_eq!(records, ["a", "b", "c"], "{text}");
}

#[test]
fn a_failed_batch_is_one_failed_task() {
    let output = run(&["imap", "-n", "2", "sh", "-c", "exit 3", "sh", ":::", "a", "b", "c"]);
    // Two batches, both failed: exit status counts tasks, not records.
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
}

#[test]
fn job_log_has_one_line_per_batch_and_resume_refuses_other_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log = log.to_str().unwrap();
    out(&["imap", "-n", "2", "--joblog", log, "echo", ":::", "a", "b", "c"]);
    let text = std::fs::read_to_string(log).unwrap();
    let mut commands: Vec<&str> = text.lines().skip(1).map(|l| l.rsplit('\t').next().unwrap()).collect();
    commands.sort_unstable();
    assert_eq!(commands, ["echo a b", "echo c"], "{text}");
    // The same batches resume: every batch is done already.
    assert_eq!(
        out(&["imap", "-n", "2", "--joblog", log, "--resume", "echo", ":::", "a", "b", "c"]),
        ""
    );
    for other in [&["-n", "3"][..], &[]] {
        let mut args = vec!["imap"];
        args.extend_from_slice(other);
        args.extend(["--joblog", log, "--resume", "echo", ":::", "a", "b", "c"]);
        let output = run(&args);
        assert_eq!(output.status.code(), Some(255), "{args:?}");
        assert!(stderr_of(&output).contains("-n/-L/-X/-m"), "{}", stderr_of(&output));
        assert!(stdout_of(&output).is_empty());
    }
    // The refused runs left the log as it was.
    assert_eq!(std::fs::read_to_string(log).unwrap(), text);
}

#[test]
fn x_fills_the_command_line_as_xargs_does_and_a_record_too_long_fails_alone() {
    let output = run(&[
        "imap",
        "-X",
        "--max-chars",
        "20",
        "echo",
        ":::",
        "aaaaaaaa",
        "bbbbbbbbbb",
        "ccc",
        "dddddddddddddddddddddd",
        "e",
    ]);
    // `echo` (5 bytes with its NUL) then each record and its NUL: at most 20.
    assert_eq!(stdout_of(&output), "aaaaaaaa\nbbbbbbbbbb ccc\ne\n");
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("too long for a command line"), "{stderr}");
    assert!(stderr.contains("invalid-input"), "{stderr}");
}

/// What `xargs ARGS` printed for `stdin`; `None` (after a SKIP line) where
/// xargs is not installed.
fn xargs(args: &[&str], stdin: &str) -> Option<String> {
    use std::io::Write;
    let child = std::process::Command::new("xargs")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("SKIP: xargs is not installed");
        return None;
    };
    let mut pipe = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || pipe.write_all(stdin.as_bytes()).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(output.status.success(), "xargs {args:?}");
    Some(stdout_of(&output))
}

#[test]
fn x_and_n_fill_the_command_line_xargs_fills_by_default() {
    // 200,000 numbers: about 1.3 MB of arguments, several of xargs'
    // 128 KiB command lines, with the environment this process has.
    let input: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    let words = |text: &str| -> Vec<usize> { text.lines().map(|l| l.split(' ').count()).collect() };
    for (ours, theirs) in [
        (&["imap", "-j1", "-X", "echo"][..], &["echo"][..]),
        (&["imap", "-j1", "-n", "100000", "echo"], &["-n", "100000", "echo"]),
        (&["imap", "-j1", "-X", "echo", "a", "b"], &["echo", "a", "b"]),
    ] {
        let Some(expected) = xargs(theirs, &input) else { return };
        let output = ppool().args(ours).write_stdin(input.clone()).output().unwrap();
        assert!(output.status.success(), "{ours:?}: {}", stderr_of(&output));
        assert_eq!(words(&stdout_of(&output)), words(&expected), "{ours:?}");
    }
}

#[test]
fn batches_are_usage_errors_with_builtins_workers_and_apply() {
    for (args, says) in [
        (
            &["map", "-n", "2", "--builtin", "echo", ":::", "a"][..],
            "not --builtin or --worker",
        ),
        (
            &["map", "-X", "--worker", "cat", ":::", "a"],
            "not --builtin or --worker",
        ),
        (&["apply", "-n", "2", "echo", ":::", "a"], "for map, imap and unordered"),
        (&["map", "-L", "0", "echo", ":::", "a"], "at least 1"),
        (
            &["map", "--max-chars", "100", "echo", ":::", "a"],
            "give -X, -m or -n N",
        ),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(255), "{args:?}");
        let stderr = stderr_of(&output);
        assert!(
            stderr.starts_with("ppool: ") && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn output_matches_gnu_parallel() {
    let inputs = [":::", "a", "b.c", "d/e.f", "g", "h"];
    for options in [
        &["-n", "2"][..],
        &["-X"],
        &["-m"],
        &["-N", "2"],
        &["-n", "3", "-X"],
        &["-N", "2", "-m"],
    ] {
        let uses_fields = options.contains(&"-N");
        let command: &[&str] = if uses_fields {
            &["echo", "{1}", "+", "{2}", "{#}"]
        } else {
            &["echo", "{}", "{.}", "{#}"]
        };
        let mut args: Vec<&str> = options.to_vec();
        args.extend_from_slice(command);
        args.extend_from_slice(&inputs);
        let Some(expected) = gnu_parallel(&args) else { return };
        let mut ours = vec!["imap", "-j1"];
        ours.extend_from_slice(&args);
        assert_eq!(out(&ours), expected, "{args:?}");
    }
}
