//! The `onec-admin import run` command as separate processes sharing one SQLite file and one
//! Redis prefix: two started at the same moment give exactly one run (exit 0) and one refusal
//! (exit 2, JSON status "rejected" with the «Импорт уже запущен» warning); stocks chosen on an
//! empty catalog are refused the same way.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine::entity::{import_runs, import_sessions};
use engine::redis::{self, AsyncCommands};
use sea_orm::EntityTrait;
use support::{ALREADY_RUNNING, REDIS_URL, cleanup_redis, generate, unique};

const CATALOG_EMPTY: &str = "⚠️ Невозможно загрузить остатки/цены: каталог товаров пуст. Сначала импортируйте каталог или выберите 'Каталог товаров' для импорта.";

/// A temporary folder with the database and (optionally) an export.
struct Setup {
    root: PathBuf,
    data: PathBuf,
    db_url: String,
    prefix: String,
}

impl Setup {
    fn new(tag: &str) -> Setup {
        let name = unique(&format!("cli-{tag}"));
        let root = std::env::temp_dir().join(&name);
        let data = root.join("export");
        std::fs::create_dir_all(&data).unwrap();
        Setup {
            db_url: format!("sqlite://{}/onec.db?mode=rwc", root.display()),
            root,
            data,
            prefix: name,
        }
    }

    /// `onec-admin …` with this setup's environment; run from the temporary folder so that no
    /// `.env` of the repository is read.
    fn command(&self, args: &[&str], tag: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_onec-admin"));
        c.args(args)
            .current_dir(&self.root)
            .env_remove("ONEC_ADMIN_LOGIN")
            .env_remove("ONEC_ADMIN_PASSWORD")
            .env("DATABASE_URL", &self.db_url)
            .env("REDIS_URL", REDIS_URL)
            .env("ONEC_REDIS_PREFIX", &self.prefix)
            .env("ONEC_DATA_DIR", &self.data)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(self.root.join(format!("{tag}.stderr"))).unwrap());
        c
    }

    fn stderr(&self, tag: &str) -> String {
        std::fs::read_to_string(self.root.join(format!("{tag}.stderr"))).unwrap_or_default()
    }

    async fn cleanup(self) {
        cleanup_redis(REDIS_URL, &self.prefix).await;
        std::fs::remove_dir_all(&self.root).ok();
    }
}

async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS_URL)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {REDIS_URL} is required for these tests: {e}"))
}

