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
//! A host named without `N/` brings as many slots as it has CPUs: the
//! first call for the pool's size ([`SshExecutor::slots_now`], made before
//! the first task) connects to every host at once and asks. Each host's
//! tasks are sessions of shared ssh connections (one master per 10 slots,
//! sshd's default MaxSessions), which ppool starts as its own children,
//! with their sockets in a private directory, and stops and reaps when the
//! executor is dropped. Later calls read a changed `--ssh-file` again: a
//! new host joins with new slot numbers; a host that left keeps its
//! numbers, and their tasks go to hosts with room.
//!
//! A slot's tasks on its own host run one after another in one remote
//! shell, a session of the shared connection kept for the run (see
//! [`super::session`]); the remote login shell then starts once per slot.
//! Other tasks (a borrowed host, no shared connection) are sessions of
//! their own.
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

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use super::command::CommandExecutor;
use super::process::{self, Spawn};
use super::session::{self, Ran, Session};
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
    /// `N/host`; `None`: decided at the start of the run from the host's
    /// CPUs and `--jobs` ([`PerHost`]).
    pub slots: Option<usize>,
    /// `@G1+G2/host`: the groups it joins besides the one of its own name.
    pub groups: Vec<String>,
    /// GNU's `ssh -p 2222 host` spelling: the ssh command for this host
    /// alone, the host name left out; empty: `$PPOOL_SSH`.
    pub ssh: Vec<String>,
}

impl Host {
    /// Whether the host is in `group`: one of its own, or its name.
    fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group) || self.label() == group
    }

    /// The host as it was spelled: its ssh command, if it has one, and its
    /// name (`:` for this machine). What the job log, `--onall`'s tags and
    /// messages show, since two logins may name one host on two ports.
    pub fn label(&self) -> String {
        let name = self.name.as_deref().unwrap_or(":");
        if self.ssh.is_empty() {
            return name.to_owned();
        }
        format!("{} {name}", self.ssh.join(" "))
    }

    /// The same login: the same name through the same ssh command.
    fn same(&self, other: &Host) -> bool {
        self.name == other.name && self.ssh == other.ssh
    }

    /// The ssh command for this host: its own, its program looked up in
    /// PATH and batch mode added as for `$PPOOL_SSH`, else `default`.
    fn command(&self, default: &[OsString]) -> Vec<OsString> {
        let Some((program, options)) = self.ssh.split_first() else {
            return default.to_vec();
        };
        let program = super::command::resolve(std::ffi::OsStr::new(program))
            .map_or_else(|_| OsString::from(program), PathBuf::into_os_string);
        let mut command = vec![program];
        command.extend(options.iter().map(OsString::from));
        command.extend(["-o".into(), "BatchMode=yes".into()]);
        command
    }
}

/// How a host named without `N/` gets its slots: `--jobs` as GNU parallel
/// applies it to each host, of that host's CPUs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PerHost {
    /// No `--jobs`: as many as it has CPUs.
    Cpus,
    /// `--jobs N` (and `0`, already made a number): N on every host.
    Count(usize),
    /// `--jobs N%`.
    Percent(f64),
    /// `--jobs +N`.
    Plus(usize),
    /// `--jobs -N`.
    Minus(usize),
}

impl PerHost {
    /// `--jobs` as given (`None`: not given), and the count it made here.
    pub fn from_jobs(text: Option<&str>, jobs: usize) -> PerHost {
        let Some(text) = text.map(str::trim) else {
            return PerHost::Cpus;
        };
        let number = |n: &str| n.parse::<usize>().ok();
        if let Some(pct) = text.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
            PerHost::Percent(pct)
        } else if let Some(n) = text.strip_prefix('+').and_then(number) {
            PerHost::Plus(n)
        } else if let Some(n) = text.strip_prefix('-').and_then(number) {
            PerHost::Minus(n)
        } else {
            PerHost::Count(jobs)
        }
    }

    /// Whether the host's CPU count is needed.
    fn needs_cpus(self) -> bool {
        !matches!(self, PerHost::Count(_))
    }

    /// The slots of a host with `cpus` CPUs: at least one.
    pub fn slots(self, cpus: usize) -> usize {
        match self {
            PerHost::Cpus => cpus,
            PerHost::Count(n) => n,
            PerHost::Percent(pct) => (cpus as f64 * pct / 100.0).floor() as usize,
            PerHost::Plus(n) => cpus.saturating_add(n),
            PerHost::Minus(n) => cpus.saturating_sub(n),
        }
        .max(1)
    }
}

/// The hosts, the ssh client and the timing, as the configuration built
/// them from the command line and the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub hosts: Vec<Host>,
    /// `$PPOOL_SSH` split into words, the program resolved: `["/usr/bin/ssh"]` by default.
    pub ssh: Vec<OsString>,
    pub down_for: Duration,
    /// The slots of a host named without `N/`.
    pub per_host: PerHost,
    /// The slots of `:` named without `N/`.
    pub local_slots: usize,
    /// One ssh connection per host, shared by its tasks (the default).
    pub shared: bool,
    /// `--sshdelay`: the least time between two ssh clients started.
    pub delay: Option<Duration>,
    /// `-S` values, to be joined again with the `--ssh-file` when it changes.
    pub specs: Vec<String>,
    /// `--ssh-file`, read again during the run.
    pub file: Option<PathBuf>,
    /// `--onall` / `--nonall`: every record on every host.
    pub onall: bool,
    /// `--nonall`: the command as written, once per host.
    pub nonall: bool,
    /// `--hostgroups`: a record's `@GROUP` suffix picks its hosts.
    pub hostgroups: bool,
}

impl Remote {
    /// Slots of all hosts together, counting one for a host whose number is
    /// only known once it is asked: the pool's size before the run.
    pub fn slots(&self) -> usize {
        self.hosts.iter().map(|h| h.slots.unwrap_or(1)).sum()
    }
}

