//! `--ssh`: tasks on remote hosts through the system `ssh` client.
//!
//! Every host brings its slots to the pool (`4/server` brings 4; `:` is this
//! machine); slot numbers run 1..=total across all hosts, so `{%}` and
//! `PPOOL_SLOT` stay unique. A slot runs its tasks on its own host while that
//! host is up. When ssh cannot reach a host (exit 255), the host leaves the
//! pool for a while and the task runs on another host that is up, borrowing
//! it under the same slot number; the failed connection is neither a failed
//! task nor an attempt. When no host is up, the slot waits; when every host
//! has failed [`MAX_DOWN`] times in a row, the task fails with a message.
//!
//! The remote command is the line `--dry-run` prints (the argv quoted word by
//! word, or the `--shell` line as written), run by the remote `sh -c` inside
//! a small wrapper. ssh joins its arguments with spaces, so the whole remote
//! line is passed as one argument, already quoted for the remote shell.
//! `--workdir` and `--env` go before the line, and the task's files are
//! copied around it (see [`super::transfer`]).
//!
//! sshd does not stop a command when its connection goes away (no pty, no
//! SIGHUP), so stopping the local ssh client alone would leave the remote
//! command running. The wrapper watches the channel instead: ssh's stdin is
//! a pipe ppool holds open and never writes; when the connection closes
//! (ppool stopped ssh for a timeout, a signal or `--fail-fast`), the watcher
//! reads end-of-file and sends SIGTERM, then SIGKILL after `--grace`, to the
//! remote process group, which sshd made for this session alone.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::command::CommandExecutor;
use super::process::{self, Spawn};
use super::transfer::{self, SendError, Setup};
use super::Executor;
use crate::cancel::Cancel;
use crate::input::Record;
use crate::task::{Outcome, Status};
use crate::template::quote;

/// Connection failures in a row on every host before a task gives up.
pub const MAX_DOWN: u32 = 3;

/// How long a host that could not be reached stays out of the pool.
pub const DEFAULT_DOWN_FOR: Duration = Duration::from_secs(10);

/// The line the wrapper adds to stderr when the remote command itself exits
/// with 255, which is also ssh's own status for a connection failure.
const OWN_255: &str = "ppool: the remote command exited with status 255";

/// One host of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// What ssh is given (`server`, `user@server`, an alias from
    /// `~/.ssh/config`); `None` for `:`, this machine.
    pub name: Option<String>,
    pub slots: usize,
}

/// The hosts, the ssh client and the timing, as the configuration built
/// them from the command line and the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub hosts: Vec<Host>,
    /// `$PPOOL_SSH` split into words, the program resolved: `["/usr/bin/ssh"]` by default.
    pub ssh: Vec<OsString>,
    pub down_for: Duration,
}

impl Remote {
    /// Slots of all hosts together: the size of the pool.
    pub fn slots(&self) -> usize {
        self.hosts.iter().map(|h| h.slots).sum()
    }
}

/// What the remote login shell runs: the wrapper, by `sh -c`, with the task's
/// line as its `$1`. The environment goes through `env` so the login shell
/// only has to understand single quotes.
pub fn remote_line(line: &[u8], seq: u64, slot: usize, grace: Duration) -> Vec<u8> {
    let grace = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
    // The watcher's stdin is the ssh channel (fd 3: an asynchronous list
    // without job control gets /dev/null as stdin). `kill 0` reaches every
    // process of the session, which sshd started in a group of its own.
    let wrapper = format!(
        "exec 3<&0 </dev/null\n\
         sh -c \"$1\" 3<&- &\n\
         c=$!\n\
         {{ trap '' TERM; read -r x <&3; kill -TERM 0; sleep {grace}; kill -KILL 0; }} >/dev/null 2>&1 &\n\
         w=$!\n\
         exec 3<&-\n\
         wait $c; s=$?\n\
         kill -KILL $w 2>/dev/null\n\
         [ $s -eq 255 ] && echo '{OWN_255}' >&2\n\
         exit $s"
    );
    let mut out = format!("exec env PPOOL_SEQ={seq} PPOOL_SLOT={slot} sh -c ").into_bytes();
    out.extend_from_slice(&quote(wrapper.as_bytes()));
    out.extend_from_slice(b" sh ");
    out.extend_from_slice(&quote(line));
    out
}

