//! Campaigns and referrer codes (admin only). `POST /api/campaigns/create|update|delete|rematch`
//! as the contract fixes them; the admin pages read through the `GET` functions below.

use crate::dto::{AdminLinkRow, Assigned, CampaignDetail, CampaignDto, CampaignEnvelope, Page};
use crate::error::AppError;
use crate::paging::PageNumber;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn parse_id(raw: &str, field: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::validation(field, "That is not a campaign id."))
}

/// The campaign's page, named by the parsed id only: raw input never reaches a header.
#[cfg(feature = "ssr")]
fn back_to(raw_id: &str) -> String {
    match parse_id(raw_id, "id") {
        Ok(id) => format!("/admin/campaigns/{id}"),
        Err(_) => "/admin/campaigns".to_string(),
    }
}

#[cfg(feature = "ssr")]
fn input(
    name: String,
    description: Option<String>,
    pattern: Option<String>,
    pattern_kind: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    active: Option<String>,
) -> crate::server::campaigns::CampaignInput {
    crate::server::campaigns::CampaignInput {
        name,
        description: description.unwrap_or_default(),
        pattern: pattern.unwrap_or_default(),
        pattern_kind: pattern_kind.unwrap_or_default(),
        starts_at: starts_at.unwrap_or_default(),
        ends_at: ends_at.unwrap_or_default(),
        // A checkbox sends nothing when unticked: absent means inactive only when the
        // form says so (`active_present`); scripts that omit it get an active campaign.
        active: active.unwrap_or_else(|| "true".into()),
    }
}

/// `POST /api/campaigns/create` (name, description, pattern, pattern_kind, starts_at, ends_at, active).
#[server(prefix = "/api", endpoint = "campaigns/create")]
pub async fn create_campaign(
    name: String,
    #[server(default)] description: Option<String>,
    #[server(default)] pattern: Option<String>,
    #[server(default)] pattern_kind: Option<String>,
    #[server(default)] starts_at: Option<String>,
    #[server(default)] ends_at: Option<String>,
    #[server(default)] active: Option<String>,
) -> Result<CampaignEnvelope, AppError> {
    use crate::server::{campaigns, state};
    let values = [
        ("name", name.clone()),
        ("description", description.clone().unwrap_or_default()),
        ("pattern", pattern.clone().unwrap_or_default()),
        ("pattern_kind", pattern_kind.clone().unwrap_or_default()),
        ("starts_at", starts_at.clone().unwrap_or_default()),
        ("ends_at", ends_at.clone().unwrap_or_default()),
    ];
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let c = campaigns::create(
            &st.db.write,
            &st.config,
            &input(name, description, pattern, pattern_kind, starts_at, ends_at, active),
        )
        .await?;
        Ok(CampaignEnvelope {
            campaign: campaigns::get(&st.db.read, &st.config, c.id).await?,
        })
    }
    .await;
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    super::respond::form("campaign_create", "/admin/campaigns", &values, result, None).await
}

/// `POST /api/campaigns/update` (id, and the fields of create).
#[server(prefix = "/api", endpoint = "campaigns/update")]
pub async fn update_campaign(
    id: String,
    name: String,
    #[server(default)] description: Option<String>,
    #[server(default)] pattern: Option<String>,
    #[server(default)] pattern_kind: Option<String>,
    #[server(default)] starts_at: Option<String>,
    #[server(default)] ends_at: Option<String>,
    #[server(default)] active: Option<String>,
) -> Result<CampaignEnvelope, AppError> {
    use crate::server::{campaigns, state};
    let back = back_to(&id);
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let id = parse_id(&id, "id")?;
        let c = campaigns::update(
            &st.db.write,
            &st.config,
            id,
            &input(name, description, pattern, pattern_kind, starts_at, ends_at, active),
        )
        .await?;
        Ok(CampaignEnvelope {
            campaign: campaigns::get(&st.db.read, &st.config, c.id).await?,
        })
    }
    .await;
    super::respond::form("campaign_update", &back, &[], result, None).await
}

