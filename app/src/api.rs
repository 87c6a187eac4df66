//! The server functions under `/api/`: what the pages call. Their server-side halves are in
//! `crate::ssr`; what they answer is in `wire`; how they fail is [`ApiError`](crate::error::ApiError).
use leptos::prelude::*;
use wire::{AdminInfo, CatalogStatus, ImportKind, SessionDetail, SessionPage};

pub use crate::error::ApiError;

/// Checks the login and password and starts a web session (sets the cookie).
#[server(endpoint = "login")]
pub async fn login(login: String, password: String) -> Result<AdminInfo, ApiError> {
    crate::ssr::login(login, password).await
}

/// Ends the web session and clears the cookie.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    crate::ssr::logout().await
}

/// The administrator behind the current cookie.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<AdminInfo, ApiError> {
    let admin = crate::ssr::current_admin()?;
    Ok(AdminInfo { login: admin.login })
}

/// A page of import sessions, newest first. `status`, `kind` and `date` (YYYY-MM-DD, UTC) filter.
#[server(endpoint = "list_sessions")]
pub async fn list_sessions(
    status: Option<String>,
    kind: Option<String>,
    date: Option<String>,
    page: u64,
) -> Result<SessionPage, ApiError> {
    crate::ssr::list_sessions(status, kind, date, page).await
}

/// One session with its report.
#[server(endpoint = "get_session")]
pub async fn get_session(id: i64) -> Result<SessionDetail, ApiError> {
    crate::ssr::session_detail(id).await
}

/// How many products the shop has (the stocks/prices rule depends on it).
#[server(endpoint = "catalog_status")]
pub async fn get_catalog_status() -> Result<CatalogStatus, ApiError> {
    crate::ssr::catalog_status().await
}

/// Starts a run of the ticked kinds (any order; they run catalog → stocks → prices →
/// customers). The server checks the rules and takes the lock; a refusal is `Refused` with the
/// administrator's text.
#[server(endpoint = "start_import")]
pub async fn start_import(kinds: Vec<ImportKind>) -> Result<wire::Started, ApiError> {
    crate::ssr::start_import(kinds).await
}

/// Asks a running run to stop: the current kind rolls back, later kinds do not start.
#[server(endpoint = "cancel_import")]
pub async fn cancel_import(run_id: String) -> Result<(), ApiError> {
    crate::ssr::cancel_import(run_id).await
}

/// The latest run (running or ended), so a reloaded page shows the same live state.
#[server(endpoint = "latest_run")]
pub async fn latest_run() -> Result<Option<wire::RunState>, ApiError> {
    crate::ssr::latest_run().await
}

/// «Проверить без записи»: the same run as [`start_import`], rolled back at the end; its result
/// says what an import would change.
#[server(endpoint = "start_preview")]
pub async fn start_preview(kinds: Vec<ImportKind>) -> Result<wire::Started, ApiError> {
    crate::ssr::start_preview(kinds).await
}

/// Before «Запустить импорт» from a preview's result: the preview's kinds and the files changed
/// since it read them.
#[server(endpoint = "preview_files")]
pub async fn preview_files(run_id: String) -> Result<wire::PreviewFiles, ApiError> {
    crate::ssr::preview_files(run_id).await
}

/// The «Обмен с 1С» page: the endpoint's settings and the last exchanges, newest first.
#[server(endpoint = "exchange_page")]
pub async fn get_exchange_page() -> Result<wire::ExchangePage, ApiError> {
    crate::ssr::exchange_page().await
}
