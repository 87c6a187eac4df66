//! The kinds of data an administrator imports from 1C.

use serde::{Deserialize, Serialize};

use crate::Counter;

/// What the product knows about one kind, in one row of the table below: its words, its labels,
/// what it depends on and what its summary names. The engine's own per-kind facts (which files
/// it reads, which records it writes) are in `engine::kinds`, one match per fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// The word stored in `import_sessions.import_type`, sent in JSON, and used by the CLI
    /// (`onec-admin import run --kinds catalog,stocks`). Equal to the serde name.
    pub word: &'static str,
    /// The monitor's column text: Каталог / Остатки / …
    pub title: &'static str,
    /// The title in the genitive, for «❌ Ошибка импорта каталога: …».
    pub genitive: &'static str,
    /// The checkbox label on «Выбор типов данных для импорта».
    pub choice_label: &'static str,
    /// The kind whose data this one lands on (stocks and prices land on the catalog's offers):
    /// it must be in the database already, or earlier in the same run.
    pub needs: Option<ImportKind>,
    /// The number the run's summary gives for this kind, and its noun in the three Russian
    /// plural forms: «Каталог (1 234 товара)».
    pub headline: (Counter, [&'static str; 3]),
}

/// Declares [`ImportKind`] and its table at once, so that a kind without its row, or a row
/// without its kind, does not compile, and [`ImportKind::ALL`] lists every kind in run order.
macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident => $info:expr,)+) => {
        /// What an administrator can import. The declaration order is the run order:
        /// catalog → stocks → prices → customers.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(rename_all = "lowercase")]
        pub enum ImportKind {
            $($(#[$doc])* $kind,)+
        }

        impl ImportKind {
            /// Every kind, in run order.
            pub const ALL: [ImportKind; [$(ImportKind::$kind),+].len()] = [$(ImportKind::$kind),+];

            /// This kind's row of the table.
            pub const fn info(self) -> KindInfo {
                match self {
                    $(ImportKind::$kind => $info,)+
                }
            }
        }
    };
}

kinds! {
    /// The goods exchange: the classifier (groups, properties, units, warehouses, price types),
    /// products and their offers, and the prices and stock the export carries with them (3.x
    /// `groups`, `goods`, `offers`, … or 2.x `import.xml` + `offers.xml`).
    Catalog => KindInfo {
        word: "catalog",
        title: "Каталог",
        genitive: "каталога",
        choice_label: "Каталог товаров",
        needs: None,
        headline: (Counter::Products, ["товар", "товара", "товаров"]),
    },
    /// Stock on hand per offer and warehouse (3.x `rests`, or 2.x `offers.xml`); lands on the
    /// offers of the catalog.
    Stocks => KindInfo {
        word: "stocks",
        title: "Остатки",
        genitive: "остатков",
        choice_label: "Остатки товаров",
        needs: Some(ImportKind::Catalog),
        headline: (Counter::Offers, ["SKU", "SKU", "SKU"]),
    },
    /// Prices per offer and price type (3.x `prices`, or 2.x `offers.xml`); lands on the offers
    /// of the catalog.
    Prices => KindInfo {
        word: "prices",
        title: "Цены",
        genitive: "цен",
        choice_label: "Цены товаров",
        needs: Some(ImportKind::Catalog),
        headline: (Counter::Offers, ["SKU", "SKU", "SKU"]),
    },
    /// Counterparties (3.x `contragents`): the shop's customers.
    Customers => KindInfo {
        word: "customers",
        title: "Клиенты",
        genitive: "клиентов",
        choice_label: "Клиенты",
        needs: None,
        headline: (Counter::Customers, ["клиент", "клиента", "клиентов"]),
    },
}

impl ImportKind {
    /// The word stored in `import_sessions.import_type` and used by the CLI.
    pub fn as_str(self) -> &'static str {
        self.info().word
    }

    /// Parses the stored/CLI word.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }

    /// The monitor's column text: Каталог / Остатки / Цены / Клиенты.
    pub fn title(self) -> &'static str {
        self.info().title
    }

    /// The checkbox label on «Выбор типов данных для импорта».
    pub fn choice_label(self) -> &'static str {
        self.info().choice_label
    }

    /// Whether this kind needs products in the database (or the catalog in the same run).
    pub fn needs_catalog(self) -> bool {
        self.info().needs == Some(ImportKind::Catalog)
    }

    /// The summary's headline for this kind: «1 234 товара», «1 234 SKU».
    pub fn headline(self, counts: &std::collections::BTreeMap<Counter, u64>) -> String {
        let (counter, [one, few, many]) = self.info().headline;
        crate::text::count_noun(counts.get(&counter).copied().unwrap_or(0), one, few, many)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_speak_russian() {
        crate::words::round_trip(&ImportKind::ALL, ImportKind::as_str, ImportKind::parse);
        assert_eq!(ImportKind::parse(" stocks "), Some(ImportKind::Stocks));
        assert_eq!(ImportKind::parse("orders"), None);
        assert_eq!(ImportKind::Stocks.title(), "Остатки");
        assert_eq!(ImportKind::Prices.choice_label(), "Цены товаров");
        assert!(ImportKind::Stocks.needs_catalog() && ImportKind::Prices.needs_catalog());
        assert!(!ImportKind::Catalog.needs_catalog() && !ImportKind::Customers.needs_catalog());
    }

    #[test]
    fn every_row_is_in_run_order() {
        for (i, k) in ImportKind::ALL.into_iter().enumerate() {
            // A kind lands only on a kind that runs before it.
            if let Some(parent) = k.info().needs {
                assert!(parent < k, "{k:?} needs {parent:?}, which runs later");
            }
            assert!(i == 0 || ImportKind::ALL[i - 1] < k);
        }
        let counts = [(Counter::Products, 1234), (Counter::Offers, 2)].into();
        assert_eq!(ImportKind::Catalog.headline(&counts), "1\u{a0}234 товара");
        assert_eq!(ImportKind::Stocks.headline(&counts), "2 SKU");
        assert_eq!(ImportKind::Customers.headline(&counts), "0 клиентов");
    }
}
