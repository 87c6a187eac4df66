//! Live progress for browsers: one Redis subscription per server instance fans out to every
//! open event stream, so a run started on any instance is seen on all of them.
use std::convert::Infallible;
use std::time::Duration;

use app::ssr::AppState;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use tokio::sync::broadcast;
use wire::RunState;

/// Every run state published anywhere, as this instance heard it from Redis.
#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<RunState>,
}

impl EventHub {
    /// Subscribes to the events channel in the background, reconnecting when Redis goes away.
    pub fn spawn(redis: engine::redis::Client, channel: String) -> EventHub {
        let (tx, _) = broadcast::channel(1024);
        let hub = EventHub { tx: tx.clone() };
        tokio::spawn(async move {
            loop {
                match redis.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if let Err(e) = pubsub.subscribe(&channel).await {
                            tracing::warn!(error = %e, "could not subscribe to run events");
                        } else {
                            let mut messages = pubsub.on_message();
                            while let Some(msg) = messages.next().await {
                                let Ok(payload) = msg.get_payload::<String>() else {
                                    continue;
                                };
                                if let Ok(state) = serde_json::from_str::<RunState>(&payload) {
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
}

fn event(state: &RunState) -> Result<Event, Infallible> {
    Ok(Event::default().data(serde_json::to_string(state).unwrap_or_default()))
}

/// `GET /events/runs/{id}`: the run's current state first (a late or reconnecting browser is
/// never lost), then every change, then the stream ends after the final state.
pub async fn run_stream(
    State(st): State<AppState>,
    Extension(hub): Extension<EventHub>,
    Path(run_id): Path<String>,
) -> Response {
    // Subscribe before reading the snapshot so no change falls between the two.
    let mut rx = hub.subscribe();
    let current = match st.runner.state(&run_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return (StatusCode::NOT_FOUND, "Запуск не найден").into_response(),
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("Redis недоступен: {e}"),
            )
                .into_response();
        }
    };
    let runner = st.runner.clone();
    let (tx, out) = tokio::sync::mpsc::channel::<RunState>(16);
    tokio::spawn(async move {
        let mut seq = current.seq;
        let finished = current.is_finished();
        // A failed send means the browser went away: stop listening.
        if tx.send(current).await.is_err() || finished {
            return;
        }
        loop {
            let next = match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
                Ok(Ok(s)) if s.run_id == run_id => Some(s),
                Ok(Ok(_)) => continue,
                // Fell behind, or a quiet moment: resynchronise from the stored state.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) | Err(_) => {
                    if tx.is_closed() {
                        return;
                    }
                    runner.state(&run_id).await.ok().flatten()
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => return,
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
    let stream = tokio_stream::wrappers::ReceiverStream::new(out).map(|s| event(&s));
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// `GET /events`: every run's changes, for the monitor (stays open).
pub async fn all_runs(
    Extension(hub): Extension<EventHub>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = hub.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(s) => return Some((event(&s), rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
