//! Error responses for the server's own routes and layers: the contract's JSON
//! shape for clients that ask for JSON (and for the API), a small HTML page otherwise.

use app::error::{AppError, ErrorCode};
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Request, StatusCode, header};

/// How a client wants its errors: the REST API and scripts get JSON; a browser (a page,
/// or a plain form post, which accepts `text/html`) gets a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorTarget {
    Json,
    Html,
}

impl ErrorTarget {
    pub fn of<B>(req: &Request<B>) -> Self {
        let path = req.uri().path();
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let json = if path.starts_with("/api/v1/") {
            true
        } else if accept.contains("text/html") {
            false
        } else {
            path.starts_with("/api/") || accept.contains("application/json")
        };
        if json { ErrorTarget::Json } else { ErrorTarget::Html }
    }

    pub fn respond(self, err: AppError) -> Response {
        match self {
            ErrorTarget::Json => json_error(err),
            ErrorTarget::Html => html_error(err),
        }
    }
}

/// A 503 with `Retry-After`, for when something this request needs is not answering.
pub fn unavailable(target: ErrorTarget, message: &str, retry_after_secs: u32) -> Response {
    let mut res = match target {
        ErrorTarget::Json => {
            let mut err = AppError::internal();
            err.message = message.to_string();
            json_error(err)
        }
        ErrorTarget::Html => html_page(StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", message),
    };
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    res
}

pub fn wants_json<B>(req: &Request<B>) -> bool {
    ErrorTarget::of(req) == ErrorTarget::Json
}

pub fn error_response<B>(req: &Request<B>, err: AppError) -> Response {
    ErrorTarget::of(req).respond(err)
}

pub fn json_error(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry = (err.code == ErrorCode::RateLimited)
        .then_some(err.retry_after)
        .flatten();
    let mut res = (status, axum::Json(err)).into_response();
    if let Some(secs) = retry {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

pub fn html_error(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = match err.code {
        ErrorCode::NotFound => "Not found",
        ErrorCode::Forbidden => "Not allowed",
        ErrorCode::RateLimited => "Slow down",
        ErrorCode::PayloadTooLarge => "Too large",
        ErrorCode::Internal => "Something went wrong",
        _ => "Request refused",
    };
    html_page(status, title, &err.message)
}

/// A self-contained page in the site's style, for responses outside the Leptos app.
pub fn html_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} · Tributary</title><link rel=\"stylesheet\" href=\"/pkg/tributary.css\"></head>\
         <body><header class=\"site-header\"><nav class=\"container nav\"><a class=\"brand\" href=\"/\">Tributary</a></nav></header>\
         <main class=\"container\"><section class=\"message-page\"><h1>{t}</h1><p>{m}</p><p><a href=\"/\">Go to the home page</a></p></section></main></body></html>",
        t = escape(title),
        m = escape(message)
    );
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The response when a handler panics: no panic text reaches the client.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    json_or_html_internal()
}

fn json_or_html_internal() -> Response {
    html_error(AppError::internal())
}
