//! Edge cases built in memory: tiny read chunks, encodings, odd structure,
//! limits, message wording.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design

use commerceml::{Decimal, ErrorKind, Item, Kind, Record, RecordReader, SkipReason, Warning};
use std::io::{BufReader, Read};
use std::path::Path;

/// A reader that hands out at most 3 bytes per read: stresses every buffer boundary.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(3);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn items(bytes: &[u8]) -> Result<Vec<Item>, commerceml::Error> {
    RecordReader::new(bytes, None).collect()
}

fn doc(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\r\n<КоммерческаяИнформация ВерсияСхемы=\"3.1\">\r\n{body}</КоммерческаяИнформация>\r\n"
    )
}

#[test]
fn trickling_reader_reads_like_a_slice() {
    for name in [
        "utf8_bom.xml",
        "windows1251.xml",
        "utf16_bom.xml",
        "pair_2x/offers0_1.xml",
    ] {
        let bytes = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/documents")
                .join(name),
        )
        .unwrap();
        let whole = items(&bytes).unwrap();
        let trickled: Vec<Item> =
            RecordReader::new(BufReader::with_capacity(2, Trickle(&bytes)), None)
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(whole, trickled, "{name}");
        assert!(!whole.is_empty());
    }
}

#[test]
fn crlf_cdata_comments_and_char_refs() {
    let xml = doc(
        "<!-- comment --><?pi data?><Каталог><Товары><Товар><Ид>p&#x31;</Ид>\r\n<Наименование><![CDATA[A & <B>]]></Наименование>\
         <Описание>line1\r\nline2 &quot;q&quot; &apos;a&apos;</Описание></Товар></Товары></Каталог>",
    );
    let items = items(xml.as_bytes()).unwrap();
    let Item::Record(Record::Product(p)) = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(p.id, "p1");
    assert_eq!(p.name, "A & <B>");
    assert_eq!(p.description.as_deref(), Some("line1\nline2 \"q\" 'a'"));
}

#[test]
fn price_types_before_offers_in_a_3x_package() {
    let xml = doc(
        "<ПакетПредложений><ТипыЦен><ТипЦены><Ид>t</Ид><Наименование>Опт</Наименование></ТипЦены></ТипыЦен>\
         <Склады><Склад><Ид>w</Ид><Наименование>С</Наименование><ПометкаУдаления>true</ПометкаУдаления></Склад></Склады>\
         <Предложения><Предложение><Ид>p</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>1,5</ЦенаЗаЕдиницу></Цена></Цены></Предложение></Предложения></ПакетПредложений>",
    );
    let mut reader = RecordReader::new(xml.as_bytes(), None);
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::Prices));
    let items: Vec<Item> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(items.len(), 3);
    assert!(matches!(&items[1], Item::Record(Record::Warehouse(w)) if w.deleted));
    let Item::Record(Record::Offer(o)) = &items[2] else {
        panic!()
    };
    assert_eq!(o.prices[0].value, Decimal::new(15, 1));
}

#[test]
fn old_2x_names_and_versionless_hint() {
    let xml = "<КоммерческаяИнформация><Классификатор><Свойства><СвойствоНоменклатуры><Ид>s</Ид><Наименование>Вес</Наименование>\
               </СвойствоНоменклатуры></Свойства></Классификатор></КоммерческаяИнформация>";
    let mut reader = RecordReader::new(xml.as_bytes(), Some(Path::new("import.xml")));
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::Import2x));
    let mut reader = RecordReader::new(xml.as_bytes(), None);
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::PropertiesGoods));
    assert_eq!(reader.header().unwrap().schema_version, "");
    assert!(
        matches!(reader.next(), Some(Ok(Item::Record(Record::Property(p)))) if p.name == "Вес")
    );
    assert!(reader.next().is_none());
}

#[test]
fn only_changes_as_an_element() {
    let xml =
        doc("<Каталог><СодержитТолькоИзменения>true</СодержитТолькоИзменения><Товары/></Каталог>");
    let mut reader = RecordReader::new(xml.as_bytes(), None);
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::Goods));
    assert!(reader.header().unwrap().only_changes);
}

