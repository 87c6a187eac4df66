//! The import loop: reads each planned file record by record, collects records in pending
//! batches keyed by their 1C `Ид` (a repeated `Ид` replaces the earlier record), and flushes the
//! batches in dependency order (classifier → products → offers → prices and stock → customers)
//! whenever one is full and at the end of every file. References (a product's group, an offer's
//! product, a price's offer and price type) are resolved at flush time, when everything they
//! may point to has been written.
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use commerceml::{
    Customer, ExportFile, Group, Item, Kind, Offer, PriceType, Product, Property, Record, Unit,
    Warehouse,
};
use sea_orm::{DatabaseTransaction, DbBackend};

use super::changes::Changes;
use super::sql::{count, load_ids};
use super::{FileType, ImportError, ImportReport, ImportRequest, Progress};
use crate::kinds::ImportKind;

mod catalog;
mod customers;
mod trade;

/// Records per batch of one kind before the batches are flushed.
pub(super) const BATCH: usize = 1_000;
/// Progress is reported at least this often while reading.
const REPORT_EVERY: Duration = Duration::from_millis(250);
/// Tables whose row counts give `created` (and, with the rows written, `updated`).
const COUNTED_TABLES: [&str; 10] = [
    "categories",
    "units",
    "properties",
    "products",
    "offers",
    "price_types",
    "warehouses",
    "prices",
    "stocks",
    "customers",
];

/// Which records an import applies; the others are read and ignored.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Parts {
    /// Groups, units, properties.
    pub classifier: bool,
    /// Price type definitions.
    pub price_types: bool,
    /// Warehouse definitions.
    pub warehouses: bool,
    /// Products.
    pub products: bool,
    /// Offers in offers files (and 2.x offers) define offers.
    pub offers: bool,
    /// Prices of offers.
    pub prices: bool,
    /// Stock of offers.
    pub stock: bool,
    /// Customers.
    pub customers: bool,
}

impl Parts {
    pub(crate) fn of(req: &ImportRequest) -> Parts {
        let prices = Parts {
            price_types: true,
            prices: true,
            ..Parts::default()
        };
        let stock = Parts {
            warehouses: true,
            stock: true,
            ..Parts::default()
        };
        match req.kind {
            ImportKind::Catalog => match req.file_type {
                FileType::All => Parts {
                    classifier: true,
                    price_types: true,
                    warehouses: true,
                    products: true,
                    offers: true,
                    prices: true,
                    stock: true,
                    customers: false,
                },
                FileType::Goods => Parts {
                    classifier: true,
                    price_types: true,
                    warehouses: true,
                    products: true,
                    ..Parts::default()
                },
                FileType::Offers => Parts {
                    offers: true,
                    ..Parts::default()
                },
                FileType::Prices => prices,
                FileType::Rests => stock,
            },
            ImportKind::Stocks => stock,
            ImportKind::Prices => prices,
            ImportKind::Customers => Parts {
                customers: true,
                ..Parts::default()
            },
        }
    }

    /// The [`COUNTED_TABLES`] this import can add rows to (a superset): only they are counted
    /// for `created`, so that, say, a customers import does not scan the prices table twice.
    fn counted_tables(self) -> Vec<&'static str> {
        let offers = self.products || self.offers || self.prices || self.stock;
        COUNTED_TABLES
            .into_iter()
            .filter(|&t| match t {
                "categories" | "units" | "properties" => self.classifier,
                "price_types" => self.price_types,
                "warehouses" => self.warehouses || self.stock,
                "products" => self.products,
                "offers" => offers,
                "prices" => self.prices,
                "stocks" => self.stock,
                "customers" => self.customers,
                // A table added to COUNTED_TABLES without a rule here is always counted.
                _ => true,
            })
            .collect()
    }

    fn needs_catalog_maps(self) -> bool {
        self.classifier
            || self.price_types
            || self.warehouses
            || self.products
            || self.offers
            || self.prices
            || self.stock
    }
}

/// Records waiting to be written, in arrival order, one per key (the last one wins).
pub(super) struct Pending<K, T> {
    items: Vec<(K, T)>,
    index: HashMap<K, usize>,
}

