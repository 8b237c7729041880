//! `--slurm` against a real Slurm: the one-node cluster that
//! `scripts/slurm-cluster.sh start` runs on this machine (`.ci/run` starts
//! it). Each test prints why and returns early when `sinfo` shows no idle
//! node. The tests take the cluster one at a time, so that one test's jobs
//! do not wait for another's CPUs.

use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{json_lines, ppool, ppool_std, send_signal, stderr_of, stdout_of};

static CLUSTER: Mutex<()> = Mutex::new(());

/// The cluster, for this test alone, once its node is idle; `None`, with a
/// SKIP line, when there is no cluster.
fn cluster() -> Option<MutexGuard<'static, ()>> {
    // Where there is no cluster, sinfo takes seconds to say so: the first
    // test asks, the others skip on its answer.
    static ABSENT: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    let lock = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(why) = ABSENT.get() {
        println!("SKIP: {why}");
        return None;
    }
    let absent = |why: &'static str| {
        println!("SKIP: {why}");
        let _ = ABSENT.set(why);
        None
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let states = Command::new("sinfo")
            .args(["-h", "-N", "-o", "%t"])
            .stderr(Stdio::null())
            .output();
        match states {
            Err(_) => {
                return absent("sinfo is not installed: no Slurm cluster (scripts/slurm-cluster.sh start runs one)");
            }
            Ok(out) if !out.status.success() => {
                return absent("sinfo finds no Slurm cluster (scripts/slurm-cluster.sh start runs one)");
            }
            Ok(out) => {
                let states = stdout_of(&out);
                if states.lines().any(|s| s.trim() == "idle") {
                    return Some(lock);
                }
                // A node still busy with an earlier test's jobs becomes idle.
                let busy = states.lines().any(|s| matches!(s.trim(), "mix" | "alloc" | "comp"));
                if !busy || Instant::now() > deadline {
                    println!(
                        "SKIP: sinfo shows no idle node ({}): the Slurm tests need one",
                        states.trim()
                    );
                    return None;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The cluster's node, as Slurm names it.
fn node() -> String {
    let out = Command::new("sinfo").args(["-h", "-N", "-o", "%N"]).output().unwrap();
    stdout_of(&out).lines().next().unwrap_or_default().trim().to_owned()
}

/// Jobs and steps in squeue whose name is `ppool:<seq>:<pid>.<…>`: those of
/// the ppool with that pid.
fn left_in_squeue(pid: u32) -> Vec<String> {
    let mine = format!(":{pid}.");
    let mut left = Vec::new();
    for steps in [false, true] {
        let mut squeue = Command::new("squeue");
        squeue.args(["-h", "-o", "%i %j"]);
        if steps {
            squeue.arg("-s");
        }
        let out = squeue.output().unwrap();
        left.extend(
            stdout_of(&out)
                .lines()
                .filter(|l| l.contains(" ppool:") && l.contains(&mine))
                .map(str::to_owned),
        );
    }
    left
}

/// Waits up to a minute for squeue to hold nothing of that ppool's.
fn wait_squeue_empty(pid: u32) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = left_in_squeue(pid);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Asserts that squeue empties of that ppool's jobs and steps within a
/// minute; those left are cancelled first, so that they hold up no other test.
fn assert_squeue_empties(pid: u32) {
    let left = wait_squeue_empty(pid);
    if !left.is_empty() {
        let ids = left.iter().filter_map(|line| line.split(' ').next());
        let _ = Command::new("scancel").args(ids).status();
    }
    assert_eq!(left, Vec::<String>::new(), "left in squeue");
}

/// Waits up to a minute for that ppool to have `count` jobs in squeue.
fn wait_in_squeue(pid: u32, count: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let mut jobs: Vec<String> = left_in_squeue(pid)
            .iter()
            .filter_map(|line| line.split(['.', ' ']).next().map(str::to_owned))
            .collect();
        jobs.sort();
        jobs.dedup();
        if jobs.len() >= count {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn run(args: &[&str]) -> Output {
    ppool().args(args).output().unwrap()
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// Runs `script` in an `sbatch` allocation of `alloc` options and waits for
/// it; its output file.
fn sbatch(alloc: &[&str], script: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let submitted = Command::new("sbatch")
        .arg("--parsable")
        .args(alloc)
        .arg("-o")
        .arg(&out)
        .arg("--wrap")
        .arg(script)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(submitted.status.success(), "sbatch: {}", stderr_of(&submitted));
    let job = stdout_of(&submitted).trim().to_owned();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let q = Command::new("squeue").args(["-h", "-j", &job]).output().unwrap();
        if stdout_of(&q).trim().is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    format!("job {job}\n{text}")
}

const TASK: &str = "echo out $0; echo err $0 >&2";

#[test]
fn outside_an_allocation_each_mode_prints_what_a_local_run_prints() {
    let Some(_cluster) = cluster() else { return };
    for mode in ["map", "imap", "unordered"] {
        let local = run(&[mode, "-j", "2", "sh", "-c", TASK, ":::", "a", "b", "c"]);
        let slurm = run(&[mode, "--slurm", "-j", "2", "sh", "-c", TASK, ":::", "a", "b", "c"]);
        assert!(slurm.status.success(), "{mode}: {}", stderr_of(&slurm));
        if mode == "unordered" {
            assert_eq!(sorted_lines(&stdout_of(&slurm)), sorted_lines(&stdout_of(&local)));
        } else {
            assert_eq!(stdout_of(&slurm), stdout_of(&local), "{mode}");
        }
        // srun adds nothing of its own to a task that succeeds.
        assert_eq!(
            sorted_lines(&stderr_of(&slurm)),
            sorted_lines(&stderr_of(&local)),
            "{mode}"
        );
    }
}

#[test]
fn each_task_outside_an_allocation_is_a_job_named_in_json_and_the_job_log() {
    let Some(_cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let out = run(&[
        "imap",
        "--slurm",
        "-j",
        "2",
        "--output",
        "json",
        "--joblog",
        log.to_str().unwrap(),
        "sh",
        "-c",
        "echo $0 $SLURM_JOB_NAME",
        ":::",
        "a",
        "b",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let objects = json_lines(&out.stdout);
    assert_eq!(objects.len(), 2);
    let node = node();
    for (object, input) in objects.iter().zip(["a", "b"]) {
        assert_eq!(object["status"], "ok");
        assert_eq!(object["host"], node.as_str());
        let id = object["slurm_id"].as_str().expect("a job/step id");
        let (job, step) = id.split_once('.').expect("JOBID.STEPID");
        assert!(job.parse::<u64>().is_ok() && step.parse::<u64>().is_ok(), "{id}");
        let stdout = object["stdout"].as_str().unwrap();
        let seq = object["seq"].as_u64().unwrap();
        assert!(stdout.starts_with(&format!("{input} ppool:{seq}:")), "{stdout}");
    }
    let log = std::fs::read_to_string(&log).unwrap();
    for line in log.lines().skip(1) {
        assert_eq!(line.split('\t').nth(1), Some(node.as_str()), "the Host column: {line}");
    }
}

#[test]
fn inside_an_sbatch_allocation_tasks_are_steps_with_its_slots() {
    let Some(_cluster) = cluster() else { return };
    let bin = crate::util::bin();
    let bin = bin.to_str().unwrap();
    // One task of two CPUs: one slot, though this machine has more CPUs.
    let script = format!(
        "{bin} imap --slurm --output json sh -c 'echo $0 $PPOOL_SLOT $SLURM_JOB_ID' ::: a b c; \
         echo; {bin} imap --slurm sh -c '{TASK}' ::: a b c"
    );
    let text = sbatch(&["-n", "1", "-c", "2"], &script);
    let mut lines = text.lines();
    let job = lines.next().unwrap().strip_prefix("job ").unwrap().to_owned();
    let objects: Vec<Value> = lines
        .by_ref()
        .take_while(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{text}")))
        .collect();
    assert_eq!(objects.len(), 3, "{text}");
    for (object, input) in objects.iter().zip(["a", "b", "c"]) {
        assert_eq!(object["status"], "ok", "{text}");
        assert_eq!(object["slot"], 1, "{text}");
        assert_eq!(object["stdout"], format!("{input} 1 {job}\n"), "{text}");
        let id = object["slurm_id"].as_str().unwrap();
        assert!(id.starts_with(&format!("{job}.")), "a step of the allocation: {id}");
    }
    let local = run(&["imap", "sh", "-c", TASK, ":::", "a", "b", "c"]);
    let rest: Vec<&str> = lines.collect();
    assert_eq!(
        sorted_lines(&rest.join("\n")),
        sorted_lines(&format!("{}{}", stdout_of(&local), stderr_of(&local))),
        "{text}"
    );
    let outs: Vec<&str> = rest.iter().copied().filter(|l| l.starts_with("out ")).collect();
    assert_eq!(outs, ["out a", "out b", "out c"], "imap keeps input order: {text}");
}

#[test]
fn inside_an_allocation_a_timeout_and_a_killed_ppool_leave_no_step() {
    let Some(_cluster) = cluster() else { return };
    let bin = crate::util::bin();
    let bin = bin.to_str().unwrap();
    // `steps` counts this allocation's steps that ppool named.
    let script = format!(
        "steps() {{ squeue -h -s -j $SLURM_JOB_ID -o %j | grep -c '^ppool:'; }}
         wait_steps() {{ i=0; while [ \"$(steps)\" \"$1\" \"$2\" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done; }}
         {bin} imap --slurm --timeout 1s --grace 1s --output json sh -c 'trap \"\" TERM; sleep 60' ::: a b
         wait_steps -gt 0; echo \"after timeout: $(steps)\"
         {bin} unordered --slurm --grace 1s sleep ::: 60 61 & p=$!
         wait_steps -lt 2; echo \"running: $(steps)\"
         kill -KILL $p; wait $p
         wait_steps -gt 0; echo \"after kill: $(steps)\""
    );
    let text = sbatch(&["-n", "2"], &script);
    let objects: Vec<Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2, "{text}");
    for object in &objects {
        assert_eq!(object["status"], "timeout", "{text}");
    }
    assert!(text.contains("after timeout: 0\n"), "{text}");
    assert!(text.contains("running: 2\n"), "{text}");
    assert!(text.contains("after kill: 0\n"), "{text}");
}

#[test]
fn a_failing_step_is_a_failed_task_and_one_slurm_cancelled_is_a_slurm_failure() {
    let Some(_cluster) = cluster() else { return };
    let out = run(&[
        "imap",
        "--slurm",
        "-j",
        "2",
        "--output",
        "json",
        "sh",
        "-c",
        "echo e >&2; if [ $0 = k ]; then kill -KILL $$; fi; exit $0",
        ":::",
        "3",
        "k",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let objects = json_lines(&out.stdout);
    assert_eq!(
        (objects[0]["status"].as_str(), objects[0]["exit_code"].as_i64()),
        (Some("failed"), Some(3))
    );
    // srun's own line about the exit is not in the task's stderr.
    assert_eq!(objects[0]["stderr"], "e\n");
    assert_eq!(objects[1]["signal"], 9);
    assert_eq!(objects[1]["exit_code"], Value::Null);
    assert_eq!(objects[2]["status"], "ok");

    // A job cancelled in Slurm (as a preemption or an admin would) is
    // Slurm's failure, and is retried.
    let out = run(&[
        "imap",
        "--slurm",
        "--retries",
        "1",
        "--output",
        "json",
        "sh",
        "-c",
        "scancel $SLURM_JOB_ID; sleep 30",
        ":::",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let objects = json_lines(&out.stdout);
    assert_eq!(objects[0]["status"], "slurm", "{:?}", objects[0]);
    assert_eq!(objects[0]["attempts"], 2);
    let stderr = objects[0]["stderr"].as_str().unwrap();
    assert!(stderr.contains("CANCELLED"), "Slurm's reason: {stderr}");
    assert!(stderr.contains("ppool: task 1: Slurm ended its step"), "{stderr}");
}

#[test]
fn a_bad_partition_is_one_error_not_a_failure_per_task() {
    let Some(_cluster) = cluster() else { return };
    let out = run(&[
        "imap",
        "--slurm",
        "-j",
        "2",
        "--slurm-args",
        "--partition=no-such-partition",
        "echo",
        ":::",
        "a",
        "b",
        "c",
        "d",
    ]);
    assert_eq!(out.status.code(), Some(255));
    let stderr = stderr_of(&out);
    assert!(stderr.contains("Invalid partition"), "{stderr}");
    assert!(stderr.contains("sinfo"), "says what to do: {stderr}");
    assert!(!stderr.contains("tasks failed"), "{stderr}");
    assert_eq!(stderr.matches("Slurm cannot start the tasks").count(), 1, "{stderr}");
    assert_eq!(stdout_of(&out), "");
    // Workers too: one error before any worker starts.
    let out = run(&[
        "map",
        "--slurm",
        "-j",
        "2",
        "--slurm-args",
        "--partition=no-such-partition",
        "--builtin",
        "echo",
        ":::",
        "a",
        "b",
    ]);
    assert_eq!(out.status.code(), Some(255));
    let stderr = stderr_of(&out);
    assert!(stderr.contains("Slurm cannot start the workers"), "{stderr}");
    assert!(stderr.contains("Invalid partition"), "{stderr}");
    assert!(!stderr.contains("worker-died"), "{stderr}");
}

#[test]
fn fail_fast_and_a_closed_stdout_leave_nothing_in_squeue() {
    let Some(_cluster) = cluster() else { return };
    let child = ppool_std()
        .args([
            "unordered",
            "--slurm",
            "-j",
            "2",
            "--fail-fast",
            "sh",
            "-c",
            "sleep $0; exit 3",
            ":::",
            "1",
            "60",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert_squeue_empties(pid);

    // `| head -1`: the first line ends the run.
    let mut child = ppool_std()
        .args([
            "unordered",
            "--slurm",
            "-j",
            "2",
            "sh",
            "-c",
            "echo $0; sleep $0",
            ":::",
            "0",
            "60",
            "61",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 2];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert!(wait_in_squeue(pid, 2), "the long jobs start");
    drop(stdout);
    child.wait().unwrap();
    assert_squeue_empties(pid);
}

#[test]
fn a_timeout_gives_the_task_sigterm_and_leaves_nothing_in_squeue() {
    let Some(_cluster) = cluster() else { return };
    // As a local task, the task gets SIGTERM first, and may clean up. The
    // timeout leaves a loaded machine time to start the step and its trap.
    let child = ppool_std()
        .args(["imap", "--slurm", "--timeout", "5s", "--output", "json"])
        .args([
            "sh",
            "-c",
            "trap 'echo cleaned up; exit 5' TERM; sleep 60 & wait",
            ":::",
            "a",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let object = &json_lines(&out.stdout)[0];
    assert_eq!(object["status"], "timeout", "{object}");
    assert_eq!(object["stdout"], "cleaned up\n", "{object}");
    assert_eq!(object["exit_code"], 5, "{object}");
    assert_squeue_empties(pid);
}

#[test]
#[ignore = "slow: Slurm takes seconds to end a job whose task ignores SIGTERM; run by .ci/run"]
fn a_task_that_ignores_sigterm_is_cancelled_by_its_id_after_the_grace() {
    let Some(_cluster) = cluster() else { return };
    let child = ppool_std()
        .args([
            "imap",
            "--slurm",
            "-j",
            "2",
            "--timeout",
            "1s",
            "--grace",
            "1s",
            "--output",
            "json",
        ])
        .args(["sh", "-c", "trap '' TERM; sleep 300", ":::", "a", "b"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    for object in json_lines(&out.stdout) {
        assert_eq!(object["status"], "timeout");
        let stderr = object["stderr"].as_str().unwrap();
        assert!(
            !stderr.contains("srun"),
            "ppool's own cancellation is not Slurm's failure: {stderr}"
        );
    }
    assert_squeue_empties(pid);
}

#[test]
fn sigterm_cancels_the_running_jobs_and_leaves_nothing_in_squeue() {
    let Some(_cluster) = cluster() else { return };
    let mut child = ppool_std()
        .args(["unordered", "--slurm", "-j", "2", "sleep", ":::", "60", "61", "62"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    assert!(wait_in_squeue(pid, 2), "the jobs start");
    send_signal(pid, libc::SIGTERM);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert_squeue_empties(pid);
}

/// A run of two minute-long Slurm tasks with a short grace, its output
/// discarded: for the tests that stop it.
fn two_long_jobs() -> std::process::Child {
    ppool_std()
        .args([
            "unordered",
            "--slurm",
            "-j",
            "2",
            "--grace",
            "1s",
            "sleep",
            ":::",
            "60",
            "61",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_sigkilled_ppools_guard_cancels_its_jobs() {
    let Some(_cluster) = cluster() else { return };
    let mut child = two_long_jobs();
    let pid = child.id();
    assert!(wait_in_squeue(pid, 2), "the jobs start");
    send_signal(pid, libc::SIGKILL);
    child.wait().unwrap();
    assert_squeue_empties(pid);
}

#[test]
fn a_sigkilled_ppools_guard_cancels_jobs_its_srun_left_waiting() {
    let Some(_cluster) = cluster() else { return };
    // The node's CPUs are all taken, so ppool's jobs wait in the queue.
    let hold = Command::new("sbatch")
        .args(["--parsable", "--exclusive", "-o", "/dev/null", "--wrap", "sleep 120"])
        .output()
        .unwrap();
    let hold = stdout_of(&hold).trim().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let state = Command::new("squeue")
            .args(["-h", "-o", "%T", "-j", &hold])
            .output()
            .unwrap();
        if stdout_of(&state).trim() == "RUNNING" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut child = two_long_jobs();
    let pid = child.id();
    let waiting = wait_in_squeue(pid, 2);
    // An srun killed outright leaves its waiting job in the queue; ppool,
    // stopped, cannot cancel it: only the guard can.
    send_signal(pid, libc::SIGSTOP);
    let run = format!(":{pid}.");
    for srun in crate::util::processes_with(&run) {
        let cmdline = crate::util::cmdline_of(srun);
        if cmdline
            .split(' ')
            .next()
            .is_some_and(|program| program.ends_with("srun"))
        {
            send_signal(srun, libc::SIGKILL);
        }
    }
    send_signal(pid, libc::SIGKILL);
    child.wait().unwrap();
    let left = wait_squeue_empty(pid);
    let ids = left.iter().filter_map(|line| line.split(' ').next());
    Command::new("scancel").arg(&hold).args(ids).status().unwrap();
    assert!(waiting, "the jobs wait in the queue");
    assert_eq!(left, Vec::<String>::new());
}

#[test]
fn resume_skips_the_tasks_the_job_log_holds() {
    let Some(_cluster) = cluster() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log = log.to_str().unwrap();
    let first = run(&[
        "imap",
        "--slurm",
        "-j",
        "2",
        "--joblog",
        log,
        "sh",
        "-c",
        "echo $0; [ $0 != b ]",
        ":::",
        "a",
        "b",
        "c",
    ]);
    assert_eq!(first.status.code(), Some(1));
    assert_eq!(stdout_of(&first), "a\nb\nc\n");
    let again = run(&[
        "imap",
        "--slurm",
        "-j",
        "2",
        "--joblog",
        log,
        "--resume-failed",
        "sh",
        "-c",
        "echo again $0",
        ":::",
        "a",
        "b",
        "c",
    ]);
    assert!(again.status.success(), "{}", stderr_of(&again));
    assert_eq!(stdout_of(&again), "again b\n");
    let done = run(&[
        "imap",
        "--slurm",
        "--joblog",
        log,
        "--resume",
        "sh",
        "-c",
        "echo never $0",
        ":::",
        "a",
        "b",
        "c",
    ]);
    assert!(done.status.success());
    assert_eq!(stdout_of(&done), "");
}

#[test]
fn builtins_and_workers_run_as_long_lived_jobs() {
    let Some(_cluster) = cluster() else { return };
    let local = run(&["map", "-j", "2", "--builtin", "echo", ":::", "a", "b", "c"]);
    let slurm = run(&["map", "--slurm", "-j", "2", "--builtin", "echo", ":::", "a", "b", "c"]);
    assert!(slurm.status.success(), "{}", stderr_of(&slurm));
    assert_eq!(stdout_of(&slurm), stdout_of(&local));
    let out = run(&[
        "imap",
        "--slurm",
        "-j",
        "2",
        "--worker",
        "while read l; do echo \"$l $SLURM_JOB_NAME\"; done",
        ":::",
        "a",
        "b",
        "c",
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let lines: Vec<String> = stdout_of(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    for (line, input) in lines.iter().zip(["a", "b", "c"]) {
        assert!(line.starts_with(&format!("{input} ppool:worker:")), "{line}");
    }
}

#[test]
fn slurm_is_refused_with_apply_and_with_ssh() {
    let out = run(&["apply", "--slurm", "true"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr_of(&out).contains("--slurm"), "{}", stderr_of(&out));
    let out = run(&["map", "--slurm", "-S", "host", "true", ":::", "a"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr_of(&out).contains("--slurm and --ssh"), "{}", stderr_of(&out));
    let out = run(&["map", "--slurm-args", "-p x", "true", ":::", "a"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(stderr_of(&out).contains("--slurm"), "{}", stderr_of(&out));
}
