//! Deriving a touch's `source`, `medium` and `channel` from its parameters, click
//! ids and referrer host. The rules are listed in the README ("Sources and channels").

use super::params::TrackedParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    Search,
    Social,
}

/// Well-known search engines and social networks: (domain, short name, kind).
/// A host matches a domain when it equals it or ends with `.domain`.
const KNOWN_SITES: &[(&str, &str, SiteKind)] = &[
    ("google.com", "google", SiteKind::Search),
    ("bing.com", "bing", SiteKind::Search),
    ("duckduckgo.com", "duckduckgo", SiteKind::Search),
    ("search.yahoo.com", "yahoo", SiteKind::Search),
    ("yahoo.com", "yahoo", SiteKind::Search),
    ("yandex.ru", "yandex", SiteKind::Search),
    ("yandex.com", "yandex", SiteKind::Search),
    ("ya.ru", "yandex", SiteKind::Search),
    ("baidu.com", "baidu", SiteKind::Search),
    ("ecosia.org", "ecosia", SiteKind::Search),
    ("search.brave.com", "brave", SiteKind::Search),
    ("qwant.com", "qwant", SiteKind::Search),
    ("startpage.com", "startpage", SiteKind::Search),
    ("naver.com", "naver", SiteKind::Search),
    ("seznam.cz", "seznam", SiteKind::Search),
    ("kagi.com", "kagi", SiteKind::Search),
    ("facebook.com", "facebook", SiteKind::Social),
    ("fb.com", "facebook", SiteKind::Social),
    ("fb.me", "facebook", SiteKind::Social),
    ("messenger.com", "facebook", SiteKind::Social),
    ("instagram.com", "instagram", SiteKind::Social),
    ("linkedin.com", "linkedin", SiteKind::Social),
    ("lnkd.in", "linkedin", SiteKind::Social),
    ("twitter.com", "x", SiteKind::Social),
    ("x.com", "x", SiteKind::Social),
    ("t.co", "x", SiteKind::Social),
    ("reddit.com", "reddit", SiteKind::Social),
    ("youtube.com", "youtube", SiteKind::Social),
    ("youtu.be", "youtube", SiteKind::Social),
    ("pinterest.com", "pinterest", SiteKind::Social),
    ("pin.it", "pinterest", SiteKind::Social),
    ("tiktok.com", "tiktok", SiteKind::Social),
    ("threads.net", "threads", SiteKind::Social),
    ("bsky.app", "bluesky", SiteKind::Social),
    ("mastodon.social", "mastodon", SiteKind::Social),
    ("whatsapp.com", "whatsapp", SiteKind::Social),
    ("wa.me", "whatsapp", SiteKind::Social),
    ("t.me", "telegram", SiteKind::Social),
    ("telegram.org", "telegram", SiteKind::Social),
    ("snapchat.com", "snapchat", SiteKind::Social),
    ("quora.com", "quora", SiteKind::Social),
    ("tumblr.com", "tumblr", SiteKind::Social),
    ("vk.com", "vk", SiteKind::Social),
    ("weibo.com", "weibo", SiteKind::Social),
    ("news.ycombinator.com", "hackernews", SiteKind::Social),
];

/// The short name and kind of a well-known site. Google has many country domains
/// (`google.co.uk`, `google.de`): any host whose first label after `www.` is `google`
/// counts.
pub fn known_site(host: &str) -> Option<(&'static str, SiteKind)> {
    let host = strip_www(host);
    if host.split('.').next() == Some("google") || host.contains(".google.") {
        return Some(("google", SiteKind::Search));
    }
    if host.split('.').next() == Some("yandex") {
        return Some(("yandex", SiteKind::Search));
    }
    KNOWN_SITES
        .iter()
        .find(|(domain, _, _)| host == *domain || host.ends_with(&format!(".{domain}")))
        .map(|(_, name, kind)| (*name, *kind))
}

pub fn strip_www(host: &str) -> &str {
    host.strip_prefix("www.").unwrap_or(host)
}

