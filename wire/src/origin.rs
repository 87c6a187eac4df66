//! Who started a run: an administrator in the web app, the command line, or 1C through the
//! «Обмен с сайтом» endpoint. Stored in `import_runs.origin` and `import_sessions.origin`.
use serde::{Deserialize, Serialize};

/// Where a run came from. The serde name is the stored word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOrigin {
    /// An administrator pressed «Запустить импорт» (or «Проверить без записи»).
    #[default]
    Admin,
    /// `onec-admin import …`.
    Cli,
    /// 1C's exchange node sent `mode=import` for a file of its exchange.
    Exchange,
}

impl RunOrigin {
    /// Every origin.
    pub const ALL: [RunOrigin; 3] = [Self::Admin, Self::Cli, Self::Exchange];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Cli => "cli",
            Self::Exchange => "exchange",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// «Запустил» as the monitor shows it: the login, after «1С (обмен)» for an exchange.
    pub fn who(self, login: &str) -> String {
        match self {
            Self::Exchange => format!("1С (обмен) · {login}"),
            Self::Admin | Self::Cli => login.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_words_round_trip_and_match_serde() {
        crate::words::round_trip(&RunOrigin::ALL, RunOrigin::as_str, RunOrigin::parse);
        assert_eq!(RunOrigin::parse("1c"), None);
    }

    #[test]
    fn an_exchange_names_itself_before_the_account() {
        assert_eq!(RunOrigin::Exchange.who("1c"), "1С (обмен) · 1c");
        assert_eq!(RunOrigin::Admin.who("admin"), "admin");
        assert_eq!(RunOrigin::Cli.who("cli"), "cli");
    }
}
