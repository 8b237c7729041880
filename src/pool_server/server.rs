//! The pool server: one process per named pool. It takes tasks over its
//! socket, runs them with the command executor the modes use, at most
//! `jobs` at a time, and keeps each outcome until the pool ends.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufReader, BufWriter, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::wire::{self, Ended, Reply, Request, TaskSpec};
use crate::cancel::{Cancel, StopReason};
use crate::capture::Captured;
use crate::exec::command::CommandExecutor;
use crate::exec::Executor;
use crate::input::Record;
use crate::lock;
use crate::task::{Outcome, Status};
use crate::template::Syntax;

/// A task's place in the pool.
struct Entry {
    spec: TaskSpec,
    ended: Option<Kept>,
    fetched: bool,
    started: Option<Instant>,
    ran_for: Option<Duration>,
    /// Stops this task alone (`cancel`) or with the others.
    cancel: Option<Arc<Cancel>>,
    /// Stopped or never started because `--fail-fast` stopped the pool.
    stopped: bool,
}

/// A task's result as the pool keeps it: output over the capture limit
/// stays in an unlinked spill file in the pool's directory, not in the
/// server's memory, and goes when the server does, however it ends.
struct Kept {
    /// Everything but the output.
    ended: Ended,
    stdout: Captured,
    stderr: Captured,
}

impl Kept {
    fn new(mut outcome: Outcome) -> Kept {
        let stdout = std::mem::take(&mut outcome.stdout);
        let stderr = std::mem::take(&mut outcome.stderr);
        Kept {
            ended: Ended::from_outcome(outcome),
            stdout,
            stderr,
        }
    }

    /// The result as it travels, its output read back.
    fn read_back(&mut self) -> Ended {
        let mut ended = self.ended.clone();
        let unreadable =
            |e: std::io::Error| format!("ppool: the task's output cannot be read back: {e}\n").into_bytes();
        ended.stdout = self.stdout.read_all().unwrap_or_else(unreadable);
        ended.stderr = self.stderr.read_all().unwrap_or_else(unreadable);
        ended
    }
}

impl Entry {
    fn new(spec: TaskSpec) -> Entry {
        Entry {
            spec,
            ended: None,
            fetched: false,
            started: None,
            ran_for: None,
            cancel: None,
            stopped: false,
        }
    }

    fn command(&self) -> Vec<u8> {
        let words: Vec<Vec<u8>> = self.spec.words.iter().map(|w| wire::decode(w)).collect();
        words.join(&b' ')
    }
}

#[derive(Default)]
struct State {
    tasks: Vec<Entry>,
    /// Indexes into `tasks` not started yet, oldest first.
    queue: VecDeque<usize>,
    running: usize,
    jobs: usize,
    /// Slot numbers in use, for the cancel token and the guard.
    slots: Vec<bool>,
    /// A `wait` came: no more tasks are taken.
    ending: bool,
    clients: usize,
    last_active: Option<Instant>,
    /// A `submit` asked for `--fail-fast`.
    fail_fast: bool,
    /// The failed task `--fail-fast` stopped the pool at.
    stopped_at: Option<u64>,
}

impl State {
    fn idle(&self) -> bool {
        self.queue.is_empty() && self.running == 0 && self.clients == 0
    }

    /// Ends a task that never started, with `message` on its stderr.
    fn end_unstarted(&mut self, index: usize, message: &str, signal: Option<i32>) {
        let entry = &mut self.tasks[index];
        let mut outcome = Outcome::without_run(index as u64 + 1, entry.command(), Status::Failed, message);
        outcome.signal = signal;
        entry.ended = Some(Kept::new(outcome));
    }

    /// `--fail-fast`: task `id` failed; no other task starts, the running
    /// ones are stopped.
    fn stop_at(&mut self, id: u64) {
        self.stopped_at = Some(id);
        for index in std::mem::take(&mut self.queue) {
            self.tasks[index].stopped = true;
            self.end_unstarted(
                index,
                &format!(
                    "ppool: task {} was not started: task {id} failed (--fail-fast)",
                    index + 1
                ),
                None,
            );
        }
        for entry in &mut self.tasks {
            if let Some(cancel) = &entry.cancel {
                entry.stopped = true;
                cancel.stop(StopReason::FailFast { seq: id });
            }
        }
    }

