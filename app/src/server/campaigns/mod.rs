//! Campaigns (django-referral's, done right): named groups of referrer codes with a
//! pattern that sorts new codes into them, optional dates, and counts aggregated in SQL.

pub mod pattern;

use crate::dto::{CampaignCodeRow, CampaignDto};
use crate::error::AppError;
use crate::server::config::Config;
use crate::server::entities::campaigns;
use crate::server::referrals::cache::LinkCache;
use crate::server::referrals::codes;
use crate::server::sql::stmt;
use crate::server::time::{DAY, now_ms, parse_instant, rfc3339, to_datetime};
use pattern::{Matcher, PatternKind};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryOrder, Value};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("invalid campaign")]
    Invalid(Vec<(&'static str, String)>),
    #[error("name taken")]
    NameTaken,
    #[error("no such campaign")]
    NotFound,
    #[error("campaign has {0} links")]
    HasLinks(i64),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<CampaignError> for AppError {
    fn from(e: CampaignError) -> Self {
        match e {
            CampaignError::Invalid(f) => AppError::fields(f),
            CampaignError::NameTaken => AppError::conflict("name", "A campaign with this name already exists."),
            CampaignError::NotFound => AppError::not_found("No such campaign."),
            CampaignError::HasLinks(n) => AppError::conflict(
                "confirm",
                format!(
                    "This campaign has {n} link(s). Confirm to delete it: its links are unassigned, nothing else is deleted."
                ),
            ),
            CampaignError::Db(e) => crate::server::internal(e),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct CampaignInput {
    pub name: String,
    pub description: String,
    pub pattern: String,
    pub pattern_kind: String,
    pub starts_at: String,
    pub ends_at: String,
    pub active: String,
}

#[derive(Debug, Clone)]
struct Valid {
    name: String,
    description: String,
    pattern: String,
    kind: PatternKind,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    active: bool,
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "" | "false" | "off" | "0" => Some(false),
        "true" | "on" | "1" => Some(true),
        _ => None,
    }
}

impl Valid {
    /// The values of `name, name_key, description, pattern, pattern_kind, starts_at,
    /// ends_at, active`, in that order.
    fn values(self) -> [Value; 8] {
        [
            self.name.clone().into(),
            self.name.to_lowercase().into(),
            self.description.into(),
            self.pattern.into(),
            self.kind.as_str().into(),
            self.starts_at.into(),
            self.ends_at.into(),
            self.active.into(),
        ]
    }
}

impl CampaignInput {
    fn validate(&self, config: &Config) -> Result<Valid, CampaignError> {
        let mut errors = Vec::new();
        let name = self.name.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            errors.push(("name", "Give the campaign a name.".to_string()));
        } else if name.chars().count() > 100 || name.chars().any(char::is_control) {
            errors.push(("name", "Names are at most 100 printable characters.".to_string()));
        }
        let description = self.description.trim().to_string();
        if description.chars().count() > 2000 {
            errors.push(("description", "Descriptions are at most 2000 characters.".to_string()));
        }
        let kind = PatternKind::parse(&self.pattern_kind);
        if kind.is_none() {
            errors.push((
                "pattern_kind",
                "The pattern kind is substring, glob or regex.".to_string(),
            ));
        }
        if let Err(m) = Matcher::new(&self.pattern, kind.unwrap_or(PatternKind::Substring)) {
            errors.push(("pattern", m));
        }
        let date =
            |raw: &str, field: &'static str, end: bool, errors: &mut Vec<(&'static str, String)>| -> Option<i64> {
                let raw = raw.trim();
                if raw.is_empty() {
                    return None;
                }
                match parse_instant(raw, config.timezone) {
                    // A date as the end means the whole of that day.
                    Some(ms) if end && raw.len() == 10 => Some(ms + DAY),
                    Some(ms) => Some(ms),
                    None => {
                        errors.push((field, "Use a date like 2026-12-31.".to_string()));
                        None
                    }
                }
            };
        let starts_at = date(&self.starts_at, "starts_at", false, &mut errors);
        let ends_at = date(&self.ends_at, "ends_at", true, &mut errors);
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e <= s
        {
            errors.push(("ends_at", "The end must come after the start.".to_string()));
        }
        let active = parse_bool(&self.active).unwrap_or_else(|| {
            errors.push(("active", "active is true or false.".to_string()));
            true
        });
        if !errors.is_empty() {
            return Err(CampaignError::Invalid(errors));
        }
        Ok(Valid {
            name,
            description,
            pattern: self.pattern.trim().to_string(),
            kind: kind.unwrap_or(PatternKind::Substring),
            starts_at,
            ends_at,
            active,
        })
    }
}

fn is_unique(e: &DbErr) -> bool {
    crate::server::accounts::service::is_unique_violation(e)
}

/// The campaign with this id.
async fn find(db: &impl ConnectionTrait, id: i64) -> Result<campaigns::Model, CampaignError> {
    campaigns::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(CampaignError::NotFound)
}

pub async fn create(
    db: &impl ConnectionTrait,
    config: &Config,
    input: &CampaignInput,
) -> Result<campaigns::Model, CampaignError> {
    let v = input.validate(config)?;
    let b = db.get_database_backend();
    let row = db
        .query_one(stmt(
            b,
            "INSERT INTO campaigns (name, name_key, description, pattern, pattern_kind, starts_at, ends_at, active, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            v.values().into_iter().chain([now_ms().into()]),
        ))
        .await?
        .ok_or(CampaignError::NameTaken)?;
    let id: i64 = row.try_get("", "id")?;
    tracing::info!(campaign = id, "campaign created");
    find(db, id).await
}

pub async fn update(
    db: &impl ConnectionTrait,
    config: &Config,
    id: i64,
    input: &CampaignInput,
) -> Result<campaigns::Model, CampaignError> {
    let v = input.validate(config)?;
    find(db, id).await?;
    let b = db.get_database_backend();
    let clash = db
        .query_one(stmt(
            b,
            "SELECT id FROM campaigns WHERE name_key = ? AND id <> ?",
            [v.name.to_lowercase().into(), id.into()],
        ))
        .await?;
    if clash.is_some() {
        return Err(CampaignError::NameTaken);
    }
    db.execute(stmt(
        b,
        "UPDATE campaigns SET name = ?, name_key = ?, description = ?, pattern = ?, pattern_kind = ?, starts_at = ?, ends_at = ?, active = ? \
         WHERE id = ?",
        v.values().into_iter().chain([id.into()]),
    ))
    .await
    .map_err(|e| if is_unique(&e) { CampaignError::NameTaken } else { CampaignError::Db(e) })?;
    find(db, id).await
}

/// Deletes a campaign. With links it needs `confirm`; its links are then unassigned
/// and nothing else is deleted. Returns the campaign and how many links were unassigned.
pub async fn delete(
    db: &impl ConnectionTrait,
    cache: &LinkCache,
    id: i64,
    confirm: bool,
) -> Result<(campaigns::Model, i64), CampaignError> {
    let c = find(db, id).await?;
    let b = db.get_database_backend();
    let codes: Vec<String> = db
        .query_all(stmt(b, "SELECT code FROM links WHERE campaign_id = ?", [id.into()]))
        .await?
        .iter()
        .filter_map(|r| r.try_get("", "code").ok())
        .collect();
    if !codes.is_empty() && !confirm {
        return Err(CampaignError::HasLinks(codes.len() as i64));
    }
    db.execute(stmt(
        b,
        "UPDATE links SET campaign_id = NULL WHERE campaign_id = ?",
        [id.into()],
    ))
    .await?;
    db.execute(stmt(b, "DELETE FROM campaigns WHERE id = ?", [id.into()]))
        .await?;
    for code in &codes {
        cache.forget(code);
    }
    tracing::info!(campaign = id, unassigned = codes.len(), "campaign deleted");
    Ok((c, codes.len() as i64))
}

/// Active campaigns in name order, with their compiled patterns.
async fn matchers(db: &impl ConnectionTrait) -> Result<Vec<(i64, Matcher)>, DbErr> {
    let rows = campaigns::Entity::find()
        .order_by_asc(campaigns::Column::NameKey)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|c| c.active)
        .filter_map(|c| {
            let kind = PatternKind::parse(&c.pattern_kind)?;
            Matcher::new(&c.pattern, kind).ok().map(|m| (c.id, m))
        })
        .collect())
}

