//! Resource limits and extreme option values: fewer slots or a clear error,
//! never a panic, a hang or an absurd allocation; JSON numbers kept exact.

use std::time::Duration;

use crate::util::{ppool, stderr_of, stdout_of};

/// Generous: a hang is what these tests catch, not slowness.
const LIMIT: Duration = Duration::from_secs(30);

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.sort();
    lines
}

#[test]
fn a_huge_jobs_count_runs_only_the_slots_the_input_needs() {
    for jobs in ["4000000000", "1000000"] {
        let out = ppool()
            .args(["unordered", "-j", jobs, "echo", ":::", "a", "b"])
            .timeout(LIMIT)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "-j {jobs}: {}", stderr_of(&out));
        assert_eq!(sorted_lines(&stdout_of(&out)), ["a", "b"]);
    }
}

#[test]
fn a_huge_jobs_count_with_stdin_input() {
    let input: String = (1..=50).map(|n| format!("{n}\n")).collect();
    let expected: Vec<String> = (1..=50).map(|n| n.to_string()).collect();
    for jobs in ["4000000000", "1000000"] {
        let out = ppool()
            .args(["imap", "-j", jobs, "echo"])
            .write_stdin(input.clone())
            .timeout(LIMIT)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "-j {jobs}: {}", stderr_of(&out));
        assert_eq!(stdout_of(&out).lines().collect::<Vec<_>>(), expected);
    }
}

#[test]
fn a_huge_jobs_count_with_builtins_and_workers() {
    let out = ppool()
        .args(["unordered", "-j", "4000000000", "--builtin", "echo", ":::", "a", "b"])
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(sorted_lines(&stdout_of(&out)), ["a", "b"]);
    let out = ppool()
        .args([
            "imap",
            "-j",
            "4000000000",
            "--worker",
            "while read l; do echo w$l; done",
        ])
        .write_stdin("1\n2\n3\n")
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "w1\nw2\nw3\n");
}

#[test]
fn huge_durations_mean_never() {
    let out = ppool()
        .args([
            "imap",
            "--timeout",
            "9223372036854775807s",
            "--grace",
            "1e300",
            "echo",
            ":::",
            "a",
        ])
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "a\n");
    // Too long for any number type: "never" as well, not an error.
    for (option, value) in [
        ("--timeout", "999999999999y"),
        ("--grace", "1e400"),
        ("--timeout", "18446744073709551616ms"),
        ("--delay", "1e400"),
    ] {
        let mut args = vec!["imap", option, value, "echo", ":::", "a"];
        if option == "--delay" {
            // One task: the delay is only between starts.
            args.truncate(6);
        }
        let out = ppool().args(&args).timeout(LIMIT).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{option} {value}: {}", stderr_of(&out));
        assert_eq!(stdout_of(&out), "a\n", "{option} {value}");
    }
}

#[test]
fn a_zero_timeout_is_no_limit_and_a_negative_one_is_refused_with_the_reason() {
    let out = ppool()
        .args(["imap", "--timeout", "0", "sh", "-c", "sleep 0.3; echo ok", ":::", "a"])
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "ok\n");
    for option in ["--timeout", "--grace", "--delay"] {
        let out = ppool()
            .args(["imap", option, "-1", "echo", ":::", "a"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255), "{option}");
        let err = stderr_of(&out);
        assert!(
            err.contains("must be a non-negative number of seconds"),
            "{option}: {err}"
        );
    }
}

#[test]
fn a_full_stderr_does_not_change_the_exit_status() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let status = crate::util::ppool_std()
        .args(["unordered", "false", ":::", "a"])
        .stdout(std::process::Stdio::null())
        .stderr(full)
        .status()
        .unwrap();
    // One failed task: 1, not a panic's status.
    assert_eq!(status.code(), Some(1));
}

#[test]
fn json_numbers_pass_through_as_written() {
    let out = ppool()
        .args(["imap", "--json", "echo", "{}"])
        .write_stdin("123456789012345678901234567890\n-0\n1e400\n")
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "123456789012345678901234567890\n-0\n1e400\n");
    let out = ppool()
        .args(["imap", "--json", "echo", "{n}", "{a.1}"])
        .write_stdin("{\"n\": 123456789012345678901234567890, \"a\": [1, -0.0]}\n")
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "123456789012345678901234567890 -0.0\n");
    let out = ppool()
        .args(["imap", "--json", "--output", "json", "echo", "{}"])
        .write_stdin("123456789012345678901234567890\n")
        .timeout(LIMIT)
        .output()
        .unwrap();
    let objects = crate::util::json_lines(&out.stdout);
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0]["stdout"], "123456789012345678901234567890\n");
    assert_eq!(objects[0]["exit_code"], 0);
}

/// Held by each test that runs as `nobody` under a limit: a process limit
/// counts every process of the user, so two such tests at once would take
/// each other's room.
static NOBODY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs ppool as `nobody` under a process limit; None where that cannot be
/// arranged (not root, no setpriv or prlimit).
fn as_nobody_with_nproc(nproc: u32, args: &[&str]) -> Option<std::process::Output> {
    as_nobody_with(&format!("--nproc={nproc}"), args)
}

/// Runs ppool as `nobody`, one such run at a time (see [`NOBODY`]), under
/// the limit `prlimit` sets with `limit`
/// (`--nofile=64`); None, after a SKIP line, where that cannot be arranged
/// (not root, no setpriv or prlimit).
fn as_nobody_with(limit: &str, args: &[&str]) -> Option<std::process::Output> {
    let _alone = NOBODY.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("SKIP: not root, cannot run as nobody under {limit}");
        return None;
    }
    let found = |tool: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !found("setpriv") || !found("prlimit") {
        eprintln!("SKIP: no setpriv or prlimit to run under {limit}");
        return None;
    }
    let mut command = assert_cmd::Command::new("prlimit");
    command
        .arg(limit)
        .args(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(crate::util::bin())
        .args(args)
        .current_dir("/")
        .timeout(LIMIT);
    Some(command.output().unwrap())
}

