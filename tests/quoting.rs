//! Values are quoted for the shell context they stand in: hostile records
//! through every context, every shell and every way a shell reads them,
//! arrive as the exact bytes and run nothing.

use std::path::Path;

use crate::util::{ppool, stderr_of, stdout_of};

/// Records that would run code, split words, glob or change meaning if a
/// shell read them as anything but data.
const HOSTILE: [&[u8]; 26] = [
    b"'; touch PWNED; '",
    b"\"; touch PWNED; \"",
    b"'\"; touch PWNED #",
    b"$(touch PWNED)",
    b"`touch PWNED`",
    b"x; touch PWNED",
    b"x && touch PWNED",
    b"\\",
    b"trailing\\",
    b"\\\"; touch PWNED; \\\"",
    b"a\nb\ntouch PWNED\n",
    b"\n",
    b"# not a comment",
    b"*",
    b"!",
    b"!!",
    b"-n",
    b"-e",
    b"",
    b"~",
    b"~root/x",
    b"$HOME ${HOME} $'\\x41' $((1+1))",
    b"\xc3\xa9t\xc3\xa9 \xe2\x9c\x93",
    b"\xff\xfe\x80",
    b"a'b\"c`d$e\\f",
    b"' \" ` $ \\ ; & | < > ( ) { } [ ] * ? ~ # ! %\t",
];

/// What a script writes for a value.
type Expected = fn(&[u8]) -> Vec<u8>;

/// Scripts that write the value to `out.SEQ`, one per context, and what
/// each writes for a value.
fn contexts() -> [(&'static str, Expected); 6] {
    fn same(v: &[u8]) -> Vec<u8> {
        v.to_vec()
    }
    fn dot(v: &[u8]) -> Vec<u8> {
        [v, b"."].concat()
    }
    fn framed(v: &[u8]) -> Vec<u8> {
        [b"<", v, b">"].concat()
    }
    [
        ("printf %s {} > out.{#}", same),
        ("printf %s '{}' > out.{#}", same),
        ("printf %s \"{}\" > out.{#}", same),
        ("printf %s \"$(printf %s {}; printf .)\" > out.{#}", dot),
        ("printf %s \"$(printf %s \"{}\"; printf .)\" > out.{#}", dot),
        ("printf %s \"<\"'{}'\">\" > out.{#}", framed),
    ]
}

fn nul_separated(records: &[&[u8]]) -> Vec<u8> {
    records.iter().flat_map(|r| r.iter().copied().chain([0])).collect()
}

/// Runs every context over the corpus with `args` before the script (the
/// script is the last word), then checks each file's bytes and that the
/// directory holds nothing else.
fn every_context(args: &[&str], env: &[(&str, &str)]) {
    for (script, expected) in contexts() {
        let dir = tempfile::tempdir().unwrap();
        let mut command = ppool();
        command
            .current_dir(dir.path())
            .args(["imap", "-0", "-j2"])
            .args(args)
            .arg(script);
        for (key, value) in env {
            command.env(key, value);
        }
        let out = command.write_stdin(nul_separated(&HOSTILE)).output().unwrap();
        assert!(out.status.success(), "{script}: {}", stderr_of(&out));
        check_files(dir.path(), script, expected);
    }
}

fn check_files(dir: &Path, script: &str, expected: Expected) {
    for (i, record) in HOSTILE.iter().enumerate() {
        let file = dir.join(format!("out.{}", i + 1));
        let got = std::fs::read(&file).unwrap_or_else(|e| panic!("{script}: {}: {e}", file.display()));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected(record)),
            "{script} with {:?}",
            String::from_utf8_lossy(record)
        );
        assert_eq!(got, expected(record));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut want: Vec<String> = (1..=HOSTILE.len()).map(|n| format!("out.{n}")).collect();
    want.sort();
    assert_eq!(names, want, "{script}: a record ran as code");
}

#[test]
fn shell_mode_with_sh_keeps_every_record_literal_in_every_context() {
    every_context(&["-s"], &[("PPOOL_SHELL", "/bin/sh")]);
}

#[test]
fn shell_mode_with_bash_keeps_every_record_literal_in_every_context() {
    every_context(&["-s"], &[("PPOOL_SHELL", "bash")]);
}

#[test]
fn sh_dash_c_script_keeps_every_record_literal_in_every_context() {
    every_context(&["sh", "-c"], &[]);
}

#[test]
fn bash_dash_c_script_keeps_every_record_literal_in_every_context() {
    every_context(&["/bin/bash", "-ec"], &[]);
}