    fn take_slot(&mut self) -> usize {
        match self.slots.iter().position(|used| !used) {
            Some(free) => {
                self.slots[free] = true;
                free
            }
            None => {
                self.slots.push(true);
                self.slots.len() - 1
            }
        }
    }
}

struct Pool {
    state: Mutex<State>,
    changed: Condvar,
    socket: PathBuf,
    /// The socket file's device and inode: after a `wait` the name may be
    /// a newer server's.
    inode: (u64, u64),
    /// One line per task taken: what a `submit` after this server was
    /// killed reads to say which tasks were lost.
    journal: Mutex<Option<std::fs::File>>,
    cwd: PathBuf,
    uid: u32,
}

/// Serves the pool whose socket is `socket` until `wait` has been answered
/// or it was idle for `idle`. Returns the process's exit status.
pub fn serve(socket: &Path, jobs: usize, idle: Duration) -> Result<i32> {
    // Forked while this process has one thread: should the server be
    // killed outright, its tasks are stopped all the same.
    crate::guard::Guard::start();
    if let Some(dir) = socket.parent() {
        crate::capture::spill_in(dir);
    }
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket).with_context(|| format!("cannot listen on {}", socket.display()))?;
    let pool = Arc::new(Pool {
        state: Mutex::new(State {
            jobs: jobs.max(1),
            last_active: Some(Instant::now()),
            ..State::default()
        }),
        changed: Condvar::new(),
        socket: socket.to_path_buf(),
        inode: {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::symlink_metadata(socket)?;
            (meta.dev(), meta.ino())
        },
        journal: Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(super::journal_path(socket))
                .ok(),
        ),
        cwd: std::env::current_dir().unwrap_or_default(),
        // SAFETY: geteuid cannot fail and touches no memory.
        uid: unsafe { libc::geteuid() },
    });
    {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || dispatch(&pool));
    }
    listener.set_nonblocking(true)?;
    loop {
        let mut fd = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; poll only writes its revents.
        unsafe { libc::poll(&mut fd, 1, 500) };
        {
            let state = lock(&pool.state);
            let finished = state.ending && state.idle();
            let idle_out = state.idle() && state.last_active.is_some_and(|at| at.elapsed() >= idle);
            if finished || idle_out {
                let unfetched: Vec<u64> = (1..=state.tasks.len() as u64)
                    .filter(|&id| !state.tasks[id as usize - 1].fetched)
                    .collect();
                drop(state);
                if !finished && !unfetched.is_empty() && pool.owns_socket() {
                    leave_note(&pool, idle, &unfetched);
                }
                end(&pool);
                return Ok(0);
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                lock(&pool.state).clients += 1;
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    let _ = serve_client(&pool, stream);
                    let mut state = lock(&pool.state);
                    state.clients -= 1;
                    state.last_active = Some(Instant::now());
                    pool.changed.notify_all();
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Takes the socket and the journal away, the pool having ended properly,
/// unless a new server of the same name has them already.
fn end(pool: &Pool) {
    if pool.owns_socket() {
        let _ = std::fs::remove_file(&pool.socket);
        let _ = std::fs::remove_file(super::journal_path(&pool.socket));
    }
    let _ = std::fs::remove_file(super::ending_journal_path(&pool.socket, std::process::id()));
}

/// `wait` frees the name for a new pool at once, but the journal stays,
/// under a name of this server's, until the last task has ended: a server
/// killed meanwhile still reads as lost.
fn free_name(pool: &Pool) {
    if pool.owns_socket() {
        let _ = std::fs::rename(
            super::journal_path(&pool.socket),
            super::ending_journal_path(&pool.socket, std::process::id()),
        );
        let _ = std::fs::remove_file(&pool.socket);
    }
}

/// A pool that ends unwaited-for holds results nobody saw: the next
/// command for its name says so, since this server has no terminal.
fn leave_note(pool: &Pool, idle: Duration, unfetched: &[u64]) {
    let failed = {
        let state = lock(&pool.state);
        unfetched
            .iter()
            .filter(|&&id| {
                state.tasks[id as usize - 1]
                    .ended
                    .as_ref()
                    .is_some_and(|kept| kept.ended.status != Status::Ok.as_str())
            })
            .count()
    };
    let tasks = match unfetched {
        [one] => format!("task {one}"),
        _ => format!("tasks {}", super::id_list(unfetched)),
    };
    let note = format!(
        "ended after {} idle without a `wait`; nobody fetched the results of {tasks} ({failed} failed)",
        humantime::format_duration(idle),
    );
    let _ = std::fs::write(super::note_path(&pool.socket), note);
}

impl Pool {
    fn owns_socket(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(&self.socket).is_ok_and(|meta| (meta.dev(), meta.ino()) == self.inode)
    }
}

/// Starts queued tasks while the pool has room.
fn dispatch(pool: &Arc<Pool>) {
    loop {
        let (index, slot, spec) = {
            let mut state = lock(&pool.state);
            while state.queue.is_empty() || state.running >= state.jobs {
                state = pool.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            let index = state.queue.pop_front().unwrap_or_default();
            state.running += 1;
            let slot = state.take_slot();
            let cancel = Cancel::guarded(1, Duration::from_millis(state.tasks[index].spec.grace_ms));
            let entry = &mut state.tasks[index];
            entry.started = Some(Instant::now());
            entry.cancel = Some(Arc::clone(&cancel));
            (index, slot, (entry.spec.clone(), cancel))
        };
        let pool = Arc::clone(pool);
        std::thread::spawn(move || {
            let (spec, cancel) = spec;
            // `{%}` and PPOOL_SLOT count from 1, as in the other modes.
            let ended = run_task(&cancel, index as u64 + 1, slot + 1, &spec);
            let mut state = lock(&pool.state);
            let failed = ended.ended.status != Status::Ok.as_str();
            let entry = &mut state.tasks[index];
            entry.ended = Some(ended);
            entry.cancel = None;
            entry.ran_for = entry.started.map(|at| at.elapsed());
            if failed && state.fail_fast && state.stopped_at.is_none() {
                state.stop_at(index as u64 + 1);
            }
            state.running -= 1;
            state.slots[slot] = false;
            state.last_active = Some(Instant::now());
            pool.changed.notify_all();
        });
    }
}

/// One submitted task through the command executor, retried as `--retries` says.
fn run_task(cancel: &Cancel, id: u64, slot: usize, spec: &TaskSpec) -> Kept {
    let words: Vec<OsString> = spec.words.iter().map(|w| OsString::from_vec(wire::decode(w))).collect();
    let shell = spec.shell.as_deref().map(|s| OsString::from_vec(wire::decode(s)));
    let line = words
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let record = Record::text(id, line.into_bytes());
    let executor = CommandExecutor::new(
        &words,
        shell.as_deref(),
        &Syntax::default(),
        spec.timeout_ms.map(Duration::from_millis),
        Duration::from_millis(spec.grace_ms),
        false,
    );
    let executor = match executor {
        Ok(executor) => executor.running_as_written(&words),
        Err(message) => {
            let outcome = Outcome::not_run(&record, slot, Status::InvalidInput, &message);
            return Kept::new(outcome);
        }
    };
    let mut attempt = 1;
    let outcome = loop {
        let mut outcome = executor.run(&record, slot, cancel);
        outcome.attempts = attempt;
        if !outcome.status.is_failure() || attempt > spec.retries || cancel.is_stopping() {
            break outcome;
        }
        attempt += 1;
    };
    let callback = match outcome.status.is_failure() {
        false => spec.on_done.as_ref().map(|words| ("--on-done", words)),
        true => spec.on_error.as_ref().map(|words| ("--on-error", words)),
    };
    let code = outcome.own_exit_code();
    let status = outcome.status.as_str();
    let mut ended = Kept::new(outcome);
    if let Some((option, words)) = callback {
        let words: Vec<OsString> = words.iter().map(|w| OsString::from_vec(wire::decode(w))).collect();
        run_callback(&mut ended, (option, &words), (status, code), slot, cancel);
    }
    ended
}

/// Runs a task's callback as the command executor runs a task: {id},
/// {status} and {exit} are fields of its record, {} the task's command.
/// Its output follows the task's; a failed callback is said in the task's
/// stderr and in the summary, never retried.
fn run_callback(
    kept: &mut Kept,
    (option, words): (&str, &[OsString]),
    (status, code): (&str, i32),
    slot: usize,
    cancel: &Cancel,
) {
    let syntax = Syntax {
        json: true,
        ..Syntax::default()
    };
    let seq = kept.ended.seq;
    let mut record = Record::text(seq, kept.ended.input.clone());
    record.json = Some(Box::new(serde_json::json!({"id": seq, "status": status, "exit": code})));
    let executor = CommandExecutor::new(words, None, &syntax, None, Duration::from_secs(2), false).map(|executor| {
        if executor.template().has_placeholder() {
            executor
        } else {
            executor.running_as_written(words)
        }
    });
    let outcome = match executor {
        Ok(executor) => executor.run(&record, slot, cancel),
        Err(message) => Outcome::not_run(&record, slot, Status::InvalidInput, &message),
    };
    let callback = Ended::from_outcome(outcome);
    // A write error here is the spill file's, which the task's own output
    // already met; the callback's output is then lost, its status is not.
    let _ = kept.stdout.push(&callback.stdout);
    let _ = kept.stderr.push(&callback.stderr);
    if callback.status != Status::Ok.as_str() {
        let how = match (callback.exit_code, callback.signal) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            _ => callback.status.clone(),
        };
        let line = format!("the {option} callback of task {seq} failed: {how}");
        kept.stderr.push_message(&format!("ppool: {line}"));
        kept.ended.callback_failed = Some(line);
    }
}

fn serve_client(pool: &Pool, stream: UnixStream) -> std::io::Result<()> {
    let mut out = BufWriter::new(stream.try_clone()?);
    let peer = crate::sys::peer_uid(&stream)?;
    if peer != pool.uid {
        let message = format!(
            "ppool: refused: this pool belongs to uid {}, not to uid {peer}",
            pool.uid
        );
        return wire::send(&mut out, &Reply::Error(message));
    }
    let mut input = BufReader::new(stream);
    let Some(request) = wire::receive::<Request>(&mut input)? else {
        return Ok(());
    };
    match request {
        Request::Submit(spec) => {
            let reply = submit(pool, spec);
            wire::send(&mut out, &reply)
        }
        Request::Get { id } => {
            let ended = {
                let mut state = lock(&pool.state);
                let Some(index) = (id as usize).checked_sub(1).filter(|&i| i < state.tasks.len()) else {
                    let message = format!(
                        "ppool: the pool has no task {id} (its tasks are 1 to {}): use the id `ppool submit` printed",
                        state.tasks.len()
                    );
                    return wire::send(&mut out, &Reply::Error(message));
                };
                while state.tasks[index].ended.is_none() {
                    state = pool.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                state.tasks[index]
                    .ended
                    .as_mut()
                    .expect("the loop above waits for the result")
                    .read_back()
            };
            wire::send(&mut out, &Reply::Result(ended))?;
            // Fetched only once the client says it printed it: a client
            // killed while waiting leaves the result for `wait`.
            if let Ok(Some(true)) = wire::receive::<bool>(&mut input) {
                lock(&pool.state).tasks[id as usize - 1].fetched = true;
                return wire::send(&mut out, &true);
            }
            Ok(())
        }
        Request::Wait => {
            let results = {
                let mut state = lock(&pool.state);
                if !state.ending {
                    state.ending = true;
                    // A later `submit` starts a new pool of the same name.
                    free_name(pool);
                }
                while !(state.queue.is_empty() && state.running == 0) {
                    state = pool.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                let tasks = state
                    .tasks
                    .iter_mut()
                    // What `--fail-fast` stopped is not shown, as in `unordered`.
                    .filter(|entry| !entry.stopped)
                    .filter_map(|entry| entry.ended.as_mut().map(|kept| (kept.read_back(), entry.fetched)))
                    .collect();
                Reply::Results {
                    tasks,
                    stopped_at: state.stopped_at,
                }
            };
            wire::send(&mut out, &results)
        }
        Request::Status => {
            let rows = status(&lock(&pool.state));
            wire::send(&mut out, &Reply::Status(rows))
        }
        Request::Cancel { id } => {
            let reply = cancel(&mut lock(&pool.state), id);
            pool.changed.notify_all();
            wire::send(&mut out, &reply)
        }
    }
}

fn status(state: &State) -> Vec<wire::Row> {
    state
        .tasks
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            // A task that never started has no exit status of its own:
            // `cancel` ended it in the queue, or `--fail-fast` did.
            let state = match (&entry.ended, entry.started) {
                (Some(kept), None) if kept.ended.signal.is_some() => "cancelled".into(),
                (Some(_), None) => "not-started".into(),
                (Some(kept), Some(_)) => kept.ended.status.clone(),
                (None, Some(_)) => "running".into(),
                (None, None) => "queued".into(),
            };
            let running = entry.ran_for.or_else(|| entry.started.map(|at| at.elapsed()));
            wire::Row {
                id: index as u64 + 1,
                state,
                running_ms: running.map(|d| d.as_millis() as u64),
                exit: entry
                    .ended
                    .as_ref()
                    .filter(|_| entry.started.is_some())
                    .map(|kept| kept.ended.clone_outcome_code()),
                command: entry.command(),
            }
        })
        .collect()
}

/// Stops task `id` (every task for `None`): a queued one never starts, a
/// running one gets SIGTERM, SIGKILL after its `--grace`.
fn cancel(state: &mut State, id: Option<u64>) -> Reply {
    let chosen: Vec<usize> = match id {
        Some(id) => match (id as usize).checked_sub(1).filter(|&i| i < state.tasks.len()) {
            Some(index) => vec![index],
            None => {
                return Reply::Error(format!(
                    "ppool: the pool has no task {id} (its tasks are 1 to {})",
                    state.tasks.len()
                ))
            }
        },
        None => (0..state.tasks.len()).collect(),
    };
    let mut reached = 0;
    for index in chosen {
        if let Some(position) = state.queue.iter().position(|&queued| queued == index) {
            state.queue.remove(position);
            state.end_unstarted(
                index,
                &format!("ppool: task {} was cancelled before it started", index + 1),
                Some(libc::SIGTERM),
            );
            reached += 1;
        } else if let Some(cancel) = &state.tasks[index].cancel {
            cancel.stop(StopReason::Signal(libc::SIGTERM));
            reached += 1;
        }
    }
    Reply::Cancelled(reached)
}

fn submit(pool: &Pool, spec: TaskSpec) -> Reply {
    let cwd = PathBuf::from(OsString::from_vec(spec.cwd.clone()));
    let mut state = lock(&pool.state);
    if state.ending {
        return Reply::Ending;
    }
    if cwd != pool.cwd {
        return Reply::Error(format!(
            "ppool: this pool runs its tasks in {}, not in {}: submit from there, or give this directory a pool of its own with --pool NAME",
            pool.cwd.display(),
            cwd.display()
        ));
    }
    if let Some(id) = state.stopped_at {
        return Reply::Error(format!(
            "ppool: the pool stopped after task {id} failed (--fail-fast): `ppool wait` reports it and ends the pool"
        ));
    }
    if let Some(jobs) = spec.jobs {
        state.jobs = jobs.max(1);
    }
    state.fail_fast |= spec.fail_fast;
    state.tasks.push(Entry::new(spec));
    let index = state.tasks.len() - 1;
    if let Some(journal) = lock(&pool.journal).as_mut() {
        let _ = writeln!(journal, "{}", index + 1);
    }
    state.queue.push_back(index);
    state.last_active = Some(Instant::now());
    pool.changed.notify_all();
    Reply::Submitted { id: index as u64 + 1 }
}
