//! Referral codes: generated ones, custom ones, and the key they are unique on.

use rand::Rng;

/// Lowercase letters and digits without look-alikes (0/o, 1/l/i).
pub const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
pub const GENERATED_LEN: usize = 9;

/// A new code from the operating system's CSPRNG: 9 characters of a 31-letter
/// alphabet, about 44.6 bits.
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..GENERATED_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A custom code: 3 to 64 of `[A-Za-z0-9_-]`.
pub fn validate_custom(code: &str) -> Result<(), String> {
    let n = code.chars().count();
    if !(3..=64).contains(&n) {
        return Err("Codes are 3 to 64 characters long.".into());
    }
    if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err("Codes may contain only letters, digits, '-' and '_'.".into());
    }
    Ok(())
}

/// Whether `code` could be a code at all (generated or custom, 1 to 64 of
/// `[A-Za-z0-9_-]`): anything else is unknown without asking the database, which
/// PostgreSQL needs for a NUL, say, that it cannot even compare.
pub fn could_be(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The key a code is unique on: lowercased unless codes are case-sensitive.
pub fn key(code: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        code.to_string()
    } else {
        code.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_codes_are_short_unambiguous_and_distinct() {
        let codes: HashSet<String> = (0..10_000).map(|_| generate()).collect();
        assert_eq!(codes.len(), 10_000);
        for c in codes.iter().take(100) {
            assert_eq!(c.len(), GENERATED_LEN);
            assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
            assert!(validate_custom(c).is_ok());
            for bad in ['0', 'o', '1', 'l', 'i'] {
                assert!(!c.contains(bad));
            }
        }
    }

    #[test]
    fn custom_codes_are_validated() {
        for ok in ["abc", "Partner-Blog", "summer_fb", &"x".repeat(64)] {
            assert!(validate_custom(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", &"x".repeat(65), "has space", "slash/", "ünï", "semi;colon", ""] {
            assert!(validate_custom(bad).is_err(), "{bad}");
        }
        assert_eq!(key("FooBar", false), "foobar");
        assert_eq!(key("FooBar", true), "FooBar");
    }
}
