//! The import loop: reads each planned file record by record (through the read-ahead thread),
//! queues the records in the pending [`Batches`], and flushes the batches in dependency order
//! (classifier → products → offers → prices and stock → customers, [`Batch::ORDER`]) whenever
//! one is full and at the end of every file. References (a product's group, an offer's product,
//! a price's offer and price type) are resolved at flush time from the id maps, when everything
//! they may point to has been written.
//!
//! The [`Importer`] lives here with what every flush shares (writing a shape, the mode of a
//! batch, the context of a database error); the flushes themselves are in `classifier`
//! (units, warehouses, price types, groups, properties), `catalog` (products and offers with
//! their child rows), `trade` (prices and stock) and `customers`.
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use commerceml::{ExportFile, Item, Kind};
use sea_orm::{DatabaseTransaction, DbBackend, DbErr, Value};

use super::changes::Changes;
use super::error::{DbContext, DbTarget, reading};
use super::plan::Parts;
use super::readahead::read_ahead;
use super::sql::{Mode, Upsert, Written, count, load_deleted, load_ids};
use super::{ImportError, ImportReport, Progress};
use wire::Counter;

mod batches;
mod catalog;
mod classifier;
mod customers;
mod trade;

use batches::{Batch, Batches};

/// Progress is reported at least this often while reading.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// `onec_id → id` of the tables records refer to, loaded whole at the start and kept current
/// as rows are written.
#[derive(Default)]
struct IdMaps {
    categories: HashMap<String, i64>,
    properties: HashMap<String, i64>,
    price_types: HashMap<String, i64>,
    warehouses: HashMap<String, i64>,
    products: HashMap<String, i64>,
    offers: HashMap<String, i64>,
}

impl IdMaps {
    /// Every map, or none when the import touches no catalog table (customers).
    async fn load(txn: &DatabaseTransaction, parts: Parts) -> Result<IdMaps, ImportError> {
        if !parts.needs_catalog_maps() {
            return Ok(IdMaps::default());
        }
        let load =
            |table: &'static str| async move { load_ids(txn, table).await.map_err(reading(table)) };
        Ok(IdMaps {
            categories: load("categories").await?,
            properties: load("properties").await?,
            price_types: load("price_types").await?,
            warehouses: load("warehouses").await?,
            products: load("products").await?,
            offers: load("offers").await?,
        })
    }
}

/// Where the import is in its files: for the progress reports and the context of a database
/// error.
struct Position {
    /// The file being read, relative to the data folder; `None` outside the files.
    file: Option<String>,
    /// Flushes of pending records while reading the file, the one under way included.
    batch: u64,
    /// `report.records` when the file began.
    records_before: u64,
    /// Records of the file that earlier flushes wrote.
    flushed: u64,
    /// Bytes of the files before this one, of all files read so far, and of all files.
    bytes_done: u64,
    bytes_now: u64,
    bytes_total: u64,
    last_report: Instant,
}

