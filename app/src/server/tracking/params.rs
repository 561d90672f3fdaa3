//! Reading the tracked parameters of a landing URL, and cleaning their values.

use crate::server::config::Config;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const UTM_PARAMS: [&str; 6] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
];

/// Ad platforms' click ids, with the platform each one names.
pub const CLICK_IDS: [(&str, &str); 12] = [
    ("gclid", "google"),
    ("gbraid", "google"),
    ("wbraid", "google"),
    ("dclid", "google"),
    ("fbclid", "facebook"),
    ("msclkid", "bing"),
    ("ttclid", "tiktok"),
    ("li_fat_id", "linkedin"),
    ("twclid", "x"),
    ("igshid", "instagram"),
    ("yclid", "yandex"),
    ("rdt_cid", "reddit"),
];

/// The cleaned tracked parameters of one landing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedParams {
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub utm_id: Option<String>,
    /// Click ids by parameter name (`gclid`, ...).
    pub click_ids: BTreeMap<String, String>,
    /// `TRACKING_EXTRA_PARAMS` by name.
    pub extra: BTreeMap<String, String>,
}

impl TrackedParams {
    pub fn is_empty(&self) -> bool {
        self.pairs().is_empty()
    }

    fn utm_slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "utm_source" => &mut self.utm_source,
            "utm_medium" => &mut self.utm_medium,
            "utm_campaign" => &mut self.utm_campaign,
            "utm_term" => &mut self.utm_term,
            "utm_content" => &mut self.utm_content,
            "utm_id" => &mut self.utm_id,
            _ => return None,
        })
    }

    /// Every tracked parameter as (name, value), in a fixed order: UTM, click ids, extras.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        let utm = [
            ("utm_source", &self.utm_source),
            ("utm_medium", &self.utm_medium),
            ("utm_campaign", &self.utm_campaign),
            ("utm_term", &self.utm_term),
            ("utm_content", &self.utm_content),
            ("utm_id", &self.utm_id),
        ];
        let mut out: Vec<(&str, &str)> = utm.iter().filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))).collect();
        out.extend(self.click_ids.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        out.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        out
    }

    /// The platform named by the first click id present (`gclid` → google).
    pub fn click_id_platform(&self) -> Option<&'static str> {
        CLICK_IDS
            .iter()
            .find(|(name, _)| self.click_ids.contains_key(*name))
            .map(|(_, platform)| *platform)
    }

    pub fn has_click_id(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.click_ids.contains_key(*n))
    }

    pub fn click_ids_json(&self) -> Option<String> {
        (!self.click_ids.is_empty()).then(|| serde_json::to_string(&self.click_ids).unwrap_or_default())
    }

    pub fn extra_json(&self) -> Option<String> {
        (!self.extra.is_empty()).then(|| serde_json::to_string(&self.extra).unwrap_or_default())
    }

    /// The query string of the tracked parameters alone, re-encoded.
    pub fn query_string(&self) -> String {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in self.pairs() {
            ser.append_pair(k, v);
        }
        ser.finish()
    }
}

/// What a landing's query string holds for us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LandingQuery {
    pub tracked: TrackedParams,
    /// `?ref=` (REFERRAL_PARAM), trimmed; `None` when absent or blank.
    pub referral_code: Option<String>,
    /// `?redirect_to=` (REFERRAL_REDIRECT_PARAM), decoded once, untrusted.
    pub redirect_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleaned {
    Value(String),
    Empty,
    TooLong,
}

