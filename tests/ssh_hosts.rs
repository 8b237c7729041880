//! Remote hosts as a pool: slots from each host's CPUs, one shared ssh
//! connection per host, `--onall` / `--nonall`, host groups and an
//! `--ssh-file` that changes during the run. Against the real sshd servers
//! of `tests/ssh.rs`; each test returns early when none can be started.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::ssh::{processes_with, sleeper, Hosts};
use crate::util::{json_lines, stderr_of, stdout_of};

/// Waits for `done`, polling, with a deadline generous enough for ssh
/// connections on a loaded machine.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// This machine's CPUs as `nproc` counts them: what the test servers,
/// which run here, answer.
fn nproc() -> usize {
    let out = Command::new("nproc").output().expect("nproc runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("nproc prints a number")
}

/// The slots the tasks of a run used.
fn slots_used(lines: &[Value]) -> BTreeSet<u64> {
    lines.iter().map(|l| l["slot"].as_u64().expect("a slot")).collect()
}

/// Runs `count` tasks that each take a while, so that every slot is used.
fn busy_run(hosts: &Hosts, options: &[&str], count: usize) -> Vec<Value> {
    let mut args = vec!["unordered", "--output", "json"];
    args.extend(options);
    args.extend(["-s", "sleep 0.3; true {}", ":::"]);
    let inputs: Vec<String> = (1..=count).map(|i| i.to_string()).collect();
    args.extend(inputs.iter().map(String::as_str));
    let out = hosts.ppool(&args).output().expect("ppool runs");
    assert!(out.status.success(), "{options:?}: {}", stderr_of(&out));
    json_lines(&out.stdout)
}

#[test]
fn a_host_without_a_count_gets_its_cpus_and_jobs_applies_per_host() {
    let Some(hosts) = Hosts::start(1) else { return };
    let cpus = nproc();
    let lines = busy_run(&hosts, &["-S", "h1"], 2 * cpus);
    assert_eq!(slots_used(&lines), (1..=cpus as u64).collect(), "{lines:?}");
    let lines = busy_run(&hosts, &["-S", "h1", "-j", "+1"], 2 * (cpus + 1));
    assert_eq!(slots_used(&lines), (1..=cpus as u64 + 1).collect(), "{lines:?}");
}

#[test]
fn a_host_that_cannot_be_asked_gets_one_slot_and_is_down() {
    let Some(hosts) = Hosts::start(1) else { return };
    let cpus = nproc();
    let mut command = hosts.ppool(&[
        "unordered",
        "--output",
        "json",
        "-S",
        "dead,h1",
        "-s",
        "sleep 0.3; echo {}",
        ":::",
    ]);
    command.args((1..=2 * (cpus + 1)).map(|i| i.to_string()));
    let out = command
        .env("PPOOL_SSH_RETRY_AFTER", "60s")
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2 * (cpus + 1));
    assert!(lines.iter().all(|l| l["host"] == "h1"), "{lines:?}");
    // dead's one slot, lent to h1, and h1's own, one per CPU.
    assert_eq!(slots_used(&lines), (1..=cpus as u64 + 1).collect(), "{lines:?}");
}

/// The ssh masters of the run whose ssh config is in `dir`, with their
/// ControlPath.
fn masters(dir: &Path) -> Vec<(u32, PathBuf)> {
    processes_with(&dir.display().to_string())
        .into_iter()
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let words: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            if !words.iter().any(|w| w == "ControlMaster=yes") {
                return None;
            }
            let path = words.iter().find_map(|w| w.strip_prefix("ControlPath="))?;
            Some((pid, PathBuf::from(path)))
        })
        .collect()
}

