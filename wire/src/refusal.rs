//! How messages are shown, and why a request was refused before anything started.

use serde::{Deserialize, Serialize};

/// How a message to the administrator is shown: the banner's colour. Decided by the typed result
/// that carries the message (a refusal's reason, a run's phase), never by its wording or emoji.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Done as asked (a run that completed).
    Success,
    /// The administrator should act or wait (a choice refused, too many attempts).
    Warning,
    /// Something failed or is down (a run that failed, Redis or the database not answering).
    Error,
    /// Neither good nor bad news (a run still running).
    Info,
}

/// Why a request was refused before anything started. Pages decide by this (e.g. «another run
/// holds the lock: show it»), never by the message's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No kind was chosen.
    NothingChosen,
    /// A kind this version does not know.
    UnknownKind,
    /// Stocks or prices chosen without a catalog to land on.
    CatalogEmpty,
    /// `ONEC_DATA_DIR` is not set.
    NoDataDir,
    /// The export folder does not exist.
    DataDirMissing,
    /// The files a chosen kind reads are missing.
    FilesMissing,
    /// Another run holds the import lock.
    AlreadyRunning,
    /// The run to cancel has already ended.
    AlreadyFinished,
    /// Redis did not answer.
    RedisDown,
    /// The database did not answer.
    DatabaseDown,
    /// Too many login attempts, or every password check is busy.
    TooManyAttempts,
}

impl Refusal {
    /// Every reason.
    pub const ALL: [Refusal; 11] = [
        Self::NothingChosen,
        Self::UnknownKind,
        Self::CatalogEmpty,
        Self::NoDataDir,
        Self::DataDirMissing,
        Self::FilesMissing,
        Self::AlreadyRunning,
        Self::AlreadyFinished,
        Self::RedisDown,
        Self::DatabaseDown,
        Self::TooManyAttempts,
    ];

    /// A service that is down is an error; everything else asks the administrator to act or wait.
    pub fn level(self) -> Level {
        match self {
            Self::RedisDown | Self::DatabaseDown => Level::Error,
            Self::NothingChosen
            | Self::UnknownKind
            | Self::CatalogEmpty
            | Self::NoDataDir
            | Self::DataDirMissing
            | Self::FilesMissing
            | Self::AlreadyRunning
            | Self::AlreadyFinished
            | Self::TooManyAttempts => Level::Warning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunPhase;

    #[test]
    fn refusals_travel_by_name_and_carry_their_level() {
        for r in Refusal::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Refusal>(&json).unwrap(), r);
        }
        assert_eq!(
            serde_json::to_string(&Refusal::AlreadyRunning).unwrap(),
            "\"already_running\""
        );
        assert_eq!(Refusal::AlreadyRunning.level(), Level::Warning);
        assert_eq!(Refusal::RedisDown.level(), Level::Error);
        assert_eq!(RunPhase::Completed.level(), Level::Success);
        assert_eq!(RunPhase::Failed.level(), Level::Error);
    }
}
