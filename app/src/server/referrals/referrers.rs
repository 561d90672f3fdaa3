//! Referrer codes: an unknown `?ref=` value becomes an ownerless link on first use
//! (django-referral's auto-create), bounded and race-safe.

use super::cache::CachedLink;
use super::cache::LinkCache;
use super::codes;
use crate::server::campaigns;
use crate::server::config::ReferralConfig;
use crate::server::db::Database;
use crate::server::ratelimit::RateLimiter;
use crate::server::sql::stmt;
use crate::server::time::now_ms;
use sea_orm::{ConnectionTrait, DbErr};
use std::net::IpAddr;

/// Creates the ownerless link for an unknown code, or finds the one a concurrent
/// request just made. `None` when auto-create is off, the code breaks the custom-code
/// rules, or this client has created too many codes this minute.
pub async fn auto_create(
    db: &Database,
    config: &ReferralConfig,
    links: &LinkCache,
    per_client: &RateLimiter<IpAddr>,
    code: &str,
    client: Option<IpAddr>,
) -> Result<Option<CachedLink>, DbErr> {
    if !config.auto_create || codes::validate_custom(code).is_err() {
        return Ok(None);
    }
    if let Some(ip) = client
        && per_client.hit(&ip).is_err()
    {
        tracing::warn!(client = %ip, "referrer-code creation rate limit reached; ignoring ?ref=");
        return Ok(None);
    }
    let campaign = if config.auto_associate {
        campaigns::first_match(&db.read, code).await?
    } else {
        None
    };
    let now = now_ms();
    let created = db
        .write
        .execute(stmt(
            db.write.get_database_backend(),
            "INSERT INTO links (code, code_key, owner_id, label, destination, active, campaign_id, is_personal, auto_created, \
             created_at, updated_at) VALUES (?, ?, NULL, ?, ?, TRUE, ?, FALSE, TRUE, ?, ?) ON CONFLICT DO NOTHING",
            [
                code.into(),
                codes::key(code, config.case_sensitive).into(),
                code.into(),
                config.default_destination.clone().into(),
                campaign.into(),
                now.into(),
                now.into(),
            ],
        ))
        .await?
        .rows_affected()
        > 0;
    if created {
        tracing::info!(code, campaign = ?campaign, "referrer code created");
    }
    // Forget the cached "unknown" and read the row (ours, or the concurrent winner's).
    links.forget(code);
    links.get(&db.write, code).await
}
