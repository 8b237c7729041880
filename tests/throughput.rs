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

/// A worker that answers each line it reads with the line and how many
/// lines the same read() brought: one a read when records come one at a time.
const COUNTING_WORKER: &str = r#"python3 -c '
import os, sys
rest = b""
while True:
    data = os.read(0, 1 << 16)
    if not data:
        break
    lines = (rest + data).split(b"\n")
    rest = lines.pop()
    for line in lines:
        sys.stdout.buffer.write(b"%s %d\n" % (line, len(lines)))
    sys.stdout.flush()
'"#;

#[test]
fn a_worker_with_chunksize_is_sent_records_in_chunks_and_answers_each_in_turn() {
    let records: Vec<String> = (1..=300).map(|i| i.to_string()).collect();
    let out = crate::util::ppool()
        .args([
            "imap",
            "-j1",
            "--chunksize",
            "100",
            "--timeout",
            "60s",
            "--worker",
            COUNTING_WORKER,
            ":::",
        ])
        .args(&records)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::util::stderr_of(&out));
    let stdout = crate::util::stdout_of(&out);
    let answers: Vec<(&str, usize)> = stdout
        .lines()
        .map(|line| {
            let (record, together) = line.split_once(' ').unwrap();
            (record, together.parse().unwrap())
        })
        .collect();
    let answered: Vec<&str> = answers.iter().map(|(record, _)| *record).collect();
    assert_eq!(answered, records, "each answer is its own record's, in input order");
    // A chunk is one write of fewer than PIPE_BUF bytes, so one read takes it whole.
    let most = answers.iter().map(|(_, together)| *together).max();
    assert!(most > Some(1), "every record was read alone: {most:?}");
}

#[test]
fn without_chunksize_a_worker_is_sent_one_record_at_a_time() {
    let records: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let out = crate::util::ppool()
        .args(["imap", "-j1", "--timeout", "60s", "--worker", COUNTING_WORKER, ":::"])
        .args(&records)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::util::stderr_of(&out));
    let expected: String = records.iter().map(|r| format!("{r} 1\n")).collect();
    assert_eq!(crate::util::stdout_of(&out), expected);
}

#[test]
fn a_chunked_worker_that_dies_fails_the_task_it_was_on_and_the_rest_go_to_its_replacement() {
    // Each worker answers four records, then exits on its fifth.
    let script = "i=0; while IFS= read -r l; do i=$((i+1)); [ $i -ge 5 ] && exit 3; echo \"r$l\"; done";
    let records: Vec<String> = (1..=12).map(|i| i.to_string()).collect();
    let out = crate::util::ppool()
        .args([
            "imap",
            "-j1",
            "--chunksize",
            "4",
            "--output",
            "json",
            "--worker",
            script,
            ":::",
        ])
        .args(&records)
        .output()
        .unwrap();
    let lines = crate::util::json_lines(&out.stdout);
    let seen: Vec<&str> = lines.iter().map(|l| l["input"].as_str().unwrap()).collect();
    assert_eq!(seen, records, "one outcome per record, in input order");
    let mut died = 0;
    for line in &lines {
        match line["status"].as_str().unwrap() {
            "ok" => assert_eq!(
                line["stdout"],
                format!("r{}\n", line["input"].as_str().unwrap()),
                "{line}"
            ),
            "worker-died" => {
                died += 1;
                let message = line["stderr"].as_str().unwrap();
                assert!(message.contains("before answering; it was replaced"), "{message}");
                // The worker is named: its slot, pid and command, and how it ended.
                assert!(
                    message.contains("the --worker in slot ") && message.contains(") ended ("),
                    "{message}"
                );
            }
            other => panic!("unexpected status {other}: {line}"),
        }
    }
    assert!(died >= 2, "{}", crate::util::stdout_of(&out));
    assert_eq!(out.status.code(), Some(died));
}

/// A worker that answers each line in two writes: the first half, then,
/// after `delay` seconds, the rest and the newline. It starts by answering
/// the first `fast` lines at once, whole.
fn halving_worker(fast: usize, delay: f64) -> String {
    format!(
        r#"python3 -c '
import sys, time
for n, line in enumerate(sys.stdin):
    if n < {fast}:
        sys.stdout.write(line)
        sys.stdout.flush()
        continue
    half = len(line) // 2
    sys.stdout.write(line[:half])
    sys.stdout.flush()
    time.sleep({delay})
    sys.stdout.write(line[half:])
    sys.stdout.flush()
'"#
    )
}

#[test]
fn a_chunk_whose_answers_come_in_pieces_after_quick_ones_gets_each_answer() {
    let records: Vec<String> = (1..=260).map(|i| format!("record-{i}")).collect();
    let out = crate::util::ppool()
        .args(["imap", "-j1", "--chunksize", "300", "--timeout", "60s", "--worker"])
        .arg(halving_worker(250, 0.05))
        .arg(":::")
        .args(&records)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::util::stderr_of(&out));
    let expected: String = records.iter().map(|r| format!("{r}\n")).collect();
    assert_eq!(crate::util::stdout_of(&out), expected);
}

