//! What an anonymous caller can learn or cause, and what outlives a session, over a real socket:
//! `/healthz` names no error and opens no connection per call; event streams share one Redis
//! connection, end with their session and are capped per session; instances starting together
//! on an empty PostgreSQL database migrate it one after the other. The real server, SQLite or
//! PostgreSQL, the shared or a private Redis, `onec-admin` child processes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine::redis::{self, AsyncCommands};
use sea_orm::ConnectionTrait;
use server::events::{MAX_STREAMS_PER_SESSION, SESSION_RECHECK};
use support::{
    LOGIN, PgDb, RedisProcess, ServerEnv, TempDir, cleanup_redis, login, poll, read_body,
    read_states, request,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpStream;
use wire::{ImportKind, RunState};

/// `GET /healthz`: status code and body.
async fn healthz(addr: std::net::SocketAddr) -> (String, String) {
    let (head, mut r) = request(addr, "GET", "/healthz", None, "").await;
    (head, read_body(&mut r).await)
}

/// `GET /healthz`, asserting its status (`" 200 "`, `" 503 "`) and its JSON body; the body.
async fn assert_healthz(
    addr: std::net::SocketAddr,
    status: &str,
    expected: serde_json::Value,
) -> String {
    let (head, body) = healthz(addr).await;
    assert!(head.contains(status), "{head}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        expected,
        "{body}"
    );
    body
}

/// A number of Redis's `INFO section` (`field:value`).
async fn redis_info(
    conn: &mut redis::aio::MultiplexedConnection,
    section: &str,
    field: &str,
) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .expect(field)
}

/// Connections Redis has accepted since it started (`INFO stats`).
async fn connections_received(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    redis_info(conn, "stats", "total_connections_received").await
}

async fn uptime_secs(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    redis_info(conn, "server", "uptime_in_seconds").await
}

/// A run that is going on as far as Redis knows (its stored state), for a stream to watch.
async fn running_state(redis_url: &str, prefix: &str) -> RunState {
    let run_id = support::unique("quiet-run");
    let state = RunState::new(
        run_id.clone(),
        &[ImportKind::Catalog],
        LOGIN.into(),
        "2026-01-01T00:00:00Z".into(),
    );
    assert!(!state.is_finished());
    let mut conn = support::redis_conn(redis_url).await.unwrap();
    let _: () = conn
        .set(
            format!("{prefix}:import:run:{run_id}"),
            serde_json::to_string(&state).unwrap(),
        )
        .await
        .unwrap();
    state
}

/// Whether the stream ends (the server closes it) within `limit`; frames and keep-alives
/// before the end are skipped.
async fn ends_within(r: &mut BufReader<TcpStream>, limit: Duration) -> bool {
    tokio::time::timeout(limit, async {
        let mut buf = [0u8; 1024];
        while r.read(&mut buf).await.unwrap_or(0) > 0 {}
    })
    .await
    .is_ok()
}

/// `GET path` with a cookie; the response head and the stream.
async fn open(
    addr: std::net::SocketAddr,
    path: &str,
    cookie: &str,
) -> (String, BufReader<TcpStream>) {
    request(addr, "GET", path, Some(cookie), "").await
}

