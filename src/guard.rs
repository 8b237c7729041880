//! The guard: a process started from `ppool` before its first task, which
//! stops the tasks of a `ppool` killed outright (SIGKILL, the OOM killer).
//! Tasks run in process groups of their own, so nothing else would.
//!
//! It is started from ppool at the start of a streaming run, before any
//! thread exists: no `exec`, so it costs a fraction of starting a second
//! program, and it exists before any task does. On Linux (x86-64 and
//! AArch64) it shares ppool's memory rather than copying it ([`shared`]);
//! elsewhere, or should that fail, it is a `fork` of ppool. It leaves
//! ppool's process group (terminal signals do not reach it), names itself
//! `ppool-guard`, holds nothing of ppool's but its end of one pipe (stdin,
//! stdout and stderr are /dev/null: no reader of ppool's output waits for
//! it), and sleeps in `poll` until that pipe hangs up. Only ppool holds
//! the write end (close-on-exec, so no task inherits it): it hangs up when ppool dies.
//!
//! What it knows. A shared anonymous mapping, made before the fork, holds
//! the process group of each slot's task. ppool writes it with an atomic
//! store and no system call; the guard reads it only once ppool is dead, so
//! a stopped or slow guard never holds ppool up. A slot is marked
//! [`SPAWNING`] (with the task's number) before its task is spawned and
//! holds the task's group from just after, so no task is ever unknown: it
//! is listed, or its slot says it may be on its way. Every process ppool
//! starts carries `PPOOL_RUN=<run id>` in its environment (ppool sets it in
//! its own, before the fork), so on Linux the guard also finds them in
//! /proc: the task whose spawn was under way, workers, and children that
//! left their task's group. Elsewhere it stops the listed groups only.
//!
//! When ppool dies the guard sends SIGTERM to every listed group and to the
//! groups of the marked processes it finds (scanning at least twice, and
//! until each slot that was spawning has its task, for up to
//! [`SPAWN_WAIT`]), then SIGKILL to what is left after the grace, and ends.
//!
//! A run that sends its tasks to Slurm (`--slurm`) also has its jobs or
//! steps cancelled there by name, after its srun processes are stopped: a
//! step may outlive its srun.
//!
//! A ppool that exits by itself (normal end, error, signal, closed stdout)
//! has no task left, and ends its guard with SIGKILL and reaps it
//! ([`release`]): a stopped guard cannot delay that. The SIGKILL is sent as
//! soon as the last task has ended ([`dismiss`]), so that the guard's exit
//! overlaps ppool's last output instead of adding to it. Should a task still be
//! listed then (a panic), the guard is left to stop it as above.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::fd::{IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A slot whose task is being spawned: its group is not known yet.
pub const SPAWNING: i32 = -1;
/// How long a dead ppool's guard looks for a task whose spawn was under way.
pub const SPAWN_WAIT: Duration = Duration::from_secs(2);
/// The guard's process name, as `ps` and /proc/PID/comm show it.
pub const NAME: &str = "ppool-guard";
/// The environment variable that marks every process of a run.
pub const RUN_VARIABLE: &str = "PPOOL_RUN";
/// Slots the table has room for; pages are only allocated once touched.
/// Tasks in slots beyond are found by their marker alone.
const MAX_SLOTS: usize = 1 << 20;
/// Slots the table has room for under an address-space limit (`ulimit
/// -v`): 64 KiB of it rather than 16 MiB.
const MAX_SLOTS_UNDER_LIMIT: usize = 1 << 12;
/// The grace used should ppool die before it has read `--grace`.
const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// Whether a command line whose first argument is `first` gets a guard:
/// the streaming modes, told apart before parsing (which allocates, and
/// would make the fork dearer). A `--dry-run` or `--help` among them gets
/// one too, unused.
pub fn needed(first: &[u8]) -> bool {
    matches!(first, b"map" | b"imap" | b"unordered")
}

