//! The whole exit-status table of ppool, in one place.

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

/// ppool's own error: bad usage, unreadable input, …
pub const USAGE: i32 = 255;

pub fn code(ending: Ending) -> i32 {
    match ending {
        Ending::Completed { failed: 0 } => 0,
        Ending::Completed { failed } => failed.min(101) as i32,
        Ending::FailFast { code } | Ending::Apply { code } => code,
        Ending::Signal(signal) => 128 + signal,
        // What a shell reports for a process killed by SIGPIPE.
        Ending::BrokenPipe => 128 + libc::SIGPIPE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        assert_eq!(code(Ending::Completed { failed: 0 }), 0);
        assert_eq!(code(Ending::Completed { failed: 1 }), 1);
        assert_eq!(code(Ending::Completed { failed: 100 }), 100);
        assert_eq!(code(Ending::Completed { failed: 101 }), 101);
        assert_eq!(code(Ending::Completed { failed: 5000 }), 101);
        assert_eq!(code(Ending::FailFast { code: 7 }), 7);
        assert_eq!(code(Ending::Apply { code: 124 }), 124);
        assert_eq!(code(Ending::Signal(libc::SIGINT)), 130);
        assert_eq!(code(Ending::Signal(libc::SIGTERM)), 143);
        assert_eq!(code(Ending::BrokenPipe), 141);
    }
}
