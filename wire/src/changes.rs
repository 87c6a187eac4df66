//! «Что изменилось»: what an import changed (or a preview would change), and the files a
//! preview read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{ImportKind, SkipReason};

/// How many examples of each kind a change report keeps (bounded top-N, never full lists).
pub const CHANGE_EXAMPLES: usize = 20;

/// What a line of «Что изменилось» counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeEntity {
    /// Product cards (`Товар` of the catalog).
    Products,
    /// Offers (`Предложение`): the variants (SKU) of a product that carry prices and stock.
    Offers,
    /// Price types (`ТипЦены`).
    PriceTypes,
    /// Warehouses (`Склад`).
    Warehouses,
    /// Price rows: one per offer and price type.
    Prices,
    /// Stock rows: one per offer and warehouse.
    Stocks,
    /// Customers (`Контрагент`).
    Customers,
}

impl ChangeEntity {
    /// Every entity, in the order the page shows them.
    pub const ALL: [ChangeEntity; 7] = [
        Self::Products,
        Self::Offers,
        Self::PriceTypes,
        Self::Warehouses,
        Self::Prices,
        Self::Stocks,
        Self::Customers,
    ];

    /// The row title on the session page.
    pub fn title(self) -> &'static str {
        match self {
            Self::Products => "Карточки товаров",
            Self::Offers => "Предложения (SKU)",
            Self::PriceTypes => "Типы цен",
            Self::Warehouses => "Склады",
            Self::Prices => "Цены (предложение × тип цены)",
            Self::Stocks => "Остатки (предложение × склад)",
            Self::Customers => "Клиенты",
        }
    }
}

/// The columns of «Что изменилось»: each record the import met lands in exactly one of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeColumn {
    /// Not stored before.
    New,
    /// Stored, and some value differs (a price whose currency alone changed counts here too).
    Changed,
    /// Stored exactly as the export has it.
    Unchanged,
    /// Stored active, now with 1C's deletion mark (`ПометкаУдаления`): taken off sale.
    Deactivated,
    /// Stored with the deletion mark, now without it: back on sale.
    Reactivated,
}

impl ChangeColumn {
    /// Every column, in the order the page shows them.
    pub const ALL: [ChangeColumn; 5] = [
        Self::New,
        Self::Changed,
        Self::Unchanged,
        Self::Deactivated,
        Self::Reactivated,
    ];

    /// The column title.
    pub fn title(self) -> &'static str {
        match self {
            Self::New => "новых",
            Self::Changed => "изменено",
            Self::Unchanged => "без изменений",
            Self::Deactivated => "снято с продажи (пометка удаления)",
            Self::Reactivated => "возвращено в продажу",
        }
    }
}

/// Counts of one [`ChangeEntity`]. A record is `new` (not stored before), `deactivated` (stored
/// active, now with a deletion mark), `reactivated` (stored with a mark, now without), `changed`
/// (any other difference) or `unchanged`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeCounts {
    /// Records not stored before.
    pub new: u64,
    /// Stored records with some other value.
    pub changed: u64,
    /// Stored records that stay as they are.
    pub unchanged: u64,
    /// Active records that now carry the deletion mark.
    pub deactivated: u64,
    /// Marked records that no longer carry it.
    pub reactivated: u64,
}

impl ChangeCounts {
    /// One column's count.
    pub fn get(&self, c: ChangeColumn) -> u64 {
        match c {
            ChangeColumn::New => self.new,
            ChangeColumn::Changed => self.changed,
            ChangeColumn::Unchanged => self.unchanged,
            ChangeColumn::Deactivated => self.deactivated,
            ChangeColumn::Reactivated => self.reactivated,
        }
    }

    /// Adds `n` to a column.
    pub fn bump(&mut self, c: ChangeColumn, n: u64) {
        match c {
            ChangeColumn::New => self.new += n,
            ChangeColumn::Changed => self.changed += n,
            ChangeColumn::Unchanged => self.unchanged += n,
            ChangeColumn::Deactivated => self.deactivated += n,
            ChangeColumn::Reactivated => self.reactivated += n,
        }
    }
}

/// A record as an administrator finds it in 1C: its `Ид` and name.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Named {
    /// The record's `Ид` in 1C (an offer's is `product#characteristic` or its product's).
    pub onec_id: String,
    /// Its `Наименование` (an offer without its own name shows its product's, or its `Ид`).
    pub name: String,
}

