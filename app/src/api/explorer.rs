//! The attribution explorer's data (admin only).

use crate::dto::{CompareReport, DrillRow, Explanation, ExplorerData, ExplorerParams, Page};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
pub struct Resolved {
    pub settings: crate::server::attribution::Settings,
    pub filter: crate::server::attribution::ConversionFilter,
    pub group: crate::server::attribution::GroupBy,
    pub range: crate::server::range::DateRange,
}

/// The explorer's parameters, checked.
#[cfg(feature = "ssr")]
pub fn resolve(p: &ExplorerParams, config: &crate::server::config::Config) -> Result<Resolved, AppError> {
    use crate::server::attribution::{ConversionFilter, GroupBy, Settings};
    use crate::server::range::DateRange;
    let settings = Settings::parse(
        config,
        p.model.as_deref(),
        p.window_days.as_deref(),
        p.source_windows.as_deref(),
        p.half_life_days.as_deref(),
    )?;
    let group = match p.group_by.as_deref() {
        None => GroupBy::Source,
        Some(g) => GroupBy::parse(g).ok_or_else(|| AppError::validation("group_by", "Choose a grouping."))?,
    };
    let range = DateRange::resolve(
        p.range.as_deref(),
        p.from.as_deref(),
        p.to.as_deref(),
        crate::server::time::now_ms(),
        config.timezone,
    )?;
    let mut filter = ConversionFilter::parse(config, None, None, p.event.as_deref(), p.valid.as_deref())?;
    filter.from = Some(range.current.from);
    filter.to = Some(range.current.to);
    Ok(Resolved {
        settings,
        filter,
        group,
        range,
    })
}

/// `GET /api/admin/attribution`: the grouped report.
#[server(prefix = "/api", endpoint = "admin/attribution", input = server_fn::codec::GetUrl)]
pub async fn explorer_report(params: ExplorerParams) -> Result<ExplorerData, AppError> {
    use crate::server::{attribution::reports, dashboards::overview::range_dto, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = resolve(&params, &st.config)?;
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
    use crate::server::{attribution::reports, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = resolve(&params, &st.config)?;
        Ok(reports::compare(&st.db.read, &r.settings, &r.filter, r.group).await?)
    }
    .await;
    super::respond::json(result)
}

pub const DRILL_PER_PAGE: u64 = 50;

/// `GET /api/admin/attribution/drill`: the conversions credited to one group.
#[server(prefix = "/api", endpoint = "admin/attribution/drill", input = server_fn::codec::GetUrl)]
pub async fn explorer_drill(
    params: ExplorerParams,
    key: String,
    #[server(default)] page: Option<u64>,
) -> Result<Page<DrillRow>, AppError> {
    use crate::server::conversions::manage;
    use crate::server::{attribution::engine, state};
    let result = async {
        state::require_admin()?;
        let st = state::state()?;
        let r = resolve(&params, &st.config)?;
        let page = page.unwrap_or(1).max(1);
        let (ids, total) = engine::drill(
            &st.db.read,
            &r.settings,
            &r.filter,
            r.group,
            &key,
            DRILL_PER_PAGE,
            (page - 1) * DRILL_PER_PAGE,
        )
        .await?;
        let models = manage::by_ids(&st.db.read, &ids.iter().map(|(i, _)| *i).collect::<Vec<_>>()).await?;
        Ok(Page {
            items: ids
                .into_iter()
                .filter_map(|(id, share)| {
                    let c = models.get(&id)?;
                    Some(DrillRow {
                        conversion: crate::server::conversions::to_dto(c),
                        at: crate::server::time::display(c.occurred_at, st.config.timezone),
                        share,
                    })
                })
                .collect(),
            page,
            per_page: DRILL_PER_PAGE,
            total,
        })
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
