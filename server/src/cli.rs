use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ProcessEnv};
use crate::import_cli::ImportCommand;
use crate::startup::{self, Application};

// One line per environment variable, shared by the help texts below.
macro_rules! env_line {
    (DATABASE_URL) => {
        "  DATABASE_URL         sqlite://… or postgres://user:pass@host:5432/db (default: sqlite://data/onec.db?mode=rwc)\n"
    };
    (REDIS_URL) => {
        "  REDIS_URL            Redis for the import lock and live progress (default: redis://127.0.0.1:6379)\n"
    };
    (ONEC_REDIS_PREFIX) => {
        "  ONEC_REDIS_PREFIX    prefix of every Redis key; instances sharing it share the lock (default: onec)\n"
    };
    (ONEC_DATA_DIR) => {
        "  ONEC_DATA_DIR        the folder 1C exports into\n"
    };
    (ONEC_BIND) => {
        "  ONEC_BIND            address the web app listens on (default: 127.0.0.1:3000)\n"
    };
    (ONEC_DIST_DIR) => {
        "  ONEC_DIST_DIR        the built browser app (default: dist)\n"
    };
    (ONEC_ADMIN_LOGIN) => {
        "  ONEC_ADMIN_LOGIN     first administrator's login (with ONEC_ADMIN_PASSWORD)\n"
    };
    (ONEC_ADMIN_PASSWORD) => {
        "  ONEC_ADMIN_PASSWORD  first administrator's password\n"
    };
    (ONEC_SECURE_COOKIES) => {
        "  ONEC_SECURE_COOKIES  true (default): cookie __Host-onec_session, always Secure; false for plain HTTP\n"
    };
    (ONEC_PUBLIC_ORIGIN) => {
        "  ONEC_PUBLIC_ORIGIN   origins administrators open the app at (default: http:// + ONEC_BIND)\n"
    };
    (ONEC_TRUSTED_PROXIES) => {
        "  ONEC_TRUSTED_PROXIES reverse proxies (addresses, networks) whose X-Forwarded-For is believed\n"
    };
    (ONEC_SESSION_MAX_AGE) => {
        "  ONEC_SESSION_MAX_AGE how long a login lasts at most, however active (default: 7d)\n"
    };
    (ONEC_METRICS_BIND) => {
        "  ONEC_METRICS_BIND    serve Prometheus /metrics on this address (default: off; never ONEC_BIND)\n"
    };
    (ONEC_PREVIEW) => {
        "  ONEC_PREVIEW_PRICE_JUMP_PERCENT, ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT,\n  ONEC_PREVIEW_STOCK_ZERO_SHARE_PERCENT\n                       warning thresholds of «Что изменилось» / --dry-run, whole percents (default: 50, 10, 20)\n"
    };
    (ONEC_EXCHANGE) => {
        concat!(
            "  ONEC_EXCHANGE_DIR    spool of 1C's /1c/exchange, one folder per exchange (default: exchange beside ONEC_DATA_DIR)\n",
            "  ONEC_EXCHANGE_IDLE_SECS  an exchange session without requests ends after this (default: 1800)\n",
            "  ONEC_EXCHANGE_FILE_LIMIT largest piece of a file per request, bytes, told to 1C (default: 104857600)\n",
            "  ONEC_EXCHANGE_MAX_BYTES  most bytes one exchange may store, archives unpacked (default: 21474836480)\n",
            "  ONEC_EXCHANGE_KEEP   finished exchanges kept in ONEC_EXCHANGE_DIR (default: 5)\n",
            "  ONEC_EXCHANGE_MODE   import: mode=import loads each file into the database; receive: only checks it (default: import)\n",
            "  ONEC_EXCHANGE_CHARSET    utf-8 or windows-1251: the text of the replies to 1C (default: utf-8)\n",
            "  ONEC_EXCHANGE_WAIT_SECS  how long mode=import waits for another import before failing (default: 600)\n",
            "  ONEC_EXCHANGE_DEACTIVATE true: mode=deactivate after a full exchange marks deleted the products and offers it did not mention (default: false)\n",
        )
    };
    (RUST_LOG) => {
        "  RUST_LOG             log filter (default: info,sqlx=warn,sea_orm=warn)\n"
    };
    (ONEC_LOG_FORMAT) => {
        "  ONEC_LOG_FORMAT      text (default) or json: one JSON object per line\n"
    };
}

macro_rules! env_help {
    ($($var:ident),* $(,)?) => {
        concat!("Environment variables (also read from ./.env):\n", $(env_line!($var)),*)
    };
}

