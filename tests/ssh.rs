//! `--ssh` against real sshd servers on 127.0.0.1, started per test with
//! keys made in a temporary directory. Each test prints why and returns
//! early when no sshd can be started here (not installed, no privileges).

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::json_lines;

const PPOOL: &str = env!("CARGO_BIN_EXE_ppool");

/// One sshd, stopped when dropped.
struct Sshd {
    child: Child,
    port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Two hosts, `h1` and `h2`, each its own sshd, and an ssh config naming
/// them; `dead` names a port where nothing listens.
pub(crate) struct Hosts {
    pub(crate) dir: tempfile::TempDir,
    sshd: Vec<Sshd>,
}

pub(crate) fn find(program: &str, extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    listener.local_addr().expect("a bound address").port()
}

fn keygen(keygen: &Path, file: &Path) -> bool {
    Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(file)
        .status()
        .is_ok_and(|s| s.success())
}

impl Hosts {
    /// Starts the servers, or says why not and gives `None`.
    pub(crate) fn start(count: usize) -> Option<Hosts> {
        let skip = |why: &str| {
            eprintln!("skipping ssh test: {why}");
            None
        };
        let Some(sshd) = find("sshd", &["/usr/sbin", "/usr/local/sbin", "/sbin"]) else {
            return skip("sshd is not installed (apt-get install openssh-server)");
        };
        let (Some(ssh_keygen), Some(_)) = (find("ssh-keygen", &[]), find("ssh", &[])) else {
            return skip("ssh or ssh-keygen is not installed (apt-get install openssh-client)");
        };
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").ok();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let d = dir.path();
        if !keygen(&ssh_keygen, &d.join("host_key")) || !keygen(&ssh_keygen, &d.join("user_key")) {
            return skip("ssh-keygen failed");
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).expect("copying the user key");
        let mut client = String::new();
        let mut servers = Vec::new();
        for n in 1..=count {
            let port = free_port();
            let config = d.join(format!("sshd_config{n}"));
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nAuthorizedKeysFile {auth}\n\
                     PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPidFile none\n\
                     PasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     MaxStartups 200\nMaxSessions 200\n",
                    key = d.join("host_key").display(),
                    auth = d.join("authorized_keys").display(),
                ),
            )
            .expect("writing sshd_config");
            let child = Command::new(&sshd)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn();
            let Ok(child) = child else {
                return skip("sshd could not be started");
            };
            servers.push(Sshd { child, port });
            client.push_str(&format!("Host h{n}\n  HostName 127.0.0.1\n  Port {port}\n"));
        }
        client.push_str(&format!(
            "Host dead\n  HostName 127.0.0.1\n  Port {dead}\n\
             Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n\
             UserKnownHostsFile /dev/null\n  BatchMode yes\n  LogLevel ERROR\n  ConnectTimeout 5\n",
            dead = free_port(),
            key = d.join("user_key").display(),
        ));
        std::fs::write(d.join("ssh_config"), client).expect("writing ssh_config");
        let mut hosts = Hosts { dir, sshd: servers };
        for n in 1..=count {
            if let Err(why) = hosts.probe(n) {
                return skip(&why);
            }
        }
        Some(hosts)
    }

    /// Waits until `ssh hN true` works.
    fn probe(&mut self, n: usize) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new("ssh")
                .arg("-F")
                .arg(self.dir.path().join("ssh_config"))
                .arg(format!("h{n}"))
                .arg("true")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("ssh could not run: {e}"))?;
            if out.status.success() {
                return Ok(());
            }
            let server = &mut self.sshd[n - 1];
            if let Ok(Some(_)) = server.child.try_wait() {
                let mut log = String::new();
                if let Some(mut err) = server.child.stderr.take() {
                    err.read_to_string(&mut log).ok();
                }
                return Err(format!("sshd on port {} exited: {}", server.port, log.trim()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "cannot log in to the test sshd: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The directory of the keys and configs, where ppool runs: on these
    /// hosts, which are this machine, its paths are the same.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// ppool with PPOOL_SSH pointing at the test servers.
    pub(crate) fn ppool(&self, args: &[&str]) -> Command {
        let mut command = Command::new(PPOOL);
        command
            .args(args)
            .env(
                "PPOOL_SSH",
                format!("ssh -F {}", self.dir.path().join("ssh_config").display()),
            )
            .env_remove("PPOOL_SSH_RETRY_AFTER")
            .current_dir(self.dir.path());
        command
    }
}

pub(crate) fn run_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ppool");
    let mut input = child.stdin.take().expect("a stdin pipe");
    input.write_all(stdin).expect("writing stdin");
    drop(input);
    child.wait_with_output().expect("waiting for ppool")
}

#[test]
fn remote_output_equals_a_local_run() {
    let Some(hosts) = Hosts::start(2) else { return };
    let inputs: Vec<String> = (1..=12).map(|i| format!("item {i}")).collect();
    let mut args = vec!["imap", "printf", "<%s> %s\\n", "{}", "{#}", ":::"];
    args.extend(inputs.iter().map(String::as_str));
    let local = hosts.ppool(&args).output().expect("ppool runs");
    let mut remote_args = vec!["imap", "-S", "2/h1,2/h2", "--ssh", ":"];
    remote_args.extend(&args[1..]);
    let remote = hosts.ppool(&remote_args).output().expect("ppool runs");
    assert!(remote.status.success(), "{}", String::from_utf8_lossy(&remote.stderr));
    assert_eq!(
        String::from_utf8_lossy(&remote.stdout),
        String::from_utf8_lossy(&local.stdout)
    );

    let shell = ["imap", "-s", "echo {} | tr a-z A-Z; echo err >&2", ":::", "x y", "z"];
    let local = hosts.ppool(&shell).output().expect("ppool runs");
    let mut remote_args = vec!["imap", "-S", "h1,h2"];
    remote_args.extend(&shell[1..]);
    let remote = hosts.ppool(&remote_args).output().expect("ppool runs");
    assert_eq!(remote.stdout, local.stdout);
    assert_eq!(remote.stderr, local.stderr);
    assert_eq!(String::from_utf8_lossy(&remote.stdout), "X Y\nZ\n");
}

#[test]
fn hostile_inputs_arrive_unchanged() {
    let Some(hosts) = Hosts::start(1) else { return };
    let inputs = [
        "'; touch PWNED; '",
        "$(touch PWNED)",
        "`touch PWNED`",
        "two\nlines",
        "a  space",
        "\"dq\" \\ back $HOME ~ * ? ; & | > <",
        "",
    ];
    let mut stdin = Vec::new();
    let mut expected = Vec::new();
    for input in inputs {
        stdin.extend_from_slice(input.as_bytes());
        stdin.push(0);
        expected.extend_from_slice(input.as_bytes());
        expected.push(b'\n');
    }
    let out = run_with_stdin(
        hosts.ppool(&["imap", "-0", "-S", "2/h1", "printf", "%s\\n", "{}"]),
        &stdin,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&expected));
    // The same through --shell, where the value is quoted into shell syntax.
    let out = run_with_stdin(
        hosts.ppool(&["imap", "-0", "-S", "2/h1", "-s", "printf '%s\\n' {}"]),
        &stdin,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&expected));
    assert!(!hosts.dir.path().join("PWNED").exists(), "an input ran as a command");
    assert!(!Path::new("/root/PWNED").exists(), "an input ran as a command");
}

