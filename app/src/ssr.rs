//! Server-side halves of the server functions: the state they read, the administrator the
//! login middleware found, and the session cookie. Built only with the `ssr` feature.
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use engine::DatabaseConnection;
use engine::entity::admins;
use engine::kinds::{ImportKind, SessionStatus};
use engine::monitor::{self, SessionFilter};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::api::{AdminInfo, ApiError, PER_PAGE, SessionDetail, SessionPage, SessionRow};

/// The session cookie's name.
pub const COOKIE: &str = "onec_session";

/// What every request handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: engine::redis::Client,
    /// Mark cookies `Secure` even without `X-Forwarded-Proto: https` (the app sits behind TLS).
    pub secure_cookies: bool,
    /// Starts, cancels and reports import runs.
    pub runner: engine::run::Runner,
}

/// The administrator the login middleware found for this request.
#[derive(Clone, Debug)]
pub struct CurrentAdmin(pub admins::Model);

fn state() -> Result<AppState, ApiError> {
    use_context::<AppState>().ok_or_else(|| ApiError::Server("состояние сервера недоступно".into()))
}

fn parts() -> Result<Parts, ApiError> {
    use_context::<Parts>().ok_or_else(|| ApiError::Server("запрос недоступен".into()))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "server function failed");
    ApiError::Server("внутренняя ошибка, подробности в журнале сервера".into())
}

/// The logged-in administrator, or `Unauthorized`.
pub fn current_admin() -> Result<admins::Model, ApiError> {
    parts()?
        .extensions
        .get::<CurrentAdmin>()
        .map(|c| c.0.clone())
        .ok_or(ApiError::Unauthorized)
}

