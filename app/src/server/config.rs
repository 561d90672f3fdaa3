//! `Config`: every setting, read once from environment variables, each with a default
//! that works on a fresh machine. The README lists them all.

use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use url::Url;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecure {
    Auto,
    Always,
    Never,
}

/// `LOG_FORMAT`: human-readable lines, or one JSON object per line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub database_max_connections: u32,
    pub site_addr: SocketAddr,
    /// The threads that serve requests, each with a runtime of its own.
    pub server_threads: usize,
    pub base_url: Url,
    pub cookie_secure: CookieSecure,
    pub trusted_proxies: Vec<IpNet>,

    pub session_days: i64,
    /// Failed log-ins per (account, client address) per window: the lock.
    pub login_max_failures_per_account: u32,
    /// Failed log-ins per client address per window.
    pub login_max_failures_per_ip: u32,
    /// Failed log-ins per account per window from every address together: the ceiling
    /// against guessing from many addresses.
    pub login_max_failures_per_account_total: u32,
    pub login_window_secs: u64,
    /// Sign-ups per client address per hour.
    pub signup_max_per_hour_per_ip: u32,

    // Serving: timeouts.
    /// How long a client has to send a whole request head (against slowloris).
    pub header_read_timeout: std::time::Duration,
    /// The longest a page or API request may take. Streaming exports are exempt, but
    /// may not go this long without sending anything.
    pub request_timeout: std::time::Duration,

    // Operability.
    /// A listen address that serves only `/metrics`, without authentication.
    pub metrics_addr: Option<SocketAddr>,
    /// `/metrics` on the main address, for `Authorization: Bearer <token>` only.
    pub metrics_token: Option<String>,
    pub log_format: LogFormat,

    pub tracking_cookie_name: String,
    pub tracking_cookie_max_age_days: i64,
    pub tracking_excluded_prefixes: Vec<String>,
    pub tracking_extra_params: Vec<String>,
    pub tracking_max_param_length: usize,
    pub filter_bots: bool,
    pub extra_bot_patterns: Vec<String>,
    pub respect_dnt: bool,
    pub touch_dedupe_minutes: i64,

    pub referral_param: String,
    pub referral_redirect_param: String,
    pub referral_click_id_param: String,
    pub referral_default_destination: String,
    pub referral_allowed_hosts: Vec<String>,
    pub referral_auto_create: bool,
    pub referral_auto_associate: bool,
    pub referral_case_sensitive: bool,
    pub referral_auto_create_per_minute: u32,
    pub action_labels: BTreeMap<String, String>,

    pub attribution_window_days: i64,
    pub attribution_half_life_days: f64,
    pub default_currency: String,
    pub record_signup_conversion: bool,
    pub timezone: chrono_tz::Tz,

    pub api_rate_limit_per_minute: u32,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The database URL can hold a password: never print it.
        f.debug_struct("Config")
            .field("database", &redact_url(&self.database_url))
            .field("site_addr", &self.site_addr)
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tributary.db";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds a config from any key lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env { get: &get };
        let site_addr: SocketAddr =
            env.parse("LEPTOS_SITE_ADDR", "127.0.0.1:3000", "an address like 127.0.0.1:3000")?;
        let default_base = format!("http://{site_addr}");
        let base_url = {
            let raw = env.string("TRIBUTARY_BASE_URL", &default_base);
            let url = Url::parse(raw.trim_end_matches('/')).map_err(|e| ConfigError {
                var: "TRIBUTARY_BASE_URL",
                message: format!("expected an absolute http(s) URL, got '{raw}' ({e})"),
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(ConfigError {
                    var: "TRIBUTARY_BASE_URL",
                    message: format!("expected an absolute http(s) URL, got '{raw}'"),
                });
            }
            url
        };
        let cookie_secure = match env.string("COOKIE_SECURE", "auto").to_ascii_lowercase().as_str() {
            "auto" => CookieSecure::Auto,
            "true" | "1" | "yes" => CookieSecure::Always,
            "false" | "0" | "no" => CookieSecure::Never,
            other => {
                return Err(ConfigError {
                    var: "COOKIE_SECURE",
                    message: format!("expected auto, true or false, got '{other}'"),
                });
            }
        };
        let trusted_proxies = env
            .list("TRUSTED_PROXIES")
            .into_iter()
            .map(|s| {
                IpNet::from_str(&s)
                    .or_else(|_| std::net::IpAddr::from_str(&s).map(IpNet::from))
                    .map_err(|_| ConfigError {
                        var: "TRUSTED_PROXIES",
                        message: format!("expected a comma-separated list of CIDRs, got '{s}'"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let default_destination = env.string("REFERRAL_DEFAULT_DESTINATION", "/");
        if !is_local_path(&default_destination) {
            return Err(ConfigError {
                var: "REFERRAL_DEFAULT_DESTINATION",
                message: format!("expected a path on this site starting with '/', got '{default_destination}'"),
            });
        }
        let allowed_hosts = env
            .list("REFERRAL_ALLOWED_HOSTS")
            .into_iter()
            .map(|h| {
                let h = h.to_ascii_lowercase();
                if h.contains('/') || h.contains(':') && !h.starts_with('[') || h.is_empty() {
                    Err(ConfigError {
                        var: "REFERRAL_ALLOWED_HOSTS",
                        message: format!("expected host names like shop.example.com, got '{h}'"),
                    })
                } else {
                    Ok(h)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let timezone = {
            let raw = env.string("TRIBUTARY_TIMEZONE", "UTC");
            chrono_tz::Tz::from_str(&raw).map_err(|_| ConfigError {
                var: "TRIBUTARY_TIMEZONE",
                message: format!("expected an IANA time zone like Europe/Paris, got '{raw}'"),
            })?
        };
        let default_currency = env.string("DEFAULT_CURRENCY", "EUR").to_ascii_uppercase();
        if crate::server::money::Currency::parse(&default_currency).is_none() {
            return Err(ConfigError {
                var: "DEFAULT_CURRENCY",
                message: format!("expected an ISO 4217 currency code like EUR, got '{default_currency}'"),
            });
        }
        let action_labels = {
            let mut labels = BTreeMap::from([
                ("RESPONDED".to_string(), "Clicked the link".to_string()),
                ("SIGNED_UP".to_string(), "Signed up".to_string()),
            ]);
            for entry in env.list("ACTION_LABELS") {
                let Some((k, v)) = entry.split_once('=') else {
                    return Err(ConfigError {
                        var: "ACTION_LABELS",
                        message: format!("expected ACTION=Label pairs separated by commas, got '{entry}'"),
                    });
                };
                labels.insert(k.trim().to_string(), v.trim().to_string());
            }
            labels
        };
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

        Ok(Config {
            database_url: env.string("DATABASE_URL", DEFAULT_DATABASE_URL),
            database_max_connections: env.parse("DATABASE_MAX_CONNECTIONS", "16", "a positive integer")?,
            site_addr,
            server_threads: {
                let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                let n = env.positive("SERVER_THREADS", cores as i64)?;
                usize::try_from(n).unwrap_or(cores)
            },
            base_url,
            cookie_secure,
            trusted_proxies,
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
            header_read_timeout: std::time::Duration::from_secs(
                env.positive("HEADER_READ_TIMEOUT_SECONDS", 10)?.unsigned_abs(),
            ),
            request_timeout: std::time::Duration::from_secs(
                env.positive("REQUEST_TIMEOUT_SECONDS", 30)?.unsigned_abs(),
            ),
            metrics_addr: match (get)("METRICS_ADDR")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                Some(raw) => Some(raw.parse().map_err(|_| ConfigError {
                    var: "METRICS_ADDR",
                    message: format!("expected an address like 127.0.0.1:9100, got '{raw}'"),
                })?),
                None => None,
            },
            metrics_token: match (get)("METRICS_TOKEN")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                // A secret: never echoed in the message.
                Some(t) if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_graphic()) => {
                    return Err(ConfigError {
                        var: "METRICS_TOKEN",
                        message: "expected at least 16 printable characters without spaces".into(),
                    });
                }
                other => other,
            },
            log_format: match env.string("LOG_FORMAT", "text").to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => {
                    return Err(ConfigError {
                        var: "LOG_FORMAT",
                        message: format!("expected text or json, got '{other}'"),
                    });
                }
            },
            tracking_cookie_name: {
                let name = env.string("TRACKING_COOKIE_NAME", "tributary_id");
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    return Err(ConfigError {
                        var: "TRACKING_COOKIE_NAME",
                        message: format!("expected letters, digits, '_' or '-', got '{name}'"),
                    });
                }
                name
            },
            tracking_cookie_max_age_days: env.positive("TRACKING_COOKIE_MAX_AGE_DAYS", 90)?,
            tracking_excluded_prefixes: {
                let raw = get("TRACKING_EXCLUDED_PREFIXES");
                let list = match raw {
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
            tracking_extra_params: extra_params,
            tracking_max_param_length: {
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
            referral_param: env.param_name("REFERRAL_PARAM", "ref")?,
            referral_redirect_param: env.param_name("REFERRAL_REDIRECT_PARAM", "redirect_to")?,
            referral_click_id_param: env.param_name("REFERRAL_CLICK_ID_PARAM", "tb_click")?,
            referral_default_destination: default_destination,
            referral_allowed_hosts: allowed_hosts,
            referral_auto_create: env.bool("REFERRAL_AUTO_CREATE", true)?,
            referral_auto_associate: env.bool("REFERRAL_AUTO_ASSOCIATE", true)?,
            referral_case_sensitive: env.bool("REFERRAL_CASE_SENSITIVE", false)?,
            referral_auto_create_per_minute: env.parse("REFERRAL_AUTO_CREATE_PER_MINUTE", "5", "a positive integer")?,
            action_labels,
            attribution_window_days: env.positive("ATTRIBUTION_WINDOW_DAYS", 30)?,
            attribution_half_life_days: {
                let v: f64 = env.parse("ATTRIBUTION_HALF_LIFE_DAYS", "7", "a positive number of days")?;
                if !(v.is_finite() && v > 0.0) {
                    return Err(ConfigError {
                        var: "ATTRIBUTION_HALF_LIFE_DAYS",
                        message: format!("expected a positive number of days, got '{v}'"),
                    });
                }
                v
            },
            default_currency,
            record_signup_conversion: env.bool("RECORD_SIGNUP_CONVERSION", true)?,
            timezone,
            api_rate_limit_per_minute: env.parse("API_RATE_LIMIT_PER_MINUTE", "6000", "a positive integer")?,
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

    /// Whether cookies get the `Secure` attribute.
    pub fn cookies_secure(&self) -> bool {
        match self.cookie_secure {
            CookieSecure::Always => true,
            CookieSecure::Never => false,
            CookieSecure::Auto => self.base_url.scheme() == "https",
        }
    }

    /// `https://example.com` (no trailing slash), for building absolute links.
    pub fn base_origin(&self) -> String {
        self.base_url.as_str().trim_end_matches('/').to_string()
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }
}

pub use crate::api::is_local_path;

struct Env<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
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

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(move |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_work_on_a_fresh_machine() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.site_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.base_origin(), "http://127.0.0.1:3000");
        assert!(!c.cookies_secure());
        assert_eq!(c.tracking_cookie_name, "tributary_id");
        assert_eq!(c.tracking_excluded_prefixes, vec!["/admin"]);
        assert_eq!(c.attribution_window_days, 30);
        assert_eq!(c.default_currency, "EUR");
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
        assert_eq!(with(&[]).unwrap().server_threads, cores);
        assert_eq!(with(&[("SERVER_THREADS", "3")]).unwrap().server_threads, 3);
        for bad in ["0", "-1", "two"] {
            let err = with(&[("SERVER_THREADS", bad)]).unwrap_err();
            assert_eq!(err.var, "SERVER_THREADS");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn https_base_url_makes_cookies_secure_in_auto_mode() {
        let c = with(&[("TRIBUTARY_BASE_URL", "https://refer.example.com/")]).unwrap();
        assert!(c.cookies_secure());
        assert_eq!(c.base_origin(), "https://refer.example.com");
        let c = with(&[
            ("TRIBUTARY_BASE_URL", "https://refer.example.com"),
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap();
        assert!(!c.cookies_secure());
    }

    #[test]
    fn hardening_settings_have_defaults_and_refuse_bad_values() {
        let c = with(&[]).unwrap();
        assert_eq!(c.header_read_timeout.as_secs(), 10);
        assert_eq!(c.request_timeout.as_secs(), 30);
        assert_eq!(c.signup_max_per_hour_per_ip, 10);
        assert_eq!(c.login_max_failures_per_account_total, 100);
        assert_eq!((c.metrics_addr, c.metrics_token.as_deref()), (None, None));
        assert_eq!(c.log_format, LogFormat::Text);
        let c = with(&[
            ("METRICS_ADDR", "127.0.0.1:9100"),
            ("METRICS_TOKEN", "0123456789abcdef0123"),
            ("LOG_FORMAT", "JSON"),
        ])
        .unwrap();
        assert_eq!(c.metrics_addr.map(|a| a.port()), Some(9100));
        assert_eq!(c.log_format, LogFormat::Json);
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

    #[test]
    fn local_paths_exclude_scheme_relative_and_backslash_forms() {
        assert!(is_local_path("/"));
        assert!(is_local_path("/welcome?x=1"));
        assert_eq!(
            crate::api::local_path("/a/./b/../c?x=/..//y").as_deref(),
            Some("/a/c?x=/..//y")
        );
        assert_eq!(crate::api::local_path("/a/..").as_deref(), Some("/"));
        assert_eq!(crate::api::safe_next(Some("/..//evil.example"), "/account"), "/account");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://x",
            "javascript:alert(1)",
            "",
            "/a b",
            "/a\\b",
            "/..//evil.example",
            "/.//evil.example",
            "/%2e%2e//evil.example",
            "/.%2E//evil.example",
            "////evil.example",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "/a\u{2028}b",
        ] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