#[test]
fn structural_fallbacks() {
    for (body, kind) in [
        (
            "<Классификатор><Группы/></Классификатор>",
            Some(Kind::Groups),
        ),
        (
            "<Классификатор><ТипыЦен/></Классификатор>",
            Some(Kind::PriceLists),
        ),
        (
            "<Классификатор><Склады/></Классификатор>",
            Some(Kind::Storages),
        ),
        (
            "<Классификатор><ЕдиницыИзмерения/></Классификатор>",
            Some(Kind::Units),
        ),
        (
            "<Классификатор><Свойства/></Классификатор>",
            Some(Kind::PropertiesGoods),
        ),
        (
            "<ПакетПредложений><Предложения/></ПакетПредложений>",
            Some(Kind::Offers),
        ),
        ("<Контрагенты/>", Some(Kind::Contragents)),
        ("<Документ/>", None),
    ] {
        let xml = doc(body);
        let mut reader = RecordReader::new(xml.as_bytes(), None);
        assert_eq!(reader.peek_kind().unwrap(), kind, "{body}");
    }
    let xml = doc("<ПакетПредложений><Предложения/></ПакетПредложений>");
    let mut reader = RecordReader::new(xml.as_bytes(), Some(Path::new("rests/rests_1_1_x.xml")));
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::Rests));
    let xml = doc("<Классификатор><Свойства/></Классификатор>");
    let mut reader = RecordReader::new(xml.as_bytes(), Some(Path::new("propertiesOffers/a.xml")));
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::PropertiesOffers));
}

#[test]
fn zero_guid_group_reference_and_offer_shapes() {
    let xml = doc(
        "<ПакетПредложений><Предложения><Предложение><Ид>p</Ид><Цены/><Остатки/></Предложение>\
         <Предложение><Ид>00000000-0000-0000-0000-000000000000</Ид></Предложение></Предложения></ПакетПредложений>",
    );
    let mut reader = RecordReader::new(xml.as_bytes(), None);
    assert_eq!(reader.peek_kind().unwrap(), Some(Kind::Offers2x));
    let items: Vec<Item> = reader.collect::<Result<_, _>>().unwrap();
    assert!(matches!(&items[1], Item::Warning(w) if w.reason == SkipReason::MissingId));
}

#[test]
fn limits_and_malformed_markup() {
    let deep = format!(
        "<КоммерческаяИнформация>{}",
        "<a>".repeat(commerceml::MAX_DEPTH + 1)
    );
    let err = items(deep.as_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TooDeep), "{err:?}");
    let err = items(b"<?xml version='1.0' encoding='x-unknown'?><a/>").unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnsupportedEncoding(l) if l == "x-unknown"),
        "{err:?}"
    );
    let err =
        items("<КоммерческаяИнформация><!x></КоммерческаяИнформация>".as_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Malformed(_)), "{err:?}");
    let err = items("<КоммерческаяИнформация><Ид>&#0;</Ид></КоммерческаяИнформация>".as_bytes())
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Malformed(_)), "{err:?}");
    let err = items("<КоммерческаяИнформация><Каталог><Товары><Товар Статус=\"&bad;\"/></Товары></Каталог></КоммерческаяИнформация>".as_bytes()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnknownEntity(e) if e == "bad"),
        "{err:?}"
    );
    let err = items("<КоммерческаяИнформация x='1' x='2'/>".as_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Malformed(_)), "{err:?}");
    let err = items(b"   \n ").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Empty), "{err:?}");
    let err =
        items("<КоммерческаяИнформация></КоммерческаяИнформация>текст".as_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TrailingContent), "{err:?}");
    let mut bad = "<КоммерческаяИнформация>\n<b>".as_bytes().to_vec();
    bad.extend_from_slice(b"\xff</b></\xd0\x9a\xd0\x9e>");
    let err = items(&bad).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Encoding(_)), "{err:?}");
    // The iterator ends after its error.
    let mut reader = RecordReader::new(&b"<x/>"[..], None);
    assert!(matches!(reader.next(), Some(Err(_))));
    assert!(reader.next().is_none());
}

