//! The database: `DATABASE_URL`, `DATABASE_MAX_CONNECTIONS`.

use super::{ConfigError, Env};
use url::Url;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/tributary.db";

#[derive(Clone)]
pub struct DatabaseConfig {
    /// May hold a password: print it only through [`redact_url`].
    pub url: String,
    pub max_connections: u32,
}

impl DatabaseConfig {
    pub(super) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(DatabaseConfig {
            url: env.string("DATABASE_URL", DEFAULT_DATABASE_URL),
            max_connections: env.parse("DATABASE_MAX_CONNECTIONS", "16", "a positive integer")?,
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
