//! One value of a reference-list property (`ВариантыЗначений/Справочник`).
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "property_values")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub property_id: i64,
    pub onec_id: String,
    #[sea_orm(column_type = "Text")]
    pub value: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
