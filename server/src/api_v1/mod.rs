//! The REST API for integrators, `/api/v1`: JSON in and out, bearer API keys (never
//! cookies), bodies up to 64 KB with unknown fields refused, every error in the
//! contract's shape, a per-key rate limit, and an OpenAPI 3 document generated from
//! these handlers at `/api/v1/openapi.json`.

mod attribution;
mod conversions;
mod extract;
mod links;
mod responses;

use crate::errors::json_error;
use app::error::AppError;
use app::server::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use extract::MAX_BODY;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tributary API", version = "1", description = "Conversions, responses and referral links for integrators. Authenticate with `Authorization: Bearer <API key>`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(extract::ErrorBody, extract::ErrorDetail))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The API's routes and their OpenAPI document, made from the same declarations.
pub fn api(state: AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(conversions::create, conversions::list))
        .routes(routes!(conversions::confirm))
        .routes(routes!(conversions::cancel))
        .routes(routes!(responses::create))
        .routes(routes!(links::create))
        .routes(routes!(attribution::report))
        .routes(routes!(attribution::explain_conversion))
        .layer(axum::middleware::from_fn_with_state(state, authenticate))
        .split_for_parts();
    doc.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    (router, doc)
}

/// `/api/v1` with its document.
pub fn router(state: AppState) -> Router<AppState> {
    let (api, doc) = api(state);
    let doc = std::sync::Arc::new(doc);
    Router::new()
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { Json((*doc).clone()) }
            }),
        )
        .nest("/api/v1", api)
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|| async { json_error(AppError::not_found("There is no such API endpoint.")) }),
        )
}

/// The key of this request (set by `authenticate`).
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyId(pub i64);

/// Bearer key authentication and the per-key rate limit.
async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let secret = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(secret) = secret else {
        return json_error(AppError::unauthorized("Send an API key: Authorization: Bearer <key>."));
    };
    let key = match app::server::api_keys::authenticate(&state.db.read, secret).await {
        Ok(Some(k)) => k,
        Ok(None) => return json_error(AppError::unauthorized("That API key is not valid, or it was revoked.")),
        Err(e) => return json_error(app::server::internal(e)),
    };
    if let Err(retry) = state.limits.api_per_key.hit(&key.id) {
        return json_error(AppError::rate_limited(retry));
    }
    req.extensions_mut().insert(ApiKeyId(key.id));
    next.run(req).await
}

/// Errors of the API, in the contract's shape.
pub struct ApiError(pub AppError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let too_large = self.0.code == app::error::ErrorCode::PayloadTooLarge;
        let mut res = json_error(self.0);
        if too_large {
            // The rest of the body is never read: the client must not reuse this connection.
            res.headers_mut()
                .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        }
        res
    }
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