/// One import in progress: the transaction, the id maps, the pending batches and the report.
struct Importer<'a> {
    /// The import's transaction; every statement runs in it.
    txn: &'a DatabaseTransaction,
    /// Backend of `txn`, for placeholders.
    backend: DbBackend,
    /// What this import applies.
    parts: Parts,
    progress: &'a dyn Progress,
    at: Position,
    /// The report being built.
    report: ImportReport,
    /// Rows inserted or changed in the counted tables ([`Parts::counted_tables`]).
    affected: u64,
    /// Counted tables that held no row when the import began: nothing stored can equal what
    /// is written there, so upserts skip the search for unchanged rows.
    empty_at_start: HashSet<&'static str>,
    rows_before: u64,
    ids: IdMaps,
    batches: Batches,
    /// Products were written: own offers may be missing (see `create_missing_own_offers`).
    own_offers_due: bool,
    /// Per table (`prices`, `stocks`): offers this import wrote rows of, kept while the table
    /// was empty at the start (see `write_by_offer`).
    offers_written: HashMap<&'static str, HashSet<i64>>,
    /// The change report being collected.
    changes: Changes,
    /// Ids of products (and offers) stored with a deletion mark, kept current as rows are
    /// written: tells a deactivation and a reactivation from another change.
    deleted_products: HashSet<i64>,
    deleted_offers: HashSet<i64>,
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
            txn.execute_unprepared("SET LOCAL jit = off")
                .await
                .map_err(ImportError::transaction)?;
        }
        let mut rows_before = 0;
        let mut empty_at_start = HashSet::new();
        for table in parts.counted_tables() {
            let n = count(txn, table, None).await.map_err(reading(table))?;
            if n == 0 {
                empty_at_start.insert(table);
            }
            rows_before += n;
        }
        let deleted = |table: &'static str, wanted: bool| async move {
            if wanted {
                load_deleted(txn, table).await.map_err(reading(table))
            } else {
                Ok(HashSet::new())
            }
        };
        let deleted_products = deleted("products", parts.products).await?;
        let deleted_offers = deleted("offers", parts.offers).await?;
        let ids = IdMaps::load(txn, parts).await?;
        let mut changes = Changes::new(limits);
        changes.active_products_before =
            (ids.products.len() as u64).saturating_sub(deleted_products.len() as u64);
        Ok(Importer {
            txn,
            backend: txn.get_database_backend(),
            parts,
            progress,
            at: Position {
                file: None,
                batch: 0,
                records_before: 0,
                flushed: 0,
                bytes_done: 0,
                bytes_now: 0,
                bytes_total,
                last_report: Instant::now(),
            },
            report: ImportReport::default(),
            affected: 0,
            empty_at_start,
            rows_before,
            ids,
            batches: Batches::default(),
            own_offers_due: false,
            offers_written: HashMap::new(),
            changes,
            deleted_products,
            deleted_offers,
        })
    }

    /// Starts reading `file` (relative to the data folder).
    fn begin_file(&mut self, file: String) {
        self.report.files.push(file.clone());
        self.at.file = Some(file);
        self.at.batch = 0;
        self.at.records_before = self.report.records;
        self.at.flushed = 0;
    }

    /// Records read from the current file so far.
    fn file_records(&self) -> u64 {
        self.report.records - self.at.records_before
    }

    /// The context of a database error on `target` at this point of the import: the file, and
    /// the batch being flushed with the file's records it holds.
    fn context(&self, target: DbTarget) -> DbContext {
        let mut context = DbContext::new(target);
        if let Some(file) = &self.at.file {
            context.file = Some(file.clone());
            context.batch = (self.at.batch > 0).then_some(self.at.batch);
            let read = self.file_records();
            context.records = (read > self.at.flushed).then(|| self.at.flushed + 1..=read);
        }
        context
    }

    /// For `map_err`: a database error writing `table` here.
    fn writing(&self, table: &'static str) -> impl FnOnce(DbErr) -> ImportError + '_ {
        move |source| ImportError::Db {
            context: Box::new(self.context(DbTarget::Write(table))),
            source,
        }
    }

    /// For `map_err`: a database error reading `table` here.
    fn reading(&self, table: &'static str) -> impl FnOnce(DbErr) -> ImportError + '_ {
        move |source| ImportError::Db {
            context: Box::new(self.context(DbTarget::Read(table))),
            source,
        }
    }

    /// Runs an upsert on a counted table and adds what it changed to `affected`.
    async fn write(
        &mut self,
        upsert: &Upsert,
        rows: Vec<Vec<Value>>,
        mode: Mode,
    ) -> Result<Written, ImportError> {
        let written = self.run(upsert, rows, mode).await?;
        self.affected += written.affected;
        Ok(written)
    }

    /// Runs an upsert (on any table: nothing is counted).
    async fn run(
        &self,
        upsert: &Upsert,
        rows: Vec<Vec<Value>>,
        mode: Mode,
    ) -> Result<Written, ImportError> {
        upsert
            .run(self.txn, rows, mode)
            .await
            .map_err(self.writing(upsert.table))
    }

    /// Counts a batch about to be written: its records under `counter`, those that carry a
    /// deletion mark under [`Counter::Deactivated`].
    fn count_batch<T>(&mut self, counter: Counter, batch: &[T], deleted: impl Fn(&T) -> bool) {
        self.report.add(counter, batch.len() as u64);
        let marked = batch.iter().filter(|t| deleted(t)).count();
        self.report.add(Counter::Deactivated, marked as u64);
    }

    /// The [`Mode`] of a batch for `table` when the keys already stored are not known here:
    /// rows equal to stored ones are only to be expected when the table had rows at the start.
    fn mode(&self, table: &str) -> Mode {
        if self.empty_at_start.contains(table) {
            Mode::Upsert
        } else {
            Mode::Changed
        }
    }

    /// Writes every pending batch, in dependency order, then reports progress and honours
    /// cancellation.
    async fn flush(&mut self) -> Result<(), ImportError> {
        if self.batches.pending() > 0 {
            self.at.batch += 1;
            for batch in Batch::ORDER {
                self.flush_batch(batch).await?;
            }
            self.at.flushed = self.file_records();
        }
        self.tick()
    }

    /// Writes one batch (flushing offers and refs queues prices and stock, which come after).
    async fn flush_batch(&mut self, batch: Batch) -> Result<(), ImportError> {
        match batch {
            Batch::Units => self.flush_units().await,
            Batch::Warehouses => self.flush_warehouses().await,
            Batch::PriceTypes => self.flush_price_types().await,
            Batch::Groups => self.flush_groups().await,
            Batch::Properties => self.flush_properties().await,
            Batch::Products => self.flush_products().await,
            Batch::Offers => self.flush_offers().await,
            Batch::Refs => self.flush_refs().await,
            Batch::Prices => self.flush_prices().await,
            Batch::Stocks => self.flush_stocks().await,
            Batch::Customers => self.flush_customers().await,
        }
    }

    /// Reports progress; fails with [`ImportError::Cancelled`] when the caller asked to stop.
    fn tick(&mut self) -> Result<(), ImportError> {
        self.progress
            .report(self.report.records, self.at.bytes_now, self.at.bytes_total);
        self.at.last_report = Instant::now();
        if self.progress.is_cancelled() {
            return Err(ImportError::Cancelled);
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<ImportReport, ImportError> {
        self.at.file = None;
        self.flush().await?;
        self.create_missing_own_offers().await?;
        let mut rows_after = 0;
        for table in self.parts.counted_tables() {
            rows_after += count(self.txn, table, None).await.map_err(reading(table))?;
        }
        let created = rows_after.saturating_sub(self.rows_before);
        self.report.counts.insert(Counter::Created, created);
        let updated = self.affected.saturating_sub(created);
        self.report.counts.insert(Counter::Updated, updated);
        if self.parts.customers {
            // Customers are the only table of their import: its growth is the new ones.
            use wire::{ChangeColumn as C, ChangeEntity as E};
            let met = self.report.count(Counter::Customers);
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
        im.begin_file(relative(root, &file.path));
        let reference = matches!(file.kind, Kind::Prices | Kind::Rests);
        let mut chunks = read_ahead(file)?;
        let mut since_check = 0u32;
        while let Some(chunk) = chunks.recv().await {
            let chunk = chunk?;
            im.at.bytes_now = im.at.bytes_done + chunk.bytes_read.min(file.size);
            for item in chunk.items {
                match item {
                    Item::Warning(w) => im.report.skip(w.reason, 1),
                    Item::Record(r) => {
                        im.report.records += 1;
                        im.batches.record(r, parts, reference);
                    }
                }
                if im.batches.full() {
                    im.flush().await?;
                } else {
                    since_check += 1;
                    if since_check >= 256 {
                        since_check = 0;
                        if im.at.last_report.elapsed() >= REPORT_EVERY {
                            im.tick()?;
                        }
                    }
                }
            }
        }
        im.at.bytes_done += file.size;
        im.at.bytes_now = im.at.bytes_done;
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
