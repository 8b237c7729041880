//! `--halt`, `-j` forms and `-r` as GNU parallel and xargs spell them;
//! compared with the real `parallel` where it is installed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{ppool, ppool_std, stderr_of, stdout_of, wait_for_file};

/// GNU parallel, when installed; `None` (after a SKIP line) when not.
fn gnu_parallel() -> Option<&'static str> {
    let found = Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).contains("GNU parallel"));
    if !found {
        println!("SKIP: GNU parallel is not installed");
    }
    found.then_some("parallel")
}

/// One task at a time, each `echo`ing its record and exiting with it:
/// stdout and exit status.
fn ppool_run(halt: &str, records: &[&str]) -> (String, i32) {
    let out = ppool()
        .args(["imap", "-j1", "--halt", halt, "-s", "echo {}; exit {}", ":::"])
        .args(records)
        .output()
        .unwrap();
    (stdout_of(&out), out.status.code().unwrap_or(-1))
}

fn gnu_run(parallel: &str, halt: &str, records: &[&str]) -> (String, i32) {
    let out = Command::new(parallel)
        .args(["--will-cite", "-j1", "--halt", halt, "echo {}; exit {}", ":::"])
        .args(records)
        .output()
        .unwrap();
    (stdout_of(&out), out.status.code().unwrap_or(-1))
}

/// Each `--halt` form, with the exit statuses GNU parallel gives.
const CASES: &[(&str, &[&str], &str, i32)] = &[
    ("now,fail=1", &["0", "7", "9", "0"], "0\n7\n", 7),
    ("soon,fail=1", &["0", "7", "9", "0"], "0\n7\n", 7),
    ("2", &["0", "7", "9", "0"], "0\n7\n", 7),
    ("now,fail=2", &["0", "7", "0", "9", "0"], "0\n7\n0\n9\n", 2),
    ("soon,fail=2", &["7", "0", "9", "0"], "7\n0\n9\n", 2),
    ("now,success=1", &["5", "0", "6"], "5\n0\n", 0),
    // GNU's old spellings, given as a separate word: -1 is soon,success=1.
    ("-1", &["5", "0", "6"], "5\n0\n", 0),
    ("-2", &["5", "0", "6"], "5\n0\n", 0),
    ("now,success=2", &["5", "0", "6"], "5\n0\n6\n", 2),
    ("now,done=1", &["4", "0"], "4\n", 4),
    ("now,done=3", &["0", "5", "6", "0"], "0\n5\n6\n", 2),
    (
        "now,fail=20%",
        &["0", "5", "0", "0", "0", "0", "0", "0", "0", "0"],
        "0\n5\n0\n0\n0\n0\n0\n0\n0\n0\n",
        10,
    ),
    ("now,done=50%", &["3", "0", "0", "0"], "3\n0\n", 25),
    // 25% of 4 tasks is one task: the status of the task that reached it.
    ("now,fail=25%", &["0", "3", "0", "0"], "0\n3\n", 3),
    ("soon,success=50%", &["3", "0", "0", "0"], "3\n0\n0\n", 0),
    ("never", &["0", "3", "4"], "0\n3\n4\n", 2),
];

#[test]
fn each_halt_form_stops_and_exits_as_listed() {
    for (halt, records, stdout, code) in CASES {
        assert_eq!(ppool_run(halt, records), (stdout.to_string(), *code), "--halt {halt}");
    }
}

/// Starts GNU parallel once per form: heavy on a loaded machine.
#[test]
#[ignore]
fn each_halt_form_matches_gnu_parallel() {
    let Some(parallel) = gnu_parallel() else {
        return;
    };
    for (halt, records, _, _) in CASES {
        assert_eq!(
            ppool_run(halt, records),
            gnu_run(parallel, halt, records),
            "--halt {halt}"
        );
    }
}

