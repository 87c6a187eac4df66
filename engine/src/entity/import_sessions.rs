//! One kind imported within a run.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "import_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: String,
    pub import_type: String,
    pub status: String,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub processed: i64,
    pub total: i64,
    #[sea_orm(column_type = "Text")]
    pub report: String,
    #[sea_orm(column_type = "Text")]
    pub error_message: Option<String>,
    pub triggered_by: String,
    /// `import` or `preview` ([`wire::RunMode`]).
    pub mode: String,
    /// `admin`, `cli` or `exchange` ([`wire::RunOrigin`]).
    pub origin: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    /// See [`super::mode_on_insert`].
    async fn before_save<C>(mut self, _db: &C, insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        super::mode_on_insert(&mut self.mode, insert);
        Ok(self)
    }
}
