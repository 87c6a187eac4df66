//! Stocks-only, prices-only and customers imports, the catalog in parts, and the file plan —
//! each on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use engine::entity::customers;
use engine::import::{self, FileType, ImportError, ImportReport, ImportRequest, NoProgress};
use engine::kinds::ImportKind;
use engine::stats::{self, OfferView, Stats};
use engine::testing::TestDb;
use gendata::{ExampleOffer, Format, Options, Summary};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use wire::{Counter, SkipReason};

mod common;
use common::{offers_package, price_in, request, rest, temp_dir};

fn generate(dir: &Path, products: usize, customers: usize, seed: u64) -> Summary {
    gendata::generate(
        &Options {
            products,
            customers,
            seed,
            format: Format::V31,
            ..Default::default()
        },
        dir,
    )
    .unwrap()
}

async fn run(db: &DatabaseConnection, req: &ImportRequest) -> Result<ImportReport, ImportError> {
    import::run(db, req, &NoProgress).await
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap().normalize()
}

async fn offer(db: &DatabaseConnection, id: &str) -> OfferView {
    stats::show_offer(db, id).await.unwrap().unwrap()
}

fn pairs(list: &[(String, String)]) -> BTreeMap<String, Decimal> {
    list.iter().map(|(k, v)| (k.clone(), d(v))).collect()
}

/// A price in the currency code `RUB`.
fn price(type_id: &str, value: &str) -> String {
    price_in("RUB", type_id, value)
}

/// A generated catalog of 60 products and its example offers: a variant, an own offer and one
/// with an empty tail.
fn examples(tag: &str, seed: u64) -> (common::TempDir, [ExampleOffer; 3]) {
    let catalog_dir = temp_dir(tag);
    let sum = generate(&catalog_dir, 60, 0, seed);
    let offers = [
        sum.example_variant,
        sum.example_own_offer,
        sum.example_empty_tail_offer,
    ];
    (catalog_dir, offers.map(Option::unwrap))
}

/// A folder holding one offers package at `file` (e.g. `rests/rests.xml`) with `records`.
fn package_folder(tag: &str, file: &str, records: &[String]) -> common::TempDir {
    let dir = temp_dir(tag);
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, offers_package(records)).unwrap();
    dir
}

/// Imports the catalog of `dir`; returns the figures after it and the view of offer `other`.
async fn catalog_imported(db: &DatabaseConnection, dir: &Path, other: &str) -> (Stats, OfferView) {
    run(db, &request(ImportKind::Catalog, dir)).await.unwrap();
    (stats::stats(db).await.unwrap(), offer(db, other).await)
}

