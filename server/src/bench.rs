//! `onec-admin bench …`: the measurements `scripts/bench.sh` cannot take from the outside.
//!
//! - `bench parse`: reads the files an import would read (bytes → records, no database) and
//!   prints the bytes, records and wall time — the parse-only phase of the benchmark.
//! - `bench monitor`: inserts a number of finished import sessions into the configured database
//!   (through [`engine::run::SessionRecorder::record_history`])
//!   and times the monitor's query path ([`engine::monitor::list_sessions`]: one page and the
//!   total), then deletes the rows it inserted.
//!
//! Wall time and peak RSS of whole phases are measured by the script around child processes;
//! these commands only print what happens inside.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Subcommand;
use engine::import::{FileType, ImportRequest};
use engine::kinds::{ImportKind, SessionStatus};
use engine::monitor::SessionFilter;
use engine::run::{PastRun, PastSession};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use wire::RunStatus;

use crate::config::Config;

/// The `bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Parse only: read every file an import of this kind would read, without a database.
    #[command(after_help = crate::cli::ENV_DATABASE)]
    Parse {
        /// catalog, stocks, prices or customers.
        #[arg(long)]
        kind: String,
        /// The 1C export folder.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Time the monitor's session list on this many sessions (DATABASE_URL; the rows it
    /// inserts are deleted afterwards).
    #[command(after_help = crate::cli::ENV_DATABASE)]
    Monitor {
        /// Sessions to insert.
        #[arg(long, default_value_t = 10_000)]
        sessions: u64,
        /// Timed repetitions of each query (the median is printed).
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
}

/// Runs one `bench` subcommand; prints one JSON document on stdout.
pub async fn bench(config: Config, cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Parse { kind, data_dir } => parse(&kind, data_dir),
        BenchCommand::Monitor { sessions, repeat } => {
            monitor(&config, sessions, repeat.max(1)).await
        }
    }
}

fn parse(kind: &str, data_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let Some(kind) = ImportKind::parse(kind) else {
        eprintln!("ожидается catalog, stocks, prices или customers, получено «{kind}»");
        return Ok(ExitCode::from(2));
    };
    let req = ImportRequest {
        kind,
        data_dir,
        file: None,
        file_type: FileType::All,
    };
    let start = Instant::now();
    let parsed = engine::import::parse_only(&req)?;
    let seconds = start.elapsed().as_secs_f64();
    let bytes = parsed.bytes;
    let out = json!({
        "kind": kind.as_str(),
        "files": parsed.files,
        "bytes": bytes,
        "records": parsed.records,
        "warnings": parsed.warnings,
        "seconds": seconds,
        "mb_per_s": bytes as f64 / 1e6 / seconds.max(1e-9),
    });
    println!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// `run_id` prefix of the sessions `bench monitor` inserts (and deletes).
const BENCH_RUN: &str = "bench-monitor-";

async fn monitor(config: &Config, sessions: u64, repeat: usize) -> anyhow::Result<ExitCode> {
    let db = engine::db::connect(&config.database_url).await?;
    crate::startup::migrate_exclusively(&db).await?;
    let backend = db.get_database_backend();
    let delete = [
        Statement::from_string(
            backend,
            format!("DELETE FROM import_sessions WHERE run_id LIKE '{BENCH_RUN}%'"),
        ),
        Statement::from_string(
            backend,
            format!("DELETE FROM import_runs WHERE id LIKE '{BENCH_RUN}%'"),
        ),
    ];
    for d in &delete {
        db.execute_raw(d.clone()).await?;
    }
    let recorder = engine::run::SessionRecorder::new(db.clone());
    let statuses = [
        SessionStatus::Completed,
        SessionStatus::Failed,
        SessionStatus::Completed,
    ];
    let mut left = sessions;
    let mut n = 0u64;
    while left > 0 {
        // Sessions come four to a run; a chunk is a multiple of four.
        let chunk = left.min(500);
        let runs: Vec<PastRun> = ((n / 4)..(n + chunk).div_ceil(4))
            .map(|r| {
                let started = chrono::DateTime::from_timestamp(1_767_225_600 - r as i64 * 240, 0)
                    .unwrap_or_default();
                PastRun {
                    id: format!("{BENCH_RUN}{r}"),
                    kinds: ImportKind::ALL.to_vec(),
                    status: RunStatus::Completed,
                    started_by: "bench".into(),
                    started_at: started,
                    finished_at: Some(started),
                }
            })
            .collect();
        let past: Vec<PastSession> = (n..n + chunk)
            .map(|k| {
                // One session a minute back from 2026-01-01, finished 30 s after it started.
                let started = chrono::DateTime::from_timestamp(1_767_225_600 - k as i64 * 60, 0)
                    .unwrap_or_default();
                PastSession {
                    run_id: format!("{BENCH_RUN}{}", k / 4),
                    kind: ImportKind::ALL[(k % 4) as usize],
                    status: statuses[(k % 3) as usize],
                    started_at: started,
                    finished_at: Some(started + chrono::Duration::seconds(30)),
                    records: 1000,
                    report: json!({"counts": {"products": 1000}}),
                    error_message: None,
                    triggered_by: "bench".into(),
                }
            })
            .collect();
        recorder.record_history(&runs, &past).await?;
        n += chunk;
        left -= chunk;
    }
    let filters = [
        ("all", SessionFilter::default()),
        (
            "status=failed",
            SessionFilter {
                status: Some(SessionStatus::Failed),
                ..SessionFilter::default()
            },
        ),
    ];
    let mut results = serde_json::Map::new();
    for (name, filter) in &filters {
        for (page, label) in [(0u64, "first_page"), (100, "page_100")] {
            let mut times = Vec::with_capacity(repeat);
            let mut total = 0;
            for _ in 0..repeat {
                let start = Instant::now();
                let (_, t) = engine::monitor::list_sessions(&db, filter, page, 50).await?;
                times.push(start.elapsed().as_secs_f64() * 1e3);
                total = t;
            }
            times.sort_by(f64::total_cmp);
            results.insert(
                format!("{name} {label}"),
                json!({"median_ms": times[times.len() / 2], "max_ms": times[times.len() - 1], "total": total}),
            );
        }
    }
    for d in &delete {
        db.execute_raw(d.clone()).await?;
    }
    println!(
        "{}",
        json!({"backend": format!("{backend:?}"), "sessions": sessions, "queries": results})
    );
    Ok(ExitCode::SUCCESS)
}
