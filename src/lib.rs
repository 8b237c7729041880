//! ppool: a parallel runner with the semantics of Python's `multiprocessing.Pool`.
//! This file wires the pipeline: input -> scheduler -> executor -> sink -> output.

mod builtins;
mod bytes;
mod cancel;
mod capture;
pub mod cli;
mod config;
mod cpuinfo;
pub mod duration;
pub mod escaped;
mod eta;
mod exec;
pub mod exit;
pub mod guard;
mod input;
mod joblog;
mod limits;
mod man;
mod observer;
mod output;
mod pool_server;
mod profile;
mod progress;
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod raw;
mod results;
mod scheduler;
mod signals;
mod sink;
mod slot_table;
mod squeue;
mod sys;
mod target;
mod task;
mod template;

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};

use cancel::{Cancel, StopReason};
use cli::{Cli, CompletionShell};
use config::{Action, Config, InputSource, Runner};
use exec::command::CommandExecutor;
use exec::pool::PoolExecutor;
use exec::slurm::SlurmExecutor;
use exec::ssh::SshExecutor;
use exec::worker::WorkerExecutor;
use exec::Executor;
use exit::Ending;
use input::{Record, Sources};
use observer::Observers;
use output::Output;
use scheduler::{Consumer, Plan, Render};
use sink::{Mode, Sink};
use task::Outcome;

/// Locks `m`. A poisoned lock means a thread panicked while holding it; what
/// it guards is still what the run needs to end properly, so it is used.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Before any thread starts: under an address-space limit (`ulimit -v`),
/// ppool's memory is kept within what the slots were counted with.
pub fn prepare_for_limits() {
    limits::under_address_space_limit();
}

/// Writes one line of ppool's own to stderr. A stderr that cannot be
/// written to (a full disk, a closed pipe) has nowhere to report that, so a
/// failed write is ignored rather than a panic, as `eprintln!` would.
pub fn say(line: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(line.as_bytes()).and_then(|()| err.write_all(b"\n"));
}

/// Options from `--profile` files or the default file, to put before the
/// command line's, with the files they come from; `None` when there are none.
pub fn profile_defaults(cli: &Cli) -> Result<Option<(Vec<std::ffi::OsString>, Vec<std::path::PathBuf>)>> {
    match &cli.command {
        cli::Command::Apply(args)
        | cli::Command::Map(args)
        | cli::Command::Imap(args)
        | cli::Command::Unordered(args) => profile::defaults(&args.profile),
        _ => Ok(None),
    }
}

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<i32> {
    match Action::new(cli)? {
        Action::Run(config) => {
            let ending = run_config(&config);
            if config.slurm.is_some() {
                // A worker's srun killed at the end (a worker slow to go
                // on a loaded machine) can leave its job behind in Slurm.
                crate::squeue::cancel_run(&slurm_run_id());
            }
            ending.map(exit::code)
        }
        Action::Builtins => {
            builtins::list(&mut io::stdout().lock())?;
            Ok(0)
        }
        Action::Completions(shell) => {
            print_completions(shell, &mut io::stdout().lock())?;
            Ok(0)
        }
        Action::Man => {
            print_man(&mut io::stdout().lock())?;
            Ok(0)
        }
        Action::Worker(name) => builtins::serve::main(&name),
        Action::Pool(command) => pool_server::run(command),
        Action::CpuCount(what) => {
            writeln!(io::stdout().lock(), "{}", cpuinfo::count(what))?;
            Ok(0)
        }
        Action::MaxLineLength => {
            writeln!(io::stdout().lock(), "{}", sys::gnu_line_length())?;
            Ok(0)
        }
        Action::RecordEnv(file) => {
            let mut names: Vec<Vec<u8>> = std::env::vars_os()
                .map(|(name, _)| std::os::unix::ffi::OsStringExt::into_vec(name))
                .collect();
            names.sort();
            let text: Vec<u8> = names.into_iter().flat_map(|n| n.into_iter().chain([b'\n'])).collect();
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!(
                        "ppool: --record-env: cannot create {}: check its permissions",
                        dir.display()
                    )
                })?;
            }
            std::fs::write(&file, text).with_context(|| {
                format!(
                    "ppool: --record-env: cannot write {}: check its permissions",
                    file.display()
                )
            })?;
            Ok(0)
        }
        Action::ShellQuote(values) => {
            let mut out = io::stdout().lock();
            let mut put = |value: &[u8]| -> io::Result<()> {
                out.write_all(&template::quote(value))?;
                out.write_all(b"\n")
            };
            match values {
                Some(values) => {
                    for value in values {
                        put(value.as_bytes())?;
                    }
                }
                None => {
                    for line in io::BufRead::split(io::stdin().lock(), b'\n') {
                        let mut line = line.context("ppool: --shellquote: cannot read stdin")?;
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                        put(&line)?;
                    }
                }
            }
            out.flush()?;
            Ok(0)
        }
        Action::MinVersion { version, new_enough } => {
            writeln!(io::stdout().lock(), "{version}")?;
            if !new_enough {
                say(&format!(
                    "ppool: version {version} is older than --minversion asks for: install a newer ppool"
                ));
                return Ok(exit::USAGE);
            }
            Ok(0)
        }
    }
}

