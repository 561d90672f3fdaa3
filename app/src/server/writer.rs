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

use crate::server::db::{Backend, Database, Pools};
use crate::server::sql::value_rows;
use crate::server::tracking::params::TrackedParams;
use sea_orm::DbErr;
use sqlx::pool::PoolConnection;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{Mutex, mpsc, oneshot};

const MAX_BATCH: usize = 128;
/// PostgreSQL connections of the writer (its own pool).
const WRITER_CONNECTIONS: u32 = 4;

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

#[derive(Debug, thiserror::Error, Clone)]
pub enum WriteError {
    #[error("database error: {0}")]
    Db(String),
    #[error("the writer has stopped")]
    Stopped,
}

type Reply = oneshot::Sender<Result<(), WriteError>>;

/// The handle requests submit jobs to. Cloning it is cheap.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<(WriteJob, Reply)>,
}

impl Writer {
    /// Starts the workers: one on SQLite (it has one writer anyway), several on
    /// PostgreSQL, with connections of their own, so that commits overlap and a batch
    /// never waits for a connection behind the requests' queries. They stop when the
    /// last `Writer` handle is dropped. (A thread of their own, tried, was slower: each
    /// reply then wakes a request task from outside its runtime.)
    pub fn start(db: Database) -> Writer {
        let (tx, rx) = mpsc::channel::<(WriteJob, Reply)>(8192);
        tokio::spawn(run_workers(db, rx));
        Writer { tx }
    }

    /// Writes `job` and returns once it is committed.
    pub async fn submit(&self, job: WriteJob) -> Result<(), WriteError> {
        let (reply, wait) = oneshot::channel();
        self.tx.send((job, reply)).await.map_err(|_| WriteError::Stopped)?;
        wait.await.map_err(|_| WriteError::Stopped)?
    }
}

