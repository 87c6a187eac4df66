//! Administrators (argon2id hashes) and their web sessions (only a hash of the cookie is stored).
use sea_orm_migration::{prelude::*, schema::*};

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Admins {
    Table,
    Id,
    Login,
    PasswordHash,
    CreatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum WebSessions {
    Table,
    Id,
    AdminId,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Admins::Table)
                .if_not_exists()
                .col(big_pk_auto(Admins::Id))
                .col(string_uniq(Admins::Login))
                .col(string(Admins::PasswordHash))
                .col(timestamp_with_time_zone(Admins::CreatedAt))
                .col(timestamp_with_time_zone_null(Admins::LastLoginAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebSessions::Table)
                .if_not_exists()
                .col(string(WebSessions::Id).primary_key())
                .col(big_integer(WebSessions::AdminId))
                .col(timestamp_with_time_zone(WebSessions::CreatedAt))
                .col(timestamp_with_time_zone(WebSessions::ExpiresAt))
                .col(timestamp_with_time_zone(WebSessions::LastSeenAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(WebSessions::Table, WebSessions::AdminId)
                        .to(Admins::Table, Admins::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            WebSessions::Table,
            "idx_web_sessions_expires",
            &["expires_at"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(WebSessions::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(Admins::Table).if_exists().to_owned())
            .await
    }
}
