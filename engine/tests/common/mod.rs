//! Helpers the engine's integration tests share (each test binary uses some of them).
#![allow(dead_code)]

use std::ops::Deref;
use std::path::Path;

use engine::import::{FileType, ImportRequest};
use engine::kinds::ImportKind;

/// A fresh directory under the system's temp dir, removed when dropped — also when the test
/// fails. Derefs to its [`Path`].
pub struct TempDir(tempfile::TempDir);

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// A new empty directory named after the test's `tag`.
pub fn temp_dir(tag: &str) -> TempDir {
    TempDir(
        tempfile::Builder::new()
            .prefix(&format!("onec_{tag}_"))
            .tempdir()
            .expect("a temp dir"),
    )
}

/// An import of every file of `kind` under `dir`.
pub fn request(kind: ImportKind, dir: &Path) -> ImportRequest {
    ImportRequest {
        kind,
        data_dir: dir.to_path_buf(),
        file: None,
        file_type: FileType::All,
    }
}

/// `open`, then each record as `<tag>record</tag>` on a line of its own, then `close`: the body
/// of a CommerceML file with the given records.
pub fn records_file(open: &str, tag: &str, records: &[String], close: &str) -> String {
    let mut s = String::from(open);
    for r in records {
        s.push_str(&format!("<{tag}>{r}</{tag}>\n"));
    }
    s.push_str(close);
    s
}

/// A 3.1 `ПакетПредложений` file with the given `Предложение` bodies.
pub fn offers_package(records: &[String]) -> String {
    records_file(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация \
         xmlns=\"urn:1C.ru:commerceml_3\" ВерсияСхемы=\"3.1\" ДатаФормирования=\"2026-11-21T10:00:00\">\n\
         <ПакетПредложений СодержитТолькоИзменения=\"true\"><Ид>pkg</Ид><Наименование>Пакет</Наименование>\
         <Предложения>\n",
        "Предложение",
        records,
        "</Предложения></ПакетПредложений></КоммерческаяИнформация>\n",
    )
}

/// One warehouse's `Остаток` of an offer.
pub fn rest(warehouse: &str, qty: &str) -> String {
    format!("<Остаток><Склад><Ид>{warehouse}</Ид><Количество>{qty}</Количество></Склад></Остаток>")
}

/// One `Цена` of an offer, of price type `type_id`, in `currency`.
pub fn price_in(currency: &str, type_id: &str, value: &str) -> String {
    format!(
        "<Цена><Представление>{value} руб</Представление><ИдТипаЦены>{type_id}</ИдТипаЦены>\
         <ЦенаЗаЕдиницу>{value}</ЦенаЗаЕдиницу><Валюта>{currency}</Валюта></Цена>"
    )
}

/// An administrator's run of `kinds` (by their keys), with the default options.
pub fn start_request(kinds: &[&str]) -> engine::run::StartRequest {
    engine::run::StartRequest {
        kinds: kinds
            .iter()
            .map(|s| wire::ImportKind::parse(s).unwrap())
            .collect(),
        started_by: "admin".into(),
        origin: wire::RunOrigin::Admin,
        options: engine::run::RunOptions::default(),
    }
}