/// One price that changed. Amounts in ten-thousandths, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    /// The offer whose price changed.
    pub offer: Named,
    /// The price type of the changed price.
    pub price_type: Named,
    /// The stored price, in ten-thousandths.
    pub old_e4: i64,
    /// The price from the export, in ten-thousandths.
    pub new_e4: i64,
    /// The change in hundredths of a percent of the old price; `None` when the old price was 0.
    pub percent_e2: Option<i64>,
}

/// One stock quantity that changed. Quantities in ten-thousandths, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChange {
    /// The offer whose stock changed.
    pub offer: Named,
    /// The warehouse it is stocked in.
    pub warehouse: Named,
    /// The stored quantity, in ten-thousandths.
    pub old_e4: i64,
    /// The quantity from the export, in ten-thousandths.
    pub new_e4: i64,
}

/// The lists of named records a change report keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExampleKind {
    /// Products not stored before.
    NewProducts,
    /// Products that now carry the deletion mark.
    DeactivatedProducts,
    /// Price types not stored before.
    NewPriceTypes,
    /// Warehouses not stored before.
    NewWarehouses,
}

impl ExampleKind {
    /// Every list, in the order the page shows them.
    pub const ALL: [ExampleKind; 4] = [
        Self::NewProducts,
        Self::DeactivatedProducts,
        Self::NewPriceTypes,
        Self::NewWarehouses,
    ];

    /// The list's heading.
    pub fn title(self) -> &'static str {
        match self {
            Self::NewProducts => "Новые товары",
            Self::DeactivatedProducts => "Снятые с продажи товары",
            Self::NewPriceTypes => "Новые типы цен",
            Self::NewWarehouses => "Новые склады",
        }
    }
}

/// The thresholds of the warnings (`ONEC_PREVIEW_*`, see the admin guide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLimits {
    /// A price that falls or rises by more than this percent is worth a look.
    pub price_jump_percent: u32,
    /// More than this percent of the active catalog deactivated at once.
    pub deactivated_share_percent: u32,
    /// Stock going to zero for more than this percent of the offers whose stock the import sets.
    pub stock_zero_share_percent: u32,
}

impl Default for ChangeLimits {
    fn default() -> Self {
        Self {
            price_jump_percent: 50,
            deactivated_share_percent: 10,
            stock_zero_share_percent: 20,
        }
    }
}

/// Something that deserves a look before committing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeWarning {
    /// `count` prices change by more than `limit_percent` (up or down).
    PriceJumps {
        /// Prices that change by more than the limit.
        count: u64,
        /// [`ChangeLimits::price_jump_percent`].
        limit_percent: u32,
    },
    /// `deactivated` of the `active_before` active products get a deletion mark.
    MassDeactivation {
        /// Products taken off sale by this import.
        deactivated: u64,
        /// Active products before it.
        active_before: u64,
        /// [`ChangeLimits::deactivated_share_percent`].
        limit_percent: u32,
    },
    /// The stock of `offers` of the `of_offers` offers the import sets goes to zero.
    StockToZero {
        /// Offers that had stock and have none after the import.
        offers: u64,
        /// Offers whose stock the import sets.
        of_offers: u64,
        /// [`ChangeLimits::stock_zero_share_percent`].
        limit_percent: u32,
    },
    /// `offers` offers had a price and now have only zero prices.
    PricesLost {
        /// Offers left without a non-zero price.
        offers: u64,
    },
}

impl ChangeWarning {
    /// The administrator's text.
    pub fn text(&self) -> String {
        match self {
            Self::PriceJumps {
                count,
                limit_percent,
            } => format!("⚠️ Цен, изменившихся более чем на {limit_percent} %: {count}."),
            Self::MassDeactivation {
                deactivated,
                active_before,
                limit_percent,
            } => format!(
                "⚠️ Снимается с продажи {deactivated} из {active_before} активных товаров — больше {limit_percent} % каталога."
            ),
            Self::StockToZero {
                offers,
                of_offers,
                limit_percent,
            } => format!(
                "⚠️ Остаток обнуляется у {offers} из {of_offers} предложений — больше {limit_percent} %."
            ),
            Self::PricesLost { offers } => {
                format!("⚠️ Предложений, у которых не остаётся ни одной ненулевой цены: {offers}.")
            }
        }
    }
}

