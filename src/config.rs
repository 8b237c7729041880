//! Cli -> validated Config: every rule that spans several flags is checked
//! here, once, and the environment is read here, so the engine never sees
//! clap or `std::env`: it gets its own plain types.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cli::{Cli, Command, CompletionShell, OutputFormat, RunArgs};
use crate::exec::command::resolve;
use crate::exec::ssh::{parse_hosts, read_host_file, PerHost, Remote, DEFAULT_DOWN_FOR};
use crate::exec::transfer::{Files, Workdir};
use crate::input::blocks::{self, Cutting};
use crate::input::{Colsep, Format, Origin, SourceSpec, Trim};
use crate::joblog::Resume;
use crate::output;
use crate::scheduler::Policy;
use crate::sink::Mode;
use crate::template::BatchStyle;

/// Room xargs leaves below the system's limit, which ppool leaves too.
const XARGS_HEADROOM: usize = 2048;
/// GNU xargs' default command buffer, when the system allows that much.
const XARGS_DEFAULT_CHARS: usize = 128 * 1024;

/// The longest `--timeout` or `--grace`: longer ones mean "never" and are
/// clamped to this, which the clock can still add to the present.
pub(crate) const LONGEST: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Action {
    Run(Box<Config>),
    Builtins,
    Completions(CompletionShell),
    Man,
    /// `__worker NAME`: serve that builtin.
    Worker(String),
    /// `submit`, `get`, `wait` and the pool server.
    Pool(crate::pool_server::PoolCommand),
    /// `--minversion V`: the version V was compared with, and whether it is at least V.
    MinVersion {
        version: String,
        new_enough: bool,
    },
    /// `--shellquote`: the values to print quoted, or `None` for stdin's lines.
    ShellQuote(Option<Vec<OsString>>),
    /// `--number-of-cores` and the like: print the count.
    CpuCount(crate::cpuinfo::CpuCount),
    /// `--max-line-length-allowed`: print GNU parallel's probed limit.
    MaxLineLength,
    /// `--record-env`: write the variables' names to this `ignored_vars` file.
    RecordEnv(PathBuf),
}

impl Action {
    pub(crate) fn new(cli: Cli) -> Result<Action> {
        let (mode, args) = match cli.command {
            Command::Apply(args) => (Mode::Apply, args),
            Command::Map(args) => (Mode::Map, args),
            Command::Imap(args) => (Mode::Imap, args),
            Command::Unordered(args) => (Mode::Unordered, args),
            Command::Builtins => return Ok(Action::Builtins),
            Command::Completions { shell } => return Ok(Action::Completions(shell)),
            Command::Man => return Ok(Action::Man),
            Command::Worker { name } => return Ok(Action::Worker(name)),
            Command::Submit(args) => return pool_command(Command::Submit(args)).map(Action::Pool),
            Command::Get(args) => return pool_command(Command::Get(args)).map(Action::Pool),
            Command::Wait(args) => return pool_command(Command::Wait(args)).map(Action::Pool),
            Command::Status(args) => return pool_command(Command::Status(args)).map(Action::Pool),
            Command::Pools => return pool_command(Command::Pools).map(Action::Pool),
            Command::Cancel(args) => return pool_command(Command::Cancel(args)).map(Action::Pool),
            Command::PoolServer { name, jobs, idle } => {
                return pool_command(Command::PoolServer { name, jobs, idle }).map(Action::Pool)
            }
        };
        let counts = [
            (args.number_of_cores, crate::cpuinfo::CpuCount::Cores),
            (args.number_of_threads, crate::cpuinfo::CpuCount::Threads),
            (args.number_of_sockets, crate::cpuinfo::CpuCount::Sockets),
        ];
        if let Some((_, what)) = counts.into_iter().find(|(given, _)| *given) {
            return Ok(Action::CpuCount(what));
        }
        if args.max_line_length_allowed {
            return Ok(Action::MaxLineLength);
        }
        if args.record_env {
            let Some(dir) = parallel_home() else {
                bail!("--record-env: HOME is not set: set HOME (or PARALLEL_HOME) to the directory for ignored_vars");
            };
            return Ok(Action::RecordEnv(dir.join("ignored_vars")));
        }
        if let Some(wanted) = &args.minversion {
            if let Some(date) = gnu_release(wanted) {
                return Ok(Action::MinVersion {
                    version: GNU_RELEASE.to_string(),
                    new_enough: date <= GNU_RELEASE,
                });
            }
            let ours = version_parts(env!("CARGO_PKG_VERSION")).unwrap_or_default();
            let Some(wanted) = version_parts(wanted) else {
                bail!("--minversion {wanted}: give a version as numbers separated by dots, such as 0.1.0");
            };
            return Ok(Action::MinVersion {
                version: env!("CARGO_PKG_VERSION").to_string(),
                new_enough: !is_older(&ours, &wanted),
            });
        }
        if args.shellquote {
            return shellquote_values(&args.command).map(Action::ShellQuote);
        }
        Config::new(mode, args).map(|config| Action::Run(Box::new(config)))
    }
}

/// The pool commands, checked: a usable pool name, a command to submit.
fn pool_command(command: Command) -> Result<crate::pool_server::PoolCommand> {
    use crate::pool_server::{check_name, PoolCommand};
    let format = |f: crate::cli::OutputFormat| match f {
        crate::cli::OutputFormat::Text => crate::output::Format::Text,
        crate::cli::OutputFormat::Json => crate::output::Format::Json,
    };
    let checked = match command {
        Command::Submit(args) => {
            if args.jobs == Some(0) {
                bail!("-j 0 runs nothing: give the pool at least one slot");
            }
            let shell = args.shell.then(|| {
                std::env::var_os("PPOOL_SHELL")
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "/bin/sh".into())
            });
            let split = |option: &str, text: Option<String>| -> Result<Option<Vec<OsString>>> {
                let Some(text) = text else { return Ok(None) };
                match shlex::split(&text) {
                    Some(words) if !words.is_empty() => Ok(Some(words.into_iter().map(OsString::from).collect())),
                    _ => {
                        bail!("{option} '{text}' is not a command: give a program and its arguments, quoted as for sh")
                    }
                }
            };
            PoolCommand::Submit {
                on_done: split("--on-done", args.on_done)?,
                on_error: split("--on-error", args.on_error)?,
                pool: args.pool.name,
                words: args.command,
                shell,
                timeout: args.timeout,
                grace: args.grace,
                retries: args.retries,
                jobs: args.jobs,
                idle: args.idle,
                fail_fast: args.fail_fast,
            }
        }
        Command::Get(args) => PoolCommand::Get {
            pool: args.pool.name,
            id: args.id,
            timeout: args.timeout,
            format: format(args.output),
            tag: args.tag,
        },
        Command::Wait(args) => PoolCommand::Wait {
            cancel: args.cancel,
            pool: args.pool.name,
            format: format(args.output),
            tag: args.tag,
        },
        Command::PoolServer { name, jobs, idle } => PoolCommand::Serve { pool: name, jobs, idle },
        Command::Status(args) => PoolCommand::Status { pool: args.name },
        Command::Pools => PoolCommand::Pools,
        Command::Cancel(args) => PoolCommand::Cancel {
            pool: args.pool.name,
            id: if args.all { None } else { args.id },
        },
        _ => bail!("not a pool command"),
    };
    match &checked {
        PoolCommand::Submit { pool, .. }
        | PoolCommand::Get { pool, .. }
        | PoolCommand::Wait { pool, .. }
        | PoolCommand::Status { pool }
        | PoolCommand::Cancel { pool, .. }
        | PoolCommand::Serve { pool, .. } => check_name(pool)?,
        PoolCommand::Pools => {}
    }
    Ok(checked)
}

/// `1.2.3` as numbers.
fn version_parts(text: &str) -> Option<Vec<u64>> {
    text.split('.').map(|part| part.parse().ok()).collect()
}

/// The GNU parallel release whose behaviour ppool follows, for a
/// `--minversion` that names a GNU release.
const GNU_RELEASE: u32 = 20221122;

/// A GNU parallel version: a release date, YYYYMMDD.
fn gnu_release(text: &str) -> Option<u32> {
    (text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) && text >= "19000101").then(|| text.parse().ok())?
}

/// `--shellquote`'s values: those after `:::`, or stdin's lines (`None`).
fn shellquote_values(words: &[OsString]) -> Result<Option<Vec<OsString>>> {
    match words.split_first() {
        None => Ok(None),
        Some((first, values)) if first == ":::" => Ok(Some(values.to_vec())),
        Some(_) => bail!("--shellquote runs nothing and takes no command: give the values after ::: or on stdin"),
    }
}

/// Whether `ours` is an older version than `wanted`; missing parts count as 0.
fn is_older(ours: &[u64], wanted: &[u64]) -> bool {
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..ours.len().max(wanted.len()))
        .map(|i| at(ours, i).cmp(&at(wanted, i)))
        .find(|o| o.is_ne())
        .is_some_and(|o| o.is_lt())
}

/// Where records come from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum InputSource {
    /// `-a` files first, then `:::` and `::::` sources in the order given;
    /// stdin alone when none is given.
    Sources(Vec<SourceSpec>),
    /// `apply` with no `:::`: one task, the command as written.
    None,
}

