//! The pending batches: records wait here, one batch per kind, keyed by their 1C `Ид` (a
//! repeated `Ид` replaces the earlier record), until the importer flushes them — every batch, in
//! the order of [`Batch::ORDER`] — when one is full and at the end of every file. [`Batches`] is
//! their one owner: the list of batches is the [`Batch`] enum, and every question about all of
//! them (full? how many records? in which order?) goes through it.
use std::collections::HashMap;

use commerceml::{Customer, Group, Offer, PriceType, Product, Property, Record, Unit, Warehouse};

use super::Parts;

/// Records per batch of one kind before the batches are flushed.
pub(super) const BATCH: usize = 1_000;
/// Values of the pending properties before the batches are flushed (a property may carry
/// thousands of list values).
const PROPERTY_VALUES: usize = 5 * BATCH;

/// One batch per kind of row. Declared in dependency order: a batch's rows may refer to rows of
/// the batches before it (a group to its parent, a product to its group and properties, an offer
/// to its product, a price to its offer and price type, stock to its warehouse), which are
/// written first, so references resolve from the id maps at flush time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Batch {
    Units,
    Warehouses,
    PriceTypes,
    Groups,
    Properties,
    Products,
    /// Offers defined by offers files; flushing them queues their prices and stock.
    Offers,
    /// Price and rest records that only refer to offers; flushing them queues prices and stock.
    Refs,
    Prices,
    Stocks,
    Customers,
}

impl Batch {
    /// Every batch, in the order they are flushed.
    pub(super) const ORDER: [Batch; 11] = [
        Batch::Units,
        Batch::Warehouses,
        Batch::PriceTypes,
        Batch::Groups,
        Batch::Properties,
        Batch::Products,
        Batch::Offers,
        Batch::Refs,
        Batch::Prices,
        Batch::Stocks,
        Batch::Customers,
    ];
}

/// Records waiting to be written, in arrival order, one per key (the last one wins).
pub(super) struct Pending<K, T> {
    items: Vec<(K, T)>,
    index: HashMap<K, usize>,
}

