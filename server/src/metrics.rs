//! `/metrics`: Prometheus text, never public. On `METRICS_ADDR` (a listener of its
//! own that serves nothing else), or on the main address for
//! `Authorization: Bearer $METRICS_TOKEN`. With neither setting there is no `/metrics`.

use crate::errors::json_error;
use app::error::AppError;
use app::server::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

/// The text, for whoever reached this handler (the metrics listener).
pub async fn scrape(State(state): State<AppState>) -> Response {
    match state.metrics.render(&state.db, state.links.stale_served()) {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            text,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// On the main address: only with the token.
pub async fn scrape_with_token(State(state): State<AppState>, req: Request) -> Response {
    let Some(token) = state.config.server.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        let mut res = json_error(AppError::unauthorized("Metrics need the metrics bearer token."));
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    }
    scrape(State(state)).await
}

/// The router of the main address's `/metrics`, when `METRICS_TOKEN` is set.
pub fn routes(state: &AppState) -> Router<AppState> {
    match state.config.server.metrics_token {
        Some(_) => Router::new().route("/metrics", get(scrape_with_token)),
        None => Router::new(),
    }
}

/// Serves `/metrics` alone on `listener` (`METRICS_ADDR`), until the process ends.
pub fn serve_listener(listener: TcpListener, state: AppState) {
    let app = Router::new().route("/metrics", get(scrape)).with_state(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
}

/// Drains histogram samples into their buckets every few seconds.
pub fn spawn_upkeep(state: &AppState) {
    if !state.metrics.is_enabled() {
        return;
    }
    let metrics = state.metrics.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            metrics.upkeep();
        }
    });
}
