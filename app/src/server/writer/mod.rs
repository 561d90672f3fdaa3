//! Group commit for the hot paths. Landings and clicks from concurrent requests are
//! written together, one transaction per batch, and each request waits until its
//! batch has committed: a landing counts as recorded only once it is in the
//! database, and a click is committed before its 302 goes out. Nothing is kept
//! only in memory: a job is either committed or its request hears of the failure.
//!
//! A batch inserts new identities, then touchpoints (a returning visitor's only if it
//! has no touch with the same fingerprint in the dedupe window), then responses: on
//! SQLite row by row through prepared statements, on the thread that submitted the
//! batch (see `sqlite`), on PostgreSQL one statement over arrays (see `pg_statement`).
//! If a batch fails on a statement, its jobs are retried one by one, so that one bad
//! job cannot fail the others; if it fails to reach the database, its jobs are lost at
//! once (retrying each would only wait for the same dead connection again). A lost job
//! is counted (`lost`, and the metrics' clicks and landings lost) and logged once per
//! batch, and the writer reports that writes are failing until one succeeds again
//! (`/healthz` answers 503 meanwhile).
//!
//! A request waits at most `MAX_WAIT` for its job. Past that it goes on without it (a
//! click still redirects, a landing still renders), and the job stays queued: it is
//! committed when the database answers again, or counted as lost.
//!
//! Each of the server's threads has a writer of its own (`Writer::sibling`), so that
//! a landing is written and woken on the thread it runs on. A writer that wakes for a
//! job first lets the thread's other ready requests run (one `yield_now`), so that
//! their jobs join the batch, which on PostgreSQL spends about half its time on what
//! does not depend on its size (the commit, planning, the round trip).

mod sqlite;

use crate::server::db::{Backend, Database, Pools};
use crate::server::metrics::Metrics;
use sea_orm::DbErr;
use sqlx::pool::PoolConnection;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc, oneshot};

const MAX_BATCH: usize = 128;
/// The longest a request waits for its job to commit (sending it and its batch).
pub const MAX_WAIT: Duration = Duration::from_secs(2);
/// PostgreSQL connections of the writers (pools of their own), shared out among the
/// server's threads, one at least each. Two overlap one batch's commit (its WAL flush)
/// with the next batch; more only make the batches smaller, and two per thread were
/// slower than one (the README's "Performance" has the figures).
pub const WRITER_CONNECTIONS: u32 = 2;

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
    /// `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`, `utm_id`.
    pub utm: [Option<String>; 6],
    /// The click ids and the extra parameters, each a JSON object (or none).
    pub click_ids: Option<String>,
    pub extra_params: Option<String>,
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
    #[error("the write queue is full")]
    Full,
    #[error("the write did not commit within {MAX_WAIT:?}; it stays queued")]
    Waiting,
}

type Reply = oneshot::Sender<Result<(), WriteError>>;

/// The handle requests submit jobs to. Cloning it is cheap.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<(WriteJob, Reply)>,
    stats: Arc<Stats>,
}

/// What a writer and its siblings share: counts of committed batches and of the jobs
/// in them (for the benchmarks), the jobs submitted but not yet in a batch, the jobs
/// lost, and when the last batch succeeded and failed (ms since the epoch).
struct Stats {
    batches: AtomicU64,
    jobs: AtomicU64,
    queued: AtomicU64,
    lost: AtomicU64,
    last_success: AtomicI64,
    last_failure: AtomicI64,
    metrics: Arc<Metrics>,
}

impl Stats {
    fn new(metrics: Arc<Metrics>) -> Self {
        Stats {
            batches: AtomicU64::new(0),
            jobs: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            last_success: AtomicI64::new(0),
            last_failure: AtomicI64::new(0),
            metrics,
        }
    }