/// What runs for each record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Runner {
    /// Command words (a template); with `shell`, run by that shell with -c.
    Command {
        words: Vec<OsString>,
        shell: Option<OsString>,
    },
    Builtin(String),
    Worker(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) mode: Mode,
    pub(crate) jobs: usize,
    pub(crate) source: InputSource,
    pub(crate) format: Format,
    /// `--link`: sources paired, the shorter ones wrapping.
    pub(crate) link: bool,
    /// `--header :`: each source's first line names its columns.
    pub(crate) header: bool,
    pub(crate) runner: Runner,
    pub(crate) policy: Policy,
    /// `--halt` as given, for the note a halt prints.
    pub(crate) halt_text: Option<String>,
    /// `--jobs FILE`: read again as tasks end; `jobs` is its first value.
    pub(crate) jobs_file: Option<PathBuf>,
    /// `-j 0`: as many slots as the system allows, so fewer are no news.
    pub(crate) jobs_max: bool,
    pub(crate) retries: u32,
    pub(crate) timeout: Option<Duration>,
    /// `--timeout N%`: the fraction of the median run time a task may take.
    pub(crate) timeout_of_median: Option<f64>,
    pub(crate) grace: Duration,
    pub(crate) line_buffer: bool,
    pub(crate) tag: bool,
    pub(crate) output: output::Format,
    pub(crate) progress: bool,
    pub(crate) joblog: Option<PathBuf>,
    /// `--results`: as given; a template when it holds placeholders.
    pub(crate) results: Option<OsString>,
    pub(crate) resume: Resume,
    pub(crate) dry_run: bool,
    /// `--ssh` / `--ssh-file`: the hosts; their slots together are `jobs`.
    pub(crate) remote: Option<Remote>,
    /// `--transferfile`, `--return`, `--cleanup`, `--workdir`, `--env`:
    /// what remote tasks need around their command.
    pub(crate) remote_files: Files,
    /// `--slurm`: tasks run through srun, as steps of the allocation ppool
    /// runs in or as jobs of their own.
    pub(crate) slurm: Option<crate::exec::slurm::Cluster>,
    pub(crate) chunksize: Option<usize>,
    pub(crate) max_tasks_per_worker: Option<u64>,
    /// `-n`, `-L`, `-X`, `-m`: several records per task.
    pub(crate) batch: Option<Batch>,
    /// `--pipe`: the input cut into blocks, each a task's stdin.
    pub(crate) pipe: Option<Cutting>,
    /// `--pipepart`: blocks are ranges of the one `-a FILE`.
    pub(crate) pipe_part: bool,
    /// `--round-robin`: `jobs` tasks share the blocks.
    pub(crate) round_robin: bool,
    /// `--cat`, `--fifo`: each block in a temporary file or named pipe
    /// named by `{}` instead.
    pub(crate) block_file: Option<crate::exec::command::BlockFile>,
    /// `-I STR` / `--replace`: STR names the whole record instead of `{}`.
    pub(crate) replace: Option<Vec<u8>>,
    /// `--delay`, `--memfree`, `--load`: what a task start waits for.
    pub(crate) starts: crate::exec::gate::Limits,
    /// `--nice N`: added to ppool's niceness before any task starts.
    pub(crate) nice: Option<i32>,
    /// `--files`: the directory for each task's stdout file.
    pub(crate) files: Option<PathBuf>,
    /// `-N0`: one record per task, inserted nowhere.
    pub(crate) no_args: bool,
    /// `--compress`: output waiting for its turn is kept compressed.
    pub(crate) compress: bool,
    /// `--eta`: GNU parallel's progress lines on stderr.
    pub(crate) eta: bool,
    /// `--plus`: GNU parallel's further replacement strings.
    pub(crate) plus: bool,
    /// `--er STR` and the like: STR and the placeholder it stands for.
    pub(crate) renames: Vec<(Vec<u8>, &'static [u8])>,
    /// `--tagstring STR`: the tag's template (then `tag` is set too).
    pub(crate) tag_string: Option<OsString>,
    /// `-X`: a batch repeats the text around `{}` in the tag too.
    pub(crate) tag_repeats: bool,
    /// `-t` / `--verbose`: each command on stderr as it starts.
    pub(crate) verbose: bool,
    /// `-v`: each command on stdout before its output.
    pub(crate) print_commands: bool,
}

/// `-n`, `-L`, `-X`, `-m`: consecutive records grouped into one task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Batch {
    /// At most this many records (`usize::MAX`: as many as fit).
    pub(crate) max_records: usize,
    /// At most this many bytes per command line, counted as xargs does.
    pub(crate) max_chars: usize,
    pub(crate) style: BatchStyle,
    /// `-X`/`-m` with no count: the input's last command (all of it when it
    /// fits one) is spread over this many tasks, the job slots (1: not spread).
    pub(crate) spread: usize,
}

impl Batch {
    /// How the run groups its records, as the job log records it: a
    /// resumed run must group them the same way.
    pub(crate) fn describe(&self) -> String {
        // -X and -n alone make the same batches; -m counts a separator more.
        let records = match self.max_records {
            usize::MAX => String::new(),
            n => format!("-n {n} "),
        };
        let style = match self.style {
            BatchStyle::Repeat => "",
            BatchStyle::Join => "-m ",
        };
        let spread = match self.spread {
            0 | 1 => String::new(),
            n => format!(" -j {n}"),
        };
        format!("{records}{style}--max-chars {}{spread}", self.max_chars)
    }
}

impl Config {
    /// How the command and `--tagstring` spell their placeholders.
    pub(crate) fn syntax(&self) -> crate::template::Syntax {
        crate::template::Syntax {
            json: self.format.json,
            replace: self.replace.clone(),
            plus: self.plus,
            jobs: self.jobs,
            renames: self.renames.clone(),
            total: None,
            no_args: self.no_args,
        }
    }

