//! Server-side halves of the server functions: the state they read, the administrator the
//! login middleware found, and the session cookie. Built only with the `ssr` feature.
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use engine::DatabaseConnection;
use engine::entity::admins;
use engine::kinds::{ImportKind, SessionStatus};
use engine::monitor::{self, SessionFilter};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use wire::{AdminInfo, CatalogStatus, PER_PAGE, SessionDetail, SessionPage, SessionRow};

use crate::error::ApiError;

/// The session cookie's name with `ONEC_SECURE_COOKIES=false` (plain-HTTP use).
pub const COOKIE: &str = "onec_session";
/// The session cookie's name by default: the `__Host-` prefix makes the browser accept it only
/// with `Secure`, `Path=/` and no `Domain`, so neither plain HTTP nor a sibling subdomain can
/// plant or overwrite it.
pub const SECURE_COOKIE: &str = "__Host-onec_session";

/// The cookie's name in the given mode (`ONEC_SECURE_COOKIES`).
pub fn cookie_name(secure_cookies: bool) -> &'static str {
    if secure_cookies {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// What every request handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: engine::redis::Client,
    /// `ONEC_SECURE_COOKIES` (default true): the session cookie is `__Host-onec_session` and
    /// always `Secure`. When false it is `onec_session`, `Secure` only when a proxy says the
    /// browser came over TLS (`X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// Starts, cancels and reports import runs.
    pub runner: engine::run::Runner,
    /// The login limiter's settings and session lifetimes.
    pub login: crate::login_limit::LoginPolicy,
    /// 1C's exchange endpoint as the «Обмен с 1С» page shows it (`None`: not configured).
    pub exchange: Option<wire::ExchangeSetup>,
}

impl AppState {
    /// The session cookie's value in a request (by this deployment's cookie name), if any.
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        session_token(headers, self.secure_cookies)
    }

    /// A `Set-Cookie` for this request: the session `token` living `max_age`, or (`None`) the
    /// cookie cleared.
    pub fn session_cookie(
        &self,
        headers: &HeaderMap,
        token: Option<&str>,
        max_age: chrono::Duration,
    ) -> HeaderValue {
        session_cookie(
            token,
            max_age,
            self.secure_cookies,
            is_tls(headers, self.secure_cookies),
        )
    }
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

/// The value of the session cookie of the given mode (see [`cookie_name`]) in a request, if any.
pub fn session_token(headers: &HeaderMap, secure_cookies: bool) -> Option<String> {
    cookie(headers, cookie_name(secure_cookies))
}

/// The value of the cookie `name` in a request's `Cookie` headers (spaces and quotes around it
/// dropped), if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
}

