//! `record_conversion`: django-attribution's shortcut, for server code and the API.

use super::events::parse_event;
use crate::error::AppError;
use crate::server::config::Config;
use crate::server::context::RequestContext;
use crate::server::entities::conversions;
use crate::server::money::Currency;
use crate::server::sql::stmt;
use crate::server::time::{MINUTE, now_ms, parse_instant};
use crate::server::tracking::identity::{self, Identity};
use crate::server::tracking::rollup;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult};
use sha2::{Digest, Sha256};

pub const MAX_CUSTOM_DATA_BYTES: usize = 16 * 1024;
const MAX_SKEW_MS: i64 = 5 * MINUTE;

#[derive(Debug, thiserror::Error)]
pub enum ConversionError {
    #[error("invalid conversion")]
    Invalid(Vec<(&'static str, String)>),
    #[error("{0}")]
    NotAllowed(String),
    #[error("the idempotency key was used with another body")]
    IdempotencyConflict,
    #[error("no such conversion")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<ConversionError> for AppError {
    fn from(e: ConversionError) -> Self {
        match e {
            ConversionError::Invalid(f) => AppError::fields(f),
            ConversionError::NotAllowed(m) => AppError::validation("event", m),
            ConversionError::IdempotencyConflict => AppError::conflict(
                "idempotency_key",
                "This idempotency key was already used with a different request.",
            ),
            ConversionError::NotFound => AppError::not_found("No conversion matches."),
            ConversionError::Db(e) => crate::server::internal(e),
        }
    }
}

/// Who converted.
#[derive(Debug, Clone, Default)]
pub enum Converter {
    /// The request's visitor: its identity cookie, else the logged-in user.
    #[default]
    Request,
    /// A known identity (the API's `visitor_id` or `click_id`, already resolved).
    Identity(Identity),
    /// A user: their canonical identity, created if missing.
    User(i64),
    /// Nobody: stored unattributed.
    Nobody,
}

/// The options of `record_conversion`, as given (validated on the way in).
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    /// A decimal amount, like `"99.99"`.
    pub value: Option<String>,
    /// ISO 4217; `DEFAULT_CURRENCY` when absent.
    pub currency: Option<String>,
    /// A JSON object of up to 16 KB.
    pub custom_data: Option<serde_json::Value>,
    /// The source object (type, id), e.g. ("order", "8f14e45f").
    pub source: Option<(String, String)>,
    /// Default true; false for pending conversions (an order awaiting payment).
    pub confirmed: Option<bool>,
    /// When it happened (RFC 3339 or a date); default now, at most 5 minutes ahead.
    pub occurred_at: Option<String>,
    pub idempotency_key: Option<String>,
    pub converter: Converter,
}

/// A conversion and whether it was a replay of an earlier request with the same
/// idempotency key.
pub struct Recorded {
    pub conversion: conversions::Model,
    pub replayed: bool,
}

struct Checked {
    event: String,
    currency: Currency,
    value_minor: Option<i64>,
    custom_data: String,
    source: Option<(String, String)>,
    confirmed: bool,
    occurred_at: i64,
    idempotency_key: Option<String>,
}

fn check(config: &Config, event: &str, o: &RecordOptions) -> Result<Checked, ConversionError> {
    let mut errors = Vec::new();
    let event = parse_event(event).map_err(|m| errors.push(("event", m))).ok();
    let currency_code = o
        .currency
        .clone()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| config.conversions.default_currency.clone());
    let currency = Currency::parse(&currency_code);
    if currency.is_none() {
        errors.push((
            "currency",
            format!("'{}' is not an ISO 4217 currency code.", currency_code.trim()),
        ));
    }
    let value_minor = match (o.value.as_deref().map(str::trim).filter(|v| !v.is_empty()), currency) {
        (Some(v), Some(c)) => match c.parse_amount(v) {
            Ok(m) if m < 0 => {
                errors.push((
                    "value",
                    "Values are 0 or more; cancel a conversion to take it back.".into(),
                ));
                None
            }
            Ok(m) => Some(m),
            Err(msg) => {
                errors.push(("value", msg));
                None
            }
        },
        _ => None,
    };
    let custom_data = match &o.custom_data {
        None | Some(serde_json::Value::Null) => "{}".to_string(),
        Some(v @ serde_json::Value::Object(_)) => {
            let s = v.to_string();
            if s.len() > MAX_CUSTOM_DATA_BYTES {
                errors.push(("custom_data", "custom_data is at most 16 KB of JSON.".into()));
            }
            s
        }
        Some(_) => {
            errors.push(("custom_data", "custom_data must be a JSON object.".into()));
            String::new()
        }
    };
    let source = match &o.source {
        None => None,
        Some((t, i)) => {
            let (t, i) = (t.trim(), i.trim());
            match (t.is_empty(), i.is_empty()) {
                (true, true) => None,
                (false, false) if t.chars().count() <= 100 && i.chars().count() <= 200 => {
                    Some((t.to_string(), i.to_string()))
                }
                (false, false) => {
                    errors.push((
                        "source_type",
                        "Source types are at most 100 and ids 200 characters.".into(),
                    ));
                    None
                }
                _ => {
                    errors.push((
                        "source_type",
                        "A source object needs both source_type and source_id.".into(),
                    ));
                    None
                }
            }
        }
    };
    let now = now_ms();
    let occurred_at = match o.occurred_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => now,
        Some(s) => match parse_instant(s, config.timezone) {
            Some(t) if t > now + MAX_SKEW_MS => {
                errors.push(("occurred_at", "occurred_at cannot be in the future.".into()));
                now
            }
            Some(t) => t,
            None => {
                errors.push(("occurred_at", "Use an RFC 3339 time like 2026-11-21T10:00:00Z.".into()));
                now
            }
        },
    };
    let idempotency_key = o
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    if idempotency_key.as_ref().is_some_and(|k| k.len() > 255) {
        errors.push(("idempotency_key", "Idempotency keys are at most 255 characters.".into()));
    }
    let (Some(currency), true) = (currency, errors.is_empty()) else {
        return Err(ConversionError::Invalid(errors));
    };
    Ok(Checked {
        event: event.unwrap_or_default(),
        currency,
        value_minor,
        custom_data,
        source,
        confirmed: o.confirmed.unwrap_or(true),
        occurred_at,
        idempotency_key,
    })
}

