//! Group commit for the hot paths. Landings and clicks from concurrent requests are
//! written together, one transaction per batch, and each request waits until its
//! batch has committed: a landing counts as recorded only once it is in the
//! database, and a click is committed before its 302 goes out. Nothing is kept
//! only in memory: a job is either committed or its request hears of the failure.
//!
//! A batch inserts new identities (one multi-row INSERT ... RETURNING), then
//! touchpoints (one multi-row INSERT for new visitors; an INSERT ... WHERE NOT EXISTS
//! per returning visitor, for the dedupe window), then responses (one multi-row INSERT).
//! If a batch fails, its jobs are retried one by one, so that one bad job cannot fail
//! the others.

use crate::server::db::Database;
use crate::server::sql::{stmt, value_rows};
use crate::server::tracking::params::TrackedParams;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

const MAX_BATCH: usize = 128;

#[derive(Debug, Clone)]
pub enum IdentityRef {
    /// A known canonical identity.
    Existing(i64),
    /// A new identity, with the cookie value already chosen.
    New { public_id: String, user_id: Option<i64> },
    /// No identity (a GPC visitor's click).
    None,
}

/// A touchpoint to write.
#[derive(Debug, Clone)]
pub struct TouchRow {
    pub created_at: i64,
    pub link_id: Option<i64>,
    pub path: String,
    pub http_referrer: Option<String>,
    pub referrer_host: Option<String>,
    pub params: TrackedParams,
    pub source: String,
    pub medium: String,
    pub channel: String,
    pub fingerprint: i64,
}

/// A response (click or action) to write.
#[derive(Debug, Clone)]
pub struct ResponseRow {
    pub public_id: String,
    pub link_id: i64,
    pub user_id: Option<i64>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub http_referrer: Option<String>,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct WriteJob {
    pub identity: IdentityRef,
    pub touch: Option<TouchRow>,
    pub response: Option<ResponseRow>,
    /// A touch is skipped when the identity has one with the same fingerprint newer
    /// than `touch.created_at - dedupe_ms`. 0 turns dedupe off.
    pub dedupe_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOutcome {
    pub identity_id: Option<i64>,
    pub touch_recorded: bool,
}

#[derive(Debug, thiserror::Error, Clone)]
pub enum WriteError {
    #[error("database error: {0}")]
    Db(String),
    #[error("the writer has stopped")]
    Stopped,
}

type Reply = oneshot::Sender<Result<WriteOutcome, WriteError>>;

/// The handle requests submit jobs to. Cloning it is cheap.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<(WriteJob, Reply)>,
}

impl Writer {
    /// Starts the workers: one on SQLite (it has one writer anyway), several on
    /// PostgreSQL so that commits overlap.
    pub fn start(db: Database) -> Writer {
        let (tx, rx) = mpsc::channel::<(WriteJob, Reply)>(8192);
        let rx = Arc::new(Mutex::new(rx));
        let workers = match db.backend() {
            crate::server::db::Backend::Sqlite => 1,
            crate::server::db::Backend::Postgres => 4,
        };
        for _ in 0..workers {
            let rx = rx.clone();
            let db = db.clone();
            tokio::spawn(async move {
                loop {
                    let mut batch = Vec::with_capacity(MAX_BATCH);
                    {
                        let mut rx = rx.lock().await;
                        match rx.recv().await {
                            Some(first) => batch.push(first),
                            None => return,
                        }
                        while batch.len() < MAX_BATCH {
                            match rx.try_recv() {
                                Ok(more) => batch.push(more),
                                Err(_) => break,
                            }
                        }
                    }
                    tracing::debug!(jobs = batch.len(), "write batch");
                    run_batch(&db, batch).await;
                    tracing::debug!("write batch done");
                }
            });
        }
        Writer { tx }
    }