    pub(crate) fn new(mode: Mode, mut args: RunArgs) -> Result<Config> {
        let (jobs, jobs_file) = match args.jobs.as_deref() {
            Some(text) => match parse_jobs(text, cpus_counted(&args)) {
                Some(n) => (n, None),
                None => {
                    let path = PathBuf::from(text);
                    let n = read_jobs_file(&path).with_context(|| {
                        format!("--jobs {text}: give N, N%, +N, -N, 0 or a file that holds one of them")
                    })?;
                    (n, Some(path))
                }
            },
            // One task at most (apply, or `:::` with one record): no need
            // to ask the system for its CPUs, which reads several files.
            None if mode == Mode::Apply || at_most_one_record(&args.command) => (1, None),
            None => (cpus_counted(&args)(), None),
        };
        if args.ungroup {
            if mode != Mode::Unordered {
                bail!("-u/--ungroup prints output as it arrives, which only `ppool unordered` does: use `ppool unordered -u`");
            }
            // Whole lines as they arrive: GNU parallel's -u may also cut a
            // line in two, which no reader of the output wants.
            args.line_buffer = true;
        }
        if mode == Mode::Apply {
            let given = [
                ("--jobs", args.jobs.is_some()),
                ("--progress", args.progress),
                ("--eta", args.eta),
                ("--shuf", args.shuf),
                ("--line-buffer", args.line_buffer),
                ("-v", args.print_commands > 0),
                ("--builtin", args.builtin.is_some()),
                ("--worker", args.worker.is_some()),
                ("--chunksize", args.chunksize.is_some()),
                ("--max-tasks-per-worker", args.max_tasks_per_worker.is_some()),
                ("--ssh", !args.ssh.is_empty() || args.ssh_file.is_some()),
                ("--transferfile", !args.transferfile.is_empty() || args.transfer),
                ("--return", !args.returns.is_empty() || !args.trc.is_empty()),
                ("--cleanup", args.cleanup),
                ("--workdir", args.workdir.is_some()),
                ("--env", !args.env.is_empty()),
                ("--slurm", args.slurm),
                ("--results", args.results.is_some()),
                ("--keep-order", args.keep_order),
                ("--files", args.files),
                ("--compress", args.compress),
                ("--pipe", args.pipe),
                ("--pipepart", args.pipepart),
            ];
            if let Some((option, _)) = given.iter().find(|(_, given)| *given) {
                bail!("{option} is not an option of `ppool apply`, which runs one task in the foreground: use `ppool map {option}` for many");
            }
        }
        let policy = match (&args.halt, args.fail_fast) {
            (Some(text), _) => crate::scheduler::Halt::parse(text).map_err(anyhow::Error::msg)?,
            (None, true) => Policy::FailFast,
            (None, false) => Policy::CollectErrors,
        };
        // With --pipe, --header counts the lines that top every block.
        let pipe_header = if args.pipe || args.pipepart {
            args.header.take()
        } else {
            None
        };
        let format = input_format(&args)?;
        let (words, specs) = split_sources(std::mem::take(&mut args.command), &args.arg_sep, &args.arg_file_sep)?;
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
                if words.is_empty() && mode == Mode::Apply {
                    bail!("no command given: give a COMMAND, --builtin NAME or --worker CMD (see ppool --help)");
                }
                // No command words: each record is a command line of its
                // own, run by the shell, as `parallel < jobs.txt` does.
                let shell = (args.shell || words.is_empty()).then(|| {
                    std::env::var_os("PPOOL_SHELL")
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "/bin/sh".into())
                });
                Runner::Command { words, shell }
            }
        };
        let batch = if args.pipe || args.pipepart {
            None
        } else {
            batch(&args, &runner, mode)?.map(|batch| Batch {
                // GNU parallel's --xargs fills each command and no more.
                spread: if batch.max_records == usize::MAX && !args.gnu_xargs {
                    jobs
                } else {
                    1
                },
                ..batch
            })
        };
        let replace = match args.replace_str.take().or_else(|| args.replace.take()) {
            Some(text) if text.is_empty() => {
                bail!("-I and --replace need a non-empty STR to stand for the record (or leave them out and use {{}})")
            }
            text => text.map(OsStringExt::into_vec),
        };
        let renames = renames(&mut args)?;
        let starts = start_limits(&args, cpus_counted(&args))?;
        let files = match (args.files, &args.tmpdir) {
            (false, Some(_)) => bail!("--tmpdir is where --files puts its files: give --files with it"),
            (false, None) => None,
            (true, _) if args.output == OutputFormat::Json => {
                bail!("--files prints file names instead of output; --output json holds the output itself: use one of them")
            }
            (true, _) if args.line_buffer => {
                bail!("--files keeps each task's output in a file; it cannot be used with --line-buffer or -u")
            }
            (true, dir) => {
                let dir = dir.clone().unwrap_or_else(std::env::temp_dir);
                if !dir.is_dir() {
                    bail!(
                        "--tmpdir {}: no such directory: create it or give another",
                        dir.display()
                    );
                }
                Some(dir)
            }
        };
        if args.keep_order && mode == Mode::Unordered {
            bail!("-k/--keep-order keeps input order, which `ppool unordered` does not: use `ppool imap` (it is imap's order)");
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
        if args.line_buffer && args.print_commands > 0 {
            bail!("-v prints each command before its output, which --line-buffer passes on as it arrives: use -t to print each command on stderr as it starts");
        }
        if args.print_commands > 0 && args.output == OutputFormat::Json {
            bail!("-v prints commands among the text output, not in --output json: use -t to print them on stderr");
        }
        if args.line_buffer && args.results.is_some() {
            bail!("--line-buffer passes output on as it arrives, so --results would miss it: use one of them");
        }
        let mut sources: Vec<SourceSpec> = args
            .arg_file
            .iter()
            .map(|path| file_source(path, false, "--arg-file"))
            .collect();
        // `:::+` pairs a source with the `:::` or `::::` source written
        // before it; the first one written has none (GNU parallel does not
        // pair it with the `-a` files), so it is not paired.
        let mut specs = specs;
        if let Some(first) = specs.first_mut() {
            first.linked = false;
        }
        sources.extend(specs);
        if sources.iter().filter(|s| matches!(s.origin, Origin::Stdin)).count() > 1 {
            bail!("stdin is given as more than one input source (`-` twice): it can be read once; give one of them as a file");
        }
        if args.retry_failed {
            let no_command = matches!(&runner, Runner::Command { words, .. } if words.is_empty());
            if !no_command || !sources.is_empty() {
                bail!("--retry-failed runs the failed command lines of the --joblog again: leave out the command and the input");
            }
            let log = args.joblog.as_deref().unwrap_or(Path::new(""));
            sources.push(SourceSpec {
                origin: Origin::Values(crate::joblog::commands_in(log)?),
                linked: false,
                name: "--retry-failed".into(),
            });
        }
        if let Some(eof) = &args.eof {
            // `-E` ends `:::` values too, as GNU parallel does.
            for source in &mut sources {
                if let Origin::Values(values) = &mut source.origin {
                    if let Some(at) = values.iter().position(|v| v == eof) {
                        values.truncate(at);
                    }
                }
            }
        }
        if args.nonall && !sources.is_empty() {
            bail!("--nonall runs the command once per host with no input: leave out the inputs, or use --onall");
        }
        let source = match sources.is_empty() {
            true if mode == Mode::Apply => InputSource::None,
            // One empty record, which every host runs once.
            true if args.nonall => InputSource::Sources(vec![SourceSpec {
                origin: Origin::Values(vec![OsString::new()]),
                linked: false,
                name: "--nonall".into(),
            }]),
            true => InputSource::Sources(vec![SourceSpec {
                origin: Origin::Stdin,
                linked: false,
                name: "stdin".into(),
            }]),
            false => InputSource::Sources(sources),
        };
        let header = args.header.is_some();
        if mode == Mode::Apply {
            if let InputSource::Sources(sources) = &source {
                if sources.iter().any(|s| !matches!(s.origin, Origin::Values(_))) {
                    bail!("apply runs exactly one task: give its input as `::: X`, or use `ppool map` to read files");
                }
                let count = crate::input::sources::count(sources, args.link, header);
                if count > 1 {
                    bail!("apply runs exactly one task, but {count} inputs were given: use `ppool map` for many");
                }
            }
            if matches!(runner, Runner::Builtin(_) | Runner::Worker(_)) {
                bail!("apply runs a command: use `ppool map` with --builtin or --worker");
            }
        }
        let resume = match (args.resume, args.resume_failed || args.retry_failed) {
            (true, _) => Resume::All,
            (_, true) => Resume::Failed,
            _ => Resume::No,
        };
        let remote = remote(&args, jobs)?;
        if remote.is_none() {
            let given = [
                ("-M/--controlmaster", args.controlmaster),
                ("--sshdelay", args.sshdelay.is_some()),
                ("--onall", args.onall),
                ("--nonall", args.nonall),
                ("--hostgroups", args.hostgroups),
            ];
            if let Some((option, _)) = given.iter().find(|(_, given)| *given) {
                bail!("{option} is about remote hosts: give hosts with --ssh (--sshlogin) or --ssh-file");
            }
        } else if jobs_file.is_some() {
            bail!("--jobs FILE does not apply to --ssh: give each host its slots as N/HOST in the --ssh-file, which is read again as it changes");
        }
        if remote.is_some() {
            if mode == Mode::Apply {
                bail!("apply runs its one task here: use `ppool map --ssh` to run tasks on other hosts");
            }
            if !matches!(runner, Runner::Command { .. }) {
                bail!("--ssh runs commands: --builtin and --worker run on this machine only");
            }
        }
        let slurm = match args.slurm {
            true => Some(slurm(&args, remote.is_some())?),
            false => None,
        };
        let pipe = pipe(&args, pipe_header.as_deref(), &runner, &source, remote.is_some(), jobs)?;
        let of_median = matches!(args.timeout, Some(crate::duration::Timeout::OfMedian(_)));
        if of_median && (remote.is_some() || slurm.is_some() || !matches!(runner, Runner::Command { .. })) {
            bail!("--timeout N% times commands run on this machine: give a duration (10s) with --ssh, --slurm, --builtin or --worker");
        }
        // Only remote hosts use them, as in GNU parallel, so a default
        // option file may hold them for runs without --ssh.
        let remote_files = match &remote {
            Some(remote) if remote.hosts.iter().any(|h| h.name.is_some()) => remote_files(&args)?,
            _ => Files::default(),
        };
        let allocation_slots = || {
            let env = |name| std::env::var(name).ok();
            let cpus_per_task = slurm.as_ref().map_or(1, |s| s.cpus_per_task);
            crate::exec::slurm::allocation_slots(
                env("SLURM_NTASKS").as_deref(),
                env("SLURM_JOB_CPUS_PER_NODE").as_deref(),
                cpus_per_task,
            )
        };
        let jobs = match (&remote, mode) {
            (_, Mode::Apply) => 1,
            (Some(remote), _) => remote.slots(),
            // In an allocation, the slots are its tasks unless -j says.
            (None, _) if args.jobs.is_none() && slurm.as_ref().is_some_and(|s| s.allocation.is_some()) => {
                allocation_slots().unwrap_or(jobs)
            }
            (None, _) => jobs,
        };
        Ok(Config {
            mode,
            jobs,
            source,
            format,
            link: args.link,
            header,
            runner,
            policy,
            halt_text: args.halt.clone(),
            jobs_max: args.jobs.as_deref().is_some_and(|text| text.trim() == "0"),
            jobs_file,
            retries: args.retries,
            timeout: match args.timeout {
                // 0 is no limit, as in GNU parallel and timeout(1).
                Some(crate::duration::Timeout::After(t)) if !t.is_zero() => Some(t.min(LONGEST)),
                _ => None,
            },
            timeout_of_median: match args.timeout {
                Some(crate::duration::Timeout::OfMedian(f)) => Some(f),
                _ => None,
            },
            grace: match &args.termseq {
                Some(text) => termseq_grace(text)?,
                None => args.grace,
            }
            .min(LONGEST),
            line_buffer: args.line_buffer,
            tag: args.tag || args.tagstring.is_some() || args.onall || args.nonall,
            output: match args.output {
                OutputFormat::Text => output::Format::Text,
                OutputFormat::Json => output::Format::Json,
            },
            progress: args.progress,
            joblog: args.joblog,
            results: args.results,
            resume,
            dry_run: args.dry_run,
            remote,
            remote_files,
            slurm,
            chunksize: args.chunksize.filter(|&k| k > 0),
            max_tasks_per_worker: args.max_tasks_per_worker.filter(|&n| n > 0),
            batch,
            pipe,
            pipe_part: args.pipepart,
            round_robin: args.round_robin,
            block_file: match (args.cat, args.fifo) {
                (true, _) => Some(crate::exec::command::BlockFile::Cat),
                (false, true) => Some(crate::exec::command::BlockFile::Fifo),
                (false, false) => None,
            },
            replace,
            plus: args.plus,
            files,
            compress: args.compress,
            eta: args.eta,
            no_args: args.max_args == Some(0) && !args.pipe && !args.pipepart,
            nice: args.nice.filter(|&n| n != 0),
            starts,
            renames,
            tag_string: args.tagstring,
            tag_repeats: args.xargs,
            verbose: args.verbose,
            print_commands: args.print_commands > 0,
        })
    }
}