/// Parses a raw query string. Names are exact and lowercase (`UTM_SOURCE` is not
/// tracked); the last value of a repeated parameter wins; values are cleaned.
pub fn parse_query(query: &str, config: &Config) -> LandingQuery {
    let mut out = LandingQuery::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = form_decode(raw_name);
        let name = String::from_utf8_lossy(&name);
        let name = name.as_ref();
        if name == config.referrals.param {
            let v = String::from_utf8_lossy(&form_decode(raw_value)).trim().to_string();
            out.referral_code = (!v.is_empty()).then_some(v);
            continue;
        }
        if name == config.referrals.redirect_param {
            out.redirect_to = Some(String::from_utf8_lossy(&form_decode(raw_value)).into_owned());
            continue;
        }
        let is_utm = UTM_PARAMS.contains(&name);
        let is_click = CLICK_IDS.iter().any(|(n, _)| *n == name);
        let is_extra = config.tracking.extra_params.iter().any(|p| p == name);
        if !(is_utm || is_click || is_extra) {
            continue;
        }
        let value = match clean_value(raw_value, config.tracking.max_param_length) {
            Cleaned::Value(v) => Some(v),
            Cleaned::Empty => None,
            Cleaned::TooLong => {
                tracing::warn!(
                    parameter = name,
                    max = config.tracking.max_param_length,
                    "dropped a tracking parameter longer than TRACKING_MAX_PARAM_LENGTH"
                );
                None
            }
        };
        // The last occurrence wins, also when it is empty or dropped.
        if let Some(slot) = out.tracked.utm_slot(name) {
            *slot = value;
        } else if is_click {
            match value {
                Some(v) => out.tracked.click_ids.insert(name.to_string(), v),
                None => out.tracked.click_ids.remove(name),
            };
        } else {
            match value {
                Some(v) => out.tracked.extra.insert(name.to_string(), v),
                None => out.tracked.extra.remove(name),
            };
        }
    }
    out
}