impl<K, T> Default for Pending<K, T> {
    fn default() -> Self {
        Pending {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, T> Pending<K, T> {
    /// Adds a record, replacing a pending one with the same key.
    fn push(&mut self, key: K, item: T) {
        match self.index.get(&key) {
            Some(&i) => self.items[i].1 = item,
            None => {
                self.index.insert(key.clone(), self.items.len());
                self.items.push((key, item));
            }
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    /// Takes every pending record out, with its key.
    fn take_with_keys(&mut self) -> Vec<(K, T)> {
        self.index.clear();
        std::mem::take(&mut self.items)
    }

    /// Takes every pending record out.
    fn take(&mut self) -> Vec<T> {
        self.take_with_keys().into_iter().map(|(_, t)| t).collect()
    }
}

/// A price row waiting: `(offer, price type)` → `(price_e4, currency)`.
pub(super) type PriceRow = ((i64, i64), (i64, Option<String>));
/// A stock row waiting: `(offer, warehouse)` → `quantity_e4`.
pub(super) type StockRow = ((i64, i64), i64);

/// Every pending batch (see [`Batch`] for what each holds).
#[derive(Default)]
pub(super) struct Batches {
    units: Pending<String, Unit>,
    warehouses: Pending<String, Warehouse>,
    price_types: Pending<String, PriceType>,
    groups: Pending<String, Group>,
    properties: Pending<String, Property>,
    /// Values of the pending properties.
    property_values: usize,
    products: Pending<String, Product>,
    offers: Pending<String, Offer>,
    refs: Vec<Offer>,
    prices: Pending<(i64, i64), (i64, Option<String>)>,
    stocks: Pending<(i64, i64), i64>,
    customers: Pending<String, Customer>,
}

impl Batches {
    /// Queues one record of what `parts` applies; the others are dropped. `reference`: offers
    /// of this file only refer to existing offers (3.x prices and rests files, or an import
    /// that does not define offers).
    pub(super) fn record(&mut self, record: Record, parts: Parts, reference: bool) {
        match record {
            Record::Group(g) if parts.classifier => self.groups.push(g.id.clone(), g),
            Record::Unit(u) if parts.classifier => self.units.push(u.id.clone(), u),
            Record::Property(p) if parts.classifier => {
                self.property_values += p.values.len();
                self.properties.push(p.id.clone(), p);
            }
            Record::PriceType(t) if parts.price_types => self.price_types.push(t.id.clone(), t),
            Record::Warehouse(w) if parts.warehouses => self.warehouses.push(w.id.clone(), w),
            Record::Product(p) if parts.products => self.products.push(p.id.clone(), p),
            Record::Offer(o) => {
                if parts.offers && !reference {
                    self.offers.push(o.id.to_string(), o);
                } else if (parts.prices && !o.prices.is_empty()) || (parts.stock && o.has_stock) {
                    self.refs.push(o);
                }
            }
            Record::Customer(c) if parts.customers => self.customers.push(c.id.clone(), c),
            _ => {}
        }
    }

    /// Queues the price of a landed offer.
    pub(super) fn price(&mut self, offer: i64, price_type: i64, e4: i64, currency: Option<String>) {
        self.prices.push((offer, price_type), (e4, currency));
    }

    /// Queues the stock of a landed offer in a warehouse.
    pub(super) fn stock(&mut self, offer: i64, warehouse: i64, e4: i64) {
        self.stocks.push((offer, warehouse), e4);
    }

    /// Records waiting in one batch.
    pub(super) fn len(&self, batch: Batch) -> usize {
        match batch {
            Batch::Units => self.units.len(),
            Batch::Warehouses => self.warehouses.len(),
            Batch::PriceTypes => self.price_types.len(),
            Batch::Groups => self.groups.len(),
            Batch::Properties => self.properties.len(),
            Batch::Products => self.products.len(),
            Batch::Offers => self.offers.len(),
            Batch::Refs => self.refs.len(),
            Batch::Prices => self.prices.len(),
            Batch::Stocks => self.stocks.len(),
            Batch::Customers => self.customers.len(),
        }
    }

    /// Records waiting in all batches.
    pub(super) fn pending(&self) -> usize {
        Batch::ORDER.into_iter().map(|b| self.len(b)).sum()
    }

    /// Some batch is full: time to flush them all.
    pub(super) fn full(&self) -> bool {
        self.property_values >= PROPERTY_VALUES
            || Batch::ORDER.into_iter().any(|b| self.len(b) >= BATCH)
    }

    pub(super) fn take_units(&mut self) -> Vec<Unit> {
        self.units.take()
    }

    pub(super) fn take_warehouses(&mut self) -> Vec<Warehouse> {
        self.warehouses.take()
    }

    pub(super) fn take_price_types(&mut self) -> Vec<PriceType> {
        self.price_types.take()
    }

    pub(super) fn take_groups(&mut self) -> Vec<Group> {
        self.groups.take()
    }

    /// The pending properties, with their values.
    pub(super) fn take_properties(&mut self) -> Vec<Property> {
        self.property_values = 0;
        self.properties.take()
    }

    pub(super) fn take_products(&mut self) -> Vec<Product> {
        self.products.take()
    }

    pub(super) fn take_offers(&mut self) -> Vec<Offer> {
        self.offers.take()
    }

    pub(super) fn take_refs(&mut self) -> Vec<Offer> {
        std::mem::take(&mut self.refs)
    }

    pub(super) fn take_prices(&mut self) -> Vec<PriceRow> {
        self.prices.take_with_keys()
    }

    pub(super) fn take_stocks(&mut self) -> Vec<StockRow> {
        self.stocks.take_with_keys()
    }

    pub(super) fn take_customers(&mut self) -> Vec<Customer> {
        self.customers.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_replaces_the_pending_record_in_place() {
        let mut p = Pending::default();
        p.push("a", 1);
        p.push("b", 2);
        p.push("a", 3);
        assert_eq!(p.len(), 2);
        assert_eq!(p.take_with_keys(), [("a", 3), ("b", 2)]);
        assert_eq!(p.len(), 0);
        p.push("a", 4);
        assert_eq!(p.take(), [4]);
    }

    #[test]
    fn batches_are_full_at_a_thousand_records_of_one_kind() {
        let mut b = Batches::default();
        for i in 0..BATCH as i64 - 1 {
            b.stock(i, 1, 0);
            b.price(i, 1, 0, None);
        }
        assert_eq!(b.pending(), 2 * (BATCH - 1));
        assert!(!b.full());
        b.stock(-1, 1, 0);
        assert!(b.full());
        assert_eq!(b.take_stocks().len(), BATCH);
        assert_eq!((b.len(Batch::Stocks), b.len(Batch::Prices)), (0, BATCH - 1));
    }
}
