//! The parameters of an attribution: model, windows, half-life, grouping, filters.

use crate::dto::AttributionMetadata;
use crate::error::AppError;
use crate::server::config::Config;
use std::collections::BTreeMap;

pub const MAX_WINDOW_DAYS: i64 = 730;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    FirstTouch,
    LastTouch,
    Linear,
    TimeDecay,
    PositionBased,
}

impl Model {
    pub const ALL: [Model; 5] = [
        Model::FirstTouch,
        Model::LastTouch,
        Model::Linear,
        Model::TimeDecay,
        Model::PositionBased,
    ];

    pub fn parse(s: &str) -> Option<Model> {
        Some(match s.trim() {
            "first_touch" => Model::FirstTouch,
            "" | "last_touch" => Model::LastTouch,
            "linear" => Model::Linear,
            "time_decay" => Model::TimeDecay,
            "position_based" => Model::PositionBased,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Model::FirstTouch => "first_touch",
            Model::LastTouch => "last_touch",
            Model::Linear => "linear",
            Model::TimeDecay => "time_decay",
            Model::PositionBased => "position_based",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Model::FirstTouch => "First touch",
            Model::LastTouch => "Last touch",
            Model::Linear => "Linear",
            Model::TimeDecay => "Time decay",
            Model::PositionBased => "Position based (40/20/40)",
        }
    }
}

/// Model and windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub model: Model,
    pub window_days: i64,
    /// Per-source windows, keyed by lowercased `source`; 0 excludes the source.
    pub source_windows: BTreeMap<String, i64>,
    pub half_life_days: f64,
    /// The window of the last touch rolled up on each conversion
    /// (`ATTRIBUTION_WINDOW_DAYS`): the engine reads a conversion's last candidate
    /// from the rollup when the settings use that window alone.
    pub rollup_window_days: i64,
    /// The half-life the credit by day is rolled up with (`ATTRIBUTION_HALF_LIFE_DAYS`).
    pub rollup_half_life_days: f64,
}

impl Settings {
    /// The defaults: last touch over `ATTRIBUTION_WINDOW_DAYS`.
    pub fn defaults(config: &Config) -> Settings {
        Settings::rolled_up(config.attribution.window_days, config.attribution.half_life_days)
    }

    /// Last touch over the rolled-up window and half-life.
    pub fn rolled_up(window_days: i64, half_life_days: f64) -> Settings {
        Settings {
            model: Model::LastTouch,
            window_days,
            source_windows: BTreeMap::new(),
            half_life_days,
            rollup_window_days: window_days,
            rollup_half_life_days: half_life_days,
        }
    }

    /// From request parameters (strings as they arrive), with defaults from config.
    pub fn parse(
        config: &Config,
        model: Option<&str>,
        window_days: Option<&str>,
        source_windows: Option<&str>,
        half_life_days: Option<&str>,
    ) -> Result<Settings, AppError> {
        let mut s = Settings::defaults(config);
        if let Some(m) = model.map(str::trim).filter(|m| !m.is_empty()) {
            s.model = Model::parse(m).ok_or_else(|| {
                AppError::validation(
                    "model",
                    "The model is first_touch, last_touch, linear, time_decay or position_based.",
                )
            })?;
        }
        if let Some(w) = window_days.map(str::trim).filter(|w| !w.is_empty()) {
            s.window_days = w
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=MAX_WINDOW_DAYS).contains(d))
                .ok_or_else(|| {
                    AppError::validation(
                        "window_days",
                        format!("window_days is a whole number of days from 1 to {MAX_WINDOW_DAYS}."),
                    )
                })?;
        }
        if let Some(sw) = source_windows {
            s.source_windows = parse_source_windows(sw)?;
        }
        if let Some(h) = half_life_days.map(str::trim).filter(|h| !h.is_empty()) {
            s.half_life_days = h
                .parse::<f64>()
                .ok()
                .filter(|d| d.is_finite() && *d > 0.0 && *d <= MAX_WINDOW_DAYS as f64)
                .ok_or_else(|| {
                    AppError::validation("half_life_days", "half_life_days is a positive number of days.")
                })?;
        }
        Ok(s)
    }

    /// The window that applies to a touch of `source`, and whether it is source-specific.
    pub fn window_for(&self, source: &str) -> (i64, bool) {
        match self.source_windows.get(&source.to_lowercase()) {
            Some(d) => (*d, true),
            None => (self.window_days, false),
        }
    }

    /// The window rolled up on every conversion, and no per-source window: whatever
    /// the model, the engine reads a conversion's last candidate from the rollup
    /// instead of looking for it.
    pub fn is_rolled_up(&self) -> bool {
        self.source_windows.is_empty() && self.window_days == self.rollup_window_days
    }

    /// The rolled-up window and half-life: reports may read the credit by day.
    pub fn reads_credit_days(&self) -> bool {
        self.is_rolled_up() && self.half_life_days == self.rollup_half_life_days
    }

    /// The longest window of all: candidates are never older than this.
    pub fn max_window_days(&self) -> i64 {
        self.source_windows
            .values()
            .copied()
            .chain([self.window_days])
            .max()
            .unwrap_or(self.window_days)
    }

    pub fn metadata(&self) -> AttributionMetadata {
        AttributionMetadata {
            model: self.model.as_str().to_string(),
            window_days: self.window_days,
            source_windows: self.source_windows.clone(),
            half_life_days: self.half_life_days,
        }
    }
}

