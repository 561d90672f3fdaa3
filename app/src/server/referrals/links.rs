//! Creating, changing and listing referral links, with their counts aggregated in SQL.

use super::cache::LinkCache;
use super::codes;
use super::destination::Destination;
use crate::dto::{LinkCard, LinkDto};
use crate::error::AppError;
use crate::server::config::Config;
use crate::server::entities::links;
use crate::server::sql::stmt;
use crate::server::time::{now_ms, parse_instant, rfc3339};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("invalid link")]
    Invalid(Vec<(&'static str, String)>),
    #[error("code taken")]
    CodeTaken,
    #[error("duplicate link")]
    Duplicate(String),
    #[error("no such link")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<LinkError> for AppError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Invalid(fields) => AppError::fields(fields),
            LinkError::CodeTaken => AppError::conflict("code", "That code is taken. Choose another one."),
            LinkError::Duplicate(code) => AppError::conflict(
                "label",
                format!("You already have a link with this label and destination: {code}."),
            ),
            LinkError::NotFound => AppError::not_found("No such link."),
            LinkError::Db(e) => crate::server::internal(e),
        }
    }
}

/// A link request, as submitted (unparsed strings).
#[derive(Debug, Clone, Default)]
pub struct LinkInput {
    pub label: String,
    pub destination: String,
    pub code: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub expires_at: Option<String>,
}