/// What an import changed (or, in a preview, would change): counts per entity, records
/// skipped by reason, bounded examples and warnings. Collected while writing, stored in the
/// session's report under `changes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeReport {
    /// Records per entity and column; an entity the import did not meet is absent.
    pub counts: BTreeMap<ChangeEntity, ChangeCounts>,
    /// Records (or values) skipped, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// Up to [`CHANGE_EXAMPLES`] new products, in the order met.
    pub new_products: Vec<Named>,
    /// Up to [`CHANGE_EXAMPLES`] products taken off sale, in the order met.
    pub deactivated_products: Vec<Named>,
    /// The largest price changes (by percent; a price from zero first), largest first.
    pub price_changes: Vec<PriceChange>,
    /// The largest stock changes (by quantity), largest first.
    pub stock_changes: Vec<StockChange>,
    /// Up to [`CHANGE_EXAMPLES`] new price types, in the order met.
    pub new_price_types: Vec<Named>,
    /// Up to [`CHANGE_EXAMPLES`] new warehouses, in the order met.
    pub new_warehouses: Vec<Named>,
    /// What crossed a [`ChangeLimits`] threshold.
    pub warnings: Vec<ChangeWarning>,
}

impl ChangeReport {
    /// Counts of one entity (zeros when it was not met).
    pub fn of(&self, e: ChangeEntity) -> ChangeCounts {
        self.counts.get(&e).copied().unwrap_or_default()
    }

    /// A list of named examples.
    pub fn examples(&self, k: ExampleKind) -> &[Named] {
        match k {
            ExampleKind::NewProducts => &self.new_products,
            ExampleKind::DeactivatedProducts => &self.deactivated_products,
            ExampleKind::NewPriceTypes => &self.new_price_types,
            ExampleKind::NewWarehouses => &self.new_warehouses,
        }
    }

    /// Nothing new, changed, deactivated or reactivated.
    pub fn is_quiet(&self) -> bool {
        self.counts
            .values()
            .all(|c| c.new + c.changed + c.deactivated + c.reactivated == 0)
    }
}

/// A file of a preview as it was read: the real import started from the preview's result
/// compares these and says so when one changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Relative to the data folder, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub mtime: i64,
    /// SHA-256, hex.
    pub sha256: String,
}

/// Before the import started from a preview's result: the kinds the preview checked and the
/// export files that changed since (empty: the import reads what the preview read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewFiles {
    /// The kinds the preview checked: what the import will run.
    pub kinds: Vec<ImportKind>,
    /// Paths (relative to the data folder) of the files that differ from what the preview read.
    pub changed: Vec<String>,
}

impl PreviewFiles {
    /// The page's warning when files changed.
    pub fn warning(&self) -> Option<String> {
        (!self.changed.is_empty()).then(|| {
            format!(
                "⚠️ Файлы выгрузки изменились после проверки: {}. Результат проверки может не совпасть с импортом.",
                self.changed.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_reports_travel_with_serde_names_and_read_old_json() {
        let mut r = ChangeReport::default();
        r.counts
            .entry(ChangeEntity::Products)
            .or_default()
            .bump(ChangeColumn::New, 3);
        r.skipped.insert(SkipReason::UnknownOffer, 2);
        r.warnings.push(ChangeWarning::PricesLost { offers: 1 });
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""products":{"new":3"#), "{json}");
        assert!(json.contains(r#""unknown_offer":2"#), "{json}");
        assert!(json.contains(r#""kind":"prices_lost""#), "{json}");
        assert_eq!(serde_json::from_str::<ChangeReport>(&json).unwrap(), r);
        assert_eq!(
            serde_json::from_str::<ChangeReport>("{}").unwrap(),
            ChangeReport::default()
        );
        assert!(!r.is_quiet());
        assert!(ChangeReport::default().is_quiet());
        for w in [
            ChangeWarning::PriceJumps {
                count: 4,
                limit_percent: 50,
            },
            ChangeWarning::MassDeactivation {
                deactivated: 5,
                active_before: 10,
                limit_percent: 10,
            },
            ChangeWarning::StockToZero {
                offers: 3,
                of_offers: 4,
                limit_percent: 20,
            },
            ChangeWarning::PricesLost { offers: 1 },
        ] {
            assert!(w.text().starts_with("⚠️ "), "{w:?}");
        }
    }
}
