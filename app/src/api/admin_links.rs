//! Admin: every link, and every response.

use crate::dto::{AdminLinkRow, AdminResponseRow, Page};
use crate::error::AppError;
use crate::paging::PageNumber;
use leptos::prelude::*;

/// `GET /api/admin/links?q=&status=&page=`.
#[server(prefix = "/api", endpoint = "admin/links", input = server_fn::codec::GetUrl)]
pub async fn admin_links(
    #[server(default)] q: Option<String>,
    #[server(default)] status: Option<String>,
    #[server(default)] page: Option<PageNumber>,
) -> Result<Page<AdminLinkRow>, AppError> {
    use crate::server::referrals::admin;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let f = admin::LinkFilters {
            q,
            status,
            ownerless: false,
            campaign_id: None,
        };
        admin::list_links(&st.db.read, &st.config, &f, page.unwrap_or_default()).await
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/responses?action=&link=&user=&from=&to=&target_type=&target_id=&page=`.
#[server(prefix = "/api", endpoint = "admin/responses", input = server_fn::codec::GetUrl)]
pub async fn admin_responses(
    #[server(default)] action: Option<String>,
    #[server(default)] link: Option<String>,
    #[server(default)] user: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
    #[server(default)] target_type: Option<String>,
    #[server(default)] target_id: Option<String>,
    #[server(default)] page: Option<PageNumber>,
) -> Result<Page<AdminResponseRow>, AppError> {
    use crate::server::referrals::admin;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let f = admin::ResponseFilters {
            action,
            link,
            user,
            from,
            to,
            target_type,
            target_id,
        };
        admin::list_responses(&st.db.read, &st.config, &f, page.unwrap_or_default()).await
    }
    .await;
    super::respond::json(result)
}
