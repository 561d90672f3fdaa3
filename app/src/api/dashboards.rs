//! The dashboards' data (admin only).

use crate::dto::Overview;
use crate::error::AppError;
use leptos::prelude::*;

/// `GET /api/admin/overview?range=&from=&to=`.
#[server(prefix = "/api", endpoint = "admin/overview", input = server_fn::codec::GetUrl)]
pub async fn get_overview(
    #[server(default)] range: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
) -> Result<Overview, AppError> {
    use crate::server::dashboards::overview;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = date_range(&range, &from, &to, &st.config)?;
        Ok(overview::overview(&st.db.read, &st.config, &r).await?)
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/leaderboard?range=&from=&to=`.
#[server(prefix = "/api", endpoint = "admin/leaderboard", input = server_fn::codec::GetUrl)]
pub async fn get_leaderboard(
    #[server(default)] range: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
) -> Result<crate::dto::Leaderboard, AppError> {
    use crate::server::dashboards::leaderboard;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = date_range(&range, &from, &to, &st.config)?;
        Ok(leaderboard::leaderboard(&st.db.read, &st.config, &r).await?)
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/user?id=`: a user's links, referred users and credited conversions.
#[server(prefix = "/api", endpoint = "admin/user", input = server_fn::codec::GetUrl)]
pub async fn get_user_detail(id: String) -> Result<crate::dto::UserDetail, AppError> {
    use crate::server::dashboards::leaderboard;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let id: i64 = id.trim().parse().map_err(|_| AppError::not_found("No such user."))?;
        leaderboard::user_detail(&st.db, &st.config, id).await
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/campaigns/performance?range=&from=&to=`.
#[server(prefix = "/api", endpoint = "admin/campaigns/performance", input = server_fn::codec::GetUrl)]
pub async fn get_campaigns_performance(
    #[server(default)] range: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
) -> Result<crate::dto::CampaignsPerformance, AppError> {
    use crate::server::dashboards::campaigns;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = date_range(&range, &from, &to, &st.config)?;
        Ok(campaigns::performance(&st.db.read, &st.config, &r).await?)
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/campaigns/page?id=&range=&from=&to=`.
#[server(prefix = "/api", endpoint = "admin/campaigns/page", input = server_fn::codec::GetUrl)]
pub async fn get_campaign_page(
    id: String,
    #[server(default)] range: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
) -> Result<crate::dto::CampaignPage, AppError> {
    use crate::server::dashboards::campaigns;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| AppError::not_found("No such campaign."))?;
        let r = date_range(&range, &from, &to, &st.config)?;
        campaigns::page(&st.db.read, &st.config, id, &r).await
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/utm`: a tagged URL for a page of this site, through `/r/<code>`
/// when a link or referrer code is chosen; with its QR code.
#[server(prefix = "/api", endpoint = "admin/utm", input = server_fn::codec::GetUrl)]
pub async fn build_utm(
    destination: String,
    #[server(default)] code: Option<String>,
    #[server(default)] utm_source: Option<String>,
    #[server(default)] utm_medium: Option<String>,
    #[server(default)] utm_campaign: Option<String>,
    #[server(default)] utm_term: Option<String>,
    #[server(default)] utm_content: Option<String>,
) -> Result<crate::dto::TaggedUrl, AppError> {
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let tags = [
            ("utm_source", utm_source),
            ("utm_medium", utm_medium),
            ("utm_campaign", utm_campaign),
            ("utm_term", utm_term),
            ("utm_content", utm_content),
        ];
        crate::server::dashboards::utm::build(&st.db.read, &st.config, &st.links, &destination, code.as_deref(), &tags)
            .await
    }
    .await;
    super::respond::json(result)
}

/// The date range of a dashboard's query (`range`, `from`, `to`), as of now.
#[cfg(feature = "ssr")]
fn date_range(
    range: &Option<String>,
    from: &Option<String>,
    to: &Option<String>,
    config: &crate::server::config::Config,
) -> Result<crate::server::range::DateRange, AppError> {
    crate::server::range::DateRange::resolve(
        range.as_deref(),
        from.as_deref(),
        to.as_deref(),
        crate::server::time::now_ms(),
        config.timezone,
    )
}
