//! Prices, stock, product property values and offer characteristics carry no foreign keys (they
//! cost PostgreSQL 70–80 % of a bulk import): the importer writes only references it resolved,
//! and triggers remove children with their parents. This checks both, on SQLite and PostgreSQL:
//! no orphan after imports, and every kind of parent deletion (one row, many rows in one
//! statement, through the products → offers cascade, `TRUNCATE`) takes its children along. And
//! since migration `m20261201_000006` the database itself refuses a dangling reference again:
//! statement-level checks on PostgreSQL, row triggers on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use std::path::{Path, PathBuf};

use engine::import::{self, FileType, ImportRequest, NoProgress};
use engine::kinds::ImportKind;
use engine::stats::{self, orphan_rows};
use engine::testing::TestDb;
use gendata::{Format, Options};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use wire::Counter;

fn export(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("integrity_{tag}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    gendata::generate(
        &Options {
            products: 150,
            customers: 0,
            seed: 7,
            format: Format::V31,
            ..Default::default()
        },
        &dir,
    )
    .unwrap();
    dir
}

async fn import(db: &DatabaseConnection, kind: ImportKind, dir: &Path) {
    let req = ImportRequest {
        kind,
        data_dir: dir.to_path_buf(),
        file: None,
        file_type: FileType::All,
    };
    import::run(db, &req, &NoProgress).await.unwrap();
}

async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

async fn rows_of(db: &DatabaseConnection, table: &str, col: &str, id: i64) -> i64 {
    scalar(
        db,
        &format!("SELECT COUNT(*) FROM {table} WHERE {col} = {id}"),
    )
    .await
}

async fn assert_whole(db: &DatabaseConnection, when: &str) {
    let orphans = orphan_rows(db).await.unwrap();
    assert!(orphans.is_empty(), "orphan rows {when}: {orphans:?}");
}

