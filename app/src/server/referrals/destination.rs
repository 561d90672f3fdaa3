//! Where a link may send people: a path on this site, or a URL on an allowed host.
//! Checked when a link is created or changed, so no stored open redirect exists.

use crate::server::config::Config;
use crate::util::is_local_path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Local(String),
    External(url::Url),
}

impl Destination {
    pub fn parse(raw: &str, config: &Config) -> Result<Destination, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("Enter a destination: a path on this site like /pricing, or an allowed external URL.".into());
        }
        if s.len() > 2048 {
            return Err("Destinations are at most 2048 characters.".into());
        }
        if s.starts_with('/') {
            return if is_local_path(s) {
                Ok(Destination::Local(s.to_string()))
            } else {
                Err("That is not a path on this site.".into())
            };
        }
        let url = url::Url::parse(s).map_err(|_| "Enter a path starting with / or a full https:// URL.".to_string())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("Only http and https destinations are allowed.".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("Destinations cannot contain credentials.".into());
        }
        let host = url.host_str().unwrap_or("").to_ascii_lowercase();
        let own = config.server.base_url.host_str().map(|h| h.to_ascii_lowercase());
        if Some(&host) == own.as_ref() && url.port_or_known_default() == config.server.base_url.port_or_known_default()
        {
            // A full URL of this site: keep it as a path.
            let mut path = url.path().to_string();
            if let Some(q) = url.query() {
                path.push('?');
                path.push_str(q);
            }
            return Ok(Destination::Local(path));
        }
        if !config.referrals.allowed_hosts.contains(&host) {
            return Err(format!(
                "{host} is not an allowed destination. Use a path on this site{}.",
                if config.referrals.allowed_hosts.is_empty() {
                    String::new()
                } else {
                    format!(" or one of: {}", config.referrals.allowed_hosts.join(", "))
                }
            ));
        }
        Ok(Destination::External(url))
    }

    pub fn as_string(&self) -> String {
        match self {
            Destination::Local(p) => p.clone(),
            Destination::External(u) => u.to_string(),
        }
    }
}

/// `?redirect_to=` overrides the stored destination only with a path on this site.
/// Its percent-escapes are decoded once more for the check, so that `%0d%0a` or
/// `/%2F/evil` cannot smuggle what the plain rules refuse.
pub fn redirect_override(raw: Option<&str>) -> Option<String> {
    let s = raw?.trim();
    let decoded = String::from_utf8_lossy(&crate::server::tracking::params::percent_decode(s.as_bytes())).into_owned();
    (is_local_path(s) && is_local_path(&decoded) && !decoded.starts_with("/%")).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut c = Config::for_database("sqlite://x.db");
        c.referrals.allowed_hosts = vec!["shop.example.com".into()];
        c
    }

    #[test]
    fn paths_and_allowed_hosts_pass() {
        let c = config();
        assert_eq!(
            Destination::parse("/pricing?x=1", &c),
            Ok(Destination::Local("/pricing?x=1".into()))
        );
        assert!(matches!(
            Destination::parse("https://shop.example.com/cart", &c),
            Ok(Destination::External(_))
        ));
        assert!(matches!(
            Destination::parse("https://SHOP.example.com/", &c),
            Ok(Destination::External(_))
        ));
        assert_eq!(
            Destination::parse("http://127.0.0.1:3000/welcome", &c),
            Ok(Destination::Local("/welcome".into()))
        );
    }

    #[test]
    fn everything_else_is_refused() {
        let c = config();
        for bad in [
            "",
            "https://evil.example/",
            "https://shop.example.com.evil.example/",
            "https://user:pw@shop.example.com/",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "ftp://shop.example.com/",
            "pricing",
        ] {
            assert!(Destination::parse(bad, &c).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_overrides_take_only_local_paths() {
        assert_eq!(redirect_override(Some("/special/")), Some("/special/".into()));
        for bad in [
            "",
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            " //evil.example",
            "/%0d%0aSet-Cookie:x",
            "http:/evil.example",
            "/%2F/evil.example",
            "/%5Cevil.example",
        ] {
            let got = redirect_override(Some(bad));
            assert!(got.is_none(), "{bad} -> {got:?}");
        }
        assert_eq!(redirect_override(None), None);
    }
}
