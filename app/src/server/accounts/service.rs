//! Account operations over the database. The caller owns the transaction where it
//! matters (sign-up creates several rows at once).

use super::password::{self, HashError};
use super::validate::{DisplayName, Email, NewPassword};
use crate::dto::{AdminUserRow, Page, Role};
use crate::error::AppError;
use crate::server::db::Database;
use crate::server::entities::users;
use crate::server::ratelimit::Limits;
use crate::server::time::now_ms;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid input")]
    Invalid(Vec<(&'static str, String)>),
    #[error("email taken")]
    EmailTaken,
    #[error("bad credentials")]
    BadCredentials,
    #[error("account deactivated")]
    Deactivated,
    #[error("rate limited for {0}s")]
    RateLimited(u64),
    #[error("current password is wrong")]
    CurrentPasswordWrong,
    #[error("no such user")]
    NotFound,
    #[error("refusing to change your own admin role or status")]
    SelfChange,
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(fields) => AppError::fields(fields),
            AccountError::EmailTaken => {
                AppError::conflict("email", "An account with this email already exists. Log in instead?")
            }
            AccountError::BadCredentials => AppError::unauthorized("The email or password is incorrect."),
            AccountError::Deactivated => {
                AppError::unauthorized("This account has been deactivated. Contact an administrator.")
            }
            AccountError::RateLimited(secs) => AppError::rate_limited(secs),
            AccountError::CurrentPasswordWrong => {
                AppError::validation("current_password", "Your current password is incorrect.")
            }
            AccountError::NotFound => AppError::not_found("No such user."),
            AccountError::SelfChange => {
                AppError::validation("user_id", "You cannot change your own role or deactivate yourself.")
            }
            AccountError::Db(e) => crate::server::internal(e),
            AccountError::Hash(e) => crate::server::internal(e),
        }
    }
}

/// Sign-up input, already parsed.
#[derive(Debug)]
pub struct NewAccount {
    pub email: Email,
    pub display_name: DisplayName,
    pub password: NewPassword,
}

impl NewAccount {
    /// Validates every field and reports each one's error.
    pub fn parse(email: &str, password: &str, display_name: &str) -> Result<Self, AccountError> {
        let mut errors = Vec::new();
        let email = Email::parse(email).map_err(|m| errors.push(("email", m))).ok();
        let name = DisplayName::parse(display_name)
            .map_err(|m| errors.push(("display_name", m)))
            .ok();
        let inputs: Vec<&str> = [email.as_ref().map(|e| e.as_str()), name.as_ref().map(|n| n.as_str())]
            .into_iter()
            .flatten()
            .collect();
        let password = NewPassword::parse(password, &inputs)
            .map_err(|m| errors.push(("password", m)))
            .ok();
        match (email, name, password) {
            (Some(email), Some(display_name), Some(password)) if errors.is_empty() => Ok(NewAccount {
                email,
                display_name,
                password,
            }),
            _ => {
                // Keep form order: email, password, display name.
                let order = |f: &str| ["email", "password", "display_name"].iter().position(|x| *x == f);
                errors.sort_by_key(|(f, _)| order(f));
                Err(AccountError::Invalid(errors))
            }
        }
    }
}

pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Inserts the user row. `password_hash` was computed outside the transaction.
pub async fn insert_user(
    db: &impl ConnectionTrait,
    account: &NewAccount,
    password_hash: String,
    role: Role,
) -> Result<users::Model, AccountError> {
    let now = now_ms();
    let model = users::ActiveModel {
        email: Set(account.email.as_str().to_string()),
        display_name: Set(account.display_name.as_str().to_string()),
        password_hash: Set(password_hash),
        role: Set(role.as_str().to_string()),
        active: Set(true),
        auth_epoch: Set(0),
        created_at: Set(now),
        last_login_at: Set(Some(now)),
        ..Default::default()
    };
    model.insert(db).await.map_err(|e| {
        if is_unique_violation(&e) {
            AccountError::EmailTaken
        } else {
            AccountError::Db(e)
        }
    })
}

pub async fn find_by_email(db: &impl ConnectionTrait, email: &Email) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await
}

