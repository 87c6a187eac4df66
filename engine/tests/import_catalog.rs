//! The catalog importer against the gendata oracle, real-shaped samples, re-imports, broken
//! files, cancellation and deletion marks — each on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use engine::entity::{
    categories, customers, offer_characteristics, offers, price_types, prices,
    product_property_values, products, properties, property_values, stocks, units, warehouses,
};
use engine::import::{self, ImportError, ImportReport, NoProgress, Progress};
use engine::kinds::ImportKind;
use engine::stats::{self, Stats};
use engine::testing::TestDb;
use gendata::{Format, Options, Summary};
use rust_decimal::Decimal;
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};
use wire::{Counter, SkipReason};

mod common;
use common::{request, temp_dir};

fn generate(dir: &Path, products: usize, customers: usize, seed: u64, format: Format) -> Summary {
    gendata::generate(
        &Options {
            products,
            customers,
            seed,
            format,
            ..Default::default()
        },
        dir,
    )
    .unwrap()
}

/// A generated export in a new folder named after `tag`.
fn export(
    tag: &str,
    products: usize,
    customers: usize,
    seed: u64,
    format: Format,
) -> (common::TempDir, Summary) {
    let dir = temp_dir(tag);
    let sum = generate(&dir, products, customers, seed, format);
    (dir, sum)
}

async fn catalog(db: &DatabaseConnection, dir: &Path) -> Result<ImportReport, ImportError> {
    import::run(db, &request(ImportKind::Catalog, dir), &NoProgress).await
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap().normalize()
}

/// Every row of every shop table, in key order, as text: equal snapshots mean equal data
/// (timestamps included).
async fn snapshot(db: &DatabaseConnection) -> String {
    macro_rules! rows {
        ($out:ident, $m:ident, $($order:expr),+) => {
            let all = $m::Entity::find()$(.order_by_asc($order))+.all(db).await.unwrap();
            $out.push_str(&format!("{}: {:?}\n", stringify!($m), all));
        };
    }
    let mut s = String::new();
    rows!(s, categories, categories::Column::Id);
    rows!(s, units, units::Column::Id);
    rows!(s, properties, properties::Column::Id);
    rows!(s, property_values, property_values::Column::Id);
    rows!(s, products, products::Column::Id);
    rows!(
        s,
        product_property_values,
        product_property_values::Column::Id
    );
    rows!(s, offers, offers::Column::Id);
    rows!(s, offer_characteristics, offer_characteristics::Column::Id);
    rows!(s, price_types, price_types::Column::Id);
    rows!(
        s,
        prices,
        prices::Column::OfferId,
        prices::Column::PriceTypeId
    );
    rows!(s, warehouses, warehouses::Column::Id);
    rows!(
        s,
        stocks,
        stocks::Column::OfferId,
        stocks::Column::WarehouseId
    );
    rows!(s, customers, customers::Column::Id);
    s
}

/// The database must hold exactly what the oracle says.
fn assert_matches_oracle(st: &Stats, sum: &Summary, url: &str) {
    assert_eq!(st.products_total, sum.products as u64, "{url}");
    assert_eq!(st.products_deleted, sum.products_deleted as u64, "{url}");
    assert_eq!(st.variants, sum.variants as u64, "{url}");
    assert_eq!(st.categories, sum.categories as u64, "{url}");
    assert_eq!(st.price_types, sum.price_types as u64, "{url}");
    assert_eq!(st.warehouses, sum.warehouses as u64, "{url}");
    assert_eq!(st.prices, sum.price_rows as u64, "{url}");
    assert_eq!(st.stock_rows, sum.stock_rows as u64, "{url}");
    assert_eq!(st.stock_units, dec(&sum.stock_total), "{url}");
}