#[test]
fn tasks_see_their_sequence_and_slot() {
    let Some(hosts) = Hosts::start(2) else { return };
    let out = hosts
        .ppool(&[
            "unordered",
            "--output",
            "json",
            "-S",
            "2/h1,1/h2,1/:",
            "-s",
            "echo $PPOOL_SEQ $PPOOL_SLOT {%}",
            ":::",
            "a",
            "b",
            "c",
            "d",
            "e",
            "f",
        ])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 6);
    for line in &lines {
        let slot = line["slot"].as_u64().expect("a slot");
        assert!((1..=4).contains(&slot), "{line}");
        assert_eq!(line["stdout"], format!("{} {slot} {slot}\n", line["seq"]), "{line}");
        // Slots 1-2 are h1's, 3 is h2's and 4 this machine's (no host field).
        let host = match slot {
            1 | 2 => Value::from("h1"),
            3 => Value::from("h2"),
            _ => Value::Null,
        };
        assert_eq!(line["host"], host, "{line}");
    }
}

#[test]
fn a_host_that_goes_away_hands_its_tasks_to_another() {
    let Some(mut hosts) = Hosts::start(2) else { return };
    let mut command = hosts.ppool(&[
        "unordered",
        "--output",
        "json",
        "-S",
        "1/h1,1/h2",
        "-s",
        "sleep 0.2; echo {}",
    ]);
    command.args([":::"]).args((1..=16).map(|i| i.to_string()));
    // A shared connection outlives the listener: only tasks that each
    // connect on their own see the host go.
    let child = command
        .env("PPOOL_SSH_CONTROLMASTER", "no")
        .env("PPOOL_SSH_RETRY_AFTER", "60s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ppool");
    std::thread::sleep(Duration::from_millis(800));
    // The listener goes; sessions already open run to their end.
    drop(hosts.sshd.remove(1));
    let out = child.wait_with_output().expect("waiting for ppool");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 16);
    assert!(lines.iter().all(|l| l["status"] == "ok"), "{lines:?}");
    assert!(lines.iter().all(|l| l["attempts"] == 1), "{lines:?}");
    // h2's slot borrowed h1 once h2 was gone, and the last tasks ran on h1.
    assert!(
        lines.iter().any(|l| l["slot"] == 2 && l["host"] == "h1"),
        "no task of h2's slot moved to h1: {lines:?}"
    );
    assert!(lines[12..].iter().all(|l| l["host"] == "h1"), "{lines:?}");
    let mut seen: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().expect("a seq")).collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=16).collect::<Vec<_>>());
}

