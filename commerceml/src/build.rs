//! Builders that turn one buffered record (a flat node list, see
//! [`crate::reader`]) into a typed record, collecting warnings for the parts
//! that cannot be used.

use crate::error::SkipReason;
use crate::model::{
    Address, BankAccount, Customer, Group, Offer, OfferId, Price, PriceType, Product, Property,
    PropertyValue, StockEntry, Unit, Warehouse,
};
use crate::number::{Number, is_not_filled, is_zero_guid, parse_bool, parse_decimal};
use crate::reader::{Attr, Node};
use crate::tags::Tag;

type Warnings = Vec<(SkipReason, String)>;

/// Read access to one buffered record. Node 0 is the record element.
pub(crate) struct View<'a> {
    pub(crate) nodes: &'a [Node],
    pub(crate) text: &'a str,
    pub(crate) attrs: &'a [Attr],
}

impl<'a> View<'a> {
    fn tag(&self, i: usize) -> Tag {
        self.nodes[i].tag
    }

    /// Direct children of node `i`.
    fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let end = (self.nodes[i].end as usize).min(self.nodes.len());
        let mut next = i + 1;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let current = next;
            next = (self.nodes[current].end as usize).max(current + 1);
            Some(current)
        })
    }

    fn children_tagged(&self, i: usize, tag: Tag) -> impl Iterator<Item = usize> + '_ {
        self.children(i).filter(move |&c| self.nodes[c].tag == tag)
    }

    /// Trimmed text of node `i`.
    fn text(&self, i: usize) -> &'a str {
        let (s, e) = self.nodes[i].text;
        self.text[s as usize..e as usize].trim()
    }

    fn child(&self, i: usize, tag: Tag) -> Option<usize> {
        self.children(i).find(|&c| self.nodes[c].tag == tag)
    }

    /// Trimmed text of the first child `tag` ("" when absent).
    fn child_text(&self, i: usize, tag: Tag) -> &'a str {
        self.child(i, tag).map_or("", |c| self.text(c))
    }

    /// Trimmed text of the first child `tag`, `None` when absent or empty.
    fn child_opt(&self, i: usize, tag: Tag) -> Option<String> {
        non_empty(self.child_text(i, tag))
    }

    fn attr(&self, i: usize, tag: Tag) -> Option<&'a str> {
        let (s, e) = self.nodes[i].attrs;
        self.attrs[s as usize..e as usize]
            .iter()
            .find(|a| a.tag == tag)
            .map(|a| self.text[a.value.0 as usize..a.value.1 as usize].trim())
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// A reference id: trimmed, `None` when empty or the zero GUID.
fn reference(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty() && !is_zero_guid(s)).then(|| s.to_owned())
}

/// A text value; 1C's "not filled" marker becomes empty.
fn value(s: &str) -> String {
    if is_not_filled(s) {
        String::new()
    } else {
        s.trim().to_owned()
    }
}

/// The record `Ид`, or a `missing_id` warning naming the record.
fn record_id(v: &View<'_>, w: &mut Warnings) -> Option<String> {
    let id = reference(v.child_text(0, Tag::Id));
    if id.is_none() {
        let name = v.child_text(0, Tag::Name);
        w.push((SkipReason::MissingId, name.to_owned()));
    }
    id
}

/// `ПометкаУдаления` = true or `Статус` (element or attribute) = `Удален`.
fn deleted(v: &View<'_>, w: &mut Warnings) -> bool {
    let mut deleted = false;
    if let Some(mark) = v.child(0, Tag::DeletionMark) {
        match parse_bool(v.text(mark)) {
            Some(b) => deleted = b,
            None => w.push((SkipReason::BadBoolean, v.text(mark).to_owned())),
        }
    }
    let status = v
        .attr(0, Tag::Status)
        .unwrap_or_else(|| v.child_text(0, Tag::Status));
    deleted || status.to_lowercase() == "удален"
}

/// (id, value) pairs of `ЗначенияСвойств` under node `i`.
fn property_values(v: &View<'_>, i: usize, out: &mut Vec<(String, String)>) {
    for pv in v.children_tagged(i, Tag::PropertyValue) {
        let Some(id) = reference(v.child_text(pv, Tag::Id)) else {
            continue;
        };
        let mut any = false;
        for val in v.children_tagged(pv, Tag::Value) {
            out.push((id.clone(), value(v.text(val))));
            any = true;
        }
        if !any {
            out.push((id, String::new()));
        }
    }
}