fn site_kind_of_name(name: &str) -> Option<SiteKind> {
    KNOWN_SITES.iter().find(|(_, n, _)| *n == name).map(|(_, _, k)| *k)
}

/// What the derivation looks at.
pub struct TouchFacts<'a> {
    pub params: &'a TrackedParams,
    /// The `http_referrer`'s host, lowercased, when it is another site.
    pub referrer_host: Option<&'a str>,
    /// Whether the touch is a referral-link click.
    pub is_click: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    pub source: String,
    pub medium: String,
    pub channel: &'static str,
}

pub const CHANNELS: [&str; 7] = [
    "paid search",
    "paid social",
    "email",
    "referral",
    "organic search",
    "social",
    "other",
];

const SEARCH_CLICK_IDS: [&str; 6] = ["gclid", "gbraid", "wbraid", "dclid", "msclkid", "yclid"];
const PAID_SOCIAL_CLICK_IDS: [&str; 4] = ["ttclid", "li_fat_id", "twclid", "rdt_cid"];
const SOCIAL_SHARE_IDS: [&str; 2] = ["fbclid", "igshid"];

fn is_paid_medium(m: &str) -> bool {
    matches!(
        m,
        "cpc" | "ppc" | "cpm" | "cpv" | "cpa" | "paid" | "sem" | "retargeting" | "display" | "banner"
    ) || m.starts_with("paid")
        || m.contains("cpc")
}

fn is_email(s: &str) -> bool {
    matches!(s, "email" | "e-mail" | "e_mail" | "newsletter" | "mail")
        || s.contains("email")
        || s.contains("newsletter")
}

fn is_social_medium(m: &str) -> bool {
    matches!(
        m,
        "social"
            | "social-network"
            | "social_network"
            | "social-media"
            | "social_media"
            | "sm"
            | "social network"
            | "social media"
    )
}

/// `source` = `utm_source`; else `referral` for a click; else the referrer's short
/// name or host without `www.`; else the click id's platform; else `(direct)`.
/// `medium` = `utm_medium`; else `referral` for a click; else `cpc` with a click id of
/// an ad platform; else `organic` for a search engine, `social` for a social network,
/// `referral` for any other site; else `(none)`. Both are lowercased, so that
/// `Google` and `google` group together.
pub fn derive(f: &TouchFacts) -> Derived {
    let p = f.params;
    let referrer = f.referrer_host.map(|h| (h, known_site(h)));
    let source = if let Some(s) = &p.utm_source {
        s.to_lowercase()
    } else if f.is_click {
        "referral".to_string()
    } else if let Some((host, site)) = referrer {
        site.map(|(n, _)| n.to_string())
            .unwrap_or_else(|| strip_www(host).to_string())
    } else if let Some(platform) = p.click_id_platform() {
        platform.to_string()
    } else {
        "(direct)".to_string()
    };
    let source_kind = referrer
        .and_then(|(_, site)| site.map(|(_, k)| k))
        .filter(|_| p.utm_source.is_none())
        .or_else(|| site_kind_of_name(&source));
    let medium = if let Some(m) = &p.utm_medium {
        m.to_lowercase()
    } else if f.is_click {
        "referral".to_string()
    } else if p.has_click_id(&SEARCH_CLICK_IDS) || p.has_click_id(&PAID_SOCIAL_CLICK_IDS) {
        "cpc".to_string()
    } else {
        match source_kind {
            Some(SiteKind::Search) => "organic".to_string(),
            Some(SiteKind::Social) => "social".to_string(),
            None if referrer.is_some() => "referral".to_string(),
            None if p.has_click_id(&SOCIAL_SHARE_IDS) => "social".to_string(),
            None => "(none)".to_string(),
        }
    };
    let channel = channel(&source, &medium, source_kind, p, f.is_click, referrer.is_some());
    Derived {
        source,
        medium,
        channel,
    }
}

