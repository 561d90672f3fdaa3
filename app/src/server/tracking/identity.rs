//! Visitor identities: the cookie that names them, looking them up, and merging
//! anonymous identities into a user's canonical identity.

use crate::server::config::Config;
use crate::server::sql::stmt;
use crate::server::time::now_ms;
use http::HeaderMap;
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr};

/// A canonical identity (merges already followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: i64,
    pub public_id: String,
    pub user_id: Option<i64>,
}

/// An identity cookie's value: the creation time in milliseconds (12 hex digits), then
/// 128 random bits from the OS's CSPRNG (32 hex digits). The random part is what the
/// contract asks for; the time in front puts each new identity at the end of the
/// unique index of `public_id` instead of into a random page of it. One random page
/// per new visitor was the largest cost of a landing's write on SQLite (the README's
/// "Performance" has the figures).
pub fn new_public_id() -> String {
    time_ordered_id::<16>(now_ms())
}

/// `N` random bytes after the time in milliseconds, as lowercase hex: unguessable,
/// and in creation order (ids made in the same millisecond in random order).
pub fn time_ordered_id<const N: usize>(now_ms: i64) -> String
where
    rand::distributions::Standard: rand::distributions::Distribution<[u8; N]>,
{
    let random: [u8; N] = rand::random();
    format!("{:012x}{}", now_ms.clamp(0, 0xffff_ffff_ffff), hex::encode(random))
}

