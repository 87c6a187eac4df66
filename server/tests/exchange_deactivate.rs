//! `mode=deactivate` of 1C's exchange (`ONEC_EXCHANGE_DEACTIVATE`): the real server on a real
//! socket, 1C played by hand-written HTTP/1.1 (`support::exchange`), exports from `gendata`.
//!
//! gendata writes 3.1 exports as the 1C sample it copies does: every file says
//! `СодержитТолькоИзменения="true"`, which 3.x does not use (1C asks for `deactivate` only after
//! a full packet). In 2.x the flag counts: gendata's 2.x export says `false`, and [`changes_only`]
//! turns it to `true`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use sea_orm::{ConnectionTrait, Statement};
use support::REDIS_URL;
use support::exchange::{Backend, Exchange1c, Site, export, zip_of};

const ON: (&str, &str) = ("ONEC_EXCHANGE_DEACTIVATE", "true");

/// Sends the export as one archive and imports every XML file of it, each to its end.
async fn send(x: &Exchange1c<'_>, files: &[(String, Vec<u8>)]) {
    x.upload("v8_1.zip", &zip_of(files), usize::MAX).await;
    for (name, _) in files.iter().filter(|(n, _)| n.ends_with(".xml")) {
        let answers = x.import_to_end(name).await;
        let last = answers.last().unwrap();
        assert_eq!(last.first_line(), "success", "{name}: {answers:?}");
    }
}

/// A generated CommerceML 3.1 export (every file «changes only», as gendata writes it).
fn export31(products: usize) -> Vec<(String, Vec<u8>)> {
    export(gendata::Format::V31, products).1
}

/// The export with every file saying it carries changes only.
fn changes_only(files: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    files
        .into_iter()
        .map(|(name, body)| {
            let text = String::from_utf8(body).unwrap().replace(
                "СодержитТолькоИзменения=\"false\"",
                "СодержитТолькоИзменения=\"true\"",
            );
            (name, text.into_bytes())
        })
        .collect()
}

/// Products `extra-0…` that no export mentions, each with its own offer and a variant.
async fn add_extra_products(site: &Site, n: usize) {
    let db = support::connect_db(&site.env.database_url).await;
    for i in 0..n {
        db.execute_unprepared(&format!(
            "INSERT INTO products (onec_id, is_deleted, updated_at, name) \
             VALUES ('extra-{i}', FALSE, '2020-01-01 00:00:00', 'Лишний товар {i}')"
        ))
        .await
        .unwrap();
        for key in [format!("extra-{i}"), format!("extra-{i}#v")] {
            db.execute_unprepared(&format!(
                "INSERT INTO offers (onec_id, is_deleted, updated_at, product_id) \
                 SELECT '{key}', FALSE, '2020-01-01 00:00:00', id FROM products \
                 WHERE onec_id = 'extra-{i}'"
            ))
            .await
            .unwrap();
        }
    }
    db.close().await.ok();
}

/// The `onec_id`s of `table` marked deleted, and how many rows are active.
async fn marks(site: &Site, table: &str) -> (Vec<String>, i64) {
    let db = support::connect_db(&site.env.database_url).await;
    let backend = db.get_database_backend();
    let deleted = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT onec_id FROM {table} WHERE is_deleted = TRUE ORDER BY onec_id"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    let active = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) FROM {table} WHERE is_deleted = FALSE"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    db.close().await.ok();
    (deleted, active)
}

/// Off (the default): `success` saying it was skipped, before and without anything else. On,
/// an exchange without a catalog is skipped too.
#[tokio::test]
async fn off_or_without_a_catalog_deactivation_is_skipped() {
    let site = Site::start_with(Backend::Sqlite, &[]).await;
    let (x, _) = site.begin().await;
    x.deactivate()
        .await
        .says(&["success", "Деактивация пропущена: не включена в настройках"]);
    site.done().await;

    let site = Site::start_with(Backend::Sqlite, &[ON]).await;
    let (x, _) = site.begin().await;
    x.deactivate().await.says(&[
        "success",
        "Деактивация пропущена: в обмене не было каталога товаров",
    ]);
    site.done().await;
}

