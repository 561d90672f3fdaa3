//! Accounts: how long sessions last, and the log-in and sign-up limits.

use super::{ConfigError, Env};

#[derive(Clone)]
pub struct AccountsConfig {
    /// `SESSION_TTL_DAYS`: a session ends after this many days without a request.
    pub session_days: i64,
    /// `LOGIN_MAX_FAILURES_PER_ACCOUNT`: failed log-ins per (account, client address) in
    /// `LOGIN_WINDOW_SECONDS`: the lock.
    pub login_max_failures_per_account: u32,
    /// `LOGIN_MAX_FAILURES_PER_IP`: failed log-ins per client address per window.
    pub login_max_failures_per_ip: u32,
    /// `LOGIN_MAX_FAILURES_PER_ACCOUNT_TOTAL`: failed log-ins per account per window from
    /// every address together: the ceiling against guessing from many addresses.
    pub login_max_failures_per_account_total: u32,
    /// `LOGIN_WINDOW_SECONDS`.
    pub login_window_secs: u64,
    /// `SIGNUP_MAX_PER_HOUR_PER_IP`: sign-ups per client address per hour.
    pub signup_max_per_hour_per_ip: u32,
}

impl AccountsConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(AccountsConfig {
            session_days: env.positive("SESSION_TTL_DAYS", 14)?,
            login_max_failures_per_account: env.parse("LOGIN_MAX_FAILURES_PER_ACCOUNT", "5", "a positive integer")?,
            login_max_failures_per_ip: env.parse("LOGIN_MAX_FAILURES_PER_IP", "20", "a positive integer")?,
            login_max_failures_per_account_total: env.parse(
                "LOGIN_MAX_FAILURES_PER_ACCOUNT_TOTAL",
                "100",
                "a positive integer",
            )?,
            login_window_secs: env.parse("LOGIN_WINDOW_SECONDS", "900", "a positive integer")?,
            signup_max_per_hour_per_ip: env.parse("SIGNUP_MAX_PER_HOUR_PER_IP", "10", "a positive integer")?,
        })
    }
}
