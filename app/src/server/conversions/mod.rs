//! Conversions (django-attribution's, done right): recording them with exact money,
//! allowed events per route, idempotency, confirm and cancel, and the lists built on them.

pub mod events;
pub mod manage;
pub mod record;

pub use crate::server::context::AllowedEvents;
pub use record::{ConversionError, Converter, RecordOptions, record_conversion};

use crate::dto::ConversionDto;
use crate::server::entities::conversions;
use crate::server::money::{exponent_of, format_minor_units};
use crate::server::time::rfc3339;

/// A conversion as clients see it: the API, the admin pages, explanations.
pub fn to_dto(c: &conversions::Model) -> ConversionDto {
    ConversionDto {
        id: c.id.to_string(),
        event: c.event.clone(),
        value: c.value_minor.map(|v| format_minor_units(v, exponent_of(&c.currency))),
        currency: c.currency.clone(),
        custom_data: serde_json::from_str(&c.custom_data).unwrap_or(serde_json::Value::Object(Default::default())),
        source_type: c.source_type.clone(),
        source_id: c.source_id.clone(),
        confirmed: c.confirmed,
        active: c.active,
        occurred_at: rfc3339(c.occurred_at),
        created_at: rfc3339(c.created_at),
        identity_id: c.identity_id.map(|i| i.to_string()),
        user_id: c.user_id.map(|u| u.to_string()),
        idempotency_key: c.idempotency_key.clone(),
    }
}