/// `POST /api/campaigns/delete` (id, confirm). A campaign with links needs `confirm=true`:
/// its links are unassigned, nothing else is deleted.
#[server(prefix = "/api", endpoint = "campaigns/delete")]
pub async fn delete_campaign(
    id: String,
    #[server(default)] confirm: Option<String>,
) -> Result<CampaignEnvelope, AppError> {
    use crate::server::{campaigns, state};
    let back = back_to(&id);
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let id = parse_id(&id, "id")?;
        let confirm = matches!(confirm.as_deref(), Some("true" | "on" | "1" | "yes"));
        let (c, _) = campaigns::delete(&st.db.write, &st.links, id, confirm).await?;
        Ok(CampaignEnvelope {
            campaign: campaigns::campaign_dto(&st.config, &c),
        })
    }
    .await;
    let ok = result.is_ok();
    super::respond::form("campaign_delete", &back, &[], result, ok.then_some("/admin/campaigns")).await
}

/// `POST /api/campaigns/rematch`: the patterns over every unassigned ownerless code.
#[server(prefix = "/api", endpoint = "campaigns/rematch")]
pub async fn rematch_campaigns() -> Result<Assigned, AppError> {
    use crate::server::{campaigns, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        Ok(Assigned {
            assigned: campaigns::rematch(&st.db.write, &st.links).await?,
        })
    }
    .await;
    if let Ok(a) = &result {
        super::respond::notice("campaigns", &format!("Re-matching assigned {} code(s).", a.assigned)).await;
    }
    super::respond::form("campaigns", "/admin/campaigns", &[], result, None).await
}

/// `GET /api/admin/campaigns`: every campaign with its counts.
#[server(prefix = "/api", endpoint = "admin/campaigns", input = server_fn::codec::GetUrl)]
pub async fn list_campaigns() -> Result<Vec<CampaignDto>, AppError> {
    use crate::server::{campaigns, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        Ok(campaigns::list(&st.db.read, &st.config).await?)
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/campaign?id=`: one campaign and its codes ranked by sign-ups.
#[server(prefix = "/api", endpoint = "admin/campaign", input = server_fn::codec::GetUrl)]
pub async fn get_campaign(id: String) -> Result<CampaignDetail, AppError> {
    use crate::server::{campaigns, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| AppError::not_found("No such campaign."))?;
        let campaign = campaigns::get(&st.db.read, &st.config, id).await?;
        let codes = campaigns::codes_ranked(&st.db.read, id).await?;
        Ok(CampaignDetail { campaign, codes })
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/referrers?q=&campaign=&page=`: ownerless codes with their counts.
#[server(prefix = "/api", endpoint = "admin/referrers", input = server_fn::codec::GetUrl)]
pub async fn list_referrers(
    #[server(default)] q: Option<String>,
    #[server(default)] campaign: Option<String>,
    #[server(default)] page: Option<PageNumber>,
) -> Result<Page<AdminLinkRow>, AppError> {
    use crate::server::referrals::admin;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let f = admin::LinkFilters {
            q,
            status: None,
            ownerless: true,
            campaign_id: campaign.as_deref().and_then(|c| c.trim().parse().ok()),
        };
        admin::list_links(&st.db.read, &st.config, &f, page.unwrap_or_default()).await
    }
    .await;
    super::respond::json(result)
}

/// `POST /api/admin/links/assign` (codes[0]=..&codes[1]=.., campaign_id; empty to unassign):
/// puts any links, user-owned or ownerless, into a campaign.
#[server(prefix = "/api", endpoint = "admin/links/assign")]
pub async fn assign_links(
    #[server(default)] codes: Vec<String>,
    #[server(default)] campaign_id: Option<String>,
) -> Result<Assigned, AppError> {
    use crate::server::{campaigns, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let campaign = match campaign_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(c) => Some(parse_id(c, "campaign_id")?),
            None => None,
        };
        let n = campaigns::assign(&st.db.write, &st.config, &st.links, &codes, campaign).await?;
        Ok(Assigned { assigned: n })
    }
    .await;
    if let Ok(a) = &result {
        super::respond::notice("referrers", &format!("{} code(s) updated.", a.assigned)).await;
    }
    super::respond::form("referrers", "/admin/referrers", &[], result, None).await
}
