//! `/api/v1/conversions`: record, list, confirm and cancel.

use super::ApiResult;
use super::extract::{ApiJson, ApiQuery, ErrorBody};
use crate::api_v1::responses::visitor;
use app::dto::ConversionDto;
use app::error::AppError;
use app::server::attribution::{Settings, engine};
use app::server::context::RequestContext;
use app::server::conversions::manage::{self, Selector, StatusChange};
use app::server::conversions::{RecordOptions, record_conversion};
use app::server::state::AppState;
use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A conversion to record. Name the visitor by at most one of `visitor_id`,
/// `click_id`, `user_id` or `user_email`; with none it is stored unattributed.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConversion {
    /// 1 to 100 printable characters.
    pub event: String,
    /// A decimal string, like "99.99", with no more decimals than the currency has.
    pub value: Option<String>,
    /// ISO 4217; DEFAULT_CURRENCY when absent.
    pub currency: Option<String>,
    /// A JSON object of up to 16 KB.
    #[schema(value_type = Option<Object>)]
    pub custom_data: Option<serde_json::Value>,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    /// Default true.
    pub confirmed: Option<bool>,
    /// RFC 3339, for late and offline conversions; not in the future.
    pub occurred_at: Option<String>,
    /// Replaying the same key with the same body answers 200 with the original.
    pub idempotency_key: Option<String>,
    /// The identity cookie's value.
    pub visitor_id: Option<String>,
    /// The `tb_click` value an external destination received.
    pub click_id: Option<String>,
    pub user_id: Option<String>,
    pub user_email: Option<String>,
}

/// A conversion.
#[derive(Serialize, ToSchema)]
pub struct ConversionSchema {
    pub id: String,
    pub event: String,
    pub value: Option<String>,
    pub currency: String,
    #[schema(value_type = Object)]
    pub custom_data: serde_json::Value,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    pub confirmed: bool,
    pub active: bool,
    pub occurred_at: String,
    pub created_at: String,
    pub identity_id: Option<String>,
    pub user_id: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ConversionEnvelope {
    #[schema(value_type = ConversionSchema)]
    pub conversion: ConversionDto,
}

/// Record a conversion.
#[utoipa::path(post, path = "/conversions", tag = "conversions", request_body = NewConversion,
    responses(
        (status = 201, description = "Recorded", body = ConversionEnvelope),
        (status = 200, description = "A replay of an earlier request with the same idempotency key", body = ConversionEnvelope),
        (status = 401, body = ErrorBody), (status = 409, description = "The idempotency key was used with another body", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewConversion>,
) -> ApiResult<(StatusCode, Json<ConversionEnvelope>)> {
    let converter = visitor(
        &state,
        body.visitor_id.as_deref(),
        body.click_id.as_deref(),
        body.user_id.as_deref(),
        body.user_email.as_deref(),
    )
    .await?;
    let source = match (body.source_type.clone(), body.source_id.clone()) {
        (None, None) => None,
        (t, i) => Some((t.unwrap_or_default(), i.unwrap_or_default())),
    };
    let options = RecordOptions {
        value: body.value.clone(),
        currency: body.currency.clone(),
        custom_data: body.custom_data.clone(),
        source,
        confirmed: body.confirmed,
        occurred_at: body.occurred_at.clone(),
        idempotency_key: body.idempotency_key.clone(),
        converter,
    };
    let recorded = record_conversion(
        &state.db.write,
        &state.config,
        &RequestContext::default(),
        &body.event,
        options,
    )
    .await?;
    let status = if recorded.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(ConversionEnvelope {
            conversion: app::server::conversions::to_dto(&recorded.conversion),
        }),
    ))
}

/// Filters of the conversion list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub event: Option<String>,
    /// RFC 3339, or a date meaning the start of that day in TRIBUTARY_TIMEZONE.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Default true: active and confirmed conversions only.
    pub valid: Option<bool>,
    pub user_id: Option<String>,
    /// Default 50, at most 500.
    #[param(value_type = Option<u64>)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
    /// first_touch, last_touch (default), linear, time_decay or position_based.
    pub model: Option<String>,
    /// The default window (ATTRIBUTION_WINDOW_DAYS when absent).
    pub window_days: Option<String>,
    /// For time_decay (ATTRIBUTION_HALF_LIFE_DAYS when absent).
    pub half_life_days: Option<String>,
    /// Per-source windows: google:14,email:7 (0 excludes a source).
    pub source_windows: Option<String>,
}