pub fn print_completions(shell: CompletionShell, out: &mut dyn Write) -> Result<()> {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    // clap_complete panics when its writer fails (a closed pipe): render
    // into memory, then write, so a failed write is an error like any other.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut visible_command(), "ppool", &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// The command line without its hidden internal subcommand, which
/// clap_complete would otherwise offer.
fn visible_command() -> clap::Command {
    let full = cli::command();
    let mut visible = clap::Command::new("ppool")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true);
    if let Some(about) = full.get_about() {
        visible = visible.about(about.clone());
    }
    visible.subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

pub fn print_man(out: &mut dyn Write) -> Result<()> {
    man::render(out)?;
    Ok(())
}

fn run_config(config: &Config) -> Result<Ending> {
    if let Some(increment) = config.nice.filter(|_| !config.dry_run) {
        sys::renice(increment).with_context(|| {
            format!("--nice {increment}: cannot change the niceness (a negative one needs root): give 0 to 19")
        })?;
    }
    // A run that starts tasks has a guard (forked in main) to stop them
    // should ppool be killed outright; `apply` is one foreground task, like
    // a shell's.
    let cancel = if config.mode == Mode::Apply || config.dry_run {
        Cancel::new(config.jobs, config.grace)
    } else {
        Cancel::guarded(config.jobs, config.grace)
    }
    .for_the_run();
    let (sources, names) = open_input(config)?;
    match &config.runner {
        Runner::Command { words, shell } => {
            // `--header :` names stand for column numbers, as in GNU parallel.
            let words = &input::columns::rename(words, &names);
            if config.mode == Mode::Apply || runs_here(config, &sources) {
                signals::foreground::install(&cancel, config.grace)?;
            } else {
                signals::watch(&cancel)?;
            }
            // `{##}`: the tasks, known when no source streams and no record
            // is left out or grouped.
            let syntax = crate::template::Syntax {
                total: sources
                    .known_total()
                    .filter(|_| config.batch.is_none() && !config.format.skip_blank),
                ..config.syntax()
            };
            let executor = CommandExecutor::new(
                words,
                shell.as_deref(),
                &syntax,
                config.timeout,
                config.grace,
                config.mode == Mode::Apply,
            )
            .map_err(anyhow::Error::msg)?;
            let executor = executor.with_median_timeout(config.timeout_of_median);
            let executor = if config.line_buffer {
                executor.with_line_buffer(tag(config)?)
            } else {
                executor.with_stream(stdout_lane(config))
            };
            let executor = match config.block_file {
                Some(kind) => executor.with_block_file(kind),
                None => executor,
            };
            let executor = match &config.batch {
                Some(batch) => executor.with_batch_style(batch.style),
                None => executor,
            };
            let executor = match &config.remote {
                Some(remote) if remote.nonall => executor.running_as_written(words),
                _ => executor,
            };
            if config.mode == Mode::Apply {
                return run_apply(config, sources, executor, words, &cancel);
            }
            let render = |record: &Record, slot: usize| executor.render_line(record, slot);
            let grouping = config.batch.as_ref().map(|batch| {
                let template = executor.template().clone();
                input::Grouping {
                    max_records: batch.max_records,
                    max_size: batch.max_chars,
                    base: template.batch_base(),
                    size: Box::new(move |record: &Record| template.batch_size(record)),
                    spread: batch.spread,
                    ahead: config.jobs,
                }
            });
            match (&config.remote, &config.slurm) {
                (Some(remote), _) => {
                    let files = exec::transfer::Setup::new(&config.remote_files, &syntax, config.grace)
                        .map_err(anyhow::Error::msg)?;
                    let remote = SshExecutor::new(&executor, remote, config.timeout, config.grace).with_files(files);
                    run_stream(config, (sources, grouping), &remote, &cancel, &render, &|| {}, false)
                }
                (None, Some(cluster)) => {
                    let slurm = SlurmExecutor::new(&executor, cluster, slurm_run(), config.timeout, config.grace)
                        .context("--slurm: cannot write and run srun's prolog in a temporary directory: set TMPDIR to a directory with room where programs may run")?;
                    run_stream(config, (sources, grouping), &slurm, &cancel, &render, &|| {}, false)
                }
                (None, None) => run_stream(config, (sources, grouping), &executor, &cancel, &render, &|| {}, false),
            }
        }
        Runner::Builtin(name) => {
            let Some(builtin) = builtins::find(name) else {
                bail!("unknown builtin '{name}': run `ppool builtins` to list them");
            };
            signals::watch(&cancel)?;
            let executor = PoolExecutor::new(
                builtin.name(),
                config.chunksize,
                config.max_tasks_per_worker,
                config.timeout,
                config.grace,
                config.retries,
            )?;
            let executor = match &config.slurm {
                Some(cluster) => executor.with_launcher(slurm_launcher(cluster)?),
                None => executor,
            };
            let render = |record: &Record, _slot: usize| {
                Ok(template::quote_argv(&[
                    name.into(),
                    OsStr::from_bytes(&record.shown()).into(),
                ]))
            };
            run_stream(
                config,
                (sources, None),
                &executor,
                &cancel,
                &render,
                &|| executor.close(Some(&cancel)),
                true,
            )
        }
        Runner::Worker(command) => {
            signals::watch(&cancel)?;
            let executor = WorkerExecutor::new(
                command,
                config.chunksize,
                config.max_tasks_per_worker,
                config.timeout,
                config.grace,
            );
            let executor = match &config.slurm {
                Some(cluster) => executor.with_launcher(slurm_launcher(cluster)?),
                None => executor,
            };
            let render = |record: &Record, _slot: usize| Ok(OsStr::from_bytes(&record.shown()).into());
            run_stream(
                config,
                (sources, None),
                &executor,
                &cancel,
                &render,
                &|| executor.close(Some(&cancel)),
                false,
            )
        }
    }
}

/// `--builtin` and `--worker` with `--slurm`: srun before each worker's
/// command, once Slurm has said it would start them.
fn slurm_launcher(cluster: &exec::slurm::Cluster) -> Result<Vec<std::ffi::OsString>> {
    exec::slurm::check_workers(cluster).map_err(anyhow::Error::msg)?;
    Ok(exec::slurm::worker_launcher(cluster, &slurm_run()))
}

/// `--slurm`: the name this run gives its jobs and steps, the guard's run
/// id; the guard is told to cancel them in Slurm should ppool be killed.
fn slurm_run() -> String {
    if let Some(guard) = guard::Guard::get() {
        guard.watch_slurm();
    }
    slurm_run_id()
}

fn slurm_run_id() -> String {
    std::env::var(guard::RUN_VARIABLE).unwrap_or_else(|_| std::process::id().to_string())
}

/// Whether a streaming run has one task, known before it starts: it then
/// runs on the main thread with `apply`'s signal handlers, and starts no
/// thread of its own. Only for commands run here: other executors keep
/// workers or connections of their own.
fn runs_here(config: &Config, sources: &Sources) -> bool {
    matches!(config.runner, Runner::Command { .. })
        && config.mode != Mode::Apply
        && config.remote.is_none()
        && config.slurm.is_none()
        && config.pipe.is_none()
        && config.batch.is_none()
        && sources.known_total() == Some(1)
}

/// Opens the input sources and takes off the `--header` line, which names
/// the columns the command may use; no input for `apply` without `:::`.
fn open_input(config: &Config) -> Result<(Sources, Vec<Vec<u8>>)> {
    match &config.source {
        InputSource::Sources(specs) => input::sources::open(specs, &config.format, config.link, config.header),
        InputSource::None => Ok((Sources::from_groups(&[], &config.format), Vec::new())),
    }
}

/// The streaming modes: records from the input, through the scheduler and
/// `executor`, to the sink. `close` ends the executor's workers once every
/// slot is done; `window` bounds how far `imap` may run ahead of its oldest
/// unfinished task. `input` is the opened sources and how their records
/// group into batches (`-n`, `-X`, `-m`).
fn run_stream(
    config: &Config,
    (sources, grouping): (Sources, Option<input::Grouping>),
    executor: &dyn Executor,
    cancel: &Arc<Cancel>,
    render: Render,
    close: &dyn Fn(),
    window: bool,
) -> Result<Ending> {
    sys::fewer_malloc_arenas();
    let stdout_lane = executor.stdout_lane();
    // Known before any record is read when no source streams. How many
    // batches the records make depends on their sizes, known as they are read.
    let copies = executor.copies();
    let known_total = if config.batch.is_some() {
        None
    } else {
        sources.known_total().map(|total| total.saturating_mul(copies))
    };
    let here = runs_here(config, &sources);
    let recycler = Arc::new(input::Recycler::default());
    let reading = match &config.pipe {
        Some(cutting) if config.pipe_part => match &config.source {
            config::InputSource::Sources(specs) => match &specs[..] {
                [input::SourceSpec {
                    origin: input::Origin::File(path),
                    ..
                }] => {
                    let file = std::fs::File::open(path).with_context(|| {
                        format!("cannot open {}: check the path and its permissions", path.display())
                    })?;
                    input::blocks::spawn_parts(file, cutting.clone(), 1)
                }
                _ => bail!("--pipepart reads one seekable file: give it as -a FILE"),
            },
            config::InputSource::None => bail!("--pipepart reads one seekable file: give it as -a FILE"),
        },
        Some(cutting) => {
            let stream = sources
                .into_stream()
                .context("ppool: --pipe reads one stream: give it on stdin or as one -a FILE")?;
            // Besides the running tasks' blocks, one waits for the next
            // free slot, one to be handed over and one is read: memory
            // stays within `(jobs + 3) × block`.
            input::blocks::spawn(stream, cutting.clone(), 1)
        }
        None => input::spawn(
            sources.with_recycler(Arc::clone(&recycler)),
            config.format.clone(),
            grouping,
        ),
    };
    let reading = match reading {
        Ok(blocks) if config.round_robin => Ok(input::blocks::deal(blocks, config.jobs)),
        other => other,
    };
    let (records, read_end) = reading.context(
        "cannot start the thread that reads input: the thread or process limit is reached (raise `ulimit -u`)",
    )?;
    let records = match copies {
        1 => records,
        copies => fan_out(records, copies).context(
            "cannot start the thread that reads input: the thread or process limit is reached (raise `ulimit -u`)",
        )?,
    };
    if config.dry_run {
        return dry_run(records.iter().flatten(), render);
    }
    let watch = Watch::new(config, Some(cancel), Some((known_total, &read_end)))?;
    let skip = |record: &Record| watch.done.contains(&record.seq);
    // Remote hosts bring their slots, known once each is asked.
    // `--jobs FILE` may ask for more slots than it held at the start.
    let cap = match (&config.remote, &config.jobs_file) {
        (Some(_), _) => REMOTE_SLOTS,
        (None, Some(_)) => config::JobsFile::ceiling(config.jobs),
        (None, None) => config.jobs,
    };
    // No more slots than there are tasks, when that is known.
    let jobs = known_total.map_or(cap, |total: u64| cap.min(total.max(1).try_into().unwrap_or(usize::MAX)));
    // Fewer slots where the descriptor limit has no room for more (their
    // tasks would fail to start), or where ppool's own memory for them
    // would not fit in the address space (an allocation that fails
    // aborts). `-j 0` asks for as many as they allow.
    let jobs = match config.remote {
        Some(_) => jobs,
        None if here => jobs,
        None => limits::fit(jobs, config.jobs_max).map_err(|e| anyhow::anyhow!(e))?,
    };
    let own_slots = || executor.slots();
    let window = (window && config.mode == Mode::Imap).then_some(scheduler::REORDER_WINDOW);
    let total = || known_total.or_else(|| lock(&read_end).total);
    let jobs_file = config
        .jobs_file
        .as_deref()
        .map(|path| config::JobsFile::new(path, config.jobs));
    let jobs_file = jobs_file.as_ref().map(|file| move || Some(file.reread()));
    let tag = tag(config)?.filter(|_| config.tag_string.is_some());
    let tag_of = |record: &Record, slot: usize| tag.as_ref().map(|tag| tag.render(record, slot)).unwrap_or_default();
    let announced;
    let executor = if config.verbose {
        announced = Announced { executor, render };
        &announced as &dyn Executor
    } else {
        executor
    };
    // Outside `-t`, so that a command is printed as it starts, after its wait.
    let gated;
    let executor = if config.starts.any() {
        gated = exec::gate::StartGate::new(executor, config.starts);
        &gated as &dyn Executor
    } else {
        executor
    };
    let mut plan = watch.plan(config, jobs, window, &skip, render);
    plan.total = Some(&total);
    plan.recycler = Some(&recycler);
    plan.tag = tag.is_some().then_some(&tag_of as scheduler::TagRender);
    // Tasks may travel in chunks where nothing looks at them one by one.
    // Not with `--halt`, which may stop the run in the middle of one.
    plan.chunked = config.output == output::Format::Text
        && !config.tag
        && plan.tag.is_none()
        && plan.command.is_none()
        && config.files.is_none()
        && watch.observers.is_empty()
        && !matches!(config.policy, scheduler::Policy::Halt(_));
    plan.jobs_from = match config.remote {
        Some(_) => Some(&own_slots as &(dyn Fn() -> Option<usize> + Sync)),
        None => jobs_file
            .as_ref()
            .map(|read| read as &(dyn Fn() -> Option<usize> + Sync)),
    };
    let mut output = Output::new(config.output, config.tag)
        .with_commands(config.print_commands)
        .with_files(config.files.clone())
        .with_lane(stdout_lane, config.mode == Mode::Imap);
    if config.compress {
        capture::compress_shelved();
    }
    if let Some(bar) = &watch.bar {
        output.show_progress(bar.clone());
    }
    let mut consumer = Printer {
        sink: Sink::new(config.mode, output),
        cancel: Arc::clone(cancel),
        write_error: None,
    };
    let run_end = if here {
        cancel.watch_stdout();
        let run_end = scheduler::run_here(&plan, records, executor, cancel, &mut consumer);
        // A signal that came before the task started.
        signals::foreground::into_stop(cancel);
        run_end
    } else {
        scheduler::run(&plan, records, executor, cancel, &mut consumer)?
    };
    close();
    guard::dismiss();
    let missed = watch.observers.finish();
    let Printer { sink, write_error, .. } = consumer;
    if let Some(e) = write_error {
        if e.kind() != io::ErrorKind::BrokenPipe {
            bail!("cannot write output: {e}");
        }
        return Ok(Ending::BrokenPipe);
    }
    let ending = sink.finish(cancel.reason()).or_else(quiet_broken_pipe)?;
    let ending = halted(config, &run_end, total(), ending);
    if let Some(error) = cancel.error() {
        bail!("{error}");
    }
    if let Some(error) = lock(&read_end).error.take() {
        bail!("{error}");
    }
    // A run stopped by a signal or a failure says that instead.
    if let Ending::Completed { .. } = ending {
        missed?;
    }
    Ok(ending)
}

/// The most slots remote hosts may bring together.
const REMOTE_SLOTS: usize = 4096;

/// Each record as `copies` tasks in a row (`--onall`: one per host), numbered
/// on: record N becomes tasks (N-1)×copies+1 to N×copies.
fn fan_out(
    records: std::sync::mpsc::Receiver<Vec<Record>>,
    copies: u64,
) -> io::Result<std::sync::mpsc::Receiver<Vec<Record>>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    std::thread::Builder::new().name("fan-out".into()).spawn(move || {
        for batch in records {
            let mut out = Vec::with_capacity(batch.len().saturating_mul(copies as usize));
            for record in batch {
                let first = record.seq.saturating_sub(1).saturating_mul(copies);
                for i in 1..=copies {
                    out.push(Record {
                        seq: first + i,
                        ..record.clone()
                    });
                }
            }
            if tx.send(out).is_err() {
                return;
            }
        }
    })?;
    Ok(rx)
}