/// One slot of the shared table.
#[repr(C)]
struct Entry {
    /// The task's process group; 0: none; [`SPAWNING`].
    group: AtomicI32,
    /// The task being spawned (`PPOOL_SEQ`), valid with [`SPAWNING`].
    seq: AtomicU64,
}

/// The start of the shared mapping, before the entries.
#[repr(C)]
struct Header {
    /// One past the highest slot used, so the guard reads no more.
    used: AtomicUsize,
    /// `--grace`, known once the command line is parsed; 0: not yet.
    grace_ms: AtomicU64,
    /// `--slurm`: the run's jobs and steps are cancelled in Slurm too.
    slurm: AtomicBool,
}

#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod shared;

/// The shared mapping: a header, then one entry per slot (0 unused).
#[derive(Clone, Copy)]
struct Table {
    base: *mut libc::c_void,
    slots: usize,
}

// SAFETY: the table is only accessed through atomics; the mapping lives
// until the process ends.
unsafe impl Sync for Table {}
// SAFETY: as above; the pointer is to process-wide shared memory.
unsafe impl Send for Table {}

impl Table {
    fn bytes(slots: usize) -> usize {
        std::mem::size_of::<Header>() + (slots + 1) * std::mem::size_of::<Entry>()
    }

    /// An all-zero table, shared with processes forked later. Pages are
    /// only allocated once touched, so a large `--jobs` costs nothing up front.
    fn new(slots: usize) -> Option<Table> {
        Table::map(slots, -1)
    }

