//! What the server and the browser app both speak: the import kinds and the live state of a run.
//! Every change of a run is published as the whole new [`RunState`] (it is small), so a browser
//! that connects late, or reconnects, needs nothing but the latest state.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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

/// The answer to «Запустить импорт»: the run id, or the message that says why nothing started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    pub run_id: String,
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
}
