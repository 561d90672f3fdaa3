//! Attribution: which touches get the credit for a conversion, by five models, with a
//! default window and per-source windows; grouped reports, per-conversion credits and
//! explanations.

pub mod credit_days;
pub mod engine;
pub mod explain;
pub mod explorer;
pub mod reports;
pub mod settings;

pub use settings::{ConversionFilter, GroupBy, Model, Settings};

/// The rolled-up last touch lives with the touches it is computed from (identity
/// merges keep it exact); reports read it from here too.
pub use crate::server::tracking::rollup;