/// Whether `command`'s `:::` groups make one record or none. Without
/// `:::` the input is not known yet.
fn at_most_one_record(command: &[OsString]) -> bool {
    let mut groups = command
        .split(|word| word == ":::")
        .skip(1)
        .map(<[OsString]>::len)
        .peekable();
    groups.peek().is_some()
        && groups
            .try_fold(1usize, |n, len| n.checked_mul(len))
            .is_some_and(|n| n <= 1)
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn sockets() -> usize {
    crate::cpuinfo::count(crate::cpuinfo::CpuCount::Sockets)
}

/// What `N%` and `+N` count: `--use-cpus-instead-of-cores` asks for sockets.
fn cpus_counted(args: &RunArgs) -> fn() -> usize {
    if args.use_cpus_instead_of_cores {
        sockets
    } else {
        cpus
    }
}

/// The slots `-j 0` asks for: as many as the system allows. Slots start
/// only as tasks keep them busy, and fewer when threads run out; the
/// descriptor limit bounds them (the run fits them to what is open then).
fn as_many_as_possible() -> usize {
    let files = crate::limits::descriptor_limit().unwrap_or(1 << 20);
    usize::try_from(files / crate::limits::DESCRIPTORS_PER_SLOT)
        .unwrap_or(usize::MAX)
        .clamp(1, 32_768)
}

/// `--jobs` as GNU parallel reads it: `N`, `N%` of the CPUs, `+N` and `-N`
/// (the CPUs plus or minus N, at least 1), `0`: as many as possible.
/// `None` when it is none of these (then it names a file).
fn parse_jobs(text: &str, cpus: fn() -> usize) -> Option<usize> {
    let text = text.trim();
    if let Some(pct) = text.strip_suffix('%') {
        let pct: f64 = pct.parse().ok().filter(|p: &f64| p.is_finite() && *p >= 0.0)?;
        return Some(((cpus() as f64 * pct / 100.0).floor() as usize).max(1));
    }
    if let Some(n) = text.strip_prefix('+') {
        return Some(cpus().saturating_add(n.parse().ok()?));
    }
    if let Some(n) = text.strip_prefix('-') {
        return Some(cpus().saturating_sub(n.parse().ok()?).max(1));
    }
    match text.parse::<usize>().ok()? {
        0 => Some(as_many_as_possible()),
        n => Some(n),
    }
}

/// The most of `--jobs FILE` read: its first line must end within it, so
/// an endless file (`/dev/zero`) is an error instead of a hang.
const JOBS_FILE_MOST: usize = 4096;

/// `--jobs FILE`: the first line of FILE, read as `--jobs` itself.
fn read_jobs_file(path: &Path) -> Result<usize> {
    let first = first_line(path)?;
    let first = first.trim();
    parse_jobs(first, cpus).with_context(|| format!("{} holds {} on its first line", path.display(), shown(first)))
}

/// The first line of `path` (without its line end), read from at most
/// [`JOBS_FILE_MOST`] bytes. A FIFO with no writer reads as empty instead
/// of waiting for one.
fn first_line(path: &Path) -> Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = || format!("cannot read {}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(cannot)?;
    // Opened without waiting for a FIFO's writer; read as any file.
    // SAFETY: F_SETFL on a descriptor this function owns; clearing O_NONBLOCK is always valid.
    unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&file), libc::F_SETFL, 0) };
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        if let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            bytes.truncate(end);
            break;
        }
        if bytes.len() >= JOBS_FILE_MOST {
            bail!(
                "{} has no line end in its first {JOBS_FILE_MOST} bytes: write the count on its first line",
                path.display()
            );
        }
        let room = chunk.len().min(JOBS_FILE_MOST - bytes.len());
        match file.read(&mut chunk[..room]) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).with_context(cannot),
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `text` quoted for a message, its control characters escaped and only
/// its start when it is long.
fn shown(text: &str) -> String {
    const MOST: usize = 40;
    match text.char_indices().nth(MOST) {
        Some((at, _)) => format!("{:?}…", &text[..at]),
        None => format!("{text:?}"),
    }
}

/// `--jobs FILE` read again while the run goes on.
pub(crate) struct JobsFile<'a> {
    path: &'a Path,
    /// The count it held when last read well: kept while it holds none.
    last: std::sync::atomic::AtomicUsize,
    /// A bad read was reported; said again only after a good one.
    warned: std::sync::atomic::AtomicBool,
}

impl<'a> JobsFile<'a> {
    /// `first`: the count the file held at the start.
    pub(crate) fn new(path: &'a Path, first: usize) -> JobsFile<'a> {
        JobsFile {
            path,
            last: std::sync::atomic::AtomicUsize::new(first),
            warned: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The most slots the file may ask for in a run that started with
    /// `first`: as many as `-j 0` allows, or `first` when that is more.
    pub(crate) fn ceiling(first: usize) -> usize {
        first.max(as_many_as_possible())
    }

    /// The count the file holds now; the last good one when it cannot be
    /// read or holds no count just now (the slots stay as they are). An
    /// empty file (one being written) is passed over in silence; another
    /// bad read is reported once, until the file holds a count again.
    pub(crate) fn reread(&self) -> usize {
        use std::sync::atomic::Ordering;
        let last = self.last.load(Ordering::SeqCst);
        let bad = match first_line(self.path) {
            Ok(line) if line.trim().is_empty() => return last,
            Ok(line) => match parse_jobs(line.trim(), cpus) {
                Some(n) => {
                    self.warned.store(false, Ordering::SeqCst);
                    self.last.store(n, Ordering::SeqCst);
                    return n;
                }
                None => format!("{} holds {} on its first line", self.path.display(), shown(line.trim())),
            },
            Err(e) => format!("{e:#}"),
        };
        if !self.warned.swap(true, Ordering::SeqCst) {
            crate::say(&format!(
                "ppool: warning: --jobs FILE: {bad}; the slots stay as they are until it holds N, N%, +N, -N or 0"
            ));
        }
        last
    }
}

/// The grace that GNU parallel's `--termseq` (`TERM,200,TERM,100,KILL,25`)
/// amounts to: ppool sends SIGTERM, then SIGKILL once the grace is over, so
/// the sequence may only repeat TERM and end with KILL; its waits before
/// the KILL add up to the grace.
fn termseq_grace(text: &str) -> Result<Duration> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let refuse = || {
        anyhow::anyhow!(
            "--termseq {text}: ppool stops a task with SIGTERM, then SIGKILL after --grace; give TERM,MS (repeatable) then KILL,MS, such as TERM,200,TERM,100,KILL,25, or use --grace"
        )
    };
    if parts.len() % 2 != 0 || parts.len() < 4 {
        return Err(refuse());
    }
    let mut grace = Duration::ZERO;
    for (i, pair) in parts.chunks(2).enumerate() {
        let signal = pair[0].trim_start_matches("SIG").to_ascii_uppercase();
        let ms: u64 = pair[1].parse().map_err(|_| refuse())?;
        let last = i == parts.len() / 2 - 1;
        match (signal.as_str(), last) {
            ("TERM" | "15", false) => grace += Duration::from_millis(ms),
            ("KILL" | "9", true) => {}
            _ => return Err(refuse()),
        }
    }
    Ok(grace)
}

/// `--delay`, `--memfree SIZE` and `--load N` (or N% of the CPUs).
fn start_limits(args: &RunArgs, cpus: fn() -> usize) -> Result<crate::exec::gate::Limits> {
    let memfree = match &args.memfree {
        Some(text) => match parse_size(text) {
            Some(bytes) => Some(bytes),
            None => bail!("--memfree {text}: give a size such as 500M or 2G (K, M, G, T: powers of 1024)"),
        },
        None => None,
    };
    let load = match &args.load {
        Some(text) => {
            let number = |t: &str| t.parse::<f64>().ok().filter(|n| n.is_finite() && *n > 0.0);
            match text.strip_suffix('%').map_or_else(|| number(text), |p| number(p).map(|p| p * cpus() as f64 / 100.0)) {
                Some(most) => Some(most),
                None => bail!("--load {text}: give the most busy threads as a number above 0 (4, 2.5) or a percentage of the CPUs (100%)"),
            }
        }
        None => None,
    };
    if memfree.is_some() && crate::sys::free_memory().is_none() {
        bail!("--memfree needs /proc/meminfo to measure free memory, which this system lacks");
    }
    if args.noswap && crate::sys::swap_pages().is_none() {
        bail!("--noswap needs /proc/vmstat to see swapping, which this system lacks");
    }
    if load.is_some() && crate::sys::busy_threads().is_none() {
        bail!("--load needs /proc/stat to measure the load, which this system lacks");
    }
    Ok(crate::exec::gate::Limits {
        gap: args.delay.filter(|gap| !gap.is_zero()),
        memfree,
        load,
        noswap: args.noswap,
    })
}

/// `500M`, `2G`, `1.5T`, `4096`: bytes, with K, M, G, T and P as powers of
/// 1024, as GNU parallel reads them.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let power = match unit.to_ascii_uppercase().trim_end_matches('B') {
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        _ => return None,
    };
    let value = number.parse::<f64>().ok().filter(|n| n.is_finite() && *n >= 0.0)? * 1024f64.powi(power);
    (value < u64::MAX as f64).then_some(value as u64)
}

