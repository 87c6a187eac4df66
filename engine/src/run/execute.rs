//! One started run's body, in the background: one session per kind in run order (or a
//! preview's single rolled-back transaction), the stop at the first failure, cancellation
//! between and within kinds, a panic turned into a failure, and the end — the run's row, the
//! lock released, the final state published.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures::FutureExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::Mutex;
use tracing::Instrument;
use wire::{ImportKind, KindPhase, RunMode, RunPhase, RunState, RunStatus};

use super::lock::ImportLock;
use super::metric::{self, Outcome};
use super::publish::LiveProgress;
use super::{Runner, messages};
use crate::import::{self, ImportError, ImportRequest};

/// The session's error text when an administrator cancels.
pub const CANCELLED: &str = "Отменено администратором";

/// A run in progress: what the background task, the watchdog and the progress publisher share.
pub(super) struct Run {
    pub(super) runner: Runner,
    pub(super) conn: ConnectionManager,
    pub(super) lock: ImportLock,
    pub(super) state: Arc<Mutex<RunState>>,
    pub(super) requests: Vec<ImportRequest>,
    pub(super) cancel: Arc<AtomicBool>,
    pub(super) lock_lost: Arc<AtomicBool>,
    pub(super) mode: RunMode,
}

/// What a finished kind adds to its report besides the import's own.
struct KindDone {
    /// A preview's file stamps (size and time of each file read), to warn when the files change
    /// before the import that follows it.
    stamps: Option<Vec<wire::FileStamp>>,
    /// Bytes of its files.
    bytes_total: u64,
}

impl Run {
    pub(super) async fn execute(self) -> RunState {
        let watchdog = self.spawn_watchdog();
        let outcome = std::panic::AssertUnwindSafe(self.run_kinds())
            .catch_unwind()
            .await;
        watchdog.abort();
        if outcome.is_err() {
            tracing::error!("import run panicked");
            self.fail_running("внутренняя ошибка сервера").await;
        }
        self.finish().await
    }

    async fn run_kinds(&self) {
        if self.mode == RunMode::Preview {
            return self.run_preview().await;
        }
        let db = &self.runner.db;
        let recorder = &self.runner.recorder;
        let kinds: Vec<ImportKind> = self.requests.iter().map(|r| r.kind).collect();
        for (i, req) in self.requests.iter().enumerate() {
            if self.cancel.load(Ordering::Relaxed) {
                // Cancelled between kinds: nothing is running to roll back.
                self.stop_before(i, &kinds).await;
                return;
            }
            let (run_id, by, origin) = {
                let s = self.state.lock().await;
                (s.run_id.clone(), s.started_by.clone(), s.origin)
            };
            let session = recorder
                .open(&run_id, req.kind, &by, origin, RunMode::Import)
                .await;
            let kind_span = tracing::info_span!("kind", kind = req.kind.as_str());
            let session_id = match session {
                Ok(id) => id,
                Err(e) => {
                    self.fail_kind(i, None, &format!("ошибка базы данных: {e}"), &kinds)
                        .await;
                    return;
                }
            };
            {
                let mut s = self.state.lock().await;
                if let Some(k) = s.kind_mut(req.kind) {
                    k.phase = KindPhase::Running;
                    k.session_id = Some(session_id);
                }
            }
            self.publish().await;
            let _ = recorder.progress(session_id).await;
            metric::kind_started(req.kind);
            let kind_started = Instant::now();

            let progress = Arc::new(LiveProgress {
                cancel: self.cancel.clone(),
                ..Default::default()
            });
            let publisher = self.spawn_progress(req.kind, progress.clone(), kind_span.clone());
            let result = import::run_with(db, req, progress.as_ref(), self.runner.limits)
                .instrument(kind_span.clone())
                .await;
            publisher.abort();
            let outcome = match &result {
                Ok(_) => Outcome::Completed,
                Err(ImportError::Cancelled) => Outcome::Cancelled,
                Err(_) => Outcome::Failed,
            };
            metric::kind_finished(req.kind, outcome, kind_started.elapsed());

            match result {
                Ok(report) => {
                    let done = KindDone {
                        stamps: None,
                        bytes_total: progress.bytes_total.load(Ordering::Relaxed),
                    };
                    self.complete_kind(req, session_id, report, done, &kind_span)
                        .await
                }
                Err(e) => {
                    let detail = self.error_detail(e);
                    kind_span.in_scope(|| tracing::warn!(error = %detail, "kind failed"));
                    self.fail_kind(i, Some(session_id), &detail, &kinds).await;
                    return;
                }
            }
        }
    }