#[tokio::test]
async fn a_stocks_import_changes_what_the_file_says_and_keeps_the_rest() {
    let (catalog_dir, [variant, own, other]) = examples("stock_catalog", 8);
    let warehouses: Vec<&String> = variant.stock.iter().map(|(w, _)| w).collect();
    assert_eq!(warehouses.len(), 3);

    let dir = package_folder(
        "stock",
        "rests/rests.xml",
        &[
            format!(
                "<Ид>{}</Ид><Остатки>{}{}{}</Остатки>",
                variant.id,
                rest(warehouses[0], "0"),
                rest(warehouses[1], "12.5"),
                rest("new-warehouse-7", "3")
            ),
            format!(
                "<Ид>{}</Ид><Остатки><Остаток><Количество>7</Количество></Остаток></Остатки>",
                own.id
            ),
            format!(
                "<Ид>no-such-offer</Ид><Остатки>{}</Остатки>",
                rest(warehouses[0], "1")
            ),
        ],
    );
    // A 2.x offers file: a bare total becomes the «Без склада» row.
    let dir2x = temp_dir("stock2x");
    std::fs::write(
        dir2x.join("offers.xml"),
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.08\" \
             ДатаФормирования=\"2026-11-21T10:00:00\"><ПакетПредложений><Ид>p</Ид><Наименование>p</Наименование>\
             <Предложения><Предложение><Ид>{}</Ид><Наименование>x</Наименование>\
             <Количество>9</Количество></Предложение></Предложения></ПакетПредложений>\
             </КоммерческаяИнформация>\n",
            own.id
        ),
    )
    .unwrap();

    for t in TestDb::each().await {
        let db = &t.db;
        let (before, other_before) = catalog_imported(db, &catalog_dir, &other.id).await;
        assert_eq!(offer(db, &variant.id).await.stock, pairs(&variant.stock));

        let mut req = request(ImportKind::Stocks, &dir);
        req.file = Some(PathBuf::from("rests/rests.xml"));
        let report = run(db, &req).await.unwrap();
        assert_eq!(report.files, vec!["rests/rests.xml"]);
        assert_eq!(report.count(Counter::Offers), 2);
        assert_eq!(report.count(Counter::StockRows), 4);
        assert_eq!(report.count(Counter::WarehousesCreated), 1);
        assert_eq!(report.skipped(SkipReason::UnknownOffer), 1);
        assert_eq!(
            report.count(Counter::Created),
            4,
            "2 stock rows + 2 warehouses"
        );

        let v = offer(db, &variant.id).await;
        let mut want = pairs(&variant.stock);
        want.insert(warehouses[0].clone(), Decimal::ZERO);
        want.insert(warehouses[1].clone(), d("12.5"));
        want.insert("new-warehouse-7".into(), d("3"));
        assert_eq!(v.stock, want, "{}", t.url);
        assert_eq!(
            v.stock_total,
            want.values().copied().sum::<Decimal>().normalize()
        );
        let o = offer(db, &own.id).await;
        let mut want = pairs(&own.stock);
        want.insert(String::new(), d("7"));
        assert_eq!(o.stock, want);
        assert_eq!(
            offer(db, &other.id).await,
            other_before,
            "offers not in the file keep stock"
        );

        let after = stats::stats(db).await.unwrap();
        assert_eq!(after.stock_rows, before.stock_rows + 2);
        assert_eq!(
            after.warehouses,
            before.warehouses + 1,
            "the «Без склада» row is not counted"
        );
        let delta = d("12.5") + d("3") + d("7") - d(&variant.stock[0].1) - d(&variant.stock[1].1);
        assert_eq!(after.stock_units, (before.stock_units + delta).normalize());
        let name: String = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT name FROM warehouses WHERE onec_id = ''",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        assert_eq!(name, "Без склада");

        let again = run(db, &req).await.unwrap();
        assert_eq!(
            (again.count(Counter::Created), again.count(Counter::Updated)),
            (0, 0)
        );

        let report = run(db, &request(ImportKind::Stocks, &dir2x)).await.unwrap();
        assert_eq!(
            (
                report.count(Counter::StockRows),
                report.count(Counter::Updated)
            ),
            (1, 1)
        );
        assert_eq!(offer(db, &own.id).await.stock.get(""), Some(&d("9")));
        t.drop_db().await;
    }
    for p in [catalog_dir, dir, dir2x] {
        std::fs::remove_dir_all(p).ok();
    }
}

