//! The parts of a touch: privacy signals, the external referrer, the touchpoint row,
//! and the identity it is written to. The landing pipeline (`landing`) puts them
//! together.

use super::identity::{self, Identity};
use super::params::TrackedParams;
use super::source::{TouchFacts, derive};
use crate::server::config::Config;
use crate::server::db::Database;
use crate::server::writer::{IdentityRef, TouchRow};
use http::HeaderMap;
use sea_orm::{DbErr, TransactionTrait};
use sha2::{Digest, Sha256};

pub const MAX_REFERRER_CHARS: usize = 1024;

/// `Sec-GPC: 1` always opts out; `DNT: 1` when `RESPECT_DNT` is on.
pub fn opted_out(headers: &HeaderMap, config: &Config) -> bool {
    let is_one = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim) == Some("1");
    is_one("sec-gpc") || (config.tracking.respect_dnt && is_one("dnt"))
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
    let own_base = config.server.base_url.host_str().map(|h| h.to_ascii_lowercase());
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
    let p = input.params;
    let derived = derive(&TouchFacts {
        params: input.params,
        referrer_host: input.referrer_host.as_deref(),
        is_click: input.link.is_some(),
    });
    let tracked = input.params.query_string();
    let path = match input.link {
        Some((_, code)) => {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            ser.append_pair("ref", code);
            let r = ser.finish();
            if tracked.is_empty() {
                format!("{}?{r}", input.path)
            } else {
                format!("{}?{r}&{tracked}", input.path)
            }
        }
        None if tracked.is_empty() => input.path.to_string(),
        None => format!("{}?{tracked}", input.path),
    };
    let mut hasher = Sha256::new();
    hasher.update(tracked.as_bytes());
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
        utm: [
            p.utm_source.clone(),
            p.utm_medium.clone(),
            p.utm_campaign.clone(),
            p.utm_term.clone(),
            p.utm_content.clone(),
            p.utm_id.clone(),
        ],
        click_ids: p.click_ids_json(),
        extra_params: p.extra_json(),
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
pub async fn identity_for_request(db: &Database, cookie: Option<&str>, user: Option<i64>) -> Result<Tracked, DbErr> {
    let known = match cookie {
        Some(v) => identity::lookup(&db.read, v).await?,
        None => None,
    };
    let resolved: Option<Identity> = match (known, user) {
        (Some(k), None) => Some(k),
        (Some(k), Some(u)) if k.user_id == Some(u) => Some(k),
        (k, Some(u)) => {
            // Logged in without a usable cookie (or with an anonymous one): the user's
            // canonical identity, merging the anonymous one in.
            let txn = db.write.begin().await?;
            let anonymous = k.filter(|k| k.user_id.is_none()).map(|k| k.public_id);
            let c = identity::attach_to_user(&txn, u, anonymous.as_deref()).await?;
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
        c.tracking.respect_dnt = true;
        assert!(opted_out(&h, &c));
    }
}
