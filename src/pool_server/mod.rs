//! Named pools that live between commands (`submit`, `get`, `wait`): the
//! client side, the socket directory and starting a pool's server.

mod server;
mod wire;

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::exit::{self, Ending};
use crate::output::{Format, Output};
use wire::{Reply, Request, TaskSpec};

/// Failed tasks `wait` names one by one, as the other modes' summary does.
const SUMMARY_NAMED: usize = 20;

/// How long a server that dropped a client may take to be gone.
const LOST_PATIENCE: Duration = Duration::from_secs(10);

/// How long a new server may take to open its socket.
const START_PATIENCE: Duration = Duration::from_secs(30);

/// What one of the pool commands asks for, checked.
#[derive(Debug)]
pub(crate) enum PoolCommand {
    Submit {
        pool: String,
        words: Vec<std::ffi::OsString>,
        shell: Option<std::ffi::OsString>,
        timeout: Option<Duration>,
        grace: Duration,
        retries: u32,
        jobs: Option<usize>,
        idle: Duration,
        fail_fast: bool,
        on_done: Option<Vec<std::ffi::OsString>>,
        on_error: Option<Vec<std::ffi::OsString>>,
    },
    Get {
        pool: String,
        id: u64,
        timeout: Option<Duration>,
        format: Format,
        tag: bool,
    },
    Wait {
        pool: String,
        format: Format,
        tag: bool,
        /// `--cancel`: stop every task first.
        cancel: bool,
    },
    Status {
        pool: String,
    },
    Pools,
    Cancel {
        pool: String,
        /// `None`: every task (`--all`).
        id: Option<u64>,
    },
    /// The server itself, started by `submit`.
    Serve {
        pool: String,
        jobs: usize,
        idle: Duration,
    },
}

/// A pool name becomes a file name: letters, digits, `.`, `_` and `-`.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !fine {
        bail!("the pool name '{name}' is not usable: give 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'");
    }
    Ok(())
}

pub(crate) fn run(command: PoolCommand) -> Result<i32> {
    match command {
        PoolCommand::Submit {
            pool,
            words,
            shell,
            timeout,
            grace,
            retries,
            jobs,
            idle,
            fail_fast,
            on_done,
            on_error,
        } => {
            let encode_all =
                |words: Vec<std::ffi::OsString>| words.iter().map(|w| wire::encode(w.as_bytes())).collect();
            let cwd = std::env::current_dir().context("cannot read the current directory")?;
            let spec = TaskSpec {
                words: words.iter().map(|w| wire::encode(w.as_bytes())).collect(),
                shell: shell.map(|s| wire::encode(s.as_bytes())),
                timeout_ms: timeout.map(|t| t.as_millis() as u64),
                grace_ms: grace.as_millis() as u64,
                retries,
                jobs,
                fail_fast,
                on_done: on_done.map(encode_all),
                on_error: on_error.map(encode_all),
                cwd: cwd.as_os_str().as_bytes().to_vec(),
            };
            submit(&pool, spec, jobs, idle)
        }
        PoolCommand::Get {
            pool,
            id,
            timeout,
            format,
            tag,
        } => get(&pool, id, timeout, format, tag),
        PoolCommand::Wait {
            pool,
            format,
            tag,
            cancel: stop,
        } => {
            if stop {
                cancel(&pool, None)?;
            }
            wait(&pool, format, tag)
        }
        PoolCommand::Status { pool } => status(&pool),
        PoolCommand::Pools => pools(),
        PoolCommand::Cancel { pool, id } => cancel(&pool, id),
        PoolCommand::Serve { pool, jobs, idle } => server::serve(&socket_path(&pool_dir()?, &pool), jobs, idle),
    }
}

/// `$XDG_RUNTIME_DIR/ppool`, else `/tmp/ppool-UID`: created mode 0700, and
/// refused when another user owns it or others may enter it, since whoever
/// controls it could stand in for a pool.
fn pool_dir() -> Result<PathBuf> {
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(base) if !base.is_empty() => PathBuf::from(base).join("ppool"),
        _ => PathBuf::from(format!("/tmp/ppool-{uid}")),
    };
    match std::fs::DirBuilder::new().mode(0o700).recursive(true).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("cannot create the pool directory {}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if !meta.is_dir() {
        bail!(
            "{} is not a directory: remove it, or set XDG_RUNTIME_DIR to a directory of yours",
            dir.display()
        );
    }
    if meta.uid() != uid {
        bail!(
            "the pool directory {} belongs to uid {}, not to you (uid {uid}): remove it, or set XDG_RUNTIME_DIR to a directory of yours",
            dir.display(),
            meta.uid()
        );
    }
    if meta.mode() & 0o077 != 0 {
        bail!(
            "the pool directory {} is open to other users (mode {:o}): run `chmod 700 {}`",
            dir.display(),
            meta.mode() & 0o777,
            dir.display()
        );
    }
    Ok(dir)
}

