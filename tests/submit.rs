//! `submit`, `get` and `wait`: named pools whose servers live between
//! commands, each test with a socket directory of its own.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::util::{bin, marker, stderr_of, stdout_of, wait_for_file, wait_gone};

/// A temporary `XDG_RUNTIME_DIR` and working directory; the pools started
/// there are ended when the test ends, whatever happened.
struct Pools {
    dir: tempfile::TempDir,
    names: Vec<String>,
}

impl Pools {
    fn new() -> Pools {
        Pools {
            dir: tempfile::tempdir().expect("a temporary directory"),
            names: vec!["default".into()],
        }
    }

    fn runtime(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    fn work(&self) -> PathBuf {
        let work = self.dir.path().join("work");
        std::fs::create_dir_all(&work).expect("a work directory");
        work
    }

    fn command(&self) -> std::process::Command {
        std::fs::create_dir_all(self.runtime()).expect("a runtime directory");
        let mut command = std::process::Command::new(bin());
        command
            .env("XDG_RUNTIME_DIR", self.runtime())
            .current_dir(self.work())
            .stdin(std::process::Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("running ppool")
    }

    /// `sh -c SCRIPT` with `ppool` on PATH and the pools' directory set.
    fn shell(&self, script: &str) -> Output {
        let bin = bin();
        let path = format!(
            "{}:{}",
            bin.parent().expect("the binary's directory").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        std::process::Command::new("sh")
            .args(["-c", script])
            .env("PATH", path)
            .env("XDG_RUNTIME_DIR", self.runtime())
            .current_dir(self.work())
            .output()
            .expect("running sh")
    }

    fn submit(&self, args: &[&str]) -> String {
        let mut all = vec!["submit", "--idle", "2m"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(out.status.success(), "submit failed: {}", stderr_of(&out));
        let id = stdout_of(&out).trim().to_owned();
        assert!(id.parse::<u64>().is_ok(), "not an id: {id:?}");
        id
    }
}

impl Drop for Pools {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = self.run(&["wait", "--pool", name]);
        }
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("an exit status")
}

#[test]
fn submit_prints_ids_at_once_and_wait_prints_the_results_in_submission_order() {
    let pools = Pools::new();
    // Only the directories with a Makefile get a task, as in a CI loop.
    for dir in ["a", "b", "c"] {
        std::fs::create_dir_all(pools.work().join(dir)).unwrap();
    }
    std::fs::write(pools.work().join("a/Makefile"), "").unwrap();
    std::fs::write(pools.work().join("c/Makefile"), "").unwrap();
    let out = pools.shell(
        "for d in a b c; do [ -f $d/Makefile ] && ppool submit --idle 2m -j2 sh -c \"[ $d = c ] || sleep 0.3; echo built $d\"; done; ppool wait",
    );
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "1\n2\nbuilt a\nbuilt c\n");
    assert_eq!(stderr_of(&out), "");
}

#[test]
fn submitted_tasks_count_their_slots_from_one() {
    let pools = Pools::new();
    // Two at once take both slots of -j2: PPOOL_SLOT is 1 and 2.
    for _ in 0..2 {
        pools.submit(&["-j2", "sh", "-c", "sleep 0.5; echo $PPOOL_SLOT"]);
    }
    let out = pools.run(&["wait"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    let mut slots: Vec<String> = stdout_of(&out).lines().map(str::to_owned).collect();
    slots.sort();
    assert_eq!(slots, ["1", "2"]);
}

#[test]
fn get_blocks_for_its_task_prints_it_whole_and_exits_with_its_status() {
    let pools = Pools::new();
    let first = pools.submit(&[
        "-s",
        "while [ ! -f go ]; do sleep 0.05; done; echo first; echo oops >&2; exit 3",
    ]);
    let second = pools.submit(&["echo", "second"]);
    // Out of order: the later task first, while the earlier one still runs.
    let out = pools.run(&["get", &second]);
    assert_eq!((code(&out), stdout_of(&out).as_str()), (0, "second\n"));
    let out = pools.run(&["get", "--timeout", "200ms", &first]);
    assert_eq!(code(&out), 124, "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("task 1 of pool 'default' has not ended"),
        "{}",
        stderr_of(&out)
    );
    std::fs::write(pools.work().join("go"), "").unwrap();
    let out = pools.run(&["get", &first]);
    assert_eq!(code(&out), 3);
    assert_eq!(stdout_of(&out), "first\n");
    assert_eq!(stderr_of(&out), "oops\n");
    // A result can be fetched again until the pool ends.
    let out = pools.run(&["get", "--output", "json", &first]);
    assert_eq!(code(&out), 3);
    let json: serde_json::Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["stdout"], "first\n");
}

#[test]
fn get_of_a_task_the_pool_never_had_says_so() {
    let pools = Pools::new();
    pools.submit(&["true"]);
    let out = pools.run(&["get", "7"]);
    assert_eq!(code(&out), 255);
    assert!(
        stderr_of(&out).contains("ppool: the pool has no task 7"),
        "{}",
        stderr_of(&out)
    );
    let out = pools.run(&["get", "--pool", "other", "1"]);
    assert_eq!(code(&out), 255);
    assert!(
        stderr_of(&out).contains("no pool named 'other' is running"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn wait_prints_what_get_did_not_and_reports_every_failure() {
    let pools = Pools::new();
    let failed_fetched = pools.submit(&["sh", "-c", "echo fetched; exit 4"]);
    pools.submit(&["echo", "fine"]);
    pools.submit(&["sh", "-c", "echo unfetched; exit 5"]);
    let out = pools.run(&["get", &failed_fetched]);
    assert_eq!((code(&out), stdout_of(&out).as_str()), (4, "fetched\n"));
    let out = pools.run(&["wait"]);
    assert_eq!(code(&out), 2, "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "fine\nunfetched\n");
    assert_eq!(
        stderr_of(&out),
        "ppool: 2 of 3 tasks failed:\n\
         ppool:   task 1 (sh -c echo fetched; exit 4): failed, exit code 4\n\
         ppool:   task 3 (sh -c echo unfetched; exit 5): failed, exit code 5\n"
    );
}

#[test]
fn two_pools_side_by_side_keep_their_own_tasks() {
    let mut pools = Pools::new();
    pools.names.extend(["left".into(), "right".into()]);
    assert_eq!(pools.submit(&["--pool", "left", "echo", "L1"]), "1");
    assert_eq!(pools.submit(&["--pool", "right", "echo", "R1"]), "1");
    assert_eq!(pools.submit(&["--pool", "left", "echo", "L2"]), "2");
    let out = pools.run(&["wait", "--pool", "right"]);
    assert_eq!((code(&out), stdout_of(&out).as_str()), (0, "R1\n"));
    let out = pools.run(&["wait", "--pool", "left"]);
    assert_eq!((code(&out), stdout_of(&out).as_str()), (0, "L1\nL2\n"));
}

#[test]
fn a_socket_directory_of_another_user_is_refused() {
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can give a directory to another user");
        return;
    }
    let pools = Pools::new();
    let dir = pools.runtime().join("ppool");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(54321), Some(54321)).unwrap();
    let out = pools.run(&["submit", "true"]);
    assert_eq!(code(&out), 255);
    assert!(stderr_of(&out).contains("belongs to uid 54321"), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "");
}

#[test]
fn a_socket_directory_open_to_others_is_refused() {
    let pools = Pools::new();
    let dir = pools.runtime().join("ppool");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let out = pools.run(&["submit", "true"]);
    assert_eq!(code(&out), 255);
    assert!(stderr_of(&out).contains("chmod 700"), "{}", stderr_of(&out));
}

#[test]
fn submits_from_eight_shells_at_once_get_unique_ids_and_none_is_lost() {
    let pools = Pools::new();
    let out = pools.shell(
        "for s in 1 2 3 4 5 6 7 8; do \
           ( for t in 1 2 3 4 5; do ppool submit --idle 2m -j4 echo task-$s-$t || echo lost; done > ids.$s ) & \
         done; wait; cat ids.*",
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut ids: Vec<u64> = stdout_of(&out)
        .lines()
        .map(|l| l.parse().unwrap_or_else(|_| panic!("not an id: {l:?}")))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=40).collect::<Vec<u64>>());
    let out = pools.run(&["wait"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    let mut lines: Vec<String> = stdout_of(&out).lines().map(str::to_owned).collect();
    lines.sort();
    let mut expected: Vec<String> = (1..=8)
        .flat_map(|s| (1..=5).map(move |t| format!("task-{s}-{t}")))
        .collect();
    expected.sort();
    assert_eq!(lines, expected);
}

/// The pool server's processes for `pool`, by their command line.
fn servers(pool: &str) -> String {
    format!("__pool\0{pool}\0")
}

#[test]
fn no_server_is_left_after_wait() {
    let mut pools = Pools::new();
    let pool = marker("after-wait");
    pools.names.push(pool.clone());
    pools.submit(&["--pool", &pool, "true"]);
    assert!(
        !crate::util::processes_with(&servers(&pool)).is_empty(),
        "no server started"
    );
    let out = pools.run(&["wait", "--pool", &pool]);
    assert_eq!(code(&out), 0);
    assert_eq!(wait_gone(&servers(&pool), Duration::from_secs(20)), Vec::<u32>::new());
    assert!(!socket(&pools, &pool).exists());
}

fn socket(pools: &Pools, pool: &str) -> PathBuf {
    pools.runtime().join("ppool").join(format!("{pool}.sock"))
}

#[test]
fn an_idle_pool_ends_itself() {
    let mut pools = Pools::new();
    let pool = marker("idle");
    pools.names.push(pool.clone());
    let out = pools.run(&["submit", "--pool", &pool, "--idle", "1s", "sh", "-c", "exit 2"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = pools.run(&["submit", "--pool", &pool, "--idle", "1s", "true"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let out = pools.run(&["get", "--pool", &pool, "2"]);
    assert_eq!(code(&out), 0);
    assert!(wait_for_file(&socket(&pools, &pool), Duration::from_secs(5)) || !socket(&pools, &pool).exists());
    assert_eq!(wait_gone(&servers(&pool), Duration::from_secs(30)), Vec::<u32>::new());
    // The next command for the name says, once, what was never fetched.
    let out = pools.run(&["wait", "--pool", &pool]);
    assert_eq!(code(&out), 255);
    assert_eq!(
        stderr_of(&out).lines().next(),
        Some(
            format!(
                "ppool: warning: pool '{pool}' ended after 1s idle without a `wait`; nobody fetched the results of task 1 (1 failed)"
            )
            .as_str()
        ),
        "{}",
        stderr_of(&out)
    );
    assert!(stderr_of(&out).contains("is running"), "{}", stderr_of(&out));
    let out = pools.run(&["wait", "--pool", &pool]);
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
}

#[test]
fn wait_cancel_stops_what_runs_and_reports_it() {
    let pools = Pools::new();
    pools.submit(&["echo", "quick"]);
    pools.submit(&["sleep", "300"]);
    let quick = pools.run(&["get", "1"]);
    assert_eq!(code(&quick), 0);
    let out = pools.run(&["wait", "--cancel"]);
    assert_eq!(code(&out), 1, "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("task 2 (sleep 300): failed, killed by signal 15"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn a_task_runs_in_the_directory_of_its_pool_and_other_directories_are_told_so() {
    let pools = Pools::new();
    std::fs::write(pools.work().join("here"), "").unwrap();
    pools.submit(&["ls", "here"]);
    let elsewhere = pools.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = pools
        .command()
        .current_dir(&elsewhere)
        .args(["submit", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 255);
    assert!(stderr_of(&out).contains("runs its tasks in"), "{}", stderr_of(&out));
    let out = pools.run(&["wait"]);
    assert_eq!((code(&out), stdout_of(&out).as_str()), (0, "here\n"));
}

#[test]
fn status_lists_tasks_pools_lists_pools_and_cancel_stops_them() {
    let mut pools = Pools::new();
    pools.names.push("side".into());
    let long = pools.submit(&["-j1", "sleep", "300"]);
    let queued = pools.submit(&["echo", "never"]);
    pools.submit(&["--pool", "side", "true"]);
    // Polled: the first task starts when the server gets to it.
    let mut table = String::new();
    for _ in 0..400 {
        table = stdout_of(&pools.run(&["status"]));
        if table.contains("\trunning\t") {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "ID\tSTATE\tTIME\tEXIT\tCOMMAND");
    assert!(
        lines[1].starts_with("1\trunning\t") && lines[1].ends_with("\t-\tsleep 300"),
        "{table}"
    );
    assert_eq!(lines[2], "2\tqueued\t-\t-\techo never");
    let listed = stdout_of(&pools.run(&["pools"]));
    assert!(listed.contains("default\t2 tasks\t1 running\t1 queued"), "{listed}");
    assert!(listed.contains("side\t1 tasks"), "{listed}");
    let out = pools.run(&["cancel", &queued]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    // It never ran: no time, no exit status of its own.
    let table = stdout_of(&pools.run(&["status"]));
    assert_eq!(table.lines().nth(2), Some("2\tcancelled\t-\t-\techo never"), "{table}");
    let out = pools.run(&["cancel", "--all"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    let out = pools.run(&["get", &long]);
    assert_eq!(code(&out), 143, "{}", stderr_of(&out));
    let out = pools.run(&["wait"]);
    assert_eq!(code(&out), 2);
    assert_eq!(stdout_of(&out), "");
    assert!(
        stderr_of(&out).contains("task 2 (echo never): failed, killed by signal 15"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn a_task_fail_fast_kept_from_starting_is_listed_as_not_started() {
    let pools = Pools::new();
    pools.submit(&["--fail-fast", "-j1", "sh", "-c", "sleep 0.2; exit 1"]);
    pools.submit(&["echo", "never"]);
    let mut table = String::new();
    for _ in 0..400 {
        table = stdout_of(&pools.run(&["status"]));
        if table.contains("\tnot-started\t") {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(
        table.lines().nth(2),
        Some("2\tnot-started\t-\t-\techo never"),
        "{table}"
    );
    assert!(
        table.lines().nth(1).is_some_and(|l| l.starts_with("1\tfailed\t")),
        "{table}"
    );
}

#[test]
fn fail_fast_stops_the_pool_at_the_first_failure_and_wait_exits_with_its_code() {
    let pools = Pools::new();
    pools.submit(&[
        "--fail-fast",
        "-j2",
        "sh",
        "-c",
        "while [ ! -f go ]; do sleep 0.02; done; echo before; exit 7",
    ]);
    let blocked = pools.submit(&["sh", "-c", "echo blocked; sleep 300"]);
    std::fs::write(pools.work().join("go"), "").unwrap();
    // Once the first task failed, the pool takes no more.
    let mut refused = None;
    for _ in 0..400 {
        let out = pools.run(&["submit", "true"]);
        if !out.status.success() {
            refused = Some(out);
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let refused = refused.expect("the pool kept taking tasks after --fail-fast");
    assert_eq!(code(&refused), 255);
    assert!(
        stderr_of(&refused).contains("stopped after task 1 failed (--fail-fast)"),
        "{}",
        stderr_of(&refused)
    );
    let out = pools.run(&["get", &blocked]);
    assert_eq!(code(&out), 143, "the running task is stopped: {}", stderr_of(&out));
    let out = pools.run(&["wait"]);
    assert_eq!(code(&out), 7, "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "before\n");
    assert!(stderr_of(&out).contains("ppool: stopped after task 1 failed (--fail-fast)"));
}

#[test]
fn a_killed_server_leaves_no_task_and_the_next_command_says_what_was_lost() {
    let mut pools = Pools::new();
    let pool = marker("killed");
    pools.names.push(pool.clone());
    let task = marker("killed-task");
    pools.submit(&["--pool", &pool, "sh", "-c", &format!("sleep 300; echo {task}")]);
    pools.submit(&["--pool", &pool, "sh", "-c", &format!("sleep 301; echo {task}")]);
    let mut running = Vec::new();
    for _ in 0..400 {
        running = crate::util::processes_with(&task);
        if running.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(running.len(), 2, "both tasks run");
    // The server, not its guard (a fork with the same command line).
    let server = crate::util::processes_with(&servers(&pool))
        .into_iter()
        .find(|&pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "ppool"))
        .expect("the pool's server");
    // A client waiting at that moment is told too.
    let waiting = pools
        .command()
        .args(["get", "--pool", &pool, "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    crate::util::send_signal(server, libc::SIGKILL);
    let waited = waiting.wait_with_output().unwrap();
    assert_eq!(code(&waited), 255);
    assert_eq!(wait_gone(&task, Duration::from_secs(30)), Vec::<u32>::new());
    let out = waited;
    assert_eq!(code(&out), 255);
    assert!(
        stderr_of(&out).contains(&format!("pool '{pool}' was lost")) && stderr_of(&out).contains("tasks 1 to 2"),
        "{}",
        stderr_of(&out)
    );
    // Said once; the name is free for a new pool.
    assert_eq!(pools.submit(&["--pool", &pool, "true"]), "1");
}

#[test]
fn a_client_of_another_uid_is_refused() {
    let python = Path::new("/usr/bin/python3");
    // SAFETY: geteuid cannot fail and touches no memory.
    if unsafe { libc::geteuid() } != 0 || !python.exists() || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root, setpriv and /usr/bin/python3 to connect as another uid");
        return;
    }
    let pools = Pools::new();
    pools.submit(&["true"]);
    let dir = pools.runtime().join("ppool");
    // Open the way to the socket, so that only the server's check stands.
    for path in [pools.dir.path(), &pools.runtime(), &dir] {
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o711)).unwrap();
    }
    let socket = dir.join("default.sock");
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let script = "import socket,sys\n\
                  s=socket.socket(socket.AF_UNIX)\n\
                  s.connect(sys.argv[1])\n\
                  s.settimeout(60)\n\
                  try: s.sendall(b'\"Status\"\\n')\n\
                  except OSError: pass\n\
                  print(s.makefile().readline())";
    let out = std::process::Command::new("/usr/bin/setpriv")
        .args(["--reuid=54321", "--regid=54321", "--clear-groups"])
        .arg(python)
        .args(["-c", script])
        .arg(&socket)
        .output()
        .unwrap();
    // Closed again, so that the pool can be ended.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains("refused"), "{}", stdout_of(&out));
    assert!(!stdout_of(&out).contains("\"Status\""), "{}", stdout_of(&out));
}

#[test]
fn callbacks_run_with_placeholders_and_a_failed_one_is_reported() {
    let pools = Pools::new();
    let ok = pools.submit(&["--on-done", "echo done {id} {status} {exit} {}", "echo", "hi"]);
    let bad = pools.submit(&[
        "--on-done",
        "echo not-this",
        "--on-error",
        "sh -c 'echo error {id} {status} {exit}; exit 9'",
        "sh",
        "-c",
        "exit 3",
    ]);
    let out = pools.run(&["get", &ok]);
    assert_eq!((code(&out), stdout_of(&out).as_str()), (0, "hi\ndone 1 ok 0 echo hi\n"));
    let out = pools.run(&["get", &bad]);
    assert_eq!(code(&out), 3, "the task's own status, not its callback's");
    assert_eq!(stdout_of(&out), "error 2 failed 3\n");
    assert_eq!(
        stderr_of(&out),
        "ppool: the --on-error callback of task 2 failed: exit code 9\n"
    );
    let out = pools.run(&["wait"]);
    assert_eq!(
        code(&out),
        2,
        "the failed task and its failed callback: {}",
        stderr_of(&out)
    );
    assert_eq!(
        stderr_of(&out),
        "ppool: 1 of 2 tasks failed:\n\
         ppool:   task 2 (sh -c exit 3): failed, exit code 3\n\
         ppool: the --on-error callback of task 2 failed: exit code 9\n"
    );
}

#[test]
fn a_get_killed_while_waiting_leaves_the_result_for_wait() {
    let pools = Pools::new();
    let id = pools.submit(&["-s", "while [ ! -f go ]; do sleep 0.02; done; echo kept"]);
    let mut get = pools.command().args(["get", &id]).spawn().expect("starting get");
    // Waiting for the task, not for an answer it already had.
    std::thread::sleep(Duration::from_millis(200));
    get.kill().expect("killing get");
    get.wait().expect("reaping get");
    std::fs::write(pools.work().join("go"), "").unwrap();
    let out = pools.run(&["wait"]);
    assert_eq!(
        (code(&out), stdout_of(&out).as_str()),
        (0, "kept\n"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn j_given_to_a_running_pool_resizes_it_for_what_starts_next() {
    let pools = Pools::new();
    let blocked = "while [ ! -f go ]; do sleep 0.02; done";
    pools.submit(&["-j1", "-s", blocked]);
    pools.submit(&["-s", blocked]);
    let running = |pools: &Pools| {
        stdout_of(&pools.run(&["status"]))
            .lines()
            .filter(|line| line.contains("\trunning\t"))
            .count()
    };
    let mut seen = 0;
    for _ in 0..100 {
        seen = running(&pools);
        if seen == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(seen, 1, "-j1: one task at a time");
    pools.submit(&["-j3", "true"]);
    for _ in 0..400 {
        seen = running(&pools);
        if seen == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(seen, 2, "-j3: the queued task starts beside the first");
    std::fs::write(pools.work().join("go"), "").unwrap();
    let out = pools.run(&["wait"]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
}

#[test]
fn output_over_the_capture_limit_is_kept_whole() {
    let pools = Pools::new();
    let id = pools.submit(&["-s", "head -c 3000000 /dev/zero | tr '\\0' a; echo; echo tail >&2"]);
    let out = pools.run(&["get", &id]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    assert_eq!(out.stdout.len(), 3_000_001);
    assert!(out.stdout[..3_000_000].iter().all(|&b| b == b'a'));
    assert_eq!(stderr_of(&out), "tail\n");
    let again = pools.run(&["get", &id]);
    assert_eq!(again.stdout, out.stdout, "read back again, whole");
}

/// The server of `pool`, not its guard (a fork with the same command line).
fn server_of(pool: &str) -> u32 {
    crate::util::processes_with(&servers(pool))
        .into_iter()
        .find(|&pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "ppool"))
        .expect("the pool's server")
}

/// What the files open in process `pid` are.
fn open_files(pid: u32) -> Vec<PathBuf> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok()).collect())
        .unwrap_or_default()
}

/// The entries of the pool directory other than the pools' lock files.
fn leftovers(pools: &Pools) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(pools.runtime().join("ppool"))
        .expect("the pool directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| !name.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

#[test]
fn output_over_the_capture_limit_spills_into_the_pool_directory_and_nothing_is_left() {
    let mut pools = Pools::new();
    let pool = marker("spill");
    pools.names.push(pool.clone());
    let id = pools.submit(&["--pool", &pool, "-s", "head -c 3000000 /dev/zero"]);
    let out = pools.run(&["get", "--pool", &pool, &id]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    assert_eq!(out.stdout.len(), 3_000_000);
    let dir = pools.runtime().join("ppool");
    let spilled: Vec<PathBuf> = open_files(server_of(&pool))
        .into_iter()
        .filter(|file| file.to_string_lossy().ends_with(" (deleted)"))
        .collect();
    assert!(
        spilled.iter().any(|file| file.starts_with(&dir)),
        "no spill file in {}: {spilled:?}",
        dir.display()
    );
    let out = pools.run(&["wait", "--pool", &pool]);
    assert_eq!(code(&out), 0, "{}", stderr_of(&out));
    assert_eq!(wait_gone(&servers(&pool), Duration::from_secs(20)), Vec::<u32>::new());
    assert_eq!(leftovers(&pools), Vec::<String>::new());
    // Killed outright, the server leaves nothing either.
    pools.submit(&["--pool", &pool, "-s", "head -c 3000000 /dev/zero"]);
    let out = pools.run(&["get", "--pool", &pool, "1"]);
    assert_eq!(out.stdout.len(), 3_000_000);
    crate::util::send_signal(server_of(&pool), libc::SIGKILL);
    assert_eq!(wait_gone(&servers(&pool), Duration::from_secs(20)), Vec::<u32>::new());
    let out = pools.run(&["wait", "--pool", &pool]);
    assert_eq!(code(&out), 255);
    assert_eq!(leftovers(&pools), Vec::<String>::new());
}

#[test]
fn a_server_killed_during_wait_reads_as_lost() {
    let mut pools = Pools::new();
    let pool = marker("killed-wait");
    pools.names.push(pool.clone());
    let task = marker("killed-wait-task");
    pools.submit(&["--pool", &pool, "true"]);
    pools.submit(&["--pool", &pool, "sh", "-c", &format!("sleep 300; echo {task}")]);
    let server = server_of(&pool);
    let waiting = pools
        .command()
        .args(["wait", "--pool", &pool])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `wait` has begun once the name is free for a new pool.
    let socket = socket(&pools, &pool);
    for _ in 0..800 {
        if !socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(!socket.exists(), "wait did not begin");
    crate::util::send_signal(server, libc::SIGKILL);
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(code(&out), 255, "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains(&format!("pool '{pool}' was lost")) && stderr_of(&out).contains("tasks 1 to 2"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(wait_gone(&task, Duration::from_secs(30)), Vec::<u32>::new());
    assert_eq!(
        leftovers(&pools),
        Vec::<String>::new(),
        "the journal is cleared once told"
    );
    assert_eq!(pools.submit(&["--pool", &pool, "true"]), "1");
}