/// Lines of an `--ssh-file`: blank lines and `#` comments skipped.
pub fn read_host_file(path: &Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --ssh-file {}: check the path", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// Parses `-S` values: comma- or newline-separated `[@G1+G2/][N/]LOGIN`,
/// `:`, and `@G` alone, which keeps only the hosts of group G (several may
/// be given). A LOGIN is a host, or an ssh command whose last word is the
/// host (`ssh -p 2222 user@host`, `/usr/bin/ssh host`; GNU writes
/// `//usr/bin/ssh host` for a path without a slot count). A login named
/// twice is one host with the larger slot count and both lists of groups.
/// `local_slots`: the slots of `:` without `N/`.
pub fn parse_hosts(specs: &[String], local_slots: usize) -> anyhow::Result<Vec<Host>> {
    use anyhow::{bail, Context};
    let mut hosts: Vec<Host> = Vec::new();
    let mut seen: HashMap<(Option<String>, Vec<String>), usize> = HashMap::new();
    let mut only: Vec<String> = Vec::new();
    for spec in specs.iter().flat_map(|s| s.split([',', '\n'])) {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        let (groups, rest) = match spec.strip_prefix('@') {
            Some(rest) => match rest.split_once('/') {
                Some((groups, rest)) => (groups, rest),
                None => {
                    only.extend(rest.split('+').filter(|g| !g.is_empty()).map(str::to_owned));
                    continue;
                }
            },
            None => ("", spec),
        };
        let (slots, name) = match rest.split_once('/') {
            Some((n, name)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                let slots: usize = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--ssh {spec}: the slot count must be a number from 1"))?;
                (Some(slots), name)
            }
            _ => (None, rest),
        };
        let (name, ssh) = match name {
            ":" => (None, Vec::new()),
            "" => bail!("--ssh {spec}: no host name after the slot count"),
            _ if name.contains(char::is_whitespace) => {
                let name = name.strip_prefix('/').filter(|n| n.starts_with('/')).unwrap_or(name);
                let mut words = shlex::split(name).with_context(|| {
                    format!("--ssh {spec}: the ssh command cannot be split into words: check its quotes")
                })?;
                let host = words.pop().filter(|_| !words.is_empty()).with_context(|| {
                    format!("--ssh {spec}: give an ssh command and then the host, as in 'ssh -p 2222 user@host'")
                })?;
                (Some(host), words)
            }
            _ => (Some(name.to_owned()), Vec::new()),
        };
        let slots = slots.or(if name.is_none() { Some(local_slots) } else { None });
        let groups = groups.split('+').filter(|g| !g.is_empty()).map(str::to_owned);
        let key = (name.clone(), ssh.clone());
        match seen.get(&key) {
            Some(&at) => {
                let host = &mut hosts[at];
                host.slots = match (host.slots, slots) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                for group in groups {
                    if !host.groups.contains(&group) {
                        host.groups.push(group);
                    }
                }
            }
            None => {
                seen.insert(key, hosts.len());
                hosts.push(Host {
                    name,
                    slots,
                    groups: groups.collect(),
                    ssh,
                });
            }
        }
    }
    if !only.is_empty() {
        hosts.retain(|h| only.iter().any(|g| h.in_group(g)));
        if hosts.is_empty() {
            bail!(
                "--ssh @{}: no host is in that group; put hosts in it as @GROUP/HOST",
                only.join(",@")
            );
        }
    }
    Ok(hosts)
}

/// What the remote login shell runs: the wrapper, by `sh -c`, with the task's
/// line as its `$1`. The environment goes through `env` so the login shell
/// only has to understand single quotes.
pub fn remote_line(line: &[u8], seq: u64, slot: usize, grace: Duration) -> Vec<u8> {
    let mut out = format!("exec env PPOOL_SEQ={seq} PPOOL_SLOT={slot} sh -c ").into_bytes();
    out.extend_from_slice(&quote(wrapper(grace).as_bytes()));
    out.extend_from_slice(b" sh ");
    out.extend_from_slice(&quote(line));
    out
}

/// The script a task's line runs in, as its `$1`, with the ssh channel as
/// its stdin: it stops the task when the channel closes.
fn wrapper(grace: Duration) -> String {
    let grace = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
    // The watcher's stdin is the ssh channel (fd 3: an asynchronous list
    // without job control gets /dev/null as stdin). `kill 0` reaches every
    // process of the session, which sshd started in a group of its own.
    // A killed watcher that has not run yet can still take bytes that
    // reach the channel before it does: the wrapper waits until it is gone,
    // so a remote shell's next task (see `super::session`) is never eaten.
    format!(
        "exec 3<&0 </dev/null\n\
         sh -c \"$1\" 3<&- &\n\
         c=$!\n\
         {{ trap '' TERM; read -r x <&3; kill -TERM 0; sleep {grace}; kill -KILL 0; }} >/dev/null 2>&1 &\n\
         w=$!\n\
         exec 3<&-\n\
         wait $c; s=$?\n\
         kill -KILL $w 2>/dev/null; wait $w 2>/dev/null\n\
         [ $s -eq 255 ] && echo '{OWN_255}' >&2\n\
         exit $s"
    )
}

#[derive(Debug)]
struct HostState {
    host: Host,
    /// The ssh command that reaches it.
    ssh: Vec<OsString>,
    slots: usize,
    /// Left the `--ssh-file`: it gets no new tasks.
    gone: bool,
    /// Left out of the pool until then, after a connection failure.
    down_until: Option<Instant>,
    /// Times in a row the host went down, each down period counted once.
    downs: u32,
    /// Tasks running there now, borrowed slots included.
    running: usize,
    /// What ssh said when it last failed to connect.
    error: String,
}

impl HostState {
    fn new(host: Host, slots: usize, ssh: Vec<OsString>) -> HostState {
        HostState {
            host,
            ssh,
            slots,
            gone: false,
            down_until: None,
            downs: 0,
            running: 0,
            error: String::new(),
        }
    }

    fn up(&self, now: Instant) -> bool {
        self.down_until.map_or(true, |t| t <= now)
    }

    /// A connection failure: the host leaves the pool for `down_for`.
    fn went_down(&mut self, error: String, now: Instant, down_for: Duration) {
        self.error = error;
        // Tasks that fail together on a host going down count once.
        if self.up(now) {
            self.downs += 1;
            self.down_until = Some(now + down_for);
        }
    }
}

/// The hosts as the run knows them now. A host keeps its index for the
/// whole run: one that leaves the `--ssh-file` stays here, marked gone.
#[derive(Debug, Default)]
struct Pool {
    hosts: Vec<HostState>,
    /// Index = slot: its host; index 0 is unused.
    home: Vec<usize>,
    /// The `--ssh-file`'s modification time and length when last read.
    stamp: Option<(SystemTime, u64)>,
}

impl Pool {
    fn add(&mut self, host: Host, slots: usize, ssh: Vec<OsString>) -> usize {
        let at = self.hosts.len();
        self.home.extend(std::iter::repeat(at).take(slots));
        self.hosts.push(HostState::new(host, slots, ssh));
        at
    }
}

enum Pick {
    Host(usize),
    Wait(Instant),
    GiveUp,
}

/// What the ask of a host's CPUs prints when nothing else answers.
const ASK_CPUS: &str = "nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null";

/// How long the start of a run waits for a host's shared connection; a
/// host slower than that runs its first tasks on connections of their own.
const MASTER_WAIT: Duration = Duration::from_secs(30);

/// The run's shared connections: one ssh master per host, a child of
/// ppool in a process group of its own, its socket in a directory only
/// this user can enter, removed with the run. Tasks reach their host as
/// sessions of that connection: no TCP handshake and no key exchange each.
struct Links {
    /// `None`: every task has a connection of its own.
    dir: Option<tempfile::TempDir>,
    masters: Mutex<HashMap<Link, Master>>,
    /// `--sshdelay`, and when the next ssh client may start.
    delay: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

/// A shared connection: the host's index, and which of its connections.
type Link = (usize, usize);

/// Sessions one shared connection carries at most: sshd's default
/// MaxSessions. A host with more slots gets one connection per this many.
const SESSIONS: usize = 10;

struct Master {
    child: std::process::Child,
    /// The ssh command that started it, to stop it.
    ssh: Vec<OsString>,
    socket: PathBuf,
    name: String,
    started: Instant,
}

/// How the start of a shared connection ended.
enum Started {
    Ready,
    /// ssh could not connect (exit 255): what it said.
    Unreachable(String),
    /// No shared connection (ssh ended otherwise, or none could start).
    Without,
    /// Not ready after [`MASTER_WAIT`]: tasks connect on their own until it is.
    Slow,
}

impl Links {
    fn new(shared: bool, delay: Option<Duration>) -> Links {
        let dir = shared.then(private_dir).and_then(|made| match made {
            Ok(dir) => Some(dir),
            Err(e) => {
                crate::say(&format!(
                    "ppool: warning: cannot make a directory for shared ssh connections ({e}): each task connects on its own"
                ));
                None
            }
        });
        Links {
            dir,
            masters: Mutex::new(HashMap::new()),
            delay,
            next: Mutex::new(None),
        }
    }

    /// Waits until `--sshdelay` has passed since the last ssh client started.
    fn pace(&self) {
        let Some(delay) = self.delay else {
            return;
        };
        let mut next = crate::lock(&self.next);
        let now = Instant::now();
        if let Some(at) = *next {
            if at > now {
                std::thread::sleep(at - now);
            }
        }
        *next = Some(Instant::now() + delay);
    }

    /// The socket of `link`'s master, when it is up.
    fn socket(&self, link: Link) -> Option<PathBuf> {
        let mut masters = crate::lock(&self.masters);
        let master = masters.get_mut(&link)?;
        let alive = matches!(master.child.try_wait(), Ok(None));
        (alive && master.socket.exists()).then(|| master.socket.clone())
    }

    /// Stops every master (`ssh -O exit`, SIGKILL when it stays), reaps it
    /// and removes the directory.
    fn close(&mut self) {
        let masters = std::mem::take(&mut *crate::lock(&self.masters));
        for (_, mut master) in masters {
            if let Ok(None) = master.child.try_wait() {
                let ssh = &master.ssh;
                let _ = std::process::Command::new(&ssh[0])
                    .args(&ssh[1..])
                    .args(control_options(&master.socket))
                    .args(["-O", "exit", "--"])
                    .arg(&master.name)
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status();
            }
            let deadline = Instant::now() + Duration::from_secs(2);
            while matches!(master.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = master.child.kill();
            let _ = master.child.wait();
        }
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }
}

/// When `path` last changed, and its length: read again when these differ.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// A new 0700 directory for the control sockets. A socket path has room
/// for about 100 bytes, so a long `$TMPDIR` gives way to /tmp.
fn private_dir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let base = std::env::temp_dir();
    let base = if base.is_absolute() && base.as_os_str().len() <= 60 {
        base
    } else {
        PathBuf::from("/tmp")
    };
    let dir = tempfile::Builder::new().prefix("ppool-ssh-").tempdir_in(base)?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

/// ssh options that make a client a session of the master at `socket`.
fn control_options(socket: &Path) -> Vec<OsString> {
    // ssh expands `%` tokens and a leading `~` in ControlPath; the
    // directory is absolute, so only `%` needs escaping.
    let mut path = OsString::from("ControlPath=");
    path.push(OsString::from_vec(socket.as_os_str().as_bytes().iter().fold(
        Vec::new(),
        |mut out, &b| {
            out.push(b);
            if b == b'%' {
                out.push(b'%');
            }
            out
        },
    )));
    vec!["-o".into(), "ControlMaster=no".into(), "-o".into(), path]
}

/// Runs each task on its slot's host, or on another host while that one is down.
pub struct SshExecutor<'a> {
    /// Renders the command line, and runs the tasks of `:` slots.
    local: &'a CommandExecutor,
    ssh: Vec<OsString>,
    down_for: Duration,
    timeout: Option<Duration>,
    grace: Duration,
    per_host: PerHost,
    local_slots: usize,
    specs: Vec<String>,
    file: Option<PathBuf>,
    /// `--onall`: the hosts every record runs on (those of the start).
    onall: Option<usize>,
    hostgroups: bool,
    pool: Mutex<Pool>,
    /// The hosts were asked for their CPUs and their slots laid out.
    ready: std::sync::OnceLock<()>,
    /// Held while the `--ssh-file` is read again.
    rereading: Mutex<()>,
    links: Links,
    /// `--transferfile`, `--return`, `--cleanup`, `--workdir`, `--env`.
    files: Option<Setup>,
    /// Each slot's remote shell on its own host, between its tasks.
    sessions: Mutex<HashMap<(usize, usize), Session>>,
    /// What marks the end of a task's output in a session.
    token: String,
}

impl<'a> SshExecutor<'a> {
    pub fn new(
        local: &'a CommandExecutor,
        remote: &Remote,
        timeout: Option<Duration>,
        grace: Duration,
    ) -> SshExecutor<'a> {
        let stamp = remote.file.as_deref().and_then(stamp);
        let pool = Pool {
            hosts: remote
                .hosts
                .iter()
                .map(|h| HostState::new(h.clone(), h.slots.unwrap_or(1), h.command(&remote.ssh)))
                .collect(),
            home: vec![0],
            stamp,
        };
        let remote_hosts = remote.hosts.iter().any(|h| h.name.is_some());
        SshExecutor {
            local,
            ssh: remote.ssh.clone(),
            down_for: remote.down_for,
            timeout,
            grace,
            per_host: remote.per_host,
            local_slots: remote.local_slots,
            specs: remote.specs.clone(),
            file: remote.file.clone(),
            onall: remote.onall.then_some(remote.hosts.len()),
            hostgroups: remote.hostgroups,
            pool: Mutex::new(pool),
            ready: std::sync::OnceLock::new(),
            rereading: Mutex::new(()),
            links: Links::new(remote.shared && remote_hosts, remote.delay),
            files: None,
            sessions: Mutex::new(HashMap::new()),
            token: session::token(),
        }
    }

    /// Files and environment around each remote task's command.
    pub fn with_files(mut self, files: Option<Setup>) -> Self {
        self.files = files;
        self
    }

    fn pool(&self) -> MutexGuard<'_, Pool> {
        crate::lock(&self.pool)
    }

    /// The slots of all hosts. The first call connects to every host at
    /// once and asks those named without `N/` for their CPUs; later calls
    /// read the `--ssh-file` again when it has changed.
    pub fn slots_now(&self) -> usize {
        if self.ready.get().is_none() {
            self.ready.get_or_init(|| self.lay_out());
        } else if self.onall.is_none() {
            self.reread();
        }
        self.pool().home.len() - 1
    }

    fn lay_out(&self) {
        let hosts: Vec<(usize, Host)> = self.pool().hosts.iter().map(|s| s.host.clone()).enumerate().collect();
        let joined: Vec<(usize, usize, Option<String>)> = std::thread::scope(|scope| {
            let asks: Vec<_> = hosts
                .iter()
                .map(|(i, host)| scope.spawn(move || (*i, self.join(*i, host))))
                .collect();
            asks.into_iter()
                .filter_map(|ask| ask.join().ok())
                .map(|(i, (slots, error))| (i, slots, error))
                .collect()
        });
        let now = Instant::now();
        let mut pool = self.pool();
        pool.home = vec![0];
        for (i, slots, error) in joined {
            let state = &mut pool.hosts[i];
            state.slots = slots;
            if let Some(error) = error {
                state.went_down(error, now, self.down_for);
            }
        }
        for i in 0..pool.hosts.len() {
            let slots = pool.hosts[i].slots;
            pool.home.extend(std::iter::repeat(i).take(slots));
        }
    }

    /// Connects to a host that joins the pool and decides its slots: its
    /// `N/`, else `--jobs` applied to its CPUs, asked over the new shared
    /// connection. A host that cannot be reached gets one slot, and the
    /// error that sends it out of the pool for a while.
    fn join(&self, at: usize, host: &Host) -> (usize, Option<String>) {
        let Some(name) = &host.name else {
            return (host.slots.unwrap_or(self.local_slots), None);
        };
        let started = self.start_master((at, 0), name);
        match started {
            Started::Unreachable(said) => return (host.slots.unwrap_or(1), Some(said)),
            // Asking would wait as long again: one slot, until it answers.
            Started::Slow => return (host.slots.unwrap_or(1), None),
            Started::Ready | Started::Without => {}
        }
        let slots = match host.slots {
            Some(n) => n,
            None if !self.per_host.needs_cpus() => self.per_host.slots(1),
            None => match self.ask_cpus(at, name) {
                Ok(cpus) => self.per_host.slots(cpus),
                Err(said) => return (1, said),
            },
        };
        if let Started::Ready = started {
            // sshd opens at most MaxSessions sessions per connection: the
            // others start together, and the host is ready with them.
            let more: Vec<(Link, PathBuf)> = (1..slots.div_ceil(SESSIONS))
                .filter_map(|k| Some(((at, k), self.spawn_master((at, k), name)?)))
                .collect();
            for (link, log) in more {
                self.wait_ready(link, &log);
            }
        }
        (slots, None)
    }

    /// Starts a shared connection to `name` without waiting for it; `None`
    /// when it could not be started. It replaces (and reaps) an old one.
    fn spawn_master(&self, link: Link, name: &str) -> Option<PathBuf> {
        let dir = self.links.dir.as_ref()?;
        let socket = dir.path().join(format!("{}-{}", link.0, link.1));
        let log = dir.path().join(format!("{}-{}.log", link.0, link.1));
        let log_file = std::fs::File::create(&log).ok()?;
        let mut path = control_options(&socket);
        path[1] = "ControlMaster=yes".into();
        self.links.pace();
        let ssh = self.ssh_of(link.0);
        let child = std::process::Command::new(&ssh[0])
            .args(&ssh[1..])
            .args(path)
            .args(["-o", "ControlPersist=no", "-N", "--"])
            .arg(name)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .ok()?;
        let master = Master {
            child,
            ssh,
            socket,
            name: name.to_owned(),
            started: Instant::now(),
        };
        if let Some(mut old) = crate::lock(&self.links.masters).insert(link, master) {
            let _ = old.child.kill();
            let _ = old.child.wait();
        }
        Some(log)
    }

    /// Starts a shared connection to `name` and waits until it is ready.
    fn start_master(&self, link: Link, name: &str) -> Started {
        match self.spawn_master(link, name) {
            Some(log) => self.wait_ready(link, &log),
            None => Started::Without,
        }
    }

    /// Waits until `link`'s master is ready, or has ended; `log` holds what
    /// it said.
    fn wait_ready(&self, link: Link, log: &Path) -> Started {
        let deadline = Instant::now() + MASTER_WAIT;
        loop {
            let ended = match crate::lock(&self.links.masters).get_mut(&link) {
                Some(master) if master.socket.exists() => return Started::Ready,
                Some(master) => master.child.try_wait().ok().flatten(),
                None => return Started::Without,
            };
            if let Some(status) = ended {
                if status.code() == Some(255) {
                    let said = std::fs::read_to_string(log).unwrap_or_default();
                    return Started::Unreachable(said.trim().to_owned());
                }
                return Started::Without;
            }
            if Instant::now() > deadline {
                return Started::Slow;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Asks `name` for its CPUs. `Err(Some)`: ssh could not connect, and
    /// said this; `Err(None)`: the host gave no number.
    fn ask_cpus(&self, at: usize, name: &str) -> Result<usize, Option<String>> {
        let out = std::process::Command::new(&self.ssh_of(at)[0])
            .args(self.link_words((at, 0)))
            .arg("--")
            .arg(name)
            .arg(ASK_CPUS)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .output()
            .map_err(|_| None)?;
        if out.status.code() == Some(255) {
            return Err(Some(String::from_utf8_lossy(out.stderr.trim_ascii()).into_owned()));
        }
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .ok_or(None)
    }

    /// The ssh words (program left out) for the task of `slot` on `host`.
    /// Each group of [`SESSIONS`] slots of a host has a connection of its
    /// own; a slot borrowing the host takes one by its number.
    fn ssh_words(&self, host: usize, slot: usize) -> Vec<OsString> {
        self.link_words(self.link_of(host, slot))
    }

    /// The shared connection the task of `slot` on `host` goes through.
    fn link_of(&self, host: usize, slot: usize) -> Link {
        let k = {
            let pool = self.pool();
            let links = pool.hosts[host].slots.div_ceil(SESSIONS).max(1);
            match pool.home.get(slot) {
                Some(&home) if home == host && slot > 0 => {
                    pool.home[1..slot].iter().filter(|&&h| h == host).count() / SESSIONS
                }
                _ => slot % links,
            }
        };
        (host, k)
    }

    /// The ssh words for a client over `link`: a session of it when that is
    /// up. A master that died is started again once the host has had
    /// `down_for` to come back; until it is ready, clients connect on
    /// their own.
    fn link_words(&self, link: Link) -> Vec<OsString> {
        self.links.pace();
        let mut words = self.ssh_of(link.0)[1..].to_vec();
        if let Some(socket) = self.links.socket(link) {
            words.extend(control_options(&socket));
            return words;
        }
        let restart = {
            let mut masters = crate::lock(&self.links.masters);
            match masters.get_mut(&link) {
                Some(master) if master.started.elapsed() >= self.down_for => {
                    if let Ok(Some(_)) = master.child.try_wait() {
                        master.started = Instant::now();
                        Some(master.name.clone())
                    } else {
                        None
                    }
                }
                _ => None,
            }
        };
        if let Some(name) = restart {
            self.spawn_master(link, &name);
        }
        words
    }

    /// Reads the `--ssh-file` again if it changed: a new host joins (its
    /// slots added at the end), a host no longer listed gets no new tasks.
    fn reread(&self) {
        let Some(path) = &self.file else {
            return;
        };
        let Ok(_reading) = self.rereading.try_lock() else {
            return;
        };
        let now = stamp(path);
        {
            let mut pool = self.pool();
            if now.is_none() || pool.stamp == now {
                return;
            }
            pool.stamp = now;
        }
        let listed = read_host_file(path).and_then(|lines| {
            let mut specs = self.specs.clone();
            specs.extend(lines);
            parse_hosts(&specs, self.local_slots)
        });
        let listed = match listed {
            Ok(listed) => listed,
            Err(e) => {
                crate::say(&format!("ppool: warning: {e:#}; the hosts stay as they were"));
                return;
            }
        };
        let mut new = Vec::new();
        {
            let mut pool = self.pool();
            for state in pool.hosts.iter_mut() {
                let named = listed.iter().any(|h| h.same(&state.host));
                if state.gone == named {
                    state.gone = !named;
                    if state.gone {
                        crate::say(&format!(
                            "ppool: warning: {} left {}: it gets no new tasks",
                            state.host.label(),
                            path.display()
                        ));
                    }
                }
                if named {
                    if let Some(h) = listed.iter().find(|h| h.same(&state.host)) {
                        state.host.groups.clone_from(&h.groups);
                    }
                }
            }
            for host in listed {
                if !pool.hosts.iter().any(|s| s.host.same(&host)) {
                    new.push(host);
                }
            }
        }
        for host in new {
            if host.name.is_some() && host.ssh.is_empty() && self.ssh.is_empty() {
                crate::say(
                    "ppool: warning: no ssh client for a host added to the --ssh-file: install one or set PPOOL_SSH",
                );
                continue;
            }
            // Its index is taken now, so its connection has its own socket;
            // it takes no task until it has joined.
            let at = {
                let mut pool = self.pool();
                let at = pool.add(host.clone(), 0, host.command(&self.ssh));
                pool.hosts[at].gone = true;
                at
            };
            let (slots, error) = self.join(at, &host);
            let mut pool = self.pool();
            pool.home.extend(std::iter::repeat(at).take(slots));
            let state = &mut pool.hosts[at];
            state.slots = slots;
            state.gone = false;
            if let Some(error) = error {
                state.went_down(error, Instant::now(), self.down_for);
            }
        }
    }

    /// The hosts a task may run on: `--onall` binds each copy of a record
    /// to one host; with `--hostgroups`, an `@G1+G2` suffix (removed from
    /// the record) names groups. `None`: any host.
    fn place<'r>(&self, record: &'r Record) -> (std::borrow::Cow<'r, Record>, Option<Vec<usize>>) {
        use std::borrow::Cow;
        if let Some(hosts) = self.onall {
            let at = (record.seq.saturating_sub(1) % hosts.max(1) as u64) as usize;
            return (Cow::Borrowed(record), Some(vec![at]));
        }
        if !self.hostgroups {
            return (Cow::Borrowed(record), None);
        }
        let mut groups: Vec<String> = Vec::new();
        let mut cut = |text: &[u8]| -> Vec<u8> {
            match text.iter().rposition(|&b| b == b'@') {
                Some(at) => {
                    let named = String::from_utf8_lossy(&text[at + 1..]).into_owned();
                    groups.extend(named.split('+').filter(|g| !g.is_empty()).map(str::to_owned));
                    text[..at].to_vec()
                }
                None => text.to_vec(),
            }
        };
        let mut placed = record.clone();
        let joined = !record.fields.is_empty() && record.whole == record.fields.join(&b' ');
        placed.fields = record.fields.iter().map(|f| cut(f)).collect();
        placed.whole = if joined {
            placed.fields.join(&b' ')
        } else {
            cut(&record.whole)
        };
        if groups.is_empty() {
            return (Cow::Owned(placed), None);
        }
        let pool = self.pool();
        let allowed: Vec<usize> = (0..pool.hosts.len())
            .filter(|&i| groups.iter().any(|g| pool.hosts[i].host.in_group(g)))
            .collect();
        // No host has any of the groups: as GNU parallel, any host.
        (Cow::Owned(placed), (!allowed.is_empty()).then_some(allowed))
    }

    /// The slot's own host when it is up and has room; else the up host with
    /// the most room; else the time the first down host comes back. A task
    /// bound to some hosts, or whose slot's host has left, takes only a
    /// host with room among them, and waits for one otherwise.
    fn pick(&self, home: usize, allowed: Option<&[usize]>) -> Pick {
        let now = Instant::now();
        let mut pool = self.pool();
        let hosts = &pool.hosts;
        let may = |i: usize| !hosts[i].gone && allowed.map_or(true, |a| a.contains(&i));
        let room = |i: usize| hosts[i].running < hosts[i].slots;
        let chosen = if home < hosts.len() && may(home) && hosts[home].up(now) && room(home) {
            Some(home)
        } else {
            // A slot whose own host is down lends its task to the least
            // loaded host that is up, room or not: the slot is the pool's.
            let borrow = allowed.is_none() && home < hosts.len() && !hosts[home].gone;
            (0..hosts.len())
                .filter(|&i| may(i) && hosts[i].up(now) && (borrow || room(i)))
                // Least loaded first: running/slots compared without division.
                .min_by(|&a, &b| {
                    (hosts[a].running * hosts[b].slots.max(1)).cmp(&(hosts[b].running * hosts[a].slots.max(1)))
                })
        };
        if let Some(i) = chosen {
            pool.hosts[i].running += 1;
            return Pick::Host(i);
        }
        let mut candidates = (0..hosts.len()).filter(|&i| may(i)).peekable();
        if candidates.peek().is_none() || candidates.all(|i| hosts[i].downs >= MAX_DOWN) {
            return Pick::GiveUp;
        }
        let back = (0..hosts.len())
            .filter(|&i| may(i))
            .filter_map(|i| hosts[i].down_until.filter(|&t| t > now))
            .min();
        // Hosts up but full: look again soon, a task may end any time.
        Pick::Wait(back.unwrap_or(now + Duration::from_millis(20)))
    }

    /// The task on `host` has ended; `error`: ssh could not connect, and said so.
    fn release(&self, host: usize, error: Option<String>) {
        let now = Instant::now();
        let mut pool = self.pool();
        let s = &mut pool.hosts[host];
        s.running -= 1;
        match error {
            None => {
                s.down_until = None;
                s.downs = 0;
            }
            Some(error) => s.went_down(error, now, self.down_for),
        }
    }

    /// Whether this task failed to connect [`MAX_DOWN`] times to every
    /// remote host it may run on.
    fn tried_all(&self, downs: &[u32], allowed: Option<&[usize]>) -> bool {
        let pool = self.pool();
        (0..pool.hosts.len())
            .filter(|&i| pool.hosts[i].host.name.is_some() && !pool.hosts[i].gone)
            .filter(|&i| allowed.map_or(true, |a| a.contains(&i)))
            .all(|i| downs.get(i).copied().unwrap_or(0) >= MAX_DOWN)
    }

    /// The ssh command that reaches `host`.
    fn ssh_of(&self, host: usize) -> Vec<OsString> {
        self.pool().hosts[host].ssh.clone()
    }

    /// The name ssh is given for `host`; `None` for this machine.
    fn name(&self, host: usize) -> Option<String> {
        self.pool().hosts[host].host.name.clone()
    }

    fn remote_run(
        &self,
        (at, host): (usize, &str),
        line: &[u8],
        record: &Record,
        slot: usize,
        cancel: &Cancel,
    ) -> RemoteEnd {
        if let Some(end) = self.session_run((at, host), line, record, slot, cancel) {
            return end;
        }
        let mut args: Vec<OsString> = self.ssh_words(at, slot);
        args.push("--".into());
        args.push(host.into());
        args.push(OsString::from_vec(remote_line(line, record.seq, slot, self.grace)));
        let ssh = self.ssh_of(at);
        let spawn = Spawn {
            program: Path::new(&ssh[0]),
            args: &args,
            more: &[],
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
            Err(e) => RemoteEnd::NotStarted(format!("ppool: cannot run {}: {e}", PathBuf::from(&ssh[0]).display())),
            Ok(ended) => RemoteEnd::of(ended, cancel),
        }
    }
}

impl SshExecutor<'_> {
    /// Runs the task in the slot's remote shell on its own host, opened
    /// now if it has none; `None` where a shell is not kept: no shared
    /// connection is up, or the slot borrows another host.
    fn session_run(
        &self,
        (at, host): (usize, &str),
        line: &[u8],
        record: &Record,
        slot: usize,
        cancel: &Cancel,
    ) -> Option<RemoteEnd> {
        if self.pool().home.get(slot) != Some(&at) {
            return None;
        }
        let key = (at, slot);
        let kept = crate::lock(&self.sessions).remove(&key);
        let session = match kept {
            Some(session) => session,
            None => {
                self.links.socket(self.link_of(at, slot))?;
                let mut args = self.ssh_words(at, slot);
                args.push("--".into());
                args.push(host.into());
                args.push(session::remote_command(&self.token, &wrapper(self.grace)));
                let program = &self.ssh_of(at)[0];
                match Session::open(program, &args, slot) {
                    Ok(session) => session,
                    Err(e) => {
                        return Some(RemoteEnd::NotStarted(format!(
                            "ppool: cannot run {}: {e}",
                            PathBuf::from(program).display()
                        )))
                    }
                }
            }
        };
        let frame = session::frame(line, record.seq, slot);
        match session.run(
            &frame,
            &self.token,
            (record.seq, slot),
            (self.timeout, self.grace),
            cancel,
        ) {
            Ran::Done(ended, session) => {
                crate::lock(&self.sessions).insert(key, session);
                Some(RemoteEnd::Ran(ended))
            }
            Ran::Gone(ended) => Some(RemoteEnd::of(ended, cancel)),
        }
    }

    /// Ends every remote shell: all are told at once, then each is waited for.
    fn close_sessions(&self) {
        let mut sessions: Vec<Session> = crate::lock(&self.sessions).drain().map(|(_, s)| s).collect();
        for session in sessions.iter_mut() {
            session.hang_up();
        }
        for session in sessions {
            session.close();
        }
    }
}

enum RemoteEnd {
    Ran(process::Ended),
    Unreachable(String),
    NotStarted(String),
}

impl RemoteEnd {
    /// How an ssh client that ran a task ended: its own 255 (not the
    /// task's, which the wrapper says so), outside a timeout or a stop,
    /// is a host that could not be reached, with what ssh said.
    fn of(mut ended: process::Ended, cancel: &Cancel) -> RemoteEnd {
        let unreachable = ended.exit_code == Some(255)
            && !ended.timed_out
            && !cancel.is_stopping()
            && !ended
                .stderr
                .read_all()
                .is_ok_and(|e| e.trim_ascii_end().ends_with(OWN_255.as_bytes()));
        if !unreachable {
            return RemoteEnd::Ran(ended);
        }
        let said = ended.stderr.read_all().unwrap_or_default();
        RemoteEnd::Unreachable(String::from_utf8_lossy(said.trim_ascii()).into_owned())
    }
}

impl Executor for SshExecutor<'_> {
    fn slots(&self) -> Option<usize> {
        Some(self.slots_now())
    }

    fn copies(&self) -> u64 {
        self.onall.map_or(1, |hosts| hosts.max(1) as u64)
    }

    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        let (record, allowed) = self.place(record);
        let (record, allowed) = (record.as_ref(), allowed.as_deref());
        let start = SystemTime::now();
        let clock = Instant::now();
        let fail = |status, code: Option<i32>, message: &str| {
            let mut outcome = Outcome::not_run(record, slot, status, message);
            outcome.exit_code = code;
            outcome.start = start;
            outcome.duration = clock.elapsed();
            outcome
        };
        let line = match self.local.wrapped_line(record, slot) {
            Ok(line) => line,
            Err(outcome) => return *outcome,
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
        let home = self.pool().home.get(slot).copied().unwrap_or(usize::MAX);
        // Connection failures of this task, per host.
        let mut downs: Vec<u32> = Vec::new();
        loop {
            if cancel.is_stopping() {
                return fail(
                    Status::Failed,
                    None,
                    &format!("ppool: task {}: stopped while waiting for a host", record.seq),
                );
            }
            let host = match self.pick(home, allowed) {
                Pick::Host(host) => host,
                Pick::Wait(until) => {
                    let left = until.saturating_duration_since(Instant::now());
                    std::thread::sleep(left.clamp(Duration::from_millis(1), Duration::from_millis(50)));
                    continue;
                }
                Pick::GiveUp => return self.unreachable(record, fail),
            };
            let Some(name) = self.name(host) else {
                let mut outcome = self.local.run(record, slot, cancel);
                self.release(host, None);
                if self.onall.is_some() {
                    outcome.extra().tag = Some(b":\t".to_vec());
                }
                return outcome;
            };
            let run = transfer::Run { record, slot, cancel };
            // Files go through the host's shared connection too.
            let ssh: Vec<OsString> = self.ssh_of(host)[..1]
                .iter()
                .cloned()
                .chain(self.ssh_words(host, slot))
                .collect();
            let sent = match (&self.files, &plan) {
                (Some(files), Some(plan)) => files.send(&ssh, &name, plan, &run),
                _ => Ok(()),
            };
            let end = match sent {
                Ok(()) => self.remote_run((host, &name), &remote_line, record, slot, cancel),
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
                    if downs.len() <= host {
                        downs.resize(host + 1, 0);
                    }
                    downs[host] += 1;
                    if self.tried_all(&downs, allowed) {
                        return self.unreachable(record, fail);
                    }
                }
                RemoteEnd::Ran(ended) => {
                    self.release(host, None);
                    let mut outcome = ended.into_outcome(record, slot, start, clock.elapsed(), self.timeout);
                    if let (Some(files), Some(plan)) = (&self.files, &plan) {
                        files.finish(&ssh, &name, plan, &run, &mut outcome);
                        outcome.duration = clock.elapsed();
                    }
                    let onall = self.onall.is_some();
                    let label = self.pool().hosts[host].host.label();
                    let extra = outcome.extra();
                    extra.command = line;
                    if onall {
                        extra.tag = Some(format!("{label}\t").into_bytes());
                    }
                    extra.host = Some(label);
                    return outcome;
                }
            }
        }
    }
}

