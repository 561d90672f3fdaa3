//! Group commit for the hot paths. Landings and clicks from concurrent requests are
//! written together, one transaction per batch, and each request waits until its
//! batch has committed: a landing counts as recorded only once it is in the
//! database, and a click is committed before its 302 goes out. Nothing is kept
//! only in memory: a job is either committed or its request hears of the failure.
//!
//! A batch inserts new identities, then touchpoints (a returning visitor's only if it
//! has no touch with the same fingerprint in the dedupe window), then responses: on
//! SQLite one script of multi-row INSERTs, on PostgreSQL one statement over arrays (see
//! `pg_statement`). If a batch fails, its jobs are retried one by one, so that one bad
//! job cannot fail the others.

use crate::server::db::{Backend, Database, Pools};
use crate::server::sql::value_rows;
use crate::server::tracking::params::TrackedParams;
use sea_orm::DbErr;
use sqlx::pool::PoolConnection;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{Mutex, mpsc, oneshot};

const MAX_BATCH: usize = 128;
/// PostgreSQL connections of the writers (pools of their own), shared out among the
/// server's threads, one at least each. Two overlap one batch's commit (its WAL flush)
/// with the next batch; more only make the batches smaller (measured on 2 cores with
/// one writer: 4 connections gave 6 writes per batch, about 25 % fewer clicks and 5-15 %
/// fewer UTM landings per second than 2, which gave 8; 1 gave 13 per batch but no more
/// throughput; with a writer per thread, 2 each gave no more than 1 each).
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
    stats: Arc<Stats>,
}

/// Counts of committed batches and of the jobs in them, for the benchmarks.
#[derive(Default)]
struct Stats {
    batches: AtomicU64,
    jobs: AtomicU64,
}

impl Writer {
    /// Starts the workers: one on SQLite (it has one writer anyway), several on
    /// PostgreSQL, with connections of their own, so that commits overlap and a batch
    /// never waits for a connection behind the requests' queries. They stop when the
    /// last `Writer` handle is dropped. (A thread of their own, tried, was slower: each
    /// reply then wakes a request task from outside its runtime.)
    pub fn start(db: Database) -> Writer {
        Writer::start_with(db, WRITER_CONNECTIONS, Arc::new(Stats::default()))
    }

    /// The writer for one of the server's threads (see `server::startup`), counting
    /// into the same totals as this one. On PostgreSQL, a writer of its own on the
    /// current runtime, with `postgres_connections` of its own: the reply to a request
    /// then wakes it on its own thread. On SQLite, this one: its one write connection
    /// works on a thread of its own anyway (sqlx's), and one writer per server thread,
    /// taking turns with that connection, left the threads idle while they waited
    /// (measured: UTM landings about 8 % fewer per second).
    pub fn sibling(&self, db: Database, postgres_connections: u32) -> Writer {
        match db.backend() {
            Backend::Sqlite => self.clone(),
            Backend::Postgres => Writer::start_with(db, postgres_connections.max(1), self.stats.clone()),
        }
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

    /// Writes `job` and returns once it is committed.
    pub async fn submit(&self, job: WriteJob) -> Result<(), WriteError> {
        let (reply, wait) = oneshot::channel();
        self.tx.send((job, reply)).await.map_err(|_| WriteError::Stopped)?;
        wait.await.map_err(|_| WriteError::Stopped)?
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
                run_batch(&db, &mut held, batch, &stats).await;
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

async fn run_batch(db: &Database, held: &mut Held, batch: Vec<(WriteJob, Reply)>, stats: &Stats) {
    let jobs: Vec<&WriteJob> = batch.iter().map(|(j, _)| j).collect();
    match write_batch(db, held, &jobs).await {
        Ok(()) => {
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
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
                if result.is_ok() {
                    stats.batches.fetch_add(1, Ordering::Relaxed);
                    stats.jobs.fetch_add(1, Ordering::Relaxed);
                }
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

/// SQLite's batch: one script (`BEGIN IMMEDIATE; ...; COMMIT`) with `?` placeholders,
/// run in one call to the connection's thread. Rows name a new identity by its public
/// id, looked up through its unique index.
fn sqlite_script(rows: Rows, now: i64) -> (String, Vec<Arg>) {
    let mut args: Vec<Arg> = Vec::new();
    let mut parts: Vec<String> = Vec::new();
    if !rows.new_ids.is_empty() {
        parts.push(format!(
            "INSERT INTO identities (public_id, user_id, created_at) VALUES {}",
            value_rows(rows.new_ids.len(), 3)
        ));
        for (p, u) in rows.new_ids {
            args.extend([Arg::Text(Some(p)), Arg::Int(u), Arg::from(now)]);
        }
    }
    let identity = "COALESCE(v.column1, (SELECT i.id FROM identities i WHERE i.public_id = v.column2))";
    if !rows.touches.is_empty() {
        let own = TOUCH_COLUMNS.len() - 1;
        let cols: Vec<String> = (4..4 + own).map(|c| format!("v.column{c}")).collect();
        parts.push(format!(
            "INSERT INTO touchpoints ({}) SELECT {identity}, {} FROM (VALUES {}) v WHERE {}",
            TOUCH_COLUMNS.join(", "),
            cols.join(", "),
            value_rows(rows.touches.len(), 3 + own),
            dedupe_condition("v.column1", "v.column3", &format!("v.column{}", 3 + own)),
        ));
        args.extend(rows.touches.into_iter().flatten());
    }
    if !rows.responses.is_empty() {
        let cols: Vec<String> = (3..3 + RESPONSE_COLUMNS.len())
            .map(|c| format!("v.column{c}"))
            .collect();
        parts.push(format!(
            "INSERT INTO responses (identity_id, {}) SELECT {identity}, {} FROM (VALUES {}) v",
            RESPONSE_COLUMNS.join(", "),
            cols.join(", "),
            value_rows(rows.responses.len(), 2 + RESPONSE_COLUMNS.len()),
        ));
        args.extend(rows.responses.into_iter().flatten());
    }
    (format!("BEGIN IMMEDIATE; {}; COMMIT", parts.join("; ")), args)
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
            "new_identities AS (INSERT INTO identities (public_id, user_id, created_at) \
             SELECT v.p, v.u, v.t FROM {from} RETURNING id, public_id)"
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

fn bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
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
    let rows = rows(jobs);
    if rows.is_empty() {
        return Ok(());
    }
    let now = crate::server::time::now_ms();
    let err = |e: sqlx::Error| DbErr::Custom(e.to_string());
    let result = match held.get(db).await? {
        HeldConn::Sqlite(conn) => {
            let (sql, args) = sqlite_script(rows, now);
            match bind(sqlx::query(&sql), args).execute(&mut **conn).await {
                Ok(_) => Ok(()),
                Err(e) => {
                    // The script stopped inside its transaction: end it before the
                    // connection goes back to the pool.
                    let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
                    Err(err(e))
                }
            }
        }
        HeldConn::Postgres(conn) => match pg_query(rows, now) {
            Ok(q) => q.execute(&mut **conn).await.map(|_| ()).map_err(err),
            Err(e) => Err(e),
        },
    };
    if result.is_err() {
        held.conn = None;
    }
    result
}
