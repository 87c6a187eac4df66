//! What the server and the browser app both speak: the import kinds and the live state of a run.
//! Every change of a run is published as the whole new [`RunState`] (it is small), so a browser
//! that connects late, or reconnects, needs nothing but the latest state.

pub mod counter;
/// Russian plural forms and digit grouping.
pub mod text;
pub use counter::Counter;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod run_status;
pub use run_status::RunStatus;

/// What an administrator can import. The declaration order is the run order:
/// catalog → stocks → prices → customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    Catalog,
    Stocks,
    Prices,
    Customers,
}

impl ImportKind {
    /// Every kind, in run order.
    pub const ALL: [ImportKind; 4] = [Self::Catalog, Self::Stocks, Self::Prices, Self::Customers];

    /// The word stored in `import_sessions.import_type` and used by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Stocks => "stocks",
            Self::Prices => "prices",
            Self::Customers => "customers",
        }
    }

    /// Parses the stored/CLI word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The monitor's column text: Каталог / Остатки / Цены / Клиенты.
    pub fn title(self) -> &'static str {
        match self {
            Self::Catalog => "Каталог",
            Self::Stocks => "Остатки",
            Self::Prices => "Цены",
            Self::Customers => "Клиенты",
        }
    }

    /// The checkbox label on «Выбор типов данных для импорта».
    pub fn choice_label(self) -> &'static str {
        match self {
            Self::Catalog => "Каталог товаров",
            Self::Stocks => "Остатки товаров",
            Self::Prices => "Цены товаров",
            Self::Customers => "Клиенты",
        }
    }

    /// Whether this kind needs products in the database (or the catalog in the same run).
    pub fn needs_catalog(self) -> bool {
        matches!(self, Self::Stocks | Self::Prices)
    }
}

/// Where one kind of a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindPhase {
    /// Chosen, its turn has not come.
    Waiting,
    /// Importing now.
    Running,
    /// Imported.
    Done,
    /// Failed (or was cancelled); the run stopped here.
    Failed,
    /// Not started because an earlier kind failed.
    NotRun,
}

/// One chosen kind within a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindState {
    pub kind: ImportKind,
    pub phase: KindPhase,
    /// Its import session, once started.
    pub session_id: Option<i64>,
    /// Records processed so far.
    pub processed: u64,
    /// Records expected (an estimate from the bytes read until the kind ends).
    pub total: u64,
    /// Counters so far / at the end (products, stock_rows, …).
    pub counts: BTreeMap<String, u64>,
    /// Records skipped, by reason key.
    pub skipped: BTreeMap<String, u64>,
    pub error: Option<String>,
    /// Bytes of its files read so far (the CLI's progress bar; 0 from older servers).
    #[serde(default)]
    pub bytes_read: u64,
    /// Bytes of its files in all.
    #[serde(default)]
    pub bytes_total: u64,
    /// What changed (or, in a preview, would change), once the kind is done.
    #[serde(default)]
    pub changes: Option<ChangeReport>,
}

impl KindState {
    pub fn waiting(kind: ImportKind) -> Self {
        Self {
            kind,
            phase: KindPhase::Waiting,
            session_id: None,
            processed: 0,
            total: 0,
            counts: BTreeMap::new(),
            skipped: BTreeMap::new(),
            error: None,
            bytes_read: 0,
            bytes_total: 0,
            changes: None,
        }
    }
}

/// How a run as a whole stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunPhase {
    Running,
    Completed,
    Failed,
}

/// Everything a browser needs to draw a run. `seq` grows with every change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    pub run_id: String,
    pub seq: u64,
    pub phase: RunPhase,
    /// The chosen kinds, in run order.
    pub kinds: Vec<KindState>,
    /// Who started it: an administrator's login, or `cli`.
    pub started_by: String,
    /// RFC 3339.
    pub started_at: String,
    /// Who asked to cancel it, once someone did.
    pub cancel_requested_by: Option<String>,
    /// The final ✅ / ❌ message, once it ended.
    pub message: Option<String>,
    /// An import, or a preview that rolls back.
    #[serde(default)]
    pub mode: RunMode,
}

