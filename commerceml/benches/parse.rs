//! Parse-throughput benchmark (plain `std::time`, no criterion): generates a
//! synthetic 3.x goods file and a 2.x offers file in memory, reads every
//! record and prints MB/s. Run with `cargo bench -p commerceml`.
//! Target: ≥ 200 MB/s in release builds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test and benchmark scaffolding fails loudly

use commerceml::{Item, Record, RecordReader};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

const HEAD: &str = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_3\" ВерсияСхемы=\"3.1\" ДатаФормирования=\"2026-11-20T21:25:39\">\n";

fn guid(n: u64, salt: u64) -> String {
    let x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xffff,
        n & 0xffff,
        n
    )
}

fn goods(target: usize) -> String {
    let mut s = String::with_capacity(target + 4096);
    s.push_str(HEAD);
    s.push_str("\t<Каталог СодержитТолькоИзменения=\"true\">\n\t\t<Ид>cat</Ид>\n\t\t<Товары>\n");
    let mut n = 0u64;
    while s.len() < target {
        let _ = write!(
            s,
            "\t\t\t<Товар>\n\t\t\t\t<Ид>{id}</Ид>\n\t\t\t\t<НомерВерсии>AAAAAAAAAAI=</НомерВерсии>\n\t\t\t\t<ПометкаУдаления>false</ПометкаУдаления>\n\t\t\t\t<Штрихкод/>\n\t\t\t\t<Артикул>ES{n:06}</Артикул>\n\t\t\t\t<Наименование>Кимоно профессиональный P{n}, синий</Наименование>\n\t\t\t\t<БазоваяЕдиница>796 </БазоваяЕдиница>\n\t\t\t\t<Группы>\n\t\t\t\t\t<Ид>{g}</Ид>\n\t\t\t\t</Группы>\n\t\t\t\t<Описание>Кимоно профессиональный — описание товара &lt;br&gt; для дома и зала.</Описание>\n\t\t\t\t<Картинка>import_files/3d/{id}_1.jpg</Картинка>\n\t\t\t\t<Страна>КИТАЙ</Страна>\n\t\t\t\t<ЗначенияСвойств>\n",
            id = guid(n, 1),
            g = guid(n % 50, 2),
        );
        for p in 0..6 {
            let _ = write!(
                s,
                "\t\t\t\t\t<ЗначенияСвойства>\n\t\t\t\t\t\t<Ид>{}</Ид>\n\t\t\t\t\t\t<Значение>{},{}</Значение>\n\t\t\t\t\t</ЗначенияСвойства>\n",
                guid(p, 3),
                n % 97,
                p
            );
        }
        s.push_str("\t\t\t\t</ЗначенияСвойств>\n\t\t\t\t<СтавкиНалогов>\n\t\t\t\t\t<СтавкаНалога>\n\t\t\t\t\t\t<Наименование>НДС</Наименование>\n\t\t\t\t\t\t<Ставка>20</Ставка>\n\t\t\t\t\t</СтавкаНалога>\n\t\t\t\t</СтавкиНалогов>\n\t\t\t\t<ЗначенияРеквизитов>\n\t\t\t\t\t<ЗначениеРеквизита>\n\t\t\t\t\t\t<Наименование>ВидНоменклатуры</Наименование>\n\t\t\t\t\t\t<Значение>Товар</Значение>\n\t\t\t\t\t</ЗначениеРеквизита>\n\t\t\t\t</ЗначенияРеквизитов>\n\t\t\t</Товар>\n");
        n += 1;
    }
    s.push_str("\t\t</Товары>\n\t</Каталог>\n</КоммерческаяИнформация>\n");
    s
}

fn offers_2x(target: usize) -> String {
    let mut s = String::with_capacity(target + 4096);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.07\">\n\t<ПакетПредложений>\n\t\t<Предложения>\n");
    let mut n = 0u64;
    while s.len() < target {
        let _ = write!(
            s,
            "\t\t\t<Предложение>\n\t\t\t\t<Ид>{}#{}</Ид>\n\t\t\t\t<Наименование>Предложение {n}</Наименование>\n\t\t\t\t<Цены>\n\t\t\t\t\t<Цена>\n\t\t\t\t\t\t<Представление>6\u{a0}990 руб за шт</Представление>\n\t\t\t\t\t\t<ИдТипаЦены>{}</ИдТипаЦены>\n\t\t\t\t\t\t<ЦенаЗаЕдиницу>{}.50</ЦенаЗаЕдиницу>\n\t\t\t\t\t\t<Валюта>руб</Валюта>\n\t\t\t\t\t</Цена>\n\t\t\t\t</Цены>\n\t\t\t\t<Количество>{}</Количество>\n\t\t\t\t<Склад ИдСклада=\"{}\" КоличествоНаСкладе=\"{}\"/>\n\t\t\t\t<Склад ИдСклада=\"{}\" КоличествоНаСкладе=\"2,000\"/>\n\t\t\t</Предложение>\n",
            guid(n / 3, 1),
            guid(n, 4),
            guid(1, 5),
            1000 + n % 9000,
            n % 20,
            guid(1, 6),
            n % 18,
            guid(2, 6),
        );
        n += 1;
    }
    s.push_str("\t\t</Предложения>\n\t</ПакетПредложений>\n</КоммерческаяИнформация>\n");
    s
}

fn run(name: &str, data: &[u8]) -> f64 {
    let mut best = f64::MAX;
    let mut records = 0usize;
    for _ in 0..5 {
        let started = Instant::now();
        records = 0;
        for item in RecordReader::new(data, None) {
            match item.expect("synthetic data parses") {
                Item::Record(r @ (Record::Product(_) | Record::Offer(_))) => {
                    black_box(r);
                    records += 1;
                }
                other => {
                    black_box(other);
                }
            }
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    let mb = data.len() as f64 / 1_000_000.0;
    let rate = mb / best;
    println!("{name}: {mb:.1} MB, {records} records, best of 5 {best:.3} s = {rate:.0} MB/s");
    rate
}

fn main() {
    // `cargo test --benches` runs this in debug: keep that quick.
    let size = if cfg!(debug_assertions) {
        2_000_000
    } else {
        64_000_000
    };
    let goods = goods(size);
    let offers = offers_2x(size / 2);
    raw(goods.as_bytes());
    let a = run("goods (3.x)", goods.as_bytes());
    let b = run("offers (2.x, prices+stock)", offers.as_bytes());
    println!("target: >= 200 MB/s; measured {:.0} / {:.0} MB/s", a, b);
}

/// Baseline: bare quick-xml event loop over the same bytes (the ceiling).
fn raw(data: &[u8]) {
    let started = Instant::now();
    let mut r = quick_xml::Reader::from_reader(data);
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        buf.clear();
        match r.read_event_into(&mut buf).unwrap() {
            quick_xml::events::Event::Eof => break,
            e => {
                black_box(&e);
                n += 1
            }
        }
    }
    let t = started.elapsed().as_secs_f64();
    println!(
        "raw quick-xml: {n} events {:.0} MB/s",
        data.len() as f64 / 1e6 / t
    );
}
