//! `exit`: succeeds for 0, fails with the record's code otherwise.

use super::{Builtin, Failure};

pub(crate) struct Exit;

impl Builtin for Exit {
    fn name(&self) -> &'static str {
        "exit"
    }

    fn help(&self) -> &'static str {
        "exit with the record's code (0-255); non-zero fails the task"
    }

    fn run(&self, record: &[u8], _out: &mut Vec<u8>) -> Result<(), Failure> {
        let text = String::from_utf8_lossy(record);
        let invalid = |why: &str| Failure {
            code: 2,
            message: format!("exit: {why} '{text}'"),
        };
        if record.is_empty() || !record.iter().all(u8::is_ascii_digit) {
            return Err(invalid("invalid exit code"));
        }
        // A process cannot exit with more than 8 bits, so a larger code would
        // be silently truncated (256 -> success): refuse it instead.
        let code = text
            .parse::<u8>()
            .map_err(|_| invalid("exit code out of range 0-255:"))?;
        match code {
            0 => Ok(()),
            n => Err(Failure {
                code: i32::from(n),
                message: String::new(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(record: &[u8]) -> Result<(), Failure> {
        let mut out = Vec::new();
        let result = Exit.run(record, &mut out);
        assert!(out.is_empty());
        result
    }

    #[test]
    fn zero_succeeds() {
        assert_eq!(run(b"0"), Ok(()));
        assert_eq!(run(b"000"), Ok(()));
    }

    #[test]
    fn non_zero_fails_with_that_code_and_no_message() {
        for (record, code) in [(&b"1"[..], 1), (b"3", 3), (b"255", 255), (b"042", 42)] {
            assert_eq!(
                run(record),
                Err(Failure {
                    code,
                    message: String::new()
                })
            );
        }
    }

    #[test]
    fn out_of_range_is_a_usage_error() {
        for record in [&b"256"[..], b"99999999999999999999"] {
            let err = run(record).expect_err("out of range");
            assert_eq!(err.code, 2);
            assert_eq!(
                err.message,
                format!(
                    "exit: exit code out of range 0-255: '{}'",
                    String::from_utf8_lossy(record)
                )
            );
        }
    }

    #[test]
    fn invalid_is_a_usage_error() {
        for record in [&b""[..], b"x", b"-1", b"+1", b" 1", b"1 ", b"1.0", b"\xff"] {
            let err = run(record).expect_err("invalid");
            assert_eq!(err.code, 2);
            assert!(err.message.starts_with("exit: invalid exit code '"));
        }
        assert_eq!(run(b"x").expect_err("invalid").message, "exit: invalid exit code 'x'");
    }
}
