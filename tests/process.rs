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
