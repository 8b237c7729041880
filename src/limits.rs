//! What the descriptor limit (`ulimit -n`) and the address-space limit
//! (`ulimit -v`) leave room for: a run starts no more slots than their
//! tasks' descriptors and ppool's own memory fit in, rather than have its
//! tasks fail to start or ppool abort on a failed allocation.
//!
//! Each limit is read once, when the run is planned (one `getrlimit`); the
//! descriptors already open are counted only when the slots asked for might
//! not fit. Nothing is done per task.

/// Descriptors one slot may hold at once, as measured in /proc/PID/fd: its
/// task's spawn makes three pipes (stdin with `--pipe` or `--ssh`, stdout,
/// stderr) whose both ends are open until the task has started (6); the
/// task's output spilled to two temporary files (2) may still be on its way
/// to the printer while the next task is spawned (the running task then
/// holds its two pipe ends and may spill too), and `--cat` adds a file.
/// The busiest moment is a spawn with the last task's spill files still
/// held: 6 + 2, which also covers 2 pipes + 4 spill files + a `--cat` file.
pub const DESCRIPTORS_PER_SLOT: u64 = 8;

/// Descriptors left over for ppool's own use besides the slots and what is
/// open at the start: the shared file of waiting outputs, `--results` and
/// job log files, /proc reads, files that large waiting outputs keep.
pub const DESCRIPTORS_KEPT: u64 = 8;

/// The slots `limit` descriptors leave room for, with `open` already open.
pub fn slots_for_descriptors(limit: u64, open: u64) -> usize {
    let spare = limit.saturating_sub(open).saturating_sub(DESCRIPTORS_KEPT);
    usize::try_from(spare / DESCRIPTORS_PER_SLOT).unwrap_or(usize::MAX)
}

/// Whether `jobs` slots fit in `limit` descriptors even were half of them
/// open already: then nothing is counted, and the run pays one `getrlimit`.
fn surely_fit(jobs: usize, limit: u64) -> bool {
    (jobs as u64)
        .saturating_mul(DESCRIPTORS_PER_SLOT)
        .saturating_add(DESCRIPTORS_KEPT)
        <= limit / 2
}

/// The soft limit of `resource` (a `libc::RLIMIT_*`, whose type differs
/// between C libraries); `None` when there is none (or it is unknown).
macro_rules! soft_limit {
    ($resource:expr) => {{
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes only the struct it is given, which lives here.
        if unsafe { libc::getrlimit($resource, &mut limit) } != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
            None
        } else {
            #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere.
            Some(limit.rlim_cur as u64)
        }
    }};
}

/// The soft descriptor limit; `None` when there is none (or it is unknown).
pub fn descriptor_limit() -> Option<u64> {
    soft_limit!(libc::RLIMIT_NOFILE)
}

/// Descriptors open now below `limit` (the only ones that take its room).
/// Where they cannot be listed, a guess: more than ppool opens by itself.
fn open_descriptors(limit: u64) -> u64 {
    const GUESS: u64 = 32;
    for dir in ["/proc/self/fd", "/dev/fd"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let open = entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .filter(|&fd| fd < limit)
            .count() as u64;
        // The directory's own descriptor was listed too; FreeBSD's /dev/fd
        // without fdescfs lists only 0 to 2.
        if open > 3 {
            return open - 1;
        }
    }
    GUESS
}

/// What a limit leaves room for: the slots, and the limit as it reads now.
struct Room {
    slots: usize,
    why: String,
}

/// The slots to run with when `jobs` are asked for: fewer where the
/// descriptor limit or the address-space limit leaves room for fewer, with
/// a warning for each unless `quiet` (`-j 0` asked for what fits). `Err`
/// when either leaves room for none.
pub fn fit(jobs: usize, quiet: bool) -> Result<usize, String> {
    let jobs = within(
        jobs,
        descriptor_room(jobs),
        (
            "ulimit -n",
            "raise `ulimit -n`, or close the descriptors ppool inherits",
        ),
        quiet,
    )?;
    within(jobs, address_space_room(), ("ulimit -v", "raise `ulimit -v`"), quiet)
}

/// `jobs`, or the slots `room` leaves when that is fewer (said unless
/// `quiet`). `raise`: the limit's name, and what to do when no slot fits.
fn within(jobs: usize, room: Option<Room>, raise: (&str, &str), quiet: bool) -> Result<usize, String> {
    let Some(Room { slots, why }) = room.filter(|room| room.slots < jobs) else {
        return Ok(jobs);
    };
    if slots == 0 {
        return Err(format!("cannot run a task: {why}: {}", raise.1));
    }
    if !quiet {
        crate::say(&format!(
            "ppool: warning: running {slots} slots, not {jobs}: {why} (raise `{}` or lower --jobs)",
            raise.0
        ));
    }
    Ok(slots)
}

/// What the descriptor limit leaves room for, when `jobs` slots might not
/// fit in it.
fn descriptor_room(jobs: usize) -> Option<Room> {
    let limit = descriptor_limit()?;
    if surely_fit(jobs, limit) {
        return None;
    }
    let open = open_descriptors(limit);
    let slots = slots_for_descriptors(limit, open);
    Some(Room {
        slots,
        why: format!(
            "the descriptor limit (`ulimit -n` {limit}, {open} open at start) leaves room for {slots}, at {DESCRIPTORS_PER_SLOT} per slot"
        ),
    })
}

/// The stack of each slot's thread under `ulimit -v` (std's default is 2
/// MiB): a slot renders commands and reads output, with no deep recursion.
pub const SLOT_STACK: usize = 1 << 20;