/// `--er STR`, `--bnr STR` and the others: each STR with the text, between
/// braces, of the placeholder it stands for.
fn renames(args: &mut RunArgs) -> Result<Vec<(Vec<u8>, &'static [u8])>> {
    let given = [
        ("--extensionreplace", args.extension_replace.take(), &b"."[..]),
        ("--basenamereplace", args.basename_replace.take(), b"/"),
        ("--dirnamereplace", args.dirname_replace.take(), b"//"),
        (
            "--basenameextensionreplace",
            args.basename_extension_replace.take(),
            b"/.",
        ),
        ("--seqreplace", args.seq_replace.take(), b"#"),
        ("--slotreplace", args.slot_replace.take(), b"%"),
    ];
    let mut renames = Vec::new();
    for (option, text, inner) in given {
        let Some(text) = text else { continue };
        if text.is_empty() {
            bail!(
                "{option} needs a non-empty STR to stand for {{{}}}",
                String::from_utf8_lossy(inner)
            );
        }
        renames.push((text.into_vec(), inner));
    }
    // The longest name first, so that one name holding another wins.
    renames.sort_by_key(|(name, _): &(Vec<u8>, _)| std::cmp::Reverse(name.len()));
    Ok(renames)
}

/// `-n`/`-L`, `-X`, `-m` and `--max-chars`, checked against the rest.
fn batch(args: &RunArgs, runner: &Runner, mode: Mode) -> Result<Option<Batch>> {
    let many = args.xargs || args.multi || args.gnu_xargs;
    if args.max_args == Some(0) && !many {
        // GNU parallel's -N0: a record per task, inserted nowhere.
        return Ok(None);
    }
    let count = args.max_args.or(args.max_lines);
    if count == Some(0) {
        bail!("-n/-L must be at least 1 record per command (-N0 alone: one record per task, inserted nowhere)");
    }
    if count.is_none() && !many {
        if args.max_chars.is_some() {
            bail!("--max-chars limits a batch's command line: give -X, -m or -n N with it");
        }
        return Ok(None);
    }
    if mode == Mode::Apply {
        bail!("apply runs one task: -n, -L, -X and -m are for map, imap and unordered");
    }
    let Runner::Command { shell, words } = runner else {
        bail!("-n, -L, -X and -m put several records on one command line: they work with a COMMAND, not --builtin or --worker");
    };
    if words.is_empty() {
        bail!("-n, -L, -X and -m put several records on one command line: give a COMMAND for them (with no command, each record is a command line of its own)");
    }
    let environment: usize = std::env::vars_os().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut most = crate::sys::arg_max().saturating_sub(environment + XARGS_HEADROOM);
    if shell.is_some() {
        // The shell line is a single argument.
        most = crate::sys::max_arg_len().map_or(most, |len| most.min(len));
    }
    // `-m` and `--xargs`, GNU parallel's own spellings, fill its line as
    // its tutorial shows; `-X` and `-n`/`-L` fill xargs' (`xargs
    // --show-limits`: the buffer it uses).
    let default = if args.multi || args.gnu_xargs {
        crate::sys::gnu_usable_line_length()
    } else {
        XARGS_DEFAULT_CHARS
    };
    let max_chars = match args.max_chars {
        Some(0) => bail!("--max-chars must be at least 1"),
        Some(n) => n.min(most),
        None => default.min(most),
    };
    Ok(Some(Batch {
        max_records: count.unwrap_or(usize::MAX),
        max_chars,
        style: if args.multi || args.gnu_xargs {
            BatchStyle::Join
        } else {
            BatchStyle::Repeat
        },
        spread: 1,
    }))
}

/// `--pipe` and its options, checked against the rest.
fn pipe(
    args: &RunArgs,
    header: Option<&str>,
    runner: &Runner,
    source: &InputSource,
    remote: bool,
    jobs: usize,
) -> Result<Option<Cutting>> {
    if !args.pipe && !args.pipepart {
        return Ok(None);
    }
    if args.shuf {
        bail!("--shuf shuffles records; --pipe and --pipepart send blocks in input order (leave out --shuf)");
    }
    if args.round_robin && (args.cat || args.fifo || args.retries > 0) {
        bail!("--round-robin feeds long-running tasks a stream of blocks: it cannot be retried or put in files (leave out --retries, --cat and --fifo)");
    }
    if args.pipepart {
        if args.cat || args.fifo || args.max_args.is_some() || args.max_lines.is_some() || args.remove_rec_sep {
            bail!("--pipepart feeds each task its range of the file: --cat, --fifo, -N and --rrs work with --pipe");
        }
        let one_file = matches!(source, InputSource::Sources(specs)
            if specs.len() == 1 && matches!(specs[0].origin, Origin::File(_)));
        if !one_file {
            bail!("--pipepart reads one seekable file: give it as -a FILE (use --pipe for stdin)");
        }
    }
    if !matches!(runner, Runner::Command { .. }) {
        bail!("--pipe writes each block to a command's stdin: give a COMMAND, not --builtin or --worker");
    }
    if remote {
        bail!("--pipe runs its tasks on this machine: leave out --ssh");
    }
    if args.xargs || args.multi || args.gnu_xargs || args.max_chars.is_some() {
        bail!("--pipe passes records on stdin, not on the command line: leave out -X, -m and --max-chars (-N N puts N records in each block)");
    }
    if args.json || args.csv || args.colsep.is_some() || args.colsep_regex.is_some() {
        bail!("--pipe passes blocks on as they are: leave out --json, --csv and --colsep");
    }
    match source {
        InputSource::Sources(specs) if specs.len() == 1 && !matches!(specs[0].origin, Origin::Values(_)) => {}
        _ => bail!("--pipe reads one stream: give it on stdin or as one -a FILE, not as ::: values or several sources"),
    }
    // GNU parallel: with --pipe, -L N makes records of N lines, packed
    // into blocks by size; -N counts records per block.
    let records = args.max_args;
    if records == Some(0) || args.max_lines == Some(0) {
        bail!("-N and -L must be at least 1 (records per block, lines per record)");
    }
    let (size, per_slot) = match &args.block {
        Some(text) => match text.trim().strip_prefix('-') {
            // GNU parallel: --block -N is N blocks per job slot.
            Some(count) => match count.parse::<usize>() {
                Ok(n) if n > 0 && args.pipepart => (Cutting::default().size, Some(n)),
                Ok(n) if n > 0 => bail!(
                    "--block {text}: N blocks per job slot needs the input's size: use --pipepart -a FILE, or give --pipe a size such as 10M"
                ),
                _ => bail!("--block {text}: give a size in bytes such as 100k, 10M or 1G, or -N for N blocks per job slot with --pipepart"),
            },
            None => match blocks::parse_size(text) {
                Some(size) if size > 0 => (size, None),
                _ => bail!("--block {text}: give a size in bytes such as 100k, 10M or 1G"),
            },
        },
        None => (Cutting::default().size, None),
    };
    let recstart = args
        .recstart
        .as_ref()
        .map_or_else(Vec::new, |text| blocks::unescape(text.as_bytes()));
    let recend = match (&args.recend, args.null) {
        (Some(text), _) => blocks::unescape(text.as_bytes()),
        (None, true) => vec![0],
        // GNU parallel: --recstart alone means records only start so.
        (None, false) if !recstart.is_empty() => Vec::new(),
        (None, false) => b"\n".to_vec(),
    };
    if recend.is_empty() && recstart.is_empty() && (records.is_some() || args.pipepart || args.regexp) {
        bail!("--recend and --recstart are both empty, so records have no boundary: give one of them, or only --pipe --block SIZE for blocks of exactly SIZE bytes");
    }
    // A literal separator as an expression: each byte as itself.
    let literal = |bytes: &[u8]| bytes.iter().map(|b| format!("(?-u:\\x{b:02x})")).collect::<String>();
    let mut separators = (literal(&recend), literal(&recstart));
    let regexp = if args.regexp {
        let text = |given: &Option<OsString>, name: &str| match given {
            Some(text) => text
                .to_str()
                .map(str::to_owned)
                .with_context(|| format!("--{name} with --regexp must be UTF-8 text")),
            None => Ok(String::new()),
        };
        let recstart = text(&args.recstart, "recstart")?;
        let recend = match (&args.recend, args.null) {
            (Some(_), _) => text(&args.recend, "recend")?,
            (None, true) => "\\x00".to_owned(),
            (None, false) if !recstart.is_empty() => String::new(),
            (None, false) => "\\n".to_owned(),
        };
        let re = blocks::regexp(&recend, &recstart).with_context(|| {
            format!("--recend {recend:?} and --recstart {recstart:?} are no valid regular expressions")
        })?;
        separators = (recend, recstart);
        Some(re)
    } else {
        None
    };
    let (header, header_regex) = match header {
        None => (0, None),
        Some(":") => (1, None),
        Some(text) => match text.parse::<usize>() {
            Ok(lines) => (lines, None),
            // GNU parallel: anything else is a regular expression.
            Err(_) => match regex::bytes::Regex::new(text) {
                Ok(re) => (0, Some(re)),
                Err(e) => bail!(
                    "--header {text}: with --pipe give the number of lines that top every block, : for one, or a regular expression that matches them: {e}"
                ),
            },
        },
    };
    Ok(Some(Cutting {
        size,
        recend,
        recstart,
        records,
        blocks: per_slot.map(|n| n.saturating_mul(jobs.max(1))),
        header,
        header_regex,
        lines_per_record: args.max_lines,
        regexp,
        count: args.output == OutputFormat::Json,
        remove_separators: match args.remove_rec_sep {
            true => Some(
                blocks::Separators::new(&separators.0, &separators.1)
                    .context("--rrs: the separators make no valid regular expression")?,
            ),
            false => None,
        },
    }))
}

