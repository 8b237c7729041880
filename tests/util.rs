//! Helpers shared by the integration tests.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The binary under test: `$PPOOL_BIN` when set (CI runs the suite again on
/// the static musl build), else the one cargo built for this test run.
pub fn bin() -> std::path::PathBuf {
    match std::env::var_os("PPOOL_BIN") {
        Some(path) if !path.is_empty() => path.into(),
        _ => assert_cmd::cargo::cargo_bin("ppool"),
    }
}

pub fn ppool() -> assert_cmd::Command {
    assert_cmd::Command::new(bin())
}

/// A `std::process::Command` for tests that need to signal or stream.
pub fn ppool_std() -> std::process::Command {
    let mut command = std::process::Command::new(bin());
    command.stdin(Stdio::null());
    command
}

/// One JSON value per line of `--output json` output.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Process ids whose command line contains `marker`, this test process excluded.
pub fn processes_with(marker: &str) -> Vec<u32> {
    processes_whose("cmdline", |cmdline| String::from_utf8_lossy(cmdline).contains(marker))
}

/// Process ids whose `/proc/PID/FILE` (`cmdline`, `environ`, …) satisfies
/// `matches`, this test process excluded.
pub fn processes_whose(file: &str, matches: impl Fn(&[u8]) -> bool) -> Vec<u32> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("reading /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        if std::fs::read(entry.path().join(file)).is_ok_and(|bytes| matches(&bytes)) {
            found.push(pid);
        }
    }
    found
}

/// The command line of `pid`, its words joined by spaces; empty when gone.
pub fn cmdline_of(pid: u32) -> String {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&bytes).replace('\0', " ")
}

/// The processes whose parent is `parent`.
pub fn children_of(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("reading /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if stat_of(pid).is_some_and(|(_, ppid)| ppid == parent) {
            found.push(pid);
        }
    }
    found
}

/// Whether `pid` exists and is not a zombie.
pub fn is_running(pid: u32) -> bool {
    stat_of(pid).is_some_and(|(state, _)| state != 'Z')
}

/// State and parent of `pid`, from /proc/PID/stat.
fn stat_of(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state, then parent pid.
    let mut rest = stat.get(stat.rfind(')')? + 2..)?.split(' ');
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Waits up to `limit` for no process to carry `marker`; returns those left.
pub fn wait_gone(marker: &str, limit: Duration) -> Vec<u32> {
    let start = Instant::now();
    loop {
        let left = processes_with(marker);
        if left.is_empty() || start.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits up to `limit` for `path` to exist.
pub fn wait_for_file(path: &Path, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A marker unique to one test, to find its processes by command line.
pub fn marker(name: &str) -> String {
    format!("ppool-test-{name}-{}", std::process::id())
}

pub fn send_signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) has no memory effects.
    unsafe {
        libc::kill(pid as i32, signal);
    }
}

/// GNU parallel's stdout, in input order on one slot (`-k -j1`), when it is
/// installed and the command succeeds; `None` prints a SKIP line.
pub fn gnu_parallel(args: &[&str]) -> Option<String> {
    let mut all = vec!["-k", "-j1"];
    all.extend(args);
    let output = gnu_parallel_run(&all, b"")?;
    output.status.success().then(|| stdout_of(&output))
}

/// What `parallel ARGS` did with `stdin`, written while it runs; `None`
/// (after a SKIP line) where GNU parallel is not installed.
pub fn gnu_parallel_run(args: &[&str], stdin: &[u8]) -> Option<std::process::Output> {
    use std::io::Write;
    let child = std::process::Command::new("parallel")
        .arg("--will-cite")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("SKIP: GNU parallel is not installed");
        return None;
    };
    let mut pipe = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // It may exit before reading everything: not this helper's failure.
        let _ = pipe.write_all(&stdin);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Some(output)
}
