//! The landing and click paths insert an identity, a touchpoint and often a response
//! for every new visitor. Indexes on columns that are NULL for most of those rows
//! (a visitor's user, a merge, a touch's link or UTM tags, a response's user) become
//! partial: such rows no longer add index entries, and every query that uses these
//! indexes compares the column to a value, which implies `IS NOT NULL`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, columns, the column that must be non-NULL, unique)
const PARTIAL: [(&str, &str, &str, &str, bool); 6] = [
    ("identities_user_id_key", "identities", "user_id", "user_id", true),
    (
        "identities_merged_into_idx",
        "identities",
        "merged_into_id",
        "merged_into_id",
        false,
    ),
    (
        "touchpoints_utm_source_idx",
        "touchpoints",
        "utm_source, created_at",
        "utm_source",
        false,
    ),
    (
        "touchpoints_utm_campaign_idx",
        "touchpoints",
        "utm_campaign, created_at",
        "utm_campaign",
        false,
    ),
    (
        "touchpoints_link_idx",
        "touchpoints",
        "link_id, created_at",
        "link_id",
        false,
    ),
    (
        "responses_user_time_idx",
        "responses",
        "user_id, created_at",
        "user_id",
        false,
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        for (name, table, cols, not_null, unique) in PARTIAL {
            conn.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
            let unique = if unique { "UNIQUE " } else { "" };
            conn.execute_unprepared(&format!(
                "CREATE {unique}INDEX {name} ON {table} ({cols}) WHERE {not_null} IS NOT NULL"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        for (name, table, cols, _, unique) in PARTIAL {
            conn.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
            let unique = if unique { "UNIQUE " } else { "" };
            conn.execute_unprepared(&format!("CREATE {unique}INDEX {name} ON {table} ({cols})"))
                .await?;
        }
        Ok(())
    }
}
