//! An administrator can be disabled (`onec-admin admin disable`): `admins.disabled_at` is set,
//! their sessions end and the login is refused until `admin enable`.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Admins {
    Table,
    DisabledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Admins::Table)
                .add_column(timestamp_with_time_zone_null(Admins::DisabledAt))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Admins::Table)
                .drop_column(Admins::DisabledAt)
                .to_owned(),
        )
        .await
    }
}
