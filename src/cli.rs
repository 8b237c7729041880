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
    "print_commands",
    "shuf",
    "arg_file",
    "progress",
    "eta",
    "line_buffer",
    "builtin",
    "worker",
    "chunksize",
    "max_tasks_per_worker",
    "ssh",
    "ssh_file",
    "transferfile",
    "transfer",
    "returns",
    "cleanup",
    "trc",
    "workdir",
    "env",
    "slurm",
    "slurm_args",
    "cpus_per_task",
    "results",
    "arg_file_sep",
    "max_args",
    "max_lines",
    "xargs",
    "gnu_xargs",
    "multi",
    "max_chars",
    "keep_order",
    "files",
    "tmpdir",
    "compress",
    "controlmaster",
    "sshdelay",
    "onall",
    "nonall",
    "hostgroups",
    "ungroup",
    "pipe",
    "block",
    "recend",
    "recstart",
    "regexp",
    "cat",
    "fifo",
    "pipepart",
    "round_robin",
    "use_cpus_instead_of_cores",
    "shellquote",
];

/// Options that `unordered`, which prints results as they end, refuses.
const NOT_FOR_UNORDERED: &[&str] = &["keep_order"];

/// Options of `unordered` alone, which prints results as they come.
const ONLY_UNORDERED: &[&str] = &["line_buffer", "ungroup"];

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
        mode(
            if name == "unordered" {
                NOT_FOR_UNORDERED
            } else {
                ONLY_UNORDERED
            },
            usage,
        )
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

/// `ppool --version`: which build a bug report is about. `-V` and the man
/// page keep the bare version, the same whatever the target.
const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("PPOOL_TARGET"), ")");

/// A parallel runner with the semantics of Python's multiprocessing.Pool.
///
/// ppool reads records (lines of stdin, NUL-separated items, `:::` arguments
/// or JSON Lines), runs a command or a builtin for each on N workers, and
/// prints each task's output whole, never mixed with another's.
#[derive(Debug, Parser)]
#[command(
    name = "ppool",
    version,
    long_version = LONG_VERSION,
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
    /// Hand one task to a named pool that lives between commands; print its id [Pool.apply_async]
    ///
    /// Starts the pool's server when none runs, hands it the task and prints
    /// the task's id at once, without waiting for it. The task runs in the
    /// directory and environment of the `submit` that started the pool.
    #[command(
        after_help = "Examples:\n  id=$(ppool submit make -C lib)\n  for d in */; do [ -f $d/Makefile ] && ppool submit make -C $d; done; ppool wait"
    )]
    Submit(SubmitArgs),
    /// Wait for one submitted task, print its output whole, exit with its status [AsyncResult.get]
    Get(GetArgs),
    /// Wait for every submitted task, print the results no `get` printed and every failure, then end the pool
    ///
    /// Exits as the other modes do: the number of failed tasks (101 past 100),
    /// counting those already printed by `get`.
    Wait(WaitArgs),
    /// List a pool's tasks: id, state, running time, exit status, command
    Status(PoolName),
    /// List the running pools, with how many tasks each has
    Pools,
    /// Stop a submitted task, or every task of the pool: SIGTERM, SIGKILL after the task's --grace
    Cancel(CancelArgs),
    /// List the registered builtins with a line of help each
    Builtins,
    /// Print a shell completion script (bash, zsh or fish)
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print the man page (roff)
    Man,
    /// The server of a named pool, started by `submit` (internal)
    #[command(name = "__pool", hide = true)]
    PoolServer {
        /// The pool's name
        name: String,
        /// Tasks at once
        #[arg(long)]
        jobs: usize,
        /// End after this long with no task and no client
        #[arg(long, value_parser = crate::duration::parse)]
        idle: Duration,
    },
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Each task's stdout and stderr, whole
    #[default]
    Text,
    /// One JSON object per task on stdout
    Json,
}