/// The session cookie's value in a request, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Whether the browser reached us over TLS (directly or through a proxy that says so).
pub fn is_tls(headers: &HeaderMap, always: bool) -> bool {
    always
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Secure over TLS; `None` clears the cookie.
pub fn session_cookie(token: Option<&str>, secure: bool) -> HeaderValue {
    let mut c = match token {
        Some(t) => format!(
            "{COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
            engine::auth::SESSION_TTL.num_seconds()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    if secure {
        c.push_str("; Secure");
    }
    // Only ASCII goes in: a hex token and fixed text.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Failed logins of one account allowed per [`LOGIN_WINDOW_SECS`]; then it is locked out.
pub const MAX_LOGIN_FAILURES: u64 = 10;
/// The window in which failed logins count.
pub const LOGIN_WINDOW_SECS: i64 = 15 * 60;

/// A Redis connection for the login limiter, or `None` when Redis does not answer quickly (the
/// limiter then steps aside rather than lock every administrator out).
async fn limiter_conn(st: &AppState) -> Option<engine::redis::aio::MultiplexedConnection> {
    let fut = st.redis.get_multiplexed_async_connection();
    match tokio::time::timeout(std::time::Duration::from_secs(2), fut).await {
        Ok(Ok(c)) => Some(c),
        _ => {
            tracing::warn!("login limiter unavailable (Redis)");
            None
        }
    }
}

pub(crate) async fn login(login: String, password: String) -> Result<AdminInfo, ApiError> {
    use engine::redis::AsyncCommands;
    let st = state()?;
    let parts = parts()?;
    let key = st.runner.keys().login_failures(&login);
    let mut limiter = limiter_conn(&st).await;
    if let Some(conn) = limiter.as_mut() {
        let failures: u64 = conn
            .get::<_, Option<u64>>(&key)
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        if failures >= MAX_LOGIN_FAILURES {
            tracing::warn!(login = %login.trim(), "login locked out after repeated failures");
            return Err(ApiError::Rejected(
                "⚠️ Слишком много неудачных попыток входа. Повторите через 15 минут.".into(),
            ));
        }
    }
    let Some(admin) = engine::auth::authenticate(&st.db, &login, &password)
        .await
        .map_err(internal)?
    else {
        if let Some(conn) = limiter.as_mut() {
            let _: Result<(), _> = engine::redis::pipe()
                .incr(&key, 1)
                .ignore()
                .expire(&key, LOGIN_WINDOW_SECS)
                .ignore()
                .query_async(conn)
                .await;
        }
        tracing::info!(login = %login.trim(), "login refused");
        return Err(ApiError::Message("❌ Неверный логин или пароль.".into()));
    };
    if let Some(conn) = limiter.as_mut() {
        let _: Result<(), _> = conn.del(&key).await;
    }
    let previous = session_token(&parts.headers);
    let token = engine::auth::start_session(&st.db, admin.id, previous.as_deref())
        .await
        .map_err(internal)?;
    let secure = is_tls(&parts.headers, st.secure_cookies);
    expect_context::<ResponseOptions>()
        .insert_header(header::SET_COOKIE, session_cookie(Some(&token), secure));
    tracing::info!(login = %admin.login, "administrator logged in");
    Ok(AdminInfo { login: admin.login })
}

pub(crate) async fn logout() -> Result<(), ApiError> {
    let st = state()?;
    let parts = parts()?;
    if let Some(token) = session_token(&parts.headers) {
        engine::auth::end_session(&st.db, &token)
            .await
            .map_err(internal)?;
    }
    let secure = is_tls(&parts.headers, st.secure_cookies);
    expect_context::<ResponseOptions>()
        .insert_header(header::SET_COOKIE, session_cookie(None, secure));
    Ok(())
}

fn row(m: engine::entity::import_sessions::Model) -> SessionRow {
    SessionRow {
        id: m.id,
        run_id: m.run_id,
        import_type: m.import_type,
        status: m.status,
        started_at: m.started_at.to_rfc3339(),
        finished_at: m.finished_at.map(|t| t.to_rfc3339()),
        processed: m.processed,
        total: m.total,
        error_message: m.error_message,
        triggered_by: m.triggered_by,
        mode: wire::RunMode::parse(&m.mode),
    }
}

/// The filter a monitor query asks for; unknown words are refused with a message.
pub fn parse_filter(
    status: Option<String>,
    kind: Option<String>,
    date: Option<String>,
) -> Result<SessionFilter, ApiError> {
    let mut f = SessionFilter::default();
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        f.status = Some(
            SessionStatus::parse(&s)
                .ok_or_else(|| ApiError::Message(format!("⚠️ Неизвестный статус: {s}")))?,
        );
    }
    if let Some(k) = kind.filter(|s| !s.is_empty()) {
        f.kind = Some(
            ImportKind::parse(&k)
                .ok_or_else(|| ApiError::Message(format!("⚠️ Неизвестный тип импорта: {k}")))?,
        );
    }
    if let Some(d) = date.filter(|s| !s.is_empty()) {
        let day = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            ApiError::Message(format!("⚠️ Дата должна быть в виде ГГГГ-ММ-ДД: {d}"))
        })?;
        let start = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        f.from = start;
        f.until = start.map(|s| s + chrono::Duration::days(1));
    }
    Ok(f)
}

pub(crate) async fn list_sessions(
    status: Option<String>,
    kind: Option<String>,
    date: Option<String>,
    page: u64,
) -> Result<SessionPage, ApiError> {
    current_admin()?;
    let st = state()?;
    let filter = parse_filter(status, kind, date)?;
    let (rows, total) = monitor::list_sessions(&st.db, &filter, page, PER_PAGE)
        .await
        .map_err(internal)?;
    let mut rows: Vec<SessionRow> = rows.into_iter().map(row).collect();
    // A running session's row is written only when its state changes; its live progress is in
    // the run state in Redis.
    if rows.iter().any(|r| r.status == "in_progress")
        && let Ok(Some(live)) = st.runner.latest().await
    {
        overlay_progress(&mut rows, &live);
    }
    Ok(SessionPage {
        rows,
        total,
        page,
        per_page: PER_PAGE,
    })
}

/// Copies processed/total of running kinds onto their rows.
pub fn overlay_progress(rows: &mut [SessionRow], live: &wire::RunState) {
    for k in live
        .kinds
        .iter()
        .filter(|k| k.phase == wire::KindPhase::Running)
    {
        if let Some(r) = rows
            .iter_mut()
            .find(|r| Some(r.id) == k.session_id && r.status == "in_progress")
        {
            r.processed = k.processed as i64;
            r.total = k.total as i64;
        }
    }
}

pub(crate) async fn session_detail(id: i64) -> Result<SessionDetail, ApiError> {
    current_admin()?;
    let st = state()?;
    let m = monitor::session(&st.db, id)
        .await
        .map_err(internal)?
        .ok_or_else(|| ApiError::Message(format!("⚠️ Сессия импорта №{id} не найдена.")))?;
    let report: serde_json::Value =
        serde_json::from_str(&m.report).unwrap_or(serde_json::Value::Null);
    let changes = report
        .get("changes")
        .and_then(|c| serde_json::from_value::<wire::ChangeReport>(c.clone()).ok());
    let run = monitor::run(&st.db, &m.run_id).await.map_err(internal)?;
    Ok(SessionDetail {
        row: row(m),
        report,
        run_message: run.as_ref().and_then(|r| r.message.clone()),
        cancelled_by: run.and_then(|r| r.cancelled_by),
        changes,
    })
}

pub(crate) async fn catalog_status() -> Result<crate::api::CatalogStatus, ApiError> {
    current_admin()?;
    let st = state()?;
    let products = engine::stats::product_count(&st.db)
        .await
        .map_err(internal)?;
    Ok(crate::api::CatalogStatus { products })
}

pub(crate) async fn start_preview(kinds: Vec<String>) -> Result<wire::Started, ApiError> {
    let admin = current_admin()?;
    let st = state()?;
    let req = engine::run::StartRequest {
        kinds,
        started_by: admin.login,
        options: engine::run::RunOptions {
            mode: wire::RunMode::Preview,
            ..Default::default()
        },
    };
    match st.runner.start(req).await {
        Ok(handle) => Ok(wire::Started {
            run_id: handle.run_id,
        }),
        Err(e) => Err(ApiError::Rejected(e.to_string())),
    }
}

pub(crate) async fn preview_files(run_id: String) -> Result<wire::PreviewFiles, ApiError> {
    current_admin()?;
    let st = state()?;
    let (kinds, changed) = st
        .runner
        .files_changed_since_preview(&run_id)
        .await
        .map_err(|e| ApiError::Message(format!("⚠️ {e}")))?;
    if kinds.is_empty() {
        return Err(ApiError::Message(format!(
            "⚠️ Проверка {run_id} не найдена."
        )));
    }
    Ok(wire::PreviewFiles { kinds, changed })
}

pub(crate) async fn start_import(kinds: Vec<String>) -> Result<wire::Started, ApiError> {
    let admin = current_admin()?;
    let st = state()?;
    let req = engine::run::StartRequest {
        kinds,
        started_by: admin.login,
        options: Default::default(),
    };
    match st.runner.start(req).await {
        Ok(handle) => Ok(wire::Started {
            run_id: handle.run_id,
        }),
        Err(e) => Err(ApiError::Rejected(e.to_string())),
    }
}

pub(crate) async fn cancel_import(run_id: String) -> Result<(), ApiError> {
    let admin = current_admin()?;
    let st = state()?;
    match st.runner.cancel(&run_id, &admin.login).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::Rejected("⚠️ Этот импорт уже завершён.".into())),
        Err(e) => Err(ApiError::Message(format!("❌ Redis недоступен: {e}"))),
    }
}

