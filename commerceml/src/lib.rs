//! Streaming reader of 1C:Enterprise CommerceML exports (2.x and 3.x).
//!
//! Bytes in, typed records out: no database, no HTTP, no async. A file is
//! read as a stream (one record buffered at a time), decoded from UTF-8 (with
//! or without BOM), windows-1251 or UTF-16, and yields [`Item`]s: usable
//! [`Record`]s and [`Warning`]s for records it had to skip. Malformed files
//! are [`Error`]s that name the file, line, byte offset and element path;
//! DTDs are refused, entities are never expanded.
//!
//! ```no_run
//! use commerceml::{discover, open_file, Item, Record};
//! # fn main() -> Result<(), commerceml::Error> {
//! let package = discover(std::path::Path::new("/path/to/export"))?;
//! for file in &package.files {
//!     for item in open_file(&file.path)? {
//!         match item? {
//!             Item::Record(Record::Product(p)) => println!("{} {}", p.id, p.name),
//!             Item::Record(_) => {}
//!             Item::Warning(w) => eprintln!("{w}"),
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod build;
mod discover;
mod error;
mod model;
pub mod number;
mod reader;
mod source;
mod tags;

pub use discover::{
    ExportFile, ExportPackage, FileId, SkippedFile, discover, inspect, open_export, open_file,
    scan, sniff_kind,
};
pub use error::{
    Error, ErrorKind, MAX_DEPTH, MAX_EVENT_BYTES, MAX_PATH_BYTES, MAX_RECORD_BYTES, SkipReason,
    Warning,
};
pub use model::{
    Address, BankAccount, Customer, Group, Header, Item, Kind, Offer, OfferId, Price, PriceType,
    Product, Property, PropertyValue, Record, StockEntry, Unit, Warehouse,
};
pub use reader::RecordReader;
pub use rust_decimal::Decimal;
