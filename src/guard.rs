//! The guard: a small process (`ppool __guard`) that outlives a `ppool`
//! killed with SIGKILL and stops the tasks it left running.
//!
//! Tasks run in process groups of their own, so nothing else would stop
//! them. `ppool` tells the guard, through a pipe, which process group runs
//! in each slot (and when the slot is free again); when the pipe closes, the
//! guard stops whatever groups are still listed: SIGTERM, then SIGKILL after
//! the grace. A run that ends normally has freed every slot first, so its
//! guard just exits.
//!
//! A message is 8 bytes (slot, then group id, little-endian u32 and i32; 0
//! frees the slot), under `PIPE_BUF`, so writes from several slot threads
//! never interleave. The guard wakes at once when the pipe closes, and
//! otherwise only every [`POLL`] to read what came in bulk, so a task costs
//! `ppool` two small writes and no wake-up of another process.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::exec::process::signal_group;

/// How often the guard empties its pipe.
const POLL: Duration = Duration::from_millis(50);
const MESSAGE: usize = 8;

/// `ppool`'s end of the pipe to its guard.
pub struct Guard {
    pipe: File,
}

impl Guard {
    /// Starts the guard on a thread of its own, so the run does not wait
    /// for it: what is written before it runs waits in the pipe. A guard
    /// that cannot start leaves tasks unguarded (as they are in `apply`).
    pub fn start(grace: Duration) -> Option<Guard> {
        let (reader, writer) = crate::exec::spawn::pipe().ok()?;
        let program = std::env::current_exe().ok()?;
        std::thread::Builder::new()
            .name("guard".into())
            .spawn(move || {
                let _ = Command::new(program)
                    .arg("__guard")
                    .arg(grace.as_millis().to_string())
                    .stdin(reader)
                    // Holding ppool's stdout or stderr would keep a reader waiting.
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    // Away from the terminal's signals: it must outlive ppool.
                    .process_group(0)
                    // Not waited for: it ends when the pipe closes, after ppool.
                    .spawn();
            })
            .ok()?;
        Some(Guard {
            pipe: File::from(writer),
        })
    }

    /// The process group now running in `slot`; 0: none.
    pub fn note(&self, slot: usize, group: i32) {
        let mut message = [0u8; MESSAGE];
        message[..4].copy_from_slice(&(slot as u32).to_le_bytes());
        message[4..].copy_from_slice(&group.to_le_bytes());
        // A guard that is gone cannot be helped; the run goes on.
        let _ = (&self.pipe).write_all(&message);
    }
}

/// `ppool __guard GRACE_MS`: the guard's side.
pub fn serve(grace_ms: u64) -> anyhow::Result<i32> {
    // Only the guard holds this end of the pipe: non-blocking, it can be
    // drained without waiting.
    // SAFETY: fcntl on stdin's descriptor; no memory is involved.
    unsafe {
        let flags = libc::fcntl(0, libc::F_GETFL);
        libc::fcntl(0, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let mut input = std::io::stdin().lock();
    let mut groups: HashMap<u32, i32> = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut held = 0;
    'run: loop {
        wait_for_hangup(POLL);
        loop {
            let n = match input.read(&mut buf[held..]) {
                Ok(0) => break 'run,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => break 'run,
            };
            let end = held + n;
            let whole = end - end % MESSAGE;
            apply(&buf[..whole], &mut groups);
            buf.copy_within(whole..end, 0);
            held = end - whole;
        }
    }
    let left: Vec<i32> = groups.into_values().filter(|&g| g > 0).collect();
    stop(&left, Duration::from_millis(grace_ms));
    Ok(0)
}

/// Waits up to `limit` for ppool's end of the pipe to close. Messages do
/// not wake it (it asks for no event; a hang-up is always reported), so a
/// task costs the guard nothing, and a killed ppool is noticed at once.
fn wait_for_hangup(limit: Duration) {
    let mut stdin = libc::pollfd {
        fd: 0,
        events: 0,
        revents: 0,
    };
    // SAFETY: poll reads and writes the one entry it is given.
    unsafe {
        libc::poll(&mut stdin, 1, limit.as_millis() as libc::c_int);
    }
}

fn apply(messages: &[u8], groups: &mut HashMap<u32, i32>) {
    for message in messages.chunks_exact(MESSAGE) {
        let slot = u32::from_le_bytes([message[0], message[1], message[2], message[3]]);
        let group = i32::from_le_bytes([message[4], message[5], message[6], message[7]]);
        groups.insert(slot, group);
    }
}

/// SIGTERM to each group, SIGKILL to those still there after `grace`.
fn stop(groups: &[i32], grace: Duration) {
    if groups.is_empty() {
        return;
    }
    for &group in groups {
        signal_group(group, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && groups.iter().any(|&g| alive(g)) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &group in groups {
        signal_group(group, libc::SIGKILL);
    }
}

/// Whether any process is left in the group.
fn alive(group: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks; no memory is involved.
    unsafe { libc::kill(-group, 0) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_message_for_a_slot_wins() {
        let mut bytes = Vec::new();
        for (slot, group) in [(1u32, 100i32), (2, 200), (1, 0), (3, 300), (3, 301)] {
            bytes.extend(slot.to_le_bytes());
            bytes.extend(group.to_le_bytes());
        }
        let mut groups = HashMap::new();
        apply(&bytes, &mut groups);
        assert_eq!(groups.get(&1), Some(&0));
        assert_eq!(groups.get(&2), Some(&200));
        assert_eq!(groups.get(&3), Some(&301));
    }
}
