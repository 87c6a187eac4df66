//! The stored status of one run (`import_runs.status`): the row is written `running` when the
//! run starts and `completed` or `failed` when it ends (or when recovery finds its process dead).
use serde::{Deserialize, Serialize};

/// Lifecycle of one run. The serde name is stored in `import_runs.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not ended (or ended by a process that died: recovery marks it failed).
    Running,
    /// Every chosen kind was imported (or, for a preview, checked and rolled back).
    Completed,
    /// A kind failed or was cancelled, or the process running it died.
    Failed,
}

impl RunStatus {
    /// Every status.
    pub const ALL: [RunStatus; 3] = [Self::Running, Self::Completed, Self::Failed];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_words_round_trip_and_match_serde() {
        crate::words::round_trip(&RunStatus::ALL, RunStatus::as_str, RunStatus::parse);
        assert_eq!(RunStatus::parse("cancelled"), None);
    }
}