impl RunState {
    /// A run that has just been accepted: every kind waiting.
    pub fn new(
        run_id: String,
        kinds: &[ImportKind],
        started_by: String,
        started_at: String,
    ) -> Self {
        let mut kinds = kinds.to_vec();
        kinds.sort();
        kinds.dedup();
        Self {
            run_id,
            seq: 0,
            phase: RunPhase::Running,
            kinds: kinds.into_iter().map(KindState::waiting).collect(),
            started_by,
            started_at,
            cancel_requested_by: None,
            message: None,
            mode: RunMode::Import,
        }
    }

    /// True once the run has ended, whichever way.
    pub fn is_finished(&self) -> bool {
        self.phase != RunPhase::Running
    }

    /// The state of one kind of this run.
    pub fn kind_mut(&mut self, kind: ImportKind) -> Option<&mut KindState> {
        self.kinds.iter_mut().find(|k| k.kind == kind)
    }
}

/// Why the importer skipped a record (or one value of it). The importer can only count a
/// reason of this type, and every reason has its Russian text: a new reason without one does not
/// compile. The serde name is the key stored in a session's report and sent in [`KindState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A record without `Ид` (or with the all-zero GUID).
    MissingId,
    /// A price or quantity that is not a number.
    BadNumber,
    /// A price or quantity that is empty or 1C's "not filled" marker.
    EmptyNumber,
    /// A price without `ИдТипаЦены`.
    MissingPriceType,
    /// A per-warehouse stock entry without a warehouse id.
    MissingWarehouseId,
    /// An offer id like `#abc` with no product part.
    BadOfferId,
    /// A yes/no flag that is neither (read as "no").
    BadBoolean,
    /// An offer whose product is not in the catalog.
    UnknownProduct,
    /// A price or stock record whose offer is not in the catalog.
    UnknownOffer,
    /// A price whose price type is unknown.
    UnknownPriceType,
    /// A product property value whose property is unknown.
    UnknownProperty,
    /// A price or quantity too large for the column.
    NumberOutOfRange,
}

impl SkipReason {
    /// Every reason.
    pub const ALL: [SkipReason; 12] = [
        Self::MissingId,
        Self::BadNumber,
        Self::EmptyNumber,
        Self::MissingPriceType,
        Self::MissingWarehouseId,
        Self::BadOfferId,
        Self::BadBoolean,
        Self::UnknownProduct,
        Self::UnknownOffer,
        Self::UnknownPriceType,
        Self::UnknownProperty,
        Self::NumberOutOfRange,
    ];

    /// The stored key, e.g. `"unknown_offer"` (the serde name).
    pub fn key(self) -> &'static str {
        match self {
            Self::MissingId => "missing_id",
            Self::BadNumber => "bad_number",
            Self::EmptyNumber => "empty_number",
            Self::MissingPriceType => "missing_price_type",
            Self::MissingWarehouseId => "missing_warehouse_id",
            Self::BadOfferId => "bad_offer_id",
            Self::BadBoolean => "bad_boolean",
            Self::UnknownProduct => "unknown_product",
            Self::UnknownOffer => "unknown_offer",
            Self::UnknownPriceType => "unknown_price_type",
            Self::UnknownProperty => "unknown_property",
            Self::NumberOutOfRange => "number_out_of_range",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }

    /// What the reason means, for the summary and the session page.
    pub fn text(self) -> &'static str {
        match self {
            Self::MissingId => "нет Ид",
            Self::BadNumber => "неверное число",
            Self::EmptyNumber => "пустое число",
            Self::MissingPriceType => "не указан тип цены",
            Self::MissingWarehouseId => "не указан склад",
            Self::BadOfferId => "неверный Ид предложения",
            Self::BadBoolean => "неверное логическое значение",
            Self::UnknownProduct => "нет товара в каталоге",
            Self::UnknownOffer => "нет предложения в каталоге",
            Self::UnknownPriceType => "неизвестный тип цены",
            Self::UnknownProperty => "неизвестное свойство",
            Self::NumberOutOfRange => "число вне допустимого диапазона",
        }
    }
}

/// What a stored skip key means, for the summary: the reason's text, or the key itself for a
/// key this version does not know (a session recorded by another version).
pub fn skip_reason_text(key: &str) -> &str {
    SkipReason::parse(key).map_or(key, |r| r.text())
}

