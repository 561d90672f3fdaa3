//! `/api/v1/attribution/report` and `/api/v1/conversions/{id}/explain`.

use super::ApiResult;
use super::extract::{ApiQuery, ErrorBody};
use app::dto::{Explanation, Report};
use app::error::AppError;
use app::server::attribution::{ConversionFilter, GroupBy, Settings, explain, reports};
use app::server::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// first_touch, last_touch (default), linear, time_decay or position_based.
    pub model: Option<String>,
    /// source (default), medium, utm_campaign, channel, link, referring_user or campaign.
    pub group_by: Option<String>,
    /// Of the conversion: RFC 3339, or a date (start of that day in TRIBUTARY_TIMEZONE).
    pub from: Option<String>,
    /// Exclusive; a date means the end of that day.
    pub to: Option<String>,
    pub event: Option<String>,
    pub window_days: Option<String>,
    /// google:14,email:7
    pub source_windows: Option<String>,
    pub half_life_days: Option<String>,
    /// true (default): active and confirmed conversions only; false: all.
    pub valid: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportRowSchema {
    pub key: String,
    /// Credited conversions (weighted).
    pub conversions: f64,
    /// Credited value per currency, as decimal strings.
    pub value: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct ReportSchema {
    pub items: Vec<ReportRowSchema>,
    pub metadata: super::conversions::MetadataSchema,
}

/// Credited conversions and value, grouped.
#[utoipa::path(get, path = "/attribution/report", tag = "attribution", params(ReportQuery),
    responses((status = 200, body = ReportSchema), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report(State(state): State<AppState>, ApiQuery(q): ApiQuery<ReportQuery>) -> ApiResult<Json<Report>> {
    let settings = Settings::parse(
        &state.config,
        q.model.as_deref(),
        q.window_days.as_deref(),
        q.source_windows.as_deref(),
        q.half_life_days.as_deref(),
    )?;
    let group = match q.group_by.as_deref() {
        None => GroupBy::Source,
        Some(g) => GroupBy::parse(g).ok_or_else(|| {
            AppError::validation(
                "group_by",
                "group_by is source, medium, utm_campaign, channel, link, referring_user or campaign.",
            )
        })?,
    };
    let filter = ConversionFilter::parse(
        &state.config,
        q.from.as_deref(),
        q.to.as_deref(),
        q.event.as_deref(),
        q.valid.as_deref(),
    )?;
    Ok(Json(reports::report(&state.db.read, &settings, &filter, group).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExplainQuery {
    pub model: Option<String>,
    pub window_days: Option<String>,
    pub source_windows: Option<String>,
    pub half_life_days: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WindowSchema {
    /// default or source
    pub kind: String,
    pub days: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ExplainedTouchSchema {
    pub id: String,
    pub at: String,
    pub source: String,
    pub medium: String,
    pub utm_campaign: Option<String>,
    pub link: Option<String>,
    /// credited, outside_window or after_conversion
    pub verdict: String,
    pub weight: f64,
    pub window: WindowSchema,
}

#[derive(Serialize, ToSchema)]
pub struct MergeSchema {
    pub identity_id: String,
    pub public_id: String,
    pub merged_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExplanationSchema {
    pub conversion: super::conversions::ConversionSchema,
    pub touches: Vec<ExplainedTouchSchema>,
    pub merges: Vec<MergeSchema>,
    pub metadata: super::conversions::MetadataSchema,
}

/// Every touch of the conversion's identity, with its verdict, and the merge history.
#[utoipa::path(get, path = "/conversions/{id}/explain", tag = "attribution", params(("id" = String, Path, description = "The conversion's id"), ExplainQuery),
    responses((status = 200, body = ExplanationSchema), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn explain_conversion(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ExplainQuery>,
) -> ApiResult<Json<Explanation>> {
    let id: i64 = id.parse().map_err(|_| AppError::not_found("No such conversion."))?;
    let settings = Settings::parse(
        &state.config,
        q.model.as_deref(),
        q.window_days.as_deref(),
        q.source_windows.as_deref(),
        q.half_life_days.as_deref(),
    )?;
    Ok(Json(explain::explain(&state.db.read, &settings, id).await?))
}