fn channel(
    source: &str,
    medium: &str,
    kind: Option<SiteKind>,
    p: &TrackedParams,
    is_click: bool,
    has_referrer: bool,
) -> &'static str {
    let social = kind == Some(SiteKind::Social) || is_social_medium(medium) || p.has_click_id(&SOCIAL_SHARE_IDS);
    if is_email(medium) || is_email(source) {
        "email"
    } else if (social && is_paid_medium(medium)) || p.has_click_id(&PAID_SOCIAL_CLICK_IDS) {
        "paid social"
    } else if is_paid_medium(medium) || p.has_click_id(&SEARCH_CLICK_IDS) {
        "paid search"
    } else if kind == Some(SiteKind::Search) || medium == "organic" {
        "organic search"
    } else if social {
        "social"
    } else if is_click || medium == "referral" || has_referrer {
        "referral"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> TrackedParams {
        let mut p = TrackedParams::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "utm_source" => p.utm_source = v,
                "utm_medium" => p.utm_medium = v,
                "utm_campaign" => p.utm_campaign = v,
                other => {
                    p.click_ids.insert(other.to_string(), v.unwrap());
                }
            }
        }
        p
    }

    fn d(pairs: &[(&str, &str)], referrer: Option<&str>, click: bool) -> (String, String, &'static str) {
        let p = params(pairs);
        let r = derive(&TouchFacts {
            params: &p,
            referrer_host: referrer,
            is_click: click,
        });
        (r.source, r.medium, r.channel)
    }

    #[test]
    fn utm_wins_and_is_lowercased() {
        assert_eq!(
            d(
                &[("utm_source", "Newsletter"), ("utm_medium", "Email")],
                Some("www.google.com"),
                false
            ),
            ("newsletter".into(), "email".into(), "email")
        );
    }

    #[test]
    fn referral_clicks_are_referral() {
        assert_eq!(d(&[], None, true), ("referral".into(), "referral".into(), "referral"));
        assert_eq!(
            d(&[("utm_source", "blog")], None, true),
            ("blog".into(), "referral".into(), "referral")
        );
    }

    #[test]
    fn referrer_hosts_name_the_source() {
        assert_eq!(
            d(&[], Some("www.google.co.uk"), false),
            ("google".into(), "organic".into(), "organic search")
        );
        assert_eq!(
            d(&[], Some("duckduckgo.com"), false),
            ("duckduckgo".into(), "organic".into(), "organic search")
        );
        assert_eq!(
            d(&[], Some("l.facebook.com"), false),
            ("facebook".into(), "social".into(), "social")
        );
        assert_eq!(d(&[], Some("t.co"), false), ("x".into(), "social".into(), "social"));
        assert_eq!(
            d(&[], Some("www.partner-blog.example"), false),
            ("partner-blog.example".into(), "referral".into(), "referral")
        );
    }

    #[test]
    fn click_ids_mark_paid_traffic() {
        assert_eq!(
            d(&[("gclid", "x")], Some("www.google.com"), false),
            ("google".into(), "cpc".into(), "paid search")
        );
        assert_eq!(
            d(&[("gclid", "x")], None, false),
            ("google".into(), "cpc".into(), "paid search")
        );
        assert_eq!(
            d(&[("msclkid", "x")], None, false),
            ("bing".into(), "cpc".into(), "paid search")
        );
        assert_eq!(
            d(&[("ttclid", "x")], None, false),
            ("tiktok".into(), "cpc".into(), "paid social")
        );
        // fbclid is added to every outbound Facebook link, paid or not.
        assert_eq!(
            d(&[("fbclid", "x")], None, false),
            ("facebook".into(), "social".into(), "social")
        );
        assert_eq!(
            d(
                &[("utm_source", "facebook"), ("utm_medium", "cpc"), ("fbclid", "x")],
                None,
                false
            )
            .2,
            "paid social"
        );
        assert_eq!(
            d(&[("utm_source", "google"), ("utm_medium", "cpc")], None, false).2,
            "paid search"
        );
    }

    #[test]
    fn nothing_known_is_direct_and_other() {
        assert_eq!(
            d(&[("utm_campaign", "nov")], None, false),
            ("(direct)".into(), "(none)".into(), "other")
        );
    }
}
