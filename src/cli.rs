//! The command line as clap sees it: types only, no logic and no I/O.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  ppool imap -j4 gzip -k ::: *.log          compress, report in input order
  seq 100 | ppool unordered curl -s https://example.org/{}
  find . -name '*.png' -print0 | ppool map -0 convert {} {.}.jpg
  ppool imap --json -s 'echo {user.name} >> {/}' < users.jsonl
  ppool apply --timeout 10s make test      one task, its exit status
  ppool map --builtin sha256 ::: *.iso     hash in persistent workers";

const MODES: &str = "\
Modes (Python's multiprocessing.Pool method in brackets):
  apply      [apply]           one task, stdin/stdout passed through
  map        [map]             print everything after all tasks end, input order
  imap       [imap]            print each result once it and all before it end
  unordered  [imap_unordered]  print each result as soon as it ends";

/// `--help` ends with the exit statuses, from the one table of them.
fn examples_and_exit_status() -> String {
    format!("{EXAMPLES}\n\n{}", crate::exit::HELP)
}

/// Options that mean nothing for the one task of `apply`: its help leaves
/// them out and the config refuses them.
pub const NOT_FOR_APPLY: &[&str] = &[
    "jobs",
    "arg_file",
    "progress",
    "line_buffer",
    "builtin",
    "worker",
    "chunksize",
    "max_tasks_per_worker",
    "ssh",
    "ssh_file",
    "results",
    "arg_file_sep",
    "max_args",
    "max_lines",
    "xargs",
    "multi",
    "max_chars",
    "pipe",
    "block",
    "recend",
    "recstart",
    "regexp",
    "cat",
    "fifo",
    "pipepart",
    "round_robin",
];

/// Options of `unordered` alone, which prints results as they come.
const ONLY_UNORDERED: &[&str] = &["line_buffer"];

/// The command line as it is parsed and documented: each mode shows only
/// the options that apply to it, under a usage line of its own, which
/// clap's errors repeat.
pub fn command() -> clap::Command {
    let mode = |hidden: &'static [&'static str], usage: &'static str| {
        move |mut mode: clap::Command| {
            for &name in hidden {
                mode = mode.mut_arg(name, |arg| arg.hide(true));
            }
            mode.override_usage(usage)
        }
    };
    let streaming = |name| {
        let usage: &'static str = match name {
            "map" => "ppool map [OPTIONS] COMMAND [ARG]... [::: INPUT...]...\n       ppool map [OPTIONS] --builtin NAME [::: INPUT...]",
            "imap" => "ppool imap [OPTIONS] COMMAND [ARG]... [::: INPUT...]...\n       ppool imap [OPTIONS] --builtin NAME [::: INPUT...]",
            _ => "ppool unordered [OPTIONS] COMMAND [ARG]... [::: INPUT...]...\n       ppool unordered [OPTIONS] --builtin NAME [::: INPUT...]",
        };
        mode(if name == "unordered" { &[] } else { ONLY_UNORDERED }, usage)
    };
    <Cli as clap::CommandFactory>::command()
        .mut_subcommand(
            "apply",
            mode(NOT_FOR_APPLY, "ppool apply [OPTIONS] COMMAND [ARG]... [::: INPUT]"),
        )
        .mut_subcommand("map", streaming("map"))
        .mut_subcommand("imap", streaming("imap"))
        .mut_subcommand("unordered", streaming("unordered"))
}

