//! 1C's side of the exchange tests: a server with an exchange account ([`Site`]), raw HTTP/1.1
//! requests to `/1c/exchange` whose every answer is checked for what 1C needs of any answer
//! ([`Site::request`]), a logged-in 1C ([`Exchange1c`]), generated exports and archives, and the
//! reference an exchange is compared with: the same export imported by `onec-admin import run`
//! ([`cli_stats`]).
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use engine::auth::Roles;
use sha2::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{PgDb, REDIS_URL, ServerEnv, ServerProcess, TempDir};

/// 1C's exchange account.
pub const EXCHANGE_LOGIN: &str = "1c";
pub const EXCHANGE_PASSWORD: &str = "exchange-pass-1";

/// Any one request must be answered within this.
pub const LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `on_both_backends!(case)`: the async `case(Backend)` of the calling suite as two tests,
/// `case::sqlite` and `case::postgres`.
#[allow(unused_macros)] // a suite without a case on both backends does not use it
macro_rules! on_both_backends {
    ($case:ident) => {
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                super::$case($crate::support::exchange::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$case($crate::support::exchange::Backend::Postgres).await;
            }
        }
    };
}
#[allow(unused_imports)] // a suite without a case on both backends does not use it
pub(crate) use on_both_backends;

/// A running server with its own export folder, spool root, database and Redis prefix.
pub struct Site {
    pub addr: SocketAddr,
    pub root: TempDir,
    pub env: ServerEnv,
    /// The server's settings besides `env`'s.
    settings: Vec<(String, String)>,
    /// The server as a child process ([`Site::start_process`]), else in this process.
    process: Option<ServerProcess>,
    _pg: Option<PgDb>,
}

/// One answer, read to the end.
#[derive(Debug)]
pub struct Answer {
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn first_line(&self) -> &str {
        self.body.lines().next().unwrap_or_default()
    }

    pub fn lines(&self) -> Vec<&str> {
        self.body.lines().collect()
    }

    #[track_caller]
    pub fn failure_containing(&self, text: &str) {
        assert_eq!(self.first_line(), "failure", "{self:?}");
        assert!(self.body.contains(text), "«{text}» not in {self:?}");
    }

    /// The answer is exactly these lines.
    #[track_caller]
    pub fn says(&self, lines: &[&str]) {
        assert_eq!(self.lines(), lines, "{self:?}");
    }
}

impl Site {
    pub async fn start(backend: Backend) -> Site {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Site {
        Self::start_on(backend, extra, None).await
    }

    /// [`Site::start_with`] on a private Redis (`redis`) instead of the shared one.
    pub async fn start_on(backend: Backend, extra: &[(&str, &str)], redis: Option<String>) -> Site {
        let mut site = Self::prepare(backend, extra, redis).await;
        site.addr = super::spawn_in_process_with(&site.env, &site.settings()).await;
        site.account(EXCHANGE_LOGIN).await;
        site
    }

    /// The server as a child process `onec-admin serve` ([`Site::kill`], [`Site::restart`]).
    pub async fn start_process(backend: Backend, extra: &[(&str, &str)]) -> Site {
        let mut site = Self::prepare(backend, extra, None).await;
        site.restart().await;
        site.account(EXCHANGE_LOGIN).await;
        site
    }

    async fn prepare(backend: Backend, extra: &[(&str, &str)], redis: Option<String>) -> Site {
        let root = TempDir::new("exchange");
        let (url, pg) = match backend {
            Backend::Sqlite => (root.sqlite_url(), None),
            Backend::Postgres => {
                let pg = PgDb::new().await;
                (pg.url().to_owned(), Some(pg))
            }
        };
        let mut env = ServerEnv::new(&url, &root.path().join("export"), "exchange");
        if let Some(r) = redis {
            env.redis_url = r;
        }
        let spool = root.path().join("exchange").display().to_string();
        let mut settings = vec![("ONEC_EXCHANGE_DIR".to_owned(), spool)];
        settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Site {
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
            root,
            env,
            settings,
            process: None,
            _pg: pg,
        }
    }

    fn settings(&self) -> Vec<(&str, &str)> {
        self.settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// An exchange account `login` (exchange only, password [`EXCHANGE_PASSWORD`]), besides the
    /// first administrator the server made.
    pub async fn account(&self, login: &str) {
        let db = super::connect_db(&self.env.database_url).await;
        engine::auth::upsert_account(&db, login, EXCHANGE_PASSWORD, Roles::EXCHANGE)
            .await
            .unwrap();
        db.close().await.ok();
    }

    /// `kill -9` of the child process.
    pub fn kill(&mut self) {
        self.process.as_mut().expect("a child process").kill();
    }

    /// Starts the child process (again), on a new port.
    pub async fn restart(&mut self) {
        if let Some(p) = self.process.as_mut() {
            p.kill();
        }
        let n = std::fs::read_dir(self.root.path()).unwrap().count();
        let p = ServerProcess::start_with(
            &self.env,
            self.root.path(),
            &format!("server-{n}"),
            &self.settings(),
        )
        .await;
        self.addr = p.addr;
        self.process = Some(p);
    }

    /// The child process's log (empty in process).
    pub fn log(&self) -> String {
        self.process.as_ref().map(|p| p.log()).unwrap_or_default()
    }

    /// One request to `path` (query included) with these headers and body; checks the shape
    /// every answer must have.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        request(self.addr, method, path, headers, body, false).await
    }

    /// `GET /1c/exchange?<query>` without credentials.
    pub async fn get(&self, query: &str) -> Answer {
        self.request("GET", &format!("/1c/exchange?{query}"), &[], b"")
            .await
    }

    /// `mode=checkauth` with these credentials.
    pub async fn checkauth(&self, login: &str, password: &str) -> Answer {
        checkauth(self.addr, login, password).await
    }

    /// Logs in as 1C does; the session it got.
    pub async fn login(&self) -> Exchange1c<'_> {
        login(self.addr, EXCHANGE_LOGIN, EXCHANGE_PASSWORD).await
    }

