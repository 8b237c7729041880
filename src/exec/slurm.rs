//! `--slurm`: each task through Slurm's own `srun`, as a job step inside an
//! allocation (an `sbatch` script, `salloc`) or as a job of its own outside
//! one. srun blocks until its task ends and passes on its output, exit code
//! and signal, so the task goes through the one spawn path like a local
//! one: output capture, timeouts and cancellation are those of
//! [`process::run`].
//!
//! Where a step ran and its id come from srun itself: each srun is given a
//! `--prolog`, a small script that srun runs on this machine once the step
//! exists, with the step's `SLURM_JOB_ID`, `SLURM_STEP_ID` and node list in
//! its environment; it writes them to a file of the task's slot. Nothing is
//! added to the task's output, and no file has to be shared with the nodes.
//!
//! Stopping. A timeout, a stop or a closed stdout sends SIGTERM to the
//! task's process group: there a [`Stopper`] has Slurm send SIGTERM to the
//! step; after the grace, SIGKILL ends the stopper and the step is
//! cancelled with `scancel` by its id. Every job and step is named `ppool:<seq>:<run>`, so the guard of a ppool
//! killed outright finds this run's in `squeue` and cancels them
//! ([`crate::squeue::cancel_run`]).
//!
//! srun adds lines of its own to stderr: the task's end (`srun: error:
//! NODE: task 0: Exited with exit code 3`), which is taken out since the
//! outcome says it; and Slurm's reasons when Slurm ended the step (a
//! cancellation, a node failure, a time limit), which stay and make the
//! outcome a `slurm` failure.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use super::command::CommandExecutor;
use super::process::{self, Spawn};
use super::Executor;
use crate::cancel::Cancel;
use crate::capture::{Captured, SPILL_LIMIT};
use crate::input::Record;
use crate::squeue::{side_dir, uid};
use crate::task::{Outcome, Status};
use crate::template::quote;

/// `--slurm` as the configuration found it: srun, its extra words, and the
/// allocation ppool runs in, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// srun, looked up in PATH.
    pub srun: PathBuf,
    /// `--slurm-args`, split into words.
    pub args: Vec<OsString>,
    /// `--cpus-per-task`: srun's `-c`.
    pub cpus_per_task: u32,
    /// Inside an allocation: its job id (`SLURM_JOB_ID`); tasks are its steps.
    pub allocation: Option<String>,
}

/// The slots an allocation holds: its tasks (`SLURM_NTASKS`), and no more
/// than its CPUs (`SLURM_JOB_CPUS_PER_NODE`) hold steps of `cpus_per_task`.
pub fn allocation_slots(ntasks: Option<&str>, cpus_per_node: Option<&str>, cpus_per_task: u32) -> Option<usize> {
    let tasks = ntasks.and_then(|t| t.trim().parse::<usize>().ok()).filter(|&n| n > 0);
    let cpus = cpus_per_node
        .and_then(total_cpus)
        .map(|cpus| (cpus / cpus_per_task.max(1) as usize).max(1));
    match (tasks, cpus) {
        (Some(tasks), Some(cpus)) => Some(tasks.min(cpus)),
        (tasks, cpus) => tasks.or(cpus),
    }
}

/// `SLURM_JOB_CPUS_PER_NODE` (`2(x3),4`: three nodes of 2, one of 4): the
/// CPUs of all nodes together.
fn total_cpus(text: &str) -> Option<usize> {
    text.split(',')
        .map(|part| {
            let (cpus, nodes) = match part.split_once("(x") {
                Some((cpus, rest)) => (cpus, rest.strip_suffix(')')?.parse::<usize>().ok()?),
                None => (part, 1),
            };
            cpus.trim().parse::<usize>().ok()?.checked_mul(nodes)
        })
        .sum()
}

/// Where a task's step ran, as srun's prolog wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    job: String,
    step: String,
    node: String,
}

impl Step {
    fn parse(text: &str) -> Option<Step> {
        let mut words = text.split_whitespace();
        let (job, step) = (words.next()?, words.next()?);
        Some(Step {
            job: job.to_owned(),
            step: step.to_owned(),
            node: words.next().unwrap_or_default().to_owned(),
        })
    }

    /// `JOB.STEP`, as squeue and scancel name a step.
    fn id(&self) -> String {
        format!("{}.{}", self.job, self.step)
    }
}