/// `google:14,email:7` → {google: 14, email: 7}. Keys are matched without regard to case.
pub fn parse_source_windows(raw: &str) -> Result<BTreeMap<String, i64>, AppError> {
    let mut out = BTreeMap::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            AppError::validation(
                "source_windows",
                format!(
                    "Write per-source windows like google:14,email:7 (0 to {MAX_WINDOW_DAYS} days); '{part}' is not one."
                ),
            )
        };
        let (k, v) = part.split_once(':').ok_or_else(bad)?;
        let key = k.trim().to_lowercase();
        let days: i64 = v.trim().parse().map_err(|_| bad())?;
        if key.is_empty() || key.len() > 255 || !(0..=MAX_WINDOW_DAYS).contains(&days) {
            return Err(bad());
        }
        out.insert(key, days);
    }
    if out.len() > 50 {
        return Err(AppError::validation("source_windows", "At most 50 per-source windows."));
    }
    Ok(out)
}

pub fn format_source_windows(w: &BTreeMap<String, i64>) -> String {
    w.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(",")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Source,
    Medium,
    UtmCampaign,
    Channel,
    Link,
    ReferringUser,
    Campaign,
}

impl GroupBy {
    pub const ALL: [GroupBy; 7] = [
        GroupBy::Source,
        GroupBy::Medium,
        GroupBy::UtmCampaign,
        GroupBy::Channel,
        GroupBy::Link,
        GroupBy::ReferringUser,
        GroupBy::Campaign,
    ];

    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s.trim() {
            "" | "source" => GroupBy::Source,
            "medium" => GroupBy::Medium,
            "utm_campaign" => GroupBy::UtmCampaign,
            "channel" => GroupBy::Channel,
            "link" => GroupBy::Link,
            "referring_user" => GroupBy::ReferringUser,
            "campaign" => GroupBy::Campaign,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Source => "source",
            GroupBy::Medium => "medium",
            GroupBy::UtmCampaign => "utm_campaign",
            GroupBy::Channel => "channel",
            GroupBy::Link => "link",
            GroupBy::ReferringUser => "referring_user",
            GroupBy::Campaign => "campaign",
        }
    }
}

/// Which conversions are attributed.
#[derive(Debug, Clone, Default)]
pub struct ConversionFilter {
    /// `occurred_at >= from` (ms).
    pub from: Option<i64>,
    /// `occurred_at < to` (ms).
    pub to: Option<i64>,
    pub event: Option<String>,
    /// Active and confirmed only (the default).
    pub valid_only: bool,
    /// Only these conversions.
    pub ids: Option<Vec<i64>>,
    /// Only conversions dated after they were recorded (`Some(true)`), or only the
    /// others (`Some(false)`): the rolled-up days hold the others.
    pub late: Option<bool>,
}

impl ConversionFilter {
    pub fn parse(
        config: &Config,
        from: Option<&str>,
        to: Option<&str>,
        event: Option<&str>,
        valid: Option<&str>,
    ) -> Result<Self, AppError> {
        use crate::server::time::{DAY, parse_instant};
        let instant = |v: Option<&str>, field: &str, end: bool| -> Result<Option<i64>, AppError> {
            match v.map(str::trim).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => {
                    let ms = parse_instant(s, config.timezone).ok_or_else(|| {
                        AppError::validation(field, "Use an RFC 3339 time or a date like 2026-11-21.")
                    })?;
                    Ok(Some(if end && s.len() == 10 { ms + DAY } else { ms }))
                }
            }
        };
        let valid_only = match valid.map(str::trim).unwrap_or("") {
            "" | "true" | "1" => true,
            "false" | "0" | "all" => false,
            _ => return Err(AppError::validation("valid", "valid is true or false.")),
        };
        Ok(ConversionFilter {
            from: instant(from, "from", false)?,
            to: instant(to, "to", true)?,
            event: event.map(str::trim).filter(|e| !e.is_empty()).map(str::to_string),
            valid_only,
            ids: None,
            late: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_windows_parse_and_validate() {
        let w = parse_source_windows("Google:14, email:7,facebook:0").unwrap();
        assert_eq!(w.get("google"), Some(&14));
        assert_eq!(w.get("facebook"), Some(&0));
        for bad in ["google", "google:x", ":3", "google:-1", "google:9999"] {
            assert!(parse_source_windows(bad).is_err(), "{bad}");
        }
        assert_eq!(format_source_windows(&w), "email:7,facebook:0,google:14");
    }

    #[test]
    fn windows_apply_per_source_without_regard_to_case() {
        let config = Config::for_database("sqlite://x.db");
        let s = Settings::parse(&config, Some("linear"), Some("30"), Some("google:14"), None).unwrap();
        assert_eq!(s.window_for("Google"), (14, true));
        assert_eq!(s.window_for("email"), (30, false));
        assert_eq!(s.max_window_days(), 30);
        assert!(Settings::parse(&config, Some("magic"), None, None, None).is_err());
        assert!(Settings::parse(&config, None, Some("0"), None, None).is_err());
        assert!(Settings::parse(&config, None, None, None, Some("-1")).is_err());
    }
}
