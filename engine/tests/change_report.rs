//! The change report («Что изменилось»), collected while writing: exact counts, examples and
//! warnings for generated exports changed in known places between two imports, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use engine::import::{self, ImportReport, ImportRequest, NoProgress, to_e4};
use engine::kinds::ImportKind;
use engine::testing::TestDb;
use gendata::{Format, Options, Summary};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use wire::{
    CHANGE_EXAMPLES, ChangeCounts, ChangeEntity as E, ChangeLimits, ChangeWarning, SkipReason,
};

mod common;
use common::{offers_package, price_in, request, rest, temp_dir};

fn generate(dir: &Path, products: usize, seed: u64) -> Summary {
    gendata::generate(
        &Options {
            products,
            customers: 0,
            seed,
            format: Format::V31,
            ..Default::default()
        },
        dir,
    )
    .unwrap()
}

async fn run(db: &DatabaseConnection, req: &ImportRequest) -> ImportReport {
    import::run(db, req, &NoProgress).await.unwrap()
}

fn e4(s: &str) -> i64 {
    to_e4(Decimal::from_str(s).unwrap()).unwrap()
}

async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect()
}

async fn count(db: &DatabaseConnection, table: &str) -> u64 {
    let n: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    n as u64
}

fn counts(
    new: u64,
    changed: u64,
    unchanged: u64,
    deactivated: u64,
    reactivated: u64,
) -> ChangeCounts {
    ChangeCounts {
        new,
        changed,
        unchanged,
        deactivated,
        reactivated,
    }
}

/// A price in roubles spelled as 1C writes them («руб»).
fn price(type_id: &str, value: &str) -> String {
    price_in("руб", type_id, value)
}

/// Every goods file of a 3.1 export.
fn goods_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("goods"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    v
}

/// In the goods files, replaces the first `from` after product `id`'s `<Ид>` with `to`.
fn edit_product(dir: &Path, id: &str, from: &str, to: &str) {
    let needle = format!("<Ид>{id}</Ид>");
    for f in goods_files(dir) {
        let text = std::fs::read_to_string(&f).unwrap();
        if let Some(at) = text.find(&needle) {
            let rel = text[at..].find(from).expect("field after the product's Ид");
            let mut out = text.clone();
            out.replace_range(at + rel..at + rel + from.len(), to);
            std::fs::write(&f, out).unwrap();
            return;
        }
    }
    panic!("product {id} is in no goods file");
}

