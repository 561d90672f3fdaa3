//! Parse, don't validate: the account fields as newtypes with `parse` constructors.

/// A normalised email address: trimmed and lowercased, so uniqueness is
/// case-insensitive by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("Enter your email address.".into());
        }
        let invalid = || "Enter a valid email address, like name@example.com.".to_string();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || domain.chars().any(|c| !(c.is_alphanumeric() || c == '-' || c == '.'))
        {
            return Err(invalid());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1 to 100 printable characters, whitespace collapsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, String> {
        let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() {
            return Err("Enter a display name.".into());
        }
        if s.chars().count() > 100 {
            return Err("Display names are at most 100 characters.".into());
        }
        if s.chars().any(|c| c.is_control()) {
            return Err("Display names cannot contain control characters.".into());
        }
        Ok(DisplayName(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A new password: 8 to 128 characters, and not one that password crackers try early
/// (zxcvbn's estimate, which knows common passwords, names, keyboard patterns and the
/// user's own email and name).
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str, user_inputs: &[&str]) -> Result<NewPassword, String> {
        let n = raw.chars().count();
        if n < MIN_PASSWORD_CHARS {
            return Err(format!("Use at least {MIN_PASSWORD_CHARS} characters."));
        }
        if n > MAX_PASSWORD_CHARS {
            return Err(format!("Use at most {MAX_PASSWORD_CHARS} characters."));
        }
        let estimate = zxcvbn::zxcvbn(raw, user_inputs);
        if (estimate.score() as u8) < 2 {
            return Err(
                "This password is too common or too easy to guess. Try a longer phrase of unrelated words.".into(),
            );
        }
        Ok(NewPassword(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@exa mple.com",
            "ada@.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_must_be_long_and_uncommon() {
        assert!(NewPassword::parse("short", &[]).is_err());
        assert!(NewPassword::parse("password", &[]).is_err());
        assert!(NewPassword::parse("12345678", &[]).is_err());
        assert!(NewPassword::parse("ada@example.com", &["ada@example.com"]).is_err());
        assert!(NewPassword::parse("correct horse battery staple", &[]).is_ok());
        assert!(NewPassword::parse(&"x".repeat(200), &[]).is_err());
    }

    #[test]
    fn display_names_collapse_whitespace() {
        assert_eq!(
            DisplayName::parse("  Ada   Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"a".repeat(101)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn email_parse_never_panics(s in "\\PC{0,80}") {
            let _ = Email::parse(&s);
        }
    }
}
