//! ppool: a parallel runner with the semantics of Python's `multiprocessing.Pool`.
//! This file wires the pipeline: input -> scheduler -> executor -> sink -> output.

pub mod builtins;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod exec;
pub mod exit;
pub mod guard;
pub mod input;
pub mod joblog;
pub mod man;
pub mod output;
pub mod progress;
pub mod scheduler;
pub mod signals;
pub mod sink;
pub mod task;
pub mod template;

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use clap::CommandFactory;

use cancel::{Cancel, StopReason};
use cli::{Cli, Command, CompletionShell};
use config::{Config, InputSource, Mode, Resume, Runner};
use exec::command::CommandExecutor;
use exec::pool::PoolExecutor;
use exec::ssh::SshExecutor;
use exec::worker::WorkerExecutor;
use exec::Executor;
use exit::Ending;
use input::{Record, Source};
use output::Output;
use scheduler::{Consumer, Plan};
use sink::Sink;
use task::Outcome;

/// Locks `m`. A poisoned lock means a thread panicked while holding it; what
/// it guards is still what the run needs to end properly, so it is used.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the parsed command line; returns the exit status.
pub fn run(cli: Cli) -> Result<i32> {
    let (mode, args) = match cli.command {
        Command::Apply(args) => (Mode::Apply, args),
        Command::Map(args) => (Mode::Map, args),
        Command::Imap(args) => (Mode::Imap, args),
        Command::Unordered(args) => (Mode::Unordered, args),
        Command::Builtins => {
            builtins::list(&mut io::stdout().lock())?;
            return Ok(0);
        }
        Command::Completions { shell } => {
            print_completions(shell, &mut io::stdout().lock())?;
            return Ok(0);
        }
        Command::Man => {
            print_man(&mut io::stdout().lock())?;
            return Ok(0);
        }
        Command::Worker { name } => return builtins::serve::main(&name),
    };
    let config = Config::new(mode, args)?;
    run_config(&config).map(exit::code)
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
    let full = Cli::command();
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
    // A run that starts tasks has a guard (forked in main) to stop them
    // should ppool be killed outright; `apply` is one foreground task, like
    // a shell's.
    let cancel = if config.mode == Mode::Apply || config.dry_run {
        Cancel::new(config.jobs, config.grace)
    } else {
        Cancel::guarded(config.jobs, config.grace)
    };
    match &config.runner {
        Runner::Command { words, shell } => {
            if config.mode == Mode::Apply {
                signals::foreground::install(&cancel, config.grace)?;
            } else {
                signals::watch(&cancel)?;
            }
            let executor = CommandExecutor::new(
                words,
                shell.as_deref(),
                config.format.json,
                config.timeout,
                config.grace,
                config.mode == Mode::Apply,
            );
            let executor = if config.line_buffer {
                executor.with_line_buffer(config.tag)
            } else {
                executor
            };
            if config.mode == Mode::Apply {
                return run_apply(config, executor, words, &cancel);
            }
            let render = |record: &Record, slot: usize| executor.render_line(record, slot);
            match &config.remote {
                Some(remote) => {
                    let remote = SshExecutor::new(&executor, remote, config.timeout, config.grace);
                    run_stream(config, &remote, &cancel, &render, &|| {}, false)
                }
                None => run_stream(config, &executor, &cancel, &render, &|| {}, false),
            }
        }
        Runner::Builtin(name) => {
            let Some(builtin) = builtins::find(name) else {
                bail!("unknown builtin '{name}': run `ppool builtins` to list them");
            };
            signals::watch(&cancel)?;
            let executor = PoolExecutor::new(
                builtin,
                config.jobs,
                config.chunksize,
                config.max_tasks_per_worker,
                config.timeout,
                config.grace,
                config.retries,
            )?;
            let render = |record: &Record, _slot: usize| {
                Ok(template::quote_argv(&[
                    name.into(),
                    OsStr::from_bytes(&record.whole).into(),
                ]))
            };
            run_stream(
                config,
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
                config.jobs,
                config.max_tasks_per_worker,
                config.timeout,
                config.grace,
            );
            let render = |record: &Record, _slot: usize| Ok(OsStr::from_bytes(&record.whole).into());
            run_stream(
                config,
                &executor,
                &cancel,
                &render,
                &|| executor.close(Some(&cancel)),
                false,
            )
        }
    }
}

/// What `--dry-run` prints and the job log records for a record in a slot.
type Render<'a> = &'a (dyn Fn(&Record, usize) -> Result<OsString, String> + Sync);

