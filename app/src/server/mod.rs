//! Server-only code: state, configuration, database, and the domain modules.
//! Nothing here is compiled into the wasm bundle.

pub mod accounts;
pub mod api_keys;
pub mod attribution;
pub mod campaigns;
pub mod config;
pub mod context;
pub mod conversions;
pub mod dashboards;
pub mod db;
pub mod entities;
pub mod headers;
pub mod meta;
pub mod metrics;
pub mod money;
pub mod net;
pub mod range;
pub mod ratelimit;
pub mod referrals;
pub mod sql;
pub mod state;
pub mod table;
pub mod time;
pub mod tracking;
pub mod writer;

use crate::error::AppError;

/// Logs an internal error with its cause chain and returns the client-safe error.
pub fn internal(err: impl std::error::Error) -> AppError {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    tracing::error!(error = %chain, "internal error");
    AppError::internal()
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        internal(e)
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        internal(e)
    }
}