/// A parallel runner with the semantics of Python's multiprocessing.Pool.
///
/// ppool reads records (lines of stdin, NUL-separated items, `:::` arguments
/// or JSON Lines), runs a command or a builtin for each on N workers, and
/// prints each task's output whole, never mixed with another's.
#[derive(Debug, Parser)]
#[command(
    name = "ppool",
    version,
    before_long_help = MODES,
    after_help = EXAMPLES,
    after_long_help = examples_and_exit_status(),
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run exactly one task with stdin, stdout and stderr passed through [Pool.apply]
    ///
    /// Like Pool.apply: blocks until the task ends and exits with its status
    /// (124 on timeout, 128+N when killed by signal N). Takes at most one
    /// input (`::: X`); with no input the command runs as written.
    #[command(
        after_help = "Examples:\n  ppool apply --timeout 5m make test\n  ppool apply -s 'tar czf {}.tgz {}' ::: photos"
    )]
    Apply(RunArgs),
    /// Run every task, then print all results in input order [Pool.map]
    ///
    /// Like Pool.map: all-or-nothing. Nothing is printed until every task has
    /// ended; with --fail-fast a failure means no task's stdout is printed.
    #[command(
        after_help = "Examples:\n  ppool map -j8 wc -l ::: *.txt\n  ls *.csv | ppool map --fail-fast python3 check.py"
    )]
    Map(RunArgs),
    /// Print each result as soon as it and every task before it have ended [Pool.imap]
    ///
    /// Like Pool.imap: results stream out in input order.
    #[command(
        after_help = "Examples:\n  seq 10 | ppool imap -j4 sh -c 'sleep 0.$((RANDOM % 9)); echo {}'\n  ppool imap --tag gzip -t ::: *.gz"
    )]
    Imap(RunArgs),
    /// Print each result as soon as its task ends [Pool.imap_unordered]
    ///
    /// Like Pool.imap_unordered: results stream out in completion order.
    #[command(
        after_help = "Examples:\n  cat urls.txt | ppool unordered -j16 curl -sO {}\n  ppool unordered --line-buffer -s 'ping -c3 {}' ::: host1 host2"
    )]
    Unordered(RunArgs),
    /// List the registered builtins with a line of help each
    Builtins,
    /// Print a shell completion script (bash, zsh or fish)
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the man page (roff)
    Man,
    /// A persistent builtin worker: reads framed records on stdin (internal)
    #[command(name = "__worker", hide = true)]
    Worker {
        /// The builtin this worker runs
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Each task's stdout and stderr, whole
    Text,
    /// One JSON object per task on stdout
    Json,
}

/// Options shared by the four modes.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("pipe_mode").args(["pipe", "pipepart"]).multiple(true)))]
pub struct RunArgs {
    /// Run N tasks at once, fewer if the system's thread limit allows fewer; N% of the CPUs; +N or -N: the CPUs plus or minus N; 0: as many as the system allows; FILE: read it again as tasks end (at most every second) [default: number of CPUs]
    #[arg(short, long, value_name = "N", allow_hyphen_values = true)]
    pub jobs: Option<String>,

    /// Input records are separated by NUL, not newline
    #[arg(short = '0', long, help_heading = "Input")]
    pub null: bool,

    /// Read records from FILE instead of stdin; repeat for more input sources (- is stdin)
    #[arg(short = 'a', long, value_name = "FILE", help_heading = "Input")]
    pub arg_file: Vec<PathBuf>,

    /// Split each record on the literal string SEP into {1}, {2}, ... (\t is a tab, \\ a backslash)
    #[arg(long, value_name = "SEP", help_heading = "Input")]
    pub colsep: Option<OsString>,

    /// Split each record where the regular expression RE matches, into {1}, {2}, ...
    #[arg(long, value_name = "RE", help_heading = "Input", conflicts_with = "colsep")]
    pub colsep_regex: Option<String>,

    /// Each record is a CSV record (RFC 4180: quoted fields may hold separators and newlines); fields are {1}, {2}, ...
    #[arg(long, help_heading = "Input")]
    pub csv: bool,

    /// `:` takes the first line (or each source's first value) as column names for {name} (GNU's regexp form is not supported)
    #[arg(long, value_name = ":", help_heading = "Input")]
    pub header: Option<String>,

    /// Trim white space from each field or value: n (no), l (left), r (right), lr or rl (both)
    #[arg(long, value_name = "SIDES", value_parser = ["n", "l", "r", "lr", "rl"], help_heading = "Input")]
    pub trim: Option<String>,

    /// Pair the input sources value by value instead of taking their product; shorter sources wrap
    #[arg(long, help_heading = "Input")]
    pub link: bool,

    /// Use SEP instead of ::: (and SEP+ instead of :::+) to start a source of arguments
    #[arg(long, value_name = "SEP", default_value = ":::", help_heading = "Input")]
    pub arg_sep: OsString,

    /// Use SEP instead of :::: (and SEP+ instead of ::::+) to start a source of files
    #[arg(long, value_name = "SEP", default_value = "::::", help_heading = "Input")]
    pub arg_file_sep: OsString,

    /// Each line is one JSON value (JSON Lines); enables {field} and {a.b.0}
    #[arg(long, help_heading = "Input")]
    pub json: bool,