/// What watches a run's tasks end, built once from the config for every
/// mode, with what the run needs to know of it.
struct Watch {
    observers: Observers,
    /// The tasks an earlier run did (`--resume`), from the job log.
    done: HashSet<u64>,
    /// The progress bar, for output to print through.
    bar: Option<indicatif::ProgressBar>,
    /// Whether an observer needs each outcome's command line.
    commands: bool,
}

impl Watch {
    /// `stop` is told to start no more tasks when the job log cannot be
    /// written; `None` when there is nothing more to start. `progress` is
    /// the task count when known and where the input tells how many it
    /// read; `None` for no bar.
    fn new(
        config: &Config,
        stop: Option<&Arc<Cancel>>,
        progress: Option<(Option<u64>, &Arc<Mutex<input::ReadEnd>>)>,
    ) -> Result<Watch> {
        let mut watch = Watch {
            observers: Observers::new(),
            done: HashSet::new(),
            bar: None,
            commands: config.joblog.is_some() || config.print_commands,
        };
        if let Some(path) = &config.joblog {
            let batches = config.batch.as_ref().map(config::Batch::describe);
            let (log, done) = joblog::JobLog::open_batched(path, config.resume, batches.as_deref())?;
            watch.done = done;
            let logger = joblog::Logger::new(log, stop.map(Arc::clone));
            watch.observers.push(Box::new(logger));
        }
        if let Some(spec) = &config.results {
            let results = results::Results::new(spec, config.format.json, stop.map(Arc::clone))?;
            watch.observers.push(Box::new(results));
        }
        if let (true, Some((total, read_end))) = (config.eta, progress) {
            let eta = eta::Eta::start(config.jobs, total, Arc::clone(read_end));
            watch.observers.push(Box::new(eta));
        }
        if let (true, Some((total, read_end))) = (config.progress, progress) {
            if let Some(progress) = progress::Progress::start(total, Arc::clone(read_end)) {
                watch.bar = Some(progress.bar());
                watch.observers.push(Box::new(progress));
            }
        }
        Ok(watch)
    }