#[test]
fn messages_without_a_file() {
    let err = items("<КоммерческаяИнформация>\n<Каталог>".as_bytes()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("Строка 2, элемент КоммерческаяИнформация/Каталог: файл обрывается"),
        "{text}"
    );
    assert!(std::error::Error::source(&err).is_none());
    let w = Warning {
        file: None,
        line: 3,
        path: "К/Т".into(),
        reason: SkipReason::BadBoolean,
        detail: String::new(),
    };
    assert_eq!(
        w.to_string(),
        "Строка 3, элемент К/Т: неверное логическое значение"
    );
    let io = commerceml::open_file(Path::new("/nonexistent/file.xml")).unwrap_err();
    assert!(std::error::Error::source(&io).is_some());
    assert!(
        io.to_string()
            .starts_with("Файл /nonexistent/file.xml: ошибка чтения"),
        "{io}"
    );
}

#[test]
fn kinds_and_hints() {
    for kind in Kind::ALL {
        assert!(!kind.to_string().is_empty());
        assert_eq!(Kind::ALL[kind.import_rank()], kind);
    }
    let hint = |p: &str| Kind::hint_from_path(Path::new(p));
    assert_eq!(hint("goods/goods_1_2_abc.xml"), Some(Kind::Goods));
    assert_eq!(
        hint("x/propertiesOffers_1_1_abc.xml"),
        Some(Kind::PropertiesOffers)
    );
    assert_eq!(hint("import0_1.xml"), Some(Kind::Import2x));
    assert_eq!(hint("import___d1f3.xml"), Some(Kind::Import2x));
    assert_eq!(hint("offers0_1.xml"), Some(Kind::Offers2x));
    assert_eq!(hint("goods/1/import.xml"), Some(Kind::Goods));
    assert_eq!(hint("goods/1/offers.xml"), Some(Kind::Offers));
    assert_eq!(hint("properties/1/import.xml"), Some(Kind::PropertiesGoods));
    assert_eq!(hint("rests/1/whatever.xml"), Some(Kind::Rests));
    assert_eq!(hint("goods/import_files/x.xml"), Some(Kind::Goods));
    assert_eq!(hint("misc/data.xml"), None);
    assert_eq!(Kind::Import2x.to_string(), "import (2.x)");
}

