//! Deciding what a landing is and building its touchpoint.

use super::identity::{self, Identity};
use super::params::TrackedParams;
use super::source::{TouchFacts, derive};
use crate::server::accounts::AuthUser;
use crate::server::config::Config;
use crate::server::state::AppState;
use crate::server::writer::{IdentityRef, TouchRow};
use http::{HeaderMap, Method};
use sea_orm::{DbErr, TransactionTrait};
use sha2::{Digest, Sha256};

pub const MAX_REFERRER_CHARS: usize = 1024;

/// Whether the capture layer looks at a request at all: GET requests for pages, not
/// assets, the API, server functions, health, `/r/`, files, or excluded prefixes.
pub fn looks_at(method: &Method, path: &str, config: &Config) -> bool {
    if method != Method::GET {
        return false;
    }
    const SKIPPED: [&str; 4] = ["/pkg", "/api", "/healthz", "/r"];
    // No allocation: this runs for every request (the capture layer and the request log).
    if SKIPPED
        .iter()
        .copied()
        .chain(config.tracking_excluded_prefixes.iter().map(String::as_str))
        .any(|p| has_prefix(path, p))
    {
        return false;
    }
    let last = path.rsplit('/').next().unwrap_or("");
    !last.contains('.')
}

/// `/admin` matches `/admin`, `/admin/` and `/admin/users`, not `/administrator`.
fn has_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

/// `Sec-GPC: 1` always opts out; `DNT: 1` when `RESPECT_DNT` is on.
pub fn opted_out(headers: &HeaderMap, config: &Config) -> bool {
    let is_one = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim) == Some("1");
    is_one("sec-gpc") || (config.respect_dnt && is_one("dnt"))
}

/// The `http_referrer`'s host, lowercased, when it names another site than this one
/// (neither the request's `Host` nor the public base URL).
pub fn external_referrer_host(referrer: Option<&str>, request_host: Option<&str>, config: &Config) -> Option<String> {
    let url = url::Url::parse(referrer?).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let own_request = request_host.map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase());
    let own_base = config.base_url.host_str().map(|h| h.to_ascii_lowercase());
    if Some(&host) == own_request.as_ref() || Some(&host) == own_base.as_ref() {
        return None;
    }
    Some(host)
}

pub fn cut_referrer(referrer: Option<&str>) -> Option<String> {
    referrer
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(MAX_REFERRER_CHARS).collect())
}

/// What makes a touch: tracked parameters, an external referrer, or a link.
pub struct TouchInput<'a> {
    pub path: &'a str,
    pub params: &'a TrackedParams,
    pub http_referrer: Option<&'a str>,
    pub referrer_host: Option<String>,
    /// The link of a click, with the code as it appears in the URL.
    pub link: Option<(i64, &'a str)>,
    pub now: i64,
}

/// Builds the touchpoint row: the path with only the tracked parameters (never the
/// whole query string), the derived source/medium/channel, and the dedupe fingerprint
/// (parameters, referrer host and link).
pub fn touch_row(input: TouchInput) -> TouchRow {
    let derived = derive(&TouchFacts {
        params: input.params,
        referrer_host: input.referrer_host.as_deref(),
        is_click: input.link.is_some(),
    });
    let mut query = input.params.query_string();
    if let Some((_, code)) = input.link {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("ref", code);
        let r = ser.finish();
        query = if query.is_empty() { r } else { format!("{r}&{query}") };
    }
    let path = if query.is_empty() {
        input.path.to_string()
    } else {
        format!("{}?{query}", input.path)
    };
    let mut hasher = Sha256::new();
    hasher.update(input.params.query_string().as_bytes());
    hasher.update(b"|");
    hasher.update(input.referrer_host.as_deref().unwrap_or("").as_bytes());
    hasher.update(b"|");
    hasher.update(input.link.map(|(id, _)| id).unwrap_or(0).to_le_bytes());
    let digest = hasher.finalize();
    let fingerprint = i64::from_le_bytes(digest[..8].try_into().unwrap_or([0; 8]));
    TouchRow {
        created_at: input.now,
        link_id: input.link.map(|(id, _)| id),
        path: path.chars().take(2048).collect(),
        http_referrer: cut_referrer(input.http_referrer),
        referrer_host: input.referrer_host,
        params: input.params.clone(),
        source: derived.source,
        medium: derived.medium,
        channel: derived.channel.to_string(),
        fingerprint,
    }
}

/// The identity a tracked request writes to, and the cookie value it must carry.
pub struct Tracked {
    pub identity: IdentityRef,
    pub cookie: Option<String>,
    /// The user the identity belongs to, if any.
    pub user_id: Option<i64>,
}

