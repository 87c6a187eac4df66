//! Shared helpers of the server's suites: temporary folders and exports, the server in-process
//! or as an `onec-admin serve` child process, the real router without a socket
//! ([`RouterApp`]), a private `redis-server`, PostgreSQL databases, raw HTTP/1.0 requests, the
//! login, starting a run and reading its event stream, and polls with a time limit. Every child
//! process and folder is removed by a `Drop` guard, so a failing assertion leaves nothing
//! behind.
#![allow(dead_code)] // every test binary uses its own subset

/// 1C's side of the exchange tests.
pub mod exchange;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use app::login_limit::LoginPolicy;
use app::ssr::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use engine::entity::{import_runs, import_sessions};
use engine::redis::{self, AsyncCommands};
use engine::testing::TestDb;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait};
use server::config::Config;
use server::startup::Application;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower::ServiceExt;
use wire::{KindPhase, RunState};

/// The shared Redis every suite may use (with its own prefix).
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// The first administrator every test server creates.
pub const LOGIN: &str = "admin";
pub const PASSWORD: &str = "s3cret-pass";
/// The refusal of a second run, word for word.
pub const ALREADY_RUNNING: &str = "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.";
/// The text of a session whose process died.
pub const INTERRUPTED: &str = "Прервано: процесс остановлен";
/// Any single HTTP exchange (connect, send, response head) must finish within this.
const HTTP_LIMIT: Duration = Duration::from_secs(30);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test (in this or another process) uses: tag, pid, counter, time.
pub fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "test-{tag}-{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A temporary folder, removed (with everything in it) when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A SQLite URL for a database file in this folder.
    pub fn sqlite_url(&self) -> String {
        format!("sqlite://{}/app.db?mode=rwc", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// Writes a generated 3.1 export of `products` products (and `customers` customers) to `dir`,
/// replacing whatever an earlier call wrote there.
pub fn generate(dir: &Path, products: usize, customers: usize) -> gendata::Summary {
    gendata::generate(
        &gendata::Options {
            products,
            customers,
            seed: 3,
            ..Default::default()
        },
        dir,
    )
    .unwrap()
}

/// A temporary folder holding a generated export in `1c/` ([`generate`] of `products` and
/// `customers`), and the settings of a server reading it from a SQLite file in that folder;
/// `tag` names the folder and the Redis prefix.
pub fn sqlite_export_env(tag: &str, products: usize, customers: usize) -> (TempDir, ServerEnv) {
    let dir = TempDir::new(tag);
    let url = dir.sqlite_url();
    let env = export_env_in(dir.path(), &url, tag, products, customers);
    (dir, env)
}

/// [`sqlite_export_env`] for the database at `db_url` instead of a SQLite file.
pub fn export_env(
    db_url: &str,
    tag: &str,
    products: usize,
    customers: usize,
) -> (TempDir, ServerEnv) {
    let dir = TempDir::new(tag);
    let env = export_env_in(dir.path(), db_url, tag, products, customers);
    (dir, env)
}

fn export_env_in(
    dir: &Path,
    db_url: &str,
    tag: &str,
    products: usize,
    customers: usize,
) -> ServerEnv {
    let data = dir.join("1c");
    generate(&data, products, customers);
    ServerEnv::new(db_url, &data, tag)
}

/// A fresh, migrated PostgreSQL database ([`TestDb::postgres`]) that is dropped even when the
/// test panics: the guard drops it from its own thread and runtime, forcing its connections
/// closed.
pub struct PgDb(pub engine::testing::TestDb);

impl PgDb {
    pub async fn new() -> PgDb {
        PgDb(engine::testing::TestDb::postgres().await)
    }

    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        self.0.url.rsplit('/').next().unwrap()
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        drop_pg_database(self.name());
    }
}

/// Runs one statement (`CREATE DATABASE`, `DROP DATABASE` …) on the PostgreSQL server's
/// administrative database; panics when it fails.
pub async fn pg_admin_execute(sql: &str) {
    let admin = engine::db::connect(&engine::testing::postgres_admin_url())
        .await
        .unwrap();
    admin.execute_unprepared(sql).await.unwrap();
    admin.close().await.ok();
}

/// Drops the PostgreSQL database `name`, forcing its connections closed, from a thread and a
/// runtime of its own, so that a `Drop` guard can call it (also while a test panics); errors
/// are ignored.
pub fn drop_pg_database(name: &str) {
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let admin = engine::testing::postgres_admin_url();
    let dropper = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            if let Ok(db) = engine::db::connect(&admin).await {
                db.execute_unprepared(&sql).await.ok();
                db.close().await.ok();
            }
        });
    });
    dropper.join().ok();
}

