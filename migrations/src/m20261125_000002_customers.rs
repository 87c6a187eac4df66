//! Customers (1C `Контрагенты`): requisites as columns, contacts/addresses/bank accounts as JSON.
use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{index, onec_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    Name,
    FullName,
    Role,
    Inn,
    Kpp,
    Okpo,
    Contacts,
    Addresses,
    BankAccounts,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            onec_table(Customers::Table)
                .col(string(Customers::Name))
                .col(text_null(Customers::FullName))
                .col(string_null(Customers::Role))
                .col(string_null(Customers::Inn))
                .col(string_null(Customers::Kpp))
                .col(string_null(Customers::Okpo))
                .col(text(Customers::Contacts).default("[]"))
                .col(text(Customers::Addresses).default("[]"))
                .col(text(Customers::BankAccounts).default("[]"))
                .to_owned(),
        )
        .await?;
        m.create_index(index(Customers::Table, "idx_customers_inn", &["inn"]))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Customers::Table).if_exists().to_owned())
            .await
    }
}