/// Splits `cmd a ::: x y :::+ 1 2 :::: f` into the command words and the
/// input sources. A word of three or more colons, optionally followed by
/// `+`, that is no separator is refused while both separators have their
/// default names: it is almost surely a typing error (`:::::`), and renaming
/// a separator is how such a word is passed on literally.
fn split_sources(words: Vec<OsString>, arg_sep: &OsStr, file_sep: &OsStr) -> Result<(Vec<OsString>, Vec<SourceSpec>)> {
    if arg_sep.is_empty() || file_sep.is_empty() || arg_sep == file_sep {
        bail!("--arg-sep and --arg-file-sep must be two different, non-empty words");
    }
    let plus = |sep: &OsStr| {
        let mut s = sep.to_os_string();
        s.push("+");
        s
    };
    let (arg_plus, file_plus) = (plus(arg_sep), plus(file_sep));
    let defaults = arg_sep == ":::" && file_sep == "::::";
    enum Sep {
        Args,
        Files,
    }
    let mut command = Vec::new();
    let mut sources: Vec<SourceSpec> = Vec::new();
    let mut current: Option<(Sep, bool)> = None;
    let mut values: Vec<OsString> = Vec::new();
    let mut finish = |current: Option<(Sep, bool)>, values: Vec<OsString>, sources: &mut Vec<SourceSpec>| match current
    {
        Some((Sep::Args, linked)) => {
            let name = format!("::: source {}", sources.len() + 1);
            sources.push(SourceSpec {
                origin: Origin::Values(values),
                linked,
                name,
            });
        }
        Some((Sep::Files, linked)) => {
            for (i, path) in values.iter().enumerate() {
                sources.push(file_source(Path::new(path), linked && i == 0, "::::"));
            }
        }
        None => command = values,
    };
    for word in words {
        let sep = if word == arg_sep {
            Some((Sep::Args, false))
        } else if word == arg_plus {
            Some((Sep::Args, true))
        } else if word == file_sep {
            Some((Sep::Files, false))
        } else if word == file_plus {
            Some((Sep::Files, true))
        } else {
            if defaults && is_colon_word(word.as_bytes()) {
                bail!(
                    "unknown separator {}: input sources start with ::: (values), :::: (files), or :::+ / ::::+ to pair with the previous source; use --arg-sep to pass it as a value",
                    word.to_string_lossy()
                );
            }
            None
        };
        match sep {
            Some(sep) => finish(current.replace(sep), std::mem::take(&mut values), &mut sources),
            None => values.push(word),
        }
    }
    finish(current, values, &mut sources);
    Ok((command, sources))
}

/// `:::::`, `::+`-like words: three or more colons and an optional `+`.
fn is_colon_word(word: &[u8]) -> bool {
    let colons = word.strip_suffix(b"+").unwrap_or(word);
    colons.len() >= 3 && colons.iter().all(|&b| b == b':')
}

fn file_source(path: &Path, linked: bool, flag: &str) -> SourceSpec {
    if path.as_os_str() == "-" {
        return SourceSpec {
            origin: Origin::Stdin,
            linked,
            name: "stdin".into(),
        };
    }
    SourceSpec {
        origin: Origin::File(path.to_path_buf()),
        linked,
        name: format!("{flag} {}", path.display()),
    }
}

/// `-0`, `--colsep`, `--colsep-regex`, `--csv`, `--header`, `--trim` and
/// `--json`, checked against each other.
fn input_format(args: &RunArgs) -> Result<Format> {
    let colsep_given = args.colsep.is_some() || args.colsep_regex.is_some();
    if colsep_given && args.json {
        bail!("--colsep and --json cannot be used together");
    }
    if args.csv && args.json {
        bail!("--csv and --json cannot be used together: choose the input's format");
    }
    if args.csv && args.null {
        bail!("--csv reads lines; it cannot be used with --null");
    }
    if args.csv && args.colsep_regex.is_some() {
        bail!("--csv splits on one character: give it as --colsep C, not --colsep-regex");
    }
    if let Some(header) = &args.header {
        if header != ":" {
            bail!("--header {header}: ppool supports --header : (the first line or value of each source names its columns)");
        }
        if args.json {
            bail!("--header names columns; with --json, name JSON fields directly ({{field}})");
        }
    }
    let mut colsep = match (&args.colsep, &args.colsep_regex) {
        (Some(sep), _) => Some(Colsep::Literal(crate::input::columns::unescape_colsep(sep.as_bytes()))),
        (None, Some(re)) => {
            Some(Colsep::Regex(regex::bytes::Regex::new(re).with_context(|| {
                format!("--colsep-regex {re} is no valid regular expression")
            })?))
        }
        (None, None) => None,
    };
    if let (true, Some(Colsep::Literal(sep))) = (args.csv, &colsep) {
        if sep.len() != 1 || sep[0] == b'"' || sep[0] == b'\n' {
            bail!("--csv takes a one-character --colsep (such as ';' or '\\t'), not a quote or a newline");
        }
    }
    // GNU parallel: --header without a separator splits the header, and
    // the records, on tabs.
    if args.header.is_some() && colsep.is_none() && !args.csv {
        colsep = Some(Colsep::Literal(b"\t".to_vec()));
    }
    let trim = match args.trim.as_deref() {
        Some("l") => Trim::Left,
        Some("r") => Trim::Right,
        Some("lr" | "rl") => Trim::Both,
        _ => Trim::No,
    };
    let delimiter = match &args.delimiter {
        Some(text) => {
            let delimiter = c_unescape(text.as_bytes());
            if delimiter.is_empty() {
                bail!("-d needs a delimiter: give one such as ',' or '\\n'");
            }
            if args.null || args.csv {
                bail!("-d sets the input's delimiter: it cannot be used with -0 or --csv");
            }
            Some(delimiter)
        }
        None => None,
    };
    Ok(Format {
        null: args.null,
        delimiter,
        eof: args.eof.as_ref().map(|eof| eof.as_bytes().to_vec()),
        colsep,
        csv: args.csv,
        trim,
        json: args.json,
        skip_blank: args.no_run_if_empty,
        shuffle: args.shuf,
    })
}

/// A delimiter as xargs -d reads it: C escapes (`\n`, `\t`, `\0`, `\\`,
/// `\xHH`, octal `\NNN`); any other byte, or an unknown escape, as written.
fn c_unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let (b, next) = (text[i], text.get(i + 1).copied());
        i += 1;
        let Some(next) = next.filter(|_| b == b'\\') else {
            out.push(b);
            continue;
        };
        i += 1;
        let simple = match next {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'v' => Some(0x0b),
            b'\\' => Some(b'\\'),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
        } else if next == b'x' && text.get(i).is_some_and(u8::is_ascii_hexdigit) {
            let digits = text[i..].iter().take(2).take_while(|b| b.is_ascii_hexdigit()).count();
            let hex = std::str::from_utf8(&text[i..i + digits]).unwrap_or("0");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            i += digits;
        } else if (b'0'..=b'7').contains(&next) {
            let more = text[i..]
                .iter()
                .take(2)
                .take_while(|b| (b'0'..=b'7').contains(*b))
                .count();
            let octal = std::str::from_utf8(&text[i - 1..i + more]).unwrap_or("0");
            out.push(u16::from_str_radix(octal, 8).map_or(0, |n| n as u8));
            i += more;
        } else {
            out.extend_from_slice(&[b'\\', next]);
        }
    }
    out
}

/// `--slurm`, `--slurm-args` and `--cpus-per-task` with srun found in PATH
/// and the allocation ppool runs in, if any (`SLURM_JOB_ID`).
fn slurm(args: &RunArgs, remote: bool) -> Result<crate::exec::slurm::Cluster> {
    if remote {
        bail!("--slurm and --ssh both say where tasks run: give one of them");
    }
    if args.cat || args.fifo {
        bail!("--slurm runs tasks on other nodes, where a --cat or --fifo file of this machine is not: leave them out and the block comes on the task's stdin");
    }
    let words = match &args.slurm_args {
        Some(text) => shlex::bytes::split(text.as_bytes())
            .with_context(|| format!("--slurm-args {text}: cannot split it into words: check its quotes"))?
            .into_iter()
            .map(OsString::from_vec)
            .collect(),
        None => Vec::new(),
    };
    let srun = crate::exec::command::resolve(std::ffi::OsStr::new("srun")).map_err(|_| {
        anyhow::anyhow!("--slurm runs tasks with Slurm's srun, which is not in PATH: run ppool on a node of the cluster (a login node, or in an sbatch script)")
    })?;
    Ok(crate::exec::slurm::Cluster {
        srun,
        args: words,
        cpus_per_task: args.cpus_per_task.unwrap_or(1),
        allocation: std::env::var("SLURM_JOB_ID").ok().filter(|id| !id.is_empty()),
    })
}