fn socket_path(dir: &Path, pool: &str) -> PathBuf {
    dir.join(format!("{pool}.sock"))
}

/// Beside the socket: the ids of the tasks the server took, one a line,
/// removed when the pool ends properly.
fn journal_path(socket: &Path) -> PathBuf {
    socket.with_extension("tasks")
}

/// The journal of a server whose pool is ending after `wait`: its name is
/// free for a new pool while its tasks finish.
fn ending_journal_path(socket: &Path, pid: u32) -> PathBuf {
    socket.with_extension(format!("{pid}.tasks"))
}

/// The ending journals beside `socket`, with their servers' pids.
fn ending_journals(socket: &Path) -> Vec<(PathBuf, u32)> {
    let (Some(dir), Some(stem)) = (socket.parent(), socket.file_stem().and_then(|s| s.to_str())) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let prefix = format!("{stem}.");
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let pid = name.strip_prefix(&prefix)?.strip_suffix(".tasks")?;
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((dir.join(&name), pid.parse().ok()?))
        })
        .collect()
}

/// Whether process `pid` still runs (a zombie has ended).
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; no memory is involved.
    if unsafe { libc::kill(pid, 0) } != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
        return false;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z")
    })
}

/// Beside the socket: what an idle pool left unfetched when it ended.
fn note_path(socket: &Path) -> PathBuf {
    socket.with_extension("ended")
}

/// `1 2 5`, or `1 to 7` for a run of ids.
fn id_list(ids: &[u64]) -> String {
    match ids {
        [first, .., last] if last - first + 1 == ids.len() as u64 => format!("{first} to {last}"),
        _ => ids.iter().map(u64::to_string).collect::<Vec<_>>().join(" "),
    }
}

/// Says, once, what the last pool of this name left unfetched.
fn tell_ended(pool: &str, socket: &Path) {
    let path = note_path(socket);
    if let Ok(note) = std::fs::read_to_string(&path) {
        let _ = std::fs::remove_file(&path);
        crate::say(&format!("ppool: warning: pool '{pool}' {note}"));
    }
}

/// Connects to the running server of `pool`: an error when there is none,
/// or when it was killed (then once, saying which tasks it had).
fn connect(pool: &str) -> Result<UnixStream> {
    let socket = socket_path(&pool_dir()?, pool);
    match UnixStream::connect(&socket) {
        Ok(stream) => Ok(stream),
        Err(_) => {
            check_lost(pool, &socket)?;
            tell_ended(pool, &socket);
            bail!("no pool named '{pool}' is running: `ppool submit --pool {pool} COMMAND…` starts one")
        }
    }
}

