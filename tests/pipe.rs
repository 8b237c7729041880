//! `--pipe`: the input cut into blocks of whole records, each written to
//! one task's stdin; compared with the same work done serially and with
//! GNU parallel's `--pipe -k`.

use crate::util::{json_lines, ppool, stderr_of};

/// Runs ppool with `input` on stdin.
fn run(args: &[&str], input: &[u8]) -> std::process::Output {
    ppool().args(args).write_stdin(input.to_vec()).output().unwrap()
}

/// stdout of a successful run.
fn out(args: &[&str], input: &[u8]) -> Vec<u8> {
    let output = run(args, input);
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    output.stdout
}

/// The lines `seq 1 n` prints.
fn numbers(n: usize) -> Vec<u8> {
    (1..=n).map(|i| format!("{i}\n")).collect::<String>().into_bytes()
}

/// The sum of the numbers the tasks printed, one a line.
fn sum(stdout: &[u8]) -> u64 {
    String::from_utf8_lossy(stdout)
        .split_whitespace()
        .map(|n| n.parse::<u64>().expect("a count"))
        .sum()
}

/// Inputs that cover the record rules, with the options that cut them.
fn cases() -> Vec<(&'static str, Vec<&'static str>, Vec<u8>)> {
    let mut long_record = numbers(50);
    long_record.extend(vec![b'x'; 5000]);
    long_record.extend(b"\n");
    long_record.extend(numbers(50));
    let mut unterminated = numbers(300);
    unterminated.extend(b"last");
    let fasta: Vec<u8> = (0..200)
        .flat_map(|i| format!(">seq{i}\nACGT\nTTGA{i}\n").into_bytes())
        .collect();
    let nul: Vec<u8> = (0..500).flat_map(|i| format!("item\n{i}\0").into_bytes()).collect();
    vec![
        ("lines", vec!["--block", "1k"], numbers(2000)),
        ("record longer than the block", vec!["--block", "100"], long_record),
        ("no final newline", vec!["--block", "300"], unterminated),
        ("empty", vec!["--block", "10"], Vec::new()),
        ("recstart", vec!["--block", "200", "--recstart", ">"], fasta.clone()),
        (
            "recstart and recend",
            vec!["--block", "150", "--recend", "\\n", "--recstart", ">"],
            fasta,
        ),
        ("nul", vec!["--block", "500", "-0"], nul),
        ("n records", vec!["-N", "7"], numbers(100)),
        (
            "regexp",
            vec!["--block", "50", "--regexp", "--recend", "\\n+", "--recstart", "[0-9]"],
            b"1a\n\nb\n2c\n3d\n\n4e\n".repeat(40),
        ),
    ]
}

#[test]
fn blocks_concatenated_in_imap_order_are_the_input() {
    for (name, options, input) in cases() {
        let mut args = vec!["imap", "-j3", "--pipe"];
        args.extend(&options);
        args.push("cat");
        assert!(out(&args, &input) == input, "{name}");
    }
}

#[test]
fn the_sum_of_wc_l_over_blocks_is_the_line_count() {
    let input = numbers(5000);
    for mode in ["map", "imap", "unordered"] {
        let stdout = out(&[mode, "-j2", "--pipe", "--block", "2k", "wc", "-l"], &input);
        assert_eq!(sum(&stdout), 5000, "{mode}");
        // Several blocks, each of whole lines.
        assert!(String::from_utf8_lossy(&stdout).lines().count() > 5, "{mode}");
    }
}

#[test]
fn a_block_is_never_cut_inside_a_record() {
    let input = numbers(3000);
    let stdout = out(
        &[
            "imap",
            "-j2",
            "--pipe",
            "--block",
            "100",
            "sh",
            "-c",
            "tail -c 1 | od -An -c",
        ],
        &input,
    );
    assert!(String::from_utf8_lossy(&stdout).lines().all(|l| l.trim() == "\\n"));
}

