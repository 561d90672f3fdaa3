//! sea-orm entities. Timestamps are i64 milliseconds (see `server::time`).

pub mod api_keys;
pub mod app_meta;
pub mod campaigns;
pub mod conversions;
pub mod identities;
pub mod links;
pub mod responses;
pub mod touchpoints;
pub mod users;
