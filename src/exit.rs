//! The whole exit-status table of ppool, in one place: the statuses, what
//! each means, and the mapping from how a run ended. The man page, `--help`
//! and the README's table are rendered from or checked against [`TABLE`].

/// How a run ended, as far as the exit status is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every task ran (or was skipped); `failed` of them failed.
    Completed { failed: u64 },
    /// `--fail-fast` stopped at a task whose own status is `code`.
    FailFast { code: i32 },
    /// `apply`: the one task's own status.
    Apply { code: i32 },
    /// Stopped by SIGINT, SIGTERM or SIGHUP.
    Signal(i32),
    /// stdout was closed by its reader.
    BrokenPipe,
}

/// The most failed tasks a status counts; more give [`MORE_THAN_COUNTED`].
pub const MOST_COUNTED: u64 = 100;

/// More than [`MOST_COUNTED`] tasks failed.
pub const MORE_THAN_COUNTED: i32 = 101;

/// A task stopped by `--timeout`, as coreutils' `timeout` reports it.
pub const TIMEOUT: i32 = 124;

/// A failed task with no status of its own, such as invalid input.
pub const FAILED: i32 = 1;

/// ppool's own error: bad usage, unreadable input, …
pub const USAGE: i32 = 255;

/// A bug in ppool: it panicked. Not 101, which says more than 100 tasks
/// failed.
pub const INTERNAL: i32 = 254;

/// What a shell reports for a process killed by `signal`.
pub const fn killed_by(signal: i32) -> i32 {
    128 + signal
}

/// A closed stdout ends ppool as SIGPIPE would end a process that does not
/// ignore it.
pub const BROKEN_PIPE: i32 = killed_by(libc::SIGPIPE);

/// The statuses one row of the table stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codes {
    /// Each of these.
    Each(&'static [i32]),
    /// Every status from the first to the second, both included.
    Range(i32, i32),
    /// Whatever status the failed task itself ended with.
    Task,
}

impl Codes {
    /// As the table's first column shows it: `0`, `1–100`, `130 / 143`.
    pub fn label(self) -> String {
        match self {
            Codes::Each(codes) => codes.iter().map(i32::to_string).collect::<Vec<_>>().join(" / "),
            Codes::Range(first, last) => format!("{first}–{last}"),
            Codes::Task => "the failed task's code".to_string(),
        }
    }

    /// Whether `code` is one of these; a task's own code can be any status.
    pub fn contains(self, code: i32) -> bool {
        match self {
            Codes::Each(codes) => codes.contains(&code),
            Codes::Range(first, last) => (first..=last).contains(&code),
            Codes::Task => (0..=255).contains(&code),
        }
    }
}

/// One row: the statuses and when ppool exits with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub codes: Codes,
    /// A phrase, lower case, with `code` in backticks as in Markdown.
    pub when: &'static str,
}

/// Every status ppool can exit with. SIGHUP is not caught: it kills ppool,
/// which then exits with no status of its own.
pub const TABLE: &[Row] = &[
    Row {
        codes: Codes::Each(&[0]),
        when: "every task succeeded, or a `--halt …,success=N` was reached",
    },
    Row {
        codes: Codes::Range(1, MOST_COUNTED as i32),
        when: "with `--collect-errors` (the default) or a `--halt` count: that many tasks failed; with a `--halt` percentage: that percentage of all tasks",
    },
    Row {
        codes: Codes::Each(&[MORE_THAN_COUNTED]),
        when: "more than 100 tasks failed",
    },
    Row {
        codes: Codes::Task,
        when: "with `--fail-fast` or a `--halt` threshold of 1, and in `apply` (124 for a timeout, 128+N for signal N, 1 when it has none, as for invalid input)",
    },
    Row {
        codes: Codes::Each(&[killed_by(libc::SIGHUP), killed_by(libc::SIGINT), killed_by(libc::SIGTERM)]),
        when: "stopped by SIGHUP / SIGINT / SIGTERM",
    },
    Row {
        codes: Codes::Each(&[BROKEN_PIPE]),
        when: "its reader closed stdout (`ppool … | head -1`), as for a process killed by SIGPIPE; nothing is printed",
    },
    Row {
        codes: Codes::Each(&[INTERNAL]),
        when: "an internal error, a bug in `ppool`: it prints `ppool: internal error:` and the message",
    },
    Row {
        codes: Codes::Each(&[USAGE]),
        when: "`ppool`'s own error: bad usage, unreadable input file or job log, stdout closed at start, resource limits, …",
    },
];

