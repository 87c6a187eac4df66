//! After a full 1C exchange (`mode=deactivate`): marks as deleted (`is_deleted = true`, the mark
//! the importer sets for what 1C itself marks deleted) the products and offers the exchange did
//! not mention. Nothing is removed: a product 1C sends again is active again after its import.
//!
//! Everything happens in one transaction: the active rows are read page by page (by id), the
//! ones to mark are collected as ids, the change limit is checked — more than
//! [`ChangeLimits::deactivated_share_percent`] of the active products (or of the active offers)
//! at once writes nothing — and the marks are written in `UPDATE … WHERE id IN (…)` batches of
//! [`BATCH`] ids.
use std::collections::HashSet;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, Statement, Value};
use wire::ChangeLimits;

use crate::import::in_ids;

/// Ids per `UPDATE`.
pub const BATCH: usize = 500;
/// Active rows read per query (fewer in tests, so they cross pages).
const PAGE: i64 = if cfg!(test) { 700 } else { 5_000 };

/// What one deactivation found and marked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deactivated {
    /// Products marked deleted.
    pub products: u64,
    /// Offers marked deleted.
    pub offers: u64,
    /// Active products before.
    pub active_products: u64,
    /// Active offers before.
    pub active_offers: u64,
}

/// Which rows a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    Products,
    Offers,
}

/// Why nothing was marked.
#[derive(Debug, thiserror::Error)]
pub enum DeactivateError {
    /// More than the change limit of the active rows would be marked; nothing was written.
    #[error(
        "деактивация отменена: снимались бы {would} из {active} активных {} — больше {limit_percent} %",
        match rows { Rows::Products => "товаров", Rows::Offers => "предложений" }
    )]
    TooMany {
        rows: Rows,
        would: u64,
        active: u64,
        limit_percent: u32,
    },
    #[error("ошибка базы данных при деактивации: {0}")]
    Db(#[from] DbErr),
}

/// Whether marking `would` of `active` rows passes the limit (the change report's rule).
fn over_limit(would: u64, active: u64, limit_percent: u32) -> bool {
    would > 0 && u128::from(would) * 100 > u128::from(limit_percent) * u128::from(active)
}

/// Marks deleted every active product whose `onec_id` is not in `products`, and every active
/// offer that stays unmentioned: an offer stays active when its product's `onec_id` is in
/// `products` and — when `offers` is given (the exchange had offers files) — its own `onec_id`
/// is in `offers` or is its product's (the product's own offer, which the importer makes for
/// every product). Without `offers`, only the offers of unmentioned products are marked.
///
/// Refused with [`DeactivateError::TooMany`] (nothing written) when more than `limits`'
/// `deactivated_share_percent` of the active products, or of the active offers, would be
/// marked.
pub async fn deactivate_missing(
    db: &DatabaseConnection,
    products: &HashSet<String>,
    offers: Option<&HashSet<String>>,
    limits: ChangeLimits,
) -> Result<Deactivated, DeactivateError> {
    // On SQLite the write lock first (see `begin_write`).
    let txn = crate::db::begin_write(db).await?;
    let limit = limits.deactivated_share_percent;

    let (active_products, product_ids) = unmentioned(
        &txn,
        Rows::Products,
        "SELECT id, onec_id, onec_id FROM products WHERE is_deleted = FALSE AND id > {after} \
         ORDER BY id LIMIT {page}",
        |_, onec_id| products.contains(onec_id),
        limit,
    )
    .await?;
    let (active_offers, offer_ids) = unmentioned(
        &txn,
        Rows::Offers,
        "SELECT o.id, o.onec_id, p.onec_id FROM offers o JOIN products p ON p.id = o.product_id \
         WHERE o.is_deleted = FALSE AND o.id > {after} ORDER BY o.id LIMIT {page}",
        |onec_id, product| {
            products.contains(product)
                && offers.is_none_or(|o| onec_id == product || o.contains(onec_id))
        },
        limit,
    )
    .await?;

    let products = mark(&txn, "products", &product_ids).await?;
    let offers = mark(&txn, "offers", &offer_ids).await?;
    txn.commit().await?;
    Ok(Deactivated {
        products,
        offers,
        active_products,
        active_offers,
    })
}