#[test]
fn a_task_fails_when_no_host_can_be_reached() {
    let Some(hosts) = Hosts::start(1) else { return };
    let started = Instant::now();
    let out = hosts
        .ppool(&["map", "-S", "dead", "echo", ":::", "a", "b"])
        .env("PPOOL_SSH_RETRY_AFTER", "200ms")
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no host could be reached"), "{stderr}");
    assert!(stderr.contains("dead:"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // A remote command's own exit status 255 is a failed task, not a lost host.
    let out = hosts
        .ppool(&["map", "-S", "h1", "-s", "exit {}", ":::", "255", "0"])
        .output()
        .expect("ppool runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Pids of processes whose command line holds `marker`.
pub(crate) fn processes_with(marker: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
        })
        .collect()
}

pub(crate) fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A copy of `sleep` under a name no other process has: what the remote
/// side runs, found in /proc by that name.
pub(crate) fn sleeper(hosts: &Hosts, name: &str) -> (String, String) {
    let marker = format!("ppool-remote-{name}-{}", std::process::id());
    let path = hosts.dir.path().join(&marker);
    std::fs::copy(find("sleep", &[]).expect("sleep is installed"), &path).expect("copying sleep");
    (marker, path.to_string_lossy().into_owned())
}

#[test]
fn sigterm_leaves_no_remote_process() {
    let Some(hosts) = Hosts::start(1) else { return };
    let (marker, sleeper) = sleeper(&hosts, "sigterm");
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
    // Both remote sleeps run: processes whose program is the marker itself.
    wait_for("the remote commands", || {
        processes_with(&marker)
            .iter()
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.starts_with(sleeper.as_bytes()))
            })
            .count()
            == 2
    });
    // SAFETY: kill(2) on the pid of our own child, which is not reaped yet.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().expect("waiting for ppool");
    assert_eq!(status.code(), Some(143));
    // Neither the local ssh clients nor anything on the remote side remains.
    wait_for("the remote commands to end", || processes_with(&marker).is_empty());
}

#[test]
fn a_timeout_stops_the_remote_command() {
    let Some(hosts) = Hosts::start(1) else { return };
    let (marker, sleeper) = sleeper(&hosts, "timeout");
    let out = hosts
        .ppool(&[
            "map",
            "--output",
            "json",
            "--timeout",
            "1s",
            "-S",
            "h1",
            &sleeper,
            ":::",
            "300",
        ])
        .output()
        .expect("ppool runs");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["status"], "timeout", "{lines:?}");
    wait_for("the remote command to end", || processes_with(&marker).is_empty());
}