/// Lifecycle of one import session. The serde name is stored in `import_sessions.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Started,
    InProgress,
    Completed,
    Failed,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 4] = [
        Self::Started,
        Self::InProgress,
        Self::Completed,
        Self::Failed,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The monitor's status text with its icon.
    pub fn title(self) -> &'static str {
        match self {
            Self::Started => "⏸️ Начат",
            Self::InProgress => "⏳ В процессе",
            Self::Completed => "✅ Завершен",
            Self::Failed => "❌ Ошибка",
        }
    }

    /// The CSS class that colours the status.
    pub fn css_class(self) -> &'static str {
        match self {
            Self::Started => "status-started",
            Self::InProgress => "status-in-progress",
            Self::Completed => "status-completed",
            Self::Failed => "status-failed",
        }
    }
}

/// How a message to the administrator is shown: the banner's colour. Decided by the typed result
/// that carries the message (a refusal's reason, a run's phase), never by its wording or emoji.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Success,
    Warning,
    Error,
    Info,
}

/// Why a request was refused before anything started. Pages decide by this (e.g. «another run
/// holds the lock: show it»), never by the message's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No kind was chosen.
    NothingChosen,
    /// A kind this version does not know.
    UnknownKind,
    /// Stocks or prices chosen without a catalog to land on.
    CatalogEmpty,
    /// `ONEC_DATA_DIR` is not set.
    NoDataDir,
    /// The export folder does not exist.
    DataDirMissing,
    /// The files a chosen kind reads are missing.
    FilesMissing,
    /// Another run holds the import lock.
    AlreadyRunning,
    /// The run to cancel has already ended.
    AlreadyFinished,
    /// Redis did not answer.
    RedisDown,
    /// The database did not answer.
    DatabaseDown,
    /// Too many login attempts, or every password check is busy.
    TooManyAttempts,
}

impl Refusal {
    /// Every reason.
    pub const ALL: [Refusal; 11] = [
        Self::NothingChosen,
        Self::UnknownKind,
        Self::CatalogEmpty,
        Self::NoDataDir,
        Self::DataDirMissing,
        Self::FilesMissing,
        Self::AlreadyRunning,
        Self::AlreadyFinished,
        Self::RedisDown,
        Self::DatabaseDown,
        Self::TooManyAttempts,
    ];

    /// A service that is down is an error; everything else asks the administrator to act or wait.
    pub fn level(self) -> Level {
        match self {
            Self::RedisDown | Self::DatabaseDown => Level::Error,
            Self::NothingChosen
            | Self::UnknownKind
            | Self::CatalogEmpty
            | Self::NoDataDir
            | Self::DataDirMissing
            | Self::FilesMissing
            | Self::AlreadyRunning
            | Self::AlreadyFinished
            | Self::TooManyAttempts => Level::Warning,
        }
    }
}

impl RunPhase {
    /// The level of the run's final message.
    pub fn level(self) -> Level {
        match self {
            Self::Running => Level::Info,
            Self::Completed => Level::Success,
            Self::Failed => Level::Error,
        }
    }
}

/// The answer to «Запустить импорт»: the run id, or the message that says why nothing started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub run_id: String,
}

/// How many examples of each kind a change report keeps (bounded top-N, never full lists).
pub const CHANGE_EXAMPLES: usize = 20;

/// A run that writes (`import`) or one that checks and rolls back (`preview`, «Проверить без
/// записи»). The serde name is stored in `import_runs.mode` and `import_sessions.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    #[default]
    Import,
    Preview,
}

impl RunMode {
    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Import => "import",
            Self::Preview => "preview",
        }
    }

    /// Parses the stored word; anything else is an import (rows written before modes existed).
    pub fn parse(s: &str) -> Self {
        if s.trim() == "preview" {
            Self::Preview
        } else {
            Self::Import
        }
    }

    /// The monitor's mark: «Проверка» for a preview, nothing for an import.
    pub fn mark(self) -> Option<&'static str> {
        match self {
            Self::Import => None,
            Self::Preview => Some("Проверка без записи"),
        }
    }
}

/// What a line of «Что изменилось» counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeEntity {
    Products,
    Offers,
    PriceTypes,
    Warehouses,
    Prices,
    Stocks,
    Customers,
}

impl ChangeEntity {
    /// Every entity, in the order the page shows them.
    pub const ALL: [ChangeEntity; 7] = [
        Self::Products,
        Self::Offers,
        Self::PriceTypes,
        Self::Warehouses,
        Self::Prices,
        Self::Stocks,
        Self::Customers,
    ];