    fn committed(&self, jobs: &[&WriteJob], took: Duration) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        self.last_success
            .fetch_max(crate::server::time::now_ms(), Ordering::Relaxed);
        let (clicks, landings) = clicks_and_landings(jobs);
        self.metrics.clicks_recorded.increment(clicks);
        self.metrics.landings_recorded.increment(landings);
        self.metrics.writer_batch_jobs.record(jobs.len() as f64);
        self.metrics.writer_commit_seconds.record(took.as_secs_f64());
    }

    fn lost(&self, jobs: &[&WriteJob]) {
        self.lost.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        self.last_failure
            .fetch_max(crate::server::time::now_ms(), Ordering::Relaxed);
        let (clicks, landings) = clicks_and_landings(jobs);
        self.metrics.clicks_lost.increment(clicks);
        self.metrics.landings_lost.increment(landings);
    }
}

/// How many of `jobs` are clicks (they carry a response) and how many landings.
fn clicks_and_landings(jobs: &[&WriteJob]) -> (u64, u64) {
    let clicks = jobs.iter().filter(|j| j.response.is_some()).count() as u64;
    (clicks, jobs.len() as u64 - clicks)
}

impl Writer {
    /// Starts the workers: one on SQLite (it has one writer anyway), several on
    /// PostgreSQL, with connections of their own, so that commits overlap and a batch
    /// never waits for a connection behind the requests' queries. They stop when the
    /// last `Writer` handle is dropped. (A thread of their own, tried, was slower: each
    /// reply then wakes a request task from outside its runtime.)
    pub fn start(db: Database, metrics: Arc<Metrics>) -> Writer {
        Writer::start_with(db, WRITER_CONNECTIONS, Arc::new(Stats::new(metrics)))
    }

    /// The writer for one of the server's threads (see `server::startup`), on the
    /// current runtime, counting into the same totals as this one: the reply to a
    /// request then wakes it on its own thread. On PostgreSQL it has
    /// `postgres_connections` of its own; on SQLite the writers take turns with the one
    /// write connection, and write on their own thread (see `sqlite`).
    pub fn sibling(&self, db: Database, postgres_connections: u32) -> Writer {
        Writer::start_with(db, postgres_connections.max(1), self.stats.clone())
    }

    fn start_with(db: Database, postgres_connections: u32, stats: Arc<Stats>) -> Writer {
        let (tx, rx) = mpsc::channel::<(WriteJob, Reply)>(8192);
        tokio::spawn(run_workers(db, rx, stats.clone(), postgres_connections));
        Writer { tx, stats }
    }

    /// The batches committed so far, and the jobs they held.
    pub fn committed(&self) -> (u64, u64) {
        (
            self.stats.batches.load(Ordering::Relaxed),
            self.stats.jobs.load(Ordering::Relaxed),
        )
    }

    /// Jobs lost so far (their batch failed for good, or the queue was full), by this
    /// writer and its siblings.
    pub fn lost(&self) -> u64 {
        self.stats.lost.load(Ordering::Relaxed)
    }

    /// Whether the last batch failed (and none succeeded since): writes are failing.
    pub fn failing(&self) -> bool {
        self.stats.last_failure.load(Ordering::Relaxed) > self.stats.last_success.load(Ordering::Relaxed)
    }

    /// Records that a write succeeded outside the writer (the readiness probe's).
    pub fn write_succeeded(&self) {
        self.stats
            .last_success
            .fetch_max(crate::server::time::now_ms(), Ordering::Relaxed);
    }

    /// Writes `job` and returns once it is committed, or after `MAX_WAIT` (`Waiting`:
    /// the job stays queued and is committed or counted as lost later).
    pub async fn submit(&self, job: WriteJob) -> Result<(), WriteError> {
        let (reply, wait) = oneshot::channel();
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.tx.try_send((job, reply)) {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(match e {
                mpsc::error::TrySendError::Full((job, _)) => {
                    self.stats.lost(&[&job]);
                    WriteError::Full
                }
                mpsc::error::TrySendError::Closed((job, _)) => {
                    self.stats.lost(&[&job]);
                    WriteError::Stopped
                }
            });
        }
        match tokio::time::timeout(MAX_WAIT, wait).await {
            Ok(replied) => replied.map_err(|_| WriteError::Stopped)?,
            Err(_) => Err(WriteError::Waiting),
        }
    }
}

