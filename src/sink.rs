//! Ordering per mode: `map` holds everything to the end, `imap` reorders,
//! `unordered` passes through. Also counts failures for the summary.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::io;

use crate::cancel::StopReason;
use crate::config::Mode;
use crate::exec::capture::Shelf;
use crate::exit::Ending;
use crate::output::Output;
use crate::task::{Outcome, Status};

/// Failed tasks named one by one in the summary; the rest are counted.
const SUMMARY_NAMED: usize = 20;

/// Watches every outcome as it arrives (progress, job log); never decides.
pub trait Observer {
    fn observe(&mut self, outcome: &Outcome);
    /// The run is over: clear what was drawn, flush what was written.
    fn finish(&mut self) {}
}

/// The `SUMMARY_NAMED` failures with the lowest sequence numbers seen so
/// far, as a max-heap: a lower one pushes out the highest.
#[derive(Default)]
struct Named(BinaryHeap<(u64, String)>);

impl Named {
    fn offer(&mut self, seq: u64, describe: impl FnOnce() -> String) {
        if self.0.len() < SUMMARY_NAMED {
            self.0.push((seq, describe()));
        } else if self.0.peek().is_some_and(|(highest, _)| seq < *highest) {
            self.0.pop();
            self.0.push((seq, describe()));
        }
    }

    fn into_sorted(self) -> Vec<String> {
        self.0.into_sorted_vec().into_iter().map(|(_, line)| line).collect()
    }
}

pub struct Sink {
    mode: Mode,
    observers: Vec<Box<dyn Observer>>,
    output: Output,
    /// Spilled output of the results held below, in one file.
    shelf: Shelf,
    /// `map`: every result.
    held: BTreeMap<u64, Outcome>,
    /// `imap`: results waiting for an earlier one; index 0 is task `next`.
    /// A ring, not a map: tasks end roughly in order, so this is O(1) a task.
    waiting: VecDeque<Option<Outcome>>,
    /// `imap`: the next sequence number to print.
    next: u64,
    total: u64,
    failed: u64,
    /// The failed tasks the summary names: the lowest sequence numbers,
    /// whatever order they ended in.
    named: Named,
    /// `--fail-fast`: the own exit code of the failed task that stopped the run.
    stopped_code: Option<i32>,
}

impl Sink {
    pub fn new(mode: Mode, output: Output) -> Sink {
        Sink {
            mode,
            observers: Vec::new(),
            output,
            shelf: Shelf::default(),
            held: BTreeMap::new(),
            waiting: VecDeque::new(),
            next: 1,
            total: 0,
            failed: 0,
            named: Named::default(),
            stopped_code: None,
        }
    }

    pub fn observe_with(&mut self, observer: Box<dyn Observer>) {
        self.observers.push(observer);
    }

