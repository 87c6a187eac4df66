//! End-to-end tests of `gendata`: determinism, the oracle against the files (counted by plain
//! string scanning), well-formedness (a tiny XML scanner), the 2.x format, stale-file cleanup
//! and the broken-goods helper.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::hash::Hash;
use std::path::{Path, PathBuf};

use gendata::{Format, Options, Summary, generate, write_broken_goods};

/// A fresh empty directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gendata-test-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// All files under `dir`: relative `/`-separated path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn text(dir: &Path, rel: &str) -> String {
    let bytes = fs::read(dir.join(rel)).unwrap();
    let s = String::from_utf8(bytes).unwrap();
    s.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(s)
}

fn opts(products: usize, customers: usize, seed: u64, format: Format) -> Options {
    Options {
        products,
        customers,
        seed,
        format,
        goods_per_segment: 100,
    }
}

/// The `<tag>…</tag>` blocks of `s` (non-nested tags only).
fn blocks<'a>(s: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(a) = rest.find(&open) {
        let after = &rest[a + open.len()..];
        let b = after.find(&close).expect("unclosed block");
        out.push(&after[..b]);
        rest = &after[b + close.len()..];
    }
    out
}

/// Text of the first `<tag>…</tag>` in `s`.
fn field<'a>(s: &'a str, tag: &str) -> &'a str {
    blocks(s, tag).into_iter().next().unwrap_or("")
}

/// A plain decimal (`12`, `2.500`, `1234.50`) in units of 10^-scale, without floats.
fn decimal(s: &str, scale: u32) -> u128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= scale as usize, "{s}");
    let mut v: u128 = int.parse().unwrap();
    for i in 0..scale as usize {
        v = v * 10 + frac.as_bytes().get(i).map_or(0, |b| u128::from(b - b'0'));
    }
    v
}

/// Canonical decimal string, as the oracle writes it.
fn canonical(s: &str) -> String {
    if let Some((int, frac)) = s.split_once('.') {
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            int.to_string()
        } else {
            format!("{int}.{frac}")
        }
    } else {
        s.to_string()
    }
}

fn normalize(id: &str) -> &str {
    id.strip_suffix('#').unwrap_or(id)
}

/// Checks that `bytes` is one well-formed XML document: UTF-8, optional BOM, the XML
/// declaration, balanced and properly nested tags, quoted attributes, known entities only,
/// a single root and nothing but whitespace outside it.
fn well_formed(bytes: &[u8]) -> Result<(), String> {
    let s = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    if !s.starts_with("<?xml ") {
        return Err("no XML declaration".into());
    }
    let check_text = |t: &str| -> Result<(), String> {
        let mut rest = t;
        while let Some(a) = rest.find('&') {
            let after = &rest[a + 1..];
            let end = after.find(';').ok_or("bare &")?;
            let ent = &after[..end];
            let ok = matches!(ent, "amp" | "lt" | "gt" | "quot" | "apos")
                || (ent.starts_with('#') && ent.len() > 1);
            if !ok {
                return Err(format!("bad entity &{ent};"));
            }
            rest = &after[end + 1..];
        }
        Ok(())
    };
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut i = 0;
    while let Some(off) = s[i..].find('<') {
        let chars = &s[i..i + off];
        if stack.is_empty() && !chars.trim().is_empty() {
            return Err(format!("text outside the root: {chars:?}"));
        }
        check_text(chars)?;
        let start = i + off;
        let rest = &s[start..];
        if rest.starts_with("<?") {
            i = start + rest.find("?>").ok_or("unclosed PI")? + 2;
            continue;
        }
        if rest.starts_with("<!--") {
            i = start + rest.find("-->").ok_or("unclosed comment")? + 3;
            continue;
        }
        let end = rest.find('>').ok_or("unclosed tag")?;
        let inner = &rest[1..end];
        i = start + end + 1;
        if let Some(name) = inner.strip_prefix('/') {
            let open = stack.pop().ok_or_else(|| format!("stray </{name}>"))?;
            if open != name.trim() {
                return Err(format!("<{open}> closed by </{name}>"));
            }
            continue;
        }
        let (inner, self_closing) = match inner.strip_suffix('/') {
            Some(x) => (x, true),
            None => (inner, false),
        };
        let name_end = inner.find(char::is_whitespace).unwrap_or(inner.len());
        let name = &inner[..name_end];
        if name.is_empty() || name.contains(['<', '&', '"', '=']) {
            return Err(format!("bad tag name {name:?}"));
        }
        // Attributes: key="value" pairs.
        let mut attrs = inner[name_end..].trim();
        let mut seen = HashSet::new();
        while !attrs.is_empty() {
            let eq = attrs
                .find('=')
                .ok_or_else(|| format!("bad attributes in <{name}>"))?;
            let key = attrs[..eq].trim();
            if !seen.insert(key) {
                return Err(format!("duplicate attribute {key}"));
            }
            let after = attrs[eq + 1..].trim_start();
            let value_rest = after.strip_prefix('"').ok_or("unquoted attribute")?;
            let close = value_rest.find('"').ok_or("unclosed attribute")?;
            let value = &value_rest[..close];
            if value.contains('<') {
                return Err("< in attribute".into());
            }
            check_text(value)?;
            attrs = value_rest[close + 1..].trim_start();
        }
        if stack.is_empty() {
            roots += 1;
            if roots > 1 {
                return Err("more than one root".into());
            }
        }
        if !self_closing {
            stack.push(name);
        }
    }
    if !s[i..].trim().is_empty() {
        return Err("text after the root".into());
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{open}> never closed"));
    }
    if roots != 1 {
        return Err("no root element".into());
    }
    Ok(())
}

