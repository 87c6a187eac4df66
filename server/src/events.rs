//! Live progress for browsers: one Redis subscription per server instance fans out to every
//! open event stream, so a run started on any instance is seen on all of them. Reads (a run's
//! stored state, the health check) share one reconnecting Redis connection per instance; every
//! stream re-checks its web session and ends once the session has (logout, password reset,
//! expiry); a session may hold only [`MAX_STREAMS_PER_SESSION`] streams on one instance.
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::ssr::AppState;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use engine::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use futures::StreamExt;
use sea_orm::{DatabaseConnection, EntityTrait};
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, mpsc};
use wire::RunState;

/// How often an open stream checks that its web session still exists.
pub const SESSION_RECHECK: Duration = Duration::from_secs(5);
/// Open event streams one web session may hold on one instance; more answer 429. A browser tab
/// holds one or two.
pub const MAX_STREAMS_PER_SESSION: usize = 10;
/// A run stream with no news re-reads the run's stored state this often (a missed message).
const QUIET_RESYNC: Duration = Duration::from_secs(5);

/// One Redis connection per instance for short reads, created on first use and reconnecting by
/// itself (`ConnectionManager`): no request opens a connection of its own.
#[derive(Clone)]
pub struct SharedRedis {
    client: engine::redis::Client,
    conn: Arc<tokio::sync::Mutex<Option<ConnectionManager>>>,
}

impl SharedRedis {
    pub fn new(client: engine::redis::Client) -> SharedRedis {
        SharedRedis {
            client,
            conn: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// The shared connection; the first call (or the first after Redis was unreachable at the
    /// first call) connects, within 2 s.
    pub async fn conn(&self) -> Result<ConnectionManager, engine::redis::RedisError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let c = tokio::time::timeout(
            Duration::from_secs(3),
            self.client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| {
            engine::redis::RedisError::from((engine::redis::ErrorKind::Io, "нет ответа за 3 с"))
        })??;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// `PING` over the shared connection, within 2 s.
    pub async fn ping(&self) -> Result<(), String> {
        let fut = async {
            let mut conn = self.conn().await?;
            engine::redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
        };
        match tokio::time::timeout(Duration::from_secs(2), fut).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("нет ответа за 2 с".into()),
        }
    }

    /// A run's stored state (the key the runner writes).
    async fn run_state(&self, key: &str) -> Result<Option<RunState>, engine::redis::RedisError> {
        engine::run::stored_state(&mut self.conn().await?, key).await
    }
}

/// Every run state published anywhere, as this instance heard it from Redis; the shared
/// connection; the count of open streams per session.
#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<RunState>,
    /// The ids of exchanges whose journal changed.
    exchanges: broadcast::Sender<String>,
    redis: SharedRedis,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

impl EventHub {
    /// Subscribes to the run events and exchange journal channels in the background,
    /// reconnecting when Redis goes away.
    pub fn spawn(
        redis: engine::redis::Client,
        shared: SharedRedis,
        keys: &engine::run::Keys,
    ) -> EventHub {
        let (tx, _) = broadcast::channel(1024);
        let (exchanges, _) = broadcast::channel(256);
        let hub = EventHub {
            tx: tx.clone(),
            exchanges: exchanges.clone(),
            redis: shared,
            open: Arc::default(),
        };
        let channel = keys.events();
        let exchange_channel = keys.exchange_events();
        tokio::spawn(async move {
            loop {
                match redis.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if let Err(e) = pubsub.subscribe(&[&channel, &exchange_channel]).await {
                            tracing::warn!(error = %e, "could not subscribe to run events");
                        } else {
                            let mut messages = pubsub.on_message();
                            while let Some(msg) = messages.next().await {
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                if msg.get_channel_name() == exchange_channel {
                                    let _ = exchanges.send(payload);
                                } else if let Ok(state) = serde_json::from_str::<RunState>(&payload)
                                {
                                    let _ = tx.send(state);
                                }
                            }
                            tracing::warn!("run events subscription ended; reconnecting");
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "Redis unavailable for run events; retrying")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        hub
    }

    pub fn subscribe(&self) -> broadcast::Receiver<RunState> {
        self.tx.subscribe()
    }

    /// The ids of exchanges whose journal changes from now on.
    pub fn subscribe_exchanges(&self) -> broadcast::Receiver<String> {
        self.exchanges.subscribe()
    }

    /// A place for one more stream of this session, or `None` when it holds the maximum.
    fn take_slot(&self, session: &str) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(session.to_owned()).or_default();
        if *n >= MAX_STREAMS_PER_SESSION {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            open: self.open.clone(),
            session: session.to_owned(),
        })
    }
}

/// One open stream of a session; dropping it (the stream ended) frees the place.
struct StreamSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    session: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.session) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.session);
            }
        }
    }
}

