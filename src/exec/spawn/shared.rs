//! Linux (x86-64, AArch64): a process started as `posix_spawn` starts it,
//! a child that borrows ppool's memory (`clone` with `CLONE_VM` and
//! `CLONE_VFORK`: the calling thread waits until the `execve`), with one
//! step less. glibc's child resets every one of the 64 signals in turn (two
//! `rt_sigaction` calls each, 30 µs here, while ppool waits), not knowing
//! which have handlers; ppool knows ([`crate::signals::handled`]), and
//! resets those and SIGPIPE alone. A signal ppool ignores (`nohup`) stays
//! ignored, as with `posix_spawn`.
//!
//! The child runs on a stack of its own, with every signal blocked until
//! its handlers are reset, and makes its system calls by hand
//! ([`crate::raw`]): the C library's state, `errno` included, is the
//! calling thread's. Should a step fail before the `execve` returns, the
//! child writes the error where ppool reads it, and exits 127; ppool reaps
//! it and returns the error, as `posix_spawn` does.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use crate::raw::syscall;

/// A child's stack: it calls little.
const STACK: usize = 32 * 1024;

/// Stacks not in use, kept for the next spawn: a spawn maps none, and no
/// `munmap` makes every other thread's CPU flush its TLB. At most
/// [`KEPT_STACKS`]: spawns at once beyond those (at the start of a run of
/// a thousand slots) map and unmap their own, and their memory goes back.
static STACKS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
const KEPT_STACKS: usize = 4;

/// What the child reads, on the calling thread's stack (which waits).
struct Plan<'a> {
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    dups: &'a [(i32, i32)],
    own_group: bool,
    /// Signals to set back to their default, bit `n - 1` for signal `n`.
    reset: u64,
    /// The error (errno) of the step that failed; 0: none.
    error: AtomicI32,
}

/// Starts `argv[0]` with `argv` and `envp`; each of `dups` dup'ed onto its
/// number; SIGPIPE and every signal ppool handles at their default; no
/// signal blocked; in a group of its own with `own_group`.
pub(super) fn spawn(
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    dups: &[(i32, i32)],
    own_group: bool,
) -> io::Result<libc::pid_t> {
    let Some(stack) = take_stack() else {
        return super::posix_spawn(argv, envp, dups, own_group);
    };
    let plan = Plan {
        argv,
        envp,
        dups,
        own_group,
        reset: crate::signals::handled() | 1 << (libc::SIGPIPE - 1),
        error: AtomicI32::new(0),
    };
    // SAFETY: `child` makes system calls by hand only, on `stack`, which
    // no other spawn uses meanwhile, and reads `plan`, alive until it has
    // exec'ed or exited (CLONE_VFORK: clone returns then).
    let pid = unsafe {
        crate::raw::clone_blocked(
            child,
            stack,
            STACK,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &plan as *const Plan as *mut libc::c_void,
        )
    };
    give_back_stack(stack);
    let pid = pid?;
    match plan.error.load(Ordering::SeqCst) {
        0 => Ok(pid),
        error => {
            // The child exited without its program: reap it.
            let _ = super::reap(pid);
            Err(io::Error::from_raw_os_error(error))
        }
    }
}

fn take_stack() -> Option<usize> {
    if let Some(stack) = STACKS.lock().ok()?.pop() {
        return Some(stack);
    }
    crate::raw::new_stack(STACK)
}

fn give_back_stack(stack: usize) {
    if let Ok(mut stacks) = STACKS.lock() {
        if stacks.len() < KEPT_STACKS {
            stacks.push(stack);
            return;
        }
    }
    // SAFETY: the stack was mapped by `take_stack` and no child uses it.
    unsafe { libc::munmap(stack as *mut libc::c_void, STACK) };
}

/// The child, until its `execve`. System calls by hand only.
extern "C" fn child(plan: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `spawn` passes its Plan, alive while this runs.
    let plan = unsafe { &*(plan as *const Plan) };
    // SAFETY: every call takes numbers or pointers into `plan`, whose
    // arrays are NUL-terminated as execve needs, or to this stack.
    unsafe {
        let fail = |result: isize| -> ! {
            plan.error.store(-result as i32, Ordering::SeqCst);
            syscall(libc::SYS_exit_group, [127, 0, 0, 0, 0]);
            unreachable_exit()
        };
        if plan.own_group {
            let r = syscall(libc::SYS_setpgid, [0; 5]);
            if r < 0 {
                fail(r);
            }
        }
        for &(fd, target) in plan.dups {
            let r = if fd == target {
                syscall(libc::SYS_fcntl, [fd as usize, libc::F_SETFD as usize, 0, 0, 0])
            } else {
                syscall(libc::SYS_dup3, [fd as usize, target as usize, 0, 0, 0])
            };
            if r < 0 {
                fail(r);
            }
        }
        // struct kernel_sigaction with SIG_DFL, no flags, no mask: zeros.
        let default = [0usize; 4];
        for signal in 1..=64usize {
            if plan.reset & (1 << (signal - 1)) != 0 {
                syscall(libc::SYS_rt_sigaction, [signal, default.as_ptr() as usize, 0, 8, 0]);
            }
        }
        let none = 0u64;
        syscall(
            libc::SYS_rt_sigprocmask,
            [libc::SIG_SETMASK as usize, &none as *const u64 as usize, 0, 8, 0],
        );
        let r = syscall(
            libc::SYS_execve,
            [
                plan.argv[0] as usize,
                plan.argv.as_ptr() as usize,
                plan.envp.as_ptr() as usize,
                0,
                0,
            ],
        );
        fail(r)
    }
}

/// After exit_group, which does not return.
fn unreachable_exit() -> ! {
    loop {
        std::hint::spin_loop();
    }
}
