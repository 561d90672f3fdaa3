//! Connecting to SQLite or PostgreSQL.
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL`, a busy timeout and foreign keys.
//! All of this process's write transactions go through one writer connection
//! (`Database::write`), so two of them can never wait on each other: the classic
//! "database is locked" failure of a read-then-write transaction cannot happen
//! inside the process, and other processes (the CLI) are covered by the busy timeout.
//! Reads use a pool of connections, which WAL lets run beside the writer. The
//! group-commit writer of the hot paths writes through a connection of its own
//! (`HotSqlite`), but only while it holds that one writer connection, so the rule holds.
//! On PostgreSQL both handles are the same pool.

use sea_orm::{DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, PgPool, SqliteConnection, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub enum Pools {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        hot: Arc<tokio::sync::Mutex<HotSqlite>>,
    },
    Postgres(PgPool),
}

/// The SQLite connection the group-commit writer (`crate::server::writer`) runs its
/// batches on, synchronously, on the server thread that submitted them: no hop to a
/// connection thread and back for each batch. It writes only while it holds `token`,
/// the write pool's one connection, so every write of the process still takes turns.
pub struct HotSqlite {
    pub conn: rusqlite::Connection,
    pub token: Option<sqlx::pool::PoolConnection<sqlx::Sqlite>>,
    /// Batches written since `token` was taken from the pool.
    pub loans: u32,
}

/// The application's database handles.
#[derive(Clone)]
pub struct Database {
    /// For reads (and single-statement writes on PostgreSQL).
    pub read: DatabaseConnection,
    /// For every write transaction.
    pub write: DatabaseConnection,
    pub pools: Pools,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL is not a sqlite:// or postgres:// URL")]
    UnknownScheme,
    #[error("could not create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("could not connect to the database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("could not open the database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl Database {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, ConnectError> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, max_connections).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Reports are a few large queries over indexes: JIT compilation cost more
            // than it saved (480 ms of a 2.2 s report), sorts of a few hundred thousand
            // rows should not spill to disk, and the data is on SSD, where an index
            // probe costs about as much as a sequential read.
            let opts = PgConnectOptions::from_str(url)?.options([
                ("jit", "off"),
                ("work_mem", "64MB"),
                ("random_page_cost", "1.1"),
            ]);
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await?;
            let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
            Ok(Database {
                read: conn.clone(),
                write: conn,
                pools: Pools::Postgres(pool),
            })
        } else {
            Err(ConnectError::UnknownScheme)
        }
    }

    async fn connect_sqlite(url: &str, max_connections: u32) -> Result<Self, ConnectError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-65536")
            // Reports read hundreds of megabytes: mapped pages spare a system call per page.
            .pragma("mmap_size", "1073741824");
        let path = opts.get_filename().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| ConnectError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        // Open the writer first: it creates the file and switches it to WAL.
        // A local file cannot hang up: no ping before each use of a connection.
        // The writer never checkpoints: `checkpointer` does, beside it.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.clone().pragma("wal_autocheckpoint", "0"))
            .await?;
        let hot = HotSqlite {
            conn: hot_connection(&path)?,
            token: None,
            loans: 0,
        };
        let checkpoints = SqliteConnection::connect_with(&opts).await?;
        tokio::spawn(checkpointer(checkpoints, write.clone()));
        let read = SqlitePoolOptions::new()
            .max_connections(max_connections.max(2))
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts.read_only(false))
            .await?;
        Ok(Database {
            read: SqlxSqliteConnector::from_sqlx_sqlite_pool(read.clone()),
            write: SqlxSqliteConnector::from_sqlx_sqlite_pool(write.clone()),
            pools: Pools::Sqlite {
                read,
                write,
                hot: Arc::new(tokio::sync::Mutex::new(hot)),
            },
        })
    }

    /// The same database through a new PostgreSQL pool of `connections` (made lazily,
    /// in the runtime that first uses them). SQLite handles are returned as they are.
    pub fn with_own_postgres_pool(&self, connections: u32) -> Database {
        match &self.pools {
            Pools::Postgres(pool) => {
                // Its users retry a failed statement, so no ping before each use: a
                // round trip less per statement on the hot paths.
                let own = PgPoolOptions::new()
                    .max_connections(connections)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_lazy_with((*pool.connect_options()).clone());
                let conn = SqlxPostgresConnector::from_sqlx_postgres_pool(own.clone());
                Database {
                    read: conn.clone(),
                    write: conn,
                    pools: Pools::Postgres(own),
                }
            }
            Pools::Sqlite { .. } => self.clone(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Answers whether the database responds, within two seconds.
    pub async fn ping(&self) -> bool {
        let check = async {
            match &self.pools {
                Pools::Sqlite { read, .. } => sqlx::query("SELECT 1").execute(read).await.is_ok(),
                Pools::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.is_ok(),
            }
        };
        tokio::time::timeout(Duration::from_secs(2), check)
            .await
            .unwrap_or(false)
    }

    /// Closes every pool (used at shutdown, and by tests that need a dead database).
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write, hot } => {
                read.close().await;
                // The hot writer may still hold the write connection (its writers
                // stopped with jobs queued): the pool waits for it to come back.
                hot.lock().await.token = None;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// The hot writer's connection, set up as the pools' are (`connect_sqlite`). No busy
/// timeout: it runs on a server thread, so when another process holds the write lock
/// the writer waits asynchronously and tries again, instead of blocking the thread.
fn hot_connection(path: &std::path::Path) -> Result<rusqlite::Connection, rusqlite::Error> {
    let conn = rusqlite::Connection::open(path)?;
    // rusqlite sets one of 5 s by default.
    conn.busy_timeout(Duration::ZERO)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = memory; PRAGMA cache_size = -65536; \
         PRAGMA mmap_size = 1073741824;",
    )?;
    Ok(conn)
}

/// WAL frames after which a checkpoint may make the writer wait (about 80 MB).
const WAL_FRAMES_LIMIT: i64 = 20_000;

/// Copies the WAL back into the database file from a connection of its own, so that
/// a commit on the hot paths never pays for a checkpoint (and its fsync). PASSIVE
/// checkpoints never wait for the writer; if a steady stream of writes keeps the WAL
/// from ever being reset, a RESTART checkpoint (which waits for the writer once)
/// bounds it. Ends when the writer's pool is closed.
async fn checkpointer(mut conn: SqliteConnection, write: SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !write.is_closed() {
        tick.tick().await;
        let frames = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await;
        match frames {
            Ok((_, log, _)) if log > WAL_FRAMES_LIMIT => {
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(RESTART)").execute(&mut conn).await {
                    tracing::warn!(error = %e, "WAL checkpoint (RESTART) failed");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
    let _ = conn.close().await;
}
