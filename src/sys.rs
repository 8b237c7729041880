//! The few system calls that differ between platforms, each with the
//! portable version beside the Linux one. Nothing else in ppool names a
//! platform.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A pipe with both ends close-on-exec: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    {
        // SAFETY: pipe2 writes two descriptors into fds, which is large enough.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    {
        // SAFETY: pipe writes two descriptors into fds, which is large enough.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        for fd in fds {
            // SAFETY: fcntl on a descriptor just created; no memory is involved.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Gives the disk space of a region of a file back, keeping the file's size
/// and the other regions in place. Where the platform or the file system
/// cannot, the space stays taken until the file is closed.
pub(crate) fn punch_hole(file: &std::fs::File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: fallocate on a descriptor the caller keeps open; no memory is involved.
        unsafe {
            libc::fallocate(
                file.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                offset as libc::off_t,
                len as libc::off_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// The system's limit on a new program's arguments and environment
/// together, in bytes (`ARG_MAX`); POSIX's smallest when it cannot be read.
/// Linux allows a quarter of the stack's limit, at least 128 KiB, as glibc's
/// sysconf reports it (musl's reports 128 KiB whatever the stack): asked
/// here, so that a static musl ppool fills the command lines xargs fills.
pub(crate) fn arg_max() -> usize {
    #[cfg(target_os = "linux")]
    {
        let mut stack = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes only the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut stack) } == 0 {
            return usize::try_from(stack.rlim_cur / 4)
                .unwrap_or(usize::MAX)
                .max(128 * 1024);
        }
    }
    // SAFETY: sysconf only reads a system value; no memory is involved.
    let value = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
    usize::try_from(value).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// The longest single argument, with its NUL, where the system has such a
/// limit (Linux: 32 pages); a shell line is one argument.
pub(crate) fn max_arg_len() -> Option<usize> {
    #[cfg(target_os = "linux")]
    return Some(32 * 4096);
    #[cfg(not(target_os = "linux"))]
    return None;
}

/// The longest command line GNU parallel finds by its own probe (what
/// `--max-line-length-allowed` prints): it runs `/usr/bin/echo` with one
/// long argument, growing it 16-fold from 324 bytes, then halving the gap
/// until it is within 1%, so the answer sits a little below the system's.
pub(crate) fn gnu_line_length() -> usize {
    // `/usr/bin/echo ` and the argument; without a limit on one argument,
    // everything ARG_MAX leaves beside the environment.
    let fits_below = match max_arg_len() {
        Some(longest) => longest - 1 + "/usr/bin/echo ".len(),
        None => {
            let environment: usize = std::env::vars_os().map(|(k, v)| k.len() + v.len() + 2).sum();
            arg_max().saturating_sub(environment)
        }
    };
    gnu_probe(|len| len <= fits_below)
}

/// GNU parallel's search for the longest line that `fits`.
fn gnu_probe(fits: impl Fn(usize) -> bool) -> usize {
    const UPPER: usize = 100_000_000;
    let mut len = 324;
    loop {
        if len > UPPER {
            return len;
        }
        len *= 16;
        if !fits(len) {
            break;
        }
    }
    let (mut lower, mut upper) = (len / 16, len);
    while !(lower + 1 >= upper || lower as f64 / upper as f64 > 0.99) {
        let middle = lower + (upper - lower) / 2;
        if fits(middle) {
            lower = middle;
        } else {
            upper = middle;
        }
    }
    lower
}

/// The command line GNU parallel fills with `-m`, `-X` and `--xargs`: its
/// probed length less 3000 bytes for wrapping, halved for quoting.
pub(crate) fn gnu_usable_line_length() -> usize {
    gnu_line_length().saturating_sub(3000) / 2
}

/// Pages of a shared mapping are given memory only when touched, without
/// reserving swap for all of it up front; where the flag does not exist,
/// untouched pages cost nothing either.
#[cfg(any(target_os = "linux", target_os = "macos"))]
pub(crate) const MAP_NORESERVE: libc::c_int = libc::MAP_NORESERVE;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub(crate) const MAP_NORESERVE: libc::c_int = 0;

/// The effective uid of the process at the other end of a connected Unix
/// socket, as the kernel recorded it.
pub(crate) fn peer_uid(socket: &impl std::os::fd::AsRawFd) -> io::Result<u32> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `cred`, which is that large.
        let rc = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(cred.uid)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let (mut uid, mut gid) = (0, 0);
        // SAFETY: getpeereid writes one uid and one gid into the two places given.
        if unsafe { libc::getpeereid(socket.as_raw_fd(), &mut uid, &mut gid) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(uid)
    }
}

/// Starts a new session with this process as its leader: no controlling
/// terminal, so a pool server outlives the shell that started it.
pub(crate) fn detach(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and touches no memory of the
    // parent; it runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Adds `increment` to this process's niceness (clamped to -20..=19), which
/// the tasks it starts inherit, as `nice -n` would.
pub(crate) fn renice(increment: i32) -> io::Result<()> {
    // SAFETY: getpriority reads this process's own priority; no memory is involved.
    // Its -1 is ambiguous only on failure, which cannot happen for itself.
    let current = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let target = current.saturating_add(increment).clamp(-20, 19);
    // SAFETY: setpriority on this process; no memory is involved.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, target) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Caps the C allocator's arenas at two. glibc gives each thread that
/// allocates an arena of its own, up to eight per CPU; a stream of records
/// made on the input thread, answered on the slot threads and printed on
/// the main one leaves freed memory spread over all of them, so the
/// resident size grows to several times what is in use (52 MB for 17 MB
/// of heap over 10 million records with `imap`). Two keep it near what
/// is used; elsewhere the allocator decides.
pub(crate) fn fewer_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it takes effect
    // for arenas created after it, which is all it is meant to change.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Free memory as GNU parallel counts it on Linux: MemFree, Buffers, Cached
/// and SwapCached of /proc/meminfo, in bytes. `None` where it is unknown.
pub(crate) fn free_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let mut kib = 0;
    let mut found = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if matches!(key, "MemFree" | "Buffers" | "Cached" | "SwapCached") {
            kib += value.trim().trim_end_matches("kB").trim().parse::<u64>().ok()?;
            found = true;
        }
    }
    found.then_some(kib * 1024)
}

/// Threads running or waiting for disk right now, not counting the one
/// asking: GNU parallel's load (`ps axH` in state R or D), not the load
/// average. `None` where it is unknown.
pub(crate) fn busy_threads() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().parse().ok())
    };
    Some((field("procs_running ")? + field("procs_blocked ")?).saturating_sub(1))
}