/// Every variable: `onec-admin --help` and `serve --help`.
pub const ENV_ALL: &str = env_help!(
    DATABASE_URL,
    REDIS_URL,
    ONEC_REDIS_PREFIX,
    ONEC_DATA_DIR,
    ONEC_BIND,
    ONEC_DIST_DIR,
    ONEC_ADMIN_LOGIN,
    ONEC_ADMIN_PASSWORD,
    ONEC_SECURE_COOKIES,
    ONEC_PUBLIC_ORIGIN,
    ONEC_TRUSTED_PROXIES,
    ONEC_SESSION_MAX_AGE,
    ONEC_METRICS_BIND,
    ONEC_PREVIEW,
    ONEC_EXCHANGE,
    RUST_LOG,
    ONEC_LOG_FORMAT,
);
/// What `migrate`, `stats`, `show` and `bench` use (every command but `gen-data` checks all
/// settings before it starts).
pub const ENV_DATABASE: &str = env_help!(
    DATABASE_URL,
    REDIS_URL,
    ONEC_REDIS_PREFIX,
    RUST_LOG,
    ONEC_LOG_FORMAT
);
/// What `create-admin` uses.
pub const ENV_CREATE_ADMIN: &str = env_help!(
    DATABASE_URL,
    ONEC_ADMIN_LOGIN,
    ONEC_ADMIN_PASSWORD,
    REDIS_URL,
    RUST_LOG,
    ONEC_LOG_FORMAT
);
/// What `import …` uses.
pub const ENV_IMPORT: &str = env_help!(
    DATABASE_URL,
    REDIS_URL,
    ONEC_REDIS_PREFIX,
    ONEC_DATA_DIR,
    ONEC_PREVIEW,
    RUST_LOG,
    ONEC_LOG_FORMAT
);
/// What `gen-data` and `exchange send` use: no settings, only the logs.
pub const ENV_GEN_DATA: &str = env_help!(RUST_LOG, ONEC_LOG_FORMAT);

/// «Импорт из 1С»: the web app for importing 1C:Enterprise exports, and its command line.
///
/// Settings come from the environment and ./.env; invalid values stop a command before it
/// starts, with a message that names the variable.
#[derive(Debug, Parser)]
#[command(name = "onec-admin", version, after_help = ENV_ALL)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default).
    #[command(after_help = ENV_ALL)]
    Serve,
    /// Apply database migrations and exit.
    #[command(after_help = ENV_DATABASE)]
    Migrate,
    /// Create an administrator, or set a new password for an existing one.
    #[command(after_help = ENV_CREATE_ADMIN)]
    CreateAdmin(CreateAdmin),
    /// Create an account with roles (`--role exchange` for 1C's exchange user), or set an
    /// existing one's password and roles.
    #[command(after_help = ENV_DATABASE)]
    CreateUser(CreateUser),
    /// Disable, enable or remove an administrator (`admin disable --login L`).
    #[command(subcommand, after_help = ENV_DATABASE)]
    Admin(AdminCommand),
    /// Write a realistic generated 1C export (for demos, tests and benchmarks).
    #[command(after_help = ENV_GEN_DATA)]
    GenData(GenData),
    /// Check 1C's exchange without 1C: `exchange send` plays 1C against a site's
    /// /1c/exchange with an export folder.
    #[command(subcommand, after_help = ENV_GEN_DATA)]
    Exchange(crate::exchange_cli::ExchangeCommand),
    /// Import 1C data (the same checks, lock and sessions as the web app).
    #[command(subcommand, after_help = ENV_IMPORT)]
    Import(ImportCommand),
    /// Totals of the imported data.
    #[command(after_help = ENV_DATABASE)]
    Stats {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one imported record.
    #[command(subcommand, after_help = ENV_DATABASE)]
    Show(Show),
    /// Benchmark helpers for scripts/bench.sh: parse only, the monitor's query path.
    #[command(subcommand, after_help = ENV_DATABASE)]
    Bench(crate::bench::BenchCommand),
}

