//! `mode=deactivate` of 1C's exchange (`ONEC_EXCHANGE_DEACTIVATE`): the real server on a real
//! socket, 1C played by hand-written HTTP/1.1 as in `exchange.rs` (whose helpers are copied
//! here in the small), exports from `gendata`.
//!
//! gendata writes 3.1 exports as the 1C sample it copies does: every file says
//! `СодержитТолькоИзменения="true"`. A *full* export is that export with the flag turned to
//! `false` ([`full`]).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use engine::auth::Roles;
use sea_orm::{ConnectionTrait, Statement};
use support::{PgDb, REDIS_URL, ServerEnv, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EXCHANGE_LOGIN: &str = "1c";
const EXCHANGE_PASSWORD: &str = "exchange-pass-1";
/// Any one request must be answered within this.
const LIMIT: Duration = Duration::from_secs(60);
const ON: (&str, &str) = ("ONEC_EXCHANGE_DEACTIVATE", "true");

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A running server with its own export folder, spool root, database and Redis prefix.
struct Site {
    addr: SocketAddr,
    root: TempDir,
    env: ServerEnv,
    _pg: Option<PgDb>,
}

/// One answer's body.
#[derive(Debug)]
struct Answer {
    body: String,
}

impl Answer {
    fn first_line(&self) -> &str {
        self.body.lines().next().unwrap_or_default()
    }

    fn lines(&self) -> Vec<&str> {
        self.body.lines().collect()
    }
}

impl Site {
    async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Site {
        let root = TempDir::new("exchange-deactivate");
        let (url, pg) = match backend {
            Backend::Sqlite => (root.sqlite_url(), None),
            Backend::Postgres => {
                let pg = PgDb::new().await;
                (pg.url().to_owned(), Some(pg))
            }
        };
        let env = ServerEnv::new(&url, &root.path().join("export"), "exdeact");
        let spool = root.path().join("exchange").display().to_string();
        let mut settings: Vec<(&str, &str)> = vec![("ONEC_EXCHANGE_DIR", &spool)];
        settings.extend_from_slice(extra);
        let addr = support::spawn_in_process_with(&env, &settings).await;
        let db = support::connect_db(&url).await;
        engine::auth::upsert_account(&db, EXCHANGE_LOGIN, EXCHANGE_PASSWORD, Roles::EXCHANGE)
            .await
            .unwrap();
        db.close().await.ok();
        Site {
            addr,
            root,
            env,
            _pg: pg,
        }
    }

    /// One request; checks what 1C needs of every answer (200, plain text, a status line).
    async fn request(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let method = if body.is_empty() { "GET" } else { "POST" };
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        let raw = tokio::time::timeout(LIMIT, async {
            let mut s = TcpStream::connect(self.addr).await.unwrap();
            s.write_all(&bytes).await.unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.unwrap();
            out
        })
        .await
        .unwrap_or_else(|_| panic!("{path}: no answer within {LIMIT:?}"));
        let text = String::from_utf8(raw).expect("the answer is UTF-8");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 "), "{path}: {text}");
        assert!(
            head.to_ascii_lowercase()
                .contains("\r\ncontent-type: text/plain; charset=utf-8"),
            "{path}: {text}"
        );
        let answer = Answer {
            body: body.to_owned(),
        };
        let init = path.contains("mode=init") && answer.first_line() == "zip=yes";
        assert!(
            init || ["success", "progress", "failure"].contains(&answer.first_line()),
            "{path}: {answer:?}"
        );
        answer
    }

    /// Logs in as 1C does (`checkauth`) and opens an exchange (`init`).
    async fn exchange(&self) -> Exchange1c<'_> {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{EXCHANGE_LOGIN}:{EXCHANGE_PASSWORD}"))
        );
        let a = self
            .request(
                "/1c/exchange?type=catalog&mode=checkauth",
                &[("Authorization", &basic)],
                b"",
            )
            .await;
        assert_eq!(a.first_line(), "success", "{a:?}");
        let l = a.lines();
        let x = Exchange1c {
            site: self,
            cookie: format!("{}={}", l[1], l[2]),
        };
        let init = x.call("mode=init", b"").await;
        assert_eq!(init.first_line(), "zip=yes", "{init:?}");
        x
    }

    async fn db(&self) -> sea_orm::DatabaseConnection {
        support::connect_db(&self.env.database_url).await
    }

    async fn done(self) {
        support::cleanup_redis(REDIS_URL, &self.env.prefix).await;
        drop(self.root);
    }
}

