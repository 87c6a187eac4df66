//! The live state of a run: one [`KindState`] per chosen kind inside a [`RunState`], published
//! whole on every change.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ChangeReport, Counter, ImportKind, Level, RunOrigin, SkipReason};

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
    /// Which kind this is.
    pub kind: ImportKind,
    /// Where it stands.
    pub phase: KindPhase,
    /// Its import session, once started.
    pub session_id: Option<i64>,
    /// Records processed so far.
    pub processed: u64,
    /// Records expected (an estimate from the bytes read until the kind ends).
    pub total: u64,
    /// Counters so far / at the end. Travels as an object keyed by [`Counter::key`]
    /// (`{"products": 3, "stock_rows": 5}`), the shape of every version so far.
    pub counts: BTreeMap<Counter, u64>,
    /// Records skipped, by reason (keyed by [`SkipReason::key`] in JSON).
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Why it failed, in the administrator's words, once it did.
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
    /// A kind chosen for a run whose turn has not come: nothing counted yet.
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
    /// A kind is importing or waiting for its turn.
    Running,
    /// Every chosen kind is done.
    Completed,
    /// A kind failed or the run was cancelled; later kinds did not run.
    Failed,
}

/// Everything a browser needs to draw a run. `seq` grows with every change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// The run's id (a UUID), shared by its sessions and its event stream
    /// (`/events/runs/{run_id}`).
    pub run_id: String,
    /// Grows by one with every published change: a state with a smaller `seq` is older.
    pub seq: u64,
    /// Where the run as a whole stands.
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
    /// Who started it: an administrator, the command line or 1C's exchange.
    #[serde(default)]
    pub origin: RunOrigin,
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
            origin: RunOrigin::default(),
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

/// The answer to «Запустить импорт» or «Проверить без записи» when the run was accepted (a
/// refusal comes back as an error with its [`Refusal`](crate::Refusal) instead).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    /// The new run's id: the page follows its state at `/events/runs/{run_id}`.
    pub run_id: String,
}

/// A run that writes (`import`) or one that checks and rolls back (`preview`, «Проверить без
/// записи»). The serde name is stored in `import_runs.mode` and `import_sessions.mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Writes what it reads into the shop's database.
    #[default]
    Import,
    /// «Проверка без записи»: the same imports in one transaction, rolled back at the end; only
    /// the sessions and their change reports stay.
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
    fn the_state_travels_as_json() {
        let mut s = RunState::new("r1".into(), &[ImportKind::Stocks], "cli".into(), "t".into());
        let k = s.kind_mut(ImportKind::Stocks).unwrap();
        k.phase = KindPhase::Running;
        k.counts.insert(Counter::Offers, 5);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""phase":"running""#) && json.contains(r#""kind":"stocks""#));
        let back: RunState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(s.kind_mut(ImportKind::Catalog).is_none());
    }

    #[test]
    fn counters_and_reasons_travel_under_their_old_string_keys() {
        // A kind's state as servers with string-keyed maps published it.
        let old = r#"{"kind":"stocks","phase":"done","session_id":7,"processed":9,"total":9,
            "counts":{"offers":3,"stock_rows":5,"warehouses_created":1,"created":2,"updated":0},
            "skipped":{"unknown_offer":4,"missing_warehouse_id":1},"error":null}"#;
        let k: KindState = serde_json::from_str(old).unwrap();
        assert_eq!(
            k.counts,
            BTreeMap::from([
                (Counter::Offers, 3),
                (Counter::StockRows, 5),
                (Counter::WarehousesCreated, 1),
                (Counter::Created, 2),
                (Counter::Updated, 0),
            ])
        );
        assert_eq!(
            k.skipped,
            BTreeMap::from([
                (SkipReason::UnknownOffer, 4),
                (SkipReason::MissingWarehouseId, 1)
            ])
        );
        // And they are written back under the same keys.
        let json: serde_json::Value = serde_json::to_value(&k).unwrap();
        assert_eq!(
            json["counts"],
            serde_json::json!({"offers":3,"stock_rows":5,"warehouses_created":1,"created":2,"updated":0})
        );
        assert_eq!(
            json["skipped"],
            serde_json::json!({"unknown_offer":4,"missing_warehouse_id":1})
        );
    }

    #[test]
    fn modes_travel_by_their_stored_word() {
        assert_eq!(RunMode::parse("preview"), RunMode::Preview);
        assert_eq!(RunMode::parse(""), RunMode::Import);
        assert_eq!(
            serde_json::to_string(&RunMode::Preview).unwrap(),
            r#""preview""#
        );
    }
}
