//! Faults of 1C's «Обмен с сайтом» (`/1c/exchange`) against the real server on real sockets,
//! real Redis, SQLite and PostgreSQL: a connection cut mid-piece and 1C starting over from
//! `checkauth`, `kill -9` of the server while a file imports, Redis restarted mid-exchange, two
//! exchanges at once, an administrator's import holding the lock, 1C going quiet mid-import and
//! mid-upload, an expired exchange cookie. Each ends in the data 1C sent (the database equal to
//! `onec-admin import run` of the same export, the published folder equal to what 1C sent) or in
//! nothing of it, never in half of it.
//!
//! Bad input covered in `exchange.rs` and not repeated here: a piece past the per-request limit
//! (declared and streamed), the per-exchange limit (`ONEC_EXCHANGE_MAX_BYTES`), an admin session
//! cookie on the endpoint (under either cookie name), `type=sale`, an unknown cookie.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::exchange::{
    Backend, EXCHANGE_LOGIN, EXCHANGE_PASSWORD, Exchange1c, LIMIT, Run, Site, checkauth, cli_stats,
    export, files_of, login, send_tool,
};
use support::{REDIS_URL, RedisProcess};

/// A second exchange account (another 1C base).
const OTHER_LOGIN: &str = "1c-second";
/// The refusal while Redis is down, word for word.
const REDIS_DOWN: &str = "Обмен временно невозможен: Redis не отвечает. Повторите позже";
/// The refusal of an unknown or expired cookie.
const UNKNOWN_COOKIE: &str =
    "Сеанс обмена не найден или истёк: выполните checkauth заново (авторизация)";
/// The start of the refusal of a second exchange.
const BUSY: &str = "Уже идёт другой обмен с 1С";

/// Both of 1C's accounts: [`EXCHANGE_LOGIN`] (the site's) and [`OTHER_LOGIN`].
async fn with_other_account(site: Site) -> Site {
    site.account(OTHER_LOGIN).await;
    site
}

/// The id of the one exchange receiving now.
fn receiving(site: &Site) -> String {
    site.receiving()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// 1C logged in with its exchange begun, and the exchange's id (its spool folder's name).
async fn begin(site: &Site) -> (Exchange1c<'_>, String) {
    let (a, dir) = site.begin().await;
    (a, dir.file_name().unwrap().to_string_lossy().into_owned())
}

/// Waits (≤ `limit`) until the spool folder of exchange `id` ends in `.state`.
async fn wait_for_folder(site: &Site, id: &str, state: &str, limit: Duration) {
    let want = format!("{id}.{state}");
    let found = support::poll(limit, || async {
        site.spool_folders().contains(&want).then_some(())
    })
    .await;
    assert!(
        found.is_some(),
        "{want} not in {:?}\n{}",
        site.spool_folders(),
        site.log()
    );
}

async fn stats(site: &Site) -> engine::stats::Stats {
    support::stats(&site.env.database_url).await
}

fn current_key(site: &Site) -> String {
    format!("{}:exchange:current", site.env.prefix)
}

/// Uploads every file and imports each to its end, as classic 1C does; each must succeed.
async fn send_all(x: &Exchange1c<'_>, files: &[(String, Vec<u8>)]) {
    for (name, content) in files {
        x.upload(name, content, 1 << 20).await;
        x.import_succeeds(name).await;
    }
}

/// `onec-admin exchange send --json` of `dir` to `url` as `login`, classic 1C.
async fn send(url: &str, login: &str, dir: &Path) -> Run {
    let args = ["--poll-ms", "200", "--json"];
    send_tool(
        url,
        login,
        EXCHANGE_PASSWORD,
        &args,
        dir,
        Duration::from_secs(300),
    )
    .await
}

/// A fresh 1C session of the site's account and its `init`, which must open an exchange at
/// once: an unfinished exchange of the same account gives way to it.
async fn init_again(site: &Site) -> Exchange1c<'_> {
    let b = site.login().await;
    let r = b.init().await;
    assert_eq!(r.first_line(), "zip=yes", "{r:?}");
    b
}

