//! The `onec-admin` binary's library: configuration, start-up, the router and its middleware,
//! live events and the CLI. `main.rs` only parses the command line; tests build the same
//! application in-process.
/// `bench`: parse-only and monitor timings for scripts/bench.sh.
pub mod bench;
/// Subcommands and their handlers.
pub mod cli;
/// Settings from the environment (and an optional `.env`), checked before anything starts.
pub mod config;
/// Live run states for browsers (server-sent events).
pub mod events;
/// 1C's «Обмен с сайтом» endpoint (`/1c/exchange`).
pub mod exchange1c;
/// `exchange send`: the 1C stand-in that plays the exchange protocol against a site.
pub mod exchange_cli;
/// Login and same-origin checks in front of every route.
pub mod guard;
/// `import`, `stats`, `show`: the CLI side of the import engine.
pub mod import_cli;
/// Log format (`ONEC_LOG_FORMAT`) and the request id of every line.
pub mod logging;
/// Prometheus metrics on their own address (`ONEC_METRICS_BIND`).
pub mod metrics;
/// The router: server functions, health check, static files.
pub mod routes;
/// Building and running the web application.
pub mod startup;
