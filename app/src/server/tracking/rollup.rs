//! The default credit, rolled up: each conversion keeps its last touch within
//! `ATTRIBUTION_WINDOW_DAYS` (touchpoint, time, source, link) in its own row. The
//! dashboards group on these columns instead of re-running the attribution per request.
//!
//! They stay exact: they are written with the conversion (a touch made later is never
//! before an earlier conversion), recomputed for an identity's conversions when
//! identities merge, and for every conversion when the window setting changes
//! (checked at startup). Tests compare them with the attribution engine's last touch.

use crate::server::sql::stmt;
use sea_orm::{ConnectionTrait, DbErr, Value};

/// The window these columns are computed with, as recorded at startup (milliseconds).
pub const WINDOW_MS: &str =
    "(SELECT CAST(value AS BIGINT) * 86400000 FROM app_meta WHERE key = 'attribution_window_days')";

/// A scalar subquery: column `col` of the last touch of (`identity`, `at`) within the
/// recorded default window.
pub fn last_touch_subquery(col: &str, identity: &str, at: &str) -> String {
    format!(
        "(SELECT t.{col} FROM touchpoints t WHERE t.identity_id = {identity} AND t.created_at < {at} \
         AND t.created_at >= {at} - {WINDOW_MS} ORDER BY t.created_at DESC, t.id DESC LIMIT 1)"
    )
}

pub const COLUMNS: [(&str, &str); 4] = [
    ("lt_touchpoint_id", "id"),
    ("lt_at", "created_at"),
    ("lt_source", "source"),
    ("lt_link_id", "link_id"),
];

/// Which conversions to recompute.
pub enum Scope {
    Conversion(i64),
    Identity(i64),
    All,
}

/// Recomputes the last-touch columns of the conversions in `scope`.
pub async fn refresh(db: &impl ConnectionTrait, scope: Scope) -> Result<u64, DbErr> {
    let sets: Vec<String> = COLUMNS
        .iter()
        .map(|(target, col)| {
            format!(
                "{target} = {}",
                last_touch_subquery(col, "conversions.identity_id", "conversions.occurred_at")
            )
        })
        .collect();
    let mut values: Vec<Value> = Vec::new();
    let filter = match scope {
        Scope::Conversion(id) => {
            values.push(id.into());
            " WHERE id = ?"
        }
        Scope::Identity(id) => {
            values.push(id.into());
            " WHERE identity_id = ?"
        }
        Scope::All => "",
    };
    let sql = format!("UPDATE conversions SET {}{filter}", sets.join(", "));
    Ok(db
        .execute(stmt(db.get_database_backend(), &sql, values))
        .await?
        .rows_affected())
}
