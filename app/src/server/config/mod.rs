//! `Config`: every setting, read once from environment variables, each with a default
//! that works on a fresh machine. The README lists them all.
//!
//! The settings come in slices, one per concern, each in its own file with the
//! variables it reads (zero-to-production's `Settings { database, application }`):
//! a module takes the slice it needs (`&config.tracking`), and a new concern adds a
//! file here and one line to `Config` and `Config::from_lookup`.

mod accounts;
mod api;
mod attribution;
mod conversions;
mod database;
mod referrals;
mod server;
mod tracking;

pub use accounts::AccountsConfig;
pub use api::ApiConfig;
pub use attribution::AttributionConfig;
pub use conversions::ConversionConfig;
pub use database::{DEFAULT_DATABASE_URL, DatabaseConfig, redact_url};
pub use referrals::ReferralConfig;
pub use server::{CookieSecure, LogFormat, ServerConfig};
pub use tracking::TrackingConfig;

use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {}: {}", self.var, self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`, `DATABASE_MAX_CONNECTIONS`.
    pub database: DatabaseConfig,
    /// Serving: the listen address, threads, the public base URL, cookies' `Secure`,
    /// trusted proxies, timeouts, metrics and logs.
    pub server: ServerConfig,
    /// Sessions and the log-in and sign-up limits.
    pub accounts: AccountsConfig,
    /// Landing capture: the identity cookie, tracked parameters, bots, privacy signals.
    pub tracking: TrackingConfig,
    /// Referral links: parameters, destinations, referrer codes, action labels.
    pub referrals: ReferralConfig,
    /// Recording conversions: the default currency, the sign-up conversion.
    pub conversions: ConversionConfig,
    /// The default attribution window and half-life.
    pub attribution: AttributionConfig,
    /// The REST API's rate limit.
    pub api: ApiConfig,
    /// `TRIBUTARY_TIMEZONE`: the zone every date is shown and every day is cut in
    /// (lists, filters, report buckets). Every slice's code may need it, so it is here.
    pub timezone: chrono_tz::Tz,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The database URL can hold a password: never print it.
        f.debug_struct("Config")
            .field("database", &redact_url(&self.database.url))
            .field("site_addr", &self.server.site_addr)
            .field("base_url", &self.server.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds a config from any key lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env { get: &get };
        Ok(Config {
            database: DatabaseConfig::from_env(&env)?,
            server: ServerConfig::from_env(&env)?,
            accounts: AccountsConfig::from_env(&env)?,
            tracking: TrackingConfig::from_env(&env)?,
            referrals: ReferralConfig::from_env(&env)?,
            conversions: ConversionConfig::from_env(&env)?,
            attribution: AttributionConfig::from_env(&env)?,
            api: ApiConfig::from_env(&env)?,
            timezone: {
                let raw = env.string("TRIBUTARY_TIMEZONE", "UTC");
                chrono_tz::Tz::from_str(&raw).map_err(|_| ConfigError {
                    var: "TRIBUTARY_TIMEZONE",
                    message: format!("expected an IANA time zone like Europe/Paris, got '{raw}'"),
                })?
            },
        })
    }

    /// Defaults only, for the given database: what tests start from.
    pub fn for_database(database_url: &str) -> Self {
        let url = database_url.to_string();
        Self::from_lookup(move |k| match k {
            "DATABASE_URL" => Some(url.clone()),
            _ => None,
        })
        .expect("the defaults are valid")
    }
}

