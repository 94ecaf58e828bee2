//! Go's `time.ParseDuration`, step for step, because Packer hands the text of `<wait1m30s>` and the
//! `PACKER_KEY_INTERVAL` variable to it. Fractions use float64 arithmetic exactly as Go does
//! (`<wait0.3333333333333333333h>` is 1200 s there, not 1199.999... s), and the limits are Go's:
//! ±2^63 ns, about 292 years.

use std::fmt;

/// Why Go would reject a duration. The words are Go's, without its `time: ` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Empty, no digits, a sign in the middle, or out of range.
    Invalid(String),
    /// A number without a unit, e.g. `50`.
    MissingUnit(String),
    /// A unit other than ns, us, µs, μs, ms, s, m, h.
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole input.
        input: String,
    },
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Invalid(s) => write!(f, "invalid duration {s:?}"),
            DurationError::MissingUnit(s) => write!(f, "missing unit in duration {s:?}"),
            DurationError::UnknownUnit { unit, input } => {
                write!(f, "unknown unit {unit:?} in duration {input:?}")
            }
        }
    }
}

impl std::error::Error for DurationError {}

const LIMIT: u64 = 1 << 63;

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration into signed nanoseconds.
pub fn parse_go_duration(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(input.to_string());
    let mut s = input.as_bytes();
    let mut negative = false;
    if let Some((&sign @ (b'-' | b'+'), rest)) = s.split_first() {
        negative = sign == b'-';
        s = rest;
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while let Some(&first) = s.first() {
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let (whole, rest) = leading_int(s).ok_or_else(invalid)?;
        let pre = rest.len() != s.len();
        s = rest;
        let (mut frac, mut scale, mut post) = (0u64, 1f64, false);
        if let Some((b'.', rest)) = s.split_first() {
            let (f, sc, after) = leading_fraction(rest);
            post = after.len() != rest.len();
            (frac, scale, s) = (f, sc, after);
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .iter()
            .position(|b| *b == b'.' || b.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_string()));
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let unit_text = String::from_utf8_lossy(unit);
        let Some(scale_ns) = unit_nanos(&unit_text) else {
            return Err(DurationError::UnknownUnit {
                unit: unit_text.into_owned(),
                input: input.to_string(),
            });
        };
        if whole > LIMIT / scale_ns {
            return Err(invalid());
        }
        let mut v = whole * scale_ns;
        if frac > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale)); the cast truncates.
            v += (frac as f64 * (scale_ns as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        // Go adds in uint64 and can wrap (2^63 + 2^63 is 0); so does this.
        total = total.wrapping_add(v);
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        // -(2^63) is representable; Go negates with wrapping, which lands on the same value.
        Ok((total as i64).wrapping_neg())
    } else {
        i64::try_from(total).map_err(|_| invalid())
    }
}

/// Go's `leadingInt`: digits up to 2^63, `None` beyond.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let (num, rest) = s.split_at(digits);
    let mut x: u64 = 0;
    for b in num {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(b - b'0');
        if x > LIMIT {
            return None;
        }
    }
    Some((x, rest))
}

/// Go's `leadingFraction`: digits after the point, accumulating precision until it would overflow.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let (num, rest) = s.split_at(digits);
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    for b in num {
        if overflow {
            continue;
        }
        if x > (LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(b - b'0');
        if y > LIMIT {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        assert_eq!(parse_go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_go_duration("-1.5h"), Ok(-5_400_000_000_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("1\u{3bc}s"), Ok(1_000));
        assert_eq!(
            parse_go_duration("0.3333333333333333333h"),
            Ok(1_200_000_000_000)
        );
        assert_eq!(parse_go_duration("-2562047h47m16.854775808s"), Ok(i64::MIN));
        assert!(parse_go_duration("2562047h47m16.854775808s").is_err());
        assert_eq!(
            parse_go_duration("50"),
            Err(DurationError::MissingUnit("50".into()))
        );
        assert_eq!(
            parse_go_duration("1h-30m").unwrap_err().to_string(),
            "unknown unit \"h-\" in duration \"1h-30m\""
        );
        for bad in ["", "-", ".", "-.s", "s", "1.s.", "99999999999999999999ns"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }
}
