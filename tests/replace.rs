//! Replace strings users already type: `-I STR` / `--replace[=STR]` rename
//! `{}`, `--tagstring` fills in each task's tag, `-t` / `--verbose` prints
//! each command as it starts.

use crate::util::{gnu_parallel, ppool, stderr_of, stdout_of};

fn run(args: &[&str]) -> std::process::Output {
    ppool().args(args).output().unwrap()
}

fn out(args: &[&str]) -> String {
    let output = run(args);
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    stdout_of(&output)
}

/// Records that would run code, or break out of quotes, were they spliced
/// into shell text as they are.
const HOSTILE: [&str; 8] = [
    "'; touch PWNED #",
    "$(touch PWNED)",
    "`touch PWNED`",
    "\"; touch PWNED; \"",
    "it's \"quoted\" \\ $HOME",
    "a\nb",
    "",
    "-n",
];

#[test]
fn i_renames_the_whole_record_and_leaves_the_others() {
    assert_eq!(
        out(&["imap", "-j1", "-I", ",,", "echo", ",,", "{}", "{.}", "{/}", "{#}", ":::", "d/a.b", "c"]),
        "d/a.b {} d/a a.b 1\nc {} c c 2\n"
    );
    // Inside a word, and more than once.
    assert_eq!(out(&["imap", "-I", "XX", "echo", "aXXbXX", ":::", "1"]), "a1b1\n");
}

#[test]
fn replace_alone_is_braces_and_takes_its_string_after_an_equals_sign() {
    // `--replace` alone does not take the command for its string.
    assert_eq!(out(&["imap", "--replace", "echo", "<{}>", ":::", "a"]), "<a>\n");
    assert_eq!(out(&["imap", "--replace=XX", "echo", "XX", "{}", ":::", "a"]), "a {}\n");
    // The last of -I and --replace counts.
    assert_eq!(
        out(&["imap", "-I", "XX", "--replace=YY", "echo", "XX", "YY", ":::", "a"]),
        "XX a\n"
    );
}

#[test]
fn a_command_without_the_string_gets_the_record_appended() {
    assert_eq!(out(&["imap", "-I", ",,", "echo", "X", ":::", "a"]), "X a\n");
}

#[test]
fn an_empty_replace_string_is_a_usage_error() {
    let output = run(&["imap", "-I", "", "echo", ":::", "a"]);
    assert_eq!(output.status.code(), Some(255));
    let stderr = stderr_of(&output);
    assert!(
        stderr.starts_with("ppool: ") && stderr.contains("non-empty STR"),
        "{stderr}"
    );
}

/// Each hostile record, run through `args` (which print the record three
/// times, each between `|`), comes out literally and runs nothing.
fn check_hostile(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["imap", "-j1"];
    all.extend_from_slice(args);
    all.push(":::");
    all.extend_from_slice(&HOSTILE);
    let output = ppool().current_dir(dir.path()).args(&all).output().unwrap();
    assert!(output.status.success(), "{all:?}: {}", stderr_of(&output));
    let expected: String = HOSTILE.iter().map(|r| format!("|{r}|{r}|{r}|\n")).collect();
    assert_eq!(stdout_of(&output), expected, "{all:?}");
    assert!(!dir.path().join("PWNED").exists(), "{all:?} ran a record as code");
}

#[test]
fn hostile_records_stay_data_through_i_in_shell_mode() {
    check_hostile(&["-I", "XX", "-s", "printf '|%s|%s|%s|\\n' XX 'XX' \"XX\""]);
    check_hostile(&[
        "--replace=@@",
        "--shell",
        "printf",
        "'|%s|%s|%s|\\n'",
        "@@",
        "'@@'",
        "\"@@\"",
    ]);
}

#[test]
fn hostile_records_stay_data_through_i_in_a_sh_c_script() {
    check_hostile(&["-I", "XX", "sh", "-c", "printf '|%s|%s|%s|\\n' XX 'XX' \"XX\""]);
    check_hostile(&["-I", "{}", "bash", "-c", "printf '|%s|%s|%s|\\n' {} '{}' \"{}\""]);
}

