//! The kinds of data an administrator imports from 1C.

use serde::{Deserialize, Serialize};

/// What an administrator can import. The declaration order is the run order:
/// catalog → stocks → prices → customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    /// The goods exchange: the classifier (groups, properties, units, warehouses, price types),
    /// products and their offers, and the prices and stock the export carries with them (3.x
    /// `groups`, `goods`, `offers`, … or 2.x `import.xml` + `offers.xml`).
    Catalog,
    /// Stock on hand per offer and warehouse (3.x `rests`, or 2.x `offers.xml`); lands on the
    /// offers of the catalog.
    Stocks,
    /// Prices per offer and price type (3.x `prices`, or 2.x `offers.xml`); lands on the offers
    /// of the catalog.
    Prices,
    /// Counterparties (3.x `contragents`): the shop's customers.
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

    /// The checkbox label on «Выбор типов данных для импорта».
    pub fn choice_label(self) -> &'static str {
        match self {
            Self::Catalog => "Каталог товаров",
            Self::Stocks => "Остатки товаров",
            Self::Prices => "Цены товаров",
            Self::Customers => "Клиенты",
        }
    }

    /// Whether this kind needs products in the database (or the catalog in the same run).
    pub fn needs_catalog(self) -> bool {
        matches!(self, Self::Stocks | Self::Prices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_speak_russian() {
        for k in ImportKind::ALL {
            assert_eq!(ImportKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ImportKind::parse(" stocks "), Some(ImportKind::Stocks));
        assert_eq!(ImportKind::parse("orders"), None);
        assert_eq!(ImportKind::Stocks.title(), "Остатки");
        assert_eq!(ImportKind::Prices.choice_label(), "Цены товаров");
        assert!(ImportKind::Stocks.needs_catalog() && ImportKind::Prices.needs_catalog());
        assert!(!ImportKind::Catalog.needs_catalog() && !ImportKind::Customers.needs_catalog());
    }
}