    /// Logs in and begins an exchange (`init`, which must open it): 1C and the exchange's
    /// spool folder.
    pub async fn begin(&self) -> (Exchange1c<'_>, PathBuf) {
        let a = self.login().await;
        let init = a.init().await;
        assert_eq!(init.first_line(), "zip=yes", "{init:?}");
        (a, self.receiving())
    }

    pub fn spool(&self) -> PathBuf {
        self.root.path().join("exchange")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("export")
    }

    /// The spool's folders, by name.
    pub fn spool_folders(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.spool())
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The folder of the one exchange receiving now.
    pub fn receiving(&self) -> PathBuf {
        let open: Vec<String> = self
            .spool_folders()
            .into_iter()
            .filter(|n| !n.contains('.'))
            .collect();
        assert_eq!(open.len(), 1, "{open:?}");
        self.spool().join(&open[0])
    }

    /// Every file under the test's folder (the database's aside), relative to it.
    pub fn all_files(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let e = e.unwrap();
                let p = e.path();
                if e.file_type().unwrap().is_dir() {
                    walk(&p, root, out);
                } else {
                    out.push(p.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(self.root.path(), self.root.path(), &mut out);
        out.retain(|f| !f.starts_with("app.db"));
        out.sort();
        out
    }

    /// Every Redis key of this server.
    pub async fn redis_keys(&self) -> Vec<String> {
        let mut conn = super::redis_conn(REDIS_URL).await.unwrap();
        engine::redis::cmd("KEYS")
            .arg(format!("{}:*", self.env.prefix))
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    /// The endpoint's address, as 1C's exchange node is given it.
    pub fn url(&self) -> String {
        format!("http://{}/1c/exchange", self.addr)
    }

    pub async fn done(self) {
        super::cleanup_redis(REDIS_URL, &self.env.prefix).await;
        drop(self.process);
        drop(self.root);
    }
}

/// One request to the server at `addr` (`path` with its query), the body sent with
/// `Content-Length` or (`chunked`) in 16 KiB chunks without saying its length; checks the shape
/// every answer must have: 200, plain UTF-8 text, a first line of the protocol, never empty.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    chunked: bool,
) -> Answer {
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if chunked {
        req.push_str("Transfer-Encoding: chunked\r\n");
    } else {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {}\r\n", addr));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if chunked {
        for piece in body.chunks(16 * 1024) {
            bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            bytes.extend_from_slice(piece);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        bytes.extend_from_slice(body);
    }
    let raw = tokio::time::timeout(LIMIT, async {
        let s = TcpStream::connect(addr).await.unwrap();
        let (mut rd, mut wr) = s.into_split();
        // Reading goes on while the body is written: the server may answer (and close)
        // before it has read it all.
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
    let answer = Answer {
        head: head.to_owned(),
        body: body.to_owned(),
    };
    assert!(
        answer.head.starts_with("HTTP/1.1 200 "),
        "{method} {path}: {answer:?}"
    );
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("\r\ncontent-type: text/plain; charset=utf-8"),
        "{method} {path}: {answer:?}"
    );
    // The protocol's one exception: a successful init answers with its parameters.
    let init = path.contains("mode=init") && answer.first_line() == "zip=yes";
    assert!(
        init || ["success", "progress", "failure"].contains(&answer.first_line()),
        "{method} {path}: {answer:?}"
    );
    assert!(!answer.body.is_empty(), "{method} {path}: empty answer");
    answer
}

/// `mode=checkauth` at `addr` with these credentials.
pub async fn checkauth(addr: SocketAddr, login: &str, password: &str) -> Answer {
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"))
    );
    request(
        addr,
        "GET",
        "/1c/exchange?type=catalog&mode=checkauth",
        &[("Authorization", &basic)],
        b"",
        false,
    )
    .await
}

/// Logs in at `addr` as 1C does; the session it got.
pub async fn login<'a>(addr: SocketAddr, login: &str, password: &str) -> Exchange1c<'a> {
    let a = checkauth(addr, login, password).await;
    assert_eq!(a.first_line(), "success", "{a:?}");
    let l = a.lines();
    Exchange1c {
        addr,
        cookie: format!("{}={}", l[1], l[2]),
        sessid: l[3].strip_prefix("sessid=").unwrap().to_owned(),
        _site: std::marker::PhantomData,
    }
}

/// A logged-in 1C: its cookie (`name=value`) and sessid.
pub struct Exchange1c<'a> {
    /// The server.
    pub addr: SocketAddr,
    pub cookie: String,
    pub sessid: String,
    /// Borrowed from the site it logged in to, when there is one.
    _site: std::marker::PhantomData<&'a ()>,
}

impl Exchange1c<'_> {
    /// `mode=import` of `name`, repeated while the answer is `progress` (as 1C does); every
    /// answer, the last one `success` or `failure`.
    pub async fn import_to_end(&self, name: &str) -> Vec<Answer> {
        let started = std::time::Instant::now();
        let mut answers = Vec::new();
        loop {
            let a = self.import(name).await;
            let more = a.first_line() == "progress";
            answers.push(a);
            if !more {
                return answers;
            }
            assert!(started.elapsed() < LIMIT, "{name}: {answers:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// [`Self::import_to_end`] that must end in `success`; every answer.
    pub async fn import_succeeds(&self, name: &str) -> Vec<Answer> {
        let answers = self.import_to_end(name).await;
        let last = answers.last().map(Answer::first_line);
        assert_eq!(last, Some("success"), "{name}: {answers:?}");
        answers
    }

    /// `mode=init`; its answer.
    pub async fn init(&self) -> Answer {
        self.call("mode=init", b"").await
    }

    /// `mode=deactivate` as the add-on sends it after a full packet; its answer.
    pub async fn deactivate(&self) -> Answer {
        self.call("mode=deactivate&timestamp=1700000000", b"").await
    }

    /// `mode=complete`; its answer.
    pub async fn complete(&self) -> Answer {
        self.call("mode=complete", b"").await
    }

    /// A `mode=file` request that says `declared` bytes and sends only `sent`: the open
    /// connection, the body unfinished.
    pub async fn file_cut_short(&self, name: &str, declared: usize, sent: &[u8]) -> TcpStream {
        let addr = self.addr;
        let mut s = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /1c/exchange?type=catalog&mode=file&filename={} HTTP/1.1\r\nHost: {addr}\r\n\
             Cookie: {}\r\nContent-Length: {declared}\r\n\r\n",
            enc(name),
            self.cookie
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(sent).await.unwrap();
        s.flush().await.unwrap();
        s
    }

    /// `mode=import` of `name`.
    pub async fn import(&self, name: &str) -> Answer {
        self.call(&format!("mode=import&filename={}", enc(name)), b"")
            .await
    }

    /// Uploads `content` as `name` in pieces of at most `piece` bytes; each must succeed.
    pub async fn upload(&self, name: &str, content: &[u8], piece: usize) {
        for p in content.chunks(piece) {
            let a = self.file(name, p).await;
            assert_eq!(a.first_line(), "success", "{name}: {a:?}");
        }
    }

    /// `mode=file` of `name` (URL-encoded here) with this piece as its body.
    pub async fn file(&self, name: &str, piece: &[u8]) -> Answer {
        self.call(&format!("mode=file&filename={}", enc(name)), piece)
            .await
    }

    /// A mode with the session's cookie, as 1C sends it (GET without a body, POST with one).
    pub async fn call(&self, query: &str, body: &[u8]) -> Answer {
        let method = if body.is_empty() { "GET" } else { "POST" };
        request(
            self.addr,
            method,
            &format!("/1c/exchange?type=catalog&{query}"),
            &[("Cookie", &self.cookie)],
            body,
            false,
        )
        .await
    }
}

/// A zip archive (deflate, as 1C writes) of these entries.
pub fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
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

/// Every file under `dir`, as (`/`-separated relative name, path), sorted.
pub fn paths_of(dir: &Path) -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, p));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every file under `dir`, as (`/`-separated relative name, content), sorted.
pub fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    paths_of(dir)
        .into_iter()
        .map(|(name, p)| (name, std::fs::read(p).unwrap()))
        .collect()
}

/// A generated export (CommerceML 3.1 in folders, or 2.x `import.xml` + `offers.xml`).
pub fn export(format: gendata::Format, products: usize) -> (TempDir, Vec<(String, Vec<u8>)>) {
    let dir = TempDir::new("exchange-src");
    gendata::generate(
        &gendata::Options {
            products,
            customers: 0,
            seed: 7,
            format,
            goods_per_segment: 0,
        },
        dir.path(),
    )
    .unwrap();
    let files = files_of(dir.path());
    (dir, files)
}

/// The names of an export's XML files, in its order.
pub fn xml_names(files: &[(String, Vec<u8>)]) -> Vec<&str> {
    files
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| n.ends_with(".xml"))
        .collect()
}

