//! Server-function bodies, read here before the function sees them: at most
//! `MAX_FORM_BYTES` (413 beyond, without reading the rest when the length is
//! declared), and a form-encoded body must be UTF-8, also once its `%XX` escapes are
//! decoded (422 `validation` otherwise). Left to the framework, both were a 500.

use crate::errors::error_response;
use app::error::AppError;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The largest server-function body: forms are small.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Whether `path` names a server function (not the REST API, which checks its own).
pub fn is_server_fn(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/v1/") && path != "/api/v1"
}

pub async fn check_body(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || !is_server_fn(req.uri().path()) {
        return next.run(req).await;
    }
    let too_large =
        || AppError::payload_too_large(format!("The form is too large: at most {} KB.", MAX_FORM_BYTES / 1024));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES as u64) {
        return error_response(&req, too_large());
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_FORM_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let req = Request::from_parts(parts, Body::empty());
            return if e.is::<LengthLimitError>() {
                error_response(&req, too_large())
            } else {
                error_response(&req, AppError::bad_request("The request body could not be read."))
            };
        }
    };
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form && !form_is_utf8(&bytes) {
        let req = Request::from_parts(parts, Body::empty());
        return error_response(
            &req,
            AppError::bad_request("The form is not valid UTF-8: send text encoded as UTF-8."),
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Whether a form body, and each of its names and values once decoded, is UTF-8.
fn form_is_utf8(body: &[u8]) -> bool {
    std::str::from_utf8(body).is_ok()
        && body
            .split(|b| *b == b'&')
            .flat_map(|pair| pair.split(|b| *b == b'='))
            .all(|part| std::str::from_utf8(&app::server::tracking::params::percent_decode(part)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_must_be_utf8_before_and_after_decoding() {
        assert!(form_is_utf8(b"email=a%40b.example&password=caf%C3%A9"));
        assert!(form_is_utf8("name=café".as_bytes()));
        assert!(!form_is_utf8(b"email=\xff"));
        assert!(!form_is_utf8(b"email=%FF"));
        assert!(!form_is_utf8(b"%C3=x"));
    }

    #[test]
    fn the_rest_api_is_not_a_server_function() {
        assert!(is_server_fn("/api/login"));
        assert!(is_server_fn("/api/campaigns/update"));
        assert!(!is_server_fn("/api/v1/links"));
        assert!(!is_server_fn("/login"));
    }
}