/// Whether the web session behind a cookie value still exists and has not expired. Unlike the
/// login check it does not slide the expiry: an open tab alone does not keep a session alive.
/// A database error counts as alive (the next check decides).
async fn session_alive(db: &DatabaseConnection, token: &str) -> bool {
    let id = format!("{:x}", Sha256::digest(token.as_bytes()));
    match engine::entity::web_sessions::Entity::find_by_id(id)
        .one(db)
        .await
    {
        Ok(Some(s)) => s.expires_at > chrono::Utc::now(),
        Ok(None) => false,
        Err(e) => {
            tracing::debug!(error = %e, "event stream: session check failed");
            true
        }
    }
}

/// Why a stream is not opened.
enum Refusal {
    /// No cookie (the login check in front lets only a live session through).
    NoSession,
    /// The session holds [`MAX_STREAMS_PER_SESSION`] streams already.
    TooMany,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NoSession => crate::guard::unauthorized(),
            Refusal::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "Слишком много открытых потоков событий в этой сессии",
            )
                .into_response(),
        }
    }
}

/// A granted event stream, taken before the handler runs: the state, the hub, the caller's
/// session cookie value (re-checked while the stream is open) and one of its stream places.
/// Refused with 401 without a session and 429 past the per-session limit.
pub struct OpenStream {
    st: AppState,
    hub: EventHub,
    token: String,
    slot: StreamSlot,
}

impl axum::extract::FromRequestParts<AppState> for OpenStream {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, Response> {
        let Some(hub) = parts.extensions.get::<EventHub>().cloned() else {
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        let token = st
            .session_token(&parts.headers)
            .ok_or(Refusal::NoSession)
            .map_err(IntoResponse::into_response)?;
        let slot = hub
            .take_slot(&token)
            .ok_or(Refusal::TooMany)
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            st: st.clone(),
            hub,
            token,
            slot,
        })
    }
}

impl OpenStream {
    /// The state, the hub, the session cookie value and the stream place, to move into the
    /// stream's task.
    fn into_parts(self) -> (AppState, EventHub, String, StreamSlot) {
        (self.st, self.hub, self.token, self.slot)
    }
}

/// Ticks every [`SESSION_RECHECK`], the first one after a full period.
fn recheck_timer() -> tokio::time::Interval {
    tokio::time::interval_at(
        tokio::time::Instant::now() + SESSION_RECHECK,
        SESSION_RECHECK,
    )
}

fn event(state: &RunState) -> Result<Event, Infallible> {
    Ok(Event::default().data(serde_json::to_string(state).unwrap_or_default()))
}

