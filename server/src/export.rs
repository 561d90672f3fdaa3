//! CSV exports of the admin tables, with the same filters as on screen
//! (`/admin/export/<table>.csv?<the page's query>`): this routes each table to the
//! domain function that builds it (`app::server::table::Table`), and writes it as CSV.
//! Tables of groups are small and written at once; tables of rows stream from the
//! database in chunks, so a million rows never sit in memory. Cells that a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return) are neutralised with a leading `'`: UTM values come from strangers.

use crate::errors::error_response;
use app::dto::{ExplorerParams, TouchpointFilters};
use app::error::AppError;
use app::server::accounts::{CurrentUser, service::export_users};
use app::server::attribution::explorer;
use app::server::conversions::manage;
use app::server::dashboards::{campaigns, leaderboard, overview};
use app::server::range::DateRange;
use app::server::referrals::admin;
use app::server::state::AppState;
use app::server::table::{Cell, Row, Rows, Table};
use app::server::time::now_ms;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::response::Response;
use futures::StreamExt;
use http::{HeaderValue, header};
use std::collections::HashMap;

/// Makes a text cell safe to open in a spreadsheet.
pub fn neutralise(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn record(cells: Row) -> Vec<String> {
    cells
        .into_iter()
        .map(|c| match c {
            Cell::Text(t) => neutralise(&t),
            Cell::Num(n) => n,
        })
        .collect()
}

/// CSV lines of `rows` (and of the header, when given).
fn csv_bytes(header: Option<&[String]>, rows: Vec<Row>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(72 * 1024));
    if let Some(h) = header {
        let _ = w.write_record(h);
    }
    for r in rows {
        let _ = w.write_record(record(r));
    }
    w.into_inner().unwrap_or_default()
}

/// The table as a CSV attachment: at once, or chunk by chunk as they are read.
fn attachment(name: &str, table: Table) -> Response {
    let body = match table.rows {
        Rows::All(rows) => Body::from(csv_bytes(Some(&table.header), rows)),
        Rows::Chunks(chunks) => {
            let head =
                futures::stream::once(
                    async move { Ok(bytes::Bytes::from(csv_bytes(Some(&table.header), Vec::new()))) },
                );
            let rest = chunks.map(|chunk| match chunk {
                Ok(rows) => Ok(bytes::Bytes::from(csv_bytes(None, rows))),
                Err(e) => {
                    tracing::error!(error = %e, "export stream failed");
                    Err(std::io::Error::other("export failed"))
                }
            });
            Body::from_stream(head.chain(rest))
        }
    };
    let mut res = Response::new(body);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// `GET /admin/export/{table}.csv`: admins only.
pub async fn export(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let user = req.extensions().get::<CurrentUser>().and_then(|c| c.0.clone());
    match user {
        Some(u) if u.is_admin() => {}
        Some(_) => return error_response(&req, AppError::forbidden()),
        None => return error_response(&req, AppError::unauthorized("Log in to export.")),
    }
    match table(&state, &file, &params).await {
        Ok(t) => attachment(&file, t),
        Err(e) => {
            let mut res = error_response(&req, e);
            res.headers_mut().remove(header::CONTENT_DISPOSITION);
            res
        }
    }
}

/// The table a file names, built with the page's filters.
async fn table(st: &AppState, file: &str, params: &HashMap<String, String>) -> Result<Table, AppError> {
    let name = file
        .strip_suffix(".csv")
        .ok_or_else(|| AppError::not_found("Exports end in .csv."))?;
    let q = |k: &str| params.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let db = &st.db.read;
    let config = &st.config;
    let range = || {
        DateRange::resolve(
            q("range").as_deref(),
            q("from").as_deref(),
            q("to").as_deref(),
            now_ms(),
            config.timezone,
        )
    };
    let explorer = || explorer::resolve(&ExplorerParams::from_query(q), config, now_ms());
    let not_found = || AppError::not_found("No such table.");
    Ok(match name {
        n if n.starts_with("top-") => overview::top_table(db, &n[4..], range()?.current)
            .await?
            .ok_or_else(not_found)?,
        "attribution" => explorer::report_table(db, &explorer()?).await?,
        "compare" => explorer::compare_table(db, &explorer()?).await?,
        "drill" => explorer::drill_table(db.clone(), &explorer()?, &q("key").unwrap_or_default()),
        "conversions" => {
            let f = manage::AdminFilters {
                event: q("event"),
                status: q("status"),
                currency: q("currency"),
                from: q("from"),
                to: q("to"),
                user: q("user"),
                source: q("source"),
            };
            manage::admin_export(db.clone(), config, &f)?
        }
        "touchpoints" => {
            let f = TouchpointFilters {
                utm_source: q("utm_source"),
                utm_medium: q("utm_medium"),
                utm_campaign: q("utm_campaign"),
                referrer_host: q("referrer_host"),
                from: q("from"),
                to: q("to"),
            };
            app::server::tracking::admin::export(db.clone(), &f, config.timezone)?
        }
        "links" | "referrers" => {
            let f = admin::LinkFilters {
                q: q("q"),
                status: q("status"),
                ownerless: name == "referrers",
                campaign_id: q("campaign").and_then(|c| c.parse().ok()),
            };
            admin::export_links(db.clone(), &f)?
        }
        "responses" => {
            let f = admin::ResponseFilters {
                action: q("action"),
                link: q("link"),
                user: q("user"),
                from: q("from"),
                to: q("to"),
                target_type: q("target_type"),
                target_id: q("target_id"),
            };
            admin::export_responses(db.clone(), config, &f)?
        }
        "users" => export_users(db.clone(), &q("q").unwrap_or_default()),
        "campaigns" => campaigns::performance_table(db, config, &range()?).await?,
        "leaderboard-users" | "leaderboard-links" => {
            let by_value = q("by").as_deref() == Some("value");
            leaderboard::leaderboard_table(db, config, &range()?, name == "leaderboard-users", by_value).await?
        }
        _ => return Err(not_found()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised() {
        for (raw, want) in [
            ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("google", "google"),
            ("", ""),
        ] {
            assert_eq!(neutralise(raw), want);
        }
    }
}
