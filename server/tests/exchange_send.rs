//! `onec-admin exchange send`, the 1C stand-in, against the real server on a real socket (the
//! shared Redis with a fresh prefix, SQLite and PostgreSQL): generated exports in both formats
//! go through both protocols, zipped and not, in tiny and large pieces, and the site's database
//! then holds what `onec-admin import run` of the same export gives. A `failure` reply stops the
//! tool with exit code 1 and the site's text; `--json` prints one object per request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::path::Path;
use std::time::Duration;

use support::exchange::{
    Backend, EXCHANGE_LOGIN, EXCHANGE_PASSWORD, Run, Site, cli_stats, export, send_tool,
};
use support::{REDIS_URL, TempDir};

/// The whole run of the tool must end within this.
const LIMIT: Duration = Duration::from_secs(180);

/// `onec-admin exchange send --url <url> --login 1c --password-stdin --poll-ms 50 <args…>
/// <dir>`.
async fn send(url: &str, password: &str, args: &[&str], dir: &Path) -> Run {
    let all: Vec<&str> = ["--poll-ms", "50"].iter().chain(args).copied().collect();
    send_tool(url, EXCHANGE_LOGIN, password, &all, dir, LIMIT).await
}

/// Every file of `dir` with its size, by `/`-separated name.
fn sizes(dir: &Path) -> Vec<(String, u64)> {
    support::exchange::paths_of(dir)
        .into_iter()
        .map(|(name, p)| (name, std::fs::metadata(p).unwrap().len()))
        .collect()
}

/// One case: which export, which protocol, zipped or not, the piece size the site announces and
/// the one the tool is given.
struct Case {
    format: gendata::Format,
    bitrix: bool,
    zip: bool,
    site_limit: &'static str,
    tool_limit: Option<&'static str>,
}

/// Sends the export of `case` with `--json`; checks each request line, that the pieces were as
/// small as asked, and that the database ends as the CLI's import of the same export.
async fn sends_an_export(backend: Backend, case: Case) {
    let site = Site::start_with(backend, &[("ONEC_EXCHANGE_FILE_LIMIT", case.site_limit)]).await;
    let (src, _) = export(case.format, 200);
    let mut args = vec!["--json"];
    args.extend(["--protocol", if case.bitrix { "bitrix" } else { "classic" }]);
    if case.zip {
        args.push("--zip");
    }
    if let Some(l) = case.tool_limit {
        args.extend(["--file-limit", l]);
    }
    let run = send(&site.url(), EXCHANGE_PASSWORD, &args, src.path()).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let requests: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let modes: Vec<&str> = requests
        .iter()
        .map(|r| r["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes[..2], ["checkauth", "init"], "{modes:?}");
    let ends: &[&str] = if case.bitrix {
        &["deactivate", "complete"]
    } else {
        &["import"]
    };
    assert!(modes.ends_with(ends), "{modes:?}");
    for r in &requests {
        let status = r["status"].as_str();
        assert!(
            status == Some("success") || status == Some("progress") || r["mode"] == "init",
            "{r}"
        );
        assert!(r["lines"].is_array() && r["millis"].is_u64(), "{r}");
    }
    // The checkauth line shows no secret of the session.
    let checkauth = requests[0]["lines"].to_string();
    assert!(checkauth.contains("sessid=…"), "{checkauth}");

    // Pieces: never above the smaller limit; the bytes sent add up to the files (or the archive).
    let site_limit: u64 = case.site_limit.parse().unwrap();
    let limit = case
        .tool_limit
        .map_or(site_limit, |t| t.parse::<u64>().unwrap().min(site_limit));
    let files: Vec<&serde_json::Value> = requests.iter().filter(|r| r["mode"] == "file").collect();
    for f in &files {
        assert!(f["bytes"].as_u64().unwrap() <= limit, "{f}");
    }
    let sent: u64 = files.iter().map(|f| f["bytes"].as_u64().unwrap()).sum();
    let on_disk = sizes(src.path());
    if case.zip {
        let names: Vec<&str> = files
            .iter()
            .map(|f| f["filename"].as_str().unwrap())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("v8_") && n.ends_with(".zip"))
        );
        assert!(
            sent < on_disk.iter().map(|(_, s)| s).sum::<u64>(),
            "deflated"
        );
    } else {
        assert_eq!(sent, on_disk.iter().map(|(_, s)| s).sum::<u64>());
        for (name, size) in &on_disk {
            let pieces = files
                .iter()
                .filter(|f| f["filename"] == name.as_str())
                .count() as u64;
            assert_eq!(pieces, size.div_ceil(limit).max(1), "{name}");
        }
    }
    if limit <= 4096 {
        assert!(files.len() > 20, "many pieces: {}", files.len());
    }
    // Every XML imported, each to its end.
    let xml_count = on_disk.iter().filter(|(n, _)| n.ends_with(".xml")).count();
    let imported: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|r| r["mode"] == "import" && r["status"] == "success")
        .collect();
    assert_eq!(imported.len(), xml_count, "{modes:?}");

    // An archive's files are all there at the first `import`: one run takes them in, as the
    // CLI does the whole export, and every file's `import` follows it.
    let (runs, _) = support::exchange::runs_and_sessions(&site).await;
    if case.zip {
        assert_eq!(runs.len(), 1, "{runs:?}");
    } else {
        assert!(!runs.is_empty() && runs.len() <= xml_count, "{runs:?}");
    }
    let got = support::stats(&site.env.database_url).await;
    assert!(got.products_total >= 200, "{got:?}");
    assert_eq!(got, cli_stats(src.path()).await);
    site.done().await;
}

