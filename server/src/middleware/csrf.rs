//! CSRF: a state-changing request that carries another site's `Origin` (or, without
//! one, `Referer`) is refused with 403. Requests with neither header (scripts) pass;
//! `/api/v1` uses bearer keys, never cookies, and is not checked here.

use crate::errors::error_response;
use app::error::AppError;
use app::server::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{Method, header};

pub async fn check_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if safe || req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let headers = req.headers();
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .map(|v| v.to_str().unwrap_or("null").to_string());
    if let Some(claimed) = claimed {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if !same_site(&claimed, host, &state.config.server.base_url) {
            tracing::warn!(origin = %claimed, path = %req.uri().path(), "refused a cross-site request");
            let mut err = AppError::forbidden();
            err.message = "This request came from another site and was refused.".into();
            return error_response(&req, err);
        }
    }
    next.run(req).await
}

/// Whether `claimed` (an origin or a full URL) names this site: the request's own
/// `Host`, or the configured public base URL.
fn same_site(claimed: &str, host: Option<&str>, base: &url::Url) -> bool {
    let Ok(url) = url::Url::parse(claimed) else {
        return false; // "null" and garbage are another site
    };
    let Some(h) = url.host_str() else {
        return false;
    };
    let authority = match url.port() {
        Some(p) => format!("{h}:{p}"),
        None => h.to_string(),
    };
    if host.is_some_and(|host| host.eq_ignore_ascii_case(&authority)) {
        return true;
    }
    url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_site_matches_host_or_base_url() {
        let base = url::Url::parse("https://refer.example.com").unwrap();
        assert!(same_site("http://127.0.0.1:3000", Some("127.0.0.1:3000"), &base));
        assert!(same_site(
            "http://127.0.0.1:3000/login?x=1",
            Some("127.0.0.1:3000"),
            &base
        ));
        assert!(same_site("https://refer.example.com", Some("10.0.0.5:3000"), &base));
        assert!(!same_site("https://evil.example", Some("127.0.0.1:3000"), &base));
        assert!(!same_site("http://127.0.0.1:3001", Some("127.0.0.1:3000"), &base));
        assert!(!same_site("null", Some("127.0.0.1:3000"), &base));
    }
}
