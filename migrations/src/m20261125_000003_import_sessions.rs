//! Import runs (one selective run) and import sessions (one per kind in a run).
use sea_orm_migration::{prelude::*, schema::*};

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportRuns {
    Table,
    Id,
    Kinds,
    Status,
    Message,
    StartedBy,
    CancelledBy,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum ImportSessions {
    Table,
    Id,
    RunId,
    ImportType,
    Status,
    StartedAt,
    FinishedAt,
    Processed,
    Total,
    Report,
    ErrorMessage,
    TriggeredBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ImportRuns::Table)
                .if_not_exists()
                .col(string(ImportRuns::Id).primary_key())
                .col(string(ImportRuns::Kinds))
                .col(string(ImportRuns::Status))
                .col(text_null(ImportRuns::Message))
                .col(string(ImportRuns::StartedBy))
                .col(string_null(ImportRuns::CancelledBy))
                .col(timestamp_with_time_zone(ImportRuns::StartedAt))
                .col(timestamp_with_time_zone_null(ImportRuns::FinishedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            ImportRuns::Table,
            "idx_import_runs_started",
            &["started_at"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ImportSessions::Table)
                .if_not_exists()
                .col(big_pk_auto(ImportSessions::Id))
                .col(string(ImportSessions::RunId))
                .col(string(ImportSessions::ImportType))
                .col(string(ImportSessions::Status))
                .col(timestamp_with_time_zone(ImportSessions::StartedAt))
                .col(timestamp_with_time_zone_null(ImportSessions::FinishedAt))
                .col(big_integer(ImportSessions::Processed).default(0))
                .col(big_integer(ImportSessions::Total).default(0))
                .col(text(ImportSessions::Report).default("{}"))
                .col(text_null(ImportSessions::ErrorMessage))
                .col(string(ImportSessions::TriggeredBy))
                .foreign_key(
                    ForeignKey::create()
                        .from(ImportSessions::Table, ImportSessions::RunId)
                        .to(ImportRuns::Table, ImportRuns::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The monitor lists newest first, filtered by status or type; the run view by run.
        for (name, cols) in [
            ("idx_import_sessions_started", &["started_at"][..]),
            ("idx_import_sessions_status", &["status", "started_at"][..]),
            (
                "idx_import_sessions_type",
                &["import_type", "started_at"][..],
            ),
            ("idx_import_sessions_run", &["run_id"][..]),
        ] {
            m.create_index(index(ImportSessions::Table, name, cols))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(ImportSessions::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(ImportRuns::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
