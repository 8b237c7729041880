//! Trying to break ppool: bad input, large and binary output, soak runs.
//! Heavy tests are `#[ignore]`d; `.ci/run` runs them with bounded sizes.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::util::*;

/// The `seq` values of a `--output json` run.
fn seqs(stdout: &[u8]) -> Vec<u64> {
    json_lines(stdout).iter().map(|l| l["seq"].as_u64().unwrap()).collect()
}

#[test]
fn every_record_yields_exactly_one_result_whatever_happens_to_it() {
    // Good JSON, bad JSON, a missing field, a failing task, a missing program.
    let input =
        "{\"p\":\"echo\",\"v\":1}\n{bad\n{\"p\":\"echo\"}\n{\"p\":\"false\",\"v\":2}\n{\"p\":\"nope-ppool\",\"v\":3}\n";
    for mode in ["map", "imap", "unordered"] {
        let out = ppool()
            .args([mode, "--json", "--output", "json", "-j3", "{p}", "{v}"])
            .write_stdin(input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{mode}: {}", stderr_of(&out));
        let mut got = seqs(&out.stdout);
        got.sort_unstable();
        assert_eq!(got, [1, 2, 3, 4, 5], "{mode}");
    }
}

/// Started with stdin, stdout or stderr closed, ppool runs as if each were
/// /dev/null: no pipe or file it opens takes their place.
#[test]
fn closed_standard_streams_act_as_dev_null() {
    let bin = crate::util::bin();
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
        "$0" imap -j2 sh -c 'echo out-{}; echo err-{} >&2' ::: a b c >&-
        echo "closed stdout: $?"
        "$0" imap echo <&-
        echo "closed stdin: $?"
        "$0" imap --joblog log sh -c 'echo out-{}; echo err-{} >&2' ::: a b 2>&-
        echo "closed stderr: $?"
    "#;
    // Were a closed stdin's number taken by a pipe, ppool would read that.
    let out = assert_cmd::Command::new("sh")
        .current_dir(dir.path())
        .args(["-c", script])
        .arg(&bin)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(
        stdout_of(&out),
        "closed stdout: 255\nclosed stdin: 0\nout-a\nout-b\nclosed stderr: 0\n",
        "{}",
        stderr_of(&out)
    );
    // A closed stdout is refused before any task runs; only that run had a stderr.
    assert!(
        stderr_of(&out).starts_with("ppool: stdout is closed: "),
        "{}",
        stderr_of(&out)
    );
    assert!(!stderr_of(&out).contains("err-a"), "{}", stderr_of(&out));
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
}

/// The numbers of closed standard streams are held by /dev/null for the
/// whole run, whatever ppool opens.
#[test]
fn closed_standard_streams_are_reopened_on_dev_null() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("sh")
        .current_dir(dir.path())
        .args([
            "-c",
            r#"exec "$0" unordered sh -c 'touch started; sleep 30' ::: a <&- >/dev/null 2>&-"#,
        ])
        .arg(crate::util::bin())
        .spawn()
        .unwrap();
    assert!(wait_for_file(&dir.path().join("started"), Duration::from_secs(10)));
    let streams: Vec<String> = (0..3)
        .map(|fd| {
            let link = std::fs::read_link(format!("/proc/{}/fd/{fd}", child.id()));
            link.map(|p| p.display().to_string()).unwrap_or_default()
        })
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(streams, ["/dev/null"; 3]);
}

#[test]
fn a_directory_as_arg_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = ppool()
        .arg("imap")
        .arg("-a")
        .arg(dir.path())
        .arg("echo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(
        stderr_of(&out).contains(&dir.path().display().to_string()),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn conflicting_flags_are_usage_errors() {
    for args in [
        &["imap", "--colsep", ",", "--json", "echo"][..],
        &["imap", "-a", "x", "echo", ":::", "a"],
        &["imap", "--line-buffer", "echo"],
        &["unordered", "--line-buffer", "--output", "json", "echo"],
        &["unordered", "--line-buffer", "--builtin", "echo"],
        &["imap", "--resume", "echo"],
        &["imap", "--shell", "--builtin", "echo"],
    ] {
        let out = ppool().args(args).write_stdin("").output().unwrap();
        assert_eq!(out.status.code(), Some(255), "{args:?}");
        assert!(stderr_of(&out).starts_with("ppool: "), "{args:?}");
    }
}

#[test]
fn a_hundred_megabyte_line_is_one_record_and_fails_clearly() {
    let mut line = vec![b'a'; 100_000_000];
    line.push(b'\n');
    line.extend_from_slice(b"short\n");
    let out = ppool()
        .args(["imap", "--output", "json", "echo"])
        .write_stdin(line)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0]["stderr"].as_str().unwrap().contains("too long"),
        "{}",
        lines[0]["stderr"]
    );
    assert_eq!(lines[1]["stdout"], "short\n");
}

