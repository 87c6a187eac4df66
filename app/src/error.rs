//! Why a server function answered with an error instead of a result. Shared by the server
//! functions ([`crate::api`]), their server-side halves (`crate::ssr`) and the pages, and
//! depending on nothing of them, so `ssr` needs no `api` and `api` calls `ssr`: one direction.
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

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
