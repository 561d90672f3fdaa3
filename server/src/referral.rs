//! `GET /r/<code>`: the hottest path, an adapter of the landing pipeline
//! (`app::server::tracking::landing`). A live link's click is recorded (response and
//! touchpoint, committed in a shared transaction) and answered with a 302 to where the
//! click goes. No session lookup without a session cookie; link codes come from the
//! in-memory cache.

use crate::errors::{ErrorTarget, html_page, unavailable};
use app::server::config::Config;
use app::server::referrals::click;
use app::server::state::AppState;
use app::server::time::now_ms;
use app::server::tracking::identity;
use app::server::tracking::landing::{self, LandingInput, Via, Visitor, Write};
use app::server::tracking::params::parse_query;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

pub async fn click(State(state): State<AppState>, Path(code): Path<String>, req: Request) -> Response {
    let config = &state.config;
    let link = match state.links.get(&state.db.read, &code).await {
        Ok(Some(l)) if l.is_live(now_ms()) => l,
        Ok(_) => return link_not_found(),
        Err(e) => {
            // Not cached, and the database did not answer within the lookup's timeout.
            tracing::warn!(error = %e, "could not look up a referral code");
            return unavailable(
                ErrorTarget::Html,
                "This link cannot be followed right now. Please try again in a minute.",
                30,
            );
        }
    };
    let (parts, _) = req.into_parts();
    let input = LandingInput::from_head(&parts.method, &parts.uri, &parts.headers, config, Via::Link(&link));
    // Bots and HEAD requests are redirected without being counted.
    let landing = landing::classify(&input, config, &state.bots);
    let uncounted;
    let query = match &landing {
        Some(l) => &l.query,
        None => {
            uncounted = parse_query(input.query, config);
            &uncounted
        }
    };
    let target = match click::target(&link, query, config) {
        Ok(t) => t,
        Err(reason) => {
            tracing::warn!(link = link.id, code = %link.code, %reason, "refused to follow a link whose destination is not allowed");
            return link_not_found();
        }
    };
    let Some(landing) = &landing else {
        return redirect(&target.location(None), None, config);
    };
    let visitor = Visitor::from_head(&parts.headers, &parts.extensions, config);
    let recorded = landing::record(&state.recorder(), &visitor, landing).await;
    match recorded.click {
        Write::Committed(id) => redirect(&target.location(Some(&id)), recorded.cookie.as_deref(), config),
        // The owner's own click, or one that was not written in time (counted and logged
        // as lost if it never is): the visitor still gets where they were going.
        Write::Skipped | Write::Lost => redirect(&target.location(None), None, config),
    }
}

fn link_not_found() -> Response {
    html_page(
        StatusCode::NOT_FOUND,
        "Link not found",
        "This referral link does not exist or is no longer active. Check the address, or ask whoever shared it for a new one.",
    )
}

fn redirect(location: &str, cookie: Option<&str>, config: &Config) -> Response {
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