/// The `Предложение` records of an offers file counted by what an importer does with them.
struct OfferCounts {
    /// Own offers: the `Ид` is the product's, bare or with an empty `#` tail.
    own: usize,
    /// Variants: `<product>#<characteristic>`.
    variants: usize,
    /// Offers whose product is in no goods file.
    unknown: usize,
}

/// The `Предложение` records of the offers file `xml` whose product is in `product_ids`, in
/// file order, and the counts of all its records.
fn known_offers<'a, T: Borrow<str> + Hash + Eq>(
    xml: &'a str,
    product_ids: &HashSet<T>,
) -> (OfferCounts, Vec<&'a str>) {
    let mut counts = OfferCounts {
        own: 0,
        variants: 0,
        unknown: 0,
    };
    let mut known = Vec::new();
    for rec in blocks(xml, "Предложение") {
        let id = field(rec, "Ид");
        let (product, tail) = id.split_once('#').unwrap_or((id, ""));
        if !product_ids.contains(product) {
            counts.unknown += 1;
            continue;
        }
        if tail.is_empty() {
            counts.own += 1;
        } else {
            counts.variants += 1;
        }
        known.push(rec);
    }
    (counts, known)
}

/// What [`offer_rows`] read from a 3.1 prices or rests file.
struct OfferRows {
    /// Rows (prices, or stock per warehouse) of offers that landed.
    rows: usize,
    /// Records of offers that did not land.
    unknown: usize,
    /// Landed offer id → (price type or warehouse id, canonical value) per row, in file order.
    by_offer: BTreeMap<String, Vec<(String, String)>>,
}

/// Reads the `Предложение` records of a prices or rests file: a record whose offer is not in
/// `landed` counts as unknown; every `row_tag` block of the others goes through `row`, which
/// checks it and returns its price type or warehouse id and its machine value.
fn offer_rows<'a>(
    xml: &'a str,
    landed: &HashSet<String>,
    row_tag: &str,
    mut row: impl FnMut(&'a str) -> (String, &'a str),
) -> OfferRows {
    let mut out = OfferRows {
        rows: 0,
        unknown: 0,
        by_offer: BTreeMap::new(),
    };
    for rec in blocks(xml, "Предложение") {
        let id = normalize(field(rec, "Ид")).to_string();
        if !landed.contains(&id) {
            out.unknown += 1;
            continue;
        }
        for block in blocks(rec, row_tag) {
            out.rows += 1;
            let (key, value) = row(block);
            out.by_offer
                .entry(id.clone())
                .or_default()
                .push((key, canonical(value)));
        }
    }
    out
}

