//! SIGINT and SIGTERM: the first stops the run gracefully, a second SIGINT
//! kills every running task at once.

use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cancel::{Cancel, StopReason};

/// Watches for signals on a thread of its own for the rest of the run.
pub fn watch(cancel: &Arc<Cancel>) -> Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("installing signal handlers")?;
    let cancel = Arc::clone(cancel);
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if cancel.is_stopping()
                    && signal == SIGINT
                    && cancel.reason().is_some_and(|r| matches!(r, StopReason::Signal(_)))
                {
                    cancel.kill_now();
                } else {
                    cancel.stop(StopReason::Signal(signal));
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(())
}