    /// The table mapped from `fd` (-1: anonymous memory).
    fn map(slots: usize, fd: i32) -> Option<Table> {
        let flags = match fd {
            -1 => libc::MAP_SHARED | libc::MAP_ANONYMOUS | crate::sys::MAP_NORESERVE,
            _ => libc::MAP_SHARED | crate::sys::MAP_NORESERVE,
        };
        // SAFETY: a fresh mapping; no existing memory is involved.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                Table::bytes(slots),
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                0,
            )
        };
        (base != libc::MAP_FAILED).then_some(Table { base, slots })
    }

    /// An all-zero table in a memory file, which a program run by the guard
    /// can map again; None where there is no such file, or where the file
    /// size limit is below the table's size (growing the file past it would
    /// raise SIGXFSZ).
    #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
    fn in_file(slots: usize) -> Option<(Table, OwnedFd)> {
        use std::os::fd::{AsRawFd, FromRawFd};
        let bytes = Table::bytes(slots);
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into `limit`.
        if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) } != 0
            || (limit.rlim_cur != libc::RLIM_INFINITY && limit.rlim_cur < bytes as libc::rlim_t)
        {
            return None;
        }
        // SAFETY: the system call with a C string literal; the descriptor,
        // if any, is new and ours.
        let fd = unsafe { libc::syscall(libc::SYS_memfd_create, c"ppool-guard".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        // SAFETY: as above.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: ftruncate on our own descriptor.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), bytes as libc::off_t) } != 0 {
            return None;
        }
        Some((Table::map(slots, fd.as_raw_fd())?, fd))
    }

    /// `--grace` as ppool wrote it, or the default before it did.
    fn grace(&self) -> Duration {
        match self.header().grace_ms.load(Ordering::Acquire) {
            0 => DEFAULT_GRACE,
            ms => Duration::from_millis(ms),
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the mapping starts with a zeroed Header (all atomics, for
        // which zero is valid) and is page-aligned.
        unsafe { &*(self.base as *const Header) }
    }

    fn entry(&self, slot: usize) -> Option<&Entry> {
        if slot > self.slots {
            return None;
        }
        // SAFETY: entry `slot` lies within the mapping (checked above), after
        // the header, whose size is a multiple of its 8-byte alignment, so it
        // is aligned; zero is a valid Entry.
        Some(unsafe { &*((self.base as *const Header).add(1) as *const Entry).add(slot) })
    }

    fn set(&self, slot: usize, group: i32, seq: u64) {
        let Some(entry) = self.entry(slot) else {
            return;
        };
        if group != 0 {
            self.header().used.fetch_max(slot + 1, Ordering::Relaxed);
        }
        entry.seq.store(seq, Ordering::Relaxed);
        entry.group.store(group, Ordering::Release);
    }

    /// (slot, group, seq) of every slot that is not free.
    fn taken(&self) -> Vec<(usize, i32, u64)> {
        let mut taken = Vec::new();
        self.each_taken(|slot, group, seq| taken.push((slot, group, seq)));
        taken
    }

    /// Calls `f` with (slot, group, seq) of every slot that is not free;
    /// allocates nothing.
    fn each_taken(&self, mut f: impl FnMut(usize, i32, u64)) {
        let used = self.header().used.load(Ordering::Acquire).min(self.slots + 1);
        for slot in 0..used {
            if let Some(entry) = self.entry(slot) {
                let group = entry.group.load(Ordering::Acquire);
                if group != 0 {
                    f(slot, group, entry.seq.load(Ordering::Relaxed));
                }
            }
        }
    }
}

/// ppool's side of its guard.
pub struct Guard {
    pid: libc::pid_t,
    table: Table,
    /// The write end of the pipe; it hangs up when ppool dies.
    _hangup: OwnedFd,
    /// SIGKILL was sent: the run has no task left.
    dismissed: AtomicBool,
    released: AtomicBool,
}

static GUARD: OnceLock<Guard> = OnceLock::new();

impl Guard {
    /// Starts the guard. Call it before any thread starts: a forked guard
    /// runs on as a copy of this one thread. A guard that cannot start
    /// leaves tasks unguarded (as in `apply`).
    pub fn start() -> Option<&'static Guard> {
        if let Some(guard) = GUARD.get() {
            return Some(guard);
        }
        let run = mark_run();
        // Under `ulimit -v` a smaller table, so that the slots have room.
        let slots = match crate::limits::address_space_limited() {
            true => MAX_SLOTS_UNDER_LIMIT,
            false => MAX_SLOTS,
        };
        // SAFETY: getpgrp cannot fail and touches no memory.
        let ppool_group = unsafe { libc::getpgrp() };
        #[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
        if let Some((table, file)) = Table::in_file(slots) {
            let (read, write) = crate::sys::pipe().ok()?;
            // The guard has its own copies of `file` and `read`.
            if let Some(pid) = shared::start(table, &file, read, run, ppool_group) {
                return Some(Guard::keep(pid, table, write));
            }
            // SAFETY: the mapping was made by `in_file`, and nothing else
            // refers to it: the guard did not start.
            unsafe { libc::munmap(table.base, Table::bytes(slots)) };
        }
        let table = Table::new(slots)?;
        let (read, write) = crate::sys::pipe().ok()?;
        // SAFETY: ppool has one thread here (see above), so the child is a
        // whole copy of it; it runs `serve` and never returns.
        match unsafe { libc::fork() } {
            -1 => None,
            0 => serve(read.into_raw_fd(), &table, run, ppool_group),
            pid => {
                drop(read);
                Some(Guard::keep(pid, table, write))
            }
        }
    }

    fn keep(pid: libc::pid_t, table: Table, hangup: OwnedFd) -> &'static Guard {
        let guard = Guard {
            pid,
            table,
            _hangup: hangup,
            dismissed: AtomicBool::new(false),
            released: AtomicBool::new(false),
        };
        GUARD.get_or_init(|| guard)
    }

    /// This process's guard, if it started one.
    pub fn get() -> Option<&'static Guard> {
        GUARD.get()
    }

    /// The grace between SIGTERM and SIGKILL, for when ppool is gone.
    pub fn set_grace(&self, grace: Duration) {
        let ms = grace.as_millis().clamp(1, u64::MAX as u128) as u64;
        self.table.header().grace_ms.store(ms, Ordering::Release);
    }

    /// The run sends tasks to Slurm: should ppool die, its jobs and steps
    /// are cancelled there as well as its srun processes stopped.
    pub fn watch_slurm(&self) {
        self.table.header().slurm.store(true, Ordering::Release);
    }

    /// Marks `slot` as about to spawn task `seq`.
    pub fn spawning(&self, slot: usize, seq: u64) {
        self.table.set(slot, SPAWNING, seq);
    }

    /// The process group now running in `slot`; 0: none.
    pub fn note(&self, slot: usize, group: i32) {
        self.table.set(slot, group, 0);
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }
}

