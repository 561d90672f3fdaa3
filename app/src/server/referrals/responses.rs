//! Responses: pinax's `record_response` and `referral_for_request`, and the lists
//! of responses for a link's owner and for admins.

use crate::dto::{Page, ResponseDto};
use crate::paging::PageNumber;
use crate::server::config::Config;
use crate::server::context::RequestContext;
use crate::server::entities::{links, responses};
use crate::server::net::truncate;
use crate::server::sql::{Listing, Where, paged, stmt};
use crate::server::time::{display, now_ms};
use crate::server::tracking::identity::{self, Identity};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult};

/// A response's public id (the `tb_click` value): the creation time in milliseconds
/// (12 hex digits), then 80 random bits from the CSPRNG, as 32 lowercase hex digits.
/// Unguessable, and in creation order, so that each new id goes at the end of the
/// unique index instead of into a random page of it: a batch of clicks then writes
/// a page or two of that index, not one page per click.
pub fn new_response_id(now_ms: i64) -> String {
    identity::time_ordered_id::<10>(now_ms)
}

pub const RESPONDED: &str = "RESPONDED";
pub const SIGNED_UP: &str = "SIGNED_UP";

/// The visitor's canonical identity, without creating one.
pub async fn visitor_identity(db: &impl ConnectionTrait, ctx: &RequestContext) -> Result<Option<Identity>, DbErr> {
    if let Some(cookie) = &ctx.identity_cookie
        && let Some(found) = identity::lookup(db, cookie).await?
    {
        // Another user's identity is not this user's history.
        if ctx
            .user
            .as_ref()
            .is_none_or(|u| found.user_id.is_none_or(|owner| owner == u.id))
        {
            return Ok(Some(found));
        }
    }
    match &ctx.user {
        Some(u) => identity::canonical_of_user(db, u.id).await,
        None => Ok(None),
    }
}

/// The visitor's most recent response: by identity, and by user (across all their
/// identities) when logged in.
pub async fn latest(db: &impl ConnectionTrait, ctx: &RequestContext) -> Result<Option<responses::Model>, DbErr> {
    let identity = visitor_identity(db, ctx).await?;
    let user_id = ctx.user.as_ref().map(|u| u.id);
    latest_of(db, identity.map(|i| i.id), user_id).await
}

pub async fn latest_of(
    db: &impl ConnectionTrait,
    identity_id: Option<i64>,
    user_id: Option<i64>,
) -> Result<Option<responses::Model>, DbErr> {
    if identity_id.is_none() && user_id.is_none() {
        return Ok(None);
    }
    let b = db.get_database_backend();
    let row = db
        .query_one(stmt(
            b,
            "SELECT * FROM responses WHERE identity_id = ? OR user_id = ? \
             OR identity_id IN (SELECT id FROM identities WHERE user_id = ?) \
             ORDER BY created_at DESC, id DESC LIMIT 1",
            [identity_id.into(), user_id.into(), user_id.into()],
        ))
        .await?;
    row.map(|r| responses::Model::from_query_result(&r, "")).transpose()
}

/// pinax's `Referral.record_response`: records `action` (with an optional generic
/// target) on the link of the visitor's most recent response, or returns `None` when
/// the visitor has none.
#[tracing::instrument(skip(db, ctx))]
pub async fn record_response(
    db: &impl ConnectionTrait,
    ctx: &RequestContext,
    action: &str,
    target: Option<(&str, &str)>,
) -> Result<Option<responses::Model>, DbErr> {
    let Some(last) = latest(db, ctx).await? else {
        return Ok(None);
    };
    let identity_id = visitor_identity(db, ctx).await?.map(|i| i.id).or(last.identity_id);
    let row = insert(
        db,
        NewResponse {
            link_id: last.link_id,
            identity_id,
            user_id: ctx.user.as_ref().map(|u| u.id),
            action,
            target,
            http_referrer: ctx.http_referrer.as_deref(),
            user_agent: ctx.user_agent.as_deref(),
            client_ip: ctx.client_ip.map(truncate),
        },
    )
    .await?;
    tracing::info!(link_id = row.link_id, action, "recorded a response");
    Ok(Some(row))
}

/// pinax's `Referral.referral_for_request`: the link of the visitor's most recent response.
pub async fn referral_for_request(
    db: &impl ConnectionTrait,
    ctx: &RequestContext,
) -> Result<Option<links::Model>, DbErr> {
    match latest(db, ctx).await? {
        Some(r) => links::Entity::find_by_id(r.link_id).one(db).await,
        None => Ok(None),
    }
}

pub struct NewResponse<'a> {
    pub link_id: i64,
    pub identity_id: Option<i64>,
    pub user_id: Option<i64>,
    pub action: &'a str,
    pub target: Option<(&'a str, &'a str)>,
    pub http_referrer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub client_ip: Option<String>,
}

pub async fn insert(db: &impl ConnectionTrait, r: NewResponse<'_>) -> Result<responses::Model, DbErr> {
    let b = db.get_database_backend();
    let cut = |s: Option<&str>, n: usize| s.map(|s| s.chars().take(n).collect::<String>());
    let now = now_ms();
    let row = db
        .query_one(stmt(
            b,
            "INSERT INTO responses (public_id, link_id, identity_id, user_id, action, target_type, target_id, http_referrer, \
             user_agent, client_ip, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            [
                new_response_id(now).into(),
                r.link_id.into(),
                r.identity_id.into(),
                r.user_id.into(),
                r.action.to_string().into(),
                r.target.map(|t| t.0.to_string()).into(),
                r.target.map(|t| t.1.to_string()).into(),
                cut(r.http_referrer, 1024).into(),
                cut(r.user_agent, 512).into(),
                r.client_ip.into(),
                now.into(),
            ],
        ))
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    responses::Model::from_query_result(&row, "")
}

/// The display name of an action (`RESPONDED` → "Clicked the link"); unknown actions
/// display as they are.
pub fn action_label(config: &Config, action: &str) -> String {
    config
        .referrals
        .action_labels
        .get(action)
        .cloned()
        .unwrap_or_else(|| action.to_string())
}

pub const PER_PAGE: u64 = 25;

/// A link's responses for its owner: when, action, target. No addresses, no identities.
pub async fn of_link(
    db: &impl ConnectionTrait,
    config: &Config,
    link_id: i64,
    page: PageNumber,
) -> Result<Page<ResponseDto>, DbErr> {
    let mut filter = Where::new();
    filter.and("r.link_id = ?", [link_id.into()]);
    let listing = Listing::new("r.*", "FROM responses r", filter, "r.created_at DESC, r.id DESC");
    paged(db, &listing, page, PER_PAGE).await?.try_map(|row| {
        let r = responses::Model::from_query_result(&row, "")?;
        Ok(ResponseDto {
            at: display(r.created_at, config.timezone),
            action_label: action_label(config, &r.action),
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_ids_are_unguessable_and_in_creation_order() {
        let t = 1_795_000_000_000;
        let (a, b) = (new_response_id(t), new_response_id(t));
        assert_ne!(a, b);
        assert!(identity::is_valid_public_id(&a), "{a}");
        assert_eq!(&a[..12], &format!("{t:012x}"));
        assert!(new_response_id(t + 1) > a && new_response_id(t + 1) > b);
        // Out-of-range clocks still give 32 hex digits.
        assert!(identity::is_valid_public_id(&new_response_id(-5)));
        assert!(identity::is_valid_public_id(&new_response_id(i64::MAX)));
    }
}
