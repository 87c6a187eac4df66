//! A run's live state: every change is saved in Redis (the run's state and the latest run's id)
//! and published on the events channel for every instance, and sent on the local channel for
//! the CLI; progress is sampled from the importer and published while a kind works. Also the
//! readers of those states, and the final state of a run whose process died.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use tracing::Instrument;
use wire::{ImportKind, KindPhase, RunPhase, RunState};

use super::Runner;
use super::execute::Run;
use super::recovery::INTERRUPTED;
use crate::import;

/// How long a run's state stays readable in Redis after it ended.
const STATE_TTL_SECS: u64 = 24 * 3600;
/// How often live progress is published while a kind works.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(400);

/// A run's stored state at `key` ([`super::Keys::state`]), over any connection: the runner's,
/// the server's shared one, the exchange's.
pub async fn stored_state<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &str,
) -> Result<Option<RunState>, redis::RedisError> {
    let json: Option<String> = redis::cmd("GET").arg(key).query_async(conn).await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

impl Runner {
    /// The latest state of a run, from Redis.
    pub async fn state(&self, run_id: &str) -> Result<Option<RunState>, redis::RedisError> {
        let mut conn = self.conn().await?;
        stored_state(&mut conn, &self.keys.state(run_id)).await
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

    /// Ends the live state of a run whose process died, as the database now says: browsers
    /// watching it (and the latest-run panel) see it failed instead of running for ever.
    pub(super) async fn publish_interrupted(&self, conn: &mut MultiplexedConnection, run_id: &str) {
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

/// Sends `state` on the local channel, saves it (and the latest run's id) in Redis and publishes
/// it on the events channel. Best effort: a failure is logged.
pub(super) async fn publish_state<C: ConnectionLike + Send>(
    runner: &Runner,
    conn: &mut C,
    state: &RunState,
) {
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

/// Live progress of the kind being imported, read by the progress publisher.
#[derive(Default)]
pub(super) struct LiveProgress {
    pub(super) records: AtomicU64,
    pub(super) bytes_read: AtomicU64,
    pub(super) bytes_total: AtomicU64,
    pub(super) cancel: Arc<AtomicBool>,
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

impl Run {
    /// Saves the state in Redis and tells every listener. Best effort: a lost event must not
    /// stop an import (the final state is written again at the end).
    pub(super) async fn publish(&self) {
        let mut s = self.state.lock().await;
        s.seq += 1;
        // Sent while the state is locked (here and by the watchdog and the progress task), so
        // states leave in `seq` order, on the local channel and in Redis.
        publish_state(&self.runner, &mut self.conn.clone(), &s).await;
    }

    /// Publishes the kind's progress every [`PROGRESS_EVERY`] while it changes.
    pub(super) fn spawn_progress(
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