/// The table as the end of `--help` shows it. The command line is built at
/// every start-up, so this is text written out, not rendered at run time; a
/// test holds it to [`TABLE`].
pub const HELP: &str = "\
Exit status:
  0          every task succeeded, or a --halt …,success=N was reached
  1–100      with --collect-errors (the default) or a --halt count: that many
             tasks failed; with a --halt percentage: that percentage of all
             tasks
  101        more than 100 tasks failed
  the failed task's code
             with --fail-fast or a --halt threshold of 1, and in apply (124 for
             a timeout, 128+N for signal N, 1 when it has none, as for invalid
             input)
  129 / 130 / 143
             stopped by SIGHUP / SIGINT / SIGTERM
  141        its reader closed stdout (ppool … | head -1), as for a process
             killed by SIGPIPE; nothing is printed
  254        an internal error, a bug in ppool: it prints ppool: internal error:
             and the message
  255        ppool's own error: bad usage, unreadable input file or job log,
             stdout closed at start, resource limits, …";

/// What the panic hook prints: `ppool: internal error: MESSAGE (at FILE:LINE)`.
pub fn report_panic(payload: &(dyn std::any::Any + Send), location: Option<&std::panic::Location>) {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic");
    let place = location
        .map(|l| format!(" (at {}:{})", l.file(), l.line()))
        .unwrap_or_default();
    // A stderr that cannot be written to leaves only the exit status.
    crate::say(&format!("ppool: internal error: {message}{place}"));
}