/// Counts of a 3.1 export recomputed from its files by string scanning.
fn recount_31(dir: &Path, s: &Summary) {
    let files: Vec<String> = tree(dir).into_keys().collect();
    let mut written = s.files.clone();
    written.sort();
    assert_eq!(
        files, written,
        "summary.files lists exactly the files on disk"
    );

    let count = |rel: &str, tag: &str| text(dir, rel).matches(&format!("<{tag}>")).count();
    assert_eq!(count("groups/groups.xml", "Группа"), s.categories);
    assert_eq!(count("units/units.xml", "ЕдиницаИзмерения"), s.units);
    assert_eq!(count("priceLists/priceLists.xml", "ТипЦены"), s.price_types);
    assert_eq!(count("storages/storages.xml", "Склад"), s.warehouses);
    let props = files
        .iter()
        .find(|f| f.starts_with("propertiesGoods/"))
        .unwrap();
    assert_eq!(count(props, "Свойство"), s.properties);

    let price_type_ids: HashSet<String> =
        blocks(&text(dir, "priceLists/priceLists.xml"), "ТипЦены")
            .iter()
            .map(|b| field(b, "Ид").to_string())
            .collect();
    let warehouse_ids: HashSet<String> = blocks(&text(dir, "storages/storages.xml"), "Склад")
        .iter()
        .map(|b| field(b, "Ид").to_string())
        .collect();

    // Goods.
    let mut product_ids = HashSet::new();
    let (mut products, mut deleted) = (0, 0);
    for f in files.iter().filter(|f| f.starts_with("goods/")) {
        for rec in blocks(&text(dir, f), "Товар") {
            products += 1;
            deleted += usize::from(field(rec, "ПометкаУдаления") == "true");
            assert!(
                product_ids.insert(field(rec, "Ид").to_string()),
                "duplicate product id"
            );
        }
    }
    assert_eq!(products, s.products);
    assert_eq!(deleted, s.products_deleted);

    // Offers.
    let offers = text(dir, "offers/offers.xml");
    let (counts, known) = known_offers(&offers, &product_ids);
    let mut offers_deleted = 0;
    let mut landed = HashSet::new();
    for rec in known {
        let id = field(rec, "Ид");
        offers_deleted += usize::from(field(rec, "ПометкаУдаления") == "true");
        assert!(
            landed.insert(normalize(id).to_string()),
            "duplicate offer {id}"
        );
    }
    assert_eq!(counts.variants, s.variants);
    assert_eq!(counts.own, s.own_offers);
    assert_eq!(offers_deleted, s.offers_deleted);
    assert_eq!(counts.unknown, s.offers_unknown_product);

    // Prices.
    let prices = offer_rows(
        &text(dir, "prices/prices.xml"),
        &landed,
        "Цена",
        |price| {
            let pt = field(price, "ИдТипаЦены").to_string();
            assert!(price_type_ids.contains(&pt));
            let machine = field(price, "ЦенаЗаЕдиницу");
            assert!(
                !machine.contains(',') && !machine.contains(' '),
                "{machine}"
            );
            let human = field(price, "Представление");
            assert!(human.ends_with(" руб"), "{human}");
            (pt, machine)
        },
    );
    assert_eq!(prices.rows, s.price_rows);
    assert_eq!(prices.unknown, s.prices_unknown_offer);

    // Rests.
    let mut total = 0u128;
    let rests = offer_rows(&text(dir, "rests/rests.xml"), &landed, "Склад", |wh| {
        let w = field(wh, "Ид").to_string();
        assert!(warehouse_ids.contains(&w));
        let q = field(wh, "Количество");
        total += decimal(q, 3);
        (w, q)
    });
    assert_eq!(rests.rows, s.stock_rows);
    assert_eq!(rests.unknown, s.rests_unknown_offer);
    assert_eq!(decimal(&s.stock_total, 3), total);

    // Examples.
    for ex in [
        &s.example_variant,
        &s.example_own_offer,
        &s.example_empty_tail_offer,
    ] {
        let ex = ex.as_ref().expect("example offer");
        assert!(landed.contains(&ex.normalized_id));
        assert_eq!(normalize(&ex.id), ex.normalized_id);
        assert_eq!(prices.by_offer[&ex.normalized_id], ex.prices);
        assert_eq!(rests.by_offer[&ex.normalized_id], ex.stock);
    }
    assert!(s.example_variant.as_ref().unwrap().id.contains('#'));
    assert!(
        s.example_empty_tail_offer
            .as_ref()
            .unwrap()
            .id
            .ends_with('#')
    );
    let p = s.example_product.as_ref().unwrap();
    assert!(product_ids.contains(&p.id));

    // Customers.
    if s.customers > 0 {
        let c = text(dir, "contragents/contragents.xml");
        let recs = blocks(&c, "Контрагент");
        assert_eq!(recs.len(), s.customers);
        let deleted = recs
            .iter()
            .filter(|r| field(r, "ПометкаУдаления") == "true")
            .count();
        assert_eq!(deleted, s.customers_deleted);
        for r in &recs {
            let inn = field(r, "ИНН");
            assert!(inn.len() == 10 || inn.len() == 12, "{inn}");
            assert_eq!(field(r, "Роль"), "Покупатель");
        }
        let ex = s.example_customer.as_ref().unwrap();
        assert!(
            recs.iter()
                .any(|r| field(r, "Ид") == ex.id && field(r, "ИНН") == ex.inn)
        );
    } else {
        assert!(!dir.join("contragents").exists());
    }
}

