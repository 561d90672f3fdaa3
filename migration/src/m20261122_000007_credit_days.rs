//! Credit by day, rolled up (`app::server::attribution::cube`): for each UTC day,
//! group dimension, group, currency, event and validity, the conversions credited and
//! their value under each of the five models (in `Model::ALL` order), with the default
//! window and half-life. `credit_days_dirty` lists the days whose rows are out of date
//! (`version` grows with each change, so that recomputing a day clears only the changes
//! it saw). Conversions dated after they were recorded are never rolled up; a partial
//! index finds them.
//!
//! Triggers mark the days, in the same statement as the change, whatever writes it:
//! a conversion recorded or changed (its old and new day), and a touchpoint moved to
//! another identity by a merge (the days of that identity's conversions).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        let models: Vec<String> = (0..5)
            .map(|i| format!("c{i} DOUBLE PRECISION NOT NULL, v{i} DOUBLE PRECISION"))
            .collect();
        conn.execute_unprepared(&format!(
            "CREATE TABLE credit_days (day BIGINT NOT NULL, dim VARCHAR(32) NOT NULL, gkey TEXT NOT NULL, \
             currency VARCHAR(8) NOT NULL, event TEXT NOT NULL, valid BIGINT NOT NULL, {}, \
             PRIMARY KEY (dim, day, gkey, currency, event, valid))",
            models.join(", ")
        ))
        .await?;
        conn.execute_unprepared(
            "CREATE TABLE credit_days_dirty (day BIGINT NOT NULL PRIMARY KEY, version BIGINT NOT NULL)",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX conversions_late_idx ON conversions (occurred_at) WHERE occurred_at > created_at",
        )
        .await?;
        for sql in triggers(manager.get_database_backend()) {
            conn.execute_unprepared(sql).await?;
        }
        // Every day with conversions is out of date until it is first computed.
        conn.execute_unprepared(
            "INSERT INTO credit_days_dirty (day, version) \
             SELECT DISTINCT (occurred_at / 86400000) * 86400000, 1 FROM conversions",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        for t in [
            "conversions_credit_days_insert",
            "conversions_credit_days_update",
            "touchpoints_credit_days_move",
        ] {
            let on = if t.starts_with("touch") {
                "touchpoints"
            } else {
                "conversions"
            };
            let sql = match manager.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => format!("DROP TRIGGER IF EXISTS {t} ON {on}"),
                _ => format!("DROP TRIGGER IF EXISTS {t}"),
            };
            conn.execute_unprepared(&sql).await?;
        }
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            conn.execute_unprepared("DROP FUNCTION IF EXISTS credit_days_mark_conversion()")
                .await?;
            conn.execute_unprepared("DROP FUNCTION IF EXISTS credit_days_mark_identity()")
                .await?;
        }
        conn.execute_unprepared("DROP INDEX IF EXISTS conversions_late_idx")
            .await?;
        conn.execute_unprepared("DROP TABLE IF EXISTS credit_days_dirty")
            .await?;
        conn.execute_unprepared("DROP TABLE IF EXISTS credit_days").await?;
        Ok(())
    }
}

/// Marks the day of `time` (an expression) out of date.
macro_rules! mark {
    ($time:literal) => {
        concat!(
            "INSERT INTO credit_days_dirty (day, version) VALUES ((",
            $time,
            " / 86400000) * 86400000, 1) ON CONFLICT (day) DO UPDATE SET version = credit_days_dirty.version + 1"
        )
    };
}

/// The triggers; a conversion's change of any column that decides its credit, or
/// where it is counted, marks its old and new day.
fn triggers(backend: sea_orm::DatabaseBackend) -> Vec<&'static str> {
    match backend {
        sea_orm::DatabaseBackend::Postgres => vec![
            concat!(
                "CREATE FUNCTION credit_days_mark_conversion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ",
                "IF TG_OP = 'UPDATE' THEN ",
                mark!("OLD.occurred_at"),
                "; END IF; ",
                mark!("NEW.occurred_at"),
                "; RETURN NULL; END $$"
            ),
            concat!(
                "CREATE FUNCTION credit_days_mark_identity() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ",
                "INSERT INTO credit_days_dirty (day, version) ",
                "SELECT DISTINCT (c.occurred_at / 86400000) * 86400000, 1 FROM conversions c WHERE c.identity_id = NEW.identity_id ",
                "ON CONFLICT (day) DO UPDATE SET version = credit_days_dirty.version + 1; RETURN NULL; END $$"
            ),
            "CREATE TRIGGER conversions_credit_days_insert AFTER INSERT ON conversions \
             FOR EACH ROW EXECUTE FUNCTION credit_days_mark_conversion()",
            concat!(
                "CREATE TRIGGER conversions_credit_days_update AFTER UPDATE OF ",
                "active, confirmed, value_minor, currency, event, identity_id, occurred_at, created_at",
                " ON conversions FOR EACH ROW EXECUTE FUNCTION credit_days_mark_conversion()"
            ),
            "CREATE TRIGGER touchpoints_credit_days_move AFTER UPDATE OF identity_id ON touchpoints \
             FOR EACH ROW EXECUTE FUNCTION credit_days_mark_identity()",
        ],
        _ => vec![
            concat!(
                "CREATE TRIGGER conversions_credit_days_insert AFTER INSERT ON conversions BEGIN ",
                mark!("NEW.occurred_at"),
                "; END"
            ),
            concat!(
                "CREATE TRIGGER conversions_credit_days_update AFTER UPDATE OF ",
                "active, confirmed, value_minor, currency, event, identity_id, occurred_at, created_at",
                " ON conversions BEGIN ",
                mark!("OLD.occurred_at"),
                "; ",
                mark!("NEW.occurred_at"),
                "; END"
            ),
            concat!(
                "CREATE TRIGGER touchpoints_credit_days_move AFTER UPDATE OF identity_id ON touchpoints BEGIN ",
                "INSERT INTO credit_days_dirty (day, version) ",
                "SELECT DISTINCT (c.occurred_at / 86400000) * 86400000, 1 FROM conversions c WHERE c.identity_id = NEW.identity_id ",
                "ON CONFLICT (day) DO UPDATE SET version = credit_days_dirty.version + 1; END"
            ),
        ],
    }
}