/// A port nobody listens on at the moment of the call (loopback).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The settings of one test server, as environment variables.
#[derive(Clone, Debug)]
pub struct ServerEnv {
    pub database_url: String,
    pub redis_url: String,
    pub data_dir: PathBuf,
    pub prefix: String,
    pub bind: String,
}

impl ServerEnv {
    /// A server on `database_url` reading exports from `data_dir`, the shared Redis, a fresh
    /// prefix and any free port.
    pub fn new(database_url: &str, data_dir: &Path, tag: &str) -> ServerEnv {
        ServerEnv {
            database_url: database_url.to_owned(),
            redis_url: REDIS_URL.to_owned(),
            data_dir: data_dir.to_owned(),
            prefix: unique(tag),
            bind: "127.0.0.1:0".into(),
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", self.database_url.clone()),
            ("REDIS_URL", self.redis_url.clone()),
            ("ONEC_BIND", self.bind.clone()),
            ("ONEC_DATA_DIR", self.data_dir.display().to_string()),
            ("ONEC_REDIS_PREFIX", self.prefix.clone()),
            ("ONEC_ADMIN_LOGIN", LOGIN.into()),
            ("ONEC_ADMIN_PASSWORD", PASSWORD.into()),
            ("ONEC_DIST_DIR", "/nonexistent".into()),
        ]
    }

    /// The Redis key of the import lock.
    pub fn lock_key(&self) -> String {
        format!("{}:import:lock", self.prefix)
    }
}

/// Builds the real [`Application`] in this process and serves it in the background; returns
/// its address. It lives as long as the test's runtime.
pub async fn spawn_in_process(env: &ServerEnv) -> SocketAddr {
    spawn_in_process_with(env, &[]).await
}

/// [`spawn_in_process`] with more settings (set last, so they win).
pub async fn spawn_in_process_with(env: &ServerEnv, extra: &[(&str, &str)]) -> SocketAddr {
    let pairs = env.pairs();
    let mut map: std::collections::HashMap<&str, &str> =
        pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    map.extend(extra.iter().copied());
    let config = Config::from_env(&map).unwrap();
    let app = Application::build(config).await.unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until_stopped());
    addr
}