/// Ends this process's guard once the run has no task left, without
/// waiting for it: it exits while ppool finishes its output, and
/// [`release`] then reaps it. Does nothing while a task is listed.
pub fn dismiss() {
    let Some(guard) = GUARD.get() else {
        return;
    };
    if guard.released.load(Ordering::SeqCst) || !guard.table.taken().is_empty() {
        return;
    }
    if !guard.dismissed.swap(true, Ordering::SeqCst) {
        // SIGKILL: it has nothing to do, and ends even if stopped.
        send(guard.pid, libc::SIGKILL);
    }
}

/// Ends this process's guard, if it has one, and reaps it; call before
/// exiting. With tasks still listed it is left to stop them after ppool.
pub fn release() {
    let Some(guard) = GUARD.get() else {
        return;
    };
    if guard.released.load(Ordering::SeqCst) {
        return;
    }
    dismiss();
    if !guard.dismissed.load(Ordering::SeqCst) || guard.released.swap(true, Ordering::SeqCst) {
        return;
    }
    // SAFETY: waitpid on our own child; status is a valid place.
    unsafe {
        let mut status = 0;
        while libc::waitpid(guard.pid, &mut status, 0) < 0
            && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {}
    }
}

/// This run's id, once [`mark_run`] has given it one.
static RUN: OnceLock<String> = OnceLock::new();

/// Gives this run its id and puts it in ppool's environment as
/// `PPOOL_RUN`, inherited by every process the run starts: the guard, and
/// ppool itself when it stops a run or a timed-out task, find them by it.
/// A ppool started by a task (nested) so marks its own processes apart from
/// its parent's. Call it before any thread starts (it sets an environment
/// variable); later calls return the same id.
pub fn mark_run() -> &'static str {
    RUN.get_or_init(|| {
        let run = run_id();
        std::env::set_var(RUN_VARIABLE, &run);
        run
    })
}

/// This run's id, if [`mark_run`] gave it one (not an inherited `PPOOL_RUN`).
pub(crate) fn own_run() -> Option<&'static str> {
    RUN.get().map(String::as_str)
}

/// Unique to this run: ppool's pid and the time.
fn run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{}", std::process::id(), now.as_nanos())
}

/// The guard's life, in the forked child.
fn serve(hangup: i32, table: &Table, run: &str, ppool_group: i32) -> ! {
    // SAFETY: plain system calls on descriptors and attributes of this
    // process; the C strings are literals.
    unsafe {
        libc::setpgid(0, 0);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_NAME, c"ppool-guard".as_ptr());
        // Woken by the SIGKILL that dismisses it, a SCHED_BATCH process does
        // not preempt ppool, which is finishing its run then: it exits on a
        // free CPU, or when ppool waits for it. Its share of the CPU when it
        // has work (ppool died) is a normal process's.
        // The system call itself: musl's sched_setscheduler() only fails
        // with ENOSYS. Its parameters zeroed: musl's sched_param has more
        // fields than glibc's, and SCHED_BATCH takes priority 0.
        #[cfg(target_os = "linux")]
        libc::syscall(
            libc::SYS_sched_setscheduler,
            0,
            libc::SCHED_BATCH,
            &std::mem::zeroed::<libc::sched_param>(),
        );
        // It must outlive a terminal's hang-up or ^C to do its work.
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        libc::dup2(hangup, 3);
        close_from(4);
    }
    wait_for_hangup(3);
    clean_up(table, run, ppool_group)
}

