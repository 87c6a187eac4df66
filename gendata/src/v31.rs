//! CommerceML 3.1, layout 1 of the guide: one folder per kind, goods in numbered segments.

use std::io;

use crate::Format;
use crate::layout::Kind;
use crate::model::{Offer, Plan, UNITS};
use crate::num::qty_machine;
use crate::records;
use crate::rng::tag;
use crate::summary::{ExampleCustomer, Summary};
use crate::xml::{Empty, Xml};

const CATALOG_NAME: &str = "Товары 1С";

/// Writes what stands inside the root element of one file of `kind` and fills `s`; returns the
/// stock the file lands, in thousandths. [`records::write_files`] runs it for every file.
pub(crate) fn write(x: &mut Xml, plan: &Plan, kind: &Kind, s: &mut Summary) -> io::Result<u128> {
    let mut stock_milli: u128 = 0;
    match kind {
        Kind::Groups => {
            classifier(x, plan, |x| records::write_groups(x, plan, Format::V31))?;
            s.categories = plan.groups.len();
        }
        Kind::Units => {
            classifier(x, plan, units)?;
            s.units = UNITS.len();
        }
        Kind::Properties => {
            classifier(x, plan, |x| records::write_properties(x, plan, Format::V31))?;
            s.properties = plan.properties.len();
        }
        Kind::PriceLists => {
            classifier(x, plan, |x| price_types(x, plan))?;
            s.price_types = plan.price_types.len();
        }
        Kind::Storages => {
            classifier(x, plan, |x| storages(x, plan))?;
            s.warehouses = plan.warehouses.len();
        }
        Kind::Goods(range) => {
            x.open_attrs("Каталог", &[("СодержитТолькоИзменения", "true")])?;
            catalog_header(x, plan)?;
            x.open("Товары")?;
            for i in range.clone() {
                records::write_product(x, plan, &plan.product(i), Format::V31, s)?;
            }
            x.close("Товары")?;
            x.close("Каталог")?;
        }
        Kind::Offers => package(x, plan, |x| {
            plan.for_each_offer(|p, o| {
                x.open("Предложение")?;
                x.leaf("Ид", &o.raw_id())?;
                x.leaf_raw("НомерВерсии", b"AAAAAAAAAAE=")?;
                x.leaf_bool("ПометкаУдаления", o.deleted)?;
                x.leaf("Наименование", &o.name)?;
                records::write_characteristics(x, o, Format::V31)?;
                x.close("Предложение")?;
                records::note_offer(s, plan, p, o);
                Ok(())
            })
        })?,
        Kind::Prices => offer_records(x, plan, tag::PHANTOM_PRICE, |x, o| {
            records::write_prices(x, plan, o, Format::V31)?;
            records::note_prices(s, o);
            Ok(())
        })?,
        Kind::Rests => offer_records(x, plan, tag::PHANTOM_REST, |x, o| {
            x.open("Остатки")?;
            for (w, &q) in plan.warehouses.iter().zip(&o.stock) {
                x.open("Остаток")?;
                x.open("Склад")?;
                x.leaf_guid("Ид", w.id)?;
                x.leaf("Количество", &qty_machine(q))?;
                x.close("Склад")?;
                x.close("Остаток")?;
            }
            x.close("Остатки")?;
            stock_milli += records::note_rests(s, o);
            Ok(())
        })?,
        Kind::Contragents => contragents(x, plan, s)?,
        Kind::Import2 | Kind::Offers2 => {
            return Err(io::Error::other("2.x file in a 3.1 layout"));
        }
    }
    Ok(stock_milli)
}

fn catalog_header(x: &mut Xml, plan: &Plan) -> io::Result<()> {
    x.leaf_guid("Ид", plan.catalog_id)?;
    x.leaf_guid("ИдКлассификатора", plan.catalog_id)?;
    x.leaf("Наименование", CATALOG_NAME)
}

/// The small `Каталог` header and a `Классификатор` around one list.
fn classifier(
    x: &mut Xml,
    plan: &Plan,
    body: impl FnOnce(&mut Xml) -> io::Result<()>,
) -> io::Result<()> {
    x.open_attrs("Каталог", &[("СодержитТолькоИзменения", "true")])?;
    catalog_header(x, plan)?;
    x.leaf("Описание", CATALOG_NAME)?;
    x.close("Каталог")?;
    x.open_attrs("Классификатор", &[("СодержитТолькоИзменения", "true")])?;
    x.leaf_guid("Ид", plan.catalog_id)?;
    x.leaf("Наименование", CATALOG_NAME)?;
    body(x)?;
    x.close("Классификатор")
}

/// `ПакетПредложений` header around `Предложения`.
fn package(
    x: &mut Xml,
    plan: &Plan,
    body: impl FnOnce(&mut Xml) -> io::Result<()>,
) -> io::Result<()> {
    records::open_package(x, plan, Format::V31, CATALOG_NAME)?;
    x.open("Предложения")?;
    body(x)?;
    x.close("Предложения")?;
    x.close("ПакетПредложений")
}