    /// The row title on the session page.
    pub fn title(self) -> &'static str {
        match self {
            Self::Products => "Карточки товаров",
            Self::Offers => "Предложения (SKU)",
            Self::PriceTypes => "Типы цен",
            Self::Warehouses => "Склады",
            Self::Prices => "Цены (предложение × тип цены)",
            Self::Stocks => "Остатки (предложение × склад)",
            Self::Customers => "Клиенты",
        }
    }
}

/// The columns of «Что изменилось»: each record the import met lands in exactly one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeColumn {
    New,
    Changed,
    Unchanged,
    Deactivated,
    Reactivated,
}

impl ChangeColumn {
    pub const ALL: [ChangeColumn; 5] = [
        Self::New,
        Self::Changed,
        Self::Unchanged,
        Self::Deactivated,
        Self::Reactivated,
    ];

    /// The column title.
    pub fn title(self) -> &'static str {
        match self {
            Self::New => "новых",
            Self::Changed => "изменено",
            Self::Unchanged => "без изменений",
            Self::Deactivated => "снято с продажи (пометка удаления)",
            Self::Reactivated => "возвращено в продажу",
        }
    }
}

/// Counts of one [`ChangeEntity`]. A record is `new` (not stored before), `deactivated` (stored
/// active, now with a deletion mark), `reactivated` (stored with a mark, now without), `changed`
/// (any other difference) or `unchanged`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeCounts {
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub deactivated: u64,
    pub reactivated: u64,
}

impl ChangeCounts {
    /// One column's count.
    pub fn get(&self, c: ChangeColumn) -> u64 {
        match c {
            ChangeColumn::New => self.new,
            ChangeColumn::Changed => self.changed,
            ChangeColumn::Unchanged => self.unchanged,
            ChangeColumn::Deactivated => self.deactivated,
            ChangeColumn::Reactivated => self.reactivated,
        }
    }

    /// Adds one to a column.
    pub fn bump(&mut self, c: ChangeColumn, n: u64) {
        match c {
            ChangeColumn::New => self.new += n,
            ChangeColumn::Changed => self.changed += n,
            ChangeColumn::Unchanged => self.unchanged += n,
            ChangeColumn::Deactivated => self.deactivated += n,
            ChangeColumn::Reactivated => self.reactivated += n,
        }
    }
}

/// A record as an administrator finds it in 1C: its `Ид` and name.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Named {
    pub onec_id: String,
    pub name: String,
}

/// One price that changed. Amounts in ten-thousandths, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    pub offer: Named,
    pub price_type: Named,
    pub old_e4: i64,
    pub new_e4: i64,
    /// The change in hundredths of a percent of the old price; `None` when the old price was 0.
    pub percent_e2: Option<i64>,
}

/// One stock quantity that changed. Quantities in ten-thousandths, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChange {
    pub offer: Named,
    pub warehouse: Named,
    pub old_e4: i64,
    pub new_e4: i64,
}

/// The lists of named records a change report keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExampleKind {
    NewProducts,
    DeactivatedProducts,
    NewPriceTypes,
    NewWarehouses,
}

impl ExampleKind {
    pub const ALL: [ExampleKind; 4] = [
        Self::NewProducts,
        Self::DeactivatedProducts,
        Self::NewPriceTypes,
        Self::NewWarehouses,
    ];

    /// The list's heading.
    pub fn title(self) -> &'static str {
        match self {
            Self::NewProducts => "Новые товары",
            Self::DeactivatedProducts => "Снятые с продажи товары",
            Self::NewPriceTypes => "Новые типы цен",
            Self::NewWarehouses => "Новые склады",
        }
    }
}

/// The thresholds of the warnings (`ONEC_PREVIEW_*`, see the admin guide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLimits {
    /// A price that falls or rises by more than this percent is worth a look.
    pub price_jump_percent: u32,
    /// More than this percent of the active catalog deactivated at once.
    pub deactivated_share_percent: u32,
    /// Stock going to zero for more than this percent of the offers whose stock the import sets.
    pub stock_zero_share_percent: u32,
}

impl Default for ChangeLimits {
    fn default() -> Self {
        Self {
            price_jump_percent: 50,
            deactivated_share_percent: 10,
            stock_zero_share_percent: 20,
        }
    }
}

