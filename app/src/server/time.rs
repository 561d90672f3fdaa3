//! Time as stored: i64 milliseconds since the Unix epoch, UTC.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

pub const SECOND: i64 = 1000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn to_datetime(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// RFC 3339 in UTC with a `Z`, as JSON carries times: `2026-11-21T10:00:00Z`
/// (milliseconds only when there are some).
pub fn rfc3339(ms: i64) -> String {
    let dt = to_datetime(ms);
    if ms % 1000 == 0 {
        dt.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

/// A short human form in the given time zone, for tables: `2026-11-21 10:00`.
pub fn display(ms: i64, tz: chrono_tz::Tz) -> String {
    to_datetime(ms).with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// Parses a `from`/`to` filter: RFC 3339, or a date meaning the start of that day in `tz`.
pub fn parse_instant(s: &str, tz: chrono_tz::Tz) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    start_of_day(date, tz)
}

/// The first instant of a local calendar day (days that start inside a DST gap start
/// at the first valid local time).
pub fn start_of_day(date: NaiveDate, tz: chrono_tz::Tz) -> Option<i64> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(dt) => Some(dt.timestamp_millis()),
        chrono::LocalResult::Ambiguous(a, _) => Some(a.timestamp_millis()),
        chrono::LocalResult::None => (1..=180).find_map(|m| {
            tz.from_local_datetime(&(midnight + chrono::Duration::minutes(m)))
                .earliest()
                .map(|dt| dt.timestamp_millis())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_z() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1500), "1970-01-01T00:00:01.500Z");
    }

    #[test]
    fn dates_mean_the_start_of_the_day_in_the_zone() {
        let paris: chrono_tz::Tz = "Europe/Paris".parse().unwrap();
        let ms = parse_instant("2026-11-21", paris).unwrap();
        assert_eq!(rfc3339(ms), "2026-11-20T23:00:00Z");
        assert_eq!(
            parse_instant("2026-11-21T10:00:00Z", paris).map(rfc3339).as_deref(),
            Some("2026-11-21T10:00:00Z")
        );
        assert!(parse_instant("yesterday", paris).is_none());
    }
}
