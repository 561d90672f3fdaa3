//! SQLite's batches, written synchronously on the server thread whose writer took
//! them, through the hot connection (`HotSqlite`), row by row with prepared
//! statements, in one `BEGIN IMMEDIATE` transaction.
//!
//! Through the sqlx write connection, each batch went to that connection's thread and
//! its answer came back through one writer's runtime: two thread hops and their
//! wake-ups per batch, and every reply woke a landing from another thread. A batch of
//! about a dozen landings takes a few hundred microseconds here, less than the hops
//! cost the two cores (the README's "Performance" has the figures). The price: while
//! it writes, the thread serves nothing else, as while it renders a page.
//!
//! Every write of the process still takes turns: the hot connection writes only while
//! its writer holds the write pool's one connection (`HotSqlite::token`). A writer
//! keeps that turn while more jobs are queued, for `BATCHES_PER_TURN` batches at most,
//! so that the other writes (sign-ups, the API) get theirs under load.

use super::{Arg, BatchError, IDENTITY_COLUMNS, RESPONSE_COLUMNS, Rows, TOUCH_COLUMNS, dedupe_condition};
use crate::server::db::HotSqlite;
use rusqlite::types::ToSqlOutput;
use rusqlite::{ErrorCode, ToSql, TransactionBehavior, params_from_iter};
use sea_orm::DbErr;
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::iter::once;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const BATCHES_PER_TURN: u32 = 8;

/// How long a batch waits for another process's write lock, as the pools do.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Int(v) => v.to_sql(),
            Arg::Text(v) => v.to_sql(),
        }
    }
}

/// Writes `rows` in one transaction. `more_coming` says whether other jobs are queued,
/// for which the writer keeps its turn.
pub(super) async fn write(
    pool: &SqlitePool,
    hot: &Mutex<HotSqlite>,
    rows: &Rows,
    now: i64,
    more_coming: impl Fn() -> bool,
) -> Result<(), BatchError> {
    let mut hot = hot.lock().await;
    let mut give_up = None;
    let mut pause = Duration::from_millis(1);
    let result = loop {
        if let Err(e) = take_turn(pool, &mut hot).await {
            break Err(BatchError::unreachable(e));
        }
        match write_rows(&mut hot.conn, rows, now) {
            // Another process (the CLI, say) holds the write lock: wait for it without
            // holding up the thread.
            Err(e) if is_busy(&e) && *give_up.get_or_insert_with(|| Instant::now() + BUSY_TIMEOUT) > Instant::now() => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            // Still locked after `BUSY_TIMEOUT`: each job alone would wait as long.
            Err(e) if is_busy(&e) => break Err(BatchError::unreachable(DbErr::Custom(e.to_string()))),
            other => break other.map_err(|e| BatchError::statement(DbErr::Custom(e.to_string()))),
        }
    };
    hot.loans += 1;
    if !more_coming() {
        hot.token = None;
    }
    result
}

/// Makes sure the writer holds the write connection, giving it back first when it has
/// had its turn.
async fn take_turn(pool: &SqlitePool, hot: &mut HotSqlite) -> Result<(), DbErr> {
    if hot.loans >= BATCHES_PER_TURN {
        hot.token = None;
    }
    if hot.token.is_none() {
        let token = pool.acquire().await.map_err(|e| DbErr::Custom(e.to_string()))?;
        hot.token = Some(token);
        hot.loans = 0;
    }
    Ok(())
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// The statements, numbered as the rows' values are: the identity first, then the
/// row's own values (for a touch, its dedupe bound last).
struct Statements {
    identity: String,
    touch: String,
    response: String,
}

fn statements() -> &'static Statements {
    static SQL: OnceLock<Statements> = OnceLock::new();
    SQL.get_or_init(|| {
        let numbered = |n: usize| (1..=n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let touch_values = TOUCH_COLUMNS.len();
        Statements {
            identity: format!(
                "INSERT INTO identities ({}) VALUES ({})",
                IDENTITY_COLUMNS.join(", "),
                numbered(IDENTITY_COLUMNS.len())
            ),
            touch: format!(
                "INSERT INTO touchpoints ({}) SELECT {} WHERE {}",
                TOUCH_COLUMNS.join(", "),
                numbered(touch_values),
                dedupe_condition("?1", &format!("?{}", touch_values + 1), &format!("?{touch_values}")),
            ),
            response: format!(
                "INSERT INTO responses (identity_id, {}) VALUES ({})",
                RESPONSE_COLUMNS.join(", "),
                numbered(1 + RESPONSE_COLUMNS.len())
            ),
        }
    })
}

fn write_rows(conn: &mut rusqlite::Connection, rows: &Rows, now: i64) -> rusqlite::Result<()> {
    let sql = statements();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The ids of the identities made in this batch, by public id.
    let mut made: HashMap<&str, i64> = HashMap::with_capacity(rows.new_ids.len());
    if !rows.new_ids.is_empty() {
        let mut insert = tx.prepare_cached(&sql.identity)?;
        for (public_id, user_id) in &rows.new_ids {
            insert.execute((public_id, user_id, now))?;
            made.insert(public_id, tx.last_insert_rowid());
        }
    }
    // A row's identity: a known one's id, or the id just made for its public id.
    let identity = |row: &[Arg]| {
        Arg::Int(match row {
            [Arg::Int(Some(id)), ..] => Some(*id),
            [_, Arg::Text(Some(public_id)), ..] => made.get(public_id.as_str()).copied(),
            _ => None,
        })
    };
    if !rows.touches.is_empty() {
        let mut insert = tx.prepare_cached(&sql.touch)?;
        for row in &rows.touches {
            let (since, values) = (&row[2], &row[3..]);
            insert.execute(params_from_iter(once(&identity(row)).chain(values).chain(once(since))))?;
        }
    }
    if !rows.responses.is_empty() {
        let mut insert = tx.prepare_cached(&sql.response)?;
        for row in &rows.responses {
            insert.execute(params_from_iter(once(&identity(row)).chain(&row[2..])))?;
        }
    }
    tx.commit()
}
