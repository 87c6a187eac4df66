//! Every route and every server function refuses an anonymous caller; cross-site POSTs are
//! refused; cookies carry their flags (the login limiter: `login.rs`). Real SQLite and Redis, the real
//! router, no socket (tower's `oneshot`).
use app::ssr::AppState;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use engine::testing::TestDb;
use tower::ServiceExt;

struct App {
    router: axum::Router,
    db: TestDb,
    prefix: String,
    dist: std::path::PathBuf,
}

async fn app() -> App {
    let db = TestDb::sqlite().await;
    let prefix = format!("sec-test-{}", hex_id());
    let redis = engine::redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let runner = engine::run::Runner::new(db.db.clone(), redis.clone(), None).with_prefix(&prefix);
    let state = AppState {
        db: db.db.clone(),
        redis,
        secure_cookies: false,
        runner,
        login: Default::default(),
    };
    let dist = std::env::temp_dir().join(format!("{prefix}-dist"));
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<html>app</html>").unwrap();
    std::fs::write(dist.join("app-123.js"), "js").unwrap();
    engine::auth::upsert_admin(&state.db, "admin", "s3cret-pass")
        .await
        .unwrap();
    App {
        router: server::routes::router(state, &dist),
        db,
        prefix,
        dist,
    }
}

fn hex_id() -> String {
    format!("{:x}{:x}", std::process::id(), rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

impl App {
    async fn send(&self, req: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(req).await.unwrap()
    }

    async fn login(&self, password: &str) -> axum::response::Response {
        self.send(
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("login=admin&password={password}")))
                .unwrap(),
        )
        .await
    }

    async fn done(self) {
        // The login limiter's keys of this test.
        let mut conn = engine::redis::Client::open("redis://127.0.0.1:6379")
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let keys: Vec<String> = engine::redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = engine::redis::cmd("DEL")
                .arg(keys)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        std::fs::remove_dir_all(&self.dist).ok();
        self.db.drop_db().await;
    }
}

async fn body_text(res: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn every_server_function_refuses_an_anonymous_caller() {
    let app = app().await;
    let paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    assert!(paths.len() >= 9, "server functions registered: {paths:?}");
    for path in paths.iter().filter(|p| p.as_str() != "/api/login") {
        let res = app
            .send(
                Request::post(path.as_str())
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("page=0&id=1&run_id=x&kinds[0]=catalog"))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body_text(res).await, r#""Unauthorized""#, "{path}");
    }
    app.done().await;
}

#[tokio::test]
async fn pages_redirect_to_login_and_streams_answer_401() {
    let app = app().await;
    for (path, target) in [
        ("/", "/login"),
        ("/import", "/login?next=/import"),
        ("/sessions/1", "/login?next=/sessions/1"),
        ("/anything", "/login?next=/anything"),
        ("/index.html", "/login?next=/index.html"),
    ] {
        let res = app
            .send(
                Request::get(path)
                    .header(header::ACCEPT, "text/html")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()[header::LOCATION], target, "{path}");
    }
    for path in ["/events", "/events/runs/abc"] {
        let res = app
            .send(
                Request::get(path)
                    .header(header::ACCEPT, "text/event-stream")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Open: the login page, the health check, and built assets.
    let res = app
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "<html>app</html>");
    let res = app
        .send(Request::get("/app-123.js").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let health: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "database": "ok", "redis": "ok"})
    );
    app.done().await;
}

#[tokio::test]
async fn a_login_sets_a_strict_httponly_cookie_that_opens_the_app() {
    let app = app().await;
    let res = app.login("s3cret-pass").await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");

    let res = app
        .send(
            Request::get("/")
                .header(header::COOKIE, &pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .send(
            Request::get("/login")
                .header(header::COOKIE, &pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "a logged-in visit to /login goes home"
    );
    let res = app
        .send(
            Request::post("/api/whoami")
                .header(header::COOKIE, &pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(body_text(res).await, r#"{"login":"admin"}"#);

    // Behind a TLS proxy the cookie is Secure.
    let res = app
        .send(
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header("x-forwarded-proto", "https")
                .body(Body::from("login=admin&password=s3cret-pass"))
                .unwrap(),
        )
        .await;
    assert!(
        res.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .ends_with("; Secure")
    );
    app.done().await;
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = app().await;
    for (name, value) in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let res = app
            .send(
                Request::post("/api/login")
                    .header("host", "127.0.0.1:3000")
                    .header(name, value)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("login=admin&password=s3cret-pass"))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(res.headers().get(header::SET_COOKIE).is_none());
    }
    let res = app
        .send(
            Request::post("/api/login")
                .header("host", "127.0.0.1:3000")
                .header("origin", "http://127.0.0.1:3000")
                .header("sec-fetch-site", "same-origin")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("login=admin&password=s3cret-pass"))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.done().await;
}