/// Waits for a process (killing it after `limit`) and returns its exit code and stdout.
fn wait(child: Child, limit: Duration) -> (i32, String) {
    let started = Instant::now();
    let mut child = child;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            panic!("onec-admin did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8(out.stdout).unwrap(),
    )
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("one JSON document: {e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_started_together_give_one_run_and_one_refusal() {
    let setup = Setup::new("pair");
    // Big enough that the catalog import lasts well over a second in a debug build.
    let summary = generate(&setup.data, 3_000, 0);
    // The schema first, so that the two processes race for the lock, not for the migrations.
    let (code, _) = wait(
        setup.command(&["migrate"], "migrate").spawn().unwrap(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "migrate: {}", setup.stderr("migrate"));

    let args = ["import", "run", "--types", "catalog", "--json"];
    let a = setup.command(&args, "a").spawn().unwrap();
    let b = setup.command(&args, "b").spawn().unwrap();
    let started = Instant::now();
    let (ta, tb) = (
        std::thread::spawn(move || wait(a, Duration::from_secs(120))),
        std::thread::spawn(move || wait(b, Duration::from_secs(120))),
    );
    let results = [ta.join().unwrap(), tb.join().unwrap()];
    let elapsed = started.elapsed();

    let ok: Vec<_> = results.iter().filter(|(c, _)| *c == 0).collect();
    let refused: Vec<_> = results.iter().filter(|(c, _)| *c == 2).collect();
    assert_eq!(
        (ok.len(), refused.len()),
        (1, 1),
        "exit codes {:?}; stderr a: {} b: {}",
        results.iter().map(|(c, _)| c).collect::<Vec<_>>(),
        setup.stderr("a"),
        setup.stderr("b")
    );

    let done = json(&ok[0].1);
    assert_eq!(done["status"], "completed", "{done}");
    let message = done["message"].as_str().unwrap();
    assert!(
        message.starts_with("✅ Импорт завершен: Каталог ("),
        "{message}"
    );
    let sessions = done["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{done}");
    assert_eq!(sessions[0]["import_type"], "catalog");
    assert_eq!(sessions[0]["status"], "completed");
    assert_eq!(sessions[0]["error_message"], serde_json::Value::Null);
    assert_eq!(sessions[0]["counts"]["products"], summary.products as u64);
    assert_eq!(
        sessions[0]["counts"]["stock_rows"],
        summary.stock_rows as u64
    );

    let rejected = json(&refused[0].1);
    assert_eq!(
        rejected,
        serde_json::json!({ "status": "rejected", "message": ALREADY_RUNNING, "sessions": [] })
    );
    assert!(
        elapsed > Duration::from_secs(1),
        "the run lasted long enough to overlap: {elapsed:?}"
    );

    // `stats` agrees, and nothing references a missing row.
    let out = setup
        .command(&["stats", "--json"], "stats")
        .output()
        .unwrap();
    assert!(out.status.success(), "stats: {}", setup.stderr("stats"));
    let st = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(st["products"]["total"], summary.products as u64, "{st}");
    assert_eq!(st["stock"]["rows"], summary.stock_rows as u64, "{st}");
    assert_eq!(st["orphan_rows"], serde_json::json!({}), "{st}");

    // One run, one session, in the shared database; the lock is free again.
    let db = engine::db::connect(&setup.db_url).await.unwrap();
    let runs = import_runs::Entity::find().all(&db).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].status, "completed");
    assert_eq!(runs[0].started_by, "cli");
    assert_eq!(runs[0].id, done["run_id"].as_str().unwrap());
    let sessions = import_sessions::Entity::find().all(&db).await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, done["sessions"][0]["id"].as_i64().unwrap());
    assert_eq!(sessions[0].status, "completed");
    assert_eq!(sessions[0].triggered_by, "cli");
    db.close().await.ok();
    let lock: Option<String> = redis_conn()
        .await
        .get(format!("{}:import:lock", setup.prefix))
        .await
        .unwrap();
    assert_eq!(lock, None);
    setup.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stocks_on_an_empty_catalog_are_refused_with_exit_2() {
    let setup = Setup::new("empty");
    generate(&setup.data, 10, 0);
    let (code, stdout) = wait(
        setup
            .command(&["import", "run", "--types", "stocks", "--json"], "stocks")
            .spawn()
            .unwrap(),
        Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{stdout} {}", setup.stderr("stocks"));
    assert_eq!(
        json(&stdout),
        serde_json::json!({ "status": "rejected", "message": CATALOG_EMPTY, "sessions": [] })
    );
    let db = engine::db::connect(&setup.db_url).await.unwrap();
    assert!(
        import_runs::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        import_sessions::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    db.close().await.ok();
    setup.cleanup().await;
}

/// Runs `onec-admin` with `args` and `env`, writing `stdin` to it; its stdout, trimmed.
fn onec_admin_with_stdin(args: &[&str], env: &[(&str, &str)], stdin: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_onec-admin"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `create-admin --password-stdin` works even when ONEC_ADMIN_PASSWORD is set (as `run.sh`
/// exports it), and the password read from stdin is the one that logs in. `create-user --role
/// exchange` makes 1C's account, which opens the exchange endpoint and not the web app.
#[tokio::test]
async fn create_admin_reads_the_password_from_stdin_over_the_environment() {
    use engine::auth::{Role, authenticate_as};
    let dir = std::env::temp_dir().join(format!("onec-create-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/app.db?mode=rwc", dir.display());
    let said = onec_admin_with_stdin(
        &["create-admin", "--login", "admin", "--password-stdin"],
        &[
            ("DATABASE_URL", &url),
            ("ONEC_ADMIN_LOGIN", "admin"),
            ("ONEC_ADMIN_PASSWORD", "from-the-environment"),
        ],
        "from-stdin-123\n",
    );
    assert_eq!(said, "Администратор «admin» создан.");
    let said = onec_admin_with_stdin(
        &[
            "create-user",
            "--login",
            "1c",
            "--role",
            "exchange",
            "--password-stdin",
        ],
        &[("DATABASE_URL", &url)],
        "exchange-pass-1\n",
    );
    assert_eq!(said, "Пользователь обмена с 1С «1c» создан.");
    let db = engine::db::connect(&url).await.unwrap();
    for (login, password, role, opens) in [
        ("admin", "from-stdin-123", Role::Admin, true),
        ("admin", "from-the-environment", Role::Admin, false),
        ("admin", "from-stdin-123", Role::Exchange, false),
        ("1c", "exchange-pass-1", Role::Admin, false),
        ("1c", "exchange-pass-1", Role::Exchange, true),
    ] {
        let found = authenticate_as(&db, login, password, role).await.unwrap();
        assert_eq!(found.is_some(), opens, "{login} {password} {role:?}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onec-admin"))
        .args(["create-user", "--login", "x", "--password", "long-enough"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--role is required: {out:?}");
    db.close().await.ok();
    std::fs::remove_dir_all(&dir).ok();
}
