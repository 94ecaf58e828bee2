//! Go's reference-time layouts (`2006-01-02T15:04:05Z07:00`) and the `strftime` subset Packer links
//! (jehiah/go-strftime), because `{{isotime "..."}}` and `{{strftime "..."}}` in users' templates are
//! written in those notations. Times are always UTC here: Packer's init time is UTC.

use chrono::{DateTime, Datelike, Timelike, Utc};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Formats `t` with a Go layout string, like Go's `Time.Format`.
pub fn format_go_layout(t: &DateTime<Utc>, layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    let month0 = t.month0() as usize;
    let weekday = t.weekday().num_days_from_sunday() as usize;
    let month_name = MONTHS.get(month0).copied().unwrap_or("");
    let day_name = DAYS.get(weekday).copied().unwrap_or("");
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    while !rest.is_empty() {
        let (emit, len): (String, usize) = if rest.starts_with("January") {
            (month_name.to_string(), 7)
        } else if rest.starts_with("Jan") && !next_is_lower(rest, 3) {
            (month_name.chars().take(3).collect(), 3)
        } else if rest.starts_with("Monday") {
            (day_name.to_string(), 6)
        } else if rest.starts_with("Mon") && !next_is_lower(rest, 3) {
            (day_name.chars().take(3).collect(), 3)
        } else if rest.starts_with("MST") {
            ("UTC".to_string(), 3)
        } else if rest.starts_with("2006") {
            (format!("{:04}", t.year()), 4)
        } else if rest.starts_with("002") {
            (format!("{:03}", t.ordinal()), 3)
        } else if rest.starts_with("01") {
            (format!("{:02}", t.month()), 2)
        } else if rest.starts_with("02") {
            (format!("{:02}", t.day()), 2)
        } else if rest.starts_with("03") {
            (format!("{hour12:02}"), 2)
        } else if rest.starts_with("04") {
            (format!("{:02}", t.minute()), 2)
        } else if rest.starts_with("05") {
            (format!("{:02}", t.second()), 2)
        } else if rest.starts_with("06") {
            (format!("{:02}", t.year().rem_euclid(100)), 2)
        } else if rest.starts_with("15") {
            (format!("{:02}", t.hour()), 2)
        } else if rest.starts_with('1') {
            (t.month().to_string(), 1)
        } else if rest.starts_with("__2") {
            (format!("{:>3}", t.ordinal()), 3)
        } else if rest.starts_with("_2006") {
            (format!("_{:04}", t.year()), 5)
        } else if rest.starts_with("_2") {
            (format!("{:>2}", t.day()), 2)
        } else if rest.starts_with('2') {
            (t.day().to_string(), 1)
        } else if rest.starts_with('3') {
            (hour12.to_string(), 1)
        } else if rest.starts_with('4') {
            (t.minute().to_string(), 1)
        } else if rest.starts_with('5') {
            (t.second().to_string(), 1)
        } else if rest.starts_with("PM") {
            ((if t.hour() >= 12 { "PM" } else { "AM" }).to_string(), 2)
        } else if rest.starts_with("pm") {
            ((if t.hour() >= 12 { "pm" } else { "am" }).to_string(), 2)
        } else if let Some(n) = zone_token(rest, '-') {
            (utc_offset(&rest[..n]), n)
        } else if let Some(n) = zone_token(rest, 'Z') {
            ("Z".to_string(), n)
        } else if let Some((digits, keep_zeros)) = fraction_token(rest) {
            let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
            let mut frac: String = nanos.chars().take(digits).collect();
            let sep = &rest[..1];
            if keep_zeros {
                (format!("{sep}{frac}"), digits + 1)
            } else {
                while frac.ends_with('0') {
                    frac.pop();
                }
                if frac.is_empty() {
                    (String::new(), digits + 1)
                } else {
                    (format!("{sep}{frac}"), digits + 1)
                }
            }
        } else {
            let c = rest.chars().next().map_or(1, char::len_utf8);
            (rest[..c].to_string(), c)
        };
        out.push_str(&emit);
        rest = &rest[len.min(rest.len())..];
    }
    out
}

/// Go treats `Jan`/`Mon` as literal text when a lower-case letter follows (`Janu`, `Mond`).
fn next_is_lower(s: &str, at: usize) -> bool {
    s.as_bytes().get(at).is_some_and(u8::is_ascii_lowercase)
}

/// `-070000`, `-07:00:00`, `-0700`, `-07:00`, `-07` (and the same with `Z`): the token length.
fn zone_token(s: &str, lead: char) -> Option<usize> {
    let body = s.strip_prefix(lead)?;
    ["070000", "07:00:00", "0700", "07:00", "07"]
        .iter()
        .find(|t| body.starts_with(**t))
        .map(|t| t.len() + 1)
}

/// The zero UTC offset in the shape of the zone token.
fn utc_offset(token: &str) -> String {
    token
        .chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (0, _) => '+',
            (_, ':') => ':',
            _ => '0',
        })
        .collect()
}

/// `.000`/`,000` (fixed digits) or `.999`/`,999` (trailing zeros dropped), not followed by a digit.
fn fraction_token(s: &str) -> Option<(usize, bool)> {
    let mut chars = s.chars();
    let sep = chars.next()?;
    if sep != '.' && sep != ',' {
        return None;
    }
    let digit = chars.next()?;
    if digit != '0' && digit != '9' {
        return None;
    }
    let run = 1 + chars.clone().take_while(|c| *c == digit).count();
    let after = s.chars().nth(run + 1);
    if after.is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((run, digit == '0'))
}

/// jehiah/go-strftime as Packer links it: %a %A %b %B %d %H %I %L %m %M %p %S %y %Y %Z %z %%, anything else
/// is copied through literally.
pub fn format_strftime(t: &DateTime<Utc>, format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            out.push('%');
            break;
        };
        let layout = match spec {
            'a' => "Mon",
            'A' => "Monday",
            'b' => "Jan",
            'B' => "January",
            'd' => "02",
            'H' => "15",
            'I' => "03",
            'L' => ".000",
            'm' => "01",
            'M' => "04",
            'p' => "PM",
            'S' => "05",
            'y' => "06",
            'Y' => "2006",
            'Z' => "MST",
            'z' => "-0700",
            '%' => {
                out.push('%');
                continue;
            }
            other => {
                out.push('%');
                out.push(other);
                continue;
            }
        };
        out.push_str(&format_go_layout(t, layout));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_vectors::{go_init_time, go_vectors};

    #[test]
    fn isotime_layouts_match_go() {
        let v = go_vectors();
        let t = go_init_time();
        let cases = v["isotime_layouts"].as_array().unwrap();
        assert!(cases.len() > 30);
        for c in cases {
            let layout = c["layout"].as_str().unwrap();
            assert_eq!(
                format_go_layout(&t, layout),
                c["output"].as_str().unwrap(),
                "layout {layout:?}"
            );
        }
    }

    #[test]
    fn strftime_matches_go_strftime() {
        let v = go_vectors();
        let t = go_init_time();
        for c in v["strftime"].as_array().unwrap() {
            let f = c["layout"].as_str().unwrap();
            assert_eq!(
                format_strftime(&t, f),
                c["output"].as_str().unwrap(),
                "format {f:?}"
            );
        }
    }
}
