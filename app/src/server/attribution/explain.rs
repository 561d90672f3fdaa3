//! The explanation of one conversion: every touch of its identity in time order, with
//! what the model made of it, and the identity's merge history.

use super::engine::credits;
use super::settings::Settings;
use crate::dto::{ExplainedTouch, Explanation, MergeRecord, WindowInfo};
use crate::error::AppError;
use crate::server::conversions::to_dto;
use crate::server::entities::{conversions, identities, links, touchpoints};
use crate::server::time::{DAY, rfc3339};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

pub const MAX_TOUCHES: u64 = 2000;

pub async fn explain(db: &impl ConnectionTrait, s: &Settings, conversion_id: i64) -> Result<Explanation, AppError> {
    let c = conversions::Entity::find_by_id(conversion_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("No such conversion."))?;
    let (touches, merges) = match c.identity_id {
        None => (Vec::new(), Vec::new()),
        Some(identity) => {
            let weights: HashMap<String, f64> = credits(db, s, &[c.id], true)
                .await?
                .remove(&c.id)
                .unwrap_or_default()
                .into_iter()
                .map(|cr| (cr.touchpoint_id, cr.weight))
                .collect();
            let rows = touchpoints::Entity::find()
                .filter(touchpoints::Column::IdentityId.eq(identity))
                .order_by_asc(touchpoints::Column::CreatedAt)
                .order_by_asc(touchpoints::Column::Id)
                .limit(MAX_TOUCHES)
                .all(db)
                .await?;
            let link_ids: Vec<i64> = rows.iter().filter_map(|t| t.link_id).collect();
            let codes: HashMap<i64, String> = if link_ids.is_empty() {
                HashMap::new()
            } else {
                links::Entity::find()
                    .filter(links::Column::Id.is_in(link_ids))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|l| (l.id, l.code))
                    .collect()
            };
            let touches = rows
                .into_iter()
                .map(|t| {
                    let (days, specific) = s.window_for(&t.source);
                    let id = t.id.to_string();
                    let (verdict, weight) = if t.created_at >= c.occurred_at {
                        ("after_conversion", 0.0)
                    } else if let Some(w) = weights.get(&id) {
                        ("credited", *w)
                    } else {
                        debug_assert!(t.created_at < c.occurred_at - days * DAY);
                        ("outside_window", 0.0)
                    };
                    ExplainedTouch {
                        id,
                        at: rfc3339(t.created_at),
                        source: t.source,
                        medium: t.medium,
                        utm_campaign: t.utm_campaign,
                        link: t.link_id.and_then(|l| codes.get(&l).cloned()),
                        verdict: verdict.to_string(),
                        weight,
                        window: WindowInfo {
                            kind: if specific { "source" } else { "default" }.to_string(),
                            days,
                        },
                    }
                })
                .collect();
            let merges = identities::Entity::find()
                .filter(identities::Column::MergedIntoId.eq(identity))
                .order_by_asc(identities::Column::MergedAt)
                .all(db)
                .await?
                .into_iter()
                .map(|m| MergeRecord {
                    identity_id: m.id.to_string(),
                    public_id: m.public_id,
                    merged_at: m.merged_at.map(rfc3339).unwrap_or_default(),
                })
                .collect();
            (touches, merges)
        }
    };
    Ok(Explanation {
        conversion: to_dto(&c),
        touches,
        merges,
        metadata: s.metadata(),
    })
}
