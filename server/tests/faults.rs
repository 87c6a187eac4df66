//! Fault injection against the real server: `kill -9` mid-import (SQLite and PostgreSQL), Redis
//! restarted mid-run and down at the start, the database connection cut mid-import, two
//! instances sharing one database and one Redis — the data stays whole, one run at a time, every
//! session ends with a clear message, the lock frees, and the next run completes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use support::*;
use wire::{ImportKind, KindPhase, RunPhase, RunState};

/// Products of the "pre-import data" every fault scenario must leave untouched.
const SMALL: usize = 50;
/// Products of the run that gets interrupted: long enough (seconds in a debug build) to be
/// caught mid-transaction.
const BIG: usize = 6_000;

/// Imports the small catalog through `addr` and returns the database's totals after it.
async fn pre_import(
    addr: std::net::SocketAddr,
    cookie: &str,
    db_url: &str,
) -> engine::stats::Stats {
    let done = run_to_end(addr, cookie, &["catalog"], Duration::from_secs(60)).await;
    assert_eq!(done.phase, RunPhase::Completed, "{:?}", done.message);
    let s = stats(db_url).await;
    assert_eq!(s.products_total, SMALL as u64);
    s
}

/// Starts a catalog run and returns its id and event stream once the catalog kind has processed
/// records (its transaction is open and holds uncommitted rows).
async fn start_and_wait_mid_catalog(
    addr: std::net::SocketAddr,
    cookie: &str,
) -> (String, tokio::io::BufReader<tokio::net::TcpStream>) {
    let run_id = start_import(addr, cookie, &["catalog"])
        .await
        .unwrap_or_else(|m| panic!("start refused: {m}"));
    let mut ev = open_run_events(addr, cookie, &run_id).await;
    let s = read_until(&mut ev, Duration::from_secs(60), catalog_in_progress)
        .await
        .expect("the catalog kind reports progress");
    assert_eq!(s.phase, RunPhase::Running);
    (run_id, ev)
}

/// The catalog kind's state in a run state.
fn catalog(s: &RunState) -> &wire::KindState {
    s.kinds
        .iter()
        .find(|k| k.kind == ImportKind::Catalog)
        .unwrap()
}

