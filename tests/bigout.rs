//! Large task output: passed straight through to stdout while its task
//! runs when it is its turn, kept whole and in order otherwise.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use crate::util::{marker, ppool, ppool_std, stderr_of, wait_gone};

/// A task that prints `bytes` bytes of `byte`, then waits (20 s at most)
/// for the file `go` in its working directory; it fails if `go` never came.
fn print_then_wait(byte: char, bytes: usize) -> String {
    format!(
        "head -c {bytes} /dev/zero | tr '\\0' {byte}; i=0; \
         while [ ! -e go ]; do i=$((i+1)); [ $i -gt 400 ] && exit 3; sleep 0.05; done"
    )
}

/// Reads exactly `len` bytes of `out` on a thread, then the rest to its
/// end; the first part is given back unless it took longer than `limit`.
fn read_within(mut out: impl Read + Send + 'static, len: usize, limit: Duration) -> Option<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut got = vec![0; len];
        let result = out.read_exact(&mut got).map(|()| got);
        let _ = tx.send(result);
        // Still read: a reader that goes away stops the run.
        let _ = std::io::copy(&mut out, &mut std::io::sink());
    });
    rx.recv_timeout(limit).ok()?.ok()
}

/// The task's output must reach stdout before it ends: it ends only once
/// the test has read that output and created `go`.
fn streams_before_the_end(mode: &str, inputs: &[&str], before: &[u8]) {
    const SIZE: usize = 3_000_000;
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "[ {{}} = big ] || {{ echo {{}}; exit 0; }}; {}",
        print_then_wait('a', SIZE)
    );
    let mut child = ppool_std()
        .current_dir(dir.path())
        .args([mode, "-j2", "sh", "-c", &script, ":::"])
        .args(inputs)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let want = before.len() + SIZE;
    let got = read_within(stdout, want, Duration::from_secs(15));
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let got = got.unwrap_or_else(|| panic!("{mode}: the output came only after the task ended"));
    assert!(
        got[..before.len()] == *before,
        "{mode}: {:?}",
        String::from_utf8_lossy(&got[..40])
    );
    assert!(got[before.len()..].iter().all(|&b| b == b'a'), "{mode}: output differs");
    assert!(out.status.success(), "{mode}: {}", stderr_of(&out));
}

#[test]
fn unordered_passes_a_large_output_through_while_its_task_runs() {
    streams_before_the_end("unordered", &["big"], b"");
}

#[test]
fn imap_passes_a_large_output_through_once_every_earlier_task_is_printed() {
    streams_before_the_end("imap", &["first", "big"], b"first\n");
}

/// Several large and small outputs at once: each comes out whole, never
/// mixed with another, in input order for `imap` and `map`, the stderr of a
/// task passed through printed too.
#[test]
fn large_outputs_side_by_side_stay_whole() {
    const SIZE: usize = 2_500_000;
    let script =
        format!("case {{}} in [a-c]) head -c {SIZE} /dev/zero | tr '\\0' {{}};; *) echo {{}};; esac; echo e{{}} >&2");
    let inputs = ["a", "1", "b", "2", "c", "3"];
    for mode in ["unordered", "imap", "map"] {
        let out = ppool()
            .args([mode, "-j3", "sh", "-c", &script, ":::"])
            .args(inputs)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        assert!(out.status.success(), "{mode}: {}", stderr_of(&out));
        // Runs of one byte, as (byte, length).
        let mut runs: Vec<(u8, usize)> = Vec::new();
        for &b in &out.stdout {
            match runs.last_mut() {
                Some((last, n)) if *last == b => *n += 1,
                _ => runs.push((b, 1)),
            }
        }
        let mut whole: Vec<(u8, usize)> = runs.into_iter().filter(|&(b, _)| b != b'\n').collect();
        if mode == "unordered" {
            whole.sort();
        }
        let mut expected: Vec<(u8, usize)> = inputs
            .iter()
            .map(|i| match i.as_bytes()[0] {
                b @ b'a'..=b'c' => (b, SIZE),
                b => (b, 1),
            })
            .collect();
        if mode == "unordered" {
            expected.sort();
        }
        assert_eq!(whole, expected, "{mode}");
        let mut err: Vec<&str> = std::str::from_utf8(&out.stderr).unwrap().lines().collect();
        err.sort();
        assert_eq!(err, ["e1", "e2", "e3", "ea", "eb", "ec"], "{mode}");
    }
}

