//! Memory and throughput bounds of long streams through builtin workers
//! and `--worker` coprocesses.

use std::io::Write;
use std::process::Stdio;

use crate::util::ppool_std;

/// Writes `seq 1 N` to `path`.
fn write_numbers(path: &std::path::Path, n: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 1..=n {
        writeln!(file, "{i}").unwrap();
    }
    file.flush().unwrap();
}

/// The peak resident size of a running process, in KiB (`VmHWM`).
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs ppool with `args`, stdin from `input` and stdout to `output`;
/// returns whether it succeeded and the largest peak resident size seen
/// while it ran, in KiB. The peak only grows, so a late reading holds
/// nearly all of it. (The peak that wait4 reports would hold the test
/// process's own, which the child had before it ran ppool.)
fn run_measured(args: &[&str], input: &std::path::Path, output: &std::path::Path) -> (bool, u64) {
    let mut child = ppool_std()
        .args(args)
        .stdin(std::fs::File::open(input).unwrap())
        .stdout(std::fs::File::create(output).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut peak = 0;
    loop {
        if let Some(kib) = peak_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Whether two files hold the same bytes.
fn same_bytes(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::io::Read;
    let (mut a, mut b) = (
        std::io::BufReader::new(std::fs::File::open(a).unwrap()),
        std::io::BufReader::new(std::fs::File::open(b).unwrap()),
    );
    let (mut x, mut y) = (vec![0; 1 << 16], vec![0; 1 << 16]);
    loop {
        let n = a.read(&mut x).unwrap();
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if b.read_exact(&mut y[..n]).is_err() || x[..n] != y[..n] {
            return false;
        }
    }
}

#[test]
#[ignore = "streams 10 million records (several seconds)"]
fn imap_builtin_echo_over_ten_million_records_stays_below_fifty_megabytes() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    write_numbers(&input, 10_000_000);
    let (ok, kib) = run_measured(&["imap", "-j2", "--builtin", "echo"], &input, &output);
    assert!(ok);
    assert!(
        same_bytes(&input, &output),
        "the records came back changed or out of order"
    );
    assert!(kib < 50 * 1024, "peak resident size {kib} KiB");
}
