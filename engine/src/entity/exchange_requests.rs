//! One request of a 1C exchange, as the «Обмен с 1С» page lists it: `progress` repeats and the
//! `file` pieces of one file are folded into one row (`calls`, `bytes`).
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "exchange_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The exchange (its spool folder's name).
    pub exchange_id: String,
    /// The exchange account.
    pub login: String,
    /// The mode word.
    pub mode: String,
    pub filename: Option<String>,
    pub first_at: DateTimeUtc,
    pub last_at: DateTimeUtc,
    pub calls: i64,
    pub bytes: i64,
    /// [`wire::ExchangeStatus::as_str`] of the last reply.
    pub status: String,
    /// The last reply exactly as sent, lines joined by `\n`.
    #[sea_orm(column_type = "Text")]
    pub reply: String,
    /// The import run the file's import started.
    pub run_id: Option<String>,
    /// [`wire::ImportKind::as_str`] of the file's import: its session among the run's.
    pub import_kind: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
