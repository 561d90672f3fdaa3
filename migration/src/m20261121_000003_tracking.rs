//! Identities, touchpoints and responses.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Identities {
    Table,
    Id,
    PublicId,
    UserId,
    MergedIntoId,
    CreatedAt,
    MergedAt,
}

#[derive(DeriveIden)]
enum Touchpoints {
    Table,
    Id,
    IdentityId,
    CreatedAt,
    LinkId,
    Path,
    HttpReferrer,
    ReferrerHost,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    UtmId,
    ClickIds,
    ExtraParams,
    Source,
    Medium,
    Channel,
    Fingerprint,
}

#[derive(DeriveIden)]
enum Responses {
    Table,
    Id,
    PublicId,
    LinkId,
    IdentityId,
    UserId,
    Action,
    TargetType,
    TargetId,
    HttpReferrer,
    UserAgent,
    ClientIp,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Links {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Identities::Table)
                    .col(
                        ColumnDef::new(Identities::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Identities::PublicId).string_len(32).not_null())
                    .col(ColumnDef::new(Identities::UserId).big_integer().null())
                    .col(ColumnDef::new(Identities::MergedIntoId).big_integer().null())
                    .col(ColumnDef::new(Identities::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Identities::MergedAt).big_integer().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Identities::Table, Identities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Identities::Table, Identities::MergedIntoId)
                            .to(Identities::Table, Identities::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Looked up on every tracked request: unique and indexed (the seed scanned).
        manager
            .create_index(
                Index::create()
                    .name("identities_public_id_key")
                    .table(Identities::Table)
                    .col(Identities::PublicId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Only a user's canonical identity carries `user_id` (merged ones point at it),
        // so this makes the canonical identity unique per user.
        manager
            .create_index(
                Index::create()
                    .name("identities_user_id_key")
                    .table(Identities::Table)
                    .col(Identities::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("identities_merged_into_idx")
                    .table(Identities::Table)
                    .col(Identities::MergedIntoId)
                    .to_owned(),
            )
            .await?;

        let mut t = Table::create();
        t.table(Touchpoints::Table)
            .col(
                ColumnDef::new(Touchpoints::Id)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new(Touchpoints::IdentityId).big_integer().not_null())
            .col(ColumnDef::new(Touchpoints::CreatedAt).big_integer().not_null())
            .col(ColumnDef::new(Touchpoints::LinkId).big_integer().null())
            .col(ColumnDef::new(Touchpoints::Path).string_len(2048).not_null())
            .col(ColumnDef::new(Touchpoints::HttpReferrer).string_len(1024).null())
            .col(ColumnDef::new(Touchpoints::ReferrerHost).string_len(255).null());
        for c in [
            Touchpoints::UtmSource,
            Touchpoints::UtmMedium,
            Touchpoints::UtmCampaign,
            Touchpoints::UtmTerm,
            Touchpoints::UtmContent,
            Touchpoints::UtmId,
        ] {
            t.col(ColumnDef::new(c).string_len(1024).null());
        }
        t.col(ColumnDef::new(Touchpoints::ClickIds).text().null())
            .col(ColumnDef::new(Touchpoints::ExtraParams).text().null())
            .col(ColumnDef::new(Touchpoints::Source).string_len(255).not_null())
            .col(ColumnDef::new(Touchpoints::Medium).string_len(255).not_null())
            .col(ColumnDef::new(Touchpoints::Channel).string_len(32).not_null())
            .col(ColumnDef::new(Touchpoints::Fingerprint).big_integer().not_null())
            .foreign_key(
                ForeignKey::create()
                    .from(Touchpoints::Table, Touchpoints::IdentityId)
                    .to(Identities::Table, Identities::Id),
            )
            .foreign_key(
                ForeignKey::create()
                    .from(Touchpoints::Table, Touchpoints::LinkId)
                    .to(Links::Table, Links::Id)
                    .on_delete(ForeignKeyAction::SetNull),
            );
        manager.create_table(t.to_owned()).await?;
        for (name, cols) in [
            (
                "touchpoints_identity_time_idx",
                vec![Touchpoints::IdentityId, Touchpoints::CreatedAt],
            ),
            ("touchpoints_time_idx", vec![Touchpoints::CreatedAt]),
            (
                "touchpoints_utm_source_idx",
                vec![Touchpoints::UtmSource, Touchpoints::CreatedAt],
            ),
            (
                "touchpoints_utm_campaign_idx",
                vec![Touchpoints::UtmCampaign, Touchpoints::CreatedAt],
            ),
            (
                "touchpoints_link_idx",
                vec![Touchpoints::LinkId, Touchpoints::CreatedAt],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Touchpoints::Table);
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Responses::Table)
                    .col(
                        ColumnDef::new(Responses::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Responses::PublicId).string_len(32).not_null())
                    .col(ColumnDef::new(Responses::LinkId).big_integer().not_null())
                    .col(ColumnDef::new(Responses::IdentityId).big_integer().null())
                    .col(ColumnDef::new(Responses::UserId).big_integer().null())
                    .col(ColumnDef::new(Responses::Action).string_len(100).not_null())
                    .col(ColumnDef::new(Responses::TargetType).string_len(100).null())
                    .col(ColumnDef::new(Responses::TargetId).string_len(200).null())
                    .col(ColumnDef::new(Responses::HttpReferrer).string_len(1024).null())
                    .col(ColumnDef::new(Responses::UserAgent).string_len(512).null())
                    .col(ColumnDef::new(Responses::ClientIp).string_len(64).null())
                    .col(ColumnDef::new(Responses::CreatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Responses::Table, Responses::LinkId)
                            .to(Links::Table, Links::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Responses::Table, Responses::IdentityId)
                            .to(Identities::Table, Identities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Responses::Table, Responses::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("responses_public_id_key")
                    .table(Responses::Table)
                    .col(Responses::PublicId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("responses_link_time_idx", vec![Responses::LinkId, Responses::CreatedAt]),
            (
                "responses_identity_time_idx",
                vec![Responses::IdentityId, Responses::CreatedAt],
            ),
            ("responses_user_time_idx", vec![Responses::UserId, Responses::CreatedAt]),
            ("responses_time_idx", vec![Responses::CreatedAt]),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Responses::Table);
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in ["responses", "touchpoints", "identities"] {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP TABLE IF EXISTS {t}"))
                .await?;
        }
        Ok(())
    }
}
