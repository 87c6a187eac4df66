//! [`Summary`]: the oracle of a generation — what an importer following the rules of
//! `commerceml.md` must end up with — and its hand-written JSON form.
//!
//! Counting rules (the importer's side of the contract):
//! - A product lands for every `Товар` record; `ПометкаУдаления`/`Статус Удален` only
//!   deactivates it (counted in `products_deleted`, still in `products`).
//! - An offer lands when its product landed. `<guid>#<tail>` is a variant, `<guid>` and
//!   `<guid>#` are the product's own offer. Deleted offers still land (deactivated).
//!   Offers of deleted products land too. Offers whose product is in no goods file are
//!   counted in `offers_unknown_product` and nowhere else.
//! - A price row is one `Цена` of a landed offer (offer × price type); a stock row is one
//!   warehouse quantity of a landed offer (offer × warehouse, zeros included).
//!   `stock_total` sums the landed quantities (per-warehouse ones in 2.x, not the total).
//! - `prices_unknown_offer` / `rests_unknown_offer` count `Предложение` records of the
//!   prices / rests files whose offer did not land: ids that exist nowhere, and the orphan
//!   offers above. In 2.x prices and stock are inline in the offer, so both are 0.
//! - Decimal strings are canonical: a dot, no trailing fractional zeros (`1234.5`, `7`).

use std::fmt::Write as _;

use crate::Format;

/// An offer the oracle describes in full.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleOffer {
    /// The id exactly as written in the files (may end with `#`).
    pub id: String,
    /// The id an importer should store (`<guid>#` → `<guid>`).
    pub normalized_id: String,
    /// The product's id.
    pub product_id: String,
    /// `(price type id, price)` in price-type order; canonical decimals.
    pub prices: Vec<(String, String)>,
    /// `(warehouse id, quantity)` in warehouse order; canonical decimals, zeros included.
    pub stock: Vec<(String, String)>,
}

/// A product the oracle describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleProduct {
    /// `Ид`.
    pub id: String,
    /// `Артикул`.
    pub article: String,
    /// `Наименование`.
    pub name: String,
    /// Id of its group (category).
    pub category_id: String,
    /// OKEI code of its base unit, trimmed (`796`).
    pub unit_code: String,
    /// Number of variant offers (0: it has its own offer).
    pub variants: usize,
}

/// A customer the oracle describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleCustomer {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `ИНН` (10 digits for organisations, 12 for individual entrepreneurs).
    pub inn: String,
}

/// Exact expectations for an importer of the generated export; see the module docs of
/// `summary` for the counting rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Format written.
    pub format: Format,
    /// Files written, relative to the output directory, `/`-separated, in write order.
    pub files: Vec<String>,
    /// Products (goods records), deleted ones included.
    pub products: usize,
    /// Products marked deleted.
    pub products_deleted: usize,
    /// Landed variant offers (`<productGuid>#<characteristicGuid>`).
    pub variants: usize,
    /// Landed own offers (`<productGuid>` or `<productGuid>#`).
    pub own_offers: usize,
    /// Landed offers (variants + own) marked deleted.
    pub offers_deleted: usize,
    /// Groups (categories), all levels.
    pub categories: usize,
    /// Price types (4).
    pub price_types: usize,
    /// Warehouses (3).
    pub warehouses: usize,
    /// Units: the units list in 3.1; distinct base units of the goods in 2.x.
    pub units: usize,
    /// Goods properties.
    pub properties: usize,
    /// Customers, deleted ones included. Always 0 for 2.x (no customer lists there).
    pub customers: usize,
    /// Customers marked deleted.
    pub customers_deleted: usize,
    /// Price rows that land: landed offer × price type.
    pub price_rows: usize,
    /// Stock rows that land: landed offer × warehouse, zero quantities included.
    pub stock_rows: usize,
    /// Sum of landed stock quantities, canonical decimal.
    pub stock_total: String,
    /// Offer records whose product is in no goods file.
    pub offers_unknown_product: usize,
    /// Price records (`Предложение` in prices) for offers that did not land.
    pub prices_unknown_offer: usize,
    /// Rest records (`Предложение` in rests) for offers that did not land.
    pub rests_unknown_offer: usize,
    /// The first product (not deleted when the catalog allows).
    pub example_product: Option<ExampleProduct>,
    /// A variant of a live product, not deleted.
    pub example_variant: Option<ExampleOffer>,
    /// A bare own offer of a live product, not deleted.
    pub example_own_offer: Option<ExampleOffer>,
    /// An own offer written as `<productGuid>#`.
    pub example_empty_tail_offer: Option<ExampleOffer>,
    /// A customer that is not deleted (3.1 with customers only).
    pub example_customer: Option<ExampleCustomer>,
}

impl Summary {
    pub(crate) fn new(format: Format) -> Summary {
        Summary {
            format,
            files: Vec::new(),
            products: 0,
            products_deleted: 0,
            variants: 0,
            own_offers: 0,
            offers_deleted: 0,
            categories: 0,
            price_types: 0,
            warehouses: 0,
            units: 0,
            properties: 0,
            customers: 0,
            customers_deleted: 0,
            price_rows: 0,
            stock_rows: 0,
            stock_total: "0".to_string(),
            offers_unknown_product: 0,
            prices_unknown_offer: 0,
            rests_unknown_offer: 0,
            example_product: None,
            example_variant: None,
            example_own_offer: None,
            example_empty_tail_offer: None,
            example_customer: None,
        }
    }

