//! Tests over the hand-made fixtures in `tests/documents/` (one per quirk,
//! see its README) and over the shared sample export when it is present.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design

use commerceml::{
    Customer, Decimal, ErrorKind, Group, Item, Kind, Offer, OfferId, Product, Property, Record,
    RecordReader, SkipReason, StockEntry, Unit, Warning, discover, open_file, sniff_kind,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;

fn doc(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/documents")
        .join(name)
}

struct Read {
    kind: Option<Kind>,
    records: Vec<Record>,
    warnings: Vec<Warning>,
    only_changes: bool,
    version: String,
}

fn read(name: &str) -> Read {
    let reader = open_file(&doc(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let kind = reader.kind();
    let header = reader.header().cloned().expect("header after open");
    let mut records = Vec::new();
    let mut warnings = Vec::new();
    for item in reader {
        match item.unwrap_or_else(|e| panic!("{name}: {e}")) {
            Item::Record(r) => records.push(r),
            Item::Warning(w) => warnings.push(w),
        }
    }
    Read {
        kind,
        records,
        warnings,
        only_changes: header.only_changes,
        version: header.schema_version,
    }
}

/// The error a file produces, from `open_file` or during iteration.
fn error_of(name: &str) -> commerceml::Error {
    match open_file(&doc(name)) {
        Err(e) => e,
        Ok(reader) => {
            for item in reader {
                if let Err(e) = item {
                    return e;
                }
            }
            panic!("{name}: expected an error")
        }
    }
}

fn products(r: &Read) -> Vec<&Product> {
    r.records
        .iter()
        .filter_map(|r| {
            if let Record::Product(p) = r {
                Some(p)
            } else {
                None
            }
        })
        .collect()
}

fn offers(r: &Read) -> Vec<&Offer> {
    r.records
        .iter()
        .filter_map(|r| {
            if let Record::Offer(o) = r {
                Some(o)
            } else {
                None
            }
        })
        .collect()
}

fn groups(r: &Read) -> Vec<&Group> {
    r.records
        .iter()
        .filter_map(|r| {
            if let Record::Group(g) = r {
                Some(g)
            } else {
                None
            }
        })
        .collect()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn reasons(r: &Read) -> Vec<&'static str> {
    r.warnings.iter().map(|w| w.reason.key()).collect()
}

fn check_full_product(p: &Product) {
    assert_eq!(p.id, "3d45e04e-e393-1895-a249-61dc18cbeef9");
    assert_eq!(p.sku.as_deref(), Some("ART-Ким"));
    assert_eq!(p.name, "Кимоно синее");
    assert_eq!(
        p.description.as_deref(),
        Some("Кимоно <br> для дома & зала №1")
    );
    assert_eq!(p.base_unit.as_deref(), Some("796"));
    assert_eq!(p.group_ids, vec!["e90794df-ed52-1241-b5b0-0a5436a80bdf"]);
    assert_eq!(p.barcode.as_deref(), Some("4600000000017"));
    assert_eq!(p.manufacturer.as_deref(), Some("Adidas"));
    assert_eq!(p.images.len(), 2);
    assert_eq!(
        p.properties,
        vec![
            (
                "prop-color".into(),
                "40244898-9f9f-1563-82ae-1988da1757a5".into()
            ),
            ("prop-weight".into(), "8,2".into()),
            ("prop-empty".into(), String::new()),
        ]
    );
    assert_eq!(
        p.requisites,
        vec![("ВидНоменклатуры".into(), "Товар".into())]
    );
    assert!(!p.deleted);
}

#[test]
fn utf8_with_and_without_bom_read_the_same() {
    let with = read("utf8_bom.xml");
    let without = read("utf8_no_bom.xml");
    assert_eq!(with.records, without.records);
    assert_eq!(with.kind, Some(Kind::Goods));
    assert!(with.only_changes);
    assert_eq!(with.version, "3.1");
    assert_eq!(products(&with).len(), 2);
    check_full_product(products(&with)[0]);
}

#[test]
fn utf16_with_bom() {
    let r = read("utf16_bom.xml");
    check_full_product(products(&r)[0]);
}

#[test]
fn without_namespace_and_with_prefix() {
    let reference = read("utf8_bom.xml").records;
    assert_eq!(read("no_namespace.xml").records, reference);
    assert_eq!(read("prefixed_namespace.xml").records, reference);
}

fn check_import_2x(r: &Read) {
    assert_eq!(r.kind, Some(Kind::Import2x));
    assert_eq!(r.version, "2.07");
    assert!(!r.only_changes);
    let g = groups(r);
    assert_eq!(g.len(), 2);
    assert_eq!(
        (g[0].id.as_str(), g[0].parent_id.as_deref()),
        ("g-root", None)
    );
    assert_eq!(
        (g[1].id.as_str(), g[1].parent_id.as_deref()),
        ("g-child", Some("g-root"))
    );
    assert_eq!(g[1].name, "Кимоно");
    let props: Vec<&Property> = r
        .records
        .iter()
        .filter_map(|r| {
            if let Record::Property(p) = r {
                Some(p)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(props.len(), 1);
    assert_eq!(props[0].values[0].value, "Белый");
    assert!(!props[0].for_offers);
    assert!(r.records.iter().any(|r| matches!(r, Record::PriceType(t) if t.id == "pt-retail" && t.currency.as_deref() == Some("RUB"))));
    assert!(
        r.records
            .iter()
            .any(|r| matches!(r, Record::Warehouse(w) if w.id == "wh-main"))
    );
    let p = products(r);
    assert_eq!(p.len(), 3);
    assert_eq!(
        p[0].base_unit.as_deref(),
        Some("796"),
        "Код attribute wins over the text"
    );
    assert_eq!(p[0].group_ids, vec!["g-child"]);
    assert!(!p[0].deleted, "Статус Новый");
    assert!(p[1].deleted, "Статус=Удален as attribute");
    assert!(p[2].deleted, "Статус Удален as element");
}

#[test]
fn pair_2x_import() {
    check_import_2x(&read("pair_2x/import0_1.xml"));
}

#[test]
fn windows_1251_import() {
    check_import_2x(&read("windows1251.xml"));
}

#[test]
fn pair_2x_offers_with_prices_and_stock() {
    let r = read("pair_2x/offers0_1.xml");
    assert_eq!(r.kind, Some(Kind::Offers2x));
    assert!(
        r.records
            .iter()
            .any(|r| matches!(r, Record::PriceType(t) if t.id == "pt-retail"))
    );
    assert_eq!(
        r.records
            .iter()
            .filter(|r| matches!(r, Record::Warehouse(_)))
            .count(),
        2
    );
    let o = offers(&r);
    assert_eq!(o.len(), 3);
    assert_eq!(o[0].id.to_string(), "p-kimono#c-red");
    assert_eq!(o[0].prices[0].value, dec("1990.00"));
    assert_eq!(
        o[0].prices[0].presentation.as_deref(),
        Some("1 990 руб. за шт")
    );
    assert_eq!(
        o[0].stock,
        vec![
            StockEntry {
                warehouse_id: Some("wh-main".into()),
                quantity: dec("5")
            },
            StockEntry {
                warehouse_id: Some("wh-2".into()),
                quantity: dec("2.5")
            },
        ],
        "per-warehouse attributes win over the total"
    );
    assert_eq!(
        o[1].stock,
        vec![StockEntry {
            warehouse_id: None,
            quantity: dec("3")
        }]
    );
    assert!(o[1].has_stock);
    assert!(o[2].deleted && !o[2].has_stock);
}

#[test]
fn per_warehouse_2x_stock_attributes() {
    let r = read("stock_2x_warehouses.xml");
    assert_eq!(r.kind, Some(Kind::Offers2x));
    let o = offers(&r);
    assert_eq!(o[0].stock.len(), 2);
    assert_eq!(o[0].stock[1].quantity, dec("1.5"));
    assert_eq!(
        o[1].stock,
        vec![StockEntry {
            warehouse_id: None,
            quantity: dec("4")
        }]
    );
    assert!(o[2].has_stock && o[2].stock.is_empty());
    assert_eq!(
        o[3].stock,
        vec![StockEntry {
            warehouse_id: None,
            quantity: dec("9")
        }],
        "zero GUID warehouse = none"
    );
    assert_eq!(reasons(&r), vec!["bad_number", "empty_number"]);
}

#[test]
fn bare_total_2x_quantity() {
    let r = read("stock_2x_total_only.xml");
    let o = offers(&r);
    assert_eq!(
        o[0].stock,
        vec![StockEntry {
            warehouse_id: None,
            quantity: dec("100")
        }]
    );
}

#[test]
fn rests_with_and_without_warehouse() {
    let r = read("rests_without_warehouse.xml");
    assert_eq!(r.kind, Some(Kind::Rests));
    let o = offers(&r);
    assert_eq!(
        o[0].stock,
        vec![StockEntry {
            warehouse_id: Some("afe17664-0307-184d-ba2d-aad027d0c0a4".into()),
            quantity: dec("5")
        }]
    );
    assert_eq!(
        o[1].stock,
        vec![StockEntry {
            warehouse_id: None,
            quantity: dec("12.000")
        }]
    );
    assert_eq!(reasons(&r), vec!["missing_warehouse_id"]);
}

#[test]
fn offer_ids() {
    let r = read("offer_ids.xml");
    assert_eq!(r.kind, Some(Kind::Prices));
    let ids: Vec<String> = offers(&r).iter().map(|o| o.id.to_string()).collect();
    let p2 = "8d3a57ef-c312-1f99-8995-65a20638d57b";
    assert_eq!(
        ids,
        vec![
            format!("{p2}#9f7cf852-b227-1ecd-a621-7f0ff555d68d"),
            "3d45e04e-e393-1895-a249-61dc18cbeef9".to_string(),
            p2.to_string(),
            p2.to_string(),
        ]
    );
    assert_eq!(reasons(&r), vec!["bad_offer_id"]);
    assert_eq!(
        r.warnings[0].detail,
        "#9f7cf852-b227-1ecd-a621-7f0ff555d68d"
    );
    assert_eq!(
        OfferId::parse("a#b"),
        Some(OfferId {
            product_id: "a".into(),
            characteristic_id: Some("b".into())
        })
    );
}

#[test]
fn numbers_with_nbsp_thousands_and_comma_decimals() {
    let r = read("numbers.xml");
    let o = offers(&r);
    let values: Vec<(String, Decimal)> = o[0]
        .prices
        .iter()
        .map(|p| (p.price_type_id.clone(), p.value))
        .collect();
    assert_eq!(
        values,
        vec![
            (
                "3102fad3-1bce-1a9b-9134-fab7866534cd".into(),
                dec("6990.50")
            ),
            ("pt-2".into(), dec("1234")),
            ("pt-3".into(), dec("1234567.125")),
        ]
    );
    assert_eq!(
        reasons(&r),
        vec![
            "bad_number",
            "empty_number",
            "empty_number",
            "missing_price_type"
        ]
    );
    let w = &r.warnings[0];
    assert_eq!(
        w.path,
        "КоммерческаяИнформация/ПакетПредложений/Предложения/Предложение"
    );
    assert_eq!(w.line, 8);
    assert!(w.file.as_ref().unwrap().ends_with("numbers.xml"));
    let text = w.to_string();
    assert!(text.starts_with("Файл "), "{text}");
    assert!(text.contains("строка 8, элемент КоммерческаяИнформация/ПакетПредложений/Предложения/Предложение: неверное число"), "{text}");
}

#[test]
fn not_filled_marker_is_empty() {
    let r = read("not_filled.xml");
    assert_eq!(r.kind, Some(Kind::Offers));
    let o = offers(&r);
    assert_eq!(
        o[0].characteristics,
        vec![
            ("Размер".into(), "XS".into()),
            ("Вес коробки (кг)".into(), String::new())
        ]
    );
    assert_eq!(
        o[0].properties,
        vec![
            ("prop-weight".into(), String::new()),
            ("prop-length".into(), "21,6".into())
        ]
    );
    assert!(!o[0].has_stock && o[0].prices.is_empty());
}

#[test]
fn deletion_marks() {
    let r = read("deletion_marks.xml");
    let p = products(&r);
    assert_eq!(
        p.iter().map(|p| p.deleted).collect::<Vec<_>>(),
        vec![false, true, false]
    );
    assert_eq!(reasons(&r), vec!["bad_boolean"]);
    let nested = read("groups_nested.xml");
    let g = groups(&nested);
    assert!(g.iter().find(|g| g.id == "g-a1").unwrap().deleted);
}

#[test]
fn nested_groups_come_parents_first() {
    let r = read("groups_nested.xml");
    assert_eq!(r.kind, Some(Kind::Groups));
    let g: Vec<(&str, Option<&str>)> = groups(&r)
        .iter()
        .map(|g| (g.id.as_str(), g.parent_id.as_deref()))
        .collect();
    assert_eq!(
        g,
        vec![
            ("g-a", None),
            ("g-a1", Some("g-a")),
            ("g-a1x", Some("g-a1")),
            ("g-a2", Some("g-a")),
            ("g-b", None),
        ]
    );
}

#[test]
fn missing_id_is_a_counted_warning() {
    let r = read("missing_id.xml");
    assert_eq!(products(&r).len(), 1);
    assert_eq!(reasons(&r), vec!["missing_id"; 3]);
    assert_eq!(r.warnings[0].detail, "Без Ид");
    assert_eq!(r.warnings[0].reason, SkipReason::MissingId);
    assert_eq!(
        r.warnings[0].path,
        "КоммерческаяИнформация/Каталог/Товары/Товар"
    );
    assert!(r.warnings[0].line > 1);
}

#[test]
fn padded_unit_codes_are_trimmed() {
    let r = read("units_padded.xml");
    assert_eq!(r.kind, Some(Kind::Units));
    let units: Vec<&Unit> = r
        .records
        .iter()
        .filter_map(|r| {
            if let Record::Unit(u) = r {
                Some(u)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(units.len(), 2);
    assert_eq!(units[0].id, "796");
    assert_eq!(units[0].code.as_deref(), Some("796"));
    assert_eq!(units[0].full_name.as_deref(), Some("Штука"));
    assert_eq!(units[1].id, "715", "blank Ид falls back to Код");
    assert_eq!(reasons(&r), vec!["missing_id"]);
}

#[test]
fn properties_for_offers_by_folder_or_flag() {
    let r = read("propertiesOffers/propertiesOffers_1_1_e335eeaf-31cd-1037-bf94-1dcdc73f9f68.xml");
    assert_eq!(r.kind, Some(Kind::PropertiesOffers));
    assert!(matches!(&r.records[0], Record::Property(p) if p.for_offers && !p.deleted));
    let r = read("properties_flag.xml");
    assert_eq!(r.kind, Some(Kind::PropertiesOffers));
    assert!(
        matches!(&r.records[0], Record::Property(p) if p.for_offers && p.deleted && p.value_type.as_deref() == Some("Строка"))
    );
}

#[test]
fn contragents() {
    let r = read("contragents.xml");
    assert_eq!(r.kind, Some(Kind::Contragents));
    assert!(!r.only_changes);
    let c: Vec<&Customer> = r
        .records
        .iter()
        .filter_map(|r| {
            if let Record::Customer(c) = r {
                Some(c)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].full_name.as_deref(), Some("ООО Покупатель «Тест»"));
    assert_eq!(
        c[0].inn.as_deref(),
        Some("7701234567"),
        "the representative's ИНН is not the customer's"
    );
    assert_eq!(c[0].kpp.as_deref(), Some("770101001"));
    assert_eq!(c[0].okpo.as_deref(), Some("12345678"));
    assert_eq!(c[0].role.as_deref(), Some("Покупатель"));
    assert_eq!(c[0].addresses.len(), 1);
    assert_eq!(c[0].addresses[0].kind, "АдресРегистрации");
    assert_eq!(
        c[0].addresses[0].fields[1],
        ("Город".into(), "Москва".into())
    );
    assert_eq!(
        c[0].contacts,
        vec![("Почта".into(), "client@example.ru".into())]
    );
    let bank = &c[0].bank_accounts[0];
    assert_eq!(bank.number, "40702810900000000001");
    assert_eq!(bank.bik.as_deref(), Some("044525225"));
    assert_eq!(bank.bank_name.as_deref(), Some("ПАО СБЕРБАНК"));
    assert_eq!(
        bank.correspondent_account.as_deref(),
        Some("30101810400000000225")
    );
    assert!(c[1].deleted);
    assert_eq!(c[1].full_name.as_deref(), Some("Петров Пётр"));
    assert_eq!(c[1].okpo.as_deref(), Some("0000"));
    assert_eq!(c[1].addresses[0].presentation.as_deref(), Some("Тверь"));
    assert_eq!(reasons(&r), vec!["missing_id"]);
}

#[test]
fn empty_lists_take_the_kind_from_structure() {
    let r = read("empty_lists.xml");
    assert_eq!(r.kind, Some(Kind::Goods));
    assert!(r.records.is_empty());
}

#[test]
fn truncated_file_is_an_error_with_position() {
    let e = error_of("truncated.xml");
    assert!(matches!(e.kind(), ErrorKind::Truncated), "{e:?}");
    assert_eq!(
        e.path,
        "КоммерческаяИнформация/Каталог/Товары/Товар/Наименование"
    );
    assert!(e.line >= 19, "{e:?}");
    assert!(e.byte > 0);
    let text = e.to_string();
    assert!(text.starts_with("Файл "), "{text}");
    assert!(
        text.contains(", элемент КоммерческаяИнформация/Каталог/Товары/Товар/Наименование: файл обрывается посреди записи"),
        "{text}"
    );
    let e = error_of("truncated_in_tag.xml");
    assert!(matches!(e.kind(), ErrorKind::Truncated), "{e:?}");
}

#[test]
fn doctype_and_entities_are_refused() {
    let e = error_of("doctype_billion_laughs.xml");
    assert!(matches!(e.kind(), ErrorKind::Doctype), "{e:?}");
    assert!(e.to_string().contains("DOCTYPE"));
    let e = error_of("external_entity.xml");
    assert!(matches!(e.kind(), ErrorKind::Doctype), "{e:?}");
    let e = error_of("undeclared_entity.xml");
    assert!(
        matches!(e.kind(), ErrorKind::UnknownEntity(name) if name == "xxe"),
        "{e:?}"
    );
    assert!(e.to_string().contains("&xxe;"));
}

#[test]
fn wrong_root_empty_not_xml() {
    let e = error_of("wrong_root.xml");
    assert!(
        matches!(e.kind(), ErrorKind::WrongRoot(name) if name == "html"),
        "{e:?}"
    );
    assert_eq!(e.line, 2);
    let e = error_of("empty.xml");
    assert!(matches!(e.kind(), ErrorKind::Empty), "{e:?}");
    assert_eq!(e.to_string().split(": ").last(), Some("файл пуст"));
    let e = error_of("not_xml.xml");
    assert!(matches!(e.kind(), ErrorKind::NotXml), "{e:?}");
    let e = error_of("invalid_utf8.xml");
    assert!(matches!(e.kind(), ErrorKind::NotXml), "{e:?}");
    let e = error_of("mismatched_tag.xml");
    assert!(matches!(e.kind(), ErrorKind::MismatchedTag { .. }), "{e:?}");
    let e = error_of("trailing_content.xml");
    assert!(matches!(e.kind(), ErrorKind::TrailingContent), "{e:?}");
}

#[test]
fn sniffing_reads_the_content() {
    assert_eq!(
        sniff_kind(&doc("pair_2x/offers0_1.xml")).unwrap(),
        Kind::Offers2x
    );
    assert_eq!(sniff_kind(&doc("windows1251.xml")).unwrap(), Kind::Import2x);
    assert_eq!(
        sniff_kind(&doc("layout_bitrix/goods/1/rests.xml")).unwrap(),
        Kind::Rests
    );
    assert_eq!(
        sniff_kind(&doc("layout_bitrix/goods/1/prices.xml")).unwrap(),
        Kind::Prices
    );
    assert_eq!(
        sniff_kind(&doc("layout_bitrix/goods/1/offers.xml")).unwrap(),
        Kind::Offers
    );
    assert!(sniff_kind(&doc("empty.xml")).is_err());
    let missing = sniff_kind(&doc("does_not_exist.xml")).unwrap_err();
    assert!(matches!(missing.kind(), ErrorKind::Io(_)));
    assert!(missing.to_string().contains("does_not_exist.xml"));
}

fn names(pkg: &commerceml::ExportPackage) -> Vec<String> {
    pkg.files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(pkg.root.canonicalize().unwrap())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn discover_segments_layout() {
    let pkg = discover(&doc("layout_segments")).unwrap();
    assert_eq!(
        names(&pkg),
        vec![
            "units/units.xml",
            "storages/storages.xml",
            "priceLists/priceLists.xml",
            "goods/goods_1_1_e335eeaf-31cd-1037-bf94-1dcdc73f9f68.xml",
            "goods/goods_1_2_359d05ef-9594-1bef-bd60-c17084924159.xml",
            "goods/goods_1_10_249937b3-d492-1d0f-9eb2-3aec7f51f0af.xml",
            "prices/prices.xml",
            "rests/rests_1_1_aaaaaaaa-0000-0000-0000-000000000001.xml",
            "contragents/contragents.xml",
        ]
    );
    assert_eq!(pkg.skipped.len(), 1, "notes.xml is not CommerceML");
    assert!(matches!(
        pkg.skipped[0].error.kind(),
        ErrorKind::WrongRoot(_)
    ));
    assert_eq!(pkg.files_of(&[Kind::Goods]).count(), 3);
    assert!(pkg.total_size() > 0);
    assert!(pkg.files.iter().all(|f| f.size > 0));
}

#[test]
fn discover_bitrix_layout() {
    let pkg = discover(&doc("layout_bitrix")).unwrap();
    assert_eq!(
        names(&pkg),
        vec![
            "import.xml",
            "properties/1/import.xml",
            "goods/1/import.xml",
            "goods/2/import.xml",
            "goods/10/import.xml",
            "goods/1/offers.xml",
            "goods/1/prices.xml",
            "goods/1/rests.xml",
        ]
    );
    assert_eq!(pkg.files[1].kind, Kind::PropertiesGoods);
}

#[test]
fn discover_import_files_layout() {
    let pkg = discover(&doc("layout_import_files")).unwrap();
    assert_eq!(
        names(&pkg),
        vec![
            "groups/groups.xml",
            "goods/import_files/goods.xml",
            "offers/offers.xml"
        ]
    );
    assert_eq!(pkg.files[1].kind, Kind::Goods);
}

#[test]
fn discover_2x_pair() {
    let pkg = discover(&doc("pair_2x")).unwrap();
    assert_eq!(names(&pkg), vec!["import0_1.xml", "offers0_1.xml"]);
    assert_eq!(pkg.files[0].kind, Kind::Import2x);
    assert_eq!(pkg.files[1].kind, Kind::Offers2x);
}

#[test]
fn discover_without_export_files_is_an_error() {
    let e = discover(&doc("no_export_files")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NoExportFiles));
    let text = e.to_string();
    assert!(
        text.starts_with("Каталог ") && text.contains("no_export_files"),
        "{text}"
    );
    assert!(text.contains("нет файлов выгрузки"), "{text}");
    let e = discover(&doc("empty.xml")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::NotADirectory));
    assert!(matches!(
        discover(&doc("nowhere")).unwrap_err().kind(),
        ErrorKind::Io(_)
    ));
}

#[cfg(unix)]
#[test]
fn discover_never_follows_symlinks() {
    let base = std::env::temp_dir().join(format!("commerceml-symlinks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let export = base.join("export");
    let outside = base.join("outside");
    std::fs::create_dir_all(export.join("goods")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::copy(doc("utf8_bom.xml"), export.join("goods/goods.xml")).unwrap();
    std::fs::copy(doc("groups_nested.xml"), outside.join("groups.xml")).unwrap();
    std::os::unix::fs::symlink(&outside, export.join("linked_dir")).unwrap();
    std::os::unix::fs::symlink(outside.join("groups.xml"), export.join("groups.xml")).unwrap();
    let pkg = discover(&export).unwrap();
    let found: Vec<&Path> = pkg.files.iter().map(|f| f.path.as_path()).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("goods/goods.xml"));
    std::fs::remove_dir_all(&base).unwrap();
}

fn check_small_sample(dir: &Path) {
    let pkg = discover(dir).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<Kind> = pkg.files.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![
            Kind::Units,
            Kind::Storages,
            Kind::PriceLists,
            Kind::Groups,
            Kind::PropertiesGoods,
            Kind::Goods,
            Kind::Goods,
            Kind::Offers,
            Kind::Prices,
            Kind::Rests,
            Kind::Contragents,
        ]
    );
    assert!(pkg.files[5].path.to_string_lossy().contains("goods_1_1_"));
    let mut counts = std::collections::BTreeMap::new();
    let mut warnings = 0;
    for file in &pkg.files {
        let reader = open_file(&file.path).unwrap();
        assert_eq!(reader.kind(), Some(file.kind));
        for item in reader {
            match item.unwrap() {
                Item::Record(r) => {
                    let key = format!("{:?}", std::mem::discriminant(&r));
                    *counts.entry(key).or_insert(0usize) += 1;
                    if let Record::Offer(o) = &r
                        && file.kind == Kind::Rests
                    {
                        assert!(o.has_stock && !o.stock.is_empty());
                    }
                }
                Item::Warning(_) => warnings += 1,
            }
        }
    }
    assert_eq!(warnings, 0);
    let total: usize = counts.values().sum();
    // 3 units, 3 warehouses, 4 price types, 125 groups, 7 properties, 60
    // products, 94 offers, 95 priced offers, 95 stocked offers, 15 customers.
    assert_eq!(total, 3 + 3 + 4 + 125 + 7 + 60 + 94 + 95 + 95 + 15);
}

#[test]
fn small_sample_copy() {
    check_small_sample(&doc("sample_small"));
}

#[test]
fn shared_small_sample_when_present() {
    // The committed copy is always checked; the shared original as well when
    // this machine has it (it must read exactly like the copy).
    // `ONEC_SHARED_SAMPLE`, or `shared/` beside the repository: no path of one machine.
    let shared = std::env::var_os("ONEC_SHARED_SAMPLE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/small")
        });
    let dir = if shared.is_dir() {
        shared
    } else {
        doc("sample_small")
    };
    check_small_sample(&dir);
}

#[test]
fn reading_from_memory_with_hint_and_progress() {
    // An offer without prices or stock is ambiguous: the hint decides.
    let bytes = std::fs::read(doc("layout_bitrix/goods/1/offers.xml")).unwrap();
    let mut reader = RecordReader::new(&bytes[..], None).with_kind_hint(Kind::Prices);
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::Prices));
    let mut reader = RecordReader::new(&bytes[..], None);
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::Offers));
    // Content with prices beats a hint.
    let bytes = std::fs::read(doc("layout_bitrix/goods/1/prices.xml")).unwrap();
    let mut reader = RecordReader::new(&bytes[..], None).with_kind_hint(Kind::Rests);
    assert_eq!(reader.kind(), None);
    assert!(reader.header().is_none());
    assert_eq!(
        reader.peek_kind().unwrap(),
        Some(Kind::Prices),
        "content beats the hint"
    );
    assert!(reader.file().is_none());
    let n = reader.by_ref().count();
    assert_eq!(n, 1);
    assert_eq!(reader.bytes_read(), bytes.len() as u64);
    assert!(format!("{reader:?}").contains("RecordReader"));
}