/// Checks credentials under the login rate limits. Unknown emails are verified
/// against a dummy hash so that they take as long as a wrong password.
#[tracing::instrument(skip(db, limits, password), fields(email = %email_raw))]
pub async fn authenticate(
    db: &Database,
    limits: &Limits,
    email_raw: &str,
    password: &str,
    client: Option<IpAddr>,
) -> Result<users::Model, AccountError> {
    let email = Email::parse(email_raw).map_err(|m| AccountError::Invalid(vec![("email", m)]))?;
    if password.is_empty() {
        return Err(AccountError::Invalid(vec![("password", "Enter your password.".into())]));
    }
    let account_key = email.as_str().to_string();
    limits
        .login_account
        .check(&account_key)
        .map_err(AccountError::RateLimited)?;
    if let Some(ip) = client {
        limits.login_ip.check(&ip).map_err(AccountError::RateLimited)?;
    }
    let user = find_by_email(&db.read, &email).await?;
    // Bound the work an attacker can ask of argon2.
    let password: String = password.chars().take(super::validate::MAX_PASSWORD_CHARS * 4).collect();
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(u) if ok => {
            if !u.active {
                tracing::info!(user_id = u.id, "login refused: account deactivated");
                return Err(AccountError::Deactivated);
            }
            limits.login_account.reset(&account_key);
            Ok(u)
        }
        _ => {
            tracing::info!("login failed");
            let over_account = limits.login_account.hit(&account_key);
            let over_ip = client.map(|ip| limits.login_ip.hit(&ip)).unwrap_or(Ok(()));
            over_account.and(over_ip).map_err(AccountError::RateLimited)?;
            Err(AccountError::BadCredentials)
        }
    }
}

pub async fn record_login(db: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(users::Column::LastLoginAt, Expr::value(now_ms()))
        .filter(users::Column::Id.eq(user_id))
        .exec(db)
        .await
        .map(|_| ())
}

/// Changes the password and bumps the account's epoch, which ends every session
/// that recorded the old epoch. Returns the updated user.
#[tracing::instrument(skip(db, current, new))]
pub async fn change_password(
    db: &Database,
    user_id: i64,
    current: &str,
    new: &str,
) -> Result<users::Model, AccountError> {
    let user = users::Entity::find_by_id(user_id)
        .one(&db.read)
        .await?
        .ok_or(AccountError::NotFound)?;
    let mut errors = Vec::new();
    if current.is_empty() {
        errors.push(("current_password", "Enter your current password.".to_string()));
    }
    let new_password = NewPassword::parse(new, &[user.email.as_str(), user.display_name.as_str()])
        .map_err(|m| errors.push(("new_password", m)))
        .ok();
    let Some(new_password) = new_password.filter(|_| errors.is_empty()) else {
        return Err(AccountError::Invalid(errors));
    };
    if !password::verify(current.to_string(), Some(user.password_hash.clone())).await? {
        return Err(AccountError::CurrentPasswordWrong);
    }
    let hash = password::hash(new_password.expose().to_string()).await?;
    let updated = users::ActiveModel {
        id: Set(user.id),
        password_hash: Set(hash),
        auth_epoch: Set(user.auth_epoch + 1),
        ..Default::default()
    }
    .update(&db.write)
    .await?;
    tracing::info!(user_id, "password changed; other sessions ended");
    Ok(updated)
}

pub async fn update_display_name(db: &Database, user_id: i64, raw: &str) -> Result<users::Model, AccountError> {
    let name = DisplayName::parse(raw).map_err(|m| AccountError::Invalid(vec![("display_name", m)]))?;
    users::ActiveModel {
        id: Set(user_id),
        display_name: Set(name.as_str().to_string()),
        ..Default::default()
    }
    .update(&db.write)
    .await
    .map_err(|e| match e {
        DbErr::RecordNotUpdated => AccountError::NotFound,
        e => AccountError::Db(e),
    })
}

pub const USERS_PER_PAGE: u64 = 25;

