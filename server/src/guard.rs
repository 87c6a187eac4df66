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

/// The addresses administrators open the app at (`ONEC_PUBLIC_ORIGIN`, else derived from
/// `ONEC_BIND`): a request for any other `Host` is refused (DNS rebinding), and a state-changing
/// request must come from one of these origins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<Origin>);

/// `scheme://host[:port]`, the host in lower case, the port explicit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "https" { 443 } else { 80 }
}

/// `host[:port]` (`[v6]:port` too) into the host in lower case and the port, if given.
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{h}]"), port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (s.to_owned(), None),
        }
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c))
    {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

impl Origin {
    /// `http://host[:port]` or `https://…`, nothing after the authority but an optional `/`.
    pub fn parse(s: &str) -> Option<Origin> {
        let (scheme, rest) = s.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let (host, port) = split_host_port(rest.strip_suffix('/').unwrap_or(rest))?;
        let port = port.unwrap_or_else(|| default_port(&scheme));
        Some(Origin { scheme, host, port })
    }

    /// Whether a `Host` header names this origin (no port: the scheme's default).
    fn serves_host(&self, host: &str, port: Option<u16>) -> bool {
        self.host == host && port.unwrap_or_else(|| default_port(&self.scheme)) == self.port
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if self.port != default_port(&self.scheme) {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

impl AllowedOrigins {
    /// A comma-separated list of origins; the problem, in Russian, when one is malformed.
    pub fn parse_list(s: &str) -> Result<AllowedOrigins, String> {
        let mut list = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let origin = Origin::parse(item).ok_or_else(|| {
                format!("ожидается адрес вида https://shop-admin.example или http://127.0.0.1:3000, получено «{item}»")
            })?;
            list.push(origin);
        }
        if list.is_empty() {
            return Err("пустой список адресов".into());
        }
        Ok(AllowedOrigins(list))
    }

    /// What the server answers as when nothing is configured: `http://` and the address it
    /// listens on; for a loopback or all-interfaces address, `127.0.0.1`, `localhost` and
    /// `[::1]` with its port.
    pub fn for_bind(addr: std::net::SocketAddr) -> AllowedOrigins {
        let port = addr.port();
        let ip = addr.ip();
        let hosts: Vec<String> = if ip.is_loopback() || ip.is_unspecified() {
            vec!["127.0.0.1".into(), "localhost".into(), "[::1]".into()]
        } else if ip.is_ipv6() {
            vec![format!("[{ip}]")]
        } else {
            vec![ip.to_string()]
        };
        AllowedOrigins(
            hosts
                .into_iter()
                .map(|host| Origin {
                    scheme: "http".into(),
                    host,
                    port,
                })
                .collect(),
        )
    }

    /// Whether a `Host` header (or HTTP/2 authority) names one of the allowed origins.
    pub fn allows_host(&self, host: &str) -> bool {
        split_host_port(host).is_some_and(|(h, p)| self.0.iter().any(|o| o.serves_host(&h, p)))
    }

    /// Whether an `Origin` header is one of the allowed origins (`null` never is).
    pub fn allows_origin(&self, origin: &str) -> bool {
        Origin::parse(origin).is_some_and(|o| self.0.contains(&o))
    }

    /// The list, as `ONEC_PUBLIC_ORIGIN` would spell it.
    pub fn list(&self) -> String {
        self.0
            .iter()
            .map(Origin::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Refuses a request for a `Host` that is not one of the allowed origins (421: a DNS-rebinding
/// page talks to us under its own name), and state-changing requests that a browser sent from
/// another site (CSRF, 403): `Origin`, when present, must be an allowed origin, and
/// `Sec-Fetch-Site`, when present, `same-origin` or `none`. Requests without `Host`, `Origin`
/// and `Sec-Fetch-Site` do not come from a browser page and carry no ambient cookie risk.
pub async fn same_origin(
    State(allowed): State<std::sync::Arc<AllowedOrigins>>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    if let Some(host) = host
        && !allowed.allows_host(&host)
    {
        tracing::warn!(%host, path = %req.uri().path(), "request for an unknown host refused");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "Неизвестный адрес сервера (ONEC_PUBLIC_ORIGIN)",
        )
            .into_response();
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || is_same_origin(req.headers(), &allowed)
    {
        return next.run(req).await;
    }
    tracing::warn!(path = %req.uri().path(), "cross-origin request refused");
    (StatusCode::FORBIDDEN, "Запрос с другого сайта отклонён").into_response()
}

fn is_same_origin(h: &HeaderMap, allowed: &AllowedOrigins) -> bool {
    let get = |name: &str| h.get(name).map(|v| v.to_str().unwrap_or_default());
    if let Some(site) = get("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    get("origin").is_none_or(|origin| allowed.allows_origin(origin))
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

    fn local() -> AllowedOrigins {
        AllowedOrigins::for_bind("127.0.0.1:3000".parse().unwrap())
    }

    #[test]
    fn origin_rules() {
        fn ok(pairs: &[(&'static str, &'static str)]) -> bool {
            is_same_origin(&headers(pairs), &local())
        }
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(ok(&[("sec-fetch-site", "none")]));
        assert!(!ok(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:3000"),
        ]));
        assert!(!ok(&[("sec-fetch-site", "same-site")]));
        assert!(ok(&[("origin", "http://127.0.0.1:3000")]));
        assert!(ok(&[("origin", "http://localhost:3000")]));
        assert!(!ok(&[("origin", "http://evil.example")]));
        assert!(!ok(&[("origin", "null")]));
        assert!(!ok(&[("origin", "http://127.0.0.1:3001")]));
        assert!(!ok(&[("origin", "https://127.0.0.1:3000")]));
        // A DNS-rebinding page is same-origin to the browser: its Origin still gives it away.
        assert!(!ok(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://rebind.example:3000"),
        ]));
        assert!(is_same_origin(&HeaderMap::new(), &local()));
    }

    #[test]
    fn allowed_origins_are_parsed_and_matched() {
        let a = AllowedOrigins::parse_list(" https://Shop-Admin.example/ ,http://127.0.0.1:3000")
            .unwrap();
        assert_eq!(a.list(), "https://shop-admin.example,http://127.0.0.1:3000");
        assert!(a.allows_host("shop-admin.example"));
        assert!(a.allows_host("shop-admin.example:443"));
        assert!(!a.allows_host("shop-admin.example:80"));
        assert!(a.allows_host("127.0.0.1:3000"));
        assert!(!a.allows_host("127.0.0.1"));
        assert!(!a.allows_host("localhost:3000"));
        assert!(!a.allows_host("evil.example"));
        assert!(!a.allows_host(""));
        assert!(a.allows_origin("https://shop-admin.example"));
        assert!(!a.allows_origin("http://shop-admin.example"));
        for bad in [
            "",
            "shop-admin.example",
            "ftp://x",
            "https://a/b",
            "http://a:99999",
        ] {
            assert!(AllowedOrigins::parse_list(bad).is_err(), "{bad}");
        }
        let any = AllowedOrigins::for_bind("0.0.0.0:8080".parse().unwrap());
        assert_eq!(
            any.list(),
            "http://127.0.0.1:8080,http://localhost:8080,http://[::1]:8080"
        );
        assert!(any.allows_host("[::1]:8080") && !any.allows_host("10.0.0.5:8080"));
        let lan = AllowedOrigins::for_bind("10.0.0.5:3000".parse().unwrap());
        assert!(lan.allows_host("10.0.0.5:3000") && !lan.allows_host("127.0.0.1:3000"));
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