/// What srun's end says about the task.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The task ran and ended so.
    Task {
        exit_code: Option<i32>,
        signal: Option<i32>,
    },
    /// Slurm ended the step, or could not start it: its reason.
    Slurm(String),
}

/// srun's end judged from its status and its own lines on stderr; and
/// stderr without the lines that only repeat the outcome.
#[derive(Debug, PartialEq, Eq)]
struct Judged {
    verdict: Verdict,
    stderr: Option<Vec<u8>>,
}

/// Whether a line is srun's or slurmstepd's own.
fn is_slurms(line: &[u8]) -> bool {
    line.starts_with(b"srun: ") || line.starts_with(b"slurmstepd")
}

/// `srun: error: NODE: task 0: WHAT`: WHAT.
fn task_end(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"srun: error: ")?;
    let at = rest.windows(9).position(|w| w == b": task 0:")?;
    Some(rest[at + 9..].trim_ascii())
}

/// A line in which Slurm says it ended the step or job itself.
fn ended_by_slurm(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    (text.contains("*** STEP ") || text.contains("*** JOB ")) && text.contains("CANCELLED")
        || text.contains("Node failure")
        || text.contains("NODE_FAIL")
        || text.contains("PREEMPT")
        || text.contains("Job step aborted")
}

/// Judges how srun ended. `started`: its step was launched (the prolog
/// ran); `stopped`: ppool stopped it (a timeout, a stop of the run), so
/// Slurm's notes about the cancellation are ppool's doing and dropped.
fn judge(stderr: &[u8], exit_code: Option<i32>, signal: Option<i32>, started: bool, stopped: bool) -> Judged {
    let mut kept = Vec::with_capacity(stderr.len());
    let mut end: Option<Vec<u8>> = None;
    let mut slurm_reason: Option<String> = None;
    let mut srun_error: Option<String> = None;
    let mut dropped = false;
    for line in stderr.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        if !is_slurms(bare) {
            kept.extend_from_slice(line);
            continue;
        }
        if let Some(what) = task_end(bare) {
            end = Some(what.to_vec());
            dropped = true;
            continue;
        }
        if stopped {
            dropped = true;
            continue;
        }
        let text = String::from_utf8_lossy(bare).trim().to_owned();
        if ended_by_slurm(bare) {
            slurm_reason.get_or_insert(text);
        } else if bare.starts_with(b"srun: error: ") {
            srun_error = Some(text);
        }
        kept.extend_from_slice(line);
    }
    let cleaned = dropped.then_some(kept);
    let task = |exit_code, signal| Judged {
        verdict: Verdict::Task { exit_code, signal },
        stderr: cleaned.clone(),
    };
    let slurm = |reason: String| Judged {
        verdict: Verdict::Slurm(reason),
        stderr: cleaned.clone(),
    };
    if signal.is_some() {
        // srun itself was killed: it could not say how the task ended.
        return task(exit_code, signal);
    }
    if let Some(reason) = slurm_reason {
        return slurm(reason);
    }
    if !started && !stopped && exit_code != Some(0) {
        // Nothing of the task's ran, so all of stderr is srun's (an option
        // it does not know is not an `error:` line).
        let first = || {
            let text = String::from_utf8_lossy(stderr);
            text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned)
        };
        let reason = srun_error.or_else(first).unwrap_or_else(|| {
            format!(
                "srun exited with status {} before the step started",
                exit_code.map_or("?".into(), |c| c.to_string())
            )
        });
        return slurm(reason);
    }
    match (end, exit_code) {
        (Some(what), Some(code)) => match what.strip_prefix(b"Exited with exit code ") {
            Some(n) => task(
                std::str::from_utf8(n)
                    .ok()
                    .and_then(|n| n.trim().parse().ok())
                    .or(Some(code)),
                None,
            ),
            // srun returns 128 + the signal that ended the task.
            None if code > 128 => task(None, Some(code - 128)),
            None => task(Some(code), None),
        },
        (None, Some(0)) => task(Some(0), None),
        (None, code) => match srun_error {
            Some(reason) => slurm(reason),
            None => task(code, None),
        },
        (Some(_), None) => task(None, None),
    }
}

/// Whether srun's reason for not starting a task will hold for every task
/// (a partition, account or limit that does not exist or cannot be met),
/// so the run stops with one error instead of failing each task.
fn cannot_start(reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    [
        "unable to allocate resources",
        "invalid",
        "unable to create step",
        "not available",
        "unrecognized option",
        "requires an argument",
    ]
    .iter()
    .any(|said| reason.contains(said))
}