    /// The session's error text for an import error.
    fn error_detail(&self, e: ImportError) -> String {
        match e {
            ImportError::Cancelled if self.lock_lost.load(Ordering::Relaxed) => {
                "блокировка импорта потеряна (Redis недоступен или её занял другой процесс)"
                    .to_owned()
            }
            ImportError::Cancelled => CANCELLED.to_owned(),
            other => other.to_string(),
        }
    }

    /// Records a kind that ended well: its session (report JSON) and its live state.
    async fn complete_kind(
        &self,
        req: &ImportRequest,
        session_id: i64,
        report: import::ImportReport,
        done: KindDone,
        kind_span: &tracing::Span,
    ) {
        let records = report.records;
        let recorded = self
            .runner
            .recorder
            .complete(session_id, &report, done.stamps)
            .await;
        if let Err(e) = recorded {
            kind_span.in_scope(
                || tracing::error!(error = %e, session_id, "could not record a finished session"),
            );
        }
        metric::kind_report(&report);
        kind_span.in_scope(|| {
            tracing::info!(
                records,
                // By their stored keys (`{"products":3}`), as the session report has them.
                counts = %serde_json::to_value(&report.counts).unwrap_or_default(),
                skipped = %serde_json::to_value(&report.skipped).unwrap_or_default(),
                "kind imported"
            )
        });
        {
            let mut s = self.state.lock().await;
            if let Some(k) = s.kind_mut(req.kind) {
                k.phase = KindPhase::Done;
                k.processed = records;
                k.total = records;
                k.counts = report.counts.clone();
                k.skipped = report.skipped.clone();
                k.changes = Some(report.changes);
                k.bytes_total = done.bytes_total;
                k.bytes_read = done.bytes_total;
            }
        }
        self.publish().await;
    }

    /// A preview: every kind in one transaction (so stocks see the catalog this run would
    /// write), the same order and halting, then a rollback. The sessions are recorded before the
    /// transaction opens and finished after it ends: on SQLite another connection's write
    /// would wait for the open transaction.
    async fn run_preview(&self) {
        let db = &self.runner.db;
        let kinds: Vec<ImportKind> = self.requests.iter().map(|r| r.kind).collect();
        let (run_id, by, origin) = {
            let s = self.state.lock().await;
            (s.run_id.clone(), s.started_by.clone(), s.origin)
        };
        let mut sessions = Vec::with_capacity(kinds.len());
        for kind in &kinds {
            let session = self
                .runner
                .recorder
                .open(&run_id, *kind, &by, origin, RunMode::Preview)
                .await;
            match session {
                Ok(id) => sessions.push(id),
                Err(e) => {
                    self.discard_sessions(&sessions).await;
                    self.fail_kind(0, None, &format!("ошибка базы данных: {e}"), &kinds)
                        .await;
                    return;
                }
            }
        }
        let txn = match crate::db::begin_write(db).await {
            Ok(t) => t,
            Err(e) => {
                self.discard_sessions(&sessions[1..]).await;
                self.fail_kind(
                    0,
                    Some(sessions[0]),
                    &format!("ошибка базы данных: {e}"),
                    &kinds,
                )
                .await;
                return;
            }
        };
        let mut outcomes = Vec::with_capacity(kinds.len());
        let mut stopped_at = None;
        for (i, req) in self.requests.iter().enumerate() {
            if self.cancel.load(Ordering::Relaxed) {
                stopped_at = Some(i);
                break;
            }
            {
                let mut s = self.state.lock().await;
                if let Some(k) = s.kind_mut(req.kind) {
                    k.phase = KindPhase::Running;
                    k.session_id = Some(sessions[i]);
                }
            }
            self.publish().await;
            let progress = Arc::new(LiveProgress {
                cancel: self.cancel.clone(),
                ..Default::default()
            });
            let kind_span = tracing::info_span!("kind", kind = req.kind.as_str(), preview = true);
            let publisher = self.spawn_progress(req.kind, progress.clone(), kind_span.clone());
            let result = import::run_in(&txn, req, progress.as_ref(), self.runner.limits)
                .instrument(kind_span.clone())
                .await;
            publisher.abort();
            let failed = result.is_err();
            let bytes_total = progress.bytes_total.load(Ordering::Relaxed);
            outcomes.push((result, bytes_total, kind_span));
            if failed {
                break;
            }
        }
        // Never committed, whatever happened.
        if let Err(e) = txn.rollback().await {
            tracing::warn!(error = %e, "preview rollback reported an error");
        }
        let reached = outcomes.len();
        for (i, (outcome, bytes_total, kind_span)) in outcomes.into_iter().enumerate() {
            let req = &self.requests[i];
            match outcome {
                Ok(report) => {
                    let done = KindDone {
                        stamps: Some(import::stamp_files(&req.data_dir, &report.files)),
                        bytes_total,
                    };
                    self.complete_kind(req, sessions[i], report, done, &kind_span)
                        .await
                }
                Err(e) => {
                    let detail = self.error_detail(e);
                    kind_span.in_scope(|| tracing::warn!(error = %detail, "kind failed"));
                    self.fail_kind(i, Some(sessions[i]), &detail, &kinds).await;
                }
            }
        }
        // Like an import, kinds that did not get their turn have no session.
        self.discard_sessions(&sessions[reached..]).await;
        if let Some(i) = stopped_at {
            self.stop_before(i, &kinds).await;
        }
    }

