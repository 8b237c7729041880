//! The cancel token: why the run is stopping, and the process group of the
//! task in each slot, so that a stop reaches every running task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::exec::process::signal_group;
use crate::guard::Guard;
use crate::lock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `--fail-fast`: the task with this sequence number failed.
    FailFast {
        seq: u64,
    },
    Signal(i32),
    BrokenPipe,
}

pub struct Cancel {
    stopping: AtomicBool,
    reason: Mutex<Option<StopReason>>,
    /// Index = slot; 0 = nothing running there.
    groups: Vec<Mutex<i32>>,
    grace: Duration,
    /// Told of every group as it is registered, to stop them should ppool
    /// be killed with SIGKILL.
    guard: Option<&'static Guard>,
}

impl Cancel {
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

    fn with_guard(slots: usize, grace: Duration, guard: Option<&'static Guard>) -> Arc<Cancel> {
        Arc::new(Cancel {
            stopping: AtomicBool::new(false),
            reason: Mutex::new(None),
            groups: (0..=slots).map(|_| Mutex::new(0)).collect(),
            grace,
            guard,
        })
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<StopReason> {
        *lock(&self.reason)
    }

    /// Starts no more tasks and stops the running ones: SIGTERM to each
    /// process group now, SIGKILL to those still there after the grace.
    /// Only the first reason counts; later calls do nothing.
    pub fn stop(self: &Arc<Self>, reason: StopReason) {
        {
            let mut current = lock(&self.reason);
            if current.is_some() {
                return;
            }
            *current = Some(reason);
        }
        self.stopping.store(true, Ordering::SeqCst);
        self.signal_all(libc::SIGTERM);
        let this = Arc::clone(self);
        std::thread::spawn(move || {
            std::thread::sleep(this.grace);
            this.signal_all(libc::SIGKILL);
        });
    }

    /// Starts no more tasks (and no retries), without signalling any. Only an
    /// atomic store, so a signal handler may call it.
    pub fn mark_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// A second interrupt: kill every running task at once.
    pub fn kill_now(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.signal_all(libc::SIGKILL);
    }

    /// Task `seq` is about to be spawned in `slot`: until it is registered,
    /// the guard knows to look for it.
    pub fn spawning(&self, slot: usize, seq: u64) {
        if let Some(guard) = self.guard {
            guard.spawning(slot, seq);
        }
    }

    /// Records the process group running in `slot`. A stop that came just
    /// before is applied to it at once, so no task escapes a stop.
    pub fn register(&self, slot: usize, pid: i32) {
        let mut entry = lock(&self.groups[slot]);
        *entry = pid;
        if let Some(guard) = self.guard {
            guard.note(slot, pid);
        }
        if self.is_stopping() {
            signal_group(pid, libc::SIGTERM);
            let grace = self.grace;
            std::thread::spawn(move || {
                std::thread::sleep(grace);
                signal_group(pid, libc::SIGKILL);
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

    fn signal_all(&self, signal: i32) {
        for group in &self.groups {
            let pid = lock(group);
            if *pid > 0 {
                signal_group(*pid, signal);
            }
        }
    }
}
