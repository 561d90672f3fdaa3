//! `RequestContext`: what domain functions need to know about the request they serve
//! (who the visitor is, and the conversion events its route allows), built once from
//! the request head. The REST API builds one for the visitor it is told about.
//!
//! A route declares the events it allows as an axum extension (django-attribution's
//! `@conversion_events` decorator and mixin):
//! ```ignore
//! use axum::{Extension, Router, routing::post};
//! use app::server::conversions::AllowedEvents;
//! let checkout = Router::new()
//!     .route("/checkout", post(checkout))
//!     .layer(Extension(AllowedEvents::new(["purchase"])));
//! ```
//! `record_conversion` then refuses any other event for requests of that route.

use crate::server::accounts::{AuthUser, CurrentUser};
use crate::server::config::Config;
use crate::server::net::ClientAddr;
use crate::server::tracking::capture::opted_out;
use crate::server::tracking::identity;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The identity cookie's value, when well-formed.
    pub identity_cookie: Option<String>,
    pub user: Option<AuthUser>,
    pub client_ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub http_referrer: Option<String>,
    /// `Sec-GPC` (or `DNT` with `RESPECT_DNT`).
    pub opted_out: bool,
    /// The conversion events the route allows (`None`: any).
    pub allowed_events: Option<AllowedEvents>,
}

impl RequestContext {
    pub fn from_parts(parts: &http::request::Parts, config: &Config) -> Self {
        let header = |name: http::header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(512).collect::<String>())
        };
        RequestContext {
            identity_cookie: identity::cookie_value(&parts.headers, &config.tracking.cookie_name),
            user: parts.extensions.get::<CurrentUser>().and_then(|c| c.0.clone()),
            client_ip: parts.extensions.get::<ClientAddr>().map(|c| c.0),
            user_agent: header(http::header::USER_AGENT),
            http_referrer: header(http::header::REFERER),
            opted_out: opted_out(&parts.headers, config),
            allowed_events: parts.extensions.get::<AllowedEvents>().cloned(),
        }
    }

    /// The same context, allowing only `events` (the idiom for server functions, which
    /// have no route layer of their own).
    pub fn allowing<'a>(mut self, events: impl IntoIterator<Item = &'a str>) -> Self {
        self.allowed_events = Some(AllowedEvents::new(events));
        self
    }
}

/// The events a route allows. No declaration allows any event; an empty one, none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedEvents(Arc<BTreeSet<String>>);

impl AllowedEvents {
    pub fn new<'a>(events: impl IntoIterator<Item = &'a str>) -> Self {
        AllowedEvents(Arc::new(events.into_iter().map(str::to_string).collect()))
    }

    /// `Conversion event 'newsletter' not allowed. Allowed events: ['purchase', 'signup']`
    pub fn check(&self, event: &str) -> Result<(), String> {
        if self.0.contains(event) {
            return Ok(());
        }
        let list = self.0.iter().map(|e| format!("'{e}'")).collect::<Vec<_>>().join(", ");
        Err(format!(
            "Conversion event '{event}' not allowed. Allowed events: [{list}]"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_the_sorted_allowed_events() {
        let a = AllowedEvents::new(["signup", "purchase"]);
        assert!(a.check("purchase").is_ok());
        assert_eq!(
            a.check("newsletter").unwrap_err(),
            "Conversion event 'newsletter' not allowed. Allowed events: ['purchase', 'signup']"
        );
        assert_eq!(
            AllowedEvents::new([]).check("signup").unwrap_err(),
            "Conversion event 'signup' not allowed. Allowed events: []"
        );
    }
}