#[tokio::test]
async fn a_prices_import_changes_what_the_file_says_and_keeps_the_rest() {
    let (catalog_dir, [variant, own, other]) = examples("price_catalog", 12);
    let types: Vec<&String> = variant.prices.iter().map(|(t, _)| t).collect();

    let dir = package_folder(
        "price",
        "prices/prices.xml",
        &[
            format!(
                "<Ид>{}</Ид><Цены>{}{}</Цены>",
                variant.id,
                price(types[0], "1234.56785"),
                price("no-such-price-type", "10")
            ),
            format!("<Ид>{}</Ид><Цены>{}</Цены>", own.id, price(types[1], "0")),
            format!(
                "<Ид>no-such-offer#x</Ид><Цены>{}</Цены>",
                price(types[0], "5")
            ),
        ],
    );

    for t in TestDb::each().await {
        let db = &t.db;
        let (before, other_before) = catalog_imported(db, &catalog_dir, &other.id).await;
        // A product whose own offer row is gone: a bare-Ид price recreates it.
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => "DELETE FROM offers WHERE onec_id = $1",
                _ => "DELETE FROM offers WHERE onec_id = ?",
            },
            [own.normalized_id.clone().into()],
        ))
        .await
        .unwrap();

        let report = run(db, &request(ImportKind::Prices, &dir)).await.unwrap();
        assert_eq!(report.files, vec!["prices/prices.xml"]);
        assert_eq!(report.count(Counter::Offers), 2);
        assert_eq!(report.count(Counter::Prices), 2);
        assert_eq!(report.skipped(SkipReason::UnknownOffer), 1);
        assert_eq!(report.skipped(SkipReason::UnknownPriceType), 1);

        let v = offer(db, &variant.id).await;
        let mut want = pairs(&variant.prices);
        // Rounded half-even to four places.
        want.insert(types[0].clone(), d("1234.5678"));
        assert_eq!(v.prices, want, "{}", t.url);
        assert_eq!(v.stock, pairs(&variant.stock), "stock untouched");
        let o = offer(db, &own.id).await;
        assert_eq!(
            o.prices,
            BTreeMap::from([(types[1].clone(), Decimal::ZERO)])
        );
        assert!(o.stock.is_empty());
        assert_eq!(offer(db, &other.id).await, other_before);
        let after = stats::stats(db).await.unwrap();
        assert_eq!(
            after.prices,
            before.prices - pairs(&own.prices).len() as u64 + 1
        );

        let again = run(db, &request(ImportKind::Prices, &dir)).await.unwrap();
        assert_eq!(
            (again.count(Counter::Created), again.count(Counter::Updated)),
            (0, 0)
        );
        t.drop_db().await;
    }
    std::fs::remove_dir_all(catalog_dir).ok();
    std::fs::remove_dir_all(dir).ok();
}

fn expected_customer(dir: &Path, id: &str) -> commerceml::Customer {
    let file = dir.join("contragents/contragents.xml");
    for item in commerceml::open_file(&file).unwrap() {
        if let commerceml::Item::Record(commerceml::Record::Customer(c)) = item.unwrap()
            && c.id == id
        {
            return c;
        }
    }
    panic!("customer {id} not in {}", file.display());
}