#[test]
fn n_gives_blocks_of_exactly_n_records_and_header_tops_each() {
    let input = b"name\n1\n2\n3\n4\n5\n";
    let stdout = out(
        &[
            "imap",
            "--pipe",
            "-N",
            "2",
            "--header",
            "1",
            "sh",
            "-c",
            "echo {#}: $(cat)",
        ],
        input,
    );
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        "1: name 1 2\n2: name 3 4\n3: name 5\n"
    );
    let colon = out(&["imap", "--pipe", "-N", "4", "--header", ":", "wc", "-l"], input);
    assert_eq!(String::from_utf8_lossy(&colon), "5\n2\n");
}

#[test]
fn the_command_gets_no_argument_and_a_file_can_be_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in");
    std::fs::write(&file, numbers(10)).unwrap();
    let stdout = out(
        &[
            "imap",
            "--pipe",
            "-N",
            "5",
            "-a",
            file.to_str().unwrap(),
            "sh",
            "-c",
            "echo $# $(cat)",
            "sh",
        ],
        b"",
    );
    assert_eq!(String::from_utf8_lossy(&stdout), "0 1 2 3 4 5\n0 6 7 8 9 10\n");
}

#[test]
fn a_task_that_reads_nothing_or_part_of_its_block_is_judged_by_its_status() {
    let input = numbers(200_000);
    let output = run(&["imap", "-j2", "--pipe", "--block", "300k", "true"], &input);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(output.stdout, b"");
    let stdout = out(&["imap", "--pipe", "--block", "300k", "head", "-n", "1"], &input);
    assert!(stdout.starts_with(b"1\n"), "{}", String::from_utf8_lossy(&stdout));
    let failed = run(&["imap", "--pipe", "sh", "-c", "exit 3"], &numbers(1000));
    assert_eq!(failed.status.code(), Some(1), "{}", stderr_of(&failed));
    assert!(
        stderr_of(&failed).contains("1 of 1 tasks failed"),
        "{}",
        stderr_of(&failed)
    );
}

#[test]
fn a_retried_block_is_fed_again_whole() {
    let dir = tempfile::tempdir().unwrap();
    // The first attempt at each block reads a little of it and fails.
    let script = format!(
        "if [ -e {dir}/tried{{#}} ]; then cat; else touch {dir}/tried{{#}}; head -c 3 >/dev/null; exit 1; fi",
        dir = dir.path().display()
    );
    let input = numbers(1000);
    let stdout = out(
        &[
            "imap",
            "-j2",
            "--pipe",
            "--block",
            "1k",
            "--retries",
            "1",
            "sh",
            "-c",
            &script,
        ],
        &input,
    );
    assert!(stdout == input);
}

#[test]
fn json_joblog_and_seq_count_one_per_block() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let input = numbers(10);
    let output = run(
        &[
            "imap",
            "--pipe",
            "-N",
            "4",
            "--output",
            "json",
            "--joblog",
            log.to_str().unwrap(),
            "cat",
        ],
        &input,
    );
    assert!(output.status.success(), "{}", stderr_of(&output));
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["seq"], 2);
    assert_eq!(
        lines[1]["input"],
        serde_json::json!({"start": 8, "end": 16, "records": 4})
    );
    assert_eq!(lines[2]["input"]["records"], 2);
    assert_eq!(lines[2]["stdout"], "9\n10\n");
    let joblog = std::fs::read_to_string(&log).unwrap();
    assert_eq!(joblog.lines().count(), 4, "{joblog}");
}

#[test]
fn a_timeout_stops_a_task_that_does_not_read_its_block() {
    let input = numbers(300_000);
    let output = run(
        &[
            "imap",
            "--pipe",
            "--block",
            "1M",
            "--timeout",
            "300ms",
            "--grace",
            "100ms",
            "sleep",
            "30",
        ],
        &input,
    );
    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("timed out") || stderr_of(&output).contains("timeout"));
}

