//! What every request leaves behind: its metrics (by route pattern and status) and,
//! except on the hot paths, one log line at `info`. The hot paths (`/r/<code>` and the
//! page GETs the capture layer looks at, i.e. landings) are counted, never logged;
//! probes and static files are logged at `debug`.

use app::server::state::AppState;
use app::server::tracking::landing::is_page_view;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

/// The route a response came from, copied from the request by `tag_route` (the outer
/// layers run before routing, so they cannot read `MatchedPath` themselves).
#[derive(Clone)]
pub struct Route(pub MatchedPath);

/// A route layer: puts the matched route pattern on the response.
pub async fn tag_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(Route(route));
    }
    res
}

pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path();
    let hot = path.starts_with("/r/") || is_page_view(&method, path, &state.config);
    // The path (never the query string, which may carry personal data), for the log.
    let logged: Option<String> = (!hot).then(|| path.chars().take(200).collect());
    let res = next.run(req).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let route = res
        .extensions()
        .get::<Route>()
        .map(|r| r.0.as_str())
        .unwrap_or("unmatched");
    state.metrics.request(route, &method, status, elapsed);
    let Some(path) = logged else { return res };
    let ms = elapsed.as_secs_f64() * 1000.0;
    if path.starts_with("/healthz") || path.starts_with("/pkg/") || path == "/metrics" || path.starts_with("/favicon") {
        tracing::debug!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    res
}

/// A request that hit the overall timeout gets an explanation (the timeout layer
/// answers 503 with an empty body).
pub async fn explain_timeouts(req: Request, next: Next) -> Response {
    let wants = crate::errors::ErrorTarget::of(&req);
    let res = next.run(req).await;
    if res.status() == http::StatusCode::SERVICE_UNAVAILABLE && !res.headers().contains_key(http::header::CONTENT_TYPE)
    {
        return crate::errors::unavailable(wants, "The server took too long to answer. Please try again.", 5);
    }
    res
}