pub(crate) fn group(v: &View<'_>, parent_id: Option<String>, w: &mut Warnings) -> Option<Group> {
    let id = record_id(v, w)?;
    Some(Group {
        id,
        name: v.child_text(0, Tag::Name).to_owned(),
        parent_id,
        deleted: deleted(v, w),
    })
}

/// `ДляПредложений` = true on a property.
pub(crate) fn property_for_offers_flag(v: &View<'_>) -> bool {
    parse_bool(v.child_text(0, Tag::ForOffers)) == Some(true)
}

pub(crate) fn property(v: &View<'_>, file_for_offers: bool, w: &mut Warnings) -> Option<Property> {
    let id = record_id(v, w)?;
    let mut values = Vec::new();
    for variants in v.children_tagged(0, Tag::ValueVariants) {
        for entry in v.children_tagged(variants, Tag::Dictionary) {
            if let Some(value_id) = reference(v.child_text(entry, Tag::ValueId)) {
                values.push(PropertyValue {
                    id: value_id,
                    value: v.child_text(entry, Tag::Value).to_owned(),
                });
            }
        }
    }
    Some(Property {
        id,
        name: v.child_text(0, Tag::Name).to_owned(),
        value_type: v.child_opt(0, Tag::ValueType),
        for_offers: file_for_offers || property_for_offers_flag(v),
        values,
        deleted: deleted(v, w),
    })
}

pub(crate) fn price_type(v: &View<'_>, w: &mut Warnings) -> Option<PriceType> {
    let id = record_id(v, w)?;
    Some(PriceType {
        id,
        name: v.child_text(0, Tag::Name).to_owned(),
        currency: v.child_opt(0, Tag::Currency),
        deleted: deleted(v, w),
    })
}

pub(crate) fn warehouse(v: &View<'_>, w: &mut Warnings) -> Option<Warehouse> {
    let id = record_id(v, w)?;
    Some(Warehouse {
        id,
        name: v.child_text(0, Tag::Name).to_owned(),
        deleted: deleted(v, w),
    })
}

pub(crate) fn unit(v: &View<'_>, w: &mut Warnings) -> Option<Unit> {
    let code = v.child_opt(0, Tag::Code);
    let Some(id) = reference(v.child_text(0, Tag::Id)).or_else(|| code.clone()) else {
        w.push((
            SkipReason::MissingId,
            v.child_text(0, Tag::ShortName).to_owned(),
        ));
        return None;
    };
    Some(Unit {
        id,
        code,
        short_name: v.child_opt(0, Tag::ShortName),
        full_name: v.child_opt(0, Tag::FullName),
    })
}

pub(crate) fn product(v: &View<'_>, w: &mut Warnings) -> Option<Product> {
    let id = record_id(v, w)?;
    let mut p = Product {
        id,
        sku: None,
        name: String::new(),
        description: None,
        base_unit: None,
        group_ids: Vec::new(),
        barcode: None,
        manufacturer: None,
        properties: Vec::new(),
        requisites: Vec::new(),
        images: Vec::new(),
        deleted: deleted(v, w),
    };
    for c in v.children(0) {
        match v.tag(c) {
            Tag::Name if p.name.is_empty() => p.name = v.text(c).to_owned(),
            Tag::Sku => p.sku = non_empty(v.text(c)),
            Tag::Description => p.description = non_empty(v.text(c)),
            Tag::BaseUnit => {
                p.base_unit = v
                    .attr(c, Tag::Code)
                    .and_then(non_empty)
                    .or_else(|| non_empty(v.text(c)));
            }
            Tag::Barcode => p.barcode = non_empty(v.text(c)),
            Tag::Image => {
                if let Some(image) = non_empty(v.text(c)) {
                    p.images.push(image);
                }
            }
            Tag::Manufacturer => {
                p.manufacturer = v.child_opt(c, Tag::Name).or_else(|| {
                    if v.child(c, Tag::Id).is_some() {
                        None
                    } else {
                        non_empty(v.text(c))
                    }
                });
            }
            Tag::Groups => p.group_ids.extend(
                v.children_tagged(c, Tag::Id)
                    .filter_map(|g| reference(v.text(g))),
            ),
            Tag::PropertyValues => property_values(v, c, &mut p.properties),
            Tag::Requisites => {
                for r in v.children_tagged(c, Tag::Requisite) {
                    let name = v.child_text(r, Tag::Name);
                    if name.is_empty() {
                        continue;
                    }
                    for val in v.children_tagged(r, Tag::Value) {
                        p.requisites.push((name.to_owned(), value(v.text(val))));
                    }
                }
            }
            _ => {}
        }
    }
    Some(p)
}