/// Whether the browser reached us over TLS (directly or through a proxy that says so).
pub fn is_tls(headers: &HeaderMap, always: bool) -> bool {
    always
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, `Max-Age` = `max_age`; `None` clears the
/// cookie. Named and flagged by the mode: `__Host-…; Secure` when `secure_cookies`, else plain
/// and `Secure` only `over_tls`.
pub fn session_cookie(
    token: Option<&str>,
    max_age: chrono::Duration,
    secure_cookies: bool,
    over_tls: bool,
) -> HeaderValue {
    let name = cookie_name(secure_cookies);
    let mut c = match token {
        Some(t) => format!(
            "{name}={t}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
            max_age.num_seconds().max(0)
        ),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    if secure_cookies || over_tls {
        c.push_str("; Secure");
    }
    // Only ASCII goes in: a hex token and fixed text.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The refusal when every password-check slot stays busy.
pub const TOO_MANY_AT_ONCE: &str = "Слишком много попыток, повторите позже";

fn refuse(status: StatusCode, e: ApiError) -> Result<AdminInfo, ApiError> {
    expect_context::<ResponseOptions>().set_status(status);
    Err(e)
}

/// A Redis connection for the login limiter, or `None` when Redis does not answer within 2 s
/// (the login is then refused: without the limiter, guessing would be unlimited).
async fn limiter_conn(st: &AppState) -> Option<engine::redis::aio::MultiplexedConnection> {
    let fut = st.redis.get_multiplexed_async_connection();
    match tokio::time::timeout(std::time::Duration::from_secs(2), fut).await {
        Ok(Ok(c)) => Some(c),
        _ => None,
    }
}

pub(crate) async fn login(login: String, password: String) -> Result<AdminInfo, ApiError> {
    use crate::login_limit::{self, Verdict};
    use engine::auth::{MAX_LOGIN_CHARS, MAX_PASSWORD_BYTES};
    let st = state()?;
    let parts = parts()?;
    let shown = engine::auth::loggable_login(&login);
    // Before any work: no Redis key, no hash, no log of a whole megabyte.
    if login.trim().chars().count() > MAX_LOGIN_CHARS || password.len() > MAX_PASSWORD_BYTES {
        tracing::info!(login = %shown, "login refused: too long");
        return refuse(
            StatusCode::BAD_REQUEST,
            ApiError::error(format!(
                "❌ Логин должен быть не длиннее {MAX_LOGIN_CHARS} символов, пароль — не длиннее \
                 {MAX_PASSWORD_BYTES} байт."
            )),
        );
    }
    let Some(slot) = st.login.hash_slot().await else {
        tracing::warn!(login = %shown, "login refused: every password-check slot is busy");
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            ApiError::refused(wire::Refusal::TooManyAttempts, TOO_MANY_AT_ONCE),
        );
    };
    let redis_down = || {
        tracing::warn!(login = %shown, "login refused: the limiter's Redis does not answer");
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            ApiError::error("❌ Вход временно невозможен: Redis не отвечает. Повторите позже."),
        )
    };
    let Some(mut conn) = limiter_conn(&st).await else {
        return redis_down();
    };
    let keys = st.runner.keys();
    let (attempt, verdict) =
        login_limit::admit_attempt(&mut conn, keys, &st.login, &login, &parts).await;
    let addr = &attempt.addr;
    // Too many attempts, from this address or at this account: how long to wait, and what the
    // log and the administrator are told.
    let too_many = match verdict {
        Some(Verdict::Go) => None,
        Some(Verdict::Wait(d)) => Some((d, "from this address", "неудачных попыток входа")),
        Some(Verdict::AccountLocked(d)) => {
            Some((d, "at this account", "попыток входа в эту учётную запись"))
        }
        None => return redis_down(),
    };
    if let Some((d, at, attempts)) = too_many {
        tracing::warn!(login = %shown, %addr, "login refused: too many attempts {at}");
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            ApiError::refused(
                wire::Refusal::TooManyAttempts,
                format!(
                    "⚠️ Слишком много {attempts}. Повторите через {}.",
                    login_limit::wait_text(d)
                ),
            ),
        );
    }
    let checked = engine::auth::authenticate(&st.db, &login, &password).await;
    drop(slot);
    let Some(admin) = checked.map_err(internal)? else {
        tracing::info!(login = %shown, %addr, "login refused");
        return Err(ApiError::error("❌ Неверный логин или пароль."));
    };
    login_limit::forget_pair(&mut conn, keys, &attempt.login_key, addr).await;
    let previous = st.session_token(&parts.headers);
    let token = engine::auth::start_session(&st.db, admin.id, previous.as_deref())
        .await
        .map_err(internal)?;
    let lifetime = st.login.sessions.idle.min(st.login.sessions.max_age);
    expect_context::<ResponseOptions>().insert_header(
        header::SET_COOKIE,
        st.session_cookie(&parts.headers, Some(&token), lifetime),
    );
    tracing::info!(login = %admin.login, %addr, "administrator logged in");
    Ok(AdminInfo { login: admin.login })
}

pub(crate) async fn logout() -> Result<(), ApiError> {
    let st = state()?;
    let parts = parts()?;
    if let Some(token) = st.session_token(&parts.headers) {
        engine::auth::end_session(&st.db, &token)
            .await
            .map_err(internal)?;
    }
    expect_context::<ResponseOptions>().insert_header(
        header::SET_COOKIE,
        st.session_cookie(&parts.headers, None, chrono::Duration::zero()),
    );
    Ok(())
}