    /// Takes one outcome. `stop` is the reason the run is stopping, if it is.
    pub fn accept(&mut self, mut outcome: Outcome, stop: Option<StopReason>) -> io::Result<()> {
        for observer in &mut self.observers {
            observer.observe(&outcome);
        }
        self.total += 1;
        if outcome.status.is_failure() {
            self.failed += 1;
            self.named.offer(outcome.seq, || describe(&outcome));
        }
        // After a fail-fast stop nothing past the failed task is printed.
        let cutoff = match stop {
            Some(StopReason::FailFast { seq }) => Some(seq),
            _ => None,
        };
        if cutoff == Some(outcome.seq) {
            self.stopped_code = Some(outcome.own_exit_code());
        }
        match self.mode {
            Mode::Map if cutoff == Some(outcome.seq) => {
                // All-or-nothing: no stdout, but the failure's stderr.
                self.output.write(&mut outcome, false)
            }
            Mode::Map => {
                self.shelve(&mut outcome);
                self.held.insert(outcome.seq, outcome);
                Ok(())
            }
            Mode::Unordered | Mode::Apply => {
                if cutoff.is_some_and(|seq| seq != outcome.seq) {
                    return Ok(());
                }
                self.output.write(&mut outcome, true)
            }
            Mode::Imap => {
                if cutoff.is_some_and(|seq| outcome.seq > seq) {
                    return Ok(());
                }
                let Some(at) = outcome.seq.checked_sub(self.next) else {
                    return Ok(());
                };
                let at = at as usize;
                if at > 0 {
                    self.shelve(&mut outcome);
                }
                if at >= self.waiting.len() {
                    self.waiting.resize_with(at + 1, || None);
                }
                self.waiting[at] = Some(outcome);
                while let Some(Some(_)) = self.waiting.front() {
                    if let Some(Some(mut ready)) = self.waiting.pop_front() {
                        self.next += 1;
                        self.output.write(&mut ready, true)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// A result that waits for its turn gives its spill file's descriptor
    /// back: thousands of large results must not need thousands of them.
    /// Should that fail (a full disk), the result keeps its own file.
    fn shelve(&mut self, outcome: &mut Outcome) {
        let _ = outcome.stdout.shelve(&mut self.shelf);
        let _ = outcome.stderr.shelve(&mut self.shelf);
    }

    /// Flushes printed output; a closed stdout is an error like a failed write.
    pub fn flush(&mut self) -> io::Result<()> {
        self.output.flush()?;
        if self.output.is_closed() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        Ok(())
    }

    /// Prints what is still held and the summary; says how the run ended.
    pub fn finish(mut self, stop: Option<StopReason>) -> io::Result<Ending> {
        for observer in &mut self.observers {
            observer.finish();
        }
        match (self.mode, stop) {
            // An interrupted map never completed: all-or-nothing prints nothing.
            (Mode::Map, Some(_)) => {}
            (Mode::Map, None) | (Mode::Imap, _) => {
                let cutoff = match stop {
                    Some(StopReason::FailFast { seq }) => seq,
                    _ => u64::MAX,
                };
                let waiting = std::mem::take(&mut self.waiting).into_iter().flatten();
                let held = std::mem::take(&mut self.held).into_values().chain(waiting);
                for mut outcome in held.take_while(|outcome| outcome.seq <= cutoff) {
                    self.output.write(&mut outcome, true)?;
                }
            }
            _ => {}
        }
        self.output.flush()?;
        let ending = match stop {
            Some(StopReason::BrokenPipe) => return Ok(Ending::BrokenPipe),
            Some(StopReason::Signal(signal)) => Ending::Signal(signal),
            Some(StopReason::FailFast { seq }) => {
                self.output
                    .note(&format!("ppool: stopped after task {seq} failed (--fail-fast)"))?;
                return Ok(Ending::FailFast {
                    code: self.stopped_code.unwrap_or(1),
                });
            }
            None => Ending::Completed { failed: self.failed },
        };
        if self.failed > 0 {
            self.output
                .note(&format!("ppool: {} of {} tasks failed:", self.failed, self.total))?;
            let named = std::mem::take(&mut self.named).into_sorted();
            for line in &named {
                self.output.note(&format!("ppool:   {line}"))?;
            }
            if self.failed > named.len() as u64 {
                self.output
                    .note(&format!("ppool:   … and {} more", self.failed - named.len() as u64))?;
            }
        }
        if let Ending::Signal(signal) = ending {
            let name = match signal {
                libc::SIGINT => "SIGINT",
                libc::SIGHUP => "SIGHUP",
                _ => "SIGTERM",
            };
            self.output.note(&format!("ppool: stopped by {name}"))?;
        }
        Ok(ending)
    }
}

/// `task 3 (input): failed, exit code 2, 2 attempts`
fn describe(outcome: &Outcome) -> String {
    let input = String::from_utf8_lossy(&outcome.input);
    let input: String = if input.chars().count() > 60 {
        input.chars().take(60).chain(['…']).collect()
    } else {
        input.into_owned()
    };
    let mut line = format!("task {} ({input}): {}", outcome.seq, outcome.status.as_str());
    match (outcome.status, outcome.exit_code, outcome.signal) {
        (Status::Failed, Some(code), _) => line.push_str(&format!(", exit code {code}")),
        (Status::Failed, None, Some(signal)) => line.push_str(&format!(", killed by signal {signal}")),
        _ => {}
    }
    if outcome.attempts > 1 {
        line.push_str(&format!(", {} attempts", outcome.attempts));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_lowest_failures_whatever_their_order() {
        let mut named = Named::default();
        for seq in (2..=25).rev().chain([30, 1]) {
            named.offer(seq, || format!("task {seq}"));
        }
        let lines = named.into_sorted();
        assert_eq!(lines.len(), SUMMARY_NAMED);
        assert_eq!(lines.first().map(String::as_str), Some("task 1"));
        assert_eq!(lines.last().map(String::as_str), Some("task 20"));
    }
}