#[derive(Debug, Default)]
struct HostState {
    /// Left out of the pool until then, after a connection failure.
    down_until: Option<Instant>,
    /// Times in a row the host went down, each down period counted once.
    downs: u32,
    /// Tasks running there now, borrowed slots included.
    running: usize,
    /// What ssh said when it last failed to connect.
    error: String,
}

enum Pick {
    Host(usize),
    Wait(Instant),
    GiveUp,
}

/// Runs each task on its slot's host, or on another host while that one is down.
pub struct SshExecutor<'a> {
    /// Renders the command line, and runs the tasks of `:` slots.
    local: &'a CommandExecutor,
    hosts: Vec<Host>,
    ssh: Vec<OsString>,
    down_for: Duration,
    timeout: Option<Duration>,
    grace: Duration,
    /// Index = slot: its host; index 0 is unused.
    home: Vec<usize>,
    state: Mutex<Vec<HostState>>,
    /// `--transferfile`, `--return`, `--cleanup`, `--workdir`, `--env`.
    files: Option<Setup>,
}

impl<'a> SshExecutor<'a> {
    pub fn new(
        local: &'a CommandExecutor,
        remote: &Remote,
        timeout: Option<Duration>,
        grace: Duration,
    ) -> SshExecutor<'a> {
        let mut home = vec![0];
        for (i, host) in remote.hosts.iter().enumerate() {
            home.extend(std::iter::repeat(i).take(host.slots));
        }
        SshExecutor {
            local,
            hosts: remote.hosts.clone(),
            ssh: remote.ssh.clone(),
            down_for: remote.down_for,
            timeout,
            grace,
            home,
            state: Mutex::new(remote.hosts.iter().map(|_| HostState::default()).collect()),
            files: None,
        }
    }

    /// Files and environment around each remote task's command.
    pub fn with_files(mut self, files: Option<Setup>) -> Self {
        self.files = files;
        self
    }

    fn state(&self) -> MutexGuard<'_, Vec<HostState>> {
        crate::lock(&self.state)
    }

    /// The slot's own host when it is up and has room; else the up host with
    /// the most room; else the time the first down host comes back.
    fn pick(&self, home: usize) -> Pick {
        let now = Instant::now();
        let mut state = self.state();
        let up = |s: &HostState| s.down_until.map_or(true, |t| t <= now);
        let chosen = if up(&state[home]) && state[home].running < self.hosts[home].slots {
            Some(home)
        } else {
            // Least loaded first: running/slots compared without division.
            (0..state.len()).filter(|&i| up(&state[i])).min_by(|&a, &b| {
                (state[a].running * self.hosts[b].slots).cmp(&(state[b].running * self.hosts[a].slots))
            })
        };
        match chosen {
            Some(i) => {
                state[i].running += 1;
                Pick::Host(i)
            }
            None if state.iter().all(|s| s.downs >= MAX_DOWN) => Pick::GiveUp,
            None => Pick::Wait(state.iter().filter_map(|s| s.down_until).min().unwrap_or(now)),
        }
    }

    /// The task on `host` has ended; `error`: ssh could not connect, and said so.
    fn release(&self, host: usize, error: Option<String>) {
        let now = Instant::now();
        let mut state = self.state();
        let s = &mut state[host];
        s.running -= 1;
        match error {
            None => {
                s.down_until = None;
                s.downs = 0;
            }
            Some(error) => {
                s.error = error;
                // Tasks that fail together on a host going down count once.
                if s.down_until.map_or(true, |t| t <= now) {
                    s.downs += 1;
                    s.down_until = Some(now + self.down_for);
                }
            }
        }
    }

    fn remote_run(&self, host: &str, line: &[u8], record: &Record, slot: usize, cancel: &Cancel) -> RemoteEnd {
        let mut args: Vec<OsString> = self.ssh[1..].to_vec();
        args.push("--".into());
        args.push(host.into());
        args.push(OsString::from_vec(remote_line(line, record.seq, slot, self.grace)));
        let spawn = Spawn {
            program: Path::new(&self.ssh[0]),
            args: &args,
            seq: record.seq,
            slot,
            timeout: self.timeout,
            grace: self.grace,
            inherit_stdio: false,
            hold_stdin: true,
            feed: None,
            lines: None,
            stream: None,
        };
        match process::run(&spawn, cancel) {
            Err(e) => RemoteEnd::NotStarted(format!(
                "ppool: cannot run {}: {e}",
                PathBuf::from(&self.ssh[0]).display()
            )),
            Ok(mut ended) => {
                let unreachable = ended.exit_code == Some(255)
                    && !ended.timed_out
                    && !cancel.is_stopping()
                    && !ended
                        .stderr
                        .read_all()
                        .is_ok_and(|e| e.trim_ascii_end().ends_with(OWN_255.as_bytes()));
                if unreachable {
                    let said = ended.stderr.read_all().unwrap_or_default();
                    RemoteEnd::Unreachable(String::from_utf8_lossy(said.trim_ascii()).into_owned())
                } else {
                    RemoteEnd::Ran(ended)
                }
            }
        }
    }
}

