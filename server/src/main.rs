//! `onec-admin`: the web server of «Импорт из 1С» and its command line. `main` only parses the
//! command and hands it to [`cli::run`].
use std::process::ExitCode;

use clap::Parser;

/// Subcommands and their handlers.
mod cli;
/// Settings from the environment (and an optional `.env`), checked before anything starts.
mod config;
/// Live run states for browsers (server-sent events).
mod events;
/// Login and same-origin checks in front of every route.
mod guard;
/// `import`, `stats`, `show`: the CLI side of the import engine.
mod import_cli;
/// The router: server functions, health check, static files.
mod routes;
/// Building and running the web application.
mod startup;

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,sea_orm=warn".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    cli::run(cli::Cli::parse()).await
}
