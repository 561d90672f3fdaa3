//! What the session holds: who is logged in (with the account's epoch, so that a
//! password change or deactivation ends every other session) and one-time form messages.

use crate::dto::{FormFlash, Role, UserDto};
use crate::server::db::Database;
use crate::server::entities::users;
use crate::server::time::{DAY, now_ms};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

const AUTH_KEY: &str = "auth";
const FLASH_PREFIX: &str = "flash.";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuthData {
    user_id: i64,
    epoch: i64,
    renewed_at: i64,
}

/// The logged-in user of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn to_dto(&self) -> UserDto {
        UserDto {
            id: self.id.to_string(),
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
        }
    }
}

impl From<&users::Model> for AuthUser {
    fn from(u: &users::Model) -> Self {
        AuthUser {
            id: u.id,
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: Role::parse(&u.role).unwrap_or(Role::Member),
        }
    }
}

/// Request extension set by the auth middleware: `None` for visitors.
#[derive(Debug, Clone, Default)]
pub struct CurrentUser(pub Option<AuthUser>);

/// Who the session names, if the account still exists, is active, and has not
/// changed its password since. A session that fails these checks is flushed.
/// A session is written back at most once a day, to extend its expiry.
pub async fn resolve(db: &Database, session: &Session) -> Option<AuthUser> {
    let data: AuthData = match session.get(AUTH_KEY).await {
        Ok(Some(d)) => d,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the session");
            return None;
        }
    };
    let user = match users::Entity::find_by_id(data.user_id).one(&db.read).await {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "could not load the session's user");
            return None;
        }
    };
    match user {
        Some(u) if u.active && u.auth_epoch == data.epoch => {
            let now = now_ms();
            if now - data.renewed_at > DAY {
                let renewed = AuthData {
                    renewed_at: now,
                    ..data
                };
                if let Err(e) = session.insert(AUTH_KEY, renewed).await {
                    tracing::warn!(error = %e, "could not renew the session");
                }
            }
            Some(AuthUser::from(&u))
        }
        _ => {
            if let Err(e) = session.flush().await {
                tracing::warn!(error = %e, "could not flush a stale session");
            }
            None
        }
    }
}

/// Logs `user` in: a new session id (no fixation), then the user's id and epoch.
pub async fn log_in(session: &Session, user: &users::Model) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session
        .insert(
            AUTH_KEY,
            AuthData {
                user_id: user.id,
                epoch: user.auth_epoch,
                renewed_at: now_ms(),
            },
        )
        .await
}

/// Re-records the epoch after this session's own password change, so that it stays
/// logged in while every other session ends (with a new session id, as at log-in).
pub async fn refresh_epoch(session: &Session, user: &users::Model) -> Result<(), tower_sessions::session::Error> {
    log_in(session, user).await
}

pub async fn log_out(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.flush().await
}

pub async fn set_flash(session: &Session, form: &str, flash: FormFlash) -> Result<(), tower_sessions::session::Error> {
    session.insert(&format!("{FLASH_PREFIX}{form}"), flash).await
}

/// The one-time messages taken during one request. A page can be rendered more than
/// once while its resources resolve (a parent `Suspense` re-runs its children), and
/// each render asks for the message again: the first ask removes it from the session,
/// the later ones get the same answer from here. Shared by the request's clones of
/// `Parts` (the middleware inserts one per request). It also holds the message of the
/// request's flash cookie (see `flash_cookie`), for visitors without a session.
#[derive(Clone, Default)]
pub struct TakenFlashes {
    taken: std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<String, Option<FormFlash>>>>,
    cookie: std::sync::Arc<CookieFlash>,
}

#[derive(Default)]
struct CookieFlash {
    /// Whether the request carried a flash cookie, valid or not.
    present: bool,
    message: std::sync::Mutex<Option<(String, FormFlash)>>,
    taken: std::sync::atomic::AtomicBool,
}

impl TakenFlashes {
    /// With the message of the request's flash cookie (`present`: it had one at all).
    pub fn with_cookie(present: bool, message: Option<(String, FormFlash)>) -> Self {
        TakenFlashes {
            taken: Default::default(),
            cookie: std::sync::Arc::new(CookieFlash {
                present,
                message: std::sync::Mutex::new(message),
                taken: Default::default(),
            }),
        }
    }

    /// `take_flash`, at most once per form and request; the flash cookie's message when
    /// the session has none.
    pub async fn take(&self, session: &Session, form: &str) -> Option<FormFlash> {
        let mut taken = self.taken.lock().await;
        if let Some(flash) = taken.get(form) {
            return flash.clone();
        }
        let flash = match take_flash(session, form).await {
            Some(f) => Some(f),
            None => self.take_cookie(form),
        };
        taken.insert(form.to_string(), flash.clone());
        flash
    }

    fn take_cookie(&self, form: &str) -> Option<FormFlash> {
        let mut message = self.cookie.message.lock().unwrap_or_else(|e| e.into_inner());
        if message.as_ref().is_some_and(|(f, _)| f == form) {
            self.cookie.taken.store(true, std::sync::atomic::Ordering::Relaxed);
            return message.take().map(|(_, flash)| flash);
        }
        None
    }

    /// Whether the response should clear the flash cookie: its message was shown, or it
    /// was not a valid one.
    pub fn clear_cookie(&self) -> bool {
        self.cookie.present
            && (self.cookie.taken.load(std::sync::atomic::Ordering::Relaxed)
                || self.cookie.message.lock().unwrap_or_else(|e| e.into_inner()).is_none())
    }
}

/// The form's one-time message, removed as it is read. Reads nothing from the
/// store when the visitor has no session cookie.
pub async fn take_flash(session: &Session, form: &str) -> Option<FormFlash> {
    let key = format!("{FLASH_PREFIX}{form}");
    // `remove` marks the session modified even when the key is absent, which would
    // write the session on every page view: look first.
    let flash = session.get::<FormFlash>(&key).await.ok().flatten()?;
    let _ = session.remove_value(&key).await;
    Some(flash)
}