/// A query value, percent-encoded.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// The totals of `export` imported by `onec-admin import run` into a fresh SQLite database: what
/// an exchange of the same export must leave.
pub async fn cli_stats(export: &Path) -> engine::stats::Stats {
    let root = TempDir::new("exchange-cli");
    let url = root.sqlite_url();
    let prefix = super::unique("exchange-cli");
    let mut types = String::from("catalog,stocks,prices");
    if files_of(export)
        .iter()
        .any(|(n, _)| n.contains("contragents"))
    {
        types.push_str(",customers");
    }
    for args in [&["migrate"][..], &["import", "run", "--types", &types][..]] {
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
    let stats = super::stats(&url).await;
    super::cleanup_redis(REDIS_URL, &prefix).await;
    stats
}

/// (origin, started_by, exchange_id) of every run, and the origins of every session.
pub async fn runs_and_sessions(
    site: &Site,
) -> (Vec<(String, String, Option<String>)>, Vec<String>) {
    use sea_orm::EntityTrait;
    let db = super::connect_db(&site.env.database_url).await;
    let runs = engine::entity::import_runs::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.origin, r.started_by, r.exchange_id))
        .collect();
    let sessions = engine::entity::import_sessions::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.origin)
        .collect();
    db.close().await.ok();
    (runs, sessions)
}

pub async fn db_stats(site: &Site) -> engine::stats::Stats {
    super::stats(&site.env.database_url).await
}

/// What `onec-admin exchange send` did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The `--json` lines.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// `onec-admin exchange send --url <url> --login <login> --password-stdin <args…> <dir>`, the
/// password written to its stdin, ended within `limit`. Async: a server answering it may run
/// on the test's runtime.
pub async fn send_tool(
    url: &str,
    login: &str,
    password: &str,
    args: &[&str],
    dir: &Path,
    limit: Duration,
) -> Run {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_onec-admin"))
        .args([
            "exchange",
            "send",
            "--url",
            url,
            "--login",
            login,
            "--password-stdin",
        ])
        .args(args)
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{password}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("exchange send {args:?}: not done within {limit:?}"))
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}
