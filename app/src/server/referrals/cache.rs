//! Link codes cached in memory for the click path. An entry lives 5 seconds, so a
//! link changed or deactivated on any instance takes effect everywhere within that;
//! this instance forgets a link at once when it changes it. Unknown codes are cached
//! too (briefly), so a flood of bad codes does not become a flood of queries.

use crate::server::entities::links;
use crate::server::referrals::codes;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 100_000;

/// What a click needs to know about a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedLink {
    pub id: i64,
    pub code: String,
    pub owner_id: Option<i64>,
    pub destination: String,
    pub active: bool,
    pub expires_at: Option<i64>,
    pub campaign_id: Option<i64>,
}

impl CachedLink {
    /// Active and not expired at `now` (ms).
    pub fn is_live(&self, now: i64) -> bool {
        self.active && self.expires_at.is_none_or(|e| e > now)
    }
}

impl From<links::Model> for CachedLink {
    fn from(l: links::Model) -> Self {
        CachedLink {
            id: l.id,
            code: l.code,
            owner_id: l.owner_id,
            destination: l.destination,
            active: l.active,
            expires_at: l.expires_at,
            campaign_id: l.campaign_id,
        }
    }
}

pub struct LinkCache {
    case_sensitive: bool,
    entries: RwLock<HashMap<String, (Instant, Option<CachedLink>)>>,
}

impl LinkCache {
    pub fn new(case_sensitive: bool) -> Self {
        LinkCache {
            case_sensitive,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The link with this code (any case, unless codes are case-sensitive).
    pub async fn get(&self, db: &DatabaseConnection, code: &str) -> Result<Option<CachedLink>, DbErr> {
        if code.is_empty() || code.len() > 64 {
            return Ok(None);
        }
        let key = codes::key(code, self.case_sensitive);
        if let Some((at, hit)) = self.entries.read().unwrap_or_else(|e| e.into_inner()).get(&key)
            && at.elapsed() < TTL
        {
            return Ok(hit.clone());
        }
        let found = links::Entity::find()
            .filter(links::Column::CodeKey.eq(key.clone()))
            .one(db)
            .await?
            .map(CachedLink::from);
        let mut map = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (at, _)| at.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (Instant::now(), found.clone()));
        Ok(found)
    }

    /// Forgets a code after this instance changed its link.
    pub fn forget(&self, code: &str) {
        let key = codes::key(code, self.case_sensitive);
        self.entries.write().unwrap_or_else(|e| e.into_inner()).remove(&key);
    }
}
