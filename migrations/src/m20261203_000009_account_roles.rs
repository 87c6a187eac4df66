//! Accounts have roles: `admins.can_admin` (the web app, as every account so far) and
//! `admins.can_exchange` (1C's «Обмен с сайтом» endpoint). An exchange account created with
//! `onec-admin create-user --role exchange` cannot log in to the web app, and an administrator's
//! password does not open the exchange endpoint unless that account has the exchange role too.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Admins {
    Table,
    CanAdmin,
    CanExchange,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        m.alter_table(
            Table::alter()
                .table(Admins::Table)
                .add_column(boolean(Admins::CanAdmin).default(true))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Admins::Table)
                .add_column(boolean(Admins::CanExchange).default(false))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [Admins::CanExchange, Admins::CanAdmin] {
            m.alter_table(
                Table::alter()
                    .table(Admins::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
