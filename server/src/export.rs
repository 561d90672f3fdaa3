//! CSV exports of the admin tables, with the same filters as on screen
//! (`/admin/export/<table>.csv?<the page's query>`). Tables of groups are small and
//! written at once; tables of rows stream from the database in chunks, so a million
//! rows never sit in memory. Cells that a spreadsheet would run as a formula (starting
//! with `=`, `+`, `-`, `@`, a tab or a carriage return) are neutralised with a leading `'`:
//! UTM values come from strangers.

use crate::errors::error_response;
use app::dto::ExplorerParams;
use app::error::AppError;
use app::server::accounts::CurrentUser;
use app::server::money::{exponent_of, format_minor_units};
use app::server::state::AppState;
use app::server::time::rfc3339;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::response::Response;
use futures::StreamExt;
use http::{HeaderValue, header};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Statement, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A cell: text from anywhere (neutralised), or a number we formatted.
pub enum Cell {
    Text(String),
    Num(String),
}

/// Makes a text cell safe to open in a spreadsheet.
pub fn neutralise(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn record(cells: Vec<Cell>) -> Vec<String> {
    cells
        .into_iter()
        .map(|c| match c {
            Cell::Text(t) => neutralise(&t),
            Cell::Num(n) => n,
        })
        .collect()
}

fn csv_bytes(header: &[String], rows: Vec<Vec<Cell>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(record(r));
    }
    w.into_inner().unwrap_or_default()
}

fn attachment(name: &str, body: Body) -> Response {
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

/// Streams the rows of `stmt` as CSV, converting each row with `to_cells`.
fn stream(
    name: &str,
    db: DatabaseConnection,
    header: Vec<String>,
    stmt: Statement,
    to_cells: fn(&QueryResult) -> Vec<Cell>,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(8);
    tokio::spawn(async move {
        use sea_orm::StreamTrait;
        let new_writer = || {
            csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::with_capacity(72 * 1024))
        };
        let mut w = new_writer();
        let _ = w.write_record(&header);
        let mut rows = match db.stream(stmt).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "export query failed");
                let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                return;
            }
        };
        let mut in_chunk = 0usize;
        while let Some(row) = rows.next().await {
            match row {
                Ok(r) => {
                    let _ = w.write_record(record(to_cells(&r)));
                    in_chunk += 1;
                }
                Err(e) => {
                    tracing::error!(error = %e, "export stream failed");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            }
            if in_chunk >= 500 {
                in_chunk = 0;
                let chunk = std::mem::replace(&mut w, new_writer()).into_inner().unwrap_or_default();
                if tx.send(Ok(bytes::Bytes::from(chunk))).await.is_err() {
                    return; // the client went away
                }
            }
        }
        drop(rows);
        let chunk = w.into_inner().unwrap_or_default();
        let _ = tx.send(Ok(bytes::Bytes::from(chunk))).await;
    });
    let body = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    attachment(name, Body::from_stream(body))
}

fn text(r: &QueryResult, col: &str) -> Cell {
    Cell::Text(r.try_get::<Option<String>>("", col).ok().flatten().unwrap_or_default())
}

fn int(r: &QueryResult, col: &str) -> Cell {
    Cell::Num(
        r.try_get::<Option<i64>>("", col)
            .ok()
            .flatten()
            .map(|v| v.to_string())
            .unwrap_or_default(),
    )
}

fn time(r: &QueryResult, col: &str) -> Cell {
    Cell::Num(
        r.try_get::<Option<i64>>("", col)
            .ok()
            .flatten()
            .map(rfc3339)
            .unwrap_or_default(),
    )
}

fn money(r: &QueryResult) -> Cell {
    let currency: String = r.try_get("", "currency").unwrap_or_default();
    Cell::Num(
        r.try_get::<Option<i64>>("", "value_minor")
            .ok()
            .flatten()
            .map(|v| format_minor_units(v, exponent_of(&currency)))
            .unwrap_or_default(),
    )
}