/// Pages swapped in and out since boot (pswpin, pswpout of /proc/vmstat).
/// `None` where they are unknown.
pub(crate) fn swap_pages() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/vmstat").ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().parse().ok())
    };
    Some((field("pswpin ")?, field("pswpout ")?))
}

/// Copies up to `len` bytes of `file` from `offset` into the pipe `out`
/// inside the kernel (`splice`), so they never pass through this process.
/// Returns how many bytes were copied: fewer than `len` when the file ended
/// or the kernel cannot splice these two (then the caller copies the rest
/// itself), 0 where the platform has no such call.
pub(crate) fn splice_to_pipe(file: &std::fs::File, offset: u64, len: u64, out: &std::fs::File) -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let mut done = 0;
        while done < len {
            let mut from = (offset + done) as libc::loff_t;
            // Large requests are fine: each call moves what the pipe takes.
            let want = (len - done).min(1 << 30) as usize;
            // SAFETY: splice reads and writes only the two descriptors, open
            // for the whole call, and `from`, which lives across it.
            let moved = unsafe {
                libc::splice(
                    file.as_raw_fd(),
                    &mut from,
                    out.as_raw_fd(),
                    std::ptr::null_mut(),
                    want,
                    0,
                )
            };
            match moved {
                0 => break,
                n if n > 0 => done += n as u64,
                _ => {
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EINTR) => continue,
                        // Not a pipe, a file system without splice, a
                        // non-blocking pipe: the caller's copy does the rest.
                        Some(libc::EINVAL | libc::ENOSYS | libc::EXDEV | libc::EAGAIN) => break,
                        _ => return Err(e),
                    }
                }
            }
        }
        Ok(done)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, offset, len, out);
        Ok(0)
    }
}

/// Whether poll(2) reporting a pipe hung up and not readable means it is
/// empty for good (Linux: POLLHUP comes only once every writer has closed,
/// and POLLIN with it while anything is left), so no read is needed to
/// learn its end. Elsewhere the read tells.
pub(crate) const HANGUP_IS_END: bool = cfg!(target_os = "linux");

/// What one [`splice_out`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// Without splice (not Linux) every call is `Unsupported`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) enum Spliced {
    /// Bytes moved from the pipe.
    Moved(usize),
    /// The pipe's writers have all closed and it is empty.
    End,
    /// Nothing moved without waiting: the pipe is empty or `out` is full.
    Blocked,
    /// These two descriptors cannot be spliced (a terminal, a file opened
    /// for appending, a platform without splice): read and write instead.
    Unsupported,
}