#[test]
fn the_tasks_of_a_host_share_one_connection_gone_after_the_run() {
    let Some(hosts) = Hosts::start(2) else { return };
    let mut command = hosts.ppool(&[
        "unordered",
        "--output",
        "json",
        "-S",
        "2/h1,2/h2",
        "-s",
        "sleep 0.3; echo $SSH_CONNECTION",
        ":::",
    ]);
    command.args((1..=12).map(|i| i.to_string()));
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ppool");
    let mut seen: HashMap<u32, PathBuf> = HashMap::new();
    wait_for("one master per host", || {
        seen.extend(masters(hosts.dir.path()));
        seen.len() >= 2
    });
    let out = child.wait_with_output().expect("waiting for ppool");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(seen.len(), 2, "one master per host: {seen:?}");
    // Every task of a host came over the same TCP connection: one client port.
    let lines = json_lines(&out.stdout);
    let mut ports: HashMap<String, BTreeSet<String>> = HashMap::new();
    for line in &lines {
        let said = line["stdout"].as_str().expect("text output");
        let port = said
            .split_whitespace()
            .nth(1)
            .expect("SSH_CONNECTION names the client port");
        ports
            .entry(line["host"].as_str().expect("a host").to_owned())
            .or_default()
            .insert(port.to_owned());
    }
    assert_eq!(ports.len(), 2, "{lines:?}");
    assert!(ports.values().all(|p| p.len() == 1), "{ports:?}");
    // The masters are stopped and their private directory is gone.
    assert!(masters(hosts.dir.path()).is_empty());
    for (pid, socket) in seen {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "master {pid} remains");
        let dir = socket.parent().expect("a socket directory");
        assert!(!dir.exists(), "{} remains", dir.display());
    }
}

#[test]
fn a_host_with_more_slots_than_sshd_sessions_gets_a_connection_per_ten() {
    let Some(hosts) = Hosts::start(1) else { return };
    let mut command = hosts.ppool(&[
        "unordered",
        "--output",
        "json",
        "-S",
        "12/h1",
        "-s",
        "sleep 0.5; echo $SSH_CONNECTION {}",
        ":::",
    ]);
    command.args((1..=12).map(|i| i.to_string()));
    let out = command.output().expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    let ports: BTreeSet<String> = lines
        .iter()
        .map(|l| {
            l["stdout"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(ports.len(), 2, "{lines:?}");
    // No session was refused by sshd's MaxSessions, nor a task given up.
    // (What the remote login shell's rc files print, racing with another
    // login, may land in a slot's first task: it is not ssh's or ppool's.)
    let complaints = ["refused", "mux_client", "ppool:"];
    assert!(
        lines.iter().all(|l| {
            let stderr = l["stderr"].as_str().unwrap_or("");
            complaints.iter().all(|c| !stderr.contains(c))
        }),
        "{lines:?}"
    );
}

#[test]
fn sigterm_stops_the_shared_connections_and_removes_their_directory() {
    let Some(hosts) = Hosts::start(1) else { return };
    let (marker, sleeper) = sleeper(&hosts, "hosts-sigterm");
    let mut child = hosts
        .ppool(&[
            "unordered",
            "--grace",
            "1s",
            "-S",
            "2/h1",
            &sleeper,
            ":::",
            "300",
            "301",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ppool");
    let mut seen = Vec::new();
    wait_for("the remote commands", || {
        seen = masters(hosts.dir.path());
        processes_with(&marker).len() >= 2 && !seen.is_empty()
    });
    // SAFETY: kill(2) on the pid of our own child, which is not reaped yet.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().expect("waiting for ppool");
    assert_eq!(status.code(), Some(143));
    assert!(masters(hosts.dir.path()).is_empty(), "a master remains");
    for (_, socket) in seen {
        let dir = socket.parent().expect("a socket directory");
        assert!(!dir.exists(), "{} remains", dir.display());
    }
    wait_for("the remote commands to end", || processes_with(&marker).is_empty());
}

#[test]
fn onall_runs_every_record_on_every_host() {
    let Some(hosts) = Hosts::start(2) else { return };
    let out = hosts
        .ppool(&["imap", "--onall", "-S", "h1,h2", "echo", ":::", "a", "b c"])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "h1\ta\nh2\ta\nh1\tb c\nh2\tb c\n");
    let out = hosts
        .ppool(&[
            "imap",
            "--output",
            "json",
            "--onall",
            "-S",
            "1/h1,1/h2,1/:",
            "-s",
            "echo {}",
            ":::",
            "x",
        ])
        .output()
        .expect("ppool runs");
    let lines = json_lines(&out.stdout);
    let ran: Vec<&Value> = lines.iter().map(|l| &l["host"]).collect();
    assert_eq!(ran, [&Value::from("h1"), &Value::from("h2"), &Value::Null], "{lines:?}");
    assert!(lines.iter().all(|l| l["stdout"] == "x\n"), "{lines:?}");
}

#[test]
fn nonall_runs_the_command_once_per_host() {
    let Some(hosts) = Hosts::start(2) else { return };
    let out = hosts
        .ppool(&["imap", "--nonall", "-S", "h1,h2", "echo", "up"])
        .stdin(Stdio::null())
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "h1\tup\nh2\tup\n");
    let out = hosts
        .ppool(&["imap", "--nonall", "-S", "h1", "echo", ":::", "a"])
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr_of(&out).contains("--nonall"), "{}", stderr_of(&out));
}

#[test]
fn hostgroups_pick_the_hosts_of_a_record() {
    let Some(hosts) = Hosts::start(2) else { return };
    let out = hosts
        .ppool(&[
            "imap",
            "--output",
            "json",
            "--hostgroups",
            "-S",
            "@g1/1/h1,@g2/1/h2",
            "echo",
            ":::",
            "a@g1",
            "b@g2",
            "c@g2",
            "d@g1",
            "e@h2",
        ])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    let ran: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["stdout"].as_str().unwrap_or(""), l["host"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        ran,
        [
            ("a\n", "h1"),
            ("b\n", "h2"),
            ("c\n", "h2"),
            ("d\n", "h1"),
            ("e\n", "h2")
        ]
    );
    // @GROUP alone: only that group's hosts, here from the --ssh-file.
    let file = hosts.dir.path().join("grouped");
    std::fs::write(&file, "@g1/2/h1\n@g2/2/h2\n").expect("writing the host file");
    let out = hosts
        .ppool(&["unordered", "--output", "json", "-S", "@g2", "--ssh-file"])
        .arg(&file)
        .args(["echo", ":::", "1", "2", "3", "4"])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| l["host"] == "h2"), "{lines:?}");
}

