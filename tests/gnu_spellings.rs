//! What GNU parallel users type, checked byte for byte against GNU parallel
//! where it is installed: a file of command lines with no command, the
//! `--plus` replacement strings and `{-N}`.

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
    let mut all = vec!["-k", "-j1"];
    all.extend(args);
    // Its exit status is not compared: it counts skipped tasks as failed
    // ({choose_k}), where ppool exits 0.
    let output = crate::util::gnu_parallel_run(&all, stdin.as_bytes())?;
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

#[test]
fn plus_path_strings_match_gnu_parallel() {
    let args = [
        "--plus",
        "echo",
        "{+/}",
        "{+.}",
        "{+..}",
        "{+...}",
        "{..}",
        "{...}",
        "{/..}",
        "{/...}",
        "{.}",
        ":::",
        "dir/a.b.c.d",
        "x.y/z",
        ".h/a.b",
        "a.b.c",
        "/r",
        "a",
        "my dir/file.tar.gz",
    ];
    same_as_gnu(
        &args,
        "",
        "dir d c.d b.c.d dir/a.b dir/a a.b a dir/a.b.c\n\
         x.y y/z   x.y/z x.y/z z z x.y/z\n\
         .h b   .h/a.b .h/a.b a.b a.b .h/a\n \
         c b.c  a a.b.c a a.b.c a.b\n    \
         /r /r r r /r\n    \
         a a a a a\n\
         my dir gz tar.gz  my dir/file my dir/file.tar.gz file file.tar.gz my dir/file.tar\n",
    );
}

#[test]
fn plus_bash_like_strings_match_gnu_parallel() {
    same_as_gnu(
        &[
            "--plus",
            "echo",
            "{:1:1}",
            "{:3}",
            "{#a*}",
            "{##a*}",
            "{%c*}",
            "{/b/X}",
            "{//[a-c]/X}",
            "{/#a/Y}",
            "{/%c/Z}",
            "{^a}",
            "{^^[ab]}",
            ":::",
            "abcabc",
        ],
        "",
        "b abc abcabc bcabc abcabc aXcabc XXXXXX Ybcabc abcabZ Abcabc ABcABc\n",
    );
    // GNU parallel's own examples of the shortest and longest match.
    same_as_gnu(
        &[
            "--plus",
            "echo",
            "{%%.z.*z}",
            "{%.z.*z}",
            "{#z.*z.}",
            "{##z.*z.}",
            ":::",
            "foo.z.z.z",
            "z.z.z.foo",
        ],
        "",
        "foo foo.z foo.z.z.z foo.z.z.z\nz.z.z.foo z.z.z.foo z.foo foo\n",
    );
    // `{:-str}` is Perl's `||=`: a `0` is replaced too.
    same_as_gnu(
        &["--plus", "echo", "[{:-d}]", ":::", "abc", "0", ""],
        "",
        "[abc]\n[d]\n[d]\n",
    );
}

#[test]
fn plus_strings_take_a_field_number_and_minus_n_counts_from_the_end() {
    same_as_gnu(
        &[
            "--plus", "echo", "{2:-x}", "{1+.}", "{2..}", "{-1/..}", "{1+/}", ":::", "a.b/c.d", ":::", "",
        ],
        "",
        "x d   a.b\n",
    );
    same_as_gnu(
        &[
            "--plus", "echo", "{,A}", "{,,[AB]}", "{2^a}", "{-2,,B}", ":::", "ABCAB", ":::", "abc",
        ],
        "",
        "aBCAB abc abCab abc Abc AbCAb\n",
    );
    // `{-N}` needs no --plus.
    same_as_gnu(
        &[
            "echo", "{-1}", "{-2.}", "{-3/}", ":::", "a/b.x", ":::", "b.y", ":::", "c",
        ],
        "",
        "c b b.x\n",
    );
    same_as_gnu(&["echo", "{-1}"], "one line\n", "one line\n");
}

#[test]
fn plus_padded_slot_is_as_wide_as_the_number_of_slots() {
    let ours = ppool()
        .args(["imap", "-j12", "--plus", "echo", "{0%}", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&ours), "01\n");
    if let Some(gnu) = gnu_out(&["-j12", "--plus", "echo", "{0%}", ":::", "a"], "") {
        assert_eq!(gnu, "01\n");
    }
}

