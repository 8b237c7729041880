//! The checked-in man page and completion scripts match what the binary
//! generates, and they work.

use std::path::Path;

use assert_cmd::Command;

fn generated(args: &[&str]) -> String {
    let assert = Command::new(crate::util::bin()).args(args).assert().success();
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn checked_in(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

#[test]
fn checked_in_docs_are_up_to_date() {
    for (path, args) in [
        ("man/ppool.1", &["man"][..]),
        ("completions/ppool.bash", &["completions", "bash"]),
        ("completions/_ppool", &["completions", "zsh"]),
        ("completions/ppool.fish", &["completions", "fish"]),
    ] {
        assert!(
            checked_in(path) == generated(args),
            "{path} differs from `ppool {}`: run scripts/gen-docs.sh and commit the result",
            args.join(" ")
        );
    }
}

#[test]
fn bash_completion_registers_ppool() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/ppool.bash");
    let out = std::process::Command::new("bash")
        .args(["--norc", "-c", "source \"$1\" && complete -p ppool", "bash"])
        .arg(&script)
        .output()
        .expect("running bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("-F _ppool ppool"), "{out:?}");
}

#[test]
fn bash_completion_offers_the_modes_but_not_the_internal_worker() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/ppool.bash");
    let complete =
        "source \"$1\"; COMP_WORDS=(ppool ''); COMP_CWORD=1; _ppool ppool '' ppool; echo \"${COMPREPLY[*]}\"";
    let out = std::process::Command::new("bash")
        .args(["--norc", "-c", complete, "bash"])
        .arg(&script)
        .output()
        .expect("running bash");
    let offered = String::from_utf8_lossy(&out.stdout);
    for mode in ["apply", "map", "imap", "unordered", "builtins", "completions", "man"] {
        assert!(
            offered.split_whitespace().any(|w| w == mode),
            "{mode} not offered: {offered}"
        );
    }
    assert!(!offered.contains("__worker"), "{offered}");
}

#[test]
fn man_page_has_examples_exit_status_and_run_options() {
    let page = generated(&["man"]);
    for needle in [
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH \"RUN OPTIONS\"",
        "\\-\\-joblog",
        "\\-\\-resume\\-failed",
        "\\-j\\fR, \\fB\\-\\-jobs",
    ] {
        assert!(page.contains(needle), "the man page lacks {needle}");
    }
    let status = &page[page.find(".SH \"EXIT STATUS\"").unwrap()..];
    for code in ["0", "101", "130 / 143", "255"] {
        assert!(status.contains(&format!(".B {code}\n")), "exit status {code} missing");
    }
}

#[test]
fn man_page_renders_without_warnings() {
    // groff is optional on a build machine; when present it must not complain.
    let Ok(out) = std::process::Command::new("groff")
        .args(["-ww", "-z", "-man", "-K", "utf8"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/ppool.1"))
        .output()
    else {
        return;
    };
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
