//! Probes: `/healthz/live` (the process answers; no database) and `/healthz`
//! (readiness: the database answers and writes succeed).

use app::server::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;
use std::time::Duration;

/// `GET /healthz/live`: 200 while the process serves requests.
pub async fn live() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// `GET /healthz`: 200 when the database answers and writes succeed; 503 with the
/// reason otherwise. While the writer reports failing writes (reads may still answer),
/// a small write is tried: its success ends the failure.
pub async fn healthz(State(state): State<AppState>) -> Response {
    if !state.db.ping().await {
        return unavailable("database", "The database is not answering.", state.writer.lost());
    }
    if state.writer.failing() {
        if probe_write(&state).await {
            state.writer.write_succeeded();
        } else {
            return unavailable(
                "writes",
                "Writes to the database are failing: clicks and landings are not being recorded.",
                state.writer.lost(),
            );
        }
    }
    (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
}

fn unavailable(reason: &str, message: &str, lost: u64) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({
            "status": "unavailable",
            "reason": reason,
            "writes_lost": lost,
            "error": {"code": "internal", "message": message},
        })),
    )
        .into_response()
}

/// One small committed write, within two seconds.
async fn probe_write(state: &AppState) -> bool {
    use sea_orm::ConnectionTrait;
    let db = &state.db.write;
    let stmt = app::server::sql::stmt(
        db.get_database_backend(),
        "INSERT INTO app_meta (key, value) VALUES ('health_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [app::server::time::now_ms().to_string().into()],
    );
    matches!(
        tokio::time::timeout(Duration::from_secs(2), db.execute(stmt)).await,
        Ok(Ok(_))
    )
}
