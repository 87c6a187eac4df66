//! Session recording: [`SessionRecorder`] is the one type that writes `import_runs` and
//! `import_sessions` rows — a run opened and finished, a kind's session opened, in progress,
//! completed (with its stored report) or failed, the sessions of a preview's unreached kinds
//! discarded, and the rows of a dead process marked interrupted. Statuses are written from
//! [`RunStatus`] and [`SessionStatus`], never as bare words.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter,
};
use wire::{FileStamp, ImportKind, RunMode, RunOrigin, RunState, RunStatus, SessionStatus};

use super::recovery::{INTERRUPTED, RecoveryError};
use crate::entity::{import_runs, import_sessions};
use crate::import::ImportReport;

/// Writes every run and session row. Cheap to clone (it holds the pooled connection).
#[derive(Clone, Debug)]
pub struct SessionRecorder {
    db: DatabaseConnection,
}

/// What [`SessionRecorder::mark_interrupted`] marked failed.
#[derive(Debug, Default)]
pub struct Interrupted {
    /// Sessions marked failed.
    pub sessions: u64,
    /// Runs marked failed, by id.
    pub runs: Vec<String>,
}

/// A run that has already ended, written as it is ([`SessionRecorder::record_history`]).
#[derive(Clone, Debug)]
pub struct PastRun {
    pub id: String,
    pub kinds: Vec<ImportKind>,
    pub status: RunStatus,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A session that has already ended, written as it is ([`SessionRecorder::record_history`]).
#[derive(Clone, Debug)]
pub struct PastSession {
    pub run_id: String,
    pub kind: ImportKind,
    pub status: SessionStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Records processed (and in all).
    pub records: u64,
    /// The stored report (JSON).
    pub report: serde_json::Value,
    pub error_message: Option<String>,
    pub triggered_by: String,
}

impl SessionRecorder {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Records a run that starts now: `running`, no end yet.
    /// The run is `state` as it was accepted (its id, kinds, who, origin and mode), started by
    /// the 1C exchange `exchange_id` if one started it.
    pub async fn open_run(
        &self,
        state: &RunState,
        exchange_id: Option<&str>,
        started_at: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let kinds: Vec<ImportKind> = state.kinds.iter().map(|k| k.kind).collect();
        import_runs::ActiveModel {
            id: Set(state.run_id.clone()),
            kinds: Set(kinds_word(&kinds)),
            status: Set(RunStatus::Running.as_str().into()),
            message: Set(None),
            started_by: Set(state.started_by.clone()),
            cancelled_by: Set(None),
            started_at: Set(started_at),
            finished_at: Set(None),
            mode: Set(state.mode.as_str().into()),
            origin: Set(state.origin.as_str().into()),
            exchange_id: Set(exchange_id.map(str::to_owned)),
        }
        .insert(&self.db)
        .await
        .map(|_| ())
    }

    /// Records a run's end: its status, final message and who cancelled it, if anyone did.
    pub async fn finish_run(
        &self,
        run_id: &str,
        status: RunStatus,
        message: Option<String>,
        cancelled_by: Option<String>,
    ) -> Result<(), DbErr> {
        import_runs::ActiveModel {
            id: Set(run_id.to_owned()),
            status: Set(status.as_str().into()),
            message: Set(message),
            cancelled_by: Set(cancelled_by),
            finished_at: Set(Some(Utc::now())),
            ..Default::default()
        }
        .update(&self.db)
        .await
        .map(|_| ())
    }

    /// How many runs are recorded as still running.
    pub async fn running_runs(&self) -> Result<u64, DbErr> {
        import_runs::Entity::find()
            .filter(import_runs::Column::Status.eq(RunStatus::Running.as_str()))
            .count(&self.db)
            .await
    }