/// The script srun runs as `--prolog`: writes the step's ids and node to the
/// task's slot file. A step on a node list of several nodes (the job's) asks
/// squeue for the step's own node.
fn prolog_script(dir: &Path) -> Vec<u8> {
    let mut script = b"#!/bin/sh\nf=".to_vec();
    script.extend_from_slice(&quote(dir.as_os_str().as_bytes()));
    script.extend_from_slice(
        b"/slot-$PPOOL_SLOT\n\
          node=${SLURM_STEP_NODELIST:-$SLURM_NODELIST}\n\
          case $node in\n\
          *[,[]*) node=$(squeue -h -s -j \"$SLURM_JOB_ID.$SLURM_STEP_ID\" -o %N 2>/dev/null || echo \"$node\") ;;\n\
          esac\n\
          printf '%s %s %s\\n' \"$SLURM_JOB_ID\" \"$SLURM_STEP_ID\" \"$node\" >\"$f.new\" && mv -f \"$f.new\" \"$f\"\n\
          exit 0\n",
    );
    script
}

/// Runs each task through srun and judges its end.
pub struct SlurmExecutor<'a> {
    /// Renders the command line and finds the program.
    local: &'a CommandExecutor,
    cluster: Cluster,
    timeout: Option<Duration>,
    grace: Duration,
    /// The run's part of every job and step name.
    run: String,
    /// Holds the prolog and the slots' step files.
    dir: SideDir,
    prolog: PathBuf,
    /// A step of this run has started: the allocation works, so a task that
    /// srun cannot start is that task's failure, not the run's.
    started: AtomicBool,
    /// How a stop reaches the task as SIGTERM; `None` where `setsid` is missing.
    stopper: Option<Stopper>,
}

const SHELL: &str = "/bin/sh";

/// srun ends its step at once (SIGKILL) when it gets SIGTERM, so a task
/// stopped through it would have no `--grace`. The stopper, a small `sh`,
/// takes the task's place in its process group and runs srun in a session
/// of its own, out of reach of the group's signals. On SIGTERM it has Slurm
/// send SIGTERM to the step's tasks (`scancel --signal=TERM`), or, while
/// there is no step yet, passes SIGTERM to srun, which withdraws its job.
/// The SIGKILL after the grace kills the stopper alone: the executor then
/// cancels the step by its id, which ends srun.
struct Stopper {
    setsid: PathBuf,
    scancel: PathBuf,
}

