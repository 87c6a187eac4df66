//! What the admin app's server functions answer: the logged-in administrator, the rows and pages
//! of the «Сессии импорта» monitor, one session's details and the catalog's size.

use serde::{Deserialize, Serialize};

use crate::{ChangeReport, ImportKind, RunMode, RunOrigin, SessionStatus};

/// Sessions per monitor page.
pub const PER_PAGE: u64 = 50;

/// The logged-in administrator, as the header shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminInfo {
    /// The login the administrator signed in with.
    pub login: String,
}

/// One row of the «Сессии импорта» monitor: one kind imported (or previewed) within a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// The session's number (`import_sessions.id`), shown as «Сессия №…».
    pub id: i64,
    /// The run the session belongs to; sessions of one run share it.
    pub run_id: String,
    /// What the session imported; travels as its stored word (`catalog`, `stocks`, …).
    pub import_type: ImportKind,
    /// Where the session stands; travels as its stored word (`in_progress`, `failed`, …).
    pub status: SessionStatus,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC; `None` while the session runs.
    pub finished_at: Option<String>,
    /// Records processed so far (live from the run state while it runs).
    pub processed: i64,
    /// Records expected (an estimate while it runs).
    pub total: i64,
    /// Why the session failed, if it did.
    pub error_message: Option<String>,
    /// Who started the run: an administrator's login, or `cli`.
    pub triggered_by: String,
    /// An import, or a preview («Проверка без записи») that wrote nothing.
    #[serde(default)]
    pub mode: RunMode,
    /// Who started the run: an administrator, the command line or 1C's exchange.
    #[serde(default)]
    pub origin: RunOrigin,
}

impl SessionRow {
    /// «Запустил» as the monitor shows it (`1С (обмен) · 1c` for an exchange).
    pub fn started_by(&self) -> String {
        self.origin.who(&self.triggered_by)
    }

    /// Whether the session has not ended yet (started or in progress): the monitor shows its
    /// progress bar instead of a duration.
    pub fn is_running(&self) -> bool {
        matches!(
            self.status,
            SessionStatus::Started | SessionStatus::InProgress
        )
    }
}

/// The details page of one session: the row plus its report (counters, skipped by reason).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionDetail {
    /// The session as the monitor lists it.
    pub row: SessionRow,
    /// The stored report as written by the run (`counts` with `skipped` inside, `records`,
    /// `files`, …); `null` when it does not parse.
    pub report: serde_json::Value,
    /// The final message of the run this session belongs to.
    pub run_message: Option<String>,
    /// Who cancelled the run, if someone did.
    pub cancelled_by: Option<String>,
    /// «Что изменилось»: the typed change report, when the session recorded one.
    #[serde(default)]
    pub changes: Option<ChangeReport>,
}

/// One page of the monitor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionPage {
    /// The page's sessions, newest first.
    pub rows: Vec<SessionRow>,
    /// Sessions matching the filters, on all pages.
    pub total: u64,
    /// This page's number, from 0.
    pub page: u64,
    /// Sessions per page ([`PER_PAGE`]).
    pub per_page: u64,
}

/// What the selection page needs to show the dependency rule before submitting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogStatus {
    /// Products in the shop database (not deleted).
    pub products: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_kind_and_status_as_their_stored_words() {
        let row = SessionRow {
            id: 7,
            run_id: "r".into(),
            import_type: ImportKind::Stocks,
            status: SessionStatus::InProgress,
            started_at: "2026-11-25T10:00:00+00:00".into(),
            finished_at: None,
            processed: 1,
            total: 2,
            error_message: None,
            triggered_by: "cli".into(),
            mode: RunMode::Preview,
            origin: RunOrigin::Cli,
        };
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["import_type"], "stocks");
        assert_eq!(json["status"], "in_progress");
        assert_eq!(json["mode"], "preview");
        assert_eq!(serde_json::from_value::<SessionRow>(json).unwrap(), row);
        assert!(row.is_running());
        for s in SessionStatus::ALL {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                s.as_str(),
                "the serde name is the stored word"
            );
        }
        for k in ImportKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