/// Scenario 1 on one database: `kill -9` of `onec-admin serve` in the middle of a catalog import.
async fn kill_9_mid_import(db_url: &str, tag: &str) {
    let (dir, env) = export_env(db_url, tag, SMALL, 0);
    let mut first = ServerProcess::start(&env, dir.path(), "first").await;
    let cookie = login(first.addr).await;
    let before = pre_import(first.addr, &cookie, db_url).await;

    let big = generate(&env.data_dir, BIG, 0);
    let (run_id, _ev) = start_and_wait_mid_catalog(first.addr, &cookie).await;
    first.kill();
    let killed = Instant::now();

    // Nothing of the interrupted transaction is visible: exactly the pre-import data.
    assert_eq!(stats(db_url).await, before, "{tag}: data after kill -9");
    let (_, sessions) = runs_and_sessions(db_url).await;
    let s = sessions.iter().find(|s| s.run_id == run_id).unwrap();
    assert_eq!(
        s.status, "in_progress",
        "{tag}: the dead process left its session open"
    );

    // Restarted at once (the dead run's lock still held): the lock frees within its TTL …
    let second = ServerProcess::start(&env, dir.path(), "second").await;
    let freed = poll(Duration::from_secs(35), || async {
        redis_get(REDIS_URL, &env.lock_key())
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let lock_free_after = killed.elapsed();
    assert!(freed.is_some(), "{tag}: lock still held 35 s after kill -9");

    // … and the interrupted session and run are marked failed, in the database and live.
    let marked = poll(Duration::from_secs(35), || async {
        let (runs, sessions) = runs_and_sessions(db_url).await;
        let s = sessions.into_iter().find(|s| s.run_id == run_id)?;
        let r = runs.into_iter().find(|r| r.id == run_id)?;
        (s.status == "failed" && r.status == "failed").then_some((s, r))
    })
    .await;
    let marked_after = killed.elapsed();
    let (s, r) = marked.unwrap_or_else(|| {
        panic!(
            "{tag}: interrupted session not marked failed:\n{}",
            second.log()
        )
    });
    assert_eq!(s.error_message.as_deref(), Some(INTERRUPTED));
    assert_eq!(
        r.message.as_deref(),
        Some("❌ Прервано: процесс остановлен.")
    );
    assert!(s.finished_at.is_some() && r.finished_at.is_some());
    let cookie = login(second.addr).await;
    let live = latest_run(second.addr, &cookie)
        .await
        .expect("a latest run");
    assert_eq!(live.run_id, run_id);
    assert_eq!(live.phase, RunPhase::Failed, "{live:?}");
    assert_eq!(catalog(&live).phase, KindPhase::Failed);
    assert_eq!(catalog(&live).error.as_deref(), Some(INTERRUPTED));
    assert_eq!(stats(db_url).await, before);

    // A new run then completes.
    let done = run_to_end(second.addr, &cookie, &["catalog"], Duration::from_secs(120)).await;
    assert_eq!(done.phase, RunPhase::Completed, "{:?}", done.message);
    assert_eq!(stats(db_url).await.products_total, big.products as u64);
    println!(
        "{tag}: kill -9 → lock free after {:.1} s, session marked after {:.1} s",
        lock_free_after.as_secs_f64(),
        marked_after.as_secs_f64()
    );
    cleanup_redis(REDIS_URL, &env.prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_import_on_sqlite_keeps_the_data_and_frees_the_lock() {
    let dir = TempDir::new("kill-sqlite-db");
    kill_9_mid_import(&dir.sqlite_url(), "kill-sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_import_on_postgres_keeps_the_data_and_frees_the_lock() {
    let db = PgDb::new().await;
    kill_9_mid_import(db.url(), "kill-pg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_run_never_lets_a_second_run_in() {
    let mut redis = RedisProcess::start().await;
    let (_dir, mut env) = sqlite_export_env("redis-restart", SMALL, 0);
    let db_url = env.database_url.clone();
    env.redis_url = redis.url();
    let addr = spawn_in_process(&env).await;
    let cookie = login(addr).await;
    let before = pre_import(addr, &cookie, &db_url).await;

    let big = generate(&env.data_dir, BIG, 0);
    let (run_id, mut ev) = start_and_wait_mid_catalog(addr, &cookie).await;
    redis.restart().await; // kill -9, then an empty Redis on the same port

    // Right after Redis is back, while the first run still runs, a second start is refused.
    let (runs, _) = runs_and_sessions(&db_url).await;
    let first = runs.iter().find(|r| r.id == run_id).unwrap();
    assert_eq!(
        first.status, "running",
        "the first run outlived the restart"
    );
    let second = start_import(addr, &cookie, &["catalog"]).await;
    assert_eq!(second, Err(ALREADY_RUNNING.to_owned()));

    // The run takes its lock back (or, on a fast machine, ends first and releases it) …
    let relocked = poll(Duration::from_secs(30), || async {
        let ours = redis_get(&env.redis_url, &env.lock_key())
            .await
            .is_some_and(|token| token.starts_with(&format!("{run_id}:")));
        let (runs, _) = runs_and_sessions(&db_url).await;
        let ended = runs.iter().any(|r| r.id == run_id && r.status != "running");
        (ours || ended).then_some(())
    })
    .await;
    assert!(
        relocked.is_some(),
        "the lock was neither re-established nor released by the run's end"
    );

    // … and ends; its end reaches the event stream opened before the restart.
    let last = read_until(&mut ev, Duration::from_secs(120), RunState::is_finished)
        .await
        .expect("the final state over the stream opened before the restart");
    assert_eq!(last.run_id, run_id);
    let (runs, sessions) = runs_and_sessions(&db_url).await;
    assert_eq!(runs.len(), 2, "the pre-import and this run only: {runs:?}");
    let session = sessions.iter().find(|s| s.run_id == run_id).unwrap();
    match last.phase {
        RunPhase::Completed => {
            assert_eq!(session.status, "completed");
            assert_eq!(stats(&db_url).await.products_total, big.products as u64);
        }
        _ => {
            // Stopped cleanly: a clear message, nothing partial.
            assert_eq!(session.status, "failed");
            assert!(session.error_message.is_some(), "{session:?}");
            assert_eq!(stats(&db_url).await, before);
        }
    }
    println!(
        "redis restart: run ended {:?}: {:?}",
        last.phase, last.message
    );
    let free = poll(Duration::from_secs(5), || async {
        redis_get(&env.redis_url, &env.lock_key())
            .await
            .is_none()
            .then_some(())
    })
    .await;
    assert!(free.is_some(), "the lock is released at the end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_a_start_is_refused_and_nothing_is_written() {
    let mut redis = RedisProcess::start().await;
    let (_dir, mut env) = sqlite_export_env("redis-down", SMALL, 0);
    let db_url = env.database_url.clone();
    env.redis_url = redis.url();
    let addr = spawn_in_process(&env).await;
    // Logged in while Redis is up: without it the login itself is refused (the limiter counts
    // attempts there).
    let cookie = login(addr).await;
    redis.kill();
    let refused = start_import(addr, &cookie, &["catalog"]).await;
    let message = refused.expect_err("no run without Redis");
    assert!(
        message.starts_with("❌ Redis недоступен, импорт не запущен: "),
        "{message}"
    );
    let (runs, sessions) = runs_and_sessions(&db_url).await;
    assert!(
        runs.is_empty() && sessions.is_empty(),
        "{runs:?} {sessions:?}"
    );
    assert_eq!(stats(&db_url).await, engine::stats::Stats::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_connection_fails_the_session_and_keeps_the_data() {
    let pg = PgDb::new().await;
    let db = &pg.0;
    let (_dir, env) = export_env(&db.url, "pg-lost", SMALL, 0);
    let addr = spawn_in_process(&env).await;
    let cookie = login(addr).await;
    let before = pre_import(addr, &cookie, &db.url).await;

    let big = generate(&env.data_dir, BIG, 0);
    let (run_id, mut ev) = start_and_wait_mid_catalog(addr, &cookie).await;
    let name = pg.name();
    let sql = format!(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid() AND state <> 'idle'"
    );
    let terminated: i64 = db
        .db
        .query_one_raw(Statement::from_string(db.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert!(terminated >= 1, "the import's connection was busy");

    let last = read_until(&mut ev, Duration::from_secs(60), RunState::is_finished)
        .await
        .expect("the run ends");
    assert_eq!(last.phase, RunPhase::Failed, "{last:?}");
    let error = catalog(&last).error.clone().unwrap_or_default();
    assert!(error.starts_with("Ошибка базы данных"), "{error}");
    let message = last.message.clone().unwrap_or_default();
    assert!(
        message.starts_with("❌ Ошибка импорта каталога: Ошибка базы данных"),
        "{message}"
    );
    let (runs, sessions) = runs_and_sessions(&db.url).await;
    let session = sessions.iter().find(|s| s.run_id == run_id).unwrap();
    assert_eq!(session.status, "failed");
    assert_eq!(session.error_message.as_deref(), Some(error.as_str()));
    let run = runs.iter().find(|r| r.id == run_id).unwrap();
    assert_eq!(
        (run.status.as_str(), run.message.as_deref()),
        ("failed", Some(message.as_str()))
    );
    assert_eq!(stats(&db.url).await, before, "nothing partial");
    assert_eq!(
        redis_get(REDIS_URL, &env.lock_key()).await,
        None,
        "lock released"
    );

    let done = run_to_end(addr, &cookie, &["catalog"], Duration::from_secs(120)).await;
    assert_eq!(done.phase, RunPhase::Completed, "{:?}", done.message);
    assert_eq!(stats(&db.url).await.products_total, big.products as u64);
    println!("database cut: {message}");
    cleanup_redis(REDIS_URL, &env.prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_run_once_and_show_the_run_on_both() {
    let pg = PgDb::new().await;
    let db = &pg.0;
    let dir = TempDir::new("two-instances");
    let data = dir.path().join("1c");
    let summary = generate(&data, 3_000, 0);
    let env = ServerEnv::new(&db.url, &data, "two-instances");
    let a = spawn_in_process(&env).await;
    let b = spawn_in_process(&env).await;
    let (cookie_a, cookie_b) = (login(a).await, login(b).await);

    let (ra, rb) = tokio::join!(
        start_import(a, &cookie_a, &["catalog"]),
        start_import(b, &cookie_b, &["catalog"])
    );
    let (run_id, other, other_cookie) = match (ra, rb) {
        (Ok(id), Err(m)) => {
            assert_eq!(m, ALREADY_RUNNING);
            (id, b, &cookie_b)
        }
        (Err(m), Ok(id)) => {
            assert_eq!(m, ALREADY_RUNNING);
            (id, a, &cookie_a)
        }
        other => panic!("expected one run and one refusal: {other:?}"),
    };

    // The other instance streams the run live: running states, then the final one.
    let mut ev = open_run_events(other, other_cookie, &run_id).await;
    let states = read_states(&mut ev, Duration::from_secs(120)).await;
    assert!(states.iter().all(|s| s.run_id == run_id));
    assert!(states.windows(2).all(|w| w[0].seq < w[1].seq), "seq grows");
    let running = states
        .iter()
        .filter(|s| s.phase == RunPhase::Running)
        .count();
    assert!(running >= 2, "live states on the other instance: {running}");
    assert!(states.iter().any(catalog_in_progress), "progress seen");
    let last = states.last().unwrap();
    assert_eq!(last.phase, RunPhase::Completed, "{:?}", last.message);

    let (runs, sessions) = runs_and_sessions(&db.url).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    assert_eq!(sessions[0].status, "completed");
    assert_eq!(stats(&db.url).await.products_total, summary.products as u64);
    cleanup_redis(REDIS_URL, &env.prefix).await;
}
