//! Cli -> validated Config: every rule that spans several flags is checked
//! here, once, so the engine never sees clap.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::cli::{OutputFormat, RunArgs};
use crate::exec::ssh::Remote;
use crate::input::Format;

/// The longest `--timeout` or `--grace`: longer ones mean "never" and are
/// clamped to this, which the clock can still add to the present.
pub const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Map,
    Imap,
    Unordered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    FailFast,
    CollectErrors,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    No,
    /// Skip every task the job log holds.
    All,
    /// Skip the tasks the job log holds as succeeded.
    Failed,
}

/// Where records come from.
#[derive(Debug, Clone, PartialEq)]
pub enum InputSource {
    Stdin,
    File(PathBuf),
    Groups(Vec<Vec<OsString>>),
    /// `apply` with no `:::`: one task, the command as written.
    None,
}

/// What runs for each record.
#[derive(Debug, Clone, PartialEq)]
pub enum Runner {
    /// Command words (a template); with `shell`, run by that shell with -c.
    Command {
        words: Vec<OsString>,
        shell: Option<OsString>,
    },
    Builtin(String),
    Worker(String),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    pub jobs: usize,
    pub source: InputSource,
    pub format: Format,
    pub runner: Runner,
    pub policy: Policy,
    pub retries: u32,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub line_buffer: bool,
    pub tag: bool,
    pub output: OutputFormat,
    pub progress: bool,
    pub joblog: Option<PathBuf>,
    pub resume: Resume,
    pub dry_run: bool,
    pub ssh: Vec<String>,
    pub ssh_file: Option<PathBuf>,
    /// `--ssh` / `--ssh-file`: the hosts; their slots together are `jobs`.
    pub remote: Option<Remote>,
    pub chunksize: Option<usize>,
    pub max_tasks_per_worker: Option<u64>,
}

impl Config {
    pub fn new(mode: Mode, args: RunArgs) -> Result<Config> {
        let jobs = match args.jobs {
            Some(0) => bail!("--jobs must be at least 1"),
            Some(n) => n,
            // apply runs one task: no need to ask the system for its CPUs.
            None if mode == Mode::Apply => 1,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let (words, groups) = split_groups(args.command);
        let runner = match (&args.builtin, &args.worker) {
            (Some(name), _) => {
                if !words.is_empty() {
                    bail!("--builtin {name} takes no command; put its inputs after ::: or on stdin");
                }
                Runner::Builtin(name.clone())
            }
            (None, Some(cmd)) => {
                if !words.is_empty() {
                    bail!("--worker takes its command as one argument; put inputs after ::: or on stdin");
                }
                Runner::Worker(cmd.clone())
            }
            (None, None) => {
                if words.is_empty() {
                    bail!("no command given: give a COMMAND, --builtin NAME or --worker CMD (see ppool --help)");
                }
                let shell = args.shell.then(|| {
                    std::env::var_os("PPOOL_SHELL")
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "/bin/sh".into())
                });
                Runner::Command { words, shell }
            }
        };
        if args.arg_file.is_some() && groups.is_some() {
            bail!("give inputs either with --arg-file or after :::, not both");
        }
        if args.colsep.is_some() && args.json {
            bail!("--colsep and --json cannot be used together");
        }
        if args.line_buffer && mode != Mode::Unordered {
            bail!("--line-buffer works only with `ppool unordered`");
        }
        if args.line_buffer && args.output == OutputFormat::Json {
            bail!("--line-buffer prints lines as they arrive; it cannot be used with --output json");
        }
        if args.line_buffer && (args.builtin.is_some() || args.worker.is_some()) {
            bail!("--line-buffer works with commands, not --builtin or --worker");
        }
        let source = match (groups, args.arg_file) {
            (Some(groups), _) => InputSource::Groups(groups),
            (None, Some(path)) => InputSource::File(path),
            (None, None) if mode == Mode::Apply => InputSource::None,
            (None, None) => InputSource::Stdin,
        };
        if mode == Mode::Apply {
            match &source {
                InputSource::Groups(groups) => {
                    let count: usize = groups.iter().map(Vec::len).product();
                    if count > 1 {
                        bail!("apply runs exactly one task, but {count} inputs were given: use `ppool map` for many");
                    }
                }
                InputSource::File(_) => {
                    bail!("apply runs exactly one task: give its input as `::: X`, or use `ppool map --arg-file`")
                }
                _ => {}
            }
            if matches!(runner, Runner::Builtin(_) | Runner::Worker(_)) {
                bail!("apply runs a command: use `ppool map` with --builtin or --worker");
            }
        }
        let resume = match (args.resume, args.resume_failed) {
            (true, _) => Resume::All,
            (_, true) => Resume::Failed,
            _ => Resume::No,
        };
        let remote = Remote::new(&args.ssh, args.ssh_file.as_deref(), args.jobs)?;
        if remote.is_some() {
            if mode == Mode::Apply {
                bail!("apply runs its one task here: use `ppool map --ssh` to run tasks on other hosts");
            }
            if !matches!(runner, Runner::Command { .. }) {
                bail!("--ssh runs commands: --builtin and --worker run on this machine only");
            }
        }
        let jobs = match (&remote, mode) {
            (_, Mode::Apply) => 1,
            (Some(remote), _) => remote.slots(),
            (None, _) => jobs,
        };
        use std::os::unix::ffi::OsStringExt;
        Ok(Config {
            mode,
            jobs,
            source,
            format: Format {
                null: args.null,
                colsep: args.colsep.map(OsStringExt::into_vec),
                json: args.json,
            },
            runner,
            policy: if args.fail_fast {
                Policy::FailFast
            } else {
                Policy::CollectErrors
            },
            retries: args.retries,
            timeout: args.timeout.map(|t| t.min(LONGEST)),
            grace: args.grace.min(LONGEST),
            line_buffer: args.line_buffer,
            tag: args.tag,
            output: args.output,
            progress: args.progress,
            joblog: args.joblog,
            resume,
            dry_run: args.dry_run,
            ssh: args.ssh,
            ssh_file: args.ssh_file,
            remote,
            chunksize: args.chunksize.filter(|&k| k > 0),
            max_tasks_per_worker: args.max_tasks_per_worker.filter(|&n| n > 0),
        })
    }
}

