//! Database migrations. Each migration is a frozen snapshot: it declares its own
//! identifiers and never imports the application's entities.
//!
//! Timestamps are stored as BIGINT milliseconds since the Unix epoch (UTC). That keeps
//! window arithmetic (`t >= c - 30 days`) identical and index-friendly on SQLite and
//! PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_accounts;
mod m20261121_000002_links;
mod m20261121_000003_tracking;
mod m20261121_000004_conversions;
mod m20261121_000005_partial_indexes;
mod m20261121_000006_covering_indexes;
mod m20261122_000007_credit_days;
mod m20261201_000008_identity_public_id_length;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_accounts::Migration),
            Box::new(m20261121_000002_links::Migration),
            Box::new(m20261121_000003_tracking::Migration),
            Box::new(m20261121_000004_conversions::Migration),
            Box::new(m20261121_000005_partial_indexes::Migration),
            Box::new(m20261121_000006_covering_indexes::Migration),
            Box::new(m20261122_000007_credit_days::Migration),
            Box::new(m20261201_000008_identity_public_id_length::Migration),
        ]
    }
}
