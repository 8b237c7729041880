//! ppool: a parallel runner with the semantics of Python's `multiprocessing.Pool`.
//! This file wires the pipeline: input -> scheduler -> executor -> sink -> output.

pub mod builtins;
pub mod cancel;
pub mod cli;
pub mod config;
pub mod exec;
pub mod exit;
pub mod input;
pub mod output;
pub mod scheduler;
pub mod signals;
pub mod sink;
pub mod task;
pub mod template;

use std::io::{self, Write};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::CommandFactory;

use cancel::{Cancel, StopReason};
use cli::{Cli, Command, CompletionShell};
use config::{Config, InputSource, Mode, Runner};
use std::os::unix::ffi::OsStrExt;

use exec::command::CommandExecutor;
use exec::pool::PoolExecutor;
use exec::worker::WorkerExecutor;
use exec::Executor;
use exit::Ending;
use input::{Record, Source};
use output::Output;
use scheduler::{Consumer, Plan};
use sink::Sink;
use task::Outcome;

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
    clap_complete::generate(shell, &mut Cli::command(), "ppool", out);
    Ok(())
}

pub fn print_man(out: &mut dyn Write) -> Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)?;
    Ok(())
}

fn run_config(config: &Config) -> Result<Ending> {
    let cancel = Cancel::new(config.jobs, config.grace);
    match &config.runner {
        Runner::Command { words, shell } => {
            signals::watch(&cancel)?;
            let executor = CommandExecutor::new(
                words,
                shell.as_deref(),
                config.format.json,
                config.timeout,
                config.grace,
                config.mode == Mode::Apply,
            );
            if config.mode == Mode::Apply {
                return run_apply(config, executor, words, &cancel);
            }
            let render = |record: &Record| executor.render_line(record, 1);
            run_stream(config, &executor, &cancel, &render, &|| {}, false)
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
            let render = |record: &Record| {
                Ok(template::quote_argv(&[
                    name.into(),
                    std::ffi::OsStr::from_bytes(&record.whole).into(),
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
            let render = |record: &Record| Ok(std::ffi::OsStr::from_bytes(&record.whole).into());
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

/// The streaming modes: records from the input, through the scheduler and
/// `executor`, to the sink. `close` ends the executor's workers once every
/// slot is done; `render` is what `--dry-run` prints for a record; `window`
/// bounds how far `imap` may run ahead of its oldest unfinished task.
fn run_stream(
    config: &Config,
    executor: &dyn Executor,
    cancel: &Arc<Cancel>,
    render: &dyn Fn(&Record) -> Result<std::ffi::OsString, String>,
    close: &dyn Fn(),
    window: bool,
) -> Result<Ending> {
    let source = match &config.source {
        InputSource::Stdin => Source::Reader(Box::new(io::stdin())),
        InputSource::File(path) => Source::Reader(Box::new(
            std::fs::File::open(path).with_context(|| format!("cannot open --arg-file {}", path.display()))?,
        )),
        InputSource::Groups(groups) => Source::Groups(groups.clone()),
        InputSource::None => Source::Groups(Vec::new()),
    };
    let (records, read_end) = input::spawn(source, config.format.clone());
    if config.dry_run {
        return dry_run(records, render);
    }
    let plan = Plan {
        jobs: config.jobs,
        retries: config.retries,
        policy: config.policy,
        skip: None,
        window: (window && config.mode == Mode::Imap).then_some(scheduler::REORDER_WINDOW),
    };
    let mut consumer = Printer {
        sink: Sink::new(config.mode, Output::new(config.output, config.tag)),
        cancel: Arc::clone(cancel),
        fail_fast: config.policy == config::Policy::FailFast,
        write_error: None,
    };
    scheduler::run(&plan, records, executor, cancel, &mut consumer);
    close();
    let Printer { sink, write_error, .. } = consumer;
    if let Some(e) = write_error {
        if e.kind() != io::ErrorKind::BrokenPipe {
            bail!("cannot write output: {e}");
        }
        return Ok(Ending::BrokenPipe);
    }
    let ending = sink.finish(cancel.reason()).or_else(quiet_broken_pipe)?;
    if let Some(error) = read_end.lock().unwrap_or_else(|e| e.into_inner()).error.take() {
        bail!("{error}");
    }
    Ok(ending)
}

/// The consumer on the main thread: outcomes to the sink; a failed write
/// (a closed stdout) stops the run.
struct Printer {
    sink: Sink,
    cancel: Arc<Cancel>,
    fail_fast: bool,
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
            // The slot that ran it stops the run too, but maybe only after
            // this thread has the outcome: the sink must see the stop with
            // the failure that caused it.
            if self.fail_fast && outcome.status.is_failure() {
                self.cancel.stop(StopReason::FailFast);
            }
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
    let (record, executor) = match &config.source {
        InputSource::Groups(groups) => {
            if groups.iter().any(Vec::is_empty) {
                return Ok(Ending::Apply { code: 0 });
            }
            let fields: Vec<Vec<u8>> = groups.iter().map(|g| g[0].as_bytes().to_vec()).collect();
            let record = if fields.len() == 1 {
                input::make_record(1, fields[0].clone(), &config.format)
            } else {
                Record {
                    seq: 1,
                    line: 1,
                    whole: fields.join(&b' '),
                    fields,
                    ..Record::default()
                }
            };
            (record, executor)
        }
        _ => (Record::text(1, Vec::new()), executor.as_written(words)),
    };
    if config.dry_run {
        println!(
            "{}",
            executor
                .render_line(&record, 1)
                .map_err(anyhow::Error::msg)?
                .to_string_lossy()
        );
        return Ok(Ending::Apply { code: 0 });
    }
    let mut outcome = scheduler::run_with_retries(&record, 1, config.retries, &executor, cancel);
    // With stdio passed through, only ppool's own notes were captured.
    outcome.stderr.copy_to(&mut io::stderr().lock(), None).ok();
    if let Some(StopReason::Signal(signal)) = cancel.reason() {
        return Ok(Ending::Signal(signal));
    }
    Ok(Ending::Apply {
        code: outcome.own_exit_code(),
    })
}

/// `--dry-run`: each command, shell-quoted, one per line; nothing runs.
fn dry_run(
    records: std::sync::mpsc::Receiver<Vec<Record>>,
    render: &dyn Fn(&Record) -> Result<std::ffi::OsString, String>,
) -> Result<Ending> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut failed = 0;
    for record in records.iter().flatten() {
        match render(&record) {
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
