//! What the 1C exchange does with the files 1C sends (`ONEC_EXCHANGE_MODE`), as the server reads
//! the setting and the «Обмен с 1С» page shows it.
use serde::{Deserialize, Serialize};

/// What `mode=import` does with a received file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExchangeMode {
    /// Import each file into the database as 1C asks, through the same orchestrator, lock and
    /// sessions as an administrator's import (what 1C expects).
    #[default]
    Import,
    /// Only receive and check the files; the administrator imports the published export.
    Receive,
}

impl ExchangeMode {
    /// Every mode.
    pub const ALL: [ExchangeMode; 2] = [Self::Import, Self::Receive];

    /// The setting's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Import => "import",
            Self::Receive => "receive",
        }
    }

    /// Parses the setting's word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// What the administrator reads on the «Обмен с 1С» page.
    pub fn title(self) -> &'static str {
        match self {
            Self::Import => "загружать каждый файл в базу сразу, как просит 1С",
            Self::Receive => "только принимать и проверять файлы (импорт запускает администратор)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_match_serde() {
        crate::words::round_trip(
            &ExchangeMode::ALL,
            ExchangeMode::as_str,
            ExchangeMode::parse,
        );
        assert!(ExchangeMode::ALL.iter().all(|m| !m.title().is_empty()));
        assert_eq!(ExchangeMode::parse("IMPORT"), None);
        assert_eq!(ExchangeMode::default(), ExchangeMode::Import);
    }
}