/// Whether the offer record has `Цены`, and stock (`Остатки`, `Количество`, `Склад`).
pub(crate) fn offer_shape(v: &View<'_>) -> (bool, bool) {
    let mut prices = false;
    let mut stock = false;
    for c in v.children(0) {
        match v.tag(c) {
            Tag::Prices => prices = true,
            Tag::Rests | Tag::Quantity | Tag::Warehouse => stock = true,
            _ => {}
        }
    }
    (prices, stock)
}

fn number(text: &str, what: Tag, w: &mut Warnings) -> Option<rust_decimal::Decimal> {
    match parse_decimal(text) {
        Number::Value(d) => Some(d),
        Number::Empty => {
            w.push((
                SkipReason::EmptyNumber,
                format!("{}: «{text}»", what.as_str()),
            ));
            None
        }
        Number::Invalid => {
            w.push((
                SkipReason::BadNumber,
                format!("{}: «{text}»", what.as_str()),
            ));
            None
        }
    }
}

pub(crate) fn offer(v: &View<'_>, w: &mut Warnings) -> Option<Offer> {
    let raw_id = v.child_text(0, Tag::Id);
    if raw_id.is_empty() || is_zero_guid(raw_id) {
        w.push((SkipReason::MissingId, v.child_text(0, Tag::Name).to_owned()));
        return None;
    }
    let Some(id) = OfferId::parse(raw_id) else {
        w.push((SkipReason::BadOfferId, raw_id.to_owned()));
        return None;
    };
    let mut o = Offer {
        id,
        name: v.child_opt(0, Tag::Name),
        characteristics: Vec::new(),
        properties: Vec::new(),
        prices: Vec::new(),
        stock: Vec::new(),
        has_stock: false,
        deleted: deleted(v, w),
    };
    let mut totals: Vec<&str> = Vec::new();
    for c in v.children(0) {
        match v.tag(c) {
            Tag::Characteristics => {
                for ch in v.children_tagged(c, Tag::Characteristic) {
                    let name = v.child_text(ch, Tag::Name);
                    if !name.is_empty() {
                        o.characteristics
                            .push((name.to_owned(), value(v.child_text(ch, Tag::Value))));
                    }
                }
            }
            Tag::PropertyValues => property_values(v, c, &mut o.properties),
            Tag::Prices => {
                for p in v.children_tagged(c, Tag::Price) {
                    if let Some(price) = price(v, p, w) {
                        o.prices.push(price);
                    }
                }
            }
            Tag::Rests => {
                o.has_stock = true;
                for rest in v.children_tagged(c, Tag::Rest) {
                    for x in v.children(rest) {
                        match v.tag(x) {
                            Tag::Warehouse => warehouse_stock(v, x, &mut o.stock, &mut totals, w),
                            Tag::Quantity => totals.push(v.text(x)),
                            _ => {}
                        }
                    }
                }
            }
            Tag::Quantity => {
                o.has_stock = true;
                totals.push(v.text(c));
            }
            Tag::Warehouse => {
                o.has_stock = true;
                warehouse_stock(v, c, &mut o.stock, &mut totals, w);
            }
            _ => {}
        }
    }
    if o.stock.is_empty() {
        for total in totals {
            if let Some(quantity) = number(total, Tag::Quantity, w) {
                o.stock.push(StockEntry {
                    warehouse_id: None,
                    quantity,
                });
            }
        }
    }
    Some(o)
}

fn price(v: &View<'_>, p: usize, w: &mut Warnings) -> Option<Price> {
    let Some(price_type_id) = reference(v.child_text(p, Tag::PriceTypeId)) else {
        w.push((
            SkipReason::MissingPriceType,
            v.child_text(p, Tag::PricePerUnit).to_owned(),
        ));
        return None;
    };
    let value = number(v.child_text(p, Tag::PricePerUnit), Tag::PricePerUnit, w)?;
    Some(Price {
        price_type_id,
        value,
        currency: v.child_opt(p, Tag::Currency),
        presentation: v.child_opt(p, Tag::Presentation),
    })
}

