//! Account operations over the database. The caller owns the transaction where it
//! matters (sign-up creates several rows at once).

use super::password::{self, HashError};
use super::validate::{DisplayName, Email, NewPassword};
use crate::dto::{AdminUserRow, Page, Role};
use crate::error::AppError;
use crate::paging::PageNumber;
use crate::server::db::Database;
use crate::server::entities::users;
use crate::server::metrics::Metrics;
use crate::server::ratelimit::Limits;
use crate::server::sql::{Listing, Where, contains_pattern, paged};
use crate::server::table::{self, Table};
use crate::server::time::now_ms;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QuerySelect, Set, SqlErr,
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

/// Checks credentials under the log-in rate limits. Unknown emails are verified
/// against a dummy hash so that they take as long as a wrong password.
///
/// The attempt is counted before argon2 runs, atomically, under three limits: per
/// (account, client address), per address, and per account from every address. A
/// burst of parallel attempts can therefore never verify more passwords than the
/// limits allow. The right password gives the attempt back (and clears the
/// (account, address) count); a wrong one keeps it counted.
#[tracing::instrument(skip(db, limits, metrics, password), fields(email = %email_raw))]
pub async fn authenticate(
    db: &Database,
    limits: &Limits,
    metrics: &Metrics,
    email_raw: &str,
    password: &str,
    client: Option<IpAddr>,
) -> Result<users::Model, AccountError> {
    let email = Email::parse(email_raw).map_err(|m| AccountError::Invalid(vec![("email", m)]))?;
    if password.is_empty() {
        return Err(AccountError::Invalid(vec![("password", "Enter your password.".into())]));
    }
    let ip = client.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let attempt = Attempt::reserve(limits, email.as_str(), ip).inspect_err(|_| {
        metrics.login_rate_limited.increment(1);
    })?;
    let user = find_by_email(&db.read, &email).await?;
    // Bound the work an attacker can ask of argon2.
    let password: String = password.chars().take(super::validate::MAX_PASSWORD_CHARS * 4).collect();
    metrics.password_verifications.increment(1);
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(u) if ok => {
            attempt.succeeded();
            if !u.active {
                tracing::info!(user_id = u.id, "login refused: account deactivated");
                return Err(AccountError::Deactivated);
            }
            Ok(u)
        }
        _ => {
            tracing::info!("login failed");
            metrics.login_failures.increment(1);
            Err(AccountError::BadCredentials)
        }
    }
}

/// A log-in attempt counted under every limit (see `authenticate`).
struct Attempt<'a> {
    limits: &'a Limits,
    account: String,
    ip: IpAddr,
}

