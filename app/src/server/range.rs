//! Date ranges of the dashboards, in `TRIBUTARY_TIMEZONE`: presets, custom ranges,
//! the previous period of the same length, and the day (or hour) buckets of a chart.
//! Boundaries are computed here with chrono-tz (SQLite has no time-zone database), so
//! days around daylight-saving changes are 23 or 25 hours long, as they are.

use crate::error::AppError;
use crate::server::time::{HOUR, start_of_day, to_datetime};
use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::Tz;

/// `[from, to)` in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    /// today, 7d, 30d, this_month, last_month or custom.
    pub preset: String,
    pub first_day: NaiveDate,
    /// Inclusive.
    pub last_day: NaiveDate,
    pub current: Period,
    pub previous: Period,
    /// Two days or less: hourly buckets.
    pub hourly: bool,
}

pub const PRESETS: [(&str, &str); 6] = [
    ("today", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("custom", "Custom"),
];

fn day_start(d: NaiveDate, tz: Tz) -> i64 {
    start_of_day(d, tz).unwrap_or(0)
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn parse_date(s: Option<&str>, field: &str) -> Result<Option<NaiveDate>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::validation(field, "Use a date like 2026-11-21.")),
    }
}

impl DateRange {
    pub fn resolve(
        preset: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        now_ms: i64,
        tz: Tz,
    ) -> Result<DateRange, AppError> {
        let today = to_datetime(now_ms).with_timezone(&tz).date_naive();
        let from_date = parse_date(from, "from")?;
        let to_date = parse_date(to, "to")?;
        let preset = match preset.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => p.to_string(),
            None if from_date.is_some() || to_date.is_some() => "custom".to_string(),
            None => "30d".to_string(),
        };
        let (first, last) = match preset.as_str() {
            "today" => (today, today),
            "7d" => (today - Duration::days(6), today),
            "30d" => (today - Duration::days(29), today),
            "this_month" => (first_of_month(today), today),
            "last_month" => {
                let first_this = first_of_month(today);
                let last_prev = first_this - Duration::days(1);
                (first_of_month(last_prev), last_prev)
            }
            "custom" => {
                let f = from_date.ok_or_else(|| AppError::validation("from", "Choose the first day of the range."))?;
                let t = to_date.unwrap_or(today);
                if t < f {
                    return Err(AppError::validation("to", "The last day comes before the first."));
                }
                if (t - f).num_days() > 3660 {
                    return Err(AppError::validation("to", "Ranges are at most ten years."));
                }
                (f, t)
            }
            _ => {
                return Err(AppError::validation(
                    "range",
                    "The range is today, 7d, 30d, this_month, last_month or custom.",
                ));
            }
        };
        let days = (last - first).num_days() + 1;
        let current = Period {
            from: day_start(first, tz),
            to: day_start(last + Duration::days(1), tz),
        };
        let previous = Period {
            from: day_start(first - Duration::days(days), tz),
            to: current.from,
        };
        Ok(DateRange {
            preset,
            first_day: first,
            last_day: last,
            current,
            previous,
            hourly: days <= 2,
        })
    }

    /// The chart's buckets: (start, label), covering the current period.
    pub fn buckets(&self, tz: Tz) -> Vec<(i64, String)> {
        let mut out = Vec::new();
        if self.hourly {
            let mut t = self.current.from;
            while t < self.current.to {
                out.push((t, to_datetime(t).with_timezone(&tz).format("%d %b %H:00").to_string()));
                t += HOUR;
            }
        } else {
            let mut d = self.first_day;
            while d <= self.last_day {
                out.push((day_start(d, tz), d.format("%d %b").to_string()));
                d += Duration::days(1);
            }
        }
        out
    }

    /// `range=...&from=...&to=...` for links that keep this range.
    pub fn query(&self) -> String {
        if self.preset == "custom" {
            format!("range=custom&from={}&to={}", self.first_day, self.last_day)
        } else {
            format!("range={}", self.preset)
        }
    }
}

/// Which bucket an instant falls in (buckets sorted by start; the last runs to `end`).
pub fn bucket_of(starts: &[i64], end: i64, t: i64) -> Option<usize> {
    if starts.is_empty() || t < starts[0] || t >= end {
        return None;
    }
    Some(match starts.binary_search(&t) {
        Ok(i) => i,
        Err(i) => i - 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::time::{DAY, parse_instant, rfc3339};

    fn paris() -> Tz {
        "Europe/Paris".parse().unwrap()
    }

    #[test]
    fn presets_cover_whole_local_days() {
        let now = parse_instant("2026-11-21T10:00:00Z", paris()).unwrap();
        let r = DateRange::resolve(Some("7d"), None, None, now, paris()).unwrap();
        assert_eq!(rfc3339(r.current.from), "2026-11-14T23:00:00Z");
        assert_eq!(rfc3339(r.current.to), "2026-11-21T23:00:00Z");
        assert_eq!(r.previous.to, r.current.from);
        assert_eq!(r.current.to - r.current.from, r.current.from - r.previous.from);
        assert_eq!(r.buckets(paris()).len(), 7);
        let today = DateRange::resolve(Some("today"), None, None, now, paris()).unwrap();
        assert!(today.hourly);
        assert_eq!(today.buckets(paris()).len(), 24);
        let last = DateRange::resolve(Some("last_month"), None, None, now, paris()).unwrap();
        assert_eq!(
            (last.first_day.to_string(), last.last_day.to_string()),
            ("2026-10-01".into(), "2026-10-31".into())
        );
        assert!(DateRange::resolve(Some("fortnight"), None, None, now, paris()).is_err());
        assert!(DateRange::resolve(Some("custom"), Some("2026-11-10"), Some("2026-11-01"), now, paris()).is_err());
    }

    #[test]
    fn a_daylight_saving_day_has_its_real_length() {
        // Paris moved to summer time on 2026-03-29: that day has 23 hours.
        let now = parse_instant("2026-04-10T10:00:00Z", paris()).unwrap();
        let r = DateRange::resolve(None, Some("2026-03-28"), Some("2026-03-30"), now, paris()).unwrap();
        let b = r.buckets(paris());
        assert_eq!(b.len(), 3);
        assert_eq!(b[1].0 - b[0].0, 24 * 3600 * 1000);
        assert_eq!(b[2].0 - b[1].0, 23 * 3600 * 1000);
        let starts: Vec<i64> = b.iter().map(|x| x.0).collect();
        // 23:30 local on the 29th is 21:30Z; 00:30 local on the 30th is 22:30Z.
        let late = parse_instant("2026-03-29T21:30:00Z", paris()).unwrap();
        let early = parse_instant("2026-03-29T22:30:00Z", paris()).unwrap();
        assert_eq!(bucket_of(&starts, r.current.to, late), Some(1));
        assert_eq!(bucket_of(&starts, r.current.to, early), Some(2));
        assert_eq!(bucket_of(&starts, r.current.to, r.current.to + DAY), None);
    }
}
