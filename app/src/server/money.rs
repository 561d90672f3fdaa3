//! Money: ISO 4217 currencies and exact amounts in integer minor units.
//!
//! `"99.99"` in EUR is stored as 9999; JPY has no minor unit, KWD has three. Parsing
//! never goes through floating point, so sums are exact on SQLite and PostgreSQL.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    exponent: u32,
}

impl Currency {
    /// A currency from its alphabetic code (case-insensitive), checked against the
    /// ISO 4217 list. Codes without a minor unit definition (gold, test codes) are refused.
    pub fn parse(code: &str) -> Option<Currency> {
        let upper = code.trim().to_ascii_uppercase();
        if upper.len() != 3 {
            return None;
        }
        let c = iso_currency::Currency::from_code(&upper)?;
        let exponent = c.exponent()? as u32;
        Some(Currency {
            code: c.code(),
            exponent,
        })
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    pub fn exponent(self) -> u32 {
        self.exponent
    }

    /// `"99.99"` → 9999 minor units. Refuses more decimals than the currency has,
    /// signs other than a leading `-`, exponents and anything that would overflow.
    pub fn parse_amount(self, s: &str) -> Result<i64, String> {
        let s = s.trim();
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        let valid = !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
            && !(digits.contains('.') && frac.is_empty());
        if !valid {
            return Err(format!("'{s}' is not a decimal amount like 99.99."));
        }
        if frac.len() > self.exponent as usize {
            return Err(match self.exponent {
                0 => format!("{} amounts have no decimals.", self.code),
                n => format!(
                    "{} amounts have at most {n} decimal{}.",
                    self.code,
                    if n == 1 { "" } else { "s" }
                ),
            });
        }
        let scale = 10i64.pow(self.exponent);
        let whole: i64 = whole.parse().map_err(|_| "The amount is too large.".to_string())?;
        let frac_value: i64 = if frac.is_empty() {
            0
        } else {
            let padded = format!("{frac:0<width$}", width = self.exponent as usize);
            padded.parse().map_err(|_| "The amount is too large.".to_string())?
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(frac_value))
            .ok_or_else(|| "The amount is too large.".to_string())?;
        // Keep amounts well inside i64 so that sums of millions of rows stay exact.
        if minor > 1_000_000_000_000_000 {
            return Err("The amount is too large.".to_string());
        }
        Ok(if negative { -minor } else { minor })
    }

    /// 9999 → `"99.99"`.
    pub fn format_minor(self, minor: i64) -> String {
        format_minor_units(minor, self.exponent)
    }
}

/// Formats an integer (or summed) amount of minor units with `exponent` decimals.
pub fn format_minor_units(minor: i64, exponent: u32) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10i128.pow(exponent);
    let v = minor as i128;
    let sign = if v < 0 { "-" } else { "" };
    let a = v.abs();
    format!("{sign}{}.{:0width$}", a / scale, a % scale, width = exponent as usize)
}

/// Formats a fractional amount of minor units (weighted credit) with the currency's
/// decimals, rounding half away from zero.
pub fn format_weighted_minor(minor: f64, exponent: u32) -> String {
    format_minor_units(minor.round() as i64, exponent)
}

/// Sums of minor units per currency, each formatted with its currency's decimals.
pub fn format_values<'a>(sums: impl IntoIterator<Item = (&'a String, &'a i64)>) -> BTreeMap<String, String> {
    sums.into_iter()
        .map(|(c, m)| (c.clone(), format_minor_units(*m, exponent_of(c))))
        .collect()
}

/// The exponent for a stored currency code (stored codes were validated on the way in).
pub fn exponent_of(code: &str) -> u32 {
    Currency::parse(code).map(|c| c.exponent()).unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_checked_against_iso_4217() {
        assert_eq!(Currency::parse("eur").unwrap().code(), "EUR");
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        for bad in ["", "EURO", "ABC", "XAU", "€", "12"] {
            assert!(Currency::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn amounts_parse_exactly() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(eur.parse_amount("99.99"), Ok(9999));
        assert_eq!(eur.parse_amount("0.1"), Ok(10));
        assert_eq!(eur.parse_amount("12"), Ok(1200));
        assert_eq!(eur.parse_amount("-5.50"), Ok(-550));
        assert!(eur.parse_amount("1.999").is_err());
        for bad in [
            "",
            "1e3",
            "1,5",
            "abc",
            ".5",
            "5.",
            "+5",
            "--1",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(eur.parse_amount(bad).is_err(), "{bad}");
        }
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.parse_amount("500"), Ok(500));
        assert!(jpy.parse_amount("500.5").is_err());
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(kwd.parse_amount("1.234"), Ok(1234));
    }

    #[test]
    fn amounts_format_back() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(eur.format_minor(9999), "99.99");
        assert_eq!(eur.format_minor(5), "0.05");
        assert_eq!(eur.format_minor(-550), "-5.50");
        assert_eq!(Currency::parse("JPY").unwrap().format_minor(500), "500");
        assert_eq!(Currency::parse("KWD").unwrap().format_minor(1234), "1.234");
        assert_eq!(format_weighted_minor(3333.3333, 2), "33.33");
    }

    proptest::proptest! {
        #[test]
        fn parse_and_format_round_trip(minor in -1_000_000_000_000i64..1_000_000_000_000i64) {
            for code in ["EUR", "JPY", "KWD"] {
                let c = Currency::parse(code).unwrap();
                proptest::prop_assert_eq!(c.parse_amount(&c.format_minor(minor)), Ok(minor));
            }
        }

        #[test]
        fn parse_amount_never_panics(s in "\\PC{0,30}") {
            let _ = Currency::parse("EUR").unwrap().parse_amount(&s);
        }
    }
}
