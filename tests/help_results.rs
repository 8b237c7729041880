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