    /// The summary as a JSON object with a stable key order (the field order above).
    pub fn to_json(&self) -> String {
        let mut o = JsonObject::new(0);
        o.str("format", self.format.as_str());
        o.raw("files", &json_str_array(&self.files));
        o.num("products", self.products);
        o.num("products_deleted", self.products_deleted);
        o.num("variants", self.variants);
        o.num("own_offers", self.own_offers);
        o.num("offers_deleted", self.offers_deleted);
        o.num("categories", self.categories);
        o.num("price_types", self.price_types);
        o.num("warehouses", self.warehouses);
        o.num("units", self.units);
        o.num("properties", self.properties);
        o.num("customers", self.customers);
        o.num("customers_deleted", self.customers_deleted);
        o.num("price_rows", self.price_rows);
        o.num("stock_rows", self.stock_rows);
        o.str("stock_total", &self.stock_total);
        o.num("offers_unknown_product", self.offers_unknown_product);
        o.num("prices_unknown_offer", self.prices_unknown_offer);
        o.num("rests_unknown_offer", self.rests_unknown_offer);
        o.raw(
            "example_product",
            &self.example_product.as_ref().map_or("null".into(), |p| {
                let mut e = JsonObject::new(1);
                e.str("id", &p.id);
                e.str("article", &p.article);
                e.str("name", &p.name);
                e.str("category_id", &p.category_id);
                e.str("unit_code", &p.unit_code);
                e.num("variants", p.variants);
                e.finish()
            }),
        );
        for (key, offer) in [
            ("example_variant", &self.example_variant),
            ("example_own_offer", &self.example_own_offer),
            ("example_empty_tail_offer", &self.example_empty_tail_offer),
        ] {
            o.raw(key, &offer.as_ref().map_or("null".into(), offer_json));
        }
        o.raw(
            "example_customer",
            &self.example_customer.as_ref().map_or("null".into(), |c| {
                let mut e = JsonObject::new(1);
                e.str("id", &c.id);
                e.str("name", &c.name);
                e.str("inn", &c.inn);
                e.finish()
            }),
        );
        o.finish()
    }
}

fn offer_json(x: &ExampleOffer) -> String {
    let mut e = JsonObject::new(1);
    e.str("id", &x.id);
    e.str("normalized_id", &x.normalized_id);
    e.str("product_id", &x.product_id);
    e.raw("prices", &pairs_json(&x.prices));
    e.raw("stock", &pairs_json(&x.stock));
    e.finish()
}

/// `{"k": "v", …}` on one line, keys in the given order.
fn pairs_json(pairs: &[(String, String)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        json_string(&mut s, k);
        s.push_str(": ");
        json_string(&mut s, v);
    }
    s.push('}');
    s
}

fn json_str_array(items: &[String]) -> String {
    let mut s = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        json_string(&mut s, item);
    }
    s.push(']');
    s
}

/// Appends `v` as a JSON string literal.
pub(crate) fn json_string(out: &mut String, v: &str) {
    out.push('"');
    for ch in v.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A pretty-printed JSON object built key by key.
struct JsonObject {
    s: String,
    indent: usize,
    first: bool,
}

impl JsonObject {
    fn new(indent: usize) -> JsonObject {
        JsonObject {
            s: String::from("{"),
            indent,
            first: true,
        }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.s.push(',');
        }
        self.first = false;
        self.s.push('\n');
        for _ in 0..=self.indent {
            self.s.push_str("  ");
        }
        json_string(&mut self.s, k);
        self.s.push_str(": ");
    }

    fn raw(&mut self, k: &str, v: &str) {
        self.key(k);
        self.s.push_str(v);
    }

    fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        json_string(&mut self.s, v);
    }

    fn num(&mut self, k: &str, v: usize) {
        self.key(k);
        let _ = write!(self.s, "{v}");
    }

    fn finish(mut self) -> String {
        self.s.push('\n');
        for _ in 0..self.indent {
            self.s.push_str("  ");
        }
        self.s.push('}');
        self.s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_and_orders_keys() {
        let mut s = Summary::new(Format::V31);
        s.files.push("a\"b".into());
        s.example_customer = Some(ExampleCustomer {
            id: "x".into(),
            name: "ООО «Бег & Ко»\n".into(),
            inn: "7707083893".into(),
        });
        let j = s.to_json();
        assert!(j.starts_with("{\n  \"format\": \"3.1\",\n  \"files\": [\"a\\\"b\"],"));
        assert!(j.contains("\"name\": \"ООО «Бег & Ко»\\n\""));
        assert!(j.contains("\"example_variant\": null"));
        assert!(j.find("\"products\"").unwrap() < j.find("\"products_deleted\"").unwrap());
        assert!(j.ends_with('}'));
    }
}
