//! The landing pipeline: what counts as a landing, and recording it (on the pattern
//! of Plausible's `ingestion/event.ex`). Every adapter goes through it:
//! - the capture layer (`server/src/middleware/capture.rs`), for the pages of this site;
//! - `GET /r/<code>` (`server/src/referral.rs`), a click on a link;
//! - later, the collect API, for a page of another site that a script reports (its
//!   page host is not ours, and the visitor is named by the script's `visitor_id`
//!   instead of our cookie).
//!
//! An adapter builds a [`LandingInput`] from what it saw; [`classify`] decides, without
//! any I/O, whether it is a landing to record; the adapter names the [`Visitor`]; and
//! [`record`] writes the click (a `RESPONDED` response and its touch) or the touch
//! through the group-commit writer, and says what it wrote ([`Recorded`]), so the
//! adapter can set the identity cookie, build the redirect, and count.
//!
//! The common case, a page with no query string and no `Referer`, is decided in a few
//! comparisons: nothing is parsed or allocated for it.

use super::bots::BotFilter;
use super::capture::{TouchInput, external_referrer_host, identity_for_request, opted_out, touch_row};
use super::identity;
use super::params::{LandingQuery, parse_query};
use crate::server::accounts::CurrentUser;
use crate::server::config::Config;
use crate::server::db::Database;
use crate::server::metrics::Metrics;
use crate::server::net::{ClientAddr, truncate};
use crate::server::ratelimit::RateLimiter;
use crate::server::referrals::cache::{CachedLink, LinkCache};
use crate::server::referrals::referrers;
use crate::server::referrals::responses::{RESPONDED, new_response_id};
use crate::server::time::{MINUTE, now_ms};
use crate::server::writer::{IdentityRef, ResponseRow, WriteError, WriteJob, Writer};
use http::{HeaderMap, Method, header};
use std::net::IpAddr;

/// Headers kept from a landing (user agent, `Referer`) are cut to this many characters.
const MAX_HEADER_CHARS: usize = 512;

/// What an adapter saw of a page view. Everything is borrowed: building one costs a
/// few header lookups. (`'l` is the clicked link's: a landing outlives the request head.)
#[derive(Debug, Clone)]
pub struct LandingInput<'a, 'l> {
    /// A GET is a view; a HEAD (or anything else) is answered, never recorded.
    pub method: &'a Method,
    /// The landed page's path, and its query string without `?` ("" when none).
    pub path: &'a str,
    pub query: &'a str,
    /// The host the page was served from (our request's `Host`, or the reported
    /// page's host): a `Referer` from it, or from our base URL, is not external.
    pub page_host: Option<&'a str>,
    pub http_referrer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// `Sec-GPC: 1` (or `DNT: 1` with `RESPECT_DNT`): no identity is made or set.
    pub opted_out: bool,
    pub via: Via<'l>,
}

/// How the landing reached us.
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    /// A page of this site, seen by the capture layer: the path rules apply (no
    /// assets, API, excluded prefixes), and `?ref=` of a live link is a click.
    Page,
    /// `GET /r/<code>` of this live link: a click, whatever the query.
    Link(&'a CachedLink),
}

impl<'a, 'l> LandingInput<'a, 'l> {
    /// The input of a request to this site.
    pub fn from_head(
        method: &'a Method,
        uri: &'a http::Uri,
        headers: &'a HeaderMap,
        config: &Config,
        via: Via<'l>,
    ) -> Self {
        let header = |name| headers.get(name).and_then(|v: &http::HeaderValue| v.to_str().ok());
        LandingInput {
            method,
            path: uri.path(),
            query: uri.query().unwrap_or(""),
            page_host: header(header::HOST),
            http_referrer: header(header::REFERER),
            user_agent: header(header::USER_AGENT),
            opted_out: opted_out(headers, config),
            via,
        }
    }
}

/// A landing to record: everything `record` writes, owned, so that the page can
/// render meanwhile.
#[derive(Debug, Clone)]
pub struct Landing<'a> {
    /// The landed path (`/r/<code>` without a trailing slash).
    pub path: String,
    /// The tracked parameters, `?ref=` and `?redirect_to=`.
    pub query: LandingQuery,
    /// The `Referer`'s host when it is another site.
    pub referrer_host: Option<String>,
    pub http_referrer: Option<String>,
    pub user_agent: Option<String>,
    pub opted_out: bool,
    /// The link clicked through `/r/<code>`.
    pub link: Option<&'a CachedLink>,
    pub now: i64,
}

