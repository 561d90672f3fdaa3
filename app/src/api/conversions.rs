//! Admin: conversions (confirm, cancel) and API keys.

use crate::dto::{AdminConversionRow, ApiKeyDto, ConversionDto, NewApiKey, Page};
use crate::error::AppError;
use crate::paging::PageNumber;
use leptos::prelude::*;

/// `GET /api/admin/conversions?event=&status=&currency=&from=&to=&user=&source=&page=`.
#[server(prefix = "/api", endpoint = "admin/conversions", input = server_fn::codec::GetUrl)]
pub async fn admin_conversions(
    #[server(default)] event: Option<String>,
    #[server(default)] status: Option<String>,
    #[server(default)] currency: Option<String>,
    #[server(default)] from: Option<String>,
    #[server(default)] to: Option<String>,
    #[server(default)] user: Option<String>,
    #[server(default)] source: Option<String>,
    #[server(default)] page: Option<PageNumber>,
) -> Result<Page<AdminConversionRow>, AppError> {
    use crate::server::conversions::manage;
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let f = manage::AdminFilters {
            event,
            status,
            currency,
            from,
            to,
            user,
            source,
        };
        manage::admin_list(&st.db.read, &st.config, &f, page.unwrap_or_default()).await
    }
    .await;
    super::respond::json(result)
}

#[cfg(feature = "ssr")]
async fn change(
    id: String,
    change: crate::server::conversions::manage::StatusChange,
) -> Result<Vec<ConversionDto>, AppError> {
    use crate::server::conversions::manage;
    use crate::server::state;
    state::require_admin()?;
    let st = state::state()?;
    let id: i64 = id
        .trim()
        .parse()
        .map_err(|_| AppError::validation("id", "That is not a conversion id."))?;
    let rows = manage::change_status(&st.db.write, &manage::Selector::Id(id), change).await?;
    Ok(rows.iter().map(crate::server::conversions::to_dto).collect())
}

/// `POST /api/admin/conversions/confirm` (id).
#[server(prefix = "/api", endpoint = "admin/conversions/confirm")]
pub async fn confirm_conversion(id: String) -> Result<Vec<ConversionDto>, AppError> {
    use crate::server::conversions::manage::StatusChange;
    let result = change(id, StatusChange::Confirm).await;
    super::respond::form("conversions", "/admin/conversions", &[], result, None).await
}

/// `POST /api/admin/conversions/cancel` (id).
#[server(prefix = "/api", endpoint = "admin/conversions/cancel")]
pub async fn cancel_conversion(id: String) -> Result<Vec<ConversionDto>, AppError> {
    use crate::server::conversions::manage::StatusChange;
    let result = change(id, StatusChange::Cancel).await;
    super::respond::form("conversions", "/admin/conversions", &[], result, None).await
}

/// `GET /api/admin/api-keys`.
#[server(prefix = "/api", endpoint = "admin/api-keys", input = server_fn::codec::GetUrl)]
pub async fn list_api_keys() -> Result<Vec<ApiKeyDto>, AppError> {
    use crate::server::{api_keys, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        Ok(api_keys::list(&st.db.read).await?)
    }
    .await;
    super::respond::json(result)
}

/// `POST /api/admin/api-keys/create` (name): the secret is in this answer only.
#[server(prefix = "/api", endpoint = "admin/api-keys/create")]
pub async fn create_api_key(name: String) -> Result<NewApiKey, AppError> {
    use crate::server::{api_keys, state};
    let result = async {
        let me = state::require_admin()?;
        let st = state::state()?;
        Ok(api_keys::create(&st.db.write, &name, Some(me.id)).await?)
    }
    .await;
    if let Ok(k) = &result {
        // Without JavaScript the secret can only reach the page through the session,
        // once, like any other notice.
        super::respond::notice("api_keys", &format!("Your new key (shown once): {}", k.secret)).await;
    }
    super::respond::form("api_keys", "/admin/api-keys", &[("name", name.as_str())], result, None).await
}

/// `POST /api/admin/api-keys/revoke` (id).
#[server(prefix = "/api", endpoint = "admin/api-keys/revoke")]
pub async fn revoke_api_key(id: String) -> Result<ApiKeyDto, AppError> {
    use crate::server::{api_keys, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| AppError::validation("id", "That is not a key id."))?;
        Ok(api_keys::revoke(&st.db.write, id).await?)
    }
    .await;
    super::respond::form("api_keys", "/admin/api-keys", &[], result, None).await
}
