// `main` is ours, not std's: std's start-up work (it reads /proc/self/maps
// to place a stack guard, and installs handlers for it) was a tenth of the
// instructions of a whole `ppool apply true`. What of it matters is done in
// `main` below.
#![no_main]

use clap::error::ErrorKind;
use clap::FromArgMatches;

use ppool::cli::Cli;

#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    reopen_closed_stdio();
    // As std does: a write to a closed pipe is an EPIPE error, not a signal.
    // SAFETY: setting a signal's disposition touches no memory of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // A panic is a bug: it says so and ends the run with a status of its
    // own. `exit` flushes stdout, as returning from std's main would.
    std::panic::set_hook(Box::new(|info| {
        ppool::exit::report_panic(info.payload(), info.location())
    }));
    std::process::exit(std::panic::catch_unwind(run).unwrap_or(ppool::exit::INTERNAL))
}

/// As std does: a closed stdin, stdout or stderr becomes /dev/null, so that
/// no pipe or file ppool opens later takes its number.
fn reopen_closed_stdio() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes only the three entries of `fds`.
    if unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } <= 0 {
        return;
    }
    for fd in fds {
        if fd.revents & libc::POLLNVAL != 0 {
            // SAFETY: a C string literal; the lowest free number is `fd.fd`.
            unsafe {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}

/// Parses the command line and runs it; the process's exit status.
fn run() -> i32 {
    let cli = match parse() {
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
            eprint!("ppool: {}", text.strip_prefix("error: ").unwrap_or(&text));
            return ppool::exit::USAGE;
        }
    };
    match ppool::run(cli) {
        Ok(code) => code,
        // A closed stdout (`ppool man | head`) is a quiet stop, not an error.
        Err(e) if is_broken_pipe(&e) => ppool::exit::code(ppool::exit::Ending::BrokenPipe),
        Err(e) => {
            eprintln!("ppool: {e:#}");
            ppool::exit::USAGE
        }
    }
}

/// `Cli::try_parse`, without dropping the parser: it lives until the process
/// exits, and freeing its many small allocations cost a tenth of the
/// start-up's instructions.
fn parse() -> Result<Cli, clap::Error> {
    let command = Box::leak(Box::new(ppool::cli::command()));
    let mut matches = command.try_get_matches_from_mut(std::env::args_os())?;
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
