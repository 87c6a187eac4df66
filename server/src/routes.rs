use std::path::{Path, PathBuf};

use app::ssr::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Version, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::{Extension, Router, middleware};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use leptos::prelude::provide_context;
use sea_orm::ConnectionTrait;
use sha2::Digest;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::events::{self, EventHub};
use crate::guard::{self, AllowedOrigins};

/// The whole HTTP surface, answering as the default address (`http://127.0.0.1:3000`,
/// `localhost`); [`router_for`] with the configured origins.
pub fn router(state: AppState, dist: &Path) -> Router {
    router_for(
        state,
        dist,
        AllowedOrigins::for_bind(std::net::SocketAddr::from(([127, 0, 0, 1], 3000))),
    )
}

/// The whole HTTP surface without the 1C exchange's settings (its endpoint answers that it is
/// not configured); [`router_with`] with them.
pub fn router_for(state: AppState, dist: &Path, origins: AllowedOrigins) -> Router {
    router_with(state, dist, origins, None)
}

/// The whole HTTP surface. Layers run outside-in: request span, metrics, compression, security
/// headers; then, for the app, host and same-origin check, login check, the route
/// (`Cache-Control: no-store` on the API, the health check and the event streams); the 1C
/// exchange (`/1c/…`) has its own login and stands outside those two checks.
pub fn router_with(
    state: AppState,
    dist: &Path,
    origins: AllowedOrigins,
    exchange: Option<Arc<crate::exchange1c::Exchange>>,
) -> Router {
    let api_state = state.clone();
    let shared_redis = events::SharedRedis::new(state.redis.clone());
    let hub = EventHub::spawn(
        state.redis.clone(),
        shared_redis.clone(),
        state.runner.keys(),
    );
    let spa = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    #[expect(clippy::expect_used, reason = "the policy is built of ASCII only")]
    let csp =
        HeaderValue::from_str(&content_security_policy(dist)).expect("the policy is plain ASCII");
    Router::new()
        .route(
            "/api/{*fn_name}",
            post(move |req: Request<Body>| {
                let st = api_state.clone();
                leptos_axum::handle_server_fns_with_context(
                    move || provide_context(st.clone()),
                    req,
                )
            }),
        )
        .route("/healthz", get(healthz))
        .route("/events", get(events::all_runs))
        .route("/events/runs/{run_id}", get(events::run_stream))
        .route("/events/exchanges", get(events::exchanges))
        // Only the routes above: the app's files may be cached.
        .route_layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .fallback_service(spa)
        .layer(axum::Extension(hub))
        .layer(axum::Extension(shared_redis.clone()))
        .layer(middleware::from_fn_with_state(
            guard::GuardState {
                app: state.clone(),
                dist: PathBuf::from(dist),
            },
            guard::require_admin,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::new(origins),
            guard::same_origin,
        ))
        .merge(crate::exchange1c::router(exchange, shared_redis))
        // Every answer: no framing, no MIME sniffing, no referrer to other sites, the CSP.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .compress_when(DefaultPredicate::new().and(is_app_file)),
        )
        .layer(middleware::from_fn(crate::metrics::track_http))
        .layer(middleware::from_fn(crate::logging::request_span))
        .with_state(state)
}

/// Compress the app's own files (wasm, scripts, styles, the page); never an event stream
/// (`DefaultPredicate` leaves out `text/event-stream`, and this list does not name it: a
/// compressor would hold events back) nor the API's answers.
fn is_app_file(_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            [
                "application/wasm",
                "text/javascript",
                "application/javascript",
                "text/css",
                "text/html",
                "image/svg+xml",
            ]
            .iter()
            .any(|t| ct.starts_with(t))
        })
}

/// The Content-Security-Policy of every answer: only this origin's scripts, styles, images and
/// connections; wasm compiled from those scripts (`'wasm-unsafe-eval'`); the one inline script
/// Trunk writes into `index.html` (it imports the app's JS and starts the wasm), allowed by
/// its SHA-256, computed here from the file being served — so a new build needs a restart;
/// no plugins, no `<base>`, forms only to this origin, never framed.
pub fn content_security_policy(dist: &Path) -> String {
    let html = std::fs::read_to_string(dist.join("index.html")).unwrap_or_default();
    let hashes: String = inline_scripts(&html)
        .map(|body| {
            let digest = sha2::Sha256::digest(body.as_bytes());
            format!(" 'sha256-{}'", BASE64.encode(digest))
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The text of every `<script>` without a `src` attribute, exactly as the browser hashes it.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    let mut rest = html;
    std::iter::from_fn(move || {
        loop {
            let open = rest.find("<script")?;
            let after = &rest[open..];
            let tag_end = after.find('>')?;
            let tag = &after[..tag_end];
            let body_start = &after[tag_end + 1..];
            let close = body_start.find("</script>")?;
            rest = &body_start[close + "</script>".len()..];
            if !tag.contains(" src=") {
                return Some(&body_start[..close]);
            }
        }
    })
}

/// `GET /healthz` (open to anyone): whether the database and Redis answer, as JSON with only
/// `ok` / `error` per component — the reasons go to the log; 503 when one does not. Uses the
/// database pool and the shared Redis connection: a call opens no connection of its own.
async fn healthz(
    State(st): State<AppState>,
    Extension(redis): Extension<events::SharedRedis>,
) -> Response {
    let db = match tokio::time::timeout(
        std::time::Duration::from_secs(2),
        st.db.execute_unprepared("SELECT 1"),
    )
    .await
    {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            false
        }
        Err(_) => {
            tracing::warn!("health check: the database does not answer within 2 s");
            false
        }
    };
    let redis = match redis.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "health check: Redis does not answer");
            false
        }
    };
    let word = |ok: bool| if ok { "ok" } else { "error" };
    let body = serde_json::json!({
        "status": if db && redis { "ok" } else { "degraded" },
        "database": word(db),
        "redis": word(redis),
    });
    let code = if db && redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn trunks_loader_is_hashed_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("onec-csp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("index.html"),
            "<head><script type=\"module\">import init from '/a.js';await init();</script>\
             <script src=\"/b.js\"></script></head>",
        )
        .unwrap();
        let csp = super::content_security_policy(&dir);
        // printf "import init from '/a.js';await init();" | openssl dgst -sha256 -binary | base64
        assert!(
            csp.contains(
                "script-src 'self' 'wasm-unsafe-eval' \
                 'sha256-awrdIpltG+fqPljz70QRUhUm+Xm7Xz1+HvomlNs4Osw='; "
            ),
            "{csp}"
        );
        assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
        std::fs::remove_dir_all(&dir).unwrap();
        let none = super::content_security_policy(std::path::Path::new("/nonexistent"));
        assert!(!none.contains("sha256") && none.contains("frame-ancestors 'none'"));
    }
}