#[tokio::test]
async fn healthz_tells_no_reasons_and_streams_and_checks_share_one_redis_connection() {
    let dir = TempDir::new("surface-redis");
    let mut redis_srv = RedisProcess::start().await;
    let mut env = ServerEnv::new(&dir.sqlite_url(), dir.path(), "surface-redis");
    env.redis_url = redis_srv.url();
    let addr = support::spawn_in_process(&env).await;
    let cookie = login(addr).await;
    let run = running_state(&env.redis_url, &env.prefix).await;

    // A fresh Redis makes the start-up recovery watch look again every second for a lock TTL;
    // measure only once it has stopped.
    let mut info = support::redis_conn(&env.redis_url).await.unwrap();
    while uptime_secs(&mut info).await < 32 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let (head, mut stream) = open(addr, &format!("/events/runs/{}", run.run_id), &cookie).await;
    assert!(head.contains("text/event-stream"), "{head}");
    let opened = Instant::now();
    let mut first = String::new();
    while !first.starts_with("data:") {
        first.clear();
        stream.read_line(&mut first).await.unwrap();
    }
    let before = connections_received(&mut info).await;
    for _ in 0..5 {
        assert_healthz(
            addr,
            " 200 ",
            serde_json::json!({"status": "ok", "database": "ok", "redis": "ok"}),
        )
        .await;
    }
    // Two quiet periods of the run stream (it re-reads the stored state every 5 s).
    tokio::time::sleep(Duration::from_secs(11).saturating_sub(opened.elapsed())).await;
    let after = connections_received(&mut info).await;
    assert_eq!(
        after - before,
        0,
        "five health checks and a quiet run stream opened Redis connections"
    );
    assert!(
        !ends_within(&mut stream, Duration::from_millis(200)).await,
        "the run stream stays open"
    );

    // Redis gone: the check says which component, not why (no address, no error text).
    redis_srv.kill();
    assert_healthz(
        addr,
        " 503 ",
        serde_json::json!({"status": "degraded", "database": "ok", "redis": "error"}),
    )
    .await;
    // Back again: the shared connection reconnects by itself.
    redis_srv.restart().await;
    let healthy = poll(Duration::from_secs(20), || async {
        let (head, _) = healthz(addr).await;
        head.contains(" 200 ").then_some(())
    })
    .await;
    assert!(healthy.is_some(), "healthz recovers after Redis restarts");
}

#[tokio::test]
async fn healthz_does_not_tell_the_database_error() {
    let db = PgDb::new().await;
    let dir = TempDir::new("surface-db");
    let env = ServerEnv::new(db.url(), dir.path(), "surface-db");
    let addr = support::spawn_in_process(&env).await;
    let (head, _) = healthz(addr).await;
    assert!(head.contains(" 200 "), "{head}");
    // The database disappears under the server (its connections are cut).
    support::pg_admin_execute(&format!(
        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
        db.name()
    ))
    .await;
    let body = assert_healthz(
        addr,
        " 503 ",
        serde_json::json!({"status": "degraded", "database": "error", "redis": "ok"}),
    )
    .await;
    assert!(!body.contains(db.name()));
    cleanup_redis(support::REDIS_URL, &env.prefix).await;
}

#[tokio::test]
async fn event_streams_end_with_their_session() {
    let dir = TempDir::new("surface-logout");
    let env = ServerEnv::new(&dir.sqlite_url(), dir.path(), "surface-logout");
    let addr = support::spawn_in_process(&env).await;
    let run = running_state(&env.redis_url, &env.prefix).await;
    let run_path = format!("/events/runs/{}", run.run_id);
    let leaving = login(addr).await;
    let staying = login(addr).await;

    let (_, mut monitor) = open(addr, "/events", &leaving).await;
    let (_, mut watch) = open(addr, &run_path, &leaving).await;
    let (_, mut other) = open(addr, "/events", &staying).await;
    assert_eq!(
        read_states(&mut watch, Duration::from_secs(1)).await.len(),
        1
    );

    // Logout: that session's streams end within a re-check; the other session's stays.
    let (head, _) = request(addr, "POST", "/api/logout", Some(&leaving), "").await;
    assert!(head.contains(" 200 "), "{head}");
    let limit = SESSION_RECHECK * 2 + Duration::from_secs(1);
    assert!(ends_within(&mut monitor, limit).await, "/events ended");
    assert!(ends_within(&mut watch, limit).await, "the run stream ended");
    assert!(
        !ends_within(&mut other, Duration::from_millis(300)).await,
        "another session's stream stays open"
    );
    let (head, _) = open(addr, "/events", &leaving).await;
    assert!(head.contains(" 401 "), "{head}");

    // A password reset ends every session of that administrator, and so their streams.
    let db = support::connect_db(&env.database_url).await;
    engine::auth::upsert_admin(&db, LOGIN, "a-brand-new-pass")
        .await
        .unwrap();
    assert!(ends_within(&mut other, limit).await, "the stream ended");
    cleanup_redis(&env.redis_url, &env.prefix).await;
}

