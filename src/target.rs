//! Where a task's signals go. A plain module below the cancel token, the
//! signal handlers and the process layer, which all signal tasks by it.

/// Where a task's signals go: its process group, or the process alone when
/// it has no group of its own (`apply` with a terminal on stdin stays in the
/// terminal's group). Every signal ppool sends a task follows this one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target(i32);

impl Target {
    pub fn of(pid: i32, own_group: bool) -> Target {
        Target(if own_group { -pid } else { pid })
    }

    pub fn group(leader: i32) -> Target {
        Target(-leader)
    }

    /// kill(2)'s pid argument: a signal handler can only read an atomic.
    pub fn raw(self) -> i32 {
        self.0
    }

    /// The target stored as [`Target::raw`]; 0 is none.
    pub fn from_raw(raw: i32) -> Option<Target> {
        (raw != 0).then_some(Target(raw))
    }

    /// The process group, when the task has one of its own.
    pub fn group_id(self) -> Option<i32> {
        (self.0 < 0).then_some(-self.0)
    }

    pub fn signal(self, signal: i32) {
        // SAFETY: kill(2) has no memory effects and fails harmlessly when
        // the process or group is gone.
        unsafe {
            libc::kill(self.0, signal);
        }
    }
}

/// Signals the process group led by `pid`.
pub fn signal_group(pid: i32, signal: i32) {
    Target::group(pid).signal(signal);
}