/// `onec-admin serve` as a child process on a fixed free port, killed (SIGKILL) when dropped.
/// Its stderr goes to a log file in `log_dir`, printed when a wait for it fails.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts the binary and waits (≤ 60 s) until `/healthz` answers.
    pub async fn start(env: &ServerEnv, log_dir: &Path, tag: &str) -> ServerProcess {
        Self::start_with(env, log_dir, tag, &[]).await
    }

    /// [`ServerProcess::start`] with more environment variables (set last, so they win).
    pub async fn start_with(
        env: &ServerEnv,
        log_dir: &Path,
        tag: &str,
        extra: &[(&str, &str)],
    ) -> ServerProcess {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = log_dir.join(format!("{tag}.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_onec-admin"));
        cmd.arg("serve")
            .current_dir(log_dir) // no `.env` of the repository is read
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env.pairs() {
            cmd.env(k, v);
        }
        cmd.env("ONEC_BIND", addr.to_string());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn onec-admin serve");
        let mut p = ServerProcess { child, addr, log };
        let ready = poll(Duration::from_secs(60), || async {
            match TcpStream::connect(addr).await {
                Ok(_) => Some(()),
                Err(_) => None,
            }
        })
        .await;
        if ready.is_none() || p.child.try_wait().unwrap().is_some() {
            panic!("onec-admin serve did not come up:\n{}", p.log());
        }
        p
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`, and reaps the process.
    pub fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Resident memory of the process, in KiB (`VmRSS` in `/proc/<pid>/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private `redis-server` (no persistence) on its own port, killed when dropped; it can be
/// stopped and started again on the same port, coming back empty like a restarted Redis.
pub struct RedisProcess {
    pub port: u16,
    child: Option<Child>,
}

impl RedisProcess {
    /// Starts it and waits (≤ 10 s) until it answers PING.
    pub async fn start() -> RedisProcess {
        let mut r = RedisProcess {
            port: free_port(),
            child: None,
        };
        r.restart().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `kill -9` of the Redis process.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// Starts a fresh, empty Redis on the same port and waits until it answers.
    pub async fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        self.child = Some(child);
        let url = self.url();
        poll(Duration::from_secs(10), || async {
            let c = redis::Client::open(url.as_str()).ok()?;
            let mut conn = c.get_multiplexed_async_connection().await.ok()?;
            redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .ok()
        })
        .await
        .expect("redis-server answers PING");
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Calls `f` every 100 ms until it gives `Some`, for at most `limit`.
pub async fn poll<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Ok(Some(v)) = tokio::time::timeout(limit, f()).await {
            return Some(v);
        }
        if started.elapsed() >= limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One HTTP/1.0 request (the server ends the body by closing); returns the response head and
/// the stream positioned at the body. Panics when the server does not answer within 30 s.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (String, BufReader<TcpStream>) {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
    request_with(addr, method, path, &headers, body).await
}

/// [`request`] with any headers (name, value) of the test's choosing instead of a cookie.
pub async fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (String, BufReader<TcpStream>) {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream, application/json\r\n"
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).await.unwrap();
        let mut r = BufReader::new(s);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        (head, r)
    };
    tokio::time::timeout(HTTP_LIMIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {HTTP_LIMIT:?}"))
}

/// The value of the header `name` (any case) in a response head.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The `name=value` of the session cookie a response head sets; panics when it sets none.
pub fn session_cookie(head: &str) -> String {
    header(head, "set-cookie")
        .unwrap_or_else(|| panic!("no cookie: {head}"))
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The rest of a response (the server closes the connection after it), within 30 s.
pub async fn read_body(r: &mut BufReader<TcpStream>) -> String {
    let mut body = String::new();
    tokio::time::timeout(HTTP_LIMIT, r.read_to_string(&mut body))
        .await
        .expect("body within the limit")
        .unwrap();
    body
}

/// Logs in as the first administrator; returns the `name=value` of the session cookie.
pub async fn login(addr: SocketAddr) -> String {
    let (head, _) = request(
        addr,
        "POST",
        "/api/login",
        None,
        &format!("login={LOGIN}&password={PASSWORD}"),
    )
    .await;
    session_cookie(&head)
}

/// `POST /api/start_import` of `kinds`: `Ok(run_id)`, or `Err(text)` with the administrator's
/// message (`Refused`, `Message` or `Server` of the server function's error).
pub async fn start_import(
    addr: SocketAddr,
    cookie: &str,
    kinds: &[&str],
) -> Result<String, String> {
    let form: Vec<String> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| format!("kinds[{i}]={k}"))
        .collect();
    let (head, mut r) = request(
        addr,
        "POST",
        "/api/start_import",
        Some(cookie),
        &form.join("&"),
    )
    .await;
    let body = read_body(&mut r).await;
    let v: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("start_import answered {head} {body}: {e}"));
    if let Some(id) = v.get("run_id").and_then(|id| id.as_str()) {
        return Ok(id.to_owned());
    }
    if let Some(r) = v.get("Refused") {
        // The reason travels typed: it must be one the pages know.
        serde_json::from_value::<wire::Refusal>(r["reason"].clone())
            .unwrap_or_else(|e| panic!("start_import refused without a known reason: {body}: {e}"));
        return Err(r["message"].as_str().unwrap_or_default().to_owned());
    }
    if let Some(m) = v.get("Message").and_then(|m| m["text"].as_str()) {
        return Err(m.to_owned());
    }
    if let Some(m) = v.get("Server").and_then(|m| m.as_str()) {
        return Err(m.to_owned());
    }
    panic!("start_import answered {head} {body}");
}

