//! What the server and the browser app both speak: the import kinds, the live state of a run and
//! what the server functions answer.
//! Every change of a run is published as the whole new [`RunState`] (it is small), so a browser
//! that connects late, or reconnects, needs nothing but the latest state.

#![warn(missing_docs)]

/// Russian plural forms and digit grouping.
pub mod text;

mod changes;
mod counter;
mod dto;
mod exchange;
mod exchange_mode;
mod kind;
mod origin;
mod refusal;
mod run;
mod run_status;
mod session;
mod skip;

pub use changes::{
    CHANGE_EXAMPLES, ChangeColumn, ChangeCounts, ChangeEntity, ChangeLimits, ChangeReport,
    ChangeWarning, ExampleKind, FileStamp, Named, PreviewFiles, PriceChange, StockChange,
};
pub use counter::Counter;
pub use dto::{AdminInfo, CatalogStatus, PER_PAGE, SessionDetail, SessionPage, SessionRow};
pub use exchange::{
    EXCHANGES_SHOWN, ExchangePage, ExchangeRequest, ExchangeRow, ExchangeSession, ExchangeSetup,
    ExchangeStatus,
};
pub use exchange_mode::ExchangeMode;
pub use kind::{ImportKind, KindInfo};
pub use origin::RunOrigin;
pub use refusal::{Level, Refusal};
pub use run::{KindPhase, KindState, RunMode, RunPhase, RunState, Started};
pub use run_status::RunStatus;
pub use session::SessionStatus;
pub use skip::SkipReason;

/// What every word-list test of this crate checks, once.
#[cfg(test)]
mod words {
    /// Every value of a vocabulary parses back from its word, and that word is its serde name
    /// (as JSON carries it both ways).
    pub(crate) fn round_trip<T>(
        all: &[T],
        word: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) where
        T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    {
        for &v in all {
            assert_eq!(parse(word(v)), Some(v), "{v:?}");
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", word(v)),
                "{v:?}: the serde name is the word"
            );
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
        }
    }
}
