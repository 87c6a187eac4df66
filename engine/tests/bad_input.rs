//! Bad input: what an import does with broken, hostile or odd export files.
//!
//! Every case runs on SQLite and PostgreSQL, each time on a database that already holds a good
//! import (a generated 3.1 catalog and its customers). Before and after a failing import the
//! test takes a snapshot — `stats()` plus a SHA-256 over every row of every shop table — so
//! "the data as it was before" is checked row by row. In the error cases a *valid* goods
//! segment (it adds a product and renames one) comes before the broken one: when the error is
//! found while reading ("run"), that segment was already written inside the transaction, so the
//! unchanged snapshot proves the rollback; when discovery cannot read the broken file's
//! beginning ("plan"), the import is refused before anything starts. Messages are checked for
//! the file, the line and element where the reader knows them, and for being Russian (no
//! English word outside paths and «quotes»). Fixtures are written at run time into temporary
//! folders.
//!
//! | case | outcome |
//! |---|---|
//! | whitespace-only file | plan: `Parse` «Файл …/goods_1_2_….xml: файл пуст» |
//! | zero-byte file | plan: `Parse` «файл пуст» |
//! | an XML declaration and nothing else | plan: `Parse` «файл пуст» |
//! | a root with no records (an empty goods list) | `Ok`, the file is read, nothing comes from it |
//! | plain text | plan: `Parse` «…, строка 1: это не XML-документ» |
//! | a ZIP archive named `.xml` | plan: `Parse` «это не XML-документ» |
//! | cut in the middle of a record | run: `Parse` «…, строка 7, элемент …/Товар/Описание: файл обрывается посреди записи» |
//! | wrong root element (`<html>`) | plan: `Parse` «…, строка 2, элемент html: корневой элемент «html», ожидался «КоммерческаяИнформация»» |
//! | a mismatched closing tag | run: `Parse` «закрывающий тег «Артикл» не соответствует открытому «Артикул»», line, element |
//! | content after the root | run: `Parse` «данные после закрывающего тега корневого элемента», line |
//! | 5 000 nested elements | run: `Parse` «слишком глубокая вложенность элементов (больше 256)», element path abbreviated, no stack overflow |
//! | a rests file inside `goods/` | content decides: read as rests in a full catalog import (its stock lands), not read by a goods-only one |
//! | a 2.x `import.xml` among 3.x files | both are read, each by its own rules (2.x first by kind); the 2.x product lands |
//! | UTF-8 with BOM / without BOM | Cyrillic, `&lt;`/`&amp;` and «» land exactly |
//! | windows-1251, declared | Cyrillic (Ё, «», №) lands exactly |
//! | windows-1251 bytes, nothing declared (invalid UTF-8) | run: `Parse` «…, строка 6, элемент …/Товар/Наименование: недопустимые байты для кодировки UTF-8 (байт N)» |
//! | billion laughs DTD | plan: `Parse` «строка 2: объявление <!DOCTYPE> (DTD) не допускается, сущности не раскрываются»; never expanded, < 1 s |
//! | external entity `SYSTEM "file:///etc/passwd"` | plan: the same DOCTYPE refusal; the file is never read |
//! | an undeclared `&xxe;` reference | run: `Parse` «неизвестная сущность «&xxe;» (DTD не поддерживается)», line, element |
//! | a ~64 MB rests file | `Ok`, streamed: peak RSS grows < 32 MB (about 1 MB seen); the last record lands |
//! | records without `Ид` (empty, zero GUID, absent) | `Ok`, skipped `missing_id` = 3, the rest lands |
//! | the same `Ид` twice in one file | `Ok`, no warning, the last one wins: `records` = 2, `products` = 1 |
//! | an unknown price type | `Ok`, skipped `unknown_price_type` = 1, the other price lands |
//! | a negative quantity | `Ok`, stored as is (-3.5: 1C's oversold stock), no warning |
//! | an empty quantity | `Ok`, skipped `empty_number` = 1, the stored quantity is kept |
//! | a non-numeric quantity | `Ok`, skipped `bad_number` = 1, the stored quantity is kept |
//! | `1 234,50` with U+00A0 | `Ok`, price exactly 1234.50 (`price_e4` 12 345 000) |
//! | a 5 MB description | `Ok`, stored byte for byte (the reader's limit is 16 MB per record) |
//! | a 1 GB description (written in chunks) | run: `Parse` «…, строка 5, элемент …/Товар/Описание: текст, комментарий или тег длиннее 16 МБ», after reading ~16 MB: peak RSS grows < 64 MB |
//! | a segment swapped for a symlink after discovery | run: `Parse` «это символическая ссылка: ссылки в каталоге выгрузки не читаются» (opened with `O_NOFOLLOW`) |
//! | a segment swapped for another file after discovery | run: `Parse` «файл заменён после проверки каталога выгрузки» (device and inode differ) |
//! | a segment swapped for a FIFO after discovery | run: `Parse` «это не обычный файл (канал, устройство или сокет)» at once (`O_NONBLOCK`), not a hang; through the orchestrator the run fails and the Redis lock is freed |
//! | discovery of a folder that takes ≥ 1 s to read | `start()` plans on a blocking thread: a 5 ms ticker on the same (single-threaded) runtime keeps ticking |
//! | a segment deleted after `plan()` | run: `Parse` «Файл …: ошибка чтения: файл не найден» |
//! | a segment replaced by a directory after `plan()` | run: `Parse` «ошибка чтения: это каталог, а не файл» |
//! | symlinks (file, folder) out of the data folder | not followed by discovery; named as `file`: `MissingFiles` «… находится вне каталога выгрузки … (с учётом символических ссылок) …» |
//! | `file` with `..` (or absolute) out of the data folder | `MissingFiles` «вне каталога выгрузки» |
//! | a folder without 1C files | `MissingFiles` «Файл каталога не найден: {dir}/goods. Убедитесь, что данные из 1С выгружены в {dir}» (stocks: «Файл остатков …/rests») |
//! | a broken file the import does not read | ignored (an empty goods file does not stop a stocks import); the only rests file empty: its own error, not «не найден» |
//! | offers of an unknown product | `Ok`, skipped `unknown_product` = 1 |
//! | rests for unknown offers | `Ok`, skipped `unknown_offer` = 2 |
//!
//! Not covered here: a real 1 GB export (the benchmark imports one; ~64 MB with a flat memory
//! peak shows the reader streams), and files unreadable by permissions (the tests run as root,
//! which ignores `chmod 000`; deletion and a directory in the file's place stand in for it).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use engine::entity::{
    categories, customers, offer_characteristics, offers, price_types, prices,
    product_property_values, products, properties, property_values, stocks, units, warehouses,
};
use engine::import::{
    self, FileType, ImportError, ImportReport, ImportRequest, NoProgress, Progress,
};
use engine::kinds::ImportKind;
use engine::stats::{self, Stats};
use engine::testing::TestDb;
use gendata::{Format, Options, Summary};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use wire::{Counter, SkipReason};

mod common;
use common::{request, start_request, temp_dir};

/// One `#[tokio::test]` per case, each awaiting its helper with its own arguments:
/// `test_name => helper(arguments);`.
macro_rules! case_tests {
    ($($name:ident => $helper:ident($($arg:expr),+ $(,)?);)+) => {$(
        #[tokio::test]
        async fn $name() {
            $helper($($arg),+).await;
        }
    )+};
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// The good export every database starts from (generated once per test binary).
struct Base {
    dir: common::TempDir,
    sum: Summary,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        remove_stale_bases();
        // Named with the process id: a static is never dropped, so the next run sweeps it.
        let dir = temp_dir(&format!("bad_input_base_{}", std::process::id()));
        let sum = gendata::generate(
            &Options {
                products: 30,
                customers: 5,
                seed: 20261125,
                format: Format::V31,
                goods_per_segment: 0,
            },
            &dir,
        )
        .unwrap();
        Base { dir, sum }
    })
}

/// The shared base export outlives every test; the next run removes those of finished runs.
fn remove_stale_bases() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("onec_bad_input_base_")
            .and_then(|rest| rest.split('_').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
}

fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const ROOT_OPEN: &str = "<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_3\" \
                         ВерсияСхемы=\"3.1\" ДатаФормирования=\"2026-11-25T10:00:00\">\n";

