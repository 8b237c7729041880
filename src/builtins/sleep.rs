//! `sleep`: waits for the record's number of seconds and prints nothing.

use std::time::Duration;

use super::{Builtin, Failure};

pub(crate) struct Sleep;

impl Builtin for Sleep {
    fn name(&self) -> &'static str {
        "sleep"
    }

    fn help(&self) -> &'static str {
        "sleep for the record's seconds (decimal, e.g. 0.5; suffix s, m, h or d allowed)"
    }

    fn run(&self, record: &[u8], _out: &mut Vec<u8>) -> Result<(), Failure> {
        let duration = parse(record).ok_or_else(|| Failure {
            code: 2,
            message: format!("sleep: invalid time interval '{}'", String::from_utf8_lossy(record)),
        })?;
        std::thread::sleep(duration);
        Ok(())
    }
}

/// `DIGITS[.DIGITS][s|m|h|d]`, as coreutils `sleep` takes it, minus its
/// exponents, signs and `inf`: a task that sleeps forever is better spelt
/// with `--timeout`.
fn parse(record: &[u8]) -> Option<Duration> {
    let (number, unit) = match record.split_last() {
        Some((b's', rest)) => (rest, 1.0),
        Some((b'm', rest)) => (rest, 60.0),
        Some((b'h', rest)) => (rest, 3600.0),
        Some((b'd', rest)) => (rest, 86400.0),
        _ => (record, 1.0),
    };
    let mut dots = 0;
    let mut digits = 0;
    for &b in number {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return None,
        }
    }
    if digits == 0 || dots > 1 {
        return None;
    }
    let seconds: f64 = std::str::from_utf8(number).ok()?.parse().ok()?;
    Duration::try_from_secs_f64(seconds * unit).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn parses_decimal_seconds_and_units() {
        assert_eq!(parse(b"2"), Some(Duration::from_secs(2)));
        assert_eq!(parse(b"0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse(b".25"), Some(Duration::from_millis(250)));
        assert_eq!(parse(b"1."), Some(Duration::from_secs(1)));
        assert_eq!(parse(b"0"), Some(Duration::ZERO));
        assert_eq!(parse(b"1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse(b"2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse(b"1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse(b"3s"), Some(Duration::from_secs(3)));
    }

    #[test]
    fn rejects_what_is_not_a_plain_interval() {
        for bad in [
            &b""[..],
            b"x",
            b".",
            b"s",
            b"-1",
            b"+1",
            b"1e3",
            b"inf",
            b"nan",
            b" 1",
            b"1 ",
            b"1.2.3",
            b"1ms",
            b"\xff",
            b"99999999999999999999999999",
        ] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn invalid_interval_fails_like_coreutils() {
        let mut out = Vec::new();
        let err = Sleep.run(b"x", &mut out).expect_err("x is not a time");
        assert_eq!(
            err,
            Failure {
                code: 2,
                message: "sleep: invalid time interval 'x'".to_string()
            }
        );
        assert!(out.is_empty());
    }

    #[test]
    fn sleeps_and_prints_nothing() {
        let mut out = Vec::new();
        let start = Instant::now();
        Sleep.run(b"0.05", &mut out).expect("valid interval");
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert!(out.is_empty());
    }
}
