//! What GNU parallel users type, checked byte for byte against GNU parallel
//! where it is installed: a file of command lines with no command, the
//! `--plus` replacement strings and `{-N}`.

use std::process::Command;

use crate::util::{ppool, stderr_of, stdout_of};

/// `ppool imap -j1 ARGS` with STDIN, its stdout; the run must succeed.
fn ppool_out(args: &[&str], stdin: &str) -> String {
    let output = ppool()
        .args(["imap", "-j1"])
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    stdout_of(&output)
}

/// GNU parallel's stdout for `parallel -k -j1 ARGS` with STDIN, when it is
/// installed; `None` prints a SKIP line.
fn gnu_out(args: &[&str], stdin: &str) -> Option<String> {
    use std::io::Write;
    let child = Command::new("parallel")
        .args(["--will-cite", "-k", "-j1"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("SKIP: GNU parallel is not installed");
        return None;
    };
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "GNU parallel {args:?}: {}", stderr_of(&output));
    Some(stdout_of(&output))
}

/// Runs ARGS both ways; ppool's output must be EXPECTED, and GNU
/// parallel's too when it is installed.
fn same_as_gnu(args: &[&str], stdin: &str, expected: &str) {
    assert_eq!(ppool_out(args, stdin), expected, "ppool {args:?}");
    if let Some(gnu) = gnu_out(args, stdin) {
        assert_eq!(gnu, expected, "GNU parallel {args:?}");
    }
}

#[test]
fn with_no_command_each_line_is_a_shell_command_line() {
    let jobs = "echo one\necho two | tr a-z A-Z\nx=3; echo $((x * 2))\nprintf '%s\\n' 'a b'  \"c\"\n";
    same_as_gnu(&[], jobs, "one\nTWO\n6\na b\nc\n");
}

#[test]
fn with_no_command_input_values_are_joined_into_the_command_line() {
    same_as_gnu(&[":::", "echo a", "echo b; echo c"], "", "a\nb\nc\n");
    same_as_gnu(&[":::", "echo", "printf '<%s>'", ":::", "x"], "", "x\n<x>");
}

#[test]
fn with_no_command_a_failing_line_fails_its_task_and_the_shell_comes_from_ppool_shell() {
    let output = ppool()
        .args(["imap", "-j1"])
        .write_stdin("echo ok\nexit 3\n")
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "ok\n");
    assert!(!output.status.success());
    assert!(stderr_of(&output).contains("exit 3"), "{}", stderr_of(&output));

    let output = ppool()
        .args(["imap", "--dry-run"])
        .env("PPOOL_SHELL", "bash")
        .write_stdin("echo $((1+1)) | cat\n")
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "echo $((1+1)) | cat\n");
    let output = ppool()
        .args(["imap"])
        .env("PPOOL_SHELL", "bash")
        .write_stdin("echo ${BASH_VERSION:+bash}\n")
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "bash\n");
}

#[test]
fn with_no_command_apply_and_batches_still_ask_for_a_command() {
    let output = ppool().args(["apply"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("no command given"));
    let output = ppool().args(["map", "-n", "2", ":::", "echo a"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("give a COMMAND"), "{}", stderr_of(&output));
}