/// Reads `-S` values, `--ssh-file` and the environment. `None` when no
/// host was given. `jobs`: `--jobs` as this machine reads it, for `:`.
fn remote(args: &RunArgs, jobs: usize) -> Result<Option<Remote>> {
    let (specs, file) = (&args.ssh, args.ssh_file.as_deref());
    if specs.is_empty() && file.is_none() {
        return Ok(None);
    }
    let local_slots = match args.jobs {
        Some(_) => jobs,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut lines: Vec<String> = specs.to_vec();
    if let Some(path) = file {
        lines.extend(read_host_file(path)?);
    }
    let mut hosts = parse_hosts(&lines, local_slots)?;
    let per_host = PerHost::from_jobs(args.jobs.as_deref(), jobs);
    if let PerHost::Count(n) = per_host {
        for host in hosts.iter_mut().filter(|h| h.slots.is_none()) {
            host.slots = Some(n);
        }
    }
    if hosts.is_empty() {
        match file {
            Some(path) => bail!("no hosts in --ssh {} or --ssh-file {}", specs.join(","), path.display()),
            None => bail!("--ssh was given no host: give HOST, N/HOST or ':' (this machine)"),
        }
    }
    let ssh = if hosts.iter().any(|h| h.name.is_some() && h.ssh.is_empty()) {
        ssh_command(std::env::var_os("PPOOL_SSH"))?
    } else {
        // For hosts the --ssh-file may list later.
        ssh_command(std::env::var_os("PPOOL_SSH")).unwrap_or_default()
    };
    let down_for = match std::env::var("PPOOL_SSH_RETRY_AFTER") {
        Ok(text) if !text.is_empty() => {
            crate::duration::parse(&text).map_err(|e| anyhow::anyhow!("PPOOL_SSH_RETRY_AFTER: {e}"))?
        }
        _ => DEFAULT_DOWN_FOR,
    };
    // -M is accepted for GNU parallel's sake: sharing is the default.
    let shared = match std::env::var("PPOOL_SSH_CONTROLMASTER") {
        Ok(text) => !matches!(text.trim(), "no" | "0" | "off" | "false"),
        Err(_) => true,
    };
    Ok(Some(Remote {
        hosts,
        ssh,
        down_for,
        per_host,
        local_slots,
        shared,
        delay: args.sshdelay,
        specs: specs.clone(),
        file: file.map(Path::to_path_buf),
        onall: args.onall || args.nonall,
        nonall: args.nonall,
        hostgroups: args.hostgroups,
    }))
}

/// `--transferfile` and the rest, read as GNU parallel reads them.
fn remote_files(args: &RunArgs) -> Result<Files> {
    let trc = !args.trc.is_empty();
    let mut transfer = args.transferfile.clone();
    if (args.transfer || trc) && !transfer.iter().any(|t| t == "{}") {
        transfer.push("{}".into());
    }
    let workdir = match args.workdir.as_deref() {
        None => None,
        Some(dir) if dir == "..." => Some(Workdir::Temporary),
        Some(dir) if dir == "." => Some(Workdir::Dir(this_dir_from_home()?)),
        Some(dir) if dir.is_empty() => {
            bail!("--workdir needs a directory: give DIR, '.' (this one) or '...' (a new one per task)")
        }
        Some(dir) => Some(Workdir::Dir(dir.to_owned())),
    };
    Ok(Files {
        transfer,
        returns: args.returns.iter().chain(&args.trc).cloned().collect(),
        cleanup: args.cleanup || trc,
        workdir,
        env: env_vars(&args.env)?,
    })
}

/// `--workdir .`: the current directory, relative to the home directory
/// when it is under it (so the same place under another login's home), as
/// GNU parallel has it.
fn this_dir_from_home() -> Result<OsString> {
    let here = std::env::current_dir().context("--workdir .: cannot find the current directory")?;
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .and_then(|h| std::fs::canonicalize(h).ok());
    let here_real = std::fs::canonicalize(&here).unwrap_or_else(|_| here.clone());
    Ok(
        match home.as_deref().and_then(|home| here_real.strip_prefix(home).ok()) {
            Some(below) if below.as_os_str().is_empty() => ".".into(),
            Some(below) => below.as_os_str().to_owned(),
            None => here.into_os_string(),
        },
    )
}

/// Variables a run sets or that belong to this session and machine:
/// `--env _` never sends them.
const SESSION_VARS: &[&str] = &[
    "_", "HOME", "USER", "LOGNAME", "SHELL", "PATH", "PWD", "OLDPWD", "SHLVL", "TERM", "DISPLAY", "MAIL", "HOSTNAME",
    "TMPDIR", "LANG", "LANGUAGE",
];
const SESSION_PREFIXES: &[&str] = &["SSH_", "XDG_", "PPOOL_", "LC_", "PARALLEL_"];

/// `--env NAME` (also `NAME,NAME`): each set variable's name and value;
/// one not set is left out, as GNU parallel leaves it. `_` stands for every
/// variable that is not in a clean login environment (see [`ignored_vars`]).
fn env_vars(given: &[String]) -> Result<Vec<(OsString, OsString)>> {
    let mut names: Vec<OsString> = Vec::new();
    for name in given.iter().flat_map(|g| g.split(',')) {
        if name == "_" {
            let ignored = ignored_vars()?;
            let mut all: Vec<OsString> = std::env::vars_os()
                .map(|(name, _)| name)
                .filter(|name| {
                    let text = name.to_string_lossy();
                    is_variable_name(&text)
                        && !ignored.contains(name)
                        && !SESSION_VARS.contains(&text.as_ref())
                        && !SESSION_PREFIXES.iter().any(|p| text.starts_with(p))
                })
                .collect();
            all.sort();
            names.extend(all);
        } else if is_variable_name(name) {
            names.push(name.into());
        } else {
            bail!("--env {name}: give a variable name (letters, digits and _, not starting with a digit), or _ for all of them");
        }
    }
    let mut seen = std::collections::HashSet::new();
    Ok(names
        .into_iter()
        .filter(|name| seen.insert(name.clone()))
        .filter_map(|name| std::env::var_os(&name).map(|value| (name, value)))
        .collect())
}

fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// GNU parallel's own directory: `$PARALLEL_HOME`, else `~/.parallel`.
fn parallel_home() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    std::env::var_os("PARALLEL_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".parallel")))
}

/// The variables `--env _` leaves out: the names in GNU parallel's
/// `ignored_vars` (`$PARALLEL_HOME`, else `~/.parallel`; `parallel
/// --record-env` writes it), one a line; without that file, the variables a
/// login shell (`$SHELL -l`, else `sh -l`) started in an empty environment
/// has.
fn ignored_vars() -> Result<std::collections::HashSet<OsString>> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    if let Some(file) = parallel_home().map(|d| d.join("ignored_vars")).filter(|f| f.is_file()) {
        let bytes = std::fs::read(&file).with_context(|| format!("--env _: cannot read {}", file.display()))?;
        return Ok(bytes
            .split(|&b| b == b'\n')
            .map(|line| OsString::from_vec(line.to_vec()))
            .collect());
    }
    Ok(login_shell_vars(home.as_deref()))
}

