//! Campaigns, referral links, and each user's `referred_by` link.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
    Name,
    NameKey,
    Description,
    Pattern,
    PatternKind,
    StartsAt,
    EndsAt,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Links {
    Table,
    Id,
    Code,
    CodeKey,
    OwnerId,
    Label,
    Destination,
    TargetType,
    TargetId,
    ExpiresAt,
    Active,
    CampaignId,
    IsPersonal,
    AutoCreated,
    IdemKey,
    CreatedAt,
    UpdatedAt,
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
                    .table(Campaigns::Table)
                    .col(
                        ColumnDef::new(Campaigns::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Campaigns::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Campaigns::NameKey).string_len(100).not_null())
                    .col(ColumnDef::new(Campaigns::Description).text().not_null().default(""))
                    .col(
                        ColumnDef::new(Campaigns::Pattern)
                            .string_len(500)
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(Campaigns::PatternKind)
                            .string_len(16)
                            .not_null()
                            .default("substring"),
                    )
                    .col(ColumnDef::new(Campaigns::StartsAt).big_integer().null())
                    .col(ColumnDef::new(Campaigns::EndsAt).big_integer().null())
                    .col(ColumnDef::new(Campaigns::Active).boolean().not_null().default(true))
                    .col(ColumnDef::new(Campaigns::CreatedAt).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("campaigns_name_key")
                    .table(Campaigns::Table)
                    .col(Campaigns::NameKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Links::Table)
                    .col(
                        ColumnDef::new(Links::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Links::Code).string_len(64).not_null())
                    .col(ColumnDef::new(Links::CodeKey).string_len(64).not_null())
                    .col(ColumnDef::new(Links::OwnerId).big_integer().null())
                    .col(ColumnDef::new(Links::Label).string_len(100).not_null())
                    .col(ColumnDef::new(Links::Destination).string_len(2048).not_null())
                    .col(ColumnDef::new(Links::TargetType).string_len(100).null())
                    .col(ColumnDef::new(Links::TargetId).string_len(200).null())
                    .col(ColumnDef::new(Links::ExpiresAt).big_integer().null())
                    .col(ColumnDef::new(Links::Active).boolean().not_null().default(true))
                    .col(ColumnDef::new(Links::CampaignId).big_integer().null())
                    .col(ColumnDef::new(Links::IsPersonal).boolean().not_null().default(false))
                    .col(ColumnDef::new(Links::AutoCreated).boolean().not_null().default(false))
                    .col(ColumnDef::new(Links::IdemKey).string_len(64).null())
                    .col(ColumnDef::new(Links::CreatedAt).big_integer().not_null())
                    .col(ColumnDef::new(Links::UpdatedAt).big_integer().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Links::Table, Links::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Links::Table, Links::CampaignId)
                            .to(Campaigns::Table, Campaigns::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Codes are unique on the key stored for the purpose: the lowercased code
        // when codes are case-insensitive, the code itself otherwise.
        for (name, col, unique) in [
            ("links_code_key", Links::CodeKey, true),
            ("links_idem_key", Links::IdemKey, true),
            ("links_owner_idx", Links::OwnerId, false),
            ("links_campaign_idx", Links::CampaignId, false),
            ("links_created_idx", Links::CreatedAt, false),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Links::Table).col(col);
            if unique {
                idx.unique();
            }
            manager.create_index(idx.to_owned()).await?;
        }
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "ALTER TABLE users ADD COLUMN referred_by_link_id BIGINT NULL REFERENCES links(id) ON DELETE SET NULL",
        )
        .await?;
        conn.execute_unprepared("CREATE INDEX users_referred_by_idx ON users (referred_by_link_id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS users_referred_by_idx")
            .await?;
        conn.execute_unprepared("ALTER TABLE users DROP COLUMN referred_by_link_id")
            .await?;
        manager.drop_table(Table::drop().table(Links::Table).to_owned()).await?;
        manager
            .drop_table(Table::drop().table(Campaigns::Table).to_owned())
            .await
    }
}
