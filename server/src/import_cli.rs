//! `onec-admin import …`, `stats` and `show offer`: the same orchestrator, checks, lock, sessions
//! and messages as the web app, with progress on stderr and one JSON document on stdout.
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use engine::import::FileType;
use engine::run::{RunOptions, Runner, StartRequest, counts_json};
use serde_json::json;
use wire::{ImportKind, KindPhase, RunPhase, RunState};

use crate::config::Config;
use crate::startup;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// The catalog package: groups, units, properties, price types, warehouses, goods, offers,
    /// prices and rests (or one part with --file-type).
    #[command(after_help = crate::cli::ENV_IMPORT)]
    Catalog {
        #[command(flatten)]
        common: Common,
        /// all, goods, offers, prices or rests.
        #[arg(long, default_value = "all", value_parser = parse_file_type)]
        file_type: FileType,
    },
    /// Stock (rests) only; offers not in the file keep their stock.
    #[command(after_help = crate::cli::ENV_IMPORT)]
    Stocks {
        #[command(flatten)]
        common: Common,
        /// One rests file instead of discovering the data folder.
        #[arg(long, conflicts_with = "data_dir")]
        file: Option<PathBuf>,
    },
    /// Prices only.
    #[command(after_help = crate::cli::ENV_IMPORT)]
    Prices {
        #[command(flatten)]
        common: Common,
    },
    /// Customers (contragents).
    #[command(after_help = crate::cli::ENV_IMPORT)]
    Customers {
        #[command(flatten)]
        common: Common,
        /// One contragents file instead of discovering the data folder.
        #[arg(long, conflicts_with = "data_dir")]
        file: Option<PathBuf>,
    },
    /// Several kinds in one run, in the fixed order catalog → stocks → prices → customers.
    #[command(after_help = crate::cli::ENV_IMPORT)]
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
    /// Print exactly one JSON document on stdout (and no progress bars).
    #[arg(long)]
    pub json: bool,
    /// No progress bars (they are drawn only on a terminal anyway).
    #[arg(long, short)]
    pub quiet: bool,
    /// Check without writing: the same run (files, rules, lock, order, halting), rolled back
    /// instead of committed; the result says what would change.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_file_type(s: &str) -> Result<FileType, String> {
    FileType::parse(s)
        .ok_or_else(|| format!("ожидается all, goods, offers, prices или rests, получено «{s}»"))
}

/// A run refused before it started: the message on stderr, or the JSON document; exit code 2.
fn refused(msg: &str, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            json!({ "status": "rejected", "message": msg, "sessions": [] })
        );
    } else {
        eprintln!("{msg}");
    }
    ExitCode::from(2)
}

/// Exit codes: 0 completed, 1 failed, 2 refused before starting.
pub async fn import(config: Config, cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    let (kinds, common, options) = match cmd {
        ImportCommand::Catalog { common, file_type } => (
            vec![ImportKind::Catalog],
            common,
            RunOptions {
                file_type,
                ..Default::default()
            },
        ),
        ImportCommand::Stocks { common, file } => {
            let data_dir = file.as_ref().and_then(|f| f.parent().map(PathBuf::from));
            (
                vec![ImportKind::Stocks],
                common,
                RunOptions {
                    stocks_file: file,
                    data_dir,
                    ..Default::default()
                },
            )
        }
        ImportCommand::Prices { common } => {
            (vec![ImportKind::Prices], common, RunOptions::default())
        }
        ImportCommand::Customers { common, file } => {
            let data_dir = file.as_ref().and_then(|f| f.parent().map(PathBuf::from));
            (
                vec![ImportKind::Customers],
                common,
                RunOptions {
                    customers_file: file,
                    data_dir,
                    ..Default::default()
                },
            )
        }
        ImportCommand::Run { types, common } => match engine::run::parse_kinds(&types) {
            Ok(kinds) => (kinds, common, RunOptions::default()),
            Err(e) => return Ok(refused(&e.to_string(), common.json)),
        },
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
            origin: wire::RunOrigin::Cli,
            options,
        })
        .await
    {
        Ok(h) => h,
        Err(e) => return Ok(refused(&e.to_string(), common.json)),
    };
    let mut updates = handle.updates;
    let run_id = handle.run_id.clone();
    let mut progress = Bars::new(!common.json && !common.quiet);
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
    progress.finish(&final_state);
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

/// A progress bar per kind on stderr (bytes read, records, rates, ETA), only on a terminal and
/// without `--json` / `--quiet`; log lines are printed above the bars, never through them.
pub struct Bars {
    multi: Option<indicatif::MultiProgress>,
    bars: BTreeMap<wire::ImportKind, (indicatif::ProgressBar, Instant)>,
}

/// `Каталог  [#####>-----] 12.5 MiB/40.0 MiB · 3.1 MiB/s · ETA 9s · 12 345 записей (2 100/с)`
const BAR_TEMPLATE: &str = "{prefix:<10} [{bar:30}] {binary_bytes}/{binary_total_bytes} · {binary_bytes_per_sec} · ETA {eta} · {msg}";

impl Bars {
    /// Bars when `wanted` and stderr is a terminal; otherwise nothing is drawn.
    pub fn new(wanted: bool) -> Bars {
        let multi = (wanted && std::io::stderr().is_terminal()).then(|| {
            let m =
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr());
            crate::logging::print_above(Some(m.clone()));
            m
        });
        Bars {
            multi,
            bars: BTreeMap::new(),
        }
    }

    fn bar(&mut self, kind: wire::ImportKind) -> Option<&indicatif::ProgressBar> {
        let multi = self.multi.as_ref()?;
        let entry = self.bars.entry(kind).or_insert_with(|| {
            let style = indicatif::ProgressStyle::with_template(BAR_TEMPLATE)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("#>-");
            let bar = multi.add(indicatif::ProgressBar::new(0).with_style(style));
            bar.set_prefix(kind.title());
            (bar, Instant::now())
        });
        Some(&entry.0)
    }

    /// Draws the kinds that have started.
    pub fn show(&mut self, s: &RunState) {
        for k in &s.kinds {
            if matches!(k.phase, KindPhase::Waiting | KindPhase::NotRun) {
                continue;
            }
            let Some(bar) = self.bar(k.kind).cloned() else {
                return;
            };
            if bar.is_finished() {
                continue;
            }
            bar.set_length(k.bytes_total.max(k.bytes_read));
            bar.set_position(k.bytes_read);
            let secs = self.bars[&k.kind].1.elapsed().as_secs_f64().max(0.001);
            bar.set_message(records_text(k.processed, secs));
            match k.phase {
                KindPhase::Done => bar.finish(),
                KindPhase::Failed => bar.abandon_with_message("ошибка"),
                _ => {}
            }
        }
    }

    /// Leaves the finished bars on the screen and the logs back on plain stderr.
    pub fn finish(&mut self, s: &RunState) {
        self.show(s);
        for (bar, _) in self.bars.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
        if self.multi.take().is_some() {
            crate::logging::print_above(None);
        }
    }
}

/// «12 345 записей (2 100/с)».
fn records_text(records: u64, secs: f64) -> String {
    let rate = (records as f64 / secs).round() as u64;
    format!(
        "{} ({}/с)",
        engine::run::messages::count_noun(records, "запись", "записи", "записей"),
        wire::text::thousands(rate)
    )
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
