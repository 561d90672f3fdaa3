//! `GET /r/<code>`: the hottest path. A live link's click is recorded (response and
//! touchpoint, committed in a shared transaction) and answered with a 302 to the
//! link's destination. No session lookup without a session cookie; link codes come
//! from the in-memory cache.

use crate::errors::html_page;
use app::server::context::RequestContext;
use app::server::referrals::click::{self, Click, ClickOutcome, external_target};
use app::server::referrals::destination::{Destination, click_destination};
use app::server::state::AppState;
use app::server::time::now_ms;
use app::server::tracking::capture::external_referrer_host;
use app::server::tracking::identity;
use app::server::tracking::params::parse_query;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode, header};

pub async fn click(State(state): State<AppState>, Path(code): Path<String>, req: Request) -> Response {
    let config = &state.config;
    let now = now_ms();
    let link = match state.links.get(&state.db.read, &code).await {
        Ok(Some(l)) if l.is_live(now) => l,
        Ok(_) => return link_not_found(),
        Err(e) => {
            // Not cached, and the database did not answer within the lookup's timeout.
            tracing::warn!(error = %e, "could not look up a referral code");
            return crate::errors::unavailable(
                crate::errors::ErrorTarget::Html,
                "This link cannot be followed right now. Please try again in a minute.",
                30,
            );
        }
    };
    let (parts, _) = req.into_parts();
    let landing = parse_query(parts.uri.query().unwrap_or(""), config);
    // The stored destination is checked again (rows from before a rule, or written by
    // hand, must not send anyone off-site); `?redirect_to=` may only choose a path here.
    let destination = match click_destination(&link.destination, landing.redirect_to.as_deref(), config) {
        Ok(d) => d,
        Err(reason) => {
            tracing::warn!(link = link.id, code = %link.code, %reason, "refused to follow a link whose destination is not allowed");
            return link_not_found();
        }
    };
    let target = |click_id: Option<&str>| match &destination {
        Destination::External(url) => external_target(url, &landing.tracked, &config.referral_click_id_param, click_id),
        Destination::Local(path) => path.clone(),
    };

    let ua = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    if parts.method == Method::HEAD || (config.filter_bots && state.bots.is_bot(ua)) {
        return redirect(&target(None), None, config);
    }
    let ctx = RequestContext::from_parts(&parts, config);
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let referrer_host = external_referrer_host(ctx.http_referrer.as_deref(), host, config);
    let path = parts.uri.path().trim_end_matches('/').to_string();
    let outcome = click::record(
        &state,
        &ctx,
        Click {
            link: &link,
            path: &path,
            params: &landing.tracked,
            referrer_host,
            now,
        },
    )
    .await;
    match outcome {
        Ok(ClickOutcome::Counted { click_id, cookie }) => redirect(&target(Some(&click_id)), cookie.as_deref(), config),
        Ok(ClickOutcome::Owner) => redirect(&target(None), None, config),
        Err(e) => {
            // The visitor still gets where they were going; the writer counts and logs
            // lost writes (a line per click would flood the log during an outage).
            tracing::debug!(error = %e, link = link.id, "could not record a click");
            redirect(&target(None), None, config)
        }
    }
}

fn link_not_found() -> Response {
    html_page(
        StatusCode::NOT_FOUND,
        "Link not found",
        "This referral link does not exist or is no longer active. Check the address, or ask whoever shared it for a new one.",
    )
}

fn redirect(location: &str, cookie: Option<&str>, config: &app::server::config::Config) -> Response {
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::FOUND;
    res.headers_mut().insert(header::LOCATION, location_value(location));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = cookie {
        res.headers_mut()
            .append(header::SET_COOKIE, identity::set_cookie(config, c));
    }
    res
}

/// A `Location` value: bytes outside visible ASCII are percent-encoded.
fn location_value(s: &str) -> HeaderValue {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x21..0x7f).contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static("/"))
}
