use serde::{Deserialize, Serialize};

pub use wire::ImportKind;

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
    fn kinds_keep_the_run_order() {
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
