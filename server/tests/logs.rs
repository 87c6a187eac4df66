//! The logs of a real `onec-admin serve` with `ONEC_LOG_FORMAT=json` and `RUST_LOG=trace`,
//! through a login (a wrong one too), requests with cookies and an `Authorization` header, and
//! an import of all four kinds: every line is one JSON object; lines inside a request carry its
//! request id; the import's lines carry its run id and kind; and no password, session token,
//! cookie or `Authorization` value is anywhere in the output.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use support::*;

/// A request with headers of the test's choosing; returns the response head and body.
async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (String, String) {
    let (head, mut r) = request_with(addr, method, path, headers, body).await;
    let body = read_body(&mut r).await;
    (head, body)
}

/// The value of `field` in the line's open spans (innermost first) or its own fields.
fn field<'a>(line: &'a Value, name: &str) -> Option<&'a str> {
    if let Some(v) = line.get(name).and_then(Value::as_str) {
        return Some(v);
    }
    line.get("spans")?
        .as_array()?
        .iter()
        .rev()
        .find_map(|s| s.get(name).and_then(Value::as_str))
}

fn message(line: &Value) -> &str {
    line.get("message").and_then(Value::as_str).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_ids_and_never_secrets() {
    let (dir, env) = sqlite_export_env("logs", 200, 20);
    let mut server = ServerProcess::start_with(
        &env,
        dir.path(),
        "serve",
        &[("ONEC_LOG_FORMAT", "json"), ("RUST_LOG", "trace")],
    )
    .await;
    let addr = server.addr;

    let wrong_password = "Wr0ng-but-secret-42";
    let bearer = "Bearer sk-live-4f7a9c1e2b3d5f60";
    let (head, _) = raw(
        addr,
        "POST",
        "/api/login",
        &[
            ("X-Request-Id", "req-wrong-login"),
            ("Authorization", bearer),
        ],
        &format!("login={LOGIN}&password={wrong_password}"),
    )
    .await;
    assert_eq!(
        header(&head, "x-request-id"),
        Some("req-wrong-login"),
        "{head}"
    );

    let (head, _) = raw(
        addr,
        "POST",
        "/api/login",
        &[("X-Request-Id", "req-good-login")],
        &format!("login={LOGIN}&password={PASSWORD}"),
    )
    .await;
    let cookie = session_cookie(&head);
    let token = cookie.split_once('=').unwrap().1.to_owned();
    assert!(token.len() >= 20, "{cookie}");

    // A request without an id of its own gets one, and says which.
    let (head, _) = raw(
        addr,
        "POST",
        "/api/whoami",
        &[("Cookie", &cookie), ("Authorization", bearer)],
        "",
    )
    .await;
    let generated = header(&head, "x-request-id").expect("an id").to_owned();
    assert!(generated.len() >= 16, "{generated}");

    let end = import_all_kinds(addr, &cookie).await;
    let run_id = end.run_id.clone();
    // Let the last lines reach the file, then stop the server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill();
    let log = server.log();

    // No secret anywhere: not the passwords, the session token, nor the Authorization value.
    for secret in [
        PASSWORD,
        wrong_password,
        token.as_str(),
        "sk-live-4f7a9c1e2b3d5f60",
    ] {
        assert!(!log.contains(secret), "the log holds a secret «{secret}»");
    }
    assert!(!log.to_ascii_lowercase().contains("authorization: bearer"));

    // One JSON object per line.
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 20, "{log}");
    assert!(
        lines.iter().any(|l| l["level"] == "TRACE"),
        "RUST_LOG=trace is in effect: {log}"
    );
    for l in &lines {
        assert!(
            l.get("timestamp").is_some() && l.get("level").is_some(),
            "{l}"
        );
    }

    // Lines inside a request carry its id.
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|l| message(l) == "login refused")
        .collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert_eq!(field(refused[0], "request_id"), Some("req-wrong-login"));
    let logged_in: Vec<&Value> = lines
        .iter()
        .filter(|l| message(l) == "administrator logged in")
        .collect();
    assert_eq!(logged_in.len(), 1);
    assert_eq!(field(logged_in[0], "request_id"), Some("req-good-login"));
    let answered: Vec<&Value> = lines.iter().filter(|l| message(l) == "answered").collect();
    assert!(answered.len() >= 4, "one line per request");
    assert!(answered.iter().all(|l| field(l, "request_id").is_some()));
    assert!(
        answered
            .iter()
            .any(|l| field(l, "request_id") == Some(generated.as_str()))
    );

    // Every line of the import carries its run id and kinds, and within a kind that kind.
    let of_run: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            let target = l.get("target").and_then(Value::as_str).unwrap_or("");
            target.starts_with("engine::run") || target.starts_with("engine::import")
        })
        .filter(|l| !message(l).contains("interrupted"))
        .collect();
    assert!(of_run.len() >= 6, "{of_run:?}");
    for l in &of_run {
        assert_eq!(field(l, "run_id"), Some(run_id.as_str()), "{l}");
        assert!(field(l, "kind").is_some(), "{l}");
    }
    let kinds: Vec<&str> = lines
        .iter()
        .filter(|l| message(l) == "kind imported")
        .map(|l| l["span"]["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["catalog", "stocks", "prices", "customers"]);
    // The run was started by a request: its lines carry that request's id too.
    let started = lines
        .iter()
        .find(|l| message(l) == "import run started")
        .expect("the start is logged");
    assert!(field(started, "request_id").is_some(), "{started}");
    cleanup_redis(REDIS_URL, &env.prefix).await;
}
