//! Several input sources (`::::`, repeated `-a`, `--link`, `:::+`) and named
//! columns (`--header :`, `--csv`, `--colsep`, `--colsep-regex`, `--trim`),
//! compared byte for byte with GNU parallel where it is installed.

use std::path::Path;

use crate::util::{ppool, stderr_of, stdout_of};

/// Runs `ppool imap ARGS` in `dir`; returns stdout.
fn imap(dir: &Path, args: &[&str]) -> String {
    let output = ppool().current_dir(dir).arg("imap").args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    stdout_of(&output)
}

/// A directory with the files the tests read.
fn files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("f", "f1\nf2\n");
    write("g", "g1\ng2\ng3\n");
    write("h.tsv", "a\tb\n1\t2\n3 x\t4\n");
    write("c.csv", "n,m\n1,\"2,3\"\n\"x\ny\",z\n");
    write("t", " a , b \n");
    dir
}

#[test]
fn file_sources_form_the_product_after_arg_files() {
    let dir = files();
    assert_eq!(
        imap(dir.path(), &["echo", ":::", "x", "y", "::::", "f"]),
        "x f1\nx f2\ny f1\ny f2\n"
    );
    assert_eq!(
        imap(dir.path(), &["-a", "f", "-a", "g", "echo", "{2}{1}"])
            .lines()
            .count(),
        6
    );
    assert_eq!(imap(dir.path(), &["-a", "f", "echo", ":::", "x"]), "f1 x\nf2 x\n");
    // `:::+` pairs with the `:::` source before it; `-a` files are not one.
    assert_eq!(
        imap(dir.path(), &["-a", "f", "echo", ":::+", "p", "q", "r"]),
        "f1 p\nf1 q\nf1 r\nf2 p\nf2 q\nf2 r\n"
    );
}

#[test]
fn dash_is_stdin() {
    let dir = files();
    let output = ppool()
        .current_dir(dir.path())
        .args(["imap", "echo", ":::", "x", "::::", "-"])
        .write_stdin("s1\ns2\n")
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), "x s1\nx s2\n");
    // Twice is refused: stdin can be read once.
    for args in [&["-a", "-", "-a", "-", "echo"][..], &["echo", "::::", "-", "-"]] {
        let output = ppool().args(["imap"]).args(args).write_stdin("s1\n").output().unwrap();
        assert_eq!(output.status.code(), Some(255), "{args:?}");
        assert!(
            stderr_of(&output).starts_with("ppool: stdin is given as more than one"),
            "{args:?}"
        );
    }
}

#[test]
fn link_wraps_and_plus_pairs_with_the_shortest() {
    let dir = files();
    let args = ["--link", "echo", ":::", "a", "b", "c", ":::", "1", "2"];
    assert_eq!(imap(dir.path(), &args), "a 1\nb 2\nc 1\n");
    let args = ["echo", ":::", "a", "b", "c", ":::+", "1", "2", ":::", "x", "y"];
    assert_eq!(imap(dir.path(), &args), "a 1 x\na 1 y\nb 2 x\nb 2 y\n");
    assert_eq!(imap(dir.path(), &["echo", "::::", "f", "::::+", "g"]), "f1 g1\nf2 g2\n");
}

#[test]
fn renamed_separators() {
    let dir = files();
    let args = ["--arg-sep", ",,", "echo", ",,", "a", ":::"];
    assert_eq!(imap(dir.path(), &args), "a\n:::\n");
    let args = ["--arg-file-sep", "@@", "echo", "@@", "f", ":::", "x"];
    assert_eq!(imap(dir.path(), &args), "f1 x\nf2 x\n");
}

#[test]
fn unknown_colon_words_are_refused() {
    for word in [":::::", "::::::+"] {
        let output = ppool().args(["imap", "echo", word, "a"]).output().unwrap();
        assert_eq!(output.status.code(), Some(255), "{word}");
        let err = stderr_of(&output);
        assert!(err.starts_with(&format!("ppool: unknown separator {word}")), "{err}");
    }
    // Fewer colons, or other text after them, are plain words.
    let output = ppool()
        .args(["imap", "echo", "::", ":::x", "::::++", ":::", "a"])
        .output()
        .unwrap();
    assert_eq!(stdout_of(&output), ":: :::x ::::++ a\n");
}

