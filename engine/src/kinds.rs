use serde::{Deserialize, Serialize};

/// What an administrator can import. The declaration order is the run order:
/// catalog → stocks → prices → customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    Catalog,
    Stocks,
    Prices,
    Customers,
}

impl ImportKind {
    /// Every kind, in run order.
    pub const ALL: [ImportKind; 4] = [Self::Catalog, Self::Stocks, Self::Prices, Self::Customers];

    /// The word stored in `import_sessions.import_type` and used by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Stocks => "stocks",
            Self::Prices => "prices",
            Self::Customers => "customers",
        }
    }

    /// Parses the stored/CLI word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The monitor's column text: Каталог / Остатки / Цены / Клиенты.
    pub fn title(self) -> &'static str {
        match self {
            Self::Catalog => "Каталог",
            Self::Stocks => "Остатки",
            Self::Prices => "Цены",
            Self::Customers => "Клиенты",
        }
    }
}

/// Lifecycle of one import session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Started,
    InProgress,
    Completed,
    Failed,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 4] = [
        Self::Started,
        Self::InProgress,
        Self::Completed,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_keep_the_run_order() {
        for k in ImportKind::ALL {
            assert_eq!(ImportKind::parse(k.as_str()), Some(k));
        }
        let mut ticked = vec![
            ImportKind::Customers,
            ImportKind::Catalog,
            ImportKind::Prices,
        ];
        ticked.sort();
        assert_eq!(
            ticked,
            [
                ImportKind::Catalog,
                ImportKind::Prices,
                ImportKind::Customers
            ]
        );
        assert_eq!(ImportKind::parse("orders"), None);
        assert_eq!(ImportKind::Stocks.title(), "Остатки");
    }

    #[test]
    fn statuses_round_trip() {
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(SessionStatus::parse("done"), None);
        assert_eq!(SessionStatus::Failed.title(), "❌ Ошибка");
    }
}
