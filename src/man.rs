//! The man page, built from the clap definition plus the sections clap does
//! not know: the options every mode shares, examples and the exit statuses.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::Cli;

/// The forms of the SPEC's synopsis; clap's own would only say `<subcommands>`.
const SYNOPSIS: &str = r#".SH SYNOPSIS
\fBppool\fR \fIMODE\fR [\fIOPTIONS\fR] [\fB\-\-\fR] \fICOMMAND\fR [\fIARG\fR]... [\fB:::\fR \fIINPUT\fR... [\fB:::\fR \fIINPUT\fR...]]
.br
\fBppool\fR \fIMODE\fR [\fIOPTIONS\fR] \fB\-\-builtin\fR \fINAME\fR [\fB:::\fR \fIINPUT\fR...]
.br
\fBppool builtins\fR
.br
\fBppool completions\fR \fBbash\fR|\fBzsh\fR|\fBfish\fR
.br
\fBppool man\fR
.PP
\fIMODE\fR is \fBapply\fR, \fBmap\fR, \fBimap\fR or \fBunordered\fR, after the method of
Python's multiprocessing.Pool it behaves like.
"#;

const RUN_OPTIONS: &str = r#".SH "RUN OPTIONS"
The modes
.BR apply ,
.BR map ,
.B imap
and
.B unordered
share these options; give them after the mode, before the command.
"#;

const EXAMPLES: &str = r#".SH EXAMPLES
.TP
.B ppool imap \-j4 gzip \-k ::: *.log
Compress every log, four at a time; report in input order.
.TP
.B seq 100 | ppool unordered curl \-s https://example.org/{}
One request per line of input; print each answer as soon as it arrives.
.TP
.B find . \-name '*.png' \-print0 | ppool map \-0 convert {} {.}.jpg
NUL\-separated file names; print everything once all tasks have ended.
.TP
.B ppool imap \-\-json \-s 'echo {user.name} >> {/}' < users.jsonl
JSON Lines input, fields as placeholders, run by the shell with every value quoted.
.TP
.B ppool apply \-\-timeout 10s make test
Run one task with the terminal passed through; exit with its status (124 on timeout).
.TP
.B ppool map \-\-builtin sha256 ::: *.iso
Hash files in persistent builtin workers.
.TP
.B ppool imap \-\-joblog jobs.log \-\-progress ./process {} < files.txt
Log each finished task in GNU parallel's format while a bar on stderr shows progress.
.TP
.B ppool imap \-\-joblog jobs.log \-\-resume ./process {} < files.txt
After an interrupted run: run only the tasks the log does not hold yet.
.TP
.B ppool map \-\-dry\-run \-s 'mv {} {.}.bak' ::: *.txt
Print each command, shell\-quoted, and run nothing.
"#;

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
.B 0
Every task succeeded.
.TP
.B 1\(en100
With \-\-collect\-errors (the default): that many tasks failed.
.TP
.B 101
More than 100 tasks failed.
.TP
.I code
With \-\-fail\-fast, and in
.BR apply :
the failed task's own exit code (124 for a timeout, 128+N for signal N).
.TP
.B 130 / 143
Stopped by SIGINT / SIGTERM.
.TP
.B 141
stdout was closed by its reader; nothing is printed.
.TP
.B 254
An internal error (a bug in ppool): it prints
.B ppool: internal error:
and the message.
.TP
.B 255
ppool's own error: bad usage, an unreadable input file or job log, \&...
"#;

/// Writes the roff man page `ppool.1`.
pub fn render(out: &mut dyn Write) -> io::Result<()> {
    let cmd = Cli::command();
    let man = Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    out.write_all(SYNOPSIS.as_bytes())?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    // There is one page: name each subcommand as typed, not as a page of its own.
    let mut subcommands = Vec::new();
    man.render_subcommands_section(&mut subcommands)?;
    for line in String::from_utf8_lossy(&subcommands).lines() {
        match line.strip_prefix("ppool\\-").and_then(|l| l.strip_suffix("(1)")) {
            Some(name) => writeln!(out, "\\fBppool {name}\\fR")?,
            None => writeln!(out, "{line}")?,
        }
    }
    if let Some(imap) = cmd.find_subcommand("imap") {
        // All modes share one set of options; clap renders them as sections
        // of their own, which become subsections here.
        let mut options = Vec::new();
        Man::new(imap.clone()).render_options_section(&mut options)?;
        out.write_all(RUN_OPTIONS.as_bytes())?;
        for line in String::from_utf8_lossy(&options).lines() {
            match line.strip_prefix(".SH ") {
                Some(heading) => writeln!(out, ".SS {}", title_case(heading))?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    out.write_all(EXAMPLES.as_bytes())?;
    out.write_all(EXIT_STATUS.as_bytes())?;
    man.render_version_section(out)?;
    Ok(())
}

/// `INPUT` -> `Input`, for a subsection heading.
fn title_case(heading: &str) -> String {
    let heading = heading.trim_matches('"').to_lowercase();
    let mut chars = heading.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