/// The number in a text with digit grouping («12 000»).
fn digits(text: &str) -> u64 {
    let d: String = text.chars().filter(char::is_ascii_digit).collect();
    d.parse().unwrap_or(0)
}

/// (origin, status, exchange_id, message) of every import run.
async fn runs(site: &Site) -> Vec<(String, String, Option<String>, Option<String>)> {
    let (runs, _) = support::runs_and_sessions(&site.env.database_url).await;
    runs.into_iter()
        .map(|r| (r.origin, r.status, r.exchange_id, r.message))
        .collect()
}

/// The connection drops in the middle of a piece: the piece is not kept, the exchange is never
/// published nor imported; 1C starts over from `checkauth` and `init`, which the cut exchange of
/// the same account gives way to at once, and the new exchange goes through.
#[tokio::test]
async fn a_connection_cut_mid_piece_then_1c_starts_over() {
    let site = with_other_account(
        // Idle longer than an `import` call's answer time (2 s): the lock is refreshed when a
        // request starts, so a shorter one could lapse while a call waits for its import.
        Site::start_on(Backend::Sqlite, &[("ONEC_EXCHANGE_IDLE_SECS", "6")], None).await,
    )
    .await;
    let (src, files) = export(gendata::Format::V2x, 200);
    let (import_name, import_xml) = &files[0];
    assert_eq!(import_name, "import.xml");
    let (a, first) = begin(&site).await;
    a.upload("import.xml", &import_xml[..20_000], 20_000).await;
    // The second piece: 20 000 bytes said, 7 000 sent, then the connection is gone.
    let s = a
        .file_cut_short("import.xml", 20_000, &import_xml[20_000..27_000])
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(s);
    let stored = site.spool().join(&first).join("import.xml");
    let cut_back = support::poll(Duration::from_secs(10), || async {
        (std::fs::metadata(&stored).ok()?.len() == 20_000).then_some(())
    })
    .await;
    assert!(
        cut_back.is_some(),
        "the half piece stays: {:?} bytes",
        std::fs::metadata(&stored).map(|m| m.len())
    );

    // 1C starts over: a new session, a new exchange.
    let b = init_again(&site).await;
    let second = receiving(&site);
    assert_ne!(first, second);
    wait_for_folder(&site, &first, "abandoned", Duration::from_secs(10)).await;
    assert_eq!(
        std::fs::read(site.spool().join(format!("{first}.abandoned/import.xml"))).unwrap(),
        import_xml[..20_000],
        "the cut exchange kept only its whole pieces"
    );
    send_all(&b, &files).await;
    assert_eq!(stats(&site).await, cli_stats(src.path()).await);
    let r = b.complete().await;
    assert_eq!(r.first_line(), "success", "{r:?}");
    assert_eq!(
        files_of(&site.data_dir()),
        files,
        "the new exchange is published"
    );
    // Only the new exchange imported anything.
    let runs = runs(&site).await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    for (origin, status, exchange, _) in &runs {
        assert_eq!(
            (origin.as_str(), status.as_str(), exchange.as_deref()),
            ("exchange", "completed", Some(second.as_str()))
        );
    }
    site.done().await;
}

