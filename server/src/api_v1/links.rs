//! `POST /api/v1/links`: a link for a user, idempotent like the web form.

use super::ApiResult;
use super::extract::{ApiJson, ErrorBody};
use app::dto::LinkDto;
use app::error::AppError;
use app::server::conversions::Converter;
use app::server::referrals::links;
use app::server::state::AppState;
use axum::Json;
use axum::extract::State;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    pub label: String,
    /// A path on this site, or a URL on an allowed host.
    pub destination: String,
    /// A custom code (3 to 64 of A-Z a-z 0-9 _ -); random when absent.
    pub code: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub expires_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkSchema {
    pub code: String,
    pub url: String,
    pub label: String,
    pub destination: String,
    pub active: bool,
    pub expires_at: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub clicks: i64,
    pub unique_visitors: i64,
    pub signups: i64,
    pub responses: BTreeMap<String, i64>,
    pub conversions: i64,
    pub value: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkEnvelope {
    #[schema(value_type = LinkSchema)]
    pub link: LinkDto,
}

/// Create a link for a user (or return their identical one).
#[utoipa::path(post, path = "/links", tag = "links", request_body = NewLink,
    responses((status = 201, description = "Created", body = LinkEnvelope), (status = 200, description = "The user's identical link", body = LinkEnvelope),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewLink>,
) -> ApiResult<(StatusCode, Json<LinkEnvelope>)> {
    let owner = match super::responses::visitor(&state, None, None, body.user_id.as_deref(), body.user_email.as_deref())
        .await?
    {
        Converter::User(u) => u,
        _ => return Err(AppError::validation("user_id", "Name the link's owner by user_id or user_email.").into()),
    };
    let input = links::LinkInput {
        label: body.label,
        destination: body.destination,
        code: body.code,
        target_type: body.target_type,
        target_id: body.target_id,
        expires_at: body.expires_at,
    };
    let valid = input.validate(Some(owner), &state.config)?;
    let (link, created) = links::create(&state.db.write, &state.config, &valid).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(LinkEnvelope {
            link: links::dto_with_counts(&state.db.read, &state.config, &link).await?,
        }),
    ))
}