/// A 3.1 goods file holding the given `Товар` bodies, one per line, from line 5 on.
fn goods_file(products: &[String]) -> String {
    common::records_file(
        &format!(
            "{HEAD}{ROOT_OPEN}<Каталог СодержитТолькоИзменения=\"true\"><Ид>cat</Ид>\
             <ИдКлассификатора>cat</ИдКлассификатора><Наименование>Товары</Наименование>\n<Товары>\n"
        ),
        "Товар",
        products,
        "</Товары>\n</Каталог>\n</КоммерческаяИнформация>\n",
    )
}

fn product(id: &str, name: &str) -> String {
    format!(
        "<Ид>{id}</Ид><Артикул>ART-{}</Артикул><Наименование>{name}</Наименование>\
         <БазоваяЕдиница>796 </БазоваяЕдиница>",
        id.len()
    )
}

/// A 3.1 `ПакетПредложений` file with the given `Предложение` bodies, one per line.
fn offers_file(records: &[String]) -> String {
    common::records_file(
        &format!(
            "{HEAD}{ROOT_OPEN}<ПакетПредложений СодержитТолькоИзменения=\"true\"><Ид>pkg</Ид>\
             <Наименование>Пакет</Наименование>\n<Предложения>\n"
        ),
        "Предложение",
        records,
        "</Предложения>\n</ПакетПредложений>\n</КоммерческаяИнформация>\n",
    )
}

/// An offer's record holding its stock at one warehouse.
fn rest(offer: &str, warehouse: &str, qty: &str) -> String {
    format!(
        "<Ид>{offer}</Ид><Остатки>{}</Остатки>",
        common::rest(warehouse, qty)
    )
}

fn price(type_id: &str, value: &str) -> String {
    common::price_in("RUB", type_id, value)
}

/// Ид of the product the good segment adds.
const NEW_PRODUCT: &str = "bad0bad0-0000-4000-8000-000000000001";
const GOOD_SEGMENT: &str = "goods/goods_1_1_bad0bad0-0000-4000-8000-0000000000a1.xml";
const BAD_SEGMENT: &str = "goods/goods_1_2_bad0bad0-0000-4000-8000-0000000000a2.xml";

/// A folder whose first goods segment is valid — it adds a product and renames an existing one,
/// so a partial commit would show — and whose second segment is `bad`.
fn broken_catalog(tag: &str, bad: impl AsRef<[u8]>) -> (common::TempDir, PathBuf) {
    let dir = temp_dir(tag);
    let bad = write_segments(&dir, bad);
    (dir, bad)
}

/// Writes the valid first goods segment and `bad` as the second one into `dir`; returns the
/// second one's path.
fn write_segments(dir: &Path, bad: impl AsRef<[u8]>) -> PathBuf {
    let renamed = base().sum.example_product.as_ref().unwrap();
    write(
        dir,
        GOOD_SEGMENT,
        goods_file(&[
            product(NEW_PRODUCT, "Новый товар"),
            product(&renamed.id, "Переименованный товар"),
        ]),
    );
    write(dir, BAD_SEGMENT, bad)
}

fn catalog(dir: &Path) -> ImportRequest {
    request(ImportKind::Catalog, dir)
}

async fn run(db: &DatabaseConnection, req: &ImportRequest) -> Result<ImportReport, ImportError> {
    import::run(db, req, &NoProgress).await
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap().normalize()
}

/// An import of `kind` from `dir`, which must succeed.
async fn import_ok(db: &DatabaseConnection, kind: ImportKind, dir: &Path) -> ImportReport {
    run(db, &request(kind, dir)).await.unwrap()
}

/// The report skipped exactly `n` records (or values) for `reason` and nothing else.
fn assert_skipped_only(report: &ImportReport, reason: SkipReason, n: u64) {
    assert_eq!(report.skipped, BTreeMap::from([(reason, n)]));
}

/// A folder whose one goods segment adds [`NEW_PRODUCT`] («Новый товар»).
fn new_product_folder(tag: &str) -> common::TempDir {
    let dir = temp_dir(tag);
    write(
        &dir,
        GOOD_SEGMENT,
        goods_file(&[product(NEW_PRODUCT, "Новый товар")]),
    );
    dir
}

/// The base export's example own offer and the first warehouse it has stock at.
fn own_offer() -> (gendata::ExampleOffer, String) {
    let own = base().sum.example_own_offer.clone().unwrap();
    let warehouse = own.stock[0].0.clone();
    (own, warehouse)
}

/// A folder with one offers package at `file` (e.g. `rests/rests.xml`) holding `records`.
fn offers_folder(tag: &str, file: &str, records: &[String]) -> common::TempDir {
    let dir = temp_dir(tag);
    write(&dir, file, offers_file(records));
    dir
}

/// A folder with one prices file: `offer`'s record holding `prices`.
fn prices_folder(tag: &str, offer: &str, prices: &[String]) -> common::TempDir {
    let record = format!("<Ид>{offer}</Ид><Цены>{}</Цены>", prices.concat());
    offers_folder(tag, "prices/prices.xml", &[record])
}

// ---------------------------------------------------------------------------------------------
// Databases and snapshots
// ---------------------------------------------------------------------------------------------

/// Both backends, each holding the good import of [`base`] (catalog and customers).
async fn prepared() -> [TestDb; 2] {
    let base = base();
    let dbs = TestDb::each().await;
    for t in &dbs {
        let report = run(&t.db, &catalog(&base.dir)).await.unwrap();
        assert_eq!(report.count(Counter::Products), base.sum.products as u64);
        run(&t.db, &request(ImportKind::Customers, &base.dir))
            .await
            .unwrap();
    }
    dbs
}

/// The data of the shop tables: figures and a checksum over every row.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Snapshot {
    stats: Stats,
    rows: usize,
    sha256: String,
}

async fn rows_of<E>(db: &DatabaseConnection, out: &mut Vec<String>)
where
    E: EntityTrait,
    E::Model: serde::Serialize,
{
    for row in E::find().all(db).await.unwrap() {
        out.push(format!(
            "{}:{}",
            E::default().table_name(),
            serde_json::to_string(&row).unwrap()
        ));
    }
}

async fn snapshot(db: &DatabaseConnection) -> Snapshot {
    macro_rules! rows_of_tables {
        ($rows:ident: $($table:ident),+) => {
            $(rows_of::<$table::Entity>(db, &mut $rows).await;)+
        };
    }
    let mut rows = Vec::new();
    rows_of_tables!(rows: categories, units, properties, property_values, products,
        product_property_values, offers, offer_characteristics, price_types, prices, warehouses,
        stocks, customers);
    rows.sort();
    let mut hash = Sha256::new();
    for r in &rows {
        hash.update(r.as_bytes());
        hash.update(b"\n");
    }
    Snapshot {
        stats: stats::stats(db).await.unwrap(),
        rows: rows.len(),
        sha256: hex::encode(hash.finalize()),
    }
}

async fn product_name(db: &DatabaseConnection, onec_id: &str) -> Option<String> {
    products::Entity::find()
        .filter(products::Column::OnecId.eq(onec_id))
        .one(db)
        .await
        .unwrap()
        .map(|p| p.name)
}

async fn product_row(db: &DatabaseConnection, onec_id: &str) -> products::Model {
    products::Entity::find()
        .filter(products::Column::OnecId.eq(onec_id))
        .one(db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("product {onec_id} not imported"))
}

// ---------------------------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------------------------

/// The parse error of a failed import (anything else fails the test).
fn parse_error(result: Result<ImportReport, ImportError>) -> commerceml::Error {
    match result {
        Err(ImportError::Parse(e)) => e,
        other => panic!("expected ImportError::Parse, got {other:?}"),
    }
}

fn missing_files<T: std::fmt::Debug>(result: Result<T, ImportError>) -> String {
    match result {
        Err(ImportError::MissingFiles(m)) => m,
        other => panic!("expected ImportError::MissingFiles, got {other:?}"),
    }
}

