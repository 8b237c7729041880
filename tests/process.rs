//! How ppool starts its long-lived children: `--worker` coprocesses and
//! builtin workers start as tasks do, in a process group of their own.

use crate::util::ppool;

/// A worker serves many tasks: it gets its slot, never a task number, not
/// even one ppool itself inherited (ppool run inside a ppool task).
#[test]
fn a_worker_gets_its_slot_and_no_task_number() {
    let script = "while IFS= read -r l; do echo \"$l ${PPOOL_SEQ-none} $PPOOL_SLOT\"; done";
    let out = ppool()
        .env("PPOOL_SEQ", "99")
        .args(["imap", "-j1", "--worker", script, ":::", "a", "b"])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a none 1\nb none 1\n");
}

/// The worker leads a group of its own and has SIGPIPE at its default, as
/// every task does.
#[test]
fn a_worker_has_its_own_group_and_the_default_sigpipe() {
    let script = "while IFS= read -r l; do \
                  [ \"$(ps -o pgid= -p $$ | tr -d ' ')\" = $$ ] && g=own || g=shared; \
                  ign=$(awk '/^SigIgn/{print $2}' /proc/$$/status); \
                  [ $((0x$ign & 0x1000)) = 0 ] && p=default || p=ignored; echo \"$l $g $p\"; done";
    let out = ppool()
        .args(["imap", "-j1", "--worker", script, ":::", "a"])
        .output()
        .expect("ppool runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a own default\n");
}

/// SIGINT and SIGHUP that were ignored when ppool started (a script's
/// `ppool … &`, `nohup`) stay ignored, as in other programs; SIGTERM still
/// stops the run.
#[test]
fn signals_ignored_at_start_stay_ignored() {
    let bin = crate::util::bin();
    let child = std::process::Command::new("sh")
        .args([
            "-c",
            "trap '' INT HUP; exec \"$0\" imap sh -c 'sleep 0.8; echo {}' ::: a b",
        ])
        .arg(&bin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Give ppool time to start its tasks (exec keeps the pid: it is ppool).
    std::thread::sleep(std::time::Duration::from_millis(300));
    crate::util::send_signal(child.id(), libc::SIGINT);
    crate::util::send_signal(child.id(), libc::SIGHUP);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nb\n");
}
