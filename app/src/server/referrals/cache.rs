//! Link codes cached in memory for the click path. An entry is fresh for 5 seconds, so
//! a link changed or deactivated on any instance takes effect everywhere within that;
//! this instance forgets a link at once when it changes it. Unknown codes are cached
//! too (briefly), so a flood of bad codes does not become a flood of queries.
//!
//! When the database does not answer, a lookup gives up after `LOOKUP_TIMEOUT` and the
//! last entry is served even if stale, up to `STALE_TTL` old: known links keep
//! redirecting through an outage, and a code not cached gets a clear error quickly.

use crate::server::entities::links;
use crate::server::referrals::codes;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(5);
/// How old an entry may be when it is served because the database did not answer.
pub const STALE_TTL: Duration = Duration::from_secs(600);
/// How long a click waits for its link's row.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);
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
    stale_served: std::sync::atomic::AtomicU64,
}

impl LinkCache {
    pub fn new(case_sensitive: bool) -> Self {
        LinkCache {
            case_sensitive,
            entries: RwLock::new(HashMap::new()),
            stale_served: Default::default(),
        }
    }

    /// The link with this code (any case, unless codes are case-sensitive). On a
    /// lookup error or timeout, the cached entry if it is at most `STALE_TTL` old.
    pub async fn get(&self, db: &DatabaseConnection, code: &str) -> Result<Option<CachedLink>, DbErr> {
        if !codes::could_be(code) {
            return Ok(None);
        }
        let key = codes::key(code, self.case_sensitive);
        let cached = self
            .entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if let Some((at, hit)) = &cached
            && at.elapsed() < TTL
        {
            return Ok(hit.clone());
        }
        let query = links::Entity::find()
            .filter(links::Column::CodeKey.eq(key.clone()))
            .one(db);
        let found = match tokio::time::timeout(LOOKUP_TIMEOUT, query).await {
            Ok(Ok(found)) => found.map(CachedLink::from),
            failed => {
                let error = match failed {
                    Ok(Err(e)) => e,
                    _ => DbErr::Custom(format!("the link lookup took longer than {LOOKUP_TIMEOUT:?}")),
                };
                return match cached {
                    Some((at, hit)) if at.elapsed() < STALE_TTL => {
                        self.stale_served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        Ok(hit)
                    }
                    _ => Err(error),
                };
            }
        };
        let mut map = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            // Unknown codes go first (a flood of bad codes); known links are kept while
            // they may still be served stale.
            map.retain(|_, (at, hit)| at.elapsed() < TTL || (hit.is_some() && at.elapsed() < STALE_TTL));
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (Instant::now(), found.clone()));
        Ok(found)
    }

    /// How many lookups were answered from a stale entry.
    pub fn stale_served(&self) -> u64 {
        self.stale_served.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Forgets a code after this instance changed its link.
    pub fn forget(&self, code: &str) {
        let key = codes::key(code, self.case_sensitive);
        self.entries.write().unwrap_or_else(|e| e.into_inner()).remove(&key);
    }
}
