//! One place turns a set of ticked kinds into a safe, observable run: the checks before anything
//! starts, the Redis lock, one import session per kind in the order catalog → stocks → prices →
//! customers, the stop at the first failure, cancellation, and the live state every change
//! publishes (Redis pub/sub for every instance, a local channel for the CLI).
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::FutureExt;
use redis::AsyncCommands;
use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, TransactionTrait,
};
use tokio::sync::{Mutex, broadcast};
use tracing::Instrument;
use wire::{ChangeLimits, ImportKind, KindPhase, RunMode, RunPhase, RunState};

use crate::entity::{import_runs, import_sessions};
use crate::import::{self, FileType, ImportError, ImportRequest};
use crate::kinds::SessionStatus;

/// The Redis lock.
pub mod lock;
/// The Russian texts a run ends with.
pub mod messages;

use lock::{ImportLock, LOCK_TTL, RENEW_EVERY, Renewal};

/// The default prefix of every Redis key and channel (`ONEC_REDIS_PREFIX`).
pub const DEFAULT_PREFIX: &str = "onec";
/// How long a run's state stays readable in Redis after it ended.
const STATE_TTL_SECS: u64 = 24 * 3600;
/// How often the server looks again for runs of a dead process (see
/// [`Runner::spawn_recovery_watch`]).
pub const RECOVERY_POLL: Duration = Duration::from_secs(1);
/// How often live progress is published while a kind works.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(400);

/// The Redis names one deployment uses; instances that share a prefix share the lock.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The lock every instance competes for.
    pub fn lock(&self) -> String {
        format!("{}:import:lock", self.prefix)
    }

    /// The pub/sub channel every state change goes to.
    pub fn events(&self) -> String {
        format!("{}:import:events", self.prefix)
    }

    /// The latest run's id.
    pub fn latest(&self) -> String {
        format!("{}:import:latest", self.prefix)
    }

    /// A run's latest [`RunState`] (JSON).
    pub fn state(&self, run_id: &str) -> String {
        format!("{}:import:run:{run_id}", self.prefix)
    }

    /// Login attempts at one account (by [`crate::auth::login_key`]) from one client address:
    /// the count and the time before which the next attempt must wait.
    pub fn login_attempts(&self, login_key: &str, addr: &str) -> String {
        format!("{}:login:pair:{login_key}:{addr}", self.prefix)
    }

    /// Login attempts at one account from every address in the current window.
    pub fn login_ceiling(&self, login_key: &str) -> String {
        format!("{}:login:account:{login_key}", self.prefix)
    }

    /// Set (to the administrator's login) to ask a run to stop.
    pub fn cancel(&self, run_id: &str) -> String {
        format!("{}:import:cancel:{run_id}", self.prefix)
    }
}

/// The session's error text when an administrator cancels.
pub const CANCELLED: &str = "Отменено администратором";
/// The session's error text when the server that ran it died.
pub const INTERRUPTED: &str = "Прервано: процесс остановлен";

/// Why nothing was started. Every message is the administrator's text, ready to show.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("⚠️ Не выбрано ни одного типа данных для импорта.")]
    NothingChosen,
    #[error("⚠️ Неизвестный тип данных для импорта: «{0}».")]
    UnknownKind(String),
    #[error(
        "⚠️ Невозможно загрузить остатки/цены: каталог товаров пуст. Сначала импортируйте каталог или выберите 'Каталог товаров' для импорта."
    )]
    CatalogEmpty,
    #[error("⚠️ Не задана папка выгрузки 1С: укажите ONEC_DATA_DIR.")]
    NoDataDir,
    #[error("⚠️ Папка выгрузки 1С не найдена: {0}")]
    DataDirMissing(String),
    /// The files a kind needs are missing; the text names the expected place.
    #[error("{0}")]
    MissingFiles(String),
    #[error("⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.")]
    AlreadyRunning,
    #[error("❌ Redis недоступен, импорт не запущен: {0}")]
    Redis(String),
    #[error("❌ Ошибка базы данных, импорт не запущен: {0}")]
    Db(String),
}

impl StartError {
    /// Why, as the type the pages decide by.
    pub fn refusal(&self) -> wire::Refusal {
        use wire::Refusal as R;
        match self {
            Self::NothingChosen => R::NothingChosen,
            Self::UnknownKind(_) => R::UnknownKind,
            Self::CatalogEmpty => R::CatalogEmpty,
            Self::NoDataDir => R::NoDataDir,
            Self::DataDirMissing(_) => R::DataDirMissing,
            Self::MissingFiles(_) => R::FilesMissing,
            Self::AlreadyRunning => R::AlreadyRunning,
            Self::Redis(_) => R::RedisDown,
            Self::Db(_) => R::DatabaseDown,
        }
    }
}

