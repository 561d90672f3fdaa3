//! The landing-capture layer: an adapter of the landing pipeline
//! (`app::server::tracking::landing`) for the pages of this site. A page landing that
//! the pipeline classifies as one (tracked parameters, a `?ref=` code, another site's
//! `Referer`) is recorded before the page is answered, whatever the page's status;
//! the page renders meanwhile.

use app::server::state::AppState;
use app::server::tracking::identity;
use app::server::tracking::landing::{self, LandingInput, Via, Visitor};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

pub async fn capture(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = &state.config;
    let input = LandingInput::from_head(req.method(), req.uri(), req.headers(), config, Via::Page);
    let Some(landing) = landing::classify(&input, config, &state.bots) else {
        return next.run(req).await;
    };
    tracing::debug!(path = %req.uri(), "capture: recording a landing");
    let visitor = Visitor::from_head(req.headers(), req.extensions(), config);
    let recorder = state.recorder();
    let (recorded, mut res) = tokio::join!(
        landing::record(&recorder, &visitor, &landing),
        rendered_whole(next.run(req))
    );
    if let Some(public_id) = recorded.cookie {
        res.headers_mut()
            .append(header::SET_COOKIE, identity::set_cookie(config, &public_id));
    }
    res
}

/// The response with its body rendered to the end. A streamed page renders only while
/// it is sent, which for a landing is after its commit; rendered whole, it renders
/// while the commit is under way, on the thread the request started on. The visitor
/// sees no difference: nothing is sent before the commit either way, and pages render
/// in `SsrMode::Async` (whole, once their data is in). The README's performance
/// section has the figures.
async fn rendered_whole(res: impl std::future::Future<Output = Response>) -> Response {
    let (mut parts, body) = res.await.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => {
            parts.headers.remove(header::TRANSFER_ENCODING);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(e) => {
            tracing::error!(error = %e, "a landing page failed while rendering");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