/// `POST /api/latest_run`: the latest run's state, if any.
pub async fn latest_run(addr: SocketAddr, cookie: &str) -> Option<RunState> {
    let (_, mut r) = request(addr, "POST", "/api/latest_run", Some(cookie), "").await;
    let body = read_body(&mut r).await;
    serde_json::from_str::<Option<RunState>>(&body).unwrap_or(None)
}

/// Opens `/events/runs/{run_id}`; panics unless it is an event stream.
pub async fn open_run_events(addr: SocketAddr, cookie: &str, run_id: &str) -> BufReader<TcpStream> {
    let (head, r) = request(
        addr,
        "GET",
        &format!("/events/runs/{run_id}"),
        Some(cookie),
        "",
    )
    .await;
    assert!(head.contains("text/event-stream"), "{head}");
    r
}

/// Reads SSE `data:` frames until the stream ends or `limit` passes.
pub async fn read_states(r: &mut BufReader<TcpStream>, limit: Duration) -> Vec<RunState> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, async {
        let mut line = String::new();
        while r.read_line(&mut line).await.unwrap_or(0) > 0 {
            if let Some(json) = line.trim_end().strip_prefix("data:") {
                out.push(serde_json::from_str::<RunState>(json.trim()).unwrap());
            }
            line.clear();
        }
    })
    .await;
    out
}

/// Reads SSE frames until one satisfies `pred` (returned) or the stream ends or `limit` passes
/// (`None`).
pub async fn read_until(
    r: &mut BufReader<TcpStream>,
    limit: Duration,
    pred: impl Fn(&RunState) -> bool,
) -> Option<RunState> {
    tokio::time::timeout(limit, async {
        let mut line = String::new();
        while r.read_line(&mut line).await.unwrap_or(0) > 0 {
            if let Some(json) = line.trim_end().strip_prefix("data:") {
                let s = serde_json::from_str::<RunState>(json.trim()).unwrap();
                if pred(&s) {
                    return Some(s);
                }
            }
            line.clear();
        }
        None
    })
    .await
    .ok()
    .flatten()
}

/// True once the catalog kind is importing and has processed records (mid-transaction).
pub fn catalog_in_progress(s: &RunState) -> bool {
    s.kinds.iter().any(|k| {
        k.kind == wire::ImportKind::Catalog && k.phase == KindPhase::Running && k.processed > 0
    })
}

/// Starts a run of `kinds` and follows its event stream to the end (≤ `limit`); the final state.
pub async fn run_to_end(
    addr: SocketAddr,
    cookie: &str,
    kinds: &[&str],
    limit: Duration,
) -> RunState {
    let run_id = start_import(addr, cookie, kinds)
        .await
        .unwrap_or_else(|m| panic!("start refused: {m}"));
    let mut r = open_run_events(addr, cookie, &run_id).await;
    read_until(&mut r, limit, RunState::is_finished)
        .await
        .unwrap_or_else(|| panic!("run {run_id} did not end within {limit:?}"))
}

/// The four kinds, in run order, as a start request names them.
pub const ALL_KINDS: [&str; 4] = ["catalog", "stocks", "prices", "customers"];

/// Runs all four kinds to the end (≤ 120 s) and asserts that the run succeeded (its message
/// starts with ✅); the final state.
pub async fn import_all_kinds(addr: SocketAddr, cookie: &str) -> RunState {
    let end = run_to_end(addr, cookie, &ALL_KINDS, Duration::from_secs(120)).await;
    assert!(
        end.message.as_deref().unwrap_or("").starts_with("✅"),
        "{end:?}"
    );
    end
}

/// A connection to the database under test.
pub async fn connect_db(url: &str) -> DatabaseConnection {
    engine::db::connect(url).await.unwrap()
}

/// The shop tables' totals.
pub async fn stats(url: &str) -> engine::stats::Stats {
    let db = connect_db(url).await;
    let s = engine::stats::stats(&db).await.unwrap();
    db.close().await.ok();
    s
}