/// `<Склад ИдСклада=".." КоличествоНаСкладе=".."/>` (2.x) or
/// `<Склад><Ид/><Количество/></Склад>` (3.x rests).
fn warehouse_stock<'a>(
    v: &View<'a>,
    x: usize,
    stock: &mut Vec<StockEntry>,
    totals: &mut Vec<&'a str>,
    w: &mut Warnings,
) {
    let (id, quantity) = match (
        v.attr(x, Tag::WarehouseId),
        v.attr(x, Tag::WarehouseQuantity),
    ) {
        (Some(id), Some(q)) => (id, q),
        (Some(id), None) => (id, v.child_text(x, Tag::Quantity)),
        _ => (v.child_text(x, Tag::Id), v.child_text(x, Tag::Quantity)),
    };
    if is_zero_guid(id) {
        totals.push(quantity);
        return;
    }
    if id.is_empty() {
        w.push((SkipReason::MissingWarehouseId, quantity.to_owned()));
        return;
    }
    if let Some(quantity) = number(quantity, Tag::Quantity, w) {
        stock.push(StockEntry {
            warehouse_id: Some(id.to_owned()),
            quantity,
        });
    }
}

pub(crate) fn customer(v: &View<'_>, w: &mut Warnings) -> Option<Customer> {
    let id = record_id(v, w)?;
    let mut c = Customer {
        id,
        name: v.child_text(0, Tag::Name).to_owned(),
        full_name: None,
        role: None,
        inn: None,
        kpp: None,
        okpo: None,
        addresses: Vec::new(),
        contacts: Vec::new(),
        bank_accounts: Vec::new(),
        deleted: deleted(v, w),
    };
    customer_walk(v, 0, &mut c, 0);
    Some(c)
}

fn set_once(slot: &mut Option<String>, text: &str) {
    if slot.is_none() {
        *slot = non_empty(text);
    }
}

fn customer_walk(v: &View<'_>, i: usize, c: &mut Customer, depth: usize) {
    for ch in v.children(i) {
        match v.tag(ch) {
            Tag::OrgFullName | Tag::OfficialName => set_once(&mut c.full_name, v.text(ch)),
            Tag::Role => set_once(&mut c.role, v.text(ch)),
            Tag::Inn => set_once(&mut c.inn, v.text(ch)),
            Tag::Kpp => set_once(&mut c.kpp, v.text(ch)),
            Tag::Okpo | Tag::OkpoCode => set_once(&mut c.okpo, v.text(ch)),
            tag @ (Tag::RegistrationAddress
            | Tag::LegalAddress
            | Tag::ActualAddress
            | Tag::Address) => {
                let fields = v
                    .children_tagged(ch, Tag::AddressField)
                    .map(|f| {
                        (
                            v.child_text(f, Tag::Type).to_owned(),
                            v.child_text(f, Tag::Value).to_owned(),
                        )
                    })
                    .filter(|(_, value)| !value.is_empty())
                    .collect();
                c.addresses.push(Address {
                    kind: tag.as_str().to_owned(),
                    presentation: v.child_opt(ch, Tag::Presentation),
                    fields,
                });
            }
            Tag::Contacts => {
                for contact in v.children_tagged(ch, Tag::Contact) {
                    let value = v.child_text(contact, Tag::Value);
                    if !value.is_empty() {
                        c.contacts.push((
                            v.child_text(contact, Tag::Type).to_owned(),
                            value.to_owned(),
                        ));
                    }
                }
            }
            Tag::BankAccounts => {
                for account in v.children_tagged(ch, Tag::BankAccount) {
                    let number = v.child_text(account, Tag::AccountNumber);
                    if number.is_empty() {
                        continue;
                    }
                    let bank = v.child(account, Tag::Bank);
                    c.bank_accounts.push(BankAccount {
                        number: number.to_owned(),
                        bank_name: bank.and_then(|b| v.child_opt(b, Tag::Name)),
                        bik: bank.and_then(|b| v.child_opt(b, Tag::Bik)),
                        correspondent_account: bank.and_then(|b| v.child_opt(b, Tag::CorrAccount)),
                    });
                }
            }
            // Representatives are other counterparties; ids, names and flags
            // count only at the record's own level.
            Tag::Representatives | Tag::Id | Tag::Name | Tag::DeletionMark => {}
            _ if depth < 4 => customer_walk(v, ch, c, depth + 1),
            _ => {}
        }
    }
}