/// Per-kind options from the CLI; the web app uses the defaults.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Overrides the runner's data folder.
    pub data_dir: Option<PathBuf>,
    /// `import catalog --file-type`.
    pub file_type: FileType,
    /// `import stocks --file`.
    pub stocks_file: Option<PathBuf>,
    /// `import customers --file`.
    pub customers_file: Option<PathBuf>,
    /// `--dry-run` / «Проверить без записи»: the same run, rolled back instead of committed.
    pub mode: RunMode,
}

/// A request to start a run.
#[derive(Clone, Debug)]
pub struct StartRequest {
    /// Kind words as ticked (`catalog`, `stocks`, …), any order.
    pub kinds: Vec<String>,
    /// The administrator's login, or `cli`.
    pub started_by: String,
    pub options: RunOptions,
}

/// A started run: its id, its live states, and its end.
pub struct RunHandle {
    pub run_id: String,
    pub updates: broadcast::Receiver<RunState>,
    pub done: tokio::task::JoinHandle<RunState>,
}

/// Starts and cancels runs. One per process; cheap to clone.
#[derive(Clone)]
pub struct Runner {
    db: DatabaseConnection,
    redis: redis::Client,
    data_dir: Option<PathBuf>,
    local: broadcast::Sender<RunState>,
    keys: Keys,
    lock_ttl: Duration,
    limits: ChangeLimits,
}

impl Runner {
    pub fn new(db: DatabaseConnection, redis: redis::Client, data_dir: Option<PathBuf>) -> Self {
        let (local, _) = broadcast::channel(256);
        Self {
            db,
            redis,
            data_dir,
            local,
            keys: Keys::new(DEFAULT_PREFIX),
            lock_ttl: LOCK_TTL,
            limits: ChangeLimits::default(),
        }
    }

    /// Uses other thresholds for the change report's warnings (`ONEC_PREVIEW_*`).
    pub fn with_change_limits(mut self, limits: ChangeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Uses another prefix for every Redis key (deployments, or tests, sharing one Redis).
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.keys = Keys::new(prefix);
        self
    }