#[test]
fn a_halt_says_why_and_fail_fast_is_now_fail_1() {
    let out = ppool()
        .args([
            "imap",
            "-j1",
            "--halt",
            "soon,fail=2",
            "-s",
            "exit {}",
            ":::",
            "1",
            "2",
            "3",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.ends_with("ppool: started no more tasks after task 2 failed (--halt soon,fail=2)\n"),
        "{err}"
    );
    // The last of --fail-fast, --collect-errors and --halt counts.
    ppool()
        .args([
            "imap",
            "-j1",
            "--halt",
            "now,fail=1",
            "--collect-errors",
            "-s",
            "exit {}",
            ":::",
            "1",
            "2",
        ])
        .assert()
        .code(2);
    ppool()
        .args([
            "imap",
            "-j1",
            "--collect-errors",
            "--halt",
            "2",
            "-s",
            "exit {}",
            ":::",
            "1",
            "2",
        ])
        .assert()
        .code(1);
}

#[test]
fn a_bad_halt_is_a_usage_error_that_shows_the_form() {
    let out = ppool().args(["imap", "--halt", "later", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(255));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("ppool: --halt later: give never, or WHEN,WHY=N"),
        "{err}"
    );
}

/// `{%}` of each task: the slots a run used.
fn slots_used(jobs: &str, tasks: usize) -> usize {
    let records: Vec<String> = (1..=tasks).map(|n| n.to_string()).collect();
    // Every task waits until all have started, so each needs its own slot
    // when the slots allow it.
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "touch {d}/{{}}; n=0; while [ $(ls {d} | wc -l) -lt {want} ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done; echo {{%}}",
        d = dir.path().display(),
        want = tasks,
    );
    let out = ppool()
        .args(["unordered", "-j", jobs, "-s", &script, ":::"])
        .args(&records)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut slots: Vec<String> = stdout_of(&out).lines().map(str::to_owned).collect();
    slots.sort();
    slots.dedup();
    slots.len()
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn jobs_as_a_share_of_the_cpus_or_plus_or_minus() {
    let tasks = cpus() + 2;
    assert_eq!(slots_used("+2", tasks), cpus() + 2);
    assert_eq!(slots_used("-100", tasks), 1);
    assert_eq!(slots_used("200%", tasks), (2 * cpus()).min(tasks));
    assert_eq!(slots_used("0", 5), 5);
}

#[test]
fn jobs_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs");
    std::fs::write(&file, "3\n").unwrap();
    assert_eq!(slots_used(file.to_str().unwrap(), 3), 3);
    std::fs::write(&file, "1\n").unwrap();
    assert_eq!(slots_used(file.to_str().unwrap(), 3), 1);
    std::fs::write(&file, "many\n").unwrap();
    let out = ppool()
        .args(["imap", "-j", file.to_str().unwrap(), "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jobs"));
}

