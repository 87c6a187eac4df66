//! CommerceML 2.x (ВерсияСхемы 2.08): `import.xml` (classifier + catalog) and `offers.xml`
//! (price types, warehouses, offers with prices and stock inline). `import.xml` carries the
//! `urn:1C.ru:commerceml_2` namespace, `offers.xml` none, as old exports do.

use std::io;
use std::path::Path;

use crate::Format;
use crate::layout::{FileSpec, Kind};
use crate::model::{Plan, UNITS};
use crate::num::{canonical_u128, qty_machine};
use crate::records::{
    note_offer, note_prices, note_rests, root_attrs, write_characteristics, write_groups,
    write_prices, write_product, write_properties, write_tax,
};
use crate::summary::Summary;
use crate::xml::Xml;

const ROOT: &str = "КоммерческаяИнформация";
const CATALOG_NAME: &str = "Основной каталог товаров";

/// Writes `import.xml` and `offers.xml` under `out` and fills `s`.
pub(crate) fn write(
    plan: &Plan,
    out: &Path,
    files: &[FileSpec],
    s: &mut Summary,
    on_file: &mut dyn FnMut(&FileSpec, &Summary),
) -> io::Result<()> {
    let mut stock_milli: u128 = 0;
    for f in files {
        let mut x = Xml::create(&out.join(&f.rel), f.bom)?;
        match f.kind {
            Kind::Import2 => {
                x.open_attrs(ROOT, &root_attrs(plan, Format::V2x, true))?;
                x.open("Классификатор")?;
                x.leaf_guid("Ид", plan.catalog_id)?;
                x.leaf("Наименование", &format!("Классификатор ({CATALOG_NAME})"))?;
                write_groups(&mut x, plan, Format::V2x)?;
                write_properties(&mut x, plan, Format::V2x)?;
                x.close("Классификатор")?;
                x.open_attrs("Каталог", &[("СодержитТолькоИзменения", "false")])?;
                x.leaf_guid("Ид", plan.catalog_id)?;
                x.leaf_guid("ИдКлассификатора", plan.catalog_id)?;
                x.leaf("Наименование", CATALOG_NAME)?;
                x.open("Товары")?;
                let mut used_units = [false; UNITS.len()];
                for i in 0..plan.products {
                    let p = plan.product(i);
                    used_units[p.unit] = true;
                    write_product(&mut x, plan, &p, Format::V2x, s)?;
                }
                x.close("Товары")?;
                x.close("Каталог")?;
                s.categories = plan.groups.len();
                s.properties = plan.properties.len();
                s.units = used_units.iter().filter(|u| **u).count();
            }
            Kind::Offers2 => {
                x.open_attrs(ROOT, &root_attrs(plan, Format::V2x, false))?;
                x.open_attrs("ПакетПредложений", &[("СодержитТолькоИзменения", "false")])?;
                x.leaf("Ид", &format!("{}#", plan.catalog_id))?;
                x.leaf(
                    "Наименование",
                    &format!("Пакет предложений ({CATALOG_NAME})"),
                )?;
                x.leaf_guid("ИдКаталога", plan.catalog_id)?;
                x.leaf_guid("ИдКлассификатора", plan.catalog_id)?;
                x.open("ТипыЦен")?;
                for pt in &plan.price_types {
                    x.open("ТипЦены")?;
                    x.leaf_guid("Ид", pt.id)?;
                    x.leaf("Наименование", pt.name)?;
                    x.leaf("Валюта", "RUB")?;
                    write_tax(&mut x, false)?;
                    x.close("ТипЦены")?;
                }
                x.close("ТипыЦен")?;
                x.open("Склады")?;
                for w in &plan.warehouses {
                    x.open("Склад")?;
                    x.leaf_guid("Ид", w.id)?;
                    x.leaf("Наименование", w.name)?;
                    x.close("Склад")?;
                }
                x.close("Склады")?;
                x.open("Предложения")?;
                plan.for_each_offer(|p, o| {
                    let unit = &UNITS[o.unit];
                    x.open("Предложение")?;
                    x.leaf("Ид", &o.raw_id())?;
                    x.leaf("Наименование", &o.name)?;
                    x.leaf_attrs(
                        "БазоваяЕдиница",
                        &[
                            ("Код", unit.code_trim),
                            ("НаименованиеПолное", unit.full.trim_end()),
                            ("МеждународноеСокращение", unit.intl),
                        ],
                        unit.short,
                    )?;
                    write_characteristics(&mut x, o, Format::V2x)?;
                    if o.deleted {
                        x.leaf_bool("ПометкаУдаления", true)?;
                    }
                    write_prices(&mut x, plan, o, Format::V2x)?;
                    x.leaf("Количество", &qty_machine(o.stock.iter().sum()))?;
                    for (w, &q) in plan.warehouses.iter().zip(&o.stock) {
                        x.empty_attrs(
                            "Склад",
                            &[
                                ("ИдСклада", &w.id.to_string()),
                                ("КоличествоНаСкладе", &qty_machine(q)),
                            ],
                        )?;
                    }
                    x.close("Предложение")?;
                    note_offer(s, plan, p, o);
                    // Prices and stock are inline: they land with their offer or not at all.
                    if o.known {
                        note_prices(s, o);
                        stock_milli += note_rests(s, o);
                    }
                    io::Result::Ok(())
                })?;
                x.close("Предложения")?;
                x.close("ПакетПредложений")?;
                s.price_types = plan.price_types.len();
                s.warehouses = plan.warehouses.len();
            }
            _ => return Err(io::Error::other("3.1 file in a 2.x layout")),
        }
        x.close(ROOT)?;
        x.finish()?;
        s.files.push(f.rel.clone());
        on_file(f, s);
    }
    s.stock_total = canonical_u128(stock_milli, 3);
    Ok(())
}
