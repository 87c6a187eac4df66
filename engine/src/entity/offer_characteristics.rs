//! A variant's characteristic (`ХарактеристикиТовара`), e.g. Размер = 42.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "offer_characteristics")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub offer_id: i64,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
