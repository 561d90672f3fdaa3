//! A click: a counted `RESPONDED` response on a link, with its touchpoint, written in
//! one (group-committed) transaction. Used by `GET /r/<code>` and by `?ref=<code>`.

use super::cache::CachedLink;
use super::responses::RESPONDED;
use crate::server::context::RequestContext;
use crate::server::net::truncate;
use crate::server::state::AppState;
use crate::server::time::MINUTE;
use crate::server::tracking::capture::{TouchInput, identity_for_request, touch_row};
use crate::server::tracking::params::TrackedParams;
use crate::server::writer::{IdentityRef, ResponseRow, WriteError, WriteJob};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickOutcome {
    /// Recorded: the response's public id (the `tb_click` value) and the identity
    /// cookie to set (none for an opted-out visitor).
    Counted { click_id: String, cookie: Option<String> },
    /// The link's owner clicked their own link: nothing recorded.
    Owner,
}

#[derive(Debug, thiserror::Error)]
pub enum ClickError {
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Write(#[from] WriteError),
}

pub struct Click<'a> {
    pub link: &'a CachedLink,
    /// The path of the landing (`/r/<code>` or the page that carried `?ref=`).
    pub path: &'a str,
    pub params: &'a TrackedParams,
    pub referrer_host: Option<String>,
    pub now: i64,
}

/// Records a click by the request's visitor (the caller has already left out bots
/// and HEAD requests). The owner's own click (logged in, or on an identity of
/// theirs) records nothing; an opted-out visitor's click counts without an identity.
pub async fn record(state: &AppState, ctx: &RequestContext, click: Click<'_>) -> Result<ClickOutcome, ClickError> {
    let owner = click.link.owner_id;
    if owner.is_some() && ctx.user.as_ref().map(|u| u.id) == owner {
        return Ok(ClickOutcome::Owner);
    }
    let click_id = super::responses::new_response_id(click.now);
    let response = ResponseRow {
        public_id: click_id.clone(),
        link_id: click.link.id,
        user_id: ctx.user.as_ref().map(|u| u.id),
        action: RESPONDED.to_string(),
        target_type: None,
        target_id: None,
        http_referrer: ctx.http_referrer.as_deref().map(|r| r.chars().take(1024).collect()),
        user_agent: ctx.user_agent.clone(),
        client_ip: ctx.client_ip.map(truncate),
        created_at: click.now,
    };
    if ctx.opted_out {
        let job = WriteJob {
            identity: IdentityRef::None,
            touch: None,
            response: Some(response),
            dedupe_ms: 0,
        };
        state.writer.submit(job).await?;
        return Ok(ClickOutcome::Counted { click_id, cookie: None });
    }
    let tracked = identity_for_request(state, ctx.identity_cookie.as_deref(), ctx.user.as_ref()).await?;
    if owner.is_some() && tracked.user_id == owner {
        return Ok(ClickOutcome::Owner);
    }
    let touch = touch_row(TouchInput {
        path: click.path,
        params: click.params,
        http_referrer: ctx.http_referrer.as_deref(),
        referrer_host: click.referrer_host,
        link: Some((click.link.id, &click.link.code)),
        now: click.now,
    });
    let job = WriteJob {
        identity: tracked.identity,
        touch: Some(touch),
        response: Some(response),
        dedupe_ms: state.config.touch_dedupe_minutes * MINUTE,
    };
    state.writer.submit(job).await?;
    Ok(ClickOutcome::Counted {
        click_id,
        cookie: tracked.cookie,
    })
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
