//! Read-only figures about the imported data, for the CLI (`stats`, `show-offer`) and for the
//! dependency rule «каталог товаров пуст».
use std::collections::BTreeMap;

use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use crate::import::from_e4;
use crate::import::sql_count as count;

/// Totals of the shop tables.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Products, deleted ones included.
    pub products_total: u64,
    /// Products marked deleted.
    pub products_deleted: u64,
    /// Offers with a characteristic (`P#C`).
    pub variants: u64,
    /// Categories (groups).
    pub categories: u64,
    /// Price types.
    pub price_types: u64,
    /// Warehouses, excluding the «Без склада» row (`onec_id` "").
    pub warehouses: u64,
    /// Price rows (offer × price type).
    pub prices: u64,
    /// Stock rows (offer × warehouse).
    pub stock_rows: u64,
    /// Sum of all stock quantities.
    pub stock_units: Decimal,
    /// Customers, deleted ones included.
    pub customers_total: u64,
    /// Customers marked deleted.
    pub customers_deleted: u64,
}

/// Counts the shop tables.
pub async fn stats<C: ConnectionTrait>(db: &C) -> Result<Stats, DbErr> {
    let backend = db.get_database_backend();
    let sum = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT CAST(COALESCE(SUM(quantity_e4), 0) AS BIGINT) FROM stocks",
        ))
        .await?;
    let sum_e4: i64 = match sum {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(Stats {
        products_total: count(db, "products", None).await?,
        products_deleted: count(db, "products", Some("is_deleted = TRUE")).await?,
        variants: count(db, "offers", Some("characteristic_id IS NOT NULL")).await?,
        categories: count(db, "categories", None).await?,
        price_types: count(db, "price_types", None).await?,
        warehouses: count(db, "warehouses", Some("onec_id <> ''")).await?,
        prices: count(db, "prices", None).await?,
        stock_rows: count(db, "stocks", None).await?,
        stock_units: from_e4(sum_e4),
        customers_total: count(db, "customers", None).await?,
        customers_deleted: count(db, "customers", Some("is_deleted = TRUE")).await?,
    })
}

/// Every child → parent reference the importer keeps by itself (these carry no foreign keys,
/// for speed: see migration `m20261130_000005`): `(child table, column, parent table)`, as the
/// migration that guards them declares it.
pub use migrations::CHILD_REFERENCES;

/// Rows of the [`CHILD_REFERENCES`] that name a parent row that does not exist, per `"child.column"`
/// (only references with at least one such row are listed): empty when the data is whole.
pub async fn orphan_rows<C: ConnectionTrait>(db: &C) -> Result<BTreeMap<String, u64>, DbErr> {
    let mut out = BTreeMap::new();
    for (child, col, parent) in CHILD_REFERENCES {
        let filter = format!(
            "{child}.{col} IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = {child}.{col})"
        );
        let n = count(db, child, Some(&filter)).await?;
        if n > 0 {
            out.insert(format!("{child}.{col}"), n);
        }
    }
    Ok(out)
}

/// Products not marked deleted (the catalog is "empty" when this is 0).
pub async fn product_count<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    count(db, "products", Some("is_deleted = FALSE")).await
}

/// One offer with its prices and stock, as `show-offer` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OfferView {
    /// The offer's `Ид` as stored (`P` or `P#C`).
    pub id: String,
    /// The product's `Ид`.
    pub product_id: String,
    /// Price per price type `Ид`.
    pub prices: BTreeMap<String, Decimal>,
    /// Quantity per warehouse `Ид` (`""` for stock without a warehouse).
    pub stock: BTreeMap<String, Decimal>,
    /// Sum of `stock`.
    pub stock_total: Decimal,
}

/// The offer `onec_id` (`P`, `P#` = `P`, or `P#C`), or `None` when there is no such offer.
pub async fn show_offer<C: ConnectionTrait>(
    db: &C,
    onec_id: &str,
) -> Result<Option<OfferView>, DbErr> {
    let Some(id) = commerceml::OfferId::parse(onec_id) else {
        return Ok(None);
    };
    let key = id.to_string();
    let backend = db.get_database_backend();
    let ph = |n| crate::import::sql_placeholders(backend, 0, n);
    let offer = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT o.id, p.onec_id FROM offers o JOIN products p ON p.id = o.product_id \
                 WHERE o.onec_id = {}",
                ph(1)
            ),
            [Value::String(Some(key.clone()))],
        ))
        .await?;
    let Some(offer) = offer else {
        return Ok(None);
    };
    let offer_id: i64 = offer.try_get_by_index(0)?;
    let product_id: String = offer.try_get_by_index(1)?;
    let pairs = |sql: String| {
        let stmt = Statement::from_sql_and_values(backend, sql, [Value::BigInt(Some(offer_id))]);
        async move {
            let mut map = BTreeMap::new();
            for row in db.query_all_raw(stmt).await? {
                let k: String = row.try_get_by_index(0)?;
                let v: i64 = row.try_get_by_index(1)?;
                map.insert(k, from_e4(v));
            }
            Ok::<_, DbErr>(map)
        }
    };
    let prices = pairs(format!(
        "SELECT t.onec_id, x.price_e4 FROM prices x JOIN price_types t ON t.id = x.price_type_id \
         WHERE x.offer_id = {}",
        ph(1)
    ))
    .await?;
    let stock = pairs(format!(
        "SELECT w.onec_id, x.quantity_e4 FROM stocks x JOIN warehouses w ON w.id = x.warehouse_id \
         WHERE x.offer_id = {}",
        ph(1)
    ))
    .await?;
    let stock_total = stock.values().copied().sum::<Decimal>().normalize();
    Ok(Some(OfferView {
        id: key,
        product_id,
        prices,
        stock,
        stock_total,
    }))
}