/// The streaming modes: records from the input, through the scheduler and
/// `executor`, to the sink. `close` ends the executor's workers once every
/// slot is done; `window` bounds how far `imap` may run ahead of its oldest
/// unfinished task.
fn run_stream(
    config: &Config,
    executor: &dyn Executor,
    cancel: &Arc<Cancel>,
    render: Render,
    close: &dyn Fn(),
    window: bool,
) -> Result<Ending> {
    let source = match &config.source {
        InputSource::Stdin => Source::Reader(Box::new(io::stdin()), "stdin".into()),
        InputSource::File(path) => Source::Reader(
            Box::new(std::fs::File::open(path).with_context(|| format!("cannot open --arg-file {}", path.display()))?),
            format!("--arg-file {}", path.display()),
        ),
        InputSource::Groups(groups) => Source::Groups(groups.clone()),
        InputSource::None => Source::Groups(Vec::new()),
    };
    // Known before any record is read: the product of the `:::` groups.
    let known_total = match &config.source {
        InputSource::Groups(groups) => Some(groups.iter().map(|g| g.len() as u64).product()),
        _ => None,
    };
    let (records, read_end) = input::spawn(source, config.format.clone());
    if config.dry_run {
        return dry_run(records, render);
    }
    let done = match &config.joblog {
        Some(path) => joblog::done(path, config.resume)?,
        None => Default::default(),
    };
    let skip = |record: &Record| done.contains(&record.seq);
    let log = match &config.joblog {
        Some(path) => Some(Mutex::new(joblog::JobLog::open(path, config.resume != Resume::No)?)),
        None => None,
    };
    let log_ended = |outcome: &Outcome| {
        if let Some(log) = &log {
            lock(log).record(outcome);
        }
    };
    let plan = Plan {
        jobs: config.jobs,
        retries: config.retries,
        policy: config.policy,
        skip: (!done.is_empty()).then_some(&skip as scheduler::SkipFilter),
        window: (window && config.mode == Mode::Imap).then_some(scheduler::REORDER_WINDOW),
        ended: log.is_some().then_some(&log_ended as &(dyn Fn(&Outcome) + Sync)),
    };
    let mut output = Output::new(config.output, config.tag);
    let mut sink_observers: Vec<Box<dyn sink::Observer>> = Vec::new();
    if config.progress {
        if let Some(progress) = progress::Progress::start(known_total, Arc::clone(&read_end)) {
            output.show_progress(progress.bar());
            sink_observers.push(Box::new(progress));
        }
    }
    let command_of = |record: &Record, slot: usize| {
        use std::os::unix::ffi::OsStringExt;
        render(record, slot).map(OsStringExt::into_vec).unwrap_or_default()
    };
    let logged;
    let executor: &dyn Executor = match &config.joblog {
        Some(_) => {
            logged = joblog::WithCommand {
                inner: executor,
                render: &command_of,
            };
            &logged
        }
        None => executor,
    };
    let mut sink = Sink::new(config.mode, output);
    for observer in sink_observers {
        sink.observe_with(observer);
    }
    let mut consumer = Printer {
        sink,
        cancel: Arc::clone(cancel),
        write_error: None,
    };
    scheduler::run(&plan, records, executor, cancel, &mut consumer);
    close();
    if let Some(log) = log {
        log.into_inner().unwrap_or_else(|e| e.into_inner()).finish();
    }
    let Printer { sink, write_error, .. } = consumer;
    if let Some(e) = write_error {
        if e.kind() != io::ErrorKind::BrokenPipe {
            bail!("cannot write output: {e}");
        }
        return Ok(Ending::BrokenPipe);
    }
    let ending = sink.finish(cancel.reason()).or_else(quiet_broken_pipe)?;
    if let Some(error) = lock(&read_end).error.take() {
        bail!("{error}");
    }
    Ok(ending)
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
        if self.write_error.is_none() {
            let result = self.sink.accept(outcome, self.cancel.reason());
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
    executor: CommandExecutor,
    words: &[std::ffi::OsString],
    cancel: &Arc<Cancel>,
) -> Result<Ending> {
    use std::os::unix::ffi::OsStrExt;
    let (record, executor) = match &config.source {
        InputSource::Groups(groups) => {
            if groups.iter().any(Vec::is_empty) {
                return Ok(Ending::Apply { code: 0 });
            }
            let fields = groups.iter().map(|g| g[0].as_bytes().to_vec()).collect();
            (input::group_record(1, fields, &config.format), executor)
        }
        _ => (Record::text(1, Vec::new()), executor.as_written(words)),
    };
    if config.dry_run {
        let line = executor.render_line(&record, 1).map_err(anyhow::Error::msg)?;
        let mut out = io::stdout().lock();
        let written = out.write_all(line.as_bytes()).and_then(|_| out.write_all(b"\n"));
        return written.map_or_else(quiet_broken_pipe, |_| Ok(Ending::Apply { code: 0 }));
    }
    let mut log = match &config.joblog {
        Some(path) => {
            if joblog::done(path, config.resume)?.contains(&1) {
                return Ok(Ending::Apply { code: 0 });
            }
            Some(joblog::JobLog::open(path, config.resume != Resume::No)?)
        }
        None => None,
    };
    let mut outcome = scheduler::run_with_retries(&record, 1, config.retries, &executor, cancel);
    if let Some(log) = &mut log {
        use std::os::unix::ffi::OsStringExt;
        outcome.command = executor
            .render_line(&record, 1)
            .map(OsStringExt::into_vec)
            .unwrap_or_default();
        log.record(&outcome);
        log.finish();
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

/// `--dry-run`: each command, shell-quoted, one per line; nothing runs.
fn dry_run(records: std::sync::mpsc::Receiver<Vec<Record>>, render: Render) -> Result<Ending> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut failed = 0;
    for record in records.iter().flatten() {
        match render(&record, 1) {
            Ok(line) => {
                let written = out.write_all(line.as_bytes()).and_then(|_| out.write_all(b"\n"));
                if let Err(e) = written {
                    return quiet_broken_pipe(e);
                }
            }
            Err(message) => {
                failed += 1;
                eprintln!("ppool: task {}: {message}", record.seq);
            }
        }
    }
    out.flush()
        .map_or_else(quiet_broken_pipe, |_| Ok(Ending::Completed { failed }))
}