/// Splits `cmd a ::: x y ::: 1 2` into the command words and the groups.
fn split_groups(words: Vec<OsString>) -> (Vec<OsString>, Option<Vec<Vec<OsString>>>) {
    let mut parts = words.split(|w| w == ":::");
    let command = parts.next().unwrap_or_default().to_vec();
    let groups: Vec<Vec<OsString>> = parts.map(<[OsString]>::to_vec).collect();
    (command, (!groups.is_empty()).then_some(groups))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;
    use proptest::prelude::*;

    fn config(line: &[&str]) -> Result<Config> {
        let cli = Cli::try_parse_from(line).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (mode, args) = match cli.command {
            Command::Apply(a) => (Mode::Apply, a),
            Command::Map(a) => (Mode::Map, a),
            Command::Imap(a) => (Mode::Imap, a),
            Command::Unordered(a) => (Mode::Unordered, a),
            _ => panic!("not a run"),
        };
        Config::new(mode, args)
    }

    #[test]
    fn groups_split_on_triple_colon() {
        let c = config(&["ppool", "imap", "echo", "-n", ":::", "a", "b", ":::", "1"]).unwrap();
        assert_eq!(
            c.runner,
            Runner::Command {
                words: vec!["echo".into(), "-n".into()],
                shell: None
            }
        );
        assert_eq!(
            c.source,
            InputSource::Groups(vec![vec!["a".into(), "b".into()], vec!["1".into()]])
        );
    }

    #[test]
    fn usage_errors_say_what_to_do() {
        let e = config(&["ppool", "map", "-j", "0", "true"]).unwrap_err();
        assert!(e.to_string().contains("--jobs"), "{e}");
        let e = config(&["ppool", "apply", "echo", ":::", "a", "b"]).unwrap_err();
        assert!(e.to_string().contains("ppool map"), "{e}");
        let e = config(&["ppool", "imap", "--line-buffer", "true"]).unwrap_err();
        assert!(e.to_string().contains("unordered"), "{e}");
        assert!(config(&["ppool", "imap"]).is_err());
    }

    #[test]
    fn ssh_hosts_make_the_pool() {
        let c = config(&["ppool", "map", "-S", "2/a,b", "-S", "3/:", "echo"]).unwrap();
        let remote = c.remote.unwrap();
        assert_eq!(remote.hosts.len(), 3);
        // b has no count and -j was not given: one slot.
        assert_eq!(c.jobs, 6);
        let c = config(&["ppool", "map", "-j", "4", "-S", "a,1/b", "echo"]).unwrap();
        assert_eq!(c.jobs, 5);
        let e = config(&["ppool", "apply", "-S", "a", "echo"]).unwrap_err();
        assert!(e.to_string().contains("ppool map --ssh"), "{e}");
        let e = config(&["ppool", "map", "--ssh-file", "/no/such/hosts", "echo"]).unwrap_err();
        assert!(format!("{e:#}").contains("/no/such/hosts"), "{e:#}");
    }

    #[test]
    fn ssh_file_skips_blank_lines_and_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "# pool\n\n 2/a \n:\n").unwrap();
        let c = config(&["ppool", "map", "-j", "3", "--ssh-file", path.to_str().unwrap(), "echo"]).unwrap();
        assert_eq!(c.jobs, 5);
    }

    #[test]
    fn huge_durations_are_clamped() {
        let c = config(&[
            "ppool",
            "map",
            "--timeout",
            "9223372036854775807s",
            "--grace",
            "1e18",
            "true",
        ])
        .unwrap();
        assert_eq!(c.timeout, Some(LONGEST));
        assert_eq!(c.grace, LONGEST);
        let c = config(&["ppool", "map", "--timeout", "2s", "true"]).unwrap();
        assert_eq!(c.timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn apply_without_input_runs_the_command_as_written() {
        let c = config(&["ppool", "apply", "-j", "8", "true"]).unwrap();
        assert_eq!(c.source, InputSource::None);
        assert_eq!(c.jobs, 1);
    }

    /// Words a command line may hold: options with nasty values, `:::`
    /// anywhere, empty strings.
    fn arb_word() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "-j",
                "--jobs",
                "--timeout",
                "--grace",
                "--retries",
                "--chunksize",
                "--max-tasks-per-worker",
                "--builtin",
                "--worker",
                "--colsep",
                "--json",
                "-0",
                "--line-buffer",
                "--tag",
                "--output",
                "--fail-fast",
                "--collect-errors",
                "--resume",
                "--resume-failed",
                "--joblog",
                "-a",
                "-S",
                "--ssh-file",
                "-s",
                "--dry-run",
                "--progress",
                "--",
                ":::",
                ":::",
                "",
                " ",
                "echo",
                "{}",
                "json",
                "text",
                "0",
                "-1",
                "1",
                "4000000000",
                "18446744073709551615",
                "18446744073709551616",
                "9223372036854775807s",
                "1e300",
                "1e-300",
                "inf",
                "NaN",
                "-0",
                "0s",
                "500ms",
                "2m",
                "99999999999999999999h",
                "1.5",
                "x",
                "/dev/null",
                "/no/such/file",
                "4/:",
                "0/host",
                "a,b",
            ])
            .prop_map(String::from),
            "[-:/a-z0-9.,{}]{0,8}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn any_command_line_is_a_config_or_an_error(
            mode in prop::sample::select(vec!["apply", "map", "imap", "unordered"]),
            words in prop::collection::vec(arb_word(), 0..10),
        ) {
            let mut line = vec!["ppool".to_string(), mode.to_string()];
            line.extend(words);
            // No panic on the way; an error here is one ppool reports with
            // exit status 255 (`ppool::exit::USAGE`).
            if let Ok(c) = config(&line.iter().map(String::as_str).collect::<Vec<_>>()) {
                prop_assert!(c.jobs >= 1);
                prop_assert!(c.timeout.map_or(true, |t| t <= LONGEST));
                prop_assert!(c.grace <= LONGEST);
            }
        }
    }
}