/// Imports the catalog of `dir`, which must hold exactly what the oracle says: the report and
/// the figures.
async fn import_matching_oracle(
    db: &DatabaseConnection,
    dir: &Path,
    sum: &Summary,
    url: &str,
) -> (ImportReport, Stats) {
    let report = catalog(db, dir).await.unwrap();
    let st = stats::stats(db).await.unwrap();
    assert_matches_oracle(&st, sum, url);
    (report, st)
}

/// Imports the catalog of `dir` once more: nothing is created or updated and every row stays
/// as it was. Returns that import's report.
async fn reimport_unchanged(db: &DatabaseConnection, dir: &Path, url: &str) -> ImportReport {
    let before = snapshot(db).await;
    let again = catalog(db, dir).await.unwrap();
    assert_eq!(
        (again.count(Counter::Created), again.count(Counter::Updated)),
        (0, 0),
        "{url}"
    );
    assert_eq!(snapshot(db).await, before, "{url}");
    again
}

/// Every row of the table of `E`.
async fn all<E: EntityTrait>(db: &DatabaseConnection) -> Vec<E::Model> {
    E::find().all(db).await.unwrap()
}

async fn assert_examples(db: &DatabaseConnection, sum: &Summary, url: &str) {
    let examples = [
        &sum.example_variant,
        &sum.example_own_offer,
        &sum.example_empty_tail_offer,
    ];
    let mut seen = 0;
    for ex in examples.into_iter().flatten() {
        seen += 1;
        // Looked up as written in the files (`P#` included): show_offer normalises.
        let view = stats::show_offer(db, &ex.id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{url}: offer {} missing", ex.id));
        assert_eq!(view.id, ex.normalized_id, "{url}");
        assert_eq!(view.product_id, ex.product_id, "{url}");
        let prices: Vec<(String, Decimal)> =
            ex.prices.iter().map(|(k, v)| (k.clone(), dec(v))).collect();
        let mut got: Vec<(String, Decimal)> = view.prices.into_iter().collect();
        let mut want = prices;
        got.sort();
        want.sort();
        assert_eq!(got, want, "{url}: prices of {}", ex.id);
        let mut want: Vec<(String, Decimal)> =
            ex.stock.iter().map(|(k, v)| (k.clone(), dec(v))).collect();
        let mut got: Vec<(String, Decimal)> = view.stock.into_iter().collect();
        want.sort();
        got.sort();
        let total: Decimal = want.iter().map(|(_, q)| *q).sum();
        assert_eq!(got, want, "{url}: stock of {}", ex.id);
        assert_eq!(view.stock_total, total.normalize(), "{url}");
    }
    assert_eq!(seen, 3, "the oracle describes three example offers");
}

#[tokio::test]
async fn catalog_31_matches_the_oracle_and_reimports_without_changes() {
    let (dir, sum) = export("v31", 300, 30, 7, Format::V31);
    for t in TestDb::each().await {
        let db = &t.db;
        let (report, st) = import_matching_oracle(db, &dir, &sum, &t.url).await;
        assert_eq!(
            st.customers_total, 0,
            "customers are not part of the catalog"
        );
        assert_eq!(report.count(Counter::Products), sum.products as u64);
        assert_eq!(report.count(Counter::Variants), sum.variants as u64);
        assert_eq!(
            report.count(Counter::Offers),
            (sum.variants + sum.own_offers) as u64
        );
        assert_eq!(report.count(Counter::Categories), sum.categories as u64);
        assert_eq!(report.count(Counter::Units), sum.units as u64);
        assert_eq!(report.count(Counter::Properties), sum.properties as u64);
        assert_eq!(report.count(Counter::Prices), sum.price_rows as u64);
        assert_eq!(report.count(Counter::StockRows), sum.stock_rows as u64);
        assert_eq!(
            report.skipped(SkipReason::UnknownProduct),
            sum.offers_unknown_product as u64
        );
        assert_eq!(
            report.skipped(SkipReason::UnknownOffer),
            (sum.prices_unknown_offer + sum.rests_unknown_offer) as u64
        );
        assert_eq!(report.skipped(SkipReason::UnknownPriceType), 0);
        assert_eq!(report.count(Counter::WarehousesCreated), 0);
        assert!(report.count(Counter::Created) > sum.products as u64);
        assert_eq!(report.count(Counter::Updated), 0);
        let expected_files: Vec<&String> = sum
            .files
            .iter()
            .filter(|f| !f.starts_with("contragents"))
            .collect();
        assert_eq!(
            report.files.len(),
            expected_files.len(),
            "{:?}",
            report.files
        );
        assert!(report.files.iter().all(|f| expected_files.contains(&f)));
        assert!(report.records > (sum.products + sum.variants) as u64);
        assert_eq!(
            stats::product_count(db).await.unwrap(),
            (sum.products - sum.products_deleted) as u64
        );
        assert_examples(db, &sum, &t.url).await;

        // The product's fields, category and own offer.
        let ex = sum.example_product.as_ref().unwrap();
        let p = all::<products::Entity>(db)
            .await
            .into_iter()
            .find(|p| p.onec_id == ex.id)
            .unwrap();
        assert_eq!(p.sku.as_deref(), Some(ex.article.as_str()));
        assert_eq!(p.name, ex.name);
        assert_eq!(p.unit.as_deref(), Some(ex.unit_code.as_str()));
        let cat = categories::Entity::find_by_id(p.category_id.unwrap())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cat.onec_id, ex.category_id);
        let mut offers_of = all::<offers::Entity>(db).await;
        offers_of.retain(|o| o.product_id == p.id);
        assert_eq!(
            offers_of
                .iter()
                .filter(|o| o.characteristic_id.is_some())
                .count(),
            ex.variants
        );
        assert!(
            offers_of
                .iter()
                .any(|o| o.onec_id == ex.id && o.characteristic_id.is_none())
        );

        // Second import of the same export: same data, byte for byte, nothing rewritten.
        let again = reimport_unchanged(db, &dir, &t.url).await;
        assert_eq!(
            again.counts.get(&Counter::Products),
            report.counts.get(&Counter::Products)
        );
        assert_eq!(again.skipped, report.skipped);
        assert_eq!(stats::stats(db).await.unwrap(), st);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn catalog_2x_matches_the_oracle() {
    let (dir, sum) = export("v2x", 300, 0, 11, Format::V2x);
    for t in TestDb::each().await {
        let db = &t.db;
        let report = import_matching_oracle(db, &dir, &sum, &t.url).await.0;
        assert_eq!(
            report.skipped(SkipReason::UnknownProduct),
            sum.offers_unknown_product as u64
        );
        assert_eq!(report.skipped(SkipReason::UnknownOffer), 0);
        assert_eq!(report.files, vec!["import.xml", "offers.xml"]);
        assert_examples(db, &sum, &t.url).await;
        reimport_unchanged(db, &dir, &t.url).await;
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

/// The committed copy of the real-shaped sample, and the shared one when present.
fn sample_dirs() -> Vec<PathBuf> {
    let committed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../commerceml/tests/documents/sample_small");
    assert!(
        committed.join("goods").is_dir(),
        "{} must exist",
        committed.display()
    );
    let mut dirs = vec![committed];
    // The shared original, when this machine has it: `ONEC_SHARED_SAMPLE`, or `shared/` beside
    // the repository (no path of one machine).
    let shared = std::env::var_os("ONEC_SHARED_SAMPLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/small")
        });
    if shared.join("goods").is_dir() {
        dirs.push(shared);
    }
    dirs
}

#[tokio::test]
async fn real_shaped_samples_import_with_plausible_counts() {
    for dir in sample_dirs() {
        for t in TestDb::each().await {
            let db = &t.db;
            let report = catalog(db, &dir).await.unwrap();
            let st = stats::stats(db).await.unwrap();
            // 60 goods in two segments, one of them deleted.
            assert_eq!(st.products_total, 60, "{}", dir.display());
            assert_eq!(st.products_deleted, 1);
            assert!(
                st.categories > 0 && st.price_types > 0 && st.warehouses > 0,
                "{st:?}"
            );
            assert!(st.prices > 0 && st.stock_rows > 0, "{st:?}");
            assert!(st.stock_units > Decimal::ZERO);
            assert_eq!(report.count(Counter::Products), 60);
            // Every offer record either landed or was counted as skipped.
            assert_eq!(
                report.count(Counter::Offers) + report.skipped(SkipReason::UnknownProduct),
                94,
                "{report:?}"
            );
            let customers = import::run(db, &request(ImportKind::Customers, &dir), &NoProgress)
                .await
                .unwrap();
            assert_eq!(customers.count(Counter::Customers), 15);
            assert_eq!(stats::stats(db).await.unwrap().customers_total, 15);
            t.drop_db().await;
        }
    }
}

fn assert_parse_error(err: ImportError, broken: &Path) {
    let msg = err.to_string();
    assert!(matches!(err, ImportError::Parse(_)), "{msg}");
    let name = broken.file_name().unwrap().to_string_lossy().into_owned();
    assert!(msg.contains(&name), "names the file: {msg}");
    assert!(msg.contains("строка "), "names the line: {msg}");
}

#[tokio::test]
async fn a_broken_goods_file_changes_nothing() {
    let (old, _) = export("broken_old", 40, 0, 3, Format::V31);
    let (dir, _) = export("broken", 60, 0, 5, Format::V31);
    let broken = gendata::write_broken_goods(&dir).unwrap();
    for t in TestDb::each().await {
        let db = &t.db;
        // On an empty database.
        let err = catalog(db, &dir).await.unwrap_err();
        assert_parse_error(err, &broken);
        assert_eq!(stats::stats(db).await.unwrap(), Stats::default());
        assert_eq!(snapshot(db).await, snapshot_of_empty(db).await);

        // On a database holding an older import.
        catalog(db, &old).await.unwrap();
        let st = stats::stats(db).await.unwrap();
        let before = snapshot(db).await;
        let err = catalog(db, &dir).await.unwrap_err();
        assert_parse_error(err, &broken);
        assert_eq!(stats::stats(db).await.unwrap(), st);
        assert_eq!(snapshot(db).await, before, "{}", t.url);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(old).ok();
    std::fs::remove_dir_all(dir).ok();
}

async fn snapshot_of_empty(db: &DatabaseConnection) -> String {
    let s = snapshot(db).await;
    assert!(s.lines().all(|l| l.ends_with(": []")), "{s}");
    s
}

/// Records every report (records, bytes read, bytes in all); with `cancel_after_first_batch`,
/// cancels once a report shows records were read (so a batch was already written).
#[derive(Default)]
struct Recorder {
    reports: std::sync::Mutex<Vec<(u64, u64, u64)>>,
    cancel_after_first_batch: bool,
    cancel: AtomicBool,
}

impl Progress for Recorder {
    fn report(&self, records: u64, bytes_read: u64, bytes_total: u64) {
        assert!(bytes_read <= bytes_total);
        self.reports
            .lock()
            .unwrap()
            .push((records, bytes_read, bytes_total));
        if self.cancel_after_first_batch && records > 0 {
            self.cancel.store(true, Ordering::Relaxed);
        }
    }
    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

#[tokio::test]
async fn cancellation_rolls_back_and_progress_is_reported() {
    let (old, _) = export("cancel_old", 30, 0, 2, Format::V31);
    let (dir, _) = export("cancel", 200, 0, 9, Format::V31);
    for t in TestDb::each().await {
        let db = &t.db;
        for (i, base) in [None, Some(&old)].into_iter().enumerate() {
            if let Some(base) = base {
                catalog(db, base).await.unwrap();
            }
            let before = snapshot(db).await;
            let progress = Recorder {
                cancel_after_first_batch: true,
                ..Default::default()
            };
            let err = import::run(db, &request(ImportKind::Catalog, &dir), &progress)
                .await
                .unwrap_err();
            assert!(matches!(err, ImportError::Cancelled), "{err}");
            assert_eq!(err.to_string(), "Отменено администратором");
            let reports = progress.reports.lock().unwrap().len();
            assert_eq!(reports, 2, "run {i}");
            assert_eq!(snapshot(db).await, before, "{} run {i}", t.url);
        }

        let rec = Recorder::default();
        import::run(db, &request(ImportKind::Catalog, &dir), &rec)
            .await
            .unwrap();
        let reports = rec.reports.into_inner().unwrap();
        assert!(reports.len() > 5, "{reports:?}");
        let total = reports[0].2;
        assert!(total > 0);
        assert!(
            reports
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        assert!(reports.iter().all(|r| r.2 == total && r.1 <= total));
        assert_eq!(reports.last().unwrap().1, total);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(old).ok();
    std::fs::remove_dir_all(dir).ok();
}

fn rewrite_all(dir: &Path, from: &str, to: &str) -> usize {
    let mut changed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            changed += rewrite_all(&path, from, to);
        } else if path.extension().is_some_and(|e| e == "xml") {
            let text = std::fs::read_to_string(&path).unwrap();
            if text.contains(from) {
                changed += text.matches(from).count();
                std::fs::write(&path, text.replace(from, to)).unwrap();
            }
        }
    }
    changed
}

#[tokio::test]
async fn deletion_marks_deactivate_and_a_later_import_reactivates() {
    let (dir, sum) = export("deleted", 120, 20, 4, Format::V31);
    assert!(sum.products_deleted > 0 && sum.offers_deleted > 0 && sum.customers_deleted > 0);
    let deleted_offers = |db: &DatabaseConnection| {
        let db = db.clone();
        async move {
            offers::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .iter()
                .filter(|o| o.is_deleted)
                .count()
        }
    };
    for t in TestDb::each().await {
        let db = &t.db;
        catalog(db, &dir).await.unwrap();
        import::run(db, &request(ImportKind::Customers, &dir), &NoProgress)
            .await
            .unwrap();
        let st = stats::stats(db).await.unwrap();
        assert_eq!(st.products_deleted, sum.products_deleted as u64);
        assert_eq!(st.customers_deleted, sum.customers_deleted as u64);
        assert_eq!(deleted_offers(db).await, sum.offers_deleted);

        // The same export without any deletion mark.
        let n = rewrite_all(
            &dir,
            "<ПометкаУдаления>true</ПометкаУдаления>",
            "<ПометкаУдаления>false</ПометкаУдаления>",
        );
        assert!(n >= sum.products_deleted + sum.offers_deleted + sum.customers_deleted);
        let report = catalog(db, &dir).await.unwrap();
        assert_eq!(report.count(Counter::Created), 0);
        assert_eq!(
            report.count(Counter::Updated),
            (sum.products_deleted + sum.offers_deleted) as u64
        );
        import::run(db, &request(ImportKind::Customers, &dir), &NoProgress)
            .await
            .unwrap();
        let st = stats::stats(db).await.unwrap();
        assert_eq!((st.products_deleted, st.customers_deleted), (0, 0));
        assert_eq!(
            st.products_total, sum.products as u64,
            "nothing is hard-deleted"
        );
        assert_eq!(deleted_offers(db).await, 0);

        // And the marks again.
        generate(&dir, 120, 20, 4, Format::V31);
        catalog(db, &dir).await.unwrap();
        let st = stats::stats(db).await.unwrap();
        assert_eq!(st.products_deleted, sum.products_deleted as u64);
        assert_eq!(deleted_offers(db).await, sum.offers_deleted);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}