/// Whether a landing is worth recording: a GET of a page (not assets, the API, server
/// functions, health, files or excluded prefixes; not by a bot) that carries tracked
/// parameters, a `?ref=` code or another site's `Referer`; or any GET of `/r/<code>`
/// by a visitor who is not a bot. An opted-out visitor's landing counts only as a
/// click (without an identity).
pub fn classify<'l>(input: &LandingInput<'_, 'l>, config: &Config, bots: &BotFilter) -> Option<Landing<'l>> {
    if input.method != Method::GET {
        return None;
    }
    let link = match input.via {
        Via::Page => {
            if !looks_at(input.path, config) || (input.query.is_empty() && input.http_referrer.is_none()) {
                return None;
            }
            None
        }
        Via::Link(link) => {
            if config.tracking.filter_bots && bots.is_bot(input.user_agent) {
                return None;
            }
            Some(link)
        }
    };
    let query = parse_query(input.query, config);
    let referrer_host = external_referrer_host(input.http_referrer, input.page_host, config);
    let path = match link {
        Some(_) => input.path.trim_end_matches('/'),
        None => {
            let tracked = !query.tracked.is_empty() || referrer_host.is_some();
            if !tracked && query.referral_code.is_none()
                || config.tracking.filter_bots && bots.is_bot(input.user_agent)
                || input.opted_out && query.referral_code.is_none()
            {
                return None;
            }
            input.path
        }
    };
    let cut = |s: Option<&str>| s.map(|s| s.chars().take(MAX_HEADER_CHARS).collect::<String>());
    Some(Landing {
        path: path.to_string(),
        query,
        referrer_host,
        http_referrer: cut(input.http_referrer),
        user_agent: cut(input.user_agent),
        opted_out: input.opted_out,
        link,
        now: now_ms(),
    })
}

/// Whether a request is a page view the capture layer looks at: a GET of a path it
/// `looks_at` (the request log and the form checks treat these as landings too).
pub fn is_page_view(method: &Method, path: &str, config: &Config) -> bool {
    method == Method::GET && looks_at(path, config)
}

/// Whether the capture layer looks at a page path at all: not assets, the API,
/// server functions, health, `/r/`, files, or excluded prefixes.
pub fn looks_at(path: &str, config: &Config) -> bool {
    const SKIPPED: [&str; 4] = ["/pkg", "/api", "/healthz", "/r"];
    if SKIPPED
        .iter()
        .copied()
        .chain(config.tracking.excluded_prefixes.iter().map(String::as_str))
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

/// Who landed: the identity they name, the logged-in user, their address.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    /// Our identity cookie's value, or the collect API's `visitor_id`, when well-formed.
    pub id: Option<String>,
    pub user_id: Option<i64>,
    pub client: Option<IpAddr>,
}

impl Visitor {
    /// The visitor of a request to this site (after the auth and client layers).
    pub fn from_head(headers: &HeaderMap, extensions: &http::Extensions, config: &Config) -> Self {
        Visitor {
            id: identity::cookie_value(headers, &config.tracking.cookie_name),
            user_id: extensions.get::<CurrentUser>().and_then(|c| c.0.as_ref()).map(|u| u.id),
            client: extensions.get::<ClientAddr>().map(|c| c.0),
        }
    }
}

/// What recording needs from the application: the databases, the writer of this
/// thread, the link cache, the limit on new referrer codes, the metrics, and the
/// settings.
pub struct Recorder<'a> {
    pub db: &'a Database,
    pub writer: &'a Writer,
    pub links: &'a LinkCache,
    pub referrer_codes: &'a RateLimiter<IpAddr>,
    pub metrics: &'a Metrics,
    pub config: &'a Config,
}

/// The fate of one write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Write<T> {
    /// Nothing to write: no live link, the owner's own click, nothing tracked.
    #[default]
    Skipped,
    Committed(T),
    /// It was not written in time: its job failed, or is still queued after the
    /// writer's `MAX_WAIT` (and is committed or lost later). The writer counts and logs
    /// what it finally loses; the visitor is served all the same.
    Lost,
}

/// What `record` wrote.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// The click, by its response's public id (the `tb_click` value).
    pub click: Write<String>,
    /// The touch of a landing that is not a counted click.
    pub touch: Write<()>,
    /// The identity cookie to set (none for an opted-out visitor).
    pub cookie: Option<String>,
}

