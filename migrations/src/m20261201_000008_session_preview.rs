//! «Проверить без записи»: a run and its sessions say whether they wrote (`import`) or only
//! checked and rolled back (`preview`). Rows written before this migration are imports.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportRuns {
    Table,
    Mode,
}

#[derive(DeriveIden)]
enum ImportSessions {
    Table,
    Mode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        m.alter_table(
            Table::alter()
                .table(ImportRuns::Table)
                .add_column(string(ImportRuns::Mode).default("import"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ImportSessions::Table)
                .add_column(string(ImportSessions::Mode).default("import"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ImportSessions::Table)
                .drop_column(ImportSessions::Mode)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ImportRuns::Table)
                .drop_column(ImportRuns::Mode)
                .to_owned(),
        )
        .await
    }
}
