//! The admin Users page: list, promote/demote, deactivate/reactivate.

use crate::dto::{AdminUserRow, Done, Page};
use crate::error::AppError;
use crate::paging::PageNumber;
use leptos::prelude::*;

/// `GET /api/admin/users?q=&page=`.
#[server(prefix = "/api", endpoint = "admin/users", input = server_fn::codec::GetUrl)]
pub async fn list_users(
    #[server(default)] q: Option<String>,
    #[server(default)] page: Option<PageNumber>,
) -> Result<Page<AdminUserRow>, AppError> {
    use crate::server::{accounts, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        Ok(accounts::list_users(
            &st.db,
            q.as_deref().unwrap_or(""),
            page.unwrap_or_default(),
            st.config.timezone,
        )
        .await?)
    }
    .await;
    super::respond::json(result)
}

/// `POST /api/admin/users/role` (user_id, role = member | admin).
#[server(prefix = "/api", endpoint = "admin/users/role")]
pub async fn set_user_role(user_id: String, role: String) -> Result<Done, AppError> {
    use crate::server::{accounts, state};
    let result = async {
        let me = state::require_admin()?;
        let st = state::state()?;
        let id = parse_id(&user_id)?;
        let role = crate::dto::Role::parse(&role)
            .ok_or_else(|| AppError::validation("role", "The role must be member or admin."))?;
        accounts::set_role(&st.db, me.id, id, role).await?;
        Ok(Done::OK)
    }
    .await;
    super::respond::form("admin_users", "/admin/users", &[], result, None).await
}

/// `POST /api/admin/users/active` (user_id, active = true | false).
#[server(prefix = "/api", endpoint = "admin/users/active")]
pub async fn set_user_active(user_id: String, active: String) -> Result<Done, AppError> {
    use crate::server::{accounts, state};
    let result = async {
        let me = state::require_admin()?;
        let st = state::state()?;
        let id = parse_id(&user_id)?;
        let active = match active.as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(AppError::validation("active", "active must be true or false."));
            }
        };
        accounts::set_active(&st.db, me.id, id, active).await?;
        Ok(Done::OK)
    }
    .await;
    super::respond::form("admin_users", "/admin/users", &[], result, None).await
}

#[cfg(feature = "ssr")]
fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::validation("user_id", "That is not a user id."))
}
