//! The last of GNU parallel's spellings: `--compress`, `--pipe-part`,
//! `--roundrobin`, and the gaps its tutorial and examples showed.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{ppool, ppool_std, stderr_of, stdout_of};

/// Sizes of the deleted (unlinked) files under `dir` that `pid` holds open.
fn open_unlinked_files(pid: u32, dir: &Path) -> Vec<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let dir = dir.to_string_lossy().into_owned();
    fds.flatten()
        .filter(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|to| to.to_string_lossy().starts_with(&dir) && to.to_string_lossy().ends_with("(deleted)"))
        })
        .filter_map(|fd| std::fs::metadata(fd.path()).ok().map(|m| m.len()))
        .collect()
}

#[test]
fn compress_keeps_output_waiting_for_its_turn_compressed_and_prints_it_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    // Task 1 waits for the test; task 2 prints 8 MB of one repeated line,
    // which then waits on disk for task 1.
    let script = format!(
        "if [ {{}} = 1 ]; then while [ ! -e {go} ]; do sleep 0.05; done; echo first; \
         else yes line-of-text | head -c 8000000; fi",
        go = go.display()
    );
    let mut child = ppool_std()
        .args(["imap", "-j2", "--compress", "-s", &script, ":::", "1", "2"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The spill file of a running task is over 1 MiB from its creation; a
    // smaller one is the shelf, holding task 2's output compressed.
    let start = Instant::now();
    let mut shelved = None;
    while start.elapsed() < Duration::from_secs(60) {
        if child.try_wait().is_ok_and(|ended| ended.is_some()) {
            break;
        }
        let sizes = open_unlinked_files(pid, tmp.path());
        if let [size] = sizes[..] {
            if size > 0 && size < 1 << 20 {
                shelved = Some(size);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(&go, "").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let expected = format!("first\n{}", "line-of-text\n".repeat(8_000_000 / 13 + 1));
    let expected = &expected.as_bytes()[..6 + 8_000_000];
    assert!(
        output.stdout == expected,
        "stdout is not task 1's then task 2's output, whole"
    );
    assert!(
        shelved.is_some(),
        "no compressed shelf appeared while task 2's output waited"
    );
}

#[test]
fn compress_is_accepted_where_nothing_waits() {
    let output = ppool()
        .args(["unordered", "--compress", "echo", ":::", "a"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "a\n");
    let output = ppool()
        .args(["apply", "--compress", "echo", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255), "apply captures nothing to compress");
}

#[test]
fn pipe_part_and_roundrobin_are_gnu_spellings_of_pipepart_and_round_robin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lines");
    std::fs::write(&file, (1..=1000).map(|i| format!("{i}\n")).collect::<String>()).unwrap();
    let file = file.to_str().unwrap();
    let output = ppool()
        .args(["imap", "--pipe-part", "--block", "1k", "-a", file, "wc", "-l"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let lines: u64 = stdout_of(&output)
        .split_whitespace()
        .map(|n| n.parse::<u64>().unwrap())
        .sum();
    assert_eq!(lines, 1000);
    let output = ppool()
        .args([
            "unordered",
            "-j2",
            "--pipe",
            "--roundrobin",
            "--block",
            "1k",
            "wc",
            "-l",
        ])
        .write_stdin((1..=1000).map(|i| format!("{i}\n")).collect::<String>())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let counts: Vec<u64> = stdout_of(&output)
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 1000);
    assert!(counts.len() <= 2, "--roundrobin starts --jobs tasks: {counts:?}");
}

/// `ppool imap -j1 ARGS` with STDIN; the run must succeed. When GNU
/// parallel is installed, its output for the same must be the same.
fn same_as_gnu(args: &[&str], stdin: &str, expected: &str) {
    let one_slot: &[&str] = if args.iter().any(|a| a.starts_with("-j")) {
        &[]
    } else {
        &["-j1"]
    };
    let output = ppool()
        .arg("imap")
        .args(one_slot)
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    assert_eq!(stdout_of(&output), expected, "ppool {args:?}");
    if stdin.is_empty() {
        if let Some(gnu) = crate::util::gnu_parallel(args) {
            assert_eq!(gnu, expected, "GNU parallel {args:?}");
        }
    }
}

#[test]
fn no_run_if_empty_leaves_out_blank_records_and_numbers_the_rest() {
    same_as_gnu(&["-r", "echo", "{#}", "{}"], "a\n\nb\n  \n\t\nc\n", "1 a\n2 b\n3 c\n");
    // A record with any blank value is left out, as GNU parallel does.
    same_as_gnu(
        &["-r", "echo", "x{1}{2}x", ":::", "a", "", ":::", "", "b"],
        "",
        "xabx\n",
    );
    same_as_gnu(&["--no-run-if-empty", "echo", ":::", "a", " ", "b"], "", "a\nb\n");
}

#[test]
fn n0_runs_one_task_per_record_and_inserts_none() {
    same_as_gnu(&["-N0", "echo", "foo", ":::", "1", "2", "3"], "", "foo\nfoo\nfoo\n");
    same_as_gnu(&["-N0", "echo", "{#}", ":::", "a", "b"], "", "1\n2\n");
    same_as_gnu(&["-N0", "echo", "x"], "1\n2\n", "x\nx\n");
}

#[test]
fn x_and_m_spread_an_input_that_fits_one_command_over_the_job_slots() {
    same_as_gnu(
        &[
            "-j4", "-m", "echo", ":::", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
        ],
        "",
        "1 2 3\n4 5 6\n7 8 9\n10\n",
    );
    same_as_gnu(
        &[
            "-j4",
            "-X",
            "echo",
            "pre-{}-post",
            ":::",
            "A",
            "B",
            "C",
            "D",
            "E",
            "F",
            "G",
        ],
        "",
        "pre-A-post pre-B-post\npre-C-post pre-D-post\npre-E-post pre-F-post\npre-G-post\n",
    );
    // From stdin too; a count (-n) is kept as given, and one slot gets all.
    let output = ppool()
        .args(["imap", "-j4", "-X", "echo"])
        .write_stdin("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n")
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "1 2 3\n4 5 6\n7 8 9\n10\n");
    same_as_gnu(
        &["-j3", "-n2", "-m", "echo", ":::", "1", "2", "3", "4", "5"],
        "",
        "1 2\n3 4\n5\n",
    );
    let output = ppool()
        .args(["imap", "-j1", "-X", "echo", ":::", "1", "2", "3"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "1 2 3\n");
}

#[test]
fn eta_prints_gnu_parallels_progress_lines_on_stderr_even_when_it_is_no_terminal() {
    let output = ppool()
        .args(["unordered", "-j2", "--eta", "echo", ":::", "a", "b", "c"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let mut stdout: Vec<&str> = std::str::from_utf8(&output.stdout).unwrap().lines().collect();
    stdout.sort_unstable();
    assert_eq!(stdout, ["a", "b", "c"], "stdout is the tasks' own");
    let stderr = stderr_of(&output);
    assert!(
        stderr.starts_with("\nComputers / CPU cores / Max jobs to run\n1:local / ")
            && stderr.contains(
                " / 2\n\nComputer:jobs running/jobs completed/%of started jobs/Average seconds to complete\n"
            ),
        "{stderr:?}"
    );
    let lines: Vec<&str> = stderr.trim_end_matches('\n').rsplit('\r').collect();
    assert!(stderr.ends_with('\n'), "{stderr:?}");
    let last = lines[0];
    assert!(
        last.starts_with("ETA: 0s Left: 0 AVG: ") && last.contains("s  local:0/3/100%/"),
        "{last:?}"
    );
    let updates = lines.iter().filter(|l| l.starts_with("ETA: ")).count();
    assert_eq!(updates, 4, "a line as each task ends, and the last: {stderr:?}");
    let output = ppool().args(["apply", "--eta", "echo", ":::", "a"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
}

#[test]
fn choose_k_and_uniq_with_a_field_number_show_that_field() {
    same_as_gnu(
        &[
            "--plus",
            "echo",
            "2{2choose_k}",
            "1{1choose_k}",
            ":::",
            "A",
            "B",
            "C",
            ":::",
            "A",
            "B",
            "C",
        ],
        "",
        "2B 1A\n2C 1A\n2C 1B\n",
    );
    same_as_gnu(
        &["--plus", "echo", "{2uniq}-{1}", ":::", "A", "B", ":::", "A", "B"],
        "",
        "B-A\nA-B\n",
    );
    // Without --plus they are plain text, as GNU parallel leaves them.
    same_as_gnu(&["echo", "{2uniq}", ":::", "A"], "", "{2uniq} A\n");
}

#[test]
fn number_of_cores_threads_and_sockets_are_printed_as_gnu_parallel_prints_them() {
    for option in [
        "--number-of-cpus",
        "--number-of-cores",
        "--number-of-threads",
        "--number-of-sockets",
    ] {
        let output = ppool().args(["unordered", option]).output().unwrap();
        assert!(output.status.success(), "{option}: {}", stderr_of(&output));
        let ours = stdout_of(&output);
        assert!(ours.trim().parse::<usize>().is_ok_and(|n| n >= 1), "{option}: {ours:?}");
        match std::process::Command::new("parallel").arg(option).output() {
            Ok(gnu) if gnu.status.success() => assert_eq!(ours, stdout_of(&gnu), "{option}"),
            _ => println!("SKIP: GNU parallel is not installed"),
        }
    }
    let threads = stdout_of(&ppool().args(["imap", "--number-of-threads"]).output().unwrap());
    let expected = std::thread::available_parallelism().unwrap().get();
    assert_eq!(threads, format!("{expected}\n"));
}

#[test]
fn shuf_runs_every_record_once_in_a_random_order_numbered_as_it_runs() {
    let input: String = (1..=50).map(|i| format!("{i}\n")).collect();
    let output = ppool()
        .args(["imap", "--shuf", "echo", "{#}", "{}"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let lines: Vec<(u64, u64)> = stdout_of(&output)
        .lines()
        .map(|l| {
            let (seq, value) = l.split_once(' ').unwrap();
            (seq.parse().unwrap(), value.parse().unwrap())
        })
        .collect();
    assert_eq!(
        lines.iter().map(|l| l.0).collect::<Vec<_>>(),
        (1..=50).collect::<Vec<_>>(),
        "{{#}} counts the run order"
    );
    let mut values: Vec<u64> = lines.iter().map(|l| l.1).collect();
    // One order in 50! is the input's own: it does not come by chance.
    assert_ne!(values, (1..=50).collect::<Vec<_>>(), "not shuffled");
    values.sort_unstable();
    assert_eq!(values, (1..=50).collect::<Vec<_>>(), "each record once");
    let output = ppool()
        .args(["imap", "--shuf", "--pipe", "cat"])
        .write_stdin("a\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
}

#[test]
fn no_run_if_empty_leaves_out_blank_lines_of_one_source() {
    let output = ppool()
        .args(["imap", "--no-run-if-empty", "echo", "got"])
        .write_stdin("1\n\n  \n2\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "got 1\ngot 2\n");
}

#[test]
fn timeout_in_percent_stops_a_task_far_slower_than_the_median() {
    // -j1: the first task runs with no limit; the median of 0.3 s then
    // gives the others 3 s, which the 100 s task exceeds.
    let output = ppool()
        .args([
            "imap",
            "-j1",
            "--timeout",
            "1000%",
            "-s",
            "sleep {}; echo {}",
            ":::",
            "0.3",
            "0.3",
            "100",
        ])
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "0.3\n0.3\n");
    assert!(stderr_of(&output).contains("timeout"), "{}", stderr_of(&output));
    let output = ppool().args(["imap", "--timeout", "0%", "true"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255), "{}", stderr_of(&output));
    let output = ppool()
        .args(["imap", "--timeout", "200%", "--builtin", "echo", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("--timeout N%"), "{}", stderr_of(&output));
}

#[test]
fn minversion_takes_gnu_release_dates() {
    let output = ppool().args(["imap", "--minversion", "20130722"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "20221122\n");
    let output = ppool().args(["imap", "--minversion", "20991231"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(
        stderr_of(&output).contains("older than --minversion"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn shellquote_prints_each_record_quoted_and_runs_nothing() {
    let output = ppool()
        .args(["unordered", "--shellquote"])
        .write_stdin("plain\na b$c\n\nit's\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "plain\n'a b$c'\n''\n'it'\\''s'\n");
    let output = ppool()
        .args(["unordered", "--shellquote", ":::", "x y", "z"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "'x y'\nz\n");
    let output = ppool().args(["unordered", "--shellquote", "echo"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
}

#[test]
fn use_cpus_instead_of_cores_counts_jobs_in_sockets() {
    let sockets = ppool().args(["imap", "--number-of-sockets"]).output().unwrap();
    let sockets: usize = stdout_of(&sockets).trim().parse().unwrap();
    let output = ppool()
        .args([
            "unordered",
            "--use-cpus-instead-of-cores",
            "-j",
            "+1",
            "-s",
            "echo {%}; sleep 0.2",
        ])
        .args([":::", "1", "2", "3", "4", "5", "6", "7", "8"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let slots: Vec<usize> = stdout_of(&output).lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(slots.len(), 8);
    assert!(
        slots.iter().all(|&s| s <= sockets + 1),
        "slots {slots:?}, {sockets} sockets"
    );
}

#[test]
fn rrs_takes_the_record_separators_out_of_each_block_as_gnu_parallel() {
    let run = |args: &[&str], input: &str| {
        let output = ppool()
            .args(["imap", "--pipe", "--rrs"])
            .args(args)
            .args(["-s", "echo JOB{#}; cat; echo END"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        stdout_of(&output)
    };
    assert_eq!(
        run(&["-N1", "--regexp", "--recend", ",_+"], "foo,bar,_baz,__qux,\n"),
        "JOB1\nfoo,barEND\nJOB2\nbazEND\nJOB3\nqux,\nEND\n"
    );
    assert_eq!(run(&["-N2"], "a\nb\nc\nd\n"), "JOB1\nabEND\nJOB2\ncdEND\n");
    assert_eq!(
        run(&["-N2", "--recstart", ">"], ">a\nx\n>b\ny\n>c\n"),
        "JOB1\na\nx\nb\ny\nEND\nJOB2\nc\nEND\n"
    );
}

#[test]
fn pipe_with_no_record_end_cuts_blocks_of_exactly_the_block_size() {
    let output = ppool()
        .args(["imap", "--pipe", "--block", "5", "--recend", "", "-s", "cat; echo"])
        .write_stdin("HHHHAAABBBCCC")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "HHHHA\nAABBB\nCCC\n");
    let output = ppool()
        .args(["imap", "--pipe", "-N2", "--recend", "", "cat"])
        .write_stdin("abc")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255), "-N needs records");
}

#[test]
fn pipe_header_as_a_regular_expression_tops_every_block_with_its_match() {
    let output = ppool()
        .args([
            "imap",
            "--pipe",
            "--header",
            ".{4}",
            "--block",
            "3",
            "--recend",
            "",
            "-s",
            "echo start; cat; echo",
        ])
        .write_stdin("HHHHAAABBBCCC")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "start\nHHHHAAA\nstart\nHHHHBBB\nstart\nHHHHCCC\n");
    let output = ppool()
        .args([
            "imap",
            "--pipe",
            "--header",
            "(%.*\\n)*",
            "-N3",
            "-s",
            "echo JOB{#}; cat",
        ])
        .write_stdin("%head1\n%head2\n1\n2\n3\n4\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(
        stdout_of(&output),
        "JOB1\n%head1\n%head2\n1\n2\n3\nJOB2\n%head1\n%head2\n4\n"
    );
}

#[test]
fn pipe_l_makes_records_of_n_lines_packed_into_blocks_by_size() {
    // 6-byte records of two lines; a 13-byte block holds two of them.
    let output = ppool()
        .args(["imap", "--pipe", "-L2", "--block", "13", "-s", "echo JOB; cat"])
        .write_stdin("a1\na2\nb1\nb2\nc1\nc2\nd1\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "JOB\na1\na2\nb1\nb2\nJOB\nc1\nc2\nJOB\nd1\n");
}
