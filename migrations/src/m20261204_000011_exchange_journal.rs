//! The journal of 1C's exchange requests (the «Обмен с 1С» page): one row per request, the
//! `progress` repeats and `file` pieces of one file folded into one row.
use sea_orm_migration::{prelude::*, schema::*};

use crate::common::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExchangeRequests {
    Table,
    Id,
    ExchangeId,
    Login,
    Mode,
    Filename,
    FirstAt,
    LastAt,
    Calls,
    Bytes,
    Status,
    Reply,
    RunId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ExchangeRequests::Table)
                .if_not_exists()
                .col(big_pk_auto(ExchangeRequests::Id))
                .col(string(ExchangeRequests::ExchangeId))
                .col(string(ExchangeRequests::Login))
                .col(string(ExchangeRequests::Mode))
                .col(string_null(ExchangeRequests::Filename))
                .col(timestamp_with_time_zone(ExchangeRequests::FirstAt))
                .col(timestamp_with_time_zone(ExchangeRequests::LastAt))
                .col(big_integer(ExchangeRequests::Calls).default(1))
                .col(big_integer(ExchangeRequests::Bytes).default(0))
                .col(string(ExchangeRequests::Status))
                .col(text(ExchangeRequests::Reply))
                .col(string_null(ExchangeRequests::RunId))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            ExchangeRequests::Table,
            "idx_exchange_requests_exchange",
            &["exchange_id", "id"],
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ExchangeRequests::Table).to_owned())
            .await
    }
}