#[test]
fn a_shell_run_through_env_is_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let out = ppool()
        .current_dir(dir.path())
        .args(["imap", "env", "X=1", "sh", "-c", "printf '%s|' '{}' \"$X\""])
        .write_stdin("it's; touch PWNED\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "it's; touch PWNED|1|");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn env_options_in_any_spelling_still_find_the_shell() {
    for env in [
        &["env", "--", "X=1"][..],
        &["env", "-i", "--", "X=1"],
        &["env", "-iu", "Y", "X=1"],
        &["env", "-iC", ".", "X=1"],
        &["env", "--chdir", ".", "X=1"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = ppool()
            .current_dir(dir.path())
            .args(["imap"])
            .args(env)
            .args(["sh", "-c", "printf '%s|' '{}' \"$X\""])
            .write_stdin("'; touch PWNED; '\n")
            .output()
            .unwrap();
        assert!(out.status.success(), "{env:?}: {}", stderr_of(&out));
        assert_eq!(stdout_of(&out), "'; touch PWNED; '|1|", "{env:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{env:?}");
    }
    // `env -S` hides which word is the script: refused.
    let out = ppool()
        .args(["imap", "env", "-S", "sh -c", "echo {}", ":::", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr_of(&out).starts_with("ppool: ") && stderr_of(&out).contains("env -S"));
}

#[test]
fn a_second_shell_never_reads_a_placeholder() {
    for args in [
        &["-s", "sh -c 'echo {}'"][..],
        &["-s", "timeout 5 bash -c \"echo {}\""],
        &["-s", "eval echo {}"],
        &["sh", "-c", "sh -c 'echo {}'"],
        &["timeout", "5", "sh", "-c", "echo {}"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = ppool()
            .current_dir(dir.path())
            .args(["imap"])
            .args(args)
            .args([":::", "x; touch PWNED"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255), "{args:?}");
        let err = stderr_of(&out);
        assert!(
            err.starts_with("ppool: ") && (err.contains("\"$1\"") || err.contains("eval")),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{args:?}");
    }
    // As an argument of the script, the value is data.
    let dir = tempfile::tempdir().unwrap();
    let out = ppool()
        .current_dir(dir.path())
        .args([
            "imap",
            "-s",
            "timeout 5 sh -c 'echo \"$1\"' sh {}",
            ":::",
            "x; touch PWNED",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "x; touch PWNED\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_subscript_that_runs_a_command_never_reaches_a_shell() {
    for script in ["[[ {} -eq 1 ]]", "let x={}", "a[{}]=1", "declare -i x; x='{}'"] {
        let dir = tempfile::tempdir().unwrap();
        let out = ppool()
            .current_dir(dir.path())
            .args([
                "imap",
                "bash",
                "-c",
                script,
                ":::",
                "1",
                "a[$(touch PWNED)]",
                "x[`touch PWNED`]",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{script}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        assert!(err.contains("record 2 holds `[` and then `$(`"), "{script}: {err}");
        assert!(err.contains("invalid-input"), "{script}: {err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{script}");
    }
}

#[test]
fn a_batch_gives_the_script_of_sh_c_every_record() {
    for batch in [&["-N2"][..], &["-n", "2"], &["-X", "-j1"], &["-m", "-j1"]] {
        let out = ppool()
            .args(["imap"])
            .args(batch)
            .args(["sh", "-c", "echo {}", ":::", "a", "b c", "it's"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{batch:?}: {}", stderr_of(&out));
        let printed = stdout_of(&out);
        let words: Vec<&str> = printed.split_whitespace().collect();
        assert_eq!(words, ["a", "b", "c", "it's"], "{batch:?}: {printed}");
    }
}

#[test]
fn the_readme_pattern_prints_the_record_literally() {
    let dir = tempfile::tempdir().unwrap();
    let out = ppool()
        .current_dir(dir.path())
        .args(["imap", "sh", "-c", "echo {}"])
        .write_stdin("x; touch PWNED\n$(touch PWNED2) *\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "x; touch PWNED\n$(touch PWNED2) *\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn dry_run_prints_the_context_quoting_that_runs() {
    let out = ppool()
        .args(["imap", "--dry-run", "-s", "echo {} '{}' \"{}\"", ":::", "it's $x"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "echo 'it'\\''s $x' 'it'\\''s $x' \"it's \\$x\"\n");
    let out = ppool()
        .args(["imap", "--dry-run", "sh", "-c", "echo \"{}\"", ":::", "`id`"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&out), "sh -c 'echo \"\\`id\\`\"'\n");
}

#[test]
fn a_placeholder_where_no_quoting_is_safe_is_a_usage_error() {
    for (script, names) in [
        ("echo `echo {}`", "backquotes"),
        ("cat <<EOF\n{}\nEOF", "here-document"),
        ("echo ${x:-{}}", "${…}"),
        ("echo $'{}'", "$'…'"),
        ("echo \\{}", "backslash"),
        ("echo '{}", "ends inside"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = ppool()
            .current_dir(dir.path())
            .args(["imap", "-s", script, ":::", "touch PWNED"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255), "{script}");
        let err = stderr_of(&out);
        assert!(err.starts_with("ppool: ") && err.contains(names), "{script}: {err}");
        assert!(out.stdout.is_empty(), "{script}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

#[test]
fn arithmetic_takes_integers_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = ppool()
        .current_dir(dir.path())
        .args([
            "imap",
            "bash",
            "-c",
            "echo $(( {} + 1 ))",
            ":::",
            "41",
            "a[$(touch PWNED)]",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "42\n");
    assert!(stderr_of(&out).contains("invalid-input"), "{}", stderr_of(&out));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_value_in_a_comment_cannot_end_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = ppool()
        .current_dir(dir.path())
        .args(["imap", "-0", "-s", "echo ok # {}"])
        .write_stdin(&b"x\ntouch PWNED\n\0"[..])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "ok\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Heavy: one ssh connection per record and run.
#[test]
#[ignore]
fn over_ssh_every_context_keeps_every_record_literal() {
    let Some(hosts) = crate::ssh::Hosts::start(1) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Every context in one script, each writing its own file.
    let mut line = format!("cd '{}'", dir.path().display());
    for (n, (script, _)) in contexts().iter().enumerate() {
        line.push_str(&format!(" && mkdir -p c{n} && (cd c{n} && {script})"));
    }
    for args in [&["-s"][..], &["sh", "-c"][..]] {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            std::fs::remove_dir_all(entry.unwrap().path()).unwrap();
        }
        let mut all = vec!["imap", "-0", "-S", "2/h1"];
        all.extend(args);
        all.push(&line);
        let out = crate::ssh::run_with_stdin(hosts.ppool(&all), &nul_separated(&HOSTILE));
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        for (n, (script, expected)) in contexts().iter().enumerate() {
            check_files(&dir.path().join(format!("c{n}")), script, *expected);
        }
    }
}
