//! The cancel token: why the run is stopping, and the process group of the
//! task in each slot, so that a stop reaches every running task.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::guard::Guard;
use crate::lock;
use crate::slot_table::SlotTable;
use crate::target::Target;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `--fail-fast`: the task with this sequence number failed.
    FailFast {
        seq: u64,
    },
    /// `--halt now,…` other than fail=1: the task with this sequence number
    /// reached the threshold.
    Halt {
        seq: u64,
    },
    Signal(i32),
    BrokenPipe,
    /// ppool's own error (see [`Cancel::error`]) while it ran this task.
    Error {
        seq: u64,
    },
}

pub struct Cancel {
    stopping: AtomicBool,
    /// A second interrupt killed every task at once.
    killed: AtomicBool,
    reason: Mutex<Option<StopReason>>,
    /// The message of a [`StopReason::Error`].
    error: Mutex<Option<String>>,
    /// Index = slot: where the running task's signals go
    /// ([`Target::raw`]); 0 = nothing running there. Grows with the slots used.
    groups: SlotTable<Mutex<i32>>,
    grace: Duration,
    /// Told of every group as it is registered, to stop them should ppool
    /// be killed with SIGKILL.
    guard: Option<&'static Guard>,
    /// A pipe that becomes readable when the run stops (one byte, never
    /// read), so that a task's reader, waiting in poll(2) for pipes that a
    /// stray descendant holds open, wakes up.
    wake: Option<(OwnedFd, OwnedFd)>,
    /// The byte was written to `wake`.
    woken: AtomicBool,
    /// A task's reader also watches stdout for a reader that has gone: in
    /// a run of one task, on the main thread, nothing else would see it
    /// before the task ends.
    stdout_watched: AtomicBool,
    /// For the thread that sends SIGKILL after the grace.
    me: Weak<Cancel>,
    /// It stops the whole run ([`Cancel::for_the_run`]): a stop also
    /// reaches the processes that left the tasks' groups.
    whole_run: AtomicBool,
}

impl Cancel {
    /// `slots` is the most slots the run may use; storage grows only with
    /// the slots that register a task.
    pub fn new(slots: usize, grace: Duration) -> Arc<Cancel> {
        Cancel::with_guard(slots, grace, None)
    }

    /// Like [`Cancel::new`], with the guard forked at start (if any) told
    /// of every registered group, to stop them if ppool is killed outright.
    pub fn guarded(slots: usize, grace: Duration) -> Arc<Cancel> {
        let guard = Guard::get();
        if let Some(guard) = guard {
            guard.set_grace(grace);
        }
        Cancel::with_guard(slots, grace, guard)
    }

    fn with_guard(_slots: usize, grace: Duration, guard: Option<&'static Guard>) -> Arc<Cancel> {
        Arc::new_cyclic(|me| Cancel {
            stopping: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            reason: Mutex::new(None),
            error: Mutex::new(None),
            groups: SlotTable::new(),
            grace,
            guard,
            wake: crate::sys::pipe().ok(),
            woken: AtomicBool::new(false),
            stdout_watched: AtomicBool::new(false),
            me: me.clone(),
            whole_run: AtomicBool::new(false),
        })
    }

    /// This token stops the run itself, not one task of it (the pool
    /// server keeps one per task): its stop also stops the processes of the
    /// run's tasks that left their groups, and, before ppool exits, every
    /// process left carrying the run's marker (`crate::escaped`).
    pub fn for_the_run(self: Arc<Cancel>) -> Arc<Cancel> {
        self.whole_run.store(true, Ordering::SeqCst);
        self
    }