/// A fingerprint of the request as given, to tell a replay from a different request
/// under the same idempotency key.
fn request_hash(event: &str, o: &RecordOptions, identity: Option<i64>) -> String {
    let canonical = serde_json::json!({
        "event": event,
        "value": o.value,
        "currency": o.currency,
        "custom_data": o.custom_data,
        "source": o.source,
        "confirmed": o.confirmed,
        "occurred_at": o.occurred_at,
        "identity": identity,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Who converted, resolved to (identity, user).
async fn resolve(
    db: &impl ConnectionTrait,
    ctx: &RequestContext,
    who: &Converter,
) -> Result<(Option<Identity>, Option<i64>), DbErr> {
    Ok(match who {
        Converter::Nobody => (None, None),
        Converter::Identity(i) => (Some(i.clone()), i.user_id),
        Converter::User(u) => (Some(identity::ensure_canonical(db, *u).await?), Some(*u)),
        Converter::Request => {
            let user = ctx.user.as_ref().map(|u| u.id);
            let from_cookie = match &ctx.identity_cookie {
                Some(c) => identity::lookup(db, c)
                    .await?
                    .filter(|i| i.user_id.is_none() || i.user_id == user),
                None => None,
            };
            match (from_cookie, user) {
                (Some(i), _) => {
                    let u = user.or(i.user_id);
                    (Some(i), u)
                }
                (None, Some(u)) => (Some(identity::ensure_canonical(db, u).await?), Some(u)),
                (None, None) => (None, None),
            }
        }
    })
}

/// Records a conversion of the request's visitor (or of the one named in
/// `options.converter`). Checks the route's allowed events, the currency (ISO 4217)
/// and the value (exact minor units). With an idempotency key, a replay of the same
/// request returns the original, and a different request is a conflict.
#[tracing::instrument(skip(db, config, ctx, options), fields(event = %event))]
pub async fn record_conversion(
    db: &impl ConnectionTrait,
    config: &Config,
    ctx: &RequestContext,
    event: &str,
    options: RecordOptions,
) -> Result<Recorded, ConversionError> {
    if let Some(allowed) = &ctx.allowed_events
        && let Err(message) = allowed.check(event.trim())
    {
        tracing::warn!("{message}");
        return Err(ConversionError::NotAllowed(message));
    }
    let c = check(config, event, &options)?;
    let (identity, user_id) = resolve(db, ctx, &options.converter).await?;
    let identity_id = identity.as_ref().map(|i| i.id);
    let hash = c
        .idempotency_key
        .as_ref()
        .map(|_| request_hash(&c.event, &options, identity_id));
    if let Some(key) = &c.idempotency_key
        && let Some(existing) = by_key(db, key).await?
    {
        return replay(existing, hash.as_deref());
    }
    let b = db.get_database_backend();
    let row = db
        .query_one(stmt(
            b,
            &format!(
                "INSERT INTO conversions (identity_id, user_id, event, value_minor, currency, custom_data, source_type, source_id, \
                 confirmed, active, occurred_at, created_at, idempotency_key, request_hash, lt_touchpoint_id, lt_at, lt_source, lt_link_id) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?, {}) ON CONFLICT DO NOTHING RETURNING *",
                rollup::COLUMNS.map(|(_, col)| rollup::last_touch_subquery(col, "?", "?")).join(", ")
            ),
            [
                identity_id.into(),
                user_id.into(),
                c.event.clone().into(),
                c.value_minor.into(),
                c.currency.code().into(),
                c.custom_data.into(),
                c.source.as_ref().map(|s| s.0.clone()).into(),
                c.source.as_ref().map(|s| s.1.clone()).into(),
                c.confirmed.into(),
                c.occurred_at.into(),
                now_ms().into(),
                c.idempotency_key.clone().into(),
                hash.clone().into(),
            ]
            .into_iter()
            .chain(rollup::COLUMNS.iter().flat_map(|_| [identity_id.into(), c.occurred_at.into(), c.occurred_at.into()])),
        ))
        .await?;
    let conversion = match row {
        Some(r) => conversions::Model::from_query_result(&r, "")?,
        // A concurrent request with the same key won.
        None => {
            let key = c.idempotency_key.as_deref().unwrap_or_default();
            let existing = by_key(db, key).await?.ok_or(ConversionError::NotFound)?;
            return replay(existing, hash.as_deref());
        }
    };
    match identity_id {
        Some(id) => tracing::info!("Recorded conversion '{}' for identity {}", conversion.event, id),
        None => tracing::info!("Recorded conversion '{}' for identity anonymous", conversion.event),
    }
    Ok(Recorded {
        conversion,
        replayed: false,
    })
}

fn replay(existing: conversions::Model, hash: Option<&str>) -> Result<Recorded, ConversionError> {
    if existing.request_hash.as_deref() == hash {
        Ok(Recorded {
            conversion: existing,
            replayed: true,
        })
    } else {
        Err(ConversionError::IdempotencyConflict)
    }
}

async fn by_key(db: &impl ConnectionTrait, key: &str) -> Result<Option<conversions::Model>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    conversions::Entity::find()
        .filter(conversions::Column::IdempotencyKey.eq(key))
        .one(db)
        .await
}

/// The `signup` conversion, inside the sign-up transaction.
pub async fn record_signup(
    db: &impl ConnectionTrait,
    config: &Config,
    user_id: i64,
) -> Result<conversions::Model, ConversionError> {
    let options = RecordOptions {
        converter: Converter::User(user_id),
        ..Default::default()
    };
    record_conversion(db, config, &RequestContext::default(), "signup", options)
        .await
        .map(|r| r.conversion)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::for_database("sqlite://x.db")
    }

    #[test]
    fn values_are_exact_and_currencies_real() {
        let o = RecordOptions {
            value: Some("99.99".into()),
            ..Default::default()
        };
        let c = check(&config(), "purchase", &o).unwrap();
        assert_eq!(c.value_minor, Some(9999));
        assert_eq!(c.currency.code(), "EUR", "the default currency");
        let bad = RecordOptions {
            value: Some("1.234".into()),
            currency: Some("XYZ".into()),
            ..Default::default()
        };
        match check(&config(), "purchase", &bad) {
            Err(ConversionError::Invalid(f)) => {
                assert_eq!(f.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec!["currency"])
            }
            _ => panic!("expected invalid"),
        }
    }

    #[test]
    fn the_future_is_refused_beyond_five_minutes() {
        let soon = crate::server::time::rfc3339(now_ms() + 2 * MINUTE);
        let later = crate::server::time::rfc3339(now_ms() + 10 * MINUTE);
        let ok = RecordOptions {
            occurred_at: Some(soon),
            ..Default::default()
        };
        assert!(check(&config(), "x", &ok).is_ok());
        let bad = RecordOptions {
            occurred_at: Some(later),
            ..Default::default()
        };
        assert!(check(&config(), "x", &bad).is_err());
    }

    #[test]
    fn custom_data_must_be_a_small_object() {
        let arr = RecordOptions {
            custom_data: Some(serde_json::json!([1, 2])),
            ..Default::default()
        };
        assert!(check(&config(), "x", &arr).is_err());
        let big = RecordOptions {
            custom_data: Some(serde_json::json!({"k": "x".repeat(17 * 1024)})),
            ..Default::default()
        };
        assert!(check(&config(), "x", &big).is_err());
    }
}