    fn plan<'a>(
        &'a self,
        config: &Config,
        jobs: usize,
        window: Option<u64>,
        skip: scheduler::SkipFilter<'a>,
        render: Render<'a>,
    ) -> Plan<'a> {
        Plan {
            jobs,
            retries: config.retries,
            policy: config.policy,
            skip: (!self.done.is_empty()).then_some(skip),
            window,
            observers: &self.observers,
            command: self.commands.then_some(render),
            tag: None,
            chunked: false,
            // What lists a batch's records: JSON output and `--results`'
            // outcome files.
            batches: config.output == output::Format::Json || config.results.is_some(),
            recycler: None,
            total: None,
            jobs_from: None,
        }
    }
}

/// A run that `--halt` stopped says so and exits as GNU parallel would.
fn halted(config: &Config, run_end: &scheduler::RunEnd, total: Option<u64>, ending: Ending) -> Ending {
    if let (Some(halted), Ending::Completed { .. }) = (run_end.halted, ending) {
        let why = match halted.halt.on {
            scheduler::HaltOn::Fail => "failed",
            scheduler::HaltOn::Success => "succeeded",
            scheduler::HaltOn::Done => "ended",
        };
        let how = if halted.halt.now {
            "stopped the running tasks"
        } else {
            "started no more tasks"
        };
        say(&format!(
            "ppool: {how} after task {} {why} (--halt {})",
            halted.seq,
            config.halt_text.as_deref().unwrap_or("")
        ));
    }
    run_end.ending(config.policy, total, ending)
}

