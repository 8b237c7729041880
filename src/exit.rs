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
    /// Stopped by SIGINT or SIGTERM.
    Signal(i32),
    /// stdout was closed by its reader.
    BrokenPipe,
}

/// ppool's own error: bad usage, unreadable input, …
pub const USAGE: i32 = 255;

/// A bug in ppool: it panicked. Not 101, which says more than 100 tasks
/// failed.
pub const INTERNAL: i32 = 254;

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
        assert_eq!(INTERNAL, 254);
        assert_eq!(USAGE, 255);
    }
}
