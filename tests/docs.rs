//! The checked-in man page and completion scripts match what the binary
//! generates, and they work; the exit statuses in the man page, `--help` and
//! the README are those of the one table in `ppool::exit`.

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
    for code in ["0", "101", "129 / 130 / 143", "255"] {
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

/// The table as the README writes it: `| status | when |`, with `|` in a
/// cell escaped.
fn markdown_rows(table: &[ppool::exit::Row]) -> Vec<String> {
    table
        .iter()
        .map(|row| format!("| {} | {} |", row.codes.label(), row.when.replace('|', "\\|")))
        .collect()
}

/// The body rows of the first table after the README's `### Exit status`.
fn readme_exit_rows(readme: &str) -> Vec<String> {
    let section = readme
        .split_once("\n### Exit status\n")
        .map(|(_, rest)| rest)
        .expect("README.md has no `### Exit status` section");
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        // The header row and the |---| line under it.
        .skip(2)
        .map(|line| {
            let cells: Vec<&str> = split_cells(line.trim()).into_iter().map(str::trim).collect();
            format!("| {} |", cells.join(" | "))
        })
        .collect()
}

/// `| a | b \| c |` -> `["a", "b \| c"]`.
fn split_cells(line: &str) -> Vec<&str> {
    let inner = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')).unwrap_or(line);
    let mut cells = Vec::new();
    let mut start = 0;
    let bytes = inner.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'|' && (i == 0 || bytes[i - 1] != b'\\') {
            cells.push(&inner[start..i]);
            start = i + 1;
        }
    }
    cells.push(&inner[start..]);
    cells
}

#[test]
fn readme_exit_status_table_is_the_table_in_the_code() {
    let expected = markdown_rows(ppool::exit::TABLE);
    let found = readme_exit_rows(&checked_in("README.md"));
    if found == expected {
        return;
    }
    let mut diff = String::new();
    for i in 0..expected.len().max(found.len()) {
        let (want, have) = (expected.get(i), found.get(i));
        if want != have {
            for (sign, line) in [('-', have), ('+', want)] {
                if let Some(line) = line {
                    diff.push_str(&format!("{sign} {line}\n"));
                }
            }
        }
    }
    panic!(
        "README.md's exit-status table differs from ppool::exit::TABLE \
         (- README, + table):\n{diff}\nthe whole table, to paste under `### Exit status`:\n\
         | status | when |\n|---|---|\n{}",
        expected.join("\n")
    );
}

#[test]
fn readme_table_parser_reads_escaped_pipes_and_stops_at_the_table_end() {
    let readme = "# x\n\n### Exit status\n\nText.\n\n| status | when |\n|---|---|\n| 0 | ok |\n\
                  |  141 |  `a \\| b`, quiet |\n\nAfter.\n| 9 | not this table |\n";
    assert_eq!(readme_exit_rows(readme), ["| 0 | ok |", "| 141 | `a \\| b`, quiet |"]);
}

#[test]
fn help_ends_with_the_exit_status_table() {
    let text = generated(&["--help"]);
    let block = &text[text.find("\nExit status:\n").expect("no Exit status block in --help")..];
    assert!(block.contains(ppool::exit::HELP), "{text}");
    assert!(
        block.contains("\n  0          every task succeeded, or a --halt"),
        "{block}"
    );
    assert!(block.contains("\n  255        ppool's own error: bad usage"), "{block}");
}

#[test]
fn man_page_lists_every_status_of_the_table() {
    let page = generated(&["man"]);
    let status = &page[page.find(".SH \"EXIT STATUS\"").expect("no EXIT STATUS")..];
    let status = &status[..status[1..].find("\n.SH ").map_or(status.len(), |end| end + 1)];
    assert_eq!(status.matches(".TP\n").count(), ppool::exit::TABLE.len(), "{status}");
    for tag in [".B 141\n", ".B 254\n", ".I the failed task's code\n"] {
        assert!(status.contains(tag), "{tag} missing: {status}");
    }
}
