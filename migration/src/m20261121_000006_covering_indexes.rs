//! Reports at a million conversions read only indexes. Four indexes gain the columns
//! their queries read, so no row is fetched from its table:
//! - a conversion's candidates (count, first, last, per-source windows) come from
//!   touchpoints(identity_id, created_at, id, source);
//! - the overview counts touches and their distinct identities from
//!   touchpoints(created_at, identity_id), and clicks from responses(created_at, action);
//! - its headline numbers, chart and top tables read the rolled-up last touch of the
//!   valid conversions of a range from one conversions index, and so do the
//!   attribution reports (a conversion's identity, and its last touch for the
//!   default model).
//!
//! Each replaces an index of the same name that held a prefix of its columns, so the
//! landing and click paths still maintain as many indexes as before.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (index, table, columns now, columns before)
const COVERING: [(&str, &str, &str, &str); 4] = [
    (
        "touchpoints_identity_time_idx",
        "touchpoints",
        "identity_id, created_at, id, source",
        "identity_id, created_at",
    ),
    (
        "touchpoints_time_idx",
        "touchpoints",
        "created_at, identity_id",
        "created_at",
    ),
    ("responses_time_idx", "responses", "created_at, action", "created_at"),
    (
        "conversions_time_idx",
        "conversions",
        "occurred_at, active, confirmed, currency, value_minor, id, identity_id, created_at, lt_touchpoint_id, lt_source, lt_link_id, lt_at",
        "occurred_at",
    ),
];

/// Recreates each index with its columns now (`now`) or before.
async fn create(manager: &SchemaManager<'_>, now: bool) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    for (name, table, columns, before) in COVERING {
        let columns = if now { columns } else { before };
        conn.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}")).await?;
        conn.execute_unprepared(&format!("CREATE INDEX {name} ON {table} ({columns})"))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, false).await
    }
}
