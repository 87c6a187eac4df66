//! What keeps runs honest when a process dies or Redis restarts: recovery of the runs a dead
//! process left `running` (at start-up, before a start, and by the recovery watch), and the
//! watchdog that renews a live run's lock and picks up its cancel request.
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;
use redis::AsyncCommands;
use redis::aio::ConnectionLike;
use sea_orm::DbErr;
use tracing::Instrument;

use super::Runner;
use super::execute::Run;
use super::lock::{self, LOCK_TTL, RENEW_EVERY, Renewal};
use super::publish::publish_state;

/// The session's error text when the server that ran it died.
pub const INTERRUPTED: &str = "Прервано: процесс остановлен";
/// How often the server looks again for runs of a dead process (see
/// [`Runner::spawn_recovery_watch`]).
pub const RECOVERY_POLL: Duration = Duration::from_secs(1);

/// Why runs of a dead process could not be looked for or marked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// Redis did not answer (the lock's holder, or Redis's uptime, is unknown).
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Reading or marking the rows of `table` failed.
    #[error("{table}: {source}")]
    Db { table: &'static str, source: DbErr },
}

impl Runner {
    /// Marks sessions and runs left unfinished by a process that died. A run whose lock is still
    /// held (alive on another instance) is left alone. Returns the sessions marked.
    pub async fn recover_interrupted(&self) -> Result<u64, RecoveryError> {
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
    async fn recover(&self) -> Result<(u64, bool), RecoveryError> {
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
        let marked = self
            .recorder
            .mark_interrupted(now, alive.as_deref())
            .await?;
        for run_id in &marked.runs {
            self.publish_interrupted(&mut conn, run_id).await;
        }
        if marked.sessions > 0 {
            tracing::warn!(
                sessions = marked.sessions,
                "sessions of a stopped process marked failed"
            );
        }
        Ok((marked.sessions, waiting))
    }

    /// Whether Redis started less than a lock TTL ago: a lock may then have vanished with the
    /// restart while its owner still runs (it takes it back at its next renewal). `false` when
    /// Redis does not say.
    pub(super) async fn redis_just_restarted<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> bool {
        match lock::redis_uptime(conn).await {
            Ok(Some(up)) => up < self.lock_ttl.max(LOCK_TTL),
            Ok(None) => false,
            Err(e) => {
                tracing::debug!(error = %e, "Redis uptime unknown");
                false
            }
        }
    }
}

impl Run {
    /// Renews the lock, watches for cancellation and publishes progress while the run lives.
    pub(super) fn spawn_watchdog(&self) -> tokio::task::JoinHandle<()> {
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
}
