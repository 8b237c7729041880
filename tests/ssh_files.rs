//! `--transferfile`, `--return`, `--cleanup`, `--workdir` and `--env`
//! against real sshd servers on 127.0.0.1 (see tests/ssh.rs). The hosts
//! are this machine, so a test sees the remote side's files in its own
//! directories. Each test returns early when no sshd can be started here.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ssh::Hosts;
use crate::util::{json_lines, stderr_of, stdout_of};

/// Inputs whose names need quoting, in a directory below the current one.
const NAMES: [&str; 3] = ["a b.txt", "it's \"q\" $x.txt", "-dash.txt"];

/// Every byte value, and the name: no two files are alike.
fn content(name: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..=255).collect();
    bytes.extend_from_slice(format!("\r\n{name}\n").as_bytes());
    bytes
}

/// Writes the inputs under `DIR/case/in/` and gives their paths relative to DIR.
fn inputs(dir: &Path, case: &str) -> Vec<String> {
    let sub = dir.join(case).join("in");
    std::fs::create_dir_all(&sub).expect("making the input directory");
    NAMES
        .iter()
        .map(|name| {
            std::fs::write(sub.join(name), content(name)).expect("writing an input");
            format!("{case}/in/{name}")
        })
        .collect()
}

fn out_name(input: &str) -> String {
    format!("{}.out", input.strip_suffix(".txt").expect("a .txt input"))
}

fn installed(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A PATH with ssh and tar but no rsync, so files go through ssh as tar.
fn path_without_rsync(dir: &Path, name: &str) -> PathBuf {
    let bin = dir.join(name);
    std::fs::create_dir_all(&bin).expect("making a bin directory");
    for program in ["ssh", "tar"] {
        let found = installed(program).unwrap_or_else(|| panic!("{program} is installed"));
        std::os::unix::fs::symlink(found, bin.join(program)).ok();
    }
    bin
}

/// A PATH whose rsync notes each of its runs in `log`, then is the real one.
fn path_with_logged_rsync(dir: &Path, rsync: &Path, log: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = path_without_rsync(dir, "bin-with-rsync");
    let script = bin.join("rsync");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            rsync.display()
        ),
    )
    .expect("writing rsync");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bin
}

fn run(mut command: Command, inputs: &[String]) -> std::process::Output {
    command.arg(":::").args(inputs);
    command.output().expect("ppool runs")
}

fn round_trip(hosts: &Hosts, case: &str, path: Option<&Path>) {
    let dir = hosts.dir();
    let workdir = dir.join(format!("{case}-remote"));
    let workdir_arg = workdir.to_string_lossy().into_owned();
    let inputs = inputs(dir, case);
    let mut command = hosts.ppool(&[
        "unordered",
        "-S",
        "2/h1",
        "--workdir",
        &workdir_arg,
        "--transferfile",
        "{}",
        "--return",
        "{.}.out",
        "-s",
        "cat -- {} {} > {.}.out",
    ]);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let out = run(command, &inputs);
    assert!(out.status.success(), "{case}: {}", stderr_of(&out));
    for (input, name) in inputs.iter().zip(NAMES) {
        // Here: the result came back, byte for byte.
        let back = std::fs::read(dir.join(out_name(input))).unwrap_or_else(|e| panic!("{case}: {input}: {e}"));
        assert_eq!(back, [content(name), content(name)].concat(), "{case}: {input}");
        // There: the input kept its place under the working directory.
        let sent = std::fs::read(workdir.join(input)).unwrap_or_else(|e| panic!("{case}: {input} on h1: {e}"));
        assert_eq!(sent, content(name), "{case}: {input}");
    }
}

#[test]
fn files_go_to_the_host_and_come_back_byte_for_byte() {
    let Some(hosts) = Hosts::start(1) else { return };
    round_trip(&hosts, "default", None);
    // Without rsync here, through the ssh connection.
    let path = path_without_rsync(hosts.dir(), "bin-without-rsync");
    round_trip(&hosts, "tar", Some(&path));
    // With rsync on both ends (the host is this machine), by rsync.
    let Some(rsync) = installed("rsync") else {
        eprintln!("rsync is not installed: its part of the test is skipped");
        return;
    };
    let log = hosts.dir().join("rsync.log");
    let path = path_with_logged_rsync(hosts.dir(), &rsync, &log);
    round_trip(&hosts, "rsync", Some(&path));
    let runs = std::fs::read_to_string(&log).expect("rsync ran");
    // One run to send and one to bring back per file.
    assert_eq!(runs.lines().count(), 2 * NAMES.len(), "{runs}");
}

