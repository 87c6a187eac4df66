//! The pure parts of 1C's «Обмен с сайтом» (`?type=catalog&mode=…`) protocol.
//!
//! - [`plan`]: the requests of one exchange as each generation of 1C makes them (for the
//!   `onec-admin exchange send` stand-in).
//! - [`query`]: `?type=catalog&mode=…` and the parameters each mode carries.
//! - [`reply`]: what 1C reads back: a first line that is exactly `success`, `progress` or
//!   `failure`, then text lines for its log, in UTF-8 or windows-1251.
//! - [`send`]: what the stand-in needs besides the plan: the export's files in 1C's order, the
//!   replies of `checkauth` and `init` read back, each request's query string.
//! - [`name`]: the `filename` 1C sends, normalised (Windows separators, the Linux 1C temp
//!   prefixes) and checked, so that nothing it names can leave the exchange's spool folder.
//! - [`unzip`]: the archive sent with `zip=yes`, unpacked with the same name checks and limits on
//!   entries, size and compression ratio enforced on the bytes as they stream out.
//!
//! No HTTP, no database, no async: the server wires these into its endpoint.
#![deny(missing_docs)]

pub mod name;
pub mod plan;
pub mod query;
pub mod reply;
pub mod send;
pub mod unzip;

pub use name::{NameError, SpoolName};
pub use query::{Mode, Query, QueryError};
pub use reply::{Charset, Reply, Status};
pub use unzip::{ZipError, ZipLimits, unpack};