/// Names of the variables a fresh login shell has: it is started with only
/// HOME, USER, LOGNAME and SHELL, and given 10 s (a profile that waits
/// for input gets end-of-file).
fn login_shell_vars(home: Option<&Path>) -> std::collections::HashSet<OsString> {
    use std::process::{Command, Stdio};
    let shell = std::env::var_os("SHELL")
        .filter(|s| Path::new(s).is_absolute())
        .unwrap_or_else(|| "/bin/sh".into());
    let mut command = Command::new(&shell);
    command
        .args(["-l", "-c", "env"])
        .env_clear()
        .env("SHELL", &shell)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for name in ["USER", "LOGNAME"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    if let Some(home) = home {
        command.env("HOME", home).current_dir(home);
    }
    let mut names = std::collections::HashSet::new();
    let Ok(mut child) = command.spawn() else {
        return names;
    };
    let Some(mut out) = child.stdout.take() else {
        return names;
    };
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut text).ok();
        text
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while matches!(child.try_wait(), Ok(None)) {
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait().ok();
    for line in reader.join().unwrap_or_default().split(|&b| b == b'\n') {
        if let Some(at) = line.iter().position(|&b| b == b'=') {
            names.insert(OsString::from_vec(line[..at].to_vec()));
        }
    }
    names
}

/// `$PPOOL_SSH` (default `ssh`) split as a shell would, its program looked up in PATH.
fn ssh_command(value: Option<OsString>) -> Result<Vec<OsString>> {
    let value = value.filter(|v| !v.is_empty()).unwrap_or_else(|| "ssh".into());
    let Some(mut words) = shlex::bytes::split(value.as_bytes()) else {
        bail!(
            "PPOOL_SSH={} cannot be split into words: check its quotes",
            value.to_string_lossy()
        );
    };
    if words.is_empty() {
        bail!("PPOOL_SSH holds no program: set it to an ssh command such as 'ssh -p 2222'");
    }
    let program = OsString::from_vec(words.remove(0));
    let program = resolve(&program).map_err(|m| {
        anyhow::anyhow!(
            "{}; install an ssh client or set PPOOL_SSH",
            m.trim_start_matches("ppool: ")
        )
    })?;
    let mut command = vec![program.into_os_string()];
    command.extend(words.into_iter().map(OsString::from_vec));
    // ssh runs in a background process group: a password or host-key prompt
    // would stop it (SIGTTIN) and hang the task. ssh takes the first value it
    // sees for an option, so a BatchMode in PPOOL_SSH still wins.
    command.extend(["-o".into(), "BatchMode=yes".into()]);
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use proptest::prelude::*;

    fn config(line: &[&str]) -> Result<Config> {
        let cli = Cli::try_parse_from(line).map_err(|e| anyhow::anyhow!("{e}"))?;
        match Action::new(cli)? {
            Action::Run(config) => Ok(*config),
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn ssh_command_splits_like_a_shell() {
        let words = ssh_command(Some("sh -p '2 2' -o \"A=b c\"".into())).unwrap();
        assert!(Path::new(&words[0]).is_absolute());
        assert_eq!(&words[1..], ["-p", "2 2", "-o", "A=b c", "-o", "BatchMode=yes"]);
        assert!(ssh_command(Some("ssh 'open".into())).is_err());
        let e = ssh_command(Some("no-such-ssh-xyz".into())).unwrap_err();
        assert!(e.to_string().contains("PPOOL_SSH"), "{e}");
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
        let InputSource::Sources(sources) = c.source else {
            panic!("no sources")
        };
        let origins: Vec<Origin> = sources.into_iter().map(|s| s.origin).collect();
        assert_eq!(
            origins,
            [
                Origin::Values(vec!["a".into(), "b".into()]),
                Origin::Values(vec!["1".into()])
            ]
        );
    }

    #[test]
    fn termseq_becomes_the_grace_before_sigkill() {
        assert_eq!(
            termseq_grace("TERM,200,TERM,100,TERM,50,KILL,25").unwrap(),
            Duration::from_millis(350)
        );
        assert_eq!(termseq_grace("SIGTERM,1000,SIGKILL,0").unwrap(), Duration::from_secs(1));
        for bad in [
            "INT,200,TERM,100,KILL,25",
            "TERM,100",
            "TERM,x,KILL,1",
            "KILL,1,TERM,1",
            "TERM,1,KILL",
        ] {
            let e = termseq_grace(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--termseq {bad}: ")), "{e}");
        }
    }

    #[test]
    fn sizes_are_read_in_powers_of_1024() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("1K"), Some(1024));
        assert_eq!(parse_size("1.5k"), Some(1536));
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("1MB"), Some(1 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1M"), None);
        assert_eq!(parse_size("1Q"), None);
    }

    #[test]
    fn a_jobs_file_is_read_from_its_first_line_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs");
        std::fs::write(&path, " 3 \nignored\n").unwrap();
        assert_eq!(read_jobs_file(&path).unwrap(), 3);
        // The first line may be a long one, as long as it ends in time.
        std::fs::write(&path, format!("{}7\n", " ".repeat(JOBS_FILE_MOST - 2))).unwrap();
        assert_eq!(read_jobs_file(&path).unwrap(), 7);
        std::fs::write(&path, "2").unwrap();
        assert_eq!(read_jobs_file(&path).unwrap(), 2);
    }

    #[test]
    fn an_endless_or_bad_jobs_file_is_an_error_that_says_what_to_do() {
        let e = format!("{:#}", read_jobs_file(Path::new("/dev/zero")).unwrap_err());
        assert!(e.contains("no line end in its first 4096 bytes"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs");
        std::fs::write(&path, "x".repeat(10 * JOBS_FILE_MOST)).unwrap();
        let e = format!("{:#}", read_jobs_file(&path).unwrap_err());
        assert!(e.contains("no line end"), "{e}");
        std::fs::write(&path, format!("{}\n", "y".repeat(100))).unwrap();
        let e = format!("{:#}", read_jobs_file(&path).unwrap_err());
        assert!(e.contains(&format!("holds {:?}…", "y".repeat(40))), "{e}");
        assert!(e.len() < 200, "{e}");
        let e = format!("{:#}", read_jobs_file(dir.path()).unwrap_err());
        assert!(e.contains("cannot read"), "{e}");
        let e = config(&["ppool", "map", "-j", "/dev/zero", "true"]).unwrap_err();
        assert!(format!("{e:#}").starts_with("--jobs /dev/zero: give N"), "{e:#}");
    }

    #[test]
    fn a_jobs_file_read_again_keeps_the_slots_when_it_holds_no_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs");
        // As a pipe (`-j <(echo 2)`) is: empty once read at the start.
        std::fs::write(&path, "").unwrap();
        let file = JobsFile::new(&path, 2);
        assert_eq!(file.reread(), 2);
        std::fs::write(&path, "4\n").unwrap();
        assert_eq!(file.reread(), 4);
        // Being written: passed over without a word.
        std::fs::write(&path, "").unwrap();
        assert_eq!(file.reread(), 4);
        assert!(!file.warned.load(std::sync::atomic::Ordering::SeqCst));
        std::fs::write(&path, "many\n").unwrap();
        assert_eq!(file.reread(), 4);
        assert!(file.warned.load(std::sync::atomic::Ordering::SeqCst));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(file.reread(), 4);
        std::fs::write(&path, "5\n").unwrap();
        assert_eq!(file.reread(), 5);
        assert!(!file.warned.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[test]
    fn a_jobs_file_may_ask_for_more_slots_than_at_the_start() {
        assert!(JobsFile::ceiling(1) > 1);
        assert_eq!(JobsFile::ceiling(1), as_many_as_possible());
        assert_eq!(JobsFile::ceiling(usize::MAX), usize::MAX);
    }

    #[test]
    fn usage_errors_say_what_to_do() {
        let e = config(&["ppool", "map", "-j", "x/no/such", "true"]).unwrap_err();
        assert!(e.to_string().contains("--jobs"), "{e}");
        let e = config(&["ppool", "apply", "echo", ":::", "a", "b"]).unwrap_err();
        assert!(e.to_string().contains("ppool map"), "{e}");
        let e = config(&["ppool", "imap", "--line-buffer", "true"]).unwrap_err();
        assert!(e.to_string().contains("unordered"), "{e}");
        assert!(config(&["ppool", "apply"]).is_err());
        // No command: each record is a shell command line.
        let c = config(&["ppool", "imap"]).unwrap();
        assert!(matches!(c.runner, Runner::Command { ref words, shell: Some(_) } if words.is_empty()));
    }

    #[test]
    fn one_record_needs_one_slot_whatever_the_cpus() {
        assert_eq!(config(&["ppool", "map", "true", ":::", "1"]).unwrap().jobs, 1);
        assert_eq!(
            config(&["ppool", "unordered", "true", ":::", "a", ":::", "b"])
                .unwrap()
                .jobs,
            1
        );
        assert_eq!(config(&["ppool", "imap", "true", ":::"]).unwrap().jobs, 1);
        assert_eq!(
            config(&["ppool", "imap", "-j", "3", "true", ":::", "1"]).unwrap().jobs,
            3
        );
        assert!(!at_most_one_record(&["true".into()]));
        assert!(!at_most_one_record(&[
            "true".into(),
            ":::".into(),
            "a".into(),
            "b".into()
        ]));
    }

    #[test]
    fn ssh_hosts_make_the_pool() {
        let c = config(&["ppool", "map", "-S", "2/a,b", "-S", "3/:", "echo"]).unwrap();
        assert_eq!(c.remote.as_ref().unwrap().hosts.len(), 3);
        // b has no count and -j was not given: its CPUs, asked as the run
        // starts; one until then.
        assert_eq!(c.jobs, 6);
        assert_eq!(c.remote.as_ref().unwrap().hosts[1].slots, None);
        let c = config(&["ppool", "map", "-j", "4", "-S", "a,1/b", "echo"]).unwrap();
        assert_eq!(c.jobs, 5);
        let e = config(&["ppool", "apply", "-S", "a", "echo"]).unwrap_err();
        assert!(e.to_string().contains("ppool map --ssh"), "{e}");
        let e = config(&["ppool", "map", "--ssh-file", "/no/such/hosts", "echo"]).unwrap_err();
        assert!(format!("{e:#}").contains("/no/such/hosts"), "{e:#}");
    }

    #[test]
    fn remote_files_are_read_as_gnu_parallel_reads_them() {
        let c = config(&["ppool", "map", "-S", "a", "--trc", "{.}.out", "--tf", "x", "echo"]).unwrap();
        assert_eq!(c.remote_files.transfer, ["x", "{}"]);
        assert_eq!(c.remote_files.returns, ["{.}.out"]);
        assert!(c.remote_files.cleanup);
        let c = config(&[
            "ppool",
            "map",
            "-S",
            "a",
            "--wd",
            "...",
            "--env",
            "PATH,NOT_SET_XYZ_123",
            "echo",
        ])
        .unwrap();
        assert_eq!(c.remote_files.workdir, Some(Workdir::Temporary));
        let names: Vec<_> = c.remote_files.env.iter().map(|(name, _)| name.clone()).collect();
        assert_eq!(names, ["PATH"]);
        // Only remote hosts take them.
        let c = config(&["ppool", "map", "-S", ":", "--tf", "x", "--env", "1BAD", "echo"]).unwrap();
        assert_eq!(c.remote_files, Files::default());
        let e = config(&["ppool", "map", "-S", "a", "--env", "1BAD", "echo"]).unwrap_err();
        assert!(e.to_string().contains("--env 1BAD"), "{e}");
        let e = config(&["ppool", "apply", "--tf", "x", "echo"]).unwrap_err();
        assert!(e.to_string().contains("ppool map --transferfile"), "{e}");
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
        let c = config(&["ppool", "apply", "true"]).unwrap();
        assert_eq!(c.source, InputSource::None);
        assert_eq!(c.jobs, 1);
        // One task: --jobs has no meaning there.
        let e = config(&["ppool", "apply", "-j", "8", "true"]).unwrap_err().to_string();
        assert!(e.contains("--jobs is not an option of `ppool apply`"), "{e}");
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
