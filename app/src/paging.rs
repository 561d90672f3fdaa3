//! Paging: the page number every paginated list reads, and the size of a page of the
//! REST API's lists. Both come from URLs and forms, so they are parsed, clamped and
//! refused here, once:
//! - a page number is digits (anything else is refused: 422 `validation`); 0 becomes
//!   1, and a number above [`PageNumber::MAX`], however many digits it has, becomes
//!   `MAX`: a page past the end of any list, which answers with no items. So
//!   `(page - 1) * per_page` never overflows, and a page always answers;
//! - a REST `limit` is 1 to its maximum, or refused (422 on `limit`), whatever its size.

use crate::error::AppError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 1-based page number, from 1 to [`PageNumber::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageNumber(u64);

impl Default for PageNumber {
    fn default() -> Self {
        PageNumber::FIRST
    }
}

impl PageNumber {
    pub const FIRST: PageNumber = PageNumber(1);
    /// The largest page. Past the end of every list (a billion pages), and small
    /// enough that its offset, at any page size up to a million rows, fits an `i64`.
    pub const MAX: u64 = 1_000_000_000;

    /// `n`, clamped to 1..=`MAX`.
    pub fn new(n: u64) -> Self {
        PageNumber(n.clamp(1, Self::MAX))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// Digits (surrounding spaces allowed), clamped; anything else is refused.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let digits = raw.trim();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::validation("page", "The page is a number: 1, 2, 3, ..."));
        }
        // Longer than any u64: far past the end.
        Ok(PageNumber::new(digits.parse::<u64>().unwrap_or(u64::MAX)))
    }

    /// A page's URL parameter: the first page when it is absent or not a number.
    pub fn from_query(raw: Option<&str>) -> Self {
        raw.and_then(|r| Self::parse(r).ok()).unwrap_or_default()
    }

    /// The rows before this page: `(page - 1) * per_page`, at most `i64::MAX`.
    pub fn offset(self, per_page: u64) -> u64 {
        (self.0 - 1).saturating_mul(per_page).min(i64::MAX as u64)
    }
}

impl std::fmt::Display for PageNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for PageNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

/// From a number (JSON) or a string (a query string or a form): the same rules as
/// [`PageNumber::parse`].
impl<'de> Deserialize<'de> for PageNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PageNumber;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a page number")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PageNumber, E> {
                Ok(PageNumber::new(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PageNumber, E> {
                Ok(PageNumber::new(v.max(0) as u64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PageNumber, E> {
                PageNumber::parse(v).map_err(|e| E::custom(format!("page: {}", e.message)))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `?limit=` of a REST list: 1 to `max` (`default` when absent or blank), read from
/// the raw text so that no number, however long, passes unchecked.
pub fn parse_limit(raw: Option<&str>, default: u64, max: u64) -> Result<u64, AppError> {
    let refused = || AppError::validation("limit", format!("limit is 1 to {max}."));
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => match s.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(refused()),
        },
        Some(_) => Err(refused()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_parsed_clamped_and_refused() {
        assert_eq!(PageNumber::parse("2").unwrap().get(), 2);
        assert_eq!(PageNumber::parse(" 3 ").unwrap().get(), 3);
        assert_eq!(PageNumber::parse("0").unwrap().get(), 1);
        for huge in ["18446744073709551615", "18446744073709551616", &"9".repeat(400)] {
            assert_eq!(PageNumber::parse(huge).unwrap().get(), PageNumber::MAX, "{huge}");
        }
        for bad in ["", "-1", "1.5", "abc", "1e9", "+2", "0x10", "２"] {
            let err = PageNumber::parse(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("page"), "{bad}");
        }
        assert_eq!(PageNumber::from_query(Some("nope")), PageNumber::FIRST);
        assert_eq!(PageNumber::from_query(None), PageNumber::FIRST);
    }

    #[test]
    fn offsets_never_overflow() {
        assert_eq!(PageNumber::FIRST.offset(50), 0);
        assert_eq!(PageNumber::new(3).offset(25), 50);
        let last = PageNumber::new(u64::MAX);
        assert_eq!(last.offset(500), (PageNumber::MAX - 1) * 500);
        assert!(last.offset(u64::MAX) <= i64::MAX as u64);
    }

    #[test]
    fn page_numbers_read_numbers_and_strings() {
        let p: PageNumber = serde_json::from_str("18446744073709551615").unwrap();
        assert_eq!(p.get(), PageNumber::MAX);
        let p: PageNumber = serde_json::from_str("-4").unwrap();
        assert_eq!(p, PageNumber::FIRST);
        let p: PageNumber = serde_json::from_str("\"7\"").unwrap();
        assert_eq!(p.get(), 7);
        assert!(serde_json::from_str::<PageNumber>("\"x\"").is_err());
        assert_eq!(serde_json::to_string(&PageNumber::new(9)).unwrap(), "9");
    }

    #[test]
    fn limits_are_one_to_the_maximum() {
        assert_eq!(parse_limit(None, 50, 500).unwrap(), 50);
        assert_eq!(parse_limit(Some(" "), 50, 500).unwrap(), 50);
        assert_eq!(parse_limit(Some("500"), 50, 500).unwrap(), 500);
        for bad in ["0", "501", "-1", "abc", "18446744073709551616", &"9".repeat(100)] {
            assert_eq!(
                parse_limit(Some(bad), 50, 500).unwrap_err().field.as_deref(),
                Some("limit"),
                "{bad}"
            );
        }
    }
}
