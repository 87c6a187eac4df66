//! Unit of measure: a 1C `ЕдиницаИзмерения` (OKEI code trimmed).
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "units")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub onec_id: String,
    pub is_deleted: bool,
    pub updated_at: DateTimeUtc,
    pub code: Option<String>,
    pub short_name: Option<String>,
    pub full_name: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
