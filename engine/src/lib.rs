//! The server-side core of «Импорт из 1С»: the shop schema's entities, the database connection,
//! administrators and their web sessions, and import sessions. It knows nothing of HTTP; the
//! `server` binary and the `app` server functions call into it.

/// Administrators, password hashing and web sessions.
pub mod auth;
/// Connecting to SQLite or PostgreSQL and applying migrations.
pub mod db;
/// After a full 1C exchange: marking deleted what it did not mention.
pub mod deactivate;
/// sea-orm entities, one module per table.
pub mod entity;
/// The journal of 1C's exchange requests (the «Обмен с 1С» page).
pub mod exchange_journal;
/// The importers: CommerceML export files into the shop database, in one transaction each.
pub mod import;
/// Import kinds and session statuses, the words the monitor and the CLI speak.
pub mod kinds;
/// Read-only queries behind the «Сессии импорта» monitor.
pub mod monitor;
/// Selective runs: checks, the Redis lock, one session per kind, live state.
pub mod run;
/// Totals of the shop tables and one offer's prices and stock, for the CLI.
pub mod stats;
/// Fresh, migrated databases for tests (SQLite and PostgreSQL); not in the production library
/// (feature `testing`, which this crate's and the server's tests turn on).
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use redis;
pub use sea_orm::DatabaseConnection;