/// A case of [`sends_an_export`] on both backends: its name, the export's format, the protocol,
/// `zip` or `plain`, the piece size the site announces and the one the tool is given.
macro_rules! case {
    ($(#[$doc:meta])* $name:ident: $format:ident, $protocol:ident, $pack:ident, site $site:literal, tool $tool:expr) => {
        $(#[$doc])*
        async fn $name(backend: Backend) {
            let case = Case {
                format: gendata::Format::$format,
                bitrix: flag!($protocol),
                zip: flag!($pack),
                site_limit: $site,
                tool_limit: $tool,
            };
            sends_an_export(backend, case).await;
        }

        support::exchange::on_both_backends!($name);
    };
}

/// The words of [`case!`]: any other fails to compile.
macro_rules! flag {
    (bitrix) => {
        true
    };
    (classic) => {
        false
    };
    (zip) => {
        true
    };
    (plain) => {
        false
    };
}

case!(
    /// Classic 1C, 2.x files one by one, in 4 KiB pieces the tool asks for.
    classic_2x_in_small_pieces: V2x, classic, plain, site "104857600", tool Some("4096")
);
case!(
    /// Classic 1C, a 3.1 export as one zip in one large piece.
    classic_31_zipped: V31, classic, zip, site "104857600", tool None
);
case!(
    /// The 1C-Bitrix add-on, 3.1 packets one by one, in the 4 KiB pieces the site announces.
    bitrix_31_in_small_pieces: V31, bitrix, plain, site "4096", tool None
);
case!(
    /// The 1C-Bitrix add-on, a 2.x export zipped, the archive in 4 KiB pieces (the site's limit
    /// beats the tool's larger one).
    bitrix_2x_zipped_in_small_pieces: V2x, bitrix, zip, site "4096", tool Some("1048576")
);

/// The human output: an arrow line per request and per reply, and a summary.
#[tokio::test]
async fn the_requests_and_replies_are_printed() {
    let site = Site::start_with(Backend::Sqlite, &[]).await;
    let (src, _) = export(gendata::Format::V2x, 20);
    let run = send(&site.url(), EXCHANGE_PASSWORD, &[], src.path()).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = &run.stdout;
    assert!(out.contains("→ GET mode=checkauth\n"), "{out}");
    assert!(out.contains("→ GET mode=init\n"), "{out}");
    assert!(out.contains("← zip=yes | file_limit=104857600"), "{out}");
    assert!(
        out.contains("→ POST mode=file&filename=import.xml ("),
        "{out}"
    );
    assert!(
        out.contains("→ GET mode=import&filename=offers.xml\n"),
        "{out}"
    );
    assert!(
        out.contains("← success | Файл «offers.xml» загружен"),
        "{out}"
    );
    assert!(out.contains("Обмен завершён: файлов 2"), "{out}");
    assert!(
        !out.lines()
            .any(|l| l.starts_with('→') && l.contains("sessid")),
        "classic 1C sends no sessid: {out}"
    );
    site.done().await;
}

/// While another import holds the lock the site answers `progress`; the tool repeats the same
/// `import` until the lock is free and the file is imported.
#[tokio::test]
async fn progress_is_repeated_until_the_import_is_done() {
    let site = Site::start_with(Backend::Sqlite, &[]).await;
    let (src, _) = export(gendata::Format::V2x, 20);
    let mut conn = support::redis_conn(REDIS_URL).await.unwrap();
    let lock = site.env.lock_key();
    let _: () = engine::redis::AsyncCommands::set(&mut conn, &lock, "an-admin-run")
        .await
        .unwrap();
    let url = site.url();
    let tool = send(&url, EXCHANGE_PASSWORD, &["--json"], src.path());
    let release = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let _: () = engine::redis::AsyncCommands::del(&mut conn, &lock)
            .await
            .unwrap();
    };
    let (run, ()) = tokio::join!(tool, release);
    assert_eq!(run.code, Some(0), "{run:?}");
    let requests: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let waits: Vec<&serde_json::Value> = requests
        .iter()
        .filter(|r| r["status"] == "progress")
        .collect();
    assert!(!waits.is_empty(), "{}", run.stdout);
    assert!(
        waits
            .iter()
            .all(|r| r["mode"] == "import" && r["filename"] == "import.xml"),
        "{}",
        run.stdout
    );
    assert!(
        waits[0]["lines"]
            .to_string()
            .contains("Ожидание: выполняется другой импорт"),
        "{}",
        run.stdout
    );
    let last_import = requests
        .iter()
        .rfind(|r| r["filename"] == "import.xml")
        .unwrap();
    assert_eq!(last_import["status"], "success", "{}", run.stdout);
    assert!(support::stats(&site.env.database_url).await.products_total >= 20);
    site.done().await;
}

/// A wrong password: the site's `failure` is printed and the tool exits with 1. The site answers
/// in windows-1251 here, as for old 1C: the text is read in the charset its header names.
#[tokio::test]
async fn a_refused_login_exits_with_1_and_the_site_text() {
    let site = Site::start_with(
        Backend::Sqlite,
        &[("ONEC_EXCHANGE_CHARSET", "windows-1251")],
    )
    .await;
    let (src, _) = export(gendata::Format::V2x, 5);
    let run = send(&site.url(), "wrong-password", &[], src.path()).await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains(
            "Сервер ответил failure на mode=checkauth: Неверный логин или пароль, или у учётной \
             записи нет права обмена с 1С"
        ),
        "{run:?}"
    );
    assert!(run.stdout.contains("← failure | Неверный логин"), "{run:?}");
    assert!(!run.stdout.contains("mode=init"), "nothing after a failure");
    site.done().await;
}

