//! The worker side of the builtin pool (`ppool __worker NAME`): reads
//! request frames on stdin, runs the builtin for each and writes response
//! frames on stdout, held until the chunk ends. Exits at the end of stdin.

use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use super::Builtin;
use crate::exec::frame::{self, ReadBuf, FLUSH, RUN_AND_FLUSH};

/// Held answers are written once they pass this size, even mid-chunk.
const HOLD: usize = 1 << 20;

/// Serves until stdin ends; returns the worker's exit status. A builtin
/// that panics ends the worker (status 101) after the answers of the tasks
/// before it are written, so the pool knows which task was running.
pub(crate) fn serve(builtin: &dyn Builtin) -> io::Result<i32> {
    // SAFETY: fds 0 and 1 stay open for the life of the process, and
    // ManuallyDrop keeps these handles from closing them.
    let (mut input, mut output) = unsafe {
        (
            ManuallyDrop::new(File::from_raw_fd(0)),
            ManuallyDrop::new(File::from_raw_fd(1)),
        )
    };
    let mut read = ReadBuf::new(256 * 1024);
    let mut answers: Vec<u8> = Vec::with_capacity(HOLD + 64 * 1024);
    loop {
        let mut clock = Instant::now();
        while let Some((request, len)) = frame::parse_request(read.data()) {
            let kind = request.kind;
            if kind == FLUSH {
                write_answers(&mut *output, &mut answers)?;
                read.consume(len);
                continue;
            }
            let at = frame::begin_response(&mut answers, request.seq);
            let ran = catch_unwind(AssertUnwindSafe(|| builtin.run(request.record, &mut answers)));
            let Ok(result) = ran else {
                answers.truncate(at);
                write_answers(&mut *output, &mut answers)?;
                return Ok(101);
            };
            let out_len = answers.len() - at - frame::RESPONSE_HEAD;
            let failure = match result {
                Ok(()) => None,
                Err(failure) => {
                    if !failure.message.is_empty() {
                        answers.extend_from_slice(failure.message.as_bytes());
                        if !failure.message.ends_with('\n') {
                            answers.push(b'\n');
                        }
                    }
                    Some(failure.code)
                }
            };
            let now = Instant::now();
            frame::end_response(&mut answers, at, failure, now - clock, out_len);
            clock = now;
            read.consume(len);
            if kind == RUN_AND_FLUSH || answers.len() >= HOLD {
                write_answers(&mut *output, &mut answers)?;
            }
        }
        if read.read_from(&mut *input)? == 0 {
            write_answers(&mut *output, &mut answers)?;
            return Ok(0);
        }
    }
}

fn write_answers(output: &mut impl Write, answers: &mut Vec<u8>) -> io::Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    let written = output.write_all(answers);
    answers.clear();
    written
}

/// `ppool __worker NAME`: the builtin, served; a closed pipe to the pool is
/// a quiet end (the pool has gone or replaced this worker).
pub(crate) fn main(name: &str) -> anyhow::Result<i32> {
    let Some(builtin) = super::find(name) else {
        anyhow::bail!("unknown builtin '{name}': run `ppool builtins` to list them");
    };
    match serve(builtin) {
        Ok(code) => Ok(code),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e.into()),
    }
}
