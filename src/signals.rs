//! SIGINT, SIGTERM and SIGHUP: the first stops the run gracefully, a second
//! SIGINT kills every running task at once. SIGHUP (the terminal went away)
//! is a SIGTERM. SIGINT and SIGHUP ignored when ppool started (`nohup`, a
//! script's `ppool … &`) stay ignored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cancel::{Cancel, StopReason};

/// The signals ppool has a handler for, bit `n - 1` for signal `n`. A
/// process started from ppool's memory resets these (and no other: one
/// ignored stays ignored) before its `execve`, so that no handler of
/// ppool's runs in it meanwhile.
static HANDLED: AtomicU64 = AtomicU64::new(0);

/// Notes that `signal` gets a handler; call it before installing one.
fn will_handle(signal: i32) {
    if (1..=64).contains(&signal) {
        HANDLED.fetch_or(1 << (signal - 1), Ordering::SeqCst);
    }
}

/// The signals ppool has (or is about to have) a handler for, as above,
/// with SIGSEGV and SIGBUS: std's runtime handles those where it starts the
/// program (tests; ppool's own `main` on Linux does not).
#[cfg_attr(
    not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))),
    allow(dead_code)
)]
pub(crate) fn handled() -> u64 {
    HANDLED.load(Ordering::SeqCst) | 1 << (libc::SIGSEGV - 1) | 1 << (libc::SIGBUS - 1)
}

