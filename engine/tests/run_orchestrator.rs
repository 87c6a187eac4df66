//! The import-run orchestrator (`engine::run::Runner`) end to end against the real Redis and
//! both databases: the checks that refuse a run before anything is created, the kind order and
//! the stop at the first failure, the Redis lock (exclusive, renewed, owner-only), cancellation,
//! recovery of runs a dead process left behind, and the published run state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use engine::entity::{import_runs, import_sessions};
use engine::redis::{self, AsyncCommands};
use engine::run::lock::{ImportLock, Renewal};
use engine::run::{
    CANCELLED, INTERRUPTED, RunHandle, RunOptions, Runner, StartError, StartRequest,
};
use engine::stats;
use engine::testing::TestDb;
use gendata::{Options, Summary};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use wire::{Counter, ImportKind, KindPhase, RunPhase, RunState};

const ALREADY_RUNNING: &str = "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.";
const CATALOG_EMPTY: &str = "⚠️ Невозможно загрузить остатки/цены: каталог товаров пуст. Сначала импортируйте каталог или выберите 'Каталог товаров' для импорта.";

// ---------------------------------------------------------------------------------------------
// Helpers

fn redis_client() -> redis::Client {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    redis::Client::open(url).expect("redis url")
}

/// A Redis prefix nobody else uses.
fn new_prefix() -> String {
    format!("test-run-{}", uuid::Uuid::new_v4())
}

fn runner(tdb: &TestDb, data_dir: Option<&Path>) -> Runner {
    Runner::new(
        tdb.db.clone(),
        redis_client(),
        data_dir.map(Path::to_path_buf),
    )
    .with_prefix(&new_prefix())
}

async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis_client()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at 127.0.0.1:6379 is required for these tests: {e}"))
}

/// Deletes every key under the runner's prefix.
async fn cleanup(runner: &Runner) {
    let mut conn = redis_conn().await;
    let prefix = runner.keys().lock();
    let prefix = prefix.trim_end_matches("import:lock");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = conn.del(keys).await.unwrap();
    }
}

async fn lock_value(runner: &Runner) -> Option<String> {
    redis_conn().await.get(runner.keys().lock()).await.unwrap()
}

/// Removes the folders earlier runs of this suite left (the shared exports live as long as the
/// process, so they are never removed by the run that made them).
fn sweep_stale_dirs() {
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(|| {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("run_orchestrator_") else {
                continue;
            };
            let parts: Vec<&str> = rest.rsplitn(4, '_').collect();
            if let [_, _, pid, _] = parts[..]
                && pid.parse::<u32>().is_ok()
                && !Path::new("/proc").join(pid).exists()
            {
                std::fs::remove_dir_all(e.path()).ok();
            }
        }
    });
}

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    sweep_stale_dirs();
    let dir = std::env::temp_dir().join(format!(
        "run_orchestrator_{tag}_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        rand_u32()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_u32() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}

fn export(tag: &str, products: usize) -> (PathBuf, Summary) {
    let dir = temp_dir(tag);
    let summary = gendata::generate(
        &Options {
            products,
            customers: 0,
            seed: 7,
            ..Default::default()
        },
        &dir,
    )
    .unwrap();
    (dir, summary)
}

/// A small export, shared read-only by the tests that need a quick successful run.
fn small_export() -> &'static (PathBuf, Summary) {
    static SMALL: OnceLock<(PathBuf, Summary)> = OnceLock::new();
    SMALL.get_or_init(|| export("small", 150))
}

/// An export whose catalog import takes a few seconds (progress, renewal, cancellation).
fn big_export() -> &'static (PathBuf, Summary) {
    static BIG: OnceLock<(PathBuf, Summary)> = OnceLock::new();
    BIG.get_or_init(|| export("big", 3_000))
}

fn request(kinds: &[&str]) -> StartRequest {
    StartRequest {
        kinds: kinds
            .iter()
            .map(|s| ImportKind::parse(s).unwrap())
            .collect(),
        started_by: "admin".into(),
        origin: wire::RunOrigin::Admin,
        options: RunOptions::default(),
    }
}

async fn runs(db: &DatabaseConnection) -> Vec<import_runs::Model> {
    import_runs::Entity::find()
        .order_by_asc(import_runs::Column::StartedAt)
        .all(db)
        .await
        .unwrap()
}

async fn sessions(db: &DatabaseConnection) -> Vec<import_sessions::Model> {
    import_sessions::Entity::find()
        .order_by_asc(import_sessions::Column::Id)
        .all(db)
        .await
        .unwrap()
}

async fn sessions_of(db: &DatabaseConnection, run_id: &str) -> Vec<import_sessions::Model> {
    import_sessions::Entity::find()
        .filter(import_sessions::Column::RunId.eq(run_id))
        .order_by_asc(import_sessions::Column::Id)
        .all(db)
        .await
        .unwrap()
}

