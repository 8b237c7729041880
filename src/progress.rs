//! `--progress`: a bar on stderr with done/total, failures, rate and ETA.
//! It only watches tasks end, advancing as each one does; it is drawn only
//! when stderr is a terminal and cleared when the run ends, however it ends.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::ReadEnd;
use crate::observer::Observer;
use crate::task::Outcome;

/// How often the spinner, rate and ETA are redrawn while no task ends.
const TICK: Duration = Duration::from_millis(200);

const COUNTING: &str = "{spinner} {pos}/{len} [{bar:30}] {percent}%  {msg}  {per_sec:1}  ETA {eta}";
const OPEN_ENDED: &str = "{spinner} {pos} done (input still arriving)  {msg}  {per_sec:1}";

pub struct Progress {
    bar: ProgressBar,
    /// Until the total is known: where the input says how many records it read.
    read_end: Mutex<Option<Arc<Mutex<ReadEnd>>>>,
    /// Failures so far; the message is set under this lock, so slots that
    /// end tasks at once never leave an older count showing.
    failed: Mutex<u64>,
}

impl Progress {
    /// A bar on stderr, or `None` when stderr is not a terminal. `total` is
    /// the task count when known up front (`:::` groups); otherwise the
    /// count appears once input has ended.
    pub fn start(total: Option<u64>, read_end: Arc<Mutex<ReadEnd>>) -> Option<Progress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let progress = Progress {
            bar,
            read_end: Mutex::new(total.is_none().then_some(read_end)),
            failed: Mutex::new(0),
        };
        progress
            .bar
            .set_style(style(if total.is_some() { COUNTING } else { OPEN_ENDED }));
        progress.bar.set_message("0 failed");
        progress.check_total();
        progress.bar.enable_steady_tick(TICK);
        Some(progress)
    }

    /// A handle for output to write through, so task output never tears the bar.
    pub fn bar(&self) -> ProgressBar {
        self.bar.clone()
    }

    fn check_total(&self) {
        let mut read_end = crate::lock(&self.read_end);
        let Some(end) = &*read_end else {
            return;
        };
        let total = crate::lock(end).total;
        if let Some(total) = total {
            self.bar.set_length(total);
            self.bar.set_style(style(COUNTING));
            *read_end = None;
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants: a bad one is a bug, caught by the tests.
    ProgressStyle::with_template(template)
        .expect("progress templates are valid")
        .progress_chars("=> ")
}

impl Observer for Progress {
    fn ended(&self, outcome: &Outcome) {
        if outcome.status.is_failure() {
            let mut failed = crate::lock(&self.failed);
            *failed += 1;
            self.bar.set_message(format!("{failed} failed"));
        }
        self.check_total();
        self.bar.inc(1);
    }

    fn finish(&self) -> anyhow::Result<()> {
        self.bar.finish_and_clear();
        Ok(())
    }
}

impl Drop for Progress {
    /// A run that ends early (a closed stdout) still leaves a clean terminal.
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_valid() {
        style(COUNTING);
        style(OPEN_ENDED);
    }
}