impl Stopper {
    /// The stopper's script. `$1`: the slot's step file; `$2`: scancel;
    /// `$3`: setsid; then srun's words. stdin is kept for srun as fd 3: an
    /// asynchronous list without job control gets /dev/null.
    const SCRIPT: &'static str = "f=$1 scancel=$2 setsid=$3; shift 3\n\
        exec 3<&0 </dev/null\n\
        \"$setsid\" \"$@\" <&3 3<&- &\n\
        s=$!\n\
        exec 3<&-\n\
        trap 'if [ -s \"$f\" ]; then read -r j t n <\"$f\"; \"$scancel\" --quiet --signal=TERM \"$j.$t\"; else kill -TERM $s; fi' TERM\n\
        while :; do wait $s; r=$?; kill -0 $s 2>/dev/null || break; done\n\
        exit $r";

    /// `sh`'s arguments before srun's words.
    fn args(&self, step_file: &Path, srun: &Path) -> Vec<OsString> {
        vec![
            "-c".into(),
            Stopper::SCRIPT.into(),
            "sh".into(),
            step_file.as_os_str().to_owned(),
            self.scancel.as_os_str().to_owned(),
            self.setsid.as_os_str().to_owned(),
            srun.as_os_str().to_owned(),
        ]
    }
}

impl<'a> SlurmExecutor<'a> {
    /// `run` names this run's jobs and steps: the guard's run id, by which
    /// it finds them should ppool be killed.
    pub fn new(
        local: &'a CommandExecutor,
        cluster: &Cluster,
        run: String,
        timeout: Option<Duration>,
        grace: Duration,
    ) -> std::io::Result<SlurmExecutor<'a>> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let path = side_dir(&run);
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        let dir = SideDir(path);
        let prolog = dir.path().join("prolog");
        std::fs::write(&prolog, prolog_script(dir.path()))?;
        std::fs::set_permissions(&prolog, std::fs::Permissions::from_mode(0o700))?;
        // A directory mounted noexec would fail every srun: find out now.
        Command::new(&prolog)
            .env("PPOOL_SLOT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        Ok(SlurmExecutor {
            local,
            cluster: cluster.clone(),
            timeout,
            grace,
            run,
            dir,
            prolog,
            started: AtomicBool::new(false),
            stopper: crate::exec::command::resolve(std::ffi::OsStr::new("setsid"))
                .ok()
                .map(|setsid| Stopper {
                    setsid,
                    scancel: scancel_beside(&cluster.srun),
                }),
        })
    }

    /// srun's options before the program, with the prolog that records the step.
    fn srun_args(&self, name: &str) -> Vec<OsString> {
        let mut prolog = OsString::from("--prolog=");
        prolog.push(&self.prolog);
        let mut args = vec![prolog];
        args.extend(srun_options(&self.cluster, name));
        args
    }

    fn name(&self, seq: u64) -> String {
        format!("ppool:{seq}:{}", self.run)
    }

    /// srun died before it could cancel its step or job: cancel it by id,
    /// or, when srun was still waiting for its job, by name.
    fn cancel(&self, step: Option<&Step>, name: &str) {
        let mut scancel = Command::new(scancel_beside(&self.cluster.srun));
        scancel.arg("--quiet");
        match (step, &self.cluster.allocation) {
            (Some(step), Some(_)) => scancel.arg(step.id()),
            (Some(step), None) => scancel.arg(&step.job),
            (None, None) => scancel.args(["--user", &uid(), "--name", name]),
            (None, Some(_)) => return,
        };
        let _ = scancel
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// scancel beside srun, else from PATH.
fn scancel_beside(srun: &Path) -> PathBuf {
    let beside = srun.with_file_name("scancel");
    if beside.is_file() {
        beside
    } else {
        PathBuf::from("scancel")
    }
}

/// Removed with everything in it when dropped.
struct SideDir(PathBuf);

impl SideDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SideDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `--builtin` and `--worker` with `--slurm`: srun and its options, before
/// each worker's command, so that every worker is one long-lived step (or
/// job), named `ppool:worker:<run>`. Its stdin and stdout are the worker's
/// pipes, which srun passes through as they come.
pub fn worker_launcher(cluster: &Cluster, run: &str) -> Vec<OsString> {
    let mut words = vec![cluster.srun.clone().into_os_string()];
    words.extend(srun_options(cluster, &format!("ppool:worker:{run}")));
    words
}

/// Outside an allocation, whether Slurm would start a worker's job at all
/// (`srun --test-only`, which submits nothing): a partition, account or
/// limit that does not exist is then one error, before any worker fails.
/// Inside an allocation it works, as ppool runs in it.
pub fn check_workers(cluster: &Cluster) -> Result<(), String> {
    if cluster.allocation.is_some() {
        return Ok(());
    }
    let mut srun = Command::new(&cluster.srun);
    srun.arg("--test-only")
        .args(srun_options(cluster, "ppool:check"))
        .arg("true");
    let Ok(out) = srun.stdin(Stdio::null()).stdout(Stdio::null()).output() else {
        return Ok(());
    };
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    let reason = said.lines().last().unwrap_or_default().trim();
    Err(format!(
        "--slurm: Slurm cannot start the workers: {reason} (check --slurm-args and --cpus-per-task; `sinfo` lists the partitions and their nodes)"
    ))
}

/// srun's options before the program: one task on one node, its CPUs, the
/// name, and `--slurm-args`.
fn srun_options(cluster: &Cluster, name: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--quiet".into()];
    args.push(format!("--job-name={name}").into());
    args.extend(["--nodes=1".into(), "--ntasks=1".into()]);
    args.push(format!("--cpus-per-task={}", cluster.cpus_per_task).into());
    if cluster.allocation.is_some() {
        // A step of its own CPUs: steps share the allocation, not CPUs.
        args.push("--exclusive".into());
    }
    args.extend(cluster.args.iter().cloned());
    args
}

impl Executor for SlurmExecutor<'_> {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> Outcome {
        let start = SystemTime::now();
        let clock = Instant::now();
        let fail = |status, code: Option<i32>, message: &str| {
            let mut outcome = Outcome::not_run(record, slot, status, message);
            outcome.exit_code = code;
            outcome
        };
        let line = match self.local.wrapped_line(record, slot) {
            Ok(line) => line,
            Err(outcome) => return *outcome,
        };
        let (program, words) = match self.local.argv(record, slot) {
            Ok(found) => found,
            Err((status, code, message)) => {
                let message = match status {
                    Status::InvalidInput => format!("ppool: task {}: {message}", record.seq),
                    _ => message,
                };
                return fail(status, (code != 0).then_some(code), &message);
            }
        };
        let name = self.name(record.seq);
        let step_file = self.dir.path().join(format!("slot-{slot}"));
        let _ = std::fs::remove_file(&step_file);
        // Through the stopper when there is one: sh, then srun.
        let mut args = match &self.stopper {
            Some(stopper) => stopper.args(&step_file, &self.cluster.srun),
            None => Vec::new(),
        };
        args.extend(self.srun_args(&name));
        args.push(program.into_os_string());
        args.extend(words);
        let launched = match &self.stopper {
            Some(_) => Path::new(SHELL),
            None => self.cluster.srun.as_path(),
        };
        let spawn = Spawn {
            program: launched,
            args: &args,
            more: &[],
            seq: record.seq,
            slot,
            timeout: self.timeout,
            grace: self.grace,
            inherit_stdio: false,
            hold_stdin: false,
            feed: record.block.as_deref().cloned(),
            lines: self.local.lines(record, slot),
            stream: None,
        };
        let ended = process::run(&spawn, cancel);
        let step = std::fs::read_to_string(&step_file).ok().and_then(|t| Step::parse(&t));
        let mut ended = match ended {
            Ok(ended) => ended,
            Err(e) => {
                return fail(
                    Status::Failed,
                    Some(127),
                    &format!("ppool: cannot run {}: {e}", self.cluster.srun.display()),
                )
            }
        };
        if ended.signal.is_some() {
            self.cancel(step.as_ref(), &name);
        }
        if step.is_some() {
            self.started.store(true, Ordering::SeqCst);
        }
        let stopped = ended.timed_out || cancel.is_stopping();
        // Output passed on line by line, or spilled, is left as it is.
        let stderr = match ended.stderr.len() <= SPILL_LIMIT as u64 && spawn.lines.is_none() {
            true => ended.stderr.read_all().ok(),
            false => None,
        };
        let judged = judge(
            stderr.as_deref().unwrap_or_default(),
            ended.exit_code,
            ended.signal,
            step.is_some(),
            stopped,
        );
        if let Some(kept) = judged.stderr {
            let mut stderr = Captured::default();
            if stderr.push(&kept).is_ok() {
                ended.stderr = stderr;
            }
        }
        let mut outcome = match judged.verdict {
            Verdict::Task { exit_code, signal } => {
                ended.exit_code = exit_code;
                ended.signal = signal;
                ended.into_outcome(record, slot, start, clock.elapsed(), self.timeout)
            }
            Verdict::Slurm(reason) => {
                if step.is_none() && cannot_start(&reason) && !self.started.load(Ordering::SeqCst) {
                    cancel.fail(
                        record.seq,
                        format!(
                            "--slurm: Slurm cannot start the tasks: {reason} (check --slurm-args and --cpus-per-task; `sinfo` lists the partitions and their nodes)"
                        ),
                    );
                }
                let mut outcome = ended.into_outcome(record, slot, start, clock.elapsed(), self.timeout);
                outcome.status = Status::Slurm;
                let what = match &step {
                    Some(step) => format!("Slurm ended its step {}", step.id()),
                    None => "Slurm did not start it".to_owned(),
                };
                outcome
                    .stderr
                    .push_message(&format!("ppool: task {}: {what}: {reason}", record.seq));
                outcome
            }
        };
        let extra = outcome.extra();
        extra.command = line;
        if let Some(step) = step {
            extra.host = Some(step.node.clone()).filter(|n| !n.is_empty());
            extra.slurm_id = Some(step.id());
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_gives_its_tasks_as_slots_within_its_cpus() {
        assert_eq!(allocation_slots(Some("4"), Some("2(x2)"), 1), Some(4));
        assert_eq!(allocation_slots(Some("8"), Some("8"), 2), Some(4));
        assert_eq!(allocation_slots(None, Some("2(x3),4"), 1), Some(10));
        assert_eq!(allocation_slots(None, Some("2(x3),4"), 4), Some(2));
        assert_eq!(allocation_slots(Some("3"), None, 1), Some(3));
        assert_eq!(allocation_slots(None, Some("2"), 8), Some(1));
        assert_eq!(allocation_slots(None, None, 1), None);
        assert_eq!(allocation_slots(Some("x"), Some("2(x"), 1), None);
    }

    #[test]
    fn the_task_end_srun_reports_becomes_the_outcome_and_leaves_stderr() {
        let stderr = b"own line\nsrun: error: vm: task 0: Exited with exit code 3\n";
        let judged = judge(stderr, Some(3), None, true, false);
        assert_eq!(
            judged.verdict,
            Verdict::Task {
                exit_code: Some(3),
                signal: None
            }
        );
        assert_eq!(judged.stderr.as_deref(), Some(&b"own line\n"[..]));
        let judged = judge(b"srun: error: vm: task 0: Killed\n", Some(137), None, true, false);
        assert_eq!(
            judged.verdict,
            Verdict::Task {
                exit_code: None,
                signal: Some(9)
            }
        );
        assert_eq!(judged.stderr.as_deref(), Some(&b""[..]));
        // A task's own exit code 137 is not a signal.
        let judged = judge(
            b"srun: error: vm: task 0: Exited with exit code 137\n",
            Some(137),
            None,
            true,
            false,
        );
        assert_eq!(
            judged.verdict,
            Verdict::Task {
                exit_code: Some(137),
                signal: None
            }
        );
        let judged = judge(b"just mine\n", Some(0), None, true, false);
        assert_eq!(
            judged,
            Judged {
                verdict: Verdict::Task {
                    exit_code: Some(0),
                    signal: None
                },
                stderr: None
            }
        );
    }

    #[test]
    fn slurms_own_failures_name_its_reason() {
        let stderr = b"srun: error: invalid partition specified: nosuch\nsrun: error: Unable to allocate resources: Invalid partition name specified\n";
        let judged = judge(stderr, Some(1), None, false, false);
        let Verdict::Slurm(reason) = judged.verdict else {
            panic!("not started: {judged:?}")
        };
        assert_eq!(
            reason,
            "srun: error: Unable to allocate resources: Invalid partition name specified"
        );
        assert!(cannot_start(&reason));
        let judged = judge(
            b"/usr/bin/srun: unrecognized option '--bogus'\nTry \"srun --help\"\n",
            Some(255),
            None,
            false,
            false,
        );
        assert_eq!(
            judged.verdict,
            Verdict::Slurm("/usr/bin/srun: unrecognized option '--bogus'".into())
        );
        let stderr = b"slurmstepd-vm: error: *** STEP 6.0 ON vm CANCELLED AT 2026-11-30T12:37:53 ***\nsrun: error: vm: task 0: Killed\n";
        let judged = judge(stderr, Some(137), None, true, false);
        let Verdict::Slurm(reason) = judged.verdict else {
            panic!("cancelled by Slurm: {judged:?}")
        };
        assert!(reason.contains("CANCELLED"), "{reason}");
        assert!(!cannot_start(&reason));
        // Cancelled by ppool itself (a timeout): the task's end, Slurm's notes dropped.
        let judged = judge(stderr, Some(137), None, true, true);
        assert_eq!(judged.stderr.as_deref(), Some(&b""[..]));
        assert!(matches!(judged.verdict, Verdict::Task { .. }));
        // srun failed after the step started, and said why.
        let judged = judge(b"srun: error: Node failure on vm\n", Some(1), None, true, false);
        assert!(matches!(judged.verdict, Verdict::Slurm(_)), "{judged:?}");
    }

    #[test]
    fn the_prolog_record_names_the_step() {
        assert_eq!(
            Step::parse("12 3 node7\n"),
            Some(Step {
                job: "12".into(),
                step: "3".into(),
                node: "node7".into()
            })
        );
        assert_eq!(Step::parse("12\n"), None);
    }

    #[test]
    fn the_prolog_writes_the_steps_ids_and_node_to_the_slots_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prolog");
        std::fs::write(&path, prolog_script(dir.path())).unwrap();
        let status = Command::new("sh")
            .arg(&path)
            .env("PPOOL_SLOT", "4")
            .env("SLURM_JOB_ID", "12")
            .env("SLURM_STEP_ID", "3")
            .env("SLURM_NODELIST", "node7")
            .env_remove("SLURM_STEP_NODELIST")
            .status()
            .unwrap();
        assert!(status.success());
        let written = std::fs::read_to_string(dir.path().join("slot-4")).unwrap();
        assert_eq!(written, "12 3 node7\n");
    }
}