/// A link request that passed validation.
#[derive(Debug, Clone)]
pub struct ValidLink {
    pub owner_id: Option<i64>,
    pub label: String,
    pub destination: String,
    pub code: Option<String>,
    pub target: Option<(String, String)>,
    pub expires_at: Option<i64>,
    pub is_personal: bool,
    pub auto_created: bool,
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn printable(s: &str) -> bool {
    !s.chars().any(|c| c.is_control())
}

pub fn parse_label(raw: &str) -> Result<String, String> {
    let label = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if label.is_empty() {
        return Err("Give the link a label, like \"Newsletter\".".into());
    }
    if label.chars().count() > 100 || !printable(&label) {
        return Err("Labels are at most 100 printable characters.".into());
    }
    Ok(label)
}

fn parse_expiry(raw: Option<&str>, config: &Config) -> Result<Option<i64>, String> {
    let Some(s) = raw else { return Ok(None) };
    let ms = parse_instant(s, config.timezone)
        .ok_or_else(|| "Use a date like 2026-12-31 or a time like 2026-12-31T12:00:00Z.".to_string())?;
    if ms <= now_ms() {
        return Err("The expiry must be in the future.".into());
    }
    Ok(Some(ms))
}

impl LinkInput {
    pub fn validate(&self, owner_id: Option<i64>, config: &Config) -> Result<ValidLink, LinkError> {
        let mut errors = Vec::new();
        let label = parse_label(&self.label).map_err(|m| errors.push(("label", m))).ok();
        let destination = Destination::parse(&self.destination, config)
            .map_err(|m| errors.push(("destination", m)))
            .ok();
        let code = blank(&self.code).map(str::to_string);
        if let Some(c) = &code
            && let Err(m) = codes::validate_custom(c)
        {
            errors.push(("code", m));
        }
        let target = match (blank(&self.target_type), blank(&self.target_id)) {
            (None, None) => None,
            (Some(t), Some(i)) => {
                if t.chars().count() > 100 || !printable(t) {
                    errors.push((
                        "target_type",
                        "Target types are at most 100 printable characters.".into(),
                    ));
                }
                if i.chars().count() > 200 || !printable(i) {
                    errors.push(("target_id", "Target ids are at most 200 printable characters.".into()));
                }
                Some((t.to_string(), i.to_string()))
            }
            (Some(_), None) => {
                errors.push(("target_id", "A target needs both a type and an id.".into()));
                None
            }
            (None, Some(_)) => {
                errors.push(("target_type", "A target needs both a type and an id.".into()));
                None
            }
        };
        let expires_at = parse_expiry(blank(&self.expires_at), config)
            .map_err(|m| errors.push(("expires_at", m)))
            .ok()
            .flatten();
        if !errors.is_empty() {
            return Err(LinkError::Invalid(errors));
        }
        Ok(ValidLink {
            owner_id,
            label: label.unwrap_or_default(),
            destination: destination.map(|d| d.as_string()).unwrap_or_default(),
            code,
            target,
            expires_at,
            is_personal: false,
            auto_created: false,
        })
    }
}

/// The key that makes creating a link idempotent: the same owner, destination, label
/// and target. Ownerless links (referrer codes) have none.
fn idem_key(v: &ValidLink) -> Option<String> {
    let owner = v.owner_id?;
    let mut h = Sha256::new();
    for part in [
        owner.to_string().as_str(),
        v.destination.as_str(),
        v.label.as_str(),
        v.target.as_ref().map(|t| t.0.as_str()).unwrap_or(""),
        v.target.as_ref().map(|t| t.1.as_str()).unwrap_or(""),
    ] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    Some(hex::encode(&h.finalize()[..16]))
}

/// Creates the link, or returns the owner's existing identical one (`false`). Works
/// inside the caller's transaction: conflicts are detected without raising errors.
pub async fn create(
    db: &impl ConnectionTrait,
    config: &Config,
    v: &ValidLink,
) -> Result<(links::Model, bool), LinkError> {
    let idem = idem_key(v);
    if let Some(k) = &idem
        && let Some(existing) = links::Entity::find()
            .filter(links::Column::IdemKey.eq(k.clone()))
            .one(db)
            .await?
    {
        return match &v.code {
            Some(c) if codes::key(c, config.referrals.case_sensitive) != existing.code_key => {
                Err(LinkError::Duplicate(existing.code))
            }
            _ => Ok((existing, false)),
        };
    }
    let b = db.get_database_backend();
    let now = now_ms();
    for _ in 0..8 {
        let code = v.code.clone().unwrap_or_else(codes::generate);
        let key = codes::key(&code, config.referrals.case_sensitive);
        let row = db
            .query_one(stmt(
                b,
                "INSERT INTO links (code, code_key, owner_id, label, destination, target_type, target_id, expires_at, active, \
                 campaign_id, is_personal, auto_created, idem_key, created_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, TRUE, NULL, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                [
                    code.clone().into(),
                    key.clone().into(),
                    v.owner_id.into(),
                    v.label.clone().into(),
                    v.destination.clone().into(),
                    v.target.as_ref().map(|t| t.0.clone()).into(),
                    v.target.as_ref().map(|t| t.1.clone()).into(),
                    v.expires_at.into(),
                    v.is_personal.into(),
                    v.auto_created.into(),
                    idem.clone().into(),
                    now.into(),
                    now.into(),
                ],
            ))
            .await?;
        if let Some(row) = row {
            let id: i64 = row.try_get("", "id")?;
            let link = links::Entity::find_by_id(id)
                .one(db)
                .await?
                .ok_or(LinkError::NotFound)?;
            tracing::info!(link_id = id, code = %link.code, owner = ?v.owner_id, "link created");
            return Ok((link, true));
        }
        // Which unique key was hit? An identical link made concurrently...
        if let Some(k) = &idem
            && let Some(existing) = links::Entity::find()
                .filter(links::Column::IdemKey.eq(k.clone()))
                .one(db)
                .await?
        {
            return Ok((existing, false));
        }
        // ...or the code. A chosen code is taken; a generated one is drawn again.
        if v.code.is_some() {
            return Err(LinkError::CodeTaken);
        }
    }
    Err(LinkError::Db(DbErr::Custom("could not draw a free code".into())))
}

/// The personal link every user gets at sign-up.
pub async fn create_personal(
    db: &impl ConnectionTrait,
    config: &Config,
    user_id: i64,
) -> Result<links::Model, LinkError> {
    let v = ValidLink {
        owner_id: Some(user_id),
        label: "Personal".into(),
        destination: config.referrals.default_destination.clone(),
        code: None,
        target: None,
        expires_at: None,
        is_personal: true,
        auto_created: false,
    };
    create(db, config, &v).await.map(|(l, _)| l)
}

