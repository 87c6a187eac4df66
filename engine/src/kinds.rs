//! The kinds of import, as the engine sees them. What every layer knows about a kind is in one
//! place per layer, each an exhaustive `match` (or the table that declares the kind), so a new
//! kind that one of them forgets does not compile:
//!
//! | fact | where |
//! |---|---|
//! | the kind, its words, labels, dependency, headline counter | `wire::kind` (`kinds!` table) |
//! | the files it reads, the message when they are missing | `import::plan` (`Selection::of`) |
//! | the records it writes | `import::plan` (`Parts::of`) |
//! | the CLI's per-kind file option | `run::checks` (`request_for`) |
//!
//! The steps of adding a kind are in docs/architecture/20-1c-integration.md.
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
