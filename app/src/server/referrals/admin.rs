//! The admin's lists of links and responses, and their exports, aggregated in SQL
//! (a count and one query for the page, one per kind of count: never one per row).

use super::links::{counts_with_conversions, to_dto};
use super::responses::action_label;
use crate::dto::{AdminLinkRow, AdminResponseRow, Page};
use crate::error::AppError;
use crate::paging::PageNumber;
use crate::server::config::Config;
use crate::server::entities::links;
use crate::server::sql::{Listing, Where, contains_pattern, paged};
use crate::server::table::{self, Table};
use crate::server::time::{DAY, display, now_ms, parse_instant};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult};

pub const PER_PAGE: u64 = 50;

#[derive(Debug, Clone, Default)]
pub struct LinkFilters {
    /// Matches code, label or owner email.
    pub q: Option<String>,
    /// `active`, `inactive`, `expired`, or all.
    pub status: Option<String>,
    /// Only ownerless links (referrer codes).
    pub ownerless: bool,
    pub campaign_id: Option<i64>,
}

/// The admin's list of links (or of referrer codes), newest first: its page and its
/// export.
fn links_listing(f: &LinkFilters) -> Result<Listing, AppError> {
    Ok(Listing::new(
        "l.*, u.email AS owner_email, c.name AS campaign_name",
        "FROM links l LEFT JOIN users u ON u.id = l.owner_id LEFT JOIN campaigns c ON c.id = l.campaign_id",
        links_where(f)?,
        "l.created_at DESC, l.id DESC",
    ))
}

/// The filters of the links list.
fn links_where(f: &LinkFilters) -> Result<Where, AppError> {
    let mut w = Where::new();
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let p = contains_pattern(&q.to_lowercase());
        w.and(
            "l.code_key LIKE ? ESCAPE '\\' OR LOWER(l.label) LIKE ? ESCAPE '\\' OR u.email LIKE ? ESCAPE '\\'",
            [p.clone().into(), p.clone().into(), p.into()],
        );
    }
    let now = now_ms();
    match f.status.as_deref() {
        Some("active") => {
            w.and(
                "l.active = TRUE AND (l.expires_at IS NULL OR l.expires_at > ?)",
                [now.into()],
            );
        }
        Some("inactive") => {
            w.and("l.active = FALSE", []);
        }
        Some("expired") => {
            w.and("l.expires_at IS NOT NULL AND l.expires_at <= ?", [now.into()]);
        }
        Some("") | Some("all") | None => {}
        Some(_) => {
            return Err(AppError::validation(
                "status",
                "The status is active, inactive, expired or all.",
            ));
        }
    }
    if f.ownerless {
        w.and("l.owner_id IS NULL", []);
    }
    if let Some(c) = f.campaign_id {
        w.and("l.campaign_id = ?", [c.into()]);
    }
    Ok(w)
}