impl<'a> Attempt<'a> {
    fn reserve(limits: &'a Limits, account: &str, ip: IpAddr) -> Result<Attempt<'a>, AccountError> {
        let pair = (account.to_string(), ip);
        limits
            .login_account_address
            .hit(&pair)
            .map_err(AccountError::RateLimited)?;
        if let Err(wait) = limits.login_ip.hit(&ip) {
            limits.login_account_address.release(&pair);
            return Err(AccountError::RateLimited(wait));
        }
        if let Err(wait) = limits.login_account_total.hit(&pair.0) {
            limits.login_account_address.release(&pair);
            limits.login_ip.release(&ip);
            tracing::warn!("log-ins to this account refused from every address: too many failures");
            return Err(AccountError::RateLimited(wait));
        }
        Ok(Attempt {
            limits,
            account: pair.0,
            ip,
        })
    }

    /// The right password: the attempt was no failure.
    fn succeeded(self) {
        self.limits
            .login_account_address
            .reset(&(self.account.clone(), self.ip));
        self.limits.login_ip.release(&self.ip);
        self.limits.login_account_total.release(&self.account);
    }
}

/// Counts a sign-up from `client` under `SIGNUP_MAX_PER_HOUR_PER_IP`, before its
/// password is hashed.
pub fn reserve_signup(limits: &Limits, metrics: &Metrics, client: Option<IpAddr>) -> Result<(), AccountError> {
    let ip = client.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    limits.signups.hit(&ip).map_err(|wait| {
        metrics.signups_rate_limited.increment(1);
        tracing::info!("sign-up refused: too many from this address");
        AccountError::RateLimited(wait)
    })
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
    update_user(
        db,
        users::ActiveModel {
            id: Set(user_id),
            display_name: Set(name.as_str().to_string()),
            ..Default::default()
        },
    )
    .await
}

/// Writes the changed columns of a user; an unknown user is `NotFound`.
async fn update_user(db: &Database, changes: users::ActiveModel) -> Result<users::Model, AccountError> {
    changes.update(&db.write).await.map_err(|e| match e {
        DbErr::RecordNotUpdated => AccountError::NotFound,
        e => AccountError::Db(e),
    })
}

pub const USERS_PER_PAGE: u64 = 25;

/// The admin's list of users, newest first, searched by email (substring), each with
/// the link that referred them and its campaign: its page and its export.
fn users_listing(query: &str) -> Listing {
    let mut filter = Where::new();
    let q = query.trim().to_lowercase();
    if !q.is_empty() {
        filter.and("u.email LIKE ? ESCAPE '\\'", [contains_pattern(&q).into()]);
    }
    Listing::new(
        "u.*, l.code AS referred_by, c.name AS referred_by_campaign",
        "FROM users u LEFT JOIN links l ON l.id = u.referred_by_link_id LEFT JOIN campaigns c ON c.id = l.campaign_id",
        filter,
        "u.created_at DESC, u.id DESC",
    )
}

/// The admin Users page.
pub async fn list_users(
    db: &Database,
    query: &str,
    page: PageNumber,
    tz: chrono_tz::Tz,
) -> Result<Page<AdminUserRow>, DbErr> {
    paged(&db.read, &users_listing(query), page, USERS_PER_PAGE)
        .await?
        .try_map(|r| {
            let u = users::Model::from_query_result(&r, "")?;
            Ok(AdminUserRow {
                id: u.id.to_string(),
                role: Role::parse(&u.role).unwrap_or(Role::Member),
                email: u.email,
                display_name: u.display_name,
                active: u.active,
                created_at: crate::server::time::display(u.created_at, tz),
                referred_by: r.try_get("", "referred_by")?,
                referred_by_campaign: r.try_get("", "referred_by_campaign")?,
            })
        })
}

/// The admin's users as a table (never their password hashes).
pub fn export_users(db: DatabaseConnection, query: &str) -> Table {
    let listing = users_listing(query).columns(
        "u.id, u.email, u.display_name, u.role, u.active, u.created_at, l.code AS referred_by, c.name AS campaign",
    );
    let statement = listing.all(db.get_database_backend());
    Table::streamed(
        &[
            "id",
            "email",
            "display_name",
            "role",
            "active",
            "joined",
            "referred_by",
            "referred_by_campaign",
        ],
        db,
        statement,
        |r| {
            vec![
                table::int(r, "id"),
                table::text(r, "email"),
                table::text(r, "display_name"),
                table::text(r, "role"),
                table::boolean(r, "active"),
                table::time(r, "created_at"),
                table::text(r, "referred_by"),
                table::text(r, "campaign"),
            ]
        },
    )
}

/// Promote or demote. An admin cannot change their own role, so the last admin
/// cannot lock everyone out by accident.
pub async fn set_role(db: &Database, actor: i64, user_id: i64, role: Role) -> Result<users::Model, AccountError> {
    if actor == user_id {
        return Err(AccountError::SelfChange);
    }
    update_user(
        db,
        users::ActiveModel {
            id: Set(user_id),
            role: Set(role.as_str().to_string()),
            ..Default::default()
        },
    )
    .await
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