/// `ppool __guard TABLE RUN GROUP HANGUP`: the program a guard that
/// shared ppool's memory runs (see [`shared`]), with the table in the
/// memory file TABLE and its end of the hang-up pipe on HANGUP. Never
/// returns.
pub fn serve_exec(args: &[OsString]) -> ! {
    let number = |i: usize| args.get(i).and_then(|a| a.to_str()?.parse::<i32>().ok());
    let (Some(fd), Some(run), Some(ppool_group), Some(hangup)) =
        (number(0), args.get(1).and_then(|a| a.to_str()), number(2), number(3))
    else {
        crate::say("ppool: __guard is ppool's own: it is not for use on the command line");
        std::process::exit(crate::exit::USAGE);
    };
    // SAFETY: plain system calls; `stat` is plain data fstat fills in.
    let size = unsafe {
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_NAME, c"ppool-guard".as_ptr());
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        // The guard held every signal blocked while it shared ppool's
        // memory; it has its own now.
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        let mut stat: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut stat) != 0 {
            -1
        } else {
            stat.st_size as i64
        }
    };
    let header = std::mem::size_of::<Header>() as i64;
    let entry = std::mem::size_of::<Entry>() as i64;
    // The file holds the header and entries 0..=slots.
    let slots = (size > header)
        .then(|| usize::try_from((size - header) / entry - 1).ok())
        .flatten();
    let Some(table) = slots.and_then(|slots| Table::map(slots, fd)) else {
        crate::say("ppool: __guard: no table to read: it is not for use on the command line");
        std::process::exit(crate::exit::USAGE);
    };
    wait_for_hangup(hangup);
    clean_up(&table, run, ppool_group)
}

/// What a guard does once ppool is dead: stops what is left, and ends.
fn clean_up(table: &Table, run: &str, ppool_group: i32) -> ! {
    stop_left(table, run, table.grace(), ppool_group);
    if table.header().slurm.load(Ordering::Acquire) {
        crate::squeue::cancel_run(run);
    }
    // SAFETY: ends this process without running ppool's exit handlers.
    unsafe { libc::_exit(0) }
}

/// Closes every descriptor from `first` on.
fn close_from(first: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: close_range only closes descriptors.
    if unsafe { libc::syscall(libc::SYS_close_range, first as libc::c_uint, libc::c_uint::MAX, 0) } == 0 {
        return;
    }
    // SAFETY: sysconf and close touch no memory of ours.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(256, 65536) as i32;
    for fd in first..max {
        // SAFETY: as above.
        unsafe {
            libc::close(fd);
        }
    }
}

/// Sleeps until the write end of `fd` is closed everywhere. Asking for no
/// event, it wakes for the hang-up alone.
fn wait_for_hangup(fd: i32) {
    loop {
        let mut pipe = libc::pollfd {
            fd,
            events: 0,
            revents: 0,
        };
        // SAFETY: poll reads and writes the one entry it is given.
        let r = unsafe { libc::poll(&mut pipe, 1, -1) };
        if r > 0 || (r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted) {
            return;
        }
    }
}