#[test]
fn renamed_braces_are_plain_text_and_dollar_string_is_the_shells() {
    let output = ppool()
        .env("X", "from-env")
        .args(["imap", "-I", "X", "-s", "echo {} $X X", ":::", "rec"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "{} from-env rec\n");
}

#[test]
fn i_matches_gnu_parallel() {
    let inputs = [":::", "a", "b.c", "d/e.f", "it's", "g h"];
    for command in [
        &["-I", ",,", "echo", ",,", "{.}", "{/}", "{//}", "{/.}", "{#}"][..],
        &["-I", "XX", "echo", "aXXb", "XX"],
        &["-I", "{}", "echo", "{}", "{.}"],
        &["-I", ",,", "echo", "X"],
        &["-I", ",,", "echo", "{}", ",,"],
    ] {
        let mut args = command.to_vec();
        args.extend_from_slice(&inputs);
        let Some(expected) = gnu_parallel(&args) else { return };
        let mut ours = vec!["imap", "-j1"];
        ours.extend_from_slice(&args);
        assert_eq!(out(&ours), expected, "{args:?}");
    }
}

#[test]
fn tagstring_prefixes_each_line_with_the_rendered_tag() {
    assert_eq!(
        out(&[
            "imap",
            "-j1",
            "--tagstring",
            "{#}:{}:{.}:{%}",
            "printf",
            "x\\ny\\n",
            ":::",
            "a.b",
            "c"
        ]),
        "1:a.b:a:1\tx\n1:a.b:a:1\ty\n2:c:c:1\tx\n2:c:c:1\ty\n"
    );
    // Without a placeholder the string is the tag as it is.
    assert_eq!(out(&["imap", "--tagstring", "lit", "echo", ":::", "a"]), "lit\ta\n");
    // Fields, and the renamed record.
    assert_eq!(
        out(&["imap", "-j1", "--tagstring", "{2}-{1}", "echo", ":::", "a", ":::", "1"]),
        "1-a\ta 1\n"
    );
    assert_eq!(
        out(&["imap", "-I", "@", "--tagstring", "<@>", "echo", "@", ":::", "a"]),
        "<a>\ta\n"
    );
}

#[test]
fn tagstring_tags_stderr_json_fields_and_line_buffered_output() {
    let output = run(&["imap", "--tagstring", "[{}]", "sh", "-c", "echo err >&2", ":::", "a"]);
    assert_eq!(stderr_of(&output), "[a]\terr\n");
    let output = ppool()
        .args(["imap", "--json", "--tagstring", "{name}", "echo", "hi"])
        .write_stdin("{\"name\":\"ann\"}\n")
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "ann\thi {\"name\":\"ann\"}\n");
    assert_eq!(
        out(&[
            "unordered",
            "-j1",
            "--line-buffer",
            "--tagstring",
            "<{#}>",
            "printf",
            "x\\ny\\n",
            ":::",
            "a"
        ]),
        "<1>\tx\n<1>\ty\n"
    );
}

#[test]
fn tagstring_matches_gnu_parallel() {
    // GNU parallel runs its command words as shell text: ppool's `-s`.
    let cases: [(&[&str], &[&str]); 7] = [
        (&[], &["-n", "2", "--tagstring", "<{}>", "echo", ":::", "a", "b", "c"]),
        (&[], &["-X", "--tagstring", "<{}> {#}", "echo", ":::", "a", "b", "c"]),
        (&[], &["--tagstring", "{}", "echo", "out", ":::", "a", "b.c", "it's"]),
        (
            &["-s"],
            &["--tagstring", "{#} {.} {/}", "echo x; echo y", ":::", "d/a.b", "c"],
        ),
        (
            &[],
            &["--tagstring", "T{1}-{2}", "echo", "o", ":::", "a", "b", ":::", "1", "2"],
        ),
        (&[], &["--tagstring", "plain", "echo", ":::", "a", "b"]),
        (&[], &["-I", ",,", "--tagstring", "<,,>", "echo", ",,", ":::", "a", "b"]),
    ];
    for (extra, args) in cases {
        let Some(expected) = gnu_parallel(args) else { return };
        let mut ours = vec!["imap", "-j1"];
        ours.extend_from_slice(extra);
        ours.extend_from_slice(args);
        assert_eq!(out(&ours), expected, "{args:?}");
    }
}

#[test]
fn verbose_prints_each_command_as_dry_run_does() {
    let args = ["-j1", "echo", "{}", ":::", "a b", "it's", "c"];
    let dry = out(&[&["imap", "--dry-run"][..], &args].concat());
    let output = run(&[&["imap", "-t"][..], &args].concat());
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "a b\nit's\nc\n");
    assert_eq!(stderr_of(&output), dry);
    let output = run(&[&["imap", "--verbose", "-s"][..], &args].concat());
    assert_eq!(
        stderr_of(&output),
        out(&[&["imap", "--dry-run", "-s"][..], &args].concat())
    );
}

#[test]
fn verbose_prints_a_command_before_its_output() {
    // apply passes stderr through: the command line, then what it printed.
    let output = run(&["apply", "-t", "sh", "-c", "echo said-{} >&2", ":::", "a"]);
    assert_eq!(stderr_of(&output), "sh -c 'echo said-a >&2'\nsaid-a\n");
    let output = run(&[
        "imap",
        "-j2",
        "-t",
        "sh",
        "-c",
        "echo said-$1 >&2",
        "sh",
        ":::",
        "a",
        "b",
        "c",
    ]);
    let stderr = stderr_of(&output);
    for record in ["a", "b", "c"] {
        let command = stderr.find(&format!("sh -c 'echo said-$1 >&2' sh {record}\n"));
        let said = stderr.find(&format!("said-{record}\n"));
        assert!(command.is_some() && command < said, "{record}: {stderr}");
    }
}

#[test]
fn verbose_prints_every_attempt_and_builtin_tasks() {
    let output = run(&["imap", "-t", "--retries", "1", "false", ":::", "a"]);
    assert_eq!(
        stderr_of(&output).matches("false a\n").count(),
        2,
        "{}",
        stderr_of(&output)
    );
    let output = run(&["map", "-t", "--builtin", "echo", ":::", "a"]);
    assert_eq!(stdout_of(&output), "a\n");
    assert_eq!(stderr_of(&output), "echo a\n");
}
