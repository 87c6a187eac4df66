//! An account: a platform administrator, 1C's exchange user, or both (its roles). The password is
//! kept as an argon2id PHC string.
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "admins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub login: String,
    pub password_hash: String,
    pub created_at: DateTimeUtc,
    pub last_login_at: Option<DateTimeUtc>,
    /// Set by `onec-admin admin disable`: no login, no session until `admin enable`.
    pub disabled_at: Option<DateTimeUtc>,
    /// May log in to the web app (every account created by `create-admin`).
    pub can_admin: bool,
    /// May use 1C's exchange endpoint (`create-user --role exchange`).
    pub can_exchange: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