/// The message is Russian: Cyrillic, and no English word outside the file path and «quotes».
fn assert_russian(msg: &str, dir: &Path) {
    // File paths (any word with a `/`) are not language.
    let mut text: String = msg
        .replace(&dir.display().to_string(), "")
        .split(' ')
        .filter(|w| !w.contains('/') || w.contains("КоммерческаяИнформация"))
        .collect::<Vec<_>>()
        .join(" ");
    while let (Some(a), Some(b)) = (text.find('«'), text.find('»')) {
        if b < a {
            break;
        }
        text.replace_range(a..b + '»'.len_utf8(), "");
    }
    assert!(
        text.chars().any(|c| ('а'..='я').contains(&c)),
        "not Russian: {msg}"
    );
    const TERMS: [&str; 6] = ["UTF", "XML", "DTD", "DOCTYPE", "CommerceML", "windows"];
    for word in text.split(|c: char| !c.is_ascii_alphabetic()) {
        assert!(
            word.len() < 4 || TERMS.contains(&word),
            "English word «{word}» in: {msg}"
        );
    }
}

/// What a parse error must say: the file, the line (when given), the start of the element path
/// (when given) and the Russian explanation. Returns the message.
fn check_error(
    e: &commerceml::Error,
    dir: &Path,
    file: &Path,
    line: Option<u64>,
    element: Option<&str>,
    explanation: &str,
) -> String {
    let msg = e.to_string();
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        e.file
            .as_deref()
            .is_some_and(|f| f.ends_with(file.strip_prefix(dir).unwrap_or(file))),
        "error names {:?}, expected {}: {msg}",
        e.file,
        file.display()
    );
    assert!(msg.starts_with("Файл "), "{msg}");
    assert!(msg.contains(name), "no file name in: {msg}");
    if let Some(line) = line {
        assert_eq!(e.line, line, "{msg}");
        assert!(msg.contains(&format!("строка {line}")), "{msg}");
    }
    if let Some(element) = element {
        assert!(e.path.starts_with(element), "element {} in: {msg}", e.path);
        assert!(msg.contains(&format!("элемент {element}")), "{msg}");
    }
    assert!(msg.contains(explanation), "«{explanation}» not in: {msg}");
    assert_russian(&msg.replace(&e.path, ""), dir);
    msg
}

/// Where a broken file is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// By `plan()`: discovery could not read the file's beginning, nothing was started.
    Plan,
    /// While reading, after the good segment was written in the transaction: rolled back.
    Run,
}

/// Remembers the most records an import reported.
#[derive(Default)]
struct Seen(AtomicU64);

impl Progress for Seen {
    fn report(&self, records: u64, _bytes_read: u64, _bytes_total: u64) {
        self.0.fetch_max(records, Ordering::SeqCst);
    }
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// A failed import of a folder with a good segment and the broken one.
struct Failure {
    dir: common::TempDir,
    bad: PathBuf,
    /// The error of each backend.
    errors: Vec<commerceml::Error>,
    /// The longest failing `run()`.
    slowest: Duration,
}

impl Failure {
    /// Checks each backend's error with [`check_error`] against the broken file, then hands it
    /// and its message to `more` for the case's own checks. The folder goes when `self` drops.
    fn check_each(
        &self,
        line: Option<u64>,
        element: Option<&str>,
        explanation: &str,
        more: impl Fn(&commerceml::Error, &str),
    ) {
        for e in &self.errors {
            let msg = check_error(e, &self.dir, &self.bad, line, element, explanation);
            more(e, &msg);
        }
    }

