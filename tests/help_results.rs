//! Help that fits each mode, hints for commands only a shell can run, the
//! note when input comes from a terminal, and `--results DIR`.

use crate::util::{ppool, stderr_of};

#[test]
fn shell_only_commands_and_unknown_commands_suggest_shell() {
    for (words, says) in [
        (&["cd"][..], "`cd` is a shell builtin: add --shell"),
        (&["exit", "3"][..], "`exit` is a shell builtin: add --shell"),
        (&["source", "x"][..], "`source` is a shell builtin"),
        (&["."][..], "`.` is a shell builtin"),
        (&["alias"][..], "`alias` is a shell builtin"),
        (&["export"][..], "`export` is a shell builtin"),
        (
            &["FOO=1", "true"][..],
            "`FOO=1` sets a variable only in a shell: add --shell",
        ),
        (
            &["no-such-fn-ppool"][..],
            "if `no-such-fn-ppool` is a shell function or alias, add --shell",
        ),
    ] {
        for mode in ["imap", "apply"] {
            let out = ppool().arg(mode).args(words).args([":::", "a"]).output().unwrap();
            let stderr = stderr_of(&out);
            assert_eq!(
                out.status.code(),
                Some(if mode == "apply" { 127 } else { 1 }),
                "{words:?}: {stderr}"
            );
            assert!(
                stderr.contains(&format!("ppool: {}: command not found (", words[0])) && stderr.contains(says),
                "{mode} {words:?}: {stderr}"
            );
        }
    }
}