/// One touch's share of a conversion.
#[derive(Serialize, ToSchema)]
pub struct CreditSchema {
    pub touchpoint_id: String,
    pub weight: f64,
    pub at: String,
    pub source: String,
    pub medium: String,
    pub params: std::collections::BTreeMap<String, String>,
    pub http_referrer: Option<String>,
    pub link: Option<String>,
    pub referring_user: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MetadataSchema {
    pub model: String,
    pub window_days: i64,
    pub source_windows: std::collections::BTreeMap<String, i64>,
    pub half_life_days: f64,
}

#[derive(Serialize, ToSchema)]
pub struct AttributionSchema {
    pub credits: Vec<CreditSchema>,
    pub metadata: MetadataSchema,
}

/// A conversion with its credits under the requested model.
#[derive(Serialize, ToSchema)]
pub struct AttributedConversionSchema {
    #[serde(flatten)]
    pub conversion: ConversionSchema,
    pub attribution: AttributionSchema,
}

#[derive(Serialize, ToSchema)]
pub struct ConversionList {
    #[schema(value_type = Vec<AttributedConversionSchema>)]
    pub items: Vec<app::dto::AttributedConversion>,
    pub next_cursor: Option<String>,
}

/// List conversions, newest first, each with its credits under the requested model.
#[utoipa::path(get, path = "/conversions", tag = "conversions", params(ListQuery),
    responses((status = 200, body = ConversionList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<Json<ConversionList>> {
    let user_id = match q.user_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(u) => Some(
            u.parse::<i64>()
                .map_err(|_| AppError::validation("user_id", "user_id is a number."))?,
        ),
        None => None,
    };
    let settings = Settings::parse(
        &state.config,
        q.model.as_deref(),
        q.window_days.as_deref(),
        q.source_windows.as_deref(),
        q.half_life_days.as_deref(),
    )?;
    let f = manage::ListFilters {
        event: q.event,
        from: q.from,
        to: q.to,
        valid: q.valid,
        user_id,
        limit: q.limit,
        cursor: q.cursor,
    };
    let (rows, next_cursor) = manage::list(&state.db.read, &state.config, &f).await?;
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let mut credits = engine::credits(&state.db.read, &settings, &ids, false).await?;
    let metadata = settings.metadata();
    Ok(Json(ConversionList {
        items: rows
            .iter()
            .map(|c| app::dto::AttributedConversion {
                conversion: app::server::conversions::to_dto(c),
                attribution: app::dto::Attribution {
                    credits: credits.remove(&c.id).unwrap_or_default(),
                    metadata: metadata.clone(),
                },
            })
            .collect(),
        next_cursor,
    }))
}

/// Which conversions: by `id`, or by `source_type` + `source_id` + `event`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub id: Option<String>,
    pub source_type: Option<String>,
    pub source_id: Option<String>,
    pub event: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ChangedConversions {
    pub updated: usize,
    #[schema(value_type = Vec<ConversionSchema>)]
    pub items: Vec<ConversionDto>,
}

fn selector(r: &StatusRequest) -> Result<Selector, AppError> {
    let given = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match (
        given(&r.id),
        given(&r.source_type),
        given(&r.source_id),
        given(&r.event),
    ) {
        (Some(id), None, None, None) => id
            .parse::<i64>()
            .map(Selector::Id)
            .map_err(|_| AppError::validation("id", "id is a conversion id.")),
        (None, Some(source_type), Some(source_id), Some(event)) => Ok(Selector::Source {
            source_type,
            source_id,
            event,
        }),
        _ => Err(AppError::bad_request(
            "Name the conversions by id, or by source_type, source_id and event.",
        )),
    }
}

async fn change(state: &AppState, r: &StatusRequest, c: StatusChange) -> ApiResult<Json<ChangedConversions>> {
    let rows = manage::change_status(&state.db.write, &selector(r)?, c).await?;
    Ok(Json(ChangedConversions {
        updated: rows.len(),
        items: rows.iter().map(app::server::conversions::to_dto).collect(),
    }))
}

/// Confirm conversions (a payment came through).
#[utoipa::path(post, path = "/conversions/confirm", tag = "conversions", request_body = StatusRequest,
    responses((status = 200, body = ChangedConversions), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<StatusRequest>,
) -> ApiResult<Json<ChangedConversions>> {
    change(&state, &r, StatusChange::Confirm).await
}

/// Cancel conversions (a refund); the rows are kept, inactive.
#[utoipa::path(post, path = "/conversions/cancel", tag = "conversions", request_body = StatusRequest,
    responses((status = 200, body = ChangedConversions), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    ApiJson(r): ApiJson<StatusRequest>,
) -> ApiResult<Json<ChangedConversions>> {
    change(&state, &r, StatusChange::Cancel).await
}
