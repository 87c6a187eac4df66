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

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use engine::auth::Roles;
use support::{PgDb, REDIS_URL, RedisProcess, ServerEnv, ServerProcess, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// 1C's exchange account.
const EXCHANGE_LOGIN: &str = "1c";
const EXCHANGE_PASSWORD: &str = "exchange-pass-1";
/// A second exchange account (another 1C base).
const OTHER_LOGIN: &str = "1c-second";

/// Any one request must be answered within this.
const LIMIT: Duration = Duration::from_secs(60);
/// The refusal while Redis is down, word for word.
const REDIS_DOWN: &str = "Обмен временно невозможен: Redis не отвечает. Повторите позже";
/// The refusal of an unknown or expired cookie.
const UNKNOWN_COOKIE: &str =
    "Сеанс обмена не найден или истёк: выполните checkauth заново (авторизация)";
/// The start of the refusal of a second exchange.
const BUSY: &str = "Уже идёт другой обмен с 1С";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A server (in this process, or `onec-admin serve` as a child that can be killed) with its own
/// export folder, spool root, database and Redis prefix.
struct Site {
    addr: SocketAddr,
    root: TempDir,
    env: ServerEnv,
    settings: Vec<(String, String)>,
    process: Option<ServerProcess>,
    _pg: Option<PgDb>,
}

/// One answer, read to the end.
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

    #[track_caller]
    fn failure_containing(&self, text: &str) {
        assert_eq!(self.first_line(), "failure", "{self:?}");
        assert!(self.body.contains(text), "«{text}» not in {self:?}");
    }
}

impl Site {
    /// `redis`: a private Redis instead of the shared one.
    async fn start(backend: Backend, extra: &[(&str, &str)], redis: Option<String>) -> Site {
        let mut site = Self::prepare(backend, extra, redis).await;
        let settings: Vec<(&str, &str)> = site
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        site.addr = support::spawn_in_process_with(&site.env, &settings).await;
        site.accounts().await;
        site
    }

    /// The server as a child process ([`Site::kill`], [`Site::restart`]).
    async fn start_process(backend: Backend, extra: &[(&str, &str)]) -> Site {
        let mut site = Self::prepare(backend, extra, None).await;
        site.restart().await;
        site.accounts().await;
        site
    }

    async fn prepare(backend: Backend, extra: &[(&str, &str)], redis: Option<String>) -> Site {
        let root = TempDir::new("exchange-faults");
        let (url, pg) = match backend {
            Backend::Sqlite => (root.sqlite_url(), None),
            Backend::Postgres => {
                let pg = PgDb::new().await;
                (pg.url().to_owned(), Some(pg))
            }
        };
        let mut env = ServerEnv::new(&url, &root.path().join("export"), "exchange-faults");
        if let Some(r) = redis {
            env.redis_url = r;
        }
        let spool = root.path().join("exchange").display().to_string();
        let mut settings = vec![("ONEC_EXCHANGE_DIR".to_owned(), spool)];
        settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Site {
            addr: "127.0.0.1:1".parse().unwrap(),
            root,
            env,
            settings,
            process: None,
            _pg: pg,
        }
    }

    /// 1C's accounts (exchange only), besides the first administrator the server made.
    async fn accounts(&self) {
        let db = support::connect_db(&self.env.database_url).await;
        for login in [EXCHANGE_LOGIN, OTHER_LOGIN] {
            engine::auth::upsert_account(&db, login, EXCHANGE_PASSWORD, Roles::EXCHANGE)
                .await
                .unwrap();
        }
        db.close().await.ok();
    }

    /// `kill -9` of the child process.
    fn kill(&mut self) {
        self.process.as_mut().expect("a child process").kill();
    }

    /// Starts the child process (again), on a new port.
    async fn restart(&mut self) {
        if let Some(p) = self.process.as_mut() {
            p.kill();
        }
        let settings: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let n = std::fs::read_dir(self.root.path()).unwrap().count();
        let p = ServerProcess::start_with(
            &self.env,
            self.root.path(),
            &format!("server-{n}"),
            &settings,
        )
        .await;
        self.addr = p.addr;
        self.process = Some(p);
    }