/// The active rows `sql` pages through (`(id, onec_id, product onec_id)`, see [`page`]): how
/// many there are, and the ids of those `stays` does not keep. Refused with
/// [`DeactivateError::TooMany`] past `limit` percent of them.
async fn unmentioned(
    txn: &DatabaseTransaction,
    rows: Rows,
    sql: &str,
    stays: impl Fn(&str, &str) -> bool,
    limit: u32,
) -> Result<(u64, Vec<i64>), DeactivateError> {
    let mut active = 0u64;
    let mut ids = Vec::new();
    let mut after = 0i64;
    loop {
        let page = page(txn, sql, after).await?;
        let Some(last) = page.last() else { break };
        after = last.0;
        active += page.len() as u64;
        ids.extend(
            page.into_iter()
                .filter(|(_, onec_id, product)| !stays(onec_id, product))
                .map(|(id, _, _)| id),
        );
    }
    if over_limit(ids.len() as u64, active, limit) {
        return Err(DeactivateError::TooMany {
            rows,
            would: ids.len() as u64,
            active,
            limit_percent: limit,
        });
    }
    Ok((active, ids))
}

/// One page of `(id, onec_id, product onec_id)`: `sql` with `{after}` and `{page}` filled in
/// (numbers, never text from outside).
async fn page(
    txn: &DatabaseTransaction,
    sql: &str,
    after: i64,
) -> Result<Vec<(i64, String, String)>, DbErr> {
    let sql = sql
        .replace("{after}", &after.to_string())
        .replace("{page}", &PAGE.to_string());
    let backend = txn.get_database_backend();
    txn.query_all_raw(Statement::from_string(backend, sql))
        .await?
        .into_iter()
        .map(|r| {
            Ok((
                r.try_get_by_index(0)?,
                r.try_get_by_index(1)?,
                r.try_get_by_index(2)?,
            ))
        })
        .collect()
}

