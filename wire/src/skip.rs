//! Why the importer skipped a record, with the stored key and the Russian text of each reason.

use serde::{Deserialize, Serialize};

/// Why the importer skipped a record (or one value of it). The importer can only count a
/// reason of this type, and every reason has its Russian text: a new reason without one does not
/// compile. The serde name is the key stored in a session's report and sent in [`KindState`](crate::KindState).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// A record without `Ид` (or with the all-zero GUID).
    MissingId,
    /// A price or quantity that is not a number.
    BadNumber,
    /// A price or quantity that is empty or 1C's "not filled" marker.
    EmptyNumber,
    /// A price without `ИдТипаЦены`.
    MissingPriceType,
    /// A per-warehouse stock entry without a warehouse id.
    MissingWarehouseId,
    /// An offer id like `#abc` with no product part.
    BadOfferId,
    /// A yes/no flag that is neither (read as "no").
    BadBoolean,
    /// An offer whose product is not in the catalog.
    UnknownProduct,
    /// A price or stock record whose offer is not in the catalog.
    UnknownOffer,
    /// A price whose price type is unknown.
    UnknownPriceType,
    /// A product property value whose property is unknown.
    UnknownProperty,
    /// A price or quantity too large for the column.
    NumberOutOfRange,
}

impl SkipReason {
    /// Every reason.
    pub const ALL: [SkipReason; 12] = [
        Self::MissingId,
        Self::BadNumber,
        Self::EmptyNumber,
        Self::MissingPriceType,
        Self::MissingWarehouseId,
        Self::BadOfferId,
        Self::BadBoolean,
        Self::UnknownProduct,
        Self::UnknownOffer,
        Self::UnknownPriceType,
        Self::UnknownProperty,
        Self::NumberOutOfRange,
    ];

    /// The stored key, e.g. `"unknown_offer"` (the serde name).
    pub fn key(self) -> &'static str {
        match self {
            Self::MissingId => "missing_id",
            Self::BadNumber => "bad_number",
            Self::EmptyNumber => "empty_number",
            Self::MissingPriceType => "missing_price_type",
            Self::MissingWarehouseId => "missing_warehouse_id",
            Self::BadOfferId => "bad_offer_id",
            Self::BadBoolean => "bad_boolean",
            Self::UnknownProduct => "unknown_product",
            Self::UnknownOffer => "unknown_offer",
            Self::UnknownPriceType => "unknown_price_type",
            Self::UnknownProperty => "unknown_property",
            Self::NumberOutOfRange => "number_out_of_range",
        }
    }

    /// Parses a stored key.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }

    /// What the reason means, for the summary and the session page.
    pub fn text(self) -> &'static str {
        match self {
            Self::MissingId => "нет Ид",
            Self::BadNumber => "неверное число",
            Self::EmptyNumber => "пустое число",
            Self::MissingPriceType => "не указан тип цены",
            Self::MissingWarehouseId => "не указан склад",
            Self::BadOfferId => "неверный Ид предложения",
            Self::BadBoolean => "неверное логическое значение",
            Self::UnknownProduct => "нет товара в каталоге",
            Self::UnknownOffer => "нет предложения в каталоге",
            Self::UnknownPriceType => "неизвестный тип цены",
            Self::UnknownProperty => "неизвестное свойство",
            Self::NumberOutOfRange => "число вне допустимого диапазона",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_skip_reason_has_its_key_and_russian_text() {
        crate::words::round_trip(&SkipReason::ALL, SkipReason::key, SkipReason::parse);
        for r in SkipReason::ALL {
            assert_ne!(r.text(), r.key(), "{r:?} has no text");
        }
        // The reasons the importer itself counts (not the reader) read as Russian too.
        assert_eq!(SkipReason::UnknownProperty.text(), "неизвестное свойство");
        assert_eq!(
            SkipReason::NumberOutOfRange.text(),
            "число вне допустимого диапазона"
        );
        assert_eq!(SkipReason::parse("from_a_newer_version"), None);
    }
}
