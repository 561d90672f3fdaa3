//! Attribution's defaults: the window a touch counts in, and time decay's half-life.
//! Both shape rolled-up data, which startup recomputes when they change.

use super::{ConfigError, Env};

#[derive(Clone)]
pub struct AttributionConfig {
    /// `ATTRIBUTION_WINDOW_DAYS`.
    pub window_days: i64,
    /// `ATTRIBUTION_HALF_LIFE_DAYS`.
    pub half_life_days: f64,
}

impl AttributionConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(AttributionConfig {
            window_days: env.positive("ATTRIBUTION_WINDOW_DAYS", 30)?,
            half_life_days: {
                let v: f64 = env.parse("ATTRIBUTION_HALF_LIFE_DAYS", "7", "a positive number of days")?;
                if !(v.is_finite() && v > 0.0) {
                    return Err(ConfigError {
                        var: "ATTRIBUTION_HALF_LIFE_DAYS",
                        message: format!("expected a positive number of days, got '{v}'"),
                    });
                }
                v
            },
        })
    }
}