pub(crate) async fn latest_run() -> Result<Option<wire::RunState>, ApiError> {
    current_admin()?;
    let st = state()?;
    st.runner
        .latest()
        .await
        .map_err(|e| ApiError::Message(format!("❌ Redis недоступен: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; onec_session=abc; b=2"),
        );
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
        assert_eq!(session_token(&HeaderMap::new()), None);
    }

    #[test]
    fn cookies_are_httponly_strict_and_secure_over_tls() {
        let c = session_cookie(Some("t0k"), false);
        let c = c.to_str().unwrap();
        assert!(c.starts_with("onec_session=t0k; Path=/; HttpOnly; SameSite=Strict; Max-Age="));
        assert!(!c.contains("Secure"));
        assert!(
            session_cookie(Some("t"), true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
        assert!(
            session_cookie(None, false)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        let mut h = HeaderMap::new();
        assert!(!is_tls(&h, false));
        assert!(is_tls(&h, true));
        h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert!(is_tls(&h, false));
    }

    #[test]
    fn live_progress_lands_on_running_rows_only() {
        let mk = |id, status: &str| SessionRow {
            id,
            run_id: "r".into(),
            import_type: "catalog".into(),
            status: status.into(),
            started_at: String::new(),
            finished_at: None,
            processed: 0,
            total: 0,
            error_message: None,
            triggered_by: "cli".into(),
            mode: wire::RunMode::Import,
        };
        let mut rows = vec![mk(1, "in_progress"), mk(2, "completed")];
        let mut live = wire::RunState::new(
            "r".into(),
            &[wire::ImportKind::Catalog, wire::ImportKind::Stocks],
            "a".into(),
            "t".into(),
        );
        live.kinds[0].phase = wire::KindPhase::Running;
        live.kinds[0].session_id = Some(1);
        live.kinds[0].processed = 40;
        live.kinds[0].total = 100;
        live.kinds[1].session_id = Some(2);
        live.kinds[1].processed = 7;
        overlay_progress(&mut rows, &live);
        assert_eq!((rows[0].processed, rows[0].total), (40, 100));
        assert_eq!((rows[1].processed, rows[1].total), (0, 0));
    }

    #[test]
    fn filters_are_checked() {
        let f = parse_filter(
            Some("failed".into()),
            Some("stocks".into()),
            Some("2026-11-25".into()),
        )
        .unwrap();
        assert_eq!(f.status, Some(SessionStatus::Failed));
        assert_eq!(f.kind, Some(ImportKind::Stocks));
        assert_eq!(f.from.unwrap().to_rfc3339(), "2026-11-25T00:00:00+00:00");
        assert_eq!((f.until.unwrap() - f.from.unwrap()).num_hours(), 24);
        assert!(
            parse_filter(Some("".into()), None, None)
                .unwrap()
                .status
                .is_none()
        );
        assert!(matches!(
            parse_filter(Some("done".into()), None, None),
            Err(ApiError::Message(_))
        ));
        assert!(matches!(
            parse_filter(None, Some("orders".into()), None),
            Err(ApiError::Message(_))
        ));
        assert!(matches!(
            parse_filter(None, None, Some("25.11.2026".into())),
            Err(ApiError::Message(_))
        ));
    }
}