#[test]
fn plus_values_are_quoted_for_the_shell_and_strings_are_literal_without_plus() {
    let output = ppool()
        .args([
            "imap",
            "--shell",
            "--plus",
            "echo {:-x} {/a/\\$(id)}",
            ":::",
            "$(id)",
            "a",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "$(id) $(id)\na \\$(id)\n");
    // Without --plus they are text, as `cp f{,.bak}` must stay for the shell.
    same_as_gnu(
        &["echo", "{:-y}", "{+.}", "{^a}", ":::", "x"],
        "",
        "{:-y} {+.} {^a} x\n",
    );
    let output = ppool()
        .args(["imap", "--dry-run", "--shell", "cp {} {}{,.bak}", ":::", "x"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "cp x x{,.bak}\n");
}

#[test]
fn plus_total_and_filters_match_gnu_parallel() {
    let eleven = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"];
    let mut args = vec!["--plus", "echo", "{##}", "{0#}", ":::"];
    args.extend(eleven);
    let expected: String = (1..=11).map(|n| format!("11 {n:02}\n")).collect();
    same_as_gnu(&args, "", &expected);
    // Skipped tasks keep their numbers, as in GNU parallel.
    same_as_gnu(
        &[
            "--plus",
            "echo",
            "{#}",
            "{choose_k}",
            ":::",
            "1",
            "2",
            "3",
            ":::",
            "1",
            "2",
            "3",
        ],
        "",
        "2 1 2\n3 1 3\n6 2 3\n",
    );
    same_as_gnu(
        &["--plus", "echo", "{#}", "{uniq}", ":::", "a", "b", ":::", "a", "b"],
        "",
        "2 a b\n3 b a\n",
    );
    let output = ppool()
        .args([
            "imap", "--output", "json", "--plus", "echo", "{uniq}", ":::", "a", ":::", "a",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(crate::util::json_lines(&output.stdout)[0]["status"], "skipped");
}

#[test]
fn plus_strings_ppool_cannot_fill_are_usage_errors() {
    // The total is known ahead only for `:::` inputs.
    for placeholder in ["{##}", "{0#}"] {
        let output = ppool()
            .args(["imap", "--plus", "echo", placeholder])
            .write_stdin("a\n")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(255), "{placeholder}");
        assert!(
            stderr_of(&output).contains("needs the number of tasks"),
            "{}",
            stderr_of(&output)
        );
    }
    let output = ppool()
        .args(["imap", "--plus", "echo", "{/(/x}", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(
        stderr_of(&output).starts_with("ppool: {/(/x}: the pattern"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn gnu_aliases_are_accepted_and_listed_in_help() {
    for args in [
        &["-P", "2"][..],
        &["--linebuffer"],
        &["--bar"],
        &["--eta"],
        &["--sshlogin", ":"],
        &["-k"],
        &["--keep-order"],
    ] {
        let mode = if args[0] == "--linebuffer" { "unordered" } else { "imap" };
        let output = ppool()
            .arg(mode)
            .args(args)
            .args(["echo", ":::", "a"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
        assert_eq!(stdout_of(&output), "a\n", "{args:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, ":\n").unwrap();
    let output = ppool()
        .args(["imap", "--sshloginfile"])
        .arg(&hosts)
        .args(["echo", ":::", "b"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "b\n", "{}", stderr_of(&output));
    same_as_gnu(&["--dryrun", "echo", ":::", "a b"], "", "echo 'a b'\n");

    // An option ppool does not know is never taken for the command.
    for option in ["--no-such-option", "--pipepart-x", "-Y"] {
        let output = ppool().args(["imap", option, "echo", ":::", "a"]).output().unwrap();
        assert_eq!(output.status.code(), Some(255), "{option}");
        assert!(stdout_of(&output).is_empty());
        assert!(
            stderr_of(&output).contains("unexpected argument"),
            "{}",
            stderr_of(&output)
        );
    }
    let help = stdout_of(&ppool().args(["imap", "--help"]).output().unwrap());
    for alias in [
        "--sshlogin",
        "--sshloginfile",
        "--dryrun",
        "--bar",
        "--eta",
        "--pipe-part",
        "--roundrobin",
        "-k, --keep-order",
        "alias: -P",
        "--er",
        "--bnr",
        "--dnr",
        "--bner",
        "--seqreplace",
        "--slotreplace",
        "--plus",
    ] {
        assert!(help.contains(alias), "{alias} missing from imap --help");
    }
    let man = stdout_of(&ppool().arg("man").output().unwrap());
    for alias in [
        "[also: \\-P]",
        "\\-\\-sshlogin",
        "\\-\\-sshloginfile",
        "\\-\\-dryrun",
        "[also: \\-\\-bar]",
        "\\fB\\-\\-eta\\fR",
        "[also: \\-\\-pipe\\-part]",
    ] {
        assert!(man.contains(alias), "{alias} missing from the man page");
    }
    let help = stdout_of(&ppool().args(["unordered", "--help"]).output().unwrap());
    assert!(help.contains("--linebuffer"));
    assert!(!help.contains("--keep-order"), "unordered lists -k");
}

#[test]
fn keep_order_is_imap_order_and_unordered_refuses_it() {
    same_as_gnu(&["-k", "echo", ":::", "1", "2", "3"], "", "1\n2\n3\n");
    let output = ppool().args(["unordered", "-k", "echo", ":::", "a"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(
        stderr_of(&output).contains("use `ppool imap`"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn placeholder_renaming_options_match_gnu_parallel() {
    same_as_gnu(
        &[
            "--er",
            "XX",
            "--bnr",
            "BB",
            "--dnr",
            "DD",
            "--bner",
            "BE",
            "--seqreplace",
            "SQ",
            "--slotreplace",
            "SL",
            "echo",
            "XX",
            "{.}",
            "BB",
            "{/}",
            "DD",
            "{//}",
            "BE",
            "{/.}",
            "SQ",
            "{#}",
            "SL",
            "{%}",
            "{1.}",
            "{}",
            ":::",
            "d/a.b",
        ],
        "",
        "d/a {.} a.b {/} d {//} a {/.} 1 {#} 1 {%} {1.} d/a.b\n",
    );
    same_as_gnu(
        &[
            "--extensionreplace",
            "E",
            "--basenamereplace",
            "B",
            "echo",
            "E-B",
            ":::",
            "x/y.z",
        ],
        "",
        "x/y-y.z\n",
    );
    let output = ppool().args(["imap", "--er=", "echo", ":::", "a"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("--extensionreplace needs a non-empty STR"));
}

#[test]
fn delimiter_splits_input_as_xargs_and_gnu_parallel_do() {
    same_as_gnu(&["-d", "\\t", "echo", "[{}]"], "a\tb\tc", "[a]\n[b]\n[c]\n");
    same_as_gnu(&["-d", "||", "echo", "[{}]"], "a|b||c", "[a|b]\n[c]\n");
    same_as_gnu(&["-d", "\\0", "echo", "[{}]"], "a b\0c\nd", "[a b]\n[c\nd]\n");
    // The newline is data, as xargs -d keeps it.
    assert_eq!(ppool_out(&["-d", ",", "echo", "[{}]"], "a,b\n"), "[a]\n[b\n]\n");
    assert_eq!(ppool_out(&["-d", "\\x1f", "echo"], "a\x1fb"), "a\nb\n");
    assert_eq!(ppool_out(&["-d", "\\037", "echo"], "a\x1fb"), "a\nb\n");
    let output = ppool().args(["imap", "-0", "-d", ",", "echo"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
}

#[test]
fn eof_string_ends_the_input_as_xargs_e_does() {
    same_as_gnu(&["-E", "STOP", "echo"], "a\nSTOP\nb\n", "a\n");
    same_as_gnu(&["-E", "STOP", "echo", ":::", "a", "STOP", "b"], "", "a\n");
    // Only a whole record matches.
    same_as_gnu(&["-E", "STOP", "echo"], "a\nSTOPPED\nb\n", "a\nSTOPPED\nb\n");
}

#[test]
fn quote_runs_the_words_as_they_are_as_gnu_parallel_q_does() {
    same_as_gnu(
        &["-q", "sh", "-c", "echo \"$0\" \"$1\"", "a  b", ":::", "x y"],
        "",
        "a  b x y\n",
    );
    let output = ppool()
        .args(["imap", "-q", "--shell", "echo", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
}

#[test]
fn delay_spaces_task_starts_at_least_that_far_apart() {
    let dir = tempfile::tempdir().unwrap();
    let output = ppool()
        .current_dir(dir.path())
        .args([
            "unordered",
            "-j2",
            "--delay",
            "1s",
            "sh",
            "-c",
            "date +%s.%N > {}",
            ":::",
            "a",
            "b",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let at = |name: &str| -> f64 {
        std::fs::read_to_string(dir.path().join(name))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let (a, b) = (at("a"), at("b"));
    // A lower bound only: a loaded machine makes the gap longer, never shorter.
    assert!((a - b).abs() >= 0.9, "tasks started {:.3}s apart", (a - b).abs());
}

#[test]
fn nice_raises_the_niceness_of_the_tasks() {
    let ps = |args: &[&str]| -> i64 {
        let output = ppool()
            .args(["imap"])
            .args(args)
            .args(["sh", "-c", "ps -o ni= -p $$", ":::", "x"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr_of(&output));
        stdout_of(&output).trim().parse().unwrap()
    };
    assert_eq!(ps(&["--nice", "7"]), (ps(&[]) + 7).min(19));
    let output = ppool().args(["imap", "--nice", "40", "true"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
}

#[test]
fn minversion_says_whether_this_ppool_is_new_enough() {
    let output = ppool().args(["map", "--minversion", "0.0.1"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout_of(&output), format!("{}\n", env!("CARGO_PKG_VERSION")));
    let output = ppool().args(["map", "--minversion", "999.0"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("install a newer ppool"));
    let output = ppool().args(["map", "--minversion", "soon"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).starts_with("ppool: --minversion soon"));
}

#[test]
fn profiles_and_the_default_config_put_options_first() {
    let home = tempfile::tempdir().unwrap();
    let ours = home.path().join(".config/ppool");
    let gnu = home.path().join(".parallel");
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::create_dir_all(&gnu).unwrap();
    let run = |args: &[&str]| {
        ppool()
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME")
            .arg("imap")
            .args(args)
            .output()
            .unwrap()
    };
    // GNU parallel's file counts while ours is absent.
    std::fs::write(gnu.join("config"), "--tag\n").unwrap();
    assert_eq!(stdout_of(&run(&["echo", ":::", "a"])), "a\ta\n");
    std::fs::write(ours.join("config"), "# ours\n--tagstring 'x y'\n").unwrap();
    assert_eq!(stdout_of(&run(&["echo", ":::", "a"])), "x y\ta\n");
    // A profile replaces the default file; the command line comes after it.
    std::fs::write(ours.join("dry"), "--dry-run -j 3\n").unwrap();
    assert_eq!(stdout_of(&run(&["-J", "dry", "echo", ":::", "a"])), "echo a\n");
    assert_eq!(
        stdout_of(&run(&["--profile", "dry", "-j", "1", "echo", ":::", "a"])),
        "echo a\n"
    );
    // A profile that is not there is skipped with a warning, as GNU
    // parallel skips it (silently).
    let output = run(&["--profile", "nope", "--profile", "dry", "echo", ":::", "a"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "echo a\n");
    assert!(stderr_of(&output).starts_with("ppool: --profile nope: there is no file nope"));
    let output = run(&["--profile", "nope", "echo", ":::", "a"]);
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "a\n", "the default file is not read");
    std::fs::write(ours.join("bad"), "--no-such-option\n").unwrap();
    let output = run(&["-J", "bad", "echo", ":::", "a"]);
    assert_eq!(output.status.code(), Some(255));
    assert!(
        stderr_of(&output).contains("with the options of"),
        "{}",
        stderr_of(&output)
    );
    assert!(stdout_of(&output).is_empty());
}

#[test]
fn ungroup_passes_lines_on_as_line_buffer_does_in_unordered_only() {
    let output = ppool()
        .args([
            "unordered",
            "-u",
            "-j2",
            "sh",
            "-c",
            "echo {}1; echo {}2",
            ":::",
            "a",
            "b",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let mut lines: Vec<String> = stdout_of(&output).lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(lines, ["a1", "a2", "b1", "b2"]);
    for mode in ["imap", "map"] {
        let output = ppool().args([mode, "--ungroup", "echo", ":::", "a"]).output().unwrap();
        assert_eq!(output.status.code(), Some(255));
        assert!(
            stderr_of(&output).contains("ppool unordered -u"),
            "{}",
            stderr_of(&output)
        );
    }
}

#[test]
fn memfree_load_and_noswap_hold_task_starts_while_the_machine_is_over_them() {
    // Limits any machine meets: the tasks run.
    let output = ppool()
        .args([
            "imap",
            "--memfree",
            "1K",
            "--load",
            "100000",
            "--noswap",
            "echo",
            ":::",
            "a",
            "b",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "a\nb\n");
    // More free memory than any machine has: nothing starts, and a stop
    // reports the task as never started.
    let dir = tempfile::tempdir().unwrap();
    let child = crate::util::ppool_std()
        .current_dir(dir.path())
        .args(["unordered", "--memfree", "1P", "touch", ":::", "started"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: kill with a pid this test started and has not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert!(!dir.path().join("started").exists());
    assert!(stderr_of(&output).contains("not started"), "{}", stderr_of(&output));
    for (option, value) in [("--memfree", "lots"), ("--load", "0"), ("--load", "x%")] {
        let output = ppool().args(["imap", option, value, "true"]).output().unwrap();
        assert_eq!(output.status.code(), Some(255), "{option} {value}");
        assert!(stderr_of(&output).starts_with(&format!("ppool: {option} {value}")));
    }
}

#[test]
fn controlmaster_is_accepted_and_is_the_default() {
    // `echo` as the ssh command prints the words ssh would be given; it
    // starts no shared connection, so each task connects on its own.
    let ssh_words = |extra: &[&str]| {
        let output = ppool()
            .env("PPOOL_SSH", "echo")
            .args(["imap", "--sshlogin", "h1"])
            .args(extra)
            .args(["true", ":::", "a"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{extra:?}: {}", stderr_of(&output));
        stdout_of(&output)
    };
    let without = ssh_words(&[]);
    assert!(without.contains("-- h1 "), "{without}");
    assert_eq!(ssh_words(&["-M"]), without);
    assert_eq!(ssh_words(&["--controlmaster"]), without);
    let output = ppool().args(["imap", "-M", "true", ":::", "a"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("give hosts with --ssh"));
}

#[test]
fn termseq_in_term_then_kill_form_sets_the_grace() {
    // The task ignores SIGTERM: only the SIGKILL that ends the grace stops
    // it. With --grace 1h alone this run would last an hour.
    let mut child = crate::util::ppool_std()
        .args([
            "apply",
            "--timeout",
            "200ms",
            "--grace",
            "1h",
            "--termseq",
            "TERM,100,TERM,100,KILL,25",
        ])
        .args(["sh", "-c", "trap '' TERM; sleep 300 & wait; sleep 300"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the task was not killed: --termseq did not set the grace");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(124));
    let output = ppool()
        .args(["imap", "--termseq", "INT,200,TERM,100,KILL,25", "true", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("or use --grace"), "{}", stderr_of(&output));
}

#[test]
fn files_prints_the_path_of_a_file_holding_each_tasks_output() {
    let dir = tempfile::tempdir().unwrap();
    let output = ppool()
        .args(["imap", "--files", "--tmpdir"])
        .arg(dir.path())
        .args(["sh", "-c", "echo out {}; echo err {} >&2", ":::", "a", "b"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stderr_of(&output), "err a\nerr b\n");
    let paths: Vec<String> = stdout_of(&output).lines().map(str::to_owned).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    for (path, record) in paths.iter().zip(["a", "b"]) {
        let path = std::path::Path::new(path);
        assert_eq!(path.parent(), Some(dir.path()));
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(name.starts_with("par") && name.ends_with(".par"), "{name}");
        assert_eq!(std::fs::read_to_string(path).unwrap(), format!("out {record}\n"));
    }
    let output = ppool()
        .args(["imap", "--files", "--output", "json", "true", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
}