#[derive(Debug, Subcommand)]
pub enum Show {
    /// An offer (SKU) with its prices and stock: `show offer <1C id> --json`.
    #[command(after_help = ENV_DATABASE)]
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
pub struct CreateUser {
    /// Login.
    #[arg(long)]
    pub login: String,
    /// A role: `admin` (the web app) or `exchange` (1C's exchange endpoint, nothing else).
    /// Repeat for both.
    #[arg(long = "role", value_enum, required = true)]
    pub roles: Vec<RoleArg>,
    /// Password. Prefer --password-stdin: arguments are visible to other users of the machine.
    #[arg(long, hide_env_values = true)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

/// `--role` of `create-user`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// The web app.
    Admin,
    /// 1C's «Обмен с сайтом» endpoint.
    Exchange,
}

impl From<RoleArg> for engine::auth::Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Self::Admin,
            RoleArg::Exchange => Self::Exchange,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Refuse this administrator's logins and end their open sessions (the account stays).
    #[command(after_help = ENV_DATABASE)]
    Disable(AdminLogin),
    /// Allow a disabled administrator to log in again.
    #[command(after_help = ENV_DATABASE)]
    Enable(AdminLogin),
    /// Delete the account and end its open sessions (its login stays in the import history).
    #[command(after_help = ENV_DATABASE)]
    Remove(AdminLogin),
}