#[test]
fn pipe_refuses_what_it_cannot_do() {
    for (args, says) in [
        (vec!["apply", "--pipe", "cat"], "--pipe"),
        (vec!["map", "--pipe", "cat", ":::", "a"], "one stream"),
        (vec!["map", "--pipe", "--block", "1X", "cat"], "--block 1X"),
        (vec!["map", "--pipe", "-X", "cat"], "-X"),
        (vec!["map", "--pipe", "-N2", "--recend", "", "cat"], "--recstart"),
        (vec!["map", "--pipe", "--builtin", "echo"], "COMMAND"),
    ] {
        let output = run(&args, b"");
        assert_eq!(output.status.code(), Some(255), "{args:?}: {}", stderr_of(&output));
        assert!(stderr_of(&output).contains(says), "{args:?}: {}", stderr_of(&output));
    }
}

/// GNU parallel's output for the same run, or `None` (with a SKIP line)
/// where it is not installed.
fn gnu(args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let output = crate::util::gnu_parallel_run(args, input)?;
    assert!(output.status.success(), "parallel {args:?}: {}", stderr_of(&output));
    Some(output.stdout)
}

#[test]
fn output_equals_gnu_parallels_pipe_k() {
    let fasta: Vec<u8> = (0..100)
        .flat_map(|i| format!(">s{i}\nAC\nGT{i}\n").into_bytes())
        .collect();
    let nul = b"a\0bb\0c\nc\0d\0e\0f\0".to_vec();
    assert_eq!(
        out(&["imap", "--pipe", "-N", "4", "-0", "wc", "-c"], &nul),
        out(&["imap", "--pipe", "-N", "4", "--recend", "\\0", "wc", "-c"], &nul)
    );
    let cases: Vec<(Vec<&str>, Vec<u8>)> = vec![
        (vec!["--pipe", "--block", "5", "wc", "-l"], numbers(10)),
        (vec!["--pipe", "--block", "1k", "wc", "-l"], numbers(3000)),
        (vec!["--pipe", "-N", "3", "wc", "-l"], numbers(100)),
        (vec!["--pipe", "-N", "7", "--recstart", ">", "wc", "-l"], fasta.clone()),
        (vec!["--pipe", "--block", "300", "cat"], fasta),
        (vec!["--pipe", "-N", "2", "--header", "1", "cat"], numbers(9)),
        // GNU parallel's --pipe ignores -0; ppool's -0 is this.
        (vec!["--pipe", "-N", "4", "--recend", "\\0", "wc", "-c"], nul.clone()),
        (
            vec!["--pipe", "--block", "100", "wc", "-c"],
            b"no final newline".to_vec(),
        ),
        (vec!["--pipe", "wc", "-l"], Vec::new()),
        (
            vec![
                "--pipe",
                "-N",
                "1",
                "--regexp",
                "--recend",
                "\\n+",
                "--recstart",
                "[0-9]",
                "wc",
                "-c",
            ],
            b"1a\n\nb\n2c\n3d\n\n4e\n".to_vec(),
        ),
    ];
    for (args, input) in cases {
        let mut gnu_args = vec!["-k", "-j2"];
        gnu_args.extend(&args);
        let Some(expected) = gnu(&gnu_args, &input) else {
            return;
        };
        let mut ours = vec!["imap", "-j2"];
        ours.extend(&args);
        let got = out(&ours, &input);
        assert_eq!(stdout_of_bytes(&got), stdout_of_bytes(&expected), "{args:?}");
    }
}

