//! The guard on Linux (x86-64 and AArch64): a process that shares ppool's
//! memory instead of copying it.
//!
//! A forked guard copies ppool's page tables, and every page ppool writes
//! afterwards is copied once more, on its first write: most of the guard's
//! cost at start. Started with `clone(CLONE_VM)` instead, the guard is a
//! process of its own (its own pid, group, descriptors and signal mask) in
//! ppool's address space: nothing is copied.
//!
//! While ppool lives, the guard runs only what is below: system calls made
//! by hand, which touch neither the C library's state (`errno`, locks,
//! the heap) nor any memory ppool uses, on a stack of its own, with every
//! signal blocked (it inherits the mask ppool holds around the clone) so
//! that none of ppool's handlers ever runs in it. SIGKILL still ends it.
//! It names itself, leaves ppool's process group, lowers itself to a batch
//! process, closes every descriptor but the two it needs, and sleeps in
//! `ppoll` until ppool's end of the hang-up pipe closes.
//!
//! Sharing lasts [`SHARED_FOR`] at most. A guard in ppool's memory dies
//! with ppool where the kernel kills every process of an address space at
//! once (the OOM killer does), so a run that lasts longer gets a guard of
//! its own memory: the guard runs ppool's program again (`execve` of
//! /proc/self/exe, so a binary replaced since still runs) as `ppool
//! __guard TABLE RUN GROUP HANGUP`, with the table in a memory file that
//! the new program maps again, and that program waits for the hang-up and
//! stops what is left ([`super::serve_exec`]).
//! It is the same process: ppool's pid for it holds. A short run (most of
//! a one-task run's cost is its start) never pays for that program's
//! start; a run that outlives the sharing pays it once, on the other CPU.
//!
//! A guard that sees ppool die while sharing does the same at once: ppool's
//! memory may be in any state then (a lock held by a killed thread), so it
//! does no more in it. Should the program not start, the guard stays as it
//! is and, once ppool is dead, stops the listed groups itself, with the
//! same calls by hand.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use super::Table;
use crate::raw::syscall;

/// The guard's stack; it calls little.
const STACK: usize = 64 * 1024;
/// How long the guard shares ppool's memory before it runs as a program
/// of its own.
pub(super) const SHARED_FOR: std::time::Duration = std::time::Duration::from_millis(100);

/// What the guard reads, in memory that is never freed.
struct Plan {
    /// Its end of the hang-up pipe.
    hangup: i32,
    /// The memory file that holds the table.
    table_fd: i32,
    /// `ppool __guard TABLE RUN GROUP HANGUP`, NULL-terminated.
    argv: [*const libc::c_char; 7],
    /// The environment, as ppool has it from the start (it never changes it).
    envp: *const *const libc::c_char,
    table: Table,
}

/// Starts the guard sharing ppool's memory; its pid, or None where
/// something it needs is missing (the caller then forks one).
pub(super) fn start(table: Table, table_fd: &OwnedFd, hangup: OwnedFd, run: &str, group: i32) -> Option<i32> {
    let words = [
        CString::new("ppool").ok()?,
        CString::new("__guard").ok()?,
        CString::new(table_fd.as_raw_fd().to_string()).ok()?,
        CString::new(run).ok()?,
        CString::new(group.to_string()).ok()?,
        CString::new(hangup.as_raw_fd().to_string()).ok()?,
    ];
    let words: &'static [CString; 6] = Box::leak(Box::new(words));
    let plan: &'static Plan = Box::leak(Box::new(Plan {
        hangup: hangup.as_raw_fd(),
        table_fd: table_fd.as_raw_fd(),
        argv: [
            words[0].as_ptr(),
            words[1].as_ptr(),
            words[2].as_ptr(),
            words[3].as_ptr(),
            words[4].as_ptr(),
            words[5].as_ptr(),
            std::ptr::null(),
        ],
        envp: environment(),
        table,
    }));
    let stack = crate::raw::new_stack(STACK)?;
    // Every signal blocked across the clone: the guard keeps them blocked.
    // SAFETY: `guard_main` makes system calls by hand only, on `stack`,
    // and reads `plan`; both are never freed.
    let pid = unsafe {
        crate::raw::clone_blocked(
            guard_main,
            stack,
            STACK,
            libc::CLONE_VM | libc::SIGCHLD,
            (plan as *const Plan).cast_mut().cast(),
        )
    };
    // The guard has its own copies of the descriptors. The stack and the
    // plan are left mapped and allocated: they are the guard's for as long
    // as it lives, which may be longer than ppool.
    drop(hangup);
    let Ok(pid) = pid else {
        // SAFETY: nothing runs on the stack, made above.
        unsafe { libc::munmap(stack as *mut libc::c_void, STACK) };
        return None;
    };
    Some(pid)
}

