//! Calendar arithmetic for the two date formats we write (ISO 9660 and HTTP), so the crate
//! needs no date library: Unix seconds to a UTC civil date and back to text or bytes.

/// A UTC calendar date and time of day, the common ground of every format we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u8,
    pub(crate) day: u8,
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    pub(crate) second: u8,
    /// 0 = Sunday.
    pub(crate) weekday: u8,
}

/// The latest second we convert (9999-12-31T23:59:59Z); later inputs are clamped so that
/// no arithmetic below can overflow on a nonsense file time.
const MAX_SECS: i64 = 253_402_300_799;
/// The earliest (0001-01-01T00:00:00Z).
const MIN_SECS: i64 = -62_135_596_800;

impl Civil {
    /// Converts Unix seconds, clamped to years 1..=9999.
    pub(crate) fn from_unix(secs: i64) -> Self {
        let secs = secs.clamp(MIN_SECS, MAX_SECS);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = date_from_days(days);
        Self {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as u8,
        }
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after Howard Hinnant's
/// `civil_from_days`: eras of 400 years, March-based years so the leap day comes last.
fn date_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// An HTTP date (RFC 9110 IMF-fixdate), for `Last-Modified`.
pub(crate) fn http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = Civil::from_unix(secs);
    let day = DAYS.get(usize::from(c.weekday)).copied().unwrap_or("Sun");
    let month = MONTHS
        .get(usize::from(c.month).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{day}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        c.day, c.year, c.hour, c.minute, c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        let c = Civil::from_unix(0);
        assert_eq!((c.year, c.month, c.day, c.weekday), (1970, 1, 1, 4));
        // 2000-02-29T12:34:56Z, a leap day in a year divisible by 400 (date(1) -d ... +%s).
        let c = Civil::from_unix(951_827_696);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2000, 2, 29, 12, 34, 56)
        );
        // 2100-03-01, the day after a non-leap February 28 of a century year.
        let c = Civil::from_unix(4_107_542_400);
        assert_eq!((c.year, c.month, c.day), (2100, 3, 1));
        // Before the epoch: 1969-12-31T23:59:59Z.
        let c = Civil::from_unix(-1);
        assert_eq!((c.year, c.month, c.day, c.hour), (1969, 12, 31, 23));
    }

    #[test]
    fn http_date_matches_rfc_example() {
        // RFC 9110 §5.6.7's example, 784111777 seconds after the epoch.
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn extreme_inputs_are_clamped_not_panicking() {
        assert_eq!(Civil::from_unix(i64::MAX).year, 9999);
        assert_eq!(Civil::from_unix(i64::MIN).year, 1);
    }
}
