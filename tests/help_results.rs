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
