//! `--dry-run`: each command printed shell-quoted; nothing runs.

use assert_cmd::Command;

const HOSTILE: &str = "'; touch PWNED; '";

fn printed(args: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let assert = Command::new(crate::util::bin())
        .current_dir(dir.path())
        .args(args)
        .assert()
        .success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(!dir.path().join("PWNED").exists(), "a dry run ran something");
    (dir, out)
}

/// What `sh` makes of a printed line: its words, one per line.
fn words_of(line: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("printf '%s\\n' {line}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn hostile_input_is_printed_quoted_and_nothing_runs() {
    let (dir, out) = printed(&["map", "--dry-run", "touch", ":::", HOSTILE, "b"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[1], "touch b");
    assert!(
        lines[0].starts_with("touch ") && lines[0] != format!("touch {HOSTILE}"),
        "{out}"
    );
    // The shell reads the printed line back as the same two words.
    assert_eq!(words_of(lines[0]), format!("touch\n{HOSTILE}\n"));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "files were made"
    );
}

#[test]
fn with_shell_the_line_is_what_the_shell_would_run() {
    let (_dir, out) = printed(&["imap", "--dry-run", "-s", "echo {} && touch done", ":::", HOSTILE]);
    let line = out.trim_end_matches('\n');
    assert!(line.starts_with("echo ") && line.ends_with(" && touch done"), "{out}");
    let value = &line["echo ".len()..line.len() - " && touch done".len()];
    assert_eq!(words_of(value), format!("{HOSTILE}\n"));
}

#[test]
fn stdin_records_and_apply_are_printed_too() {
    let out = Command::new(crate::util::bin())
        .args(["unordered", "--dry-run", "rm", "{}"])
        .write_stdin("a b\nc\n")
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, b"rm 'a b'\nrm c\n");
    Command::new(crate::util::bin())
        .args(["apply", "--dry-run", "rm", "-r", "x y"])
        .assert()
        .success()
        .stdout("rm -r 'x y'\n");
}