#[tokio::test]
async fn a_first_import_is_all_new_and_a_reimport_of_the_same_data_changes_nothing() {
    let dir = temp_dir("same");
    let sum = generate(&dir, 60, 21);
    for t in TestDb::each().await {
        let db = &t.db;
        let first = run(db, &request(ImportKind::Catalog, &dir)).await.changes;
        let offers = count(db, "offers").await;
        assert_eq!(
            first.of(E::Products),
            counts(sum.products as u64, 0, 0, 0, 0),
            "{}",
            t.url
        );
        assert_eq!(first.of(E::Offers), counts(offers, 0, 0, 0, 0));
        assert_eq!(
            first.of(E::Prices),
            counts(sum.price_rows as u64, 0, 0, 0, 0)
        );
        assert_eq!(
            first.of(E::Stocks),
            counts(sum.stock_rows as u64, 0, 0, 0, 0)
        );
        assert_eq!(
            first.of(E::PriceTypes),
            counts(sum.price_types as u64, 0, 0, 0, 0)
        );
        assert_eq!(first.of(E::Warehouses).new, sum.warehouses as u64);
        assert_eq!(first.new_products.len(), CHANGE_EXAMPLES);
        let first_names = strings(db, "SELECT name FROM products ORDER BY id").await;
        let shown: Vec<&str> = first.new_products.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(shown, first_names[..CHANGE_EXAMPLES], "in the order met");
        assert_eq!(first.new_price_types.len(), sum.price_types);
        assert!(first.deactivated_products.is_empty() && first.price_changes.is_empty());
        assert!(first.warnings.is_empty(), "{:?}", first.warnings);
        assert_eq!(
            first
                .skipped
                .get(&SkipReason::UnknownProduct)
                .copied()
                .unwrap_or(0),
            sum.offers_unknown_product as u64
        );

        let again = run(db, &request(ImportKind::Catalog, &dir)).await.changes;
        assert!(again.is_quiet(), "{again:?}");
        assert_eq!(
            again.of(E::Products),
            counts(0, 0, sum.products as u64, 0, 0)
        );
        // Offer records met (own offers created for products with variants only are not).
        assert_eq!(
            again.of(E::Offers),
            counts(0, 0, (sum.variants + sum.own_offers) as u64, 0, 0)
        );
        assert_eq!(
            again.of(E::Prices),
            counts(0, 0, sum.price_rows as u64, 0, 0)
        );
        assert_eq!(
            again.of(E::Stocks),
            counts(0, 0, sum.stock_rows as u64, 0, 0)
        );
        assert!(again.new_products.is_empty() && again.new_price_types.is_empty());
        assert!(again.price_changes.is_empty() && again.stock_changes.is_empty());
        assert!(again.warnings.is_empty());
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn deletion_marks_renames_and_a_mass_deactivation_are_reported() {
    let dir = temp_dir("marks");
    let sum = generate(&dir, 60, 22);
    assert!(sum.products_deleted > 0, "the seed gives a deleted product");
    for t in TestDb::each().await {
        let db = &t.db;
        generate(&dir, 60, 22);
        run(db, &request(ImportKind::Catalog, &dir)).await;
        let active = strings(
            db,
            "SELECT onec_id FROM products WHERE NOT is_deleted ORDER BY id",
        )
        .await;
        let deleted = strings(
            db,
            "SELECT onec_id FROM products WHERE is_deleted ORDER BY id",
        )
        .await;
        // 8 of the active products get a deletion mark, one deleted product loses it, one
        // active product is renamed.
        let off: Vec<&String> = active.iter().take(8).collect();
        for id in &off {
            edit_product(&dir, id, "ПометкаУдаления>false<", "ПометкаУдаления>true<");
        }
        edit_product(
            &dir,
            &deleted[0],
            "ПометкаУдаления>true<",
            "ПометкаУдаления>false<",
        );
        let renamed = &active[20];
        edit_product(&dir, renamed, "<Наименование>", "<Наименование>Новое имя ");

        let report = run(db, &request(ImportKind::Catalog, &dir)).await.changes;
        let n = sum.products as u64;
        assert_eq!(
            report.of(E::Products),
            counts(0, 1, n - 10, 8, 1),
            "{}",
            t.url
        );
        let names: BTreeSet<String> = report
            .deactivated_products
            .iter()
            .map(|p| p.onec_id.clone())
            .collect();
        assert_eq!(names, off.iter().map(|s| s.to_string()).collect());
        assert!(
            report
                .deactivated_products
                .iter()
                .all(|p| !p.name.is_empty())
        );
        assert_eq!(
            report.of(E::Prices),
            counts(0, 0, sum.price_rows as u64, 0, 0)
        );
        assert_eq!(
            report.warnings,
            [ChangeWarning::MassDeactivation {
                deactivated: 8,
                active_before: active.len() as u64,
                limit_percent: 10,
            }]
        );
        // Two deactivations are within the default 10 %, not within 1 %.
        generate(&dir, 60, 22);
        run(db, &request(ImportKind::Catalog, &dir)).await;
        for id in &active[..2] {
            edit_product(&dir, id, "ПометкаУдаления>false<", "ПометкаУдаления>true<");
        }
        let strict = import::run_with(
            db,
            &request(ImportKind::Catalog, &dir),
            &NoProgress,
            ChangeLimits {
                deactivated_share_percent: 1,
                ..ChangeLimits::default()
            },
        )
        .await
        .unwrap()
        .changes;
        assert_eq!(strict.of(E::Products).deactivated, 2);
        assert_eq!(
            strict.warnings,
            [ChangeWarning::MassDeactivation {
                deactivated: 2,
                active_before: active.len() as u64,
                limit_percent: 1,
            }]
        );
        generate(&dir, 60, 22);
        run(db, &request(ImportKind::Catalog, &dir)).await;
        for id in &active[..2] {
            edit_product(&dir, id, "ПометкаУдаления>false<", "ПометкаУдаления>true<");
        }
        let default = run(db, &request(ImportKind::Catalog, &dir)).await.changes;
        assert_eq!(default.of(E::Products).deactivated, 2);
        assert!(default.warnings.is_empty(), "{:?}", default.warnings);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn price_and_stock_changes_come_with_old_and_new_values_and_warnings() {
    let catalog_dir = temp_dir("trade_catalog");
    let sum = generate(&catalog_dir, 60, 12);
    let variant = sum.example_variant.clone().unwrap();
    let own = sum.example_own_offer.clone().unwrap();
    assert!(own.prices.iter().all(|(_, p)| e4(p) != 0));
    let types: Vec<&String> = variant.prices.iter().map(|(t, _)| t).collect();
    let doubled = (Decimal::from_str(&variant.prices[0].1).unwrap() * Decimal::TWO).to_string();

    let dir = temp_dir("trade");
    std::fs::create_dir_all(dir.join("prices")).unwrap();
    std::fs::create_dir_all(dir.join("rests")).unwrap();
    let own_prices: String = own.prices.iter().map(|(t, _)| price(t, "0")).collect();
    std::fs::write(
        dir.join("prices/prices.xml"),
        offers_package(&[
            format!(
                "<Ид>{}</Ид><Цены>{}{}{}</Цены>",
                variant.id,
                price(types[0], &doubled),
                price(types[1], &variant.prices[1].1),
                price("no-such-type", "1")
            ),
            format!("<Ид>{}</Ид><Цены>{own_prices}</Цены>", own.id),
            format!(
                "<Ид>no-such-offer</Ид><Цены>{}</Цены>",
                price(types[0], "1")
            ),
        ]),
    )
    .unwrap();
    let ws: Vec<&String> = variant.stock.iter().map(|(w, _)| w).collect();
    let own_zero: String = own.stock.iter().map(|(w, _)| rest(w, "0")).collect();
    std::fs::write(
        dir.join("rests/rests.xml"),
        offers_package(&[
            format!(
                "<Ид>{}</Ид><Остатки>{}{}{}{}</Остатки>",
                variant.id,
                rest(ws[0], "1000"),
                rest(ws[1], &variant.stock[1].1),
                rest(ws[2], &variant.stock[2].1),
                rest("new-warehouse-7", "3")
            ),
            format!("<Ид>{}</Ид><Остатки>{own_zero}</Остатки>", own.id),
        ]),
    )
    .unwrap();
    let own_had_stock = own.stock.iter().any(|(_, q)| e4(q) > 0);

    for t in TestDb::each().await {
        let db = &t.db;
        run(db, &request(ImportKind::Catalog, &catalog_dir)).await;

        let prices = run(db, &request(ImportKind::Prices, &dir)).await.changes;
        let n_own = own.prices.len() as u64;
        assert_eq!(
            prices.of(E::Prices),
            counts(0, 1 + n_own, 1, 0, 0),
            "{}",
            t.url
        );
        assert_eq!(prices.skipped.get(&SkipReason::UnknownPriceType), Some(&1));
        assert_eq!(prices.skipped.get(&SkipReason::UnknownOffer), Some(&1));
        assert_eq!(prices.price_changes.len() as u64, 1 + n_own);
        let up = prices
            .price_changes
            .iter()
            .find(|c| c.offer.onec_id == variant.normalized_id)
            .expect("the doubled price is listed");
        assert_eq!(up.price_type.onec_id, *types[0]);
        assert!(!up.price_type.name.is_empty() && !up.offer.name.is_empty());
        assert_eq!(
            (up.old_e4, up.new_e4),
            (e4(&variant.prices[0].1), e4(&doubled))
        );
        assert_eq!(up.percent_e2, Some(10_000));
        for c in prices
            .price_changes
            .iter()
            .filter(|c| c.offer.onec_id == own.normalized_id)
        {
            assert_eq!((c.new_e4, c.percent_e2), (0, Some(-10_000)));
        }
        assert_eq!(
            prices.warnings,
            [
                ChangeWarning::PriceJumps {
                    count: 1 + n_own,
                    limit_percent: 50
                },
                ChangeWarning::PricesLost { offers: 1 },
            ]
        );

        let stocks = run(db, &request(ImportKind::Stocks, &dir)).await.changes;
        let n_own = own.stock.len() as u64;
        let own_changed = own.stock.iter().filter(|(_, q)| e4(q) != 0).count() as u64;
        assert_eq!(
            stocks.of(E::Stocks),
            counts(1, 1 + own_changed, 2 + n_own - own_changed, 0, 0),
            "{}",
            t.url
        );
        assert_eq!(stocks.of(E::Warehouses), counts(1, 0, 0, 0, 0));
        assert_eq!(stocks.new_warehouses.len(), 1);
        assert_eq!(stocks.new_warehouses[0].onec_id, "new-warehouse-7");
        let first = &stocks.stock_changes[0];
        let up = stocks
            .stock_changes
            .iter()
            .find(|c| c.offer.onec_id == variant.normalized_id)
            .unwrap();
        assert_eq!(up.warehouse.onec_id, *ws[0]);
        assert_eq!(
            (up.old_e4, up.new_e4),
            (e4(&variant.stock[0].1), e4("1000"))
        );
        assert!(
            stocks
                .stock_changes
                .iter()
                .all(|c| (c.new_e4 - c.old_e4).abs() <= (first.new_e4 - first.old_e4).abs()),
            "largest first"
        );
        // One of two offers goes to zero: 50 % > 20 %.
        if own_had_stock {
            assert_eq!(
                stocks.warnings,
                [ChangeWarning::StockToZero {
                    offers: 1,
                    of_offers: 2,
                    limit_percent: 20
                }]
            );
        }

        // The same files again: nothing changes.
        let again = run(db, &request(ImportKind::Prices, &dir)).await.changes;
        assert!(again.is_quiet() && again.warnings.is_empty(), "{again:?}");
        let again = run(db, &request(ImportKind::Stocks, &dir)).await.changes;
        assert!(again.is_quiet() && again.warnings.is_empty(), "{again:?}");
        t.drop_db().await;
    }
    for p in [catalog_dir, dir] {
        std::fs::remove_dir_all(p).ok();
    }
}

#[tokio::test]
async fn examples_stay_bounded_on_a_large_change() {
    let dir = temp_dir("bounded");
    generate(&dir, 300, 23);
    for t in TestDb::each().await {
        let db = &t.db;
        let report = run(db, &request(ImportKind::Catalog, &dir)).await.changes;
        assert_eq!(report.of(E::Products).new, 300);
        assert_eq!(report.new_products.len(), CHANGE_EXAMPLES);
        // Every price of the catalog changes by +10 %.
        db.execute_unprepared("UPDATE prices SET price_e4 = price_e4 * 10 / 11")
            .await
            .unwrap();
        let again = run(db, &request(ImportKind::Catalog, &dir)).await.changes;
        assert!(again.of(E::Prices).changed > CHANGE_EXAMPLES as u64);
        assert_eq!(again.price_changes.len(), CHANGE_EXAMPLES);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Preview runs («Проверить без записи», `--dry-run`)

fn runner(t: &TestDb, dir: &Path) -> engine::run::Runner {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    engine::run::Runner::new(
        t.db.clone(),
        engine::redis::Client::open(url).unwrap(),
        Some(dir.to_path_buf()),
    )
    .with_prefix(&format!("test-preview-{}", uuid::Uuid::new_v4()))
}

async fn start(r: &engine::run::Runner, kinds: &[&str], mode: wire::RunMode) -> wire::RunState {
    let h = r
        .start(engine::run::StartRequest {
            options: engine::run::RunOptions {
                mode,
                ..Default::default()
            },
            ..common::start_request(kinds)
        })
        .await
        .expect("the run starts");
    tokio::time::timeout(std::time::Duration::from_secs(120), h.done)
        .await
        .unwrap()
        .unwrap()
}

/// Every row of every table but the two that record runs, as text, table by table.
async fn snapshot(db: &DatabaseConnection) -> Vec<(String, Vec<String>)> {
    let backend = db.get_database_backend();
    let tables = match backend {
        sea_orm::DbBackend::Postgres => {
            strings(
                db,
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            )
            .await
        }
        _ => {
            strings(
                db,
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
            )
            .await
        }
    };
    let mut out = Vec::new();
    for t in tables {
        if t == "import_runs" || t == "import_sessions" {
            continue;
        }
        let rows = match backend {
            sea_orm::DbBackend::Postgres => {
                strings(db, &format!("SELECT x::text FROM {t} x ORDER BY 1")).await
            }
            _ => {
                let cols = strings(db, &format!("SELECT name FROM pragma_table_info('{t}')")).await;
                let expr: Vec<String> = cols.iter().map(|c| format!("quote({c})")).collect();
                strings(
                    db,
                    &format!("SELECT {} FROM {t} ORDER BY 1", expr.join(" || '|' || ")),
                )
                .await
            }
        };
        // The counters of the two tables that record runs move, like those tables.
        let rows = rows
            .into_iter()
            .filter(|r| !r.starts_with("'import_"))
            .collect();
        out.push((t, rows));
    }
    out
}

/// Fails naming the tables that differ and their first differing rows.
fn assert_same(after: &[(String, Vec<String>)], before: &[(String, Vec<String>)], url: &str) {
    let names = |s: &[(String, Vec<String>)]| s.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>();
    assert_eq!(names(after), names(before), "{url}");
    for ((t, a), (_, b)) in after.iter().zip(before) {
        if a != b {
            let only_after: Vec<&String> = a.iter().filter(|r| !b.contains(r)).take(3).collect();
            let only_before: Vec<&String> = b.iter().filter(|r| !a.contains(r)).take(3).collect();
            panic!(
                "{url}: a preview changed {t} ({} rows before, {} after); now {only_after:?}, was {only_before:?}",
                b.len(),
                a.len()
            );
        }
    }
}

#[tokio::test]
async fn a_preview_reports_what_the_import_then_does_and_changes_no_shop_data() {
    let base = temp_dir("preview_base");
    generate(&base, 80, 41);
    let next = temp_dir("preview_next");
    generate(&next, 80, 41);
    // The next export: 3 products marked deleted, a price doubled, a stock set.
    let sum = generate(&next, 80, 41);
    let variant = sum.example_variant.clone().unwrap();
    for t in TestDb::each().await {
        let db = &t.db;
        let r = runner(&t, &base);
        let first = start(&r, &["catalog"], wire::RunMode::Import).await;
        assert_eq!(
            first.phase,
            wire::RunPhase::Completed,
            "{:?}",
            first.message
        );

        let active = strings(
            db,
            "SELECT onec_id FROM products WHERE NOT is_deleted ORDER BY id",
        )
        .await;
        generate(&next, 80, 41);
        for id in &active[..3] {
            edit_product(&next, id, "ПометкаУдаления>false<", "ПометкаУдаления>true<");
        }
        std::fs::create_dir_all(next.join("prices")).unwrap();
        let doubled = (Decimal::from_str(&variant.prices[0].1).unwrap() * Decimal::TWO).to_string();
        let r = runner(&t, &next);
        let before = snapshot(db).await;
        assert!(
            before
                .iter()
                .any(|(t, rows)| t == "prices" && !rows.is_empty())
        );
        let preview = start(&r, &["catalog", "stocks", "prices"], wire::RunMode::Preview).await;
        assert_eq!(
            preview.phase,
            wire::RunPhase::Completed,
            "{:?}",
            preview.message
        );
        assert_eq!(preview.mode, wire::RunMode::Preview);
        let msg = preview.message.clone().unwrap();
        assert!(
            msg.starts_with("✅ Проверка без записи завершена, ничего не записано: Каталог"),
            "{msg}"
        );
        assert_same(&snapshot(db).await, &before, &t.url);
        let cat = preview.kinds[0].changes.clone().unwrap();
        assert_eq!(cat.of(E::Products).deactivated, 3);

        // The run and its sessions are recorded, marked as a preview, with the file stamps.
        let run: engine::entity::import_runs::Model =
            <engine::entity::import_runs::Entity as sea_orm::EntityTrait>::find_by_id(
                preview.run_id.clone(),
            )
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (run.mode.as_str(), run.status.as_str()),
            ("preview", "completed")
        );
        for k in &preview.kinds {
            let s: engine::entity::import_sessions::Model =
                <engine::entity::import_sessions::Entity as sea_orm::EntityTrait>::find_by_id(
                    k.session_id.unwrap(),
                )
                .one(db)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (s.mode.as_str(), s.status.as_str()),
                ("preview", "completed")
            );
            let report: serde_json::Value = serde_json::from_str(&s.report).unwrap();
            let stamps: Vec<wire::FileStamp> =
                serde_json::from_value(report["stamps"].clone()).unwrap();
            assert!(!stamps.is_empty() && stamps.iter().all(|s| s.sha256.len() == 64));
            assert!(import::changed_since(&next, &stamps, &[]).is_empty());
            let stored: wire::ChangeReport =
                serde_json::from_value(report["changes"].clone()).unwrap();
            assert_eq!(Some(&stored), k.changes.as_ref());
        }

        // A changed file is noticed.
        std::fs::write(
            next.join("prices/zz_extra.xml"),
            offers_package(&[format!(
                "<Ид>{}</Ид><Цены>{}</Цены>",
                variant.id,
                price(&variant.prices[0].0, &doubled)
            )]),
        )
        .unwrap();
        let s: engine::entity::import_sessions::Model =
            <engine::entity::import_sessions::Entity as sea_orm::EntityTrait>::find_by_id(
                preview.kinds[2].session_id.unwrap(),
            )
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let report: serde_json::Value = serde_json::from_str(&s.report).unwrap();
        let stamps: Vec<wire::FileStamp> =
            serde_json::from_value(report["stamps"].clone()).unwrap();
        let now = import::planned_files(&request(ImportKind::Prices, &next)).unwrap();
        assert_eq!(
            import::changed_since(&next, &stamps, &now),
            ["prices/zz_extra.xml"]
        );
        std::fs::remove_file(next.join("prices/zz_extra.xml")).unwrap();

        // The real import of the same files reports exactly what the preview said.
        let real = start(&r, &["catalog", "stocks", "prices"], wire::RunMode::Import).await;
        assert_eq!(real.phase, wire::RunPhase::Completed, "{:?}", real.message);
        for (p, i) in preview.kinds.iter().zip(&real.kinds) {
            assert_eq!(p.changes, i.changes, "{:?} on {}", p.kind, t.url);
            assert_eq!(p.counts, i.counts);
        }
        assert_ne!(snapshot(db).await, before);
        t.drop_db().await;
    }
    for d in [base, next] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[tokio::test]
async fn a_failing_preview_halts_like_an_import_and_still_writes_nothing() {
    let dir = temp_dir("preview_fail");
    generate(&dir, 40, 42);
    for t in TestDb::each().await {
        let db = &t.db;
        let r = runner(&t, &dir);
        start(&r, &["catalog"], wire::RunMode::Import).await;
        gendata::write_broken_goods(&dir).unwrap();
        let before = snapshot(db).await;
        let s = start(&r, &["catalog", "stocks"], wire::RunMode::Preview).await;
        assert_eq!(s.phase, wire::RunPhase::Failed);
        assert_eq!(s.kinds[0].phase, wire::KindPhase::Failed);
        assert_eq!(s.kinds[1].phase, wire::KindPhase::NotRun);
        let msg = s.message.unwrap();
        assert!(
            msg.starts_with("❌ Проверка без записи, ничего не записано. Ошибка импорта каталога"),
            "{msg}"
        );
        assert_same(&snapshot(db).await, &before, &t.url);
        let sessions = strings(
            db,
            &format!(
                "SELECT status FROM import_sessions WHERE run_id = '{}' ORDER BY id",
                s.run_id
            ),
        )
        .await;
        assert_eq!(sessions, ["failed"], "no session for the kind not reached");
        generate(&dir, 40, 42);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}
