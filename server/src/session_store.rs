//! The session store: tower-sessions' maintained sqlx stores, on whichever database
//! is in use. On SQLite, loads use the read pool and writes the single writer
//! connection (see `app::server::db`).

use app::server::db::{Database, Pools};
use async_trait::async_trait;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Debug, Clone)]
pub enum Store {
    Sqlite {
        read: SqliteStore,
        write: SqliteStore,
        write_pool: sqlx::SqlitePool,
    },
    Postgres(PostgresStore),
}

impl Store {
    /// Creates the store's table if it is missing.
    pub async fn new(db: &Database) -> Result<Self, sqlx::Error> {
        match &db.pools {
            Pools::Sqlite { read, write, .. } => {
                let write_store = SqliteStore::new(write.clone());
                write_store.migrate().await?;
                Ok(Store::Sqlite {
                    read: SqliteStore::new(read.clone()),
                    write: write_store,
                    write_pool: write.clone(),
                })
            }
            Pools::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone());
                store.migrate().await?;
                Ok(Store::Postgres(store))
            }
        }
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite { write, .. } => write.create(record).await,
            Store::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite { write, .. } => write.save(record).await,
            Store::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Sqlite { read, .. } => read.load(id).await,
            Store::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Sqlite { write, .. } => write.delete(id).await,
            Store::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Store {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            // The crate's SQLite query compares `datetime(expiry_date)`, which does not
            // parse the stored timestamps; compare them as `load` does instead.
            Store::Sqlite { write_pool, .. } => sqlx::query("DELETE FROM tower_sessions WHERE expiry_date < ?")
                .bind(OffsetDateTime::now_utc())
                .execute(write_pool)
                .await
                .map(|_| ())
                .map_err(|e| session_store::Error::Backend(e.to_string())),
            Store::Postgres(s) => s.delete_expired().await,
        }
    }
}