    /// Up to N records per command (xargs -n; -N is GNU parallel's spelling): with no placeholder they are appended as arguments; {1}..{N} name them
    #[arg(
        short = 'n',
        long,
        visible_short_alias = 'N',
        value_name = "N",
        overrides_with = "max_lines",
        help_heading = "Batches"
    )]
    pub max_args: Option<usize>,

    /// Up to N input lines per command: the same as -n N (no continuation of lines ending in a blank, unlike xargs -L)
    #[arg(
        short = 'L',
        long,
        value_name = "N",
        overrides_with = "max_args",
        help_heading = "Batches"
    )]
    pub max_lines: Option<usize>,

    /// As many records per command as the command-line limit allows; a word with {} is repeated for each (GNU parallel -X)
    #[arg(short = 'X', long = "xargs", help_heading = "Batches", conflicts_with = "multi")]
    pub xargs: bool,

    /// As many records per command as the command-line limit allows; {} stands for all of them, as separate arguments (GNU parallel -m)
    #[arg(short = 'm', help_heading = "Batches")]
    pub multi: bool,

    /// With -n, -X or -m: at most N bytes per command line, counting each argument and its NUL, as xargs -s does [default: 128 KiB or the system's limit less the environment, the lower]
    #[arg(long, value_name = "N", help_heading = "Batches")]
    pub max_chars: Option<usize>,

    /// Cut stdin (or the one -a FILE) into blocks of whole records and write each block to the stdin of one task; the command gets no argument, {#} is the block number; -N N: N records per block; --header N (or :): the first N lines top every block
    #[arg(long, help_heading = "Pipe")]
    pub pipe: bool,

    /// As --pipe, for one seekable -a FILE: blocks are byte ranges found by seeking, each task reads its range from the file, so no data passes through one reader (--cat, --fifo and -N are for --pipe)
    #[arg(long, help_heading = "Pipe")]
    pub pipepart: bool,

    /// With --pipe: blocks of about SIZE bytes (k, m, g: 1000s; K, M, G or Ki, Mi, Gi: 1024s, as GNU parallel); a record longer than SIZE makes its block longer [default: 1M]
    #[arg(long, value_name = "SIZE", requires = "pipe_mode", help_heading = "Pipe")]
    pub block: Option<String>,

    /// With --pipe: records end with STR (\n newline, \0 NUL, \t tab, \\ backslash) [default: \n, or nothing when only --recstart is given; -0: \0]
    #[arg(long, value_name = "STR", requires = "pipe_mode", help_heading = "Pipe")]
    pub recend: Option<OsString>,

    /// With --pipe: records start with STR; a block ends only where a --recend is followed by a --recstart
    #[arg(long, value_name = "STR", requires = "pipe_mode", help_heading = "Pipe")]
    pub recstart: Option<OsString>,

    /// With --pipe: --recend and --recstart are regular expressions (Rust regex syntax)
    #[arg(long, requires = "pipe_mode", help_heading = "Pipe")]
    pub regexp: bool,

    /// With --pipe: write each block to a temporary file instead of stdin; {} is its path (appended when the command has no placeholder); the file is removed when the task ends
    #[arg(long, requires = "pipe_mode", help_heading = "Pipe")]
    pub cat: bool,

    /// With --pipe: as --cat, but a named pipe the block is written into as the task reads it
    #[arg(long, requires = "pipe_mode", conflicts_with = "cat", help_heading = "Pipe")]
    pub fifo: bool,

    /// With --pipe or --pipepart: start --jobs tasks once and feed each the next block whenever it is ready for more, for commands slow to start; one result per task
    #[arg(long, requires = "pipe_mode", help_heading = "Pipe")]
    pub round_robin: bool,

    /// Run the command words, joined by spaces, with $PPOOL_SHELL -c (default /bin/sh); substituted values are shell-quoted
    #[arg(short, long, help_heading = "Running")]
    pub shell: bool,

    /// Run the registered builtin NAME in persistent workers (see `ppool builtins`)
    #[arg(short, long, value_name = "NAME", help_heading = "Running", conflicts_with_all = ["shell", "worker"])]
    pub builtin: Option<String>,

    /// Start --jobs long-running copies of `sh -c CMD`; each record is one line on a worker's stdin, answered by its next stdout line (its stderr passes straight through)
    #[arg(long, value_name = "CMD", help_heading = "Running", conflicts_with = "shell")]
    pub worker: Option<String>,

    /// Records sent to a builtin worker at a time [default: automatic, about 10ms of work a chunk]
    #[arg(long, value_name = "K", help_heading = "Running")]
    pub chunksize: Option<usize>,

    /// Replace each builtin or --worker worker after it has run N tasks
    #[arg(long, value_name = "N", help_heading = "Running")]
    pub max_tasks_per_worker: Option<u64>,

    /// On the first failed task: start no more, stop the running ones, exit with its code
    #[arg(long, overrides_with_all = ["collect_errors", "halt"], help_heading = "Failures")]
    pub fail_fast: bool,

    /// Run every task, then report every failure (the default)
    #[arg(long, overrides_with_all = ["fail_fast", "halt"], help_heading = "Failures")]
    pub collect_errors: bool,

    /// When to stop, as GNU parallel: never (the default), or WHEN,WHY=N: WHEN now (stop the running tasks) or soon (let them finish), WHY fail, success or done, N a count or a percentage of all tasks (--fail-fast is now,fail=1)
    #[arg(long, value_name = "WHEN,WHY=N", overrides_with_all = ["fail_fast", "collect_errors"], help_heading = "Failures")]
    pub halt: Option<String>,

    /// Accepted for xargs: a run with no input runs no task
    #[arg(short = 'r', long, help_heading = "Input")]
    pub no_run_if_empty: bool,

    /// Run a failed task up to N more times (N+1 attempts in all; GNU parallel's --retries N means N in all)
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = "Failures")]
    pub retries: u32,

    /// Stop a task after DUR (500ms, 10s, 2m, 1h; at most 100 years); it fails with status timeout
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse, help_heading = "Failures")]
    pub timeout: Option<Duration>,

    /// Time between SIGTERM and SIGKILL when stopping a task (also after ppool itself was killed)
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse, default_value = "2s", help_heading = "Failures")]
    pub grace: Duration,

    /// unordered only: print whole lines as they arrive instead of whole tasks
    #[arg(long, help_heading = "Output")]
    pub line_buffer: bool,

    /// Prefix each output line with the record and a TAB
    #[arg(long, help_heading = "Output")]
    pub tag: bool,

    /// text: each task's output, whole; json: one object per task
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "text",
        help_heading = "Output"
    )]
    pub output: OutputFormat,

    /// Show a progress bar on stderr (only when stderr is a terminal)
    #[arg(long, help_heading = "Output")]
    pub progress: bool,

    /// Log each finished task to FILE, in GNU parallel's joblog format
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub joblog: Option<PathBuf>,

    /// Save each task's stdout, stderr and outcome in files under DIR as it ends: DIR/SEQ/stdout, stderr, outcome.json; a DIR with placeholders (out/{1}/{2}) names them as GNU parallel does
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub results: Option<OsString>,

    /// With --joblog: skip the tasks the log already holds
    #[arg(long, requires = "joblog", conflicts_with = "resume_failed", help_heading = "Output")]
    pub resume: bool,

    /// With --joblog: skip the tasks the log holds as succeeded; re-run its failed ones
    #[arg(long, requires = "joblog", help_heading = "Output")]
    pub resume_failed: bool,

    /// Print each command, shell-quoted, instead of running it
    #[arg(long, help_heading = "Output")]
    pub dry_run: bool,

    /// Use STR instead of {} for the whole record, in the command and --tagstring ({} is then plain text; {.}, {1}, {#} and the others keep their names), as xargs -I and GNU parallel -I
    #[arg(
        short = 'I',
        value_name = "STR",
        overrides_with = "replace",
        help_heading = "Replace strings"
    )]
    pub replace_str: Option<OsString>,

    /// As -I STR; --replace alone is --replace={} (give STR with =, so that the command is not taken for it)
    #[arg(
        long = "replace",
        value_name = "STR",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "{}",
        overrides_with = "replace_str",
        help_heading = "Replace strings"
    )]
    pub replace: Option<OsString>,

    /// Prefix each output line with STR, its placeholders ({}, {1}, {#}, {%}, ...) filled in for the task, and a TAB (implies --tag)
    #[arg(long, value_name = "STR", help_heading = "Replace strings")]
    pub tagstring: Option<OsString>,

    /// Print each command to stderr as it starts, shell-quoted as --dry-run prints it (xargs -t)
    #[arg(short = 't', long, help_heading = "Replace strings")]
    pub verbose: bool,

    /// Run tasks on HOSTS through ssh (comma-separated, repeatable; N/host gives N slots, else --jobs or 1; ':' is this machine; the ssh command is $PPOOL_SSH, default ssh)
    #[arg(short = 'S', long = "ssh", value_name = "HOSTS", help_heading = "Remote")]
    pub ssh: Vec<String>,

    /// Read ssh hosts from FILE, one per line (blank lines and # comments skipped)
    #[arg(long, value_name = "FILE", help_heading = "Remote")]
    pub ssh_file: Option<PathBuf>,

    /// The command and its arguments, then optional `::: INPUT...` and `:::: FILE...` sources
    #[arg(value_name = "COMMAND", trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }
}
