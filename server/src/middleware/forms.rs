//! Server-function input, checked before the function sees it. A body is at most
//! `MAX_FORM_BYTES` (413 beyond); a form-encoded body, and the query string of any
//! server function, must be UTF-8 without NUL characters, also once their `%XX` escapes
//! are decoded (422 `validation` otherwise). Left to the framework, an oversized or
//! non-UTF-8 body was a 500, and a NUL reached PostgreSQL, which refuses it in text.

use crate::errors::error_response;
use app::error::AppError;
use app::server::state::AppState;
use app::server::tracking::capture::looks_at;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, header};
use http_body_util::BodyExt;

/// The largest server-function body: forms are small.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// A declared length above this is refused before reading anything. Below it, an
/// oversized body is read (and dropped) up to the limit, then refused: a client still
/// sending when the server hangs up may see the connection reset instead of the 413.
const DRAIN_BYTES: usize = 8 * 1024 * 1024;

/// Whether `path` names a server function (not the REST API, which checks its own).
pub fn is_server_fn(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/v1/") && path != "/api/v1"
}

pub async fn check_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // No address carries a NUL for a good reason, and a page's filters (the admin
    // pages') would take it to the database. Leptos' router decodes a page's query
    // twice, so `%2500` is a NUL too. Landings are let through: visitors arrive with
    // any junk, and the capture layer cleans what it keeps. (Two substring searches:
    // cheap, also on the landing path.)
    if req
        .uri()
        .query()
        .is_some_and(|q| q.contains("%00") || q.contains("%2500"))
        && !looks_at(req.method(), req.uri().path(), &state.config)
    {
        return error_response(&req, not_text());
    }
    if !is_server_fn(req.uri().path()) {
        return next.run(req).await;
    }
    if req.uri().query().is_some_and(|q| !form_is_text(q.as_bytes())) {
        return error_response(&req, not_text());
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let too_large =
        || AppError::payload_too_large(format!("The form is too large: at most {} KB.", MAX_FORM_BYTES / 1024));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > DRAIN_BYTES as u64) {
        // Not worth reading: answer, and the connection closes.
        return error_response(&req, too_large());
    }
    let (parts, mut body) = req.into_parts();
    let mut kept = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            let req = Request::from_parts(parts, Body::empty());
            return error_response(&req, AppError::bad_request("The request body could not be read."));
        };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if seen <= MAX_FORM_BYTES {
                kept.extend_from_slice(&data);
            } else if seen > DRAIN_BYTES {
                break;
            }
        }
    }
    if seen > MAX_FORM_BYTES {
        return error_response(&Request::from_parts(parts, Body::empty()), too_large());
    }
    let bytes = kept.freeze();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form && !form_is_text(&bytes) {
        return error_response(&Request::from_parts(parts, Body::empty()), not_text());
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn not_text() -> AppError {
    AppError::bad_request("The form is not text: send UTF-8, without NUL characters.")
}

/// Whether a form body (or query string), and each of its names and values once
/// decoded, is UTF-8 without NUL.
pub fn form_is_text(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok()
        && body
            .split(|b| *b == b'&')
            .flat_map(|pair| pair.split(|b| *b == b'='))
            .all(|part| {
                let decoded = app::server::tracking::params::percent_decode(part);
                !decoded.contains(&0) && std::str::from_utf8(&decoded).is_ok()
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_must_be_utf8_without_nul_before_and_after_decoding() {
        assert!(form_is_text(b"email=a%40b.example&password=caf%C3%A9"));
        assert!(form_is_text("name=café".as_bytes()));
        assert!(!form_is_text(b"email=\xff"));
        assert!(!form_is_text(b"email=%FF"));
        assert!(!form_is_text(b"%C3=x"));
        assert!(!form_is_text(b"code=a%00b"));
        assert!(!form_is_text(b"code=a\0b"));
    }

    #[test]
    fn the_rest_api_is_not_a_server_function() {
        assert!(is_server_fn("/api/login"));
        assert!(is_server_fn("/api/campaigns/update"));
        assert!(!is_server_fn("/api/v1/links"));
        assert!(!is_server_fn("/login"));
    }
}
