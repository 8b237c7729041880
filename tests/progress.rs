//! `--progress`: drawn on a terminal, through which task output passes
//! whole; never an escape code when stderr is not a terminal.

use std::path::Path;
use std::process::Command;

/// Runs a shell command line under a pseudo-terminal (util-linux `script`)
/// and returns everything the terminal received; `script -e` exits with
/// ppool's status, which must be `code`.
fn on_a_terminal(dir: &Path, line: &str, code: i32) -> String {
    let output = Command::new("script")
        .current_dir(dir)
        .args(["-qfec", line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running `script` (util-linux) to get a pseudo-terminal");
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn ppool() -> String {
    crate::util::bin().display().to_string()
}

const TEN: &str = "::: 1 2 3 4 5 6 7 8 9 10";

#[test]
fn the_bar_is_drawn_on_a_terminal_without_tearing_output() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!("{} imap -j2 --progress sh -c 'sleep 0.2; echo out-{{}}' {TEN}", ppool());
    let screen = on_a_terminal(dir.path(), &line, 0);
    assert!(screen.contains("/10 ["), "no bar with the total: {screen:?}");
    assert!(screen.contains("0 failed"), "{screen:?}");
    // Every task's line starts at the left edge: after a newline or after the
    // bar was erased, never glued to the bar's text.
    for n in 1..=10 {
        let at = screen
            .find(&format!("out-{n}\r\n"))
            .unwrap_or_else(|| panic!("out-{n}: {screen:?}"));
        let before = &screen[..at];
        assert!(
            before.is_empty() || before.ends_with('\n') || before.ends_with("\x1b[2K"),
            "out-{n} tore the bar: {screen:?}"
        );
    }
    // Cleared at the end: no bar after the last erase.
    let tail = &screen[screen.rfind("\x1b[2K").unwrap()..];
    assert!(!tail.contains("/10"), "the bar stayed: {tail:?}");
}

#[test]
fn the_total_appears_once_stdin_ends() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "seq 6 | {} imap -j2 --progress sh -c 'sleep 0.3; [ {{}} -ne 4 ]'",
        ppool()
    );
    let screen = on_a_terminal(dir.path(), &line, 1);
    assert!(screen.contains("/6 ["), "{screen:?}");
    assert!(screen.contains("1 failed"), "{screen:?}");
}

#[test]
fn no_escape_codes_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // stdout on the terminal, stderr to a file.
    let line = format!(
        "{} imap --progress sh -c 'echo {{}}; echo e{{}} >&2' {TEN} 2>err",
        ppool()
    );
    let screen = on_a_terminal(dir.path(), &line, 0);
    let err = std::fs::read_to_string(dir.path().join("err")).unwrap();
    assert!(!err.contains('\x1b'), "{err:?}");
    assert_eq!(err.lines().count(), 10, "{err:?}");
    assert!(!screen.contains('\x1b'), "{screen:?}");
    // Nothing attached to a terminal at all.
    let out = assert_cmd::Command::new(crate::util::bin())
        .args(["imap", "--progress", "echo", ":::", "a", "b"])
        .assert()
        .success()
        .stdout("a\nb\n")
        .stderr("");
    assert!(!String::from_utf8_lossy(&out.get_output().stdout).contains('\x1b'));
}

#[test]
fn the_bar_is_cleared_when_the_run_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let line = format!(
        "{} imap -j2 --progress sleep ::: 5 5 5 & sleep 1; kill -TERM $!; wait $!",
        ppool()
    );
    let screen = on_a_terminal(dir.path(), &line, 143);
    assert!(screen.contains("0/3 ["), "{screen:?}");
    let tail = &screen[screen.rfind("\x1b[2K").unwrap()..];
    assert!(!tail.contains("/3"), "the bar stayed: {tail:?}");
    assert!(tail.contains("stopped by SIGTERM"), "{tail:?}");
}
