//! Customer: a 1C `Контрагент`. Contacts, addresses and bank accounts are JSON arrays.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub onec_id: String,
    pub is_deleted: bool,
    pub updated_at: DateTimeUtc,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub full_name: Option<String>,
    pub role: Option<String>,
    pub inn: Option<String>,
    pub kpp: Option<String>,
    pub okpo: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub contacts: String,
    #[sea_orm(column_type = "Text")]
    pub addresses: String,
    #[sea_orm(column_type = "Text")]
    pub bank_accounts: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
