//! Where a run came from (`wire::RunOrigin`): `import_runs.origin` and `import_sessions.origin`
//! (`admin`, `cli` or `exchange`), and for a run started by 1C's exchange its exchange's id
//! (`import_runs.exchange_id`), so the «Обмен с 1С» page lists the sessions each exchange made.
//! Rows written before are `admin`, or `cli` where the command line started them.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportRuns {
    Table,
    Origin,
    ExchangeId,
}

#[derive(DeriveIden)]
enum ImportSessions {
    Table,
    Origin,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        m.alter_table(
            Table::alter()
                .table(ImportRuns::Table)
                .add_column(string(ImportRuns::Origin).default("admin"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ImportRuns::Table)
                .add_column(string_null(ImportRuns::ExchangeId))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ImportSessions::Table)
                .add_column(string(ImportSessions::Origin).default("admin"))
                .to_owned(),
        )
        .await?;
        // Plain SQL, the same on SQLite and PostgreSQL.
        let db = m.get_connection();
        db.execute_unprepared("UPDATE import_runs SET origin = 'cli' WHERE started_by = 'cli'")
            .await?;
        db.execute_unprepared(
            "UPDATE import_sessions SET origin = 'cli' WHERE triggered_by = 'cli'",
        )
        .await
        .map(|_| ())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ImportSessions::Table)
                .drop_column(ImportSessions::Origin)
                .to_owned(),
        )
        .await?;
        for col in [ImportRuns::ExchangeId, ImportRuns::Origin] {
            m.alter_table(
                Table::alter()
                    .table(ImportRuns::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
