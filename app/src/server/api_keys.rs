//! API keys for `/api/v1`: long random secrets, stored as SHA-256 hashes (argon2
//! would slow every request, and the keys have far more entropy than passwords).
//! A key is shown once, when it is made.

use crate::dto::{ApiKeyDto, NewApiKey};
use crate::error::AppError;
use crate::server::entities::api_keys;
use crate::server::sql::stmt;
use crate::server::time::{MINUTE, now_ms, rfc3339};
use rand::Rng;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryOrder};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("invalid name")]
    InvalidName,
    #[error("no such API key")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<ApiKeyError> for AppError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::InvalidName => AppError::validation(
                "name",
                "Give the key a name of 1 to 100 characters, like \"Shop backend\".",
            ),
            ApiKeyError::NotFound => AppError::not_found("No such API key."),
            ApiKeyError::Db(e) => crate::server::internal(e),
        }
    }
}

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const SECRET_LEN: usize = 40;

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn to_dto(k: &api_keys::Model) -> ApiKeyDto {
    ApiKeyDto {
        id: k.id.to_string(),
        name: k.name.clone(),
        prefix: k.prefix.clone(),
        created_at: rfc3339(k.created_at),
        last_used_at: k.last_used_at.map(rfc3339),
        revoked: k.revoked_at.is_some(),
    }
}

/// Makes a key: `tb_` and 40 random characters (about 206 bits).
pub async fn create(db: &impl ConnectionTrait, name: &str, created_by: Option<i64>) -> Result<NewApiKey, ApiKeyError> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiKeyError::InvalidName);
    }
    let mut rng = rand::rngs::OsRng;
    let body: String = (0..SECRET_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let secret = format!("tb_{body}");
    let prefix: String = secret.chars().take(10).collect();
    let b = db.get_database_backend();
    let row = db
        .query_one(stmt(
            b,
            "INSERT INTO api_keys (name, prefix, key_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *",
            [
                name.into(),
                prefix.into(),
                hash(&secret).into(),
                created_by.into(),
                now_ms().into(),
            ],
        ))
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    let key = api_keys::Model::from_query_result(&row, "")?;
    tracing::info!(key = key.id, "API key created");
    Ok(NewApiKey {
        key: to_dto(&key),
        secret,
    })
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ApiKeyDto>, DbErr> {
    Ok(api_keys::Entity::find()
        .order_by_desc(api_keys::Column::CreatedAt)
        .order_by_desc(api_keys::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(to_dto)
        .collect())
}

pub async fn revoke(db: &impl ConnectionTrait, id: i64) -> Result<ApiKeyDto, ApiKeyError> {
    let b = db.get_database_backend();
    let row = db
        .query_one(stmt(
            b,
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING *",
            [now_ms().into(), id.into()],
        ))
        .await?
        .ok_or(ApiKeyError::NotFound)?;
    let key = api_keys::Model::from_query_result(&row, "")?;
    tracing::info!(key = key.id, "API key revoked");
    Ok(to_dto(&key))
}

/// The live key a bearer secret names. Its last-used time is written at most once a
/// minute, so that busy integrations do not turn every request into a write.
pub async fn authenticate(db: &impl ConnectionTrait, secret: &str) -> Result<Option<api_keys::Model>, DbErr> {
    if !secret.starts_with("tb_") || secret.len() > 100 {
        return Ok(None);
    }
    let b = db.get_database_backend();
    let row = db
        .query_one(stmt(
            b,
            "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
            [hash(secret).into()],
        ))
        .await?;
    let Some(key) = row.map(|r| api_keys::Model::from_query_result(&r, "")).transpose()? else {
        return Ok(None);
    };
    let now = now_ms();
    if key.last_used_at.is_none_or(|t| now - t > MINUTE) {
        db.execute(stmt(
            b,
            "UPDATE api_keys SET last_used_at = ? WHERE id = ?",
            [now.into(), key.id.into()],
        ))
        .await?;
    }
    Ok(Some(key))
}