    /// Writes `job` and returns once it is committed.
    pub async fn submit(&self, job: WriteJob) -> Result<WriteOutcome, WriteError> {
        let (reply, wait) = oneshot::channel();
        self.tx.send((job, reply)).await.map_err(|_| WriteError::Stopped)?;
        wait.await.map_err(|_| WriteError::Stopped)?
    }
}

async fn run_batch(db: &Database, batch: Vec<(WriteJob, Reply)>) {
    let jobs: Vec<&WriteJob> = batch.iter().map(|(j, _)| j).collect();
    match write_all(db, &jobs).await {
        Ok(outcomes) => {
            for ((_, reply), outcome) in batch.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(e) if batch.len() > 1 => {
            tracing::warn!(error = %e, jobs = batch.len(), "a write batch failed; retrying its jobs one by one");
            for (job, reply) in batch {
                let result = write_all(db, &[&job])
                    .await
                    .map(|mut o| o.remove(0))
                    .map_err(|e| WriteError::Db(e.to_string()));
                let _ = reply.send(result);
            }
        }
        Err(e) => {
            if let Some((_, reply)) = batch.into_iter().next() {
                let _ = reply.send(Err(WriteError::Db(e.to_string())));
            }
        }
    }
}

const TOUCH_COLUMNS: &str = "identity_id, created_at, link_id, path, http_referrer, referrer_host, utm_source, utm_medium, \
     utm_campaign, utm_term, utm_content, utm_id, click_ids, extra_params, source, medium, channel, fingerprint";
const TOUCH_COLUMN_COUNT: usize = 18;

fn touch_values(identity_id: i64, t: &TouchRow) -> [Value; TOUCH_COLUMN_COUNT] {
    let p = &t.params;
    [
        identity_id.into(),
        t.created_at.into(),
        t.link_id.into(),
        t.path.clone().into(),
        t.http_referrer.clone().into(),
        t.referrer_host.clone().into(),
        p.utm_source.clone().into(),
        p.utm_medium.clone().into(),
        p.utm_campaign.clone().into(),
        p.utm_term.clone().into(),
        p.utm_content.clone().into(),
        p.utm_id.clone().into(),
        p.click_ids_json().into(),
        p.extra_json().into(),
        t.source.clone().into(),
        t.medium.clone().into(),
        t.channel.clone().into(),
        t.fingerprint.into(),
    ]
}

const RESPONSE_COLUMNS: &str = "public_id, link_id, identity_id, user_id, action, target_type, target_id, http_referrer, \
     user_agent, client_ip, created_at";
const RESPONSE_COLUMN_COUNT: usize = 11;

fn response_values(identity_id: Option<i64>, r: &ResponseRow) -> [Value; RESPONSE_COLUMN_COUNT] {
    [
        r.public_id.clone().into(),
        r.link_id.into(),
        identity_id.into(),
        r.user_id.into(),
        r.action.clone().into(),
        r.target_type.clone().into(),
        r.target_id.clone().into(),
        r.http_referrer.clone().into(),
        r.user_agent.clone().into(),
        r.client_ip.clone().into(),
        r.created_at.into(),
    ]
}

/// Writes the jobs in one transaction and reports each one's outcome.
pub async fn write_all(db: &Database, jobs: &[&WriteJob]) -> Result<Vec<WriteOutcome>, DbErr> {
    let txn = db.write.begin().await?;
    let b = txn.get_database_backend();

    // 1. New identities.
    let new_ids: Vec<(&str, Option<i64>)> = jobs
        .iter()
        .filter_map(|j| match &j.identity {
            IdentityRef::New { public_id, user_id } => Some((public_id.as_str(), *user_id)),
            _ => None,
        })
        .collect();
    let mut created: HashMap<String, i64> = HashMap::new();
    if !new_ids.is_empty() {
        let now = crate::server::time::now_ms();
        let values: Vec<Value> = new_ids
            .iter()
            .flat_map(|(p, u)| [Value::from(p.to_string()), Value::from(*u), Value::from(now)])
            .collect();
        let sql = format!(
            "INSERT INTO identities (public_id, user_id, created_at) VALUES {} RETURNING id, public_id",
            value_rows(new_ids.len(), 3)
        );
        for row in txn.query_all(stmt(b, &sql, values)).await? {
            created.insert(row.try_get("", "public_id")?, row.try_get("", "id")?);
        }
    }
    let identity_of = |j: &WriteJob| -> Option<i64> {
        match &j.identity {
            IdentityRef::Existing(id) => Some(*id),
            IdentityRef::New { public_id, .. } => created.get(public_id).copied(),
            IdentityRef::None => None,
        }
    };

    // 2. Touchpoints.
    let mut outcomes: Vec<WriteOutcome> = jobs
        .iter()
        .map(|j| WriteOutcome {
            identity_id: identity_of(j),
            touch_recorded: false,
        })
        .collect();
    let mut plain = Vec::new(); // (job, identity, touch)
    let mut seen: HashSet<(i64, i64)> = HashSet::new();
    for (i, j) in jobs.iter().enumerate() {
        let (Some(touch), Some(identity_id)) = (&j.touch, outcomes[i].identity_id) else {
            continue;
        };
        if !seen.insert((identity_id, touch.fingerprint)) && j.dedupe_ms > 0 {
            continue; // the same touch twice in one batch
        }
        match (&j.identity, j.dedupe_ms) {
            (IdentityRef::Existing(_), ms) if ms > 0 => {
                let mut values = touch_values(identity_id, touch).to_vec();
                values.extend([
                    identity_id.into(),
                    touch.fingerprint.into(),
                    (touch.created_at - ms).into(),
                ]);
                let sql = format!(
                    "INSERT INTO touchpoints ({TOUCH_COLUMNS}) SELECT {} \
                     WHERE NOT EXISTS (SELECT 1 FROM touchpoints WHERE identity_id = ? AND fingerprint = ? AND created_at >= ?)",
                    vec!["?"; TOUCH_COLUMN_COUNT].join(", ")
                );
                let res = txn.execute(stmt(b, &sql, values)).await?;
                outcomes[i].touch_recorded = res.rows_affected() > 0;
            }
            _ => plain.push((i, identity_id, touch)),
        }
    }
    if !plain.is_empty() {
        let values: Vec<Value> = plain
            .iter()
            .flat_map(|&(_, identity_id, touch)| touch_values(identity_id, touch))
            .collect();
        let sql = format!(
            "INSERT INTO touchpoints ({TOUCH_COLUMNS}) VALUES {}",
            value_rows(plain.len(), TOUCH_COLUMN_COUNT)
        );
        txn.execute(stmt(b, &sql, values)).await?;
        for (i, _, _) in plain {
            outcomes[i].touch_recorded = true;
        }
    }

    // 3. Responses.
    let responses: Vec<(usize, _)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.response.as_ref().map(|r| (i, r)))
        .collect();
    if !responses.is_empty() {
        let values: Vec<Value> = responses
            .iter()
            .flat_map(|&(i, r)| response_values(outcomes[i].identity_id, r))
            .collect();
        let sql = format!(
            "INSERT INTO responses ({RESPONSE_COLUMNS}) VALUES {}",
            value_rows(responses.len(), RESPONSE_COLUMN_COUNT)
        );
        txn.execute(stmt(b, &sql, values)).await?;
    }
    txn.commit().await?;
    Ok(outcomes)
}
