use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use wire::{AdminInfo, CatalogStatus, ImportKind, SessionDetail, SessionPage};

/// What a server function can answer instead of a result. The page decides by the variant and
/// its typed fields, never by the text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiError {
    /// No live login (HTTP 401): the app goes to the login page.
    Unauthorized,
    /// A message for the administrator, shown as it is, at its level.
    Message { level: wire::Level, text: String },
    /// A request refused before anything started (checks, lock), with the reason pages act on.
    Refused {
        reason: wire::Refusal,
        message: String,
    },
    /// The server or the network failed; details are in the server log.
    Server(String),
}

impl ApiError {
    /// A warning for the administrator (bad input, something not found).
    pub fn warning(text: impl Into<String>) -> Self {
        Self::Message {
            level: wire::Level::Warning,
            text: text.into(),
        }
    }

    /// An error for the administrator (a service down, a refused login).
    pub fn error(text: impl Into<String>) -> Self {
        Self::Message {
            level: wire::Level::Error,
            text: text.into(),
        }
    }

    /// A refusal; its level follows from the reason.
    pub fn refused(reason: wire::Refusal, message: impl Into<String>) -> Self {
        Self::Refused {
            reason,
            message: message.into(),
        }
    }

    /// How the messages area shows it.
    pub fn level(&self) -> wire::Level {
        match self {
            Self::Unauthorized => wire::Level::Warning,
            Self::Message { level, .. } => *level,
            Self::Refused { reason, .. } => reason.level(),
            Self::Server(_) => wire::Level::Error,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unauthorized => f.write_str("Требуется вход в систему."),
            Self::Message { text: m, .. } | Self::Refused { message: m, .. } => f.write_str(m),
            Self::Server(m) => write!(f, "❌ Ошибка сервера: {m}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Server(value.to_string())
    }
}

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