/// Cleans one raw (still URL-encoded) value:
/// decode once (form rules: `+` is a space); if `%XX` escapes remain, decode those
/// once more, keeping `+` a `+`; remove control and other non-printable characters;
/// collapse whitespace runs to one space and trim; drop empty and over-long values.
pub fn clean_value(raw: &str, max_chars: usize) -> Cleaned {
    let once = form_decode(raw);
    let bytes = if has_percent_escape(&once) {
        percent_decode(&once)
    } else {
        once
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if !is_printable(c) {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    if out.is_empty() {
        Cleaned::Empty
    } else if out.chars().count() > max_chars {
        Cleaned::TooLong
    } else {
        Cleaned::Value(out)
    }
}

/// Control characters, invisible format characters (zero-width space, bidi
/// overrides, BOM, tags), private-use code points, non-characters and the
/// replacement character left by invalid UTF-8. Zero-width (non-)joiners stay: Persian
/// and Indic text and emoji need them.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    !(c.is_control()
        || u == 0x00AD
        || (0x0600..=0x0605).contains(&u)
        || u == 0x061C
        || u == 0x06DD
        || u == 0x070F
        || u == 0x180E
        || u == 0x200B
        || (0x200E..=0x200F).contains(&u)
        || (0x202A..=0x202E).contains(&u)
        || (0x2060..=0x2064).contains(&u)
        || (0x2066..=0x206F).contains(&u)
        || u == 0xFEFF
        || (0xFFF9..=0xFFFB).contains(&u)
        || u == 0xFFFD
        || (0xFDD0..=0xFDEF).contains(&u)
        || (u & 0xFFFE) == 0xFFFE
        || (0xE000..=0xF8FF).contains(&u)
        || (0xF0000..=0x10FFFF).contains(&u)
        || (0xE0000..=0xE007F).contains(&u))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn has_percent_escape(b: &[u8]) -> bool {
    b.windows(3)
        .any(|w| w[0] == b'%' && hex(w[1]).is_some() && hex(w[2]).is_some())
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte;
/// a malformed `%` stays as it is.
pub fn form_decode(s: &str) -> Vec<u8> {
    decode(s.as_bytes(), true)
}

/// `%XX` decoding only (`+` stays a `+`).
pub fn percent_decode(b: &[u8]) -> Vec<u8> {
    decode(b, false)
}

fn decode(b: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> Cleaned {
        clean_value(raw, 200)
    }

    fn v(s: &str) -> Cleaned {
        Cleaned::Value(s.to_string())
    }

    #[test]
    fn the_cleaning_table() {
        let table: &[(&str, Cleaned)] = &[
            ("google", v("google")),
            ("google%20ads", v("google ads")),
            ("google+ads", v("google ads")),
            ("summer%252Dsale%25202024", v("summer-sale 2024")),
            ("a%2Bb", v("a+b")),
            ("a%252Bb", v("a+b")),
            ("google%00%01ads", v("googleads")),
            ("%E2%80%8Bzero%E2%80%AEwidth", v("zerowidth")),
            ("  lots%20%20of \t%09 space  ", v("lots of space")),
            ("%0A%0D%09", Cleaned::Empty),
            ("", Cleaned::Empty),
            ("+++", Cleaned::Empty),
            ("%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8", v("новости")),
            ("%E6%96%B0%E9%97%BB", v("新闻")),
            ("%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1", v("أخبار")),
            ("100%", v("100%")),
            ("50%25off", v("50%off")),
            ("%zz", v("%zz")),
        ];
        for (raw, want) in table {
            assert_eq!(&clean(raw), want, "{raw}");
        }
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(clean_value(&"a".repeat(100), 200), v(&"a".repeat(100)));
        assert_eq!(clean_value(&"a".repeat(200), 200), v(&"a".repeat(200)));
        assert_eq!(clean_value(&"a".repeat(201), 200), Cleaned::TooLong);
        // 150 Cyrillic letters are 300 bytes but 150 characters.
        let cyr = "%D0%B6".repeat(150);
        assert!(matches!(clean_value(&cyr, 200), Cleaned::Value(_)));
    }

    #[test]
    fn names_are_exact_and_the_last_value_wins() {
        let config = Config::for_database("sqlite://x.db");
        let q = parse_query(
            "UTM_SOURCE=shouting&utm_source=first&utm_source=second&utm_medium=&gclid=abc&fbclid=%20&other=1&utm_campaign=nov",
            &config,
        );
        assert_eq!(q.tracked.utm_source.as_deref(), Some("second"));
        assert_eq!(q.tracked.utm_medium, None);
        assert_eq!(q.tracked.utm_campaign.as_deref(), Some("nov"));
        assert_eq!(q.tracked.click_ids.get("gclid").map(String::as_str), Some("abc"));
        assert!(!q.tracked.click_ids.contains_key("fbclid"));
        assert_eq!(q.tracked.click_id_platform(), Some("google"));
        assert_eq!(q.tracked.query_string(), "utm_source=second&utm_campaign=nov&gclid=abc");
    }

    #[test]
    fn an_empty_last_value_clears_an_earlier_one() {
        let config = Config::for_database("sqlite://x.db");
        let q = parse_query("utm_source=a&utm_source=", &config);
        assert_eq!(q.tracked.utm_source, None);
        assert!(q.tracked.is_empty());
    }

    #[test]
    fn extra_params_ref_and_redirect_are_read() {
        let mut config = Config::for_database("sqlite://x.db");
        config.tracking.extra_params = vec!["partner_id".into()];
        let q = parse_query("partner_id=p1&ref=%20Partner-Blog%20&redirect_to=%2Fpricing", &config);
        assert_eq!(q.tracked.extra.get("partner_id").map(String::as_str), Some("p1"));
        assert_eq!(q.referral_code.as_deref(), Some("Partner-Blog"));
        assert_eq!(q.redirect_to.as_deref(), Some("/pricing"));
        let q = parse_query("ref=%20%20", &config);
        assert_eq!(q.referral_code, None);
    }

    proptest::proptest! {
        #[test]
        fn cleaning_never_panics_and_never_returns_control_characters(raw in "\\PC*|[%+a-fA-F0-9\\x00-\\x1f ]*") {
            if let Cleaned::Value(v) = clean_value(&raw, 200) {
                proptest::prop_assert!(!v.chars().any(|c| c.is_control()));
                proptest::prop_assert!(!v.is_empty());
                proptest::prop_assert_eq!(v.trim(), v.as_str());
                proptest::prop_assert!(!v.contains("  "));
                proptest::prop_assert!(v.chars().count() <= 200);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let raw: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
            if let Cleaned::Value(v) = clean_value(&raw, 1000) {
                proptest::prop_assert!(!v.chars().any(|c| c.is_control()));
            }
        }
    }
}