/// Records a landing: a click when it is `/r/<code>` or carries the `?ref=` of a live
/// link (or of an unknown code made into a referrer code), by anyone but the link's
/// owner; otherwise (and when a `?ref=` click is not counted) a touch, if the landing
/// is tracked and the visitor has not opted out. Returns once it is committed.
pub async fn record(rec: &Recorder<'_>, visitor: &Visitor, landing: &Landing<'_>) -> Recorded {
    let mut out = Recorded::default();
    let found;
    let link = match (landing.link, &landing.query.referral_code) {
        (Some(link), _) => Some(link),
        (None, Some(code)) => {
            found = referral_link(rec, code, landing.now, visitor.client).await;
            found.as_ref()
        }
        (None, None) => None,
    };
    if let Some(link) = link {
        match click(rec, visitor, landing, link).await {
            Ok(Some((click_id, cookie))) => {
                out.click = Write::Committed(click_id);
                out.cookie = cookie;
                return out;
            }
            Ok(None) => {}
            Err(e) => {
                e.report(&rec.metrics.clicks_lost, "click");
                out.click = Write::Lost;
            }
        }
        if landing.link.is_some() {
            return out;
        }
    }
    // Not a counted click (no live link, or the owner's own): an ordinary landing.
    if landing.opted_out || landing.query.tracked.is_empty() && landing.referrer_host.is_none() {
        return out;
    }
    match touch(rec, visitor, landing).await {
        Ok(cookie) => {
            out.touch = Write::Committed(());
            out.cookie = cookie;
        }
        Err(e) => {
            e.report(&rec.metrics.landings_lost, "landing");
            out.touch = Write::Lost;
        }
    }
    out
}