#[test]
fn a_chunked_worker_that_stops_answering_after_quick_answers_times_out_and_the_rest_go_on() {
    // The first worker answers 100 lines at once (its first record goes
    // alone, then a chunk), then hangs; its replacement answers everything.
    let script = r#"if mkdir hung 2>/dev/null; then i=0; while IFS= read -r l; do i=$((i+1)); [ $i -gt 100 ] && exec sleep 60; echo "$l"; done; else exec cat; fi"#;
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<String> = (1..=150).map(|i| i.to_string()).collect();
    let out = crate::util::ppool()
        .current_dir(dir.path())
        .args([
            "imap",
            "-j1",
            "--chunksize",
            "149",
            "--timeout",
            "1s",
            "--output",
            "json",
            "--worker",
            script,
            ":::",
        ])
        .args(&records)
        .output()
        .unwrap();
    let lines = crate::util::json_lines(&out.stdout);
    let seen: Vec<&str> = lines.iter().map(|l| l["input"].as_str().unwrap()).collect();
    assert_eq!(seen, records, "one outcome per record, in input order");
    for line in &lines {
        let input = line["input"].as_str().unwrap();
        let status = line["status"].as_str().unwrap();
        if input == "101" {
            assert_eq!(status, "timeout", "{line}");
        } else {
            assert_eq!(status, "ok", "{line}");
            assert_eq!(line["stdout"], format!("{input}\n"), "{line}");
        }
    }
    assert_eq!(out.status.code(), Some(1), "{}", crate::util::stderr_of(&out));
}

#[test]
fn answers_read_together_share_the_time_since_the_previous_answers() {
    // The first record goes alone, the next three of the first batch of
    // four come as one chunk (one write, taken by one read): their answers
    // come together a second later, in one write.
    let script = r#"python3 -c '
import os, time
os.write(1, os.read(0, 1 << 16))
chunk = os.read(0, 1 << 16)
time.sleep(1)
os.write(1, chunk)
while True:
    data = os.read(0, 1 << 16)
    if not data:
        break
    os.write(1, data)
'"#;
    let out = crate::util::ppool()
        .args([
            "imap",
            "-j1",
            "--chunksize",
            "4",
            "--output",
            "json",
            "--worker",
            script,
            ":::",
            "1",
            "2",
            "3",
            "4",
            "5",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::util::stderr_of(&out));
    let lines = crate::util::json_lines(&out.stdout);
    assert_eq!(lines.len(), 5, "{}", crate::util::stdout_of(&out));
    for line in &lines[1..4] {
        let took = line["duration_s"].as_f64().unwrap();
        assert!(
            took >= 0.2,
            "each of three answers that took a second together gets a share: {line}"
        );
    }
}

#[test]
fn a_chunked_worker_prints_the_same_in_text_as_each_task_in_json_in_every_mode() {
    let records: Vec<String> = (1..=500).map(|i| i.to_string()).collect();
    for mode in ["map", "imap", "unordered"] {
        let run = |output: &str| {
            let out = crate::util::ppool()
                .args([
                    mode,
                    "-j2",
                    "--chunksize",
                    "40",
                    "--output",
                    output,
                    "--worker",
                    "cat",
                    ":::",
                ])
                .args(&records)
                .output()
                .unwrap();
            assert!(out.status.success(), "{mode}: {}", crate::util::stderr_of(&out));
            out.stdout
        };
        let text = String::from_utf8(run("text")).unwrap();
        let json: Vec<String> = crate::util::json_lines(&run("json"))
            .iter()
            .map(|line| line["stdout"].as_str().unwrap().to_string())
            .collect();
        let mut text: Vec<&str> = text.split_inclusive('\n').collect();
        let mut json: Vec<&str> = json.iter().map(String::as_str).collect();
        if mode == "unordered" {
            text.sort_unstable();
            json.sort_unstable();
        } else {
            let expected: Vec<String> = records.iter().map(|r| format!("{r}\n")).collect();
            assert_eq!(text, expected, "{mode}");
        }
        assert_eq!(text, json, "{mode}");
    }
}

#[test]
fn a_chunked_worker_that_dies_in_text_output_prints_every_answer_and_fails_the_rest_in_turn() {
    // Each worker answers four records, then exits on its fifth.
    let script = "i=0; while IFS= read -r l; do i=$((i+1)); [ $i -ge 5 ] && exit 3; echo \"r$l\"; done";
    let records: Vec<String> = (1..=30).map(|i| i.to_string()).collect();
    let out = crate::util::ppool()
        .args(["imap", "-j1", "--chunksize", "6", "--worker", script, ":::"])
        .args(&records)
        .output()
        .unwrap();
    let stdout = crate::util::stdout_of(&out);
    let stderr = crate::util::stderr_of(&out);
    let died = stderr.matches("before answering; it was replaced").count();
    assert!(died >= 2, "{stderr}");
    assert_eq!(stdout.lines().count() + died, records.len(), "{stdout}{stderr}");
    let answered: Vec<u64> = stdout.lines().map(|l| l[1..].parse().unwrap()).collect();
    assert!(answered.windows(2).all(|w| w[0] < w[1]), "in input order: {stdout}");
    assert_eq!(out.status.code(), Some(died as i32));
}