async fn run_row(db: &DatabaseConnection, run_id: &str) -> import_runs::Model {
    import_runs::Entity::find_by_id(run_id.to_owned())
        .one(db)
        .await
        .unwrap()
        .expect("the run's row")
}

async fn finish(handle: RunHandle) -> RunState {
    tokio::time::timeout(Duration::from_secs(60), handle.done)
        .await
        .expect("the run ends within a minute")
        .expect("the run task does not panic")
}

/// Starts a run and waits for its end.
async fn run_to_end(runner: &Runner, kinds: &[&str]) -> RunState {
    let handle = runner.start(request(kinds)).await.expect("the run starts");
    finish(handle).await
}

fn report_counts(s: &import_sessions::Model) -> serde_json::Value {
    let report: serde_json::Value = serde_json::from_str(&s.report).unwrap();
    report["counts"].clone()
}

/// Asserts that a refused start left no trace: no run, no session, no lock.
async fn assert_nothing_created(tdb: &TestDb, runner: &Runner) {
    assert!(runs(&tdb.db).await.is_empty(), "{}: no run row", tdb.url);
    assert!(
        sessions(&tdb.db).await.is_empty(),
        "{}: no session row",
        tdb.url
    );
    assert_eq!(lock_value(runner).await, None, "{}: no lock", tdb.url);
}