#[tokio::test]
async fn a_session_holds_a_bounded_number_of_streams() {
    let dir = TempDir::new("surface-cap");
    let env = ServerEnv::new(&dir.sqlite_url(), dir.path(), "surface-cap");
    let addr = support::spawn_in_process(&env).await;
    let cookie = login(addr).await;
    let mut streams = Vec::new();
    for i in 0..MAX_STREAMS_PER_SESSION {
        let (head, r) = open(addr, "/events", &cookie).await;
        assert!(head.contains("text/event-stream"), "stream {i}: {head}");
        streams.push(r);
    }
    let (head, mut r) = open(addr, "/events", &cookie).await;
    assert!(head.contains(" 429 "), "{head}");
    let body = read_body(&mut r).await;
    assert_eq!(body, "Слишком много открытых потоков событий в этой сессии");
    let run = running_state(&env.redis_url, &env.prefix).await;
    let (head, _) = open(addr, &format!("/events/runs/{}", run.run_id), &cookie).await;
    assert!(head.contains(" 429 "), "run streams count too: {head}");

    // Another session has its own allowance.
    let other = login(addr).await;
    let (head, _other_stream) = open(addr, "/events", &other).await;
    assert!(head.contains("text/event-stream"), "{head}");

    // A browser that leaves frees its place.
    streams.truncate(MAX_STREAMS_PER_SESSION - 1);
    let reopened = poll(Duration::from_secs(30), || async {
        let (head, r) = open(addr, "/events", &cookie).await;
        head.contains("text/event-stream").then_some(r)
    })
    .await;
    assert!(reopened.is_some(), "a place is free again");
    cleanup_redis(&env.redis_url, &env.prefix).await;
}

/// A new, empty PostgreSQL database (no migrations), dropped when the guard goes.
struct EmptyPg {
    name: String,
}

impl EmptyPg {
    async fn new() -> EmptyPg {
        let name = support::unique("mig").replace('-', "_");
        support::pg_admin_execute(&format!("CREATE DATABASE {name}")).await;
        EmptyPg { name }
    }

    fn url(&self) -> String {
        let admin = engine::testing::postgres_admin_url();
        let base = admin.rsplit_once('/').unwrap().0;
        format!("{base}/{}", self.name)
    }
}

impl Drop for EmptyPg {
    fn drop(&mut self) {
        support::drop_pg_database(&self.name);
    }
}

/// Applied migrations, as the migrator records them.
async fn migrations_count(db: &sea_orm::DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// [`migrations_count`] of the database at `url`.
async fn applied_migrations(url: &str) -> i64 {
    let db = support::connect_db(url).await;
    let n = migrations_count(&db).await;
    db.close().await.ok();
    n
}

/// Starts two `onec-admin migrate` at once on `url`; both must succeed without a
/// duplicate-object error.
fn migrate_twice_at_once(url: &str, dir: &std::path::Path, round: usize) {
    let children: Vec<_> = (0..2)
        .map(|i| {
            let log = dir.join(format!("migrate-{round}-{i}.log"));
            let child = Command::new(env!("CARGO_BIN_EXE_onec-admin"))
                .arg("migrate")
                .current_dir(dir) // no `.env` of the repository is read
                .env("DATABASE_URL", url)
                .env("REDIS_URL", support::REDIS_URL)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("spawn onec-admin migrate");
            (child, log)
        })
        .collect();
    for (mut child, log) in children {
        let status = child.wait().unwrap();
        let err = std::fs::read_to_string(&log).unwrap();
        assert!(status.success(), "round {round}: {status}\n{err}");
        assert!(
            !err.contains("already exists") && !err.contains("duplicate"),
            "round {round}: {err}"
        );
    }
}

#[tokio::test]
async fn instances_starting_together_on_an_empty_postgres_migrate_in_turn() {
    let reference = support::PgDb::new().await;
    let expected = applied_migrations(reference.url()).await;
    let dir = TempDir::new("surface-mig");
    // Several rounds: a race that a lock did not prevent shows up in one of them.
    for round in 0..3 {
        let db = EmptyPg::new().await;
        migrate_twice_at_once(&db.url(), dir.path(), round);
        assert_eq!(
            applied_migrations(&db.url()).await,
            expected,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn instances_starting_together_on_a_new_sqlite_file_migrate_in_turn() {
    let dir = TempDir::new("surface-mig-sqlite");
    for round in 0..3 {
        let url = format!(
            "sqlite://{}/round-{round}.db?mode=rwc",
            dir.path().display()
        );
        migrate_twice_at_once(&url, dir.path(), round);
        let n = applied_migrations(&url).await;
        // The same count as a database migrated alone.
        let alone = engine::testing::TestDb::sqlite().await;
        assert_eq!(n, migrations_count(&alone.db).await, "round {round}");
        alone.drop_db().await;
    }
}
