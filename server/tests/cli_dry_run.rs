//! `onec-admin import run --types … --dry-run [--json]` as a separate process: the same run,
//! rolled back; the JSON says what would change; a real import afterwards reports the same.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use std::process::{Command, Stdio};

const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn run(
    root: &std::path::Path,
    data: &std::path::Path,
    prefix: &str,
    args: &[&str],
) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_onec-admin"))
        .args(args)
        .current_dir(root)
        .env_remove("ONEC_ADMIN_LOGIN")
        .env_remove("ONEC_ADMIN_PASSWORD")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/onec.db?mode=rwc", root.display()),
        )
        .env("REDIS_URL", REDIS_URL)
        .env("ONEC_REDIS_PREFIX", prefix)
        .env("ONEC_DATA_DIR", data)
        .env("ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT", "1")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn a_dry_run_reports_the_changes_and_writes_nothing() {
    let name = format!(
        "test-cli-dry-run-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let root = std::env::temp_dir().join(&name);
    let data = root.join("export");
    let summary = gendata::generate(
        &gendata::Options {
            products: 50,
            customers: 0,
            seed: 5,
            ..Default::default()
        },
        &data,
    )
    .unwrap();
    assert_eq!(run(&root, &data, &name, &["migrate"]).0, 0);

    let args = [
        "import",
        "run",
        "--types",
        "catalog,stocks",
        "--dry-run",
        "--json",
    ];
    let (code, out) = run(&root, &data, &name, &args);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(doc["status"], "completed");
    assert_eq!(doc["mode"], "preview");
    assert!(
        doc["message"]
            .as_str()
            .unwrap()
            .starts_with("✅ Проверка без записи завершена, ничего не записано: Каталог"),
        "{doc}"
    );
    let changes = &doc["sessions"][0]["changes"];
    assert_eq!(
        changes["counts"]["products"]["new"], summary.products as u64,
        "{doc}"
    );
    assert_eq!(changes["new_products"].as_array().unwrap().len(), 20);

    // Nothing was written: the same dry run finds the same new products, and stats are empty.
    let (_, again) = run(&root, &data, &name, &args);
    let again: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(again["sessions"][0]["changes"], *changes);
    let (_, stats) = run(&root, &data, &name, &["stats", "--json"]);
    let stats: serde_json::Value = serde_json::from_str(stats.trim()).unwrap();
    assert_eq!(stats["products"]["total"], 0, "{stats}");

    // The real import reports exactly what the dry run said; text output lists the warnings.
    let (code, out) = run(
        &root,
        &data,
        &name,
        &["import", "run", "--types", "catalog,stocks", "--json"],
    );
    assert_eq!(code, 0, "{out}");
    let real: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(real["mode"], "import");
    assert_eq!(real["sessions"][0]["changes"], *changes);
    assert_eq!(
        real["sessions"][1]["changes"],
        again["sessions"][1]["changes"]
    );
    std::fs::remove_dir_all(&root).ok();
}
