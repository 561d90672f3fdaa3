//! Conversions (django-attribution's, done right): recording them with exact money,
//! allowed events per route, idempotency, confirm and cancel, and the lists built on them.

pub mod events;
pub mod manage;
pub mod record;

pub use events::AllowedEvents;
pub use record::{ConversionError, Converter, RecordOptions, record_conversion};