    fn log(&self) -> String {
        self.process.as_ref().map(|p| p.log()).unwrap_or_default()
    }

    fn url(&self) -> String {
        format!("http://{}/1c/exchange", self.addr)
    }

    /// One request; checks the shape every answer must have (200, plain text, a first line of
    /// the protocol, never empty).
    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
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
        let addr = self.addr;
        let raw = tokio::time::timeout(LIMIT, async move {
            let s = TcpStream::connect(addr).await.unwrap();
            let (mut rd, mut wr) = s.into_split();
            let writer = async move {
                let _ = wr.write_all(&bytes).await;
                wr
            };
            let reader = async move {
                let mut out = Vec::new();
                let _ = rd.read_to_end(&mut out).await;
                out
            };
            let (_wr, out) = tokio::join!(writer, reader);
            out
        })
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {LIMIT:?}"));
        let text = String::from_utf8(raw).expect("the answer is UTF-8");
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{method} {path}: no complete answer: {text:?}"));
        assert!(head.starts_with("HTTP/1.1 200 "), "{method} {path}: {text}");
        assert!(
            head.to_ascii_lowercase()
                .contains("\r\ncontent-type: text/plain; charset=utf-8"),
            "{method} {path}: {text}"
        );
        let answer = Answer {
            body: body.to_owned(),
        };
        let init = path.contains("mode=init") && answer.first_line() == "zip=yes";
        assert!(
            init || ["success", "progress", "failure"].contains(&answer.first_line()),
            "{method} {path}: {answer:?}"
        );
        assert!(!answer.body.is_empty(), "{method} {path}: empty answer");
        answer
    }

    async fn checkauth_as(&self, login: &str) -> Answer {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{login}:{EXCHANGE_PASSWORD}"))
        );
        self.request(
            "GET",
            "/1c/exchange?type=catalog&mode=checkauth",
            &[("Authorization", &basic)],
            b"",
        )
        .await
    }

    /// Logs in as 1C does (account `1c`).
    async fn login(&self) -> Exchange1c<'_> {
        self.login_as(EXCHANGE_LOGIN).await
    }

    async fn login_as(&self, login: &str) -> Exchange1c<'_> {
        let a = self.checkauth_as(login).await;
        assert_eq!(a.first_line(), "success", "{a:?}");
        let l = a.lines();
        Exchange1c {
            site: self,
            cookie: format!("{}={}", l[1], l[2]),
        }
    }

    fn spool(&self) -> PathBuf {
        self.root.path().join("exchange")
    }

    fn data_dir(&self) -> PathBuf {
        self.root.path().join("export")
    }

    /// The spool's folders, by name.
    fn spool_folders(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.spool())
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The id of the one exchange receiving now.
    fn receiving(&self) -> String {
        let open: Vec<String> = self
            .spool_folders()
            .into_iter()
            .filter(|n| !n.contains('.'))
            .collect();
        assert_eq!(open.len(), 1, "{open:?}");
        open[0].clone()
    }

    /// Waits (≤ `limit`) until the spool folder of exchange `id` ends in `.state`.
    async fn wait_for_folder(&self, id: &str, state: &str, limit: Duration) {
        let want = format!("{id}.{state}");
        let found = support::poll(limit, || async {
            self.spool_folders().contains(&want).then_some(())
        })
        .await;
        assert!(
            found.is_some(),
            "{want} not in {:?}\n{}",
            self.spool_folders(),
            self.log()
        );
    }

    async fn stats(&self) -> engine::stats::Stats {
        support::stats(&self.env.database_url).await
    }

    fn current_key(&self) -> String {
        format!("{}:exchange:current", self.env.prefix)
    }

    async fn done(self) {
        support::cleanup_redis(REDIS_URL, &self.env.prefix).await;
        drop(self.process);
        drop(self.root);
    }
}

/// A logged-in 1C: its cookie (`name=value`).
struct Exchange1c<'a> {
    site: &'a Site,
    cookie: String,
}