/// Marks the rows of `table` with these ids deleted, [`BATCH`] per statement; how many changed.
async fn mark(txn: &DatabaseTransaction, table: &str, ids: &[i64]) -> Result<u64, DbErr> {
    let backend = txn.get_database_backend();
    let mut changed = 0;
    for chunk in ids.chunks(BATCH) {
        let (filter, values): (String, Vec<Value>) = in_ids(backend, "id", chunk);
        let sql = format!(
            "UPDATE {table} SET is_deleted = TRUE, updated_at = CURRENT_TIMESTAMP \
             WHERE {filter} AND is_deleted = FALSE"
        );
        changed += txn
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
            .rows_affected();
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    /// Products `p0…p{n-1}`, each with its own offer and a variant `pi#v`.
    async fn catalog(db: &DatabaseConnection, n: usize) {
        let rows: Vec<String> = (0..n)
            .map(|i| format!("('p{i}', FALSE, '2020-01-01 00:00:00', 'Товар {i}')"))
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO products (onec_id, is_deleted, updated_at, name) VALUES {}",
            rows.join(", ")
        ))
        .await
        .unwrap();
        for key in ["onec_id", "onec_id || '#v'"] {
            db.execute_unprepared(&format!(
                "INSERT INTO offers (onec_id, is_deleted, updated_at, product_id) \
                 SELECT {key}, FALSE, '2020-01-01 00:00:00', id FROM products ORDER BY id"
            ))
            .await
            .unwrap();
        }
    }

    /// The `onec_id`s of `table` marked deleted, sorted.
    async fn deleted(db: &DatabaseConnection, table: &str) -> Vec<String> {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT onec_id FROM {table} WHERE is_deleted = TRUE ORDER BY onec_id"),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect()
    }

    fn set(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    fn limit(percent: u32) -> ChangeLimits {
        ChangeLimits {
            deactivated_share_percent: percent,
            ..ChangeLimits::default()
        }
    }

    #[tokio::test]
    async fn unmentioned_products_and_offers_are_marked_on_both_backends() {
        for t in TestDb::each().await {
            let db = &t.db;
            catalog(db, 1200).await;
            db.execute_unprepared("UPDATE products SET is_deleted = TRUE WHERE onec_id = 'p5'")
                .await
                .unwrap();
            // Everything but p0, p1 (and p5, already deleted); p2's variant not in the offers.
            let products: HashSet<String> = (2..1200).map(|i| format!("p{i}")).collect();
            let offers: HashSet<String> = (3..1200).map(|i| format!("p{i}#v")).collect();
            let done = deactivate_missing(db, &products, Some(&offers), limit(10))
                .await
                .unwrap();
            assert_eq!(
                done,
                Deactivated {
                    products: 2,
                    offers: 5,
                    active_products: 1199,
                    active_offers: 2400,
                }
            );
            assert_eq!(deleted(db, "products").await, ["p0", "p1", "p5"]);
            assert_eq!(
                deleted(db, "offers").await,
                ["p0", "p0#v", "p1", "p1#v", "p2#v"],
                "own offers of mentioned products stay"
            );
            let stamped = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT COUNT(*) FROM products WHERE updated_at > '2021-01-01'".to_owned(),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap();
            assert_eq!(stamped, 2, "only the marked rows are stamped");

            // Again: nothing left to mark.
            let again = deactivate_missing(db, &products, Some(&offers), limit(10))
                .await
                .unwrap();
            assert_eq!((again.products, again.offers), (0, 0));

            // Without offers files only the offers of unmentioned products go.
            let fewer: HashSet<String> = (3..1200).map(|i| format!("p{i}")).collect();
            let done = deactivate_missing(db, &fewer, None, limit(10))
                .await
                .unwrap();
            assert_eq!((done.products, done.offers), (1, 1), "p2 and its own offer");
            assert_eq!(deleted(db, "products").await, ["p0", "p1", "p2", "p5"]);

            // Nothing mentioned, and a limit that lets it through: every page, every batch.
            let done = deactivate_missing(db, &set(&[]), Some(&set(&[])), limit(1000))
                .await
                .unwrap();
            assert_eq!(
                (done.products, done.offers),
                (1196, 2400 - 6),
                "all but the ones marked before"
            );
            assert_eq!(deleted(db, "products").await.len(), 1200);
            assert_eq!(deleted(db, "offers").await.len(), 2400);
            t.drop_db().await;
        }
    }

    /// The refusal past the limit: (rows, would, active, limit percent).
    async fn too_many(
        db: &DatabaseConnection,
        products: &HashSet<String>,
        offers: Option<&HashSet<String>>,
        percent: u32,
    ) -> (Rows, u64, u64, u32) {
        match deactivate_missing(db, products, offers, limit(percent)).await {
            Err(DeactivateError::TooMany {
                rows,
                would,
                active,
                limit_percent,
            }) => (rows, would, active, limit_percent),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn over_the_limit_nothing_is_written() {
        for t in TestDb::each().await {
            let db = &t.db;
            catalog(db, 10).await;
            let half = set(&["p0", "p1", "p2", "p3", "p4"]);
            let err = too_many(db, &half, None, 10).await;
            assert_eq!(err, (Rows::Products, 5, 10, 10));
            let (rows, would, active, limit_percent) = err;
            let text = DeactivateError::TooMany {
                rows,
                would,
                active,
                limit_percent,
            }
            .to_string();
            assert!(text.contains("5 из 10 активных товаров"), "{text}");
            assert!(deleted(db, "products").await.is_empty());
            assert!(deleted(db, "offers").await.is_empty());

            // Every product mentioned, but 10 of 20 offers not: the offers' share counts too.
            let all: HashSet<String> = (0..10).map(|i| format!("p{i}")).collect();
            let err = too_many(db, &all, Some(&set(&[])), 10).await;
            assert_eq!(err, (Rows::Offers, 10, 20, 10));
            assert!(deleted(db, "offers").await.is_empty());

            // Exactly at the limit passes; a limit of 0 allows none.
            let nine: HashSet<String> = (1..10).map(|i| format!("p{i}")).collect();
            assert!(deactivate_missing(db, &nine, None, limit(0)).await.is_err());
            let done = deactivate_missing(db, &nine, None, limit(10))
                .await
                .unwrap();
            assert_eq!((done.products, done.offers), (1, 2));
            t.drop_db().await;
        }
    }

    #[test]
    fn the_limit_is_the_change_reports() {
        assert!(!over_limit(0, 0, 0));
        assert!(!over_limit(1, 10, 10));
        assert!(over_limit(2, 10, 10));
        assert!(over_limit(1, 0, 1000));
    }
}
