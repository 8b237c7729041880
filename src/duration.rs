//! Durations as people write them (`500ms`, `10s`, `2m`, a bare number of
//! seconds): shared by the command line and the environment, below both.

use std::time::Duration;

/// Durations as `500ms`, `10s`, `2m`, `1h`; a bare number is seconds.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<f64>() {
        // A number too large for a float (`1e400`) is as long as any.
        let overflowed = secs == f64::INFINITY && text.bytes().any(|b| b.is_ascii_digit());
        if !(secs >= 0.0 && (secs.is_finite() || overflowed)) {
            return Err(format!(
                "invalid duration '{text}': must be a non-negative number of seconds"
            ));
        }
        // Too long to hold means "never"; the configuration clamps it.
        return Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    match humantime::parse_duration(text) {
        // `999999999999y`: too long to hold, so "never" too.
        Err(humantime::DurationError::NumberOverflow) => Ok(Duration::MAX),
        result => result.map_err(|e| format!("invalid duration '{text}': {e} (use 500ms, 10s, 2m or 1h)")),
    }
}

/// `--timeout`: a fixed time, or GNU parallel's `N%` of the median run
/// time of the tasks that have ended well.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timeout {
    After(Duration),
    OfMedian(f64),
}

pub(crate) fn parse_timeout(text: &str) -> Result<Timeout, String> {
    match text.strip_suffix('%') {
        Some(pct) => match pct.parse::<f64>() {
            Ok(p) if p > 0.0 && p.is_finite() => Ok(Timeout::OfMedian(p / 100.0)),
            _ => Err(format!(
                "invalid timeout '{text}': give a percentage above 0, such as 200%"
            )),
        },
        None => parse(text).map(Timeout::After),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("2s"), Ok(Timeout::After(Duration::from_secs(2))));
        assert_eq!(parse_timeout("200%"), Ok(Timeout::OfMedian(2.0)));
        assert!(parse_timeout("0%").is_err());
        assert!(parse_timeout("x%").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse("soon").is_err());
        assert!(parse("-1").is_err());
        assert!(parse("inf").is_err());
        assert!(parse("NaN").is_err());
        assert_eq!(parse("1e300"), Ok(Duration::MAX));
        assert_eq!(parse("1e400"), Ok(Duration::MAX));
        assert_eq!(parse("999999999999y"), Ok(Duration::MAX));
        assert_eq!(parse("18446744073709551616ms"), Ok(Duration::MAX));
        assert!(parse("-1e400").is_err());
    }
}
