//! Product: a 1C `Товар`.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub onec_id: String,
    pub is_deleted: bool,
    pub updated_at: DateTimeUtc,
    pub sku: Option<String>,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    pub category_id: Option<i64>,
    pub unit: Option<String>,
    pub barcode: Option<String>,
    pub manufacturer: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
