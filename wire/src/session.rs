//! The lifecycle of one import session (one kind within a run), as stored and as shown.

use serde::{Deserialize, Serialize};

/// Lifecycle of one import session. The serde name is stored in `import_sessions.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Recorded, its import not begun yet (a preview records every kind's session at once).
    Started,
    /// Importing now.
    InProgress,
    /// Imported (or, in a preview, checked and rolled back) without an error.
    Completed,
    /// Ended by an error, a cancel, or a server that stopped while it ran; its transaction was
    /// rolled back.
    Failed,
}

impl SessionStatus {
    /// Every status, from start to end.
    pub const ALL: [SessionStatus; 4] = [
        Self::Started,
        Self::InProgress,
        Self::Completed,
        Self::Failed,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The monitor's status text with its icon.
    pub fn title(self) -> &'static str {
        match self {
            Self::Started => "⏸️ Начат",
            Self::InProgress => "⏳ В процессе",
            Self::Completed => "✅ Завершен",
            Self::Failed => "❌ Ошибка",
        }
    }

    /// The CSS class that colours the status.
    pub fn css_class(self) -> &'static str {
        match self {
            Self::Started => "status-started",
            Self::InProgress => "status-in-progress",
            Self::Completed => "status-completed",
            Self::Failed => "status-failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_words_round_trip_and_match_serde() {
        crate::words::round_trip(
            &SessionStatus::ALL,
            SessionStatus::as_str,
            SessionStatus::parse,
        );
        assert_eq!(SessionStatus::parse("cancelled"), None);
    }
}
