//! The importers: CommerceML export files → the shop database.
//!
//! [`plan`] decides which files an import reads (and refuses before any write when they are
//! missing); [`run`] streams them through the `commerceml` reader — on a thread of its own, so
//! parsing overlaps the database round trips — and writes everything in one database
//! transaction, in multi-row upserts of batches of a thousand records, resolving 1C `Ид`s
//! through maps loaded once per import. Any failure — a malformed file, a database error,
//! cancellation — rolls the whole import back. Importing the same export twice leaves the same
//! data and rewrites nothing (unchanged rows are filtered out in the upsert itself).
//!
//! Where things are:
//! - `plan` — which files an import reads, which of their records it applies (`Parts`);
//! - `readahead` — the thread that parses a file ahead of the writer;
//! - `writer` — the import loop and the `Importer`; `writer::batches` the pending batches and
//!   their flush order; `writer::{classifier, catalog, trade, customers}` the flush of each;
//! - `tables` — every table shape the importer writes (columns, conflict key), checked against
//!   the entities and the migrated schema by its test;
//! - `sql` — how a shape becomes statements per backend (`sql::arrays`: PostgreSQL's arrays);
//! - `changes` — the change report collected while writing; `own_rows` — SQLite's check of the
//!   import's own references before commit; `error` — [`ImportError`], a database error with
//!   its table, file and batch ([`DbContext`]).
//!
//! Choices the product issue left open:
//! - Stock for a warehouse `Ид` that is not in the database creates that warehouse (named by its
//!   `Ид`) rather than dropping the stock: 1C routinely exports rests before storages. Counted in
//!   [`ImportReport::counts`] under [`Counter::WarehousesCreated`].
//! - A rest or price only ever upserts the (offer, warehouse / price type) rows the file
//!   mentions; rows it does not mention are kept.
//! - Every imported product gets its own offer (`Ид` = the product's `Ид`) so that a bare-`Ид`
//!   price or rest always finds it; offers of unknown products are skipped.
//! - Property values and characteristics are stored as written (a list property's value is the
//!   value's `Ид`); empty values are not stored.

mod changes;
mod error;
mod own_rows;
mod plan;
mod readahead;
mod sql;
mod tables;
mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sea_orm::{DatabaseConnection, DatabaseTransaction};

use crate::kinds::ImportKind;
use wire::{Counter, SkipReason};

pub use error::{DbContext, DbTarget, ImportError};
pub use own_rows::DanglingReference;
pub use plan::{plan, plan_blocking};
pub(crate) use sql::{count as sql_count, in_ids, placeholders as sql_placeholders};
pub use sql::{from_e4, to_e4};

/// Which part of the catalog package `import catalog --file-type` imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum FileType {
    /// Everything: classifier, goods, offers, prices and rests.
    #[default]
    All,
    /// The classifier kinds (groups, units, properties, price types, warehouses) and goods.
    Goods,
    /// Offers (variants) only.
    Offers,
    /// Price types and prices only.
    Prices,
    /// Warehouses and rests only.
    Rests,
}

impl FileType {
    /// Every file type, `All` first.
    pub const ALL: [FileType; 5] = [
        FileType::All,
        FileType::Goods,
        FileType::Offers,
        FileType::Prices,
        FileType::Rests,
    ];

    /// The CLI word: `all`, `goods`, `offers`, `prices`, `rests`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::All => "all",
            FileType::Goods => "goods",
            FileType::Offers => "offers",
            FileType::Prices => "prices",
            FileType::Rests => "rests",
        }
    }

    /// Parses the CLI word (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What to import, from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRequest {
    /// Which import.
    pub kind: ImportKind,
    /// The export folder (`DATA_DIR`).
    pub data_dir: PathBuf,
    /// One file to read instead of discovering the folder (relative paths are taken relative
    /// to `data_dir`; the file must lie inside it). Meant for stocks and customers.
    pub file: Option<PathBuf>,
    /// Which part of the catalog package (catalog only; ignored otherwise).
    pub file_type: FileType,
}