fn stdout_of_bytes(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// ppool's peak resident memory so far, in kB (VmHWM); `None` once gone.
fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
#[ignore = "heavy: streams 1 GB through --pipe"]
fn a_large_stream_stays_within_the_memory_bound() {
    use std::io::Write;
    const GB: usize = 1 << 30;
    const BLOCK: usize = 10 << 20;
    let mut child = crate::util::ppool_std()
        .args(["imap", "-j2", "--pipe", "--block", "10M", "wc", "-l"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let line = b"0123456789abcdef\n";
    let writer = std::thread::spawn(move || {
        let chunk: Vec<u8> = line.iter().copied().cycle().take(line.len() * 4096).collect();
        let mut written = 0;
        while written < GB {
            stdin.write_all(&chunk).unwrap();
            written += chunk.len();
        }
        written / line.len()
    });
    let mut peak = 0;
    while !writer.is_finished() {
        peak = peak.max(peak_kb(pid).unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    peak = peak.max(peak_kb(pid).unwrap_or(0));
    let lines = writer.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(sum(&output.stdout), lines as u64);
    // (jobs + 3) × block as documented, plus 16 MB for the rest of ppool
    // (a debug build holds about 12 MB with no block).
    let bound = ((2 + 3) * BLOCK + (16 << 20)) / 1024;
    assert!(peak > 0 && (peak as usize) < bound, "peak {peak} kB, bound {bound} kB");
}

#[test]
fn cat_gives_each_block_as_a_file_removed_when_its_task_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let input = numbers(1000);
    let run_in_tmp = |args: &[&str]| {
        ppool()
            .args(args)
            .env("TMPDIR", tmp.path())
            .write_stdin(input.clone())
            .output()
            .unwrap()
    };
    let output = run_in_tmp(&[
        "imap",
        "-j2",
        "--pipe",
        "--block",
        "1k",
        "--cat",
        "sh",
        "-c",
        "cat \"$1\"",
        "sh",
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(output.stdout == input);
    let wc = run_in_tmp(&["imap", "-j2", "--pipe", "--block", "1k", "--cat", "-s", "wc -l < {}"]);
    assert_eq!(sum(&wc.stdout), 1000, "{}", stderr_of(&wc));
    // Removed after a failure and after a timeout too.
    let failed = run_in_tmp(&[
        "imap",
        "--pipe",
        "-N",
        "500",
        "--cat",
        "sh",
        "-c",
        "test -s \"$1\" && exit 4",
        "sh",
    ]);
    assert!(stderr_of(&failed).contains("exit code 4"), "{}", stderr_of(&failed));
    let stopped = run_in_tmp(&[
        "imap",
        "--pipe",
        "-N",
        "500",
        "--cat",
        "--timeout",
        "200ms",
        "--grace",
        "100ms",
        "sh",
        "-c",
        "sleep 30",
        "sh",
    ]);
    assert!(stderr_of(&stopped).contains("timed out"), "{}", stderr_of(&stopped));
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn fifo_gives_each_block_as_a_named_pipe_removed_when_its_task_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let input = numbers(20_000);
    let run_in_tmp = |args: &[&str]| {
        ppool()
            .args(args)
            .env("TMPDIR", tmp.path())
            .write_stdin(input.clone())
            .output()
            .unwrap()
    };
    let output = run_in_tmp(&[
        "imap",
        "-j2",
        "--pipe",
        "--block",
        "10k",
        "--fifo",
        "-s",
        "test -p {} && cat {}",
    ]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert!(output.stdout == input);
    // A task that never opens its pipe, and one that reads a line of it.
    let unread = run_in_tmp(&["imap", "-j2", "--pipe", "--block", "10k", "--fifo", "true"]);
    assert!(unread.status.success(), "{}", stderr_of(&unread));
    let head = run_in_tmp(&["imap", "--pipe", "-N", "10000", "--fifo", "-s", "head -n 1 {}"]);
    assert_eq!(String::from_utf8_lossy(&head.stdout), "1\n10001\n");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn pipepart_ranges_concatenate_to_the_file_and_match_gnu_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in");
    let path = file.to_str().unwrap();
    let mut input = numbers(30_000);
    input.extend(b"no final newline");
    std::fs::write(&file, &input).unwrap();
    let cat = out(&["imap", "-j2", "--pipepart", "-a", path, "--block", "10k", "cat"], b"");
    assert!(cat == input);
    let header = dir.path().join("header");
    std::fs::write(&header, b"h\n1\n2\n3\n4\n5\n").unwrap();
    let header = header.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--pipepart", "-a", path, "--block", "10k", "wc", "-l"],
        vec!["--pipepart", "-a", header, "--header", "1", "--block", "3", "cat"],
        vec![
            "--pipepart",
            "-a",
            path,
            "--block",
            "7k",
            "--recend",
            "0\\n",
            "wc",
            "-c",
        ],
    ];
    for args in cases {
        let mut ours = vec!["imap", "-j2"];
        ours.extend(&args);
        let got = out(&ours, b"");
        let mut gnu_args = vec!["-k", "-j2"];
        gnu_args.extend(&args);
        let Some(expected) = gnu(&gnu_args, b"") else {
            return;
        };
        assert_eq!(stdout_of_bytes(&got), stdout_of_bytes(&expected), "{args:?}");
    }
    let refused = run(&["map", "--pipepart", "cat"], b"");
    assert_eq!(refused.status.code(), Some(255));
    assert!(stderr_of(&refused).contains("-a FILE"), "{}", stderr_of(&refused));
}

#[test]
fn a_round_robin_task_that_stops_reading_fails_and_says_what_was_lost() {
    // Task 2 reads one byte and exits 0; task 1 counts what it is dealt,
    // after a pause that fills its pipe, so that task 2 is dealt blocks.
    let input = numbers(400_000);
    let output = run(
        &[
            "imap",
            "-j2",
            "--pipe",
            "--block",
            "10k",
            "--round-robin",
            "sh",
            "-c",
            "if [ $PPOOL_SEQ = 2 ]; then dd bs=1 count=1 2>/dev/null >/dev/null; else sleep 0.3; wc -l; fi",
        ],
        &input,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let err = stderr_of(&output);
    let lost: u64 = err
        .split_once("before the input ended; ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no count of lost bytes: {err}"));
    // The rest of its first block at least, and never more than the input.
    assert!(lost >= 10_000 - 1 && lost < input.len() as u64, "{lost}: {err}");
    assert!(err.contains("task 2 (blocks dealt round-robin): failed"), "{err}");
    // What task 1 counted and what was lost make up the input.
    assert!(sum(&output.stdout) < 400_000);
}

#[test]
fn a_failed_block_is_named_by_its_bytes_in_the_summary() {
    let output = run(&["imap", "--pipe", "-N3", "false"], &numbers(10));
    assert_eq!(output.status.code(), Some(4));
    let err = stderr_of(&output);
    assert!(err.contains("task 1 (bytes 0–5): failed, exit code 1"), "{err}");
    assert!(err.contains("task 4 (bytes 18–20): failed"), "{err}");
}

#[test]
fn round_robin_starts_jobs_tasks_once_and_deals_every_block() {
    let input = numbers(50_000);
    let stdout = out(
        &["imap", "-j3", "--pipe", "--block", "5k", "--round-robin", "wc", "-l"],
        &input,
    );
    // One result per task, not per block.
    assert_eq!(String::from_utf8_lossy(&stdout).lines().count(), 3);
    assert_eq!(sum(&stdout), 50_000);
    let cat = out(
        &["map", "-j2", "--pipe", "--block", "5k", "--round-robin", "cat"],
        &input,
    );
    let mut lines: Vec<u64> = String::from_utf8_lossy(&cat)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    lines.sort_unstable();
    assert!(lines.iter().copied().eq(1..=50_000));
    let refused = run(&["map", "--pipe", "--round-robin", "--retries", "1", "cat"], b"");
    assert_eq!(refused.status.code(), Some(255), "{}", stderr_of(&refused));
}
