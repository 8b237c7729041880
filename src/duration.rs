//! Durations as people write them (`500ms`, `10s`, `2m`, a bare number of
//! seconds): shared by the command line and the environment, below both.

use std::time::Duration;

/// Durations as `500ms`, `10s`, `2m`, `1h`; a bare number is seconds.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<f64>() {
        if !(secs >= 0.0 && secs.is_finite()) {
            return Err(format!(
                "invalid duration '{text}': must be a non-negative number of seconds"
            ));
        }
        // Too long to hold means "never"; the configuration clamps it.
        return Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    humantime::parse_duration(text).map_err(|e| format!("invalid duration '{text}': {e} (use 500ms, 10s, 2m or 1h)"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