/// Options shared by the four modes.
#[derive(Debug, Default, Args)]
#[command(group(clap::ArgGroup::new("pipe_mode").args(["pipe", "pipepart"]).multiple(true)))]
pub struct RunArgs {
    /// Run N tasks at once, fewer if the system's thread, descriptor or address-space limit allows fewer (with a warning); N% of the CPUs; +N or -N: the CPUs plus or minus N; 0: as many as the system allows; FILE: its first line holds one of these, read again as tasks end (at most every second) to run more or fewer tasks, up to what 0 allows [default: number of CPUs]
    #[arg(short, long, visible_short_alias = 'P', value_name = "N", allow_hyphen_values = true)]
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

    /// `:` takes the first line (or each source's first value) as column names for {name}; with --pipe, N lines or what the regular expression REGEXP matches at the start of the input top every block
    #[arg(long, value_name = ":|N|REGEXP", help_heading = "Input")]
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

    /// Up to N records per command (xargs -n; -N is GNU parallel's spelling): with no placeholder they are appended as arguments; {1}..{N} name them; -N0: one record per task, inserted nowhere
    #[arg(
        short = 'n',
        long,
        visible_short_alias = 'N',
        value_name = "N",
        overrides_with = "max_lines",
        help_heading = "Batches"
    )]
    pub max_args: Option<usize>,

    /// Up to N input lines per command: the same as -n N (no continuation of lines ending in a blank, unlike xargs -L); with --pipe, records of N lines, as many whole ones per block as fit --block (GNU parallel)
    #[arg(
        short = 'L',
        long,
        value_name = "N",
        overrides_with = "max_args",
        help_heading = "Batches"
    )]
    pub max_lines: Option<usize>,

    /// As many records per command as xargs puts on one (see --max-chars); a word with {} is repeated for each (GNU parallel -X)
    #[arg(short = 'X', help_heading = "Batches", conflicts_with_all = ["multi", "gnu_xargs"])]
    pub xargs: bool,

    /// As -m, but an input that ends in a batch shorter than the limit is not spread over the job slots (GNU parallel --xargs)
    #[arg(long = "xargs", help_heading = "Batches")]
    pub gnu_xargs: bool,

    /// As many records per command as GNU parallel puts on one (see --max-chars); {} stands for all of them, as separate arguments (GNU parallel -m)
    #[arg(short = 'm', help_heading = "Batches")]
    pub multi: bool,

    /// With -n, -X or -m: at most N bytes per command line, counting each argument and its NUL, as xargs -s does [default: with -X and -n, xargs' (128 KiB, or the system's limit less the environment and 2 KiB, the lower: `xargs --show-limits`); with -m and --xargs, GNU parallel's (63664 bytes on Linux, or the system's limit, the lower)]
    #[arg(long, value_name = "N", help_heading = "Batches")]
    pub max_chars: Option<usize>,

    /// Cut stdin (or the one -a FILE) into blocks of whole records and write each block to the stdin of one task; the command gets no argument, {#} is the block number; -N N: N records per block; --header N (or :): the first N lines top every block
    #[arg(long, help_heading = "Pipe")]
    pub pipe: bool,

    /// As --pipe, for one seekable -a FILE: blocks are byte ranges found by seeking, each task reads its range from the file, so no data passes through one reader (--cat, --fifo and -N are for --pipe)
    #[arg(long, visible_alias = "pipe-part", help_heading = "Pipe")]
    pub pipepart: bool,

    /// With --pipe: blocks of about SIZE bytes (k, m, g: 1000s; K, M, G or Ki, Mi, Gi: 1024s, as GNU parallel); a record longer than SIZE makes its block longer; with --pipepart, -N cuts the file into N blocks per job slot (N × --jobs of about equal size) [default: 1M]
    #[arg(
        long,
        value_name = "SIZE",
        requires = "pipe_mode",
        allow_hyphen_values = true,
        help_heading = "Pipe"
    )]
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

    /// With --pipe: take the record separators out of each block (each --recend followed by a --recstart, a --recstart that starts it, a --recend that ends it), as GNU parallel --rrs
    #[arg(long = "remove-rec-sep", visible_aliases = ["rrs", "removerecsep"], requires = "pipe_mode", help_heading = "Pipe")]
    pub remove_rec_sep: bool,

    /// With --pipe: write each block to a temporary file instead of stdin; {} is its path (appended when the command has no placeholder); the file is removed when the task ends
    #[arg(long, requires = "pipe_mode", help_heading = "Pipe")]
    pub cat: bool,

    /// With --pipe: as --cat, but a named pipe the block is written into as the task reads it
    #[arg(long, requires = "pipe_mode", conflicts_with = "cat", help_heading = "Pipe")]
    pub fifo: bool,

    /// With --pipe or --pipepart: start --jobs tasks once and feed each the next block whenever it is ready for more, for commands slow to start; one result per task
    #[arg(long, visible_alias = "roundrobin", requires = "pipe_mode", help_heading = "Pipe")]
    pub round_robin: bool,

    /// Run the command words, joined by spaces, with $PPOOL_SHELL -c (default /bin/sh); each substituted value is quoted for where it stands, and one that a second shell would read (the script of sh -c, eval) is refused
    #[arg(short, long, help_heading = "Running")]
    pub shell: bool,

    /// Run the registered builtin NAME in persistent workers (see `ppool builtins`)
    #[arg(short, long, value_name = "NAME", help_heading = "Running", conflicts_with_all = ["shell", "worker"])]
    pub builtin: Option<String>,

    /// Start --jobs long-running copies of `sh -c CMD`; each record is one line on a worker's stdin, answered by its next stdout line (its stderr passes straight through)
    #[arg(long, value_name = "CMD", help_heading = "Running", conflicts_with = "shell")]
    pub worker: Option<String>,

    /// Records sent to a worker at a time: builtins [default: automatic, about 10ms of work a chunk]; --worker [default: 1], answered in order, a line each
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
    #[arg(long, value_name = "WHEN,WHY=N", allow_negative_numbers = true, overrides_with_all = ["fail_fast", "collect_errors"], help_heading = "Failures")]
    pub halt: Option<String>,

    /// Read all input first, then run the tasks in random order ({#} numbers them in that order), as GNU parallel
    #[arg(long, help_heading = "Input")]
    pub shuf: bool,

    /// Leave out records with an empty or blank value, numbering the rest as if they never were (GNU parallel); a run with no input runs no task anyway
    #[arg(short = 'r', long, help_heading = "Input")]
    pub no_run_if_empty: bool,

    /// Run a failed task up to N more times (N+1 attempts in all; GNU parallel's --retries N means N in all)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true,
        help_heading = "Failures"
    )]
    pub retries: u32,

    /// Stop a task after DUR (500ms, 10s, 2m, 1h; at most 100 years; 0: no limit), or after N% of the median run time of the tasks that succeeded so far (as GNU parallel; measured when the task starts, no limit before one has succeeded); it fails with status timeout
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse_timeout, allow_negative_numbers = true, help_heading = "Failures")]
    pub timeout: Option<crate::duration::Timeout>,

    /// Time between SIGTERM and SIGKILL when stopping a task (also after ppool itself was killed)
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse, default_value = "2s", allow_negative_numbers = true, help_heading = "Failures")]
    pub grace: Duration,

    /// unordered only: print whole lines as they arrive instead of whole tasks
    #[arg(long, visible_aliases = ["linebuffer", "lb"], help_heading = "Output")]
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
    #[arg(long, visible_alias = "bar", help_heading = "Output")]
    pub progress: bool,

    /// Print GNU parallel's progress lines on stderr, terminal or not: a header, then after each task "ETA: 2s Left: 2 AVG: 1.11s  local:2/7/100%/1.1s" (the time left, tasks left, average seconds per task; running/done/share/average on this computer), rewritten in place with \r
    #[arg(long, help_heading = "Output")]
    pub eta: bool,

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

    /// With --joblog and no command or input: run again the command lines the log holds as failed, as GNU parallel --retry-failed
    #[arg(long, requires = "joblog", conflicts_with_all = ["resume", "resume_failed"], help_heading = "Output")]
    pub retry_failed: bool,

    /// Print each command, shell-quoted, instead of running it
    #[arg(long, visible_alias = "dryrun", help_heading = "Output")]
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

    /// Print each command on stdout, shell-quoted, just before its output and with its tag (GNU parallel -v; -vv is the same)
    #[arg(short = 'v', action = clap::ArgAction::Count, help_heading = "Replace strings")]
    pub print_commands: u8,

    /// GNU parallel's further replacement strings: {+/} {+.} {+..} {..} {/..} {0%} {##} {0#} {choose_k} {uniq}, and bash-like {:-STR} {:N} {:N:M} {#RE} {##RE} {%RE} {%%RE} {/RE/STR} {//RE/STR} {/#RE/STR} {/%RE/STR} {^RE} {^^RE} {,RE} {,,RE}; each also with a field number, {2:-x} or {-1+.}
    #[arg(long, help_heading = "Replace strings")]
    pub plus: bool,

    /// Use STR instead of {.} (the record without its extension), which is then plain text, as GNU parallel --er
    #[arg(
        long = "extensionreplace",
        visible_alias = "er",
        value_name = "STR",
        help_heading = "Replace strings"
    )]
    pub extension_replace: Option<OsString>,

    /// Use STR instead of {/} (the basename), as GNU parallel --bnr
    #[arg(
        long = "basenamereplace",
        visible_alias = "bnr",
        value_name = "STR",
        help_heading = "Replace strings"
    )]
    pub basename_replace: Option<OsString>,

    /// Use STR instead of {//} (the dirname), as GNU parallel --dnr
    #[arg(
        long = "dirnamereplace",
        visible_alias = "dnr",
        value_name = "STR",
        help_heading = "Replace strings"
    )]
    pub dirname_replace: Option<OsString>,

    /// Use STR instead of {/.} (the basename without extension), as GNU parallel --bner
    #[arg(
        long = "basenameextensionreplace",
        visible_alias = "bner",
        value_name = "STR",
        help_heading = "Replace strings"
    )]
    pub basename_extension_replace: Option<OsString>,

    /// Use STR instead of {#} (the task number), as GNU parallel --seqreplace
    #[arg(long = "seqreplace", value_name = "STR", help_heading = "Replace strings")]
    pub seq_replace: Option<OsString>,

    /// Use STR instead of {%} (the slot), as GNU parallel --slotreplace
    #[arg(long = "slotreplace", value_name = "STR", help_heading = "Replace strings")]
    pub slot_replace: Option<OsString>,

    /// Input records end with DELIM instead of a newline (xargs -d; C escapes such as \n, \t, \0, \x1f; several bytes are one delimiter, as GNU parallel)
    #[arg(short = 'd', long = "delimiter", value_name = "DELIM", help_heading = "Input")]
    pub delimiter: Option<OsString>,

    /// Stop reading a stdin or file source at a record equal to EOF, as xargs -E (the rest is left unread)
    #[arg(short = 'E', value_name = "EOF", help_heading = "Input")]
    pub eof: Option<OsString>,

    /// Start tasks at least DUR apart (500ms, 2s; a bare number is seconds), as GNU parallel --delay
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse, allow_negative_numbers = true, help_heading = "Running")]
    pub delay: Option<Duration>,

    /// Run ppool and its tasks at niceness N more than now (as nice -n N; below 0 needs root), as GNU parallel --nice
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(i32).range(-20..=19), help_heading = "Running")]
    pub nice: Option<i32>,

    /// Print the number of physical CPU cores and exit, as GNU parallel (--number-of-cpus is its older name)
    #[arg(long, visible_alias = "number-of-cpus", help_heading = "Running")]
    pub number_of_cores: bool,

    /// Print the number of hardware threads (the CPUs the system schedules on) and exit, as GNU parallel
    #[arg(long, help_heading = "Running")]
    pub number_of_threads: bool,

    /// Print the number of CPU sockets and exit, as GNU parallel
    #[arg(long, help_heading = "Running")]
    pub number_of_sockets: bool,

    /// Print the longest command line GNU parallel's probe finds here and exit, as GNU parallel (-m, -X and --xargs fill its half, less 1500 bytes)
    #[arg(long, help_heading = "Running")]
    pub max_line_length_allowed: bool,

    /// Write the names of the variables set now to ~/.parallel/ignored_vars (or $PARALLEL_HOME/ignored_vars) and exit, as GNU parallel: --env _ then leaves them out
    #[arg(long, help_heading = "Remote")]
    pub record_env: bool,

    /// Exit 0 if this ppool is at least VERSION (as 0.1.0), else 255 with a message: for scripts, as GNU parallel --minversion. A GNU parallel release date (20221122) is compared with the release whose behaviour ppool follows, 20221122, which is printed
    #[arg(long, value_name = "VERSION", help_heading = "Running")]
    pub minversion: Option<String>,

    /// Count N% and +N of --jobs and --load in CPU sockets instead of hardware threads, as GNU parallel
    #[arg(long, help_heading = "Running")]
    pub use_cpus_instead_of_cores: bool,

    /// Run nothing: print each record (each line of stdin, or each ::: value) quoted for the shell, one per line, as GNU parallel
    #[arg(long, help_heading = "Running")]
    pub shellquote: bool,

    /// Accepted as GNU parallel's -q: ppool passes each command word as it is, unquoted by any shell, unless --shell is given
    #[arg(short = 'q', long, help_heading = "Running", conflicts_with = "shell")]
    pub quote: bool,

    /// Put the options in ~/.config/ppool/NAME (else GNU parallel's ~/.parallel/NAME) before the command line's; repeatable. Without it, ~/.config/ppool/config (else ~/.parallel/config) is read when it exists
    #[arg(short = 'J', long, value_name = "NAME", help_heading = "Running")]
    pub profile: Vec<String>,

    /// unordered only: print output as it arrives, as GNU parallel -u; ppool passes it in whole lines, as --line-buffer
    #[arg(short = 'u', long, help_heading = "Output")]
    pub ungroup: bool,

    /// Start a task only while at least SIZE of memory is free (500M, 2G; K, M, G, T are powers of 1024), as GNU parallel counts it; tasks already running are not stopped
    #[arg(long, value_name = "SIZE", help_heading = "Running")]
    pub memfree: Option<String>,

    /// Start a task only while fewer than N threads are running or waiting for disk (N% of the CPUs with %), as GNU parallel measures its load
    #[arg(long, value_name = "N", help_heading = "Running")]
    pub load: Option<String>,

    /// Accepted as GNU parallel's -M: with --ssh, the tasks of a host always share one ssh connection (ssh's ControlMaster, its socket in a private directory of the run); PPOOL_SSH_CONTROLMASTER=no gives each task its own
    #[arg(short = 'M', long, help_heading = "Remote")]
    pub controlmaster: bool,

    /// Start a task only while the machine is not swapping in and out at once, as GNU parallel measures it
    #[arg(long, help_heading = "Running")]
    pub noswap: bool,

    /// GNU parallel's stop sequence, in the form ppool follows: TERM,MS (repeatable) then KILL,MS; the waits before KILL add up to --grace (TERM,200,TERM,100,KILL,25 is --grace 300ms)
    #[arg(long, value_name = "SEQ", help_heading = "Failures")]
    pub termseq: Option<String>,

    /// Print the path of a new file (DIR/parXXXXXX.par) holding each task's stdout instead of the stdout itself; the files are kept (stderr is printed as usual)
    #[arg(long, help_heading = "Output")]
    pub files: bool,

    /// The directory for --files [default: $TMPDIR, else /tmp]
    #[arg(long, value_name = "DIR", requires = "files", help_heading = "Output")]
    pub tmpdir: Option<PathBuf>,

    /// Keep large output that waits on disk for its turn (imap, map) lz4-compressed, for output that compresses well; unordered prints each task's output as it ends, so nothing waits
    #[arg(long, help_heading = "Output")]
    pub compress: bool,

    /// Accepted as GNU parallel's way to keep input order, which imap and map always keep (unordered refuses it)
    #[arg(short = 'k', long, help_heading = "Output")]
    pub keep_order: bool,

    /// Run tasks on HOSTS through ssh (comma-separated, repeatable; N/host gives N slots, else as many as the host has CPUs, asked once, with --jobs N, N%, +N, -N applied to each host; ':' is this machine; @G/host puts host in group G, @G alone uses only group G's hosts; the ssh command is $PPOOL_SSH, default ssh, or the host's own, as GNU writes it: 'ssh -p 2222 user@host', the host last)
    #[arg(
        short = 'S',
        long = "ssh",
        visible_alias = "sshlogin",
        value_name = "HOSTS",
        help_heading = "Remote"
    )]
    pub ssh: Vec<String>,

    /// Read ssh hosts from FILE, one per line (blank lines and # comments skipped); read again as tasks end (at most every second) when it changes: an added host gets tasks, a removed one no new tasks
    #[arg(long, visible_alias = "sshloginfile", value_name = "FILE", help_heading = "Remote")]
    pub ssh_file: Option<PathBuf>,

    /// Copy FILE (a template, usually {}) to the host before its task, to the same path under the remote working directory (the part after /./ when there is one; an absolute path stays where it is); repeatable. rsync when both ends have it, else tar through ssh. Not for ':'
    #[arg(long, visible_alias = "tf", value_name = "FILE", help_heading = "Remote")]
    pub transferfile: Vec<OsString>,

    /// --transferfile {}
    #[arg(long, help_heading = "Remote")]
    pub transfer: bool,

    /// Copy FILE (a template, such as {.}.out) back from the host after its task, to the same path here; repeatable. A task that succeeded but whose file cannot be copied fails with status transfer
    #[arg(long = "return", value_name = "FILE", help_heading = "Remote")]
    pub returns: Vec<OsString>,

    /// Remove the task's --transferfile and --return files on the host after it, and the directories they leave empty
    #[arg(long, help_heading = "Remote")]
    pub cleanup: bool,

    /// --transfer --return FILE --cleanup
    #[arg(long, value_name = "FILE", help_heading = "Remote")]
    pub trc: Vec<OsString>,

    /// Run remote tasks in DIR (a template; relative to the login directory), made when missing. '...': a new directory per task under ~/.parallel/tmp, removed after it; '.': this directory, relative to the home directory when it is under it
    #[arg(long, visible_alias = "wd", value_name = "DIR", help_heading = "Remote")]
    pub workdir: Option<OsString>,

    /// Give remote tasks the variable NAME with its value here (repeatable, or NAME,NAME). '_': every variable but those named in ~/.parallel/ignored_vars, else but those a login shell sets
    #[arg(long, value_name = "NAME", help_heading = "Remote")]
    pub env: Vec<String>,
    /// Run each task through Slurm's srun: inside an allocation (an sbatch script) as a job step, with as many slots as it has tasks; outside one as a job of its own, at most --jobs at once
    #[arg(long, help_heading = "Slurm")]
    pub slurm: bool,

    /// With --slurm: more srun options for every task, split into words as a shell would (--slurm-args '--partition=short --time=10')
    #[arg(
        long,
        value_name = "ARGS",
        requires = "slurm",
        allow_hyphen_values = true,
        help_heading = "Slurm"
    )]
    pub slurm_args: Option<String>,

    /// With --slurm: CPUs for each task's step or job (srun -c) [default: 1]
    #[arg(long, value_name = "C", requires = "slurm", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Slurm")]
    pub cpus_per_task: Option<u32>,

    /// Start a new ssh client at least DUR after the last (500ms, 2s; a bare number is seconds), as GNU parallel --sshdelay
    #[arg(long, visible_alias = "ssh-delay", value_name = "DUR", value_parser = crate::duration::parse, help_heading = "Remote")]
    pub sshdelay: Option<Duration>,

    /// Run every record on every host (each pair is one task, numbered record by record); output lines are tagged with the host, as GNU parallel --onall
    #[arg(long, conflicts_with = "nonall", help_heading = "Remote")]
    pub onall: bool,

    /// Run the command once on every host, with no input; output lines are tagged with the host, as GNU parallel --nonall
    #[arg(long, help_heading = "Remote")]
    pub nonall: bool,

    /// A record ending in @GROUP (or @G1+G2) runs only on the hosts of those groups, the suffix removed; hosts join groups as @G1+G2/HOST, and each is in the group of its own name; a record whose groups no host has runs anywhere, as GNU parallel --hostgroups
    #[arg(long, visible_alias = "hgrp", help_heading = "Remote")]
    pub hostgroups: bool,

    /// The command and its arguments, then optional `::: INPUT...` and `:::: FILE...` sources; with no command, each record is a command line run by the shell ($PPOOL_SHELL, default /bin/sh), as `parallel < jobs.txt` does
    #[arg(value_name = "COMMAND", trailing_var_arg = true)]
    pub command: Vec<OsString>,
}