/// `name, conversions, value_EUR, value_USD, ...`: one value column per currency present.
fn grouped(name: &str, key_header: &str, rows: Vec<(String, f64, BTreeMap<String, String>)>) -> Response {
    let currencies: BTreeSet<String> = rows.iter().flat_map(|r| r.2.keys().cloned()).collect();
    let mut header = vec![key_header.to_string(), "conversions".to_string()];
    header.extend(currencies.iter().map(|c| format!("value_{c}")));
    let body = rows
        .into_iter()
        .map(|(k, n, v)| {
            let mut cells = vec![Cell::Text(k), Cell::Num(trim_float(n))];
            cells.extend(
                currencies
                    .iter()
                    .map(|c| Cell::Num(v.get(c).cloned().unwrap_or_default())),
            );
            cells
        })
        .collect();
    attachment(name, Body::from(csv_bytes(&header, body)))
}

fn trim_float(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.6}").trim_end_matches('0').to_string()
    }
}

fn q<'a>(params: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    params.get(k).map(String::as_str).filter(|v| !v.trim().is_empty())
}

fn explorer_params(params: &HashMap<String, String>) -> ExplorerParams {
    let mut map = leptos_router::params::ParamsMap::new();
    for (k, v) in params {
        map.insert(k.clone(), v.clone());
    }
    app::pages::admin::attribution::params_from(&map)
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
    match build(&state, &file, &params).await {
        Ok(res) => res,
        Err(e) => {
            let mut res = error_response(&req, e);
            res.headers_mut().remove(header::CONTENT_DISPOSITION);
            res
        }
    }
}