#[test]
fn a_template_error_fails_only_its_task() {
    let out = ppool()
        .args(["imap", "echo", "{3}", ":::", "a", ":::", "b"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr_of(&out).contains("{3}"), "{}", stderr_of(&out));
}

#[test]
fn binary_output_with_nul_bytes_passes_through_byte_for_byte() {
    let out = ppool()
        .args([
            "imap",
            "-j2",
            "sh",
            "-c",
            "printf 'a\\000b\\377\\n'; head -c 3000000 /dev/zero; echo {}",
            ":::",
            "x",
            "y",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut one = b"a\0b\xff\n".to_vec();
    one.extend(std::iter::repeat_n(0u8, 3_000_000));
    let mut expected = one.clone();
    expected.extend_from_slice(b"x\n");
    expected.extend_from_slice(&one);
    expected.extend_from_slice(b"y\n");
    assert!(out.stdout == expected, "output differs");
}

#[test]
fn large_output_spills_to_an_unlinked_file_and_leaves_no_file_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The task waits for `go` after writing 5 MB, so the spill exists
    // meanwhile. `map`: an `imap` task in its turn would pass its output
    // straight to the unread stdout instead.
    let script = "head -c 5000000 /dev/zero; touch written; i=0; while [ ! -e go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done";
    let child = ppool_std()
        .env("TMPDIR", tmp.path())
        .current_dir(dir.path())
        .args(["map", "sh", "-c", script, ":::", "x"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for_file(&dir.path().join("written"), Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "a spill file has a name"
    );
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.stdout.len(), 5_000_000);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// `sha256sum` of what a shell pipeline prints.
fn sha256_of(pipeline: &str) -> String {
    let out = std::process::Command::new("bash")
        .args(["-c", &format!("{pipeline} | sha256sum")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn big_output_round_trip(bytes: u64) {
    let ppool = crate::util::bin();
    let source = format!("yes 0123456789abcdef | head -c {bytes}");
    let through = sha256_of(&format!("'{}' imap -s '{source}; : {{}}' ::: x", ppool.display()));
    assert_eq!(through, sha256_of(&source));
}

/// Results over the in-memory limit that wait for their turn (all of
/// `map`'s; `imap`'s behind a slow first task) share one file: 40 of them
/// fit in 32 descriptors, and each comes out whole and in order.
#[test]
fn many_large_waiting_results_need_few_descriptors() {
    const SIZE: usize = 1_200_000;
    let expected: String = (1..=40)
        .map(|i| {
            let mut out = format!("{i}\n").repeat(SIZE / 2);
            out.truncate(SIZE);
            out
        })
        .collect();
    let bin = crate::util::bin();
    for mode in ["map", "imap"] {
        let script = format!(
            r#"ulimit -n 32; exec "$0" {mode} -j2 -s '[ {{}} = 1 ] && sleep 1; yes {{}} | head -c {SIZE}' ::: $(seq 40)"#
        );
        let out = assert_cmd::Command::new("sh")
            .args(["-c", &script])
            .arg(&bin)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(out.status.success(), "{mode}: {}", stderr_of(&out));
        assert!(out.stdout == expected.as_bytes(), "{mode}: output differs");
    }
}

#[test]
fn a_hundred_megabyte_task_output_is_unchanged() {
    big_output_round_trip(100_000_000);
}

#[test]
#[ignore = "heavy: 1 GB through a pipe; run by .ci/run"]
fn a_gigabyte_task_output_is_unchanged() {
    big_output_round_trip(1_000_000_000);
}

/// Open descriptors and resident memory of a running process.
fn fds_and_rss(pid: u32) -> Option<(usize, u64)> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((fds, rss))
}

/// Tasks fail, time out and succeed after retries at random; every task
/// must yield exactly one result, and descriptors and memory stay flat.
fn soak(tasks: u64) {
    let dir = tempfile::tempdir().unwrap();
    // Record n: n%7==0 fails, n%97==0 times out, n%5==0 fails once then succeeds.
    let script = "n={}; if [ $((n % 7)) = 0 ]; then exit 3; fi; \
                  if [ $((n % 97)) = 0 ]; then sleep 30; fi; \
                  if [ $((n % 5)) = 0 ] && [ ! -e r$n ]; then : > r$n; exit 1; fi; echo $n";
    let input: String = (1..=tasks).map(|n| format!("{n}\n")).collect();
    let input_file = dir.path().join("input");
    std::fs::write(&input_file, input).unwrap();
    let mut child = ppool_std()
        .current_dir(dir.path())
        .arg("unordered")
        .arg("-a")
        .arg(&input_file)
        .args([
            "-j4",
            "--retries",
            "1",
            "--timeout",
            "2s",
            "--grace",
            "100ms",
            "--output",
            "json",
        ])
        .args(["sh", "-c", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        std::io::Read::read_to_end(&mut { stdout }, &mut all).unwrap();
        all
    });
    let pid = child.id();
    let mut samples = Vec::new();
    let start = Instant::now();
    while let Some(sample) = fds_and_rss(pid) {
        samples.push(sample);
        if child.try_wait().unwrap().is_some() || start.elapsed() > Duration::from_secs(600) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().unwrap();
    let stdout = reader.join().unwrap();
    let results = json_lines(&stdout);
    let got: BTreeSet<u64> = results.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(results.len() as u64, tasks, "not exactly one result per task");
    assert_eq!(got, (1..=tasks).collect());
    let expect_failed = (1..=tasks).filter(|n| n % 7 == 0 || n % 97 == 0).count() as i32;
    assert_eq!(status.code(), Some(expect_failed.min(101)));
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    let summary = format!("ppool: {expect_failed} of {tasks} tasks failed:");
    assert!(stderr.starts_with(&summary), "{stderr}");
    for r in &results {
        let n = r["seq"].as_u64().unwrap();
        let want = if n % 7 == 0 {
            "failed"
        } else if n % 97 == 0 {
            "timeout"
        } else {
            "ok"
        };
        assert_eq!(r["status"], want, "task {n}");
        if n % 5 == 0 && want == "ok" {
            assert_eq!(r["attempts"], 2, "task {n}");
        }
    }
    let max_fds = samples.iter().map(|s| s.0).max().unwrap_or(0);
    assert!(max_fds < 40, "descriptors grew to {max_fds}");
    // Memory does not grow with the task count: the second half of the run
    // stays within a few MB of the first half's peak.
    if samples.len() >= 10 {
        let half = samples.len() / 2;
        let first = samples[..half].iter().map(|s| s.1).max().unwrap();
        let second = samples[half..].iter().map(|s| s.1).max().unwrap();
        assert!(second < first + 8 * 1024, "RSS grew from {first} kB to {second} kB");
    }
    assert!(wait_gone(&dir.path().display().to_string(), Duration::from_secs(5)).is_empty());
}

#[test]
fn soak_small() {
    soak(300);
}

#[test]
#[ignore = "heavy: many thousands of tasks; run by .ci/run with PPOOL_SOAK_TASKS"]
fn soak_large() {
    let tasks = std::env::var("PPOOL_SOAK_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    soak(tasks);
}

/// Kills `ppool` with SIGKILL at varying moments under `--joblog`, resuming
/// each time, until a run completes: every task has then run, no task the
/// log held at a kill ever ran again, and few others did.
#[test]
fn killed_at_random_moments_then_resumed_runs_every_task() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<String> = (1..=40).map(|n| n.to_string()).collect();
    let mark = marker("killed-resumed");
    let script = format!("sleep 0.1; echo {{}} >> results # {mark}");
    let bin = crate::util::bin();
    let logged = || -> BTreeSet<String> {
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
        log.lines()
            .skip(1)
            .filter_map(|l| l.split('\t').next())
            .map(str::to_owned)
            .collect()
    };
    let counts = || -> std::collections::HashMap<String, usize> {
        let results = std::fs::read_to_string(dir.path().join("results")).unwrap_or_default();
        let mut counts = std::collections::HashMap::new();
        for line in results.lines() {
            *counts.entry(line.to_owned()).or_insert(0usize) += 1;
        }
        counts
    };
    // Delays vary from run to run of the suite, and between kills.
    let mut seed = std::process::id() as u64;
    let mut kills = 0;
    // At each kill: the tasks the log held, and how often each had run.
    let mut snapshots = Vec::new();
    for round in 0..30 {
        let mut child = std::process::Command::new(&bin)
            .current_dir(dir.path())
            .args([
                "unordered",
                "-j3",
                "--joblog",
                "log",
                "--resume",
                "sh",
                "-c",
                &script,
                ":::",
            ])
            .args(&records)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(150 + (seed >> 33) % 400);
        std::thread::sleep(delay);
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "round {round}: {status:?}");
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        // Tasks of a SIGKILLed ppool run on to their end.
        let left = wait_gone(&mark, Duration::from_secs(30));
        assert!(left.is_empty(), "tasks still running: {left:?}");
        let now = logged();
        if let Some((before, _)) = snapshots.last() {
            assert!(now.is_superset(before), "the log lost entries");
        }
        snapshots.push((now, counts()));
    }
    let done = ppool()
        .current_dir(dir.path())
        .args(["unordered", "--joblog", "log", "--resume", "sh", "-c", &script, ":::"])
        .args(&records)
        .output()
        .unwrap();
    assert!(done.status.success());
    let end = counts();
    for record in &records {
        let n = end.get(record).copied().unwrap_or(0);
        assert!(n >= 1, "record {record} never ran");
        // A task runs at most once per run of ppool.
        assert!(n <= 1 + kills, "record {record} ran {n} times over {kills} kills");
    }
    for (k, (held, then)) in snapshots.iter().enumerate() {
        for record in held {
            assert_eq!(
                end.get(record),
                then.get(record),
                "record {record}, logged by kill {k}, ran again"
            );
        }
    }
    // A slot logs its task before it takes the next, and the guard stops the
    // tasks in flight: a kill repeats at most the one task per slot that had
    // done its work and was not logged yet.
    let reruns: usize = end.values().map(|n| n - 1).sum();
    assert!(reruns <= kills * 3, "{reruns} re-runs over {kills} kills at -j3");
}

#[test]
fn invalid_records_fail_alike_whatever_runs_the_tasks() {
    let runners: [&[&str]; 3] = [&["echo"], &["--builtin", "echo"], &["--worker", "cat"]];
    for runner in runners {
        let out = ppool()
            .args(["imap", "--json", "--output", "json"])
            .args(runner)
            .write_stdin("\"a\"\n{bad\n\"c\"\n")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{runner:?}");
        let results = json_lines(&out.stdout);
        assert_eq!(seqs(&out.stdout), [1, 2, 3], "{runner:?}");
        assert_eq!(results[1]["status"], "invalid-input", "{runner:?}");
        assert!(
            results[1]["stderr"].as_str().unwrap().contains("line 2, column 2"),
            "{runner:?}"
        );
        assert_eq!(results[2]["stdout"], "c\n", "{runner:?}");
    }
}

/// A timed-out task's group goes with it: a process of the group that is
/// still ending when its leader has been reaped (here a TERM trap that
/// takes half a second) is waited for, so it does not outlive ppool.
#[test]
fn a_stopped_task_s_group_is_gone_before_ppool_exits() {
    let mark = marker("group-end");
    // The subshell keeps the mark ($0) in its command line.
    let script = "(trap 'sleep 0.5; exit 0' TERM; sleep 30 & wait) >/dev/null 2>&1 & exec sleep 30";
    let out = ppool()
        .args([
            "unordered",
            "--timeout",
            "1s",
            "--grace",
            "5s",
            "sh",
            "-c",
            script,
            ":::",
            &mark,
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("timed out"), "{}", stderr_of(&out));
    let left = processes_with(&mark);
    assert!(left.is_empty(), "processes of the task outlived ppool: {left:?}");
}
