use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ProcessEnv};
use crate::import_cli::ImportCommand;
use crate::startup::{self, Application};

/// «Импорт из 1С»: the web app for importing 1C:Enterprise exports, and its command line.
///
/// Settings come from the environment (and ./.env): DATABASE_URL, REDIS_URL, ONEC_DATA_DIR,
/// ONEC_BIND, ONEC_DIST_DIR, ONEC_ADMIN_LOGIN, ONEC_ADMIN_PASSWORD, ONEC_SECURE_COOKIES,
/// ONEC_PUBLIC_ORIGIN.
#[derive(Debug, Parser)]
#[command(name = "onec-admin", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create an administrator, or set a new password for an existing one.
    CreateAdmin(CreateAdmin),
    /// Write a realistic generated 1C export (for demos, tests and benchmarks).
    GenData(GenData),
    /// Import 1C data (the same checks, lock and sessions as the web app).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Totals of the imported data.
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one imported record.
    #[command(subcommand)]
    Show(Show),
    /// Benchmark helpers for scripts/bench.sh: parse only, the monitor's query path.
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum Show {
    /// An offer (SKU) with its prices and stock: `show offer <1C id> --json`.
    Offer {
        /// The offer's 1C id: `P`, `P#` or `P#C`.
        id: String,
        /// Print JSON (the only format).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct CreateAdmin {
    /// Login (default: ONEC_ADMIN_LOGIN).
    #[arg(long, env = "ONEC_ADMIN_LOGIN")]
    pub login: Option<String>,
    /// Password (default: ONEC_ADMIN_PASSWORD). Prefer --password-stdin: arguments are visible
    /// to other users of the machine.
    #[arg(long, env = "ONEC_ADMIN_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input (wins over --password and
    /// ONEC_ADMIN_PASSWORD).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct GenData {
    /// Number of products.
    #[arg(long)]
    pub products: usize,
    /// Number of customers (3.1 only).
    #[arg(long, default_value_t = 0)]
    pub customers: usize,
    /// Seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CommerceML version: 3.1 (a folder per kind) or 2.x (import.xml + offers.xml).
    #[arg(long, default_value = "3.1")]
    pub format: gendata::Format,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

/// Exit codes: 0 done, 1 failed, 2 refused before starting (configuration, validation).
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::GenData(args) => gen_data(args),
        command => {
            let config = match Config::from_env(&ProcessEnv) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            let result = match command {
                Command::Serve => serve(config).await,
                Command::Migrate => migrate(config).await,
                Command::CreateAdmin(args) => create_admin(config, args).await,
                Command::Import(cmd) => crate::import_cli::import(config, cmd).await,
                Command::Stats { json } => crate::import_cli::stats(config, json).await,
                Command::Show(Show::Offer { id, .. }) => {
                    crate::import_cli::show_offer(config, &id).await
                }
                Command::Bench(cmd) => crate::bench::bench(config, cmd).await,
                Command::GenData(_) => unreachable!("handled above"),
            };
            match result {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("Ошибка: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let app = Application::build(config).await?;
    tracing::info!("«Импорт из 1С» слушает http://{}", app.local_addr());
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

async fn migrate(config: Config) -> anyhow::Result<ExitCode> {
    startup::state(&config).await?;
    println!(
        "Миграции применены: {}",
        engine::db::redact_url(&config.database_url)
    );
    Ok(ExitCode::SUCCESS)
}

async fn create_admin(config: Config, args: CreateAdmin) -> anyhow::Result<ExitCode> {
    let Some(login) = args.login else {
        eprintln!("Укажите логин: --login или ONEC_ADMIN_LOGIN");
        return Ok(ExitCode::from(2));
    };
    let password = if args.password_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s.lines().next().unwrap_or_default().to_owned()
    } else if let Some(p) = args.password {
        p
    } else {
        eprintln!("Укажите пароль: --password-stdin, --password или ONEC_ADMIN_PASSWORD");
        return Ok(ExitCode::from(2));
    };
    let state = startup::state(&config).await?;
    match engine::auth::upsert_admin(&state.db, &login, &password).await {
        Ok(engine::auth::Upserted::Created) => println!("Администратор «{}» создан.", login.trim()),
        Ok(engine::auth::Upserted::PasswordReset) => {
            println!("Пароль администратора «{}» обновлён.", login.trim())
        }
        Err(e @ (engine::auth::AdminError::BadLogin | engine::auth::AdminError::ShortPassword)) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

fn gen_data(args: GenData) -> ExitCode {
    let opts = gendata::Options {
        products: args.products,
        customers: args.customers,
        seed: args.seed,
        format: args.format,
        ..Default::default()
    };
    match gendata::generate(&opts, &args.out) {
        Ok(summary) => {
            println!("{}", summary.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Не удалось записать выгрузку в {}: {e}", args.out.display());
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["onec-admin"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from([
            "onec-admin",
            "gen-data",
            "--products",
            "5",
            "--format",
            "2.x",
            "--out",
            "x",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::GenData(GenData {
                products: 5,
                format: gendata::Format::V2x,
                ..
            }))
        ));
        assert!(
            Cli::try_parse_from([
                "onec-admin",
                "gen-data",
                "--products",
                "5",
                "--format",
                "4",
                "--out",
                "x"
            ])
            .is_err()
        );
    }
}
