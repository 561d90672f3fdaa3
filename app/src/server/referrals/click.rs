//! Where a click goes. (A click is recorded by the landing pipeline,
//! `tracking::landing`, for `GET /r/<code>` and `?ref=<code>` alike.)

use super::cache::CachedLink;
use super::destination::{Destination, click_destination};
use crate::server::config::Config;
use crate::server::tracking::params::{LandingQuery, TrackedParams};

/// Where a click on `link` sends the visitor: `?redirect_to=` when it names a path on
/// this site, else the link's stored destination, checked again with the rules of
/// `Destination::parse` just before the redirect (rows written before a rule existed,
/// or by hand, must not send anyone off-site). `Err` (why) when the stored destination
/// fails: the adapter answers with the "link not found" page, logs it, and records
/// nothing.
pub fn target<'q>(link: &CachedLink, query: &'q LandingQuery, config: &'q Config) -> Result<Target<'q>, String> {
    Ok(Target {
        destination: click_destination(&link.destination, query.redirect_to.as_deref(), config)?,
        tracked: &query.tracked,
        click_param: &config.referrals.click_id_param,
    })
}

/// A click's checked destination, made into a `Location` once the click is recorded.
pub struct Target<'q> {
    destination: Destination,
    tracked: &'q TrackedParams,
    click_param: &'q str,
}

impl Target<'_> {
    /// The `Location`: a path on this site as it is; an external destination with the
    /// click's tracked parameters and, for a counted click, its id.
    pub fn location(&self, click_id: Option<&str>) -> String {
        match &self.destination {
            Destination::Local(path) => path.clone(),
            Destination::External(url) => external_target(url, self.tracked, self.click_param, click_id),
        }
    }
}

/// The redirect target of a click on an external destination: the click's tracked
/// parameters and `tb_click` are appended.
pub fn external_target(
    destination: &url::Url,
    params: &TrackedParams,
    click_param: &str,
    click_id: Option<&str>,
) -> String {
    let mut url = destination.clone();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params.pairs() {
            q.append_pair(k, v);
        }
        if let Some(id) = click_id {
            q.append_pair(click_param, id);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::referrals::destination::redirect_override;
    use proptest::prelude::*;

    fn config() -> Config {
        let mut c = Config::for_database("sqlite://x.db");
        c.referrals.allowed_hosts = vec!["shop.example.com".into()];
        c
    }

    #[test]
    fn external_targets_carry_the_parameters_and_the_click_id() {
        let dest = url::Url::parse("https://shop.example.com/cart?item=3").unwrap();
        let mut p = TrackedParams::default();
        p.utm_source = Some("blog".into());
        p.utm_campaign = Some("nov sale".into());
        let got = external_target(&dest, &p, "tb_click", Some("abc"));
        assert_eq!(
            got,
            "https://shop.example.com/cart?item=3&utm_source=blog&utm_campaign=nov+sale&tb_click=abc"
        );
    }

    /// Whether a `Location` value keeps the browser on this site or on an allowed host,
    /// as a browser resolves it against the page it came from.
    fn lands_safely(location: &str, c: &Config) -> bool {
        if location
            .chars()
            .any(|ch| ch.is_control() || ch.is_whitespace() || ch == '\\')
        {
            return false;
        }
        let from = c.server.base_url.join("/r/code").expect("a base");
        let Ok(resolved) = from.join(location) else {
            return false;
        };
        if location.starts_with('/') {
            return !location.starts_with("//")
                && !resolved.path().starts_with("//")
                && resolved.host() == c.server.base_url.host()
                && resolved.port_or_known_default() == c.server.base_url.port_or_known_default();
        }
        matches!(resolved.scheme(), "http" | "https")
            && resolved.username().is_empty()
            && resolved.password().is_none()
            && resolved
                .host_str()
                .is_some_and(|h| c.referrals.allowed_hosts.iter().any(|a| a == h))
    }

    /// Hostile destinations: a start (this site spelled several ways, an allowed
    /// host, a bare path, nothing) and pieces that move a path around.
    fn hostile() -> impl Strategy<Value = String> {
        let start = prop::sample::select(vec![
            "",
            "/",
            "http://127.0.0.1:3000",
            "HTTP://127.0.0.1:3000",
            "http://2130706433:3000",
            "http://0x7f.1:3000",
            "https://shop.example.com",
            "//",
            "javascript:",
            "http:",
        ]);
        let piece = prop::sample::select(vec![
            "/",
            "//",
            "\\",
            ".",
            "..",
            "%2e",
            "%2E",
            "%2f",
            "%5c",
            "%0d%0a",
            "evil.example",
            "shop.example.com",
            "@",
            ":",
            "?",
            "#",
            "\t",
            "\n",
            " ",
            "\u{0}",
            "x",
            "%09",
            "\u{3000}",
            "/..",
            "/.",
            "@evil.example",
        ]);
        (start, prop::collection::vec(piece, 0..8)).prop_map(|(s, p)| format!("{s}{}", p.concat()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

        /// Whatever is stored (through the rules) and whatever `?redirect_to=` says,
        /// every `Location` a click can emit stays on this site or an allowed host.
        #[test]
        fn every_location_a_click_can_emit_is_safe(raw in hostile(), redirect in hostile()) {
            let c = config();
            let Ok(stored) = Destination::parse(&raw, &c) else { return Ok(()) };
            let link = CachedLink {
                id: 1,
                code: "code".into(),
                owner_id: None,
                destination: stored.as_string(),
                active: true,
                expires_at: None,
                campaign_id: None,
            };
            let query = LandingQuery { redirect_to: Some(redirect.clone()), ..LandingQuery::default() };
            let target = target(&link, &query, &c);
            prop_assert!(target.is_ok(), "{:?} was stored but refused at redirect time", link.destination);
            let location = target.unwrap().location(Some("id"));
            prop_assert!(lands_safely(&location, &c), "{raw:?} + redirect_to {redirect:?} -> {location:?}");
        }

        /// The log-in page's `?next=` and `?redirect_to=` alone.
        #[test]
        fn next_and_redirect_to_stay_on_this_site(raw in hostile()) {
            let c = config();
            let next = crate::util::safe_next(Some(&raw), "/account");
            prop_assert!(next.starts_with('/') && lands_safely(&next, &c), "{raw:?} -> {next:?}");
            if let Some(p) = redirect_override(Some(&raw)) {
                prop_assert!(lands_safely(&p, &c), "{raw:?} -> {p:?}");
            }
        }
    }
}