/// Something that deserves a look before committing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeWarning {
    /// `count` prices change by more than `limit_percent` (up or down).
    PriceJumps { count: u64, limit_percent: u32 },
    /// `deactivated` of the `active_before` active products get a deletion mark.
    MassDeactivation {
        deactivated: u64,
        active_before: u64,
        limit_percent: u32,
    },
    /// The stock of `offers` of the `of_offers` offers the import sets goes to zero.
    StockToZero {
        offers: u64,
        of_offers: u64,
        limit_percent: u32,
    },
    /// `offers` offers had a price and now have only zero prices.
    PricesLost { offers: u64 },
}

impl ChangeWarning {
    /// The administrator's text.
    pub fn text(&self) -> String {
        match self {
            Self::PriceJumps {
                count,
                limit_percent,
            } => format!("⚠️ Цен, изменившихся более чем на {limit_percent} %: {count}."),
            Self::MassDeactivation {
                deactivated,
                active_before,
                limit_percent,
            } => format!(
                "⚠️ Снимается с продажи {deactivated} из {active_before} активных товаров — больше {limit_percent} % каталога."
            ),
            Self::StockToZero {
                offers,
                of_offers,
                limit_percent,
            } => format!(
                "⚠️ Остаток обнуляется у {offers} из {of_offers} предложений — больше {limit_percent} %."
            ),
            Self::PricesLost { offers } => {
                format!("⚠️ Предложений, у которых не остаётся ни одной ненулевой цены: {offers}.")
            }
        }
    }
}

/// What an import changed (or, in a preview, would change): counts per entity, records
/// skipped by reason, bounded examples and warnings. Collected while writing, stored in the
/// session's report under `changes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeReport {
    pub counts: BTreeMap<ChangeEntity, ChangeCounts>,
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Up to [`CHANGE_EXAMPLES`] products, in the order met.
    pub new_products: Vec<Named>,
    pub deactivated_products: Vec<Named>,
    /// The largest price changes (by percent; a price from zero first), largest first.
    pub price_changes: Vec<PriceChange>,
    /// The largest stock changes (by quantity), largest first.
    pub stock_changes: Vec<StockChange>,
    pub new_price_types: Vec<Named>,
    pub new_warehouses: Vec<Named>,
    pub warnings: Vec<ChangeWarning>,
}

impl ChangeReport {
    /// Counts of one entity (zeros when it was not met).
    pub fn of(&self, e: ChangeEntity) -> ChangeCounts {
        self.counts.get(&e).copied().unwrap_or_default()
    }

    /// A list of named examples.
    pub fn examples(&self, k: ExampleKind) -> &[Named] {
        match k {
            ExampleKind::NewProducts => &self.new_products,
            ExampleKind::DeactivatedProducts => &self.deactivated_products,
            ExampleKind::NewPriceTypes => &self.new_price_types,
            ExampleKind::NewWarehouses => &self.new_warehouses,
        }
    }

    /// Nothing new, changed, deactivated or reactivated.
    pub fn is_quiet(&self) -> bool {
        self.counts
            .values()
            .all(|c| c.new + c.changed + c.deactivated + c.reactivated == 0)
    }
}

/// A file of a preview as it was read: the real import started from the preview's result
/// compares these and says so when one changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Relative to the data folder, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub mtime: i64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// Before the import started from a preview's result: the kinds the preview checked and the
/// export files that changed since (empty: the import reads what the preview read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewFiles {
    pub kinds: Vec<ImportKind>,
    pub changed: Vec<String>,
}