    /// Uses another lock TTL (tests of renewal).
    pub fn with_lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// The Redis names this runner uses.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn redis(&self) -> &redis::Client {
        &self.redis
    }

    /// Every state this process publishes (the CLI's progress; the server uses Redis instead).
    pub fn subscribe_local(&self) -> broadcast::Receiver<RunState> {
        self.local.subscribe()
    }

    /// A run's own connection: it reconnects by itself when Redis restarts, so the watchdog can
    /// take the lock back and the run's states keep reaching every instance.
    async fn run_conn(&self) -> Result<ConnectionManager, redis::RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        self.redis.get_connection_manager_with_config(config).await
    }

    /// Whether Redis started less than a lock TTL ago: a lock may then have vanished with the
    /// restart while its owner still runs (it takes it back at its next renewal). `false` when
    /// Redis does not say.
    async fn redis_just_restarted<C: ConnectionLike + Send>(&self, conn: &mut C) -> bool {
        match lock::redis_uptime(conn).await {
            Ok(Some(up)) => up < self.lock_ttl.max(LOCK_TTL),
            Ok(None) => false,
            Err(e) => {
                tracing::debug!(error = %e, "Redis uptime unknown");
                false
            }
        }
    }

    async fn conn(&self) -> Result<MultiplexedConnection, redis::RedisError> {
        tokio::time::timeout(
            Duration::from_secs(3),
            self.redis.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "нет ответа за 3 с")))?
    }

    /// Checks everything (nothing is created when a check fails), takes the lock, records the
    /// run and starts it in the background. Returns at once.
    pub async fn start(&self, req: StartRequest) -> Result<RunHandle, StartError> {
        let res = self.try_start(req).await;
        if let Err(StartError::AlreadyRunning) = &res {
            metrics::counter!(metric::LOCK_REFUSALS).increment(1);
        }
        res
    }

    async fn try_start(&self, req: StartRequest) -> Result<RunHandle, StartError> {
        let kinds = parse_kinds(&req.kinds)?;
        if kinds.iter().any(|k| k.needs_catalog()) && !kinds.contains(&ImportKind::Catalog) {
            let products = crate::stats::product_count(&self.db)
                .await
                .map_err(|e| StartError::Db(e.to_string()))?;
            if products == 0 {
                return Err(StartError::CatalogEmpty);
            }
        }
        let data_dir = req
            .options
            .data_dir
            .clone()
            .or_else(|| self.data_dir.clone())
            .ok_or(StartError::NoDataDir)?;
        if !data_dir.is_dir() {
            return Err(StartError::DataDirMissing(data_dir.display().to_string()));
        }
        let requests: Vec<ImportRequest> = kinds
            .iter()
            .map(|&k| request_for(k, &data_dir, &req.options))
            .collect();
        for r in &requests {
            // Off the async workers: reading the heads of a large folder must not stall
            // every other request (two starts at once would stall them all).
            import::plan_blocking(r).await.map_err(|e| match e {
                ImportError::MissingFiles(m) => StartError::MissingFiles(m),
                other => StartError::MissingFiles(other.to_string()),
            })?;
        }

        let run_id = uuid::Uuid::new_v4().to_string();
        let mut conn = self
            .conn()
            .await
            .map_err(|e| StartError::Redis(e.to_string()))?;
        let lock = ImportLock::acquire(&mut conn, &self.keys.lock(), &run_id, self.lock_ttl)
            .await
            .map_err(|e| StartError::Redis(e.to_string()))?
            .ok_or(StartError::AlreadyRunning)?;
        // Runs still marked running although nobody held the lock are either dead (their
        // process was killed or lost the database before it could write the end: marked failed
        // here), or alive with a lock that vanished in a Redis restart — then this start is
        // refused until Redis has been up for a lock TTL (the owner takes its lock back sooner).
        let unfinished = import_runs::Entity::find()
            .filter(import_runs::Column::Status.eq("running"))
            .count(&self.db)
            .await;
        match unfinished {
            Ok(0) => {}
            Ok(_) if self.redis_just_restarted(&mut conn).await => {
                let _ = lock.release(&mut conn).await;
                return Err(StartError::AlreadyRunning);
            }
            Ok(_) => {
                if let Err(e) = self.recover_interrupted().await {
                    tracing::warn!(error = %e, "could not mark interrupted runs before a start");
                }
            }
            Err(e) => {
                let _ = lock.release(&mut conn).await;
                return Err(StartError::Db(e.to_string()));
            }
        }
        let run_conn = match self.run_conn().await {
            Ok(c) => c,
            Err(e) => {
                let _ = lock.release(&mut conn).await;
                return Err(StartError::Redis(e.to_string()));
            }
        };

        let now = Utc::now();
        let row = import_runs::ActiveModel {
            id: Set(run_id.clone()),
            kinds: Set(kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(",")),
            status: Set("running".into()),
            message: Set(None),
            started_by: Set(req.started_by.clone()),
            cancelled_by: Set(None),
            started_at: Set(now),
            finished_at: Set(None),
            mode: Set(req.options.mode.as_str().into()),
        };
        if let Err(e) = row.insert(&self.db).await {
            let _ = lock.release(&mut conn).await;
            return Err(StartError::Db(e.to_string()));
        }

        let mut state = RunState::new(
            run_id.clone(),
            &kinds,
            req.started_by.clone(),
            now.to_rfc3339(),
        );
        state.mode = req.options.mode;
        let updates = self.local.subscribe();
        let run = Run {
            runner: self.clone(),
            conn: run_conn,
            lock,
            state: Arc::new(Mutex::new(state)),
            requests,
            cancel: Arc::new(AtomicBool::new(false)),
            lock_lost: Arc::new(AtomicBool::new(false)),
            mode: req.options.mode,
        };
        run.publish().await;
        // Every line the run logs carries its id and kinds (and, within a kind, that kind).
        let span = tracing::info_span!(
            "import",
            run_id = %run_id,
            kind = %kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","),
        );
        span.in_scope(|| tracing::info!(by = %req.started_by, "import run started"));
        let done = tokio::spawn(run.execute().instrument(span));
        Ok(RunHandle {
            run_id,
            updates,
            done,
        })
    }

    /// Asks the run to stop (any instance may be running it). Returns false when that run is not
    /// running any more.
    pub async fn cancel(&self, run_id: &str, by: &str) -> Result<bool, redis::RedisError> {
        let mut conn = self.conn().await?;
        if lock::holder(&mut conn, &self.keys.lock()).await?.as_deref() != Some(run_id) {
            return Ok(false);
        }
        conn.set_ex::<_, _, ()>(self.keys.cancel(run_id), by, 3600)
            .await?;
        tracing::info!(%run_id, %by, "cancel requested");
        Ok(true)
    }

    /// For the import started from a preview's result: the kinds the preview `run_id` checked,
    /// and the files (relative to the data folder) that changed since — size, mtime or content
    /// differ, a file is gone, or the same import would now read a file the preview did not.
    pub async fn files_changed_since_preview(
        &self,
        run_id: &str,
    ) -> Result<(Vec<ImportKind>, Vec<String>), anyhow::Error> {
        let sessions = import_sessions::Entity::find()
            .filter(import_sessions::Column::RunId.eq(run_id))
            .filter(import_sessions::Column::Mode.eq(RunMode::Preview.as_str()))
            .all(&self.db)
            .await?;
        let Some(data_dir) = self.data_dir.clone() else {
            return Err(StartError::NoDataDir.into());
        };
        let mut kinds = Vec::new();
        let mut changed = Vec::new();
        for s in sessions {
            let Some(kind) = ImportKind::parse(&s.import_type) else {
                continue;
            };
            kinds.push(kind);
            let report: serde_json::Value = serde_json::from_str(&s.report).unwrap_or_default();
            let stamps: Vec<wire::FileStamp> = report
                .get("stamps")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            let req = request_for(kind, &data_dir, &RunOptions::default());
            let now = import::planned_files(&req).unwrap_or_default();
            for f in import::changed_since(&data_dir, &stamps, &now) {
                if !changed.contains(&f) {
                    changed.push(f);
                }
            }
        }
        kinds.sort();
        kinds.dedup();
        Ok((kinds, changed))
    }

    /// The latest state of a run, from Redis.
    pub async fn state(&self, run_id: &str) -> Result<Option<RunState>, redis::RedisError> {
        let mut conn = self.conn().await?;
        let json: Option<String> = conn.get(self.keys.state(run_id)).await?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// The latest run's state (running or ended), from Redis.
    pub async fn latest(&self) -> Result<Option<RunState>, redis::RedisError> {
        let mut conn = self.conn().await?;
        let id: Option<String> = conn.get(self.keys.latest()).await?;
        match id {
            Some(id) => self.state(&id).await,
            None => Ok(None),
        }
    }

    /// Marks sessions and runs left unfinished by a process that died. A run whose lock is still
    /// held (alive on another instance) is left alone.
    pub async fn recover_interrupted(&self) -> Result<u64, anyhow::Error> {
        Ok(self.recover().await?.0)
    }

    /// Recovers again every [`RECOVERY_POLL`] for as long as there may be a dead run to mark that
    /// could not be told from a live one yet: a process killed mid-run keeps its lock until the
    /// lock expires (at most [`LOCK_TTL`]), and for a lock TTL after Redis restarted a missing
    /// lock proves nothing. Started by the server after its start-up recovery; ends by itself.
    pub fn spawn_recovery_watch(&self) -> tokio::task::JoinHandle<()> {
        let runner = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECOVERY_POLL).await;
                match runner.recover().await {
                    Ok((n, waiting)) => {
                        if n > 0 {
                            tracing::warn!(
                                sessions = n,
                                "interrupted import sessions marked failed"
                            );
                        }
                        if !waiting {
                            return;
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "interrupted-run check failed; retrying"),
                }
            }
        })
    }

    /// [`Runner::recover_interrupted`], and whether a run was spared that may turn out dead
    /// later (one holds the lock, or Redis has just restarted).
    async fn recover(&self) -> Result<(u64, bool), anyhow::Error> {
        let mut conn = self.conn().await?;
        if self.redis_just_restarted(&mut conn).await {
            // A live run's lock may have vanished with Redis; its owner takes it back soon.
            return Ok((0, true));
        }
        // Taken before the lock is looked at: a run that starts after that (on another
        // instance) is alive even though the lock was free, and must not be touched.
        let now = Utc::now();
        let alive = lock::holder(&mut conn, &self.keys.lock()).await?;
        let waiting = alive.is_some();
        let mut stale_sessions = Condition::all()
            .add(import_sessions::Column::Status.is_in([
                SessionStatus::Started.as_str(),
                SessionStatus::InProgress.as_str(),
            ]))
            .add(import_sessions::Column::StartedAt.lt(now));
        let mut stale_runs = Condition::all()
            .add(import_runs::Column::Status.eq("running"))
            .add(import_runs::Column::StartedAt.lt(now));
        if let Some(id) = &alive {
            stale_sessions = stale_sessions.add(import_sessions::Column::RunId.ne(id.as_str()));
            stale_runs = stale_runs.add(import_runs::Column::Id.ne(id.as_str()));
        }
        // Look before writing: on SQLite an UPDATE waits for a running import's transaction to
        // end (a CLI started during an import would wait, then import again instead of being
        // refused), and there is usually nothing to mark.
        let mut n = 0;
        if import_sessions::Entity::find()
            .filter(stale_sessions.clone())
            .count(&self.db)
            .await?
            > 0
        {
            n = import_sessions::Entity::update_many()
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
                .await?
                .rows_affected;
        }
        let stale: Vec<String> = import_runs::Entity::find()
            .filter(stale_runs.clone())
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        if !stale.is_empty() {
            import_runs::Entity::update_many()
                .col_expr(import_runs::Column::Status, Expr::value("failed"))
                .col_expr(
                    import_runs::Column::Message,
                    Expr::value(format!("❌ {INTERRUPTED}.")),
                )
                .col_expr(import_runs::Column::FinishedAt, Expr::value(now))
                .filter(stale_runs)
                .exec(&self.db)
                .await?;
        }
        for run_id in &stale {
            self.publish_interrupted(&mut conn, run_id).await;
        }
        if n > 0 {
            tracing::warn!(sessions = n, "sessions of a stopped process marked failed");
        }
        Ok((n, waiting))
    }

    /// Ends the live state of a run whose process died, as the database now says: browsers
    /// watching it (and the latest-run panel) see it failed instead of running for ever.
    async fn publish_interrupted(&self, conn: &mut MultiplexedConnection, run_id: &str) {
        let Ok(Some(mut s)) = self.state(run_id).await else {
            return;
        };
        if s.is_finished() {
            return;
        }
        for k in &mut s.kinds {
            match k.phase {
                KindPhase::Running => {
                    k.phase = KindPhase::Failed;
                    k.error = Some(INTERRUPTED.to_owned());
                }
                KindPhase::Waiting => k.phase = KindPhase::NotRun,
                _ => {}
            }
        }
        s.phase = RunPhase::Failed;
        s.message = Some(format!("❌ {INTERRUPTED}."));
        s.seq += 1;
        let Ok(json) = serde_json::to_string(&s) else {
            return;
        };
        // Not `latest`: a newer run may be the latest by now.
        let res: redis::RedisResult<()> = redis::pipe()
            .set_ex(self.keys.state(run_id), &json, STATE_TTL_SECS)
            .ignore()
            .publish(self.keys.events(), &json)
            .ignore()
            .query_async(conn)
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, run_id, "interrupted run's state not published");
        }
    }
}