/// The variables, read through the lookup `Config::from_lookup` was given, with the
/// parsing every slice shares. Each failure names its variable.
pub(crate) struct Env<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    /// The raw value, `None` when unset.
    fn raw(&self, var: &str) -> Option<String> {
        (self.get)(var)
    }

    fn string(&self, var: &str, default: &str) -> String {
        match (self.get)(var) {
            Some(v) if !v.trim().is_empty() => v.trim().to_string(),
            _ => default.to_string(),
        }
    }

    fn list(&self, var: &str) -> Vec<String> {
        (self.get)(var)
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    fn parse<T: FromStr>(&self, var: &'static str, default: &str, expected: &str) -> Result<T, ConfigError> {
        let raw = self.string(var, default);
        raw.parse::<T>().map_err(|_| ConfigError {
            var,
            message: format!("expected {expected}, got '{raw}'"),
        })
    }

    fn positive(&self, var: &'static str, default: i64) -> Result<i64, ConfigError> {
        let v: i64 = self.parse(var, &default.to_string(), "a positive integer")?;
        if v <= 0 {
            return Err(ConfigError {
                var,
                message: format!("expected a positive integer, got '{v}'"),
            });
        }
        Ok(v)
    }

    fn non_negative(&self, var: &'static str, default: i64) -> Result<i64, ConfigError> {
        let v: i64 = self.parse(var, &default.to_string(), "an integer of 0 or more")?;
        if v < 0 {
            return Err(ConfigError {
                var,
                message: format!("expected an integer of 0 or more, got '{v}'"),
            });
        }
        Ok(v)
    }

    fn bool(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        let raw = self.string(var, if default { "true" } else { "false" });
        match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError {
                var,
                message: format!("expected true or false, got '{raw}'"),
            }),
        }
    }

    fn param_name(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        let raw = self.string(var, default);
        if raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            Ok(raw)
        } else {
            Err(ConfigError {
                var,
                message: format!("expected a query parameter name, got '{raw}'"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_work_on_a_fresh_machine() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database.url, DEFAULT_DATABASE_URL);
        assert_eq!(c.server.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.server.base_origin(), "http://127.0.0.1:3000");
        assert!(!c.server.cookies_secure());
        assert_eq!(c.tracking.cookie_name, "tributary_id");
        assert_eq!(c.tracking.excluded_prefixes, vec!["/admin"]);
        assert_eq!(c.attribution.window_days, 30);
        assert_eq!(c.conversions.default_currency, "EUR");
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = with(&[("TRACKING_MAX_PARAM_LENGTH", "lots")]).unwrap_err();
        assert_eq!(err.var, "TRACKING_MAX_PARAM_LENGTH");
        assert!(err.to_string().contains("lots"));
        assert_eq!(with(&[("COOKIE_SECURE", "maybe")]).unwrap_err().var, "COOKIE_SECURE");
        assert_eq!(
            with(&[("TRUSTED_PROXIES", "10.0.0.0/33")]).unwrap_err().var,
            "TRUSTED_PROXIES"
        );
        assert_eq!(
            with(&[("TRIBUTARY_BASE_URL", "ftp://x")]).unwrap_err().var,
            "TRIBUTARY_BASE_URL"
        );
        assert_eq!(
            with(&[("DEFAULT_CURRENCY", "EURO")]).unwrap_err().var,
            "DEFAULT_CURRENCY"
        );
        assert_eq!(
            with(&[("TRIBUTARY_TIMEZONE", "Mars/Base")]).unwrap_err().var,
            "TRIBUTARY_TIMEZONE"
        );
        assert_eq!(
            with(&[("REFERRAL_DEFAULT_DESTINATION", "https://evil.example")])
                .unwrap_err()
                .var,
            "REFERRAL_DEFAULT_DESTINATION"
        );
    }

    #[test]
    fn server_threads_default_to_the_cores_and_must_be_positive() {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        assert_eq!(with(&[]).unwrap().server.threads, cores);
        assert_eq!(with(&[("SERVER_THREADS", "3")]).unwrap().server.threads, 3);
        for bad in ["0", "-1", "two"] {
            let err = with(&[("SERVER_THREADS", bad)]).unwrap_err();
            assert_eq!(err.var, "SERVER_THREADS");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn https_base_url_makes_cookies_secure_in_auto_mode() {
        let c = with(&[("TRIBUTARY_BASE_URL", "https://refer.example.com/")]).unwrap();
        assert!(c.server.cookies_secure());
        assert_eq!(c.server.base_origin(), "https://refer.example.com");
        let c = with(&[
            ("TRIBUTARY_BASE_URL", "https://refer.example.com"),
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap();
        assert!(!c.server.cookies_secure());
    }

    #[test]
    fn hardening_settings_have_defaults_and_refuse_bad_values() {
        let c = with(&[]).unwrap();
        assert_eq!(c.server.header_read_timeout.as_secs(), 10);
        assert_eq!(c.server.request_timeout.as_secs(), 30);
        assert_eq!(c.accounts.signup_max_per_hour_per_ip, 10);
        assert_eq!(c.accounts.login_max_failures_per_account_total, 100);
        assert_eq!((c.server.metrics_addr, c.server.metrics_token.as_deref()), (None, None));
        assert_eq!(c.server.log_format, LogFormat::Text);
        let c = with(&[
            ("METRICS_ADDR", "127.0.0.1:9100"),
            ("METRICS_TOKEN", "0123456789abcdef0123"),
            ("LOG_FORMAT", "JSON"),
        ])
        .unwrap();
        assert_eq!(c.server.metrics_addr.map(|a| a.port()), Some(9100));
        assert_eq!(c.server.log_format, LogFormat::Json);
        assert!(!format!("{c:?}").contains("0123456789abcdef0123"));
        for (var, bad) in [
            ("METRICS_ADDR", "nowhere"),
            ("METRICS_TOKEN", "short"),
            ("LOG_FORMAT", "xml"),
            ("REQUEST_TIMEOUT_SECONDS", "0"),
            ("HEADER_READ_TIMEOUT_SECONDS", "-3"),
            ("SIGNUP_MAX_PER_HOUR_PER_IP", "many"),
        ] {
            assert_eq!(with(&[(var, bad)]).unwrap_err().var, var);
        }
        let err = with(&[("METRICS_TOKEN", "short secret")]).unwrap_err();
        assert!(!err.to_string().contains("short secret"), "{err}");
    }

    #[test]
    fn the_database_password_is_never_printed() {
        let c = with(&[("DATABASE_URL", "postgres://u:hunter2@db/x")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