#[tokio::test]
async fn customers_land_with_their_requisites_and_json_columns() {
    let dir = temp_dir("customers");
    let sum = generate(&dir, 10, 30, 21);
    let ex = sum.example_customer.clone().unwrap();
    let c = expected_customer(&dir, &ex.id);
    assert!(!c.contacts.is_empty() && !c.addresses.is_empty() && !c.bank_accounts.is_empty());
    for t in TestDb::each().await {
        let db = &t.db;
        let report = run(db, &request(ImportKind::Customers, &dir))
            .await
            .unwrap();
        assert_eq!(report.count(Counter::Customers), 30);
        assert_eq!(report.count(Counter::Created), 30);
        assert_eq!(
            report.count(Counter::Deactivated),
            sum.customers_deleted as u64
        );
        assert_eq!(report.files, vec!["contragents/contragents.xml"]);
        let st = stats::stats(db).await.unwrap();
        assert_eq!(st.customers_total, sum.customers as u64);
        assert_eq!(st.customers_deleted, sum.customers_deleted as u64);
        assert_eq!(
            st.products_total, 0,
            "a customers import touches nothing else"
        );

        let row = customers::Entity::find()
            .filter(customers::Column::OnecId.eq(ex.id.as_str()))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.name, ex.name);
        assert_eq!(row.inn.as_deref(), Some(ex.inn.as_str()));
        assert_eq!(row.full_name, c.full_name);
        assert_eq!(row.role, c.role);
        assert_eq!(row.kpp, c.kpp);
        assert_eq!(row.okpo, c.okpo);
        assert!(!row.is_deleted);

        let contacts: serde_json::Value = serde_json::from_str(&row.contacts).unwrap();
        let want: Vec<serde_json::Value> = c
            .contacts
            .iter()
            .map(|(k, v)| serde_json::json!({"type": k, "value": v}))
            .collect();
        assert_eq!(contacts, serde_json::Value::Array(want));
        assert!(
            row.contacts.contains('@'),
            "an e-mail among {}",
            row.contacts
        );

        let accounts: serde_json::Value = serde_json::from_str(&row.bank_accounts).unwrap();
        let a = &c.bank_accounts[0];
        assert_eq!(accounts[0]["number"], a.number.as_str());
        assert_eq!(accounts[0]["bik"], a.bik.as_deref().unwrap());
        assert_eq!(accounts[0]["bank_name"], a.bank_name.as_deref().unwrap());
        assert_eq!(a.number.len(), 20);

        let addresses: serde_json::Value = serde_json::from_str(&row.addresses).unwrap();
        assert_eq!(addresses.as_array().unwrap().len(), c.addresses.len());
        assert_eq!(addresses[0]["kind"], c.addresses[0].kind.as_str());
        assert_eq!(
            addresses[0]["presentation"],
            c.addresses[0].presentation.as_deref().unwrap()
        );
        assert_eq!(
            addresses[0]["fields"].as_array().unwrap().len(),
            c.addresses[0].fields.len()
        );

        let again = run(db, &request(ImportKind::Customers, &dir))
            .await
            .unwrap();
        assert_eq!(
            (again.count(Counter::Created), again.count(Counter::Updated)),
            (0, 0)
        );
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn the_catalog_in_parts_equals_the_whole() {
    let dir = temp_dir("parts");
    let sum = generate(&dir, 80, 0, 31);
    for t in TestDb::each().await {
        let db = &t.db;
        let mut req = request(ImportKind::Catalog, &dir);
        req.file_type = FileType::Goods;
        let goods = run(db, &req).await.unwrap();
        assert!(goods.files.iter().all(|f| !f.starts_with("offers")
            && !f.starts_with("prices")
            && !f.starts_with("rests")));
        let st = stats::stats(db).await.unwrap();
        assert_eq!(
            (st.products_total, st.variants, st.prices),
            (sum.products as u64, 0, 0)
        );
        assert_eq!(st.price_types, sum.price_types as u64);
        for (ft, folder) in [
            (FileType::Offers, "offers"),
            (FileType::Prices, "prices"),
            (FileType::Rests, "rests"),
        ] {
            req.file_type = ft;
            let r = run(db, &req).await.unwrap();
            assert!(
                r.files.iter().any(|f| f.starts_with(folder)),
                "{:?}",
                r.files
            );
        }
        let st = stats::stats(db).await.unwrap();
        assert_eq!(st.variants, sum.variants as u64);
        assert_eq!(st.prices, sum.price_rows as u64);
        assert_eq!(st.stock_rows, sum.stock_rows as u64);
        assert_eq!(st.stock_units, d(&sum.stock_total));
        let whole = run(db, &request(ImportKind::Catalog, &dir)).await.unwrap();
        assert_eq!(whole.count(Counter::Created), 0, "{whole:?}");
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

fn missing(err: ImportError) -> String {
    match err {
        ImportError::MissingFiles(m) => m,
        other => panic!("expected MissingFiles, got {other:?}"),
    }
}

#[tokio::test]
async fn plan_names_the_expected_place_and_refuses_files_outside() {
    let empty = temp_dir("empty");
    let d_ = empty.display().to_string();
    for (kind, text) in [
        (
            ImportKind::Catalog,
            format!("Файл каталога не найден: {d_}/goods"),
        ),
        (
            ImportKind::Stocks,
            format!("Файл остатков не найден: {d_}/rests"),
        ),
        (
            ImportKind::Prices,
            format!("Файл цен не найден: {d_}/prices"),
        ),
        (
            ImportKind::Customers,
            format!("Файл клиентов не найден: {d_}/contragents"),
        ),
    ] {
        let msg = missing(import::plan(&request(kind, &empty)).unwrap_err());
        assert_eq!(
            msg,
            format!("{text}. Убедитесь, что данные из 1С выгружены в {d_}")
        );
    }
    let nowhere = empty.join("no-such-folder");
    let msg = missing(import::plan(&request(ImportKind::Stocks, &nowhere)).unwrap_err());
    assert_eq!(
        msg,
        format!(
            "Файл остатков не найден: {n}/rests. Убедитесь, что данные из 1С выгружены в {n}",
            n = nowhere.display()
        )
    );

    let dir = temp_dir("plan");
    generate(&dir, 5, 3, 1);
    let files = import::plan(&request(ImportKind::Catalog, &dir)).unwrap();
    let kinds: Vec<commerceml::Kind> = files.iter().map(|f| f.kind).collect();
    assert!(
        kinds
            .windows(2)
            .all(|w| w[0].import_rank() <= w[1].import_rank())
    );
    assert!(!kinds.contains(&commerceml::Kind::Contragents));
    let mut rests = request(ImportKind::Catalog, &dir);
    rests.file_type = FileType::Rests;
    let kinds: Vec<commerceml::Kind> = import::plan(&rests)
        .unwrap()
        .iter()
        .map(|f| f.kind)
        .collect();
    assert_eq!(kinds, [commerceml::Kind::Storages, commerceml::Kind::Rests]);
    // Without rests the stocks import has nothing to read.
    std::fs::remove_dir_all(dir.join("rests")).unwrap();
    let msg = missing(import::plan(&request(ImportKind::Stocks, &dir)).unwrap_err());
    assert!(msg.starts_with(&format!(
        "Файл остатков не найден: {}/rests.",
        dir.display()
    )));

    // One named file: it must exist and lie inside the data folder, symlinks resolved.
    let outside = temp_dir("outside");
    generate(&outside, 5, 3, 2);
    let mut req = request(ImportKind::Customers, &dir);
    req.file = Some(outside.join("contragents/contragents.xml"));
    let msg = missing(import::plan(&req).unwrap_err());
    assert!(msg.contains("вне каталога выгрузки"), "{msg}");
    std::os::unix::fs::symlink(
        outside.join("contragents/contragents.xml"),
        dir.join("link.xml"),
    )
    .unwrap();
    req.file = Some(PathBuf::from("link.xml"));
    let msg = missing(import::plan(&req).unwrap_err());
    assert!(msg.contains("вне каталога выгрузки"), "{msg}");
    req.file = Some(PathBuf::from("../outside.xml"));
    let msg = missing(import::plan(&req).unwrap_err());
    assert!(msg.starts_with("Файл клиентов не найден: "), "{msg}");
    req.file = Some(PathBuf::from("contragents/contragents.xml"));
    assert_eq!(import::plan(&req).unwrap().len(), 1);
    req.file = Some(PathBuf::from("units/units.xml"));
    let msg = missing(import::plan(&req).unwrap_err());
    assert!(msg.contains("другого вида"), "{msg}");

    // run() refuses before touching the database.
    for t in TestDb::each().await {
        let err = run(&t.db, &request(ImportKind::Stocks, &empty))
            .await
            .unwrap_err();
        assert!(matches!(err, ImportError::MissingFiles(_)));
        assert_eq!(stats::stats(&t.db).await.unwrap(), stats::Stats::default());
        t.drop_db().await;
    }
    assert_eq!(FileType::parse(" Rests "), Some(FileType::Rests));
    assert_eq!(FileType::parse("all"), Some(FileType::All));
    assert_eq!(FileType::parse("orders"), None);
    assert!(
        FileType::ALL
            .iter()
            .all(|t| FileType::parse(t.as_str()) == Some(*t))
    );
    for p in [empty, dir, outside] {
        std::fs::remove_dir_all(p).ok();
    }
}

async fn query(db: &DatabaseConnection, sql: String) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(sea_orm::Statement::from_string(
        db.get_database_backend(),
        sql,
    ))
    .await
    .unwrap()
}

/// `(offer Ид, price_e4, currency)` of one price type, by offer.
async fn prices_of_type(
    db: &DatabaseConnection,
    type_onec_id: &str,
) -> Vec<(String, i64, Option<String>)> {
    let sql = format!(
        "SELECT o.onec_id, p.price_e4, p.currency FROM prices p JOIN offers o ON o.id = p.offer_id \
         JOIN price_types t ON t.id = p.price_type_id WHERE t.onec_id = '{type_onec_id}' \
         ORDER BY o.onec_id"
    );
    query(db, sql)
        .await
        .into_iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
                r.try_get_by_index(2).unwrap(),
            )
        })
        .collect()
}