/// Stdout opened for appending cannot take spliced bytes: the output is
/// copied instead, whole.
#[test]
fn a_large_output_appended_to_a_file_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out");
    std::fs::write(&file, "before\n").unwrap();
    let script = format!(
        "'{}' unordered -j2 sh -c 'head -c 3000000 /dev/zero | tr \"\\0\" {{}}' ::: x y >> '{}'",
        crate::util::bin().display(),
        file.display()
    );
    let out = std::process::Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let got = std::fs::read(&file).unwrap();
    assert_eq!(&got[..7], b"before\n");
    let rest = &got[7..];
    assert_eq!(rest.len(), 6_000_000);
    let first = rest[0];
    assert!(rest[..3_000_000].iter().all(|&b| b == first));
    assert!(rest[3_000_000..].iter().all(|&b| b != first && b == rest[3_000_000]));
}

/// A reader that goes away while a large output is passed through stops
/// the run quietly, and its task with it.
#[test]
fn a_closed_stdout_during_a_large_output_stops_quietly() {
    let mark = marker("bigout-head");
    let script = format!(
        "set -o pipefail; '{}' unordered sh -c 'i=0; while [ $i -lt 400 ]; do head -c 1000000 /dev/zero; sleep 0.05; i=$((i+1)); done # {mark}' ::: x | head -c 10 | wc -c; echo status=$?",
        crate::util::bin().display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "10\nstatus=141\n");
    assert_eq!(stderr_of(&out), "", "ppool wrote to stderr");
    assert!(wait_gone(&mark, Duration::from_secs(10)).is_empty());
}

/// With `--timeout`, a large output is kept whole while its reader waits:
/// passed through instead, the task would block on the full pipe and be
/// stopped before it had printed it all.
#[test]
fn with_a_timeout_a_large_output_is_kept_whole_for_a_slow_reader() {
    const SIZE: usize = 3_000_000;
    let dir = tempfile::tempdir().unwrap();
    let script = format!("head -c {SIZE} /dev/zero; touch written; sleep 60");
    let mut child = ppool_std()
        .current_dir(dir.path())
        .args([
            "unordered",
            "--timeout",
            "4s",
            "--grace",
            "200ms",
            "sh",
            "-c",
            &script,
            ":::",
            "x",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Nothing reads stdout until the task has printed everything.
    let written = crate::util::wait_for_file(&dir.path().join("written"), Duration::from_secs(20));
    let mut stdout = child.stdout.take().unwrap();
    let mut got = Vec::new();
    stdout.read_to_end(&mut got).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(written, "the task could not print its output");
    assert_eq!(got.len(), SIZE);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
}

/// Output passed straight through to a pipe widens that pipe to the size of
/// the task's own (1 MiB), so the kernel moves it in large pieces.
#[cfg(target_os = "linux")]
#[test]
fn output_passed_through_widens_a_stdout_pipe() {
    use std::os::fd::AsRawFd;
    let mut child = ppool_std()
        .args(["unordered", "-j1", "head", "-c", "20000000", ":::", "/dev/zero"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // SAFETY: F_GETPIPE_SZ only reads the size of the pipe behind an open descriptor.
    let before = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_GETPIPE_SZ) };
    let mut got = 0;
    let mut buf = vec![0; 1 << 16];
    loop {
        match stdout.read(&mut buf).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    // SAFETY: as above.
    let after = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_GETPIPE_SZ) };
    assert!(child.wait().unwrap().success());
    assert_eq!(got, 20_000_000);
    assert!(before < 1 << 20, "the pipe started at {before} bytes");
    assert_eq!(after, 1 << 20, "stdout's pipe was not widened");
}