fn parse_kinds(words: &[String]) -> Result<Vec<ImportKind>, StartError> {
    let mut kinds = Vec::new();
    for w in words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
        kinds.push(ImportKind::parse(w).ok_or_else(|| StartError::UnknownKind(w.to_owned()))?);
    }
    if kinds.is_empty() {
        return Err(StartError::NothingChosen);
    }
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

fn request_for(kind: ImportKind, data_dir: &std::path::Path, o: &RunOptions) -> ImportRequest {
    ImportRequest {
        kind,
        data_dir: data_dir.to_path_buf(),
        file: match kind {
            ImportKind::Stocks => o.stocks_file.clone(),
            ImportKind::Customers => o.customers_file.clone(),
            _ => None,
        },
        file_type: if kind == ImportKind::Catalog {
            o.file_type
        } else {
            FileType::All
        },
    }
}

/// Live progress of the kind being imported, read by the watchdog.
#[derive(Default)]
struct LiveProgress {
    records: AtomicU64,
    bytes_read: AtomicU64,
    bytes_total: AtomicU64,
    cancel: Arc<AtomicBool>,
}

impl import::Progress for LiveProgress {
    fn report(&self, records: u64, bytes_read: u64, bytes_total: u64) {
        self.records.store(records, Ordering::Relaxed);
        self.bytes_read.store(bytes_read, Ordering::Relaxed);
        self.bytes_total.store(bytes_total, Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Records expected in all: extrapolated from the bytes read so far.
fn estimate_total(records: u64, bytes_read: u64, bytes_total: u64) -> u64 {
    if bytes_read == 0 || records == 0 {
        return 0;
    }
    let est = (records as u128 * bytes_total as u128 / bytes_read as u128) as u64;
    est.max(records)
}

struct Run {
    runner: Runner,
    conn: ConnectionManager,
    lock: ImportLock,
    state: Arc<Mutex<RunState>>,
    requests: Vec<ImportRequest>,
    cancel: Arc<AtomicBool>,
    lock_lost: Arc<AtomicBool>,
    mode: RunMode,
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
    /// Saves the state in Redis and tells every listener. Best effort: a lost event must not
    /// stop an import (the final state is written again at the end).
    async fn publish(&self) {
        let mut s = self.state.lock().await;
        s.seq += 1;
        // Sent while the state is locked (here and by the watchdog and the progress task), so
        // states leave in `seq` order, on the local channel and in Redis.
        publish_state(&self.runner, &mut self.conn.clone(), &s).await;
    }

    async fn execute(self) -> RunState {
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

    /// Renews the lock, watches for cancellation and publishes progress while the run lives.
    fn spawn_watchdog(&self) -> tokio::task::JoinHandle<()> {
        let (runner, lock, state, cancel, lost) = (
            self.runner.clone(),
            self.lock.clone(),
            self.state.clone(),
            self.cancel.clone(),
            self.lock_lost.clone(),
        );
        let mut conn = self.conn.clone();
        let run_id = lock
            .token()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let span = tracing::Span::current();
        tokio::spawn(async move {
            let mut last_renewal = Instant::now();
            // Set when Redis failed to answer: it may have restarted empty, so the lock is renewed
            // (re-established) at the next tick instead of at the next period.
            let mut renew_now = false;
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                if renew_now || last_renewal.elapsed() >= RENEW_EVERY.min(runner.lock_ttl / 3) {
                    match lock.renew(&mut conn).await {
                        Ok(Renewal::Renewed) => {
                            last_renewal = Instant::now();
                            renew_now = false;
                        }
                        Ok(Renewal::Reestablished) => {
                            tracing::warn!(%run_id, "import lock re-established (Redis lost it)");
                            last_renewal = Instant::now();
                            renew_now = false;
                        }
                        Ok(Renewal::Lost) => {
                            tracing::error!(%run_id, "import lock taken by someone else: stopping");
                            lost.store(true, Ordering::Relaxed);
                            cancel.store(true, Ordering::Relaxed);
                        }
                        Err(e) if last_renewal.elapsed() >= runner.lock_ttl => {
                            tracing::error!(%run_id, error = %e, "import lock could not be renewed: stopping");
                            lost.store(true, Ordering::Relaxed);
                            cancel.store(true, Ordering::Relaxed);
                        }
                        Err(e) => {
                            tracing::warn!(%run_id, error = %e, "import lock renewal failed, retrying")
                        }
                    }
                }
                let asked = conn
                    .get::<_, Option<String>>(runner.keys.cancel(&run_id))
                    .await;
                if asked.is_err() {
                    renew_now = true;
                }
                if let Ok(Some(by)) = asked {
                    let mut s = state.lock().await;
                    if s.cancel_requested_by.is_none() {
                        s.cancel_requested_by = Some(by);
                        cancel.store(true, Ordering::Relaxed);
                        s.seq += 1;
                        publish_state(&runner, &mut conn, &s).await;
                    }
                }
            }
        }.instrument(span))
    }

    async fn run_kinds(&self) {
        if self.mode == RunMode::Preview {
            return self.run_preview().await;
        }
        let db = &self.runner.db;
        let kinds: Vec<ImportKind> = self.requests.iter().map(|r| r.kind).collect();
        for (i, req) in self.requests.iter().enumerate() {
            if self.cancel.load(Ordering::Relaxed) {
                // Cancelled between kinds: nothing is running to roll back.
                self.stop_before(i, &kinds).await;
                return;
            }
            let (run_id, by) = {
                let s = self.state.lock().await;
                (s.run_id.clone(), s.started_by.clone())
            };
            let session = import_sessions::ActiveModel {
                run_id: Set(run_id),
                import_type: Set(req.kind.as_str().into()),
                status: Set(SessionStatus::Started.as_str().into()),
                started_at: Set(Utc::now()),
                finished_at: Set(None),
                processed: Set(0),
                total: Set(0),
                report: Set("{}".into()),
                error_message: Set(None),
                triggered_by: Set(by),
                mode: Set(RunMode::Import.as_str().into()),
                ..Default::default()
            }
            .insert(db)
            .await;
            let kind_span = tracing::info_span!("kind", kind = req.kind.as_str());
            let session_id = match session {
                Ok(s) => s.id,
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
            let _ = set_status(db, session_id, SessionStatus::InProgress).await;
            metrics::counter!(metric::STARTED, "kind" => req.kind.as_str()).increment(1);
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
            let status = match &result {
                Ok(_) => "completed",
                Err(ImportError::Cancelled) => "cancelled",
                Err(_) => "failed",
            };
            metric::kind_finished(req.kind, status, kind_started.elapsed());

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
        let db = &self.runner.db;
        let records = report.records;
        let mut counts_json = serde_json::to_value(&report.counts).unwrap_or_default();
        if let Some(obj) = counts_json.as_object_mut() {
            obj.insert(
                "skipped".into(),
                serde_json::to_value(&report.skipped).unwrap_or_default(),
            );
        }
        let mut report_json = serde_json::json!({
            "counts": counts_json,
            "records": records,
            "files": report.files,
            "changes": report.changes,
        });
        if let Some(stamps) = done.stamps {
            report_json["stamps"] = serde_json::to_value(stamps).unwrap_or_default();
        }
        let recorded = import_sessions::ActiveModel {
            id: Set(session_id),
            status: Set(SessionStatus::Completed.as_str().into()),
            finished_at: Set(Some(Utc::now())),
            processed: Set(records as i64),
            total: Set(records as i64),
            report: Set(report_json.to_string()),
            ..Default::default()
        }
        .update(db)
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
                counts = ?report.counts,
                skipped = ?report.skipped,
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
        let (run_id, by) = {
            let s = self.state.lock().await;
            (s.run_id.clone(), s.started_by.clone())
        };
        let mut sessions = Vec::with_capacity(kinds.len());
        for kind in &kinds {
            let session = import_sessions::ActiveModel {
                run_id: Set(run_id.clone()),
                import_type: Set(kind.as_str().into()),
                status: Set(SessionStatus::Started.as_str().into()),
                started_at: Set(Utc::now()),
                finished_at: Set(None),
                processed: Set(0),
                total: Set(0),
                report: Set("{}".into()),
                error_message: Set(None),
                triggered_by: Set(by.clone()),
                mode: Set(RunMode::Preview.as_str().into()),
                ..Default::default()
            }
            .insert(db)
            .await;
            match session {
                Ok(s) => sessions.push(s.id),
                Err(e) => {
                    delete_sessions(db, &sessions).await;
                    self.fail_kind(0, None, &format!("ошибка базы данных: {e}"), &kinds)
                        .await;
                    return;
                }
            }
        }
        let txn = match db.begin().await {
            Ok(t) => t,
            Err(e) => {
                delete_sessions(db, &sessions[1..]).await;
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
        delete_sessions(db, &sessions[reached..]).await;
        if let Some(i) = stopped_at {
            self.stop_before(i, &kinds).await;
        }
    }

    /// Publishes the kind's progress every [`PROGRESS_EVERY`] while it changes.
    fn spawn_progress(
        &self,
        kind: ImportKind,
        p: Arc<LiveProgress>,
        span: tracing::Span,
    ) -> tokio::task::JoinHandle<()> {
        let (runner, state) = (self.runner.clone(), self.state.clone());
        let mut conn = self.conn.clone();
        tokio::spawn(
            async move {
                let mut last = (u64::MAX, u64::MAX, u64::MAX);
                let mut tick = tokio::time::interval(PROGRESS_EVERY);
                loop {
                    tick.tick().await;
                    let records = p.records.load(Ordering::Relaxed);
                    let (bytes_read, bytes_total) = (
                        p.bytes_read.load(Ordering::Relaxed),
                        p.bytes_total.load(Ordering::Relaxed),
                    );
                    let total = estimate_total(records, bytes_read, bytes_total);
                    if (records, total, bytes_read) == last {
                        continue;
                    }
                    last = (records, total, bytes_read);
                    let mut s = state.lock().await;
                    if let Some(k) = s.kind_mut(kind) {
                        k.processed = records;
                        k.total = total;
                        k.bytes_read = bytes_read;
                        k.bytes_total = bytes_total;
                    }
                    s.seq += 1;
                    publish_state(&runner, &mut conn, &s).await;
                }
            }
            .instrument(span),
        )
    }

    async fn fail_kind(
        &self,
        index: usize,
        session_id: Option<i64>,
        detail: &str,
        kinds: &[ImportKind],
    ) {
        let kind = kinds[index];
        if let Some(id) = session_id {
            let res = import_sessions::ActiveModel {
                id: Set(id),
                status: Set(SessionStatus::Failed.as_str().into()),
                finished_at: Set(Some(Utc::now())),
                error_message: Set(Some(detail.to_owned())),
                ..Default::default()
            }
            .update(&self.runner.db)
            .await;
            if let Err(e) = res {
                tracing::error!(error = %e, id, "could not record a failed session");
            }
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
        metrics::counter!(metric::FINISHED, "kind" => kinds[index].as_str(), "status" => "failed")
            .increment(1);
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
            "completed"
        } else {
            "failed"
        };
        let res = import_runs::ActiveModel {
            id: Set(final_state.run_id.clone()),
            status: Set(status.into()),
            message: Set(final_state.message.clone()),
            cancelled_by: Set(final_state.cancel_requested_by.clone()),
            finished_at: Set(Some(Utc::now())),
            ..Default::default()
        }
        .update(&self.runner.db)
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

/// Removes sessions a preview recorded for kinds that did not get their turn.
async fn delete_sessions(db: &DatabaseConnection, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    let res = import_sessions::Entity::delete_many()
        .filter(import_sessions::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await;
    if let Err(e) = res {
        tracing::error!(error = %e, "could not remove the sessions of kinds not previewed");
    }
}

async fn set_status(
    db: &DatabaseConnection,
    id: i64,
    status: SessionStatus,
) -> Result<(), sea_orm::DbErr> {
    import_sessions::Entity::update_many()
        .col_expr(
            import_sessions::Column::Status,
            Expr::value(status.as_str()),
        )
        .filter(import_sessions::Column::Id.eq(id))
        .exec(db)
        .await
        .map(|_| ())
}

async fn publish_state<C: ConnectionLike + Send>(runner: &Runner, conn: &mut C, state: &RunState) {
    let _ = runner.local.send(state.clone());
    let Ok(json) = serde_json::to_string(state) else {
        return;
    };
    let res: redis::RedisResult<()> = redis::pipe()
        .set_ex(runner.keys.state(&state.run_id), &json, STATE_TTL_SECS)
        .ignore()
        .set_ex(runner.keys.latest(), &state.run_id, STATE_TTL_SECS)
        .ignore()
        .publish(runner.keys.events(), &json)
        .ignore()
        .query_async(conn)
        .await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "run state not published");
    }
}

/// The metrics a run records (names as Prometheus shows them). Recorded into the `metrics`
/// facade: nothing happens unless the server installed a recorder (`ONEC_METRICS_BIND`).
pub mod metric {
    use std::time::Duration;

    use wire::ImportKind;

    use crate::import::ImportReport;

    /// Kinds started, by `kind`.
    pub const STARTED: &str = "onec_imports_started_total";
    /// Kinds finished, by `kind` and `status` (completed, failed, cancelled).
    pub const FINISHED: &str = "onec_imports_finished_total";
    /// How long a kind took, by `kind` (histogram, seconds).
    pub const DURATION: &str = "onec_import_duration_seconds";
    /// Rows a completed kind wrote, by `table` (the import's own counts).
    pub const ROWS: &str = "onec_import_rows_total";
    /// Records skipped, by `reason`.
    pub const SKIPPED: &str = "onec_import_skipped_total";
    /// Starts refused because another run held the lock.
    pub const LOCK_REFUSALS: &str = "onec_import_lock_refusals_total";

    /// Report keys that count something other than the rows of one table.
    const NOT_TABLES: [&str; 5] = [
        "created",
        "updated",
        "deactivated",
        "warehouses_created",
        "variants",
    ];

    /// The table a report key counts rows of, if it does.
    pub fn table_of(key: &str) -> Option<&str> {
        (!NOT_TABLES.contains(&key)).then_some(key)
    }

    pub(super) fn kind_finished(kind: ImportKind, status: &'static str, took: Duration) {
        metrics::counter!(FINISHED, "kind" => kind.as_str(), "status" => status).increment(1);
        metrics::histogram!(DURATION, "kind" => kind.as_str()).record(took.as_secs_f64());
    }

    pub(super) fn kind_report(report: &ImportReport) {
        for (key, n) in &report.counts {
            if let Some(table) = table_of(key) {
                metrics::counter!(ROWS, "table" => table.to_owned()).increment(*n);
            }
        }
        for (reason, n) in &report.skipped {
            metrics::counter!(SKIPPED, "reason" => reason.clone()).increment(*n);
        }
    }
}

/// Counters of a finished kind, as the CLI prints them.
pub fn counts_json(k: &wire::KindState) -> serde_json::Value {
    let mut m: serde_json::Map<String, serde_json::Value> = k
        .counts
        .iter()
        .map(|(a, b)| (a.clone(), (*b).into()))
        .collect();
    m.insert(
        "skipped".into(),
        serde_json::to_value(&k.skipped).unwrap_or_default(),
    );
    serde_json::Value::Object(m)
}

/// Reasons → counts, merged (for totals over several kinds).
pub fn merge_counts(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_checked_sorted_and_deduplicated() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches!(
            parse_kinds(&w(&[])),
            Err(StartError::NothingChosen)
        ));
        assert!(matches!(
            parse_kinds(&w(&["", " "])),
            Err(StartError::NothingChosen)
        ));
        assert!(
            matches!(parse_kinds(&w(&["orders"])), Err(StartError::UnknownKind(k)) if k == "orders")
        );
        assert_eq!(
            parse_kinds(&w(&["customers", "stocks", "catalog", "stocks"])).unwrap(),
            [
                ImportKind::Catalog,
                ImportKind::Stocks,
                ImportKind::Customers
            ]
        );
    }

    #[test]
    fn totals_are_extrapolated_from_bytes() {
        assert_eq!(estimate_total(0, 0, 100), 0);
        assert_eq!(estimate_total(10, 25, 100), 40);
        assert_eq!(estimate_total(10, 100, 100), 10);
        assert_eq!(
            estimate_total(10, 200, 100),
            10,
            "never below what was processed"
        );
    }

    #[test]
    fn merged_counts_add_up() {
        let mut a = BTreeMap::from([("x".to_string(), 1u64)]);
        merge_counts(
            &mut a,
            &BTreeMap::from([("x".to_string(), 2u64), ("y".to_string(), 3u64)]),
        );
        assert_eq!(
            a,
            BTreeMap::from([("x".to_string(), 3), ("y".to_string(), 3)])
        );
    }

    #[test]
    fn start_errors_read_as_the_issue_wrote_them() {
        assert_eq!(
            StartError::NothingChosen.to_string(),
            "⚠️ Не выбрано ни одного типа данных для импорта."
        );
        assert_eq!(
            StartError::AlreadyRunning.to_string(),
            "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта."
        );
        assert_eq!(
            StartError::CatalogEmpty.to_string(),
            "⚠️ Невозможно загрузить остатки/цены: каталог товаров пуст. Сначала импортируйте каталог или выберите 'Каталог товаров' для импорта."
        );
    }
}