/// Moves up to `len` bytes from the pipe `from` to `out` (a pipe, a file,
/// /dev/null) inside the kernel, without waiting on either pipe: the bytes
/// never pass through this process.
pub(crate) fn splice_out(from: RawFd, out: RawFd, len: usize) -> io::Result<Spliced> {
    #[cfg(target_os = "linux")]
    loop {
        // SAFETY: splice touches only the two descriptors, which the caller
        // keeps open across the call; null offsets use their own positions.
        let moved = unsafe {
            libc::splice(
                from,
                std::ptr::null_mut(),
                out,
                std::ptr::null_mut(),
                len,
                libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
            )
        };
        return match moved {
            0 => Ok(Spliced::End),
            n if n > 0 => Ok(Spliced::Moved(n as usize)),
            _ => {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => Ok(Spliced::Blocked),
                    Some(libc::EINVAL | libc::ENOSYS | libc::EXDEV | libc::EBADF) => Ok(Spliced::Unsupported),
                    _ => Err(e),
                }
            }
        };
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (from, out, len);
        Ok(Spliced::Unsupported)
    }
}

/// Copies `len` bytes of `file` from `offset` to `out` inside the kernel
/// (`sendfile`: into a pipe, a file, a socket), waiting as a write would.
/// Returns how many it copied: fewer where the file ended or the kernel
/// cannot (then the caller copies the rest itself), 0 where the platform
/// has no such call.
pub(crate) fn send_file(file: &std::fs::File, offset: u64, len: u64, out: RawFd) -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let mut done = 0;
        while done < len {
            let mut from = (offset + done) as libc::off_t;
            let want = (len - done).min(1 << 30) as usize;
            // SAFETY: sendfile reads and writes only the two descriptors,
            // open for the whole call, and `from`, which lives across it.
            let moved = unsafe { libc::sendfile(out, file.as_raw_fd(), &mut from, want) };
            match moved {
                0 => break,
                n if n > 0 => done += n as u64,
                _ => {
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EINTR) => continue,
                        Some(libc::EINVAL | libc::ENOSYS | libc::EAGAIN) => break,
                        _ => return Err(e),
                    }
                }
            }
        }
        Ok(done)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, offset, len, out);
        Ok(0)
    }
}

/// Writes all of `bytes` to the descriptor `out`, waiting as needed.
pub(crate) fn write_all_fd(out: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: bytes is valid for bytes.len() bytes; the caller keeps out open.
        let n = unsafe { libc::write(out, bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            bytes = &bytes[n as usize..];
            continue;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(())
}

/// Makes the pipe behind `fd` hold up to 1 MiB where the system allows
/// (Linux), so that a large output moves in fewer, larger steps: the
/// default 64 KiB costs a context switch every 64 KiB. Best effort: a
/// pipe left at its size works the same, only slower.
/// The command name, state and process group from /proc/PID/stat.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn parse_stat(stat: &str) -> Option<(&str, char, i32)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?;
    // After the name: state, parent, group.
    let mut fields = stat.get(close + 2..)?.split(' ');
    let state = fields.next()?.chars().next()?;
    let group = fields.nth(1)?.parse().ok()?;
    Some((name, state, group))
}

/// Whether a process that `matches` (its pid and process group) is alive:
/// not a zombie (Linux: read from /proc).
#[cfg(target_os = "linux")]
pub(crate) fn any_live_process(matches: impl Fn(i32, i32) -> bool) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|entry| {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        parse_stat(&stat).is_some_and(|(_, state, group)| state != 'Z' && matches(pid, group))
    })
}

/// Whether process group `group` still has a live process.
pub(crate) fn group_alive(group: i32) -> bool {
    #[cfg(target_os = "linux")]
    return any_live_process(|_, g| g == group);
    // SAFETY: kill(2) with signal 0 only checks; no memory is involved.
    #[cfg(not(target_os = "linux"))]
    return unsafe { libc::kill(-group, 0) } == 0;
}

