//! Prometheus metrics: `GET /metrics` in the text format, served on its own address only
//! (`ONEC_METRICS_BIND`; off by default, never on the public address).
//!
//! The import engine records runs, rows, skips and lock refusals into the `metrics` facade
//! (`engine::run::metric`), and logins refused into `engine::auth::LOGIN_FAILURES`; this module
//! installs the recorder they land in, counts HTTP requests and live event streams, and renders
//! everything with `metrics-exporter-prometheus`. Without `ONEC_METRICS_BIND` no recorder is
//! installed and every recording is a no-op.
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use futures::StreamExt;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// HTTP requests answered, by `route` and `status`.
pub const HTTP_REQUESTS: &str = "onec_http_requests_total";
/// Time to the response head, by `route` (histogram, seconds; an event stream counts until its
/// head, not for as long as it stays open).
pub const HTTP_DURATION: &str = "onec_http_request_duration_seconds";
/// Event streams open right now, by `stream` (`run`: one run's progress; `all`: the monitor).
pub const SSE_CLIENTS: &str = "onec_sse_clients";

/// Buckets of a kind's duration: a small price list takes well under a second, a 100 000
/// product catalog minutes.
const IMPORT_BUCKETS: [f64; 13] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];
/// Buckets of a request's latency.
const HTTP_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(engine::run::metric::DURATION.into()),
            &IMPORT_BUCKETS,
        )?
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &HTTP_BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    // Another thread may have won the race: then its recorder is the one in use.
    if metrics::set_global_recorder(recorder).is_ok() {
        describe();
        let _ = HANDLE.set(handle);
    }
    HANDLE
        .get()
        .cloned()
        .context("a metrics recorder was installed by someone else")
}

fn describe() {
    use engine::run::metric as m;
    metrics::describe_counter!(m::STARTED, "Import kinds started, by kind");
    metrics::describe_counter!(
        m::FINISHED,
        "Import kinds finished, by kind and status (completed, failed, cancelled)"
    );
    metrics::describe_histogram!(
        m::DURATION,
        metrics::Unit::Seconds,
        "How long an import kind took, by kind"
    );
    metrics::describe_counter!(m::ROWS, "Rows written by completed imports, by table");
    metrics::describe_counter!(m::SKIPPED, "Records skipped by imports, by reason");
    metrics::describe_counter!(
        m::LOCK_REFUSALS,
        "Import starts refused because another import held the lock"
    );
    metrics::describe_counter!(
        engine::auth::LOGIN_FAILURES,
        "Logins refused for a wrong login or password"
    );
    metrics::describe_gauge!(SSE_CLIENTS, "Event streams open now, by stream");
    metrics::describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by route and status");
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to the response head, by route"
    );
}

/// The metrics listener: `GET /metrics` and nothing else.
pub struct MetricsServer {
    listener: TcpListener,
    handle: PrometheusHandle,
}

impl MetricsServer {
    /// Installs the recorder and binds `addr`.
    pub async fn bind(addr: SocketAddr) -> anyhow::Result<MetricsServer> {
        let handle = install()?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("не удалось занять адрес {addr} (ONEC_METRICS_BIND)"))?;
        Ok(MetricsServer { listener, handle })
    }

    /// The address actually bound.
    #[expect(clippy::expect_used, reason = "a bound listener always has an address")]
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until the process ends.
    pub async fn run(self) -> std::io::Result<()> {
        let handle = self.handle;
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let handle = handle.clone();
                async move {
                    handle.run_upkeep();
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                        )],
                        handle.render(),
                    )
                }
            }),
        );
        axum::serve(self.listener, app).await
    }
}

/// The server functions (`app/src/api.rs`): their names are the only `/api/…` routes that get a
/// label of their own, so a client cannot create series at will.
const API_ROUTES: [&str; 12] = [
    "login",
    "logout",
    "whoami",
    "list_sessions",
    "get_session",
    "catalog_status",
    "start_import",
    "cancel_import",
    "latest_run",
    "start_preview",
    "preview_files",
    "exchange_page",
];

/// The `route` label of a path: one per server function and event stream, and one for
/// everything else (pages and static files).
pub fn route_label(path: &str) -> String {
    if let Some(name) = path.strip_prefix("/api/") {
        return if API_ROUTES.contains(&name) {
            format!("/api/{name}")
        } else {
            "/api/{other}".into()
        };
    }
    match path {
        "/healthz" | "/events" | "/events/exchanges" | "/login" => path.into(),
        p if p.starts_with("/events/runs/") => "/events/runs/{run_id}".into(),
        p if p == "/1c" || p.starts_with("/1c/") => crate::exchange1c::PATH.into(),
        _ => "/{page_or_file}".into(),
    }
}

/// Counts the request and its latency; keeps [`SSE_CLIENTS`] up while an event stream is open.
pub async fn track_http(req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "status" => status).increment(1);
    let is_stream = res.status().is_success()
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !is_stream {
        return res;
    }
    let stream = match route.as_str() {
        "/events" => "all",
        "/events/exchanges" => "exchanges",
        _ => "run",
    };
    let open = OpenStream::new(stream);
    let (parts, body) = res.into_parts();
    // The guard lives in the body: it ends when the server drops the stream (the browser left,
    // or the run ended).
    let body = Body::from_stream(body.into_data_stream().map(move |chunk| {
        let _ = &open;
        chunk
    }));
    Response::from_parts(parts, body)
}

/// One open event stream, counted in [`SSE_CLIENTS`] until dropped.
struct OpenStream(&'static str);

impl OpenStream {
    fn new(stream: &'static str) -> Self {
        metrics::gauge!(SSE_CLIENTS, "stream" => stream).increment(1.0);
        OpenStream(stream)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        metrics::gauge!(SSE_CLIENTS, "stream" => self.0).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_server_function_has_its_route_label() {
        let api = include_str!("../../app/src/api.rs");
        let endpoints: Vec<&str> = api
            .split("#[server(endpoint = \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(endpoints.len() >= 9, "{endpoints:?}");
        for e in &endpoints {
            assert!(API_ROUTES.contains(e), "{e} has no route label");
            assert_eq!(route_label(&format!("/api/{e}")), format!("/api/{e}"));
        }
    }

    #[test]
    fn routes_are_a_short_fixed_list() {
        assert_eq!(route_label("/api/anything-else"), "/api/{other}");
        assert_eq!(route_label("/events/runs/abc"), "/events/runs/{run_id}");
        assert_eq!(route_label("/events"), "/events");
        assert_eq!(route_label("/events/exchanges"), "/events/exchanges");
        assert_eq!(route_label("/healthz"), "/healthz");
        assert_eq!(route_label("/1c/exchange"), "/1c/exchange");
        assert_eq!(route_label("/1c/exchange/../x"), "/1c/exchange");
        assert_eq!(route_label("/import"), "/{page_or_file}");
        assert_eq!(route_label("/frontend-1a2b.wasm"), "/{page_or_file}");
    }
}
