//! The admin's view of touchpoints (the list and its export) and identities.

use crate::dto::{IdentityDetail, MergedIdentityRow, Page, TouchpointFilters, TouchpointRow};
use crate::error::AppError;
use crate::paging::PageNumber;
use crate::server::db::Database;
use crate::server::entities::{identities, links, touchpoints, users};
use crate::server::sql::{Listing, Where, paged};
use crate::server::table::{self, Table};
use crate::server::time::{display, parse_instant};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use std::collections::HashMap;

pub const PER_PAGE: u64 = 50;

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The admin's list of touchpoints, newest first: its page and its export.
fn listing(f: &TouchpointFilters, tz: chrono_tz::Tz) -> Result<Listing, AppError> {
    Ok(Listing::new(
        "t.*",
        "FROM touchpoints t",
        touch_where(f, tz)?,
        "t.created_at DESC, t.id DESC",
    ))
}

/// The filters of the touchpoint list; columns of `t`.
fn touch_where(f: &TouchpointFilters, tz: chrono_tz::Tz) -> Result<Where, AppError> {
    let mut w = Where::new();
    if let Some(v) = non_empty(&f.utm_source) {
        w.and("t.utm_source = ?", [v.into()]);
    }
    if let Some(v) = non_empty(&f.utm_medium) {
        w.and("t.utm_medium = ?", [v.into()]);
    }
    if let Some(v) = non_empty(&f.utm_campaign) {
        w.and("t.utm_campaign = ?", [v.into()]);
    }
    if let Some(v) = non_empty(&f.referrer_host) {
        let host = v.to_ascii_lowercase();
        let bare = host.strip_prefix("www.").unwrap_or(&host).to_string();
        w.and(
            "t.referrer_host = ? OR t.referrer_host = ?",
            [bare.clone().into(), format!("www.{bare}").into()],
        );
    }
    if let Some(v) = non_empty(&f.from) {
        let ms = parse_instant(v, tz).ok_or_else(|| AppError::validation("from", "Use a date like 2026-11-21."))?;
        w.and("t.created_at >= ?", [ms.into()]);
    }
    if let Some(v) = non_empty(&f.to) {
        let ms = parse_instant(v, tz).ok_or_else(|| AppError::validation("to", "Use a date like 2026-11-21."))?;
        // A date means the whole day.
        let end = if v.len() == 10 {
            ms + crate::server::time::DAY
        } else {
            ms
        };
        w.and("t.created_at < ?", [end.into()]);
    }
    Ok(w)
}

/// Newest first, filtered by UTM values (exact), referrer host and date range.
pub async fn list(
    db: &Database,
    f: &TouchpointFilters,
    page: PageNumber,
    tz: chrono_tz::Tz,
) -> Result<Page<TouchpointRow>, AppError> {
    let page = paged(&db.read, &listing(f, tz)?, page, PER_PAGE).await?;
    let page = page.try_map(|r| touchpoints::Model::from_query_result(&r, ""))?;
    let rows = to_rows(db, page.items, tz).await?;
    Ok(Page {
        items: rows,
        page: page.page,
        per_page: page.per_page,
        total: page.total,
    })
}

/// The admin's touchpoints as a table, every one the filters select.
pub fn export(db: DatabaseConnection, f: &TouchpointFilters, tz: chrono_tz::Tz) -> Result<Table, AppError> {
    const TEXT: [&str; 10] = [
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
    ];
    let listing = listing(f, tz)?.columns(&format!("t.id, t.created_at, t.identity_id, t.{}", TEXT.join(", t.")));
    let statement = listing.all(db.get_database_backend());
    let mut header = vec!["id", "at", "identity_id"];
    header.extend(TEXT);
    Ok(Table::streamed(&header, db, statement, |r| {
        let mut cells = vec![
            table::int(r, "id"),
            table::time(r, "created_at"),
            table::int(r, "identity_id"),
        ];
        cells.extend(TEXT.iter().map(|c| table::text(r, c)));
        cells
    }))
}

/// Maps rows to DTOs with one query for all their link codes.
async fn to_rows(
    db: &Database,
    rows: Vec<touchpoints::Model>,
    tz: chrono_tz::Tz,
) -> Result<Vec<TouchpointRow>, AppError> {
    let link_ids: Vec<i64> = rows.iter().filter_map(|t| t.link_id).collect();
    let codes: HashMap<i64, String> = if link_ids.is_empty() {
        HashMap::new()
    } else {
        links::Entity::find()
            .select_only()
            .column(links::Column::Id)
            .column(links::Column::Code)
            .filter(links::Column::Id.is_in(link_ids))
            .into_tuple::<(i64, String)>()
            .all(&db.read)
            .await?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|t| TouchpointRow {
            id: t.id.to_string(),
            identity_id: t.identity_id.to_string(),
            at: display(t.created_at, tz),
            link_code: t.link_id.and_then(|id| codes.get(&id).cloned()),
            path: t.path,
            http_referrer: t.http_referrer,
            referrer_host: t.referrer_host,
            source: t.source,
            medium: t.medium,
            channel: t.channel,
            utm_source: t.utm_source,
            utm_medium: t.utm_medium,
            utm_campaign: t.utm_campaign,
            click_ids: t.click_ids,
        })
        .collect())
}

/// One identity: its user, what was merged into it, and its touches in time order.
pub async fn detail(db: &Database, id: i64, tz: chrono_tz::Tz) -> Result<IdentityDetail, AppError> {
    let identity = identities::Entity::find_by_id(id)
        .one(&db.read)
        .await?
        .ok_or_else(|| AppError::not_found("No such identity."))?;
    let user = match identity.user_id {
        Some(uid) => users::Entity::find_by_id(uid).one(&db.read).await?,
        None => None,
    };
    let merged = identities::Entity::find()
        .filter(identities::Column::MergedIntoId.eq(id))
        .order_by_asc(identities::Column::MergedAt)
        .all(&db.read)
        .await?;
    let touches = touchpoints::Entity::find()
        .filter(touchpoints::Column::IdentityId.eq(id))
        .order_by_asc(touchpoints::Column::CreatedAt)
        .order_by_asc(touchpoints::Column::Id)
        .limit(1000)
        .all(&db.read)
        .await?;
    Ok(IdentityDetail {
        id: identity.id.to_string(),
        public_id: identity.public_id,
        created_at: display(identity.created_at, tz),
        user_id: user.as_ref().map(|u| u.id.to_string()),
        user_email: user.map(|u| u.email),
        merged_into: identity.merged_into_id.map(|m| m.to_string()),
        merged: merged
            .into_iter()
            .map(|m| MergedIdentityRow {
                id: m.id.to_string(),
                public_id: m.public_id,
                merged_at: m.merged_at.map(|t| display(t, tz)).unwrap_or_default(),
            })
            .collect(),
        touches: to_rows(db, touches, tz).await?,
    })
}

/// The canonical identity of a user, for links from user pages.
pub async fn identity_of_user(db: &Database, user_id: i64) -> Result<Option<i64>, AppError> {
    Ok(identities::Entity::find()
        .select_only()
        .column(identities::Column::Id)
        .filter(identities::Column::UserId.eq(user_id))
        .into_tuple::<i64>()
        .one(&db.read)
        .await?)
}