impl PreviewFiles {
    /// The page's warning when files changed.
    pub fn warning(&self) -> Option<String> {
        (!self.changed.is_empty()).then(|| {
            format!(
                "⚠️ Файлы выгрузки изменились после проверки: {}. Результат проверки может не совпасть с импортом.",
                self.changed.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_the_run_order_whatever_the_ticking_order() {
        let s = RunState::new(
            "r".into(),
            &[
                ImportKind::Customers,
                ImportKind::Catalog,
                ImportKind::Prices,
                ImportKind::Catalog,
            ],
            "admin".into(),
            "2026-11-25T10:00:00Z".into(),
        );
        let order: Vec<_> = s.kinds.iter().map(|k| k.kind).collect();
        assert_eq!(
            order,
            [
                ImportKind::Catalog,
                ImportKind::Prices,
                ImportKind::Customers
            ]
        );
        assert!(s.kinds.iter().all(|k| k.phase == KindPhase::Waiting));
        assert!(!s.is_finished());
    }

    #[test]
    fn kinds_round_trip_and_speak_russian() {
        for k in ImportKind::ALL {
            assert_eq!(ImportKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ImportKind::parse(" stocks "), Some(ImportKind::Stocks));
        assert_eq!(ImportKind::parse("orders"), None);
        assert_eq!(ImportKind::Stocks.title(), "Остатки");
        assert_eq!(ImportKind::Prices.choice_label(), "Цены товаров");
        assert!(ImportKind::Stocks.needs_catalog() && ImportKind::Prices.needs_catalog());
        assert!(!ImportKind::Catalog.needs_catalog() && !ImportKind::Customers.needs_catalog());
    }

    #[test]
    fn every_skip_reason_has_its_key_and_russian_text() {
        for r in SkipReason::ALL {
            assert_eq!(SkipReason::parse(r.key()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", r.key()),
                "the serde name is the key"
            );
            assert_ne!(skip_reason_text(r.key()), r.key(), "{r:?} has no text");
        }
        // The reasons the importer itself counts (not the reader) read as Russian too.
        assert_eq!(skip_reason_text("unknown_property"), "неизвестное свойство");
        assert_eq!(
            skip_reason_text("number_out_of_range"),
            "число вне допустимого диапазона"
        );
        assert_eq!(
            skip_reason_text("from_a_newer_version"),
            "from_a_newer_version"
        );
    }

    #[test]
    fn the_state_travels_as_json() {
        let mut s = RunState::new("r1".into(), &[ImportKind::Stocks], "cli".into(), "t".into());
        let k = s.kind_mut(ImportKind::Stocks).unwrap();
        k.phase = KindPhase::Running;
        k.counts.insert("offers".into(), 5);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""phase":"running""#) && json.contains(r#""kind":"stocks""#));
        let back: RunState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(s.kind_mut(ImportKind::Catalog).is_none());
    }

    #[test]
    fn change_reports_travel_with_serde_names_and_read_old_json() {
        let mut r = ChangeReport::default();
        r.counts
            .entry(ChangeEntity::Products)
            .or_default()
            .bump(ChangeColumn::New, 3);
        r.skipped.insert(SkipReason::UnknownOffer, 2);
        r.warnings.push(ChangeWarning::PricesLost { offers: 1 });
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""products":{"new":3"#), "{json}");
        assert!(json.contains(r#""unknown_offer":2"#), "{json}");
        assert!(json.contains(r#""kind":"prices_lost""#), "{json}");
        assert_eq!(serde_json::from_str::<ChangeReport>(&json).unwrap(), r);
        assert_eq!(
            serde_json::from_str::<ChangeReport>("{}").unwrap(),
            ChangeReport::default()
        );
        assert!(!r.is_quiet());
        assert!(ChangeReport::default().is_quiet());
        for w in [
            ChangeWarning::PriceJumps {
                count: 4,
                limit_percent: 50,
            },
            ChangeWarning::MassDeactivation {
                deactivated: 5,
                active_before: 10,
                limit_percent: 10,
            },
            ChangeWarning::StockToZero {
                offers: 3,
                of_offers: 4,
                limit_percent: 20,
            },
            ChangeWarning::PricesLost { offers: 1 },
        ] {
            assert!(w.text().starts_with("⚠️ "), "{w:?}");
        }
        assert_eq!(RunMode::parse("preview"), RunMode::Preview);
        assert_eq!(RunMode::parse(""), RunMode::Import);
        assert_eq!(
            serde_json::to_string(&RunMode::Preview).unwrap(),
            r#""preview""#
        );
    }

    #[test]
    fn refusals_travel_by_name_and_carry_their_level() {
        for r in Refusal::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Refusal>(&json).unwrap(), r);
        }
        assert_eq!(
            serde_json::to_string(&Refusal::AlreadyRunning).unwrap(),
            "\"already_running\""
        );
        assert_eq!(Refusal::AlreadyRunning.level(), Level::Warning);
        assert_eq!(Refusal::RedisDown.level(), Level::Error);
        assert_eq!(RunPhase::Completed.level(), Level::Success);
        assert_eq!(RunPhase::Failed.level(), Level::Error);
    }
}