/// A file that is not CommerceML: its import fails, the tool stops there with exit code 1 and
/// the site's text; `--json` still prints the failed request.
#[tokio::test]
async fn a_failed_import_exits_with_1_and_the_site_text() {
    let site = Site::start_with(Backend::Sqlite, &[]).await;
    let src = TempDir::new("exchange-send-bad");
    std::fs::write(src.path().join("import.xml"), "это не XML").unwrap();
    std::fs::write(src.path().join("offers.xml"), "<x/>").unwrap();
    let run = send(&site.url(), EXCHANGE_PASSWORD, &["--json"], src.path()).await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("Сервер ответил failure на mode=import&filename=import.xml: "),
        "{run:?}"
    );
    let last: serde_json::Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        (&last["mode"], &last["filename"], &last["status"]),
        (
            &serde_json::json!("import"),
            &serde_json::json!("import.xml"),
            &serde_json::json!("failure")
        ),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains("offers.xml"),
        "nothing after a failure"
    );
    site.done().await;
}

/// No site at the address, or no export in the folder: exit code 2 with a message that says so.
#[tokio::test]
async fn what_cannot_run_exits_with_2() {
    let (src, _) = export(gendata::Format::V2x, 5);
    let url = format!("http://127.0.0.1:{}/1c/exchange", support::free_port());
    let run = send(&url, EXCHANGE_PASSWORD, &[], src.path()).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("Нет связи с сайтом (GET mode=checkauth)"),
        "{run:?}"
    );
    let empty = TempDir::new("exchange-send-empty");
    let run = send(&url, EXCHANGE_PASSWORD, &[], empty.path()).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("нет XML-файлов выгрузки"), "{run:?}");
    let run = send("ftp://x/1c/exchange", EXCHANGE_PASSWORD, &[], src.path()).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("Неверный адрес --url"), "{run:?}");
    let run = send(&url, "", &[], src.path()).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("Пароль пуст"), "{run:?}");
}
