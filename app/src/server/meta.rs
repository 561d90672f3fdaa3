//! What the database records about the settings that shaped its data (table
//! `app_meta`, `entities::app_meta`), checked at startup:
//! - `REFERRAL_CASE_SENSITIVE`: codes are keyed by it, so it is recorded when the
//!   database is created and a later change is refused;
//! - `ATTRIBUTION_WINDOW_DAYS` and `ATTRIBUTION_HALF_LIFE_DAYS`: the conversions'
//!   rolled-up last touch depends on the window, and the credit by day on both; when
//!   one differs from the value they were computed with, the last touches are
//!   recomputed and every day is marked out of date (reports search those until the
//!   background task settles them).

use crate::server::attribution::credit_days;
use crate::server::config::Config;
use crate::server::sql::stmt;
use crate::server::tracking::rollup;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// A setting that cannot change has changed: the message says what to do.
    #[error("{0}")]
    Changed(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Records the settings in a new database, refuses a changed `REFERRAL_CASE_SENSITIVE`,
/// and brings the rolled-up data in line with the attribution defaults.
pub async fn guard_settings(db: &DatabaseConnection, config: &Config) -> Result<(), MetaError> {
    let wanted = if config.referrals.case_sensitive {
        "true"
    } else {
        "false"
    };
    let b = db.get_database_backend();
    db.execute(stmt(
        b,
        "INSERT INTO app_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
        ["referral_case_sensitive".into(), wanted.into()],
    ))
    .await?;
    let recorded = recorded(db, "referral_case_sensitive")
        .await?
        .unwrap_or_else(|| wanted.to_string());
    if recorded != wanted {
        return Err(MetaError::Changed(format!(
            "REFERRAL_CASE_SENSITIVE is {wanted}, but this database was created with {recorded}; referral codes are keyed by it, \
             so it cannot change. Set REFERRAL_CASE_SENSITIVE={recorded} or use a new database."
        )));
    }
    keep_window_rollup_current(db, config).await?;
    Ok(())
}

/// The value recorded under `key`.
async fn recorded(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbErr> {
    let row = db
        .query_one(stmt(
            db.get_database_backend(),
            "SELECT value FROM app_meta WHERE key = ?",
            [key.into()],
        ))
        .await?;
    Ok(row.and_then(|r| r.try_get("", "value").ok()))
}

/// Recomputes the rolled-up last touches when the window changed, and marks every day
/// of the credit by day out of date when the window or the half-life changed.
async fn keep_window_rollup_current(db: &DatabaseConnection, config: &Config) -> Result<(), DbErr> {
    let window = config.attribution.window_days.to_string();
    let half_life = config.attribution.half_life_days.to_string();
    let old_window = recorded(db, "attribution_window_days").await?;
    let old_half_life = recorded(db, "attribution_half_life_days").await?;
    if old_window.as_deref() == Some(window.as_str()) && old_half_life.as_deref() == Some(half_life.as_str()) {
        return Ok(());
    }
    let b = db.get_database_backend();
    let txn = db.begin().await?;
    for (key, value) in [
        ("attribution_window_days", &window),
        ("attribution_half_life_days", &half_life),
    ] {
        txn.execute(stmt(b, "DELETE FROM app_meta WHERE key = ?", [key.into()]))
            .await?;
        txn.execute(stmt(
            b,
            "INSERT INTO app_meta (key, value) VALUES (?, ?)",
            [key.into(), value.clone().into()],
        ))
        .await?;
    }
    if let Some(old) = old_window.as_ref().filter(|o| **o != window) {
        tracing::info!(from = %old, to = %window, "ATTRIBUTION_WINDOW_DAYS changed: recomputing every conversion's last touch");
        let n = rollup::refresh(&txn, rollup::Scope::All).await?;
        tracing::info!(conversions = n, "last touches recomputed");
    }
    // A database from before the half-life was recorded was rolled up with the
    // window alone; its credit by day is recomputed too.
    if old_window.is_some() && (old_window.as_ref() != Some(&window) || old_half_life.as_ref() != Some(&half_life)) {
        tracing::info!("the default window or half-life changed: the credit by day will be recomputed");
        credit_days::invalidate_all(&txn).await?;
    }
    txn.commit().await
}