/// `kill -9` of the server while a file imports (its reply `progress` with records counted):
/// nothing of the file is in the database, the dead run is marked interrupted, the dead
/// exchange is set aside, and after a restart 1C's next exchange goes through.
async fn the_server_killed_mid_import(backend: Backend) {
    const PRODUCTS: usize = 16_000;
    // On SQLite an import poll lasts as long as the import's transaction (the journal's write
    // waits for it), longer than a short idle time: the session would expire between polls.
    let idle = match backend {
        Backend::Postgres => 3,
        Backend::Sqlite => 20,
    };
    let idle_text = idle.to_string();
    let mut site = with_other_account(
        Site::start_process(backend, &[("ONEC_EXCHANGE_IDLE_SECS", idle_text.as_str())]).await,
    )
    .await;
    let (src, files) = export(gendata::Format::V2x, PRODUCTS);
    let (a, first) = begin(&site).await;
    // import.xml whole, then offers.xml (the longer import) is killed midway.
    send_all(&a, &files[..1]).await;
    let before = stats(&site).await;
    a.upload("offers.xml", &files[1].1, 8 << 20).await;
    let started = Instant::now();
    let progress = loop {
        let r = a.import("offers.xml").await;
        assert_eq!(
            r.first_line(),
            "progress",
            "finished before the kill: {r:?}"
        );
        // «Каталог: 1 200 из 8 000 записей»: records counted, far from the commit.
        let counted = r
            .lines()
            .get(1)
            .and_then(|l| l.strip_prefix("Каталог: "))
            .and_then(|l| l.split_once(" из "))
            .map(|(done, of)| (digits(done), digits(of)));
        if counted.is_some_and(|(done, of)| done > 0 && done < of) {
            break r;
        }
        assert!(started.elapsed() < LIMIT, "{r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    site.kill();
    let killed = Instant::now();
    // All of the file or nothing of it: on PostgreSQL nothing (the reply is live); on SQLite a
    // `progress` reaches 1C only once the import's transaction let the journal be written, so
    // the file may be committed already.
    let after = stats(&site).await;
    let full = cli_stats(src.path()).await;
    match backend {
        Backend::Postgres => assert_eq!(after, before, "after kill -9 at {progress:?}"),
        Backend::Sqlite => assert!(
            after == before || after == full,
            "half a file after kill -9 at {progress:?}: {after:?}"
        ),
    }
    let after_kill = u64::from(after != before);

    site.restart().await;
    // The dead run is marked interrupted once its lock lapses; the lock frees.
    let marked = support::poll(Duration::from_secs(45), || async {
        let runs = runs(&site).await;
        (runs.len() == 2 && runs.iter().all(|r| r.1 != "running")).then_some(runs)
    })
    .await
    .unwrap_or_else(|| panic!("the dead run is not marked failed:\n{}", site.log()));
    let failed: Vec<_> = marked.iter().filter(|r| r.1 != "completed").collect();
    if after_kill == 0 {
        assert_eq!(failed.len(), 1, "{marked:?}");
        assert_eq!(
            (failed[0].1.as_str(), failed[0].3.as_deref()),
            ("failed", Some("❌ Прервано: процесс остановлен."))
        );
    }
    for r in &marked {
        assert_eq!(r.2.as_deref(), Some(first.as_str()));
    }
    let completed = failed.is_empty();
    let ended = support::poll(Duration::from_secs(idle + 15), || async {
        let folders = site.spool_folders();
        let abandoned = folders.contains(&format!("{first}.abandoned"));
        let published = folders.contains(&format!("{first}.published"));
        (abandoned || (completed && published)).then_some(published)
    })
    .await
    .unwrap_or_else(|| panic!("{:?}\n{}", site.spool_folders(), site.log()));
    assert_eq!(
        support::redis_get(REDIS_URL, &current_key(&site)).await,
        None
    );
    assert_eq!(site.data_dir().exists(), ended, "published only if whole");

    // 1C's next exchange.
    let sent = send(&site.url(), EXCHANGE_LOGIN, src.path()).await;
    assert_eq!(sent.code, Some(0), "{sent:?}\n{}", site.log());
    let imported = sent
        .requests()
        .iter()
        .filter(|r| r["mode"] == "import" && r["status"] == "success")
        .count();
    assert_eq!(imported, 2, "{}", sent.stdout);
    assert_eq!(stats(&site).await, cli_stats(src.path()).await);
    let published = support::poll(Duration::from_secs(idle + 15), || async {
        let folders = site.spool_folders();
        (folders.iter().filter(|f| f.ends_with(".published")).count() == 1 + usize::from(ended))
            .then_some(())
    })
    .await;
    assert!(published.is_some(), "{:?}", site.spool_folders());
    assert_eq!(files_of(&site.data_dir()), files);
    println!(
        "{backend:?}: killed at {:?}; recovered and re-sent in {:.1} s",
        progress.lines(),
        killed.elapsed().as_secs_f64()
    );
    site.done().await;
}

support::exchange::on_both_backends!(the_server_killed_mid_import);

/// Redis goes away mid-exchange: every request meanwhile is a `failure` that says so (in the
/// protocol's plain text); Redis comes back empty: the old cookie is unknown, 1C starts over
/// from `checkauth`, the lost exchange is set aside and the new one goes through.
#[tokio::test]
async fn redis_restarted_mid_exchange() {
    let mut redis = RedisProcess::start().await;
    let site = with_other_account(
        Site::start_on(
            Backend::Sqlite,
            &[("ONEC_EXCHANGE_IDLE_SECS", "6")],
            Some(redis.url()),
        )
        .await,
    )
    .await;
    let (src, files) = export(gendata::Format::V2x, 200);
    let (a, first) = begin(&site).await;
    a.upload("import.xml", &files[0].1[..30_000], 30_000).await;

    redis.kill();
    let outage = Instant::now();
    a.call("mode=file&filename=import.xml", &files[0].1[30_000..60_000])
        .await
        .failure_containing(REDIS_DOWN);
    a.import("import.xml").await.failure_containing(REDIS_DOWN);
    a.init().await.failure_containing(REDIS_DOWN);
    checkauth(site.addr, EXCHANGE_LOGIN, EXCHANGE_PASSWORD)
        .await
        .failure_containing(REDIS_DOWN);
    let during = outage.elapsed();
    assert_eq!(stats(&site).await.products_total, 0);

    redis.restart().await;
    a.init().await.failure_containing(UNKNOWN_COOKIE);
    let b = site.login().await;
    assert_eq!(b.init().await.first_line(), "zip=yes");
    wait_for_folder(&site, &first, "abandoned", Duration::from_secs(10)).await;
    send_all(&b, &files).await;
    assert_eq!(stats(&site).await, cli_stats(src.path()).await);
    assert_eq!(b.complete().await.first_line(), "success");
    assert_eq!(files_of(&site.data_dir()), files);
    println!(
        "four refusals during the outage took {:.1} s",
        during.as_secs_f64()
    );
    drop(redis);
    site.done().await;
}

/// Another 1C (a second exchange account) starts while an exchange is receiving: its `init`
/// is refused with who holds the exchange, the stand-in stops with exit code 1 and that text,
/// the first exchange is untouched and completes; then the second goes through.
#[tokio::test]
async fn two_exchanges_at_once() {
    let site = with_other_account(Site::start_on(Backend::Sqlite, &[], None).await).await;
    let (src, files) = export(gendata::Format::V2x, 200);
    let (other_src, _) = export(gendata::Format::V31, 60);
    let (a, first) = begin(&site).await;
    a.upload("import.xml", &files[0].1, 1 << 20).await;

    let b = login(site.addr, OTHER_LOGIN, EXCHANGE_PASSWORD).await;
    let r = b.init().await;
    r.failure_containing(BUSY);
    r.failure_containing(&format!("учётная запись «{EXCHANGE_LOGIN}»"));
    let sent = send(&site.url(), OTHER_LOGIN, other_src.path()).await;
    assert_eq!(sent.code, Some(1), "{sent:?}");
    assert!(
        sent.stderr
            .contains("Сервер ответил failure на mode=init: Уже идёт другой обмен с 1С"),
        "{sent:?}"
    );
    let modes: Vec<String> = sent
        .requests()
        .iter()
        .map(|r| r["mode"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(modes, ["checkauth", "init"], "nothing after the refusal");
    assert_eq!(receiving(&site), first, "the first exchange goes on");

    // The first completes as if nothing happened (the import.xml piece already sent stays).
    a.import_succeeds("import.xml").await;
    send_all(&a, &files[1..]).await;
    assert_eq!(stats(&site).await, cli_stats(src.path()).await);

    // The second 1C now: the first (complete, no `complete` from classic 1C) is published first.
    let sent = send(&site.url(), OTHER_LOGIN, other_src.path()).await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    let published = site
        .spool_folders()
        .into_iter()
        .find(|f| f.starts_with(&first))
        .unwrap();
    assert_eq!(published, format!("{first}.published"));
    let runs = runs(&site).await;
    assert!(
        runs.iter().all(|r| r.1 == "completed"),
        "every import of both exchanges: {runs:?}"
    );
    // Both exports are in: the second's 60 products beside the first's 200.
    let total = stats(&site).await.products_total;
    assert!(total >= 200, "{total}");
    site.done().await;
}

/// An administrator's import runs (a real run of a large export): the stand-in's `import` gets
/// `progress` «Ожидание: выполняется другой импорт», repeats it, and goes through once the run
/// ends; an administrator's start while the exchange imports is refused. PostgreSQL: on SQLite
/// every exchange request waits for the running import's transaction (the exchange journal is
/// written to the same database), so the stand-in would not meet the run at all.
#[tokio::test]
async fn an_admin_import_running() {
    let site = with_other_account(Site::start_on(Backend::Postgres, &[], None).await).await;
    let big = support::generate(&site.data_dir(), 8_000, 0);
    let (src, _files) = export(gendata::Format::V2x, 300);
    let admin = support::login(site.addr).await;
    let run_id = support::start_import(site.addr, &admin, &["catalog"])
        .await
        .unwrap();
    let mut ev = support::open_run_events(site.addr, &admin, &run_id).await;
    support::read_until(&mut ev, LIMIT, support::catalog_in_progress)
        .await
        .expect("the admin run imports");

    let sent = send(&site.url(), EXCHANGE_LOGIN, src.path()).await;
    assert_eq!(sent.code, Some(0), "{sent:?}");
    let requests = sent.requests();
    let waits: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|r| r["status"] == "progress")
        .filter(|r| {
            r["lines"]
                .to_string()
                .contains("Ожидание: выполняется другой импорт")
        })
        .collect();
    assert!(!waits.is_empty(), "{}", sent.stdout);
    assert!(waits.iter().all(|r| r["filename"] == "import.xml"));
    let (db_runs, _) = support::runs_and_sessions(&site.env.database_url).await;
    assert_eq!(db_runs.len(), 3, "{db_runs:?}");
    let admin_run = db_runs.iter().find(|r| r.id == run_id).unwrap();
    assert_eq!(admin_run.status, "completed", "{admin_run:?}");
    for r in db_runs.iter().filter(|r| r.id != run_id) {
        assert_eq!(
            (r.origin.as_str(), r.status.as_str()),
            ("exchange", "completed")
        );
        assert!(
            r.started_at >= admin_run.finished_at.unwrap(),
            "the exchange's import waited for the admin run: {db_runs:?}"
        );
    }
    let total = stats(&site).await.products_total;
    assert!(total >= big.products as u64, "{total}");

    // The other way round: while the exchange's file imports, the administrator is refused.
    let a = site.login().await;
    assert_eq!(a.init().await.first_line(), "zip=yes");
    let (big_src, big_files) = export(gendata::Format::V2x, 16_000);
    send_all(&a, &big_files[..1]).await;
    a.upload("offers.xml", &big_files[1].1, 8 << 20).await;
    let r = a.import("offers.xml").await;
    assert_eq!(r.first_line(), "progress", "{r:?}");
    assert_eq!(
        support::start_import(site.addr, &admin, &["catalog"]).await,
        Err(support::ALREADY_RUNNING.to_owned())
    );
    a.import_succeeds("offers.xml").await;
    drop(big_src);
    site.done().await;
}

/// 1C goes quiet while its file imports: the import ends on its own and is committed, the
/// exchange (every file taken in) is published by the sweeper once idle, the old cookie has
/// expired, and the next `init` works. Then 1C goes quiet in the middle of a piece: that
/// exchange is set aside, never published.
#[tokio::test]
async fn the_1c_stops_polling() {
    // PostgreSQL: on SQLite the exchange journal's write waits for the import's transaction, so
    // each poll of a running import answers only once it commits (see the file's text).
    let site = with_other_account(
        Site::start_on(Backend::Postgres, &[("ONEC_EXCHANGE_IDLE_SECS", "3")], None).await,
    )
    .await;
    let (src, files) = export(gendata::Format::V2x, 16_000);
    let (a, first) = begin(&site).await;
    send_all(&a, &files[..1]).await;
    a.upload("offers.xml", &files[1].1, 8 << 20).await;
    let r = a.import("offers.xml").await;
    assert_eq!(r.first_line(), "progress", "still importing: {r:?}");
    // Silence. The import goes on past the idle time (the exchange's lock lapses three seconds
    // after the call began; the sweeper looks every second), and is not taken for idle meanwhile.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let running = runs(&site)
        .await
        .iter()
        .filter(|r| r.1 == "running")
        .count();
    assert_eq!(running, 1, "the import outlived the idle time");
    assert!(
        site.spool_folders().contains(&first),
        "still receiving: {:?}",
        site.spool_folders()
    );
    let committed = support::poll(Duration::from_secs(120), || async {
        let runs = runs(&site).await;
        (runs.len() == 2 && runs.iter().all(|r| r.1 != "running")).then_some(runs)
    })
    .await
    .expect("the import ends without 1C");
    assert!(
        committed.iter().all(|r| r.1 == "completed"),
        "{committed:?}"
    );
    assert!(
        !site.spool_folders().contains(&format!("{first}.abandoned")),
        "set aside while importing: {:?}",
        site.spool_folders()
    );
    assert_eq!(stats(&site).await, cli_stats(src.path()).await);
    wait_for_folder(&site, &first, "published", Duration::from_secs(15)).await;
    assert_eq!(files_of(&site.data_dir()), files);
    // 1C comes back late: its cookie has expired.
    a.import("offers.xml")
        .await
        .failure_containing(UNKNOWN_COOKIE);

    // Quiet mid-piece: a body said to be 100 000 bytes, 10 000 sent, the connection kept open.
    let b = site.login().await;
    assert_eq!(b.init().await.first_line(), "zip=yes");
    let second = receiving(&site);
    b.upload("offers.xml", &files[1].1[..50_000], 50_000).await;
    let stalled = b
        .file_cut_short("offers.xml", 100_000, &files[1].1[50_000..60_000])
        .await;
    wait_for_folder(&site, &second, "abandoned", Duration::from_secs(15)).await;
    assert_eq!(
        files_of(&site.data_dir()),
        files,
        "the published export is untouched"
    );
    drop(stalled);
    let c = init_again(&site).await;
    drop(c);
    site.done().await;
}

/// A cookie whose session expired (no request for the idle time) is refused with the reason
/// and the way out; `checkauth` again opens a new session.
#[tokio::test]
async fn an_expired_cookie_asks_for_checkauth_again() {
    let site = with_other_account(
        Site::start_on(Backend::Sqlite, &[("ONEC_EXCHANGE_IDLE_SECS", "1")], None).await,
    )
    .await;
    let a = site.login().await;
    let key_count = support::redis_keys(REDIS_URL, &site.env.prefix)
        .await
        .iter()
        .filter(|k| k.contains(":exchange:token:"))
        .count();
    assert_eq!(key_count, 1);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    a.init().await.failure_containing(UNKNOWN_COOKIE);
    a.call("mode=file&filename=import.xml", b"<x/>")
        .await
        .failure_containing(UNKNOWN_COOKIE);
    assert!(site.spool_folders().is_empty(), "no exchange was opened");
    let b = site.login().await;
    assert_eq!(b.init().await.first_line(), "zip=yes");
    site.done().await;
}