/// `--pool NAME`, shared by submit, get and wait.
#[derive(Debug, Args)]
pub struct PoolName {
    /// The pool: one server per name, for as long as it has work or a `wait` has not come
    #[arg(long = "pool", value_name = "NAME", default_value = "default")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub pool: PoolName,

    /// Run N tasks of the pool at once; given to a running pool, its size for the tasks that start next [default: number of CPUs]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Run the command words, joined by spaces, with $PPOOL_SHELL -c (default /bin/sh)
    #[arg(short, long)]
    pub shell: bool,

    /// Run the task again up to N more times when it fails
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,

    /// Stop the task after DUR; it fails with status timeout (124)
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse)]
    pub timeout: Option<Duration>,

    /// Time between SIGTERM and SIGKILL when stopping the task
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse, default_value = "2s")]
    pub grace: Duration,

    /// When the task succeeds, run CMD (split as a shell would, run without one); {id}, {status} and {exit} stand for the task's, {} for its command
    #[arg(long, value_name = "CMD")]
    pub on_done: Option<String>,

    /// When the task fails (after its retries), run CMD, with the placeholders of --on-done
    #[arg(long, value_name = "CMD")]
    pub on_error: Option<String>,

    /// On the first failed task the pool starts no more and stops the running ones; `wait` exits with its code
    #[arg(long)]
    pub fail_fast: bool,

    /// A pool started by this submit ends after DUR with no task and no client
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse, default_value = "10m")]
    pub idle: Duration,

    /// The command and its arguments, run as written
    #[arg(value_name = "COMMAND", trailing_var_arg = true, required = true)]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub pool: PoolName,

    /// Give up waiting after DUR: exit 124, the task goes on and can be fetched later
    #[arg(long, value_name = "DUR", value_parser = crate::duration::parse)]
    pub timeout: Option<Duration>,

    /// Prefix each output line with the command and a TAB
    #[arg(long)]
    pub tag: bool,

    /// text: the task's output, whole; json: one object
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: OutputFormat,

    /// The task id `ppool submit` printed
    #[arg(value_name = "ID")]
    pub id: u64,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    #[command(flatten)]
    pub pool: PoolName,

    /// Every task of the pool: the queued ones never start
    #[arg(long, conflicts_with = "id")]
    pub all: bool,

    /// The task id `ppool submit` printed
    #[arg(value_name = "ID", required_unless_present = "all")]
    pub id: Option<u64>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub pool: PoolName,

    /// Cancel every task first (as `ppool cancel --all`), then report and end the pool
    #[arg(long)]
    pub cancel: bool,

    /// Prefix each output line with the command and a TAB
    #[arg(long)]
    pub tag: bool,

    /// text: each task's output, whole; json: one object per task
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    pub output: OutputFormat,
}