fn sse(out: mpsc::Receiver<RunState>) -> Response {
    let stream = tokio_stream::wrappers::ReceiverStream::new(out).map(|s| event(&s));
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// What a stream's loop waits for next.
enum Wake {
    State(Result<RunState, broadcast::error::RecvError>),
    Quiet,
    Recheck,
    Gone,
}

/// `GET /events/runs/{id}`: the run's current state first (a late or reconnecting browser is
/// never lost), then every change, then the stream ends after the final state — or when the
/// session ends.
pub async fn run_stream(Path(run_id): Path<String>, open: OpenStream) -> Response {
    let (st, hub, token, slot) = open.into_parts();
    // Subscribe before reading the snapshot so no change falls between the two.
    let mut rx = hub.subscribe();
    let key = st.runner.keys().state(&run_id);
    let current = match hub.redis.run_state(&key).await {
        Ok(Some(s)) => s,
        Ok(None) => return (StatusCode::NOT_FOUND, "Запуск не найден").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "event stream: Redis unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "Redis недоступен").into_response();
        }
    };
    let (tx, out) = mpsc::channel::<RunState>(16);
    tokio::spawn(async move {
        let _slot = slot;
        let mut seq = current.seq;
        let finished = current.is_finished();
        // A failed send means the browser went away: stop listening.
        if tx.send(current).await.is_err() || finished {
            return;
        }
        let mut recheck = recheck_timer();
        loop {
            let wake = tokio::select! {
                r = rx.recv() => Wake::State(r),
                _ = tokio::time::sleep(QUIET_RESYNC) => Wake::Quiet,
                _ = recheck.tick() => Wake::Recheck,
                _ = tx.closed() => Wake::Gone,
            };
            let next = match wake {
                Wake::State(Ok(s)) if s.run_id == run_id => Some(s),
                Wake::State(Ok(_)) => continue,
                // Fell behind, or a quiet moment: resynchronise from the stored state.
                Wake::State(Err(broadcast::error::RecvError::Lagged(_))) | Wake::Quiet => {
                    hub.redis.run_state(&key).await.ok().flatten()
                }
                Wake::State(Err(broadcast::error::RecvError::Closed)) | Wake::Gone => return,
                Wake::Recheck => {
                    if !session_alive(&st.db, &token).await {
                        return;
                    }
                    continue;
                }
            };
            if let Some(s) = next.filter(|s| s.seq > seq) {
                seq = s.seq;
                let end = s.is_finished();
                if tx.send(s).await.is_err() || end {
                    return;
                }
            }
        }
    });
    sse(out)
}

/// `GET /events`: every run's changes, for the monitor (open until the browser leaves or the
/// session ends).
pub async fn all_runs(open: OpenStream) -> Response {
    let (st, hub, token, slot) = open.into_parts();
    let mut rx = hub.subscribe();
    let (tx, out) = mpsc::channel::<RunState>(16);
    tokio::spawn(async move {
        let _slot = slot;
        let mut recheck = recheck_timer();
        loop {
            let wake = tokio::select! {
                r = rx.recv() => Wake::State(r),
                _ = recheck.tick() => Wake::Recheck,
                _ = tx.closed() => Wake::Gone,
            };
            match wake {
                Wake::State(Ok(s)) => {
                    if tx.send(s).await.is_err() {
                        return;
                    }
                }
                Wake::State(Err(broadcast::error::RecvError::Lagged(_))) | Wake::Quiet => {}
                Wake::State(Err(broadcast::error::RecvError::Closed)) | Wake::Gone => return,
                Wake::Recheck => {
                    if !session_alive(&st.db, &token).await {
                        return;
                    }
                }
            }
        }
    });
    sse(out)
}

/// `GET /events/exchanges`: the id of every exchange whose journal changed, for the «Обмен с
/// 1С» page (open until the browser leaves or the session ends).
pub async fn exchanges(open: OpenStream) -> Response {
    let (st, hub, token, slot) = open.into_parts();
    let mut rx = hub.subscribe_exchanges();
    let (tx, out) = mpsc::channel::<String>(16);
    tokio::spawn(async move {
        let _slot = slot;
        let mut recheck = recheck_timer();
        loop {
            tokio::select! {
                r = rx.recv() => match r {
                    Ok(id) => {
                        if tx.send(id).await.is_err() {
                            return;
                        }
                    }
                    // Fell behind: the page reloads the journal on the next change anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        if tx.send("*".to_owned()).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = recheck.tick() => {
                    if !session_alive(&st.db, &token).await {
                        return;
                    }
                }
                _ = tx.closed() => return,
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(out)
        .map(|id| Ok::<_, Infallible>(Event::default().data(id)));
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