#[test]
fn a_process_limit_gives_fewer_slots_not_a_panic() {
    let inputs: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    let mut args = vec!["imap", "-j", "50", "echo", ":::"];
    args.extend(inputs.iter().map(String::as_str));
    let Some(out) = as_nobody_with_nproc(14, &args) else {
        return;
    };
    let stderr = stderr_of(&out);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The limit counts every process of `nobody` on the machine, so what
    // is left for this run varies: it completes with fewer slots, or says
    // at once that it cannot run at all.
    match out.status.code() {
        Some(0) => {
            assert_eq!(stdout_of(&out).lines().collect::<Vec<_>>(), inputs);
            assert!(stderr.contains("ppool: warning: only "), "{stderr}");
        }
        Some(255) => assert!(stderr.starts_with("ppool: "), "{stderr}"),
        other => panic!("exit {other:?}: {stderr}"),
    }
}

#[test]
fn a_stop_at_the_process_limit_is_a_stop_not_a_panic() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        println!("SKIP: needs root to run as nobody under a process limit");
        return;
    }
    let _alone = NOBODY.lock().unwrap_or_else(|e| e.into_inner());
    let sleeps: Vec<String> = (0..60).map(|_| "0.2".to_owned()).collect();
    // prlimit and setpriv exec what they run: the child is ppool itself.
    let Ok(child) = std::process::Command::new("prlimit")
        .arg("--nproc=5")
        .args(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(crate::util::bin())
        .args(["unordered", "-j", "50", "sleep", ":::"])
        .args(&sleeps)
        .current_dir("/")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        println!("SKIP: prlimit or setpriv is missing");
        return;
    };
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.starts_with("setpriv: failed to execute") {
        // Other processes of `nobody` (a test beside this one) took the room.
        println!("SKIP: nobody's process limit was reached before ppool started");
        return;
    }
    assert!(
        !stderr.contains("internal error") && !stderr.contains("panicked"),
        "{stderr}"
    );
    // Stopped (143), or it could not start at all (255); never a panic's 254.
    assert!(
        matches!(out.status.code(), Some(143 | 255)),
        "{:?}: {stderr}",
        out.status
    );
}

#[test]
fn a_descriptor_limit_gives_fewer_slots_and_runs_every_task() {
    let inputs: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    for jobs in ["50", "0"] {
        let mut args = vec!["unordered", "-j", jobs, "sh", "-c", "echo {}", ":::"];
        args.extend(inputs.iter().map(String::as_str));
        let Some(out) = as_nobody_with("--nofile=64", &args) else {
            return;
        };
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(0), "-j {jobs}: {stderr}");
        assert_eq!(
            sorted_lines(&stdout_of(&out)),
            sorted_lines(&inputs.join("\n")),
            "-j {jobs}"
        );
        // -j 50 is lowered, with a word; -j 0 asked for what fits.
        if jobs == "50" {
            assert!(
                stderr.starts_with("ppool: warning: running ") && stderr.contains("descriptor limit (`ulimit -n` 64"),
                "{stderr}"
            );
        } else {
            assert_eq!(stderr, "");
        }
    }
}

#[test]
fn a_descriptor_limit_with_spilled_output_loses_nothing() {
    // Each task's stdout passes the in-memory limit: its spill file takes
    // a descriptor too.
    let inputs: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    let mut args = vec![
        "imap",
        "-j",
        "50",
        "sh",
        "-c",
        "head -c 1500000 /dev/zero; echo {}",
        ":::",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let Some(out) = as_nobody_with("--nofile=64", &args) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(
        out.stdout.len(),
        12 * 1_500_000 + inputs.iter().map(|i| i.len() + 1).sum::<usize>()
    );
}

#[test]
fn a_descriptor_limit_without_room_for_a_slot_is_an_error() {
    let Some(out) = as_nobody_with("--nofile=16", &["unordered", "-j", "4", "echo", ":::", "a", "b"]) else {
        return;
    };
    let stderr = stderr_of(&out);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.starts_with("ppool: ") && stderr.contains("ulimit -n"),
        "{stderr}"
    );
}

#[test]
fn an_address_space_limit_gives_fewer_slots_or_an_error_never_an_abort() {
    // Four tasks printing 3 MB each: complete output, or a clear error
    // where not one slot fits; never an allocation failure's abort (134).
    let args = [
        "imap",
        "-j",
        "4",
        "sh",
        "-c",
        "head -c 3000000 /dev/zero",
        ":::",
        "1",
        "2",
        "3",
        "4",
    ];
    for mib in [20u64, 24, 28, 32, 48, 100] {
        let Some(out) = as_nobody_with(&format!("--as={}", mib << 20), &args) else {
            return;
        };
        let stderr = stderr_of(&out);
        match out.status.code() {
            Some(0) => assert_eq!(out.stdout.len(), 12_000_000, "--as {mib} MiB: {stderr}"),
            Some(255) => assert!(
                stderr.starts_with("ppool: ") && stderr.contains("ulimit -v"),
                "--as {mib} MiB: {stderr}"
            ),
            other => panic!("--as {mib} MiB: exit {other:?}: {stderr}"),
        }
        assert!(!stderr.contains("memory allocation"), "--as {mib} MiB: {stderr}");
    }
}
