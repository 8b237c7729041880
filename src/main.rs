// On Linux `main` is ours, not std's: std's start-up work (it reads
// /proc/self/maps to place a stack guard, and installs handlers for it) was a
// tenth of the instructions of a whole `ppool apply true`. What of it matters
// is done in `start` below, and the arguments are read from `main`'s own
// `argv`, which works on glibc and musl alike (std fills its own copy only
// through glibc). Elsewhere std's `main` runs first and then `start`.
#![cfg_attr(target_os = "linux", no_main)]

use std::ffi::OsString;

use clap::error::ErrorKind;
use clap::FromArgMatches;

use ppool::cli::Cli;

/// # Safety
/// Called by the C runtime only, with its `argc` and `argv`.
#[cfg(target_os = "linux")]
#[no_mangle]
pub unsafe extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    use std::os::unix::ffi::OsStrExt;
    let count = usize::try_from(argc).unwrap_or(0);
    let args = (0..count)
        .map(|i| {
            // SAFETY: the C runtime passes `argc` valid, NUL-terminated
            // strings in `argv`, alive for the whole process.
            let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
            std::ffi::OsStr::from_bytes(arg.to_bytes()).to_os_string()
        })
        .collect();
    start(args)
}

/// `pow`, which the progress bar's rate estimate calls, is ppool's only use
/// of the C maths library: defined here, in the program, it leaves
/// `libm.so.6` unloaded, and loading it was a tenth of a millisecond of
/// every run's start (`perf stat`: 0.16 ms of task clock for a program that
/// only links it). The code is musl's, through the `libm` crate.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[no_mangle]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

#[cfg(not(target_os = "linux"))]
fn main() {
    start(std::env::args_os().collect())
}

/// Everything before and after the run that std's `main` would do, the
/// guard, and the exit. Never returns.
fn start(args: Vec<OsString>) -> ! {
    // Under std's `main` (not Linux) the streams were already reopened, so a
    // closed stdout cannot be told from /dev/null there.
    let stdout_closed = reopen_closed_stdio();
    // A guard that shared a dead ppool's memory runs the program again to
    // stop what is left (see ppool::guard).
    if args.get(1).is_some_and(|word| word == "__guard") {
        ppool::guard::serve_exec(&args[2..]);
    }
    // As std does: a write to a closed pipe is an EPIPE error, not a signal.
    // SAFETY: setting a signal's disposition touches no memory of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // A panic is a bug: it says so and ends the run with a status of its own.
    std::panic::set_hook(Box::new(|info| {
        ppool::exit::report_panic(info.payload(), info.location())
    }));
    ppool::prepare_for_limits();
    let code = if stdout_closed {
        // stderr may be closed too; there is nobody else to tell.
        ppool::say("ppool: stdout is closed: give ppool somewhere to write, e.g. >/dev/null to discard the output");
        ppool::exit::USAGE
    } else {
        // The guard is forked now, while ppool has one thread and little
        // memory to copy, and before any task exists.
        if args
            .get(1)
            .is_some_and(|mode| ppool::guard::needed(mode.as_encoded_bytes()))
        {
            ppool::guard::Guard::start();
        } else {
            // Its tasks too are told apart from those of a ppool that runs it.
            ppool::guard::mark_run();
        }
        std::panic::catch_unwind(|| run(args)).unwrap_or(ppool::exit::INTERNAL)
    };
    // Every way out passes here: a stopped run's processes that left their
    // tasks' groups are stopped, and the guard, if the run started one, is
    // ended and reaped before ppool goes.
    ppool::escaped::finish_run();
    ppool::guard::release();
    // `exit` flushes stdout, as returning from std's main would.
    std::process::exit(code)
}

