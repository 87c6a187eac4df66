//! 1C's «Обмен с сайтом» endpoint (`/1c/exchange`) as 1C meets it: the real server on a real
//! socket (HTTP/1.1 written by hand, bodies as raw bytes), the shared Redis with a fresh
//! prefix, SQLite and PostgreSQL. Every answer of every test goes through [`Site::call`], which
//! checks what 1C needs of any answer: 200, `text/plain; charset=utf-8`, a first line that is
//! `success`, `progress` or `failure`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::{PgDb, REDIS_URL, ServerEnv, TempDir};

/// Any one request must be answered within this.
const LIMIT: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
}

/// A running server with its own export folder, spool root, database and Redis prefix.
struct Site {
    addr: SocketAddr,
    root: TempDir,
    env: ServerEnv,
    _pg: Option<PgDb>,
}

/// One answer, read to the end.
#[derive(Debug)]
struct Answer {
    head: String,
    body: String,
}

impl Answer {
    fn first_line(&self) -> &str {
        self.body.lines().next().unwrap_or_default()
    }

    #[track_caller]
    fn failure_containing(&self, text: &str) {
        assert_eq!(self.first_line(), "failure", "{self:?}");
        assert!(self.body.contains(text), "«{text}» not in {self:?}");
    }
}

impl Site {
    async fn start(backend: Backend) -> Site {
        Self::start_with(backend, &[]).await
    }

    async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Site {
        let root = TempDir::new("exchange");
        let (url, pg): (String, Option<PgDb>) = match backend {
            Backend::Sqlite => (root.sqlite_url(), None),
        };
        let env = ServerEnv::new(&url, &root.path().join("export"), "exchange");
        let spool = root.path().join("exchange").display().to_string();
        let mut settings: Vec<(&str, &str)> = vec![("ONEC_EXCHANGE_DIR", &spool)];
        settings.extend_from_slice(extra);
        let addr = support::spawn_in_process_with(&env, &settings).await;
        Site {
            addr,
            root,
            env,
            _pg: pg,
        }
    }

    /// One request to `path` (query included) with these headers and body; checks the shape
    /// every answer must have.
    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            req.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        let raw = tokio::time::timeout(LIMIT, async {
            let s = TcpStream::connect(self.addr).await.unwrap();
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
        assert!(
            ["success", "progress", "failure"].contains(&answer.first_line()),
            "{method} {path}: {answer:?}"
        );
        answer
    }

    /// `GET /1c/exchange?<query>` without credentials.
    async fn get(&self, query: &str) -> Answer {
        self.request("GET", &format!("/1c/exchange?{query}"), &[], b"")
            .await
    }

    async fn done(self) {
        support::cleanup_redis(REDIS_URL, &self.env.prefix).await;
        drop(self.root);
    }
}

#[tokio::test]
async fn what_cannot_be_served_is_a_failure_in_plain_text() {
    let site = Site::start(Backend::Sqlite).await;
    site.get("")
        .await
        .failure_containing("Не указан тип обмена");
    site.get("type=sale&mode=checkauth")
        .await
        .failure_containing("type=sale");
    site.get("type=catalog&mode=query")
        .await
        .failure_containing("Неизвестный режим обмена «query»");
    site.get("type=catalog&mode=file")
        .await
        .failure_containing("filename");
    site.request("PUT", "/1c/exchange?type=catalog&mode=init", &[], b"x")
        .await
        .failure_containing("Метод PUT");
    // The other spelling, and addresses that do not exist under /1c: never a 404 page.
    site.request("GET", "/1c/exchange/?type=sale&mode=init", &[], b"")
        .await
        .failure_containing("type=sale");
    for path in [
        "/1c",
        "/1c/",
        "/1c/exchange/x",
        "/1c/bitrix/admin/1c_exchange.php",
    ] {
        site.request("GET", path, &[], b"")
            .await
            .failure_containing("Неизвестный адрес обмена");
    }
    site.done().await;
}

#[tokio::test]
async fn the_endpoint_is_outside_the_web_login_and_the_same_origin_check() {
    let site = Site::start(Backend::Sqlite).await;
    // 1C calls the site by its public name, from no web page, without the web login.
    let a = site
        .request(
            "POST",
            "/1c/exchange?type=sale&mode=init",
            &[
                ("Host", "shop.example.ru"),
                ("Origin", "http://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
            b"",
        )
        .await;
    a.failure_containing("type=sale");
    assert!(!a.head.to_ascii_lowercase().contains("set-cookie"), "{a:?}");
    // The request passed the logging: it carries a request id.
    assert!(
        a.head.to_ascii_lowercase().contains("x-request-id:"),
        "{a:?}"
    );
    site.done().await;
}