    /// Opens a kind's session (`started`, nothing processed yet); returns its id.
    pub async fn open(
        &self,
        run_id: &str,
        kind: ImportKind,
        triggered_by: &str,
        origin: RunOrigin,
        mode: RunMode,
    ) -> Result<i64, DbErr> {
        import_sessions::ActiveModel {
            run_id: Set(run_id.to_owned()),
            import_type: Set(kind.as_str().into()),
            status: Set(SessionStatus::Started.as_str().into()),
            started_at: Set(Utc::now()),
            finished_at: Set(None),
            processed: Set(0),
            total: Set(0),
            report: Set("{}".into()),
            error_message: Set(None),
            triggered_by: Set(triggered_by.to_owned()),
            mode: Set(mode.as_str().into()),
            origin: Set(origin.as_str().into()),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map(|s| s.id)
    }

    /// The kind's import has begun: `in_progress`.
    pub async fn progress(&self, id: i64) -> Result<(), DbErr> {
        import_sessions::Entity::update_many()
            .col_expr(
                import_sessions::Column::Status,
                Expr::value(SessionStatus::InProgress.as_str()),
            )
            .filter(import_sessions::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// The kind ended well: `completed`, with its report (and a preview's file stamps) stored.
    pub async fn complete(
        &self,
        id: i64,
        report: &ImportReport,
        stamps: Option<Vec<FileStamp>>,
    ) -> Result<(), DbErr> {
        import_sessions::ActiveModel {
            id: Set(id),
            status: Set(SessionStatus::Completed.as_str().into()),
            finished_at: Set(Some(Utc::now())),
            processed: Set(report.records as i64),
            total: Set(report.records as i64),
            report: Set(stored_report(report, stamps).to_string()),
            ..Default::default()
        }
        .update(&self.db)
        .await
        .map(|_| ())
    }

    /// The kind failed (or was cancelled): `failed`, with the administrator's text.
    pub async fn fail(&self, id: i64, detail: &str) -> Result<(), DbErr> {
        import_sessions::ActiveModel {
            id: Set(id),
            status: Set(SessionStatus::Failed.as_str().into()),
            finished_at: Set(Some(Utc::now())),
            error_message: Set(Some(detail.to_owned())),
            ..Default::default()
        }
        .update(&self.db)
        .await
        .map(|_| ())
    }

    /// Removes sessions opened for kinds that never got their turn (a preview opens them all
    /// before its transaction).
    pub async fn discard(&self, ids: &[i64]) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        import_sessions::Entity::delete_many()
            .filter(import_sessions::Column::Id.is_in(ids.iter().copied()))
            .exec(&self.db)
            .await
            .map(|_| ())
    }

    /// The preview sessions of a run.
    pub async fn preview_sessions(
        &self,
        run_id: &str,
    ) -> Result<Vec<import_sessions::Model>, DbErr> {
        import_sessions::Entity::find()
            .filter(import_sessions::Column::RunId.eq(run_id))
            .filter(import_sessions::Column::Mode.eq(RunMode::Preview.as_str()))
            .all(&self.db)
            .await
    }

    /// Marks failed, with [`INTERRUPTED`], the sessions and runs still unfinished that started
    /// before `now`, except those of the run `spare` (alive: it holds the lock).
    pub async fn mark_interrupted(
        &self,
        now: DateTime<Utc>,
        spare: Option<&str>,
    ) -> Result<Interrupted, RecoveryError> {
        let sessions_err = |source| RecoveryError::Db {
            table: "import_sessions",
            source,
        };
        let runs_err = |source| RecoveryError::Db {
            table: "import_runs",
            source,
        };
        let mut stale_sessions = Condition::all()
            .add(import_sessions::Column::Status.is_in([
                SessionStatus::Started.as_str(),
                SessionStatus::InProgress.as_str(),
            ]))
            .add(import_sessions::Column::StartedAt.lt(now));
        let mut stale_runs = Condition::all()
            .add(import_runs::Column::Status.eq(RunStatus::Running.as_str()))
            .add(import_runs::Column::StartedAt.lt(now));
        if let Some(id) = spare {
            stale_sessions = stale_sessions.add(import_sessions::Column::RunId.ne(id));
            stale_runs = stale_runs.add(import_runs::Column::Id.ne(id));
        }
        // Look before writing: on SQLite an UPDATE waits for a running import's transaction to
        // end (a CLI started during an import would wait, then import again instead of being
        // refused), and there is usually nothing to mark.
        let mut marked = Interrupted::default();
        if import_sessions::Entity::find()
            .filter(stale_sessions.clone())
            .count(&self.db)
            .await
            .map_err(sessions_err)?
            > 0
        {
            marked.sessions = import_sessions::Entity::update_many()
                .col_expr(
                    import_sessions::Column::Status,
                    Expr::value(SessionStatus::Failed.as_str()),
                )
                .col_expr(
                    import_sessions::Column::ErrorMessage,
                    Expr::value(INTERRUPTED),
                )
                .col_expr(import_sessions::Column::FinishedAt, Expr::value(now))
                .filter(stale_sessions)
                .exec(&self.db)
                .await
                .map_err(sessions_err)?
                .rows_affected;
        }
        marked.runs = import_runs::Entity::find()
            .filter(stale_runs.clone())
            .all(&self.db)
            .await
            .map_err(runs_err)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        if !marked.runs.is_empty() {
            import_runs::Entity::update_many()
                .col_expr(
                    import_runs::Column::Status,
                    Expr::value(RunStatus::Failed.as_str()),
                )
                .col_expr(
                    import_runs::Column::Message,
                    Expr::value(format!("❌ {INTERRUPTED}.")),
                )
                .col_expr(import_runs::Column::FinishedAt, Expr::value(now))
                .filter(stale_runs)
                .exec(&self.db)
                .await
                .map_err(runs_err)?;
        }
        Ok(marked)
    }

    /// Writes runs and sessions that have already ended, as given, in batches (history
    /// fabricated for `onec-admin bench monitor`). Recorded as imports, not previews.
    pub async fn record_history(
        &self,
        runs: &[PastRun],
        sessions: &[PastSession],
    ) -> Result<(), DbErr> {
        if !runs.is_empty() {
            import_runs::Entity::insert_many(runs.iter().map(|r| import_runs::ActiveModel {
                id: Set(r.id.clone()),
                kinds: Set(kinds_word(&r.kinds)),
                status: Set(r.status.as_str().into()),
                message: Set(None),
                started_by: Set(r.started_by.clone()),
                cancelled_by: Set(None),
                started_at: Set(r.started_at),
                finished_at: Set(r.finished_at),
                mode: Set(RunMode::Import.as_str().into()),
                origin: Set(origin_of(&r.started_by).as_str().into()),
                exchange_id: Set(None),
            }))
            .exec_without_returning(&self.db)
            .await?;
        }
        if !sessions.is_empty() {
            import_sessions::Entity::insert_many(sessions.iter().map(|s| {
                import_sessions::ActiveModel {
                    run_id: Set(s.run_id.clone()),
                    import_type: Set(s.kind.as_str().into()),
                    status: Set(s.status.as_str().into()),
                    started_at: Set(s.started_at),
                    finished_at: Set(s.finished_at),
                    processed: Set(s.records as i64),
                    total: Set(s.records as i64),
                    report: Set(s.report.to_string()),
                    error_message: Set(s.error_message.clone()),
                    triggered_by: Set(s.triggered_by.clone()),
                    mode: Set(RunMode::Import.as_str().into()),
                    origin: Set(origin_of(&s.triggered_by).as_str().into()),
                    ..Default::default()
                }
            }))
            .exec_without_returning(&self.db)
            .await?;
        }
        Ok(())
    }
}

/// Fabricated history: `cli` ran from the command line, anyone else is an administrator.
fn origin_of(who: &str) -> RunOrigin {
    if who == "cli" {
        RunOrigin::Cli
    } else {
        RunOrigin::Admin
    }
}

/// The kinds as stored in `import_runs.kinds`: `catalog,stocks`.
fn kinds_word(kinds: &[ImportKind]) -> String {
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A completed session's stored report: counts (with `skipped` inside), records, files,
/// changes, and a preview's file stamps.
fn stored_report(report: &ImportReport, stamps: Option<Vec<FileStamp>>) -> serde_json::Value {
    let mut report_json = serde_json::json!({
        "counts": super::counts_value(&report.counts, &report.skipped),
        "records": report.records,
        "files": report.files,
        "changes": report.changes,
    });
    if let Some(stamps) = stamps {
        report_json["stamps"] = serde_json::to_value(stamps).unwrap_or_default();
    }
    report_json
}

/// The file stamps a preview session stored in its report (none when it stored none).
pub(super) fn stored_stamps(session: &import_sessions::Model) -> Vec<FileStamp> {
    let report: serde_json::Value = serde_json::from_str(&session.report).unwrap_or_default();
    report
        .get("stamps")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}
