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
use exec::command::CommandExecutor;
use exec::ssh::SshExecutor;
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
        Command::Worker { name } => bail!("no builtin worker for {name} yet"),
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
    let Runner::Command { words, shell } = &config.runner else {
        bail!("--builtin and --worker are not available in this build");
    };
    let cancel = Cancel::new(config.jobs, config.grace);
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
        return dry_run(records, &executor);
    }
    let ssh_executor;
    let executor: &dyn exec::Executor = match &config.remote {
        Some(remote) => {
            ssh_executor = SshExecutor::new(&executor, remote, config.timeout, config.grace);
            &ssh_executor
        }
        None => &executor,
    };
    let plan = Plan {
        jobs: config.jobs,
        retries: config.retries,
        policy: config.policy,
        skip: None,
    };
    let mut consumer = Printer {
        sink: Sink::new(config.mode, Output::new(config.output, config.tag)),
        cancel: Arc::clone(&cancel),
        write_error: None,
    };
    scheduler::run(&plan, records, executor, &cancel, &mut consumer);
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
fn dry_run(records: std::sync::mpsc::Receiver<Vec<Record>>, executor: &CommandExecutor) -> Result<Ending> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut failed = 0;
    for record in records.iter().flatten() {
        match executor.render_line(&record, 1) {
            Ok(line) => {
                use std::os::unix::ffi::OsStrExt;
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