    /// [`Failure::check_each`] with no checks of the case's own.
    fn check(&self, line: Option<u64>, element: Option<&str>, explanation: &str) {
        self.check_each(line, element, explanation, |_, _| {});
    }
}

/// The path of `child` of a goods file's `Товар`.
fn product_element(child: &str) -> String {
    format!("КоммерческаяИнформация/Каталог/Товары/Товар/{child}")
}

/// Runs a catalog import of a folder with a good segment and the broken one: it must fail at
/// `stage` with a parse error of the broken file and leave the data as it was.
async fn broken_catalog_fails(tag: &str, bad: impl AsRef<[u8]>, stage: Stage) -> Failure {
    let (dir, bad) = broken_catalog(tag, bad);
    let req = catalog(&dir);
    match (stage, import::plan(&req)) {
        (Stage::Plan, Err(ImportError::Parse(_))) => {}
        (Stage::Run, Ok(files)) => assert_eq!(files.len(), 2),
        (stage, other) => panic!("{stage:?}: plan() gave {other:?}"),
    }
    let mut errors = Vec::new();
    let mut slowest = Duration::ZERO;
    for t in prepared().await {
        let before = snapshot(&t.db).await;
        let seen = Seen::default();
        let started = Instant::now();
        let e = parse_error(import::run(&t.db, &req, &seen).await);
        slowest = slowest.max(started.elapsed());
        if stage == Stage::Run {
            assert!(
                seen.0.load(Ordering::SeqCst) >= 2,
                "the good segment was written before the failure"
            );
        }
        assert_eq!(
            snapshot(&t.db).await,
            before,
            "data changed after «{e}» on {}",
            t.url
        );
        assert_eq!(product_name(&t.db, NEW_PRODUCT).await, None);
        errors.push(e);
        t.drop_db().await;
    }
    Failure {
        dir,
        bad,
        errors,
        slowest,
    }
}

// ---------------------------------------------------------------------------------------------
// Empty and not-XML files
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_whitespace_only_file_is_an_error_naming_it() {
    let failure = broken_catalog_fails("blank", "\n   \n\t\n", Stage::Plan).await;
    failure.check_each(None, None, "файл пуст", |e, _| {
        assert!(matches!(e.kind(), commerceml::ErrorKind::Empty), "{e}");
    });
}

#[tokio::test]
async fn a_zero_byte_file_is_an_error_naming_it() {
    let failure = broken_catalog_fails("zero", "", Stage::Plan).await;
    failure.check_each(None, None, "файл пуст", |e, _| {
        assert!(matches!(e.kind(), commerceml::ErrorKind::Empty), "{e}");
    });
}

#[tokio::test]
async fn an_xml_declaration_without_a_root_is_an_empty_file() {
    let failure = broken_catalog_fails("decl_only", HEAD, Stage::Plan).await;
    failure.check(None, None, "файл пуст");
}

#[tokio::test]
async fn a_root_without_records_imports_nothing_from_that_file() {
    let (dir, _) = broken_catalog(
        "no_records",
        format!("{HEAD}{ROOT_OPEN}<Каталог><Товары/></Каталог></КоммерческаяИнформация>\n"),
    );
    for Imported {
        report,
        before,
        after,
        ..
    } in catalog_imports(&dir).await
    {
        assert_eq!(report.files, vec![GOOD_SEGMENT, BAD_SEGMENT]);
        assert_eq!(report.records, 2, "the two products of the good segment");
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        assert_eq!(after.stats.products_total, before.stats.products_total + 1);
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn plain_text_is_not_xml() {
    let failure = broken_catalog_fails(
        "text",
        "Выгрузка не удалась, повторите позже.\n",
        Stage::Plan,
    )
    .await;
    failure.check_each(Some(1), None, "это не XML-документ", |e, _| {
        assert!(matches!(e.kind(), commerceml::ErrorKind::NotXml), "{e}");
    });
}

#[tokio::test]
async fn a_zip_archive_named_xml_is_not_xml() {
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
    zip.extend((0..2000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let failure = broken_catalog_fails("zip", zip, Stage::Plan).await;
    failure.check_each(None, None, "это не XML-документ", |e, _| {
        assert!(matches!(e.kind(), commerceml::ErrorKind::NotXml), "{e}");
    });
}

// ---------------------------------------------------------------------------------------------
// Malformed XML
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_file_cut_in_the_middle_of_a_record_names_the_last_line_and_element() {
    let full = goods_file(&[
        product("cut00000-0000-4000-8000-000000000001", "Первый"),
        "<Ид>cut00000-0000-4000-8000-000000000002</Ид><Наименование>Второй</Наименование>\n\
         <Описание>Описание, которое обрывается"
            .to_owned(),
    ]);
    let cut = &full[..full.find("обрывается").unwrap()];
    let last_line = cut.matches('\n').count() as u64 + 1;
    assert_eq!(last_line, 7);
    let failure = broken_catalog_fails("truncated", cut, Stage::Run).await;
    failure.check_each(
        Some(last_line),
        Some("КоммерческаяИнформация/Каталог/Товары/Товар/Описание"),
        "файл обрывается посреди записи",
        |e, _| assert!(matches!(e.kind(), commerceml::ErrorKind::Truncated), "{e}"),
    );
}

#[tokio::test]
async fn a_wrong_root_element_is_named() {
    let failure = broken_catalog_fails(
        "wrong_root",
        format!("{HEAD}<html><body>502 Bad Gateway</body></html>\n"),
        Stage::Plan,
    )
    .await;
    failure.check_each(
        Some(2),
        Some("html"),
        "корневой элемент «html», ожидался «КоммерческаяИнформация»",
        |e, _| {
            assert!(
                matches!(e.kind(), commerceml::ErrorKind::WrongRoot(r) if r == "html"),
                "{e}"
            );
        },
    );
}

#[tokio::test]
async fn a_mismatched_closing_tag_is_named() {
    let body = goods_file(&[product("mm000000-0000-4000-8000-000000000001", "Товар")])
        .replace("</Артикул>", "</Артикл>");
    let failure = broken_catalog_fails("mismatch", body, Stage::Run).await;
    let explanation = "закрывающий тег «Артикл» не соответствует открытому «Артикул»";
    failure.check(Some(5), Some(&product_element("Артикул")), explanation);
}

#[tokio::test]
async fn content_after_the_root_is_an_error() {
    let mut body = goods_file(&[product("tc000000-0000-4000-8000-000000000001", "Товар")]);
    body.push_str("<КоммерческаяИнформация/>\n");
    let failure = broken_catalog_fails("trailing", body, Stage::Run).await;
    failure.check(
        Some(9),
        None,
        "данные после закрывающего тега корневого элемента",
    );
}

#[tokio::test]
async fn deep_nesting_is_refused_without_stack_overflow() {
    let depth = 5_000;
    let mut body = String::from("<Ид>deep0000-0000-4000-8000-000000000001</Ид><Описание>");
    body.push_str(&"<Вложение>".repeat(depth));
    body.push_str(&"</Вложение>".repeat(depth));
    body.push_str("</Описание>");
    let failure = broken_catalog_fails("deep", goods_file(&[body]), Stage::Run).await;
    failure.check_each(
        Some(5),
        Some("КоммерческаяИнформация/Каталог/Товары/Товар/Описание/Вложение"),
        "слишком глубокая вложенность элементов (больше 256)",
        |e, msg| {
            assert!(matches!(e.kind(), commerceml::ErrorKind::TooDeep), "{e}");
            assert!(msg.len() < 16 * 1024, "message of {} bytes", msg.len());
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Kinds and generations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_rests_file_inside_goods_is_read_as_rests() {
    let (own, warehouse) = own_offer();
    let dir = new_product_folder("rests_in_goods");
    write(
        &dir,
        BAD_SEGMENT,
        offers_file(&[rest(&own.id, &warehouse, "42")]),
    );
    for t in prepared().await {
        let before = stats::show_offer(&t.db, &own.id).await.unwrap().unwrap();
        assert_ne!(before.stock[&warehouse], d("42"));
        let report = run(&t.db, &catalog(&dir)).await.unwrap();
        assert_eq!(report.files, vec![GOOD_SEGMENT, BAD_SEGMENT]);
        assert_eq!(report.count(Counter::StockRows), 1, "{report:?}");
        let after = stats::show_offer(&t.db, &own.id).await.unwrap().unwrap();
        assert_eq!(after.stock[&warehouse], d("42"));
        // A goods-only import does not read it: its kind (rests) is not among the goods kinds.
        let mut goods_only = catalog(&dir);
        goods_only.file_type = FileType::Goods;
        let report = run(&t.db, &goods_only).await.unwrap();
        assert_eq!(report.files, vec![GOOD_SEGMENT]);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_2x_file_among_3x_files_is_read_by_its_own_rules() {
    let dir = new_product_folder("mixed_2x");
    let id_2x = "bad0bad0-0000-4000-8000-000000000002";
    write(
        &dir,
        "import.xml",
        format!(
            "{HEAD}<КоммерческаяИнформация ВерсияСхемы=\"2.08\" ДатаФормирования=\"2026-11-25\">\n\
             <Каталог><Ид>c2</Ид><Наименование>Каталог 2.x</Наименование><Товары>\n\
             <Товар><Ид>{id_2x}</Ид><Наименование>Товар из 2.x</Наименование>\
             <БазоваяЕдиница Код=\"796 \">шт</БазоваяЕдиница></Товар>\n\
             </Товары></Каталог></КоммерческаяИнформация>\n"
        ),
    );
    for t in prepared().await {
        let before = snapshot(&t.db).await;
        let report = run(&t.db, &catalog(&dir)).await.unwrap();
        // Import order by kind: the 2.x import (classifier + catalog) before 3.x goods.
        assert_eq!(report.files, vec!["import.xml", GOOD_SEGMENT]);
        assert_eq!(report.count(Counter::Products), 2);
        assert_eq!(
            product_name(&t.db, id_2x).await.as_deref(),
            Some("Товар из 2.x")
        );
        assert_eq!(product_row(&t.db, id_2x).await.unit.as_deref(), Some("796"));
        assert_eq!(
            snapshot(&t.db).await.stats.products_total,
            before.stats.products_total + 2
        );
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------------------------

const CYRILLIC_NAME: &str = "Ёлочная игрушка «Шар» №5, ёж и Щука";

async fn cyrillic_lands(tag: &str, bytes: Vec<u8>) {
    let dir = temp_dir(tag);
    write(&dir, GOOD_SEGMENT, bytes);
    for t in prepared().await {
        let report = run(&t.db, &catalog(&dir)).await.unwrap();
        assert_eq!(report.records, 1);
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        let row = product_row(&t.db, NEW_PRODUCT).await;
        assert_eq!(row.name, CYRILLIC_NAME);
        assert_eq!(
            row.description.as_deref(),
            Some("Описание: <b>жирный</b> & «кавычки»")
        );
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

fn cyrillic_goods(declaration: &str) -> String {
    goods_file(&[format!(
        "<Ид>{NEW_PRODUCT}</Ид><Наименование>{CYRILLIC_NAME}</Наименование>\
         <Описание>Описание: &lt;b&gt;жирный&lt;/b&gt; &amp; «кавычки»</Описание>"
    )])
    .replacen(HEAD, declaration, 1)
}

/// windows-1251 for the characters these tests use.
fn to_cp1251(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii() => c as u8,
            'А'..='я' => (c as u32 - 'А' as u32 + 0xC0) as u8,
            'Ё' => 0xA8,
            'ё' => 0xB8,
            '«' => 0xAB,
            '»' => 0xBB,
            '№' => 0xB9,
            other => panic!("{other} not in the test's windows-1251 table"),
        })
        .collect()
}

#[tokio::test]
async fn utf8_with_bom_lands_exactly() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(cyrillic_goods(HEAD).into_bytes());
    cyrillic_lands("bom", bytes).await;
}

#[tokio::test]
async fn utf8_without_bom_lands_exactly() {
    cyrillic_lands("no_bom", cyrillic_goods(HEAD).into_bytes()).await;
}

#[tokio::test]
async fn declared_windows_1251_lands_exactly() {
    let text = cyrillic_goods("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n");
    let bytes = to_cp1251(&text);
    assert!(std::str::from_utf8(&bytes).is_err(), "really not UTF-8");
    cyrillic_lands("cp1251", bytes).await;
}

#[tokio::test]
async fn undeclared_windows_1251_is_an_encoding_error_with_its_position() {
    // 1C wrote windows-1251 but the file declares nothing (so UTF-8): the first product is ASCII,
    // the second one's name is windows-1251.
    let text = goods_file(&[
        product("enc00000-0000-4000-8000-000000000001", "Plain ASCII"),
        "<Ид>enc00000-0000-4000-8000-000000000002</Ид><Наименование>Шапка</Наименование>"
            .to_owned(),
    ])
    .replace(HEAD, "<?xml version=\"1.0\"?>\n");
    let split = text.find("Шапка").unwrap();
    let mut bytes = text.as_bytes()[..split].to_vec();
    bytes.extend(to_cp1251("Шапка"));
    bytes.extend(&text.as_bytes()[split + "Шапка".len()..]);
    let failure = broken_catalog_fails("undeclared", bytes, Stage::Run).await;
    failure.check_each(
        Some(6),
        Some("КоммерческаяИнформация/Каталог/Товары/Товар/Наименование"),
        "недопустимые байты для кодировки UTF-8",
        |e, _| {
            assert!(
                matches!(e.kind(), commerceml::ErrorKind::Encoding(_)),
                "{e}"
            );
            // Placed just after the bad bytes (the end of the text they are in).
            let end_of_bad = (split + "Шапка".chars().count()) as u64;
            assert_eq!(e.byte, end_of_bad, "{e}");
            assert!(
                e.to_string().ends_with(&format!("(байт {end_of_bad})")),
                "{e}"
            );
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Entities and DTDs
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_billion_laughs_dtd_is_refused_unexpanded() {
    let mut dtd = String::from("<!DOCTYPE КоммерческаяИнформация [\n<!ENTITY lol \"lol\">\n");
    for i in 1..=9 {
        let prev = if i == 1 {
            "lol".to_owned()
        } else {
            format!("lol{}", i - 1)
        };
        dtd.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    dtd.push_str("]>\n");
    let body =
        goods_file(&[product(NEW_PRODUCT, "&lol9;")]).replacen(HEAD, &format!("{HEAD}{dtd}"), 1);
    let failure = broken_catalog_fails("laughs", body, Stage::Plan).await;
    failure.check_each(
        Some(2),
        None,
        "объявление <!DOCTYPE> (DTD) не допускается",
        |e, _| assert!(matches!(e.kind(), commerceml::ErrorKind::Doctype), "{e}"),
    );
    // Refused at the `<!DOCTYPE`: an expansion (10^9 "lol", gigabytes) would take far longer.
    let slowest = failure.slowest;
    assert!(slowest < Duration::from_secs(5), "{slowest:?}");
    let started = Instant::now();
    let e = commerceml::open_file(&failure.bad).unwrap_err();
    assert!(matches!(e.kind(), commerceml::ErrorKind::Doctype), "{e}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn an_external_entity_is_refused_and_never_fetched() {
    let body = goods_file(&[product(NEW_PRODUCT, "&xxe;")]).replacen(
        HEAD,
        &format!(
            "{HEAD}<!DOCTYPE КоммерческаяИнформация [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
        ),
        1,
    );
    let failure = broken_catalog_fails("xxe", body, Stage::Plan).await;
    failure.check_each(
        Some(2),
        None,
        "сущности не раскрываются",
        |e, msg| {
            assert!(matches!(e.kind(), commerceml::ErrorKind::Doctype), "{e}");
            assert!(!msg.contains("root:"), "{msg}");
        },
    );
}

#[tokio::test]
async fn an_undeclared_entity_reference_is_an_error() {
    let body = goods_file(&[product(NEW_PRODUCT, "До &xxe; после")]);
    let failure = broken_catalog_fails("undeclared_entity", body, Stage::Run).await;
    let explanation = "неизвестная сущность «&xxe;» (DTD не поддерживается)";
    failure.check(Some(5), Some(&product_element("Наименование")), explanation);
}

// ---------------------------------------------------------------------------------------------
// Size
// ---------------------------------------------------------------------------------------------

/// Serializes the memory-hungry cases so that one's allocations do not count as the other's.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `VmRSS` / `VmHWM` of this process, in KiB.
fn proc_status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

/// Runs `work` with the peak RSS reset to the current size (Linux ≥ 4.0): its output, how long
/// it took and how far (KiB) the peak rose above the size before it.
async fn measured<T>(work: impl std::future::Future<Output = T>) -> (T, Duration, u64) {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let rss_before = proc_status("VmRSS");
    let started = Instant::now();
    let out = work.await;
    let elapsed = started.elapsed();
    let growth_kib = proc_status("VmHWM").saturating_sub(rss_before);
    (out, elapsed, growth_kib)
}

#[tokio::test]
async fn a_large_file_is_streamed_in_bounded_memory() {
    use std::io::Write;
    const TARGET: u64 = 64 * 1024 * 1024;
    let (own, warehouse) = own_offer();
    let dir = temp_dir("large");
    let path = dir.join("rests/rests.xml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let frame = offers_file(&["@".to_owned()]);
    let (open, close) = frame.split_once("<Предложение>@</Предложение>\n").unwrap();
    out.write_all(open.as_bytes()).unwrap();
    let mut written = open.len() as u64;
    let mut unknown = 0u64;
    // Records of ~1 KB (a long name), so that the test is about bytes more than records.
    let name = "Длинное наименование предложения для проверки потокового чтения; ".repeat(8);
    while written < TARGET {
        let id = format!("00000000-ffff-4000-8000-{unknown:012}");
        let line = format!(
            "<Предложение><Наименование>{name}</Наименование>{}</Предложение>\n",
            rest(&id, &warehouse, "1")
        );
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        unknown += 1;
    }
    // The last record is a known offer: the import read the file to its end.
    let last = format!(
        "<Предложение>{}</Предложение>\n",
        rest(&own.id, &warehouse, "77")
    );
    out.write_all(last.as_bytes()).unwrap();
    out.write_all(close.as_bytes()).unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size >= TARGET, "{size}");

    for t in prepared().await {
        let _heavy = HEAVY.lock().await;
        let before = snapshot(&t.db).await;
        let (report, elapsed, growth_kib) =
            measured(run(&t.db, &request(ImportKind::Stocks, &dir))).await;
        let report = report.unwrap();
        eprintln!(
            "{}: {} MB in {elapsed:?}, peak RSS growth {} MB",
            t.url,
            size / 1024 / 1024,
            growth_kib / 1024
        );
        assert!(
            growth_kib < 32 * 1024,
            "peak RSS grew by {} MB reading a {} MB file",
            growth_kib / 1024,
            size / 1024 / 1024
        );
        assert_eq!(report.records, unknown + 1);
        assert_eq!(report.skipped(SkipReason::UnknownOffer), unknown);
        assert_eq!(report.count(Counter::StockRows), 1);
        let after = snapshot(&t.db).await;
        assert_eq!(after.stats.stock_rows, before.stats.stock_rows);
        let offer = stats::show_offer(&t.db, &own.id).await.unwrap().unwrap();
        assert_eq!(offer.stock[&warehouse], d("77"));
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_five_megabyte_description_imports_whole() {
    let mut description = "Очень длинное описание товара. ".repeat(5 * 1024 * 1024 / 57 + 1);
    description.push_str("Конец.");
    assert!(description.len() >= 5 * 1024 * 1024);
    let dir = temp_dir("huge_text");
    write(
        &dir,
        GOOD_SEGMENT,
        goods_file(&[format!(
            "{}<Описание>{description}</Описание>",
            product(NEW_PRODUCT, "Товар с длинным описанием")
        )]),
    );
    for t in prepared().await {
        let _heavy = HEAVY.lock().await;
        let report = run(&t.db, &catalog(&dir)).await.unwrap();
        assert_eq!(report.records, 1);
        let row = product_row(&t.db, NEW_PRODUCT).await;
        assert_eq!(
            row.description.as_deref().map(str::len),
            Some(description.len())
        );
        assert!(row.description.as_deref() == Some(description.as_str()));
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Records the reader skips or merges
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn records_without_an_id_are_counted_and_the_rest_imported() {
    let records = [
        product(NEW_PRODUCT, "С Ид"),
        product("", "Пустой Ид"),
        product("00000000-0000-0000-0000-000000000000", "Нулевой Ид"),
        "<Наименование>Без Ид вовсе</Наименование>".to_owned(),
    ];
    for i in one_segment_imports("missing_id", &records).await {
        assert_skipped_only(&i.report, SkipReason::MissingId, 3);
        assert_eq!(i.report.records, 1);
        i.assert_added_new_product("С Ид");
    }
}

#[tokio::test]
async fn the_same_id_twice_in_one_file_the_last_wins() {
    let records = [
        product(NEW_PRODUCT, "Первая версия"),
        product(NEW_PRODUCT, "Вторая версия"),
    ];
    for i in one_segment_imports("same_id", &records).await {
        assert!(i.report.skipped.is_empty(), "{:?}", i.report.skipped);
        assert_eq!(i.report.records, 2, "both records are read");
        assert_eq!(
            i.report.count(Counter::Products),
            1,
            "one product is written"
        );
        i.assert_added_new_product("Вторая версия");
    }
}

#[tokio::test]
async fn an_unknown_price_type_is_skipped_and_counted() {
    let variant = base().sum.example_variant.clone().unwrap();
    let known = variant.prices[0].0.clone();
    let dir = prices_folder(
        "unknown_price_type",
        &variant.id,
        &[price(&known, "555.5"), price("no-such-price-type", "10")],
    );
    for t in prepared().await {
        let report = import_ok(&t.db, ImportKind::Prices, &dir).await;
        assert_skipped_only(&report, SkipReason::UnknownPriceType, 1);
        assert_eq!(report.count(Counter::Prices), 1);
        let offer = stats::show_offer(&t.db, &variant.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(offer.prices[&known], d("555.5"));
        assert!(!offer.prices.contains_key("no-such-price-type"));
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

/// A successful catalog import on one backend.
struct Imported {
    report: ImportReport,
    before: Snapshot,
    after: Snapshot,
    /// The name of [`NEW_PRODUCT`] after the import.
    new_product: Option<String>,
}

impl Imported {
    /// The import added one product: [`NEW_PRODUCT`], named `name`.
    fn assert_added_new_product(&self, name: &str) {
        assert_eq!(self.new_product.as_deref(), Some(name));
        assert_eq!(
            self.after.stats.products_total,
            self.before.stats.products_total + 1
        );
    }
}

/// A catalog import of `dir` on each backend, which must succeed.
async fn catalog_imports(dir: &Path) -> Vec<Imported> {
    let mut out = Vec::new();
    for t in prepared().await {
        let before = snapshot(&t.db).await;
        let report = run(&t.db, &catalog(dir)).await.unwrap();
        let new_product = product_name(&t.db, NEW_PRODUCT).await;
        let after = snapshot(&t.db).await;
        out.push(Imported {
            report,
            before,
            after,
            new_product,
        });
        t.drop_db().await;
    }
    out
}

/// A catalog import of a folder with one goods segment holding `records`, on each backend.
async fn one_segment_imports(tag: &str, records: &[String]) -> Vec<Imported> {
    let dir = temp_dir(tag);
    write(&dir, GOOD_SEGMENT, goods_file(records));
    catalog_imports(&dir).await
}

/// A stocks import of one rest of the example own offer: returns the report and the offer's
/// stock at that warehouse before and after, per backend.
async fn one_rest(tag: &str, qty: &str) -> Vec<(ImportReport, Decimal, Decimal)> {
    let (own, warehouse) = own_offer();
    let dir = offers_folder(tag, "rests/rests.xml", &[rest(&own.id, &warehouse, qty)]);
    let mut out = Vec::new();
    for t in prepared().await {
        let before = stats::show_offer(&t.db, &own.id).await.unwrap().unwrap();
        let report = import_ok(&t.db, ImportKind::Stocks, &dir).await;
        let after = stats::show_offer(&t.db, &own.id).await.unwrap().unwrap();
        out.push((report, before.stock[&warehouse], after.stock[&warehouse]));
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
    out
}

#[tokio::test]
async fn a_negative_quantity_is_stored_as_is() {
    for (report, _, after) in one_rest("negative", "-3.5").await {
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        assert_eq!(report.count(Counter::StockRows), 1);
        assert_eq!(after, d("-3.5"));
    }
}

/// A quantity the reader cannot take: counted under `reason`, no stock row written, the
/// stored stock kept.
async fn quantity_skipped(tag: &str, qty: &str, reason: SkipReason) {
    for (report, before, after) in one_rest(tag, qty).await {
        assert_skipped_only(&report, reason, 1);
        assert_eq!(report.count(Counter::StockRows), 0);
        assert_eq!(after, before);
    }
}

case_tests! {
    an_empty_quantity_is_counted_and_the_stock_kept =>
        quantity_skipped("empty_qty", "", SkipReason::EmptyNumber);
    a_non_numeric_quantity_is_counted_and_the_stock_kept =>
        quantity_skipped("bad_qty", "много", SkipReason::BadNumber);
}

#[tokio::test]
async fn a_price_with_a_decimal_comma_and_no_break_spaces_is_exact() {
    let (own, _) = own_offer();
    let type_id = own.prices[0].0.clone();
    let dir = prices_folder("nbsp", &own.id, &[price(&type_id, "1\u{a0}234,50")]);
    for t in prepared().await {
        let report = import_ok(&t.db, ImportKind::Prices, &dir).await;
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        let offer = stats::show_offer(&t.db, &own.id).await.unwrap().unwrap();
        assert_eq!(offer.prices[&type_id], Decimal::new(123450, 2));
        let row = prices::Entity::find().all(&t.db).await.unwrap();
        assert!(row.iter().any(|p| p.price_e4 == 12_345_000));
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Partial packages
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn offers_of_an_unknown_product_are_skipped_and_counted() {
    let variant = base().sum.example_variant.clone().unwrap();
    let dir = offers_folder(
        "unknown_product",
        "offers/offers.xml",
        &[
            format!(
                "<Ид>{}</Ид><Наименование>Известное</Наименование>",
                variant.id
            ),
            "<Ид>bad0bad0-0000-4000-8000-0000000000ff#c1</Ид><Наименование>Сирота</Наименование>"
                .to_owned(),
        ],
    );
    for t in prepared().await {
        let before = snapshot(&t.db).await;
        let mut req = catalog(&dir);
        req.file_type = FileType::Offers;
        let report = run(&t.db, &req).await.unwrap();
        assert_skipped_only(&report, SkipReason::UnknownProduct, 1);
        assert_eq!(report.count(Counter::Offers), 1);
        let after = snapshot(&t.db).await;
        assert_eq!(after.stats.variants, before.stats.variants);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn rests_for_unknown_offers_are_skipped_and_counted() {
    let (own, warehouse) = own_offer();
    let unknown_characteristic = format!("{}#no-such-characteristic", own.id);
    let dir = offers_folder(
        "unknown_offer",
        "rests/rests.xml",
        &[
            rest(&own.id, &warehouse, "5"),
            rest("bad0bad0-0000-4000-8000-0000000000fe", &warehouse, "1"),
            rest(&unknown_characteristic, &warehouse, "1"),
        ],
    );
    for t in prepared().await {
        let before = snapshot(&t.db).await;
        let report = import_ok(&t.db, ImportKind::Stocks, &dir).await;
        assert_skipped_only(&report, SkipReason::UnknownOffer, 2);
        assert_eq!(report.count(Counter::Offers), 1);
        let after = snapshot(&t.db).await;
        assert_eq!(after.stats.stock_rows, before.stats.stock_rows);
        assert_eq!(after.stats.products_total, before.stats.products_total);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------------
// The file system
// ---------------------------------------------------------------------------------------------

/// A valid second goods segment, for the cases that break it after discovery.
fn second_segment() -> String {
    goods_file(&[product(
        "vv000000-0000-4000-8000-000000000001",
        "Второй сегмент",
    )])
}

async fn vanishing_segment(tag: &str, into_directory: bool, explanation: &str) {
    let good = second_segment();
    let dir = temp_dir(tag);
    for t in prepared().await {
        let dir_t = dir.join(t.url.split(':').next().unwrap());
        let bad = write_segments(&dir_t, &good);
        let req = catalog(&dir_t);
        assert_eq!(import::plan(&req).unwrap().len(), 2);
        let before = snapshot(&t.db).await;
        let sabotage = Swap {
            victim: bad.clone(),
            with: if into_directory {
                Replacement::Directory
            } else {
                Replacement::Nothing
            },
            done: AtomicBool::new(false),
        };
        let e = parse_error(import::run(&t.db, &req, &sabotage).await);
        assert!(sabotage.done.load(Ordering::SeqCst));
        assert!(matches!(e.kind(), commerceml::ErrorKind::Io(_)), "{e}");
        check_error(&e, &dir_t, &bad, None, None, explanation);
        assert_eq!(snapshot(&t.db).await, before, "data changed after «{e}»");
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

case_tests! {
    a_segment_deleted_after_planning_fails_naming_it =>
        vanishing_segment("vanish", false, "файл не найден");
    a_segment_replaced_by_a_directory_after_planning_fails_naming_it =>
        vanishing_segment("dir_swap", true, "это каталог, а не файл");
}

#[tokio::test]
async fn symlinks_out_of_the_data_folder_are_not_followed() {
    let (own, _) = own_offer();
    let outside = offers_folder("outside", "rests/rests.xml", &[rest(&own.id, "w", "9")]);
    let secret = "bad0bad0-0000-4000-8000-0000000000ee";
    write(
        &outside,
        "goods/goods.xml",
        goods_file(&[product(secret, "Чужой товар")]),
    );
    let dir = new_product_folder("symlink");
    std::os::unix::fs::symlink(
        outside.join("goods/goods.xml"),
        dir.join("goods/linked.xml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.join("goods"), dir.join("linked_goods")).unwrap();
    std::os::unix::fs::symlink(outside.join("rests"), dir.join("rests")).unwrap();
    for t in prepared().await {
        // Discovery skips both links: only the real segment is read.
        let report = run(&t.db, &catalog(&dir)).await.unwrap();
        assert_eq!(report.files, vec![GOOD_SEGMENT]);
        assert_eq!(product_name(&t.db, secret).await, None);
        // Naming the link as `file` is refused before anything is read.
        let before = snapshot(&t.db).await;
        let mut req = request(ImportKind::Stocks, &dir);
        req.file = Some(PathBuf::from("rests/rests.xml"));
        let msg = missing_files(run(&t.db, &req).await);
        assert!(msg.contains("вне каталога выгрузки"), "{msg}");
        assert!(
            msg.contains(&dir.join("rests/rests.xml").display().to_string()),
            "{msg}"
        );
        assert_russian(&msg, &dir);
        let msg = missing_files(import::plan(&req));
        assert!(msg.contains("символических ссылок"), "{msg}");
        assert_eq!(snapshot(&t.db).await, before);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_dir_all(outside).ok();
}

#[tokio::test]
async fn a_file_with_dot_dot_out_of_the_data_folder_is_refused() {
    let root = temp_dir("dotdot");
    let (own, _) = own_offer();
    write(
        &root,
        "elsewhere/rests.xml",
        offers_file(&[rest(&own.id, "w", "9")]),
    );
    let dir = root.join("data");
    write(
        &dir,
        "rests/rests.xml",
        offers_file(&[rest(&own.id, "w", "1")]),
    );
    for t in prepared().await {
        let before = snapshot(&t.db).await;
        for file in [
            PathBuf::from("../elsewhere/rests.xml"),
            PathBuf::from("rests/../../elsewhere/rests.xml"),
            root.join("elsewhere/rests.xml"),
        ] {
            let mut req = request(ImportKind::Stocks, &dir);
            req.file = Some(file.clone());
            let msg = missing_files(run(&t.db, &req).await);
            assert!(msg.contains("вне каталога выгрузки"), "{file:?}: {msg}");
            assert!(msg.contains("rests.xml"), "{msg}");
            assert_russian(&msg, &root);
        }
        assert_eq!(snapshot(&t.db).await, before);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn a_folder_without_1c_files_is_missing_files_naming_the_folder() {
    let dir = temp_dir("no_files");
    write(&dir, "readme.txt", "Здесь будет выгрузка");
    write(
        &dir,
        "notes.xml",
        format!("{HEAD}<notes>не выгрузка</notes>\n"),
    );
    std::fs::create_dir_all(dir.join("goods")).unwrap();
    for t in prepared().await {
        let before = snapshot(&t.db).await;
        let msg = missing_files(run(&t.db, &catalog(&dir)).await);
        assert_eq!(
            msg,
            format!(
                "Файл каталога не найден: {}. Убедитесь, что данные из 1С выгружены в {}",
                dir.join("goods").display(),
                dir.display()
            )
        );
        let msg = missing_files(run(&t.db, &request(ImportKind::Stocks, &dir)).await);
        assert!(msg.starts_with("Файл остатков не найден: "), "{msg}");
        assert!(
            msg.contains(&dir.join("rests").display().to_string()),
            "{msg}"
        );
        assert_eq!(snapshot(&t.db).await, before);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_broken_file_fails_only_the_imports_that_read_it() {
    let (own, warehouse) = own_offer();
    let rests_file = "rests/rests.xml";
    let dir = offers_folder(
        "only_readers",
        rests_file,
        &[rest(&own.id, &warehouse, "8")],
    );
    let goods = write(&dir, "goods/goods.xml", "");
    let rests = dir.join(rests_file);
    for t in prepared().await {
        // A stocks import does not read goods: the empty goods file does not concern it.
        let report = import_ok(&t.db, ImportKind::Stocks, &dir).await;
        assert_eq!(report.files, vec!["rests/rests.xml"]);
        // The catalog import would read it: refused before anything is written.
        let before = snapshot(&t.db).await;
        let e = parse_error(run(&t.db, &catalog(&dir)).await);
        check_error(&e, &dir, &goods, None, None, "файл пуст");
        // The only rests file broken: its own error, not «Файл остатков не найден».
        std::fs::write(&rests, "").unwrap();
        let e = parse_error(run(&t.db, &request(ImportKind::Stocks, &dir)).await);
        check_error(&e, &dir, &rests, None, None, "файл пуст");
        assert_eq!(snapshot(&t.db).await, before);
        std::fs::write(&rests, offers_file(&[rest(&own.id, &warehouse, "8")])).unwrap();
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Hostile files: one huge event, a file swapped after discovery, a FIFO, a slow discovery
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_gigabyte_text_node_is_refused_in_bounded_memory() {
    use std::io::Write;
    // A goods segment whose one description is 1 GB, written in 1 MB chunks (never held).
    let (dir, bad) = broken_catalog("gigabyte", "");
    let frame = goods_file(&[format!(
        "{}<Описание>@</Описание>",
        product("bad0bad0-0000-4000-8000-0000000000b1", "Огромный товар")
    )]);
    let (open, close) = frame.split_once('@').unwrap();
    let line = 1 + open.matches('\n').count() as u64;
    let mut out = std::io::BufWriter::new(std::fs::File::create(&bad).unwrap());
    out.write_all(open.as_bytes()).unwrap();
    let chunk = "текст ".repeat(1024 * 1024 / 11);
    let mut written = 0u64;
    while written < 1 << 30 {
        out.write_all(chunk.as_bytes()).unwrap();
        written += chunk.len() as u64;
    }
    out.write_all(close.as_bytes()).unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    assert!(std::fs::metadata(&bad).unwrap().len() > 1 << 30);
    assert_eq!(import::plan(&catalog(&dir)).unwrap().len(), 2);

    for t in prepared().await {
        let _heavy = HEAVY.lock().await;
        let before = snapshot(&t.db).await;
        let (result, elapsed, growth_kib) = measured(run(&t.db, &catalog(&dir))).await;
        let e = parse_error(result);
        eprintln!(
            "{}: refused in {elapsed:?}, peak RSS growth {} MB: {e}",
            t.url,
            growth_kib / 1024
        );
        assert!(
            matches!(e.kind(), commerceml::ErrorKind::EventTooLarge),
            "{e}"
        );
        check_error(
            &e,
            &dir,
            &bad,
            Some(line),
            Some("КоммерческаяИнформация/Каталог/Товары/Товар/Описание"),
            "текст, комментарий или тег длиннее 16 МБ",
        );
        assert!(
            growth_kib < 64 * 1024,
            "peak RSS grew by {} MB on a 1 GB text node",
            growth_kib / 1024
        );
        assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
        assert_eq!(snapshot(&t.db).await, before, "data changed after «{e}»");
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}

/// What is put in place of a planned file once the import has started.
#[derive(Clone, Debug)]
enum Replacement {
    /// A symbolic link to this file.
    Symlink(PathBuf),
    /// This file, renamed over it (another inode).
    OtherFile(PathBuf),
    /// A named pipe nobody writes to.
    Fifo,
    /// Nothing: the file is deleted.
    Nothing,
    /// An empty directory.
    Directory,
}

fn replace(victim: &Path, with: &Replacement) {
    std::fs::remove_file(victim).unwrap();
    match with {
        Replacement::Symlink(target) => std::os::unix::fs::symlink(target, victim).unwrap(),
        Replacement::OtherFile(other) => std::fs::rename(other, victim).unwrap(),
        Replacement::Fifo => {
            let ok = std::process::Command::new("mkfifo")
                .arg(victim)
                .status()
                .unwrap()
                .success();
            assert!(ok, "mkfifo {}", victim.display());
        }
        Replacement::Nothing => {}
        Replacement::Directory => std::fs::create_dir(victim).unwrap(),
    }
}

/// Replaces (or deletes) a planned file as soon as the import reports its start (after its
/// `plan()`, before any file is read).
struct Swap {
    victim: PathBuf,
    with: Replacement,
    done: AtomicBool,
}

impl Progress for Swap {
    fn report(&self, _records: u64, _bytes_read: u64, _bytes_total: u64) {
        if !self.done.swap(true, Ordering::SeqCst) {
            replace(&self.victim, &self.with);
        }
    }
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// A catalog import whose second segment is replaced after discovery checked it: it must fail
/// quickly with a parse error naming that file and `explanation`, and change nothing.
async fn swapped_segment(tag: &str, with: impl Fn(&Path) -> Replacement, explanation: &str) {
    let outside = temp_dir(&format!("{tag}_outside"));
    let intruder = "bad0bad0-0000-4000-8000-0000000000ff";
    let intruder_goods = goods_file(&[product(intruder, "Подменённый товар")]);
    for t in prepared().await {
        let dir = temp_dir(tag);
        let bad = write_segments(&dir, second_segment());
        let other = write(&outside, "goods/goods.xml", &intruder_goods);
        let req = catalog(&dir);
        assert_eq!(import::plan(&req).unwrap().len(), 2);
        let before = snapshot(&t.db).await;
        let swap = Swap {
            victim: bad.clone(),
            with: with(&other),
            done: AtomicBool::new(false),
        };
        let started = Instant::now();
        // Before the fix a FIFO blocked the reader for good: bounded here, so that shows as a
        // failure rather than a hang.
        let result = tokio::time::timeout(Duration::from_secs(30), import::run(&t.db, &req, &swap))
            .await
            .unwrap_or_else(|_| panic!("{tag}: the import hangs on the replaced file"));
        let elapsed = started.elapsed();
        assert!(swap.done.load(Ordering::SeqCst));
        let e = parse_error(result);
        check_error(&e, &dir, &bad, None, None, explanation);
        assert!(elapsed < Duration::from_secs(10), "{tag}: {elapsed:?}");
        assert_eq!(product_name(&t.db, intruder).await, None);
        assert_eq!(snapshot(&t.db).await, before, "data changed after «{e}»");
        t.drop_db().await;
        std::fs::remove_dir_all(dir).ok();
    }
    std::fs::remove_dir_all(outside).ok();
}

case_tests! {
    a_segment_swapped_for_a_symlink_after_discovery_is_refused => swapped_segment(
        "swap_link",
        |other| Replacement::Symlink(other.to_path_buf()),
        "это символическая ссылка: ссылки в каталоге выгрузки не читаются",
    );
    a_segment_swapped_for_another_file_after_discovery_is_refused => swapped_segment(
        "swap_file",
        |other| Replacement::OtherFile(other.to_path_buf()),
        "файл заменён после проверки каталога выгрузки",
    );
    a_segment_swapped_for_a_fifo_fails_at_once =>
        swapped_segment("swap_fifo", |_| Replacement::Fifo, "это не обычный файл (канал, устройство или сокет)");
}

fn redis_client() -> engine::redis::Client {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    engine::redis::Client::open(url).expect("redis url")
}

fn runner(t: &TestDb, dir: &Path) -> engine::run::Runner {
    engine::run::Runner::new(t.db.clone(), redis_client(), Some(dir.to_path_buf()))
        .with_prefix(&format!("test-bad-input-{}", uuid::Uuid::new_v4()))
}

async fn lock_value(runner: &engine::run::Runner) -> Option<String> {
    use engine::redis::AsyncCommands;
    let mut conn = redis_client()
        .get_multiplexed_async_connection()
        .await
        .expect("Redis at 127.0.0.1:6379 is required for these tests");
    conn.get(runner.keys().lock()).await.unwrap()
}

#[tokio::test]
async fn a_fifo_in_place_of_a_segment_fails_the_run_and_frees_the_lock() {
    // A first segment large enough to be still importing when the second one is swapped:
    // several progress intervals long even on an idle machine (20 000 products were imported
    // within one interval there, and the run read the second segment before the swap).
    let products: Vec<String> = (0..80_000)
        .map(|i| product(&format!("f1f0f1f0-0000-4000-8000-{i:012}"), "Товар"))
        .collect();
    for t in prepared().await {
        let dir = temp_dir("fifo_run");
        write(&dir, GOOD_SEGMENT, goods_file(&products));
        let bad = write(
            &dir,
            BAD_SEGMENT,
            goods_file(&[product(NEW_PRODUCT, "Второй сегмент")]),
        );
        let before = snapshot(&t.db).await;
        let runner = runner(&t, &dir);
        let mut handle = runner.start(start_request(&["catalog"])).await.unwrap();
        // Once records flow, the run has planned (the second segment is a checked regular
        // file) and reads the first segment: now the second becomes a FIFO.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = match tokio::time::timeout_at(deadline.into(), handle.updates.recv())
                .await
                .expect("progress within a minute")
            {
                Ok(state) => state,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("run updates: {e}"),
            };
            assert_ne!(
                state.phase,
                wire::RunPhase::Completed,
                "ended before the swap"
            );
            if state.kinds[0].processed > 0 {
                break;
            }
        }
        replace(&bad, &Replacement::Fifo);
        let started = Instant::now();
        let end = tokio::time::timeout(Duration::from_secs(60), handle.done)
            .await
            .expect("the run ends instead of hanging on the FIFO")
            .unwrap();
        eprintln!("{}: ended {:?} after the swap", t.url, started.elapsed());
        assert_eq!(end.phase, wire::RunPhase::Failed, "{:?}", end.message);
        let msg = end.message.clone().unwrap();
        assert!(
            msg.contains("это не обычный файл (канал, устройство или сокет)"),
            "{msg}"
        );
        assert!(msg.contains("goods_1_2_"), "{msg}");
        assert_eq!(lock_value(&runner).await, None, "lock released");
        assert_eq!(snapshot(&t.db).await, before);
        t.drop_db().await;
        std::fs::remove_dir_all(dir).ok();
    }
}

/// Writes `n` CommerceML files that discovery must read whole before it can tell (each is a
/// root holding only 1 MB of notes: no kind, so they are left out).
fn slow_to_discover(dir: &Path, from: usize, n: usize) {
    let notes = "<Заметка>медленно</Заметка>\n".repeat(1024 * 1024 / 46);
    for i in from..from + n {
        write(
            dir,
            &format!("extra/notes_{i}.xml"),
            format!("{HEAD}{ROOT_OPEN}{notes}</КоммерческаяИнформация>\n"),
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn discovery_runs_off_the_async_thread() {
    // One async thread: whatever blocks it stalls every other task (in the server: every
    // request). A folder whose discovery takes a second or more.
    let dir = new_product_folder("slow_plan");
    let mut files = 0;
    let plan_time = loop {
        slow_to_discover(&dir, files, 10.max(files));
        files += 10.max(files);
        let started = Instant::now();
        assert_eq!(import::plan(&catalog(&dir)).unwrap().len(), 1);
        let took = started.elapsed();
        if took >= Duration::from_secs(1) || files >= 320 {
            break took;
        }
    };
    for t in TestDb::each().await {
        let runner = runner(&t, &dir);
        // A task that should tick every 5 ms; it records its longest wait.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let ticker = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut longest = Duration::ZERO;
                let mut last = Instant::now();
                while !stop.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    longest = longest.max(last.elapsed());
                    last = Instant::now();
                }
                longest
            }
        });
        tokio::task::yield_now().await;
        let started = Instant::now();
        let handle = runner.start(start_request(&["catalog"])).await.unwrap();
        let start_time = started.elapsed();
        stop.store(true, Ordering::SeqCst);
        let longest = ticker.await.unwrap();
        eprintln!(
            "{}: plan {plan_time:?} ({files} files), start {start_time:?}, longest stall {longest:?}",
            t.url
        );
        assert!(
            start_time >= plan_time / 2,
            "start() did not read the folder"
        );
        assert!(
            longest < plan_time / 3,
            "the async thread stalled {longest:?} while start() planned for {start_time:?}"
        );
        let end = tokio::time::timeout(Duration::from_secs(120), handle.done)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(end.phase, wire::RunPhase::Completed, "{:?}", end.message);
        assert_eq!(lock_value(&runner).await, None);
        t.drop_db().await;
    }
    std::fs::remove_dir_all(dir).ok();
}