/// Watches for signals on a thread of its own for the rest of the run.
pub fn watch(cancel: &Arc<Cancel>) -> Result<()> {
    let stopping = stopping_signals();
    stopping.iter().for_each(|&signal| will_handle(signal));
    let mut signals = Signals::new(stopping).context("installing signal handlers")?;
    let cancel = Arc::clone(cancel);
    std::thread::Builder::new()
        .name("signals".into())
        // It only waits and signals: a small stack is cheaper to start.
        .stack_size(64 * 1024)
        .spawn(move || {
            for signal in signals.forever() {
                if cancel.is_stopping()
                    && signal == SIGINT
                    && cancel.reason().is_some_and(|r| matches!(r, StopReason::Signal(_)))
                {
                    cancel.kill_now();
                } else {
                    cancel.stop(StopReason::Signal(signal));
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}

/// The signals that stop a run: SIGINT and SIGHUP only if they are not
/// ignored, as programs do: `nohup ppool …` goes on after a hang-up, and a
/// `ppool … &` of a script (started with SIGINT ignored) is not stopped by
/// the script's Ctrl-C.
fn stopping_signals() -> Vec<i32> {
    let ignored = |signal: i32| {
        // SAFETY: sigaction with no new action only reads the current one
        // into `old`, which outlives the call.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
        }
    };
    [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|&signal| signal == SIGTERM || !ignored(signal))
        .collect()
}

/// A run of one task (`apply`, or a streaming mode given one record) runs
/// it on the main thread. Rather than start a watcher thread, a measurable
/// share of such a run, its handlers act directly, with async-signal-safe
/// calls only: the first SIGINT, SIGTERM or SIGHUP wakes the task's reader
/// (the stop pipe), sends SIGTERM to the task and arms a timer for SIGKILL
/// after the grace; a second SIGINT sends SIGKILL at once. What the
/// handlers saw becomes the run's stop reason once the task has ended
/// ([`foreground::into_stop`]).
pub mod foreground {
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use anyhow::{Context, Result};
    use signal_hook::consts::{SIGALRM, SIGINT};

    use crate::cancel::{Cancel, StopReason};
    use crate::target::Target;

    /// The handlers are installed: tasks are told to them as they start.
    static INSTALLED: AtomicBool = AtomicBool::new(false);

    /// Where signals go, as [`Target::raw`]; 0: none.
    static TASK: AtomicI32 = AtomicI32::new(0);
    /// The first signal received, 0 until then.
    static RECEIVED: AtomicI32 = AtomicI32::new(0);
    static GRACE_US: AtomicU64 = AtomicU64::new(0);

    fn send(signal: i32) {
        // Target::signal is kill(2) alone, which is async-signal-safe.
        if let Some(target) = Target::from_raw(TASK.load(Ordering::SeqCst)) {
            target.signal(signal);
        }
    }

    fn stop_task() {
        send(libc::SIGTERM);
        let grace = GRACE_US.load(Ordering::SeqCst).max(1);
        let timer = libc::itimerval {
            it_interval: libc::timeval { tv_sec: 0, tv_usec: 0 },
            it_value: libc::timeval {
                tv_sec: (grace / 1_000_000) as _,
                tv_usec: (grace % 1_000_000) as _,
            },
        };
        // SAFETY: setitimer is a plain system call; timer outlives it.
        unsafe {
            libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut());
        }
    }

    /// Installs the handlers. `cancel` is told from the handler (atomic
    /// stores and write(2), safe there) so that no task or retry starts
    /// after a signal, and a task's reader wakes to count the grace.
    pub fn install(cancel: &Arc<Cancel>, grace: Duration) -> Result<()> {
        GRACE_US.store(grace.as_micros().min(u64::MAX as u128) as u64, Ordering::SeqCst);
        for signal in super::stopping_signals() {
            let cancel = Arc::clone(cancel);
            let handler = move || {
                if RECEIVED
                    .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    cancel.stop_from_handler();
                    stop_task();
                } else if signal == SIGINT {
                    cancel.kill_from_handler();
                    send(libc::SIGKILL);
                }
            };
            super::will_handle(signal);
            // SAFETY: the handler only uses atomics, write(2), kill(2) and
            // setitimer(2).
            unsafe { signal_hook::low_level::register(signal, handler) }.context("installing signal handlers")?;
        }
        super::will_handle(SIGALRM);
        // SAFETY: the handler only uses an atomic and kill(2).
        unsafe { signal_hook::low_level::register(SIGALRM, || send(libc::SIGKILL)) }
            .context("installing signal handlers")?;
        INSTALLED.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// A task has started: signals from now on reach it, and one that came
    /// just before is applied now. Nothing when the handlers are not
    /// installed (a run of many tasks has a watcher instead).
    pub fn started(target: Target) {
        if !INSTALLED.load(Ordering::SeqCst) {
            return;
        }
        TASK.store(target.raw(), Ordering::SeqCst);
        if RECEIVED.load(Ordering::SeqCst) != 0 {
            stop_task();
        }
    }

    /// The task has exited and is about to be reaped.
    pub fn ended() {
        TASK.store(0, Ordering::SeqCst);
    }

    /// The run's stop reason from the signal the handlers received, if
    /// any: for what the sink prints and the exit status. Called outside
    /// the handlers, once no task is running.
    pub fn into_stop(cancel: &Cancel) {
        if let Some(signal) = received() {
            cancel.stop(StopReason::Signal(signal));
        }
    }

    pub fn received() -> Option<i32> {
        Some(RECEIVED.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every signal with a handler of ppool's is among those a child
    /// started from ppool's memory resets.
    #[test]
    fn every_handler_installed_is_noted() {
        let cancel = Cancel::new(1, std::time::Duration::from_secs(1));
        foreground::install(&cancel, std::time::Duration::from_secs(1)).unwrap();
        watch(&cancel).unwrap();
        for signal in 1..=64 {
            // SAFETY: sigaction with no new action only reads the current
            // one into `old`.
            let handler = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 {
                    continue;
                }
                old.sa_sigaction
            };
            if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
                assert_ne!(
                    handled() & (1 << (signal - 1)),
                    0,
                    "signal {signal} has a handler not noted"
                );
            }
        }
        assert_ne!(handled() & (1 << (libc::SIGTERM - 1)), 0);
    }
}
