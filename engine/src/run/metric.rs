//! The metrics a run records (names as Prometheus shows them). Recorded into the `metrics`
//! facade: nothing happens unless the server installed a recorder (`ONEC_METRICS_BIND`).
use std::time::Duration;

use wire::{Counter, ImportKind};

use crate::import::ImportReport;

/// Kinds started, by `kind`.
pub const STARTED: &str = "onec_imports_started_total";
/// Kinds finished, by `kind` and `status` (completed, failed, cancelled: [`Outcome`]).
pub const FINISHED: &str = "onec_imports_finished_total";
/// How long a kind took, by `kind` (histogram, seconds).
pub const DURATION: &str = "onec_import_duration_seconds";
/// Rows a completed kind wrote, by `table` (the import's own counts).
pub const ROWS: &str = "onec_import_rows_total";
/// Records skipped, by `reason`.
pub const SKIPPED: &str = "onec_import_skipped_total";
/// Starts refused because another run held the lock.
pub const LOCK_REFUSALS: &str = "onec_import_lock_refusals_total";

/// How a kind ended: the `status` label of [`FINISHED`]. Unlike a session's status, a
/// cancelled kind is told apart from a failed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    Failed,
    Cancelled,
}

impl Outcome {
    /// The label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The table a counter counts rows of (named as the counter's key), if it does: `created`,
/// `updated`, `deactivated`, `warehouses_created` and `variants` count something else.
pub fn table_of(counter: Counter) -> Option<&'static str> {
    match counter {
        Counter::Created
        | Counter::Updated
        | Counter::Deactivated
        | Counter::WarehousesCreated
        | Counter::Variants => None,
        Counter::Products
        | Counter::Offers
        | Counter::Categories
        | Counter::Units
        | Counter::Properties
        | Counter::PropertyValues
        | Counter::Warehouses
        | Counter::PriceTypes
        | Counter::Prices
        | Counter::StockRows
        | Counter::Customers => Some(counter.key()),
    }
}

/// Counts a kind that started.
pub(super) fn kind_started(kind: ImportKind) {
    metrics::counter!(STARTED, "kind" => kind.as_str()).increment(1);
}

/// Counts a kind that ended, and how long it took.
pub(super) fn kind_finished(kind: ImportKind, outcome: Outcome, took: Duration) {
    metrics::counter!(FINISHED, "kind" => kind.as_str(), "status" => outcome.as_str()).increment(1);
    metrics::histogram!(DURATION, "kind" => kind.as_str()).record(took.as_secs_f64());
}

/// Counts a kind that failed after a panic (no duration: it was not measured to its end).
pub(super) fn kind_panicked(kind: ImportKind) {
    metrics::counter!(FINISHED, "kind" => kind.as_str(), "status" => Outcome::Failed.as_str())
        .increment(1);
}

/// Adds a completed kind's rows and skips.
pub(super) fn kind_report(report: &ImportReport) {
    for (&counter, n) in &report.counts {
        if let Some(table) = table_of(counter) {
            metrics::counter!(ROWS, "table" => table).increment(*n);
        }
    }
    for (reason, n) in &report.skipped {
        metrics::counter!(SKIPPED, "reason" => reason.key()).increment(*n);
    }
}