impl Exchange1c<'_> {
    /// `init`; its answer.
    async fn init(&self) -> Answer {
        self.call("mode=init", b"").await
    }

    /// `mode=import` of `name`, repeated while the answer is `progress` (as 1C does); every
    /// answer, the last one `success` or `failure`.
    async fn import_to_end(&self, name: &str) -> Vec<Answer> {
        let started = Instant::now();
        let mut answers = Vec::new();
        loop {
            let a = self.import(name).await;
            let more = a.first_line() == "progress";
            answers.push(a);
            if !more {
                return answers;
            }
            assert!(started.elapsed() < Duration::from_secs(180), "{name}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn import(&self, name: &str) -> Answer {
        self.call(&format!("mode=import&filename={name}"), b"")
            .await
    }

    /// Uploads `content` as `name` in pieces of at most `piece` bytes; each must succeed.
    async fn upload(&self, name: &str, content: &[u8], piece: usize) {
        for p in content.chunks(piece) {
            let a = self.call(&format!("mode=file&filename={name}"), p).await;
            assert_eq!(a.first_line(), "success", "{name}: {a:?}");
        }
    }

    /// Uploads every file and imports each to its end, as classic 1C does; each must succeed.
    async fn send_all(&self, files: &[(String, Vec<u8>)]) {
        for (name, content) in files {
            self.upload(name, content, 1 << 20).await;
            let answers = self.import_to_end(name).await;
            assert_eq!(
                answers.last().unwrap().first_line(),
                "success",
                "{name}: {answers:?}"
            );
        }
    }

    /// A mode with the session's cookie (GET without a body, POST with one).
    async fn call(&self, query: &str, body: &[u8]) -> Answer {
        let method = if body.is_empty() { "GET" } else { "POST" };
        self.site
            .request(
                method,
                &format!("/1c/exchange?type=catalog&{query}"),
                &[("Cookie", &self.cookie)],
                body,
            )
            .await
    }

    /// A `mode=file` request that says `declared` bytes and sends only `sent`: the open
    /// connection, the body unfinished.
    async fn file_cut_short(&self, name: &str, declared: usize, sent: &[u8]) -> TcpStream {
        let addr = self.site.addr;
        let mut s = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /1c/exchange?type=catalog&mode=file&filename={name} HTTP/1.1\r\nHost: {addr}\r\n\
             Cookie: {}\r\nContent-Length: {declared}\r\n\r\n",
            self.cookie
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(sent).await.unwrap();
        s.flush().await.unwrap();
        s
    }
}

/// A generated export (2.x `import.xml` + `offers.xml`, or 3.1 in folders) and its files.
fn export(format: gendata::Format, products: usize) -> (TempDir, Vec<(String, Vec<u8>)>) {
    let dir = TempDir::new("exchange-faults-src");
    gendata::generate(
        &gendata::Options {
            products,
            customers: 0,
            seed: 5,
            format,
            goods_per_segment: 0,
        },
        dir.path(),
    )
    .unwrap();
    let files = files_of(dir.path());
    (dir, files)
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

/// The totals of `export` imported by `onec-admin import run` into a fresh SQLite database: what
/// an exchange of the same export must leave.
async fn cli_stats(export: &Path) -> engine::stats::Stats {
    let root = TempDir::new("exchange-faults-cli");
    let url = root.sqlite_url();
    let prefix = support::unique("exchange-faults-cli");
    for args in [
        &["migrate"][..],
        &["import", "run", "--types", "catalog,stocks,prices"][..],
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_onec-admin"))
            .args(args)
            .current_dir(root.path())
            .env("DATABASE_URL", &url)
            .env("REDIS_URL", REDIS_URL)
            .env("ONEC_REDIS_PREFIX", &prefix)
            .env("ONEC_DATA_DIR", export)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stats = support::stats(&url).await;
    support::cleanup_redis(REDIS_URL, &prefix).await;
    stats
}

/// What `onec-admin exchange send` did.
#[derive(Debug)]
struct Sent {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Sent {
    /// The `--json` lines.
    fn requests(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// `onec-admin exchange send --json` of `dir` to `url` as `login`, classic 1C.
async fn send(url: &str, login: &str, dir: &Path) -> Sent {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_onec-admin"))
        .args(["exchange", "send", "--url", url, "--login", login])
        .args(["--password-stdin", "--poll-ms", "200", "--json"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{EXCHANGE_PASSWORD}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("exchange send ends within 300 s")
        .unwrap();
    Sent {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `init` of a fresh 1C session, repeated (≤ `limit`) while it is refused because an earlier
/// exchange still holds the lock (that refusal, and only it, is allowed meanwhile).
async fn init_when_free<'a>(site: &'a Site, limit: Duration) -> Exchange1c<'a> {
    let started = Instant::now();
    loop {
        let b = site.login().await;
        let r = b.init().await;
        if r.first_line() == "zip=yes" {
            return b;
        }
        r.failure_containing(BUSY);
        assert!(started.elapsed() < limit, "still refused: {r:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
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
/// published nor imported; 1C starts over from `checkauth` and `init` (refused only while the
/// cut exchange holds the lock, at most its idle time), and the new exchange goes through.
#[tokio::test]
async fn a_connection_cut_mid_piece_then_1c_starts_over() {
    let site = Site::start(Backend::Sqlite, &[("ONEC_EXCHANGE_IDLE_SECS", "2")], None).await;
    let (src, files) = export(gendata::Format::V2x, 200);
    let (import_name, import_xml) = &files[0];
    assert_eq!(import_name, "import.xml");
    let a = site.login().await;
    assert_eq!(a.init().await.first_line(), "zip=yes");
    let first = site.receiving();
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
    let b = init_when_free(&site, Duration::from_secs(15)).await;
    let second = site.receiving();
    assert_ne!(first, second);
    site.wait_for_folder(&first, "abandoned", Duration::from_secs(10))
        .await;
    assert_eq!(
        std::fs::read(site.spool().join(format!("{first}.abandoned/import.xml"))).unwrap(),
        import_xml[..20_000],
        "the cut exchange kept only its whole pieces"
    );
    b.send_all(&files).await;
    assert_eq!(site.stats().await, cli_stats(src.path()).await);
    let r = b.call("mode=complete", b"").await;
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
    let mut site =
        Site::start_process(backend, &[("ONEC_EXCHANGE_IDLE_SECS", idle_text.as_str())]).await;
    let (src, files) = export(gendata::Format::V2x, PRODUCTS);
    let a = site.login().await;
    assert_eq!(a.init().await.first_line(), "zip=yes");
    let first = site.receiving();
    // import.xml whole, then offers.xml (the longer import) is killed midway.
    a.send_all(&files[..1]).await;
    let before = site.stats().await;
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
    let after = site.stats().await;
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
        support::redis_get(REDIS_URL, &site.current_key()).await,
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
    assert_eq!(site.stats().await, cli_stats(src.path()).await);
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

#[tokio::test]
async fn the_server_killed_mid_import_postgres() {
    the_server_killed_mid_import(Backend::Postgres).await;
}

#[tokio::test]
async fn the_server_killed_mid_import_sqlite() {
    the_server_killed_mid_import(Backend::Sqlite).await;
}

/// Redis goes away mid-exchange: every request meanwhile is a `failure` that says so (in the
/// protocol's plain text); Redis comes back empty: the old cookie is unknown, 1C starts over
/// from `checkauth`, the lost exchange is set aside and the new one goes through.
#[tokio::test]
async fn redis_restarted_mid_exchange() {
    let mut redis = RedisProcess::start().await;
    let site = Site::start(
        Backend::Sqlite,
        &[("ONEC_EXCHANGE_IDLE_SECS", "2")],
        Some(redis.url()),
    )
    .await;
    let (src, files) = export(gendata::Format::V2x, 200);
    let a = site.login().await;
    assert_eq!(a.init().await.first_line(), "zip=yes");
    let first = site.receiving();
    a.upload("import.xml", &files[0].1[..30_000], 30_000).await;

    redis.kill();
    let outage = Instant::now();
    a.call("mode=file&filename=import.xml", &files[0].1[30_000..60_000])
        .await
        .failure_containing(REDIS_DOWN);
    a.import("import.xml").await.failure_containing(REDIS_DOWN);
    a.init().await.failure_containing(REDIS_DOWN);
    site.checkauth_as(EXCHANGE_LOGIN)
        .await
        .failure_containing(REDIS_DOWN);
    let during = outage.elapsed();
    assert_eq!(site.stats().await.products_total, 0);

    redis.restart().await;
    a.init().await.failure_containing(UNKNOWN_COOKIE);
    let b = site.login().await;
    assert_eq!(b.init().await.first_line(), "zip=yes");
    site.wait_for_folder(&first, "abandoned", Duration::from_secs(10))
        .await;
    b.send_all(&files).await;
    assert_eq!(site.stats().await, cli_stats(src.path()).await);
    assert_eq!(b.call("mode=complete", b"").await.first_line(), "success");
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
    let site = Site::start(Backend::Sqlite, &[], None).await;
    let (src, files) = export(gendata::Format::V2x, 200);
    let (other_src, _) = export(gendata::Format::V31, 60);
    let a = site.login().await;
    assert_eq!(a.init().await.first_line(), "zip=yes");
    let first = site.receiving();
    a.upload("import.xml", &files[0].1, 1 << 20).await;

    let b = site.login_as(OTHER_LOGIN).await;
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
    assert_eq!(site.receiving(), first, "the first exchange goes on");

    // The first completes as if nothing happened (the import.xml piece already sent stays).
    let answers = a.import_to_end("import.xml").await;
    assert_eq!(answers.last().unwrap().first_line(), "success");
    a.send_all(&files[1..]).await;
    assert_eq!(site.stats().await, cli_stats(src.path()).await);

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
    let total = site.stats().await.products_total;
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
    let site = Site::start(Backend::Postgres, &[], None).await;
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
    let total = site.stats().await.products_total;
    assert!(total >= big.products as u64, "{total}");

    // The other way round: while the exchange's file imports, the administrator is refused.
    let a = site.login().await;
    assert_eq!(a.init().await.first_line(), "zip=yes");
    let (big_src, big_files) = export(gendata::Format::V2x, 16_000);
    a.send_all(&big_files[..1]).await;
    a.upload("offers.xml", &big_files[1].1, 8 << 20).await;
    let r = a.import("offers.xml").await;
    assert_eq!(r.first_line(), "progress", "{r:?}");
    assert_eq!(
        support::start_import(site.addr, &admin, &["catalog"]).await,
        Err(support::ALREADY_RUNNING.to_owned())
    );
    let answers = a.import_to_end("offers.xml").await;
    assert_eq!(answers.last().unwrap().first_line(), "success");
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
    let site = Site::start(Backend::Postgres, &[("ONEC_EXCHANGE_IDLE_SECS", "3")], None).await;
    let (src, files) = export(gendata::Format::V2x, 16_000);
    let a = site.login().await;
    assert_eq!(a.init().await.first_line(), "zip=yes");
    let first = site.receiving();
    a.send_all(&files[..1]).await;
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
    assert_eq!(site.stats().await, cli_stats(src.path()).await);
    site.wait_for_folder(&first, "published", Duration::from_secs(15))
        .await;
    assert_eq!(files_of(&site.data_dir()), files);
    // 1C comes back late: its cookie has expired.
    a.import("offers.xml")
        .await
        .failure_containing(UNKNOWN_COOKIE);

    // Quiet mid-piece: a body said to be 100 000 bytes, 10 000 sent, the connection kept open.
    let b = site.login().await;
    assert_eq!(b.init().await.first_line(), "zip=yes");
    let second = site.receiving();
    b.upload("offers.xml", &files[1].1[..50_000], 50_000).await;
    let stalled = b
        .file_cut_short("offers.xml", 100_000, &files[1].1[50_000..60_000])
        .await;
    site.wait_for_folder(&second, "abandoned", Duration::from_secs(15))
        .await;
    assert_eq!(
        files_of(&site.data_dir()),
        files,
        "the published export is untouched"
    );
    drop(stalled);
    let c = init_when_free(&site, Duration::from_secs(10)).await;
    drop(c);
    site.done().await;
}

/// A cookie whose session expired (no request for the idle time) is refused with the reason
/// and the way out; `checkauth` again opens a new session.
#[tokio::test]
async fn an_expired_cookie_asks_for_checkauth_again() {
    let site = Site::start(Backend::Sqlite, &[("ONEC_EXCHANGE_IDLE_SECS", "1")], None).await;
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
