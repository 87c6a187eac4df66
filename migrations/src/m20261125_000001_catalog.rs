//! Catalog side: the group tree, units, properties, products, offers (SKUs), price types,
//! prices, warehouses and stock.
use sea_orm_migration::{prelude::*, schema::*};

use crate::common::{Common, fk, index, onec_table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Categories {
    Table,
    ParentId,
    Name,
}

#[derive(DeriveIden)]
enum Units {
    Table,
    Code,
    ShortName,
    FullName,
}

#[derive(DeriveIden)]
enum Properties {
    Table,
    Name,
    ValueType,
    ForOffers,
}

#[derive(DeriveIden)]
enum PropertyValues {
    Table,
    PropertyId,
    OnecId,
    Value,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Sku,
    Name,
    Description,
    CategoryId,
    Unit,
    Barcode,
    Manufacturer,
}

#[derive(DeriveIden)]
enum ProductPropertyValues {
    Table,
    ProductId,
    PropertyId,
    Value,
}

#[derive(DeriveIden)]
enum Offers {
    Table,
    ProductId,
    CharacteristicId,
    Name,
}

#[derive(DeriveIden)]
enum OfferCharacteristics {
    Table,
    OfferId,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum PriceTypes {
    Table,
    Name,
    Currency,
}

#[derive(DeriveIden)]
enum Prices {
    Table,
    OfferId,
    PriceTypeId,
    PriceE4,
    Currency,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Warehouses {
    Table,
    Name,
}

#[derive(DeriveIden)]
enum Stocks {
    Table,
    OfferId,
    WarehouseId,
    QuantityE4,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};

        m.create_table(
            onec_table(Categories::Table)
                .col(big_integer_null(Categories::ParentId))
                .col(string(Categories::Name))
                .foreign_key(&mut fk(
                    Categories::Table,
                    "parent_id",
                    Categories::Table,
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            Categories::Table,
            "idx_categories_parent",
            &["parent_id"],
        ))
        .await?;

        m.create_table(
            onec_table(Units::Table)
                .col(string_null(Units::Code))
                .col(string_null(Units::ShortName))
                .col(string_null(Units::FullName))
                .to_owned(),
        )
        .await?;

        m.create_table(
            onec_table(Properties::Table)
                .col(string(Properties::Name))
                .col(string_null(Properties::ValueType))
                .col(boolean(Properties::ForOffers).default(false))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PropertyValues::Table)
                .if_not_exists()
                .col(big_pk_auto(Common::Id))
                .col(big_integer(PropertyValues::PropertyId))
                .col(string(PropertyValues::OnecId))
                .col(text(PropertyValues::Value))
                .foreign_key(&mut fk(
                    PropertyValues::Table,
                    "property_id",
                    Properties::Table,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index(
                PropertyValues::Table,
                "uq_property_values_onec",
                &["property_id", "onec_id"],
            )
            .unique()
            .to_owned(),
        )
        .await?;

        m.create_table(
            onec_table(Products::Table)
                .col(string_null(Products::Sku))
                .col(string(Products::Name))
                .col(text_null(Products::Description))
                .col(big_integer_null(Products::CategoryId))
                .col(string_null(Products::Unit))
                .col(string_null(Products::Barcode))
                .col(string_null(Products::Manufacturer))
                .foreign_key(&mut fk(
                    Products::Table,
                    "category_id",
                    Categories::Table,
                    SetNull,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            Products::Table,
            "idx_products_category",
            &["category_id"],
        ))
        .await?;
        m.create_index(index(Products::Table, "idx_products_sku", &["sku"]))
            .await?;

        m.create_table(
            Table::create()
                .table(ProductPropertyValues::Table)
                .if_not_exists()
                .col(big_pk_auto(Common::Id))
                .col(big_integer(ProductPropertyValues::ProductId))
                .col(big_integer(ProductPropertyValues::PropertyId))
                .col(text(ProductPropertyValues::Value))
                .foreign_key(&mut fk(
                    ProductPropertyValues::Table,
                    "product_id",
                    Products::Table,
                    Cascade,
                ))
                .foreign_key(&mut fk(
                    ProductPropertyValues::Table,
                    "property_id",
                    Properties::Table,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            ProductPropertyValues::Table,
            "idx_product_property_values_product",
            &["product_id"],
        ))
        .await?;

        m.create_table(
            onec_table(Offers::Table)
                .col(big_integer(Offers::ProductId))
                .col(string_null(Offers::CharacteristicId))
                .col(string_null(Offers::Name))
                .foreign_key(&mut fk(
                    Offers::Table,
                    "product_id",
                    Products::Table,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(Offers::Table, "idx_offers_product", &["product_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table(OfferCharacteristics::Table)
                .if_not_exists()
                .col(big_pk_auto(Common::Id))
                .col(big_integer(OfferCharacteristics::OfferId))
                .col(string(OfferCharacteristics::Name))
                .col(text(OfferCharacteristics::Value))
                .foreign_key(&mut fk(
                    OfferCharacteristics::Table,
                    "offer_id",
                    Offers::Table,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            OfferCharacteristics::Table,
            "idx_offer_characteristics_offer",
            &["offer_id"],
        ))
        .await?;

        m.create_table(
            onec_table(PriceTypes::Table)
                .col(string(PriceTypes::Name))
                .col(string_null(PriceTypes::Currency))
                .to_owned(),
        )
        .await?;

        // Prices and stock are keyed by their pair: no surrogate id, so upserts never burn a
        // sequence (PostgreSQL's ON CONFLICT takes a sequence value on every attempt).
        m.create_table(
            Table::create()
                .table(Prices::Table)
                .if_not_exists()
                .col(big_integer(Prices::OfferId))
                .col(big_integer(Prices::PriceTypeId))
                .col(big_integer(Prices::PriceE4))
                .col(string_null(Prices::Currency))
                .col(timestamp_with_time_zone(Prices::UpdatedAt).default(Expr::current_timestamp()))
                .primary_key(
                    Index::create()
                        .col(Prices::OfferId)
                        .col(Prices::PriceTypeId),
                )
                .foreign_key(&mut fk(Prices::Table, "offer_id", Offers::Table, Cascade))
                .foreign_key(&mut fk(
                    Prices::Table,
                    "price_type_id",
                    PriceTypes::Table,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            onec_table(Warehouses::Table)
                .col(string(Warehouses::Name))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Stocks::Table)
                .if_not_exists()
                .col(big_integer(Stocks::OfferId))
                .col(big_integer(Stocks::WarehouseId))
                .col(big_integer(Stocks::QuantityE4))
                .col(timestamp_with_time_zone(Stocks::UpdatedAt).default(Expr::current_timestamp()))
                .primary_key(
                    Index::create()
                        .col(Stocks::OfferId)
                        .col(Stocks::WarehouseId),
                )
                .foreign_key(&mut fk(Stocks::Table, "offer_id", Offers::Table, Cascade))
                .foreign_key(&mut fk(
                    Stocks::Table,
                    "warehouse_id",
                    Warehouses::Table,
                    Cascade,
                ))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Stocks::Table.into_iden(),
            Warehouses::Table.into_iden(),
            Prices::Table.into_iden(),
            PriceTypes::Table.into_iden(),
            OfferCharacteristics::Table.into_iden(),
            Offers::Table.into_iden(),
            ProductPropertyValues::Table.into_iden(),
            Products::Table.into_iden(),
            PropertyValues::Table.into_iden(),
            Properties::Table.into_iden(),
            Units::Table.into_iden(),
            Categories::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