#[tokio::test]
async fn imports_leave_no_orphans_and_deleting_a_parent_takes_its_children() {
    let dir = export("cascade");
    for t in TestDb::each().await {
        let db = &t.db;
        import(db, ImportKind::Catalog, &dir).await;
        import(db, ImportKind::Stocks, &dir).await;
        import(db, ImportKind::Prices, &dir).await;
        assert_whole(db, "after the imports").await;
        let full = stats::stats(db).await.unwrap();
        assert!(full.prices > 0 && full.stock_rows > 0, "{full:?}");

        // One offer with prices, stock and characteristics.
        let offer = scalar(
            db,
            "SELECT o.id FROM offers o WHERE EXISTS (SELECT 1 FROM prices x WHERE x.offer_id = o.id) \
             AND EXISTS (SELECT 1 FROM stocks x WHERE x.offer_id = o.id) \
             AND EXISTS (SELECT 1 FROM offer_characteristics x WHERE x.offer_id = o.id) \
             ORDER BY o.id LIMIT 1",
        )
        .await;
        let prices_before = scalar(db, "SELECT COUNT(*) FROM prices").await;
        let own_prices = rows_of(db, "prices", "offer_id", offer).await;
        exec(db, &format!("DELETE FROM offers WHERE id = {offer}")).await;
        for (table, col) in [
            ("prices", "offer_id"),
            ("stocks", "offer_id"),
            ("offer_characteristics", "offer_id"),
        ] {
            assert_eq!(rows_of(db, table, col, offer).await, 0, "{table}");
        }
        assert_eq!(
            scalar(db, "SELECT COUNT(*) FROM prices").await,
            prices_before - own_prices,
            "only that offer's prices went"
        );

        // A product with variants and property values: its values, its offers (the kept
        // products → offers key) and their prices and stock (the trigger, fired by the cascade).
        let product = scalar(
            db,
            "SELECT p.id FROM products p WHERE \
             (SELECT COUNT(*) FROM offers o WHERE o.product_id = p.id) > 1 \
             AND EXISTS (SELECT 1 FROM product_property_values v WHERE v.product_id = p.id) \
             ORDER BY p.id LIMIT 1",
        )
        .await;
        exec(db, &format!("DELETE FROM products WHERE id = {product}")).await;
        assert_eq!(
            rows_of(db, "product_property_values", "product_id", product).await,
            0
        );
        assert_eq!(rows_of(db, "offers", "product_id", product).await, 0);
        assert_whole(db, "after deleting a product").await;

        // Many offers in one statement.
        exec(
            db,
            "DELETE FROM offers WHERE id IN (SELECT id FROM offers ORDER BY id LIMIT 20)",
        )
        .await;
        assert_whole(db, "after deleting 20 offers at once").await;

        // A category: its products stay, unlinked (what ON DELETE SET NULL did).
        let category = scalar(db, "SELECT MIN(category_id) FROM products").await;
        let linked = rows_of(db, "products", "category_id", category).await;
        let products_before = scalar(db, "SELECT COUNT(*) FROM products").await;
        assert!(linked > 0);
        exec(db, &format!("DELETE FROM categories WHERE id = {category}")).await;
        assert_eq!(rows_of(db, "products", "category_id", category).await, 0);
        assert_eq!(
            scalar(db, "SELECT COUNT(*) FROM products").await,
            products_before
        );

        // A price type, a warehouse, a property.
        let price_type = scalar(db, "SELECT MIN(price_type_id) FROM prices").await;
        exec(
            db,
            &format!("DELETE FROM price_types WHERE id = {price_type}"),
        )
        .await;
        assert_eq!(rows_of(db, "prices", "price_type_id", price_type).await, 0);
        let warehouse = scalar(db, "SELECT MIN(warehouse_id) FROM stocks").await;
        exec(
            db,
            &format!("DELETE FROM warehouses WHERE id = {warehouse}"),
        )
        .await;
        assert_eq!(rows_of(db, "stocks", "warehouse_id", warehouse).await, 0);
        let property = scalar(db, "SELECT MIN(property_id) FROM product_property_values").await;
        exec(db, &format!("DELETE FROM properties WHERE id = {property}")).await;
        assert_eq!(
            rows_of(db, "product_property_values", "property_id", property).await,
            0
        );
        assert_whole(
            db,
            "after deleting a price type, a warehouse and a property",
        )
        .await;

        // The next imports bring everything back, whole.
        import(db, ImportKind::Catalog, &dir).await;
        import(db, ImportKind::Stocks, &dir).await;
        import(db, ImportKind::Prices, &dir).await;
        assert_whole(db, "after importing again").await;
        let again = stats::stats(db).await.unwrap();
        assert_eq!(
            (again.products_total, again.prices, again.stock_rows),
            (full.products_total, full.prices, full.stock_rows)
        );

        if db.get_database_backend() == DbBackend::Postgres {
            // TRUNCATE of a parent empties its children, as TRUNCATE … CASCADE did.
            exec(db, "TRUNCATE offers").await;
            for table in ["prices", "stocks", "offer_characteristics"] {
                assert_eq!(
                    scalar(db, &format!("SELECT COUNT(*) FROM {table}")).await,
                    0
                );
            }
            // A TRUNCATE that names parents and children together (as a reload script
            // would) works as well.
            import(db, ImportKind::Catalog, &dir).await;
            exec(
                db,
                "TRUNCATE offers, prices, stocks, offer_characteristics, price_types, warehouses",
            )
            .await;
            assert_eq!(scalar(db, "SELECT COUNT(*) FROM prices").await, 0);
            exec(db, "TRUNCATE products CASCADE").await;
            assert_eq!(
                scalar(db, "SELECT COUNT(*) FROM product_property_values").await,
                0
            );
            assert_whole(db, "after TRUNCATE").await;
        }
        t.drop_db().await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn the_child_tables_have_no_foreign_keys_and_keep_their_keys_and_indexes() {
    for t in TestDb::each().await {
        let db = &t.db;
        let mut tables: Vec<&str> = stats::CHILD_REFERENCES.iter().map(|r| r.0).collect();
        tables.dedup();
        assert_eq!(tables.len(), 6, "{tables:?}");
        for table in tables {
            let fks = match db.get_database_backend() {
                DbBackend::Postgres => {
                    scalar(
                        db,
                        &format!(
                            "SELECT COUNT(*) FROM pg_constraint \
                             WHERE contype = 'f' AND conrelid = '{table}'::regclass"
                        ),
                    )
                    .await
                }
                _ => {
                    scalar(
                        db,
                        &format!("SELECT COUNT(*) FROM pragma_foreign_key_list('{table}')"),
                    )
                    .await
                }
            };
            assert_eq!(fks, 0, "{table} on {}", t.url);
        }
        // The composite primary keys still refuse a second row for the same pair (its parents
        // first: a dangling price is refused by the reference checks).
        exec(
            db,
            "INSERT INTO products (id, onec_id, name) VALUES (1, 'p', 'P')",
        )
        .await;
        exec(
            db,
            "INSERT INTO offers (id, onec_id, product_id) VALUES (1, 'p', 1)",
        )
        .await;
        exec(
            db,
            "INSERT INTO price_types (id, onec_id, name) VALUES (1, 't', 'T')",
        )
        .await;
        exec(
            db,
            "INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES (1, 1, 10)",
        )
        .await;
        let dup = db
            .execute_unprepared(
                "INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES (1, 1, 20)",
            )
            .await;
        assert!(dup.is_err(), "duplicate price pair accepted on {}", t.url);
        // The indexes are back after SQLite's rebuild.
        if db.get_database_backend() == DbBackend::Sqlite {
            for index in [
                "idx_product_property_values_product",
                "idx_offer_characteristics_offer",
                "idx_offers_product",
                "idx_products_category",
                "idx_products_sku",
            ] {
                assert_eq!(
                    scalar(
                        db,
                        &format!(
                            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = '{index}'"
                        ),
                    )
                    .await,
                    1
                );
            }
        }
        t.drop_db().await;
    }
}

#[tokio::test]
async fn the_migration_keeps_every_row_of_a_filled_database() {
    let dir = export("upgrade");
    // The four migrations before the one that drops the keys.
    for t in TestDb::each_at(4).await {
        let db = &t.db;
        import(db, ImportKind::Catalog, &dir).await;
        let before = stats::stats(db).await.unwrap();
        let ppv = scalar(db, "SELECT COUNT(*) FROM product_property_values").await;
        let chars = scalar(db, "SELECT COUNT(*) FROM offer_characteristics").await;
        let ids = scalar(db, "SELECT CAST(SUM(id) AS BIGINT) FROM offers").await;
        assert!(before.prices > 0 && ppv > 0 && chars > 0);

        engine::db::migrate(db).await.unwrap();
        assert_eq!(stats::stats(db).await.unwrap(), before, "{}", t.url);
        assert_eq!(
            scalar(db, "SELECT COUNT(*) FROM product_property_values").await,
            ppv
        );
        assert_eq!(
            scalar(db, "SELECT COUNT(*) FROM offer_characteristics").await,
            chars
        );
        assert_eq!(
            scalar(db, "SELECT CAST(SUM(id) AS BIGINT) FROM offers").await,
            ids,
            "ids kept"
        );
        assert_whole(db, "after the migration").await;
        // And the next import finds nothing to change.
        let req = ImportRequest {
            kind: ImportKind::Catalog,
            data_dir: dir.clone(),
            file: None,
            file_type: FileType::All,
        };
        let again = import::run(db, &req, &NoProgress).await.unwrap();
        assert_eq!(
            (again.count(Counter::Created), again.count(Counter::Updated)),
            (0, 0)
        );
        t.drop_db().await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The error of a statement the database must refuse.
async fn refused(db: &DatabaseConnection, sql: &str) -> String {
    match db.execute_unprepared(sql).await {
        Ok(r) => panic!("accepted ({} rows): {sql}", r.rows_affected()),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn the_database_refuses_a_dangling_reference_written_by_plain_sql() {
    let dir = export("refuse");
    const NONE: i64 = 987_654_321;
    for t in TestDb::each().await {
        let db = &t.db;
        import(db, ImportKind::Catalog, &dir).await;
        import(db, ImportKind::Stocks, &dir).await;
        import(db, ImportKind::Prices, &dir).await;
        let offer = scalar(db, "SELECT MIN(offer_id) FROM prices").await;
        let price_type = scalar(db, "SELECT MIN(price_type_id) FROM prices").await;
        let warehouse = scalar(db, "SELECT MIN(warehouse_id) FROM stocks").await;
        let product = scalar(db, "SELECT MIN(product_id) FROM product_property_values").await;
        let property = scalar(db, "SELECT MIN(property_id) FROM product_property_values").await;
        let category = scalar(db, "SELECT MIN(category_id) FROM products").await;
        let counts = "SELECT (SELECT COUNT(*) FROM prices) + (SELECT COUNT(*) FROM stocks) \
                      + (SELECT COUNT(*) FROM product_property_values) \
                      + (SELECT COUNT(*) FROM offer_characteristics) \
                      + (SELECT COUNT(*) FROM offers) + (SELECT COUNT(*) FROM products)";
        let rows_before = scalar(db, counts).await;

        // Every reference, inserted dangling: refused, naming the column and the parent.
        let inserts = [
            (
                format!(
                    "INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES ({NONE}, {price_type}, 1)"
                ),
                "prices.offer_id",
                "offers",
            ),
            (
                format!(
                    "INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES ({offer}, {NONE}, 1)"
                ),
                "prices.price_type_id",
                "price_types",
            ),
            (
                format!(
                    "INSERT INTO stocks (offer_id, warehouse_id, quantity_e4) VALUES ({NONE}, {warehouse}, 1)"
                ),
                "stocks.offer_id",
                "offers",
            ),
            (
                format!(
                    "INSERT INTO stocks (offer_id, warehouse_id, quantity_e4) VALUES ({offer}, {NONE}, 1)"
                ),
                "stocks.warehouse_id",
                "warehouses",
            ),
            (
                format!(
                    "INSERT INTO product_property_values (product_id, property_id, value) VALUES ({NONE}, {property}, 'x')"
                ),
                "product_property_values.product_id",
                "products",
            ),
            (
                format!(
                    "INSERT INTO product_property_values (product_id, property_id, value) VALUES ({product}, {NONE}, 'x')"
                ),
                "product_property_values.property_id",
                "properties",
            ),
            (
                format!(
                    "INSERT INTO offer_characteristics (offer_id, name, value) VALUES ({NONE}, 'Цвет', 'x')"
                ),
                "offer_characteristics.offer_id",
                "offers",
            ),
            (
                format!("INSERT INTO offers (onec_id, product_id) VALUES ('dangling', {NONE})"),
                "offers.product_id",
                "products",
            ),
            (
                format!(
                    "INSERT INTO products (onec_id, name, category_id) VALUES ('dangling', 'X', {NONE})"
                ),
                "products.category_id",
                "categories",
            ),
        ];
        for (sql, column, parent) in &inserts {
            let e = refused(db, sql).await;
            assert!(
                e.contains("нарушена ссылочная целостность"),
                "{}: {e}",
                t.url
            );
            assert!(
                e.contains(column) && e.contains(&format!("отсутствующую строку {parent}")),
                "{}: {e}",
                t.url
            );
        }
        // A statement with one dangling row among good ones is refused whole.
        let e = refused(
            db,
            &format!(
                "INSERT INTO stocks (offer_id, warehouse_id, quantity_e4) \
                 SELECT o.id, {warehouse}, 5 FROM offers o \
                 WHERE NOT EXISTS (SELECT 1 FROM stocks s WHERE s.offer_id = o.id AND s.warehouse_id = {warehouse}) \
                 UNION ALL SELECT {NONE}, {warehouse}, 5"
            ),
        )
        .await;
        assert!(e.contains("stocks.offer_id"), "{e}");
        // Updates that make a reference dangle.
        for (sql, column) in [
            (
                format!("UPDATE prices SET offer_id = {NONE} WHERE offer_id = {offer}"),
                "prices.offer_id",
            ),
            (
                format!("UPDATE stocks SET warehouse_id = {NONE} WHERE warehouse_id = {warehouse}"),
                "stocks.warehouse_id",
            ),
            (
                format!("UPDATE offers SET product_id = {NONE} WHERE product_id = {product}"),
                "offers.product_id",
            ),
            (
                format!("UPDATE products SET category_id = {NONE} WHERE category_id = {category}"),
                "products.category_id",
            ),
            (
                format!(
                    "UPDATE product_property_values SET property_id = {NONE} WHERE id = (SELECT MIN(id) FROM product_property_values)"
                ),
                "product_property_values.property_id",
            ),
        ] {
            let e = refused(db, &sql).await;
            assert!(e.contains(column), "{}: {e}", t.url);
        }
        assert_eq!(
            scalar(db, counts).await,
            rows_before,
            "nothing refused was kept"
        );
        assert_whole(db, "after the refused statements").await;

        // Valid references pass, NULL where it is allowed too.
        let other_offer = scalar(
            db,
            &format!("SELECT MAX(id) FROM offers WHERE id <> {offer}"),
        )
        .await;
        exec(
            db,
            &format!(
                "DELETE FROM prices WHERE offer_id = {other_offer} AND price_type_id = {price_type}"
            ),
        )
        .await;
        exec(db, &format!("INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES ({other_offer}, {price_type}, 12345)")).await;
        exec(
            db,
            &format!("UPDATE prices SET price_e4 = 1 WHERE offer_id = {offer}"),
        )
        .await;
        exec(db, &format!("INSERT INTO offer_characteristics (offer_id, name, value) VALUES ({offer}, 'Проверка', 'да')")).await;
        exec(
            db,
            &format!("INSERT INTO offers (onec_id, product_id) VALUES ('valid-offer', {product})"),
        )
        .await;
        exec(
            db,
            &format!("UPDATE products SET category_id = NULL WHERE id = {product}"),
        )
        .await;
        exec(
            db,
            "INSERT INTO products (onec_id, name) VALUES ('no-category', 'Без группы')",
        )
        .await;
        assert_eq!(
            scalar(db, &format!("SELECT COUNT(*) FROM prices WHERE offer_id = {other_offer} AND price_type_id = {price_type} AND price_e4 = 12345")).await,
            1
        );
        assert_eq!(
            scalar(
                db,
                "SELECT COUNT(*) FROM offers WHERE onec_id = 'valid-offer'"
            )
            .await,
            1
        );
        assert_eq!(scalar(db, "SELECT COUNT(*) FROM products WHERE onec_id = 'no-category' AND category_id IS NULL").await, 1);
        assert_whole(db, "after the valid statements").await;

        // And imports still write (parents before children, inside one transaction).
        import(db, ImportKind::Catalog, &dir).await;
        import(db, ImportKind::Prices, &dir).await;
        assert_whole(db, "after importing again").await;
        t.drop_db().await;
    }
    std::fs::remove_dir_all(&dir).ok();
}