/// A live link for `?ref=`: an existing one, or a referrer code made for an unknown
/// value; `None` for an inactive or expired link, or an unknown value that is not
/// made into a code.
async fn referral_link(rec: &Recorder<'_>, code: &str, now: i64, client: Option<IpAddr>) -> Option<CachedLink> {
    let found = match rec.links.get(&rec.db.read, code).await {
        Ok(None) => {
            referrers::auto_create(
                rec.db,
                &rec.config.referrals,
                rec.links,
                rec.referrer_codes,
                code,
                client,
            )
            .await
        }
        other => other,
    };
    match found {
        Ok(Some(l)) if l.is_live(now) => Some(l),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(error = %e, "could not look up or create a referral code");
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl RecordError {
    /// Logs and counts a click or landing that was not recorded. The writer counts and
    /// logs the jobs it loses (once per batch: a line per request would flood the log
    /// during an outage); a job that never reached it, because the visitor's identity
    /// could not be read, is counted here.
    fn report(&self, lost: &metrics::Counter, what: &str) {
        match self {
            RecordError::Write(e) => tracing::debug!(error = %e, "could not record a {what}"),
            RecordError::Db(e) => {
                tracing::error!(error = %e, "could not record a {what}: the visitor's identity could not be read");
                lost.increment(1);
            }
        }
    }
}

/// A click by the visitor: its response and touch in one job. The owner's own click
/// (logged in, or on an identity of theirs) writes nothing (`None`); an opted-out
/// visitor's click counts without an identity. Returns the click id and the cookie.
async fn click(
    rec: &Recorder<'_>,
    visitor: &Visitor,
    landing: &Landing<'_>,
    link: &CachedLink,
) -> Result<Option<(String, Option<String>)>, RecordError> {
    let owner = link.owner_id;
    if owner.is_some() && visitor.user_id == owner {
        return Ok(None);
    }
    let click_id = new_response_id(landing.now);
    let response = ResponseRow {
        public_id: click_id.clone(),
        link_id: link.id,
        user_id: visitor.user_id,
        action: RESPONDED.to_string(),
        target_type: None,
        target_id: None,
        http_referrer: landing.http_referrer.clone(),
        user_agent: landing.user_agent.clone(),
        client_ip: visitor.client.map(truncate),
        created_at: landing.now,
    };
    if landing.opted_out {
        let job = WriteJob {
            identity: IdentityRef::None,
            touch: None,
            response: Some(response),
            dedupe_ms: 0,
        };
        rec.writer.submit(job).await?;
        return Ok(Some((click_id, None)));
    }
    let tracked = identity_for_request(rec.db, visitor.id.as_deref(), visitor.user_id).await?;
    if owner.is_some() && tracked.user_id == owner {
        return Ok(None);
    }
    let job = touch_job(rec, landing, tracked.identity, Some(link), Some(response));
    rec.writer.submit(job).await?;
    Ok(Some((click_id, tracked.cookie)))
}

/// A landing's touch; returns the identity cookie to set.
async fn touch(rec: &Recorder<'_>, visitor: &Visitor, landing: &Landing<'_>) -> Result<Option<String>, RecordError> {
    let tracked = identity_for_request(rec.db, visitor.id.as_deref(), visitor.user_id).await?;
    rec.writer
        .submit(touch_job(rec, landing, tracked.identity, None, None))
        .await?;
    Ok(tracked.cookie)
}

/// The job of a landing's touch (a click's when it has a `link` and a `response`).
fn touch_job(
    rec: &Recorder<'_>,
    landing: &Landing<'_>,
    identity: IdentityRef,
    link: Option<&CachedLink>,
    response: Option<ResponseRow>,
) -> WriteJob {
    WriteJob {
        identity,
        touch: Some(touch_row(TouchInput {
            path: &landing.path,
            params: &landing.query.tracked,
            http_referrer: landing.http_referrer.as_deref(),
            referrer_host: landing.referrer_host.clone(),
            link: link.map(|l| (l.id, l.code.as_str())),
            now: landing.now,
        })),
        response,
        dedupe_ms: rec.config.tracking.touch_dedupe_minutes * MINUTE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::for_database("sqlite://x.db")
    }

    fn input<'a>(method: &'a Method, path: &'a str, query: &'a str, referrer: Option<&'a str>) -> LandingInput<'a, 'a> {
        LandingInput {
            method,
            path,
            query,
            page_host: Some("127.0.0.1:3000"),
            http_referrer: referrer,
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"),
            opted_out: false,
            via: Via::Page,
        }
    }

    #[test]
    fn only_page_gets_are_looked_at() {
        let c = config();
        assert!(looks_at("/", &c));
        assert!(looks_at("/pricing", &c));
        assert!(looks_at("/administrator", &c));
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
            assert!(!looks_at(path, &c), "{path}");
        }
        let (c, bots) = (config(), BotFilter::new(&[]));
        assert!(classify(&input(&Method::GET, "/", "utm_source=x", None), &c, &bots).is_some());
        assert!(classify(&input(&Method::HEAD, "/", "utm_source=x", None), &c, &bots).is_none());
        assert!(classify(&input(&Method::POST, "/", "utm_source=x", None), &c, &bots).is_none());
    }

    #[test]
    fn a_landing_needs_tracked_parameters_a_code_or_another_sites_referrer() {
        let (c, bots) = (config(), BotFilter::new(&[]));
        let get = Method::GET;
        for (query, referrer) in [
            ("", None),
            ("page=2", None),
            ("", Some("http://127.0.0.1:3000/pricing")),
            ("utm_source=", None),
        ] {
            assert!(
                classify(&input(&get, "/", query, referrer), &c, &bots).is_none(),
                "{query} {referrer:?}"
            );
        }
        let l = classify(&input(&get, "/p", "utm_source=news&x=1", None), &c, &bots).unwrap();
        assert_eq!(l.query.tracked.utm_source.as_deref(), Some("news"));
        let l = classify(&input(&get, "/", "", Some("https://blog.example/a")), &c, &bots).unwrap();
        assert_eq!(l.referrer_host.as_deref(), Some("blog.example"));
        let l = classify(&input(&get, "/", "ref=abc", None), &c, &bots).unwrap();
        assert_eq!(l.query.referral_code.as_deref(), Some("abc"));

        let mut bot = input(&get, "/", "utm_source=news", None);
        bot.user_agent = Some("Googlebot/2.1");
        assert!(classify(&bot, &c, &bots).is_none());
        // An opted-out visitor's landing is recorded only as a click.
        let mut gpc = input(&get, "/", "utm_source=news", None);
        gpc.opted_out = true;
        assert!(classify(&gpc, &c, &bots).is_none());
        gpc.query = "ref=abc&utm_source=news";
        assert!(classify(&gpc, &c, &bots).is_some_and(|l| l.opted_out));
    }

    #[test]
    fn a_link_is_clicked_by_anyone_but_bots_and_head_requests() {
        let (c, bots) = (config(), BotFilter::new(&[]));
        let link = CachedLink {
            id: 7,
            code: "abc".into(),
            owner_id: None,
            destination: "/".into(),
            active: true,
            expires_at: None,
            campaign_id: None,
        };
        let get = Method::GET;
        let mut i = input(&get, "/r/abc/", "", None);
        i.via = Via::Link(&link);
        let l = classify(&i, &c, &bots).unwrap();
        assert_eq!(l.path, "/r/abc");
        assert_eq!(l.link.map(|l| l.id), Some(7));
        i.opted_out = true;
        assert!(classify(&i, &c, &bots).is_some());
        i.user_agent = Some("curl/8.0");
        assert!(classify(&i, &c, &bots).is_none());
        let head = Method::HEAD;
        i.method = &head;
        i.user_agent = None;
        assert!(classify(&i, &c, &bots).is_none());
    }
}
