//! Durations as people write them in specs and flags: `90s`, `45m`, `24h`, `7d`, `1h30m`.

use std::time::Duration;

pub fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration");
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut saw_unit = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
        saw_unit = true;
    }
    if !number.is_empty() || !saw_unit || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// The longest anyone should wait for AWS in one step.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 86_400);

/// A timeout: a duration of at most [`MAX_TIMEOUT`].
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let d = parse(text)?;
    if d > MAX_TIMEOUT {
        return Err(format!("a timeout of `{text}` is longer than 7d"));
    }
    Ok(d)
}

/// The inverse, for messages: `1h30m`.
pub fn format(d: Duration) -> String {
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_write() {
        assert_eq!(parse("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(format(Duration::from_secs(5_400)), "1h30m");
        assert!(parse_timeout("45m").is_ok());
        assert!(parse_timeout("8d").is_err());
        for bad in ["", "24", "h", "1x", "0m", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
