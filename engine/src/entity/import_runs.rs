//! One selective run: the kinds an administrator (or the CLI) asked for together.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "import_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kinds: String,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub message: Option<String>,
    pub started_by: String,
    pub cancelled_by: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// `import` or `preview` ([`wire::RunMode`]).
    pub mode: String,
    /// `admin`, `cli` or `exchange` ([`wire::RunOrigin`]).
    pub origin: String,
    /// The 1C exchange that started the run, if one did.
    pub exchange_id: Option<String>,
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
