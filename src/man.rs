//! The man page, built from the clap definition plus the sections clap does
//! not know: the options every mode shares, examples and the exit statuses.

use std::io::{self, Write};

use clap_mangen::Man;

use crate::exit::{Codes, TABLE};

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

/// Writes the roff man page `ppool.1`.
pub fn render(out: &mut dyn Write) -> io::Result<()> {
    // The checked-in page must not depend on the target that generated it.
    let cmd = crate::cli::command().long_version(None);
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
        Man::new(imap.clone().mut_args(with_aliases)).render_options_section(&mut options)?;
        out.write_all(RUN_OPTIONS.as_bytes())?;
        for line in String::from_utf8_lossy(&options).lines() {
            match line.strip_prefix(".SH ") {
                Some(heading) => writeln!(out, ".SS {}", title_case(heading))?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    out.write_all(EXAMPLES.as_bytes())?;
    render_exit_status(out)?;
    man.render_version_section(out)?;
    Ok(())
}

/// The option's help with its other names (`-P`, `--sshlogin`), which
/// clap_mangen leaves out of the page.
fn with_aliases(arg: clap::Arg) -> clap::Arg {
    let shorts = arg.get_visible_short_aliases().unwrap_or_default();
    let longs = arg.get_visible_aliases().unwrap_or_default();
    if shorts.is_empty() && longs.is_empty() {
        return arg;
    }
    let names: Vec<String> = shorts
        .iter()
        .map(|c| format!("-{c}"))
        .chain(longs.iter().map(|l| format!("--{l}")))
        .collect();
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    arg.help(format!("{help} [also: {}]", names.join(", ")))
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

/// The EXIT STATUS section, one tagged paragraph per row of the table.
fn render_exit_status(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, ".SH \"EXIT STATUS\"")?;
    for row in TABLE {
        let label = roff(&row.codes.label());
        // A row for any status names it in italics, as a placeholder.
        let font = if row.codes == Codes::Task { "I" } else { "B" };
        writeln!(out, ".TP\n.{font} {label}\n{}", roff(&sentence(row.when)))?;
    }
    Ok(())
}

/// `every task succeeded` -> `Every task succeeded.`
fn sentence(phrase: &str) -> String {
    let mut text = String::with_capacity(phrase.len() + 1);
    let mut chars = phrase.chars();
    text.extend(chars.next().map(|c| c.to_ascii_uppercase()));
    text.extend(chars);
    if !text.ends_with(['.', '…']) {
        text.push('.');
    }
    text
}

/// One line of roff text from the table's Markdown-like text: `code` in
/// bold, and the characters roff reads as its own escaped.
fn roff(text: &str) -> String {
    let mut line = String::with_capacity(text.len() + 16);
    if text.starts_with(['.', '\'']) {
        line.push_str("\\&");
    }
    let mut bold = false;
    for c in text.chars() {
        match c {
            '`' => {
                line.push_str(if bold { "\\fR" } else { "\\fB" });
                bold = !bold;
            }
            '\\' => line.push_str("\\e"),
            '-' => line.push_str("\\-"),
            '–' => line.push_str("\\(en"),
            '…' => line.push_str("\\&..."),
            c => line.push(c),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes_and_sets_code_in_bold() {
        assert_eq!(
            roff("`--fail-fast`, and `apply`"),
            "\\fB\\-\\-fail\\-fast\\fR, and \\fBapply\\fR"
        );
        assert_eq!(roff("1–100"), "1\\(en100");
        assert_eq!(roff(".x a\\b …"), "\\&.x a\\eb \\&...");
        assert_eq!(roff("'quoted'"), "\\&'quoted'");
    }

    #[test]
    fn sentences_start_upper_case_and_end_with_a_stop() {
        assert_eq!(sentence("every task succeeded"), "Every task succeeded.");
        assert_eq!(sentence("`ppool`'s own error, …"), "`ppool`'s own error, …");
    }

    #[test]
    fn every_row_is_a_tagged_paragraph() {
        let mut page = Vec::new();
        render_exit_status(&mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert_eq!(page.matches(".TP\n").count(), TABLE.len(), "{page}");
        for tag in [
            ".B 0\n",
            ".B 1\\(en100\n",
            ".B 129 / 130 / 143\n",
            ".I the failed task's code\n",
            ".B 255\n",
        ] {
            assert!(page.contains(tag), "{tag} missing: {page}");
        }
        assert!(page.contains("\nEvery task succeeded, or a"), "{page}");
    }
}
