//! Every route and every server function refuses an anonymous caller; cross-site POSTs are
//! refused; cookies carry their flags (the login limiter: `login.rs`). Real SQLite and Redis, the real
//! router, no socket (tower's `oneshot`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use support::{REDIS_URL, RouterApp as App, body_text};

/// The shared router app with the default login policy and a built asset (`app-123.js`).
async fn app() -> App {
    let app = App::new("sec", false, REDIS_URL, Default::default()).await;
    std::fs::write(app.dist.path().join("app-123.js"), "js").unwrap();
    app
}

/// This suite's requests through the shared `support::RouterApp`.
impl App {
    async fn login(&self, password: &str) -> axum::response::Response {
        self.send(
            Request::post("/api/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("login=admin&password={password}")))
                .unwrap(),
        )
        .await
    }
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
        app.assert_redirects(path, target).await;
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

/// Like [`app`], with an `index.html` as Trunk writes it (an inline loader script, a 2 KiB
/// script file, a wasm file) and the given allowed origins (`None`: the default router).
async fn built_app(origins: Option<&str>) -> App {
    let mut app = app().await;
    let dist = app.dist.path();
    std::fs::write(dist.join("index.html"), INDEX_HTML).unwrap();
    std::fs::write(dist.join("app-123.js"), "console.log(1);\n".repeat(128)).unwrap();
    std::fs::write(dist.join("app-123_bg.wasm"), vec![0u8; 4096]).unwrap();
    // Built again: the policy hashes the `index.html` the router starts with.
    let state = app.state.clone();
    app.router = match origins {
        Some(list) => server::routes::router_for(
            state,
            dist,
            server::guard::AllowedOrigins::parse_list(list).unwrap(),
        ),
        None => server::routes::router(state, dist),
    };
    app
}

const INDEX_HTML: &str = "<!DOCTYPE html><html><head>\
<script type=\"module\">\nimport init, * as bindings from '/app-123.js';\n\
const wasm = await init({ module_or_path: '/app-123_bg.wasm' });\n</script>\
</head><body></body></html>";

fn login_request(host: &str, origin: Option<&str>, site: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/api/login")
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    if let Some(s) = site {
        b = b.header("sec-fetch-site", s);
    }
    b.body(Body::from("login=admin&password=s3cret-pass"))
        .unwrap()
}

#[tokio::test]
async fn only_the_public_origin_is_served() {
    let app = built_app(None).await;
    // DNS rebinding: the attacker's name resolves to our address; to the browser the page is
    // same-origin, so only the Host (and Origin) give it away.
    for req in [
        login_request(
            "rebind.example:3000",
            Some("http://rebind.example:3000"),
            Some("same-origin"),
        ),
        Request::get("/healthz")
            .header(header::HOST, "rebind.example:3000")
            .body(Body::empty())
            .unwrap(),
        Request::get("/login")
            .header(header::HOST, "127.0.0.1:3001")
            .body(Body::empty())
            .unwrap(),
    ] {
        let res = app.send(req).await;
        assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
        assert!(res.headers().get(header::SET_COOKIE).is_none());
        assert_eq!(
            body_text(res).await,
            "Неизвестный адрес сервера (ONEC_PUBLIC_ORIGIN)"
        );
    }
    // Our Host, but a foreign Origin, even when the browser calls it same-origin: 403.
    let res = app
        .send(login_request(
            "127.0.0.1:3000",
            Some("http://rebind.example:3000"),
            Some("same-origin"),
        ))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The default names of the default address pass.
    for (host, origin) in [
        ("127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("localhost:3000", "http://localhost:3000"),
    ] {
        let res = app
            .send(login_request(host, Some(origin), Some("same-origin")))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{host}");
    }
    app.done().await;

    // Behind a TLS proxy: only the configured name.
    let app = built_app(Some("https://shop-admin.example")).await;
    let res = app
        .send(login_request(
            "shop-admin.example",
            Some("https://shop-admin.example"),
            Some("same-origin"),
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .send(login_request(
            "127.0.0.1:3000",
            Some("http://127.0.0.1:3000"),
            None,
        ))
        .await;
    assert_eq!(res.status(), StatusCode::MISDIRECTED_REQUEST);
    let res = app
        .send(login_request(
            "shop-admin.example",
            Some("http://shop-admin.example"),
            None,
        ))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "http is another origin"
    );
    app.done().await;
}

#[tokio::test]
async fn answers_carry_a_csp_no_store_on_the_api_and_compressed_app_files() {
    let app = built_app(None).await;
    let res = app.login("s3cret-pass").await;
    let pair = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    // The page: the CSP allows exactly Trunk's loader (by hash) and wasm compilation.
    let res = app
        .send(
            Request::get("/login")
                .header(header::HOST, "127.0.0.1:3000")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let loader = INDEX_HTML
        .split_once("<script type=\"module\">")
        .unwrap()
        .1
        .split_once("</script>")
        .unwrap()
        .0;
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(loader));
    for part in [
        "default-src 'self'",
        &format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}';"),
        "style-src 'self';",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(res.headers()[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(res.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(res.headers()[header::REFERRER_POLICY], "same-origin");
    assert!(res.headers().get(header::CACHE_CONTROL).is_none());

    // The API, the health check and the event streams are never stored.
    for req in [
        Request::post("/api/whoami")
            .header(header::COOKIE, &pair)
            .body(Body::empty())
            .unwrap(),
        Request::get("/healthz").body(Body::empty()).unwrap(),
        Request::get("/events")
            .header(header::COOKIE, &pair)
            .header(header::ACCEPT_ENCODING, "gzip, br")
            .body(Body::empty())
            .unwrap(),
    ] {
        let path = req.uri().path().to_owned();
        let res = app.send(req).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store", "{path}");
        assert!(
            res.headers().contains_key(header::CONTENT_SECURITY_POLICY),
            "{path}"
        );
        if path == "/events" {
            // An event stream is never compressed: a compressor would hold events back.
            assert!(
                res.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/event-stream")
            );
            assert!(res.headers().get(header::CONTENT_ENCODING).is_none());
        }
    }

    // The app's files are compressed for browsers that accept it.
    for (path, encoding) in [
        ("/app-123.js", "gzip"),
        ("/app-123_bg.wasm", "br"),
        ("/app-123_bg.wasm", "gzip"),
    ] {
        let res = app
            .send(
                Request::get(path)
                    .header(header::ACCEPT_ENCODING, encoding)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()[header::CONTENT_ENCODING], encoding, "{path}");
        let compressed = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(
            compressed.len() < 1024,
            "{path}: {} bytes",
            compressed.len()
        );
    }
    app.done().await;
}
