//! Landing capture: the identity cookie, what is tracked and how values are cut,
//! which requests are left alone (excluded paths, bots, privacy signals), and the
//! dedupe window of touches.

use super::{ConfigError, Env};

#[derive(Clone)]
pub struct TrackingConfig {
    /// `TRACKING_COOKIE_NAME`, `TRACKING_COOKIE_MAX_AGE_DAYS`.
    pub cookie_name: String,
    pub cookie_max_age_days: i64,
    /// `TRACKING_EXCLUDED_PREFIXES`, without trailing slashes.
    pub excluded_prefixes: Vec<String>,
    /// `TRACKING_EXTRA_PARAMS`, lowercased.
    pub extra_params: Vec<String>,
    /// `TRACKING_MAX_PARAM_LENGTH`, in characters.
    pub max_param_length: usize,
    /// `FILTER_BOTS`, `EXTRA_BOT_PATTERNS` (lowercased).
    pub filter_bots: bool,
    pub extra_bot_patterns: Vec<String>,
    /// `RESPECT_DNT`: `DNT: 1` opts out as `Sec-GPC: 1` always does.
    pub respect_dnt: bool,
    /// `TOUCH_DEDUPE_MINUTES`.
    pub touch_dedupe_minutes: i64,
}

impl TrackingConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut extra_params: Vec<String> = env
            .list("TRACKING_EXTRA_PARAMS")
            .into_iter()
            .map(|p| p.to_ascii_lowercase())
            .collect();
        for p in &extra_params {
            if !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(ConfigError {
                    var: "TRACKING_EXTRA_PARAMS",
                    message: format!("expected parameter names of letters, digits, '_' or '-', got '{p}'"),
                });
            }
        }
        extra_params.dedup();
        Ok(TrackingConfig {
            cookie_name: {
                let name = env.string("TRACKING_COOKIE_NAME", "tributary_id");
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    return Err(ConfigError {
                        var: "TRACKING_COOKIE_NAME",
                        message: format!("expected letters, digits, '_' or '-', got '{name}'"),
                    });
                }
                name
            },
            cookie_max_age_days: env.positive("TRACKING_COOKIE_MAX_AGE_DAYS", 90)?,
            excluded_prefixes: {
                let list = match env.raw("TRACKING_EXCLUDED_PREFIXES") {
                    Some(_) => env.list("TRACKING_EXCLUDED_PREFIXES"),
                    None => vec!["/admin".to_string()],
                };
                list.into_iter()
                    .map(|p| {
                        if p.starts_with('/') {
                            Ok(p.trim_end_matches('/').to_string())
                        } else {
                            Err(ConfigError {
                                var: "TRACKING_EXCLUDED_PREFIXES",
                                message: format!("expected paths starting with '/', got '{p}'"),
                            })
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?
            },
            extra_params,
            max_param_length: {
                let n: usize = env.parse("TRACKING_MAX_PARAM_LENGTH", "200", "a positive integer")?;
                if !(1..=1024).contains(&n) {
                    return Err(ConfigError {
                        var: "TRACKING_MAX_PARAM_LENGTH",
                        message: format!("expected a number from 1 to 1024, got '{n}'"),
                    });
                }
                n
            },
            filter_bots: env.bool("FILTER_BOTS", true)?,
            extra_bot_patterns: env
                .list("EXTRA_BOT_PATTERNS")
                .into_iter()
                .map(|p| p.to_ascii_lowercase())
                .collect(),
            respect_dnt: env.bool("RESPECT_DNT", false)?,
            touch_dedupe_minutes: env.non_negative("TOUCH_DEDUPE_MINUTES", 30)?,
        })
    }
}
