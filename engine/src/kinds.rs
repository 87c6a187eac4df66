pub use wire::{ImportKind, SessionStatus};

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