    fn is_whole_run(&self) -> bool {
        self.whole_run.load(Ordering::SeqCst)
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<StopReason> {
        *lock(&self.reason)
    }

    /// A descriptor that polls readable once the run is stopping.
    pub fn stop_fd(&self) -> Option<i32> {
        self.wake.as_ref().map(|(read, _)| read.as_raw_fd())
    }

    /// Starts no more tasks and stops the running ones: SIGTERM to each
    /// process group now, SIGKILL to those still there after the grace.
    /// Only the first reason counts; later calls do nothing.
    pub fn stop(&self, reason: StopReason) {
        {
            let mut current = lock(&self.reason);
            if current.is_some() {
                return;
            }
            *current = Some(reason);
        }
        let start = Instant::now();
        let whole_run = self.is_whole_run();
        if whole_run {
            // What left the tasks' groups is stopped before ppool exits,
            // SIGKILL after the same grace (`crate::escaped::finish_run`).
            crate::escaped::run_stopped(start + self.grace);
        }
        self.stopping.store(true, Ordering::SeqCst);
        self.wake();
        self.signal_all(libc::SIGTERM);
        if let Some(this) = self.me.upgrade() {
            // At the thread limit there is no thread for it: each task's
            // own reader still sends SIGKILL after the grace (`Clock`), and
            // ppool stops what left the tasks' groups before it exits.
            let _ = std::thread::Builder::new().name("grace".into()).spawn(move || {
                // The tasks' processes that left their groups (the groups'
                // SIGTERM was just sent) have the same grace.
                if whole_run {
                    crate::escaped::signal(crate::escaped::Which::Tasks, libc::SIGTERM, &|target| {
                        this.is_running(target)
                    });
                }
                std::thread::sleep(this.grace.saturating_sub(start.elapsed()));
                this.signal_all(libc::SIGKILL);
                if whole_run {
                    crate::escaped::signal(crate::escaped::Which::Tasks, libc::SIGKILL, &|_| false);
                }
            });
        }
    }

    /// Whether `target` ([`Target::raw`]) is where a running task's signals go.
    fn is_running(&self, target: i32) -> bool {
        self.groups.iter().any(|entry| *lock(entry) == target)
    }

    /// ppool's own error while it ran task `seq` (its output could not be
    /// kept): the run stops, and ends with `message` as its error.
    pub fn fail(&self, seq: u64, message: String) {
        {
            let mut error = lock(&self.error);
            if error.is_none() && self.reason().is_none() {
                *error = Some(message);
            }
        }
        self.stop(StopReason::Error { seq });
    }

    /// The error a [`StopReason::Error`] stop was for.
    pub fn error(&self) -> Option<String> {
        match self.reason() {
            Some(StopReason::Error { .. }) => lock(&self.error).clone(),
            _ => None,
        }
    }

    /// Starts no more tasks (and no retries), without signalling any. Only an
    /// atomic store, so a signal handler may call it.
    pub fn mark_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Asks tasks' readers to watch stdout, and to stop the run
    /// ([`StopReason::BrokenPipe`]) once nobody reads it.
    pub fn watch_stdout(&self) {
        self.stdout_watched.store(true, Ordering::SeqCst);
    }

    /// stdout's descriptor when readers are to watch it, else -1 (which
    /// poll(2) skips).
    pub fn watched_stdout(&self) -> i32 {
        if self.stdout_watched.load(Ordering::Relaxed) {
            libc::STDOUT_FILENO
        } else {
            -1
        }
    }

    /// A signal handler's part of a stop: starts no more tasks and wakes
    /// the readers, with atomic stores and write(2) only. The reason
    /// follows outside the handler.
    pub fn stop_from_handler(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// A signal handler's part of a second interrupt: readers let go of
    /// the pipes of the task the handler kills.
    pub fn kill_from_handler(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.killed.store(true, Ordering::SeqCst);
        if self.is_whole_run() {
            crate::escaped::run_killed();
        }
    }

    /// Makes the stop pipe readable, once.
    fn wake(&self) {
        if self.woken.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some((_, write)) = &self.wake {
            // SAFETY: one byte from a static into a pipe we own; a pipe with
            // room never blocks, and the flag above makes this the only write.
            unsafe {
                libc::write(write.as_raw_fd(), b"x".as_ptr().cast(), 1);
            }
        }
    }

    /// A second interrupt: kill every running task at once.
    pub fn kill_now(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.killed.store(true, Ordering::SeqCst);
        let whole_run = self.is_whole_run();
        if whole_run {
            crate::escaped::run_killed();
        }
        self.signal_all(libc::SIGKILL);
        if whole_run {
            crate::escaped::signal(crate::escaped::Which::Tasks, libc::SIGKILL, &|_| false);
        }
    }

    /// Task `seq` is about to be spawned in `slot`: until it is registered,
    /// the guard knows to look for it.
    pub fn spawning(&self, slot: usize, seq: u64) {
        if let Some(guard) = self.guard {
            guard.spawning(slot, seq);
        }
    }

    /// Records the process group `pid` leads as running in `slot`.
    pub fn register(&self, slot: usize, pid: i32) {
        self.register_task(slot, Target::group(pid));
    }

    /// Records where the signals of the task in `slot` go. A stop that came
    /// just before is applied to it at once, so no task escapes a stop.
    pub fn register_task(&self, slot: usize, target: Target) {
        let mut entry = lock(&self.groups[slot]);
        *entry = target.raw();
        if let Some(guard) = self.guard {
            guard.note(slot, target.group_id().unwrap_or(0));
        }
        if self.is_stopping() {
            target.signal(libc::SIGTERM);
            let grace = self.grace;
            // As in `stop`: without a thread, the task's reader kills it.
            let _ = std::thread::Builder::new().name("grace".into()).spawn(move || {
                std::thread::sleep(grace);
                target.signal(libc::SIGKILL);
            });
        }
    }

    /// Called before the slot's process is reaped: its group id stays
    /// valid until then, so a signal never reaches a recycled group.
    pub fn unregister(&self, slot: usize) {
        let mut entry = lock(&self.groups[slot]);
        *entry = 0;
        if let Some(guard) = self.guard {
            guard.note(slot, 0);
        }
    }

    /// Whether a task runs in a slot other than `slot`: one that will end
    /// and give back the process it holds.
    pub fn running_besides(&self, slot: usize) -> bool {
        self.groups
            .iter()
            .enumerate()
            .any(|(other, group)| other != slot && *lock(group) != 0)
    }

    fn signal_all(&self, signal: i32) {
        for entry in self.groups.iter() {
            if let Some(target) = Target::from_raw(*lock(entry)) {
                target.signal(signal);
            }
        }
    }
}
