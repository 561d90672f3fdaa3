//! Server-function input, checked before the function sees it. A body is at most
//! `MAX_FORM_BYTES` (413 beyond); a form-encoded body, and the query string of any
//! server function, must be UTF-8 without NUL characters, also once their `%XX` escapes
//! are decoded (422 `validation` otherwise). Left to the framework, an oversized or
//! non-UTF-8 body was a 500, and a NUL reached PostgreSQL, which refuses it in text.

use crate::errors::error_response;
use app::error::AppError;
use app::server::state::AppState;
use app::server::tracking::landing::is_page_view;
use app::server::tracking::params::percent_decode;
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

pub async fn check_body(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !is_server_fn(req.uri().path()) {
        // A page: no address carries a NUL for a good reason, and a page's filters (the
        // admin pages') would take it to the database. Leptos' router decodes a page's
        // query twice, so `%2500` is a NUL too. The page still renders (its own checks
        // say what is wrong with a value), with each NUL made U+FFFD. Landings are let
        // through: visitors arrive with any junk, and the capture layer cleans what it
        // keeps. (Two substring searches: cheap, also on the landing path.)
        if req
            .uri()
            .query()
            .is_some_and(|q| q.contains("%00") || q.contains("%2500"))
            && !is_page_view(req.method(), req.uri().path(), &state.config)
            && let Some(uri) = without_nul(req.uri())
        {
            *req.uri_mut() = uri;
        }
        return next.run(req).await;
    }
    if let Some(err) = req.uri().query().and_then(|q| not_text(q.as_bytes())) {
        return error_response(&req, err);
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
    if is_form && let Some(err) = not_text(&bytes) {
        return error_response(&Request::from_parts(parts, Body::empty()), err);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Why a form body (or query string) is refused, if it is: each of its names and
/// values must be UTF-8 without NUL, as sent and once decoded. The error names the
/// field whose value is not (a 422 on `page`, say), or the whole form when a name is
/// not.
pub fn not_text(body: &[u8]) -> Option<AppError> {
    let is_text = |part: &[u8]| {
        let decoded = percent_decode(part);
        std::str::from_utf8(part).is_ok() && !decoded.contains(&0) && std::str::from_utf8(&decoded).is_ok()
    };
    let (name, _) = body
        .split(|b| *b == b'&')
        .map(|pair| match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        })
        .find(|(name, value)| !is_text(name) || !is_text(value))?;
    let field = is_text(name)
        .then(|| String::from_utf8(percent_decode(name)).unwrap_or_default())
        .filter(|f| {
            (1..=64).contains(&f.len())
                && f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'[' | b']'))
        });
    Some(match field {
        Some(f) => AppError::validation(&f, format!("{f} is not text: send UTF-8, without NUL characters.")),
        None => AppError::bad_request("The form is not text: send UTF-8, without NUL characters."),
    })
}

/// `uri` with every NUL of its query (sent as `%00`, or as `%2500`, which the page's
/// router decodes twice) made U+FFFD; `None` when it cannot be rebuilt.
fn without_nul(uri: &http::Uri) -> Option<http::Uri> {
    let query = uri.query()?;
    let cleaned: Vec<String> = query
        .split('&')
        .map(|pair| {
            pair.split('=')
                .map(|part| {
                    let decoded = percent_decode(part.as_bytes());
                    if !decoded.contains(&0) && !decoded.windows(3).any(|w| w == b"%00") {
                        return part.to_string();
                    }
                    let text = String::from_utf8_lossy(&decoded)
                        .replace('\0', "\u{fffd}")
                        .replace("%00", "\u{fffd}");
                    app::util::urlencode(&text)
                })
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect();
    format!("{}?{}", uri.path(), cleaned.join("&")).parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_must_be_utf8_without_nul_before_and_after_decoding() {
        let form_is_text = |body: &[u8]| not_text(body).is_none();
        assert!(form_is_text(b"email=a%40b.example&password=caf%C3%A9"));
        assert!(form_is_text("name=café".as_bytes()));
        assert!(!form_is_text(b"email=\xff"));
        assert!(!form_is_text(b"email=%FF"));
        assert!(!form_is_text(b"%C3=x"));
        assert!(!form_is_text(b"code=a%00b"));
        assert!(!form_is_text(b"code=a\0b"));
    }

    #[test]
    fn the_refusal_names_the_field_that_is_not_text() {
        let err = not_text(b"q=x&page=%00").unwrap();
        assert_eq!(err.field.as_deref(), Some("page"));
        assert!(err.message.contains("page"), "{}", err.message);
        assert_eq!(not_text(b"%C3=x").unwrap().field, None);
        assert_eq!(not_text(b"a%00b=x").unwrap().field, None);
    }

    #[test]
    fn a_pages_nul_becomes_a_replacement_character() {
        let uri: http::Uri = "/admin/users?page=%00&q=a%2500b&x=%FF".parse().unwrap();
        let cleaned = without_nul(&uri).unwrap();
        assert_eq!(cleaned.path(), "/admin/users");
        assert_eq!(cleaned.query(), Some("page=%EF%BF%BD&q=a%EF%BF%BDb&x=%FF"));
    }

    #[test]
    fn the_rest_api_is_not_a_server_function() {
        assert!(is_server_fn("/api/login"));
        assert!(is_server_fn("/api/campaigns/update"));
        assert!(!is_server_fn("/api/v1/links"));
        assert!(!is_server_fn("/login"));
    }
}
