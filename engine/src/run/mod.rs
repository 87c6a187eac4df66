//! One place turns a set of ticked kinds into a safe, observable run: the checks before anything
//! starts, the Redis lock, one import session per kind in the order catalog → stocks → prices →
//! customers, the stop at the first failure, cancellation, and the live state every change
//! publishes (Redis pub/sub for every instance, a local channel for the CLI).
//!
//! Here: the [`Runner`] (one per process) and how a run starts. The rest, by job:
//!
//! | file            | what lives there                                                    |
//! |-----------------|---------------------------------------------------------------------|
//! | `keys.rs`       | Redis key and channel names ([`Keys`])                              |
//! | `checks.rs`     | the checks before a start and their refusals ([`StartError`])       |
//! | `lock.rs`       | the Redis lock                                                      |
//! | `execute.rs`    | a started run's body: kinds in order, preview, cancel, the end      |
//! | `sessions.rs`   | every write of a run or session row ([`SessionRecorder`])           |
//! | `publish.rs`    | the live state: publishing, progress, reading it back               |
//! | `recovery.rs`   | runs of a dead process, the recovery watch, a run's watchdog        |
//! | `messages.rs`   | the Russian texts a run ends with                                   |
//! | `metric.rs`     | the metrics a run records                                           |
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::Utc;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use sea_orm::DatabaseConnection;
use tokio::sync::{Mutex, broadcast};
use tracing::Instrument;
use wire::{ChangeLimits, Counter, ImportKind, RunMode, RunOrigin, RunState, SkipReason};

use crate::import::FileType;

mod checks;
mod execute;
mod keys;
/// The Redis lock.
pub mod lock;
/// The Russian texts a run ends with.
pub mod messages;
pub mod metric;
mod publish;
mod recovery;
mod sessions;

pub use checks::{PreviewCheckError, StartError, parse_kinds};
pub use execute::CANCELLED;
pub use keys::{DEFAULT_PREFIX, Keys};
pub use publish::{PROGRESS_EVERY, stored_state};
pub use recovery::{INTERRUPTED, RECOVERY_POLL, RecoveryError};
pub use sessions::{Interrupted, PastRun, PastSession, SessionRecorder};

use execute::Run;
use lock::{ImportLock, LOCK_TTL};

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
    /// The one file the run reads, for every kind (the 1C exchange imports file by file);
    /// overrides `stocks_file` and `customers_file`. Must lie inside the data folder.
    pub file: Option<PathBuf>,
    /// The 1C exchange that asked for the run (recorded with it).
    pub exchange_id: Option<String>,
}

/// A request to start a run.
#[derive(Clone, Debug)]
pub struct StartRequest {
    /// The kinds as ticked, any order (they run in [`ImportKind`] order, each once).
    pub kinds: Vec<ImportKind>,
    /// The administrator's login, `cli`, or the exchange account's login.
    pub started_by: String,
    /// Who started it.
    pub origin: RunOrigin,
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
    recorder: SessionRecorder,
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
            recorder: SessionRecorder::new(db.clone()),
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

    /// The thresholds of the change report's warnings (`ONEC_PREVIEW_*`).
    pub fn change_limits(&self) -> ChangeLimits {
        self.limits
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
        let (kinds, requests) = self.checked(&req).await?;

        let run_id = uuid::Uuid::new_v4().to_string();
        let mut conn = self
            .conn()
            .await
            .map_err(|e| StartError::Redis(e.to_string()))?;
        let lock = ImportLock::acquire(&mut conn, &self.keys.lock(), &run_id, self.lock_ttl)
            .await
            .map_err(|e| StartError::Redis(e.to_string()))?
            .ok_or(StartError::AlreadyRunning)?;
        self.refuse_if_unfinished(&mut conn, &lock).await?;
        let run_conn = match self.run_conn().await {
            Ok(c) => c,
            Err(e) => {
                let _ = lock.release(&mut conn).await;
                return Err(StartError::Redis(e.to_string()));
            }
        };

        let now = Utc::now();
        let mut state = RunState::new(
            run_id.clone(),
            &kinds,
            req.started_by.clone(),
            now.to_rfc3339(),
        );
        state.mode = req.options.mode;
        state.origin = req.origin;
        let opened = self
            .recorder
            .open_run(&state, req.options.exchange_id.as_deref(), now)
            .await;
        if let Err(e) = opened {
            let _ = lock.release(&mut conn).await;
            return Err(StartError::Db(e.to_string()));
        }
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
}

/// Counters of a finished kind, as the CLI prints them.
pub fn counts_json(k: &wire::KindState) -> serde_json::Value {
    counts_value(&k.counts, &k.skipped)
}

/// Counters keyed by [`Counter::key`] with the skipped records, keyed by [`SkipReason::key`],
/// under `skipped`: `{"products": 3, "skipped": {"missing_id": 1}}`. The shape of a session's
/// stored `counts` and of the CLI's.
pub(crate) fn counts_value(
    counts: &BTreeMap<Counter, u64>,
    skipped: &BTreeMap<SkipReason, u64>,
) -> serde_json::Value {
    let mut m: serde_json::Map<String, serde_json::Value> = counts
        .iter()
        .map(|(c, n)| (c.key().to_owned(), (*n).into()))
        .collect();
    let skipped: serde_json::Map<String, serde_json::Value> = skipped
        .iter()
        .map(|(r, n)| (r.key().to_owned(), (*n).into()))
        .collect();
    m.insert("skipped".into(), skipped.into());
    serde_json::Value::Object(m)
}

/// Counts merged (for totals over several kinds), by counter or by skip reason.
pub fn merge_counts<K: Ord + Copy>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, v) in from {
        *into.entry(*k).or_default() += v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_counts_add_up() {
        let mut a = BTreeMap::from([(Counter::Offers, 1u64)]);
        merge_counts(
            &mut a,
            &BTreeMap::from([(Counter::Offers, 2u64), (Counter::StockRows, 3u64)]),
        );
        assert_eq!(
            a,
            BTreeMap::from([(Counter::Offers, 3), (Counter::StockRows, 3)])
        );
    }

    #[test]
    fn counts_keep_their_stored_keys_with_the_skipped_inside() {
        let v = counts_value(
            &BTreeMap::from([(Counter::StockRows, 5), (Counter::WarehousesCreated, 1)]),
            &BTreeMap::from([(SkipReason::UnknownOffer, 2)]),
        );
        assert_eq!(
            v,
            serde_json::json!({
                "stock_rows": 5,
                "warehouses_created": 1,
                "skipped": {"unknown_offer": 2}
            })
        );
        let empty = counts_value(&BTreeMap::new(), &BTreeMap::new());
        assert_eq!(empty, serde_json::json!({"skipped": {}}));
    }
}