async fn strings(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    query(db, sql.to_owned())
        .await
        .into_iter()
        .map(|r| r.try_get_by_index(0).unwrap())
        .collect()
}

/// A prices file that names every offer several times, spread over more than one batch, with
/// the currency coming and going: the last record of each offer wins — into an emptied table
/// (plain inserts for offers met first, upserts for the repeats) and into a full one (only
/// changed rows written) — and an unchanged re-import writes nothing.
#[tokio::test]
async fn offers_repeated_across_batches_keep_their_last_price() {
    let catalog_dir = temp_dir("repeat_catalog");
    generate(&catalog_dir, 150, 0, 11);
    let dir = temp_dir("repeat");
    std::fs::create_dir_all(dir.join("prices")).unwrap();
    let file = dir.join("prices/prices.xml");
    for t in TestDb::each().await {
        let db = &t.db;
        run(db, &request(ImportKind::Catalog, &catalog_dir))
            .await
            .unwrap();
        let offers = strings(db, "SELECT onec_id FROM offers ORDER BY id").await;
        let price_type =
            strings(db, "SELECT onec_id FROM price_types ORDER BY id").await[0].clone();
        // More records than one batch (1 000) holds, so repeats land in later batches.
        let passes = 1_200 / offers.len() + 2;
        // `first..passes` of the passes; the last one with `last_currency`.
        let write = |first: usize, last_currency: Option<&str>| {
            let mut records = Vec::new();
            for pass in first..passes {
                let currency = if pass + 1 == passes {
                    last_currency
                } else if pass % 2 == 0 {
                    None
                } else {
                    Some("USD")
                };
                for (i, o) in offers.iter().enumerate() {
                    let valuta = currency
                        .map(|c| format!("<Валюта>{c}</Валюта>"))
                        .unwrap_or_default();
                    records.push(format!(
                        "<Ид>{o}</Ид><Цены><Цена><ИдТипаЦены>{price_type}</ИдТипаЦены>\
                         <ЦенаЗаЕдиницу>{pass}.{i:04}</ЦенаЗаЕдиницу>{valuta}</Цена></Цены>"
                    ));
                }
            }
            std::fs::write(&file, offers_package(&records)).unwrap();
        };
        let want = |currency: Option<&str>| -> Vec<(String, i64, Option<String>)> {
            let mut v: Vec<_> = offers
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    let e4 = (passes as i64 - 1) * 10_000 + i as i64;
                    (o.clone(), e4, currency.map(str::to_owned))
                })
                .collect();
            v.sort();
            v
        };

        // Into a full table: the catalog's prices are replaced.
        write(0, Some("EUR"));
        let report = run(db, &request(ImportKind::Prices, &dir)).await.unwrap();
        // Within a batch a repeat replaces the pending row; across batches it is written again.
        assert!(
            report.count(Counter::Prices) as usize > offers.len(),
            "repeats in later batches"
        );
        assert_eq!(
            prices_of_type(db, &price_type).await,
            want(Some("EUR")),
            "{}",
            t.url
        );
        assert_eq!(stats::orphan_rows(db).await.unwrap(), Default::default());

        // Into an emptied table.
        db.execute_unprepared("DELETE FROM prices").await.unwrap();
        write(0, None);
        let report = run(db, &request(ImportKind::Prices, &dir)).await.unwrap();
        assert_eq!(
            report.count(Counter::Created) as usize,
            offers.len(),
            "{}",
            t.url
        );
        assert_eq!(
            prices_of_type(db, &price_type).await,
            want(None),
            "{}",
            t.url
        );

        // The last pass alone is what is stored: nothing written. Then only the currency
        // changes: every row, once.
        write(passes - 1, None);
        let again = run(db, &request(ImportKind::Prices, &dir)).await.unwrap();
        assert_eq!(
            (again.count(Counter::Created), again.count(Counter::Updated)),
            (0, 0),
            "{}",
            t.url
        );
        write(passes - 1, Some("USD"));
        let changed = run(db, &request(ImportKind::Prices, &dir)).await.unwrap();
        assert_eq!(
            (
                changed.count(Counter::Created),
                changed.count(Counter::Updated) as usize
            ),
            (0, offers.len()),
            "{}",
            t.url
        );
        assert_eq!(prices_of_type(db, &price_type).await, want(Some("USD")));
        t.drop_db().await;
    }
    for p in [catalog_dir, dir] {
        std::fs::remove_dir_all(p).ok();
    }
}
