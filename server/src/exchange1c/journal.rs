//! The exchange journal's writer: one task per server that writes each request's row
//! (`engine::exchange_journal`) and then tells the «Обмен с 1С» pages, in the order the requests
//! were answered. The request never waits for it: on SQLite a write waits while a running
//! import holds the database, and 1C must get its `progress` meanwhile. The journal is for
//! people, not for the exchange: when the queue is full or a write keeps failing, the row is
//! dropped with a warning.
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use engine::DatabaseConnection;
use tokio::sync::mpsc;

use crate::events::SharedRedis;

/// Rows waiting to be written; past this, new ones are dropped.
const QUEUE: usize = 4096;
/// Attempts at one write (SQLite may be busy for as long as an import's transaction).
const ATTEMPTS: u32 = 120;
/// Pause between two attempts.
const RETRY: Duration = Duration::from_millis(500);

/// One request as answered.
#[derive(Clone, Debug)]
pub struct Row {
    pub exchange_id: String,
    pub login: String,
    pub mode: &'static str,
    pub filename: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
    pub bytes: u64,
    pub status: exchange::Status,
    pub reply: String,
    pub run_id: Option<String>,
    pub kind: Option<wire::ImportKind>,
}

/// What the writer does.
enum Job {
    Write(Row),
    /// Keep the last exchanges only (after a new one started).
    Prune,
}

/// The writer's queue, started on first use.
#[derive(Clone, Default)]
pub struct Journal {
    tx: Arc<OnceLock<mpsc::Sender<Job>>>,
}

impl Journal {
    /// Queues `row`.
    pub fn write(&self, db: &DatabaseConnection, redis: &SharedRedis, channel: &str, row: Row) {
        self.queue(db, redis, channel, Job::Write(row));
    }

    /// Queues pruning the journal to its last exchanges.
    pub fn prune(&self, db: &DatabaseConnection, redis: &SharedRedis, channel: &str) {
        self.queue(db, redis, channel, Job::Prune);
    }

    fn queue(&self, db: &DatabaseConnection, redis: &SharedRedis, channel: &str, job: Job) {
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(writer(rx, db.clone(), redis.clone(), channel.to_owned()));
            tx
        });
        if tx.try_send(job).is_err() {
            tracing::warn!("1C exchange: journal queue full, a row is dropped");
        }
    }
}

async fn writer(
    mut rx: mpsc::Receiver<Job>,
    db: DatabaseConnection,
    redis: SharedRedis,
    channel: String,
) {
    while let Some(job) = rx.recv().await {
        match job {
            Job::Prune => {
                if let Err(e) = engine::exchange_journal::prune(&db).await {
                    tracing::warn!(error = %e, "1C exchange: journal not pruned");
                }
            }
            Job::Write(row) => {
                if write(&db, &row).await {
                    publish(&redis, &channel, &row.exchange_id).await;
                }
            }
        }
    }
}

/// Writes one row, retrying while the database is busy; whether it was written.
async fn write(db: &DatabaseConnection, row: &Row) -> bool {
    let entry = engine::exchange_journal::Entry {
        exchange_id: &row.exchange_id,
        login: &row.login,
        mode: row.mode,
        filename: row.filename.as_deref(),
        at: row.at,
        bytes: row.bytes,
        status: row.status,
        reply: &row.reply,
        run_id: row.run_id.as_deref(),
        kind: row.kind,
    };
    for attempt in 1..=ATTEMPTS {
        match engine::exchange_journal::record(db, &entry).await {
            Ok(()) => return true,
            Err(e) if attempt == ATTEMPTS => {
                tracing::warn!(error = %e, exchange = %row.exchange_id, "1C exchange: journal not written");
            }
            Err(e) => {
                tracing::debug!(error = %e, attempt, "1C exchange: journal write retried");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
    false
}

/// Tells the pages (through every instance's event hub) that the exchange's journal changed.
async fn publish(redis: &SharedRedis, channel: &str, exchange_id: &str) {
    if let Ok(mut conn) = redis.conn().await {
        let sent: Result<i64, _> =
            engine::redis::AsyncCommands::publish(&mut conn, channel, exchange_id).await;
        if let Err(e) = sent {
            tracing::debug!(error = %e, "1C exchange: journal change not published");
        }
    }
}