impl<K: std::hash::Hash + Eq + Clone, T> Pending<K, T> {
    fn new() -> Self {
        Pending {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Adds a record, replacing a pending one with the same key.
    pub(super) fn push(&mut self, key: K, item: T) {
        match self.index.get(&key) {
            Some(&i) => self.items[i].1 = item,
            None => {
                self.index.insert(key.clone(), self.items.len());
                self.items.push((key, item));
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Takes every pending record out, with its key.
    pub(super) fn take_with_keys(&mut self) -> Vec<(K, T)> {
        self.index.clear();
        std::mem::take(&mut self.items)
    }

    /// Takes every pending record out.
    pub(super) fn take(&mut self) -> Vec<T> {
        self.take_with_keys().into_iter().map(|(_, t)| t).collect()
    }
}

/// One import in progress: the transaction, the id maps, the pending batches and the report.
pub(super) struct Importer<'a> {
    /// The import's transaction; every statement runs in it.
    pub txn: &'a DatabaseTransaction,
    /// Backend of `txn`, for placeholders.
    pub backend: DbBackend,
    /// What this import applies.
    pub parts: Parts,
    progress: &'a dyn Progress,
    /// The report being built.
    pub report: ImportReport,
    /// Rows inserted or changed in [`COUNTED_TABLES`] (those of [`Parts::counted_tables`]).
    pub affected: u64,
    /// Counted tables that held no row when the import began: nothing stored can equal what
    /// is written there, so upserts skip the search for unchanged rows.
    pub empty_at_start: HashSet<&'static str>,
    rows_before: u64,
    bytes_done: u64,
    bytes_now: u64,
    bytes_total: u64,
    last_report: Instant,

    /// `onec_id → id` of categories (likewise the maps below), kept current as rows are written.
    pub categories: HashMap<String, i64>,
    pub properties: HashMap<String, i64>,
    pub price_types: HashMap<String, i64>,
    pub warehouses: HashMap<String, i64>,
    pub products: HashMap<String, i64>,
    pub offers: HashMap<String, i64>,

    /// Pending records by kind (likewise below).
    pub units_p: Pending<String, Unit>,
    pub warehouses_p: Pending<String, Warehouse>,
    pub price_types_p: Pending<String, PriceType>,
    pub groups_p: Pending<String, Group>,
    pub properties_p: Pending<String, Property>,
    /// Values of the pending properties, to flush them in time.
    pub property_values_pending: usize,
    pub products_p: Pending<String, Product>,
    /// Products were written: own offers may be missing (see `create_missing_own_offers`).
    pub own_offers_due: bool,
    pub offers_p: Pending<String, Offer>,
    /// Price and rest records: they only refer to offers.
    pub refs_p: Vec<Offer>,
    /// `(offer, price type)` → `(price_e4, currency)`.
    pub prices_p: Pending<(i64, i64), (i64, Option<String>)>,
    /// `(offer, warehouse)` → `quantity_e4`.
    pub stocks_p: Pending<(i64, i64), i64>,
    /// Per table (`prices`, `stocks`): offers this import wrote rows of, kept while the table
    /// was empty at the start (see `write_by_offer`).
    pub offers_written: HashMap<&'static str, HashSet<i64>>,
    pub customers_p: Pending<String, Customer>,

    /// The change report being collected.
    pub changes: Changes,
    /// Ids of products (and offers) stored with a deletion mark, kept current as rows are
    /// written: tells a deactivation and a reactivation from another change.
    pub deleted_products: HashSet<i64>,
    pub deleted_offers: HashSet<i64>,
}

impl<'a> Importer<'a> {
    async fn new(
        txn: &'a DatabaseTransaction,
        parts: Parts,
        progress: &'a dyn Progress,
        bytes_total: u64,
        limits: wire::ChangeLimits,
    ) -> Result<Importer<'a>, ImportError> {
        use sea_orm::ConnectionTrait;
        if txn.get_database_backend() == DbBackend::Postgres {
            // PostgreSQL estimates a batch statement (thousands of rows from arrays) costly
            // enough to JIT-compile it, and compiles it anew at every execution: 0.1–0.3 s per
            // statement measured, for 10–40 ms of actual work. Only for this transaction.
            txn.execute_unprepared("SET LOCAL jit = off").await?;
        }
        let mut rows_before = 0;
        let mut empty_at_start = HashSet::new();
        for table in parts.counted_tables() {
            let n = count(txn, table, None).await?;
            if n == 0 {
                empty_at_start.insert(table);
            }
            rows_before += n;
        }
        let catalog = parts.needs_catalog_maps();
        let load = |table: &'static str| async move {
            if catalog {
                load_ids(txn, table).await
            } else {
                Ok(HashMap::new())
            }
        };
        let deleted = |table: &'static str, wanted: bool| async move {
            if wanted {
                super::sql::load_deleted(txn, table).await
            } else {
                Ok(HashSet::new())
            }
        };
        let deleted_products = deleted("products", parts.products).await?;
        let deleted_offers = deleted("offers", parts.offers).await?;
        let products = load("products").await?;
        let mut changes = Changes::new(limits);
        changes.active_products_before =
            (products.len() as u64).saturating_sub(deleted_products.len() as u64);
        Ok(Importer {
            txn,
            backend: txn.get_database_backend(),
            parts,
            progress,
            report: ImportReport::default(),
            affected: 0,
            empty_at_start,
            rows_before,
            bytes_done: 0,
            bytes_now: 0,
            bytes_total,
            last_report: Instant::now(),
            categories: load("categories").await?,
            properties: load("properties").await?,
            price_types: load("price_types").await?,
            warehouses: load("warehouses").await?,
            products,
            offers: load("offers").await?,
            units_p: Pending::new(),
            warehouses_p: Pending::new(),
            price_types_p: Pending::new(),
            groups_p: Pending::new(),
            properties_p: Pending::new(),
            property_values_pending: 0,
            products_p: Pending::new(),
            own_offers_due: false,
            offers_p: Pending::new(),
            refs_p: Vec::new(),
            prices_p: Pending::new(),
            stocks_p: Pending::new(),
            offers_written: HashMap::new(),
            customers_p: Pending::new(),
            changes,
            deleted_products,
            deleted_offers,
        })
    }

    /// Queues one record. `reference`: offers of this file only refer to existing offers
    /// (3.x prices and rests files, or an import that does not define offers).
    fn record(&mut self, record: Record, reference: bool) {
        let p = self.parts;
        match record {
            Record::Group(g) if p.classifier => self.groups_p.push(g.id.clone(), g),
            Record::Unit(u) if p.classifier => self.units_p.push(u.id.clone(), u),
            Record::Property(prop) if p.classifier => {
                self.property_values_pending += prop.values.len();
                self.properties_p.push(prop.id.clone(), prop);
            }
            Record::PriceType(t) if p.price_types => self.price_types_p.push(t.id.clone(), t),
            Record::Warehouse(w) if p.warehouses => self.warehouses_p.push(w.id.clone(), w),
            Record::Product(prod) if p.products => self.products_p.push(prod.id.clone(), prod),
            Record::Offer(o) => {
                if p.offers && !reference {
                    self.offers_p.push(o.id.to_string(), o);
                } else if (p.prices && !o.prices.is_empty()) || (p.stock && o.has_stock) {
                    self.refs_p.push(o);
                }
            }
            Record::Customer(c) if p.customers => self.customers_p.push(c.id.clone(), c),
            _ => {}
        }
    }

    fn full(&self) -> bool {
        self.units_p.len() >= BATCH
            || self.warehouses_p.len() >= BATCH
            || self.price_types_p.len() >= BATCH
            || self.groups_p.len() >= BATCH
            || self.properties_p.len() >= BATCH
            || self.property_values_pending >= 5 * BATCH
            || self.products_p.len() >= BATCH
            || self.offers_p.len() >= BATCH
            || self.refs_p.len() >= BATCH
            || self.prices_p.len() >= BATCH
            || self.stocks_p.len() >= BATCH
            || self.customers_p.len() >= BATCH
    }

    /// Writes every pending batch, in dependency order, then reports progress and honours
    /// cancellation.
    async fn flush(&mut self) -> Result<(), ImportError> {
        self.flush_units().await?;
        self.flush_warehouses().await?;
        self.flush_price_types().await?;
        self.flush_groups().await?;
        self.flush_properties().await?;
        self.flush_products().await?;
        self.flush_offers().await?;
        self.flush_refs().await?;
        self.flush_prices().await?;
        self.flush_stocks().await?;
        self.flush_customers().await?;
        self.tick()
    }

    /// Reports progress; fails with [`ImportError::Cancelled`] when the caller asked to stop.
    fn tick(&mut self) -> Result<(), ImportError> {
        self.progress
            .report(self.report.records, self.bytes_now, self.bytes_total);
        self.last_report = Instant::now();
        if self.progress.is_cancelled() {
            return Err(ImportError::Cancelled);
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<ImportReport, ImportError> {
        self.flush().await?;
        self.create_missing_own_offers().await?;
        let mut rows_after = 0;
        for table in self.parts.counted_tables() {
            rows_after += count(self.txn, table, None).await?;
        }
        let created = rows_after.saturating_sub(self.rows_before);
        self.report.counts.insert("created".to_owned(), created);
        let updated = self.affected.saturating_sub(created);
        self.report.counts.insert("updated".to_owned(), updated);
        if self.parts.customers {
            // Customers are the only table of their import: its growth is the new ones.
            use wire::{ChangeColumn as C, ChangeEntity as E};
            let met = self.report.count("customers");
            self.changes.count(E::Customers, C::New, created);
            self.changes.count(E::Customers, C::Changed, updated);
            self.changes.count(
                E::Customers,
                C::Unchanged,
                met.saturating_sub(created + updated),
            );
        }
        self.report.changes = self.changes.finish(self.txn, &self.report.skipped).await?;
        Ok(self.report)
    }
}

/// Items per chunk the reader thread sends.
const CHUNK: usize = 256;
/// Chunks the reader thread may run ahead of the writer (bounds memory: a few MB).
const CHUNKS_AHEAD: usize = 8;

/// A run of items from the reader thread, and the reader's position after the last of them.
struct Chunk {
    items: Vec<Item>,
    bytes_read: u64,
}

/// Parses `file` on a thread of its own, so that parsing (CPU) overlaps with the database
/// round trips of the writer: items come in chunks through a bounded channel, a parse error
/// comes last. Dropping the receiver stops the thread at its next send.
fn read_ahead(
    file: &ExportFile,
) -> Result<tokio::sync::mpsc::Receiver<Result<Chunk, commerceml::Error>>, ImportError> {
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    let file = file.clone();
    let work = move || {
        // The file discovery checked, and no other: not a link, FIFO or file put in its place.
        let mut reader = match commerceml::open_export(&file) {
            Ok(r) => r,
            Err(e) => {
                tx.blocking_send(Err(e)).ok();
                return;
            }
        };
        let mut items = Vec::with_capacity(CHUNK);
        // Not a `for` loop: the reader's position is read between items.
        #[allow(clippy::while_let_on_iterator)]
        while let Some(item) = reader.next() {
            match item {
                Ok(item) => items.push(item),
                Err(e) => {
                    if !items.is_empty() {
                        let items = std::mem::take(&mut items);
                        let chunk = Chunk {
                            items,
                            bytes_read: reader.bytes_read(),
                        };
                        if tx.blocking_send(Ok(chunk)).is_err() {
                            return;
                        }
                    }
                    tx.blocking_send(Err(e)).ok();
                    return;
                }
            }
            if items.len() >= CHUNK {
                let chunk = Chunk {
                    items: std::mem::replace(&mut items, Vec::with_capacity(CHUNK)),
                    bytes_read: reader.bytes_read(),
                };
                if tx.blocking_send(Ok(chunk)).is_err() {
                    return;
                }
            }
        }
        if !items.is_empty() {
            let chunk = Chunk {
                items,
                bytes_read: reader.bytes_read(),
            };
            tx.blocking_send(Ok(chunk)).ok();
        }
    };
    std::thread::Builder::new()
        .name("commerceml-reader".to_owned())
        .spawn(work)
        .map_err(|e| ImportError::Thread(e.to_string()))?;
    Ok(rx)
}

/// Reads `files` in order and writes what `parts` asks for. The caller owns the transaction.
pub(crate) async fn import(
    txn: &DatabaseTransaction,
    parts: Parts,
    root: &Path,
    files: &[ExportFile],
    progress: &dyn Progress,
    limits: wire::ChangeLimits,
) -> Result<ImportReport, ImportError> {
    let total = files.iter().map(|f| f.size).sum();
    let mut im = Importer::new(txn, parts, progress, total, limits).await?;
    im.tick()?;
    for file in files {
        im.report.files.push(relative(root, &file.path));
        let reference = matches!(file.kind, Kind::Prices | Kind::Rests);
        let mut chunks = read_ahead(file)?;
        let mut since_check = 0u32;
        while let Some(chunk) = chunks.recv().await {
            let chunk = chunk?;
            im.bytes_now = im.bytes_done + chunk.bytes_read.min(file.size);
            for item in chunk.items {
                match item {
                    Item::Warning(w) => im.report.skip(super::warning_reason(w.reason), 1),
                    Item::Record(r) => {
                        im.report.records += 1;
                        im.record(r, reference);
                    }
                }
                if im.full() {
                    im.flush().await?;
                } else {
                    since_check += 1;
                    if since_check >= 256 {
                        since_check = 0;
                        if im.last_report.elapsed() >= REPORT_EVERY {
                            im.tick()?;
                        }
                    }
                }
            }
        }
        im.bytes_done += file.size;
        im.bytes_now = im.bytes_done;
        im.flush().await?;
    }
    im.finish().await
}

/// `path` relative to the data folder, `/`-separated.
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