#[test]
fn cleanup_leaves_the_remote_directory_empty() {
    let Some(hosts) = Hosts::start(1) else { return };
    let dir = hosts.dir();
    let workdir = dir.join("remote");
    std::fs::create_dir(&workdir).expect("making the working directory");
    let workdir_arg = workdir.to_string_lossy().into_owned();
    let inputs = inputs(dir, "clean");
    let out = run(
        hosts.ppool(&[
            "map",
            "-S",
            "h1",
            "--wd",
            &workdir_arg,
            "--trc",
            "{.}.out",
            "-s",
            "tr a-z A-Z < {} > {.}.out",
        ]),
        &inputs,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let left: Vec<_> = std::fs::read_dir(&workdir)
        .expect("the working directory is kept")
        .map(|e| e.expect("an entry").path())
        .collect();
    assert!(left.is_empty(), "left on the host: {left:?}");
    for input in &inputs {
        assert!(dir.join(out_name(input)).is_file(), "{input}");
    }

    // A path with /./: only the part after it goes to the host, where
    // the command names it so.
    let deep = dir.join("base/sub dir");
    std::fs::create_dir_all(&deep).expect("making a directory");
    std::fs::write(deep.join("x y.txt"), b"deep\n").expect("writing an input");
    let out = run(
        hosts.ppool(&[
            "map",
            "-S",
            "h1",
            "--wd",
            &workdir_arg,
            "--trc",
            "{.}.out",
            "-s",
            "tr a-z A-Z < 'sub dir/x y.txt' > 'sub dir/x y.out'; : {}",
        ]),
        &["base/./sub dir/x y.txt".to_owned()],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(
        std::fs::read(dir.join("base/sub dir/x y.out")).expect("the result came back"),
        b"DEEP\n"
    );
    assert_eq!(std::fs::read_dir(&workdir).expect("the working directory").count(), 0);
}

#[test]
fn a_temporary_workdir_is_removed_after_its_task() {
    let Some(hosts) = Hosts::start(1) else { return };
    std::fs::write(hosts.dir().join("w x.txt"), b"was there\n").expect("writing an input");
    let out = run(
        hosts.ppool(&[
            "imap",
            "-S",
            "h1",
            "--workdir",
            "...",
            "--tf",
            "{}",
            "-s",
            "pwd; cat {}",
        ]),
        &["w x.txt".to_owned()],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = stdout_of(&out);
    let mut lines = stdout.lines();
    let pwd = lines.next().expect("pwd printed");
    assert!(pwd.contains("/.parallel/tmp/"), "{stdout}");
    assert_eq!(lines.next(), Some("was there"), "{stdout}");
    assert!(!Path::new(pwd).exists(), "{pwd} is still there");
}

#[test]
fn env_sends_hostile_values_unchanged() {
    let Some(hosts) = Hosts::start(1) else { return };
    let values = [
        ("V1", "'; touch PWNED; '"),
        ("V2", "$(touch PWNED)"),
        ("V3", "`touch PWNED`\nline two"),
        ("V4", "a  b \"q\" \\ $HOME ~ * ; & | > <"),
        ("V5", ""),
    ];
    let mut command = hosts.ppool(&[
        "map",
        "-S",
        "h1",
        "--env",
        "V1",
        "--env",
        "V2,V3",
        "--env",
        "V4",
        "--env",
        "V5",
        "--env",
        "NOT_SET_ANYWHERE",
        "-s",
        "printf '[%s]' \"$V1\" \"$V2\" \"$V3\" \"$V4\" \"${V5-unset}\" \"${NOT_SET_ANYWHERE-unset}\"; : {}",
        ":::",
        "x",
    ]);
    command.env_remove("NOT_SET_ANYWHERE");
    for (name, value) in values {
        command.env(name, value);
    }
    let out = command.output().expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let expected: String = values.iter().map(|(_, v)| format!("[{v}]")).collect::<String>() + "[unset]";
    assert_eq!(stdout_of(&out), expected);
    assert!(!hosts.dir().join("PWNED").exists(), "a value ran as a command");
    assert!(!Path::new("/root/PWNED").exists(), "a value ran as a command");

    let out = hosts
        .ppool(&["map", "-S", "h1", "--env", "1BAD", "true"])
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr_of(&out).contains("--env 1BAD"), "{}", stderr_of(&out));
}

#[test]
fn env_underscore_sends_what_a_clean_login_does_not_have() {
    let Some(hosts) = Hosts::start(1) else { return };
    let home = hosts.dir().join("home");
    std::fs::create_dir_all(home.join(".parallel")).expect("making a home");
    let ssh = format!("ssh -F {}", hosts.dir().join("ssh_config").display());
    let line = "printf '[%s]' \"${KEPT-unset}\" \"${SKIPPED-unset}\"; : {}";
    let ppool = |home: &Path| {
        let mut command = hosts.ppool(&["map", "-S", "h1", "--env", "_", "-s", line, ":::", "x"]);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("SHELL", "/bin/sh")
            .env("PPOOL_SSH", &ssh)
            .env("KEPT", "v $x 'q'")
            .env("SKIPPED", "no");
        command.output().expect("ppool runs")
    };
    // GNU parallel's list of the variables a clean login has.
    std::fs::write(home.join(".parallel/ignored_vars"), "PATH\nHOME\nSKIPPED\n").expect("writing ignored_vars");
    let out = ppool(&home);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "[v $x 'q'][unset]");
    // Without it, what a login shell started afresh does not set.
    let bare = hosts.dir().join("bare-home");
    std::fs::create_dir_all(&bare).expect("making a home");
    let out = ppool(&bare);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "[v $x 'q'][no]");
}