/// Progress and cancellation, supplied by the caller.
pub trait Progress: Send + Sync {
    /// Called at least after every batch (and at least every ~0.25 s of work): records
    /// processed so far, bytes read so far across all files of this import, total bytes of all
    /// files of this import.
    fn report(&self, records: u64, bytes_read: u64, bytes_total: u64);
    /// Checked between batches; when true the importer stops, rolls back and returns
    /// [`ImportError::Cancelled`].
    fn is_cancelled(&self) -> bool;
}

/// A [`Progress`] that ignores reports and never cancels.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _records: u64, _bytes_read: u64, _bytes_total: u64) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// What an import did.
///
/// `counts` — catalog: [`Products`](Counter::Products), [`Offers`](Counter::Offers) (offers
/// defined by offers files), [`Variants`](Counter::Variants) (those with a characteristic),
/// `Categories`, `Units`, `Properties`, `PropertyValues`, `PriceTypes`, `Warehouses` (from
/// storages), `Prices`, `StockRows`; stocks: `Offers`, `StockRows`, `Warehouses`; prices: `Offers`,
/// `Prices`, `PriceTypes`; customers: `Customers`. Every import also reports
/// [`Created`](Counter::Created) (rows inserted), [`Updated`](Counter::Updated) (rows whose values
/// changed) and [`Deactivated`](Counter::Deactivated) (records that landed with a deletion mark),
/// and [`WarehousesCreated`](Counter::WarehousesCreated) when rests named warehouses unknown so
/// far. Counters with a zero count may be absent.
///
/// `skipped`: records left out, by [`SkipReason`].
///
/// Both maps serialise with the counters' and reasons' keys (`{"products": 3}`), as the
/// string-keyed maps of older versions did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// What landed, by counter (see above).
    pub counts: BTreeMap<Counter, u64>,
    /// What was skipped, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Records read.
    pub records: u64,
    /// Files imported, relative to the data folder, `/`-separated, in import order.
    pub files: Vec<String>,
    /// What changed (or would change, in a preview): collected while writing.
    pub changes: wire::ChangeReport,
}

impl ImportReport {
    /// A count, 0 when absent.
    pub fn count(&self, counter: Counter) -> u64 {
        self.counts.get(&counter).copied().unwrap_or(0)
    }

    /// A skip count, 0 when absent.
    pub fn skipped(&self, reason: SkipReason) -> u64 {
        self.skipped.get(&reason).copied().unwrap_or(0)
    }

    pub(crate) fn add(&mut self, counter: Counter, n: u64) {
        if n > 0 {
            *self.counts.entry(counter).or_default() += n;
        }
    }

    pub(crate) fn skip(&mut self, reason: SkipReason, n: u64) {
        if n > 0 {
            *self.skipped.entry(reason).or_default() += n;
        }
    }
}

/// Runs one import in one transaction: plans the files, reads them in import order, writes in
/// batches, commits. On any error the transaction is rolled back and the database is as before.
pub async fn run(
    db: &DatabaseConnection,
    req: &ImportRequest,
    progress: &dyn Progress,
) -> Result<ImportReport, ImportError> {
    run_with(db, req, progress, wire::ChangeLimits::default()).await
}

/// [`run`] with the thresholds of the change report's warnings.
pub async fn run_with(
    db: &DatabaseConnection,
    req: &ImportRequest,
    progress: &dyn Progress,
    limits: wire::ChangeLimits,
) -> Result<ImportReport, ImportError> {
    let files = plan_blocking(req).await?;
    let txn = crate::db::begin_write(db)
        .await
        .map_err(ImportError::transaction)?;
    match run_planned(&txn, req, &files, progress, limits).await {
        Ok(report) => {
            txn.commit().await.map_err(ImportError::transaction)?;
            Ok(report)
        }
        Err(e) => {
            // The error that stopped the import matters more than a failing rollback (the
            // connection drops the transaction anyway).
            txn.rollback().await.ok();
            Err(e)
        }
    }
}