/// A logged-in 1C with an open exchange.
struct Exchange1c<'a> {
    site: &'a Site,
    cookie: String,
}

impl Exchange1c<'_> {
    async fn call(&self, query: &str, body: &[u8]) -> Answer {
        self.site
            .request(
                &format!("/1c/exchange?type=catalog&{query}"),
                &[("Cookie", &self.cookie)],
                body,
            )
            .await
    }

    /// Sends the export as one archive and imports every XML file of it, each to its end.
    async fn send(&self, files: &[(String, Vec<u8>)]) {
        let a = self
            .call("mode=file&filename=v8_1.zip", &zip_of(files))
            .await;
        assert_eq!(a.first_line(), "success", "{a:?}");
        for (name, _) in files.iter().filter(|(n, _)| n.ends_with(".xml")) {
            let started = std::time::Instant::now();
            loop {
                let a = self
                    .call(&format!("mode=import&filename={}", enc(name)), b"")
                    .await;
                match a.first_line() {
                    "success" => break,
                    "progress" => {
                        assert!(started.elapsed() < LIMIT, "{name}: {a:?}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    _ => panic!("{name}: {a:?}"),
                }
            }
        }
    }

    async fn deactivate(&self) -> Answer {
        self.call("mode=deactivate&timestamp=1700000000", b"").await
    }
}

/// A zip archive (deflate, as 1C writes) of these entries.
fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Every file under `dir`, as (`/`-separated relative name, content), sorted.
fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A generated CommerceML 3.1 export (every file «changes only», as gendata writes it).
fn export(products: usize) -> Vec<(String, Vec<u8>)> {
    let dir = TempDir::new("exdeact-src");
    gendata::generate(
        &gendata::Options {
            products,
            customers: 0,
            seed: 7,
            format: gendata::Format::V31,
            goods_per_segment: 0,
        },
        dir.path(),
    )
    .unwrap();
    files_of(dir.path())
}

/// The export as a full one: no file says it carries changes only.
fn full(files: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    files
        .into_iter()
        .map(|(name, body)| {
            let text = String::from_utf8(body).unwrap().replace(
                "СодержитТолькоИзменения=\"true\"",
                "СодержитТолькоИзменения=\"false\"",
            );
            (name, text.into_bytes())
        })
        .collect()
}

/// A query value, percent-encoded.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Products `extra-0…` that no export mentions, each with its own offer and a variant.
async fn add_extra_products(site: &Site, n: usize) {
    let db = site.db().await;
    for i in 0..n {
        db.execute_unprepared(&format!(
            "INSERT INTO products (onec_id, is_deleted, updated_at, name) \
             VALUES ('extra-{i}', FALSE, '2020-01-01 00:00:00', 'Лишний товар {i}')"
        ))
        .await
        .unwrap();
        for key in [format!("extra-{i}"), format!("extra-{i}#v")] {
            db.execute_unprepared(&format!(
                "INSERT INTO offers (onec_id, is_deleted, updated_at, product_id) \
                 SELECT '{key}', FALSE, '2020-01-01 00:00:00', id FROM products \
                 WHERE onec_id = 'extra-{i}'"
            ))
            .await
            .unwrap();
        }
    }
    db.close().await.ok();
}

/// The `onec_id`s of `table` marked deleted, and how many rows are active.
async fn marks(site: &Site, table: &str) -> (Vec<String>, i64) {
    let db = site.db().await;
    let backend = db.get_database_backend();
    let deleted = db
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT onec_id FROM {table} WHERE is_deleted = TRUE ORDER BY onec_id"),
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    let active = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) FROM {table} WHERE is_deleted = FALSE"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    db.close().await.ok();
    (deleted, active)
}

/// Off (the default): `success` saying it was skipped, before and without anything else. On,
/// an exchange without a catalog is skipped too.
#[tokio::test]
async fn off_or_without_a_catalog_deactivation_is_skipped() {
    let site = Site::start_with(Backend::Sqlite, &[]).await;
    let x = site.exchange().await;
    let a = x.deactivate().await;
    assert_eq!(
        a.lines(),
        ["success", "Деактивация пропущена: не включена в настройках"]
    );
    site.done().await;

    let site = Site::start_with(Backend::Sqlite, &[ON]).await;
    let x = site.exchange().await;
    let a = x.deactivate().await;
    assert_eq!(
        a.lines(),
        [
            "success",
            "Деактивация пропущена: в обмене не было каталога товаров"
        ]
    );
    site.done().await;
}

