//! `onec-admin import …`, `stats` and `show offer`: the same orchestrator, checks, lock, sessions
//! and messages as the web app, with progress on stderr and one JSON document on stdout.
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use engine::import::FileType;
use engine::run::{RunOptions, Runner, StartRequest, counts_json};
use serde_json::json;
use wire::{KindPhase, RunPhase, RunState};

use crate::config::Config;
use crate::startup;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// The catalog package: groups, units, properties, price types, warehouses, goods, offers,
    /// prices and rests (or one part with --file-type).
    Catalog {
        #[command(flatten)]
        common: Common,
        /// all, goods, offers, prices or rests.
        #[arg(long, default_value = "all", value_parser = parse_file_type)]
        file_type: FileType,
    },
    /// Stock (rests) only; offers not in the file keep their stock.
    Stocks {
        #[command(flatten)]
        common: Common,
        /// One rests file instead of discovering the data folder.
        #[arg(long, conflicts_with = "data_dir")]
        file: Option<PathBuf>,
    },
    /// Prices only.
    Prices {
        #[command(flatten)]
        common: Common,
    },
    /// Customers (contragents).
    Customers {
        #[command(flatten)]
        common: Common,
        /// One contragents file instead of discovering the data folder.
        #[arg(long, conflicts_with = "data_dir")]
        file: Option<PathBuf>,
    },
    /// Several kinds in one run, in the fixed order catalog → stocks → prices → customers.
    Run {
        /// Comma-separated: catalog,stocks,prices,customers.
        #[arg(long, value_delimiter = ',', required = true)]
        types: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Args)]
pub struct Common {
    /// The 1C export folder (default: ONEC_DATA_DIR).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print exactly one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Check without writing: the same run (files, rules, lock, order, halting), rolled back
    /// instead of committed; the result says what would change.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_file_type(s: &str) -> Result<FileType, String> {
    FileType::parse(s)
        .ok_or_else(|| format!("ожидается all, goods, offers, prices или rests, получено «{s}»"))
}