enum RemoteEnd {
    Ran(process::Ended),
    Unreachable(String),
    NotStarted(String),
}

impl Executor for SshExecutor<'_> {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        let start = SystemTime::now();
        let clock = Instant::now();
        let fail = |status, code: Option<i32>, message: &str| {
            let mut outcome = Outcome::not_run(record, slot, status, message);
            outcome.exit_code = code;
            outcome.start = start;
            outcome.duration = clock.elapsed();
            outcome
        };
        if self.local.skips(record) {
            return Outcome::not_run(record, slot, Status::Skipped, "");
        }
        let line = match self.local.render_line(record, slot) {
            Ok(line) => line.into_vec(),
            Err(message) => {
                return fail(
                    Status::InvalidInput,
                    None,
                    &format!("ppool: task {}: {message}", record.seq),
                )
            }
        };
        let plan = match self.files.as_ref().map(|f| f.plan(record, slot)).transpose() {
            Ok(plan) => plan,
            Err(message) => {
                return fail(
                    Status::InvalidInput,
                    None,
                    &format!("ppool: task {}: {message}", record.seq),
                )
            }
        };
        // What the remote shell runs: the line in its working directory, with `--env`.
        let remote_line = match (&self.files, &plan) {
            (Some(files), Some(plan)) => files.line(plan, &line),
            _ => line.clone(),
        };
        let home = self.home.get(slot).copied().unwrap_or(0);
        // Connection failures of this task, per host.
        let mut downs = vec![0u32; self.hosts.len()];
        loop {
            if cancel.is_stopping() {
                return fail(
                    Status::Failed,
                    None,
                    &format!("ppool: task {}: stopped while waiting for a host", record.seq),
                );
            }
            let host = match self.pick(home) {
                Pick::Host(host) => host,
                Pick::Wait(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    std::thread::sleep(left.clamp(Duration::from_millis(1), Duration::from_millis(50)));
                    continue;
                }
                Pick::GiveUp => return self.unreachable(record, fail),
            };
            let Some(name) = &self.hosts[host].name else {
                let outcome = self.local.run(record, slot, cancel);
                self.release(host, None);
                return outcome;
            };
            let run = transfer::Run { record, slot, cancel };
            let sent = match (&self.files, &plan) {
                (Some(files), Some(plan)) => files.send(&self.ssh, name, plan, &run),
                _ => Ok(()),
            };
            let end = match sent {
                Ok(()) => self.remote_run(name, &remote_line, record, slot, cancel),
                Err(SendError::Unreachable(said)) => RemoteEnd::Unreachable(said),
                Err(SendError::Failed(message)) => {
                    self.release(host, None);
                    return fail(Status::Transfer, None, &message);
                }
            };
            match end {
                RemoteEnd::NotStarted(message) => {
                    self.release(host, None);
                    return fail(Status::Failed, Some(127), &message);
                }
                RemoteEnd::Unreachable(said) => {
                    self.release(host, Some(said));
                    downs[host] += 1;
                    let mut remote = self.hosts.iter().zip(&downs).filter(|(h, _)| h.name.is_some());
                    if remote.all(|(_, &n)| n >= MAX_DOWN) {
                        return self.unreachable(record, fail);
                    }
                }
                RemoteEnd::Ran(ended) => {
                    self.release(host, None);
                    let mut outcome = ended.into_outcome(record, slot, start, clock.elapsed(), self.timeout);
                    if let (Some(files), Some(plan)) = (&self.files, &plan) {
                        files.finish(&self.ssh, name, plan, &run, &mut outcome);
                        outcome.duration = clock.elapsed();
                    }
                    let extra = outcome.extra();
                    extra.command = line;
                    extra.host = Some(name.clone());
                    return outcome;
                }
            }
        }
    }
}

