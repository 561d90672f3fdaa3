//! Confirming and cancelling conversions, listing them, and the conversions credited
//! to links (last click within the window, like `referred_by`).

use super::record::ConversionError;
use super::to_dto;
use crate::dto::{AdminConversionRow, Page};
use crate::error::AppError;
use crate::paging::{PageNumber, parse_limit};
use crate::server::config::Config;
use crate::server::entities::conversions;
use crate::server::money::exponent_of;
use crate::server::money::format_minor_units;
use crate::server::sql::{Listing, Where, paged, stmt};
use crate::server::table::{self, Cell, Table};
use crate::server::time::{DAY, display, parse_instant};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, Value};
use std::collections::{BTreeMap, HashMap};

/// Which conversions to confirm or cancel.
#[derive(Debug, Clone)]
pub enum Selector {
    Id(i64),
    Source {
        source_type: String,
        source_id: String,
        event: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    Confirm,
    Cancel,
}

/// Confirms or cancels every conversion the selector matches, confirmed ones included
/// (a refund cancels a confirmed purchase). Cancelling keeps the row (active = false).
pub async fn change_status(
    db: &impl ConnectionTrait,
    selector: &Selector,
    change: StatusChange,
) -> Result<Vec<conversions::Model>, ConversionError> {
    let b = db.get_database_backend();
    let (clause, values): (&str, Vec<Value>) = match selector {
        Selector::Id(id) => ("id = ?", vec![(*id).into()]),
        Selector::Source {
            source_type,
            source_id,
            event,
        } => (
            "source_type = ? AND source_id = ? AND event = ?",
            vec![
                source_type.clone().into(),
                source_id.clone().into(),
                event.clone().into(),
            ],
        ),
    };
    let set = match change {
        StatusChange::Confirm => "confirmed = TRUE",
        StatusChange::Cancel => "active = FALSE",
    };
    let rows = db
        .query_all(stmt(
            b,
            &format!("UPDATE conversions SET {set} WHERE {clause} RETURNING *"),
            values,
        ))
        .await?;
    if rows.is_empty() {
        return Err(ConversionError::NotFound);
    }
    let mut out: Vec<conversions::Model> = rows
        .iter()
        .map(|r| conversions::Model::from_query_result(r, ""))
        .collect::<Result<_, _>>()?;
    out.sort_by_key(|c| c.id);
    tracing::info!(count = out.len(), ?change, "changed conversion status");
    Ok(out)
}

/// Filters of the API's conversion list.
#[derive(Debug, Clone, Default)]
pub struct ListFilters {
    pub event: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Default true: active and confirmed only.
    pub valid: Option<bool>,
    pub user_id: Option<i64>,
    /// 1 to 500 (default 50), as given.
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Adds the date-range filter on `column`: a bare date means that whole day.
pub fn date_range(
    w: &mut Where,
    column: &str,
    from: &Option<String>,
    to: &Option<String>,
    config: &Config,
) -> Result<(), AppError> {
    if let Some(v) = given(from) {
        let ms = parse_instant(v, config.timezone)
            .ok_or_else(|| AppError::validation("from", "Use an RFC 3339 time or a date like 2026-11-21."))?;
        w.and(&format!("{column} >= ?"), [ms.into()]);
    }
    if let Some(v) = given(to) {
        let ms = parse_instant(v, config.timezone)
            .ok_or_else(|| AppError::validation("to", "Use an RFC 3339 time or a date like 2026-11-21."))?;
        let end = if v.len() == 10 { ms + DAY } else { ms };
        w.and(&format!("{column} < ?"), [end.into()]);
    }
    Ok(())
}

/// The page's conversions, newest first, after `cursor` (`occurred_at.id` of the
/// last item of the previous page), and the next cursor.
pub async fn list(
    db: &impl ConnectionTrait,
    config: &Config,
    f: &ListFilters,
) -> Result<(Vec<conversions::Model>, Option<String>), AppError> {
    let b = db.get_database_backend();
    let mut w = Where::new();
    if let Some(e) = given(&f.event) {
        w.and("event = ?", [e.to_string().into()]);
    }
    date_range(&mut w, "occurred_at", &f.from, &f.to, config)?;
    if f.valid.unwrap_or(true) {
        w.and("active = TRUE AND confirmed = TRUE", []);
    }
    if let Some(u) = f.user_id {
        w.and("user_id = ?", [u.into()]);
    }
    if let Some(c) = given(&f.cursor) {
        let (t, id) = c
            .split_once('.')
            .and_then(|(t, i)| Some((t.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
            .ok_or_else(|| AppError::validation("cursor", "That cursor is not one this API gave out."))?;
        w.and(
            "occurred_at < ? OR (occurred_at = ? AND id < ?)",
            [t.into(), t.into(), id.into()],
        );
    }
    let limit = parse_limit(f.limit.as_deref(), 50, 500)?;
    let mut values = w.values.clone();
    values.push(((limit + 1) as i64).into());
    let rows = conversions::Model::find_by_statement(stmt(
        b,
        &format!(
            "SELECT * FROM conversions{} ORDER BY occurred_at DESC, id DESC LIMIT ?",
            w.sql()
        ),
        values,
    ))
    .all(db)
    .await?;
    let mut rows = rows;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|c| format!("{}.{}", c.occurred_at, c.id))
    } else {
        None
    };
    Ok((rows, next))
}

/// Filters of the admin conversions page.
#[derive(Debug, Clone, Default)]
pub struct AdminFilters {
    pub event: Option<String>,
    /// valid | pending | cancelled | all (default all)
    pub status: Option<String>,
    pub currency: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub user: Option<String>,
    /// The derived `source` of the last touch (dashboards issue).
    pub source: Option<String>,
}

pub const PER_PAGE: u64 = 50;

pub fn status_of(c: &conversions::Model) -> &'static str {
    status(c.active, c.confirmed)
}

fn status(active: bool, confirmed: bool) -> &'static str {
    match (active, confirmed) {
        (false, _) => "cancelled",
        (true, false) => "pending",
        (true, true) => "valid",
    }
}

/// The admin's list of conversions, newest first: its page and its export.
fn admin_listing(config: &Config, f: &AdminFilters) -> Result<Listing, AppError> {
    Ok(Listing::new(
        "c.*, u.email",
        "FROM conversions c LEFT JOIN users u ON u.id = c.user_id",
        admin_where(config, f)?,
        "c.occurred_at DESC, c.id DESC",
    ))
}

/// The filters of the admin conversions list.
fn admin_where(config: &Config, f: &AdminFilters) -> Result<Where, AppError> {
    let mut w = Where::new();
    if let Some(e) = given(&f.event) {
        w.and("c.event = ?", [e.to_string().into()]);
    }
    match given(&f.status) {
        None | Some("all") => {}
        Some("valid") => {
            w.and("c.active = TRUE AND c.confirmed = TRUE", []);
        }
        Some("pending") => {
            w.and("c.active = TRUE AND c.confirmed = FALSE", []);
        }
        Some("cancelled") => {
            w.and("c.active = FALSE", []);
        }
        Some(_) => {
            return Err(AppError::validation(
                "status",
                "The status is valid, pending, cancelled or all.",
            ));
        }
    }
    if let Some(cur) = given(&f.currency) {
        w.and("c.currency = ?", [cur.to_ascii_uppercase().into()]);
    }
    if let Some(u) = given(&f.user) {
        w.and("u.email = ?", [u.to_lowercase().into()]);
    }
    date_range(&mut w, "c.occurred_at", &f.from, &f.to, config)?;
    if let Some(src) = given(&f.source) {
        w.and("c.lt_source = ?", [src.to_lowercase().into()]);
    }
    Ok(w)
}

pub async fn admin_list(
    db: &impl ConnectionTrait,
    config: &Config,
    f: &AdminFilters,
    page: PageNumber,
) -> Result<Page<AdminConversionRow>, AppError> {
    let page = paged(db, &admin_listing(config, f)?, page, PER_PAGE).await?;
    Ok(page.try_map(|r| {
        let c = conversions::Model::from_query_result(&r, "")?;
        Ok::<_, DbErr>(AdminConversionRow {
            conversion: to_dto(&c),
            at: display(c.occurred_at, config.timezone),
            user_email: r.try_get("", "email")?,
            status: status_of(&c).to_string(),
            last_touch_source: c.lt_source,
        })
    })?)
}

/// The admin's conversions as a table, every one the filters select.
pub fn admin_export(db: DatabaseConnection, config: &Config, f: &AdminFilters) -> Result<Table, AppError> {
    let listing = admin_listing(config, f)?.columns(
        "c.id, c.occurred_at, c.event, c.value_minor, c.currency, c.confirmed, c.active, c.identity_id, u.email, \
         c.source_type, c.source_id, c.lt_source",
    );
    let statement = listing.all(db.get_database_backend());
    Ok(Table::streamed(
        &[
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
        ],
        db,
        statement,
        |r| {
            let status = status(
                r.try_get("", "active").unwrap_or(true),
                r.try_get("", "confirmed").unwrap_or(true),
            );
            let mut cells = conversion_cells(r);
            cells.extend([
                Cell::Text(status.into()),
                table::int(r, "identity_id"),
                table::text(r, "email"),
                table::text(r, "source_type"),
                table::text(r, "source_id"),
                table::text(r, "lt_source"),
            ]);
            cells
        },
    ))
}

/// The first cells of a conversion in an export: `id`, `occurred_at`, `event`,
/// `value` (of `value_minor` and `currency`), `currency`.
pub fn conversion_cells(r: &sea_orm::QueryResult) -> Vec<Cell> {
    vec![
        table::int(r, "id"),
        table::time(r, "occurred_at"),
        table::text(r, "event"),
        table::money(r),
        table::text(r, "currency"),
    ]
}

pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<HashMap<i64, conversions::Model>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(conversions::Entity::find()
        .filter(conversions::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

/// Conversions of links: valid conversions whose identity's last click before the
/// conversion, within the window, was on the link. Counted, and valued per currency.
pub async fn of_links(
    db: &impl ConnectionTrait,
    config: &Config,
    link_ids: &[i64],
) -> Result<HashMap<i64, (i64, BTreeMap<String, String>)>, DbErr> {
    let mut out: HashMap<i64, (i64, BTreeMap<String, String>)> = HashMap::new();
    if link_ids.is_empty() {
        return Ok(out);
    }
    let b = db.get_database_backend();
    let list = vec!["?"; link_ids.len()].join(", ");
    let mut values: Vec<Value> = vec![(config.attribution.window_days * DAY).into()];
    values.extend(link_ids.iter().map(|i| Value::from(*i)));
    values.extend(link_ids.iter().map(|i| Value::from(*i)));
    let rows = db
        .query_all(stmt(
            b,
            &format!(
                "SELECT x.link_id, x.currency, COUNT(*) AS n, CAST(SUM(x.value_minor) AS BIGINT) AS v FROM ( \
                   SELECT c.currency, c.value_minor, \
                     (SELECT r.link_id FROM responses r WHERE r.identity_id = c.identity_id AND r.action = 'RESPONDED' \
                      AND r.created_at < c.occurred_at AND r.created_at >= c.occurred_at - ? \
                      ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS link_id \
                   FROM conversions c WHERE c.active = TRUE AND c.confirmed = TRUE AND c.identity_id IN \
                     (SELECT r2.identity_id FROM responses r2 WHERE r2.link_id IN ({list}) AND r2.action = 'RESPONDED') \
                 ) x WHERE x.link_id IN ({list}) GROUP BY x.link_id, x.currency"
            ),
            values,
        ))
        .await?;
    for r in rows {
        let link_id: i64 = r.try_get("", "link_id")?;
        let currency: String = r.try_get("", "currency")?;
        let n: i64 = r.try_get("", "n")?;
        let v: Option<i64> = r.try_get("", "v")?;
        let e = out.entry(link_id).or_default();
        e.0 += n;
        if let Some(v) = v {
            e.1.insert(currency.clone(), format_minor_units(v, exponent_of(&currency)));
        }
    }
    Ok(out)
}