/// Runs `case` on a fresh SQLite database and on a fresh PostgreSQL database, as two tests.
macro_rules! on_both {
    ($name:ident, $case:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let tdb = engine::testing::TestDb::sqlite().await;
                super::$case(&tdb).await;
                tdb.drop_db().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let tdb = engine::testing::TestDb::postgres().await;
                super::$case(&tdb).await;
                tdb.drop_db().await;
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// 1, 2. Stocks and prices need a catalog.

on_both!(
    stocks_without_catalog_on_empty_db_are_refused,
    case_catalog_empty
);
async fn case_catalog_empty(tdb: &TestDb) {
    let (dir, _) = small_export();
    let runner = runner(tdb, Some(dir));
    for kinds in [
        &["stocks"][..],
        &["prices"],
        &["stocks", "prices", "customers"],
    ] {
        let err = runner.start(request(kinds)).await.err().expect("refused");
        assert!(
            matches!(err, StartError::CatalogEmpty),
            "{kinds:?}: {err:?}"
        );
        assert_eq!(err.to_string(), CATALOG_EMPTY);
    }
    assert_nothing_created(tdb, &runner).await;
    cleanup(&runner).await;
}

on_both!(
    stocks_without_catalog_run_once_products_exist,
    case_stocks_after_catalog
);
async fn case_stocks_after_catalog(tdb: &TestDb) {
    let (dir, summary) = small_export();
    let runner = runner(tdb, Some(dir));
    let first = run_to_end(&runner, &["catalog"]).await;
    assert_eq!(first.phase, RunPhase::Completed, "{:?}", first.message);

    let handle = runner.start(request(&["stocks"])).await.expect("allowed");
    let run_id = handle.run_id.clone();
    let end = finish(handle).await;
    assert_eq!(end.phase, RunPhase::Completed, "{:?}", end.message);
    assert_eq!(end.kinds.len(), 1);
    assert_eq!(end.kinds[0].kind, ImportKind::Stocks);
    assert_eq!(end.kinds[0].phase, KindPhase::Done);

    let ss = sessions_of(&tdb.db, &run_id).await;
    assert_eq!(ss.len(), 1, "{}: one session: {ss:?}", tdb.url);
    assert_eq!(ss[0].import_type, "stocks");
    assert_eq!(ss[0].status, "completed");
    assert_eq!(ss[0].triggered_by, "admin");
    assert!(ss[0].finished_at.is_some());
    assert_eq!(
        report_counts(&ss[0])["stock_rows"],
        summary.stock_rows as u64,
        "{}",
        tdb.url
    );
    assert_eq!(run_row(&tdb.db, &run_id).await.status, "completed");
    assert_eq!(runs(&tdb.db).await.len(), 2);
    assert_eq!(lock_value(&runner).await, None);
    cleanup(&runner).await;
}

// ---------------------------------------------------------------------------------------------
// 3. Catalog and stocks in one run, in that order whatever the ticking order.

on_both!(
    catalog_and_stocks_run_in_order_with_real_counts,
    case_catalog_then_stocks
);
async fn case_catalog_then_stocks(tdb: &TestDb) {
    let (dir, summary) = small_export();
    let runner = runner(tdb, Some(dir));
    let handle = runner
        .start(request(&["stocks", "catalog"]))
        .await
        .expect("starts");
    let run_id = handle.run_id.clone();
    let end = finish(handle).await;
    assert_eq!(end.phase, RunPhase::Completed, "{:?}", end.message);

    let ss = sessions_of(&tdb.db, &run_id).await;
    assert_eq!(ss.len(), 2, "{}: {ss:?}", tdb.url);
    let (cat, st) = (&ss[0], &ss[1]);
    assert_eq!(
        (cat.import_type.as_str(), st.import_type.as_str()),
        ("catalog", "stocks")
    );
    assert!(cat.id < st.id);
    assert!(cat.started_at <= st.started_at);
    assert!(
        cat.finished_at.unwrap() <= st.started_at,
        "stocks start after the catalog ends"
    );
    for s in &ss {
        assert_eq!(s.status, "completed", "{}: {s:?}", tdb.url);
        assert_eq!(s.error_message, None);
        assert!(s.finished_at.is_some());
        assert_eq!(s.triggered_by, "admin");
        assert!(s.processed > 0 && s.processed == s.total, "{s:?}");
    }
    let cc = report_counts(cat);
    assert_eq!(cc["products"], summary.products as u64, "{}", tdb.url);
    assert_eq!(cc["stock_rows"], summary.stock_rows as u64, "{}", tdb.url);
    assert_eq!(cc["prices"], summary.price_rows as u64, "{}", tdb.url);
    let sc = report_counts(st);
    assert_eq!(sc["stock_rows"], summary.stock_rows as u64, "{}", tdb.url);

    // The state agrees with the rows.
    assert_eq!(end.kinds[0].session_id, Some(cat.id));
    assert_eq!(end.kinds[1].session_id, Some(st.id));
    assert_eq!(
        end.kinds[0].counts[&Counter::Products],
        summary.products as u64
    );
    assert_eq!(
        end.kinds[1].counts[&Counter::StockRows],
        summary.stock_rows as u64
    );

    let msg = end.message.clone().unwrap();
    assert!(msg.starts_with("✅ Импорт завершен: Каталог ("), "{msg}");
    assert!(msg.contains("Остатки ("), "{msg}");
    let products =
        engine::run::messages::count_noun(summary.products as u64, "товар", "товара", "товаров");
    assert!(msg.contains(&format!("Каталог ({products}")), "{msg}");

    let row = run_row(&tdb.db, &run_id).await;
    assert_eq!(row.status, "completed");
    assert_eq!(row.kinds, "catalog,stocks");
    assert_eq!(row.message.as_deref(), Some(msg.as_str()));
    assert_eq!(row.started_by, "admin");
    assert_eq!(row.cancelled_by, None);
    assert!(row.finished_at.is_some());
    assert_eq!(lock_value(&runner).await, None, "lock released");
    cleanup(&runner).await;
}

// ---------------------------------------------------------------------------------------------
// 4. A failing catalog stops the run before stocks, and changes nothing.

on_both!(
    a_failed_catalog_stops_the_run_and_changes_nothing,
    case_catalog_fails
);
async fn case_catalog_fails(tdb: &TestDb) {
    let (dir, _) = export("broken", 120);
    let runner = runner(tdb, Some(&dir));
    let first = run_to_end(&runner, &["catalog"]).await;
    assert_eq!(first.phase, RunPhase::Completed, "{:?}", first.message);
    let before = stats::stats(&tdb.db).await.unwrap();
    assert_eq!(before.products_total, 120);

    let broken = gendata::write_broken_goods(&dir).unwrap();
    let file_name = broken.file_name().unwrap().to_str().unwrap().to_owned();
    let handle = runner
        .start(request(&["catalog", "stocks"]))
        .await
        .expect("starts");
    let run_id = handle.run_id.clone();
    let end = finish(handle).await;
    assert_eq!(end.phase, RunPhase::Failed);

    let ss = sessions_of(&tdb.db, &run_id).await;
    assert_eq!(ss.len(), 1, "{}: only the catalog session: {ss:?}", tdb.url);
    let s = &ss[0];
    assert_eq!(s.import_type, "catalog");
    assert_eq!(s.status, "failed");
    assert!(s.finished_at.is_some());
    let err = s.error_message.clone().expect("an error message");
    assert!(
        err.contains(&file_name),
        "{}: names {file_name}: {err}",
        tdb.url
    );

    let msg = end.message.clone().unwrap();
    assert!(msg.starts_with("❌ Ошибка импорта каталога: "), "{msg}");
    assert!(msg.ends_with(". Остатки не импортированы."), "{msg}");
    assert!(msg.contains(&file_name), "{msg}");
    assert_eq!(end.kinds[0].phase, KindPhase::Failed);
    assert_eq!(end.kinds[0].error.as_deref(), Some(err.as_str()));
    assert_eq!(end.kinds[1].phase, KindPhase::NotRun);
    assert_eq!(end.kinds[1].session_id, None);

    let row = run_row(&tdb.db, &run_id).await;
    assert_eq!(row.status, "failed");
    assert_eq!(row.message.as_deref(), Some(msg.as_str()));
    assert!(row.finished_at.is_some());
    assert_eq!(lock_value(&runner).await, None, "lock released");
    assert_eq!(stats::stats(&tdb.db).await.unwrap(), before, "{}", tdb.url);
    cleanup(&runner).await;
    std::fs::remove_dir_all(dir).ok();
}

// ---------------------------------------------------------------------------------------------
// 5. Two starts at once: one run.

on_both!(two_starts_at_once_give_one_run, case_concurrent_start);
async fn case_concurrent_start(tdb: &TestDb) {
    let (dir, _) = small_export();
    let a = runner(tdb, Some(dir));
    // Another instance sharing the prefix (and so the lock).
    let b = a.clone();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let spawn = |r: Runner| {
        let barrier = barrier.clone();
        tokio::spawn(async move {
            barrier.wait().await;
            r.start(request(&["catalog"])).await
        })
    };
    let (ra, rb) = (spawn(a.clone()), spawn(b));
    let results = [ra.await.unwrap(), rb.await.unwrap()];
    let (mut ok, mut refused) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(h) => ok.push(h),
            Err(e) => refused.push(e),
        }
    }
    assert_eq!(ok.len(), 1, "{}: exactly one run starts", tdb.url);
    assert_eq!(refused.len(), 1);
    assert!(
        matches!(refused[0], StartError::AlreadyRunning),
        "{:?}",
        refused[0]
    );
    assert_eq!(refused[0].to_string(), ALREADY_RUNNING);
    assert_eq!(refused[0].refusal(), wire::Refusal::AlreadyRunning);
    let handle = ok.pop().unwrap();
    let run_id = handle.run_id.clone();
    let end = finish(handle).await;
    assert_eq!(end.phase, RunPhase::Completed, "{:?}", end.message);
    let all = runs(&tdb.db).await;
    assert_eq!(all.len(), 1, "{}: one run row", tdb.url);
    assert_eq!(all[0].id, run_id);
    assert_eq!(sessions(&tdb.db).await.len(), 1);
    assert_eq!(lock_value(&a).await, None);
    cleanup(&a).await;
}