/// What a dead ppool left: SIGTERM to each, SIGKILL after `grace`.
fn stop_left(table: &Table, run: &str, grace: Duration, ppool_group: i32) {
    let mut targets = Targets::default();
    let mut spawning = Vec::new();
    for (slot, group, seq) in table.taken() {
        if group > 0 {
            targets.add(-group);
        } else {
            spawning.push((slot, seq));
        }
    }
    let found = Marked::new(run, ppool_group);
    let deadline = Instant::now() + SPAWN_WAIT;
    for round in 0.. {
        for process in found.scan() {
            spawning.retain(|&(slot, seq)| process.task != Some((slot, seq)));
            targets.add(process.target);
        }
        if (round >= 1 && spawning.is_empty()) || Instant::now() >= deadline || !found.can_scan() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && targets.any_alive() {
        std::thread::sleep(Duration::from_millis(20));
    }
    targets.kill_all();
    // A process that left its group during the grace.
    for process in found.scan() {
        targets.add(process.target);
    }
    targets.kill_all();
}

/// kill(2) targets (`-group` or a pid), each sent SIGTERM once as added.
#[derive(Default)]
struct Targets {
    all: Vec<i32>,
    seen: HashSet<i32>,
}

impl Targets {
    fn add(&mut self, target: i32) {
        if self.seen.insert(target) {
            send(target, libc::SIGTERM);
            self.all.push(target);
        }
    }

    /// Whether a target still has a process that is not a zombie. kill(2)
    /// with signal 0 cannot tell: the leaders, orphaned by ppool's death,
    /// stay zombies where nothing reaps them.
    #[cfg(target_os = "linux")]
    fn any_alive(&self) -> bool {
        crate::sys::any_live_process(|pid, group| self.seen.contains(&-group) || self.seen.contains(&pid))
    }

    #[cfg(not(target_os = "linux"))]
    fn any_alive(&self) -> bool {
        // SAFETY: kill(2) with signal 0 only checks; no memory is involved.
        self.all.iter().any(|&t| unsafe { libc::kill(t, 0) } == 0)
    }

    fn kill_all(&self) {
        for &target in &self.all {
            send(target, libc::SIGKILL);
        }
    }
}

pub(crate) fn send(target: i32, signal: i32) {
    // SAFETY: kill(2) has no memory effects and fails harmlessly when the
    // target is gone.
    unsafe {
        libc::kill(target, signal);
    }
}

/// A process found carrying the run's marker.
pub(crate) struct Found {
    /// Its group (`-pgid`), or the process alone when its group is ppool's
    /// or the guard's.
    pub(crate) target: i32,
    /// `(PPOOL_SLOT, PPOOL_SEQ)` when it has both.
    pub(crate) task: Option<(usize, u64)>,
}

/// Finds the run's processes by their environment (in /proc: Linux only).
/// Shared by the guard and by ppool itself (see `crate::escaped`). It never
/// finds the process scanning, a guard (its own or a nested ppool's), nor a
/// process of another run: a nested ppool's tasks carry its own run's id.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) struct Marked {
    /// `PPOOL_RUN=<id>`, as it appears in an environment.
    needle: Vec<u8>,
    ppool_group: i32,
}

impl Marked {
    pub(crate) fn new(run: &str, ppool_group: i32) -> Marked {
        Marked {
            needle: format!("{RUN_VARIABLE}={run}").into_bytes(),
            ppool_group,
        }
    }

    pub(crate) fn can_scan(&self) -> bool {
        cfg!(target_os = "linux")
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn scan(&self) -> Vec<Found> {
        Vec::new()
    }

    #[cfg(target_os = "linux")]
    pub(crate) fn scan(&self) -> Vec<Found> {
        let me = std::process::id();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if pid == me {
                continue;
            }
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            let vars = environ.split(|&b| b == 0);
            if !vars.clone().any(|v| v == self.needle) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some((name, state, group)) = crate::sys::parse_stat(&stat) else {
                continue;
            };
            // Another run's guard (a nested ppool's) has its own work to do.
            if name == NAME || state == 'Z' {
                continue;
            }
            let number = |key: &[u8]| {
                vars.clone()
                    .find_map(|v| v.strip_prefix(key))
                    .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok())
            };
            let task = number(b"PPOOL_SLOT=")
                .zip(number(b"PPOOL_SEQ="))
                .map(|(s, q)| (s as usize, q));
            let target = if group > 0 && group != self.ppool_group && group != me as i32 {
                -group
            } else {
                pid as i32
            };
            found.push(Found { target, task });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_taken_slots_up_to_the_highest_used() {
        let table = Table::new(100).unwrap();
        assert!(table.taken().is_empty());
        table.set(3, 300, 0);
        table.set(7, SPAWNING, 42);
        table.set(3, 0, 0);
        table.set(101, 5, 0);
        assert_eq!(table.taken(), vec![(7, SPAWNING, 42)]);
    }

    #[test]
    fn entries_after_the_header_are_aligned() {
        assert_eq!(std::mem::size_of::<Header>() % std::mem::align_of::<Entry>(), 0);
    }
}
