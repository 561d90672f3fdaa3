//! Accounts: how long sessions last, and the log-in limits.

use super::{ConfigError, Env};

#[derive(Clone)]
pub struct AccountsConfig {
    /// `SESSION_TTL_DAYS`: a session ends after this many days without a request.
    pub session_days: i64,
    /// `LOGIN_MAX_FAILURES_PER_ACCOUNT`, `LOGIN_MAX_FAILURES_PER_IP`: failed log-ins
    /// allowed in `LOGIN_WINDOW_SECONDS`.
    pub login_max_failures_per_account: u32,
    pub login_max_failures_per_ip: u32,
    pub login_window_secs: u64,
}

impl AccountsConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(AccountsConfig {
            session_days: env.positive("SESSION_TTL_DAYS", 14)?,
            login_max_failures_per_account: env.parse("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5", "a positive integer")?,
            login_max_failures_per_ip: env.parse("LOGIN_MAX_FAILURES_PER_IP", "20", "a positive integer")?,
            login_window_secs: env.parse("LOGIN_WINDOW_SECONDS", "900", "a positive integer")?,
        })
    }
}