/// The guard while ppool may live. System calls by hand only (see above).
extern "C" fn guard_main(plan: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `start` passes its leaked, never-freed Plan.
    let plan = unsafe { &*(plan as *const Plan) };
    // SAFETY: every call below takes plain numbers or pointers to memory
    // that lives for ever (the plan, string literals, the stack).
    unsafe {
        syscall(
            libc::SYS_prctl,
            [libc::PR_SET_NAME as usize, c"ppool-guard".as_ptr() as usize, 0, 0, 0],
        );
        // A group of its own keeps it out of a terminal's signals once it
        // runs as its own program; as a batch process, woken by the
        // SIGKILL that dismisses it, it does not preempt ppool.
        syscall(libc::SYS_setpgid, [0; 5]);
        let batch = 0usize; // struct sched_param { priority: 0 }
        syscall(
            libc::SYS_sched_setscheduler,
            [0, libc::SCHED_BATCH as usize, &batch as *const usize as usize, 0, 0],
        );
        // Every descriptor but those two.
        let mut from = 0;
        for fd in [plan.hangup.min(plan.table_fd), plan.hangup.max(plan.table_fd)] {
            close_between(from, fd - 1);
            from = fd + 1;
        }
        close_between(from, i32::MAX);
        let shared_for = timespec(SHARED_FOR);
        let hung_up = wait_for_hangup(plan.hangup, Some(&shared_for));
        // ppool's program, again, with the table's file and the pipe.
        for fd in [plan.table_fd, plan.hangup] {
            syscall(libc::SYS_fcntl, [fd as usize, libc::F_SETFD as usize, 0, 0, 0]);
        }
        // /proc/self/exe is the program ppool runs, even if its file was
        // replaced or removed since.
        syscall(
            libc::SYS_execve,
            [
                c"/proc/self/exe".as_ptr() as usize,
                plan.argv.as_ptr() as usize,
                plan.envp as usize,
                0,
                0,
            ],
        );
        // It did not start: the guard stays in ppool's memory.
        if !hung_up {
            wait_for_hangup(plan.hangup, None);
        }
        stop_listed(&plan.table);
        syscall(libc::SYS_exit_group, [0; 5]);
    }
    0
}

/// Sleeps until ppool's end of the pipe closes (true) or `timeout` passes.
///
/// # Safety
/// For the guard: `fd` is its end of the hang-up pipe.
unsafe fn wait_for_hangup(fd: i32, timeout: Option<&libc::timespec>) -> bool {
    let timeout = timeout.map_or(0, |t| t as *const libc::timespec as usize);
    loop {
        let mut pipe = libc::pollfd {
            fd,
            events: 0,
            revents: 0,
        };
        // SAFETY: ppoll reads and writes the one entry on this stack and
        // reads the timeout, which the caller keeps alive.
        let r = unsafe { syscall(libc::SYS_ppoll, [&mut pipe as *mut _ as usize, 1, timeout, 0, 0]) };
        // The timeout is not restarted after an interruption (a SIGSTOP):
        // the guard then runs as its own program a little later.
        if r != -(libc::EINTR as isize) {
            return r != 0;
        }
    }
}

/// `duration` for the kernel; one beyond its reach is as long as it goes.
fn timespec(duration: std::time::Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: duration.as_secs().min(i64::MAX as u64) as _,
        tv_nsec: duration.subsec_nanos() as libc::c_long,
    }
}

/// The C library's environment.
fn environment() -> *const *const libc::c_char {
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    // SAFETY: a read of the C library's pointer to the environment.
    unsafe { environ }
}

/// Closes descriptors `first..=last`: `close_range`, or one by one up to
/// the descriptor limit (at most 65,536) where the kernel lacks it.
///
/// # Safety
/// Closes descriptors: only for the guard, whose descriptors are its own.
unsafe fn close_between(first: i32, last: i32) {
    if first > last {
        return;
    }
    // SAFETY: close_range, prlimit64 and close take numbers, or a pointer
    // to `limit` on this stack.
    unsafe {
        if syscall(libc::SYS_close_range, [first as usize, last as u32 as usize, 0, 0, 0]) == 0 {
            return;
        }
        let mut limit = [65536u64; 2];
        syscall(
            libc::SYS_prlimit64,
            [0, libc::RLIMIT_NOFILE as usize, 0, limit.as_mut_ptr() as usize, 0],
        );
        let open_max = limit[0].min(65536) as i32;
        for fd in first..=last.min(open_max) {
            syscall(libc::SYS_close, [fd as usize, 0, 0, 0, 0]);
        }
    }
}

/// The guard's last resort, when ppool's program cannot run again: SIGTERM
/// to each listed group, SIGKILL after the grace. No process found by its
/// marker alone is stopped this way.
///
/// # Safety
/// For the guard once ppool is dead.
unsafe fn stop_listed(table: &Table) {
    let signal_all = |signal: i32| {
        table.each_taken(|_, group, _| {
            if group > 0 {
                // SAFETY: kill takes numbers only.
                unsafe { syscall(libc::SYS_kill, [(-group) as isize as usize, signal as usize, 0, 0, 0]) };
            }
        })
    };
    signal_all(libc::SIGTERM);
    let pause = timespec(table.grace());
    // SAFETY: nanosleep reads the timespec on this stack.
    unsafe { syscall(libc::SYS_nanosleep, [&pause as *const _ as usize, 0, 0, 0, 0]) };
    signal_all(libc::SIGKILL);
}
