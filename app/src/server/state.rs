//! `AppState`: what every handler and server function shares, and the helpers that
//! read the current request from a server function's context.

use crate::error::AppError;
use crate::server::accounts::flash_cookie::FlashKey;
use crate::server::accounts::{AuthUser, CurrentUser};
use crate::server::config::Config;
use crate::server::db::Database;
use crate::server::metrics::Metrics;
use crate::server::net::ClientAddr;
use crate::server::ratelimit::Limits;
use crate::server::referrals::cache::LinkCache;
use crate::server::tracking::bots::BotFilter;
use crate::server::writer::Writer;
use axum::extract::FromRef;
use http::request::Parts;
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;
use tower_sessions::Session;

/// Cloned by every extractor and middleware of every request, so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub db: Database,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub limits: Arc<Limits>,
    pub writer: Writer,
    pub bots: Arc<BotFilter>,
    pub links: Arc<LinkCache>,
    pub metrics: Arc<Metrics>,
    /// Signs the one-time messages of visitors without a session.
    pub flash_key: FlashKey,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    pub fn new(db: Database, config: Config, leptos_options: LeptosOptions, flash_key: FlashKey) -> Self {
        let limits = Arc::new(Limits::new(&config));
        let metrics = Arc::new(
            if config.server.metrics_addr.is_some() || config.server.metrics_token.is_some() {
                Metrics::enabled()
            } else {
                Metrics::disabled()
            },
        );
        let writer = Writer::start(db.clone(), metrics.clone());
        let bots = Arc::new(BotFilter::new(&config.tracking.extra_bot_patterns));
        let links = Arc::new(LinkCache::new(config.referrals.case_sensitive));
        AppState(Arc::new(Shared {
            db,
            config: Arc::new(config),
            leptos_options,
            limits,
            writer,
            bots,
            links,
            metrics,
            flash_key,
        }))
    }

    /// The same state with another writer: each server thread's own.
    pub fn with_writer(&self, writer: Writer) -> Self {
        AppState(Arc::new(Shared {
            db: self.db.clone(),
            config: self.config.clone(),
            leptos_options: self.leptos_options.clone(),
            limits: self.limits.clone(),
            writer,
            bots: self.bots.clone(),
            links: self.links.clone(),
            metrics: self.metrics.clone(),
            flash_key: self.flash_key.clone(),
        }))
    }
}

impl crate::server::context::RequestContext {
    /// The context of the current server function's request.
    pub fn current() -> Result<Self, AppError> {
        Ok(Self::from_parts(&parts()?, &state()?.config))
    }
}

impl AppState {
    /// What the landing pipeline records with: this thread's writer among the rest.
    pub fn recorder(&self) -> crate::server::tracking::landing::Recorder<'_> {
        crate::server::tracking::landing::Recorder {
            db: &self.db,
            writer: &self.writer,
            links: &self.links,
            referrer_codes: &self.limits.referrer_codes,
            metrics: &self.metrics,
            config: &self.config,
        }
    }
}

/// The state, inside a server function.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::internal()
    })
}

/// The request's head, inside a server function.
pub fn parts() -> Result<Parts, AppError> {
    use_context::<Parts>().ok_or_else(|| {
        tracing::error!("request parts missing from the server function context");
        AppError::internal()
    })
}

pub fn session() -> Result<Session, AppError> {
    parts()?.extensions.get::<Session>().cloned().ok_or_else(|| {
        tracing::error!("session missing: is the session layer installed?");
        AppError::internal()
    })
}

pub fn current_user() -> Option<AuthUser> {
    use_context::<Parts>()
        .and_then(|p| p.extensions.get::<CurrentUser>().cloned())
        .and_then(|c| c.0)
}

pub fn client_addr() -> Option<IpAddr> {
    use_context::<Parts>().and_then(|p| p.extensions.get::<ClientAddr>().map(|c| c.0))
}

pub fn require_user() -> Result<AuthUser, AppError> {
    current_user().ok_or_else(|| AppError::unauthorized("Log in to do that."))
}

/// Every admin server function starts with this.
pub fn require_admin() -> Result<AuthUser, AppError> {
    let user = require_user()?;
    if user.is_admin() {
        Ok(user)
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether the request came from a plain HTML form (no JavaScript): such requests
/// get redirects and one-time messages instead of JSON.
pub fn is_html_form_post(parts: &Parts) -> bool {
    parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.contains("text/html"))
        .unwrap_or(false)
}
