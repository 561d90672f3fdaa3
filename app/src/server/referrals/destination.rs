//! Where a link may send people: a normalised path on this site, or an http(s) URL on
//! an allowed host. Checked when a link is created or changed, and again just before
//! each redirect (`click_destination`), so that rows written before a rule existed, or
//! by hand, cannot send anyone off-site either.

use crate::server::config::Config;
use crate::util::local_path;
use sea_orm::{ConnectionTrait, DbErr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Local(String),
    External(url::Url),
}

impl Destination {
    /// Parses a destination once: a path (normalised by `local_path`), or an absolute
    /// http(s) URL, parsed by `url`. A URL of this site, however it is spelled
    /// (`HTTP://`, `http://2130706433:3000`, `0x7f.1`: `url` normalises the host), is
    /// kept as its path, which must then pass the same rule as a path. Whitespace,
    /// control characters and backslashes are refused anywhere, never stripped.
    pub fn parse(raw: &str, config: &Config) -> Result<Destination, String> {
        let s = raw.trim_matches(' ');
        if s.is_empty() {
            return Err("Enter a destination: a path on this site like /pricing, or an allowed external URL.".into());
        }
        if s.len() > 2048 {
            return Err("Destinations are at most 2048 characters.".into());
        }
        if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("Destinations cannot contain spaces, tabs, line breaks or other control characters.".into());
        }
        if s.contains('\\') {
            return Err("Destinations cannot contain backslashes.".into());
        }
        if s.starts_with('/') {
            return local_path(s)
                .map(Destination::Local)
                .ok_or_else(|| "That is not a path on this site.".into());
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
            // A full URL of this site: keep it as a path, if it is one.
            let mut path = url.path().to_string();
            if let Some(q) = url.query() {
                path.push('?');
                path.push_str(q);
            }
            return local_path(&path)
                .map(Destination::Local)
                .ok_or_else(|| "That is not a path on this site.".into());
        }
        if host.is_empty() || !config.referrals.allowed_hosts.contains(&host) {
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

/// Where a click on a link goes: the link's stored destination, checked again with the
/// rules above (and the allowed hosts of now), or a `?redirect_to=` path on this site
/// instead. `Err` (why) when the stored destination fails: the caller answers with the
/// "link not found" page and logs it.
pub fn click_destination(stored: &str, redirect_to: Option<&str>, config: &Config) -> Result<Destination, String> {
    let checked = Destination::parse(stored, config)?;
    Ok(match redirect_override(redirect_to) {
        Some(path) => Destination::Local(path),
        None => checked,
    })
}

/// `?redirect_to=` overrides the stored destination only with a path on this site
/// (normalised). Its percent-escapes are decoded once more for the check, so that
/// `%0d%0a` or `/%2F/evil` cannot smuggle what the plain rules refuse.
pub fn redirect_override(raw: Option<&str>) -> Option<String> {
    let s = raw?;
    let decoded = String::from_utf8_lossy(&crate::server::tracking::params::percent_decode(s.as_bytes())).into_owned();
    if decoded.starts_with("/%") || local_path(&decoded).is_none() {
        return None;
    }
    local_path(s)
}

/// A stored link whose destination no longer passes `Destination::parse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedLink {
    pub id: i64,
    pub code: String,
    pub destination: String,
    pub reason: String,
}

/// Every stored link whose destination fails the rules, read in pages of 500 by id
/// (never the whole table at once). Startup logs them; they are left as they are, since
/// the redirect-time check already refuses them.
pub async fn refused_links(db: &impl ConnectionTrait, config: &Config) -> Result<Vec<RefusedLink>, DbErr> {
    let backend = db.get_database_backend();
    let mut after = 0i64;
    let mut refused = Vec::new();
    loop {
        let rows = db
            .query_all(crate::server::sql::stmt(
                backend,
                "SELECT id, code, destination FROM links WHERE id > ? ORDER BY id LIMIT 500",
                [after.into()],
            ))
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("", "id")?;
        for row in &rows {
            let destination: String = row.try_get("", "destination")?;
            if let Err(reason) = Destination::parse(&destination, config) {
                refused.push(RefusedLink {
                    id: row.try_get("", "id")?,
                    code: row.try_get("", "code")?,
                    destination,
                    reason,
                });
            }
        }
    }
    Ok(refused)
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
        assert_eq!(
            Destination::parse("/a/b/../c/./d", &c),
            Ok(Destination::Local("/a/c/d".into()))
        );
        assert_eq!(
            Destination::parse("HTTP://0x7f.1:3000/a/%2e%2e/b", &c),
            Ok(Destination::Local("/b".into()))
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
            // This site, spelled so that its path becomes scheme-relative.
            "http://127.0.0.1:3000//evil.example",
            "http://127.0.0.1:3000/\\evil.example",
            "http://127.0.0.1:3000/..//evil.example",
            "http://127.0.0.1:3000/.//evil.example",
            "http://127.0.0.1:3000////evil.example",
            "HTTP://127.0.0.1:3000//x",
            "http://2130706433:3000//x",
            "http://0x7f.1:3000//x",
            "/..//evil.example",
            "/.//evil.example",
            "/%2e%2e//evil.example",
            "/%2E//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "http://127.0.0.1:3000/\t/evil.example",
            "https://shop.exa\tmple.com/",
            "/a\u{0}b",
        ] {
            assert!(
                Destination::parse(bad, &c).is_err(),
                "{bad:?} -> {:?}",
                Destination::parse(bad, &c)
            );
        }
    }

    #[test]
    fn a_stored_destination_that_fails_is_refused_at_redirect_time() {
        let c = config();
        assert!(click_destination("//evil.example", None, &c).is_err());
        assert!(click_destination("//evil.example", Some("/ok"), &c).is_err());
        assert!(click_destination("https://evil.example/", None, &c).is_err());
        assert_eq!(
            click_destination("/welcome", Some("/pricing"), &c),
            Ok(Destination::Local("/pricing".into()))
        );
        assert_eq!(
            click_destination("/welcome", Some("/..//evil.example"), &c),
            Ok(Destination::Local("/welcome".into()))
        );
    }

    #[test]
    fn redirect_overrides_take_only_local_paths() {
        assert_eq!(redirect_override(Some("/special/")), Some("/special/".into()));
        assert_eq!(redirect_override(Some("/a/../b")), Some("/b".into()));
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
            "/..//evil.example",
            "/%2e%2e//evil.example",
        ] {
            let got = redirect_override(Some(bad));
            assert!(got.is_none(), "{bad} -> {got:?}");
        }
        assert_eq!(redirect_override(None), None);
    }
}
