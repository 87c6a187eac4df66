//! Offer (SKU): a product's own offer (`Ид` = product) or a variant (`Ид` = `product#characteristic`).
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "offers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub onec_id: String,
    pub is_deleted: bool,
    pub updated_at: DateTimeUtc,
    pub product_id: i64,
    pub characteristic_id: Option<String>,
    pub name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