// ---------------------------------------------------------------------------------------------
// 6, 10. A long run: the lock outlives its TTL, nobody else starts, and the published state
// is ordered, shows progress and ends as the handle says.

on_both!(
    a_long_run_keeps_its_lock_and_publishes_ordered_state,
    case_long_run
);
async fn case_long_run(tdb: &TestDb) {
    // The run must outlive the lock's TTL for this test to say anything, and how long an export
    // takes depends on the machine: an idle CI machine imported the shared 3 000 products in
    // 2.5 s. A run that ended too early is repeated with four times the products.
    let (dir, summary) = big_export();
    if long_run(tdb, dir, summary).await {
        return;
    }
    eprintln!(
        "{}: the shared export ended within the TTL, trying larger ones",
        tdb.url
    );
    for (attempt, products) in [12_000, 48_000].into_iter().enumerate() {
        let (dir, summary) = export(&format!("long_{products}"), products);
        let outlived = long_run(tdb, &dir, &summary).await;
        let _ = std::fs::remove_dir_all(&dir);
        if outlived {
            return;
        }
        eprintln!(
            "{}: attempt {} with {products} products ended within the TTL",
            tdb.url,
            attempt + 2
        );
    }
    panic!(
        "{}: even 48 000 products ended before the lock's TTL had passed by a quarter",
        tdb.url
    );
}