/// The first campaign, by name, whose pattern matches `code`.
pub async fn first_match(db: &impl ConnectionTrait, code: &str) -> Result<Option<i64>, DbErr> {
    Ok(matchers(db)
        .await?
        .into_iter()
        .find(|(_, m)| m.matches(code))
        .map(|(id, _)| id))
}

/// Runs the patterns over every unassigned ownerless code and assigns the matches.
pub async fn rematch(db: &impl ConnectionTrait, cache: &LinkCache) -> Result<u64, DbErr> {
    let ms = matchers(db).await?;
    if ms.is_empty() {
        return Ok(0);
    }
    let b = db.get_database_backend();
    let rows = db
        .query_all(stmt(
            b,
            "SELECT id, code FROM links WHERE owner_id IS NULL AND campaign_id IS NULL",
            [],
        ))
        .await?;
    let mut by_campaign: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for r in rows {
        let (id, code): (i64, String) = (r.try_get("", "id")?, r.try_get("", "code")?);
        if let Some((cid, _)) = ms.iter().find(|(_, m)| m.matches(&code)) {
            by_campaign.entry(*cid).or_default().push((id, code));
        }
    }
    let mut assigned = 0;
    for (cid, links) in by_campaign {
        for chunk in links.chunks(500) {
            let list = vec!["?"; chunk.len()].join(", ");
            let mut values: Vec<Value> = vec![cid.into()];
            values.extend(chunk.iter().map(|(id, _)| Value::from(*id)));
            let res = db
                .execute(stmt(
                    b,
                    &format!("UPDATE links SET campaign_id = ? WHERE campaign_id IS NULL AND id IN ({list})"),
                    values,
                ))
                .await?;
            assigned += res.rows_affected();
            for (_, code) in chunk {
                cache.forget(code);
            }
        }
    }
    tracing::info!(assigned, "re-matched referrer codes");
    Ok(assigned)
}