/// "The current identity of this request", for the hot paths: it reads, and leaves
/// creating a new identity to the group-commit writer (`IdentityRef::New`).
/// - a cookie naming a known identity: that identity (followed to its canonical one);
/// - a logged-in user: their canonical identity; an anonymous cookie identity is
///   merged into it, another user's is replaced;
/// - otherwise a new identity.
pub async fn identity_for_request(
    state: &AppState,
    cookie: Option<&str>,
    user: Option<&AuthUser>,
) -> Result<Tracked, DbErr> {
    let db = &state.db;
    let known = match cookie {
        Some(v) => identity::lookup(&db.read, v).await?,
        None => None,
    };
    let resolved: Option<Identity> = match (known, user) {
        (Some(k), None) => Some(k),
        (Some(k), Some(u)) if k.user_id == Some(u.id) => Some(k),
        (k, Some(u)) => {
            // Logged in without a usable cookie (or with an anonymous one): the user's
            // canonical identity, merging the anonymous one in.
            let txn = db.write.begin().await?;
            let anonymous = k.filter(|k| k.user_id.is_none()).map(|k| k.public_id);
            let c = identity::attach_to_user(&txn, u.id, anonymous.as_deref()).await?;
            txn.commit().await?;
            Some(c)
        }
        (None, None) => None,
    };
    Ok(match resolved {
        Some(i) => Tracked {
            identity: IdentityRef::Existing(i.id),
            cookie: Some(i.public_id),
            user_id: i.user_id,
        },
        None => {
            let public_id = identity::new_public_id();
            Tracked {
                identity: IdentityRef::New {
                    public_id: public_id.clone(),
                    user_id: None,
                },
                cookie: Some(public_id),
                user_id: None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::for_database("sqlite://x.db")
    }

    #[test]
    fn only_page_gets_are_looked_at() {
        let c = config();
        assert!(looks_at(&Method::GET, "/", &c));
        assert!(looks_at(&Method::GET, "/pricing", &c));
        assert!(looks_at(&Method::GET, "/administrator", &c));
        for path in [
            "/pkg/tributary.js",
            "/api/login",
            "/api/v1/conversions",
            "/healthz",
            "/r/abc",
            "/favicon.ico",
            "/robots.txt",
            "/admin",
            "/admin/",
            "/admin/users",
        ] {
            assert!(!looks_at(&Method::GET, path, &c), "{path}");
        }
        assert!(!looks_at(&Method::HEAD, "/", &c));
        assert!(!looks_at(&Method::POST, "/", &c));
    }

    #[test]
    fn referrers_from_this_site_are_not_external() {
        let c = config();
        assert_eq!(
            external_referrer_host(Some("https://www.Google.com/search?q=x"), Some("127.0.0.1:3000"), &c).as_deref(),
            Some("www.google.com")
        );
        assert_eq!(
            external_referrer_host(Some("http://127.0.0.1:3000/pricing"), Some("127.0.0.1:3000"), &c),
            None
        );
        assert_eq!(
            external_referrer_host(Some("http://localhost:3000/"), Some("localhost:3000"), &c),
            None
        );
        assert_eq!(external_referrer_host(Some("android-app://com.google"), None, &c), None);
        assert_eq!(external_referrer_host(Some("not a url"), None, &c), None);
        assert_eq!(external_referrer_host(None, None, &c), None);
    }

    #[test]
    fn the_touch_keeps_only_tracked_parameters_and_cuts_the_referrer() {
        let mut params = TrackedParams::default();
        params.utm_source = Some("news letter".into());
        let long = format!("https://blog.example/{}", "x".repeat(2000));
        let t = touch_row(TouchInput {
            path: "/pricing",
            params: &params,
            http_referrer: Some(&long),
            referrer_host: Some("blog.example".into()),
            link: None,
            now: 1,
        });
        assert_eq!(t.path, "/pricing?utm_source=news+letter");
        assert_eq!(t.http_referrer.unwrap().chars().count(), MAX_REFERRER_CHARS);
        assert_eq!(t.source, "news letter");
        let again = touch_row(TouchInput {
            path: "/other",
            params: &params,
            http_referrer: None,
            referrer_host: Some("blog.example".into()),
            link: None,
            now: 2,
        });
        assert_eq!(
            t.fingerprint, again.fingerprint,
            "the fingerprint ignores the path and time"
        );
    }

    #[test]
    fn privacy_signals_opt_out() {
        let mut c = config();
        let mut h = HeaderMap::new();
        assert!(!opted_out(&h, &c));
        h.insert("sec-gpc", "1".parse().unwrap());
        assert!(opted_out(&h, &c));
        let mut h = HeaderMap::new();
        h.insert("dnt", "1".parse().unwrap());
        assert!(!opted_out(&h, &c));
        c.respect_dnt = true;
        assert!(opted_out(&h, &c));
    }
}
