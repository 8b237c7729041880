//! `apply` runs its one task the way the streaming modes run each of
//! theirs: the same job log, `--resume` and `--dry-run`.

use std::path::Path;

const HEADER: &str = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand";

fn apply(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = crate::util::ppool();
    cmd.current_dir(dir).arg("apply").args(args);
    cmd.args(["sh", "-c", "echo ran >> runs; exit 3", "arg"]);
    cmd
}

/// Seq, Exitval, Signal and Command of each line after the header.
fn logged(dir: &Path) -> Vec<[String; 4]> {
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    let mut lines = log.lines();
    assert_eq!(lines.next(), Some(HEADER), "{log}");
    lines
        .map(|line| {
            let f: Vec<&str> = line.splitn(9, '\t').collect();
            [f[0], f[6], f[7], f[8]].map(str::to_owned)
        })
        .collect()
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs")).map_or(0, |s| s.lines().count())
}

#[test]
fn apply_logs_its_task_once_after_its_retries_and_resume_skips_it_once_done() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let line = ["1", "3", "0", "sh -c 'echo ran >> runs; exit 3' arg"].map(str::to_owned);
    apply(dir, &["--joblog", "log", "--retries", "2"]).assert().code(3);
    assert_eq!(runs(dir), 3, "three attempts");
    assert_eq!(
        logged(dir),
        std::slice::from_ref(&line),
        "one line for the task, not one per attempt"
    );
    // A failed task runs again with --resume-failed, and is logged again.
    apply(dir, &["--joblog", "log", "--resume-failed"]).assert().code(3);
    assert_eq!(runs(dir), 4);
    assert_eq!(logged(dir), [line.clone(), line.clone()]);
    // --resume finds it done: it neither runs nor is logged again.
    apply(dir, &["--joblog", "log", "--resume"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    assert_eq!(runs(dir), 4);
    assert_eq!(logged(dir), [line.clone(), line]);
}

#[test]
fn apply_dry_run_reports_a_command_that_cannot_be_made_as_the_run_would() {
    for dry_run in [true, false] {
        let mut cmd = crate::util::ppool();
        cmd.arg("apply")
            .args(dry_run.then_some("--dry-run"))
            .args(["echo", "{3}", ":::", "a"]);
        let out = cmd.assert().code(1).stdout("");
        let err = crate::util::stderr_of(out.get_output());
        assert!(
            err.starts_with("ppool: task 1: no field {3}"),
            "dry run {dry_run}: {err}"
        );
    }
}