#[test]
fn a_host_added_to_the_ssh_file_mid_run_gets_tasks() {
    let Some(hosts) = Hosts::start(2) else { return };
    let file = hosts.dir.path().join("changing");
    std::fs::write(&file, "1/h1\n").expect("writing the host file");
    let mut command = hosts.ppool(&["unordered", "--output", "json", "--ssh-file"]);
    command
        .arg(&file)
        .args(["-s", "sleep 0.4; echo {}", ":::"])
        .args((1..=16).map(|i| i.to_string()));
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ppool");
    // Once the run is under way (a task runs on h1), h2 joins.
    wait_for("a master for h1", || !masters(hosts.dir.path()).is_empty());
    std::fs::write(&file, "1/h1\n2/h2\n").expect("rewriting the host file");
    let out = child.wait_with_output().expect("waiting for ppool");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 16);
    assert!(lines.iter().any(|l| l["host"] == "h2"), "h2 got no task: {lines:?}");
    assert!(lines.iter().all(|l| l["status"] == "ok"), "{lines:?}");
}

#[test]
fn a_host_removed_from_the_ssh_file_is_warned_about_and_gets_no_new_tasks() {
    let Some(hosts) = Hosts::start(2) else { return };
    let file = hosts.dir.path().join("shrinking");
    std::fs::write(&file, "1/h1\n1/h2\n").expect("writing the host file");
    let mut command = hosts.ppool(&["imap", "--output", "json", "--ssh-file"]);
    command
        .arg(&file)
        .args(["-s", "sleep 0.3; echo {}", ":::"])
        .args((1..=10).map(|i| i.to_string()));
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ppool");
    wait_for("the masters", || masters(hosts.dir.path()).len() >= 2);
    std::fs::write(&file, "1/h1\n").expect("rewriting the host file");
    let out = child.wait_with_output().expect("waiting for ppool");
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stderr = stderr_of(&out);
    assert_eq!(stderr.matches("h2 left").count(), 1, "{stderr}");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 10);
    // Once h2 left, its slot took tasks to h1: the last one ran there.
    assert_eq!(lines[9]["host"], "h1", "{lines:?}");
    assert!(lines.iter().all(|l| l["status"] == "ok"), "{lines:?}");
}

#[test]
fn sshdelay_spaces_the_ssh_clients() {
    let Some(hosts) = Hosts::start(1) else { return };
    // Four ssh clients (the host's connection, then three tasks), each
    // started at least 700 ms after the one before: a lower bound, which
    // load can only lengthen.
    let started = std::time::Instant::now();
    let out = hosts
        .ppool(&[
            "unordered",
            "--sshdelay",
            "700ms",
            "-S",
            "4/h1",
            "echo",
            ":::",
            "a",
            "b",
            "c",
        ])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 3);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(2100),
        "{:?}",
        started.elapsed()
    );
}