/// Set once under an address-space limit, before any thread starts.
static UNDER_LIMIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether ppool runs under `ulimit -v`, as [`under_address_space_limit`]
/// found at start (no second `getrlimit`).
pub fn address_space_limited() -> bool {
    UNDER_LIMIT.load(std::sync::atomic::Ordering::Relaxed)
}

/// A slot thread's builder: with [`SLOT_STACK`] under `ulimit -v`, else
/// std's default stack.
pub fn slot_thread(name: String) -> std::thread::Builder {
    let builder = std::thread::Builder::new().name(name);
    match address_space_limited() {
        true => builder.stack_size(SLOT_STACK),
        false => builder,
    }
}

/// Address space one slot takes at most under `ulimit -v`: its stack, its
/// read buffer (64 KiB), its task's stdout and stderr held in memory up to
/// [`SPILLED_UNDER_LIMIT`] each (doubled while a buffer grows) and the last
/// task's on their way to the printer, with room to spare.
pub const BYTES_PER_SLOT: u64 = SLOT_STACK as u64 + (1 << 20);

/// Address space kept for ppool itself besides what is mapped at start:
/// the printer, the input's reader, messages, the shelf's copies.
pub const BYTES_KEPT: u64 = 16 << 20;

/// Under `ulimit -v`, output past this moves to a temporary file.
pub const SPILLED_UNDER_LIMIT: usize = 64 << 10;

/// The soft address-space limit, when there is one.
pub fn address_space_limit() -> Option<u64> {
    soft_limit!(libc::RLIMIT_AS)
}

/// Under `ulimit -v`, before any thread starts: glibc's malloc would give
/// threads arenas of their own, each reserving 64 MiB of address space the
/// slots were counted without; and output spills to disk early.
pub fn under_address_space_limit() {
    if address_space_limit().is_none() {
        return;
    }
    UNDER_LIMIT.store(true, std::sync::atomic::Ordering::Relaxed);
    crate::capture::spill_earlier(SPILLED_UNDER_LIMIT);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets malloc's parameters.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// The slots `limit` bytes of address space leave room for, with `used`
/// mapped already.
pub fn slots_for_address_space(limit: u64, used: u64) -> usize {
    let spare = limit.saturating_sub(used).saturating_sub(BYTES_KEPT);
    usize::try_from(spare / BYTES_PER_SLOT).unwrap_or(usize::MAX)
}

/// The address space mapped now; where it cannot be read, a guess above
/// what ppool maps at start.
fn mapped_bytes() -> u64 {
    #[cfg(target_os = "linux")]
    if let Some(pages) = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().next()?.parse::<u64>().ok())
    {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        return pages.saturating_mul(u64::try_from(page).unwrap_or(4096));
    }
    64 << 20
}

/// What the address-space limit leaves room for, when there is one.
fn address_space_room() -> Option<Room> {
    let limit = address_space_limit()?;
    let used = mapped_bytes();
    let slots = slots_for_address_space(limit, used);
    Some(Room {
        slots,
        why: format!(
            "the address-space limit (`ulimit -v` {} KiB, {} KiB mapped at start) leaves room for {slots}, at {} KiB per slot",
            limit >> 10,
            used >> 10,
            BYTES_PER_SLOT >> 10
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fit_in_what_is_left_of_the_descriptors() {
        // 64 descriptors, 11 open: 64 - 11 - 8 = 45 spare, 5 slots.
        assert_eq!(slots_for_descriptors(64, 11), 5);
        assert_eq!(slots_for_descriptors(1024, 11), 125);
        // Exactly one slot's worth.
        assert_eq!(
            slots_for_descriptors(11 + DESCRIPTORS_KEPT + DESCRIPTORS_PER_SLOT, 11),
            1
        );
        assert_eq!(
            slots_for_descriptors(11 + DESCRIPTORS_KEPT + DESCRIPTORS_PER_SLOT - 1, 11),
            0
        );
        // More open than the limit: none, no underflow.
        assert_eq!(slots_for_descriptors(10, 64), 0);
        assert_eq!(slots_for_descriptors(u64::MAX, 0), (u64::MAX - 8) as usize / 8);
    }

    #[test]
    fn descriptors_are_counted_only_when_the_slots_might_not_fit() {
        // 4 slots need 40 with the reserve: 1024 leave room for them even
        // were half of them open.
        assert!(surely_fit(4, 1024));
        assert!(!surely_fit(50, 64));
        assert!(!surely_fit(usize::MAX, u64::MAX));
        assert!(!surely_fit(1, 30));
        assert!(surely_fit(1, 32));
    }

    #[test]
    fn slots_fit_in_what_is_left_of_the_address_space() {
        const MIB: u64 = 1 << 20;
        // 30000 KiB with 12 MiB mapped: 29.3 - 12 - 16 = 1.3 MiB, no slot.
        assert_eq!(slots_for_address_space(30_000 << 10, 12 * MIB), 0);
        // 100000 KiB: 97.6 - 12 - 16 = 69.6 MiB, 34 slots of 2 MiB.
        assert_eq!(slots_for_address_space(100_000 << 10, 12 * MIB), 34);
        assert_eq!(
            slots_for_address_space(12 * MIB + BYTES_KEPT + BYTES_PER_SLOT, 12 * MIB),
            1
        );
        assert_eq!(
            slots_for_address_space(12 * MIB + BYTES_KEPT + BYTES_PER_SLOT - 1, 12 * MIB),
            0
        );
        assert_eq!(slots_for_address_space(MIB, 64 * MIB), 0);
    }
}
