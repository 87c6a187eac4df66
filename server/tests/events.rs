//! The event stream over a real socket: a browser that connects during a run sees the current
//! state first and then every change in order; one that connects after the end gets the final
//! state at once and the stream closes. The real server (`Application`), SQLite and Redis.
use std::collections::HashMap;
use std::time::Duration;

use server::config::Config;
use server::startup::Application;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use wire::{KindPhase, RunPhase, RunState};

struct Server {
    addr: std::net::SocketAddr,
    dir: std::path::PathBuf,
}

async fn spawn_server(products: usize) -> Server {
    let dir = std::env::temp_dir().join(format!(
        "onec-events-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let data = dir.join("1c");
    gendata::generate(
        &gendata::Options {
            products,
            customers: 5,
            seed: 3,
            ..Default::default()
        },
        &data,
    )
    .unwrap();
    let db = format!("sqlite://{}/app.db?mode=rwc", dir.display());
    let prefix = format!("events-test-{}", rand_suffix());
    let data_s = data.display().to_string();
    let env: HashMap<&str, &str> = HashMap::from([
        ("DATABASE_URL", db.as_str()),
        ("ONEC_BIND", "127.0.0.1:0"),
        ("ONEC_DATA_DIR", data_s.as_str()),
        ("ONEC_REDIS_PREFIX", prefix.as_str()),
        ("ONEC_ADMIN_LOGIN", "admin"),
        ("ONEC_ADMIN_PASSWORD", "s3cret-pass"),
        ("ONEC_DIST_DIR", "/nonexistent"),
    ]);
    let config = Config::from_env(&env).unwrap();
    let app = Application::build(config).await.unwrap();
    let addr = app.local_addr();
    tokio::spawn(app.run_until_stopped());
    Server { addr, dir }
}

fn rand_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(1);
    format!("{:x}", h.finish())
}

/// One HTTP/1.0 request (the server then ends the body by closing); returns head and stream.
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (String, BufReader<TcpStream>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream, application/json\r\n"
    );
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
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
}

async fn login(addr: std::net::SocketAddr) -> String {
    let (head, _) = request(
        addr,
        "POST",
        "/api/login",
        None,
        "login=admin&password=s3cret-pass",
    )
    .await;
    let line = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("cookie");
    line.split_once(':')
        .unwrap()
        .1
        .trim()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// Reads SSE `data:` frames until the stream ends or `limit` passes.
async fn read_states(r: &mut BufReader<TcpStream>, limit: Duration) -> Vec<RunState> {
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

#[tokio::test]
async fn a_run_is_seen_live_and_a_late_subscriber_gets_the_final_state() {
    let srv = spawn_server(3000).await;
    let cookie = login(srv.addr).await;

    let (head, mut r) = request(
        srv.addr,
        "POST",
        "/api/start_import",
        Some(&cookie),
        "kinds[0]=catalog&kinds[1]=stocks",
    )
    .await;
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let mut body = String::new();
    r.read_to_string(&mut body).await.unwrap();
    let run_id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["run_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // During the run: the current state first, then changes in order, then the end.
    let (head, mut r) = request(
        srv.addr,
        "GET",
        &format!("/events/runs/{run_id}"),
        Some(&cookie),
        "",
    )
    .await;
    assert!(head.contains("text/event-stream"), "{head}");
    let states = read_states(&mut r, Duration::from_secs(120)).await;
    assert!(states.len() >= 2, "{} states", states.len());
    assert!(
        states.windows(2).all(|w| w[0].seq < w[1].seq),
        "seq must grow"
    );
    let last = states.last().unwrap();
    assert_eq!(last.phase, RunPhase::Completed, "{:?}", last.message);
    assert!(
        last.message
            .as_deref()
            .unwrap()
            .starts_with("✅ Импорт завершен: Каталог (3\u{a0}000 товаров")
    );
    assert!(last.kinds.iter().all(|k| k.phase == KindPhase::Done));
    assert!(states.iter().all(|s| s.run_id == run_id));

    // After the end: one frame, the final state, and the stream closes by itself.
    let (_, mut r) = request(
        srv.addr,
        "GET",
        &format!("/events/runs/{run_id}"),
        Some(&cookie),
        "",
    )
    .await;
    let late = read_states(&mut r, Duration::from_secs(10)).await;
    assert_eq!(late.len(), 1);
    assert_eq!(&late[0], last);

    // latest_run answers the same state; an unknown run is 404; no cookie is 401.
    let (_, mut r) = request(srv.addr, "POST", "/api/latest_run", Some(&cookie), "").await;
    let mut body = String::new();
    r.read_to_string(&mut body).await.unwrap();
    assert_eq!(serde_json::from_str::<RunState>(&body).unwrap(), *last);
    let (head, _) = request(srv.addr, "GET", "/events/runs/nope", Some(&cookie), "").await;
    assert!(
        head.starts_with("HTTP/1.0 404") || head.starts_with("HTTP/1.1 404"),
        "{head}"
    );
    let (head, _) = request(srv.addr, "GET", &format!("/events/runs/{run_id}"), None, "").await;
    assert!(head.contains(" 401 "), "{head}");
    std::fs::remove_dir_all(&srv.dir).ok();
}

#[tokio::test]
async fn the_monitor_stream_carries_every_run() {
    let srv = spawn_server(200).await;
    let cookie = login(srv.addr).await;
    let (head, mut events) = request(srv.addr, "GET", "/events", Some(&cookie), "").await;
    assert!(head.contains("text/event-stream"), "{head}");
    // Give the hub's subscription a moment, then start a run.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, mut r) = request(
        srv.addr,
        "POST",
        "/api/start_import",
        Some(&cookie),
        "kinds[0]=catalog",
    )
    .await;
    let mut body = String::new();
    r.read_to_string(&mut body).await.unwrap();
    assert!(body.contains("run_id"), "{body}");
    let mut finished = false;
    let _ = tokio::time::timeout(Duration::from_secs(60), async {
        let mut line = String::new();
        while events.read_line(&mut line).await.unwrap_or(0) > 0 {
            if let Some(json) = line.trim_end().strip_prefix("data:") {
                let s: RunState = serde_json::from_str(json.trim()).unwrap();
                if s.is_finished() {
                    finished = true;
                    break;
                }
            }
            line.clear();
        }
    })
    .await;
    assert!(finished, "the monitor stream delivered the run's end");
    std::fs::remove_dir_all(&srv.dir).ok();
}