#[test]
fn same_options_give_identical_output() {
    let a = temp_dir("det-a");
    let b = temp_dir("det-b");
    let o = Options {
        goods_per_segment: 40,
        ..opts(150, 20, 99, Format::V31)
    };
    let sa = generate(&o, &a).unwrap();
    let sb = generate(&o, &b).unwrap();
    assert_eq!(sa, sb);
    assert_eq!(sa.to_json(), sb.to_json());
    assert_eq!(tree(&a), tree(&b));

    let o2 = opts(150, 20, 99, Format::V2x);
    let c = temp_dir("det-c");
    let d = temp_dir("det-d");
    assert_eq!(generate(&o2, &c).unwrap(), generate(&o2, &d).unwrap());
    assert_eq!(tree(&c), tree(&d));

    // Another seed gives another export.
    let e = temp_dir("det-e");
    generate(&Options { seed: 100, ..o }, &e).unwrap();
    assert_ne!(tree(&a), tree(&e));
    for dir in [a, b, c, d, e] {
        fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn summary_matches_files_31() {
    for (products, customers, seed, per) in [(300, 40, 1, 100), (7, 3, 2, 5), (1000, 0, 3, 0)] {
        let dir = temp_dir(&format!("count-{seed}"));
        let o = Options {
            goods_per_segment: per,
            ..opts(products, customers, seed, Format::V31)
        };
        let s = generate(&o, &dir).unwrap();
        assert_eq!(s.products, products);
        assert_eq!(s.customers, customers);
        assert_eq!(s.price_types, 4);
        assert_eq!(s.warehouses, 3);
        assert_eq!(s.categories, (products / 20).max(5));
        assert_eq!(s.price_rows, (s.variants + s.own_offers) * 4);
        assert_eq!(s.stock_rows, (s.variants + s.own_offers) * 3);
        assert!(s.offers_unknown_product >= 1);
        assert!(s.prices_unknown_offer > s.offers_unknown_product);
        assert!(s.rests_unknown_offer > s.offers_unknown_product);
        assert!(s.products_deleted >= 1 && s.offers_deleted >= 1);
        recount_31(&dir, &s);
        fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn every_file_is_well_formed() {
    for format in [Format::V31, Format::V2x] {
        let dir = temp_dir(&format!("wf-{format}"));
        generate(&opts(250, 30, 5, format), &dir).unwrap();
        for (rel, bytes) in tree(&dir) {
            well_formed(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        }
        fs::remove_dir_all(dir).unwrap();
    }
    // The scanner itself rejects broken documents.
    assert!(well_formed(b"<?xml version=\"1.0\"?>\n<a><b></a>").is_err());
    assert!(well_formed(b"<?xml version=\"1.0\"?>\n<a>x & y</a>").is_err());
    assert!(well_formed(b"<?xml version=\"1.0\"?>\n<a x=1/>").is_err());
    assert!(well_formed(b"<?xml version=\"1.0\"?>\n<a/><b/>").is_err());
    assert!(
        well_formed("\u{feff}<?xml version=\"1.0\"?>\n<a k=\"&amp;\"><b/></a>".as_bytes()).is_ok()
    );
}

#[test]
fn quirks_of_real_exports_are_present() {
    let dir = temp_dir("quirks");
    let o = opts(400, 50, 11, Format::V31);
    let s = generate(&o, &dir).unwrap();
    let files = tree(&dir);
    let with_bom = files
        .values()
        .filter(|b| b.starts_with(b"\xEF\xBB\xBF"))
        .count();
    assert!(
        with_bom > files.len() / 2 && with_bom < files.len(),
        "BOM on most files, not all"
    );

    let goods: String = s
        .files
        .iter()
        .filter(|f| f.starts_with("goods/"))
        .map(|f| text(&dir, f))
        .collect();
    for f in s.files.iter().filter(|f| f.starts_with("goods/")) {
        let name = f.strip_prefix("goods/goods_1_").unwrap();
        let (n, guid) = name.strip_suffix(".xml").unwrap().split_once('_').unwrap();
        assert!(n.parse::<usize>().is_ok());
        assert_eq!(guid.len(), 36);
    }
    assert_eq!(
        s.files.iter().filter(|f| f.starts_with("goods/")).count(),
        4
    );
    assert!(goods.contains("<Значение>00000000-0000-0000-0000-000000000000</Значение>"));
    assert!(goods.contains("<Штрихкод/>") || goods.contains("<Описание/>"));
    assert!(goods.contains("<Штрихкод></Штрихкод>") || goods.contains("<Описание></Описание>"));
    assert!(goods.contains("<Описание>&lt;p&gt;"));
    assert!(goods.contains("<Значение>-999\u{a0}999\u{a0}999,9</Значение>"));
    assert!(goods.contains("<Значение>-999999999.9</Значение>"));
    assert!(goods.contains("<БазоваяЕдиница>796 </БазоваяЕдиница>"));
    assert!(goods.contains("<ПометкаУдаления>true</ПометкаУдаления>"));
    assert!(text(&dir, "units/units.xml").contains("<Код>796 </Код>"));
    let props = s
        .files
        .iter()
        .find(|f| f.starts_with("propertiesGoods/"))
        .unwrap();
    let props = text(&dir, props);
    assert!(props.contains("<ТипЗначений>Справочник</ТипЗначений>"));
    assert!(props.contains("<ТипЗначений>Число</ТипЗначений>"));
    assert!(props.contains("<ИдЗначения>"));

    let offers = text(&dir, "offers/offers.xml");
    assert!(offers.contains("#</Ид>"), "an empty-tail offer id");
    assert!(offers.contains("<Наименование>Размер</Наименование>"));
    assert!(offers.contains("<Наименование>Цвет</Наименование>"));
    let prices = text(&dir, "prices/prices.xml");
    assert!(prices.contains("\u{a0}") && prices.contains(",50 руб</Представление>"));
    assert!(prices.contains(".50</ЦенаЗаЕдиницу>"));
    let rests = text(&dir, "rests/rests.xml");
    assert!(rests.contains("<Количество>0</Количество>"));
    assert!(
        blocks(&rests, "Количество").iter().any(|q| q.contains('.')),
        "fractional stock"
    );

    let customers = text(&dir, "contragents/contragents.xml");
    assert!(customers.contains("<КПП/>") || customers.contains("<КПП></КПП>"));
    assert!(customers.contains("&quot;") && customers.contains("&amp;"));
    assert!(customers.contains("<РасчетныеСчета>") && customers.contains("<АдресРегистрации>"));
    assert!(s.customers_deleted >= 1);
    // Variants are about 30 % of products, each with 2–5 offers.
    let with_variants = s.products - s.own_offers;
    assert!(with_variants > 60 && with_variants < 200, "{with_variants}");
    assert!(s.variants >= 2 * with_variants && s.variants <= 5 * with_variants);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn format_2x() {
    let dir = temp_dir("v2x");
    let s = generate(&opts(200, 25, 4, Format::V2x), &dir).unwrap();
    assert_eq!(s.format, Format::V2x);
    assert_eq!(
        s.files,
        vec!["import.xml".to_string(), "offers.xml".to_string()]
    );
    assert_eq!(tree(&dir).len(), 2);
    assert_eq!(s.customers, 0, "no customer lists in 2.x");
    assert_eq!(s.prices_unknown_offer, 0);
    assert_eq!(s.rests_unknown_offer, 0);

    let import = text(&dir, "import.xml");
    assert!(import.contains("xmlns=\"urn:1C.ru:commerceml_2\""));
    assert!(import.contains("ВерсияСхемы=\"2.08\""));
    assert!(import.contains("<Классификатор>") && import.contains("<Свойства>"));
    let goods = blocks(&import, "Товар");
    assert_eq!(goods.len(), s.products);
    let deleted = goods
        .iter()
        .filter(|g| field(g, "Статус") == "Удален")
        .count();
    assert_eq!(deleted, s.products_deleted);
    assert!(goods.iter().any(|g| field(g, "Статус") == "Изменен"));
    assert_eq!(import.matches("<Группа>").count(), s.categories);
    assert_eq!(import.matches("<Свойство>").count(), s.properties);
    let units: HashSet<&str> = import
        .match_indices("<БазоваяЕдиница Код=\"")
        .map(|(i, m)| &import[i + m.len()..i + m.len() + 3])
        .collect();
    assert_eq!(units.len(), s.units);
    let product_ids: HashSet<&str> = goods.iter().map(|g| field(g, "Ид")).collect();

    let offers = text(&dir, "offers.xml");
    assert!(!offers.contains("xmlns="), "offers.xml without a namespace");
    assert_eq!(offers.matches("<ТипЦены>").count(), s.price_types);
    assert_eq!(blocks(&offers, "Склады").len(), 1);
    let (counts, known) = known_offers(&offers, &product_ids);
    let (mut price_rows, mut stock_rows) = (0, 0);
    let mut total = 0u128;
    for rec in known {
        price_rows += rec.matches("<Цена>").count();
        let mut sum = 0u128;
        for (i, m) in rec.match_indices("КоличествоНаСкладе=\"") {
            let v = &rec[i + m.len()..];
            let q = decimal(&v[..v.find('"').unwrap()], 3);
            sum += q;
            stock_rows += 1;
        }
        assert_eq!(
            decimal(field(rec, "Количество"), 3),
            sum,
            "total = sum of warehouses"
        );
        total += sum;
    }
    assert_eq!(
        (counts.variants, counts.own, counts.unknown),
        (s.variants, s.own_offers, s.offers_unknown_product)
    );
    assert!(counts.unknown >= 1);
    assert_eq!(price_rows, s.price_rows);
    assert_eq!(stock_rows, s.stock_rows);
    assert_eq!(decimal(&s.stock_total, 3), total);
    let ex = s.example_variant.as_ref().unwrap();
    let rec = blocks(&offers, "Предложение")
        .into_iter()
        .find(|r| field(r, "Ид") == ex.id)
        .unwrap();
    let prices: Vec<(String, String)> = blocks(rec, "Цена")
        .iter()
        .map(|p| {
            (
                field(p, "ИдТипаЦены").to_string(),
                canonical(field(p, "ЦенаЗаЕдиницу")),
            )
        })
        .collect();
    assert_eq!(prices, ex.prices);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn stale_files_are_removed_and_others_kept() {
    let dir = temp_dir("stale");
    let big = Options {
        goods_per_segment: 5,
        ..opts(12, 5, 8, Format::V31)
    };
    let s1 = generate(&big, &dir).unwrap();
    assert_eq!(
        s1.files.iter().filter(|f| f.starts_with("goods/")).count(),
        3
    );
    // Files the generator never writes.
    fs::write(dir.join("notes.txt"), "keep").unwrap();
    fs::write(dir.join("goods/notes.txt"), "keep").unwrap();
    fs::write(dir.join("goods/goods_1_9_not-a-guid.xml"), "keep").unwrap();
    fs::create_dir_all(dir.join("goods/import_files/ab")).unwrap();
    fs::write(dir.join("goods/import_files/ab/x.jpg"), "keep").unwrap();
    let unrelated = [
        "notes.txt",
        "goods/notes.txt",
        "goods/goods_1_9_not-a-guid.xml",
        "goods/import_files/ab/x.jpg",
    ];

    // Fewer products, no customers: extra segments and contragents go away.
    let small = Options {
        goods_per_segment: 5,
        ..opts(4, 0, 8, Format::V31)
    };
    let s2 = generate(&small, &dir).unwrap();
    let t = tree(&dir);
    let mut expected: Vec<String> = s2.files.clone();
    expected.extend(unrelated.iter().map(|s| s.to_string()));
    expected.sort();
    assert_eq!(t.keys().cloned().collect::<Vec<_>>(), expected);
    assert!(!dir.join("contragents").exists());

    // Same options into a fresh directory give the same generated files.
    let fresh = temp_dir("stale-fresh");
    generate(&small, &fresh).unwrap();
    let mut t2 = tree(&dir);
    for u in unrelated {
        t2.remove(u);
    }
    assert_eq!(t2, tree(&fresh));

    // Switching formats removes the other format's files and emptied folders.
    let s3 = generate(&opts(4, 0, 8, Format::V2x), &dir).unwrap();
    let mut expected: Vec<String> = s3.files.clone();
    expected.extend(unrelated.iter().map(|s| s.to_string()));
    expected.sort();
    assert_eq!(tree(&dir).keys().cloned().collect::<Vec<_>>(), expected);
    assert!(!dir.join("offers").exists() && !dir.join("groups").exists());
    let s4 = generate(&small, &dir).unwrap();
    assert!(!dir.join("import.xml").exists() && !dir.join("offers.xml").exists());
    assert_eq!(s4, s2);
    fs::remove_dir_all(dir).unwrap();
    fs::remove_dir_all(fresh).unwrap();
}

#[test]
fn broken_goods_helper() {
    for format in [Format::V31, Format::V2x] {
        let dir = temp_dir(&format!("broken-{format}"));
        let o = Options {
            goods_per_segment: 10,
            ..opts(25, 0, 6, format)
        };
        generate(&o, &dir).unwrap();
        let before = tree(&dir);
        let path = write_broken_goods(&dir).unwrap();
        let rel = path
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        match format {
            Format::V31 => assert!(rel.starts_with("goods/goods_1_1_"), "{rel}"),
            Format::V2x => assert_eq!(rel, "import.xml"),
        }
        let after = fs::read(&path).unwrap();
        let original = &before[&rel];
        assert!(after.len() < original.len() / 2);
        assert!(original.starts_with(&after));
        let s = String::from_utf8(after.clone()).expect("still valid UTF-8");
        assert_eq!(
            s.matches("<Товар>").count(),
            2,
            "cut inside the second record"
        );
        assert_eq!(s.matches("</Товар>").count(), 1);
        assert!(well_formed(&after).is_err());
        // Only that file changed.
        let mut now = tree(&dir);
        now.remove(&rel);
        let mut was = before.clone();
        was.remove(&rel);
        assert_eq!(now, was);
        // Generating again repairs it.
        generate(&o, &dir).unwrap();
        assert_eq!(tree(&dir), before);
        fs::remove_dir_all(dir).unwrap();
    }
    let empty = temp_dir("broken-none");
    assert_eq!(
        write_broken_goods(&empty).unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );
    fs::remove_dir_all(empty).unwrap();
}

#[test]
fn summary_json_has_stable_keys() {
    let dir = temp_dir("json");
    let s = generate(&opts(10, 2, 3, Format::V31), &dir).unwrap();
    let j = s.to_json();
    let keys = [
        "format",
        "files",
        "products",
        "products_deleted",
        "variants",
        "own_offers",
        "offers_deleted",
        "categories",
        "price_types",
        "warehouses",
        "units",
        "properties",
        "customers",
        "customers_deleted",
        "price_rows",
        "stock_rows",
        "stock_total",
        "offers_unknown_product",
        "prices_unknown_offer",
        "rests_unknown_offer",
        "example_product",
        "example_variant",
        "example_own_offer",
        "example_empty_tail_offer",
        "example_customer",
    ];
    let mut last = 0;
    for k in keys {
        let pos = j
            .find(&format!("\n  \"{k}\": "))
            .unwrap_or_else(|| panic!("{k}"));
        assert!(pos >= last, "{k} out of order");
        last = pos;
    }
    assert!(j.contains(&format!("\"products\": {},", s.products)));
    assert!(j.contains(&format!("\"stock_total\": \"{}\"", s.stock_total)));
    assert_eq!(j.matches('{').count(), j.matches('}').count());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn tiny_catalogs() {
    for products in [0, 1, 2] {
        let dir = temp_dir(&format!("tiny-{products}"));
        let s = generate(&opts(products, 0, 1, Format::V31), &dir).unwrap();
        assert_eq!(s.products, products);
        for (rel, bytes) in tree(&dir) {
            well_formed(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        }
        if products == 0 {
            assert_eq!(
                s.files.iter().filter(|f| f.starts_with("goods/")).count(),
                0
            );
            assert_eq!(s.price_rows, 0);
        }
        fs::remove_dir_all(dir).unwrap();
    }
}