#[derive(Debug, Args)]
pub struct AdminLogin {
    /// The administrator's login.
    #[arg(long)]
    pub login: String,
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
    /// No progress bars (they are drawn only on a terminal anyway).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Exit codes: 0 done, 1 failed, 2 refused before starting (configuration, validation).
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::GenData(args) => gen_data(args),
        // Runs on any machine that reaches the site: no database, no settings of its own.
        Command::Exchange(cmd) => crate::exchange_cli::exchange(cmd).await,
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
                Command::CreateAdmin(args) => {
                    let Some(login) = args.login else {
                        eprintln!("Укажите логин: --login или ONEC_ADMIN_LOGIN");
                        return ExitCode::from(2);
                    };
                    let password = (args.password_stdin, args.password);
                    create_account(config, login, password, None).await
                }
                Command::CreateUser(args) => {
                    let roles: Vec<engine::auth::Role> =
                        args.roles.iter().map(|&r| r.into()).collect();
                    let roles = engine::auth::Roles::of(&roles);
                    let password = (args.password_stdin, args.password);
                    create_account(config, args.login, password, Some(roles)).await
                }
                Command::Admin(cmd) => admin(config, cmd).await,
                Command::Import(cmd) => crate::import_cli::import(config, cmd).await,
                Command::Stats { json } => crate::import_cli::stats(config, json).await,
                Command::Show(Show::Offer { id, .. }) => {
                    crate::import_cli::show_offer(config, &id).await
                }
                Command::Bench(cmd) => crate::bench::bench(config, cmd).await,
                Command::GenData(_) | Command::Exchange(_) => unreachable!("handled above"),
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
    if let Some(addr) = app.metrics_addr() {
        tracing::info!("метрики Prometheus: http://{addr}/metrics");
    }
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

/// `create-admin` (roles `None`: an administrator, keeping an exchange role it has) and
/// `create-user` (exactly these roles). The password comes from stdin when the flag says so.
async fn create_account(
    config: Config,
    login: String,
    (password_stdin, password): (bool, Option<String>),
    roles: Option<engine::auth::Roles>,
) -> anyhow::Result<ExitCode> {
    use engine::auth::{AdminError, Upserted};
    let password = if password_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s.lines().next().unwrap_or_default().to_owned()
    } else if let Some(p) = password {
        p
    } else {
        match roles {
            None => {
                eprintln!("Укажите пароль: --password-stdin, --password или ONEC_ADMIN_PASSWORD")
            }
            Some(_) => eprintln!("Укажите пароль: --password-stdin или --password"),
        }
        return Ok(ExitCode::from(2));
    };
    let state = startup::state(&config).await?;
    let done = match roles {
        None => engine::auth::upsert_admin(&state.db, &login, &password).await,
        Some(r) => engine::auth::upsert_account(&state.db, &login, &password, r).await,
    };
    let who = match roles {
        None => "Администратор",
        Some(r) if r.admin && r.exchange => "Пользователь (администратор и обмен с 1С)",
        Some(r) if r.exchange => "Пользователь обмена с 1С",
        Some(_) => "Администратор",
    };
    match done {
        Ok(Upserted::Created) => println!("{who} «{}» создан.", login.trim()),
        Ok(Upserted::PasswordReset) if roles.is_none() => {
            println!("Пароль администратора «{}» обновлён.", login.trim())
        }
        Ok(Upserted::PasswordReset) => println!(
            "{who} «{}»: пароль и роли обновлены, открытые сессии завершены.",
            login.trim()
        ),
        Err(
            e @ (AdminError::BadLogin
            | AdminError::ShortPassword
            | AdminError::LongPassword
            | AdminError::NoRole),
        ) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

async fn admin(config: Config, cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    use engine::auth::{AdminAction, AdminChange};
    let (action, args, done) = match cmd {
        AdminCommand::Disable(a) => (AdminAction::Disable, a, "отключён, его сессии завершены"),
        AdminCommand::Enable(a) => (AdminAction::Enable, a, "снова может входить"),
        AdminCommand::Remove(a) => (AdminAction::Remove, a, "удалён, его сессии завершены"),
    };
    let state = startup::state(&config).await?;
    let login = args.login.trim();
    match engine::auth::set_admin_state(&state.db, login, action).await? {
        AdminChange::Done => {
            println!("Администратор «{login}» {done}.");
            Ok(ExitCode::SUCCESS)
        }
        AdminChange::NoSuchLogin => {
            eprintln!("Администратора «{login}» нет.");
            Ok(ExitCode::from(2))
        }
    }
}

fn gen_data(args: GenData) -> ExitCode {
    let opts = gendata::Options {
        products: args.products,
        customers: args.customers,
        seed: args.seed,
        format: args.format,
        ..Default::default()
    };
    let mut bars = GenBars::new(!args.quiet);
    let result = gendata::generate_with_progress(&opts, &args.out, &mut |f| bars.file(f));
    bars.finish();
    match result {
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

/// `gen-data`'s progress: a bar per kind (files, bytes, records, rates, ETA) on a terminal,
/// nothing otherwise or with `--quiet`.
struct GenBars {
    multi: Option<indicatif::MultiProgress>,
    bars: std::collections::HashMap<String, KindBar>,
    /// When the last file was done, and the records written by then.
    last: (std::time::Instant, u64),
}

/// One kind's bar: its bytes so far, and when and at which record count it began.
struct KindBar {
    bar: indicatif::ProgressBar,
    bytes: u64,
    since: std::time::Instant,
    records_before: u64,
}

impl GenBars {
    fn new(wanted: bool) -> Self {
        let multi = (wanted && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr())
        });
        GenBars {
            multi,
            bars: Default::default(),
            last: (std::time::Instant::now(), 0),
        }
    }

    fn file(&mut self, f: gendata::FileWritten<'_>) {
        let Some(multi) = &self.multi else {
            return;
        };
        let last = self.last;
        let k = self.bars.entry(f.kind.to_owned()).or_insert_with(|| {
            let style = indicatif::ProgressStyle::with_template(
                "{prefix:<16} [{bar:30}] {pos}/{len} файлов · ETA {eta} · {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("#>-");
            let bar = multi.add(indicatif::ProgressBar::new(f.of as u64).with_style(style));
            bar.set_prefix(f.kind.to_owned());
            KindBar {
                bar,
                bytes: 0,
                since: last.0,
                records_before: last.1,
            }
        });
        k.bytes += f.bytes;
        let records = f.records.saturating_sub(k.records_before);
        let secs = k.since.elapsed().as_secs_f64().max(0.001);
        k.bar.set_position(f.done as u64);
        k.bar.set_message(format!(
            "{} ({}/с) · {} ({}/с)",
            indicatif::BinaryBytes(k.bytes),
            indicatif::BinaryBytes((k.bytes as f64 / secs) as u64),
            engine::run::messages::count_noun(records, "запись", "записи", "записей"),
            wire::text::thousands((records as f64 / secs) as u64),
        ));
        if f.done == f.of {
            k.bar.finish();
        }
        self.last = (std::time::Instant::now(), f.records);
    }

    fn finish(&mut self) {
        for k in self.bars.values() {
            if !k.bar.is_finished() {
                k.bar.abandon();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every variable the code reads (`.var("…")` in config.rs and logging.rs).
    fn variables_read() -> Vec<&'static str> {
        let mut vars: Vec<&str> = [include_str!("config.rs"), include_str!("logging.rs")]
            .iter()
            .flat_map(|src| {
                // `env.var("X")`, and the preview thresholds' `read("X", default)`.
                let vars = src.split(".var(\"").skip(1);
                vars.chain(src.split("read(\"").skip(1))
            })
            .filter_map(|rest| rest.split('"').next())
            .filter(|name| name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        vars.push("RUST_LOG");
        vars.sort();
        vars.dedup();
        vars
    }

    fn help(path: &[&str]) -> String {
        let mut cmd = Cli::command();
        let mut cur = &mut cmd;
        for name in path {
            cur = cur
                .find_subcommand_mut(name)
                .unwrap_or_else(|| panic!("no subcommand {name}"));
        }
        cur.render_long_help().to_string()
    }

    #[test]
    fn the_deployment_example_lists_every_variable() {
        let example = include_str!("../../deploy/onec-admin.env.example");
        for var in variables_read() {
            assert!(
                example.contains(&format!("{var}=")),
                "deploy/onec-admin.env.example lacks {var}"
            );
        }
    }

    #[test]
    fn every_help_lists_the_variables_its_command_reads() {
        let all = variables_read();
        assert!(all.len() >= 12, "{all:?}");
        for var in &all {
            assert!(help(&[]).contains(var), "onec-admin --help lacks {var}");
            assert!(help(&["serve"]).contains(var), "serve --help lacks {var}");
        }
        let common = ["DATABASE_URL", "REDIS_URL", "RUST_LOG", "ONEC_LOG_FORMAT"];
        let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
            (vec!["migrate"], vec!["ONEC_REDIS_PREFIX"]),
            (vec!["create-user"], vec![]),
            (
                vec!["create-admin"],
                vec!["ONEC_ADMIN_LOGIN", "ONEC_ADMIN_PASSWORD"],
            ),
            (
                vec!["import"],
                vec![
                    "ONEC_DATA_DIR",
                    "ONEC_REDIS_PREFIX",
                    "ONEC_PREVIEW_PRICE_JUMP_PERCENT",
                ],
            ),
            (vec!["import", "catalog"], vec!["ONEC_DATA_DIR"]),
            (vec!["import", "stocks"], vec!["ONEC_DATA_DIR"]),
            (vec!["import", "prices"], vec!["ONEC_DATA_DIR"]),
            (vec!["import", "customers"], vec!["ONEC_DATA_DIR"]),
            (
                vec!["import", "run"],
                vec!["ONEC_DATA_DIR", "ONEC_PREVIEW_STOCK_ZERO_SHARE_PERCENT"],
            ),
            (vec!["create-user"], vec![]),
            (vec!["admin"], vec![]),
            (vec!["admin", "disable"], vec![]),
            (vec!["admin", "enable"], vec![]),
            (vec!["admin", "remove"], vec![]),
            (vec!["stats"], vec![]),
            (vec!["show"], vec![]),
            (vec!["show", "offer"], vec![]),
            (vec!["bench"], vec![]),
            (vec!["bench", "parse"], vec![]),
            (vec!["bench", "monitor"], vec![]),
        ];
        for (path, extra) in &cases {
            let text = help(path);
            assert!(text.contains("Environment variables"), "{path:?}: {text}");
            for var in common.iter().chain(extra) {
                assert!(text.contains(var), "{path:?} --help lacks {var}: {text}");
            }
            assert!(
                !text.contains("ONEC_METRICS_BIND"),
                "{path:?} does not serve"
            );
        }
        for path in [&["gen-data"][..], &["exchange"], &["exchange", "send"]] {
            let text = help(path);
            assert!(
                text.contains("ONEC_LOG_FORMAT") && !text.contains("DATABASE_URL"),
                "{path:?} reads no settings: {text}"
            );
        }
        // Every subcommand is covered above.
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            assert!(
                name == "serve"
                    || name == "gen-data"
                    || name == "exchange"
                    || name == "help"
                    || cases.iter().any(|(p, _)| p[0] == name),
                "{name} is not checked"
            );
        }
    }

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
            Cli::try_parse_from(["onec-admin", "admin", "disable", "--login", "a"])
                .unwrap()
                .command,
            Some(Command::Admin(AdminCommand::Disable(AdminLogin { ref login }))) if login == "a"
        ));
        assert!(Cli::try_parse_from(["onec-admin", "admin", "remove"]).is_err());
        let send = |extra: &[&str]| {
            let mut args = vec![
                "onec-admin",
                "exchange",
                "send",
                "--url",
                "http://h/1c/exchange",
            ];
            args.extend_from_slice(&["--login", "1c"]);
            args.extend_from_slice(extra);
            Cli::try_parse_from(args)
        };
        let parsed = send(&["--password-stdin", "--zip", "--protocol", "bitrix", "dir"]).unwrap();
        let Some(Command::Exchange(crate::exchange_cli::ExchangeCommand::Send(a))) = parsed.command
        else {
            panic!("not exchange send");
        };
        assert!(a.zip && a.password_stdin && !a.json);
        assert_eq!(a.protocol, crate::exchange_cli::ProtocolArg::Bitrix);
        assert_eq!((a.timeout, a.poll_ms, a.file_limit), (3600, 1000, None));
        assert!(
            send(&["dir"]).is_err(),
            "the password comes from stdin only"
        );
        assert!(send(&["--password-stdin", "--file-limit", "0", "dir"]).is_err());
        assert!(send(&["--password-stdin", "--protocol", "2.x", "dir"]).is_err());
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
