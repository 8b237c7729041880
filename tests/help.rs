//! `--help`: examples for each mode, each mode described by its Pool
//! counterpart, and the option letters xargs and GNU parallel users know.

use assert_cmd::Command;

fn help(args: &[&str]) -> String {
    let assert = Command::new(crate::util::bin()).args(args).assert().success();
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

#[test]
fn top_level_help_has_an_example_of_each_mode() {
    let text = help(&["--help"]);
    let examples = &text[text.find("Examples:").expect("an Examples section")..];
    for mode in ["apply", "map", "imap", "unordered"] {
        assert!(
            examples.contains(&format!("ppool {mode} ")),
            "no example of {mode}: {text}"
        );
    }
    for (mode, pool) in [
        ("apply", "[apply]"),
        ("imap", "[imap]"),
        ("unordered", "[imap_unordered]"),
    ] {
        assert!(
            text.lines().any(|l| l.contains(mode) && l.contains(pool)),
            "{mode}: {text}"
        );
    }
}

#[test]
fn each_mode_names_its_pool_method_and_has_examples() {
    for (mode, pool) in [
        ("apply", "Pool.apply"),
        ("map", "Pool.map"),
        ("imap", "Pool.imap"),
        ("unordered", "Pool.imap_unordered"),
    ] {
        for flag in ["-h", "--help"] {
            let text = help(&[mode, flag]);
            assert!(text.contains(pool), "ppool {mode} {flag}: {text}");
            assert!(
                text.contains(&format!("ppool {mode} ")),
                "ppool {mode} {flag} has no example: {text}"
            );
        }
    }
}

#[test]
fn shared_flags_keep_their_letters() {
    let text = help(&["imap", "--help"]);
    for flag in ["-j, --jobs", "-0, --null", "-a, --arg-file", "-S, --ssh", "-s, --shell"] {
        assert!(text.contains(flag), "{flag}: {text}");
    }
    for flag in ["--progress", "--joblog", "--resume", "--resume-failed", "--dry-run"] {
        assert!(text.contains(flag), "{flag}: {text}");
    }
}
