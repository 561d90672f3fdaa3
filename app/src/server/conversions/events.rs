//! Event names, and the events a route allows (django-attribution's
//! `@conversion_events` decorator and mixin, as an axum extension).
//!
//! ```ignore
//! use axum::{Extension, Router, routing::post};
//! use app::server::conversions::AllowedEvents;
//! let checkout = Router::new()
//!     .route("/checkout", post(checkout))
//!     .layer(Extension(AllowedEvents::new(["purchase"])));
//! ```
//! `record_conversion` then refuses any other event for requests of that route.

use std::collections::BTreeSet;
use std::sync::Arc;

/// A validated event name: 1 to 100 printable characters.
pub fn parse_event(raw: &str) -> Result<String, String> {
    let e = raw.trim();
    if e.is_empty() {
        return Err("Name the event, like \"purchase\".".into());
    }
    if e.chars().count() > 100 || e.chars().any(|c| c.is_control()) {
        return Err("Event names are 1 to 100 printable characters.".into());
    }
    Ok(e.to_string())
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

    #[test]
    fn event_names_are_printable_and_short() {
        assert_eq!(parse_event(" purchase ").unwrap(), "purchase");
        assert!(parse_event("").is_err());
        assert!(parse_event(&"e".repeat(101)).is_err());
        assert!(parse_event("bad\u{0}event").is_err());
        assert!(parse_event("Kauf abgeschlossen ✓").is_ok());
    }
}