pub async fn list_links(
    db: &impl ConnectionTrait,
    config: &Config,
    f: &LinkFilters,
    page: PageNumber,
) -> Result<Page<AdminLinkRow>, AppError> {
    let page = paged(db, &links_listing(f)?, page, PER_PAGE).await?;
    let ids = page
        .items
        .iter()
        .map(|r| r.try_get::<i64>("", "id"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut counts = counts_with_conversions(db, config, &ids).await?;
    Ok(page.try_map(|r| {
        let l = links::Model::from_query_result(&r, "")?;
        Ok::<_, DbErr>(AdminLinkRow {
            link: to_dto(config, &l, counts.remove(&l.id).unwrap_or_default()),
            owner_email: r.try_get("", "owner_email")?,
            campaign: r.try_get("", "campaign_name")?,
            campaign_id: l.campaign_id.map(|id| id.to_string()),
            auto_created: l.auto_created,
        })
    })?)
}

/// The admin's links (or referrer codes) as a table, with their clicks and sign-ups.
pub fn export_links(db: DatabaseConnection, f: &LinkFilters) -> Result<Table, AppError> {
    let listing = links_listing(f)?.columns(
        "l.code, l.label, l.destination, u.email, c.name AS campaign, l.active, l.expires_at, l.created_at, \
         (SELECT COUNT(*) FROM responses r WHERE r.link_id = l.id AND r.action = 'RESPONDED') AS clicks, \
         (SELECT COUNT(*) FROM users s WHERE s.referred_by_link_id = l.id) AS signups",
    );
    let statement = listing.all(db.get_database_backend());
    Ok(Table::streamed(
        &[
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
        ],
        db,
        statement,
        |r| {
            vec![
                table::text(r, "code"),
                table::text(r, "label"),
                table::text(r, "destination"),
                table::text(r, "email"),
                table::text(r, "campaign"),
                table::boolean(r, "active"),
                table::time(r, "expires_at"),
                table::time(r, "created_at"),
                table::int(r, "clicks"),
                table::int(r, "signups"),
            ]
        },
    ))
}

#[derive(Debug, Clone, Default)]
pub struct ResponseFilters {
    pub action: Option<String>,
    pub link: Option<String>,
    pub user: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct ResponseJoined {
    id: i64,
    created_at: i64,
    action: String,
    code: String,
    email: Option<String>,
    identity_id: Option<i64>,
    target_type: Option<String>,
    target_id: Option<String>,
    http_referrer: Option<String>,
    client_ip: Option<String>,
}

fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The admin's list of responses, newest first: its page and its export.
fn responses_listing(config: &Config, f: &ResponseFilters) -> Result<Listing, AppError> {
    Ok(Listing::new(
        "r.id, r.created_at, r.action, l.code, u.email, r.identity_id, r.target_type, r.target_id, r.http_referrer, \
         r.client_ip",
        "FROM responses r JOIN links l ON l.id = r.link_id LEFT JOIN users u ON u.id = r.user_id",
        responses_where(config, f)?,
        "r.created_at DESC, r.id DESC",
    ))
}

/// The filters of the responses list.
fn responses_where(config: &Config, f: &ResponseFilters) -> Result<Where, AppError> {
    let mut w = Where::new();
    if let Some(a) = given(&f.action) {
        w.and("r.action = ?", [a.to_string().into()]);
    }
    if let Some(code) = given(&f.link) {
        w.and(
            "l.code_key = ?",
            [super::codes::key(code, config.referrals.case_sensitive).into()],
        );
    }
    if let Some(user) = given(&f.user) {
        w.and("u.email = ?", [user.to_lowercase().into()]);
    }
    if let Some(t) = given(&f.target_type) {
        w.and("r.target_type = ?", [t.to_string().into()]);
    }
    if let Some(t) = given(&f.target_id) {
        w.and("r.target_id = ?", [t.to_string().into()]);
    }
    if let Some(v) = given(&f.from) {
        let ms = parse_instant(v, config.timezone)
            .ok_or_else(|| AppError::validation("from", "Use a date like 2026-11-21."))?;
        w.and("r.created_at >= ?", [ms.into()]);
    }
    if let Some(v) = given(&f.to) {
        let ms = parse_instant(v, config.timezone)
            .ok_or_else(|| AppError::validation("to", "Use a date like 2026-11-21."))?;
        let end = if v.len() == 10 { ms + DAY } else { ms };
        w.and("r.created_at < ?", [end.into()]);
    }
    Ok(w)
}

pub async fn list_responses(
    db: &impl ConnectionTrait,
    config: &Config,
    f: &ResponseFilters,
    page: PageNumber,
) -> Result<Page<AdminResponseRow>, AppError> {
    let page = paged(db, &responses_listing(config, f)?, page, PER_PAGE).await?;
    Ok(page.try_map(|row| {
        let r = ResponseJoined::from_query_result(&row, "")?;
        Ok::<_, DbErr>(AdminResponseRow {
            id: r.id.to_string(),
            at: display(r.created_at, config.timezone),
            action_label: action_label(config, &r.action),
            action: r.action,
            link_code: r.code,
            user_email: r.email,
            identity_id: r.identity_id.map(|i| i.to_string()),
            target_type: r.target_type,
            target_id: r.target_id,
            http_referrer: r.http_referrer,
            client_ip: r.client_ip,
        })
    })?)
}

/// The admin's responses as a table, every one the filters select.
pub fn export_responses(db: DatabaseConnection, config: &Config, f: &ResponseFilters) -> Result<Table, AppError> {
    let statement = responses_listing(config, f)?.all(db.get_database_backend());
    Ok(Table::streamed(
        &[
            "id",
            "at",
            "action",
            "link",
            "user_email",
            "identity_id",
            "target_type",
            "target_id",
            "http_referrer",
        ],
        db,
        statement,
        |r| {
            vec![
                table::int(r, "id"),
                table::time(r, "created_at"),
                table::text(r, "action"),
                table::text(r, "code"),
                table::text(r, "email"),
                table::int(r, "identity_id"),
                table::text(r, "target_type"),
                table::text(r, "target_id"),
                table::text(r, "http_referrer"),
            ]
        },
    ))
}
