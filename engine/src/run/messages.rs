//! The Russian texts a run ends with: «✅ Импорт завершен: …» and «❌ Ошибка импорта …».
use std::collections::BTreeMap;

use wire::{Counter, ImportKind, SkipReason};

pub use wire::text::{count_noun, thousands};

fn skipped_text(skipped: &BTreeMap<SkipReason, u64>) -> Option<String> {
    let total: u64 = skipped.values().sum();
    if total == 0 {
        return None;
    }
    let reasons: Vec<String> = skipped
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| {
            if skipped.len() == 1 {
                r.text().to_owned()
            } else {
                format!("{} — {}", r.text(), thousands(*n))
            }
        })
        .collect();
    Some(format!(
        "пропущено {}: {}",
        thousands(total),
        reasons.join(", ")
    ))
}

/// A kind that ended well: the kind, its counts and its skipped records by reason.
pub type DoneKind = (
    ImportKind,
    BTreeMap<Counter, u64>,
    BTreeMap<SkipReason, u64>,
);

/// «✅ Импорт завершен: Каталог (1 234 товара), Остатки (1 234 SKU, пропущено 12: нет товара в
/// каталоге)».
pub fn success(done: &[DoneKind]) -> String {
    let parts: Vec<String> = done
        .iter()
        .map(|(kind, counts, skipped)| match skipped_text(skipped) {
            Some(s) => format!("{} ({}, {s})", kind.title(), kind.headline(counts)),
            None => format!("{} ({})", kind.title(), kind.headline(counts)),
        })
        .collect();
    format!("✅ Импорт завершен: {}", parts.join(", "))
}

/// «Остатки и цены не импортированы.» for the kinds that did not get their turn.
fn not_imported(rest: &[ImportKind]) -> Option<String> {
    let names: Vec<String> = rest.iter().map(|k| k.title().to_lowercase()).collect();
    let list = match names.as_slice() {
        [] => return None,
        [one] => one.clone(),
        [init @ .., last] => format!("{} и {last}", init.join(", ")),
    };
    let mut chars = list.chars();
    let capitalised: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    Some(format!("{capitalised} не импортированы."))
}

/// «❌ Ошибка импорта каталога: [детали]. Остатки и цены не импортированы.»
pub fn failure(kind: ImportKind, detail: &str, rest: &[ImportKind]) -> String {
    let detail = detail.trim_end_matches('.');
    match not_imported(rest) {
        Some(tail) => format!(
            "❌ Ошибка импорта {}: {detail}. {tail}",
            kind.info().genitive
        ),
        None => format!("❌ Ошибка импорта {}: {detail}.", kind.info().genitive),
    }
}

/// A run's final message, said of a preview: «✅ Проверка без записи завершена, ничего не
/// записано: Каталог (…)» or «❌ Проверка без записи: Ошибка импорта …».
pub fn preview(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("✅ Импорт завершен: ") {
        format!("✅ Проверка без записи завершена, ничего не записано: {rest}")
    } else if let Some(rest) = message.strip_prefix("❌ ") {
        format!("❌ Проверка без записи, ничего не записано. {rest}")
    } else {
        format!("Проверка без записи, ничего не записано. {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map<K: Ord + Copy>(pairs: &[(K, u64)]) -> BTreeMap<K, u64> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn the_success_summary_names_every_kind_with_real_counts() {
        let msg = success(&[
            (
                ImportKind::Catalog,
                map(&[(Counter::Products, 1234)]),
                map(&[]),
            ),
            (
                ImportKind::Stocks,
                map(&[(Counter::Offers, 1234)]),
                map(&[]),
            ),
            (ImportKind::Prices, map(&[(Counter::Offers, 980)]), map(&[])),
            (
                ImportKind::Customers,
                map(&[(Counter::Customers, 56)]),
                map(&[]),
            ),
        ]);
        assert_eq!(
            msg.replace('\u{a0}', " "),
            "✅ Импорт завершен: Каталог (1 234 товара), Остатки (1 234 SKU), Цены (980 SKU), Клиенты (56 клиентов)"
        );
    }

    #[test]
    fn skipped_records_are_mentioned() {
        let one = success(&[(
            ImportKind::Stocks,
            map(&[(Counter::Offers, 3)]),
            map(&[(SkipReason::UnknownOffer, 12)]),
        )]);
        assert_eq!(
            one,
            "✅ Импорт завершен: Остатки (3 SKU, пропущено 12: нет предложения в каталоге)"
        );
        let two = success(&[(
            ImportKind::Catalog,
            map(&[(Counter::Products, 1)]),
            map(&[(SkipReason::UnknownProduct, 2), (SkipReason::MissingId, 1)]),
        )]);
        assert_eq!(
            two,
            "✅ Импорт завершен: Каталог (1 товар, пропущено 3: нет Ид — 1, нет товара в каталоге — 2)"
        );
    }

    #[test]
    fn reasons_the_importer_counts_read_as_russian() {
        let text = success(&[(
            ImportKind::Prices,
            map(&[(Counter::Offers, 5)]),
            map(&[
                (SkipReason::NumberOutOfRange, 1),
                (SkipReason::UnknownProperty, 2),
            ]),
        )]);
        assert!(
            text.contains("число вне допустимого диапазона — 1")
                && text.contains("неизвестное свойство — 2"),
            "{text}"
        );
        assert!(!text.contains("_"), "a raw key in {text}");
    }

    #[test]
    fn the_failure_message_names_what_was_not_imported() {
        assert_eq!(
            failure(
                ImportKind::Catalog,
                "файл обрывается.",
                &[ImportKind::Stocks, ImportKind::Prices]
            ),
            "❌ Ошибка импорта каталога: файл обрывается. Остатки и цены не импортированы."
        );
        assert_eq!(
            failure(
                ImportKind::Stocks,
                "x",
                &[ImportKind::Prices, ImportKind::Customers]
            ),
            "❌ Ошибка импорта остатков: x. Цены и клиенты не импортированы."
        );
        assert_eq!(
            failure(
                ImportKind::Catalog,
                "x",
                &[
                    ImportKind::Stocks,
                    ImportKind::Prices,
                    ImportKind::Customers
                ]
            ),
            "❌ Ошибка импорта каталога: x. Остатки, цены и клиенты не импортированы."
        );
        assert_eq!(
            failure(ImportKind::Customers, "x", &[]),
            "❌ Ошибка импорта клиентов: x."
        );
        assert_eq!(
            failure(ImportKind::Prices, "y", &[ImportKind::Customers]),
            "❌ Ошибка импорта цен: y. Клиенты не импортированы."
        );
    }
}