impl Drop for SshExecutor<'_> {
    fn drop(&mut self) {
        self.close_sessions();
        self.links.close();
    }
}

impl SshExecutor<'_> {
    fn unreachable(&self, record: &Record, fail: impl Fn(Status, Option<i32>, &str) -> Outcome) -> Outcome {
        let mut message = format!(
            "ppool: task {}: no host could be reached ({MAX_DOWN} connection failures in a row on every host); check the hosts with `ssh HOST true`",
            record.seq
        );
        for state in self.pool().hosts.iter() {
            if let (Some(_), false) = (&state.host.name, state.error.is_empty()) {
                message.push_str(&format!("\nppool: {}: {}", state.host.label(), state.error));
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
            slots: Some(slots),
            groups: Vec::new(),
            ssh: Vec::new(),
        }
    }

    fn remote(hosts: Vec<Host>) -> Remote {
        Remote {
            hosts,
            ssh: vec!["ssh".into()],
            down_for: Duration::from_millis(100),
            per_host: PerHost::Cpus,
            local_slots: 8,
            shared: false,
            delay: None,
            specs: Vec::new(),
            file: None,
            onall: false,
            nonall: false,
            hostgroups: false,
        }
    }

    fn hosts(specs: &[&str]) -> anyhow::Result<Vec<Host>> {
        parse_hosts(&specs.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 8)
    }

    fn unknown(name: &str) -> Host {
        Host {
            name: Some(name.to_owned()),
            slots: None,
            groups: Vec::new(),
            ssh: Vec::new(),
        }
    }

    #[test]
    fn host_lists() {
        assert_eq!(
            hosts(&["4/a,b", ":", "user@c"]).unwrap(),
            vec![host(Some("a"), 4), unknown("b"), host(None, 8), unknown("user@c")]
        );
        assert_eq!(
            hosts(&["3/:,a,", "1/a"]).unwrap(),
            vec![host(None, 3), host(Some("a"), 1)]
        );
        assert_eq!(hosts(&["a/b"]).unwrap(), vec![unknown("a/b")]);
        assert!(hosts(&["0/a"]).is_err());
        assert!(hosts(&["4/"]).is_err());
    }

    #[test]
    fn a_login_may_be_an_ssh_command_ending_with_the_host() {
        let login = |slots: Option<usize>, ssh: &[&str], name: &str| Host {
            name: Some(name.to_owned()),
            slots,
            groups: Vec::new(),
            ssh: ssh.iter().map(|w| w.to_string()).collect(),
        };
        assert_eq!(
            hosts(&[
                "ssh -p 2222 user@a",
                "4/ssh -p 2223 a\n//usr/bin/ssh b",
                "6//usr/bin/ssh -l 'x y' c"
            ])
            .unwrap(),
            vec![
                login(None, &["ssh", "-p", "2222"], "user@a"),
                login(Some(4), &["ssh", "-p", "2223"], "a"),
                login(None, &["/usr/bin/ssh"], "b"),
                login(Some(6), &["/usr/bin/ssh", "-l", "x y"], "c"),
            ]
        );
        // One host on two ports is two hosts; the same login twice is one.
        assert_eq!(hosts(&["ssh -p 1 a,ssh -p 2 a,a,2/ssh -p 1 a"]).unwrap().len(), 3);
        let grouped = hosts(&["@g/2/ssh -p 1 a"]).unwrap();
        assert!(grouped[0].in_group("g") && grouped[0].in_group("ssh -p 1 a"));
        assert_eq!(grouped[0].label(), "ssh -p 1 a");
        assert!(hosts(&["ssh -p 'a"]).is_err());
        assert!(
            hosts(&["ssh "]).is_ok_and(|h| h[0].ssh.is_empty()),
            "trimmed to a host named ssh"
        );
        let command = login(None, &["ssh", "-p", "2"], "a").command(&["x".into()]);
        assert_eq!(command[1..], ["-p", "2", "-o", "BatchMode=yes"].map(OsString::from));
        assert!(PathBuf::from(&command[0]).is_absolute() || command[0] == "ssh");
    }

    #[test]
    fn host_groups_and_group_selection() {
        let grouped = hosts(&["@g1+g2/2/a,@g2/b", "c", "@g3/a"]).unwrap();
        assert_eq!(grouped[0].groups, ["g1", "g2", "g3"]);
        assert_eq!(grouped[0].slots, Some(2));
        assert_eq!(grouped[1].groups, ["g2"]);
        assert!(grouped[2].in_group("c") && !grouped[2].in_group("g2"));
        let names = |hosts: Vec<Host>| hosts.into_iter().map(|h| h.name.unwrap()).collect::<Vec<_>>();
        assert_eq!(names(hosts(&["@g1/a,@g2/b,c", "@g2"]).unwrap()), ["b"]);
        assert_eq!(names(hosts(&["@g1/a,@g2/b,c", "@g1+c"]).unwrap()), ["a", "c"]);
        let e = hosts(&["@g1/a", "@nope"]).unwrap_err();
        assert!(e.to_string().contains("@nope"), "{e}");
    }

    #[test]
    fn jobs_apply_to_each_hosts_cpus() {
        assert_eq!(PerHost::from_jobs(None, 2).slots(6), 6);
        assert_eq!(PerHost::from_jobs(Some("3"), 3).slots(6), 3);
        assert_eq!(PerHost::from_jobs(Some("50%"), 1).slots(6), 3);
        assert_eq!(PerHost::from_jobs(Some("10%"), 1).slots(6), 1);
        assert_eq!(PerHost::from_jobs(Some("+2"), 4).slots(6), 8);
        assert_eq!(PerHost::from_jobs(Some("-2"), 1).slots(6), 4);
        assert_eq!(PerHost::from_jobs(Some("-9"), 1).slots(6), 1);
        assert!(!PerHost::from_jobs(Some("0"), 300).needs_cpus());
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
        let remote = remote(vec![host(Some("a"), 1), host(Some("b"), 2)]);
        let ssh = SshExecutor::new(&local, &remote, None, Duration::ZERO);
        assert_eq!(ssh.slots_now(), 3);
        assert_eq!(ssh.pool().home, [0, 0, 1, 1]);
        let Pick::Host(0) = ssh.pick(0, None) else {
            panic!("slot 1 runs on a")
        };
        ssh.release(0, Some("refused".into()));
        // a is down: its slot borrows b.
        let Pick::Host(1) = ssh.pick(0, None) else {
            panic!("a is down: b")
        };
        ssh.release(1, None);
        std::thread::sleep(Duration::from_millis(150));
        let Pick::Host(0) = ssh.pick(0, None) else {
            panic!("a is back")
        };
        ssh.release(0, None);
        // Both down, MAX_DOWN times in a row: wait, then give up.
        for _ in 0..MAX_DOWN {
            for h in [0, 1] {
                ssh.pool().hosts[h].running += 1;
                ssh.release(h, Some("refused".into()));
                ssh.pool().hosts[h].down_until = Some(Instant::now() - Duration::from_millis(1));
            }
        }
        ssh.pool().hosts[1].down_until = Some(Instant::now() + Duration::from_secs(60));
        let Pick::Host(0) = ssh.pick(1, None) else {
            panic!("a is up again: try it")
        };
        ssh.release(0, Some("refused".into()));
        let Pick::GiveUp = ssh.pick(1, None) else {
            panic!("every host failed {MAX_DOWN} times")
        };
        ssh.pool().hosts[1].downs = 1;
        let Pick::Wait(_) = ssh.pick(1, None) else {
            panic!("b may come back: wait")
        };
    }

    #[test]
    fn a_bound_task_waits_for_room_on_its_hosts_and_a_gone_host_lends_nothing() {
        let local = CommandExecutor::new(&["true".into()], None, &Default::default(), None, Duration::ZERO, false)
            .expect("a plain command parses");
        let remote = remote(vec![host(Some("a"), 1), host(Some("b"), 1)]);
        let ssh = SshExecutor::new(&local, &remote, None, Duration::ZERO);
        assert_eq!(ssh.slots_now(), 2);
        let Pick::Host(1) = ssh.pick(0, Some(&[1])) else {
            panic!("bound to b")
        };
        // b is full: a task bound to it waits, even though a has room.
        let Pick::Wait(_) = ssh.pick(0, Some(&[1])) else {
            panic!("b is full: wait")
        };
        ssh.release(1, None);
        ssh.pool().hosts[0].gone = true;
        let Pick::Host(1) = ssh.pick(0, None) else {
            panic!("a left: its slot takes b")
        };
        let Pick::Wait(_) = ssh.pick(0, None) else {
            panic!("b is full, a gone: wait")
        };
        let Pick::GiveUp = ssh.pick(1, Some(&[0])) else {
            panic!("bound to a host that left")
        };
    }

    #[test]
    fn hostgroup_suffixes_are_cut_from_the_record() {
        let local = CommandExecutor::new(&["true".into()], None, &Default::default(), None, Duration::ZERO, false)
            .expect("a plain command parses");
        let mut hosts = vec![host(Some("a"), 1), host(Some("b"), 1)];
        hosts[0].groups = vec!["g1".into()];
        let mut remote = remote(hosts);
        remote.hostgroups = true;
        let ssh = SshExecutor::new(&local, &remote, None, Duration::ZERO);
        let record = Record::text(1, b"x@y@g1".to_vec());
        let (placed, allowed) = ssh.place(&record);
        assert_eq!(placed.whole, b"x@y");
        assert_eq!(allowed, Some(vec![0]));
        let mut record = Record::text(2, b"p@b q@g1".to_vec());
        record.fields = vec![b"p@b".to_vec(), b"q@g1".to_vec()];
        let (placed, allowed) = ssh.place(&record);
        assert_eq!(placed.whole, b"p q");
        assert_eq!(allowed, Some(vec![0, 1]));
        // No host has the group: any host.
        let record = Record::text(3, b"z@none".to_vec());
        let (placed, allowed) = ssh.place(&record);
        assert_eq!((placed.whole.as_slice(), allowed), (&b"z"[..], None));
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