/// The exit status for how a run ended.
pub fn code(ending: Ending) -> i32 {
    match ending {
        Ending::Completed { failed } if failed > MOST_COUNTED => MORE_THAN_COUNTED,
        // At most MOST_COUNTED, so it fits.
        Ending::Completed { failed } => failed as i32,
        Ending::FailFast { code } | Ending::Apply { code } => code,
        Ending::Signal(signal) => killed_by(signal),
        Ending::BrokenPipe => BROKEN_PIPE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes() {
        assert_eq!(code(Ending::Completed { failed: 0 }), 0);
        assert_eq!(code(Ending::Completed { failed: 1 }), 1);
        assert_eq!(code(Ending::Completed { failed: 100 }), 100);
        assert_eq!(code(Ending::Completed { failed: 101 }), 101);
        assert_eq!(code(Ending::Completed { failed: 5000 }), 101);
        assert_eq!(code(Ending::Completed { failed: u64::MAX }), 101);
        assert_eq!(code(Ending::FailFast { code: 7 }), 7);
        assert_eq!(code(Ending::Apply { code: 124 }), 124);
        assert_eq!(code(Ending::Signal(libc::SIGINT)), 130);
        assert_eq!(code(Ending::Signal(libc::SIGTERM)), 143);
        assert_eq!(code(Ending::BrokenPipe), 141);
        assert_eq!(TIMEOUT, 124);
        assert_eq!(killed_by(9), 137);
        assert_eq!(INTERNAL, 254);
        assert_eq!(USAGE, 255);
    }

    /// Every ending ppool's own code can give, paired with the row that must
    /// hold its status.
    fn endings() -> Vec<(Ending, &'static str)> {
        let mut endings = vec![(Ending::Completed { failed: 0 }, "0")];
        for failed in [1, 2, 57, 99, 100] {
            endings.push((Ending::Completed { failed }, "1–100"));
        }
        for failed in [101, 102, 5000, u64::MAX] {
            endings.push((Ending::Completed { failed }, "101"));
        }
        for code in [1, 3, TIMEOUT, killed_by(libc::SIGKILL), 255] {
            endings.push((Ending::FailFast { code }, "the failed task's code"));
            endings.push((Ending::Apply { code }, "the failed task's code"));
        }
        endings.push((Ending::Signal(libc::SIGINT), "129 / 130 / 143"));
        endings.push((Ending::Signal(libc::SIGTERM), "129 / 130 / 143"));
        endings.push((Ending::Signal(libc::SIGHUP), "129 / 130 / 143"));
        endings.push((Ending::BrokenPipe, "141"));
        endings
    }

    fn row(label: &str) -> Row {
        *TABLE
            .iter()
            .find(|row| row.codes.label() == label)
            .unwrap_or_else(|| panic!("no row {label} in the table"))
    }

    #[test]
    fn each_ending_has_its_row() {
        for (ending, label) in endings() {
            let status = code(ending);
            assert!(
                row(label).codes.contains(status),
                "{ending:?} gives {status}, not in row {label}"
            );
        }
    }

    #[test]
    fn ppools_own_statuses_have_their_rows() {
        assert!(row("254").when.contains("internal error"));
        assert!(row("255").when.contains("bad usage"));
        assert_eq!(row("255").codes, Codes::Each(&[USAGE]));
        assert_eq!(row("254").codes, Codes::Each(&[INTERNAL]));
    }

    #[test]
    fn every_listed_status_is_given() {
        let given: Vec<i32> = endings()
            .into_iter()
            .map(|(ending, _)| code(ending))
            .chain([INTERNAL, USAGE])
            .collect();
        for row in TABLE {
            let listed: Vec<i32> = match row.codes {
                Codes::Each(codes) => codes.to_vec(),
                Codes::Range(first, last) => vec![first, last],
                Codes::Task => continue,
            };
            for status in listed {
                assert!(given.contains(&status), "{status} is listed but nothing gives it");
            }
        }
    }

    #[test]
    fn no_status_is_listed_twice() {
        for (i, row) in TABLE.iter().enumerate() {
            for other in &TABLE[i + 1..] {
                for status in 0..=255 {
                    let both = [row.codes, other.codes]
                        .iter()
                        .all(|codes| *codes != Codes::Task && codes.contains(status));
                    assert!(
                        !both,
                        "{status} is in {} and {}",
                        row.codes.label(),
                        other.codes.label()
                    );
                }
            }
        }
    }

    #[test]
    fn the_words_say_the_numbers() {
        assert!(row("101").when.contains(&format!("more than {MOST_COUNTED}")));
        let task = row("the failed task's code").when;
        assert!(task.contains(&format!("{TIMEOUT} for a timeout")), "{task}");
        assert!(task.contains(&format!("{}+N for signal N", killed_by(0))), "{task}");
        assert!(task.contains(&format!("{FAILED} when it has none")), "{task}");
    }

    /// The table for `--help`, wrapped to 80 columns.
    fn render_help() -> String {
        const INDENT: usize = 13;
        const WIDTH: usize = 80;
        let mut text = String::from("Exit status:");
        for row in TABLE {
            let label = row.codes.label();
            text.push_str("\n  ");
            text.push_str(&label);
            let mut column = 2 + label.chars().count();
            if column >= INDENT {
                text.push('\n');
                column = 0;
            }
            text.extend(std::iter::repeat(' ').take(INDENT - column));
            column = INDENT;
            for word in row.when.split(' ') {
                let word = word.replace('`', "");
                let len = word.chars().count();
                if column > INDENT && column + 1 + len > WIDTH {
                    text.push('\n');
                    text.extend(std::iter::repeat(' ').take(INDENT));
                    column = INDENT;
                } else if column > INDENT {
                    text.push(' ');
                    column += 1;
                }
                text.push_str(&word);
                column += len;
            }
        }
        text
    }

    #[test]
    fn help_is_the_table() {
        let rendered = render_help();
        assert!(
            HELP == rendered,
            "exit::HELP differs from exit::TABLE; make it:\n{rendered}"
        );
    }

    #[test]
    fn help_lists_every_row_within_80_columns() {
        let text = render_help();
        assert!(text.starts_with("Exit status:\n"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "too long: {line}");
            assert!(!line.contains('`'), "markup left: {line}");
        }
        assert!(
            text.contains("\n  0          every task succeeded, or a --halt"),
            "{text}"
        );
        assert!(
            text.contains("\n  129 / 130 / 143\n             stopped by SIGHUP / SIGINT / SIGTERM\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "\n  the failed task's code\n             with --fail-fast or a --halt threshold of 1, and in apply"
            ),
            "{text}"
        );
        assert!(text.contains("ppool … | head -1"), "{text}");
        for row in TABLE {
            assert!(text.contains(&format!("\n  {}", row.codes.label())), "{text}");
        }
    }
}
