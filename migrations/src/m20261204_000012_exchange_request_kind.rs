//! The kind of import a journalled `import` request's file is taken in by
//! (`exchange_requests.import_kind`, `wire::ImportKind`'s key): one run may import several files
//! of an exchange, one session per kind, and each file's row lists only its own kind's session.
//! Rows written before have none and list every session of their run.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExchangeRequests {
    Table,
    ImportKind,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ExchangeRequests::Table)
                .add_column(string_null(ExchangeRequests::ImportKind))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ExchangeRequests::Table)
                .drop_column(ExchangeRequests::ImportKind)
                .to_owned(),
        )
        .await
    }
}