#[test]
fn a_failed_transfer_is_the_tasks_failure_with_status_transfer() {
    let Some(hosts) = Hosts::start(1) else { return };
    let workdir = hosts.dir().join("remote");
    let workdir_arg = workdir.to_string_lossy().into_owned();
    let out = run(
        hosts.ppool(&[
            "map",
            "--output",
            "json",
            "-S",
            "h1",
            "--wd",
            &workdir_arg,
            "--tf",
            "{}",
            "cat",
        ]),
        &["missing file.txt".to_owned()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["status"], "transfer", "{lines:?}");
    let stderr = lines[0]["stderr"].as_str().expect("stderr text");
    assert!(stderr.contains("cannot send missing file.txt to h1"), "{stderr}");

    // A result that does not come back: `transfer` when the command
    // succeeded, its own failure when it failed.
    let out = run(
        hosts.ppool(&[
            "map",
            "--output",
            "json",
            "-S",
            "h1",
            "--wd",
            &workdir_arg,
            "--return",
            "{}.out",
            "-s",
            "exit {}",
        ]),
        &["0".to_owned(), "3".to_owned()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["status"], "transfer", "{lines:?}");
    assert_eq!(lines[0]["exit_code"], 0, "{lines:?}");
    let stderr = lines[0]["stderr"].as_str().expect("stderr text");
    assert!(stderr.contains("cannot bring 0.out back from h1"), "{stderr}");
    assert_eq!(lines[1]["status"], "failed", "{lines:?}");
    assert_eq!(lines[1]["exit_code"], 3, "{lines:?}");

    // The job log marks it as a task that did not end well on its own.
    let log = hosts.dir().join("log");
    let out = run(
        hosts.ppool(&[
            "map",
            "--joblog",
            &log.to_string_lossy(),
            "-S",
            "h1",
            "--tf",
            "{}",
            "cat",
        ]),
        &["missing.txt".to_owned()],
    );
    assert_eq!(out.status.code(), Some(1));
    let log = std::fs::read_to_string(log).expect("the job log");
    let columns: Vec<&str> = log.lines().nth(1).expect("a task line").split('\t').collect();
    assert_eq!(columns[6], "-1", "{log}");
}

#[test]
fn this_machine_never_transfers() {
    let Some(hosts) = Hosts::start(1) else { return };
    // On ':' nothing is copied: a missing input and a result never made are no failure.
    let out = run(
        hosts.ppool(&["map", "-S", ":", "--trc", "{}.out", "--wd", "...", "true"]),
        &["not here".to_owned()],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stderr_of(&out), "");
}

#[test]
fn a_host_that_cannot_be_reached_to_send_files_hands_the_task_to_another() {
    let Some(hosts) = Hosts::start(1) else { return };
    let inputs: Vec<String> = (1..=6).map(|i| format!("f{i}.txt")).collect();
    for input in &inputs {
        std::fs::write(hosts.dir().join(input), input).expect("writing an input");
    }
    let workdir = hosts.dir().join("remote");
    let mut command = hosts.ppool(&[
        "unordered",
        "--output",
        "json",
        "-S",
        "1/dead,1/h1",
        "--wd",
        &workdir.to_string_lossy(),
        "--tf",
        "{}",
        "cat",
    ]);
    command.env("PPOOL_SSH_RETRY_AFTER", "60s");
    let out = run(command, &inputs);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), inputs.len());
    for line in &lines {
        assert_eq!(line["status"], "ok", "{line}");
        assert_eq!(line["host"], "h1", "{line}");
        assert_eq!(line["stdout"], line["input"], "{line}");
        assert_eq!(line["attempts"], 1, "{line}");
    }
}