/// A 3.1 export imported through the exchange (every file «changes only», as 1C writes a full
/// packet too), then `deactivate`: the product the export does not mention (and its offers) are
/// marked deleted, the export's stay as imported. While
/// another import holds the lock, `progress`; the lock is free afterwards; `complete` still
/// publishes.
async fn a_full_exchange_deactivates_what_it_did_not_mention(backend: Backend) {
    let site = Site::start_with(backend, &[ON]).await;
    let files = export31(40);
    let (x, _) = site.begin().await;
    send(&x, &files).await;
    let (products_before, active_products) = marks(&site, "products").await;
    let (offers_before, active_offers) = marks(&site, "offers").await;
    assert!(active_products >= 30, "{active_products}");
    add_extra_products(&site, 1).await;

    let mut conn = support::redis_conn(REDIS_URL).await.unwrap();
    let lock = site.env.lock_key();
    let _: () = engine::redis::AsyncCommands::set(&mut conn, &lock, "an-admin-run")
        .await
        .unwrap();
    x.deactivate()
        .await
        .says(&["progress", "Ожидание: выполняется другой импорт"]);
    assert_eq!(marks(&site, "products").await.1, active_products + 1);
    let _: () = engine::redis::AsyncCommands::del(&mut conn, &lock)
        .await
        .unwrap();

    x.deactivate()
        .await
        .says(&["success", "Деактивировано: 1 товар, 2 предложения"]);
    let (products_after, active) = marks(&site, "products").await;
    let mut want = products_before.clone();
    want.push("extra-0".into());
    want.sort();
    assert_eq!(products_after, want);
    assert_eq!(active, active_products, "the export's products stay active");
    let (offers_after, active) = marks(&site, "offers").await;
    let mut want = offers_before.clone();
    want.extend(["extra-0".to_owned(), "extra-0#v".to_owned()]);
    want.sort();
    assert_eq!(offers_after, want);
    assert_eq!(active, active_offers, "the export's offers stay active");
    assert_eq!(
        support::redis_get(REDIS_URL, &lock).await,
        None,
        "the import lock is free again"
    );

    // Again: nothing left to deactivate.
    x.deactivate()
        .await
        .says(&["success", "Деактивировано: 0 товаров, 0 предложений"]);
    let a = x.complete().await;
    assert_eq!(a.first_line(), "success", "{a:?}");
    site.done().await;
}

support::exchange::on_both_backends!(a_full_exchange_deactivates_what_it_did_not_mention);

/// A 2.x export whose files say they carry changes only: skipped, nothing marked.
#[tokio::test]
async fn an_exchange_of_changes_only_is_skipped() {
    let site = Site::start_with(Backend::Sqlite, &[ON]).await;
    let (x, _) = site.begin().await;
    let files = changes_only(export(gendata::Format::V2x, 20).1);
    assert!(
        files
            .iter()
            .any(|(_, b)| String::from_utf8_lossy(b).contains("СодержитТолькоИзменения=\"true\"")),
        "the 2.x export says it carries changes only"
    );
    send(&x, &files).await;
    add_extra_products(&site, 1).await;
    let before = marks(&site, "products").await;
    x.deactivate().await.says(&[
        "success",
        "Деактивация пропущена: выгрузка содержит только изменения",
    ]);
    assert_eq!(marks(&site, "products").await, before);
    site.done().await;
}

/// More of the active products than `ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT` (10 % by default)
/// would go: `failure` naming the numbers and the setting, nothing changed.
#[tokio::test]
async fn over_the_change_limit_nothing_is_deactivated() {
    let site = Site::start_with(Backend::Sqlite, &[ON]).await;
    let (x, _) = site.begin().await;
    send(&x, &export31(20)).await;
    add_extra_products(&site, 5).await;
    let products = marks(&site, "products").await;
    let offers = marks(&site, "offers").await;
    let a = x.deactivate().await;
    assert_eq!(a.first_line(), "failure", "{a:?}");
    let text = a.lines()[1];
    assert!(
        text.contains(&format!(
            "сняты были бы 5 из {} активных товаров — больше 10 %",
            products.1
        )),
        "{a:?}"
    );
    assert!(
        text.contains("ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT"),
        "{a:?}"
    );
    assert_eq!(marks(&site, "products").await, products, "nothing changed");
    assert_eq!(marks(&site, "offers").await, offers, "nothing changed");
    assert_eq!(
        support::redis_get(REDIS_URL, &site.env.lock_key()).await,
        None
    );
    site.done().await;
}
