//! Behaviours of GNU parallel that its tutorial and examples show and a
//! user's scripts may count on: the command-line length it fills, how it
//! spreads the last command over the job slots, and its small options.

use crate::util::{ppool, stderr_of, stdout_of};

/// The number of words on each line of `text`.
fn words_per_line(text: &str) -> Vec<usize> {
    text.lines().map(|l| l.split_whitespace().count()).collect()
}

fn numbers(count: usize) -> String {
    (1..=count).map(|n| format!("{n}\n")).collect()
}

#[cfg(target_os = "linux")]
#[test]
fn m_fills_gnu_parallels_line_and_spreads_the_last_command_over_the_slots() {
    // GNU parallel 20221122: `seq 30000 | parallel -k -j4 -m echo`.
    let output = ppool()
        .args(["imap", "-j4", "-m", "echo"])
        .write_stdin(numbers(30_000))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    assert_eq!(words_per_line(&stdout), [12460, 10609, 1733, 1733, 1733, 1732]);
    assert_eq!(stdout.lines().next().map(str::len), Some(63653));
}

#[cfg(target_os = "linux")]
#[test]
fn long_xargs_fills_each_line_and_does_not_spread() {
    // GNU parallel's --xargs is -m without the spreading.
    let output = ppool()
        .args(["imap", "-j4", "--xargs", "echo", "x{}y"])
        .write_stdin(numbers(30_000))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    assert_eq!(words_per_line(&stdout), [12460, 10609, 6931]);
    assert!(stdout.starts_with("x1 2 3 "), "{}", &stdout[..20]);
}

#[test]
fn the_last_command_is_spread_even_after_full_ones() {
    // Lines of at most 20 bytes (`echo` and 5 two-byte numbers): 1..9
    // make two full commands, the rest is spread over the 2 slots.
    let output = ppool()
        .args(["imap", "-j2", "-m", "--max-chars", "20", "echo"])
        .write_stdin(numbers(12))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "1 2 3 4 5 6 7\n8 9 10\n11 12\n");
}

#[cfg(target_os = "linux")]
#[test]
fn max_line_length_allowed_prints_gnu_parallels_probed_limit() {
    let output = ppool()
        .args(["unordered", "--max-line-length-allowed"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "130329\n");
}

#[test]
fn record_env_writes_the_names_of_the_variables_set_now() {
    let home = tempfile::tempdir().unwrap();
    let output = ppool()
        .args(["unordered", "--record-env"])
        .env("HOME", home.path())
        .env_remove("PARALLEL_HOME")
        .env("PPOOL_RECORDED_HERE", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "");
    let names = std::fs::read_to_string(home.path().join(".parallel/ignored_vars")).unwrap();
    let names: Vec<&str> = names.lines().collect();
    assert!(names.contains(&"PPOOL_RECORDED_HERE"), "{names:?}");
    assert!(names.contains(&"HOME"), "{names:?}");
    // Only names: no value is written.
    assert!(names.iter().all(|n| !n.contains('=')), "{names:?}");
}

#[test]
fn v_prints_each_command_on_stdout_before_its_output() {
    let output = ppool()
        .args(["imap", "-v", "echo", ":::", "a", "b c"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    // GNU parallel 20221122: `parallel -k -v echo ::: a 'b c'`.
    assert_eq!(stdout_of(&output), "echo a\na\necho 'b c'\nb c\n");
    assert_eq!(stderr_of(&output), "");
    // With a tag, the command line is tagged too; -vv is -v.
    let output = ppool()
        .args(["imap", "-vv", "--tag", "-s", "echo {}; echo x >&2", ":::", "a"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "a\techo a; echo x >&2\na\ta\n");
    assert_eq!(stderr_of(&output), "a\tx\n");
}

#[test]
fn v_with_dry_run_prints_each_command_once() {
    let output = ppool()
        .args(["imap", "-vv", "--dry-run", "echo", ":::", "A", "B"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "echo A\necho B\n");
}

#[test]
fn v_where_the_command_cannot_go_before_the_output_is_a_usage_error() {
    for args in [
        &["unordered", "-v", "--lb", "echo", ":::", "a"][..],
        &["apply", "-v", "echo", "a"],
    ] {
        let output = ppool().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(255), "{args:?}");
        assert!(
            stderr_of(&output).starts_with("ppool: "),
            "{args:?}: {}",
            stderr_of(&output)
        );
        assert_eq!(stdout_of(&output), "", "{args:?}");
    }
    // --lb is GNU parallel's short name of --line-buffer.
    let output = ppool()
        .args(["unordered", "--lb", "echo", ":::", "a"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "a\n");
}

#[test]
fn retry_failed_runs_the_failed_command_lines_of_the_job_log_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let first = ppool()
        .args(["imap", "-j1", "--joblog"])
        .arg(&log)
        .args(["-s", "echo {}; exit {}", ":::", "0", "1", "0", "2"])
        .output()
        .unwrap();
    assert_eq!(first.status.code(), Some(2), "{}", stderr_of(&first));
    // The command and input are the log's: none is given. One slot, so
    // that the log's lines come in the order of the tasks.
    let again = ppool()
        .args(["imap", "-j1", "--retry-failed", "--joblog"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", stderr_of(&again));
    assert_eq!(stdout_of(&again), "1\n2\n");
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!("{} {} {}", f[0], f[6], f[8])
        })
        .collect();
    assert_eq!(
        lines,
        [
            "1 0 echo 0; exit 0",
            "2 1 echo 1; exit 1",
            "3 0 echo 0; exit 0",
            "4 2 echo 2; exit 2",
            "2 1 echo 1; exit 1",
            "4 2 echo 2; exit 2",
        ]
    );
    // No log yet: nothing to retry.
    let none = ppool()
        .args(["imap", "--retry-failed", "--joblog"])
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert!(none.status.success(), "{}", stderr_of(&none));
    assert_eq!(stdout_of(&none), "");
    // A command or input besides is a usage error.
    let both = ppool()
        .args(["imap", "--retry-failed", "--joblog"])
        .arg(&log)
        .args(["echo", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(255));
    assert!(
        stderr_of(&both).starts_with("ppool: --retry-failed"),
        "{}",
        stderr_of(&both)
    );
}