#[test]
fn an_unreadable_source_is_named_and_exits_255() {
    let dir = files();
    let output = ppool()
        .current_dir(dir.path())
        .args(["imap", "echo", "::::", "f", "no-such-file"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(
        stderr_of(&output).contains("cannot open :::: no-such-file"),
        "{}",
        stderr_of(&output)
    );
    let output = ppool().args(["imap", "-a", ".", "echo"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(
        stderr_of(&output).contains("--arg-file . at line 1"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn header_names_columns_and_sources() {
    let dir = files();
    assert_eq!(
        imap(dir.path(), &["--header", ":", "echo", "{b}-{a}", "::::", "h.tsv"]),
        "2-1\n4-3 x\n"
    );
    let args = ["--header", ":", "echo", "{y}{x}", ":::", "x", "1", "2", ":::", "y", "a"];
    assert_eq!(imap(dir.path(), &args), "a1\na2\n");
    let output = ppool().args(["imap", "--header", "x.*", "echo"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("--header :"), "{}", stderr_of(&output));
}

#[test]
fn csv_fields_with_quotes_separators_and_newlines() {
    let dir = files();
    let args = ["--csv", "--header", ":", "echo", "[{m}]", "[{n}]", "::::", "c.csv"];
    assert_eq!(imap(dir.path(), &args), "[2,3] [1]\n[z] [x\ny]\n");
    let args = ["--csv", "--colsep", ";", "echo", "{2}", ":::", "a;\"b;c\""];
    assert_eq!(imap(dir.path(), &args), "b;c\n");
}

#[test]
fn a_bad_csv_record_is_its_own_invalid_input() {
    let dir = files();
    std::fs::write(dir.path().join("bad.csv"), "a,b\nx\"y,z\n1,2\n").unwrap();
    let output = ppool()
        .current_dir(dir.path())
        .args(["imap", "--csv", "--output", "json", "echo", "{2}", "::::", "bad.csv"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let lines = crate::util::json_lines(&output.stdout);
    let statuses: Vec<&str> = lines.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["ok", "invalid-input", "ok"]);
    let message = lines[1]["stderr"].as_str().unwrap();
    assert!(
        message.contains("invalid CSV in :::: bad.csv, line 2, column 2"),
        "{message}"
    );
}

#[test]
fn colsep_escapes_and_regex() {
    let dir = files();
    assert_eq!(
        imap(dir.path(), &["--colsep", "\\t", "echo", "{2}", ":::", "a\tb"]),
        "b\n"
    );
    assert_eq!(
        imap(dir.path(), &["--colsep", "\\\\", "echo", "{2}", ":::", "a\\b"]),
        "b\n"
    );
    let args = ["--colsep-regex", ", *", "echo", "{2}", ":::", "a,   b"];
    assert_eq!(imap(dir.path(), &args), "b\n");
    let output = ppool().args(["imap", "--colsep-regex", "(", "echo"]).output().unwrap();
    assert_eq!(output.status.code(), Some(255));
}

#[test]
fn trim_each_field() {
    let dir = files();
    let args = ["--trim", "lr", "--colsep", ",", "echo", "[{1}]", "[{2}]", "::::", "t"];
    assert_eq!(imap(dir.path(), &args), "[a] [b]\n");
    let args = ["--trim", "r", "echo", "[{1}]", "[{2}]", ":::", " a ", ":::", " b "];
    assert_eq!(imap(dir.path(), &args), "[ a] [ b]\n");
}

#[test]
fn a_single_file_streams() {
    // The first line runs before the input ends: the reader waits for
    // the file to be extended only after its task has started.
    let dir = files();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let done = dir.path().join("done");
    let mut child = crate::util::ppool_std()
        .args(["imap", "sh", "-c", "touch \"$0\"", "::::"])
        .arg(&fifo)
        .spawn()
        .unwrap();
    // Opening a FIFO to write blocks until it has a reader: wait for ppool
    // to open it, without blocking, so a ppool that never does fails here.
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut writer = loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
        {
            Ok(writer) => break writer,
            Err(e) if std::time::Instant::now() < deadline && e.raw_os_error() == Some(libc::ENXIO) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => {
                let _ = child.kill();
                panic!("ppool never opened the FIFO: {e}");
            }
        }
    };
    writeln!(writer, "{}", done.display()).unwrap();
    writer.flush().unwrap();
    let started = crate::util::wait_for_file(&done, std::time::Duration::from_secs(60));
    drop(writer);
    if !started {
        let _ = child.kill();
    }
    assert!(started, "the first line did not run before the input ended");
    assert!(child.wait().unwrap().success());
}

/// Whether GNU parallel is here to compare with.
fn gnu_parallel() -> bool {
    let found = std::process::Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("GNU parallel"));
    if !found {
        println!("SKIP: GNU parallel is not installed; no byte-for-byte comparison");
    }
    found
}

#[test]
fn same_output_as_gnu_parallel() {
    if !gnu_parallel() {
        return;
    }
    let dir = files();
    let cases: &[&[&str]] = &[
        &["echo", ":::", "x", "y", "::::", "f"],
        &["-a", "f", "-a", "g", "echo"],
        &["--link", "-a", "f", "-a", "g", "echo"],
        &["--link", "echo", ":::", "a", "b", "c", ":::", "1", "2", ":::", "X"],
        &["echo", ":::", "a", ":::+", "b", "c", ":::", "x", "y"],
        &["echo", "::::", "f", "::::+", "g"],
        &["-a", "f", "echo", ":::+", "p", "q", "r"],
        &["-a", "f", "echo", "::::+", "g"],
        &["--header", ":", "echo", "{a}-{b}", "::::", "h.tsv"],
        &["--header", ":", "echo", "{f1}", "{x}", "::::", "f", ":::", "x", "y"],
        &["--header", ":", "--colsep", ",", "echo", "{a}{b}", ":::", "a,b", "1,2"],
        &["--csv", "--header", ":", "echo", "[{n}]", "[{m}]", "::::", "c.csv"],
        &["--csv", "echo", "[{1}]", "[{2}]", "::::", "c.csv"],
        &["--trim", "lr", "--colsep", ",", "echo", "[{1}]", "[{2}]", "::::", "t"],
        &["--trim", "l", "echo", "[{1}]", "[{2}]", ":::", " a ", ":::", " b "],
        &["--trim", "lr", "echo", "[{}]", "::::", "t"],
    ];
    for args in cases {
        let gnu = std::process::Command::new("parallel")
            .current_dir(dir.path())
            .args(["--will-cite", "-k"])
            .args(*args)
            .output()
            .unwrap();
        if args.contains(&"--csv") && !gnu.status.success() {
            // GNU's --csv needs Perl's Text::CSV.
            println!("SKIP: {args:?}: {}", String::from_utf8_lossy(&gnu.stderr));
            continue;
        }
        let ours = ppool()
            .current_dir(dir.path())
            .arg("imap")
            .args(*args)
            .output()
            .unwrap();
        assert_eq!(stdout_of(&ours), String::from_utf8_lossy(&gnu.stdout), "{args:?}");
    }
}