/// A document made on the fly: `head`, then `fill` repeated up to `len` bytes, then `tail`; it
/// counts the bytes handed out, and never holds more than one read's worth.
struct Generated {
    head: Vec<u8>,
    fill: u8,
    len: u64,
    tail: Vec<u8>,
    pos: u64,
    served: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Generated {
    fn new(head: impl AsRef<[u8]>, fill: u8, len: u64, tail: impl AsRef<[u8]>) -> Self {
        Generated {
            head: head.as_ref().to_vec(),
            fill,
            len,
            tail: tail.as_ref().to_vec(),
            pos: 0,
            served: Default::default(),
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let head = self.head.len() as u64;
        let body_end = head + self.len;
        let total = body_end + self.tail.len() as u64;
        if self.pos >= total || buf.is_empty() {
            return Ok(0);
        }
        let n = if self.pos < head {
            let part = &self.head[self.pos as usize..];
            let n = part.len().min(buf.len());
            buf[..n].copy_from_slice(&part[..n]);
            n
        } else if self.pos < body_end {
            let n = ((body_end - self.pos) as usize).min(buf.len());
            buf[..n].fill(self.fill);
            n
        } else {
            let part = &self.tail[(self.pos - body_end) as usize..];
            let n = part.len().min(buf.len());
            buf[..n].copy_from_slice(&part[..n]);
            n
        };
        self.pos += n as u64;
        self.served
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

const GIGABYTE: u64 = 1 << 30;

/// Reads a generated document to its error; returns the error and the bytes read.
fn read_generated(doc: Generated) -> (commerceml::Error, u64) {
    let served = doc.served.clone();
    let reader = RecordReader::new(
        BufReader::with_capacity(64 * 1024, doc),
        Some(Path::new("goods/goods_1_1.xml")),
    );
    let mut error = None;
    for item in reader {
        if let Err(e) = item {
            error = Some(e);
            break;
        }
    }
    let e = error.expect("a 1 GB event must be an error");
    (e, served.load(std::sync::atomic::Ordering::Relaxed))
}

const GOODS_HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
    <КоммерческаяИнформация ВерсияСхемы=\"3.1\">\n<Каталог>\n<Товары>\n<Товар>\n<Ид>p1</Ид>\n\
    <Наименование>Товар</Наименование>\n<Описание>";
const GOODS_TAIL: &str =
    "</Описание>\n</Товар>\n</Товары>\n</Каталог>\n</КоммерческаяИнформация>\n";

#[test]
fn a_gigabyte_text_node_is_refused_after_reading_16_mb() {
    let (e, served) = read_generated(Generated::new(GOODS_HEAD, b'a', GIGABYTE, GOODS_TAIL));
    assert!(matches!(e.kind(), ErrorKind::EventTooLarge), "{e}");
    let limit = commerceml::MAX_EVENT_BYTES as u64;
    assert!(
        served <= limit + 256 * 1024,
        "read {served} bytes of a 1 GB node before refusing it"
    );
    assert_eq!(e.line, 8, "{e}");
    assert_eq!(
        e.path,
        "КоммерческаяИнформация/Каталог/Товары/Товар/Описание"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "Файл goods/goods_1_1.xml, строка 8, элемент \
             КоммерческаяИнформация/Каталог/Товары/Товар/Описание: \
             текст, комментарий или тег длиннее 16 МБ"
        ),
        "{msg}"
    );
}

#[test]
fn a_gigabyte_of_windows_1251_text_is_refused_the_same_way() {
    let head = GOODS_HEAD.replace("UTF-8", "windows-1251");
    let (head, _, _) = encoding_rs::WINDOWS_1251.encode(&head);
    let (tail, _, _) = encoding_rs::WINDOWS_1251.encode(GOODS_TAIL);
    // 0xE0 is «а» in windows-1251: two bytes after transcoding.
    let (e, served) = read_generated(Generated::new(&head, 0xE0, GIGABYTE, &tail));
    assert!(matches!(e.kind(), ErrorKind::EventTooLarge), "{e}");
    assert!(
        served <= commerceml::MAX_EVENT_BYTES as u64 + 256 * 1024,
        "{served}"
    );
}

#[test]
fn a_gigabyte_comment_cdata_or_tag_is_refused() {
    let root = "<?xml version=\"1.0\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"3.1\">\n";
    let end = "\n</КоммерческаяИнформация>\n";
    let cases = [
        (format!("{root}<!--"), format!("-->{end}")),
        (
            format!("{root}<Каталог><![CDATA["),
            format!("]]></Каталог>{end}"),
        ),
        (format!("{root}<Каталог Имя=\""), format!("\"/>{end}")),
        (format!("{root}<Каталог"), format!("/>{end}")),
    ];
    for (head, tail) in cases {
        let (e, served) = read_generated(Generated::new(&head, b'x', GIGABYTE, &tail));
        assert!(matches!(e.kind(), ErrorKind::EventTooLarge), "{head}: {e}");
        assert!(
            served <= commerceml::MAX_EVENT_BYTES as u64 + 256 * 1024,
            "{head}: {served}"
        );
        assert_eq!(e.line, 3, "{head}: {e}");
    }
}

#[test]
fn a_record_over_16_mb_in_many_pieces_is_refused() {
    // Each description is 1 MB (under the event limit); 20 of them in one product are not.
    let mut body = String::from("<Каталог><Товары><Товар><Ид>p1</Ид>");
    let piece = "б".repeat(512 * 1024);
    for _ in 0..20 {
        body.push_str("<Описание>");
        body.push_str(&piece);
        body.push_str("</Описание>\r\n");
    }
    body.push_str("</Товар></Товары></Каталог>");
    let e = items(doc(&body).as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::RecordTooLarge), "{e}");
    assert!(e.to_string().contains("запись больше 16 МБ"), "{e}");
    assert!(e.path.ends_with("Товар/Описание"), "{}", e.path);
}

#[test]
fn element_names_adding_up_to_more_than_64_kb_are_refused() {
    let name = "Ж".repeat(1000);
    let mut body = String::new();
    for _ in 0..40 {
        body.push_str(&format!("<{name}>"));
    }
    let e = items(doc(&body).as_bytes()).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::PathTooLong), "{e}");
    assert!(
        e.path.len() < 1024,
        "the message path is clipped: {}",
        e.path.len()
    );
}
