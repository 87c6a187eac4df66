use std::path::{Path, PathBuf};

use app::ssr::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use leptos::prelude::provide_context;
use sea_orm::ConnectionTrait;
use tower_http::services::{ServeDir, ServeFile};

use crate::events::{self, EventHub};
use crate::guard;

/// The whole HTTP surface. Layers run outside-in: security headers, same-origin check, login
/// check, then the route.
pub fn router(state: AppState, dist: &Path) -> Router {
    let api_state = state.clone();
    let hub = EventHub::spawn(state.redis.clone(), state.runner.keys().events());
    let spa = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
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
        .fallback_service(spa)
        .layer(axum::Extension(hub))
        .layer(middleware::from_fn_with_state(
            guard::GuardState {
                app: state.clone(),
                dist: PathBuf::from(dist),
            },
            guard::require_admin,
        ))
        .layer(middleware::from_fn(guard::same_origin))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(crate::metrics::track_http))
        .layer(middleware::from_fn(crate::logging::request_span))
        .with_state(state)
}

/// Headers every answer carries: no framing, no MIME sniffing, no referrer to other sites.
async fn security_headers(req: Request, next: middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// `GET /healthz`: whether the database and Redis answer, as JSON; 503 when one does not.
async fn healthz(State(st): State<AppState>) -> Response {
    let db = match st.db.execute_unprepared("SELECT 1").await {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("error: {e}"),
    };
    let redis = match redis_ping(&st.redis).await {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("error: {e}"),
    };
    let ok = db == "ok" && redis == "ok";
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "degraded" },
        "database": db,
        "redis": redis,
    });
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn redis_ping(client: &engine::redis::Client) -> Result<(), String> {
    let fut = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        engine::redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), fut).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("нет ответа за 2 с".into()),
    }
}