/// A well-formed public id: 44 lowercase hex digits (`new_public_id`), or 32 (click
/// ids, and identities made before the time was put in front).
pub fn is_valid_public_id(v: &str) -> bool {
    matches!(v.len(), 32 | 44) && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The identity cookie's value, when it is well-formed. A malformed value is no cookie.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    for header in headers.get_all(http::header::COOKIE) {
        let Ok(s) = header.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == name
            {
                let v = v.trim().trim_matches('"');
                if is_valid_public_id(v) {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

/// `Set-Cookie` for the identity cookie: HttpOnly, SameSite=Lax, Path=/, Max-Age.
pub fn set_cookie(config: &Config, public_id: &str) -> http::HeaderValue {
    let max_age = config.tracking.cookie_max_age_days * 24 * 3600;
    let secure = if config.server.cookies_secure() { "; Secure" } else { "" };
    let v = format!(
        "{}={public_id}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}",
        config.tracking.cookie_name
    );
    http::HeaderValue::from_str(&v).unwrap_or_else(|_| http::HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the identity cookie (logout).
pub fn clear_cookie(config: &Config) -> http::HeaderValue {
    let secure = if config.server.cookies_secure() { "; Secure" } else { "" };
    let v = format!(
        "{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}",
        config.tracking.cookie_name
    );
    http::HeaderValue::from_str(&v).unwrap_or_else(|_| http::HeaderValue::from_static(""))
}

/// The identity a one-row query with one value finds.
async fn find(db: &impl ConnectionTrait, sql: &str, value: sea_orm::Value) -> Result<Option<Identity>, DbErr> {
    let row = db.query_one(stmt(db.get_database_backend(), sql, [value])).await?;
    row.as_ref().map(row_to_identity).transpose()
}

fn row_to_identity(row: &sea_orm::QueryResult) -> Result<Identity, DbErr> {
    Ok(Identity {
        id: row.try_get("", "id")?,
        public_id: row.try_get("", "public_id")?,
        user_id: row.try_get("", "user_id")?,
    })
}

/// The canonical identity of the identity `i` the condition that follows names.
macro_rules! canonical_where {
    () => {
        "SELECT COALESCE(c.id, i.id) AS id, COALESCE(c.public_id, i.public_id) AS public_id, \
         COALESCE(c.user_id, i.user_id) AS user_id \
         FROM identities i LEFT JOIN identities c ON c.id = i.merged_into_id WHERE "
    };
}

/// The canonical identity a cookie value names, following a merge.
pub async fn lookup(db: &impl ConnectionTrait, public_id: &str) -> Result<Option<Identity>, DbErr> {
    find(db, concat!(canonical_where!(), "i.public_id = ?"), public_id.into()).await
}

pub async fn by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Identity>, DbErr> {
    find(
        db,
        "SELECT id, public_id, user_id FROM identities WHERE id = ?",
        id.into(),
    )
    .await
}

/// The canonical identity of identity `id` (following a merge).
pub async fn canonical_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Identity>, DbErr> {
    find(db, concat!(canonical_where!(), "i.id = ?"), id.into()).await
}

pub async fn canonical_of_user(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<Identity>, DbErr> {
    find(
        db,
        "SELECT id, public_id, user_id FROM identities WHERE user_id = ?",
        user_id.into(),
    )
    .await
}

/// Creates an anonymous identity.
pub async fn create(db: &impl ConnectionTrait, user_id: Option<i64>) -> Result<Identity, DbErr> {
    let b = db.get_database_backend();
    let public_id = new_public_id();
    let row = db
        .query_one(stmt(
            b,
            "INSERT INTO identities (public_id, user_id, created_at) VALUES (?, ?, ?) RETURNING id",
            [public_id.clone().into(), user_id.into(), now_ms().into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotInserted)?;
    Ok(Identity {
        id: row.try_get("", "id")?,
        public_id,
        user_id,
    })
}

/// The user's canonical identity, created when missing (race-safe: the unique index
/// on `user_id` decides, and the loser reads the winner's row).
pub async fn ensure_canonical(db: &impl ConnectionTrait, user_id: i64) -> Result<Identity, DbErr> {
    if let Some(found) = canonical_of_user(db, user_id).await? {
        return Ok(found);
    }
    let b = db.get_database_backend();
    db.execute(stmt(
        b,
        "INSERT INTO identities (public_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT (user_id) WHERE user_id IS NOT NULL DO NOTHING",
        [new_public_id().into(), user_id.into(), now_ms().into()],
    ))
    .await?;
    canonical_of_user(db, user_id)
        .await?
        .ok_or(DbErr::RecordNotFound("canonical identity".into()))
}

/// Serialises concurrent logins of one user on PostgreSQL (SQLite has one writer).
async fn lock_user(db: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute(stmt(
            DatabaseBackend::Postgres,
            "SELECT id FROM users WHERE id = ? FOR UPDATE",
            [user_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Joins the request's cookie identity to `user`, inside the caller's transaction,
/// and returns the identity the cookie must name from now on:
/// - no canonical identity yet: the anonymous cookie identity becomes it;
/// - otherwise the cookie identity is merged into the canonical one;
/// - an identity of another user is left alone: this user gets their own.
pub async fn attach_to_user(
    db: &impl ConnectionTrait,
    user_id: i64,
    cookie_public_id: Option<&str>,
) -> Result<Identity, DbErr> {
    lock_user(db, user_id).await?;
    let from_cookie = match cookie_public_id {
        Some(v) => lookup(db, v).await?,
        None => None,
    };
    let canonical = canonical_of_user(db, user_id).await?;
    match (from_cookie, canonical) {
        (Some(k), _) if k.user_id == Some(user_id) => Ok(k),
        (Some(k), None) if k.user_id.is_none() => {
            let b = db.get_database_backend();
            db.execute(stmt(
                b,
                "UPDATE identities SET user_id = ? WHERE id = ? AND user_id IS NULL",
                [user_id.into(), k.id.into()],
            ))
            .await?;
            tracing::info!(
                user_id,
                identity = k.id,
                "anonymous identity became the user's canonical identity"
            );
            Ok(Identity {
                user_id: Some(user_id),
                ..k
            })
        }
        (Some(k), Some(c)) if k.user_id.is_none() => {
            merge(db, k.id, c.id).await?;
            Ok(c)
        }
        (_, Some(c)) => {
            heal(db, c.id).await?;
            Ok(c)
        }
        (_, None) => ensure_canonical(db, user_id).await,
    }
}

/// Merges identity `from` (and anything already merged into it) into `into`: their
/// touchpoints, responses and conversions move, and the chain stays one level deep.
pub async fn merge(db: &impl ConnectionTrait, from: i64, into: i64) -> Result<(), DbErr> {
    if from == into {
        return Ok(());
    }
    let b = db.get_database_backend();
    let now = now_ms();
    db.execute(stmt(
        b,
        "UPDATE identities SET merged_into_id = ?, merged_at = ?, user_id = NULL WHERE id = ? OR merged_into_id = ?",
        [into.into(), now.into(), from.into(), from.into()],
    ))
    .await?;
    heal(db, into).await?;
    tracing::info!(from, into, "merged an identity");
    Ok(())
}

/// Re-points rows still naming an identity merged into `into` (a landing written
/// while the merge committed lands here on the next login), then recomputes the
/// rolled-up last touch of its conversions, which may now have earlier touches.
async fn heal(db: &impl ConnectionTrait, into: i64) -> Result<(), DbErr> {
    let b = db.get_database_backend();
    let mut moved = 0;
    for table in MERGED_TABLES {
        moved += db
            .execute(stmt(
                b,
                &format!("UPDATE {table} SET identity_id = ? WHERE identity_id IN (SELECT id FROM identities WHERE merged_into_id = ?)"),
                [into.into(), into.into()],
            ))
            .await?
            .rows_affected();
    }
    if moved > 0 {
        super::rollup::refresh(db, super::rollup::Scope::Identity(into)).await?;
    }
    Ok(())
}

/// Tables whose rows belong to an identity and follow it into a merge.
pub const MERGED_TABLES: &[&str] = &["touchpoints", "responses", "conversions"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_values_are_128_random_bits_after_the_time() {
        let id = new_public_id();
        assert!(is_valid_public_id(&id));
        assert_eq!(id.len(), 44);
        assert_ne!(id[12..], new_public_id()[12..]);
        let t = 1_795_000_000_000;
        let (a, b) = (time_ordered_id::<16>(t), time_ordered_id::<16>(t + 1));
        assert_eq!(&a[..12], &format!("{t:012x}"));
        assert!(b > a, "in creation order");
        // Identities made before the time was put in front keep their cookies.
        assert!(is_valid_public_id(&"0123456789abcdef".repeat(2)));
        for bad in [
            "",
            "xyz",
            &id.to_uppercase(),
            &format!("{id}0"),
            &id[..43],
            "'; DROP TABLE identities; --",
        ] {
            assert!(!is_valid_public_id(bad), "{bad}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::COOKIE,
            format!("a=b; tributary_id={id}; c=d").parse().unwrap(),
        );
        assert_eq!(cookie_value(&headers, "tributary_id"), Some(id));
        headers.insert(http::header::COOKIE, "tributary_id=forged".parse().unwrap());
        assert_eq!(cookie_value(&headers, "tributary_id"), None);
    }
}