/// A run's command line that gives no option: `ppool MODE WORD...` whose
/// first word after the mode does not start with `-`. That word starts the
/// command, which takes every word after it (`trailing_var_arg`), so every
/// option is at its default: the same [`Cli`] as clap's parse, without
/// building the mode's hundred options first (the most of a short run's
/// own work; a test holds the two equal). None for any other command line.
pub fn without_options(args: &[OsString]) -> Option<Cli> {
    let first = args.get(2)?;
    if first.as_encoded_bytes().starts_with(b"-") {
        return None;
    }
    let run = RunArgs {
        command: args[2..].to_vec(),
        // The defaults clap's attributes above give; the rest are the
        // types' own (false, None, empty, 0).
        arg_sep: ":::".into(),
        arg_file_sep: "::::".into(),
        grace: Duration::from_secs(2),
        output: OutputFormat::Text,
        ..RunArgs::default()
    };
    let command = match args.get(1)?.to_str()? {
        "apply" => Command::Apply(run),
        "map" => Command::Map(run),
        "imap" => Command::Imap(run),
        "unordered" => Command::Unordered(run),
        _ => return None,
    };
    Some(Cli { command })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use proptest::prelude::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
        command().debug_assert();
    }

    fn words(line: &[&str]) -> Vec<OsString> {
        line.iter().map(OsString::from).collect()
    }

    /// What clap makes of `args`, as text (the structs have no `PartialEq`).
    fn by_clap(args: &[OsString]) -> String {
        format!("{:?}", Cli::try_parse_from(args).expect("clap parses it"))
    }

    #[test]
    fn a_command_line_without_options_is_what_clap_makes_of_it() {
        for line in [
            &["ppool", "unordered", "true", ":::", "1"][..],
            &["ppool", "imap", "echo", "-n", "--jobs", "3", ":::", "a", "::::", "f"],
            &["ppool", "map", "sh", "-c", "echo {}", "--", "x"],
            &["ppool", "apply", "make", "test"],
            &["ppool", "unordered", "", "-j2"],
            &["ppool", "imap", "help", "--help"],
            &["ppool", "unordered", ":::", "a", "b"],
        ] {
            let args = words(line);
            let fast = without_options(&args).expect("no option given");
            assert_eq!(format!("{fast:?}"), by_clap(&args), "{line:?}");
        }
    }

    #[test]
    fn any_option_first_or_another_command_goes_to_clap() {
        for line in [
            &["ppool", "unordered", "-j2", "true"][..],
            &["ppool", "unordered", "--", "true"],
            &["ppool", "unordered", "-"],
            &["ppool", "imap"],
            &["ppool", "submit", "true"],
            &["ppool", "wait"],
            &["ppool"],
        ] {
            assert!(without_options(&words(line)).is_none(), "{line:?}");
        }
    }

    proptest! {
        /// Any words after a first that is not an option, bytes that are
        /// not UTF-8 among them.
        #[test]
        fn without_options_agrees_with_clap(
            mode in prop::sample::select(vec!["apply", "map", "imap", "unordered"]),
            first in "[^-].{0,8}",
            rest in prop::collection::vec(
                prop_oneof![
                    Just(b":::".to_vec()),
                    Just(b"--".to_vec()),
                    Just(b"-j".to_vec()),
                    Just(b"--tag".to_vec()),
                    prop::collection::vec(any::<u8>(), 0..6),
                ],
                0..6,
            ),
        ) {
            use std::os::unix::ffi::OsStringExt;
            let mut args = words(&["ppool", mode, &first]);
            args.extend(rest.into_iter().map(OsString::from_vec));
            let fast = without_options(&args).expect("no option given");
            prop_assert_eq!(format!("{:?}", fast), by_clap(&args));
        }
    }
}