/// A user's own link by code (any case unless codes are case-sensitive).
pub async fn owned(
    db: &impl ConnectionTrait,
    config: &Config,
    owner_id: i64,
    code: &str,
) -> Result<links::Model, LinkError> {
    let code = code.trim();
    if !codes::could_be(code) {
        return Err(LinkError::NotFound);
    }
    links::Entity::find()
        .filter(links::Column::CodeKey.eq(codes::key(code, config.referrals.case_sensitive)))
        .filter(links::Column::OwnerId.eq(owner_id))
        .one(db)
        .await?
        .ok_or(LinkError::NotFound)
}

/// Changes a link's label, destination and expiry (empty expiry: none).
pub async fn update(
    db: &impl ConnectionTrait,
    config: &Config,
    cache: &LinkCache,
    link: links::Model,
    label: &str,
    destination: &str,
    expires_at: Option<&str>,
) -> Result<links::Model, LinkError> {
    let input = LinkInput {
        label: label.to_string(),
        destination: destination.to_string(),
        code: None,
        target_type: link.target_type.clone(),
        target_id: link.target_id.clone(),
        expires_at: expires_at.map(str::to_string),
    };
    let v = ValidLink {
        owner_id: link.owner_id,
        ..input.validate(link.owner_id, config)?
    };
    let idem = if link.active { idem_key(&v) } else { None };
    if let Some(k) = &idem
        && let Some(other) = links::Entity::find()
            .filter(links::Column::IdemKey.eq(k.clone()))
            .filter(links::Column::Id.ne(link.id))
            .one(db)
            .await?
    {
        return Err(LinkError::Duplicate(other.code));
    }
    let b = db.get_database_backend();
    db.execute(stmt(
        b,
        "UPDATE links SET label = ?, destination = ?, expires_at = ?, idem_key = ?, updated_at = ? WHERE id = ?",
        [
            v.label.clone().into(),
            v.destination.clone().into(),
            v.expires_at.into(),
            idem.into(),
            now_ms().into(),
            link.id.into(),
        ],
    ))
    .await?;
    cache.forget(&link.code);
    links::Entity::find_by_id(link.id)
        .one(db)
        .await?
        .ok_or(LinkError::NotFound)
}

/// Deactivates a link: its code stops working within 5 seconds on every instance,
/// and creating an identical link makes a new one.
pub async fn deactivate(
    db: &impl ConnectionTrait,
    cache: &LinkCache,
    link: links::Model,
) -> Result<links::Model, LinkError> {
    let b = db.get_database_backend();
    db.execute(stmt(
        b,
        "UPDATE links SET active = FALSE, idem_key = NULL, updated_at = ? WHERE id = ?",
        [now_ms().into(), link.id.into()],
    ))
    .await?;
    cache.forget(&link.code);
    links::Entity::find_by_id(link.id)
        .one(db)
        .await?
        .ok_or(LinkError::NotFound)
}

/// Counts of a set of links, from two grouped queries (never one per link).
#[derive(Debug, Clone, Default)]
pub struct LinkCounts {
    pub clicks: i64,
    pub unique_visitors: i64,
    pub signups: i64,
    pub responses: BTreeMap<String, i64>,
    pub conversions: i64,
    pub value: BTreeMap<String, String>,
}

pub async fn counts(db: &impl ConnectionTrait, link_ids: &[i64]) -> Result<HashMap<i64, LinkCounts>, DbErr> {
    let mut out: HashMap<i64, LinkCounts> = link_ids.iter().map(|id| (*id, LinkCounts::default())).collect();
    if link_ids.is_empty() {
        return Ok(out);
    }
    let b = db.get_database_backend();
    let list = vec!["?"; link_ids.len()].join(", ");
    let ids = || link_ids.iter().map(|id| (*id).into()).collect::<Vec<sea_orm::Value>>();
    let rows = db
        .query_all(stmt(
            b,
            &format!(
                "SELECT link_id, action, COUNT(*) AS n, COUNT(DISTINCT identity_id) AS identities, \
                 SUM(CASE WHEN identity_id IS NULL THEN 1 ELSE 0 END) AS anonymous \
                 FROM responses WHERE link_id IN ({list}) GROUP BY link_id, action"
            ),
            ids(),
        ))
        .await?;
    for r in rows {
        let link_id: i64 = r.try_get("", "link_id")?;
        let action: String = r.try_get("", "action")?;
        let n: i64 = r.try_get("", "n")?;
        let c = out.entry(link_id).or_default();
        if action == "RESPONDED" {
            c.clicks = n;
            let identities: i64 = r.try_get("", "identities")?;
            let anonymous: i64 = r.try_get::<Option<i64>>("", "anonymous")?.unwrap_or(0);
            // A click without an identity (Sec-GPC) is a visitor of its own.
            c.unique_visitors = identities + anonymous;
        }
        c.responses.insert(action, n);
    }
    let rows = db
        .query_all(stmt(
            b,
            &format!("SELECT referred_by_link_id AS link_id, COUNT(*) AS n FROM users WHERE referred_by_link_id IN ({list}) GROUP BY referred_by_link_id"),
            ids(),
        ))
        .await?;
    for r in rows {
        let link_id: i64 = r.try_get("", "link_id")?;
        out.entry(link_id).or_default().signups = r.try_get("", "n")?;
    }
    Ok(out)
}

