//! `--joblog`, `--resume` and `--resume-failed`.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;

const HEADER: &str = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand";

fn ppool(dir: &Path) -> Command {
    let mut cmd = Command::new(crate::util::bin());
    cmd.current_dir(dir);
    cmd
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The log's lines after the header, split into their columns.
fn rows(log: &str) -> Vec<Vec<String>> {
    let mut lines = log.lines();
    assert_eq!(lines.next(), Some(HEADER), "{log}");
    lines.map(|l| l.splitn(9, '\t').map(str::to_owned).collect()).collect()
}

fn column(rows: &[Vec<String>], seq: u64, at: usize) -> &str {
    let row = rows.iter().find(|r| r[0] == seq.to_string()).unwrap();
    &row[at]
}

#[test]
fn lines_in_gnu_parallels_format() {
    let dir = tempfile::tempdir().unwrap();
    ppool(dir.path())
        .args(["imap", "--joblog", "log", "echo", ":::", "a", "x y"])
        .assert()
        .success()
        .stdout("a\nx y\n");
    let log = read(&dir.path().join("log"));
    let rows = rows(&log);
    assert_eq!(rows.len(), 2, "{log}");
    for row in &rows {
        assert_eq!(row.len(), 9, "{row:?}");
        assert_eq!(row[1], ":");
        let (secs, millis) = row[2].split_once('.').unwrap();
        assert!(
            secs.parse::<u64>().unwrap() > 1_600_000_000 && millis.len() == 3,
            "{row:?}"
        );
        // JobRuntime is printf's %10.3f, as in GNU parallel.
        assert_eq!(row[3].len(), 10, "{row:?}");
        assert!(row[3].trim_start().parse::<f64>().is_ok() && row[3].as_bytes()[9 - 3] == b'.');
        assert_eq!(&row[4..8], ["0", if row[0] == "1" { "2" } else { "4" }, "0", "0"]);
    }
    assert_eq!(column(&rows, 1, 8), "echo a");
    assert_eq!(column(&rows, 2, 8), "echo 'x y'");
}

#[test]
fn exit_codes_and_signals_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    ppool(dir.path())
        .args([
            "map",
            "--joblog",
            "log",
            "sh",
            "-c",
            "[ {} = kill ] && kill -9 $$; exit {}",
            ":::",
        ])
        .args(["0", "3", "kill"])
        .assert()
        .code(2);
    let rows = rows(&read(&dir.path().join("log")));
    assert_eq!((column(&rows, 1, 6), column(&rows, 1, 7)), ("0", "0"));
    assert_eq!((column(&rows, 2, 6), column(&rows, 2, 7)), ("3", "0"));
    assert_eq!((column(&rows, 3, 6), column(&rows, 3, 7)), ("0", "9"));
}

#[test]
fn a_new_run_starts_the_log_over() {
    let dir = tempfile::tempdir().unwrap();
    for word in ["first", "second"] {
        ppool(dir.path())
            .args(["imap", "--joblog", "log", "echo", ":::", word])
            .assert()
            .success();
    }
    let log = read(&dir.path().join("log"));
    let rows = rows(&log);
    assert_eq!(rows.len(), 1, "{log}");
    assert_eq!(rows[0][8], "echo second");
}

/// Counts of each line of a file.
fn tally(path: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in read(path).lines() {
        *counts.entry(line.to_owned()).or_default() += 1;
    }
    counts
}

#[test]
fn resume_after_a_kill_runs_only_what_had_not_finished() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<String> = (1..=20).map(|n| n.to_string()).collect();
    let script = "echo {} >> results; sleep 0.2";
    let bin = crate::util::bin();
    let mut first = std::process::Command::new(&bin)
        .current_dir(dir.path())
        .args(["imap", "-j2", "--joblog", "log", "sh", "-c", script, ":::"])
        .args(&records)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    first.kill().unwrap(); // SIGKILL: no chance to tidy up
    first.wait().unwrap();
    // Let the tasks it left behind end.
    std::thread::sleep(Duration::from_secs(1));
    let first_log = rows(&read(&dir.path().join("log")));
    assert!(
        !first_log.is_empty() && first_log.len() < 20,
        "the kill should land mid-run: {first_log:?}"
    );

    ppool(dir.path())
        .args(["imap", "-j4", "--joblog", "log", "--resume", "sh", "-c", script, ":::"])
        .args(&records)
        .assert()
        .success()
        .stdout("");
    let counts = tally(&dir.path().join("results"));
    for record in &records {
        assert!(counts.contains_key(record), "record {record} never ran: {counts:?}");
    }
    for row in &first_log {
        let record = &row[0]; // with one ::: group, Seq n is record n
        assert_eq!(counts[record], 1, "record {record} was logged, then ran again");
    }
    let log = read(&dir.path().join("log"));
    assert_eq!(log.matches("Seq\t").count(), 1, "one header: {log}");
    let mut seqs: Vec<u64> = rows(&log).iter().map(|r| r[0].parse().unwrap()).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs, (1..=20).collect::<Vec<u64>>());
}

#[test]
fn resume_failed_reruns_only_the_failures() {
    let dir = tempfile::tempdir().unwrap();
    let script = "echo {} >> results; [ -e fixed ] || [ {} != 3 ]";
    let run = |flag: &str| {
        let mut cmd = ppool(dir.path());
        cmd.args([
            "imap", "--joblog", "log", flag, "sh", "-c", script, ":::", "1", "2", "3", "4",
        ]);
        cmd
    };
    let results = dir.path().join("results");
    run("--resume-failed").assert().code(1);
    let first = read(&results);
    let mut lines: Vec<&str> = first.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["1", "2", "3", "4"]);
    std::fs::write(dir.path().join("fixed"), "").unwrap();
    run("--resume-failed").assert().success();
    assert_eq!(read(&results), format!("{first}3\n"));
    // Everything has succeeded now: nothing runs again.
    run("--resume-failed").assert().success();
    run("--resume").assert().success();
    assert_eq!(read(&results), format!("{first}3\n"));
    let rows = rows(&read(&dir.path().join("log")));
    let for_3: Vec<&str> = rows.iter().filter(|r| r[0] == "3").map(|r| r[6].as_str()).collect();
    assert_eq!(for_3, ["1", "0"]);
}

#[test]
fn skipped_tasks_print_nothing_and_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    ppool(dir.path())
        .args(["map", "--joblog", "log", "echo", ":::", "a", "b"])
        .assert()
        .success();
    ppool(dir.path())
        .args(["map", "--joblog", "log", "--resume", "echo", ":::", "a", "b", "c"])
        .assert()
        .success()
        .stdout("c\n")
        .stderr("");
}

/// Runs ppool in `dir`, expects exit 255, returns its stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let assert = ppool(dir).args(args).assert().code(255);
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

#[test]
fn unusable_logs_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = fails(dir.path(), &["imap", "--joblog", ".", "--resume", "true", ":::", "a"]);
    assert!(e.starts_with("ppool: cannot read --joblog ."), "{e}");
    let e = fails(dir.path(), &["imap", "--joblog", "no/such/dir/log", "true", ":::", "a"]);
    assert!(e.starts_with("ppool: cannot write --joblog no/such/dir/log"), "{e}");
    std::fs::write(dir.path().join("log"), format!("{HEADER}\nnot a log line\n")).unwrap();
    let e = fails(dir.path(), &["imap", "--joblog", "log", "--resume", "true", ":::", "a"]);
    assert!(
        e.contains("--joblog log line 2") && e.contains("fix or remove it"),
        "{e}"
    );
}
