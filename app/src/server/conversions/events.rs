//! Event names: what a conversion may be called. (The events a route allows are
//! `AllowedEvents`, in `server::context`, re-exported here.)

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_are_printable_and_short() {
        assert_eq!(parse_event(" purchase ").unwrap(), "purchase");
        assert!(parse_event("").is_err());
        assert!(parse_event(&"e".repeat(101)).is_err());
        assert!(parse_event("bad\u{0}event").is_err());
        assert!(parse_event("Kauf abgeschlossen ✓").is_ok());
    }
}