/// A stored session as the monitor shows it, or the kind and status words it could not read.
/// Only the engine writes these words (from [`ImportKind`] and [`SessionStatus`]), so an unknown
/// one is a row written by another version of the program.
fn row(m: engine::entity::import_sessions::Model) -> Result<SessionRow, (String, String)> {
    let (Some(import_type), Some(status)) = (
        ImportKind::parse(&m.import_type),
        SessionStatus::parse(&m.status),
    ) else {
        return Err((m.import_type, m.status));
    };
    Ok(SessionRow {
        id: m.id,
        run_id: m.run_id,
        import_type,
        status,
        started_at: m.started_at.to_rfc3339(),
        finished_at: m.finished_at.map(|t| t.to_rfc3339()),
        processed: m.processed,
        total: m.total,
        error_message: m.error_message,
        triggered_by: m.triggered_by,
        mode: wire::RunMode::parse(&m.mode),
        origin: wire::RunOrigin::parse(&m.origin).unwrap_or_default(),
    })
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
                .ok_or_else(|| ApiError::warning(format!("⚠️ Неизвестный статус: {s}")))?,
        );
    }
    if let Some(k) = kind.filter(|s| !s.is_empty()) {
        f.kind = Some(
            ImportKind::parse(&k)
                .ok_or_else(|| ApiError::warning(format!("⚠️ Неизвестный тип импорта: {k}")))?,
        );
    }
    if let Some(d) = date.filter(|s| !s.is_empty()) {
        let day = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
            ApiError::warning(format!("⚠️ Дата должна быть в виде ГГГГ-ММ-ДД: {d}"))
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
    let mut rows: Vec<SessionRow> = rows
        .into_iter()
        .filter_map(|m| {
            let id = m.id;
            row(m)
                .map_err(|(kind, status)| {
                    tracing::warn!(
                        id,
                        kind,
                        status,
                        "monitor: session with unknown words left out"
                    );
                })
                .ok()
        })
        .collect();
    // A running session's row is written only when its state changes; its live progress is in
    // the run state in Redis.
    if rows.iter().any(|r| r.status == SessionStatus::InProgress)
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
            .find(|r| Some(r.id) == k.session_id && r.status == SessionStatus::InProgress)
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
        .ok_or_else(|| ApiError::warning(format!("⚠️ Сессия импорта №{id} не найдена.")))?;
    let report: serde_json::Value =
        serde_json::from_str(&m.report).unwrap_or(serde_json::Value::Null);
    let changes = report
        .get("changes")
        .and_then(|c| serde_json::from_value::<wire::ChangeReport>(c.clone()).ok());
    let run = monitor::run(&st.db, &m.run_id).await.map_err(internal)?;
    let row = row(m).map_err(|(kind, status)| {
        ApiError::warning(format!(
            "⚠️ Сессия импорта №{id} записана другой версией программы: тип «{kind}», статус «{status}»."
        ))
    })?;
    Ok(SessionDetail {
        row,
        report,
        run_message: run.as_ref().and_then(|r| r.message.clone()),
        cancelled_by: run.and_then(|r| r.cancelled_by),
        changes,
    })
}

pub(crate) async fn exchange_page() -> Result<wire::ExchangePage, ApiError> {
    current_admin()?;
    let st = state()?;
    let exchanges = engine::exchange_journal::latest(&st.db, wire::EXCHANGES_SHOWN)
        .await
        .map_err(internal)?;
    Ok(wire::ExchangePage {
        setup: st.exchange.clone(),
        exchanges,
    })
}

pub(crate) async fn catalog_status() -> Result<CatalogStatus, ApiError> {
    current_admin()?;
    let st = state()?;
    let products = engine::stats::product_count(&st.db)
        .await
        .map_err(internal)?;
    Ok(CatalogStatus { products })
}

/// Starts a run of `kinds` for the signed-in administrator: its id, or why it was refused.
async fn start_run(
    kinds: Vec<ImportKind>,
    options: engine::run::RunOptions,
) -> Result<wire::Started, ApiError> {
    let admin = current_admin()?;
    let st = state()?;
    let req = engine::run::StartRequest {
        kinds,
        started_by: admin.login,
        origin: wire::RunOrigin::Admin,
        options,
    };
    match st.runner.start(req).await {
        Ok(handle) => Ok(wire::Started {
            run_id: handle.run_id,
        }),
        Err(e) => Err(ApiError::refused(e.refusal(), e.to_string())),
    }
}

pub(crate) async fn start_preview(kinds: Vec<ImportKind>) -> Result<wire::Started, ApiError> {
    let options = engine::run::RunOptions {
        mode: wire::RunMode::Preview,
        ..Default::default()
    };
    start_run(kinds, options).await
}

