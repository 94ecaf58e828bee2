//! Go's duration syntax (`time.ParseDuration`), because every duration option of the Go plugin and the
//! Packer SDK (`ssh_timeout = "20m"`, `boot_wait = "1m30s"`, `ip_settle_timeout = "1.5h"`) is written in
//! it and users' templates must keep meaning the same thing.

/// Why a duration string was rejected. The texts are Go's, without its `time: ` prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a duration at all (empty, no digits, overflow).
    #[error("invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit, e.g. `300` (write `300s`).
    #[error("missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit other than ns, us, µs, ms, s, m, h.
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
}

const NANOS_PER_UNIT: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a Go duration into signed nanoseconds, with Go's limits (±2^63 ns, about 292 years).
/// Fractions are exact here where Go uses float64; both truncate toward zero.
pub fn parse_go_duration(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let mut rest = input;
    let mut negative = false;
    if let Some(r) = rest.strip_prefix('-') {
        negative = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        let (frac_digits, after_num) = match after_int.strip_prefix('.') {
            Some(r) => {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                r.split_at(n)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid());
        }
        let unit_len = after_num
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after_num.len(), |(i, _)| i);
        let (unit, next) = after_num.split_at(unit_len);
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(input.to_string()));
        }
        let Some(&(_, scale)) = NANOS_PER_UNIT.iter().find(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_string(),
                input: input.to_string(),
            });
        };
        let mut whole: u128 = 0;
        for b in int_digits.bytes() {
            whole = whole
                .checked_mul(10)
                .and_then(|w| w.checked_add(u128::from(b - b'0')))
                .filter(|w| *w <= 1 << 63)
                .ok_or_else(invalid)?;
        }
        let mut value = whole.checked_mul(scale).ok_or_else(invalid)?;
        // Only the first 19 fraction digits can matter at nanosecond resolution for any unit.
        let mut frac: u128 = 0;
        let mut frac_scale: u128 = 1;
        for b in frac_digits.bytes().take(19) {
            frac = frac * 10 + u128::from(b - b'0');
            frac_scale *= 10;
        }
        value += frac * scale / frac_scale;
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > 1 << 63 {
            return Err(invalid());
        }
        rest = next;
    }
    if negative {
        // -(2^63) is representable, +(2^63) is not.
        i64::try_from(total).map(|t| -t).or_else(|_| {
            if total == 1 << 63 {
                Ok(i64::MIN)
            } else {
                Err(invalid())
            }
        })
    } else {
        i64::try_from(total).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::go_vectors;

    #[test]
    fn matches_go_time_parse_duration() {
        let v = go_vectors();
        let cases = v["durations"].as_array().unwrap();
        assert!(cases.len() > 20);
        for c in cases {
            let input = c["input"].as_str().unwrap();
            let got = parse_go_duration(input);
            match (c["nanos"].as_i64(), c["error"].as_str()) {
                (Some(n), _) => assert_eq!(got, Ok(n), "input {input:?}"),
                (None, Some(e)) => {
                    let err = got.expect_err(input);
                    assert_eq!(format!("time: {err}"), e, "input {input:?}");
                }
                _ => panic!("bad vector {c}"),
            }
        }
    }
}