/// One long run; false when it ended before the TTL had passed by a quarter (everything
/// else is asserted either way).
async fn long_run(tdb: &TestDb, dir: &Path, summary: &Summary) -> bool {
    let runs_before = runs(&tdb.db).await.len();
    let sessions_before = sessions(&tdb.db).await.len();
    // Renewed every ttl/3: short enough that a run of a few seconds outlives it, long enough
    // that a loaded test machine does not miss a renewal.
    let ttl = Duration::from_millis(2000);
    let runner = runner(tdb, Some(dir)).with_lock_ttl(ttl);
    let mut local = runner.subscribe_local();
    let collector = tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            match local.recv().await {
                Ok(s) => {
                    let end = s.is_finished();
                    seen.push(s);
                    if end {
                        return seen;
                    }
                }
                Err(e) => panic!("local channel: {e}"),
            }
        }
    });
    let started = Instant::now();
    let mut handle = runner
        .start(request(&["catalog", "stocks", "prices"]))
        .await
        .expect("starts");
    let run_id = handle.run_id.clone();

    // Another process starting up meanwhile (the CLI checks for interrupted runs first) neither
    // waits for the import's transaction nor touches the live run, and is then refused.
    loop {
        let s = tokio::time::timeout(Duration::from_secs(30), handle.updates.recv())
            .await
            .expect("progress of the catalog")
            .unwrap();
        assert!(!s.is_finished(), "{:?}", s.message);
        if s.kinds[0].phase == KindPhase::Running && s.kinds[0].processed > 0 {
            break;
        }
    }
    let other = Runner::new(tdb.db.clone(), redis_client(), Some(dir.to_path_buf()))
        .with_prefix(runner.keys().lock().trim_end_matches(":import:lock"));
    let t = Instant::now();
    let recovered = tokio::time::timeout(Duration::from_secs(1), other.recover_interrupted())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "{}: recover_interrupted waited for the running import",
                tdb.url
            )
        })
        .unwrap();
    assert_eq!(recovered, 0, "{}", tdb.url);
    assert!(t.elapsed() < Duration::from_secs(1));
    let err = other.start(request(&["catalog"])).await.err();
    assert!(
        matches!(err, Some(StartError::AlreadyRunning)),
        "{}: {err:?}",
        tdb.url
    );
    let s = sessions_of(&tdb.db, &run_id).await;
    assert_eq!(s[0].status, "in_progress", "the live session is left alone");
    assert_eq!(run_row(&tdb.db, &run_id).await.status, "running");

    // While it runs: the lock always holds this run's token with a live TTL; well past the TTL
    // it is still held, and a second run is refused. (The lock is released just before
    // the run task returns, so an absent key is only accepted when the run ends right after.)
    let mut conn = redis_conn().await;
    let mut checked_past_ttl = false;
    let mut min_pttl = i64::MAX;
    while !handle.done.is_finished() {
        let (holder, pttl): (Option<String>, i64) = redis::pipe()
            .get(runner.keys().lock())
            .pttl(runner.keys().lock())
            .query_async(&mut conn)
            .await
            .unwrap();
        let Some(holder) = holder else {
            let t = Instant::now();
            while !handle.done.is_finished() {
                assert!(
                    t.elapsed() < Duration::from_secs(2),
                    "{}: the lock vanished while the run went on (lowest TTL left seen: {min_pttl} ms)",
                    tdb.url
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            break;
        };
        assert!(holder.starts_with(&format!("{run_id}:")), "{holder}");
        assert!(pttl > 0 && pttl <= ttl.as_millis() as i64, "{pttl}");
        min_pttl = min_pttl.min(pttl);
        if !checked_past_ttl && started.elapsed() > ttl * 5 / 4 {
            let err = runner.start(request(&["catalog"])).await.err();
            if !handle.done.is_finished() {
                let err = err.expect("a second run is refused");
                assert!(matches!(err, StartError::AlreadyRunning), "{err:?}");
                checked_past_ttl = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end = finish(handle).await;
    assert_eq!(end.phase, RunPhase::Completed, "{:?}", end.message);
    assert!(end.kinds.iter().all(|k| k.phase == KindPhase::Done));
    assert_eq!(
        runs(&tdb.db).await.len(),
        runs_before + 1,
        "{}: the refused start left no row",
        tdb.url
    );
    assert_eq!(sessions(&tdb.db).await.len(), sessions_before + 3);
    assert_eq!(lock_value(&runner).await, None, "released at the end");
    assert_eq!(
        end.kinds[0].counts[&Counter::Products],
        summary.products as u64
    );

    // The published state.
    let seen = tokio::time::timeout(Duration::from_secs(10), collector)
        .await
        .expect("the final state reaches the local channel")
        .unwrap();
    let mine: Vec<&RunState> = seen.iter().filter(|s| s.run_id == run_id).collect();
    for w in mine.windows(2) {
        assert!(
            w[0].seq < w[1].seq,
            "{}: seq strictly increases: {} then {}",
            tdb.url,
            w[0].seq,
            w[1].seq
        );
    }
    assert_eq!(mine.first().unwrap().seq, 1);
    assert!(
        mine.first()
            .unwrap()
            .kinds
            .iter()
            .all(|k| k.phase == KindPhase::Waiting)
    );
    assert_eq!(
        *mine.last().unwrap(),
        &end,
        "the last local state is the final one"
    );
    let progress = mine
        .iter()
        .filter(|s| {
            s.kinds.iter().any(|k| {
                k.kind == ImportKind::Catalog && k.phase == KindPhase::Running && k.processed > 0
            })
        })
        .count();
    assert!(
        progress >= 1,
        "{}: progress states seen ({} states)",
        tdb.url,
        mine.len()
    );
    for s in &mine {
        for k in &s.kinds {
            if k.phase == KindPhase::Running && k.total > 0 {
                assert!(k.processed <= k.total, "{k:?}");
            }
        }
    }
    assert_eq!(runner.state(&run_id).await.unwrap().as_ref(), Some(&end));
    assert_eq!(runner.latest().await.unwrap().as_ref(), Some(&end));
    assert_eq!(end.started_by, "admin");
    assert_eq!(end.cancel_requested_by, None);
    cleanup(&runner).await;
    checked_past_ttl
}

/// The lock primitives on their own (no database involved, so one test).
#[tokio::test]
async fn the_lock_is_owner_only_and_renewal_reports_what_it_found() {
    let prefix = new_prefix();
    let key = format!("{prefix}:import:lock");
    let mut conn = redis_conn().await;
    let ttl = Duration::from_millis(5_000);
    let a = ImportLock::acquire(&mut conn, &key, "run-a", ttl)
        .await
        .unwrap()
        .expect("free lock is taken");
    assert!(a.token().starts_with("run-a:"));
    assert!(
        ImportLock::acquire(&mut conn, &key, "run-b", ttl)
            .await
            .unwrap()
            .is_none(),
        "a held lock is not taken twice"
    );
    assert_eq!(
        engine::run::lock::holder(&mut conn, &key)
            .await
            .unwrap()
            .as_deref(),
        Some("run-a")
    );

    // Renewal of our own key.
    let _: () = redis::cmd("PEXPIRE")
        .arg(&key)
        .arg(300)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(a.renew(&mut conn).await.unwrap(), Renewal::Renewed);
    let pttl: i64 = conn.pttl(&key).await.unwrap();
    assert!(pttl > 4_000, "renewal restarts the TTL: {pttl}");

    // The key vanished (Redis restarted): renewal takes it back.
    let _: () = conn.del(&key).await.unwrap();
    assert_eq!(a.renew(&mut conn).await.unwrap(), Renewal::Reestablished);
    let v: Option<String> = conn.get(&key).await.unwrap();
    assert_eq!(v.as_deref(), Some(a.token()));
    let pttl: i64 = conn.pttl(&key).await.unwrap();
    assert!(
        pttl > 0 && pttl <= 5_000,
        "re-established with the TTL: {pttl}"
    );

    // Someone else holds it: renewal reports the loss and does not touch it; release by the
    // non-owner does nothing.
    let _: () = conn.del(&key).await.unwrap();
    let b = ImportLock::acquire(&mut conn, &key, "run-b", ttl)
        .await
        .unwrap()
        .expect("taken by b");
    assert_eq!(a.renew(&mut conn).await.unwrap(), Renewal::Lost);
    assert!(
        !a.release(&mut conn).await.unwrap(),
        "a non-owner cannot release"
    );
    let v: Option<String> = conn.get(&key).await.unwrap();
    assert_eq!(
        v.as_deref(),
        Some(b.token()),
        "the key stays with its owner"
    );
    assert!(b.release(&mut conn).await.unwrap());
    let v: Option<String> = conn.get(&key).await.unwrap();
    assert_eq!(v, None);
    assert!(!b.release(&mut conn).await.unwrap(), "released once");
}

// ---------------------------------------------------------------------------------------------
// 7. Redis down.

on_both!(redis_down_refuses_cleanly, case_redis_down);
async fn case_redis_down(tdb: &TestDb) {
    let (dir, _) = small_export();
    let runner = Runner::new(
        tdb.db.clone(),
        redis::Client::open("redis://127.0.0.1:1").unwrap(),
        Some(dir.clone()),
    )
    .with_prefix(&new_prefix());
    let t = Instant::now();
    let err = runner
        .start(request(&["catalog"]))
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, StartError::Redis(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("❌ Redis недоступен, импорт не запущен: "),
        "{err}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "refused promptly: {:?}",
        t.elapsed()
    );
    assert!(runs(&tdb.db).await.is_empty());
    assert!(sessions(&tdb.db).await.is_empty());
    assert!(runner.state("x").await.is_err());
    assert!(runner.cancel("x", "admin").await.is_err());
}

// ---------------------------------------------------------------------------------------------
// 8. Runs a dead process left behind.

on_both!(
    interrupted_sessions_are_marked_failed_live_ones_kept,
    case_recover
);
async fn case_recover(tdb: &TestDb) {
    let runner = runner(tdb, None);
    let db = &tdb.db;
    let earlier = Utc::now() - chrono::Duration::seconds(60);
    let insert_run = |id: &'static str| import_runs::ActiveModel {
        id: Set(id.into()),
        kinds: Set("catalog,stocks".into()),
        status: Set("running".into()),
        message: Set(None),
        started_by: Set("admin".into()),
        origin: Set("admin".into()),
        exchange_id: Set(None),
        cancelled_by: Set(None),
        started_at: Set(earlier),
        finished_at: Set(None),
        mode: Set("import".into()),
    };
    let insert_session =
        |run: &'static str, kind: &str, status: &str| import_sessions::ActiveModel {
            run_id: Set(run.into()),
            import_type: Set(kind.into()),
            status: Set(status.into()),
            started_at: Set(earlier),
            finished_at: Set(None),
            processed: Set(10),
            total: Set(100),
            report: Set("{}".into()),
            error_message: Set(None),
            triggered_by: Set("admin".into()),
            ..Default::default()
        };
    insert_run("dead-run").insert(db).await.unwrap();
    let dead = insert_session("dead-run", "catalog", "in_progress")
        .insert(db)
        .await
        .unwrap();
    insert_run("live-run").insert(db).await.unwrap();
    let live = insert_session("live-run", "catalog", "in_progress")
        .insert(db)
        .await
        .unwrap();
    // A finished session (of an earlier run) stays as it is.
    insert_run("old-run").insert(db).await.unwrap();
    let finished = import_sessions::ActiveModel {
        finished_at: Set(Some(earlier)),
        ..insert_session("old-run", "stocks", "completed")
    }
    .insert(db)
    .await
    .unwrap();

    // A run another instance starts while this one looks (the lock still free when read, its
    // rows written just after): started after the check, it is not touched.
    let later = Utc::now() + chrono::Duration::seconds(60);
    import_runs::ActiveModel {
        started_at: Set(later),
        ..insert_run("new-run")
    }
    .insert(db)
    .await
    .unwrap();
    let new = import_sessions::ActiveModel {
        started_at: Set(later),
        ..insert_session("new-run", "catalog", "started")
    }
    .insert(db)
    .await
    .unwrap();

    // The live run holds the lock (another instance is importing).
    let mut conn = redis_conn().await;
    let lock = ImportLock::acquire(
        &mut conn,
        &runner.keys().lock(),
        "live-run",
        Duration::from_secs(30),
    )
    .await
    .unwrap()
    .unwrap();

    assert_eq!(
        runner.recover_interrupted().await.unwrap(),
        1,
        "{}",
        tdb.url
    );

    let d = import_sessions::Entity::find_by_id(dead.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "failed");
    assert_eq!(d.error_message.as_deref(), Some(INTERRUPTED));
    assert_eq!(INTERRUPTED, "Прервано: процесс остановлен");
    assert!(d.finished_at.is_some());
    let dr = run_row(db, "dead-run").await;
    assert_eq!(dr.status, "failed");
    assert_eq!(
        dr.message.as_deref(),
        Some("❌ Прервано: процесс остановлен.")
    );
    assert!(dr.finished_at.is_some());

    let l = import_sessions::Entity::find_by_id(live.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l, live, "{}: the live run's session is left alone", tdb.url);
    let lr = run_row(db, "live-run").await;
    assert_eq!(lr.status, "running");
    assert_eq!(lr.finished_at, None);

    let f = import_sessions::Entity::find_by_id(finished.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(f, finished, "a finished session is not touched");
    let n = import_sessions::Entity::find_by_id(new.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        n, new,
        "{}: a session that started after the check is not touched",
        tdb.url
    );
    assert_eq!(run_row(db, "new-run").await.status, "running");

    // Nothing more to do the second time.
    assert_eq!(runner.recover_interrupted().await.unwrap(), 0);

    // Once the live run's process is gone too (its lock expired), it is recovered as well.
    assert!(lock.release(&mut conn).await.unwrap());
    assert_eq!(runner.recover_interrupted().await.unwrap(), 1);
    let l = import_sessions::Entity::find_by_id(live.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(l.status, "failed");
    assert_eq!(run_row(db, "live-run").await.status, "failed");
    cleanup(&runner).await;
}

// ---------------------------------------------------------------------------------------------
// 9. Cancellation.

on_both!(cancel_stops_the_run_and_rolls_back, case_cancel);
async fn case_cancel(tdb: &TestDb) {
    let (dir, _) = big_export();
    let runner = runner(tdb, Some(dir));
    let before = stats::stats(&tdb.db).await.unwrap();
    let mut handle = runner
        .start(request(&["catalog", "stocks"]))
        .await
        .expect("starts");
    let run_id = handle.run_id.clone();

    // Wait until the catalog session is in progress.
    let deadline = Instant::now() + Duration::from_secs(30);
    let catalog_session = loop {
        let s = tokio::time::timeout_at(deadline.into(), handle.updates.recv())
            .await
            .expect("the catalog starts")
            .unwrap();
        assert!(
            !s.is_finished(),
            "ended before it could be cancelled: {:?}",
            s.message
        );
        let k = &s.kinds[0];
        if let (KindPhase::Running, Some(id)) = (k.phase, k.session_id) {
            break id;
        }
    };
    assert!(
        runner.cancel(&run_id, "admin").await.unwrap(),
        "a running run can be cancelled"
    );

    let end = finish(handle).await;
    assert_eq!(end.phase, RunPhase::Failed, "{:?}", end.message);
    assert_eq!(end.cancel_requested_by.as_deref(), Some("admin"));
    assert_eq!(end.kinds[0].phase, KindPhase::Failed);
    assert_eq!(end.kinds[0].error.as_deref(), Some(CANCELLED));
    assert_eq!(end.kinds[1].phase, KindPhase::NotRun);
    assert_eq!(end.kinds[1].session_id, None);
    assert_eq!(
        end.message.as_deref(),
        Some("❌ Ошибка импорта каталога: Отменено администратором. Остатки не импортированы.")
    );

    let ss = sessions_of(&tdb.db, &run_id).await;
    assert_eq!(ss.len(), 1, "{}: no stocks session: {ss:?}", tdb.url);
    assert_eq!(ss[0].id, catalog_session);
    assert_eq!(ss[0].import_type, "catalog");
    assert_eq!(ss[0].status, "failed");
    assert_eq!(
        ss[0].error_message.as_deref(),
        Some("Отменено администратором")
    );
    assert!(ss[0].finished_at.is_some());

    let row = run_row(&tdb.db, &run_id).await;
    assert_eq!(row.status, "failed");
    assert_eq!(row.cancelled_by.as_deref(), Some("admin"));
    assert_eq!(row.message, end.message);
    assert_eq!(
        stats::stats(&tdb.db).await.unwrap(),
        before,
        "{}: rolled back",
        tdb.url
    );
    assert_eq!(lock_value(&runner).await, None, "lock released");
    let cancel_key: Option<String> = redis_conn()
        .await
        .get(runner.keys().cancel(&run_id))
        .await
        .unwrap();
    assert_eq!(cancel_key, None, "the cancel request is cleared");
    assert_eq!(runner.state(&run_id).await.unwrap().as_ref(), Some(&end));

    // A finished run cannot be cancelled.
    assert!(!runner.cancel(&run_id, "admin").await.unwrap());
    assert!(!runner.cancel("no-such-run", "admin").await.unwrap());
    cleanup(&runner).await;
}

// ---------------------------------------------------------------------------------------------
// 11. Selection and data folder checks.

on_both!(bad_selections_and_folders_are_refused, case_bad_requests);
async fn case_bad_requests(tdb: &TestDb) {
    let (dir, _) = small_export();
    let runner = runner(tdb, Some(dir));

    let err = runner.start(request(&[])).await.err().unwrap();
    assert!(matches!(err, StartError::NothingChosen), "{err:?}");
    assert_eq!(
        err.to_string(),
        "⚠️ Не выбрано ни одного типа данных для импорта."
    );
    // Words from the command line: blanks are no choice, an unknown word is named.
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let err = engine::run::parse_kinds(&words(&[" ", ""])).unwrap_err();
    assert!(matches!(err, StartError::NothingChosen), "{err:?}");

    let err = engine::run::parse_kinds(&words(&["catalog", "orders"])).unwrap_err();
    assert!(
        matches!(&err, StartError::UnknownKind(k) if k == "orders"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "⚠️ Неизвестный тип данных для импорта: «orders»."
    );

    // An export without rests: the stocks of a catalog+stocks run have nothing to read.
    let (no_rests, _) = export("norests", 20);
    std::fs::remove_dir_all(no_rests.join("rests")).unwrap();
    let err = runner
        .start(StartRequest {
            options: RunOptions {
                data_dir: Some(no_rests.clone()),
                ..Default::default()
            },
            ..request(&["catalog", "stocks"])
        })
        .await
        .err()
        .unwrap();
    assert!(matches!(err, StartError::MissingFiles(_)), "{err:?}");
    assert!(
        err.to_string().starts_with("Файл остатков не найден:"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&no_rests.join("rests").display().to_string()),
        "{err}"
    );

    // ONEC_DATA_DIR points at a folder that does not exist.
    let missing = std::env::temp_dir().join(format!("run_orchestrator_missing_{}", rand_u32()));
    let gone = Runner::new(tdb.db.clone(), redis_client(), Some(missing.clone()))
        .with_prefix(&new_prefix());
    let err = gone.start(request(&["catalog"])).await.err().unwrap();
    assert!(matches!(err, StartError::DataDirMissing(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("⚠️ Папка выгрузки 1С не найдена: {}", missing.display())
    );

    // No data folder configured at all.
    let none = Runner::new(tdb.db.clone(), redis_client(), None).with_prefix(&new_prefix());
    let err = none.start(request(&["catalog"])).await.err().unwrap();
    assert!(matches!(err, StartError::NoDataDir), "{err:?}");
    assert_eq!(
        err.to_string(),
        "⚠️ Не задана папка выгрузки 1С: укажите ONEC_DATA_DIR."
    );

    assert_nothing_created(tdb, &runner).await;
    assert_eq!(lock_value(&gone).await, None);
    assert_eq!(lock_value(&none).await, None);
    cleanup(&runner).await;
    std::fs::remove_dir_all(no_rests).ok();
}