/// A full 3.1 export imported through the exchange, then `deactivate`: the product the export
/// does not mention (and its offers) are marked deleted, the export's stay as imported. While
/// another import holds the lock, `progress`; the lock is free afterwards; `complete` still
/// publishes.
async fn a_full_exchange_deactivates_what_it_did_not_mention(backend: Backend) {
    let site = Site::start_with(backend, &[ON]).await;
    let files = full(export(40));
    let x = site.exchange().await;
    x.send(&files).await;
    let (products_before, active_products) = marks(&site, "products").await;
    let (offers_before, active_offers) = marks(&site, "offers").await;
    assert!(active_products >= 30, "{active_products}");
    add_extra_products(&site, 1).await;

    let mut conn = support::redis_conn(REDIS_URL).await.unwrap();
    let lock = site.env.lock_key();
    let _: () = engine::redis::AsyncCommands::set(&mut conn, &lock, "an-admin-run")
        .await
        .unwrap();
    let a = x.deactivate().await;
    assert_eq!(
        a.lines(),
        ["progress", "Ожидание: выполняется другой импорт"]
    );
    assert_eq!(marks(&site, "products").await.1, active_products + 1);
    let _: () = engine::redis::AsyncCommands::del(&mut conn, &lock)
        .await
        .unwrap();

    let a = x.deactivate().await;
    assert_eq!(
        a.lines(),
        ["success", "Деактивировано: 1 товар, 2 предложения"]
    );
    let (products_after, active) = marks(&site, "products").await;
    let mut want = products_before.clone();
    want.push("extra-0".into());
    want.sort();
    assert_eq!(products_after, want);
    assert_eq!(active, active_products, "the export's products stay active");
    let (offers_after, active) = marks(&site, "offers").await;
    let mut want = offers_before.clone();
    want.extend(["extra-0".to_owned(), "extra-0#v".to_owned()]);
    want.sort();
    assert_eq!(offers_after, want);
    assert_eq!(active, active_offers, "the export's offers stay active");
    assert_eq!(
        support::redis_get(REDIS_URL, &lock).await,
        None,
        "the import lock is free again"
    );

    // Again: nothing left to deactivate.
    let a = x.deactivate().await;
    assert_eq!(
        a.lines(),
        ["success", "Деактивировано: 0 товаров, 0 предложений"]
    );
    let a = x.call("mode=complete", b"").await;
    assert_eq!(a.first_line(), "success", "{a:?}");
    site.done().await;
}

#[tokio::test]
async fn a_full_exchange_deactivates_what_it_did_not_mention_sqlite() {
    a_full_exchange_deactivates_what_it_did_not_mention(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_full_exchange_deactivates_what_it_did_not_mention_postgres() {
    a_full_exchange_deactivates_what_it_did_not_mention(Backend::Postgres).await;
}

/// An export whose files say they carry changes only (gendata's 3.1, as 1C's sample): skipped,
/// nothing marked.
#[tokio::test]
async fn an_exchange_of_changes_only_is_skipped() {
    let site = Site::start_with(Backend::Sqlite, &[ON]).await;
    let x = site.exchange().await;
    x.send(&export(20)).await;
    add_extra_products(&site, 1).await;
    let before = marks(&site, "products").await;
    let a = x.deactivate().await;
    assert_eq!(
        a.lines(),
        [
            "success",
            "Деактивация пропущена: выгрузка содержит только изменения"
        ]
    );
    assert_eq!(marks(&site, "products").await, before);
    site.done().await;
}

/// More of the active products than `ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT` (10 % by default)
/// would go: `failure` naming the numbers and the setting, nothing changed.
#[tokio::test]
async fn over_the_change_limit_nothing_is_deactivated() {
    let site = Site::start_with(Backend::Sqlite, &[ON]).await;
    let x = site.exchange().await;
    x.send(&full(export(20))).await;
    add_extra_products(&site, 5).await;
    let products = marks(&site, "products").await;
    let offers = marks(&site, "offers").await;
    let a = x.deactivate().await;
    assert_eq!(a.first_line(), "failure", "{a:?}");
    let text = a.lines()[1];
    assert!(
        text.contains(&format!(
            "сняты были бы 5 из {} активных товаров — больше 10 %",
            products.1
        )),
        "{a:?}"
    );
    assert!(
        text.contains("ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT"),
        "{a:?}"
    );
    assert_eq!(marks(&site, "products").await, products, "nothing changed");
    assert_eq!(marks(&site, "offers").await, offers, "nothing changed");
    assert_eq!(
        support::redis_get(REDIS_URL, &site.env.lock_key()).await,
        None
    );
    site.done().await;
}
