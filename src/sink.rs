//! Ordering per mode: `map` holds everything to the end, `imap` reorders,
//! `unordered` passes through. Also counts failures for the summary.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::io;

use crate::cancel::StopReason;
use crate::capture::Shelf;
use crate::exit::Ending;
use crate::output::Output;
use crate::task::{Chunk, Outcome, Status};

/// How results are printed: the `ppool` subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Map,
    Imap,
    Unordered,
}

/// Failed tasks named one by one in the summary; the rest are counted.
const SUMMARY_NAMED: usize = 20;

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

/// A result held for its turn: one task's or a chunk's.
enum Held {
    Task(Outcome),
    Chunk(Chunk),
}

impl Held {
    fn first(&self) -> u64 {
        match self {
            Held::Task(outcome) => outcome.seq,
            Held::Chunk(chunk) => chunk.first(),
        }
    }
}

pub struct Sink {
    mode: Mode,
    output: Output,
    /// Spilled output of the results held below, in one file.
    shelf: Shelf,
    /// `map`: every result.
    held: BTreeMap<u64, Held>,
    /// `imap`: results waiting for an earlier one; index 0 is task `next`.
    /// A ring, not a map: tasks end roughly in order, so this is O(1) a task.
    /// The places of the tasks of a waiting chunk stay empty.
    waiting: VecDeque<Option<Outcome>>,
    /// `imap`: chunks waiting for an earlier task, by their first task.
    chunks: BTreeMap<u64, Chunk>,
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
            output,
            shelf: Shelf::default(),
            held: BTreeMap::new(),
            waiting: VecDeque::new(),
            chunks: BTreeMap::new(),
            next: 1,
            total: 0,
            failed: 0,
            named: Named::default(),
            stopped_code: None,
        }
    }

    /// Takes one outcome. `stop` is the reason the run is stopping, if it is.
    pub fn accept(&mut self, mut outcome: Outcome, stop: Option<StopReason>) -> io::Result<()> {
        self.total += 1;
        if outcome.status.is_failure() {
            self.failed += 1;
            self.named.offer(outcome.seq, || describe(&outcome));
        }
        if stop == Some(StopReason::FailFast { seq: outcome.seq }) {
            self.stopped_code = Some(outcome.own_exit_code());
        }
        match shown(self.mode, stop, outcome.seq, outcome.ended_in_stop) {
            Shown::Not => Ok(()),
            Shown::Whole => self.output.write(&mut outcome, true),
            Shown::StderrOnly => self.output.write(&mut outcome, false),
            Shown::InTurn if self.mode == Mode::Map => {
                self.shelve(&mut outcome);
                self.held.insert(outcome.seq, Held::Task(outcome));
                Ok(())
            }
            Shown::InTurn => {
                let Some(at) = outcome.seq.checked_sub(self.next) else {
                    return Ok(());
                };
                let at = at as usize;
                if at == 0 {
                    // Its turn: printed at once, never queued.
                    self.waiting.pop_front();
                    self.next += 1;
                    self.output.write(&mut outcome, true)?;
                    return self.print_ready(stop);
                }
                self.shelve(&mut outcome);
                if at >= self.waiting.len() {
                    self.waiting.resize_with(at + 1, || None);
                }
                self.waiting[at] = Some(outcome);
                Ok(())
            }
        }
    }

    /// Takes the tasks of a chunk, each as [`Sink::accept`] would take a
    /// task of its own that succeeded with this stdout.
    pub fn accept_chunk(&mut self, chunk: Chunk, stop: Option<StopReason>) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        self.total += chunk.len() as u64;
        let last = last_shown(stop);
        match self.mode {
            Mode::Map => {
                if shown(self.mode, stop, chunk.first(), chunk.ended_in_stop) == Shown::InTurn {
                    self.held.insert(chunk.first(), Held::Chunk(chunk));
                }
                Ok(())
            }
            Mode::Imap => {
                if chunk.first() > last {
                    return Ok(());
                }
                let Some(at) = chunk.first().checked_sub(self.next) else {
                    return Ok(());
                };
                if at > 0 {
                    self.chunks.insert(chunk.first(), chunk);
                    return Ok(());
                }
                // Its turn: printed at once, never queued.
                self.skip_turns(chunk.len());
                self.write_chunk(&chunk, last)?;
                self.print_ready(stop)
            }
            Mode::Unordered | Mode::Apply if stop.is_none() => self.write_chunk(&chunk, last),
            Mode::Unordered | Mode::Apply => {
                for (seq, stdout) in chunk.tasks() {
                    if shown(self.mode, stop, seq, chunk.ended_in_stop) == Shown::Whole {
                        self.output.write_chunk(stdout, seq)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// The stdout of a chunk's tasks numbered up to `last`.
    fn write_chunk(&mut self, chunk: &Chunk, last: u64) -> io::Result<()> {
        self.output
            .write_chunk(chunk.stdout_through(last), chunk.last().min(last))
    }

    fn write_held(&mut self, held: Held, last: u64) -> io::Result<()> {
        match held {
            Held::Task(mut outcome) => self.output.write(&mut outcome, true),
            Held::Chunk(chunk) => self.write_chunk(&chunk, last),
        }
    }

    /// `imap`: the next `tasks` tasks are printed.
    fn skip_turns(&mut self, tasks: usize) {
        self.next += tasks as u64;
        let places = tasks.min(self.waiting.len());
        self.waiting.drain(..places);
    }

    /// `imap`: prints the results that waited for the one just printed.
    fn print_ready(&mut self, stop: Option<StopReason>) -> io::Result<()> {
        // Results that were waiting before the stop came may lie past the
        // last one it lets through.
        let last = last_shown(stop);
        while self.next <= last {
            if let Some(entry) = self.chunks.first_entry().filter(|e| *e.key() == self.next) {
                let chunk = entry.remove();
                self.skip_turns(chunk.len());
                self.write_chunk(&chunk, last)?;
                continue;
            }
            let Some(Some(_)) = self.waiting.front() else {
                break;
            };
            if let Some(Some(mut ready)) = self.waiting.pop_front() {
                self.next += 1;
                self.output.write(&mut ready, true)?;
            }
        }
        Ok(())
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
        match (self.mode, stop) {
            // A halt keeps what ended before it, in input order.
            (Mode::Map, Some(StopReason::Halt { .. })) => {
                let held = std::mem::take(&mut self.held).into_values();
                for held in held {
                    self.write_held(held, u64::MAX)?;
                }
            }
            // An interrupted map never completed: all-or-nothing prints nothing.
            (Mode::Map, Some(_)) => {}
            (Mode::Map, None) | (Mode::Imap, _) => {
                let cutoff = last_shown(stop);
                let waiting = std::mem::take(&mut self.waiting).into_iter().flatten().map(Held::Task);
                let chunks = std::mem::take(&mut self.chunks).into_values().map(Held::Chunk);
                let mut held: Vec<Held> = std::mem::take(&mut self.held).into_values().collect();
                held.extend(waiting.chain(chunks));
                held.sort_by_key(Held::first);
                for held in held.into_iter().take_while(|held| held.first() <= cutoff) {
                    self.write_held(held, cutoff)?;
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
            // The caller tells of the halt and gives its exit status.
            Some(StopReason::Halt { .. }) => Ending::Completed { failed: self.failed },
            // The caller ends the run with ppool's own error instead.
            Some(StopReason::Error { .. }) => return Ok(Ending::Completed { failed: self.failed }),
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

/// What a stop leaves of one outcome's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Whole,
    /// `map --fail-fast`'s failed task: its stderr, never stdout.
    StderrOnly,
    /// Held for its turn: `map` at the end, `imap` in input order.
    InTurn,
    Not,
}

/// After a fail-fast stop, `unordered` prints the failed task and every
/// task that ended before it; `imap` the tasks up to the failed one; `map`
/// only the failed task's stderr. After ppool's own error, the same minus
/// the task whose output it lost. Whether a task ended before the stop is
/// the outcome's own record, not the time its outcome reaches the sink.
fn shown(mode: Mode, stop: Option<StopReason>, seq: u64, ended_in_stop: bool) -> Shown {
    let failed = match stop {
        Some(StopReason::FailFast { seq } | StopReason::Error { seq } | StopReason::Halt { seq }) => Some(seq),
        _ => None,
    };
    let is_failed = failed == Some(seq);
    let halt = matches!(stop, Some(StopReason::Halt { .. }));
    let fail_fast = halt || matches!(stop, Some(StopReason::FailFast { .. }));
    match mode {
        Mode::Map if halt && ended_in_stop && !is_failed => Shown::Not,
        Mode::Map if is_failed && fail_fast && !halt => Shown::StderrOnly,
        Mode::Map => Shown::InTurn,
        Mode::Imap if seq > last_shown(stop) => Shown::Not,
        Mode::Imap => Shown::InTurn,
        Mode::Unordered | Mode::Apply => match failed {
            None => Shown::Whole,
            Some(_) if is_failed && fail_fast => Shown::Whole,
            Some(_) if is_failed || ended_in_stop => Shown::Not,
            Some(_) => Shown::Whole,
        },
    }
}

/// `imap`: the last task a stop lets through, in input order.
fn last_shown(stop: Option<StopReason>) -> u64 {
    match stop {
        Some(StopReason::FailFast { seq } | StopReason::Halt { seq }) => seq,
        Some(StopReason::Error { seq }) => seq.saturating_sub(1),
        _ => u64::MAX,
    }
}

/// `task 3 (input): failed, exit code 2, 2 attempts`
pub(crate) fn describe(outcome: &Outcome) -> String {
    // A `--pipe` task's input is its block, named by its place.
    let block = outcome.block().filter(|_| outcome.input.is_empty()).map(|span| {
        if span.end > span.start {
            format!("bytes {}–{}", span.start, span.end - 1)
        } else {
            "blocks dealt round-robin".to_owned()
        }
    });
    let input = match &block {
        Some(block) => std::borrow::Cow::Borrowed(block.as_str()),
        None => String::from_utf8_lossy(&outcome.input),
    };
    // One line each: control characters (a record's newline) are escaped.
    let input: String = if input.chars().count() > 60 {
        input.chars().take(60).chain(['…']).collect()
    } else {
        input.into_owned()
    };
    let mut shown = String::with_capacity(input.len());
    for c in input.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    let input = shown;
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
    use crate::capture::Captured;
    use crate::output::screen::Screen;
    use crate::output::Format as OutputFormat;

    fn sink(mode: Mode) -> (Sink, Screen) {
        let screen = Screen::default();
        (Sink::new(mode, screen.output(OutputFormat::Text, false)), screen)
    }

    /// Task `seq` on record `r<seq>`, printing `out-<seq>` and `err-<seq>`.
    fn task(seq: u64, status: Status, exit_code: Option<i32>) -> Outcome {
        let mut outcome = Outcome::without_run(seq, format!("r{seq}").into_bytes(), status, "");
        outcome.exit_code = exit_code;
        outcome.attempts = 1;
        outcome.stdout = Captured::from_vec(format!("out-{seq}\n").into_bytes());
        outcome.stderr = Captured::from_vec(format!("err-{seq}\n").into_bytes());
        outcome
    }

    fn ok(seq: u64) -> Outcome {
        task(seq, Status::Ok, Some(0))
    }

    #[test]
    fn a_summary_line_stays_one_line() {
        let outcome = Outcome::without_run(1, b"a\nb\tc".to_vec(), Status::Failed, "");
        assert_eq!(describe(&outcome), "task 1 (a\\nb\\tc): failed");
    }

    #[test]
    fn each_mode_prints_in_its_order() {
        for (mode, after_each, at_end) in [
            (Mode::Map, ["", "", ""], "out-1\nout-2\nout-3\n"),
            (Mode::Imap, ["", "", "out-1\nout-2\nout-3\n"], "out-1\nout-2\nout-3\n"),
            (
                Mode::Unordered,
                ["out-3\n", "out-3\nout-2\n", "out-3\nout-2\nout-1\n"],
                "out-3\nout-2\nout-1\n",
            ),
        ] {
            let (mut sink, screen) = sink(mode);
            for (seq, printed) in [3, 2, 1].into_iter().zip(after_each) {
                sink.accept(ok(seq), None).unwrap();
                sink.flush().unwrap();
                assert_eq!(screen.stdout(), printed, "{mode:?}, after task {seq}");
            }
            assert_eq!(sink.finish(None).unwrap(), Ending::Completed { failed: 0 });
            assert_eq!(screen.stdout(), at_end, "{mode:?}");
            // A task's stderr goes with its stdout, in the same order.
            assert_eq!(screen.stderr(), at_end.replace("out", "err"), "{mode:?}");
        }
    }

    /// Tasks `seqs`, in a row, each printing `out-<seq>`.
    fn chunk(seqs: std::ops::RangeInclusive<u64>) -> Chunk {
        let mut chunk = Chunk::new(1);
        for seq in seqs {
            assert!(chunk.push(seq, format!("out-{seq}\n").as_bytes()));
        }
        chunk
    }

    fn outs(seqs: impl IntoIterator<Item = u64>) -> String {
        seqs.into_iter().map(|seq| format!("out-{seq}\n")).collect()
    }

    #[test]
    fn chunks_and_single_tasks_take_their_turns_in_imap() {
        let (mut sink, screen) = sink(Mode::Imap);
        sink.accept_chunk(chunk(4..=6), None).unwrap();
        sink.accept(ok(8), None).unwrap();
        sink.accept_chunk(chunk(9..=10), None).unwrap();
        assert_eq!(screen.stdout(), "");
        sink.accept_chunk(chunk(1..=2), None).unwrap();
        assert_eq!(screen.stdout(), outs(1..=2));
        sink.accept(ok(3), None).unwrap();
        assert_eq!(screen.stdout(), outs(1..=6));
        sink.accept(task(7, Status::Failed, Some(4)), None).unwrap();
        assert_eq!(screen.stdout(), outs(1..=10));
        sink.accept(ok(11), None).unwrap();
        assert_eq!(screen.stdout(), outs(1..=11));
        assert_eq!(sink.finish(None).unwrap(), Ending::Completed { failed: 1 });
        assert!(
            screen.stderr().contains("ppool: 1 of 11 tasks failed:\n"),
            "{}",
            screen.stderr()
        );
    }

    #[test]
    fn a_stop_inside_a_chunk_cuts_it_where_each_mode_would() {
        let halt = Some(StopReason::Halt { seq: 5 });
        {
            // imap: a halt at task 5 shows tasks up to 5, waiting or not.
            let (mut sink, screen) = sink(Mode::Imap);
            sink.accept_chunk(chunk(7..=9), None).unwrap();
            sink.accept_chunk(chunk(1..=3), None).unwrap();
            sink.accept_chunk(chunk(4..=6), halt).unwrap();
            sink.finish(halt).unwrap();
            assert_eq!(screen.stdout(), outs(1..=5));
        }
        {
            let (mut sink, screen) = sink(Mode::Imap);
            sink.accept_chunk(chunk(3..=8), None).unwrap();
            sink.accept(ok(1), None).unwrap();
            sink.finish(halt).unwrap();
            assert_eq!(screen.stdout(), outs([1, 3, 4, 5]), "what waited, up to the halt");
        }
        {
            // unordered: after ppool's own error for task 5, every task but it.
            let (mut sink, screen) = sink(Mode::Unordered);
            sink.accept_chunk(chunk(4..=6), Some(StopReason::Error { seq: 5 }))
                .unwrap();
            assert_eq!(screen.stdout(), outs([4, 6]));
        }
        {
            // A chunk that ended in a fail-fast stop is not shown by unordered.
            let (mut sink, screen) = sink(Mode::Unordered);
            let mut late = chunk(4..=6);
            late.ended_in_stop = true;
            sink.accept_chunk(late, Some(StopReason::FailFast { seq: 2 })).unwrap();
            assert_eq!(screen.stdout(), "");
        }
    }

    #[test]
    fn map_holds_chunks_to_the_end() {
        let (mut sink, screen) = sink(Mode::Map);
        sink.accept_chunk(chunk(3..=4), None).unwrap();
        sink.accept(ok(2), None).unwrap();
        sink.accept_chunk(chunk(1..=1), None).unwrap();
        sink.flush().unwrap();
        assert_eq!(screen.stdout(), "");
        assert_eq!(sink.finish(None).unwrap(), Ending::Completed { failed: 0 });
        assert_eq!(screen.stdout(), outs(1..=4));
    }

    #[test]
    fn the_failure_summary_names_the_twenty_lowest_then_counts_the_rest() {
        let (mut sink, screen) = sink(Mode::Unordered);
        sink.accept(ok(26), None).unwrap();
        for seq in (1..=25).rev() {
            sink.accept(task(seq, Status::Failed, Some(2)), None).unwrap();
        }
        let mut retried = task(27, Status::Timeout, None);
        retried.attempts = 3;
        sink.accept(retried, None).unwrap();
        let ending = sink.finish(None).unwrap();
        assert_eq!(ending, Ending::Completed { failed: 26 });
        assert_eq!(crate::exit::code(ending), 26);
        let err = screen.stderr();
        let summary: Vec<&str> = err.lines().filter(|l| l.starts_with("ppool:")).collect();
        let mut expected = vec!["ppool: 26 of 27 tasks failed:".to_owned()];
        expected.extend((1..=20).map(|seq| format!("ppool:   task {seq} (r{seq}): failed, exit code 2")));
        expected.push("ppool:   … and 6 more".to_owned());
        assert_eq!(summary, expected);
        // The summary comes after every task's own output.
        assert!(err.ends_with("ppool:   … and 6 more\n"), "{err}");
    }

    #[test]
    fn the_summary_describes_signals_timeouts_and_attempts() {
        let (mut sink, screen) = sink(Mode::Imap);
        let mut killed = task(1, Status::Failed, None);
        killed.signal = Some(9);
        killed.attempts = 2;
        sink.accept(killed, None).unwrap();
        sink.accept(task(2, Status::Timeout, None), None).unwrap();
        sink.accept(task(3, Status::Skipped, None), None).unwrap();
        assert_eq!(sink.finish(None).unwrap(), Ending::Completed { failed: 2 });
        let err = screen.stderr();
        assert!(err.contains("ppool: 2 of 3 tasks failed:\n"), "{err}");
        assert!(
            err.contains("ppool:   task 1 (r1): failed, killed by signal 9, 2 attempts\n"),
            "{err}"
        );
        assert!(err.contains("ppool:   task 2 (r2): timeout\n"), "{err}");
        assert!(!err.contains("task 3 (r3)"), "a skipped task is no failure: {err}");
    }

    #[test]
    fn how_the_run_ended_follows_the_stop() {
        // (mode, stop, ending, stdout, last line of stderr)
        let signal = Some(StopReason::Signal(libc::SIGINT));
        let cases = [
            (
                Mode::Imap,
                None,
                Ending::Completed { failed: 1 },
                "out-1\nout-2\n",
                "ppool:   task 2 (r2): timeout",
            ),
            (
                Mode::Imap,
                signal,
                Ending::Signal(libc::SIGINT),
                "out-1\nout-2\n",
                "ppool: stopped by SIGINT",
            ),
            // A map stopped before its end prints no task output.
            (
                Mode::Map,
                signal,
                Ending::Signal(libc::SIGINT),
                "",
                "ppool: stopped by SIGINT",
            ),
            (
                Mode::Unordered,
                Some(StopReason::FailFast { seq: 2 }),
                // The failed task's own status: 124 for its timeout.
                Ending::FailFast { code: 124 },
                "out-1\nout-2\n",
                "ppool: stopped after task 2 failed (--fail-fast)",
            ),
            (
                Mode::Imap,
                Some(StopReason::BrokenPipe),
                Ending::BrokenPipe,
                "out-1\nout-2\n",
                "err-2",
            ),
            // The caller reports ppool's own error: no summary here.
            (
                Mode::Imap,
                Some(StopReason::Error { seq: 2 }),
                Ending::Completed { failed: 1 },
                "out-1\n",
                "err-1",
            ),
        ];
        for (mode, stop, ending, stdout, last) in cases {
            let (mut sink, screen) = sink(mode);
            sink.accept(ok(1), stop).unwrap();
            sink.accept(task(2, Status::Timeout, None), stop).unwrap();
            assert_eq!(sink.finish(stop).unwrap(), ending, "{mode:?} {stop:?}");
            assert_eq!(screen.stdout(), stdout, "{mode:?} {stop:?}");
            let err = screen.stderr();
            assert_eq!(err.lines().last(), Some(last), "{mode:?} {stop:?}: {err}");
        }
    }

    #[test]
    fn map_fail_fast_prints_only_the_failed_tasks_stderr() {
        let (mut sink, screen) = sink(Mode::Map);
        let stop = Some(StopReason::FailFast { seq: 2 });
        sink.accept(ok(1), None).unwrap();
        sink.accept(task(2, Status::Failed, Some(5)), stop).unwrap();
        let mut killed = task(3, Status::Failed, None);
        killed.signal = Some(libc::SIGTERM);
        killed.ended_in_stop = true;
        sink.accept(killed, stop).unwrap();
        assert_eq!(sink.finish(stop).unwrap(), Ending::FailFast { code: 5 });
        assert_eq!(screen.stdout(), "");
        assert_eq!(
            screen.stderr(),
            "err-2\nppool: stopped after task 2 failed (--fail-fast)\n"
        );
    }

    #[test]
    fn after_a_fail_fast_stop_unordered_prints_what_ended_before_it_whenever_it_arrives() {
        let stop = Some(StopReason::FailFast { seq: 3 });
        // Task 2 ended before task 3 failed, but reaches the sink after the stop.
        assert_eq!(shown(Mode::Unordered, stop, 2, false), Shown::Whole);
        assert_eq!(shown(Mode::Unordered, stop, 3, false), Shown::Whole);
        // Task 4 ended in the stop (killed by it, or failing after it).
        assert_eq!(shown(Mode::Unordered, stop, 4, true), Shown::Not);
        assert_eq!(shown(Mode::Unordered, stop, 1, true), Shown::Not);
        assert_eq!(shown(Mode::Unordered, None, 1, false), Shown::Whole);
        let signal = Some(StopReason::Signal(libc::SIGTERM));
        assert_eq!(shown(Mode::Unordered, signal, 4, true), Shown::Whole);
    }

    #[test]
    fn after_a_fail_fast_stop_imap_goes_by_input_order_and_map_shows_only_the_failures_stderr() {
        let stop = Some(StopReason::FailFast { seq: 3 });
        assert_eq!(shown(Mode::Imap, stop, 2, true), Shown::InTurn);
        assert_eq!(shown(Mode::Imap, stop, 3, false), Shown::InTurn);
        assert_eq!(shown(Mode::Imap, stop, 4, false), Shown::Not);
        assert_eq!(last_shown(stop), 3);
        assert_eq!(shown(Mode::Map, stop, 3, false), Shown::StderrOnly);
        assert_eq!(shown(Mode::Map, stop, 2, false), Shown::InTurn);
    }

    #[test]
    fn after_ppools_own_error_the_task_whose_output_was_lost_is_not_printed() {
        let stop = Some(StopReason::Error { seq: 3 });
        assert_eq!(shown(Mode::Unordered, stop, 3, true), Shown::Not);
        assert_eq!(shown(Mode::Unordered, stop, 2, false), Shown::Whole);
        assert_eq!(shown(Mode::Imap, stop, 3, true), Shown::Not);
        assert_eq!(shown(Mode::Imap, stop, 2, true), Shown::InTurn);
        assert_eq!(shown(Mode::Map, stop, 3, true), Shown::InTurn);
    }

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
