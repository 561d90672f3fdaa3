//! Admin: touchpoints and identities.

use crate::dto::{IdentityDetail, Page, TouchpointRow};
use crate::error::AppError;
use crate::paging::PageNumber;
use leptos::prelude::*;

/// `GET /api/admin/touchpoints?utm_source=&utm_medium=&utm_campaign=&referrer_host=&from=&to=&page=`.
#[server(prefix = "/api", endpoint = "admin/touchpoints", input = server_fn::codec::GetUrl)]
pub async fn list_touchpoints(
    #[server(default)] utm_source: Option<String>,
    #[server(default)] utm_medium: Option<String>,
    #[server(default)] utm_campaign: Option<String>,
    #[server(default)] referrer_host: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
    #[server(default)] page: Option<PageNumber>,
) -> Result<Page<TouchpointRow>, AppError> {
    use crate::server::{state, tracking};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let filters = crate::dto::TouchpointFilters {
            utm_source,
            utm_medium,
            utm_campaign,
            referrer_host,
            from,
            to,
        };
        tracking::admin::list(&st.db, &filters, page.unwrap_or_default(), st.config.timezone).await
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/identity?id=`.
#[server(prefix = "/api", endpoint = "admin/identity", input = server_fn::codec::GetUrl)]
pub async fn get_identity(id: String) -> Result<IdentityDetail, AppError> {
    use crate::server::{state, tracking};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| AppError::not_found("No such identity."))?;
        tracking::admin::detail(&st.db, id, st.config.timezone).await
    }
    .await;
    super::respond::json(result)
}
