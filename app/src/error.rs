//! `AppError`: everything a client may see when something goes wrong.
//!
//! It serialises to the contract's error shape
//! `{"error": {"code", "message", "field"?}}`, is the error type of every server
//! function, and maps to one HTTP status per code. Internal errors never carry
//! internal text: the cause is logged on the server and the client gets a fixed message.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};
use std::collections::BTreeMap;

pub const INTERNAL_MESSAGE: &str = "Something went wrong on our side. Please try again.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Validation,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    PayloadTooLarge,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::Validation => 422,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::RateLimited => 429,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Internal => 500,
        }
    }
}

/// A client-facing error. `field` names the form field at fault (validation and
/// conflict); `fields` carries every field error when a form has several, so each
/// input can show its own message. `retry_after` (seconds) goes with `RateLimited`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "ErrorBody", from = "ErrorBody")]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub retry_after: Option<u64>,
}

impl AppError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            fields: BTreeMap::new(),
            retry_after: None,
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut err = Self::new(ErrorCode::Validation, message.clone());
        err.field = Some(field.to_string());
        err.fields.insert(field.to_string(), message);
        err
    }

    /// A validation error without a particular field (a malformed request).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    /// Several field errors at once; the first (in form order) becomes `field`/`message`.
    pub fn fields(errors: Vec<(&str, String)>) -> Self {
        let (first_field, first_message) = errors
            .first()
            .map(|(f, m)| (f.to_string(), m.clone()))
            .unwrap_or_else(|| ("form".into(), "The form has errors.".into()));
        let mut err = Self::new(ErrorCode::Validation, first_message);
        err.field = Some(first_field);
        err.fields = errors.into_iter().map(|(f, m)| (f.to_string(), m)).collect();
        err
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut err = Self::new(ErrorCode::Conflict, message.clone());
        err.field = Some(field.to_string());
        err.fields.insert(field.to_string(), message);
        err
    }

    pub fn conflict_without_field(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "You do not have permission to do that.")
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut err = Self::new(
            ErrorCode::RateLimited,
            format!("Too many attempts. Try again in {}.", human_duration(retry_after_secs)),
        );
        err.retry_after = Some(retry_after_secs);
        err
    }

    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PayloadTooLarge, message)
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, INTERNAL_MESSAGE)
    }

    pub fn status_code(&self) -> u16 {
        self.code.status()
    }

    /// The message for one form field, if this error names it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        self.fields.get(field).cloned()
    }

    /// The message to show above a form: the error's message unless it is already
    /// shown next to a field.
    pub fn form_message(&self) -> Option<String> {
        if self.fields.is_empty() {
            Some(self.message.clone())
        } else {
            None
        }
    }
}

/// "1 minute", "5 minutes", "30 seconds": for messages that say when to retry.
pub fn human_duration(secs: u64) -> String {
    if secs < 60 {
        let s = secs.max(1);
        format!("{s} second{}", if s == 1 { "" } else { "s" })
    } else {
        let m = secs.div_ceil(60);
        format!("{m} minute{}", if m == 1 { "" } else { "s" })
    }
}

#[derive(Serialize, Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Serialize, Deserialize)]
struct ErrorInner {
    code: ErrorCode,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    fields: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
}

impl From<AppError> for ErrorBody {
    fn from(e: AppError) -> Self {
        ErrorBody {
            error: ErrorInner {
                code: e.code,
                message: e.message,
                field: e.field,
                fields: e.fields,
                retry_after: e.retry_after,
            },
        }
    }
}

impl From<ErrorBody> for AppError {
    fn from(b: ErrorBody) -> Self {
        AppError {
            code: b.error.code,
            message: b.error.message,
            field: b.error.field,
            fields: b.error.fields,
            retry_after: b.error.retry_after,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(msg) => {
                AppError::bad_request(format!("The request is malformed: {}", clean_args(&msg)))
            }
            ServerFnErrorErr::MissingArg(name) => AppError::validation(&name, format!("{name} is required.")),
            ServerFnErrorErr::Request(_) => AppError::new(
                ErrorCode::Internal,
                "Could not reach the server. Check your connection and try again.",
            ),
            _ => AppError::internal(),
        }
    }
}

/// serde_qs messages look like "missing field `email`": keep them readable.
fn clean_args(msg: &str) -> String {
    msg.replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_serialise_to_the_contract_shape() {
        let err = AppError::validation("email", "Enter a valid email address.");
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["error"]["code"], "validation");
        assert_eq!(json["error"]["field"], "email");
        assert_eq!(json["error"]["message"], "Enter a valid email address.");
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!(back, err);
    }

    #[test]
    fn internal_errors_carry_no_field_and_a_fixed_message() {
        let json = serde_json::to_value(AppError::internal()).unwrap();
        assert_eq!(json["error"]["code"], "internal");
        assert_eq!(json["error"]["message"], INTERNAL_MESSAGE);
        assert!(json["error"].get("field").is_none());
    }

    #[test]
    fn rate_limited_says_when_to_retry() {
        let err = AppError::rate_limited(90);
        assert_eq!(err.status_code(), 429);
        assert!(err.message.contains("2 minutes"), "{}", err.message);
        assert_eq!(err.retry_after, Some(90));
    }
}