/// Assigns links (by code) to a campaign, or unassigns them with `None`.
pub async fn assign(
    db: &impl ConnectionTrait,
    config: &Config,
    cache: &LinkCache,
    link_codes: &[String],
    campaign_id: Option<i64>,
) -> Result<u64, CampaignError> {
    if let Some(cid) = campaign_id {
        campaigns::Entity::find_by_id(cid)
            .one(db)
            .await?
            .ok_or(CampaignError::NotFound)?;
    }
    let keys: Vec<String> = link_codes
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(|c| codes::key(c, config.referrals.case_sensitive))
        .collect();
    if keys.is_empty() {
        return Err(CampaignError::Invalid(vec![(
            "codes",
            "Choose at least one code.".into(),
        )]));
    }
    let b = db.get_database_backend();
    let mut changed = 0;
    for chunk in keys.chunks(500) {
        let list = vec!["?"; chunk.len()].join(", ");
        let mut values: Vec<Value> = vec![campaign_id.into()];
        values.extend(chunk.iter().map(|k| Value::from(k.clone())));
        changed += db
            .execute(stmt(
                b,
                &format!("UPDATE links SET campaign_id = ? WHERE code_key IN ({list})"),
                values,
            ))
            .await?
            .rows_affected();
    }
    for c in link_codes {
        cache.forget(c);
    }
    Ok(changed)
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    key: i64,
    clicks: Option<i64>,
    signups: Option<i64>,
    identities: i64,
    anonymous: Option<i64>,
}

/// Clicks, sign-ups and unique visitors of responses inside their campaign's dates
/// (and inside `period`, when given), grouped by campaign (`by_link` false) or by link
/// (`by_link` true, one campaign).
async fn dated_counts(
    db: &impl ConnectionTrait,
    by_link: bool,
    campaign: Option<i64>,
    period: Option<crate::server::range::Period>,
) -> Result<HashMap<i64, (i64, i64, i64)>, DbErr> {
    let b = db.get_database_backend();
    let key = if by_link { "l.id" } else { "l.campaign_id" };
    let mut filter = String::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(id) = campaign {
        filter.push_str(" AND c.id = ?");
        values.push(id.into());
    }
    if let Some(p) = period {
        filter.push_str(" AND r.created_at >= ? AND r.created_at < ?");
        values.extend([p.from.into(), p.to.into()]);
    }
    let sql = format!(
        "SELECT {key} AS key, \
         SUM(CASE WHEN r.action = 'RESPONDED' THEN 1 ELSE 0 END) AS clicks, \
         SUM(CASE WHEN r.action = 'SIGNED_UP' THEN 1 ELSE 0 END) AS signups, \
         COUNT(DISTINCT CASE WHEN r.action = 'RESPONDED' THEN r.identity_id END) AS identities, \
         SUM(CASE WHEN r.action = 'RESPONDED' AND r.identity_id IS NULL THEN 1 ELSE 0 END) AS anonymous \
         FROM responses r JOIN links l ON l.id = r.link_id JOIN campaigns c ON c.id = l.campaign_id \
         WHERE (c.starts_at IS NULL OR r.created_at >= c.starts_at) AND (c.ends_at IS NULL OR r.created_at < c.ends_at) {filter} \
         GROUP BY {key}"
    );
    Ok(CountRow::find_by_statement(stmt(b, &sql, values))
        .all(db)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.key,
                (
                    r.clicks.unwrap_or(0),
                    r.signups.unwrap_or(0),
                    r.identities + r.anonymous.unwrap_or(0),
                ),
            )
        })
        .collect())
}

