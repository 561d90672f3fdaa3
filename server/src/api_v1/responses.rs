//! `POST /api/v1/responses`: `record_response` for a visitor the caller names.

use super::ApiResult;
use super::extract::{ApiJson, ErrorBody};
use app::error::AppError;
use app::server::accounts::{AuthUser, find_by_email, validate::Email};
use app::server::context::RequestContext;
use app::server::conversions::Converter;
use app::server::entities::{links, users};
use app::server::referrals::responses::{RESPONDED, SIGNED_UP, record_response};
use app::server::sql::stmt;
use app::server::state::AppState;
use app::server::time::rfc3339;
use app::server::tracking::identity;
use axum::Json;
use axum::extract::State;
use http::StatusCode;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Resolves the visitor a request names (at most one of the four).
pub async fn visitor(
    state: &AppState,
    visitor_id: Option<&str>,
    click_id: Option<&str>,
    user_id: Option<&str>,
    user_email: Option<&str>,
) -> Result<Converter, AppError> {
    fn given(v: Option<&str>) -> Option<&str> {
        v.map(str::trim).filter(|s| !s.is_empty())
    }
    let named = [given(visitor_id), given(click_id), given(user_id), given(user_email)];
    if named.iter().filter(|v| v.is_some()).count() > 1 {
        return Err(AppError::bad_request(
            "Name the visitor by at most one of visitor_id, click_id, user_id or user_email.",
        ));
    }
    let db = &state.db.read;
    if let Some(v) = named[0] {
        return identity::lookup(db, v)
            .await?
            .map(Converter::Identity)
            .ok_or_else(|| AppError::validation("visitor_id", "No visitor has this id."));
    }
    if let Some(c) = named[1] {
        let row = db
            .query_one(stmt(
                db.get_database_backend(),
                "SELECT identity_id, user_id FROM responses WHERE public_id = ?",
                [c.into()],
            ))
            .await?
            .ok_or_else(|| AppError::validation("click_id", "No click has this id."))?;
        let identity_id: Option<i64> = row.try_get("", "identity_id")?;
        let user: Option<i64> = row.try_get("", "user_id")?;
        return Ok(match (identity_id, user) {
            (Some(id), _) => match identity::canonical_by_id(db, id).await? {
                Some(i) => Converter::Identity(i),
                None => Converter::Nobody,
            },
            (None, Some(u)) => Converter::User(u),
            (None, None) => Converter::Nobody,
        });
    }
    if let Some(u) = named[2] {
        let id: i64 = u
            .parse()
            .map_err(|_| AppError::validation("user_id", "user_id is a number."))?;
        return users::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|u| Converter::User(u.id))
            .ok_or_else(|| AppError::validation("user_id", "No user has this id."));
    }
    if let Some(e) = named[3] {
        let email = Email::parse(e).map_err(|m| AppError::validation("user_email", m))?;
        return find_by_email(db, &email)
            .await?
            .map(|u| Converter::User(u.id))
            .ok_or_else(|| AppError::validation("user_email", "No user has this email."));
    }
    Ok(Converter::Nobody)
}

/// An action to record on the link of the visitor's most recent response.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResponse {
    /// Any action but RESPONDED and SIGNED_UP, which are reserved.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub visitor_id: Option<String>,
    pub click_id: Option<String>,
    pub user_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ResponseSchema {
    pub id: String,
    /// The link's code.
    pub link: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResponseEnvelope {
    pub response: ResponseSchema,
}

/// Record a response (pinax's record_response) for a visitor.
#[utoipa::path(post, path = "/responses", tag = "responses", request_body = NewResponse,
    responses((status = 201, body = ResponseEnvelope), (status = 401, body = ErrorBody),
        (status = 404, description = "The visitor has no earlier response", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewResponse>,
) -> ApiResult<(StatusCode, Json<ResponseEnvelope>)> {
    let action = body.action.trim();
    if action.is_empty() || action.chars().count() > 100 || action.chars().any(char::is_control) {
        return Err(AppError::validation("action", "Actions are 1 to 100 printable characters.").into());
    }
    if action == RESPONDED || action == SIGNED_UP {
        return Err(AppError::validation(
            "action",
            format!("{action} is reserved: it is recorded by clicks and sign-ups."),
        )
        .into());
    }
    let target = match (
        body.target_type.as_deref().map(str::trim),
        body.target_id.as_deref().map(str::trim),
    ) {
        (None, None) | (Some(""), Some("")) => None,
        (Some(t), Some(i))
            if !t.is_empty() && !i.is_empty() && t.chars().count() <= 100 && i.chars().count() <= 200 =>
        {
            Some((t, i))
        }
        _ => {
            return Err(AppError::validation(
                "target_type",
                "A target needs a type (up to 100 characters) and an id (up to 200).",
            )
            .into());
        }
    };
    let who = visitor(
        &state,
        body.visitor_id.as_deref(),
        body.click_id.as_deref(),
        body.user_id.as_deref(),
        None,
    )
    .await?;
    let db = &state.db.write;
    let ctx = match who {
        Converter::Identity(i) => RequestContext {
            identity_cookie: Some(i.public_id),
            ..Default::default()
        },
        Converter::User(u) => {
            let user = users::Entity::find_by_id(u)
                .one(db)
                .await?
                .ok_or_else(|| AppError::not_found("No such user."))?;
            RequestContext {
                user: Some(AuthUser::from(&user)),
                ..Default::default()
            }
        }
        _ => {
            return Err(
                AppError::validation("visitor_id", "Name the visitor by visitor_id, click_id or user_id.").into(),
            );
        }
    };
    let Some(r) = record_response(db, &ctx, action, target).await? else {
        return Err(AppError::not_found("This visitor has no earlier response to a referral link.").into());
    };
    let link = links::Entity::find_by_id(r.link_id)
        .one(db)
        .await?
        .map(|l| l.code)
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(ResponseEnvelope {
            response: ResponseSchema {
                id: r.id.to_string(),
                link,
                action: r.action,
                target_type: r.target_type,
                target_id: r.target_id,
                created_at: rfc3339(r.created_at),
            },
        }),
    ))
}