async fn run_workers(db: Database, rx: mpsc::Receiver<(WriteJob, Reply)>, stats: Arc<Stats>, connections: u32) {
    let (db, workers) = match db.backend() {
        Backend::Sqlite => (db, 1),
        Backend::Postgres => (db.with_own_postgres_pool(connections), connections),
    };
    let rx = Arc::new(Mutex::new(rx));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let rx = rx.clone();
        let db = db.clone();
        let stats = stats.clone();
        tasks.spawn(async move {
            let mut held = Held::default();
            loop {
                let mut batch = Vec::with_capacity(MAX_BATCH);
                {
                    let mut rx = rx.lock().await;
                    let Some(first) = rx.recv().await else { return };
                    batch.push(first);
                    // The thread's other ready requests (and those whose bytes the
                    // runtime finds waiting) run first, and their jobs join this batch.
                    tokio::task::yield_now().await;
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(more) => batch.push(more),
                            Err(_) => break,
                        }
                    }
                }
                stats.queued.fetch_sub(batch.len() as u64, Ordering::Relaxed);
                run_batch(&db, &mut held, batch, &stats).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    if db.backend() == Backend::Postgres {
        db.close().await;
    }
}

/// A PostgreSQL worker's connection, kept from one batch to the next: no acquiring,
/// and no ping when it goes back to the pool (sqlx pings every connection it gets
/// back), for each batch. Workers have a pool of their own. A connection whose
/// statement failed goes back to the pool, which checks it.
#[derive(Default)]
struct Held {
    conn: Option<PoolConnection<sqlx::Postgres>>,
}

async fn run_batch(db: &Database, held: &mut Held, batch: Vec<(WriteJob, Reply)>, stats: &Stats) {
    let jobs: Vec<&WriteJob> = batch.iter().map(|(j, _)| j).collect();
    let started = Instant::now();
    match write_batch(db, held, &jobs, Some(stats)).await {
        Ok(()) => {
            stats.committed(&jobs, started.elapsed());
            for (_, reply) in batch {
                let _ = reply.send(Ok(()));
            }
        }
        Err(e) if batch.len() > 1 && !e.unreachable => {
            tracing::warn!(error = %e.error, jobs = batch.len(), "a write batch failed; retrying its jobs one by one");
            stats.metrics.writer_batches_failed.increment(1);
            let mut lost = 0;
            for (job, reply) in batch {
                let started = Instant::now();
                let result = write_batch(db, held, &[&job], Some(stats)).await;
                match &result {
                    Ok(()) => stats.committed(&[&job], started.elapsed()),
                    Err(_) => {
                        stats.lost(&[&job]);
                        lost += 1;
                    }
                }
                let _ = reply.send(result.map_err(|e| WriteError::Db(e.error.to_string())));
            }
            if lost > 0 {
                tracing::error!(
                    jobs = lost,
                    total_lost = stats.lost.load(Ordering::Relaxed),
                    "writes lost: clicks or landings not recorded"
                );
            }
        }
        Err(e) => {
            stats.metrics.writer_batches_failed.increment(1);
            stats.lost(&jobs);
            tracing::error!(error = %e.error, jobs = batch.len(), total_lost = stats.lost.load(Ordering::Relaxed),
                "writes lost: clicks or landings not recorded");
            let err = WriteError::Db(e.error.to_string());
            for (_, reply) in batch {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }
}

/// Why a batch failed: `unreachable` when the database could not be reached (no
/// connection, or it broke), rather than a statement failing.
#[derive(Debug)]
struct BatchError {
    error: DbErr,
    unreachable: bool,
}

impl BatchError {
    fn statement(error: DbErr) -> Self {
        BatchError {
            error,
            unreachable: false,
        }
    }

    fn unreachable(error: DbErr) -> Self {
        BatchError {
            error,
            unreachable: true,
        }
    }

    fn from_sqlx(e: sqlx::Error) -> Self {
        let unreachable = matches!(
            e,
            sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Protocol(_)
                | sqlx::Error::Tls(_)
        );
        BatchError {
            error: DbErr::Custom(e.to_string()),
            unreachable,
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

/// The identity columns a write fills, for a new identity.
const IDENTITY_COLUMNS: [&str; 3] = ["public_id", "user_id", "created_at"];

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
    let [utm_source, utm_medium, utm_campaign, utm_term, utm_content, utm_id] = &t.utm;
    [
        t.created_at.into(),
        t.link_id.into(),
        (&t.path).into(),
        (&t.http_referrer).into(),
        (&t.referrer_host).into(),
        utm_source.into(),
        utm_medium.into(),
        utm_campaign.into(),
        utm_term.into(),
        utm_content.into(),
        utm_id.into(),
        (&t.click_ids).into(),
        (&t.extra_params).into(),
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

/// The rows of a batch: new identities (public id, user), then touchpoints and
/// responses, each led by its identity as an id (`Int`, a known identity) and a public
/// id (`Text`, an identity made in the same batch); a touch then has its dedupe bound.
struct Rows {
    new_ids: Vec<(String, Option<i64>)>,
    touches: Vec<Vec<Arg>>,
    responses: Vec<Vec<Arg>>,
}

impl Rows {
    fn is_empty(&self) -> bool {
        self.new_ids.is_empty() && self.touches.is_empty() && self.responses.is_empty()
    }
}

/// Collects the batch's rows. A touch with a dedupe window is written only if the
/// identity has no touch with the same fingerprint since then, and the same touch
/// twice in one batch is written once.
fn rows(jobs: &[&WriteJob]) -> Rows {
    let id_args = |j: &WriteJob| -> [Arg; 2] {
        match &j.identity {
            IdentityRef::Existing(id) => [Arg::from(*id), Arg::Text(None)],
            IdentityRef::New { public_id, .. } => [Arg::Int(None), Arg::from(public_id)],
            IdentityRef::None => [Arg::Int(None), Arg::Text(None)],
        }
    };
    let new_ids = jobs
        .iter()
        .filter_map(|j| match &j.identity {
            IdentityRef::New { public_id, user_id } => Some((public_id.clone(), *user_id)),
            _ => None,
        })
        .collect();
    // A touch's identity and fingerprint, without allocating on the landing path.
    #[derive(PartialEq, Eq, Hash)]
    enum Who<'a> {
        Known(i64),
        New(&'a str),
    }
    let mut seen: HashSet<(Who, i64)> = HashSet::new();
    let mut touches = Vec::new();
    for j in jobs {
        let Some(touch) = &j.touch else { continue };
        let who = match &j.identity {
            IdentityRef::Existing(id) => Who::Known(*id),
            IdentityRef::New { public_id, .. } => Who::New(public_id),
            IdentityRef::None => continue,
        };
        if !seen.insert((who, touch.fingerprint)) && j.dedupe_ms > 0 {
            continue;
        }
        let since = match (&j.identity, j.dedupe_ms) {
            (IdentityRef::Existing(_), ms) if ms > 0 => Some(touch.created_at - ms),
            _ => None,
        };
        let mut row = Vec::with_capacity(3 + TOUCH_COLUMNS.len() - 1);
        row.extend(id_args(j));
        row.push(Arg::from(since));
        row.extend(touch_args(touch));
        touches.push(row);
    }
    let responses = jobs
        .iter()
        .filter_map(|j| {
            let r = j.response.as_ref()?;
            let mut row = Vec::with_capacity(2 + RESPONSE_COLUMNS.len());
            row.extend(id_args(j));
            row.extend(response_args(r));
            Some(row)
        })
        .collect();
    Rows {
        new_ids,
        touches,
        responses,
    }
}

/// The `touchpoints` insert's condition: no dedupe bound, or no touch of the identity
/// with the same fingerprint since the bound.
fn dedupe_condition(identity: &str, since: &str, fingerprint: &str) -> String {
    format!(
        "{since} IS NULL OR NOT EXISTS (SELECT 1 FROM touchpoints x WHERE x.identity_id = {identity} \
         AND x.fingerprint = {fingerprint} AND x.created_at >= {since})"
    )
}

/// The PostgreSQL types of the touch rows' columns (the identity's id and public id,
/// the dedupe bound, then `touch_args`) and of the response rows' (the identity's id
/// and public id, then `response_args`).
const PG_TOUCH_TYPES: [&str; 20] = [
    "bigint", "text", "bigint", "bigint", "bigint", "text", "text", "text", "text", "text", "text", "text", "text",
    "text", "text", "text", "text", "text", "text", "bigint",
];
const PG_RESPONSE_TYPES: [&str; 12] = [
    "bigint", "text", "text", "bigint", "bigint", "text", "text", "text", "text", "text", "text", "bigint",
];

/// PostgreSQL's batch: one statement whose data-modifying `WITH` parts insert the new
/// identities (`RETURNING` their ids to the rows that name them by public id),
/// touchpoints and responses, each from `unnest` of one array per column. One round
/// trip and one commit; one bound value per column rather than per row and column, and
/// one prepared statement (and plan) for each of the seven combinations of parts, so
/// that a batch of landings never opens the responses' table and indexes. `parts`:
/// bit 0 new identities, bit 1 touchpoints, bit 2 responses.
fn pg_statement(parts: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SQL.get_or_init(|| (0..8).map(pg_statement_sql).collect())
        .get(parts)
        .map(String::as_str)
        .unwrap_or("SELECT 1")
}

fn pg_statement_sql(parts: usize) -> String {
    let (ids, touches, responses) = (parts & 1 != 0, parts & 2 != 0, parts & 4 != 0);
    let mut n = 0;
    let mut unnest = |types: &[&str], names: &[String]| -> String {
        let arrays: Vec<String> = types
            .iter()
            .map(|t| {
                n += 1;
                format!("${n}::{t}[]")
            })
            .collect();
        format!("unnest({}) AS v({})", arrays.join(", "), names.join(", "))
    };
    let names = |lead: &[&str], cols: &[&str]| -> Vec<String> {
        lead.iter()
            .map(|s| s.to_string())
            .chain(cols.iter().map(|c| format!("c_{c}")))
            .collect()
    };
    let select = |cols: &[String]| cols.iter().map(|c| format!("v.{c}")).collect::<Vec<_>>().join(", ");
    let (identity, join) = if ids {
        (
            "COALESCE(v.iid, n.id)",
            " LEFT JOIN new_identities n ON n.public_id = v.npid",
        )
    } else {
        ("v.iid", "")
    };
    let mut with = Vec::new();
    if ids {
        let from = unnest(&["text", "bigint", "bigint"], &names(&["p", "u", "t"], &[]));
        with.push(format!(
            "new_identities AS (INSERT INTO identities ({}) SELECT v.p, v.u, v.t FROM {from} \
             RETURNING id, public_id)",
            IDENTITY_COLUMNS.join(", ")
        ));
    }
    if touches {
        let cols = names(&["iid", "npid", "since"], &TOUCH_COLUMNS[1..]);
        let from = unnest(&PG_TOUCH_TYPES, &cols);
        with.push(format!(
            "new_touchpoints AS (INSERT INTO touchpoints ({}) SELECT {identity}, {} FROM {from}{join} WHERE {})",
            TOUCH_COLUMNS.join(", "),
            select(&cols[3..]),
            dedupe_condition("v.iid", "v.since", "v.c_fingerprint"),
        ));
    }
    if responses {
        let cols = names(&["iid", "npid"], &RESPONSE_COLUMNS);
        let from = unnest(&PG_RESPONSE_TYPES, &cols);
        with.push(format!(
            "new_responses AS (INSERT INTO responses (identity_id, {}) SELECT {identity}, {} FROM {from}{join})",
            RESPONSE_COLUMNS.join(", "),
            select(&cols[2..]),
        ));
    }
    if with.is_empty() {
        return "SELECT 1".into();
    }
    format!("WITH {} SELECT 1", with.join(", "))
}

/// One array of a PostgreSQL batch.
enum Column {
    Int(Vec<Option<i64>>),
    Text(Vec<Option<String>>),
}

/// The arrays of `rows` (`rows[i][c]` is row i's value of column c, of type `types[c]`).
fn columns(types: &[&str], rows: Vec<Vec<Arg>>) -> Result<Vec<Column>, DbErr> {
    let mut cols: Vec<Column> = types
        .iter()
        .map(|t| match *t {
            "bigint" => Column::Int(Vec::with_capacity(rows.len())),
            _ => Column::Text(Vec::with_capacity(rows.len())),
        })
        .collect();
    for row in rows {
        if row.len() != cols.len() {
            return Err(DbErr::Custom("a write row has the wrong number of values".into()));
        }
        for (col, arg) in cols.iter_mut().zip(row) {
            match (col, arg) {
                (Column::Int(v), Arg::Int(x)) => v.push(x),
                (Column::Text(v), Arg::Text(x)) => v.push(x),
                _ => return Err(DbErr::Custom("a write value has the wrong type".into())),
            }
        }
    }
    Ok(cols)
}

/// Binds a PostgreSQL batch's values to its statement (see `pg_statement`).
fn pg_query(
    rows: Rows,
    now: i64,
) -> Result<sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>, DbErr> {
    let parts = usize::from(!rows.new_ids.is_empty())
        | usize::from(!rows.touches.is_empty()) << 1
        | usize::from(!rows.responses.is_empty()) << 2;
    let mut q = sqlx::query(pg_statement(parts));
    if !rows.new_ids.is_empty() {
        let times = vec![now; rows.new_ids.len()];
        let (public_ids, users): (Vec<String>, Vec<Option<i64>>) = rows.new_ids.into_iter().unzip();
        q = q.bind(public_ids).bind(users).bind(times);
    }
    let mut arrays = Vec::new();
    if !rows.touches.is_empty() {
        arrays.extend(columns(&PG_TOUCH_TYPES, rows.touches)?);
    }
    if !rows.responses.is_empty() {
        arrays.extend(columns(&PG_RESPONSE_TYPES, rows.responses)?);
    }
    for col in arrays {
        q = match col {
            Column::Int(v) => q.bind(v),
            Column::Text(v) => q.bind(v),
        };
    }
    Ok(q)
}

/// Writes the jobs in one transaction, as one batch of the writer would, on a
/// connection of the pool.
pub async fn write_all(db: &Database, jobs: &[&WriteJob]) -> Result<(), DbErr> {
    write_batch(db, &mut Held::default(), jobs, None)
        .await
        .map_err(|e| e.error)
}

/// Writes the jobs in one transaction: on SQLite through the hot connection (see
/// `sqlite`), on PostgreSQL on the worker's connection. `stats` (a writer's) says
/// whether more jobs are on their way, for which SQLite's writer keeps its turn.
async fn write_batch(
    db: &Database,
    held: &mut Held,
    jobs: &[&WriteJob],
    stats: Option<&Stats>,
) -> Result<(), BatchError> {
    let rows = rows(jobs);
    if rows.is_empty() {
        return Ok(());
    }
    let now = crate::server::time::now_ms();
    match &db.pools {
        Pools::Sqlite { write, hot, .. } => {
            let more_coming = || stats.is_some_and(|s| s.queued.load(Ordering::Relaxed) > 0);
            sqlite::write(write, hot, &rows, now, more_coming).await
        }
        Pools::Postgres(pool) => {
            let conn = match &mut held.conn {
                Some(conn) => conn,
                None => held.conn.insert(pool.acquire().await.map_err(BatchError::from_sqlx)?),
            };
            let result = match pg_query(rows, now) {
                Ok(q) => q.execute(&mut **conn).await.map(|_| ()).map_err(BatchError::from_sqlx),
                Err(e) => Err(BatchError::statement(e)),
            };
            if result.is_err() {
                held.conn = None;
            }
            result
        }
    }
}