fn local_day(ms: i64, config: &Config) -> String {
    to_datetime(ms)
        .with_timezone(&config.timezone)
        .format("%Y-%m-%d")
        .to_string()
}

fn to_dto(config: &Config, c: &campaigns::Model, codes: i64, counts: (i64, i64, i64)) -> CampaignDto {
    CampaignDto {
        id: c.id.to_string(),
        name: c.name.clone(),
        description: c.description.clone(),
        pattern: c.pattern.clone(),
        pattern_kind: c.pattern_kind.clone(),
        starts_at: c.starts_at.map(rfc3339),
        ends_at: c.ends_at.map(rfc3339),
        starts_on: c.starts_at.map(|s| local_day(s, config)),
        ends_on: c.ends_at.map(|e| local_day(e - 1, config)),
        active: c.active,
        created_at: rfc3339(c.created_at),
        codes,
        clicks: counts.0,
        signups: counts.1,
        unique_visitors: counts.2,
    }
}

async fn code_counts(db: &impl ConnectionTrait) -> Result<HashMap<i64, i64>, DbErr> {
    let b = db.get_database_backend();
    let rows = db
        .query_all(stmt(
            b,
            "SELECT campaign_id, COUNT(*) AS n FROM links WHERE campaign_id IS NOT NULL GROUP BY campaign_id",
            [],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("", "campaign_id")?, r.try_get("", "n")?)))
        .collect()
}

/// Every campaign with its counts: three grouped queries in all.
pub async fn list(db: &impl ConnectionTrait, config: &Config) -> Result<Vec<CampaignDto>, DbErr> {
    list_in(db, config, None).await
}

/// Every campaign with its counts inside `period` (and its own dates).
pub async fn list_in(
    db: &impl ConnectionTrait,
    config: &Config,
    period: Option<crate::server::range::Period>,
) -> Result<Vec<CampaignDto>, DbErr> {
    let rows = campaigns::Entity::find()
        .order_by_asc(campaigns::Column::NameKey)
        .all(db)
        .await?;
    let codes = code_counts(db).await?;
    let counts = dated_counts(db, false, None, period).await?;
    Ok(rows
        .iter()
        .map(|c| {
            to_dto(
                config,
                c,
                codes.get(&c.id).copied().unwrap_or(0),
                counts.get(&c.id).copied().unwrap_or_default(),
            )
        })
        .collect())
}

pub async fn get(db: &impl ConnectionTrait, config: &Config, id: i64) -> Result<CampaignDto, CampaignError> {
    let c = find(db, id).await?;
    let codes = code_counts(db).await?.get(&id).copied().unwrap_or(0);
    let counts = dated_counts(db, false, Some(id), None)
        .await?
        .get(&id)
        .copied()
        .unwrap_or_default();
    Ok(to_dto(config, &c, codes, counts))
}

/// A campaign's codes, ranked by sign-ups (then clicks) inside its dates.
pub async fn codes_ranked(db: &impl ConnectionTrait, id: i64) -> Result<Vec<CampaignCodeRow>, DbErr> {
    let b = db.get_database_backend();
    let counts = dated_counts(db, true, Some(id), None).await?;
    let links = db
        .query_all(stmt(
            b,
            "SELECT l.id, l.code, u.email FROM links l LEFT JOIN users u ON u.id = l.owner_id WHERE l.campaign_id = ?",
            [id.into()],
        ))
        .await?;
    let mut rows: Vec<CampaignCodeRow> = links
        .iter()
        .filter_map(|r| {
            let lid: i64 = r.try_get("", "id").ok()?;
            let (clicks, signups, unique_visitors) = counts.get(&lid).copied().unwrap_or_default();
            Some(CampaignCodeRow {
                code: r.try_get("", "code").ok()?,
                owner_email: r.try_get("", "email").ok()?,
                clicks,
                signups,
                unique_visitors,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        b.signups
            .cmp(&a.signups)
            .then(b.clicks.cmp(&a.clicks))
            .then(a.code.cmp(&b.code))
    });
    Ok(rows)
}

pub fn campaign_dto(config: &Config, c: &campaigns::Model) -> CampaignDto {
    to_dto(config, c, 0, (0, 0, 0))
}
