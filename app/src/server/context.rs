//! `RequestContext`: what domain functions need to know about the request they serve
//! (who the visitor is), built once from the request head. The REST API builds one for
//! the visitor it is told about.

use crate::server::accounts::{AuthUser, CurrentUser};
use crate::server::config::Config;
use crate::server::conversions::AllowedEvents;
use crate::server::net::ClientAddr;
use crate::server::tracking::capture::opted_out;
use crate::server::tracking::identity;
use std::net::IpAddr;

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
            identity_cookie: identity::cookie_value(&parts.headers, &config.tracking_cookie_name),
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

    /// The context of the current server function's request.
    pub fn current() -> Result<Self, crate::error::AppError> {
        let st = crate::server::state::state()?;
        Ok(Self::from_parts(&crate::server::state::parts()?, &st.config))
    }
}
