//! CommerceML 2.x (ВерсияСхемы 2.08): `import.xml` (classifier + catalog) and `offers.xml`
//! (price types, warehouses, offers with prices and stock inline). `import.xml` carries the
//! `urn:1C.ru:commerceml_2` namespace, `offers.xml` none, as old exports do.

use std::io;

use crate::Format;
use crate::layout::Kind;
use crate::model::{Plan, UNITS};
use crate::num::qty_machine;
use crate::records;
use crate::summary::Summary;
use crate::xml::Xml;

const CATALOG_NAME: &str = "Основной каталог товаров";

/// Writes what stands inside the root element of one file of `kind` and fills `s`; returns the
/// stock the file lands, in thousandths. [`records::write_files`] runs it for every file.
pub(crate) fn write(x: &mut Xml, plan: &Plan, kind: &Kind, s: &mut Summary) -> io::Result<u128> {
    let mut stock_milli: u128 = 0;
    match kind {
        Kind::Import2 => {
            x.open("Классификатор")?;
            x.leaf_guid("Ид", plan.catalog_id)?;
            x.leaf("Наименование", &format!("Классификатор ({CATALOG_NAME})"))?;
            records::write_groups(x, plan, Format::V2x)?;
            records::write_properties(x, plan, Format::V2x)?;
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
                records::write_product(x, plan, &p, Format::V2x, s)?;
            }
            x.close("Товары")?;
            x.close("Каталог")?;
            s.categories = plan.groups.len();
            s.properties = plan.properties.len();
            s.units = used_units.iter().filter(|u| **u).count();
        }
        Kind::Offers2 => {
            records::open_package(x, plan, Format::V2x, CATALOG_NAME)?;
            x.open("ТипыЦен")?;
            for pt in &plan.price_types {
                x.open("ТипЦены")?;
                x.leaf_guid("Ид", pt.id)?;
                x.leaf("Наименование", pt.name)?;
                x.leaf("Валюта", "RUB")?;
                records::write_tax(x, false)?;
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
                x.open("Предложение")?;
                x.leaf("Ид", &o.raw_id())?;
                x.leaf("Наименование", &o.name)?;
                records::write_base_unit_2x(x, &UNITS[o.unit])?;
                records::write_characteristics(x, o, Format::V2x)?;
                if o.deleted {
                    x.leaf_bool("ПометкаУдаления", true)?;
                }
                records::write_prices(x, plan, o, Format::V2x)?;
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
                records::note_offer(s, plan, p, o);
                // Prices and stock are inline: they land with their offer or not at all.
                if o.known {
                    records::note_prices(s, o);
                    stock_milli += records::note_rests(s, o);
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
    Ok(stock_milli)
}