/// `counts`, with each link's conversions and value (last click within the window).
pub async fn counts_with_conversions(
    db: &impl ConnectionTrait,
    config: &Config,
    link_ids: &[i64],
) -> Result<HashMap<i64, LinkCounts>, DbErr> {
    let mut out = counts(db, link_ids).await?;
    for (link_id, (n, value)) in crate::server::conversions::manage::of_links(db, config, link_ids).await? {
        let c = out.entry(link_id).or_default();
        c.conversions = n;
        c.value = value;
    }
    Ok(out)
}

pub fn share_url(config: &Config, code: &str) -> String {
    format!("{}/r/{}", config.server.base_origin(), code)
}

pub fn to_dto(config: &Config, l: &links::Model, c: LinkCounts) -> LinkDto {
    LinkDto {
        url: share_url(config, &l.code),
        code: l.code.clone(),
        label: l.label.clone(),
        destination: l.destination.clone(),
        active: l.active,
        expires_at: l.expires_at.map(rfc3339),
        target_type: l.target_type.clone(),
        target_id: l.target_id.clone(),
        is_personal: l.is_personal,
        created_at: rfc3339(l.created_at),
        clicks: c.clicks,
        unique_visitors: c.unique_visitors,
        signups: c.signups,
        responses: c.responses,
        conversions: c.conversions,
        value: c.value,
    }
}

/// One link as its owner sees it, with its counts.
pub async fn dto_with_counts(
    db: &impl ConnectionTrait,
    config: &Config,
    link: &links::Model,
) -> Result<LinkDto, DbErr> {
    let counts = counts_with_conversions(db, config, &[link.id])
        .await?
        .remove(&link.id)
        .unwrap_or_default();
    Ok(to_dto(config, link, counts))
}

/// A link's card on "My links": its counts, QR code, whether it expired by `now`,
/// and the names of the actions it has responses of.
pub fn card(config: &Config, link: &links::Model, dto: LinkDto, now: i64) -> LinkCard {
    LinkCard {
        qr_svg: qr_svg(&dto.url),
        expired: link.expires_at.is_some_and(|e| e <= now),
        action_labels: dto
            .responses
            .keys()
            .map(|a| (a.clone(), super::responses::action_label(config, a)))
            .collect(),
        link: dto,
    }
}

/// A user's links with their counts, the personal link first.
pub async fn mine(
    db: &impl ConnectionTrait,
    config: &Config,
    owner_id: i64,
) -> Result<Vec<(links::Model, LinkDto)>, DbErr> {
    let rows = links::Entity::find()
        .filter(links::Column::OwnerId.eq(owner_id))
        .order_by_desc(links::Column::IsPersonal)
        .order_by_desc(links::Column::CreatedAt)
        .order_by_desc(links::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|l| l.id).collect();
    let mut counts = counts_with_conversions(db, config, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|l| {
            let dto = to_dto(config, &l, counts.remove(&l.id).unwrap_or_default());
            (l, dto)
        })
        .collect())
}

/// An SVG QR code of `url`, with a white quiet zone.
pub fn qr_svg(url: &str) -> String {
    use qrcode::render::svg;
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(160, 160)
            .dark_color(svg::Color("#1d2430"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}
