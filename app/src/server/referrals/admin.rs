//! The admin's lists of links and responses, aggregated in SQL (one query for the
//! page, one per kind of count: never one per row).

use super::links::{counts_with_conversions, to_dto};
use super::responses::action_label;
use crate::dto::{AdminLinkRow, AdminResponseRow, Page};
use crate::error::AppError;
use crate::server::config::Config;
use crate::server::entities::links;
use crate::server::sql::{Where, contains_pattern, stmt};
use crate::server::time::{DAY, display, now_ms, parse_instant};
use sea_orm::{ConnectionTrait, FromQueryResult};

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
    pub page: u64,
}

#[derive(Debug, FromQueryResult)]
struct LinkJoined {
    id: i64,
    owner_email: Option<String>,
    campaign_name: Option<String>,
}

pub const LINKS_FROM: &str =
    "FROM links l LEFT JOIN users u ON u.id = l.owner_id LEFT JOIN campaigns c ON c.id = l.campaign_id";

/// The filters of the links list (also used by its CSV export).
pub fn links_where(f: &LinkFilters) -> Result<Where, AppError> {
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
) -> Result<Page<AdminLinkRow>, AppError> {
    let b = db.get_database_backend();
    let w = links_where(f)?;
    let from = LINKS_FROM;
    let total: i64 = db
        .query_one(stmt(
            b,
            &format!("SELECT COUNT(*) AS n {from}{}", w.sql()),
            w.values.clone(),
        ))
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    let page = f.page.max(1);
    let mut values = w.values.clone();
    values.extend([(PER_PAGE as i64).into(), (((page - 1) * PER_PAGE) as i64).into()]);
    let joined = LinkJoined::find_by_statement(stmt(
        b,
        &format!(
            "SELECT l.id, u.email AS owner_email, c.name AS campaign_name {from}{} ORDER BY l.created_at DESC, l.id DESC LIMIT ? OFFSET ?",
            w.sql()
        ),
        values,
    ))
    .all(db)
    .await?;
    let ids: Vec<i64> = joined.iter().map(|j| j.id).collect();
    let models: std::collections::HashMap<i64, links::Model> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        links::Entity::find()
            .filter(links::Column::Id.is_in(ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect()
    };
    let mut c = counts_with_conversions(db, config, &ids).await?;
    let items = joined
        .into_iter()
        .filter_map(|j| {
            let l = models.get(&j.id)?;
            Some(AdminLinkRow {
                link: to_dto(config, l, c.remove(&l.id).unwrap_or_default()),
                owner_email: j.owner_email,
                campaign: j.campaign_name,
                campaign_id: l.campaign_id.map(|id| id.to_string()),
                auto_created: l.auto_created,
            })
        })
        .collect();
    Ok(Page {
        items,
        page,
        per_page: PER_PAGE,
        total: total as u64,
    })
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
    pub page: u64,
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

pub const RESPONSES_FROM: &str =
    "FROM responses r JOIN links l ON l.id = r.link_id LEFT JOIN users u ON u.id = r.user_id";

/// The filters of the responses list (also used by its CSV export).
pub fn responses_where(config: &Config, f: &ResponseFilters) -> Result<Where, AppError> {
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
) -> Result<Page<AdminResponseRow>, AppError> {
    let b = db.get_database_backend();
    let w = responses_where(config, f)?;
    let from = RESPONSES_FROM;
    let total: i64 = db
        .query_one(stmt(
            b,
            &format!("SELECT COUNT(*) AS n {from}{}", w.sql()),
            w.values.clone(),
        ))
        .await?
        .map(|r| r.try_get("", "n"))
        .transpose()?
        .unwrap_or(0);
    let page = f.page.max(1);
    let mut values = w.values.clone();
    values.extend([(PER_PAGE as i64).into(), (((page - 1) * PER_PAGE) as i64).into()]);
    let rows = ResponseJoined::find_by_statement(stmt(
        b,
        &format!(
            "SELECT r.id, r.created_at, r.action, l.code, u.email, r.identity_id, r.target_type, r.target_id, r.http_referrer, r.client_ip \
             {from}{} ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?",
            w.sql()
        ),
        values,
    ))
    .all(db)
    .await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| AdminResponseRow {
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
            .collect(),
        page,
        per_page: PER_PAGE,
        total: total as u64,
    })
}
