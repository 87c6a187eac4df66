//! Load on the real server: 50 simultaneous start requests make exactly one run (and only its
//! rows), and 100 browsers watching one run all receive its final state while the server's
//! memory stays bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::time::{Duration, Instant};

use support::*;
use wire::{RunPhase, RunState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_simultaneous_starts_make_exactly_one_run() {
    let (_dir, env) = sqlite_export_env("load-starts", 2_000, 0);
    let db_url = &env.database_url;
    let addr = spawn_in_process(&env).await;
    // Several administrators' browsers: five cookies, ten requests each.
    let mut cookies = Vec::new();
    for _ in 0..5 {
        cookies.push(login(addr).await);
    }

    let started = Instant::now();
    let answers = futures::future::join_all((0..50).map(|i| {
        let cookie = cookies[i % cookies.len()].clone();
        async move { start_import(addr, &cookie, &["catalog", "stocks"]).await }
    }))
    .await;
    let elapsed = started.elapsed();
    let runs: Vec<&String> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    let refused = answers
        .iter()
        .filter(|a| a.as_ref().err().map(String::as_str) == Some(ALREADY_RUNNING))
        .count();
    assert_eq!(runs.len(), 1, "{answers:?}");
    assert_eq!(refused, 49, "{answers:?}");
    let run_id = runs[0].clone();

    let mut ev = open_run_events(addr, &cookies[0], &run_id).await;
    let last = read_until(&mut ev, Duration::from_secs(120), RunState::is_finished)
        .await
        .expect("the run ends");
    assert_eq!(last.phase, RunPhase::Completed, "{:?}", last.message);

    // Exactly one run's rows: one import_runs row, its two sessions, nothing stray.
    let (rows, sessions) = runs_and_sessions(db_url).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].id, run_id);
    assert_eq!(rows[0].status, "completed");
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert!(
        sessions
            .iter()
            .all(|s| s.run_id == run_id && s.status == "completed")
    );
    let mut kinds: Vec<&str> = sessions.iter().map(|s| s.import_type.as_str()).collect();
    kinds.sort();
    assert_eq!(kinds, ["catalog", "stocks"]);
    assert_eq!(redis_get(REDIS_URL, &env.lock_key()).await, None);
    println!(
        "50 starts answered in {:.2} s: 1 run, 49 refusals",
        elapsed.as_secs_f64()
    );
    cleanup_redis(REDIS_URL, &env.prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_watchers_all_get_the_final_state_in_bounded_memory() {
    const CLIENTS: usize = 100;
    let (dir, env) = sqlite_export_env("load-sse", 5_000, 0);
    let srv = ServerProcess::start(&env, dir.path(), "server").await;
    let addr = srv.addr;
    let cookie = login(addr).await;
    // A session may hold only so many streams: the watchers come from enough sessions (logged
    // in before the run: on SQLite a login waits for the import's write lock).
    let mut cookies = vec![cookie.clone()];
    while cookies.len() * server::events::MAX_STREAMS_PER_SESSION < CLIENTS {
        cookies.push(login(addr).await);
    }
    let run_id = start_import(addr, &cookie, &["catalog", "stocks"])
        .await
        .unwrap_or_else(|m| panic!("start refused: {m}"));
    let rss_before = srv.rss_kib();

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (cookie, run_id) = (cookies[i % cookies.len()].clone(), run_id.clone());
            tokio::spawn(async move {
                let mut r = open_run_events(addr, &cookie, &run_id).await;
                read_states(&mut r, Duration::from_secs(120)).await
            })
        })
        .collect();
    let mut rss_peak = rss_before;
    while !clients.iter().all(|c| c.is_finished()) {
        rss_peak = rss_peak.max(srv.rss_kib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_after = srv.rss_kib();
    let mut finals = Vec::new();
    let mut live = 0;
    for c in clients {
        let states = c.await.unwrap();
        if states.first().is_some_and(|s| !s.is_finished()) {
            live += 1;
        }
        let last = states.last().cloned().expect("at least one state");
        assert!(
            states.windows(2).all(|w| w[0].seq < w[1].seq),
            "states in order"
        );
        finals.push(last);
    }
    let expected = finals[0].clone();
    assert!(expected.is_finished(), "{expected:?}");
    assert_eq!(
        expected.phase,
        RunPhase::Completed,
        "{:?}",
        expected.message
    );
    assert!(
        finals.iter().all(|f| *f == expected),
        "every watcher got the same final state"
    );
    assert_eq!(latest_run(addr, &cookie).await.as_ref(), Some(&expected));

    let limit = 2 * rss_before + 50 * 1024;
    println!(
        "{CLIENTS} SSE clients ({live} joined while the run was live): RSS before {} MiB, \
         peak {} MiB, after {} MiB (limit {} MiB)",
        rss_before / 1024,
        rss_peak / 1024,
        rss_after / 1024,
        limit / 1024
    );
    assert!(rss_peak < limit, "RSS peak {rss_peak} KiB ≥ {limit} KiB");
    assert!(
        live >= CLIENTS / 2,
        "most watchers joined a live run: {live}"
    );
    cleanup_redis(REDIS_URL, &env.prefix).await;
}