/// The admin Users page: search by email (substring), newest first.
pub async fn list_users(db: &Database, query: &str, page: u64, tz: chrono_tz::Tz) -> Result<Page<AdminUserRow>, DbErr> {
    let mut select = users::Entity::find();
    let q = query.trim().to_lowercase();
    if !q.is_empty() {
        select = select.filter(users::Column::Email.contains(&q));
    }
    let total = select.clone().count(&db.read).await?;
    let page = page.max(1);
    let rows = select
        .order_by_desc(users::Column::CreatedAt)
        .order_by_desc(users::Column::Id)
        .offset((page - 1) * USERS_PER_PAGE)
        .limit(USERS_PER_PAGE)
        .all(&db.read)
        .await?;
    let items = admin_rows(db, rows, tz).await?;
    Ok(Page {
        items,
        page,
        per_page: USERS_PER_PAGE,
        total,
    })
}

/// Promote or demote. An admin cannot change their own role, so the last admin
/// cannot lock everyone out by accident.
pub async fn set_role(db: &Database, actor: i64, user_id: i64, role: Role) -> Result<users::Model, AccountError> {
    if actor == user_id {
        return Err(AccountError::SelfChange);
    }
    users::ActiveModel {
        id: Set(user_id),
        role: Set(role.as_str().to_string()),
        ..Default::default()
    }
    .update(&db.write)
    .await
    .map_err(|e| match e {
        DbErr::RecordNotUpdated => AccountError::NotFound,
        e => AccountError::Db(e),
    })
}

/// Deactivate or reactivate. Deactivation bumps the epoch, which ends the user's sessions.
pub async fn set_active(db: &Database, actor: i64, user_id: i64, active: bool) -> Result<users::Model, AccountError> {
    if actor == user_id {
        return Err(AccountError::SelfChange);
    }
    let user = users::Entity::find_by_id(user_id)
        .one(&db.write)
        .await?
        .ok_or(AccountError::NotFound)?;
    let epoch = if active { user.auth_epoch } else { user.auth_epoch + 1 };
    Ok(users::ActiveModel {
        id: Set(user_id),
        active: Set(active),
        auth_epoch: Set(epoch),
        ..Default::default()
    }
    .update(&db.write)
    .await?)
}

pub async fn count_users(db: &Database) -> Result<u64, DbErr> {
    users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .count(&db.read)
        .await
}

/// Maps a page of users to rows, with each one's "referred by" link and its campaign
/// in one query for the whole page.
async fn admin_rows(db: &Database, rows: Vec<users::Model>, tz: chrono_tz::Tz) -> Result<Vec<AdminUserRow>, DbErr> {
    use sea_orm::Value;
    let ids: Vec<i64> = rows
        .iter()
        .filter(|u| u.referred_by_link_id.is_some())
        .map(|u| u.id)
        .collect();
    let mut referred: std::collections::HashMap<i64, (String, Option<String>)> = std::collections::HashMap::new();
    if !ids.is_empty() {
        let b = db.read.get_database_backend();
        let list = vec!["?"; ids.len()].join(", ");
        let found = db
            .read
            .query_all(crate::server::sql::stmt(
                b,
                &format!(
                    "SELECT u.id, l.code, c.name FROM users u JOIN links l ON l.id = u.referred_by_link_id \
                     LEFT JOIN campaigns c ON c.id = l.campaign_id WHERE u.id IN ({list})"
                ),
                ids.iter().map(|i| Value::from(*i)).collect::<Vec<_>>(),
            ))
            .await?;
        for r in found {
            referred.insert(r.try_get("", "id")?, (r.try_get("", "code")?, r.try_get("", "name")?));
        }
    }
    Ok(rows
        .into_iter()
        .map(|u| {
            let (code, campaign) = referred
                .remove(&u.id)
                .map(|(c, n)| (Some(c), n))
                .unwrap_or((None, None));
            AdminUserRow {
                id: u.id.to_string(),
                role: Role::parse(&u.role).unwrap_or(Role::Member),
                email: u.email,
                display_name: u.display_name,
                active: u.active,
                created_at: crate::server::time::display(u.created_at, tz),
                referred_by: code,
                referred_by_campaign: campaign,
            }
        })
        .collect())
}