/// `ppool unordered -j FILE` over `records`, each task `sh -c script` with
/// its record as `$1` and the test's directory as `$D`; its stdout and
/// stderr are read once it ends.
fn spawn_with_jobs_file(file: &Path, dir: &Path, script: &str, records: &[&str]) -> std::process::Child {
    ppool_std()
        .args([
            "unordered",
            "-j",
            file.to_str().unwrap(),
            "sh",
            "-c",
            script,
            "sh",
            "{}",
            ":::",
        ])
        .args(records)
        .env("D", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Writes `text` to `file` in one step, as a reader sees it.
fn replace(file: &Path, text: &str) {
    let new = file.with_extension("new");
    std::fs::write(&new, text).unwrap();
    std::fs::rename(&new, file).unwrap();
}

/// Waits (up to 10 s) for `$D/go`: the part of a task script that holds it
/// until the test has changed the jobs file.
const HOLD: &str = "n=0; while [ ! -e \"$D/go\" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done";

/// Each line of a run's stdout as `task slot …` words, by task.
fn lines_by_task(stdout: &str) -> std::collections::BTreeMap<u32, Vec<String>> {
    stdout
        .lines()
        .map(|line| {
            let mut words = line.split(' ').map(str::to_owned);
            (words.next().unwrap().parse().unwrap(), words.collect())
        })
        .collect()
}

#[test]
fn a_jobs_file_raised_during_the_run_runs_more_tasks_at_once() {
    // One slot at first. While task 1 runs, the file asks for 3 and a
    // second passes; once task 1 ends, tasks 2-4 each wait (up to 5 s)
    // until all three have started: they see 3 only when run together.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs");
    std::fs::write(&file, "1\n").unwrap();
    let script = format!(
        "if [ $1 = 1 ]; then : > \"$D/started\"; {HOLD}; echo 1 $PPOOL_SLOT; exit; fi; \
         : > \"$D/run.$1\"; n=0; \
         while [ $(ls \"$D\" | grep -c '^run') -lt 3 ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done; \
         echo $1 $PPOOL_SLOT $(ls \"$D\" | grep -c '^run')"
    );
    let child = spawn_with_jobs_file(&file, dir.path(), &script, &["1", "2", "3", "4"]);
    assert!(wait_for_file(&dir.path().join("started"), Duration::from_secs(10)));
    replace(&file, "3\n");
    // The file was last read before task 1 started.
    std::thread::sleep(Duration::from_millis(1200));
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let tasks = lines_by_task(&stdout_of(&out));
    assert_eq!(tasks[&1], ["1"]);
    let mut slots = Vec::new();
    for task in 2..=4 {
        assert_eq!(tasks[&task][1], "3", "task {task} ran with fewer beside it: {tasks:?}");
        slots.push(tasks[&task][0].clone());
    }
    slots.sort();
    assert_eq!(slots, ["1", "2", "3"]);
}

#[test]
fn a_jobs_file_lowered_during_the_run_runs_fewer_tasks_at_once() {
    // Three slots at first, all busy with tasks 1-3; the file asks for one
    // and a second passes before they end: tasks 4-7 run on slot 1 only.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs");
    std::fs::write(&file, "3\n").unwrap();
    let script = format!("if [ $1 -le 3 ]; then : > \"$D/run.$1\"; {HOLD}; fi; echo $1 $PPOOL_SLOT");
    let child = spawn_with_jobs_file(&file, dir.path(), &script, &["1", "2", "3", "4", "5", "6", "7"]);
    for task in 1..=3 {
        assert!(wait_for_file(
            &dir.path().join(format!("run.{task}")),
            Duration::from_secs(10)
        ));
    }
    replace(&file, "1\n");
    std::thread::sleep(Duration::from_millis(1200));
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let tasks = lines_by_task(&stdout_of(&out));
    let mut first: Vec<&str> = (1..=3).map(|task| tasks[&task][0].as_str()).collect();
    first.sort();
    assert_eq!(first, ["1", "2", "3"]);
    for task in 4..=7 {
        assert_eq!(tasks[&task], ["1"], "task {task}: {tasks:?}");
    }
}

#[test]
fn a_jobs_file_that_goes_bad_during_the_run_keeps_its_last_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jobs");
    std::fs::write(&file, "2\n").unwrap();
    let script = format!("if [ $1 -le 2 ]; then : > \"$D/run.$1\"; {HOLD}; fi; echo $1 $PPOOL_SLOT");
    let child = spawn_with_jobs_file(&file, dir.path(), &script, &["1", "2", "3", "4", "5"]);
    for task in 1..=2 {
        assert!(wait_for_file(
            &dir.path().join(format!("run.{task}")),
            Duration::from_secs(10)
        ));
    }
    replace(&file, "many\n");
    std::thread::sleep(Duration::from_millis(1200));
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(lines_by_task(&stdout_of(&out)).len(), 5);
    let stderr = stderr_of(&out);
    assert_eq!(stderr.matches("ppool: warning: --jobs FILE:").count(), 1, "{stderr}");
    assert!(stderr.contains("holds \"many\""), "{stderr}");
}

#[test]
fn an_endless_jobs_file_is_a_usage_error_at_once() {
    let out = ppool()
        .args(["imap", "-j", "/dev/zero", "echo", ":::", "a"])
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255), "{}", stderr_of(&out));
    assert!(out.stdout.is_empty());
    let stderr = stderr_of(&out);
    assert!(stderr.starts_with("ppool: --jobs /dev/zero: "), "{stderr}");
    assert!(stderr.contains("no line end in its first 4096 bytes"), "{stderr}");
    assert!(stderr.lines().count() == 1 && stderr.len() < 300, "{stderr}");
}

#[test]
fn no_run_if_empty_is_accepted_and_runs_nothing() {
    ppool()
        .args(["map", "-r", "echo", "ran"])
        .write_stdin("")
        .assert()
        .success()
        .stdout("");
    ppool()
        .args(["map", "--no-run-if-empty", "echo"])
        .write_stdin("a\n")
        .assert()
        .success()
        .stdout("a\n");
}
