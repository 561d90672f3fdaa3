//! Serving: where the server listens, on how many threads, how it is reached
//! (`TRIBUTARY_BASE_URL`, and so whether cookies are `Secure`), and which proxies may
//! name the client; its timeouts, where `/metrics` is served, and the log format.

use super::{ConfigError, Env};
use ipnet::IpNet;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;
use url::Url;

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
pub struct ServerConfig {
    /// `LEPTOS_SITE_ADDR`.
    pub site_addr: SocketAddr,
    /// `SERVER_THREADS`: the threads that serve requests, each with a runtime of its own.
    pub threads: usize,
    /// `TRIBUTARY_BASE_URL`: the public address, for absolute links.
    pub base_url: Url,
    /// `COOKIE_SECURE`.
    pub cookie_secure: CookieSecure,
    /// `TRUSTED_PROXIES`.
    pub trusted_proxies: Vec<IpNet>,

    /// `HEADER_READ_TIMEOUT_SECONDS`: how long a client has to send a whole request head
    /// (against slowloris).
    pub header_read_timeout: Duration,
    /// `REQUEST_TIMEOUT_SECONDS`: the longest a page or API request may take. Streaming
    /// exports are exempt, but may not go this long without sending anything.
    pub request_timeout: Duration,

    /// `METRICS_ADDR`: a listen address that serves only `/metrics`, without
    /// authentication.
    pub metrics_addr: Option<SocketAddr>,
    /// `METRICS_TOKEN`: `/metrics` on the main address, for `Authorization: Bearer <token>`
    /// only.
    pub metrics_token: Option<String>,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
}

impl ServerConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
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
        Ok(ServerConfig {
            site_addr,
            threads: {
                let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                let n = env.positive("SERVER_THREADS", cores as i64)?;
                usize::try_from(n).unwrap_or(cores)
            },
            base_url,
            cookie_secure,
            trusted_proxies,
            header_read_timeout: Duration::from_secs(env.positive("HEADER_READ_TIMEOUT_SECONDS", 10)?.unsigned_abs()),
            request_timeout: Duration::from_secs(env.positive("REQUEST_TIMEOUT_SECONDS", 30)?.unsigned_abs()),
            metrics_addr: match env
                .raw("METRICS_ADDR")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
            {
                Some(raw) => Some(raw.parse().map_err(|_| ConfigError {
                    var: "METRICS_ADDR",
                    message: format!("expected an address like 127.0.0.1:9100, got '{raw}'"),
                })?),
                None => None,
            },
            metrics_token: match env
                .raw("METRICS_TOKEN")
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
        })
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
}