/// The consumer on the main thread: outcomes to the sink; a failed write
/// (a closed stdout) stops the run.
struct Printer {
    sink: Sink,
    cancel: Arc<Cancel>,
    write_error: Option<io::Error>,
}

impl Printer {
    fn check(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            self.cancel.stop(StopReason::BrokenPipe);
            self.write_error = Some(e);
        }
    }
}

impl Consumer for Printer {
    fn accept(&mut self, outcome: Outcome) {
        // A run of one task has no watcher: a signal it got is known now.
        signals::foreground::into_stop(&self.cancel);
        if self.write_error.is_none() {
            let result = self.sink.accept(outcome, self.cancel.reason());
            self.check(result);
        }
    }

    fn accept_chunk(&mut self, chunk: task::Chunk) {
        signals::foreground::into_stop(&self.cancel);
        if self.write_error.is_none() {
            let result = self.sink.accept_chunk(chunk, self.cancel.reason());
            self.check(result);
        }
    }

    fn idle(&mut self) {
        if self.write_error.is_none() {
            let result = self.sink.flush();
            self.check(result);
        }
    }
}

fn quiet_broken_pipe(e: io::Error) -> Result<Ending> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(Ending::BrokenPipe)
    } else {
        Err(e).context("cannot write output")
    }
}

