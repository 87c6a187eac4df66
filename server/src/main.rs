//! `onec-admin`: the web server of «Импорт из 1С» and its command line. `main` only sets up the
//! logs and hands the parsed command to [`server::cli::run`].
use std::process::ExitCode;

use clap::Parser;
use server::config::ProcessEnv;
use server::logging::{self, LogFormat};

#[tokio::main]
async fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = server::cli::Cli::parse();
    match LogFormat::from_env(&ProcessEnv) {
        Ok(format) => logging::init(format),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    server::cli::run(cli).await
}
