//! What both formats share: the loop over the files of a layout, record writers (goods, offer
//! characteristics, prices) and the bookkeeping that fills the [`Summary`] oracle as records
//! are written.

use std::fs;
use std::io;
use std::path::Path;

use crate::Format;
use crate::layout::{FileSpec, Kind};
use crate::model::{
    COLORS, COUNTRIES, Offer, PROP_BRAND, PROP_COLOR, PROP_MATERIAL, PROP_WATERPROOF, PROP_WEIGHT,
    Plan, Product, PropKind, UNITS, Unit,
};
use crate::num::{NBSP, canonical, canonical_u128, price_human, price_machine, tenths_human};
use crate::rng::{Guid, Rng, tag};
use crate::summary::{ExampleOffer, ExampleProduct, Summary};
use crate::xml::{Empty, Xml};

const ROOT: &str = "КоммерческаяИнформация";

/// Writes every file of `files` under `out` (creating its folder) as one `КоммерческаяИнформация`
/// document of `format`, and fills `s`. `write_file` writes what stands inside the root element
/// of one file of the given kind and returns the stock, in thousandths, that the file lands;
/// their sum becomes `s.stock_total`. `on_file` is told after each file.
///
/// The root carries the namespace declarations in every file but 2.x `offers.xml`, as old
/// exports do.
pub(crate) fn write_files(
    plan: &Plan,
    format: Format,
    out: &Path,
    files: &[FileSpec],
    s: &mut Summary,
    on_file: &mut dyn FnMut(&FileSpec, &Summary),
    write_file: impl Fn(&mut Xml, &Plan, &Kind, &mut Summary) -> io::Result<u128>,
) -> io::Result<()> {
    let mut stock_milli: u128 = 0;
    for f in files {
        let path = out.join(&f.rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut x = Xml::create(&path, f.bom)?;
        let namespace = f.kind != Kind::Offers2;
        x.open_attrs(ROOT, &root_attrs(plan, format, namespace))?;
        stock_milli += write_file(&mut x, plan, &f.kind, s)?;
        x.close(ROOT)?;
        x.finish()?;
        s.files.push(f.rel.clone());
        on_file(f, s);
    }
    s.stock_total = canonical_u128(stock_milli, 3);
    Ok(())
}

/// Root attributes of `КоммерческаяИнформация`.
fn root_attrs(plan: &Plan, format: Format, namespace: bool) -> Vec<(&'static str, &str)> {
    let mut v = Vec::new();
    if namespace {
        v.push((
            "xmlns",
            match format {
                Format::V31 => "urn:1C.ru:commerceml_3",
                Format::V2x => "urn:1C.ru:commerceml_2",
            },
        ));
        v.push(("xmlns:xs", "http://www.w3.org/2001/XMLSchema"));
        v.push(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
    }
    v.push((
        "ВерсияСхемы",
        match format {
            Format::V31 => "3.1",
            Format::V2x => "2.08",
        },
    ));
    v.push(("ДатаФормирования", plan.date.as_str()));
    if format == Format::V31 {
        v.push(("Ид", "Обмен с сайтом"));
    }
    v
}

/// `Группы/Группа` recursively.
pub(crate) fn write_groups(x: &mut Xml, plan: &Plan, format: Format) -> io::Result<()> {
    fn group(x: &mut Xml, plan: &Plan, format: Format, i: usize) -> io::Result<()> {
        let g = &plan.groups[i];
        x.open("Группа")?;
        x.leaf_guid("Ид", g.id)?;
        if format == Format::V31 {
            x.leaf_raw("НомерВерсии", b"AAAAAAAAAAE=")?;
            x.leaf_bool("ПометкаУдаления", false)?;
        }
        x.leaf("Наименование", &g.name)?;
        if !g.children.is_empty() {
            x.open("Группы")?;
            for &c in &g.children {
                group(x, plan, format, c)?;
            }
            x.close("Группы")?;
        }
        x.close("Группа")
    }
    x.open("Группы")?;
    for i in 0..plan.groups.len() {
        if plan.groups[i].parent.is_none() {
            group(x, plan, format, i)?;
        }
    }
    x.close("Группы")
}

/// `Свойства/Свойство` with value lists.
pub(crate) fn write_properties(x: &mut Xml, plan: &Plan, format: Format) -> io::Result<()> {
    x.open("Свойства")?;
    for p in &plan.properties {
        x.open("Свойство")?;
        x.leaf_guid("Ид", p.id)?;
        x.leaf("Наименование", p.name)?;
        if format == Format::V31 {
            x.leaf_raw("НомерВерсии", b"AAAAAAAAAAE=")?;
            x.leaf_bool("ПометкаУдаления", false)?;
        }
        x.leaf("ТипЗначений", p.kind.name())?;
        if p.kind == PropKind::Directory {
            x.open("ВариантыЗначений")?;
            for (id, v) in &p.values {
                x.open("Справочник")?;
                x.leaf_guid("ИдЗначения", *id)?;
                x.leaf("Значение", v)?;
                x.close("Справочник")?;
            }
            x.close("ВариантыЗначений")?;
        }
        x.close("Свойство")?;
    }
    x.close("Свойства")
}

/// `Налог` of a price type or price.
pub(crate) fn write_tax(x: &mut Xml, excise: bool) -> io::Result<()> {
    x.open("Налог")?;
    x.leaf("Наименование", "НДС")?;
    x.leaf_bool("УчтеноВСумме", true)?;
    if excise {
        x.leaf_bool("Акциз", false)?;
    }
    x.close("Налог")
}

/// `БазоваяЕдиница` as 2.x writes it in goods and offers: the short name, with the code, full
/// name and international abbreviation as attributes (3.1 writes only the code).
pub(crate) fn write_base_unit_2x(x: &mut Xml, unit: &Unit) -> io::Result<()> {
    x.leaf_attrs(
        "БазоваяЕдиница",
        &[
            ("Код", unit.code_trim),
            ("НаименованиеПолное", unit.full.trim_end()),
            ("МеждународноеСокращение", unit.intl),
        ],
        unit.short,
    )
}

/// Opens `ПакетПредложений` and writes its header. The package `Ид` is the catalog GUID with a
/// `#`, before it in 3.1 and after it in 2.x; 3.1 marks the package as changes only.
pub(crate) fn open_package(
    x: &mut Xml,
    plan: &Plan,
    format: Format,
    catalog_name: &str,
) -> io::Result<()> {
    let (only_changes, id) = match format {
        Format::V31 => ("true", format!("#{}", plan.catalog_id)),
        Format::V2x => ("false", format!("{}#", plan.catalog_id)),
    };
    x.open_attrs(
        "ПакетПредложений",
        &[("СодержитТолькоИзменения", only_changes)],
    )?;
    x.leaf("Ид", &id)?;
    x.leaf(
        "Наименование",
        &format!("Пакет предложений ({catalog_name})"),
    )?;
    x.leaf_guid("ИдКаталога", plan.catalog_id)?;
    x.leaf_guid("ИдКлассификатора", plan.catalog_id)
}

/// An EAN-13 with a Russian prefix and a valid check digit.
fn ean13(r: &mut Rng) -> String {
    let mut d = vec![4u32, 6, 0];
    for _ in 0..9 {
        d.push(r.below(10) as u32);
    }
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { *v } else { v * 3 })
        .sum();
    d.push((10 - sum % 10) % 10);
    d.iter().map(|v| char::from(b'0' + *v as u8)).collect()
}

/// One `Товар`. Updates product counts of `s`.
pub(crate) fn write_product(
    x: &mut Xml,
    plan: &Plan,
    p: &Product,
    format: Format,
    s: &mut Summary,
) -> io::Result<()> {
    let mut r = Rng::stream(plan.seed, tag::PRODUCT, p.index as u64, 1);
    let unit = &UNITS[p.unit];
    x.open("Товар")?;
    x.leaf_guid("Ид", p.id)?;
    if format == Format::V31 {
        x.leaf_raw("НомерВерсии", b"AAAAAAAAAAI=")?;
        x.leaf_bool("ПометкаУдаления", p.deleted)?;
    }
    match r.below(20) {
        0..=11 => x.leaf("Штрихкод", &ean13(&mut r))?,
        n => x.empty("Штрихкод", Empty::by(n))?,
    }
    x.leaf("Артикул", &p.article())?;
    x.leaf("Наименование", &p.name)?;
    match format {
        Format::V31 => x.leaf("БазоваяЕдиница", unit.code)?,
        Format::V2x => write_base_unit_2x(x, unit)?,
    }
    x.open("Группы")?;
    x.leaf_guid("Ид", plan.groups[p.group].id)?;
    x.close("Группы")?;
    let material = r.index(plan.properties[PROP_MATERIAL].values.len());
    let brand = crate::model::Plan::brand(p.brand);
    match r.below(10) {
        // Descriptions are HTML; the writer escapes it (`&lt;p&gt;…`), as 1C does.
        0..=7 => x.leaf_parts(
            "Описание",
            &[
                "<p>",
                &p.name,
                " — надёжный выбор для тренировок и отдыха.</p><ul><li>Материал: ",
                plan.properties[PROP_MATERIAL].values[material].1,
                "</li><li>Бренд: ",
                brand,
                "</li></ul>",
            ],
        )?,
        n => x.empty("Описание", Empty::by(n))?,
    }
    let id = p.id.bytes();
    for _ in 0..r.below(4) {
        let img = r.guid().bytes();
        let mut path = Vec::with_capacity(96);
        path.extend_from_slice(b"import_files/");
        path.extend_from_slice(&id[..2]);
        path.push(b'/');
        path.extend_from_slice(&id);
        path.push(b'_');
        path.extend_from_slice(&img);
        path.extend_from_slice(b".jpg");
        x.leaf_raw("Картинка", &path)?;
    }
    if r.chance(400) {
        x.open("Изготовитель")?;
        x.leaf_guid("Ид", plan.manufacturer_id(p.brand))?;
        x.leaf("Наименование", brand)?;
        x.close("Изготовитель")?;
    }
    x.leaf("Страна", r.pick_str(&COUNTRIES))?;
    x.open("ЗначенияСвойств")?;
    for (k, prop) in plan.properties.iter().enumerate() {
        x.open("ЗначенияСвойства")?;
        x.leaf_guid("Ид", prop.id)?;
        let roll = r.below(100);
        match k {
            PROP_COLOR | PROP_MATERIAL => {
                let value = if k == PROP_COLOR {
                    p.color.min(COLORS.len() - 1)
                } else {
                    material
                };
                if roll < 80 {
                    x.leaf_guid("Значение", prop.values[value].0)?;
                } else {
                    // 1C writes the empty reference as the zero GUID.
                    x.leaf_guid("Значение", Guid::ZERO)?;
                }
            }
            PROP_WEIGHT => match roll {
                0..=79 => x.leaf("Значение", &tenths_human(r.range(1, 250)))?,
                80..=91 => {
                    let marker = format!("-999{NBSP}999{NBSP}999,9");
                    x.leaf("Значение", &marker)?
                }
                _ => x.leaf_raw("Значение", b"-999999999.9")?,
            },
            PROP_BRAND => match roll {
                0..=69 => x.leaf("Значение", brand)?,
                n => x.empty("Значение", Empty::by(n))?,
            },
            PROP_WATERPROOF => x.leaf_bool("Значение", roll < 30)?,
            _ => x.empty("Значение", Empty::SelfClosing)?,
        }
        x.close("ЗначенияСвойства")?;
    }
    x.close("ЗначенияСвойств")?;
    x.open("СтавкиНалогов")?;
    x.open("СтавкаНалога")?;
    x.leaf("Наименование", "НДС")?;
    x.leaf_raw("Ставка", if r.chance(900) { b"20" } else { b"10" })?;
    x.close("СтавкаНалога")?;
    x.close("СтавкиНалогов")?;
    x.open("ЗначенияРеквизитов")?;
    for (name, value) in [
        ("ВидНоменклатуры", "Товар"),
        ("ТипНоменклатуры", "Товар"),
        ("Полное наименование", p.name.as_str()),
    ] {
        x.open("ЗначениеРеквизита")?;
        x.leaf("Наименование", name)?;
        x.leaf("Значение", value)?;
        x.close("ЗначениеРеквизита")?;
    }
    x.close("ЗначенияРеквизитов")?;
    match format {
        Format::V31 => {
            for dim in ["Ширина", "Длина", "Высота"] {
                x.leaf_raw(dim, b"0")?;
            }
        }
        Format::V2x => {
            if p.deleted {
                x.leaf("Статус", "Удален")?;
            } else if r.chance(50) {
                x.leaf("Статус", "Изменен")?;
            }
        }
    }
    x.close("Товар")?;
    s.products += 1;
    s.products_deleted += usize::from(p.deleted);
    if s.example_product.is_none() && !p.deleted {
        s.example_product = Some(ExampleProduct {
            id: p.id.to_string(),
            article: p.article(),
            name: p.name.clone(),
            category_id: plan.groups[p.group].id.to_string(),
            unit_code: unit.code_trim.to_string(),
            variants: p.variants,
        });
    }
    Ok(())
}

/// `ХарактеристикиТовара` of an offer (an empty open/close pair for own offers, as 1C does
/// in 3.1; omitted in 2.x).
pub(crate) fn write_characteristics(x: &mut Xml, o: &Offer, format: Format) -> io::Result<()> {
    if o.size.is_none() && o.color.is_none() && o.box_weight.is_none() {
        if format == Format::V31 {
            x.open("ХарактеристикиТовара")?;
            x.close("ХарактеристикиТовара")?;
        }
        return Ok(());
    }
    x.open("ХарактеристикиТовара")?;
    let one = |x: &mut Xml, name: &str, value: &str| -> io::Result<()> {
        x.open("ХарактеристикаТовара")?;
        x.leaf("Наименование", name)?;
        x.leaf("Значение", value)?;
        x.close("ХарактеристикаТовара")
    };
    if let Some(size) = o.size {
        one(x, "Размер", size)?;
    }
    if let Some(color) = o.color {
        one(x, "Цвет", color)?;
    }
    match o.box_weight {
        Some(Some(tenths)) => one(x, "Вес коробки (кг)", &tenths_human(tenths))?,
        Some(None) => one(x, "Вес коробки (кг)", &format!("-999{NBSP}999{NBSP}999,9"))?,
        None => {}
    }
    x.close("ХарактеристикиТовара")
}

/// `Цены/Цена` for every price type.
pub(crate) fn write_prices(x: &mut Xml, plan: &Plan, o: &Offer, format: Format) -> io::Result<()> {
    x.open("Цены")?;
    for (pt, &kop) in plan.price_types.iter().zip(&o.prices) {
        x.open("Цена")?;
        x.leaf("Представление", &price_human(kop))?;
        x.leaf_guid("ИдТипаЦены", pt.id)?;
        x.leaf("ЦенаЗаЕдиницу", &price_machine(kop))?;
        match format {
            Format::V31 => {
                x.leaf("Валюта", "руб")?;
                write_tax(x, false)?;
            }
            Format::V2x => {
                x.leaf("Валюта", "RUB")?;
                x.leaf("Единица", UNITS[o.unit].short)?;
                x.leaf_raw("Коэффициент", b"1")?;
            }
        }
        x.close("Цена")?;
    }
    x.close("Цены")
}

fn example(plan: &Plan, o: &Offer) -> ExampleOffer {
    ExampleOffer {
        id: o.raw_id(),
        normalized_id: o.normalized_id(),
        product_id: o.product_id.to_string(),
        prices: plan
            .price_types
            .iter()
            .zip(&o.prices)
            .map(|(pt, &kop)| (pt.id.to_string(), canonical(kop, 2)))
            .collect(),
        stock: plan
            .warehouses
            .iter()
            .zip(&o.stock)
            .map(|(w, &milli)| (w.id.to_string(), canonical(milli, 3)))
            .collect(),
    }
}

/// Records an offer record of the offers file in the oracle.
pub(crate) fn note_offer(s: &mut Summary, plan: &Plan, p: Option<&Product>, o: &Offer) {
    let Some(p) = p.filter(|_| o.known) else {
        s.offers_unknown_product += 1;
        return;
    };
    if o.is_variant() {
        s.variants += 1;
    } else {
        s.own_offers += 1;
    }
    s.offers_deleted += usize::from(o.deleted);
    let live = !o.deleted && !p.deleted;
    if o.is_variant() {
        if live && s.example_variant.is_none() {
            s.example_variant = Some(example(plan, o));
        }
    } else if o.empty_tail {
        if s.example_empty_tail_offer.is_none() {
            s.example_empty_tail_offer = Some(example(plan, o));
        }
    } else if live && s.example_own_offer.is_none() {
        s.example_own_offer = Some(example(plan, o));
    }
}

/// Records the prices of one offer record (`known`: the offer landed).
pub(crate) fn note_prices(s: &mut Summary, o: &Offer) {
    if o.known {
        s.price_rows += o.prices.len();
    } else {
        s.prices_unknown_offer += 1;
    }
}

/// Records the stock of one offer record; returns the landed quantity in thousandths.
pub(crate) fn note_rests(s: &mut Summary, o: &Offer) -> u128 {
    if o.known {
        s.stock_rows += o.stock.len();
        o.stock.iter().map(|&q| u128::from(q)).sum()
    } else {
        s.rests_unknown_offer += 1;
        0
    }
}