/// As std does: a closed stdin, stdout or stderr becomes /dev/null, so that
/// no pipe or file ppool opens later takes its number. Says whether stdout
/// was closed: output written there would be lost without a word.
fn reopen_closed_stdio() -> bool {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes only the three entries of `fds`.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } <= 0 {
        return false;
    }
    for fd in fds {
        if fd.revents & libc::POLLNVAL != 0 {
            // SAFETY: a C string literal; the lowest free number is `fd.fd`.
            unsafe {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
    fds[1].revents & libc::POLLNVAL != 0
}

/// Parses the command line and runs it; the process's exit status.
fn run(args: Vec<OsString>) -> i32 {
    let cli = match parse(args.clone()).map(|cli| with_profile(cli, args)) {
        Ok(Ok(cli)) => Ok(cli),
        Ok(Err(code)) => return code,
        Err(e) => Err(e),
    };
    let cli = match cli {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return match e.print() {
                Ok(()) => 0,
                Err(_) => ppool::exit::code(ppool::exit::Ending::BrokenPipe),
            };
        }
        // Bare `ppool`: the help, on stderr, is the whole message; nothing
        // ran, so the status is a usage error's, as xargs and git give one.
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ppool::exit::USAGE;
        }
        Err(e) => {
            let text = e.render().to_string();
            ppool::say(&format!(
                "ppool: {}",
                text.strip_prefix("error: ").unwrap_or(&text).trim_end()
            ));
            return ppool::exit::USAGE;
        }
    };
    match ppool::run(cli) {
        Ok(code) => code,
        // A closed stdout (`ppool man | head`) is a quiet stop, not an error.
        Err(e) if is_broken_pipe(&e) => ppool::exit::code(ppool::exit::Ending::BrokenPipe),
        Err(e) => {
            ppool::say(&format!("ppool: {e:#}"));
            ppool::exit::USAGE
        }
    }
}

/// The command line again with the options of `--profile` or the default
/// file put after the mode word; the exit status when they are no options.
fn with_profile(cli: Cli, args: Vec<OsString>) -> Result<Cli, i32> {
    let (words, files) = match ppool::profile_defaults(&cli) {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(cli),
        Err(e) => {
            ppool::say(&format!("ppool: {e:#}"));
            return Err(ppool::exit::USAGE);
        }
    };
    let mut expanded = args[..2].to_vec();
    expanded.extend(words);
    expanded.extend_from_slice(&args[2..]);
    // The command line's options win over the file's, as in GNU parallel.
    let command = ["apply", "map", "imap", "unordered"]
        .into_iter()
        .fold(ppool::cli::command(), |command, mode| {
            command.mut_subcommand(mode, |mode| mode.args_override_self(true))
        });
    parse_with(expanded, command).map_err(|e| {
        let text = e.render().to_string();
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        ppool::say(&format!(
            "ppool: with the options of {}: {}",
            files.join(", "),
            text.strip_prefix("error: ").unwrap_or(&text).trim_end()
        ));
        ppool::exit::USAGE
    })
}

/// Parses `args`. A run of one of the four modes is parsed against that
/// mode's options alone: building the whole command line (every mode and
/// subcommand, each mode's help) was most of a short run's instructions.
/// Whatever that does not parse (help, an error) is parsed again against
/// the whole command line, so that help and messages are the full ones.
fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    // No option at all: every one at its default, without a parser.
    if let Some(cli) = ppool::cli::without_options(&args) {
        return Ok(cli);
    }
    let mode = ["apply", "map", "imap", "unordered"]
        .into_iter()
        .find(|&mode| args.get(1).is_some_and(|word| word == mode));
    if let Some(mode) = mode {
        let options = <ppool::cli::RunArgs as clap::Args>::augment_args(clap::Command::new(mode));
        if let Ok(cli) = parse_with(args.clone(), clap::Command::new("ppool").subcommand(options)) {
            return Ok(cli);
        }
    }
    parse_with(args, ppool::cli::command())
}

/// `Cli::try_parse`, without dropping the parser: it lives until the process
/// exits, and freeing its many small allocations cost a tenth of the
/// start-up's instructions.
fn parse_with(args: Vec<OsString>, command: clap::Command) -> Result<Cli, clap::Error> {
    let command = Box::leak(Box::new(command));
    let mut matches = command.try_get_matches_from_mut(args)?;
    let cli = Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(command));
    std::mem::forget(matches);
    cli
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
