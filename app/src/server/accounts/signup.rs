//! Sign-up and log-in as the visitor experiences them: the account, and the
//! visitor's anonymous history joining it, in one transaction. Sign-up makes rows of
//! several domains at once (the user, a personal link, the identity, a `SIGNED_UP`
//! response, a conversion), so it sits above them: nothing below imports it.

use super::password;
use super::service::{AccountError, NewAccount, find_by_email, insert_user};
use super::validate::Email;
use crate::dto::Role;
use crate::error::AppError;
use crate::server::config::Config;
use crate::server::context::RequestContext;
use crate::server::conversions::ConversionError;
use crate::server::db::Database;
use crate::server::entities::links as link_entity;
use crate::server::entities::users;
use crate::server::referrals::links::{self, LinkError};
use crate::server::referrals::responses::{self, RESPONDED, SIGNED_UP};
use crate::server::sql::stmt;
use crate::server::time::{DAY, now_ms};
use crate::server::tracking::identity::{self, Identity};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set, TransactionTrait};

/// What can stop a sign-up: the account's own errors, and those of the rows it
/// makes in other domains, each kept with its type.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("personal link: {0}")]
    Link(#[from] LinkError),
    #[error("sign-up conversion: {0}")]
    Conversion(#[from] ConversionError),
}

impl From<DbErr> for SignupError {
    fn from(e: DbErr) -> Self {
        SignupError::Account(AccountError::Db(e))
    }
}

impl From<SignupError> for AppError {
    fn from(e: SignupError) -> Self {
        match e {
            SignupError::Account(e) => e.into(),
            SignupError::Link(e) => e.into(),
            SignupError::Conversion(e) => e.into(),
        }
    }
}

/// What the request knows about the visitor.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    /// The identity cookie's value, when well-formed.
    pub identity_cookie: Option<String>,
    /// `Sec-GPC` (or `DNT` with `RESPECT_DNT`): no identity is created for them.
    pub opted_out: bool,
    pub user_agent: Option<String>,
    /// Truncated.
    pub client_ip: Option<String>,
}

impl Visitor {
    pub fn from_context(ctx: &RequestContext) -> Self {
        Visitor {
            identity_cookie: ctx.identity_cookie.clone(),
            opted_out: ctx.opted_out,
            user_agent: ctx.user_agent.clone(),
            client_ip: ctx.client_ip.map(crate::server::net::truncate),
        }
    }

    /// Whether sign-up or log-in should give this visitor an identity (and cookie).
    fn wants_identity(&self) -> bool {
        self.identity_cookie.is_some() || !self.opted_out
    }
}

pub struct SignedUp {
    pub user: users::Model,
    pub identity: Option<Identity>,
    pub personal_link: link_entity::Model,
    /// The link credited with this sign-up.
    pub referred_by: Option<i64>,
}

/// Creates the account in one transaction: the user, their personal link, the
/// visitor's identity joined to it (with its earlier clicks), `referred_by` set to the
/// link of the visitor's last click within the window, a `SIGNED_UP` response on it,
/// and a `signup` conversion (`RECORD_SIGNUP_CONVERSION`).
#[tracing::instrument(skip_all, fields(email = %account.email.as_str()))]
pub async fn create_account(
    db: &Database,
    config: &Config,
    account: &NewAccount,
    password_hash: String,
    role: Role,
    visitor: Option<&Visitor>,
) -> Result<SignedUp, SignupError> {
    let txn = db.write.begin().await?;
    let user = insert_user(&txn, account, password_hash, role).await?;
    let personal_link = links::create_personal(&txn, config, user.id).await?;
    let identity = match visitor.filter(|v| v.wants_identity()) {
        Some(v) => Some(identity::attach_to_user(&txn, user.id, v.identity_cookie.as_deref()).await?),
        None => None,
    };
    let referred_by = match &identity {
        Some(i) => credit_referrer(&txn, config, user.id, i.id, visitor).await?,
        None => None,
    };
    // A sign-up through the web (not an account made with the CLI) is a conversion.
    if config.conversions.record_signup_conversion && visitor.is_some() {
        crate::server::conversions::record::record_signup(&txn, config, user.id).await?;
    }
    txn.commit().await?;
    tracing::info!(user_id = user.id, referred_by = ?referred_by, "account created");
    Ok(SignedUp {
        user,
        identity,
        personal_link,
        referred_by,
    })
}

/// Sets `referred_by` to the link of the identity's most recent click within the
/// window (the last click wins) and records `SIGNED_UP` on it.
async fn credit_referrer(
    db: &impl ConnectionTrait,
    config: &Config,
    user_id: i64,
    identity_id: i64,
    visitor: Option<&Visitor>,
) -> Result<Option<i64>, DbErr> {
    let b = db.get_database_backend();
    let since = now_ms() - config.attribution.window_days * DAY;
    let row = db
        .query_one(stmt(
            b,
            "SELECT link_id FROM responses WHERE identity_id = ? AND action = ? AND created_at >= ? \
             ORDER BY created_at DESC, id DESC LIMIT 1",
            [identity_id.into(), RESPONDED.into(), since.into()],
        ))
        .await?;
    let Some(link_id) = row.map(|r| r.try_get::<i64>("", "link_id")).transpose()? else {
        return Ok(None);
    };
    db.execute(stmt(
        b,
        "UPDATE users SET referred_by_link_id = ? WHERE id = ?",
        [link_id.into(), user_id.into()],
    ))
    .await?;
    responses::insert(
        db,
        responses::NewResponse {
            link_id,
            identity_id: Some(identity_id),
            user_id: Some(user_id),
            action: SIGNED_UP,
            target: None,
            http_referrer: None,
            user_agent: visitor.and_then(|v| v.user_agent.as_deref()),
            client_ip: visitor.and_then(|v| v.client_ip.clone()),
        },
    )
    .await?;
    Ok(Some(link_id))
}

/// At log-in: the visitor's identity joins the user's (in one transaction).
pub async fn join_identity_at_login(
    db: &Database,
    user_id: i64,
    visitor: &Visitor,
) -> Result<Option<Identity>, AccountError> {
    if !visitor.wants_identity() {
        return Ok(None);
    }
    let txn = db.write.begin().await?;
    let identity = identity::attach_to_user(&txn, user_id, visitor.identity_cookie.as_deref()).await?;
    txn.commit().await?;
    Ok(Some(identity))
}

/// Creates an admin (or promotes an existing account), for `tributary create-admin`.
pub async fn create_admin(
    db: &Database,
    config: &Config,
    email: &str,
    password: &str,
) -> Result<(users::Model, bool), SignupError> {
    let email_parsed = Email::parse(email).map_err(|m| AccountError::Invalid(vec![("email", m)]))?;
    if let Some(existing) = find_by_email(&db.read, &email_parsed).await? {
        let user = users::ActiveModel {
            id: Set(existing.id),
            role: Set(Role::Admin.as_str().to_string()),
            active: Set(true),
            ..Default::default()
        }
        .update(&db.write)
        .await?;
        return Ok((user, false));
    }
    let local = email_parsed.as_str().split('@').next().unwrap_or("admin").to_string();
    let account = NewAccount::parse(email, password, &local)?;
    let hash = password::hash(account.password.expose().to_string())
        .await
        .map_err(AccountError::from)?;
    let created = create_account(db, config, &account, hash, Role::Admin, None).await?;
    Ok((created.user, true))
}
