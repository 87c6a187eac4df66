use std::path::{Component, Path, PathBuf};

use app::ssr::{AppState, CurrentAdmin};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// What the login check needs: the app, and where the static files are.
#[derive(Clone)]
pub struct GuardState {
    pub app: AppState,
    pub dist: PathBuf,
}

/// Addresses open without a login: the login page and its server function, the health check.
fn is_public_route(path: &str) -> bool {
    matches!(path, "/login" | "/api/login" | "/healthz")
}

/// A file Trunk built (script, wasm, stylesheet, icon): the login page needs them too.
/// `index.html` is not one of them; it is the app and stands behind the login.
fn is_static_asset(dist: &Path, path: &str) -> bool {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.as_os_str().is_empty()
        || rel == Path::new("index.html")
        || !rel.components().all(|c| matches!(c, Component::Normal(_)))
    {
        return false;
    }
    dist.join(rel).is_file()
}

/// Lets a request through only with a live session; the administrator goes into the request's
/// extensions for the server functions. Without one, pages redirect to the login page and
/// everything else (server functions, event streams) answers 401.
pub async fn require_admin(State(g): State<GuardState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let session = match g.app.session_token(req.headers()) {
        Some(token) => {
            match engine::auth::check_session(&g.app.db, &token, &g.app.login.sessions).await {
                Ok(s) => s.map(|s| (token, s)),
                Err(e) => {
                    tracing::error!(error = %e, "session lookup failed");
                    return (StatusCode::SERVICE_UNAVAILABLE, "База данных недоступна")
                        .into_response();
                }
            }
        }
        None => None,
    };
    if let Some((token, session)) = session {
        if path == "/login" && req.method() == Method::GET {
            return Redirect::to("/").into_response();
        }
        // The expiry slid forward: so does the cookie's, or the browser would drop it at the
        // first Max-Age whatever the activity. A response that sets the cookie itself (login,
        // logout) keeps its own.
        let renewed = session
            .renewed
            .map(|left| g.app.session_cookie(req.headers(), Some(&token), left));
        req.extensions_mut().insert(CurrentAdmin(session.admin));
        let mut res = next.run(req).await;
        if let Some(cookie) = renewed
            && !res.headers().contains_key(header::SET_COOKIE)
        {
            res.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        return res;
    }
    if is_public_route(&path) || (req.method() == Method::GET && is_static_asset(&g.dist, &path)) {
        return next.run(req).await;
    }
    if req.method() == Method::GET && wants_html(req.headers()) && !path.starts_with("/api/") {
        let target = if path == "/" {
            "/login".to_owned()
        } else {
            format!("/login?next={}", encode_next(&path))
        };
        return Redirect::to(&target).into_response();
    }
    unauthorized()
}

/// The path as a query value: every byte but unreserved characters and `/` percent-encoded, so
/// the login page reads back exactly the path that was asked for (`/%5Cx` stays `/%5Cx`, never
/// becomes `/\x`), and `&`, `#` or `+` in it cannot change the query.
fn encode_next(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// 401 in the server functions' error encoding, so the app knows to show the login page.
pub fn unauthorized() -> Response {
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#""Unauthorized""#))
        .unwrap_or_else(|_| StatusCode::UNAUTHORIZED.into_response())
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|a| a.contains("text/html") || a.contains("*/*"))
}

/// Refuses state-changing requests that a browser sent from another site (CSRF): by
/// `Sec-Fetch-Site` where the browser sends it, else by comparing `Origin` with `Host`.
/// Requests without either header do not come from a browser page and carry no ambient cookie
/// risk.
pub async fn same_origin(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || is_same_origin(req.headers())
    {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "cross-origin request refused");
    (StatusCode::FORBIDDEN, "Запрос с другого сайта отклонён").into_response()
}

fn is_same_origin(h: &HeaderMap) -> bool {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match (get("origin"), get("host")) {
        (Some(origin), Some(host)) => {
            origin
                .split_once("://")
                .map(|(_, rest)| rest.trim_end_matches('/'))
                == Some(host)
        }
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_rules() {
        assert!(is_same_origin(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "none")])));
        assert!(!is_same_origin(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://a:1"),
            ("host", "a:1")
        ])));
        assert!(!is_same_origin(&headers(&[(
            "sec-fetch-site",
            "same-site"
        )])));
        assert!(is_same_origin(&headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000")
        ])));
        assert!(!is_same_origin(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:3000")
        ])));
        assert!(!is_same_origin(&headers(&[
            ("origin", "null"),
            ("host", "127.0.0.1:3000")
        ])));
        assert!(!is_same_origin(&headers(&[("origin", "http://a")])));
        assert!(is_same_origin(&HeaderMap::new()));
    }

    #[test]
    fn only_built_files_are_public_assets() {
        let dir = std::env::temp_dir().join(format!("onec-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("app.js"), "").unwrap();
        std::fs::write(dir.join("index.html"), "").unwrap();
        assert!(is_static_asset(&dir, "/app.js"));
        assert!(!is_static_asset(&dir, "/index.html"));
        assert!(!is_static_asset(&dir, "/"));
        assert!(!is_static_asset(&dir, "/missing.js"));
        assert!(!is_static_asset(&dir, "/../etc/passwd"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            is_public_route("/healthz")
                && is_public_route("/api/login")
                && !is_public_route("/api/whoami")
        );
    }

    #[test]
    fn the_next_path_is_percent_encoded() {
        assert_eq!(encode_next("/sessions/1"), "/sessions/1");
        assert_eq!(encode_next("/%5Cevil.example"), "/%255Cevil.example");
        assert_eq!(encode_next("/a&next=//x#y+z"), "/a%26next%3D//x%23y%2Bz");
        assert_eq!(encode_next("/%D0%B0"), "/%25D0%25B0");
    }

    #[test]
    fn browsers_asking_for_pages_want_html() {
        assert!(wants_html(&headers(&[(
            "accept",
            "text/html,application/xhtml+xml"
        )])));
        assert!(wants_html(&HeaderMap::new()));
        assert!(!wants_html(&headers(&[("accept", "text/event-stream")])));
    }
}
