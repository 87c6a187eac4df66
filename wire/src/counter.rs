//! What an import counts. The importer can only count a [`Counter`], and every counter has its
//! Russian label, so the summary, the live page and the session page never show a raw key.

use serde::{Deserialize, Serialize};

/// One number an import reports. The serde name is the key stored in a session's report
/// (`import_sessions.report`) and sent in the live state; stored reports of older versions use the
/// same keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counter {
    /// Products (`Товар` of the catalog) written.
    Products,
    /// Offers (SKU: a product, or one of its characteristics) written or matched.
    Offers,
    /// Offers that are a characteristic of a product (`ИдХарактеристики`).
    Variants,
    /// Product groups (`Группа`) written.
    Categories,
    /// Units of measure (`ЕдиницаИзмерения`) written.
    Units,
    /// Property definitions (`Свойство`) written.
    Properties,
    /// Property values of products written.
    PropertyValues,
    /// Warehouses (`Склад`) written.
    Warehouses,
    /// Price types (`ТипЦены`) written.
    PriceTypes,
    /// Price rows (offer × price type) written.
    Prices,
    /// Stock rows (offer × warehouse) written.
    StockRows,
    /// Customers (`Контрагент`) written.
    Customers,
    /// Records that arrived with `ПометкаУдаления` and were marked deleted.
    Deactivated,
    /// Warehouses a stocks file named that the classifier did not define (created by name).
    WarehousesCreated,
    /// Rows that did not exist before this import.
    Created,
    /// Rows that existed and were written again.
    Updated,
}

impl Counter {
    /// Every counter, in the order the session page lists them.
    pub const ALL: [Counter; 16] = [
        Self::Products,
        Self::Offers,
        Self::Variants,
        Self::Categories,
        Self::Units,
        Self::Properties,
        Self::PropertyValues,
        Self::Warehouses,
        Self::PriceTypes,
        Self::Prices,
        Self::StockRows,
        Self::Customers,
        Self::Deactivated,
        Self::WarehousesCreated,
        Self::Created,
        Self::Updated,
    ];

    /// The session page's row label.
    pub fn title(self) -> &'static str {
        match self {
            Self::Products => "Товары",
            Self::Offers => "Предложения (SKU)",
            Self::Variants => "Характеристики товаров",
            Self::Categories => "Группы",
            Self::Units => "Единицы измерения",
            Self::Properties => "Свойства",
            Self::PropertyValues => "Значения свойств",
            Self::Warehouses => "Склады",
            Self::PriceTypes => "Типы цен",
            Self::Prices => "Цены",
            Self::StockRows => "Строки остатков",
            Self::Customers => "Клиенты",
            Self::Deactivated => "Помечено на удаление",
            Self::WarehousesCreated => "Создано складов (нет в классификаторе)",
            Self::Created => "Новых записей",
            Self::Updated => "Обновлено записей",
        }
    }

    /// The stored key (the serde name).
    pub fn key(self) -> &'static str {
        match self {
            Self::Products => "products",
            Self::Offers => "offers",
            Self::Variants => "variants",
            Self::Categories => "categories",
            Self::Units => "units",
            Self::Properties => "properties",
            Self::PropertyValues => "property_values",
            Self::Warehouses => "warehouses",
            Self::PriceTypes => "price_types",
            Self::Prices => "prices",
            Self::StockRows => "stock_rows",
            Self::Customers => "customers",
            Self::Deactivated => "deactivated",
            Self::WarehousesCreated => "warehouses_created",
            Self::Created => "created",
            Self::Updated => "updated",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_serde_names_and_round_trip() {
        crate::words::round_trip(&Counter::ALL, Counter::key, Counter::parse);
        assert!(Counter::ALL.iter().all(|c| !c.title().is_empty()));
        assert_eq!(Counter::parse("nothing"), None);
    }
}
