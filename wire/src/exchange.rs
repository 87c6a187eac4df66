//! What the «Обмен с 1С» page shows: the endpoint's settings, and the journal of the last
//! exchanges — every request 1C made, what it carried, which import sessions it produced and the
//! exact lines 1C read back.
use serde::{Deserialize, Serialize};

use crate::{ExchangeMode, ImportKind, SessionStatus};

/// The first line of a reply to 1C (the exchange crate's replies use this type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeStatus {
    /// The request did what it asked (a file stored, a file imported, the exchange closed).
    Success,
    /// Not done yet: 1C repeats the same request (the import of a file goes on).
    Progress,
    /// Refused or failed: the following lines say why.
    Failure,
    /// No status line: the reply is the lines alone (`zip=yes`, `file_limit=…` of `init`).
    Parameters,
}

impl ExchangeStatus {
    /// Every status.
    pub const ALL: [ExchangeStatus; 4] = [
        Self::Success,
        Self::Progress,
        Self::Failure,
        Self::Parameters,
    ];

    /// The word 1C matches (empty for [`ExchangeStatus::Parameters`]).
    pub fn word(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Progress => "progress",
            Self::Failure => "failure",
            Self::Parameters => "",
        }
    }

    /// The name stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Parameters => "parameters",
            other => other.word(),
        }
    }

    /// Parses [`ExchangeStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// The page's label.
    pub fn title(self) -> &'static str {
        match self {
            Self::Success => "Успешно",
            Self::Progress => "В процессе",
            Self::Failure => "Ошибка",
            Self::Parameters => "Параметры",
        }
    }
}

/// The endpoint's settings as the page shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeSetup {
    /// The path 1C's exchange node is given (after the site's address).
    pub path: String,
    /// What `mode=import` does with a file.
    pub mode: ExchangeMode,
    /// The `file_limit` told to 1C, bytes.
    pub file_limit: u64,
    /// Whether 1C is told `zip=yes`.
    pub zip: bool,
    /// Whether `mode=deactivate` deactivates what a full exchange did not mention.
    pub deactivate: bool,
    /// The charset of the replies' text lines.
    pub charset: String,
    /// Finished exchanges kept in the spool for replay.
    pub keep: u64,
}

/// An import session a request produced (a link into «Сессии импорта»).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeSession {
    /// `import_sessions.id`.
    pub id: i64,
    /// What it imported.
    pub kind: ImportKind,
    /// Where it stands.
    pub status: SessionStatus,
    /// Records processed.
    pub processed: i64,
}

/// One request of an exchange; repeated `progress` polls of one file are one row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRequest {
    /// The mode word (`init`, `file`, `import`, …).
    pub mode: String,
    /// The `filename` it named, if any.
    pub filename: Option<String>,
    /// RFC 3339, UTC: the first of its calls.
    pub first_at: String,
    /// RFC 3339, UTC: the last of its calls.
    pub last_at: String,
    /// How many calls this row stands for (1C repeats `import` while it reads `progress`;
    /// a file is sent in several `file` pieces).
    pub calls: i64,
    /// Body bytes received by these calls.
    pub bytes: i64,
    /// The first line of the last reply.
    pub status: ExchangeStatus,
    /// The last reply exactly as 1C read it, line by line.
    pub reply: Vec<String>,
    /// The import sessions the file's import produced.
    pub sessions: Vec<ExchangeSession>,
}

/// One exchange, from `init` on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeRow {
    /// The exchange's id (its spool folder's name).
    pub id: String,
    /// The exchange account.
    pub login: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC: its latest request.
    pub last_at: String,
    /// Body bytes received in all.
    pub bytes: i64,
    /// Its requests, in order.
    pub requests: Vec<ExchangeRequest>,
}

impl ExchangeRow {
    /// The exchange's result as the page states it: a failure if any request failed last time
    /// it was made, otherwise the status of its latest request.
    pub fn result(&self) -> ExchangeStatus {
        if self
            .requests
            .iter()
            .any(|r| r.status == ExchangeStatus::Failure)
        {
            return ExchangeStatus::Failure;
        }
        match self.requests.last().map(|r| r.status) {
            Some(ExchangeStatus::Progress) => ExchangeStatus::Progress,
            _ => ExchangeStatus::Success,
        }
    }
}

/// The «Обмен с 1С» page: the settings and the last exchanges, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangePage {
    /// `None` when the server runs without the exchange endpoint configured.
    pub setup: Option<ExchangeSetup>,
    /// The latest exchanges, newest first.
    pub exchanges: Vec<ExchangeRow>,
}

/// Exchanges the page lists.
pub const EXCHANGES_SHOWN: u64 = 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: ExchangeStatus) -> ExchangeRequest {
        ExchangeRequest {
            mode: "import".into(),
            filename: None,
            first_at: String::new(),
            last_at: String::new(),
            calls: 1,
            bytes: 0,
            status,
            reply: vec![],
            sessions: vec![],
        }
    }

    #[test]
    fn statuses_round_trip_and_match_serde() {
        crate::words::round_trip(
            &ExchangeStatus::ALL,
            ExchangeStatus::as_str,
            ExchangeStatus::parse,
        );
        assert!(ExchangeStatus::ALL.iter().all(|s| !s.title().is_empty()));
        assert_eq!(ExchangeStatus::Parameters.word(), "");
    }

    #[test]
    fn an_exchange_with_a_failure_failed() {
        let mut row = ExchangeRow {
            id: "x".into(),
            login: "1c".into(),
            started_at: String::new(),
            last_at: String::new(),
            bytes: 0,
            requests: vec![
                request(ExchangeStatus::Parameters),
                request(ExchangeStatus::Progress),
            ],
        };
        assert_eq!(row.result(), ExchangeStatus::Progress);
        row.requests.push(request(ExchangeStatus::Success));
        assert_eq!(row.result(), ExchangeStatus::Success);
        row.requests.insert(1, request(ExchangeStatus::Failure));
        assert_eq!(row.result(), ExchangeStatus::Failure);
    }
}
