//! Progress bars of `onec-admin gen-data` and `onec-admin import …`: drawn on a terminal (a real
//! pseudo-terminal from util-linux `script`), one per kind with bytes, records, rate and ETA;
//! nothing extra when the output is not a terminal, or with `--quiet` / `--json`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::process::{Command, Output, Stdio};

use support::*;

/// Runs `onec-admin args…` with `env`; on a pseudo-terminal when `tty` (stdout and stderr then
/// arrive merged in `stdout`).
fn onec_admin(dir: &std::path::Path, args: &[&str], env: &[(&str, String)], tty: bool) -> Output {
    let bin = env!("CARGO_BIN_EXE_onec-admin");
    let mut cmd = if tty {
        let line = std::iter::once(bin)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let mut c = Command::new("script");
        c.args(["-qefc", &line, "/dev/null"]).env("TERM", "xterm");
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    };
    cmd.current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("ONEC_ADMIN_LOGIN")
        .env_remove("ONEC_ADMIN_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run onec-admin");
    assert!(
        out.status.success(),
        "{args:?} (tty {tty}): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn gen_data_draws_bars_only_on_a_terminal() {
    let dir = TempDir::new("progress-gen");
    let out = dir.path().join("export");
    let out_s = out.display().to_string();
    let args = [
        "gen-data",
        "--products",
        "3000",
        "--customers",
        "500",
        "--out",
        &out_s,
    ];

    let shown = text(&onec_admin(dir.path(), &args, &[], true).stdout);
    for kind in ["goods", "offers", "prices", "rests", "contragents"] {
        assert!(shown.contains(kind), "no bar for {kind}: {shown}");
    }
    assert!(
        shown.contains("файлов")
            && shown.contains("ETA")
            && shown.contains("запис")
            && shown.contains("/с)"),
        "{shown}"
    );
    assert!(
        shown.contains("KiB") || shown.contains("MiB"),
        "bytes: {shown}"
    );

    let quiet = [&args[..], &["--quiet"]].concat();
    let shown = text(&onec_admin(dir.path(), &quiet, &[], true).stdout);
    assert!(
        !shown.contains("файлов") && !shown.contains("ETA"),
        "{shown}"
    );
    assert!(
        shown.contains("\"products\""),
        "the summary is still printed: {shown}"
    );

    let plain = onec_admin(dir.path(), &args, &[], false);
    assert_eq!(
        text(&plain.stderr),
        "",
        "nothing on stderr without a terminal"
    );
    let summary: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(summary["products"], 3000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_draws_a_bar_per_kind_only_on_a_terminal() {
    let dir = TempDir::new("progress-import");
    let data = dir.path().join("1c");
    generate(&data, 3000, 500);
    let prefix = unique("progress");
    let env = [
        ("DATABASE_URL", dir.sqlite_url()),
        ("REDIS_URL", REDIS_URL.to_owned()),
        ("ONEC_REDIS_PREFIX", prefix.clone()),
        ("ONEC_DATA_DIR", data.display().to_string()),
    ];
    let run = ["import", "run", "--types", "catalog,customers"];

    let shown = text(&onec_admin(dir.path(), &run, &env, true).stdout);
    for title in ["Каталог", "Клиенты"] {
        assert!(shown.contains(title), "no bar for {title}: {shown}");
    }
    assert!(
        shown.contains("запис") && shown.contains("ETA") && shown.contains("/с)"),
        "{shown}"
    );
    assert!(
        shown.contains("KiB") || shown.contains("MiB"),
        "bytes: {shown}"
    );
    assert!(shown.contains("✅ Импорт завершен"), "{shown}");

    for flag in ["--quiet", "--json"] {
        let args = [&run[..], &[flag]].concat();
        let shown = text(&onec_admin(dir.path(), &args, &env, true).stdout);
        assert!(
            !shown.contains("ETA") && !shown.contains("/с)"),
            "{flag}: {shown}"
        );
    }

    let plain = onec_admin(dir.path(), &run, &env, false);
    assert_eq!(
        text(&plain.stderr),
        "",
        "nothing on stderr without a terminal"
    );
    assert!(text(&plain.stdout).starts_with("✅ Импорт завершен"));
    cleanup_redis(REDIS_URL, &prefix).await;
}
