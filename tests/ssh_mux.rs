//! A slot's tasks to its host run in one long-lived remote shell, a
//! session of the host's shared connection, with each task's output, exit
//! status, timeout and signals kept as a session of its own gives them.
//! Against the real sshd servers of `tests/ssh.rs`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::ssh::{processes_with, sleeper, Hosts};
use crate::util::{json_lines, stderr_of};

/// The session id (`setsid`, which sshd calls once per ssh session) of
/// each task, by input.
fn sessions_of(hosts: &Hosts, slots: &str, count: usize) -> Vec<(String, String)> {
    let mut args = vec![
        "imap",
        "--output",
        "json",
        "-S",
        slots,
        "-s",
        ": {}; cut -d' ' -f6 /proc/self/stat",
        ":::",
    ];
    let inputs: Vec<String> = (1..=count).map(|i| i.to_string()).collect();
    args.extend(inputs.iter().map(String::as_str));
    let out = hosts.ppool(&args).output().expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    if !out.stderr.is_empty() {
        eprintln!("ppool said: {}", stderr_of(&out));
    }
    lines
        .iter()
        .map(|l| {
            (
                l["slot"].to_string(),
                l["stdout"].as_str().expect("text output").trim().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_tasks_of_a_slot_run_in_one_remote_shell() {
    let Some(hosts) = Hosts::start(1) else { return };
    let seen = sessions_of(&hosts, "1/h1", 6);
    assert_eq!(seen.len(), 6);
    assert!(
        seen.iter().all(|s| s == &seen[0]),
        "a new ssh session per task: {seen:?}"
    );
    // Two slots: one shell each.
    let seen = sessions_of(&hosts, "2/h1", 8);
    let per_slot: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        seen.iter().fold(Default::default(), |mut map, (slot, sid)| {
            map.entry(slot.as_str()).or_default().insert(sid.as_str());
            map
        });
    assert!(per_slot.values().all(|sids| sids.len() == 1), "{per_slot:?}");
    let all: std::collections::BTreeSet<&str> = seen.iter().map(|(_, sid)| sid.as_str()).collect();
    assert_eq!(all.len(), per_slot.len(), "two slots shared a shell: {per_slot:?}");
}

#[test]
fn output_without_newlines_exit_codes_and_signals_stay_each_tasks_own() {
    let Some(hosts) = Hosts::start(1) else { return };
    let out = hosts
        .ppool(&[
            "imap",
            "--output",
            "json",
            "-S",
            "1/h1",
            "-s",
            "printf 'out{}'; printf 'err{}' >&2; if [ {} = 4 ]; then kill -9 $$; fi; exit {}",
            ":::",
            "0",
            "3",
            "4",
            "255",
            "0",
        ])
        .output()
        .expect("ppool runs");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 5, "{}", stderr_of(&out));
    for (line, code) in lines.iter().zip([0, 3, 137, 255, 0]) {
        let input = line["input"].as_str().expect("an input");
        assert_eq!(line["stdout"], format!("out{input}"), "{line}");
        assert!(
            line["stderr"]
                .as_str()
                .expect("text")
                .starts_with(&format!("err{input}")),
            "{line}"
        );
        assert_eq!(line["exit_code"], code, "{line}");
    }
    assert_eq!(out.status.code(), Some(3), "three tasks failed");
}

#[test]
fn what_a_tasks_background_process_writes_late_stays_that_tasks_output() {
    let Some(hosts) = Hosts::start(1) else { return };
    // Task 1 leaves a process behind that writes after the task has
    // exited; task 2 runs next in the same remote shell.
    let out = hosts
        .ppool(&[
            "imap",
            "--output",
            "json",
            "-S",
            "1/h1",
            "-s",
            "if [ {} = 1 ]; then (sleep 1; echo late; echo late-err >&2) & fi; echo task{}",
            ":::",
            "1",
            "2",
        ])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["stdout"], "task1\nlate\n", "{lines:?}");
    assert_eq!(lines[0]["stderr"], "late-err\n", "{lines:?}");
    assert_eq!(lines[1]["stdout"], "task2\n", "{lines:?}");
    assert_eq!(lines[1]["stderr"], "", "{lines:?}");
}

#[test]
fn a_timed_out_task_leaves_its_slot_a_new_shell_and_no_remote_process() {
    let Some(hosts) = Hosts::start(1) else { return };
    let (marker, sleeper) = sleeper(&hosts, "mux-timeout");
    let script = format!("if [ {{}} = 2 ]; then {sleeper} 60; fi; echo done {{}}");
    let out = hosts
        .ppool(&[
            "imap",
            "--output",
            "json",
            "--timeout",
            "3s",
            "--grace",
            "1s",
            "-S",
            "1/h1",
            "-s",
            &script,
            ":::",
            "1",
            "2",
            "3",
        ])
        .output()
        .expect("ppool runs");
    let lines = json_lines(&out.stdout);
    let status: Vec<&str> = lines.iter().map(|l| l["status"].as_str().unwrap_or("?")).collect();
    assert_eq!(status, ["ok", "timeout", "ok"], "{}", stderr_of(&out));
    assert_eq!(lines[2]["stdout"], "done 3\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processes_with(&marker).is_empty() {
        assert!(Instant::now() < deadline, "the timed-out remote task is still running");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn no_remote_shell_outlives_the_run() {
    let Some(hosts) = Hosts::start(1) else { return };
    let dir = hosts.dir().to_string_lossy().into_owned();
    let mut child = hosts
        .ppool(&[
            "unordered",
            "-S",
            "2/h1",
            "-s",
            "sleep 0.5; echo {}",
            ":::",
            "1",
            "2",
            "3",
            "4",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting ppool");
    // The local client of a remote shell names the run's end mark.
    let deadline = Instant::now() + Duration::from_secs(60);
    let token = loop {
        let found = processes_with(&dir).into_iter().find_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).into_owned();
            let at = text.find("ppool-end-")?;
            Some(text[at..at + "ppool-end-".len() + 32].to_owned())
        });
        if let Some(token) = found {
            break token;
        }
        assert!(Instant::now() < deadline, "no remote shell was started");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(child.wait().expect("ppool ends").success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processes_with(&token).is_empty() {
        assert!(
            Instant::now() < deadline,
            "a remote shell or its client outlived the run: {:?}",
            processes_with(&token)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The port of host `hN` of the test servers, from their ssh config.
fn port_of(hosts: &Hosts, n: usize) -> String {
    let config = std::fs::read_to_string(hosts.dir().join("ssh_config")).expect("the ssh config");
    let mut lines = config.lines().skip_while(|l| *l != format!("Host h{n}"));
    lines
        .find_map(|l| l.trim().strip_prefix("Port ").map(str::to_owned))
        .expect("a port for the host")
}

#[test]
fn a_login_may_be_an_ssh_command_with_the_host_last() {
    let Some(hosts) = Hosts::start(2) else { return };
    let config = hosts.dir().join("ssh_config").to_string_lossy().into_owned();
    let ssh = crate::ssh::find("ssh", &[]).expect("ssh is installed");
    // Both servers listen on 127.0.0.1: only the port tells them apart, and
    // $PPOOL_SSH, which cannot reach them, is not used.
    let first = format!("2/ssh -F {config} -p {} 127.0.0.1", port_of(&hosts, 1));
    let second = format!("{} -F {config} -p {} root@127.0.0.1", ssh.display(), port_of(&hosts, 2));
    std::fs::write(hosts.dir().join("logins"), format!("# two ports\n1/{second}\n")).expect("writing logins");
    let out = hosts
        .ppool(&[
            "unordered",
            "--output",
            "json",
            "-S",
            &first,
            "--ssh-file",
            "logins",
            "-s",
            "sleep 0.2; echo {} $SSH_CONNECTION",
            ":::",
        ])
        .args((1..=9).map(|i| i.to_string()))
        .env("PPOOL_SSH", "ssh -F /nonexistent/ssh_config")
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 9);
    let mut ports = std::collections::BTreeSet::new();
    for line in &lines {
        let host = line["host"].as_str().expect("a remote host");
        let port = line["stdout"]
            .as_str()
            .expect("text")
            .split_whitespace()
            .last()
            .unwrap_or("")
            .to_owned();
        // The job log and JSON name the login as it was written.
        let expected = if host.starts_with("ssh -F") {
            port_of(&hosts, 1)
        } else {
            port_of(&hosts, 2)
        };
        assert!(first.ends_with(host) || second.ends_with(host), "{line}");
        assert_eq!(port, expected, "{line}");
        ports.insert(port);
    }
    assert_eq!(ports.len(), 2, "both logins ran tasks: {lines:?}");
}

#[test]
fn the_job_log_counts_the_bytes_of_the_files_sent_and_returned() {
    let Some(hosts) = Hosts::start(1) else { return };
    let dir = hosts.dir();
    let workdir = dir.join("remote");
    std::fs::create_dir(&workdir).expect("making the working directory");
    let workdir = workdir.to_string_lossy().into_owned();
    std::fs::write(dir.join("small in.txt"), "0123456789").expect("writing an input");
    std::fs::write(dir.join("big.txt"), vec![b'x'; 12345]).expect("writing an input");
    let out = hosts
        .ppool(&[
            "imap",
            "-S",
            "h1",
            "--joblog",
            "log",
            "--wd",
            &workdir,
            "--trc",
            "{.}.out",
            "-s",
            "cat {} {} > {.}.out; echo printed",
            ":::",
            "small in.txt",
            "big.txt",
        ])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let log = std::fs::read_to_string(dir.join("log")).expect("the job log");
    let columns: Vec<(String, String)> = log
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields[4].to_owned(), fields[5].to_owned())
        })
        .collect();
    let mut columns = columns;
    columns.sort();
    assert_eq!(
        columns,
        [("10".into(), "20".into()), ("12345".into(), "24690".into())],
        "{log}"
    );
}

#[test]
fn every_task_of_a_long_run_gets_its_own_line_whole() {
    each_task_whole(200);
}

/// Long enough to catch, most runs, a race that takes one task in a
/// thousand on a loaded machine.
#[test]
#[ignore]
fn every_task_of_thousands_gets_its_own_line_whole() {
    each_task_whole(4000);
}

fn each_task_whole(count: usize) {
    let Some(hosts) = Hosts::start(1) else { return };
    let inputs: Vec<String> = (1..=count).map(|i| format!("line {i}")).collect();
    let out = hosts
        .ppool(&["imap", "--output", "json", "-S", "2/h1", "printf", "%s", "{}", ":::"])
        .args(&inputs)
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), inputs.len());
    let mut slots_seen = std::collections::HashSet::new();
    for (line, input) in lines.iter().zip(&inputs) {
        // A byte of a task taken by the remote shell's previous watcher
        // shows here as a changed command, and on stderr.
        assert_eq!(line["stdout"], input.as_str(), "{line}");
        // A slot's first task also gets what the remote login shell's rc
        // files print, which two logins at once may make them do.
        if !slots_seen.insert(line["slot"].to_string()) {
            assert_eq!(line["stderr"], "", "{line}");
        }
    }
}