pub(crate) fn widen_pipe(fd: RawFd) {
    #[cfg(target_os = "linux")]
    // SAFETY: F_SETPIPE_SZ only resizes the pipe behind an open descriptor.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

/// Whether the pipe whose write end is `fd` still has a reader.
pub(crate) fn pipe_has_reader(fd: RawFd) -> bool {
    let mut pipe = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: poll reads and writes the one entry it is given.
    let ready = unsafe { libc::poll(&mut pipe, 1, 0) };
    !(ready > 0 && pipe.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0)
}

/// The bytes written into the pipe (`fd`, either end) and not read.
pub(crate) fn unread(fd: RawFd) -> u64 {
    let mut bytes: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `bytes`.
    if unsafe { libc::ioctl(fd, libc::FIONREAD as _, &mut bytes) } != 0 {
        return 0;
    }
    u64::try_from(bytes).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, Write};

    #[test]
    fn stat_gives_name_state_and_group() {
        let stat = "1234 (a (b) c) S 1 777 777 0 -1 4194304";
        assert_eq!(super::parse_stat(stat), Some(("a (b) c", 'S', 777)));
    }

    #[test]
    fn the_line_length_is_found_as_gnu_parallel_finds_it() {
        // GNU parallel 20221122 on Linux: 130329, and 63664 usable.
        assert_eq!(super::gnu_probe(|len| len <= 131_085), 130_329);
        #[cfg(target_os = "linux")]
        assert_eq!(
            (super::gnu_line_length(), super::gnu_usable_line_length()),
            (130_329, 63_664)
        );
        // Within 1% of a limit of 10 000, from below.
        let found = super::gnu_probe(|len| len <= 10_000);
        assert!((9_900..=10_000).contains(&found), "{found}");
    }

    #[test]
    fn splice_moves_a_range_of_a_file_into_a_pipe() {
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        file.write_all(&data).unwrap();
        let (read, write) = super::pipe().unwrap();
        let write = std::fs::File::from(write);
        // More than a pipe holds, so the reader must drain it meanwhile.
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            std::fs::File::from(read).read_to_end(&mut got).unwrap();
            got
        });
        let moved = super::splice_to_pipe(&file, 1000, 250_000, &write).unwrap();
        drop(write);
        let got = reader.join().unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(moved, 250_000);
            assert!(got == data[1000..251_000]);
        } else {
            assert_eq!(moved, 0);
        }
    }

    #[test]
    fn splice_out_moves_a_pipes_bytes_and_says_when_it_cannot() {
        use super::Spliced;
        use std::os::fd::AsRawFd;
        let (read, write) = super::pipe().unwrap();
        let mut write = std::fs::File::from(write);
        write.write_all(b"hello").unwrap();
        let mut file = tempfile::tempfile().unwrap();
        let moved = super::splice_out(read.as_raw_fd(), file.as_raw_fd(), 1 << 20).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(moved, Spliced::Moved(5));
            // Empty, writer open: it does not wait.
            assert_eq!(
                super::splice_out(read.as_raw_fd(), file.as_raw_fd(), 1 << 20).unwrap(),
                Spliced::Blocked
            );
            drop(write);
            assert_eq!(
                super::splice_out(read.as_raw_fd(), file.as_raw_fd(), 1 << 20).unwrap(),
                Spliced::End
            );
            let mut got = String::new();
            file.rewind().unwrap();
            file.read_to_string(&mut got).unwrap();
            assert_eq!(got, "hello");
            // A file is no pipe to splice from.
            let other = tempfile::tempfile().unwrap();
            assert_eq!(
                super::splice_out(file.as_raw_fd(), other.as_raw_fd(), 10).unwrap(),
                Spliced::Unsupported
            );
        } else {
            assert_eq!(moved, Spliced::Unsupported);
        }
    }

    #[test]
    fn splice_stops_at_the_end_of_the_file_and_where_it_cannot() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        let (read, write) = super::pipe().unwrap();
        let write = std::fs::File::from(write);
        let moved = super::splice_to_pipe(&file, 4, 100, &write).unwrap();
        drop(write);
        let mut got = Vec::new();
        std::fs::File::from(read).read_to_end(&mut got).unwrap();
        assert_eq!(got, &b"456789"[..moved as usize]);
        // A regular file on both ends is no pipe: nothing moved, no error.
        let other = tempfile::tempfile().unwrap();
        assert_eq!(super::splice_to_pipe(&file, 0, 10, &other).unwrap(), 0);
    }

    #[test]
    fn a_pipe_tells_its_writer_when_its_reader_is_gone_and_what_it_left() {
        use std::os::fd::AsRawFd;
        let (read, write) = super::pipe().expect("a pipe");
        let mut write = std::fs::File::from(write);
        assert!(super::pipe_has_reader(write.as_raw_fd()));
        write.write_all(b"12345").unwrap();
        assert_eq!(super::unread(write.as_raw_fd()), 5);
        drop(read);
        assert!(!super::pipe_has_reader(write.as_raw_fd()));
        assert_eq!(super::unread(write.as_raw_fd()), 5);
    }
}