/// Runs `line` in sh under a pseudo-terminal (util-linux `script`), with
/// `input` typed at it; everything the terminal showed.
fn on_a_terminal(line: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("script")
        .args(["-qfec", line, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running `script` (util-linux) to get a pseudo-terminal");
    // Closing the pipe reaches the terminal as Ctrl-D.
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const TERMINAL_NOTE: &str = "ppool: reading input from the terminal; end with Ctrl-D";

#[test]
fn input_read_from_a_terminal_gets_a_note_on_stderr() {
    let bin = crate::util::bin().display().to_string();
    // The note goes to stderr only: stdout, sent to a file, holds the output.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let screen = on_a_terminal(
        &format!("timeout --foreground 60 {bin} imap echo > {}", out.display()),
        "typed\n",
    );
    assert!(screen.contains(TERMINAL_NOTE), "{screen:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "typed\n");
    // Not when the input comes from elsewhere, even on a terminal.
    for line in [
        format!("timeout --foreground 60 {bin} imap echo ::: a"),
        format!("echo a | timeout --foreground 60 {bin} imap echo"),
        format!("timeout --foreground 60 {bin} apply echo a"),
    ] {
        let screen = on_a_terminal(&line, "");
        assert!(!screen.contains("reading input"), "{line}: {screen:?}");
        assert!(screen.contains('a'), "{line}: {screen:?}");
    }
    // Nor when stdin is no terminal.
    ppool()
        .args(["imap", "echo"])
        .write_stdin("x\n")
        .assert()
        .success()
        .stdout("x\n")
        .stderr("");
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`, by path relative to it, with its contents.
fn tree(dir: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let mut files = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                files.insert(name, read(&path));
            }
        }
    }
    files
}

#[test]
fn results_hold_each_tasks_stdout_stderr_and_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = "echo out-$1; echo err-$1 >&2; exit $1";
    let args = ["sh", "-c", script, "sh", ":::", "0", "3"];
    ppool()
        .args(["imap", "--results"])
        .arg(&out)
        .args(args)
        .assert()
        .code(1)
        .stdout("out-0\nout-3\n");
    assert_eq!(read(&out.join("1/stdout")), "out-0\n");
    assert_eq!(read(&out.join("1/stderr")), "err-0\n");
    assert_eq!(read(&out.join("2/stdout")), "out-3\n");
    assert_eq!(read(&out.join("2/stderr")), "err-3\n");
    // outcome.json is --output json's object without the output.
    let json = ppool().args(["imap", "--output", "json"]).args(args).output().unwrap();
    for (seq, mut printed) in crate::util::json_lines(&json.stdout).into_iter().enumerate() {
        let mut saved: serde_json::Value =
            serde_json::from_str(&read(&out.join(format!("{}/outcome.json", seq + 1)))).unwrap();
        let printed = printed.as_object_mut().unwrap();
        for output in ["stdout", "stderr"] {
            assert!(printed.remove(output).is_some());
        }
        let saved = saved.as_object_mut().unwrap();
        for varies in ["duration_s", "slot"] {
            assert!(saved.remove(varies).is_some() && printed.remove(varies).is_some());
        }
        assert_eq!(saved, printed);
    }
    let failed: serde_json::Value = serde_json::from_str(&read(&out.join("2/outcome.json"))).unwrap();
    assert_eq!(
        (failed["status"].as_str(), failed["exit_code"].as_i64()),
        (Some("failed"), Some(3))
    );
}

#[test]
fn results_are_written_as_each_task_ends() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Task 2 waits until task 1's results exist; imap prints neither before.
    let wait = format!(
        "if [ $1 = 2 ]; then while [ ! -e {} ]; do sleep 0.05; done; fi; echo $1",
        out.join("1/outcome.json").display()
    );
    let mut child = crate::util::ppool_std()
        .args(["imap", "-j2", "--results"])
        .arg(&out)
        .args(["sh", "-c", &wait, "sh", ":::", "1", "2"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        crate::util::wait_for_file(&out.join("2/outcome.json"), std::time::Duration::from_secs(60)),
        "task 2 never saw task 1's results"
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(read(&out.join("1/stdout")), "1\n");
}

#[test]
fn results_of_tasks_skipped_by_resume_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let log = dir.path().join("log");
    let run = |marker: &str| {
        ppool()
            .args(["imap", "--resume", "--joblog"])
            .arg(&log)
            .arg("--results")
            .arg(&out)
            .args(["sh", "-c", &format!("echo {marker}-$1"), "sh", ":::", "a", "b"])
            .output()
            .unwrap()
    };
    // A first run that did task 1 only.
    ppool()
        .args(["imap", "--joblog"])
        .arg(&log)
        .arg("--results")
        .arg(&out)
        .args(["sh", "-c", "echo first-$1", "sh", ":::", "a"])
        .assert()
        .success();
    assert!(run("second").status.success());
    assert_eq!(read(&out.join("1/stdout")), "first-a\n");
    assert_eq!(read(&out.join("2/stdout")), "second-b\n");
}

#[test]
fn template_values_cannot_escape_the_results_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let spec = format!("{}/{{}}/", out.display());
    ppool()
        .args([
            "imap",
            "--results",
            &spec,
            "echo",
            ":::",
            "..",
            "../../x",
            "/etc",
            "",
            "a\\b",
        ])
        .assert()
        .success();
    let files = tree(dir.path());
    assert!(files.keys().all(|k| k.starts_with("out/")), "{files:?}");
    for (value, quoted) in [
        ("..", "\\.."),
        ("../../x", "..\\_..\\_x"),
        ("/etc", "\\_etc"),
        ("", "\\"),
        ("a\\b", "a\\\\b"),
    ] {
        assert_eq!(
            files[&format!("out/{quoted}/stdout")],
            format!("{value}\n"),
            "{files:?}"
        );
    }
    assert!(!dir.path().join("x").exists());
}

#[test]
fn results_tree_matches_gnu_parallels_for_the_same_template() {
    if std::process::Command::new("parallel")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIP: GNU parallel is not installed");
        return;
    }
    for template in ["{1}/{2}", "{1}/{2}/", "x{}y"] {
        let gnu = tempfile::tempdir().unwrap();
        let ours = tempfile::tempdir().unwrap();
        let words = [
            "sh",
            "-c",
            "echo out $1 $2; echo err $2 >&2",
            "sh",
            ":::",
            "a",
            "b c",
            ":::",
            "1",
            "2",
        ];
        let status = std::process::Command::new("parallel")
            .args(["--will-cite", "-j1", "--results"])
            .arg(gnu.path().join(template))
            .args(["sh", "-c", "'echo out $1 $2; echo err $2 >&2'", "sh"])
            .args(&words[4..])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        ppool()
            .args(["imap", "--results"])
            .arg(ours.path().join(template))
            .args(words)
            .assert()
            .success();
        let mut ours = tree(ours.path());
        ours.retain(|name, _| !name.ends_with(".json"));
        assert_eq!(ours, tree(gnu.path()), "--results {template}");
    }
}

fn help_of(mode: &str) -> String {
    let out = ppool().args([mode, "--help"]).output().unwrap();
    assert!(out.status.success());
    crate::util::stdout_of(&out)
}

#[test]
fn apply_shows_and_takes_only_what_fits_one_task() {
    let help = help_of("apply");
    for option in [
        "--jobs",
        "--progress",
        "--line-buffer",
        "--builtin",
        "--worker",
        "--results",
        "--ssh",
        "--arg-file",
    ] {
        assert!(!help.contains(option), "apply --help shows {option}: {help}");
    }
    for option in ["--timeout", "--shell", "--joblog"] {
        assert!(help.contains(option), "apply --help lacks {option}: {help}");
    }
    for args in [
        &["-j", "2", "true"][..],
        &["--progress", "true"][..],
        &["--line-buffer", "true"][..],
        &["--builtin", "echo", ":::", "a"][..],
        &["--worker", "cat", ":::", "a"][..],
    ] {
        let out = ppool().arg("apply").args(args).output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(255), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("ppool: ") && stderr.contains("ppool map"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn line_buffer_is_an_option_of_unordered_only() {
    assert!(help_of("unordered").contains("--line-buffer"));
    for mode in ["map", "imap"] {
        assert!(!help_of(mode).contains("--line-buffer"), "{mode}");
        ppool()
            .args([mode, "--line-buffer", "echo", ":::", "a"])
            .assert()
            .code(255)
            .stdout("");
    }
    ppool()
        .args(["unordered", "--line-buffer", "echo", ":::", "a"])
        .assert()
        .success()
        .stdout("a\n");
}

#[test]
fn bare_ppool_prints_the_help_as_a_usage_error() {
    let out = ppool().output().unwrap();
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!stderr.starts_with("ppool:"), "{stderr}");
    assert!(
        stderr.contains("Usage: ppool <COMMAND>") && stderr.contains("imap"),
        "{stderr}"
    );
}

#[test]
fn errors_show_the_usage_of_the_mode() {
    for (args, usage) in [
        (
            &["imap", "--nope", "echo"][..],
            "Usage: ppool imap [OPTIONS] COMMAND [ARG]...",
        ),
        (
            &["imap", "--line", "echo"][..],
            "Usage: ppool imap [OPTIONS] COMMAND [ARG]...",
        ),
        (
            &["map", "--resume", "echo"][..],
            "Usage: ppool map [OPTIONS] COMMAND [ARG]...",
        ),
        (
            &["apply", "--nope", "true"][..],
            "Usage: ppool apply [OPTIONS] COMMAND [ARG]... [::: INPUT]",
        ),
    ] {
        let out = ppool().args(args).output().unwrap();
        let stderr = stderr_of(&out);
        assert_eq!(out.status.code(), Some(255), "{args:?}: {stderr}");
        let line = stderr.lines().find(|l| l.starts_with("Usage:")).unwrap_or_default();
        assert!(line.starts_with(usage), "{args:?}: {stderr}");
        // The same usage line as the mode's --help.
        assert!(help_of(args[0]).contains(line), "{args:?}: {line}");
    }
}