fn run_apply(
    config: &Config,
    sources: Sources,
    executor: CommandExecutor,
    words: &[std::ffi::OsString],
    cancel: &Arc<Cancel>,
) -> Result<Ending> {
    let (record, executor) = match &config.source {
        InputSource::Sources(_) => match sources.first_record(&config.format)? {
            Some(record) => (record, executor),
            None => return Ok(Ending::Apply { code: 0 }),
        },
        InputSource::None => (Record::text(1, Vec::new()), executor.running_as_written(words)),
    };
    let render = |record: &Record, slot: usize| executor.render_line(record, slot);
    if config.dry_run {
        return dry_run([record], &render);
    }
    // `apply` draws no bar: its output is passed straight through.
    let watch = Watch::new(config, None, None)?;
    let skip = |record: &Record| watch.done.contains(&record.seq);
    let plan = watch.plan(config, 1, None, &skip, &render);
    let announced = Announced {
        executor: &executor,
        render: &render,
    };
    let executor: &dyn Executor = if config.verbose { &announced } else { &executor };
    let mut outcome = scheduler::run_one(&plan, &record, executor, cancel);
    // The task has ended and its result stands: a log that could not be
    // written was a warning, given as the task ended.
    let _ = watch.observers.finish();
    if let Some(error) = cancel.error() {
        bail!("{error}");
    }
    // With stdio passed through, only ppool's own notes were captured.
    outcome.stderr.copy_to(&mut io::stderr().lock(), None).ok();
    if let Some(signal) = signals::foreground::received() {
        return Ok(Ending::Signal(signal));
    }
    Ok(Ending::Apply {
        code: outcome.own_exit_code(),
    })
}

