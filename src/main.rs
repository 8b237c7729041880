use clap::error::ErrorKind;
use clap::Parser;

fn main() {
    let cli = match ppool::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) => {
            let text = e.render().to_string();
            eprint!("ppool: {}", text.strip_prefix("error: ").unwrap_or(&text));
            std::process::exit(ppool::exit::USAGE);
        }
    };
    match ppool::run(cli) {
        Ok(code) => std::process::exit(code),
        // A closed stdout (`ppool man | head`) is a quiet stop, not an error.
        Err(e) if is_broken_pipe(&e) => std::process::exit(ppool::exit::code(ppool::exit::Ending::BrokenPipe)),
        Err(e) => {
            eprintln!("ppool: {e:#}");
            std::process::exit(ppool::exit::USAGE);
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