/// The package of a prices or rests file: a `Предложение` record for every offer of the plan
/// and, after some, one for a phantom offer (`phantom` is its tag) that exists nowhere.
/// `record` writes what follows the record's `Ид` and notes it in the oracle.
fn offer_records(
    x: &mut Xml,
    plan: &Plan,
    phantom: u64,
    mut record: impl FnMut(&mut Xml, &Offer) -> io::Result<()>,
) -> io::Result<()> {
    package(x, plan, |x| {
        let mut ordinal = 0;
        plan.for_each_offer(|_, o| {
            let phantom = plan.phantom_after(phantom, ordinal);
            for o in [Some(o), phantom.as_ref()].into_iter().flatten() {
                x.open("Предложение")?;
                x.leaf("Ид", &o.raw_id())?;
                record(x, o)?;
                x.close("Предложение")?;
            }
            ordinal += 1;
            Ok(())
        })
    })
}

fn units(x: &mut Xml) -> io::Result<()> {
    x.open("ЕдиницыИзмерения")?;
    for (i, u) in UNITS.iter().enumerate() {
        x.open("ЕдиницаИзмерения")?;
        x.leaf("Ид", u.code)?;
        x.leaf_raw("НомерВерсии", b"AAAAAAAAAAE=")?;
        x.leaf_bool("ПометкаУдаления", false)?;
        x.leaf("НаименованиеКраткое", u.short)?;
        x.leaf("Код", u.code)?;
        x.leaf("НаименованиеПолное", u.full)?;
        if i % 2 == 0 {
            x.leaf("МеждународноеСокращение", u.intl)?;
        } else {
            x.empty("МеждународноеСокращение", Empty::by(i as u64))?;
        }
        x.close("ЕдиницаИзмерения")?;
    }
    x.close("ЕдиницыИзмерения")
}

pub(crate) fn price_types(x: &mut Xml, plan: &Plan) -> io::Result<()> {
    x.open("ТипыЦен")?;
    for pt in &plan.price_types {
        x.open("ТипЦены")?;
        x.leaf_guid("Ид", pt.id)?;
        x.leaf_raw("НомерВерсии", b"AAAAAAAAAAE=")?;
        x.leaf_bool("ПометкаУдаления", false)?;
        x.leaf("Наименование", pt.name)?;
        x.leaf("Валюта", "RUB")?;
        records::write_tax(x, true)?;
        x.close("ТипЦены")?;
    }
    x.close("ТипыЦен")
}

fn storages(x: &mut Xml, plan: &Plan) -> io::Result<()> {
    x.open("Склады")?;
    for w in &plan.warehouses {
        x.open("Склад")?;
        x.leaf_guid("Ид", w.id)?;
        x.leaf_raw("НомерВерсии", b"AAAAAAAAAAI=")?;
        x.leaf_bool("ПометкаУдаления", false)?;
        x.leaf("Наименование", w.name)?;
        x.close("Склад")?;
    }
    x.close("Склады")
}

fn contragents(x: &mut Xml, plan: &Plan, s: &mut Summary) -> io::Result<()> {
    x.open_attrs("Контрагенты", &[("СодержитТолькоИзменения", "false")])?;
    for i in 0..plan.customers {
        let c = plan.customer(i);
        x.open("Контрагент")?;
        x.leaf_guid("Ид", c.id)?;
        x.leaf_raw("НомерВерсии", b"AAAAAAAAAAE=")?;
        x.leaf_bool("ПометкаУдаления", c.deleted)?;
        x.leaf("Наименование", &c.name)?;
        x.leaf("ПолноеНаименование", &c.full_name)?;
        x.leaf("Роль", "Покупатель")?;
        x.leaf("ИНН", &c.inn)?;
        match &c.kpp {
            Some(kpp) => x.leaf("КПП", kpp)?,
            None => x.empty("КПП", Empty::by(i as u64))?,
        }
        match &c.okpo {
            Some(okpo) => x.leaf("КодПоОКПО", okpo)?,
            None => x.empty("КодПоОКПО", Empty::by(i as u64 + 1))?,
        }
        x.open("РасчетныеСчета")?;
        x.open("РасчетныйСчет")?;
        x.leaf("НомерСчета", &c.account)?;
        x.open("Банк")?;
        x.leaf("СчетКорреспондентский", &c.corr)?;
        x.leaf("Наименование", c.bank)?;
        x.leaf("БИК", &c.bik)?;
        x.close("Банк")?;
        x.close("РасчетныйСчет")?;
        x.close("РасчетныеСчета")?;
        x.open("АдресРегистрации")?;
        x.leaf(
            "Представление",
            &format!("{}, {}, {}, д. {}", c.zip, c.city, c.street, c.house),
        )?;
        for (kind, value) in [
            ("Почтовый индекс", c.zip.as_str()),
            ("Город", c.city),
            ("Улица", c.street),
            ("Дом", &c.house.to_string()),
        ] {
            x.open("АдресноеПоле")?;
            x.leaf("Тип", kind)?;
            x.leaf("Значение", value)?;
            x.close("АдресноеПоле")?;
        }
        x.close("АдресРегистрации")?;
        x.open("Контакты")?;
        for (kind, value) in [("Почта", &c.email), ("Телефон рабочий", &c.phone)]
        {
            x.open("Контакт")?;
            x.leaf("Тип", kind)?;
            x.leaf("Значение", value)?;
            x.close("Контакт")?;
        }
        x.close("Контакты")?;
        if !c.legal {
            x.empty("Представители", Empty::by(i as u64))?;
        }
        x.close("Контрагент")?;
        s.customers += 1;
        s.customers_deleted += usize::from(c.deleted);
        if s.example_customer.is_none() && !c.deleted {
            s.example_customer = Some(ExampleCustomer {
                id: c.id.to_string(),
                name: c.name.clone(),
                inn: c.inn.clone(),
            });
        }
    }
    x.close("Контрагенты")
}