/// `--tag` or `--tagstring`: what prefixes each line of a task's output.
/// Where a task's large stdout may pass straight through to ppool's stdout
/// while it runs, instead of waiting whole in a file: plain text output in
/// `unordered` (any task) and `imap` (the task whose turn it is), where
/// nothing else needs the output itself (a tag, `-v`, `--files`, `--results`,
/// `--progress`), no retry could print it twice or fail-fast hold it back,
/// and no timeout could stop a task whose output waits for a slow reader.
fn stdout_lane(config: &Config) -> Option<Arc<capture::Lane>> {
    let plain = config.output == output::Format::Text
        && !config.tag
        && !config.print_commands
        && config.files.is_none()
        && config.results.is_none()
        && !config.progress
        && config.retries == 0
        && config.timeout.is_none()
        && config.policy == scheduler::Policy::CollectErrors
        && config.remote.is_none();
    match config.mode {
        Mode::Unordered if plain => Some(capture::Lane::new(false)),
        Mode::Imap if plain => Some(capture::Lane::new(true)),
        _ => None,
    }
}

fn tag(config: &Config) -> Result<Option<Arc<output::Tag>>> {
    Ok(match (&config.tag_string, config.tag) {
        (Some(text), _) => Some(Arc::new(
            output::Tag::template(text, &config.syntax(), config.tag_repeats)
                .map_err(|e| anyhow::anyhow!("--tagstring: {e}"))?,
        )),
        (None, true) => Some(Arc::new(output::Tag::Record)),
        (None, false) => None,
    })
}