pub(crate) async fn preview_files(run_id: String) -> Result<wire::PreviewFiles, ApiError> {
    current_admin()?;
    let st = state()?;
    let (kinds, changed) = st
        .runner
        .files_changed_since_preview(&run_id)
        .await
        .map_err(|e| ApiError::warning(format!("⚠️ {e}")))?;
    if kinds.is_empty() {
        return Err(ApiError::warning(format!(
            "⚠️ Проверка {run_id} не найдена."
        )));
    }
    Ok(wire::PreviewFiles { kinds, changed })
}

pub(crate) async fn start_import(kinds: Vec<ImportKind>) -> Result<wire::Started, ApiError> {
    start_run(kinds, Default::default()).await
}

pub(crate) async fn cancel_import(run_id: String) -> Result<(), ApiError> {
    let admin = current_admin()?;
    let st = state()?;
    match st.runner.cancel(&run_id, &admin.login).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::refused(
            wire::Refusal::AlreadyFinished,
            "⚠️ Этот импорт уже завершён.",
        )),
        Err(e) => Err(ApiError::error(format!("❌ Redis недоступен: {e}"))),
    }
}

pub(crate) async fn latest_run() -> Result<Option<wire::RunState>, ApiError> {
    current_admin()?;
    let st = state()?;
    st.runner
        .latest()
        .await
        .map_err(|e| ApiError::error(format!("❌ Redis недоступен: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_by_the_modes_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; onec_session=abc; __Host-onec_session=def; b=2"),
        );
        assert_eq!(session_token(&h, false).as_deref(), Some("abc"));
        assert_eq!(session_token(&h, true).as_deref(), Some("def"));
        let mut plain = HeaderMap::new();
        plain.insert(header::COOKIE, HeaderValue::from_static("onec_session=abc"));
        assert_eq!(
            session_token(&plain, true),
            None,
            "a cookie without the prefix could have been planted over plain HTTP"
        );
        assert_eq!(session_token(&HeaderMap::new(), false), None);
    }

    #[test]
    fn cookies_are_httponly_strict_and_secure_by_default() {
        let hour = chrono::Duration::hours(1);
        let c = session_cookie(Some("t0k"), hour, true, false);
        assert_eq!(
            c.to_str().unwrap(),
            "__Host-onec_session=t0k; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure"
        );
        let c = session_cookie(Some("t0k"), hour, false, false);
        assert_eq!(
            c.to_str().unwrap(),
            "onec_session=t0k; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600"
        );
        assert!(
            session_cookie(Some("t"), hour, false, true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
        assert!(
            session_cookie(None, hour, true, false)
                .to_str()
                .unwrap()
                .starts_with("__Host-onec_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
        );
        let mut h = HeaderMap::new();
        assert!(!is_tls(&h, false));
        assert!(is_tls(&h, true));
        h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert!(is_tls(&h, false));
    }

    #[test]
    fn live_progress_lands_on_running_rows_only() {
        let mk = |id, status| crate::testing::session_row(id, status, "", None);
        let mut rows = vec![
            mk(1, SessionStatus::InProgress),
            mk(2, SessionStatus::Completed),
        ];
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
    fn stored_words_become_typed_rows_and_unknown_ones_are_refused() {
        let stored = |import_type: &str, status: &str| engine::entity::import_sessions::Model {
            id: 3,
            run_id: "r".into(),
            import_type: import_type.into(),
            status: status.into(),
            started_at: chrono::DateTime::UNIX_EPOCH,
            finished_at: None,
            processed: 0,
            total: 0,
            report: "{}".into(),
            error_message: None,
            triggered_by: "cli".into(),
            mode: "preview".into(),
            origin: "cli".into(),
        };
        let r = row(stored("prices", "in_progress")).unwrap();
        assert_eq!(
            (r.import_type, r.status, r.mode),
            (
                ImportKind::Prices,
                SessionStatus::InProgress,
                wire::RunMode::Preview
            )
        );
        assert_eq!(
            row(stored("orders", "completed")).unwrap_err(),
            ("orders".to_owned(), "completed".to_owned())
        );
        assert!(row(stored("catalog", "done")).is_err());
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
            Err(ApiError::Message { .. })
        ));
        assert!(matches!(
            parse_filter(None, Some("orders".into()), None),
            Err(ApiError::Message { .. })
        ));
        assert!(matches!(
            parse_filter(None, None, Some("25.11.2026".into())),
            Err(ApiError::Message { .. })
        ));
    }
}