/// Every `import_runs` and `import_sessions` row.
pub async fn runs_and_sessions(
    url: &str,
) -> (Vec<import_runs::Model>, Vec<import_sessions::Model>) {
    let db = connect_db(url).await;
    let runs = import_runs::Entity::find().all(&db).await.unwrap();
    let sessions = import_sessions::Entity::find().all(&db).await.unwrap();
    db.close().await.ok();
    (runs, sessions)
}

/// A Redis connection, or `None` when that Redis does not answer within 2 s.
pub async fn redis_conn(url: &str) -> Option<redis::aio::MultiplexedConnection> {
    let c = redis::Client::open(url).ok()?;
    tokio::time::timeout(Duration::from_secs(2), c.get_multiplexed_async_connection())
        .await
        .ok()?
        .ok()
}

/// The value of a Redis key (`None` when absent or Redis is down).
pub async fn redis_get(url: &str, key: &str) -> Option<String> {
    let mut conn = redis_conn(url).await?;
    conn.get::<_, Option<String>>(key).await.ok().flatten()
}

/// Every key of `prefix` on that Redis.
async fn keys_of(
    conn: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> redis::RedisResult<Vec<String>> {
    redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(conn)
        .await
}

/// Every key of `prefix`; panics when that Redis does not answer.
pub async fn redis_keys(url: &str, prefix: &str) -> Vec<String> {
    let mut conn = redis_conn(url).await.expect("Redis answers");
    keys_of(&mut conn, prefix).await.unwrap()
}

/// Deletes every key of `prefix` (on the shared Redis, after a test).
pub async fn cleanup_redis(url: &str, prefix: &str) {
    let Some(mut conn) = redis_conn(url).await else {
        return;
    };
    let keys = keys_of(&mut conn, prefix).await.unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<(), _> = conn.del(keys).await;
    }
}

/// The whole body of a router's response, as text.
pub async fn body_text(res: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The real router without a socket (requests go through tower's `oneshot`): a fresh, migrated
/// SQLite database with the first administrator, a Redis with a fresh prefix, and a `dist`
/// folder holding an `index.html`. [`RouterApp::done`] removes all three.
pub struct RouterApp {
    pub router: axum::Router,
    pub state: AppState,
    pub db: TestDb,
    pub redis_url: String,
    pub prefix: String,
    pub dist: TempDir,
}

impl RouterApp {
    /// `tag` names the prefix and the folder; `secure_cookies` and `login` go into the state.
    pub async fn new(
        tag: &str,
        secure_cookies: bool,
        redis_url: &str,
        login: LoginPolicy,
    ) -> RouterApp {
        let db = TestDb::sqlite().await;
        let prefix = unique(tag);
        let redis = redis::Client::open(redis_url).unwrap();
        let runner =
            engine::run::Runner::new(db.db.clone(), redis.clone(), None).with_prefix(&prefix);
        let state = AppState {
            db: db.db.clone(),
            redis,
            secure_cookies,
            runner,
            login,
            exchange: None,
        };
        let dist = TempDir::new(&format!("{tag}-dist"));
        std::fs::write(dist.path().join("index.html"), "<html>app</html>").unwrap();
        engine::auth::upsert_admin(&state.db, LOGIN, PASSWORD)
            .await
            .unwrap();
        RouterApp {
            router: server::routes::router(state.clone(), dist.path()),
            state,
            db,
            redis_url: redis_url.to_owned(),
            prefix,
            dist,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// Asserts that a browser's `GET path` without a session is sent to `target`.
    pub async fn assert_redirects(&self, path: &str, target: &str) {
        let res = self
            .send(
                Request::get(path)
                    .header(header::ACCEPT, "text/html")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()[header::LOCATION], target, "{path}");
    }

    /// Every Redis key of this app's prefix.
    pub async fn redis_keys(&self) -> Vec<String> {
        redis_keys(&self.redis_url, &self.prefix).await
    }

    /// Deletes the prefix's Redis keys, the folder and the database.
    pub async fn done(self) {
        cleanup_redis(&self.redis_url, &self.prefix).await;
        drop(self.dist);
        self.db.drop_db().await;
    }
}
