//! The landing-capture layer. Every page landing that carries tracked parameters, a
//! referral code (`?ref=`), or comes from another site becomes a touchpoint of the
//! visitor's identity (a `?ref=` of a live link is a click: a response too) before the
//! page is rendered, whatever the page's status. The common case (no query string, no
//! `Referer`) costs a few comparisons and nothing else.

use app::server::context::RequestContext;
use app::server::net::ClientAddr;
use app::server::referrals::cache::CachedLink;
use app::server::referrals::click::{self, Click, ClickOutcome};
use app::server::referrals::referrers;
use app::server::state::AppState;
use app::server::time::{MINUTE, now_ms};
use app::server::tracking::capture::{
    TouchInput, external_referrer_host, identity_for_request, looks_at, opted_out, touch_row,
};
use app::server::tracking::identity;
use app::server::tracking::params::parse_query;
use app::server::writer::WriteJob;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use std::net::IpAddr;

pub async fn capture(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = &state.config;
    if !looks_at(req.method(), req.uri().path(), config) {
        return next.run(req).await;
    }
    let query = req.uri().query().unwrap_or("");
    let referrer = req.headers().get(header::REFERER).and_then(|v| v.to_str().ok());
    if query.is_empty() && referrer.is_none() {
        return next.run(req).await;
    }
    let landing = parse_query(query, config);
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok());
    let referrer_host = external_referrer_host(referrer, host, config);
    if landing.tracked.is_empty() && referrer_host.is_none() && landing.referral_code.is_none() {
        return next.run(req).await;
    }
    let ua = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    if config.filter_bots && state.bots.is_bot(ua) {
        return next.run(req).await;
    }
    let now = now_ms();
    tracing::debug!(path = %req.uri(), "capture: looking at a landing");
    let link = match &landing.referral_code {
        Some(code) => referral_link(&state, code, now, req.extensions().get::<ClientAddr>().map(|c| c.0)).await,
        None => None,
    };
    if link.is_none() && (opted_out(req.headers(), config) || (landing.tracked.is_empty() && referrer_host.is_none())) {
        return next.run(req).await;
    }

    let (parts, body) = req.into_parts();
    let ctx = RequestContext::from_parts(&parts, config);
    let path = parts.uri.path().to_string();
    let mut set_cookie = None;
    let mut counted = false;
    if let Some(link) = &link {
        let click = Click {
            link,
            path: &path,
            params: &landing.tracked,
            referrer_host: referrer_host.clone(),
            now,
        };
        match click::record(&state, &ctx, click).await {
            Ok(ClickOutcome::Counted { cookie, .. }) => {
                set_cookie = cookie;
                counted = true;
            }
            Ok(ClickOutcome::Owner) => {}
            Err(e) => tracing::debug!(error = %e, "could not record a ?ref= click"),
        }
    }
    // Not a counted click (no live link, or the owner's own): an ordinary landing.
    // The page renders while the touchpoint's batch commits; the response waits for
    // both, so a landing is answered only once it is recorded.
    let mut res = if !counted && !ctx.opted_out && (!landing.tracked.is_empty() || referrer_host.is_some()) {
        let write = record_landing(&state, &ctx, &path, &landing.tracked, referrer_host, now);
        let (cookie, res) = tokio::join!(write, rendered_whole(next.run(Request::from_parts(parts, body))));
        set_cookie = cookie;
        res
    } else {
        next.run(Request::from_parts(parts, body)).await
    };
    if let Some(public_id) = set_cookie {
        res.headers_mut()
            .append(header::SET_COOKIE, identity::set_cookie(config, &public_id));
    }
    res
}

/// The response with its body rendered to the end. A streamed page renders only while
/// it is sent, which for a landing is after its commit; rendered whole, it renders while
/// the commit is under way, and on the thread the request started on (measured on one
/// work-stealing runtime, where a landing was often resumed on the writer's thread: UTM
/// landings about 5 % more per second on PostgreSQL). The visitor sees no difference:
/// nothing is sent before the commit either way, and pages render in `SsrMode::Async`
/// (whole, once their data is in).
async fn rendered_whole(res: impl std::future::Future<Output = Response>) -> Response {
    let (mut parts, body) = res.await.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            parts.headers.remove(header::TRANSFER_ENCODING);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            tracing::error!(error = %e, "a landing page failed while rendering");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A live link for `?ref=`: an existing one, or a referrer code made for an unknown
/// value; `None` for an inactive or expired link, or an unknown value that is not
/// made into a code.
async fn referral_link(state: &AppState, code: &str, now: i64, client: Option<IpAddr>) -> Option<CachedLink> {
    let found = match state.links.get(&state.db.read, code).await {
        Ok(None) => referrers::auto_create(state, code, client).await,
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

/// Writes a landing's touchpoint and returns the identity cookie to set.
async fn record_landing(
    state: &AppState,
    ctx: &RequestContext,
    path: &str,
    params: &app::server::tracking::params::TrackedParams,
    referrer_host: Option<String>,
    now: i64,
) -> Option<String> {
    let touch = touch_row(TouchInput {
        path,
        params,
        http_referrer: ctx.http_referrer.as_deref(),
        referrer_host,
        link: None,
        now,
    });
    let tracked = match identity_for_request(state, ctx.identity_cookie.as_deref(), ctx.user.as_ref()).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "could not resolve the visitor's identity");
            return None;
        }
    };
    let job = WriteJob {
        identity: tracked.identity,
        touch: Some(touch),
        response: None,
        dedupe_ms: state.config.touch_dedupe_minutes * MINUTE,
    };
    match state.writer.submit(job).await {
        Ok(_) => tracked.cookie,
        Err(e) => {
            // Counted and logged by the writer.
            tracing::debug!(error = %e, "could not record a landing");
            None
        }
    }
}
