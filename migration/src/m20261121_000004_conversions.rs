//! Conversions and API keys.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Conversions {
    Table,
    Id,
    IdentityId,
    UserId,
    Event,
    ValueMinor,
    Currency,
    CustomData,
    SourceType,
    SourceId,
    Confirmed,
    Active,
    OccurredAt,
    CreatedAt,
    IdempotencyKey,
    RequestHash,
    LtTouchpointId,
    LtAt,
    LtSource,
    LtLinkId,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    KeyHash,
    CreatedBy,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Identities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Conversions::Table)
                    .col(
                        ColumnDef::new(Conversions::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Conversions::IdentityId).big_integer().null())
                    .col(ColumnDef::new(Conversions::UserId).big_integer().null())
                    .col(ColumnDef::new(Conversions::Event).string_len(100).not_null())
                    .col(ColumnDef::new(Conversions::ValueMinor).big_integer().null())
                    .col(ColumnDef::new(Conversions::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Conversions::CustomData).text().not_null().default("{}"))
                    .col(ColumnDef::new(Conversions::SourceType).string_len(100).null())
                    .col(ColumnDef::new(Conversions::SourceId).string_len(200).null())
                    .col(
                        ColumnDef::new(Conversions::Confirmed)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(ColumnDef::new(Conversions::Active).boolean().not_null().default(true))
                    .col(ColumnDef::new(Conversions::OccurredAt).big_integer().not_null())
                    .col(ColumnDef::new(Conversions::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Conversions::IdempotencyKey).string_len(255).null())
                    .col(ColumnDef::new(Conversions::RequestHash).string_len(64).null())
                    // The last touch within the default window, kept up to date as data
                    // arrives, identities merge and the window setting changes: the
                    // dashboards' default credit without a join per conversion.
                    .col(ColumnDef::new(Conversions::LtTouchpointId).big_integer().null())
                    .col(ColumnDef::new(Conversions::LtAt).big_integer().null())
                    .col(ColumnDef::new(Conversions::LtSource).string_len(255).null())
                    .col(ColumnDef::new(Conversions::LtLinkId).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Conversions::Table, Conversions::IdentityId)
                            .to(Identities::Table, Identities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Conversions::Table, Conversions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("conversions_idempotency_key")
                    .table(Conversions::Table)
                    .col(Conversions::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "conversions_identity_time_idx",
                vec![Conversions::IdentityId, Conversions::OccurredAt],
            ),
            ("conversions_time_idx", vec![Conversions::OccurredAt]),
            (
                "conversions_user_idx",
                vec![Conversions::UserId, Conversions::OccurredAt],
            ),
            (
                "conversions_source_idx",
                vec![Conversions::SourceType, Conversions::SourceId, Conversions::Event],
            ),
            (
                "conversions_event_time_idx",
                vec![Conversions::Event, Conversions::OccurredAt],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Conversions::Table);
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(
                        ColumnDef::new(ApiKeys::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(ApiKeys::Name).string_len(100).not_null())
                    .col(ColumnDef::new(ApiKeys::Prefix).string_len(16).not_null())
                    .col(ColumnDef::new(ApiKeys::KeyHash).string_len(64).not_null())
                    .col(ColumnDef::new(ApiKeys::CreatedBy).big_integer().null())
                    .col(ColumnDef::new(ApiKeys::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(ApiKeys::LastUsedAt).big_integer().null())
                    .col(ColumnDef::new(ApiKeys::RevokedAt).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("api_keys_hash_key")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::KeyHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Conversions::Table).to_owned())
            .await
    }
}
