//! Reading API requests: JSON bodies of at most 64 KB with no unknown fields, and query
//! strings, each failure answered in the contract's error shape.

use super::ApiError;
use app::error::AppError;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

pub const MAX_BODY: usize = 64 * 1024;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let too_large = || ApiError(AppError::payload_too_large("Request bodies are at most 64 KB."));
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BODY) {
            return Err(too_large());
        }
        let bytes = to_bytes(Body::new(req.into_body()), MAX_BODY)
            .await
            .map_err(|_| too_large())?;
        if bytes.is_empty() {
            return Err(ApiError(AppError::bad_request(
                "Send a JSON object as the request body.",
            )));
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| ApiError(json_error(&e)))?;
        if holds_nul(&value) {
            return Err(ApiError(AppError::bad_request(
                "Text in the request body cannot contain NUL characters (\\u0000).",
            )));
        }
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError(json_error(&e)))
    }
}

/// Whether any string (or key) of `v` holds a NUL, which PostgreSQL refuses in text.
fn holds_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(holds_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A serde error as a validation error naming its field where it can.
fn json_error(e: &serde_json::Error) -> AppError {
    let msg = e.to_string();
    let clean = msg.split(" at line ").next().unwrap_or(&msg).replace('`', "'");
    let field = clean
        .strip_prefix("unknown field '")
        .or_else(|| clean.strip_prefix("missing field '"))
        .and_then(|rest| rest.split('\'').next())
        .map(str::to_string);
    let message = format!("The request body is not valid: {clean}.");
    match field {
        Some(f) => AppError::validation(&f, message),
        None => AppError::bad_request(message),
    }
}

/// Query parameters.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        if let Some(err) = crate::middleware::forms::not_text(q.as_bytes()) {
            return Err(ApiError(err));
        }
        serde_urlencoded::from_str(q).map(ApiQuery).map_err(|e| {
            let clean = e.to_string().replace('`', "'");
            ApiError(AppError::bad_request(format!(
                "The query string is not valid: {clean}."
            )))
        })
    }
}

/// The error shape, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// validation, unauthorized, forbidden, not_found, conflict, rate_limited, payload_too_large or internal
    pub code: String,
    pub message: String,
    /// The field at fault, for validation and conflict errors.
    pub field: Option<String>,
}
