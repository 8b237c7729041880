//! System calls made by hand, for code that runs in a child sharing
//! ppool's memory (the guard, a task between its start and its `execve`):
//! they return the kernel's result and touch nothing of the C library's,
//! not even `errno`, which belongs to the thread whose memory the child
//! borrows. Linux on x86-64 and AArch64.

/// A system call, made by hand: it returns the kernel's result (a negative
/// error number on failure) and writes no `errno`.
///
/// # Safety
/// The arguments must be valid for the call `number`.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn syscall(number: libc::c_long, a: [usize; 5]) -> isize {
    let result: isize;
    // SAFETY: the Linux x86-64 system call convention; the kernel clobbers
    // rcx and r11 only. Validity of the arguments is the caller's.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => result,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result
}

/// As above, for AArch64.
///
/// # Safety
/// The arguments must be valid for the call `number`.
#[cfg(target_arch = "aarch64")]
pub(crate) unsafe fn syscall(number: libc::c_long, a: [usize; 5]) -> isize {
    let result: isize;
    // SAFETY: the Linux AArch64 system call convention: the number in x8,
    // the result in x0. Validity of the arguments is the caller's.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") number,
            inlateout("x0") a[0] => result,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            options(nostack),
        );
    }
    result
}

/// Fresh memory of `bytes` for the stack of a child that shares ppool's
/// memory; its start.
pub(crate) fn new_stack(bytes: usize) -> Option<usize> {
    // SAFETY: a fresh private anonymous mapping.
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    (stack != libc::MAP_FAILED).then_some(stack as usize)
}

/// `clone(2)`: a child that runs `child(arg)` on the stack at `stack`
/// (`bytes` long), with `flags`. Every signal is blocked across the call,
/// so the child starts with all of them blocked; the caller's mask is
/// restored after. The child's pid.
///
/// # Safety
/// `child` must be fit to run in the child that `flags` make (with
/// `CLONE_VM`: system calls by hand only), `arg` must stay valid for as
/// long as it reads it, and nothing else may use the stack meanwhile.
pub(crate) unsafe fn clone_blocked(
    child: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    stack: usize,
    bytes: usize,
    flags: libc::c_int,
    arg: *mut libc::c_void,
) -> std::io::Result<libc::pid_t> {
    // SAFETY: sigset_t is plain data, filled in by sigfillset; the rest is
    // the caller's to uphold.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(child, (stack + bytes) as *mut libc::c_void, flags, arg);
        let error = std::io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        match pid {
            -1 => Err(error),
            pid => Ok(pid),
        }
    }
}
