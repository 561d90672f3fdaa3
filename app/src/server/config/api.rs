//! The REST API (`/api/v1`).

use super::{ConfigError, Env};

#[derive(Clone)]
pub struct ApiConfig {
    /// `API_RATE_LIMIT_PER_MINUTE`: requests per key per minute, per instance.
    pub rate_limit_per_minute: u32,
}

impl ApiConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(ApiConfig {
            rate_limit_per_minute: env.parse("API_RATE_LIMIT_PER_MINUTE", "6000", "a positive integer")?,
        })
    }
}