impl SshExecutor<'_> {
    fn unreachable(&self, record: &Record, fail: impl Fn(Status, Option<i32>, &str) -> Outcome) -> Outcome {
        let mut message = format!(
            "ppool: task {}: no host could be reached ({MAX_DOWN} connection failures in a row on every host); check the hosts with `ssh HOST true`",
            record.seq
        );
        for (host, state) in self.hosts.iter().zip(self.state().iter()) {
            if let (Some(name), false) = (&host.name, state.error.is_empty()) {
                message.push_str(&format!("\nppool: {name}: {}", state.error));
            }
        }
        fail(Status::Failed, Some(255), &message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: Option<&str>, slots: usize) -> Host {
        Host {
            name: name.map(str::to_owned),
            slots,
        }
    }

    /// Runs a remote line here, as sshd would: in a process group of its
    /// own (the wrapper signals its group) with a stdin held open.
    fn run_sh(line: Vec<u8>) -> std::process::Output {
        use std::os::unix::process::CommandExt;
        use std::process::{Command, Stdio};
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(OsString::from_vec(line))
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        out
    }

    #[test]
    fn a_host_that_fails_leaves_the_pool_for_a_while_and_comes_back() {
        let local = CommandExecutor::new(&["true".into()], None, &Default::default(), None, Duration::ZERO, false)
            .expect("a plain command parses");
        let remote = Remote {
            hosts: vec![host(Some("a"), 1), host(Some("b"), 2)],
            ssh: vec!["ssh".into()],
            down_for: Duration::from_millis(100),
        };
        let ssh = SshExecutor::new(&local, &remote, None, Duration::ZERO);
        assert_eq!(ssh.home, [0, 0, 1, 1]);
        let Pick::Host(0) = ssh.pick(0) else {
            panic!("slot 1 runs on a")
        };
        ssh.release(0, Some("refused".into()));
        // a is down: its slot borrows b.
        let Pick::Host(1) = ssh.pick(0) else {
            panic!("a is down: b")
        };
        ssh.release(1, None);
        std::thread::sleep(Duration::from_millis(150));
        let Pick::Host(0) = ssh.pick(0) else {
            panic!("a is back")
        };
        ssh.release(0, None);
        // Both down, MAX_DOWN times in a row: wait, then give up.
        for _ in 0..MAX_DOWN {
            for h in [0, 1] {
                ssh.state()[h].running += 1;
                ssh.release(h, Some("refused".into()));
                ssh.state()[h].down_until = Some(Instant::now() - Duration::from_millis(1));
            }
        }
        ssh.state()[1].down_until = Some(Instant::now() + Duration::from_secs(60));
        let Pick::Host(0) = ssh.pick(1) else {
            panic!("a is up again: try it")
        };
        ssh.release(0, Some("refused".into()));
        let Pick::GiveUp = ssh.pick(1) else {
            panic!("every host failed {MAX_DOWN} times")
        };
        ssh.state()[1].downs = 1;
        let Pick::Wait(_) = ssh.pick(1) else {
            panic!("b may come back: wait")
        };
    }

    #[test]
    fn the_remote_line_carries_hostile_text_unchanged() {
        for text in ["a b", "'; touch PWNED; '", "$(id) `id` \"q\"\nline2", ""] {
            let mut line = b"printf '%s\\n' ".to_vec();
            line.extend_from_slice(&quote(text.as_bytes()));
            let remote = remote_line(&line, 3, 2, Duration::from_millis(1500));
            let out = run_sh(remote);
            assert_eq!(out.stdout, format!("{text}\n").into_bytes());
            assert!(out.status.success());
        }
        let line = b"echo $PPOOL_SEQ $PPOOL_SLOT; exit 255";
        let out = run_sh(remote_line(line, 3, 2, Duration::ZERO));
        assert_eq!(out.stdout, b"3 2\n");
        assert_eq!(out.status.code(), Some(255));
        assert!(String::from_utf8_lossy(&out.stderr).contains(OWN_255));
    }
}
