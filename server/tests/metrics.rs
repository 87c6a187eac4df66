//! `/metrics` (Prometheus text) of a real `onec-admin serve` with `ONEC_METRICS_BIND`, scraped
//! after a real import of all four kinds: the numbers must equal the import's own counts (the
//! sessions' reports), and the login failures, lock refusals, event streams and HTTP requests
//! the test made. The public address must not serve it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use engine::redis::AsyncCommands;
use support::*;

/// One sample: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text format (the subset the exporter writes: no escapes inside label values are
/// used by these metrics).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            Sample {
                name: name.to_owned(),
                labels,
                value: value.parse().unwrap(),
            }
        })
        .collect()
}

/// The sum of a metric's samples whose labels include `want`.
fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(addr: SocketAddr) -> (String, String) {
    let (head, mut r) = request(addr, "GET", "/metrics", None, "").await;
    (head, read_body(&mut r).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_match_the_import_and_stay_off_the_public_address() {
    let (dir, env) = sqlite_export_env("metrics", 300, 40);
    let metrics_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = ServerProcess::start_with(
        &env,
        dir.path(),
        "serve",
        &[("ONEC_METRICS_BIND", &metrics_addr.to_string())],
    )
    .await;
    let addr = server.addr;

    // The public address has no metrics: without a session it is the login redirect or 401.
    let (head, body) = scrape(addr).await;
    assert!(
        !body.contains("onec_")
            && !head.starts_with("HTTP/1.0 200")
            && !head.starts_with("HTTP/1.1 200"),
        "public /metrics answered {head}{body}"
    );
    let (head, body) = scrape(metrics_addr).await;
    assert!(head.contains("text/plain"), "{head}");
    assert!(
        body.contains("# TYPE onec_http_requests_total counter"),
        "{body}"
    );

    // Two refused logins, then a good one.
    for _ in 0..2 {
        let (head, _) = request(
            addr,
            "POST",
            "/api/login",
            None,
            &format!("login={LOGIN}&password=wrong-password"),
        )
        .await;
        assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
    }
    let cookie = login(addr).await;

    // The monitor's stream stays open while the import runs.
    let (head, monitor) = request(addr, "GET", "/events", Some(&cookie), "").await;
    assert!(head.contains("text/event-stream"), "{head}");
    let samples = parse(&scrape(metrics_addr).await.1);
    assert_eq!(
        value(&samples, "onec_sse_clients", &[("stream", "all")]),
        1.0
    );

    import_all_kinds(addr, &cookie).await;

    // A start refused by the lock (held by "someone else").
    let mut redis = redis_conn(REDIS_URL).await.expect("Redis");
    let _: () = redis.set(env.lock_key(), "other-run:token").await.unwrap();
    let refused = start_import(addr, &cookie, &["catalog"]).await;
    let _: () = redis.del(env.lock_key()).await.unwrap();
    assert_eq!(refused, Err(ALREADY_RUNNING.to_owned()));

    let samples = parse(&scrape(metrics_addr).await.1);

    // Per kind: one start, one completion, one duration observation.
    let (_, sessions) = runs_and_sessions(&env.database_url).await;
    assert_eq!(sessions.len(), 4);
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    for s in &sessions {
        let kind = s.import_type.as_str();
        assert_eq!(s.status, "completed");
        assert_eq!(
            value(&samples, "onec_imports_started_total", &[("kind", kind)]),
            1.0
        );
        assert_eq!(
            value(
                &samples,
                "onec_imports_finished_total",
                &[("kind", kind), ("status", "completed")]
            ),
            1.0,
            "{kind}"
        );
        assert_eq!(
            value(
                &samples,
                "onec_import_duration_seconds_count",
                &[("kind", kind)]
            ),
            1.0
        );
        let took = (s.finished_at.unwrap() - s.started_at).num_milliseconds() as f64 / 1000.0;
        let sum = value(
            &samples,
            "onec_import_duration_seconds_sum",
            &[("kind", kind)],
        );
        assert!(
            sum > 0.0 && sum <= took + 0.5,
            "{kind}: {sum} s vs session {took} s"
        );
        let report: serde_json::Value = serde_json::from_str(&s.report).unwrap();
        for (key, n) in report["counts"].as_object().unwrap() {
            if key == "skipped" {
                for (reason, n) in n.as_object().unwrap() {
                    *skipped.entry(reason.clone()).or_default() += n.as_u64().unwrap();
                }
            } else {
                let counter = wire::Counter::parse(key).unwrap_or_else(|| {
                    panic!("a stored counter this version does not know: {key}")
                });
                if let Some(table) = engine::run::metric::table_of(counter) {
                    *rows.entry(table.to_owned()).or_default() += n.as_u64().unwrap();
                }
            }
        }
    }
    for (table, n) in &rows {
        assert_eq!(
            value(&samples, "onec_import_rows_total", &[("table", table)]),
            *n as f64,
            "rows of {table}"
        );
    }
    for table in ["products", "offers", "prices", "stock_rows", "customers"] {
        assert!(
            rows.get(table).copied().unwrap_or(0) > 0,
            "{table}: {rows:?}"
        );
    }
    let total_rows: f64 = value(&samples, "onec_import_rows_total", &[]);
    assert_eq!(total_rows, rows.values().sum::<u64>() as f64);
    assert!(
        skipped.values().sum::<u64>() > 0,
        "the generated export has records to skip"
    );
    for (reason, n) in &skipped {
        assert_eq!(
            value(&samples, "onec_import_skipped_total", &[("reason", reason)]),
            *n as f64,
            "skipped for {reason}"
        );
    }

    assert_eq!(value(&samples, "onec_import_lock_refusals_total", &[]), 1.0);
    assert_eq!(value(&samples, "onec_login_failures_total", &[]), 2.0);
    // Three logins and two starts (one refused); the run's own stream.
    assert_eq!(
        value(
            &samples,
            "onec_http_requests_total",
            &[("route", "/api/login")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &samples,
            "onec_http_requests_total",
            &[("route", "/api/start_import")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            "onec_http_requests_total",
            &[("route", "/events/runs/{run_id}"), ("status", "200")]
        ),
        1.0
    );
    assert!(
        value(
            &samples,
            "onec_http_request_duration_seconds_count",
            &[("route", "/api/login")]
        ) == 3.0
    );

    // The monitor's stream is counted until the browser goes away.
    drop(monitor);
    let gone = poll(Duration::from_secs(40), || async {
        let s = parse(&scrape(metrics_addr).await.1);
        (value(&s, "onec_sse_clients", &[("stream", "all")]) == 0.0).then_some(())
    })
    .await;
    assert!(gone.is_some(), "the closed stream is still counted");
    cleanup_redis(REDIS_URL, &env.prefix).await;
}