async fn run_workers(db: Database, rx: mpsc::Receiver<(WriteJob, Reply)>) {
    let (db, workers) = match db.backend() {
        Backend::Sqlite => (db, 1),
        Backend::Postgres => (db.with_own_postgres_pool(WRITER_CONNECTIONS), WRITER_CONNECTIONS),
    };
    let rx = Arc::new(Mutex::new(rx));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let rx = rx.clone();
        let db = db.clone();
        tasks.spawn(async move {
            let mut held = Held::default();
            loop {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                {
                    let mut rx = rx.lock().await;
                    let first = match rx.try_recv() {
                        Ok(first) => first,
                        Err(TryRecvError::Empty) => {
                            // Nothing waiting: SQLite's one write connection goes back
                            // to the pool for the other writes while this waits.
                            held.release_if_shared();
                            match rx.recv().await {
                                Some(first) => first,
                                None => return,
                            }
                        }
                        Err(TryRecvError::Disconnected) => return,
                    };
                    batch.push(first);
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(more) => batch.push(more),
                            Err(_) => break,
                        }
                    }
                }
                run_batch(&db, &mut held, batch).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    if db.backend() == Backend::Postgres {
        db.close().await;
    }
}

/// SQLite lends its one write connection to the writer for this many batches in a row
/// at most, so that the other writes (sign-ups, API calls) get their turn under load.
const SQLITE_BATCHES_PER_LOAN: u32 = 8;

/// A worker's connection, kept from one batch to the next: no acquiring, and no ping
/// when it goes back to the pool (sqlx pings every connection it gets back), for each
/// batch. PostgreSQL workers have a pool of their own and keep theirs; the SQLite worker
/// gives the shared write connection back when its queue is empty, and every
/// `SQLITE_BATCHES_PER_LOAN` batches. A connection whose statement failed goes back to
/// the pool, which checks it.
#[derive(Default)]
struct Held {
    conn: Option<HeldConn>,
    batches: u32,
}

enum HeldConn {
    Sqlite(PoolConnection<sqlx::Sqlite>),
    Postgres(PoolConnection<sqlx::Postgres>),
}

impl Held {
    fn release_if_shared(&mut self) {
        if matches!(self.conn, Some(HeldConn::Sqlite(_))) {
            self.conn = None;
        }
    }

    async fn get(&mut self, db: &Database) -> Result<&mut HeldConn, DbErr> {
        let err = |e: sqlx::Error| DbErr::Custom(e.to_string());
        if matches!(self.conn, Some(HeldConn::Sqlite(_))) && self.batches >= SQLITE_BATCHES_PER_LOAN {
            self.conn = None;
        }
        if self.conn.is_none() {
            self.batches = 0;
            self.conn = Some(match &db.pools {
                Pools::Sqlite { write, .. } => HeldConn::Sqlite(write.acquire().await.map_err(err)?),
                Pools::Postgres(pool) => HeldConn::Postgres(pool.acquire().await.map_err(err)?),
            });
        }
        self.batches += 1;
        self.conn.as_mut().ok_or_else(|| DbErr::Custom("no connection".into()))
    }
}

async fn run_batch(db: &Database, held: &mut Held, batch: Vec<(WriteJob, Reply)>) {
    let jobs: Vec<&WriteJob> = batch.iter().map(|(j, _)| j).collect();
    match write_batch(db, held, &jobs).await {
        Ok(()) => {
            for (_, reply) in batch {
                let _ = reply.send(Ok(()));
            }
        }
        Err(e) if batch.len() > 1 => {
            tracing::warn!(error = %e, jobs = batch.len(), "a write batch failed; retrying its jobs one by one");
            for (job, reply) in batch {
                let result = write_batch(db, held, &[&job])
                    .await
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

/// One bound value of a batch.
#[derive(Debug, Clone)]
enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Arg::Text(v.clone())
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}

/// The touchpoint columns a write fills: `identity_id`, then those of `touch_args`
/// (the seed writes the same).
pub const TOUCH_COLUMNS: [&str; 18] = [
    "identity_id",
    "created_at",
    "link_id",
    "path",
    "http_referrer",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "utm_id",
    "click_ids",
    "extra_params",
    "source",
    "medium",
    "channel",
    "fingerprint",
];

fn touch_args(t: &TouchRow) -> [Arg; 17] {
    let p = &t.params;
    [
        t.created_at.into(),
        t.link_id.into(),
        (&t.path).into(),
        (&t.http_referrer).into(),
        (&t.referrer_host).into(),
        (&p.utm_source).into(),
        (&p.utm_medium).into(),
        (&p.utm_campaign).into(),
        (&p.utm_term).into(),
        (&p.utm_content).into(),
        (&p.utm_id).into(),
        p.click_ids_json().into(),
        p.extra_json().into(),
        (&t.source).into(),
        (&t.medium).into(),
        (&t.channel).into(),
        t.fingerprint.into(),
    ]
}

/// The response columns after `identity_id`, in the order of `response_args`.
const RESPONSE_COLUMNS: [&str; 10] = [
    "public_id",
    "link_id",
    "user_id",
    "action",
    "target_type",
    "target_id",
    "http_referrer",
    "user_agent",
    "client_ip",
    "created_at",
];

fn response_args(r: &ResponseRow) -> [Arg; 10] {
    [
        (&r.public_id).into(),
        r.link_id.into(),
        r.user_id.into(),
        (&r.action).into(),
        (&r.target_type).into(),
        (&r.target_id).into(),
        (&r.http_referrer).into(),
        (&r.user_agent).into(),
        (&r.client_ip).into(),
        r.created_at.into(),
    ]
}

/// A batch as SQL and its values, with `?` placeholders.
struct Script {
    sql: String,
    args: Vec<Arg>,
}

/// Builds the batch. Each touch and response row carries its identity as an id (a
/// known identity) or as the public id of an identity made in the same batch; a
/// touch with a dedupe window is inserted only if the identity has no touch with
/// the same fingerprint since then.
///
/// SQLite gets one script (`BEGIN IMMEDIATE; ...; COMMIT`), run in one call to the
/// connection's thread; PostgreSQL gets one statement whose data-modifying `WITH`
/// parts insert the identities (`RETURNING` their ids to the rows that need them),
/// touchpoints and responses: one round trip and one commit.
fn script(backend: Backend, jobs: &[&WriteJob]) -> Option<Script> {
    let now = crate::server::time::now_ms();
    let mut args: Vec<Arg> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    let pg = backend == Backend::Postgres;

    let new_ids: Vec<(&str, Option<i64>)> = jobs
        .iter()
        .filter_map(|j| match &j.identity {
            IdentityRef::New { public_id, user_id } => Some((public_id.as_str(), *user_id)),
            _ => None,
        })
        .collect();
    if !new_ids.is_empty() {
        let mut sql = format!(
            "INSERT INTO identities (public_id, user_id, created_at) VALUES {}",
            value_rows(new_ids.len(), 3)
        );
        for (p, u) in &new_ids {
            args.extend([Arg::from(*p), Arg::from(*u), Arg::from(now)]);
        }
        if pg {
            sql = format!("new_identities AS ({sql} RETURNING id, public_id)");
        }
        parts.push(sql);
    }
    // The identity of a row, from `v.column1` (an id) or `v.column2` (a new public id).
    let (identity, join) = match (pg, new_ids.is_empty()) {
        (_, true) => ("v.column1", ""),
        (true, false) => (
            "COALESCE(v.column1, n.id)",
            " LEFT JOIN new_identities n ON n.public_id = v.column2",
        ),
        (false, false) => (
            "COALESCE(v.column1, (SELECT i.id FROM identities i WHERE i.public_id = v.column2))",
            "",
        ),
    };
    let id_arg = |j: &WriteJob| -> (Arg, Arg) {
        match &j.identity {
            IdentityRef::Existing(id) => (Arg::from(*id), Arg::Text(None)),
            IdentityRef::New { public_id, .. } => (Arg::Int(None), Arg::from(public_id)),
            IdentityRef::None => (Arg::Int(None), Arg::Text(None)),
        }
    };

    // Touchpoints: the same touch twice in one batch is written once.
    let mut seen: HashSet<(String, i64)> = HashSet::new();
    let mut touches = 0;
    let mut touch_args_all: Vec<Arg> = Vec::new();
    for j in jobs {
        let Some(touch) = &j.touch else { continue };
        let who = match &j.identity {
            IdentityRef::Existing(id) => format!("id:{id}"),
            IdentityRef::New { public_id, .. } => format!("new:{public_id}"),
            IdentityRef::None => continue,
        };
        if !seen.insert((who, touch.fingerprint)) && j.dedupe_ms > 0 {
            continue;
        }
        let (i, p) = id_arg(j);
        let since = match (&j.identity, j.dedupe_ms) {
            (IdentityRef::Existing(_), ms) if ms > 0 => Some(touch.created_at - ms),
            _ => None,
        };
        touch_args_all.extend([i, p, Arg::from(since)]);
        touch_args_all.extend(touch_args(touch));
        touches += 1;
    }
    if touches > 0 {
        // VALUES columns: the identity's id and public id, the dedupe bound, then `touch_args`.
        let own = TOUCH_COLUMNS.len() - 1;
        let cols: Vec<String> = (4..4 + own).map(|c| format!("v.column{c}")).collect();
        let sql = format!(
            "INSERT INTO touchpoints ({}) SELECT {identity}, {} FROM (VALUES {}) v{join} \
             WHERE v.column3 IS NULL OR NOT EXISTS (SELECT 1 FROM touchpoints x WHERE x.identity_id = v.column1 \
             AND x.fingerprint = v.column{} AND x.created_at >= v.column3)",
            TOUCH_COLUMNS.join(", "),
            cols.join(", "),
            value_rows(touches, 3 + own),
            3 + own,
        );
        args.extend(touch_args_all);
        parts.push(if pg { format!("new_touchpoints AS ({sql})") } else { sql });
    }

    let responses: Vec<&WriteJob> = jobs.iter().copied().filter(|j| j.response.is_some()).collect();
    if !responses.is_empty() {
        let cols: Vec<String> = (3..3 + RESPONSE_COLUMNS.len())
            .map(|c| format!("v.column{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO responses (identity_id, {}) SELECT {identity}, {} FROM (VALUES {}) v{join}",
            RESPONSE_COLUMNS.join(", "),
            cols.join(", "),
            value_rows(responses.len(), 2 + RESPONSE_COLUMNS.len()),
        );
        for j in &responses {
            let Some(r) = &j.response else { continue };
            let (i, p) = id_arg(j);
            args.extend([i, p]);
            args.extend(response_args(r));
        }
        parts.push(if pg { format!("new_responses AS ({sql})") } else { sql });
    }
    if parts.is_empty() {
        return None;
    }
    let sql = if pg {
        crate::server::sql::placeholders(
            sea_orm::DatabaseBackend::Postgres,
            &format!("WITH {} SELECT 1", parts.join(", ")),
        )
    } else {
        format!("BEGIN IMMEDIATE; {}; COMMIT", parts.join("; "))
    };
    Some(Script { sql, args })
}

fn bind<'q, DB>(
    mut q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for a in args {
        q = match a {
            Arg::Int(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
        };
    }
    q
}

/// Writes the jobs in one transaction, as one batch of the writer would, on a
/// connection of the pool.
pub async fn write_all(db: &Database, jobs: &[&WriteJob]) -> Result<(), DbErr> {
    write_batch(db, &mut Held::default(), jobs).await
}

/// Writes the jobs in one transaction, on the worker's connection.
async fn write_batch(db: &Database, held: &mut Held, jobs: &[&WriteJob]) -> Result<(), DbErr> {
    let Some(s) = script(db.backend(), jobs) else {
        return Ok(());
    };
    let err = |e: sqlx::Error| DbErr::Custom(e.to_string());
    let result = match held.get(db).await? {
        HeldConn::Sqlite(conn) => {
            let q = bind(sqlx::query(&s.sql), s.args);
            match q.execute(&mut **conn).await {
                Ok(_) => Ok(()),
                Err(e) => {
                    // The script stopped inside its transaction: end it before the
                    // connection goes back to the pool.
                    let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
                    Err(err(e))
                }
            }
        }
        HeldConn::Postgres(conn) => bind(sqlx::query(&s.sql), s.args)
            .execute(&mut **conn)
            .await
            .map(|_| ())
            .map_err(err),
    };
    if result.is_err() {
        held.conn = None;
    }
    result
}
