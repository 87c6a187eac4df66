//! The event stream over a real socket: a browser that connects during a run sees the current
//! state first and then every change in order; one that connects after the end gets the final
//! state at once and the stream closes. The real server (`Application`), SQLite and Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::time::Duration;

use support::{
    TempDir, login, open_run_events, read_body, read_states, read_until, request, sqlite_export_env,
};
use wire::{KindPhase, RunPhase, RunState};

/// A server in this process on a fresh SQLite file, with an export of `products` products.
struct Server {
    addr: std::net::SocketAddr,
    _dir: TempDir,
}

async fn spawn_server(products: usize) -> Server {
    let (dir, env) = sqlite_export_env("events", products, 5);
    let addr = support::spawn_in_process(&env).await;
    Server { addr, _dir: dir }
}

#[tokio::test]
async fn a_run_is_seen_live_and_a_late_subscriber_gets_the_final_state() {
    let srv = spawn_server(3000).await;
    let cookie = login(srv.addr).await;

    let (head, mut r) = request(
        srv.addr,
        "POST",
        "/api/start_import",
        Some(&cookie),
        "kinds[0]=catalog&kinds[1]=stocks",
    )
    .await;
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let body = read_body(&mut r).await;
    let run_id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // During the run: the current state first, then changes in order, then the end.
    let mut r = open_run_events(srv.addr, &cookie, &run_id).await;
    let states = read_states(&mut r, Duration::from_secs(120)).await;
    assert!(states.len() >= 2, "{} states", states.len());
    assert!(
        states.windows(2).all(|w| w[0].seq < w[1].seq),
        "seq must grow"
    );
    let last = states.last().unwrap();
    assert_eq!(last.phase, RunPhase::Completed, "{:?}", last.message);
    assert!(
        last.message
            .as_deref()
            .unwrap()
            .starts_with("✅ Импорт завершен: Каталог (3\u{a0}000 товаров")
    );
    assert!(last.kinds.iter().all(|k| k.phase == KindPhase::Done));
    assert!(states.iter().all(|s| s.run_id == run_id));

    // After the end: one frame, the final state, and the stream closes by itself.
    let mut r = open_run_events(srv.addr, &cookie, &run_id).await;
    let late = read_states(&mut r, Duration::from_secs(10)).await;
    assert_eq!(late.len(), 1);
    assert_eq!(&late[0], last);

    // latest_run answers the same state; an unknown run is 404; no cookie is 401.
    let (_, mut r) = request(srv.addr, "POST", "/api/latest_run", Some(&cookie), "").await;
    let body = read_body(&mut r).await;
    assert_eq!(serde_json::from_str::<RunState>(&body).unwrap(), *last);
    let (head, _) = request(srv.addr, "GET", "/events/runs/nope", Some(&cookie), "").await;
    assert!(
        head.starts_with("HTTP/1.0 404") || head.starts_with("HTTP/1.1 404"),
        "{head}"
    );
    let (head, _) = request(srv.addr, "GET", &format!("/events/runs/{run_id}"), None, "").await;
    assert!(head.contains(" 401 "), "{head}");
}

#[tokio::test]
async fn the_monitor_stream_carries_every_run() {
    let srv = spawn_server(200).await;
    let cookie = login(srv.addr).await;
    let (head, mut events) = request(srv.addr, "GET", "/events", Some(&cookie), "").await;
    assert!(head.contains("text/event-stream"), "{head}");
    // Give the hub's subscription a moment, then start a run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, mut r) = request(
        srv.addr,
        "POST",
        "/api/start_import",
        Some(&cookie),
        "kinds[0]=catalog",
    )
    .await;
    let body = read_body(&mut r).await;
    assert!(body.contains("run_id"), "{body}");
    let finished = read_until(&mut events, Duration::from_secs(60), RunState::is_finished)
        .await
        .is_some();
    assert!(finished, "the monitor stream delivered the run's end");
}