/// A server that went away while a client waited was killed: say what
/// it lost rather than only that the connection ended.
fn lost_or(pool: &str, error: anyhow::Error) -> anyhow::Error {
    let Ok(dir) = pool_dir() else {
        return error;
    };
    let socket = socket_path(&dir, pool);
    // The connection ends while the server is still closing its files: a
    // dying server may yet take a connection, and its pid may yet be there.
    let deadline = Instant::now() + LOST_PATIENCE;
    loop {
        if let Ok(stream) = UnixStream::connect(&socket) {
            if ask(&stream, &Request::Status).is_ok() {
                return error;
            }
        }
        if let Err(lost) = check_lost(pool, &socket) {
            return lost;
        }
        let pending = journal_path(&socket).exists() || !ending_journals(&socket).is_empty();
        if !pending || Instant::now() >= deadline {
            return error;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A journal without a server is a pool whose server was killed: says so
/// once, naming its tasks, and clears the way for a new pool.
fn check_lost(pool: &str, socket: &Path) -> Result<()> {
    let journal = journal_path(socket);
    if let Ok(text) = std::fs::read_to_string(&journal) {
        let _ = std::fs::remove_file(&journal);
        let _ = std::fs::remove_file(socket);
        report_lost(pool, &text)?;
    }
    // A server killed while its pool was ending after `wait`.
    for (journal, pid) in ending_journals(socket) {
        if alive(pid) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&journal) else {
            continue;
        };
        let _ = std::fs::remove_file(&journal);
        report_lost(pool, &text)?;
    }
    Ok(())
}

/// An error naming the tasks of a lost pool's journal, if it had any.
fn report_lost(pool: &str, text: &str) -> Result<()> {
    let count = text.lines().count();
    if count == 0 {
        return Ok(());
    }
    let ids = if count == 1 {
        "task 1".to_owned()
    } else {
        format!("tasks 1 to {count}")
    };
    bail!("pool '{pool}' was lost: its server was killed, and with it the results of {ids} (tasks still running were stopped); submit them again")
}

/// Connects to `pool`'s server, starting one first when none runs. The
/// lock file makes racing `submit`s start one server between them.
fn connect_or_start(pool: &str, jobs: Option<usize>, idle: Duration) -> Result<UnixStream> {
    let dir = pool_dir()?;
    let socket = socket_path(&dir, pool);
    if let Ok(stream) = UnixStream::connect(&socket) {
        return Ok(stream);
    }
    let lock_path = dir.join(format!("{pool}.lock"));
    let lock = File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
    // SAFETY: flock on a descriptor we own; no memory is involved.
    while unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
        }
    }
    if let Ok(stream) = UnixStream::connect(&socket) {
        return Ok(stream);
    }
    check_lost(pool, &socket)?;
    tell_ended(pool, &socket);
    // A socket nobody answers on is a dead server's: never trusted.
    let _ = std::fs::remove_file(&socket);
    let exe = std::env::current_exe().context("cannot find ppool's own program to start the pool")?;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut command = std::process::Command::new(exe);
    command
        .args(["__pool", pool, "--jobs", &jobs.to_string(), "--idle"])
        .arg(format!("{}ms", idle.as_millis()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    crate::sys::detach(&mut command);
    let mut child = command.spawn().context("cannot start the pool's server")?;
    let deadline = Instant::now() + START_PATIENCE;
    loop {
        if let Ok(stream) = UnixStream::connect(&socket) {
            // Reaped by init once this process exits; nothing waits on it.
            std::mem::forget(child);
            return Ok(stream);
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "the server of pool '{pool}' ended at start ({status}): see that {} is writable",
                dir.display()
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "the server of pool '{pool}' did not open its socket in {}s",
                START_PATIENCE.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `request` and reads the reply.
fn ask(stream: &UnixStream, request: &Request) -> Result<(Reply, BufReader<UnixStream>)> {
    let mut writer = stream.try_clone()?;
    wire::send(&mut writer, request).context("cannot reach the pool's server")?;
    let mut reader = BufReader::new(stream.try_clone()?);
    match wire::receive::<Reply>(&mut reader) {
        Ok(Some(Reply::Error(message))) => bail!("{}", message.strip_prefix("ppool: ").unwrap_or(&message)),
        Ok(Some(reply)) => Ok((reply, reader)),
        Ok(None) => bail!("the pool's server ended without answering"),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Err(e.into()),
        Err(e) => Err(e).context("cannot read the pool's answer"),
    }
}

fn submit(pool: &str, spec: TaskSpec, jobs: Option<usize>, idle: Duration) -> Result<i32> {
    // A pool that is ending takes no task: the next attempt starts a new one.
    for _ in 0..3 {
        let stream = connect_or_start(pool, jobs, idle)?;
        match ask(&stream, &Request::Submit(spec.clone()))?.0 {
            Reply::Submitted { id } => {
                let mut out = io::stdout().lock();
                writeln!(out, "{id}")?;
                out.flush()?;
                return Ok(0);
            }
            Reply::Ending => std::thread::sleep(Duration::from_millis(20)),
            _ => bail!("the pool's server answered out of turn"),
        }
    }
    bail!("pool '{pool}' kept ending while this task was submitted: submit it again")
}

fn get(pool: &str, id: u64, timeout: Option<Duration>, format: Format, tag: bool) -> Result<i32> {
    let stream = connect(pool)?;
    stream.set_read_timeout(timeout.filter(|t| !t.is_zero()))?;
    let (reply, reader) = match ask(&stream, &Request::Get { id }) {
        Ok(answer) => answer,
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)) =>
        {
            let limit = timeout
                .map(|t| humantime::format_duration(t).to_string())
                .unwrap_or_default();
            crate::say(&format!(
                "ppool: task {id} of pool '{pool}' has not ended after {limit}; it goes on"
            ));
            return Ok(exit::TIMEOUT);
        }
        Err(e) => return Err(lost_or(pool, e)),
    };
    let Reply::Result(ended) = reply else {
        bail!("the pool's server answered out of turn");
    };
    let mut outcome = ended.into_outcome()?;
    let mut output = Output::new(format, tag);
    output.write(&mut outcome, true)?;
    output.flush()?;
    let mut reader = reader;
    let _ = wire::send(reader.get_mut(), &true);
    // Once the server has it down as fetched: a `wait` right after this
    // `get` must not print the task again.
    let _ = wire::receive::<bool>(&mut reader);
    Ok(outcome.own_exit_code())
}

fn wait(pool: &str, format: Format, tag: bool) -> Result<i32> {
    let stream = connect(pool)?;
    let Reply::Results {
        tasks: results,
        stopped_at,
    } = ask(&stream, &Request::Wait).map_err(|e| lost_or(pool, e))?.0
    else {
        bail!("the pool's server answered out of turn");
    };
    let mut output = Output::new(format, tag);
    let total = results.len();
    let mut failed = Vec::new();
    let mut stopped_code = exit::FAILED;
    let mut callbacks = Vec::new();
    for (mut ended, fetched) in results {
        let callback_failed = ended.callback_failed.take();
        let mut outcome = ended.into_outcome()?;
        if !fetched {
            output.write(&mut outcome, true)?;
        }
        if Some(outcome.seq) == stopped_at {
            stopped_code = outcome.own_exit_code();
        }
        if outcome.status.is_failure() {
            failed.push(crate::sink::describe(&outcome));
        }
        callbacks.extend(callback_failed);
    }
    output.flush()?;
    if let Some(id) = stopped_at {
        output.note(&format!("ppool: stopped after task {id} failed (--fail-fast)"))?;
        return Ok(exit::code(Ending::FailFast { code: stopped_code }));
    }
    if !failed.is_empty() {
        output.note(&format!("ppool: {} of {total} tasks failed:", failed.len()))?;
        for line in failed.iter().take(SUMMARY_NAMED) {
            output.note(&format!("ppool:   {line}"))?;
        }
        if failed.len() > SUMMARY_NAMED {
            output.note(&format!("ppool:   … and {} more", failed.len() - SUMMARY_NAMED))?;
        }
    }
    for line in &callbacks {
        output.note(&format!("ppool: {line}"))?;
    }
    // A failed callback is a failure too, never one that passes unseen.
    Ok(exit::code(Ending::Completed {
        failed: (failed.len() + callbacks.len()) as u64,
    }))
}

/// `ppool status`: one line per task.
fn status(pool: &str) -> Result<i32> {
    let stream = connect(pool)?;
    let Reply::Status(rows) = ask(&stream, &Request::Status)?.0 else {
        bail!("the pool's server answered out of turn");
    };
    let mut out = io::stdout().lock();
    writeln!(out, "ID\tSTATE\tTIME\tEXIT\tCOMMAND")?;
    for row in rows {
        let time = row
            .running_ms
            .map(|ms| format!("{:.1}s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let exit = row.exit.map(|code| code.to_string()).unwrap_or_else(|| "-".into());
        writeln!(
            out,
            "{}\t{}\t{time}\t{exit}\t{}",
            row.id,
            row.state,
            String::from_utf8_lossy(&row.command)
        )?;
    }
    out.flush()?;
    Ok(0)
}

/// `ppool pools`: the pools whose server answers, with their task counts.
fn pools() -> Result<i32> {
    let dir = pool_dir()?;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".sock").map(str::to_owned)
        })
        .collect();
    names.sort();
    let mut out = io::stdout().lock();
    for name in names {
        let Ok(stream) = UnixStream::connect(socket_path(&dir, &name)) else {
            continue;
        };
        let Ok((Reply::Status(rows), _)) = ask(&stream, &Request::Status) else {
            continue;
        };
        let count = |state: &str| rows.iter().filter(|row| row.state == state).count();
        writeln!(
            out,
            "{name}\t{} tasks\t{} running\t{} queued",
            rows.len(),
            count("running"),
            count("queued")
        )?;
    }
    out.flush()?;
    Ok(0)
}

/// `ppool cancel`: stops one task or all of them.
fn cancel(pool: &str, id: Option<u64>) -> Result<i32> {
    let stream = connect(pool)?;
    let Reply::Cancelled(reached) = ask(&stream, &Request::Cancel { id })?.0 else {
        bail!("the pool's server answered out of turn");
    };
    if reached == 0 {
        if let Some(id) = id {
            crate::say(&format!("ppool: task {id} had already ended; nothing to cancel"));
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_names_are_plain_file_names() {
        for good in ["default", "ci-build_2", "a.b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "a/b", "..", "sp ace", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_in_a_run_are_a_range() {
        assert_eq!(id_list(&[1]), "1");
        assert_eq!(id_list(&[3, 4, 5]), "3 to 5");
        assert_eq!(id_list(&[1, 2, 5]), "1 2 5");
    }
}