    /// Removes sessions a preview recorded for kinds that did not get their turn.
    async fn discard_sessions(&self, ids: &[i64]) {
        if let Err(e) = self.runner.recorder.discard(ids).await {
            tracing::error!(error = %e, "could not remove the sessions of kinds not previewed");
        }
    }

    async fn fail_kind(
        &self,
        index: usize,
        session_id: Option<i64>,
        detail: &str,
        kinds: &[ImportKind],
    ) {
        let kind = kinds[index];
        if let Some(id) = session_id
            && let Err(e) = self.runner.recorder.fail(id, detail).await
        {
            tracing::error!(error = %e, id, "could not record a failed session");
        }
        let rest = &kinds[index + 1..];
        let mut s = self.state.lock().await;
        if let Some(k) = s.kind_mut(kind) {
            k.phase = KindPhase::Failed;
            k.error = Some(detail.to_owned());
        }
        for r in rest {
            if let Some(k) = s.kind_mut(*r) {
                k.phase = KindPhase::NotRun;
            }
        }
        s.phase = RunPhase::Failed;
        s.message = Some(messages::failure(kind, detail, rest));
    }

    async fn stop_before(&self, index: usize, kinds: &[ImportKind]) {
        let mut s = self.state.lock().await;
        for k in &kinds[index..] {
            if let Some(ks) = s.kind_mut(*k) {
                ks.phase = KindPhase::NotRun;
            }
        }
        let names: Vec<&str> = kinds[index..].iter().map(|k| k.title()).collect();
        s.phase = RunPhase::Failed;
        s.message = Some(format!(
            "❌ Импорт отменён администратором. Не импортированы: {}.",
            names.join(", ")
        ));
    }

    /// After a panic: the running kind fails with `detail`, the rest do not run.
    async fn fail_running(&self, detail: &str) {
        let kinds: Vec<ImportKind> = self.requests.iter().map(|r| r.kind).collect();
        let (index, session) = {
            let s = self.state.lock().await;
            match s.kinds.iter().position(|k| k.phase == KindPhase::Running) {
                Some(i) => (i, s.kinds[i].session_id),
                None => return,
            }
        };
        metric::kind_panicked(kinds[index]);
        self.fail_kind(index, session, detail, &kinds).await;
    }

    /// Writes the outcome, releases the lock, publishes the final state.
    async fn finish(self) -> RunState {
        let final_state = {
            let mut s = self.state.lock().await;
            if s.phase == RunPhase::Running {
                s.phase = RunPhase::Completed;
                let done: Vec<_> = s
                    .kinds
                    .iter()
                    .filter(|k| k.phase == KindPhase::Done)
                    .map(|k| (k.kind, k.counts.clone(), k.skipped.clone()))
                    .collect();
                s.message = Some(messages::success(&done));
            }
            if self.mode == RunMode::Preview
                && let Some(m) = s.message.take()
            {
                s.message = Some(messages::preview(&m));
            }
            s.clone()
        };
        let status = if final_state.phase == RunPhase::Completed {
            RunStatus::Completed
        } else {
            RunStatus::Failed
        };
        let res = self
            .runner
            .recorder
            .finish_run(
                &final_state.run_id,
                status,
                final_state.message.clone(),
                final_state.cancel_requested_by.clone(),
            )
            .await;
        if let Err(e) = res {
            tracing::error!(error = %e, "could not record the run's end");
        }
        let mut conn = self.conn.clone();
        match self.lock.release(&mut conn).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("import lock was no longer ours at the end of the run"),
            Err(e) => tracing::error!(error = %e, "import lock not released; it expires by itself"),
        }
        let _ = conn
            .del::<_, ()>(self.runner.keys.cancel(&final_state.run_id))
            .await;
        self.publish().await;
        let last = self.state.lock().await.clone();
        tracing::info!(run_id = %last.run_id, outcome = ?last.message, "import run finished");
        last
    }
}