/// Exit codes: 0 completed, 1 failed, 2 refused before starting.
pub async fn import(config: Config, cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    let (kinds, common, options) = match cmd {
        ImportCommand::Catalog { common, file_type } => (
            vec!["catalog".to_owned()],
            common,
            RunOptions {
                file_type,
                ..Default::default()
            },
        ),
        ImportCommand::Stocks { common, file } => {
            let data_dir = file.as_ref().and_then(|f| f.parent().map(PathBuf::from));
            (
                vec!["stocks".to_owned()],
                common,
                RunOptions {
                    stocks_file: file,
                    data_dir,
                    ..Default::default()
                },
            )
        }
        ImportCommand::Prices { common } => {
            (vec!["prices".to_owned()], common, RunOptions::default())
        }
        ImportCommand::Customers { common, file } => {
            let data_dir = file.as_ref().and_then(|f| f.parent().map(PathBuf::from));
            (
                vec!["customers".to_owned()],
                common,
                RunOptions {
                    customers_file: file,
                    data_dir,
                    ..Default::default()
                },
            )
        }
        ImportCommand::Run { types, common } => (types, common, RunOptions::default()),
    };
    let options = RunOptions {
        data_dir: common.data_dir.clone().or(options.data_dir.clone()),
        mode: if common.dry_run {
            wire::RunMode::Preview
        } else {
            wire::RunMode::Import
        },
        ..options
    };
    let state = startup::state(&config).await?;
    let runner: Runner = state.runner.clone();
    if let Err(e) = runner.recover_interrupted().await {
        tracing::debug!(error = %e, "interrupted-run check skipped");
    }
    let handle = match runner
        .start(StartRequest {
            kinds,
            started_by: "cli".into(),
            options,
        })
        .await
    {
        Ok(h) => h,
        Err(e) => {
            let msg = e.to_string();
            if common.json {
                println!(
                    "{}",
                    json!({ "status": "rejected", "message": msg, "sessions": [] })
                );
            } else {
                eprintln!("{msg}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let mut updates = handle.updates;
    let run_id = handle.run_id.clone();
    let mut progress = ProgressLine::new();
    let done = handle.done;
    tokio::pin!(done);
    let final_state = loop {
        tokio::select! {
            res = &mut done => break res?,
            u = updates.recv() => {
                if let Ok(s) = u && s.run_id == run_id {
                    progress.show(&s);
                }
            }
        }
    };
    progress.finish();
    let ok = final_state.phase == RunPhase::Completed;
    let message = final_state.message.clone().unwrap_or_default();
    if common.json {
        println!("{}", result_json(&final_state));
    } else {
        println!("{message}");
        for w in final_state
            .kinds
            .iter()
            .filter_map(|k| k.changes.as_ref())
            .flat_map(|c| &c.warnings)
        {
            println!("{}", w.text());
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The CLI's JSON result: status, message, and each session with its counts.
pub fn result_json(s: &RunState) -> serde_json::Value {
    let sessions: Vec<_> = s
        .kinds
        .iter()
        .filter_map(|k| {
            let id = k.session_id?;
            let status = match k.phase {
                KindPhase::Done => "completed",
                KindPhase::Failed => "failed",
                KindPhase::Running => "in_progress",
                KindPhase::Waiting | KindPhase::NotRun => "started",
            };
            Some(json!({
                "id": id,
                "import_type": k.kind.as_str(),
                "status": status,
                "error_message": k.error,
                "counts": counts_json(k),
                "changes": k.changes,
            }))
        })
        .collect();
    json!({
        "status": if s.phase == RunPhase::Completed { "completed" } else { "failed" },
        "message": s.message,
        "run_id": s.run_id,
        "mode": s.mode,
        "sessions": sessions,
    })
}

/// Progress on stderr: a redrawn line on a terminal, a line a second otherwise.
struct ProgressLine {
    tty: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressLine {
    fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    fn show(&mut self, s: &RunState) {
        let Some(k) = s
            .kinds
            .iter()
            .find(|k| k.phase == KindPhase::Running && k.total > 0)
        else {
            return;
        };
        if !self.tty
            && self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        self.last = Some(Instant::now());
        let pct = (k.processed.min(k.total) * 100)
            .checked_div(k.total)
            .unwrap_or(0);
        let line = format!(
            "{}: {pct:>3}% ({}/{})",
            k.kind.title(),
            k.processed,
            k.total
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let bar = "#".repeat((pct / 5) as usize);
            let _ = write!(err, "\r{line} [{bar:<20}]");
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{line}");
        }
    }

    fn finish(&mut self) {
        if self.drawn {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// `onec-admin stats --json`: totals, and references to missing rows (`orphan_rows`).
pub async fn stats(config: Config, json_out: bool) -> anyhow::Result<ExitCode> {
    let state = startup::state(&config).await?;
    let s = engine::stats::stats(&state.db).await?;
    let orphans = engine::stats::orphan_rows(&state.db).await?;
    let doc = json!({
        "products": { "total": s.products_total, "deleted": s.products_deleted },
        "variants": s.variants,
        "categories": s.categories,
        "price_types": s.price_types,
        "warehouses": s.warehouses,
        "prices": s.prices,
        "stock": { "rows": s.stock_rows, "units": s.stock_units.normalize().to_string() },
        "customers": { "total": s.customers_total, "deleted": s.customers_deleted },
        // Rows whose parent row is gone, by `table.column` ({} when the data is whole).
        "orphan_rows": orphans,
    });
    if json_out {
        println!("{doc}");
    } else {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// `onec-admin show offer ID --json`.
pub async fn show_offer(config: Config, id: &str) -> anyhow::Result<ExitCode> {
    let state = startup::state(&config).await?;
    let Some(o) = engine::stats::show_offer(&state.db, id).await? else {
        eprintln!("Предложение «{id}» не найдено.");
        return Ok(ExitCode::from(1));
    };
    let dec = |m: &std::collections::BTreeMap<String, rust_decimal::Decimal>| {
        m.iter()
            .map(|(k, v)| (k.clone(), json!(v.normalize().to_string())))
            .collect::<serde_json::Map<_, _>>()
    };
    println!(
        "{}",
        json!({
            "id": o.id,
            "product_id": o.product_id,
            "prices": dec(&o.prices),
            "stock": dec(&o.stock),
            "stock_total": o.stock_total.normalize().to_string(),
        })
    );
    Ok(ExitCode::SUCCESS)
}
