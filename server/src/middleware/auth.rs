//! Resolves the logged-in user (only when there is a session cookie) and guards the
//! pages that need one: visitors go to the login page with a return path, members get
//! a 403 on admin pages.

use app::server::accounts::CurrentUser;
use app::server::accounts::flash_cookie;
use app::server::accounts::session::{TakenFlashes, resolve};
use app::server::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use tower_sessions::Session;

fn needs_login(path: &str) -> bool {
    ["/account", "/links", "/admin"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

fn is_admin_page(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// Puts `CurrentUser` into request extensions. Without a session cookie this reads
/// nothing. A visitor's one-time message (`flash_cookie`) is read here, and its cookie
/// cleared once a page has shown it.
pub async fn current_user(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let user = match req.extensions().get::<Session>() {
        Some(session) if session.id().is_some() => resolve(&state.db, session).await,
        _ => None,
    };
    req.extensions_mut().insert(CurrentUser(user));
    let flashes = if flash_cookie::present(req.headers()) {
        let message = state.flash_key.from_headers(req.headers(), app::server::time::now_ms());
        TakenFlashes::with_cookie(true, message)
    } else {
        TakenFlashes::default()
    };
    req.extensions_mut().insert(flashes.clone());
    let mut res = next.run(req).await;
    let sets_new = res
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(flash_cookie::COOKIE.as_bytes()));
    if flashes.clear_cookie() && !sets_new {
        res.headers_mut().append(
            http::header::SET_COOKIE,
            flash_cookie::clear_cookie(&state.config.server),
        );
    }
    res
}

/// Runs after landing capture, so that a landing on a guarded page is still recorded.
pub async fn guard(req: Request, next: Next) -> Response {
    let user = req.extensions().get::<CurrentUser>().and_then(|c| c.0.clone());
    let path = req.uri().path().to_string();
    let is_page = req.method() == http::Method::GET || req.method() == http::Method::HEAD;
    if is_page && needs_login(&path) && user.is_none() {
        let target = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| path.clone());
        let to = format!("/login?next={}", app::util::urlencode(&target));
        return Redirect::to(&to).into_response();
    }
    let forbidden = is_page && is_admin_page(&path) && user.as_ref().is_some_and(|u| !u.is_admin());
    let mut res = next.run(req).await;
    if forbidden {
        // The admin layout renders its "not allowed" page for members; the status says so too.
        *res.status_mut() = StatusCode::FORBIDDEN;
    }
    res
}
