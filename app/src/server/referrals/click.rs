//! Where a click goes. (A click is recorded by the landing pipeline,
//! `tracking::landing`, for `GET /r/<code>` and `?ref=<code>` alike.)

use super::cache::CachedLink;
use super::destination::redirect_override;
use crate::server::tracking::params::{LandingQuery, TrackedParams};

/// Where a click on `link` sends the visitor: `?redirect_to=` when it names a path on
/// this site, else the link's destination; an external destination gets the click's
/// tracked parameters and, for a counted click, its id.
pub fn target(link: &CachedLink, query: &LandingQuery, click_param: &str, click_id: Option<&str>) -> String {
    if let Some(local) = redirect_override(query.redirect_to.as_deref()) {
        return local;
    }
    match url::Url::parse(&link.destination) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            external_target(&url, &query.tracked, click_param, click_id)
        }
        _ => link.destination.clone(),
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
}