async fn build(st: &AppState, file: &str, params: &HashMap<String, String>) -> Result<Response, AppError> {
    use app::server::dashboards::overview;
    use app::server::range::DateRange;
    let name = file
        .strip_suffix(".csv")
        .ok_or_else(|| AppError::not_found("Exports end in .csv."))?;
    let db = &st.db.read;
    let config = &st.config;
    let range = || {
        DateRange::resolve(
            q(params, "range"),
            q(params, "from"),
            q(params, "to"),
            app::server::time::now_ms(),
            config.timezone,
        )
    };
    let backend = db.get_database_backend();
    Ok(match name {
        n if n.starts_with("top-") => {
            let dim = &n[4..];
            if !overview::DIMENSIONS.iter().any(|d| d.0 == dim) {
                return Err(AppError::not_found("No such table."));
            }
            let r = range()?;
            let all = overview::credited(db, dim, r.current, None).await?;
            let mut rows: Vec<(String, f64, BTreeMap<String, String>)> = all
                .into_iter()
                .map(|(k, (n, v))| {
                    (
                        k,
                        n as f64,
                        v.into_iter()
                            .map(|(c, m)| (c.clone(), format_minor_units(m, exponent_of(&c))))
                            .collect(),
                    )
                })
                .collect();
            rows.sort_by(|a, b| {
                b.1.partial_cmp(&a.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            });
            grouped(file, dim, rows)
        }
        "attribution" => {
            let r = app::api::explorer::resolve(&explorer_params(params), config)?;
            let report = app::server::attribution::reports::report(db, &r.settings, &r.filter, r.group).await?;
            grouped(
                file,
                r.group.as_str(),
                report
                    .items
                    .into_iter()
                    .map(|i| (i.key, i.conversions, i.value))
                    .collect(),
            )
        }
        "compare" => {
            let r = app::api::explorer::resolve(&explorer_params(params), config)?;
            let c = app::server::attribution::reports::compare(db, &r.settings, &r.filter, r.group).await?;
            let mut header = vec![r.group.as_str().to_string()];
            header.extend(c.models.iter().cloned());
            let rows = c
                .rows
                .into_iter()
                .map(|row| {
                    let mut cells = vec![Cell::Text(row.key)];
                    cells.extend(row.conversions.into_iter().map(|x| Cell::Num(trim_float(x))));
                    cells
                })
                .collect();
            attachment(file, Body::from(csv_bytes(&header, rows)))
        }
        "drill" => {
            let r = app::api::explorer::resolve(&explorer_params(params), config)?;
            let key = q(params, "key").unwrap_or("");
            let (with, sql, values) =
                app::server::attribution::engine::drill_query(&r.settings, &r.filter, r.group, key);
            let sql = format!(
                "{with} SELECT c.id, c.occurred_at, c.event, c.value_minor, c.currency, d.share FROM ({sql}) d JOIN conversions c ON c.id = d.cid ORDER BY c.id DESC"
            );
            let header = ["conversion_id", "occurred_at", "event", "value", "currency", "share"]
                .map(String::from)
                .to_vec();
            stream(
                file,
                db.clone(),
                header,
                app::server::sql::stmt(backend, &sql, values),
                |r| {
                    vec![
                        int(r, "id"),
                        time(r, "occurred_at"),
                        text(r, "event"),
                        money(r),
                        text(r, "currency"),
                        Cell::Num(r.try_get::<f64>("", "share").map(trim_float).unwrap_or_default()),
                    ]
                },
            )
        }
        "conversions" => {
            use app::server::conversions::manage;
            let f = manage::AdminFilters {
                event: q(params, "event").map(String::from),
                status: q(params, "status").map(String::from),
                currency: q(params, "currency").map(String::from),
                from: q(params, "from").map(String::from),
                to: q(params, "to").map(String::from),
                user: q(params, "user").map(String::from),
                source: q(params, "source").map(String::from),
                page: 1,
            };
            let w = manage::admin_where(config, &f)?;
            let sql = format!(
                "SELECT c.id, c.occurred_at, c.event, c.value_minor, c.currency, c.confirmed, c.active, c.identity_id, u.email, \
                 c.source_type, c.source_id, c.lt_source {}{} ORDER BY c.occurred_at DESC, c.id DESC",
                manage::ADMIN_FROM,
                w.sql()
            );
            let header = [
                "id",
                "occurred_at",
                "event",
                "value",
                "currency",
                "status",
                "identity_id",
                "user_email",
                "source_type",
                "source_id",
                "last_touch_source",
            ]
            .map(String::from)
            .to_vec();
            stream(
                file,
                db.clone(),
                header,
                app::server::sql::stmt(backend, &sql, w.values),
                |r| {
                    let (active, confirmed): (bool, bool) = (
                        r.try_get("", "active").unwrap_or(true),
                        r.try_get("", "confirmed").unwrap_or(true),
                    );
                    let status = if !active {
                        "cancelled"
                    } else if !confirmed {
                        "pending"
                    } else {
                        "valid"
                    };
                    vec![
                        int(r, "id"),
                        time(r, "occurred_at"),
                        text(r, "event"),
                        money(r),
                        text(r, "currency"),
                        Cell::Text(status.into()),
                        int(r, "identity_id"),
                        text(r, "email"),
                        text(r, "source_type"),
                        text(r, "source_id"),
                        text(r, "lt_source"),
                    ]
                },
            )
        }
        "touchpoints" => {
            let f = app::dto::TouchpointFilters {
                utm_source: q(params, "utm_source").map(String::from),
                utm_medium: q(params, "utm_medium").map(String::from),
                utm_campaign: q(params, "utm_campaign").map(String::from),
                referrer_host: q(params, "referrer_host").map(String::from),
                from: q(params, "from").map(String::from),
                to: q(params, "to").map(String::from),
                page: None,
            };
            let w = app::server::tracking::admin::touch_where(&f, config.timezone)?;
            let sql = format!(
                "SELECT t.id, t.created_at, t.identity_id, t.source, t.medium, t.channel, t.utm_source, t.utm_medium, t.utm_campaign, \
                 t.utm_term, t.utm_content, t.path, t.http_referrer FROM touchpoints t{} ORDER BY t.created_at DESC, t.id DESC",
                w.sql()
            );
            let header = [
                "id",
                "at",
                "identity_id",
                "source",
                "medium",
                "channel",
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "utm_term",
                "utm_content",
                "path",
                "http_referrer",
            ]
            .map(String::from)
            .to_vec();
            stream(
                file,
                db.clone(),
                header,
                app::server::sql::stmt(backend, &sql, w.values),
                |r| {
                    let mut cells = vec![int(r, "id"), time(r, "created_at"), int(r, "identity_id")];
                    for c in [
                        "source",
                        "medium",
                        "channel",
                        "utm_source",
                        "utm_medium",
                        "utm_campaign",
                        "utm_term",
                        "utm_content",
                        "path",
                        "http_referrer",
                    ] {
                        cells.push(text(r, c));
                    }
                    cells
                },
            )
        }
        "links" | "referrers" => {
            use app::server::referrals::admin;
            let f = admin::LinkFilters {
                q: q(params, "q").map(String::from),
                status: q(params, "status").map(String::from),
                ownerless: name == "referrers",
                campaign_id: q(params, "campaign").and_then(|c| c.parse().ok()),
                page: 1,
            };
            let w = admin::links_where(&f)?;
            let sql = format!(
                "SELECT l.code, l.label, l.destination, u.email, c.name AS campaign, l.active, l.expires_at, l.created_at, \
                 (SELECT COUNT(*) FROM responses r WHERE r.link_id = l.id AND r.action = 'RESPONDED') AS clicks, \
                 (SELECT COUNT(*) FROM users s WHERE s.referred_by_link_id = l.id) AS signups {}{} ORDER BY l.created_at DESC, l.id DESC",
                admin::LINKS_FROM,
                w.sql()
            );
            let header = [
                "code",
                "label",
                "destination",
                "owner_email",
                "campaign",
                "active",
                "expires_at",
                "created_at",
                "clicks",
                "signups",
            ]
            .map(String::from)
            .to_vec();
            stream(
                file,
                db.clone(),
                header,
                app::server::sql::stmt(backend, &sql, w.values),
                |r| {
                    vec![
                        text(r, "code"),
                        text(r, "label"),
                        text(r, "destination"),
                        text(r, "email"),
                        text(r, "campaign"),
                        Cell::Num(
                            r.try_get::<bool>("", "active")
                                .map(|b| b.to_string())
                                .unwrap_or_default(),
                        ),
                        time(r, "expires_at"),
                        time(r, "created_at"),
                        int(r, "clicks"),
                        int(r, "signups"),
                    ]
                },
            )
        }
        "responses" => {
            use app::server::referrals::admin;
            let f = admin::ResponseFilters {
                action: q(params, "action").map(String::from),
                link: q(params, "link").map(String::from),
                user: q(params, "user").map(String::from),
                from: q(params, "from").map(String::from),
                to: q(params, "to").map(String::from),
                target_type: q(params, "target_type").map(String::from),
                target_id: q(params, "target_id").map(String::from),
                page: 1,
            };
            let w = admin::responses_where(config, &f)?;
            let sql = format!(
                "SELECT r.id, r.created_at, r.action, l.code, u.email, r.identity_id, r.target_type, r.target_id, r.http_referrer {}{} ORDER BY r.created_at DESC, r.id DESC",
                admin::RESPONSES_FROM,
                w.sql()
            );
            let header = [
                "id",
                "at",
                "action",
                "link",
                "user_email",
                "identity_id",
                "target_type",
                "target_id",
                "http_referrer",
            ]
            .map(String::from)
            .to_vec();
            stream(
                file,
                db.clone(),
                header,
                app::server::sql::stmt(backend, &sql, w.values),
                |r| {
                    vec![
                        int(r, "id"),
                        time(r, "created_at"),
                        text(r, "action"),
                        text(r, "code"),
                        text(r, "email"),
                        int(r, "identity_id"),
                        text(r, "target_type"),
                        text(r, "target_id"),
                        text(r, "http_referrer"),
                    ]
                },
            )
        }
        "users" => {
            let mut values: Vec<Value> = Vec::new();
            let mut filter = String::new();
            if let Some(s) = q(params, "q") {
                filter = " WHERE u.email LIKE ? ESCAPE '\\'".into();
                values.push(app::server::sql::contains_pattern(&s.to_lowercase()).into());
            }
            let sql = format!(
                "SELECT u.id, u.email, u.display_name, u.role, u.active, u.created_at, l.code AS referred_by, c.name AS campaign \
                 FROM users u LEFT JOIN links l ON l.id = u.referred_by_link_id LEFT JOIN campaigns c ON c.id = l.campaign_id{filter} \
                 ORDER BY u.created_at DESC, u.id DESC"
            );
            let header = [
                "id",
                "email",
                "display_name",
                "role",
                "active",
                "joined",
                "referred_by",
                "referred_by_campaign",
            ]
            .map(String::from)
            .to_vec();
            stream(
                file,
                db.clone(),
                header,
                app::server::sql::stmt(backend, &sql, values),
                |r| {
                    vec![
                        int(r, "id"),
                        text(r, "email"),
                        text(r, "display_name"),
                        text(r, "role"),
                        Cell::Num(
                            r.try_get::<bool>("", "active")
                                .map(|b| b.to_string())
                                .unwrap_or_default(),
                        ),
                        time(r, "created_at"),
                        text(r, "referred_by"),
                        text(r, "campaign"),
                    ]
                },
            )
        }
        "campaigns" => {
            let r = range()?;
            let perf = app::server::dashboards::campaigns::performance(db, config, &r).await?;
            let currencies: BTreeSet<String> = perf.campaigns.iter().flat_map(|c| c.value.keys().cloned()).collect();
            let mut header = [
                "campaign",
                "pattern",
                "pattern_kind",
                "codes",
                "clicks",
                "signups",
                "unique_visitors",
                "conversions",
            ]
            .map(String::from)
            .to_vec();
            header.extend(currencies.iter().map(|c| format!("value_{c}")));
            let rows = perf
                .campaigns
                .into_iter()
                .map(|p| {
                    let c = p.campaign;
                    let mut cells = vec![
                        Cell::Text(c.name),
                        Cell::Text(c.pattern),
                        Cell::Text(c.pattern_kind),
                        Cell::Num(c.codes.to_string()),
                        Cell::Num(c.clicks.to_string()),
                        Cell::Num(c.signups.to_string()),
                        Cell::Num(c.unique_visitors.to_string()),
                        Cell::Num(p.conversions.to_string()),
                    ];
                    cells.extend(
                        currencies
                            .iter()
                            .map(|cur| Cell::Num(p.value.get(cur).cloned().unwrap_or_default())),
                    );
                    cells
                })
                .collect();
            attachment(file, Body::from(csv_bytes(&header, rows)))
        }
        "leaderboard-users" | "leaderboard-links" => {
            let r = range()?;
            let b = app::server::dashboards::leaderboard::leaderboard(db, config, &r).await?;
            let by_value = q(params, "by") == Some("value");
            let rows = match (name == "leaderboard-users", by_value) {
                (true, false) => b.users_by_signups,
                (true, true) => b.users_by_value,
                (false, false) => b.links_by_signups,
                (false, true) => b.links_by_value,
            };
            let currencies: BTreeSet<String> = rows.iter().flat_map(|r| r.value.keys().cloned()).collect();
            let mut header = ["name", "signups", "conversions"].map(String::from).to_vec();
            header.extend(currencies.iter().map(|c| format!("value_{c}")));
            let body = rows
                .into_iter()
                .map(|l| {
                    let mut cells = vec![
                        Cell::Text(l.name),
                        Cell::Num(l.signups.to_string()),
                        Cell::Num(l.conversions.to_string()),
                    ];
                    cells.extend(
                        currencies
                            .iter()
                            .map(|c| Cell::Num(l.value.get(c).cloned().unwrap_or_default())),
                    );
                    cells
                })
                .collect();
            attachment(file, Body::from(csv_bytes(&header, body)))
        }
        _ => return Err(AppError::not_found("No such table.")),
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