/// `-t`: each command goes to stderr as it starts, every attempt of it, as
/// xargs -t and GNU parallel -t print them.
struct Announced<'a> {
    executor: &'a dyn Executor,
    render: Render<'a>,
}

impl Announced<'_> {
    fn announce(&self, record: &Record, slot: usize) {
        // A record that cannot be rendered never starts: its task says why.
        if let Ok(line) = (self.render)(record, slot) {
            let mut err = io::stderr().lock();
            // A stderr that cannot be written to has nowhere to say so.
            let _ = err.write_all(line.as_bytes()).and_then(|()| err.write_all(b"\n"));
        }
    }
}

impl Executor for Announced<'_> {
    fn run(&self, record: &Record, slot: usize, cancel: &Cancel) -> task::Outcome {
        self.announce(record, slot);
        self.executor.run(record, slot, cancel)
    }

    fn batch_size(&self) -> usize {
        self.executor.batch_size()
    }

    fn run_batch(&self, records: &[Record], slot: usize, cancel: &Cancel, emit: &mut dyn FnMut(task::Outcome) -> bool) {
        for record in records {
            self.announce(record, slot);
        }
        self.executor.run_batch(records, slot, cancel, emit);
    }
}

/// `--dry-run`: each command, shell-quoted, one per line; nothing runs.
fn dry_run(records: impl IntoIterator<Item = Record>, render: Render) -> Result<Ending> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut failed = 0;
    for record in records {
        match render(&record, 1) {
            Ok(line) => {
                let written = out.write_all(line.as_bytes()).and_then(|_| out.write_all(b"\n"));
                if let Err(e) = written {
                    return quiet_broken_pipe(e);
                }
            }
            Err(message) => {
                failed += 1;
                // A stderr that cannot be written to has nowhere to say so.
                say(&format!("ppool: task {}: {message}", record.seq));
            }
        }
    }
    out.flush()
        .map_or_else(quiet_broken_pipe, |_| Ok(Ending::Completed { failed }))
}
