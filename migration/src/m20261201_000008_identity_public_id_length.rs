//! Identity cookies carry their creation time in front of their 128 random bits
//! (44 hex digits instead of 32), so that new identities go at the end of the unique
//! index of `public_id`. Values already issued stay valid. SQLite does not enforce a
//! `varchar` length, so only PostgreSQL's column changes (in place: a longer limit
//! rewrites neither the table nor its index).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn set_length(manager: &SchemaManager<'_>, length: u32) -> Result<(), DbErr> {
    if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "ALTER TABLE identities ALTER COLUMN public_id TYPE varchar({length})"
            ))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_length(manager, 44).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_length(manager, 32).await
    }
}
