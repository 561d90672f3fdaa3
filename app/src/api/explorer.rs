//! The attribution explorer's data (admin only).

use crate::dto::{CompareReport, DrillRow, Explanation, ExplorerData, ExplorerParams, Page};
use crate::error::AppError;
use crate::paging::PageNumber;
use leptos::prelude::*;

/// `GET /api/admin/attribution`: the grouped report.
#[server(prefix = "/api", endpoint = "admin/attribution", input = server_fn::codec::GetUrl)]
pub async fn explorer_report(params: ExplorerParams) -> Result<ExplorerData, AppError> {
    use crate::server::attribution::{explorer, reports};
    use crate::server::{dashboards::overview::range_dto, state, time::now_ms};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = explorer::resolve(&params, &st.config, now_ms())?;
        let report = reports::report(&st.db.read, &r.settings, &r.filter, r.group).await?;
        Ok(ExplorerData {
            report,
            range: range_dto(&r.range),
            group_by: r.group.as_str().to_string(),
            event: r.filter.event.clone(),
            valid_only: r.filter.valid_only,
        })
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/attribution/compare`: every model side by side.
#[server(prefix = "/api", endpoint = "admin/attribution/compare", input = server_fn::codec::GetUrl)]
pub async fn explorer_compare(params: ExplorerParams) -> Result<CompareReport, AppError> {
    use crate::server::attribution::{explorer, reports};
    use crate::server::{state, time::now_ms};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = explorer::resolve(&params, &st.config, now_ms())?;
        Ok(reports::compare(&st.db.read, &r.settings, &r.filter, r.group).await?)
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/attribution/drill`: the conversions credited to one group.
#[server(prefix = "/api", endpoint = "admin/attribution/drill", input = server_fn::codec::GetUrl)]
pub async fn explorer_drill(
    params: ExplorerParams,
    key: String,
    #[server(default)] page: Option<PageNumber>,
) -> Result<Page<DrillRow>, AppError> {
    use crate::server::attribution::explorer;
    use crate::server::{state, time::now_ms};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = explorer::resolve(&params, &st.config, now_ms())?;
        explorer::drill(&st.db.read, &st.config, &r, &key, page.unwrap_or_default()).await
    }
    .await;
    super::respond::json(result)
}

/// `GET /api/admin/conversion/explain`: one conversion's explanation.
#[server(prefix = "/api", endpoint = "admin/conversion/explain", input = server_fn::codec::GetUrl)]
pub async fn explain_conversion(id: String, params: ExplorerParams) -> Result<Explanation, AppError> {
    use crate::server::attribution::{Settings, explain};
    use crate::server::state;
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let settings = Settings::parse(
            &st.config,
            params.model.as_deref(),
            params.window_days.as_deref(),
            params.source_windows.as_deref(),
            params.half_life_days.as_deref(),
        )?;
        let id: i64 = id
            .trim()
            .parse()
            .map_err(|_| AppError::not_found("No such conversion."))?;
        explain::explain(&st.db.read, &settings, id).await
    }
    .await;
    super::respond::json(result)
}