/// Runs one import inside the caller's transaction, which the caller commits or rolls back (a
/// preview runs every kind of a run in one transaction and rolls it back at the end, so stocks
/// see the catalog the same run would have written).
pub async fn run_in(
    txn: &DatabaseTransaction,
    req: &ImportRequest,
    progress: &dyn Progress,
    limits: wire::ChangeLimits,
) -> Result<ImportReport, ImportError> {
    let files = plan_blocking(req).await?;
    run_planned(txn, req, &files, progress, limits).await
}

async fn run_planned(
    txn: &DatabaseTransaction,
    req: &ImportRequest,
    files: &[commerceml::ExportFile],
    progress: &dyn Progress,
    limits: wire::ChangeLimits,
) -> Result<ImportReport, ImportError> {
    let root = std::fs::canonicalize(&req.data_dir).unwrap_or_else(|_| req.data_dir.clone());
    let parts = plan::Parts::of(req);
    let lifted = own_rows::lift(txn).await?;
    let report = writer::import(txn, parts, &root, files, progress, limits).await?;
    if let Some(lifted) = lifted {
        lifted.check_and_restore(txn).await?;
    }
    Ok(report)
}

/// What [`parse_only`] read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Files read.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// Records read.
    pub records: u64,
    /// Reader warnings (records the reader skipped).
    pub warnings: u64,
}

/// Reads every file the import `req` would read, record by record, without a database: the
/// benchmark's parse-only phase.
pub fn parse_only(req: &ImportRequest) -> Result<Parsed, ImportError> {
    let files = plan(req)?;
    let mut out = Parsed {
        files: files.len(),
        ..Parsed::default()
    };
    for file in &files {
        for item in commerceml::open_export(file)? {
            match item? {
                commerceml::Item::Record(_) => out.records += 1,
                commerceml::Item::Warning(_) => out.warnings += 1,
            }
        }
        out.bytes += file.size;
    }
    Ok(out)
}

/// Size, modification time and SHA-256 of the files an import read (`files` relative to
/// `data_dir`, as in [`ImportReport::files`]): a preview records them so that the import
/// started from its result can tell whether the export changed in between.
pub fn stamp_files(data_dir: &std::path::Path, files: &[String]) -> Vec<wire::FileStamp> {
    files.iter().map(|f| stamp_file(data_dir, f)).collect()
}

fn stamp_file(data_dir: &std::path::Path, rel: &str) -> wire::FileStamp {
    use sha2::Digest;
    use std::io::Read;
    let path = data_dir.join(rel);
    let meta = std::fs::metadata(&path).ok();
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    let mut sha = sha2::Sha256::new();
    let mut hashed = false;
    if let Ok(mut f) = std::fs::File::open(&path) {
        let mut buf = vec![0u8; 1 << 16];
        hashed = true;
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => sha.update(&buf[..n]),
                Err(_) => {
                    hashed = false;
                    break;
                }
            }
        }
    }
    wire::FileStamp {
        path: rel.to_owned(),
        size: meta.map_or(0, |m| m.len()),
        mtime,
        sha256: if hashed {
            hex::encode(sha.finalize())
        } else {
            String::new()
        },
    }
}

/// The files of `stamps` that are not as they were (size, mtime or content), or are gone, and
/// the files the same import would read now that it did not read then; relative paths.
pub fn changed_since(
    data_dir: &std::path::Path,
    stamps: &[wire::FileStamp],
    now_planned: &[String],
) -> Vec<String> {
    let mut changed: Vec<String> = stamps
        .iter()
        .filter(|s| stamp_file(data_dir, &s.path) != **s)
        .map(|s| s.path.clone())
        .collect();
    for f in now_planned {
        if !stamps.iter().any(|s| &s.path == f) {
            changed.push(f.clone());
        }
    }
    changed
}

/// The files `req` would read now, relative to its data folder, `/`-separated.
pub fn planned_files(req: &ImportRequest) -> Result<Vec<String>, ImportError> {
    let root = std::fs::canonicalize(&req.data_dir).unwrap_or_else(|_| req.data_dir.clone());
    Ok(plan(req)?
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(&root)
                .unwrap_or(&f.path)
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect())
}
