// `main` is ours, not std's: std's start-up work (it reads /proc/self/maps
// to place a stack guard, and installs handlers for it) was a tenth of the
// instructions of a whole `ppool apply true`. What of it matters is done in
// `main` below.
#![no_main]

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};

use ppool::cli::Cli;

#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    let stdout_closed = reopen_closed_stdio();
    // As std does: a write to a closed pipe is an EPIPE error, not a signal.
    // SAFETY: setting a signal's disposition touches no memory of ours.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let code = if stdout_closed {
        use std::io::Write;
        // stderr may be closed too; there is nobody else to tell.
        let _ = writeln!(
            std::io::stderr(),
            "ppool: stdout is closed: give ppool somewhere to write, e.g. >/dev/null to discard the output"
        );
        ppool::exit::USAGE
    } else {
        // The guard is forked now, while ppool has one thread and little
        // memory to copy, and before any task exists.
        if std::env::args_os()
            .nth(1)
            .is_some_and(|mode| ppool::guard::needed(mode.as_encoded_bytes()))
        {
            ppool::guard::Guard::start();
        }
        // A panic is a bug; it ends the run with 101, as under std's main.
        std::panic::catch_unwind(run).unwrap_or(101)
    };
    // Every way out passes here: the guard, if the run started one, is
    // ended and reaped before ppool goes.
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
fn run() -> i32 {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return match e.print() {
                Ok(()) => 0,
                Err(_) => ppool::exit::code(ppool::exit::Ending::BrokenPipe),
            };
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
    let command = Box::leak(Box::new(Cli::command()));
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
