//! 1C's «Обмен с сайтом» endpoint (`/1c/exchange`) as 1C meets it: the real server on a real
//! socket (HTTP/1.1 written by hand, bodies as raw bytes), the shared Redis with a fresh
//! prefix, SQLite and PostgreSQL. Every answer of every test goes through [`Site::call`], which
//! checks what 1C needs of any answer: 200, `text/plain; charset=utf-8`, a first line that is
//! `success`, `progress` or `failure`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::time::Duration;

use support::REDIS_URL;
use support::exchange::{
    Backend, EXCHANGE_LOGIN, EXCHANGE_PASSWORD, Site, cli_stats, db_stats, enc, export, files_of,
    request, runs_and_sessions, sha256_hex, xml_names, zip_of,
};

#[tokio::test]
async fn what_cannot_be_served_is_a_failure_in_plain_text() {
    let site = Site::start(Backend::Sqlite).await;
    site.get("")
        .await
        .failure_containing("Не указан тип обмена");
    site.get("type=sale&mode=checkauth")
        .await
        .failure_containing("type=sale");
    site.get("type=catalog&mode=query")
        .await
        .failure_containing("Неизвестный режим обмена «query»");
    site.get("type=catalog&mode=file")
        .await
        .failure_containing("filename");
    site.request("PUT", "/1c/exchange?type=catalog&mode=init", &[], b"x")
        .await
        .failure_containing("Метод PUT");
    // The other spelling, and addresses that do not exist under /1c: never a 404 page.
    site.request("GET", "/1c/exchange/?type=sale&mode=init", &[], b"")
        .await
        .failure_containing("type=sale");
    for path in [
        "/1c",
        "/1c/",
        "/1c/exchange/x",
        "/1c/bitrix/admin/1c_exchange.php",
    ] {
        site.request("GET", path, &[], b"")
            .await
            .failure_containing("Неизвестный адрес обмена");
    }
    site.done().await;
}

#[tokio::test]
async fn the_endpoint_is_outside_the_web_login_and_the_same_origin_check() {
    let site = Site::start(Backend::Sqlite).await;
    // 1C calls the site by its public name, from no web page, without the web login.
    let a = site
        .request(
            "POST",
            "/1c/exchange?type=sale&mode=init",
            &[
                ("Host", "shop.example.ru"),
                ("Origin", "http://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ],
            b"",
        )
        .await;
    a.failure_containing("type=sale");
    assert!(!a.head.to_ascii_lowercase().contains("set-cookie"), "{a:?}");
    // The request passed the logging: it carries a request id.
    assert!(
        a.head.to_ascii_lowercase().contains("x-request-id:"),
        "{a:?}"
    );
    site.done().await;
}

async fn checkauth_gives_a_session_kept_only_as_a_hash(backend: Backend) {
    let site = Site::start(backend).await;
    let a = site.checkauth(EXCHANGE_LOGIN, EXCHANGE_PASSWORD).await;
    let l = a.lines();
    assert_eq!(l.len(), 5, "{a:?}");
    assert_eq!((l[0], l[1]), ("success", "onec_exchange"));
    let token = l[2];
    let sessid = l[3].strip_prefix("sessid=").unwrap();
    for t in [token, sessid] {
        assert!(
            t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()),
            "{t}"
        );
    }
    let ts: i64 = l[4].strip_prefix("timestamp=").unwrap().parse().unwrap();
    assert!((ts - chrono::Utc::now().timestamp()).abs() < 60, "{ts}");
    assert!(!a.head.to_ascii_lowercase().contains("set-cookie"), "{a:?}");
    // Redis holds the session under the token's hash, never the token or the sessid.
    let keys = site.redis_keys().await;
    let key = format!("{}:exchange:token:{}", site.env.prefix, sha256_hex(token));
    assert!(keys.contains(&key), "{keys:?}");
    let stored = support::redis_get(REDIS_URL, &key).await.unwrap();
    assert!(
        !stored.contains(token) && !stored.contains(sessid),
        "{stored}"
    );
    assert!(stored.contains(&sha256_hex(sessid)), "{stored}");
    assert!(keys.iter().all(|k| !k.contains(token)), "{keys:?}");
    let mut conn = support::redis_conn(REDIS_URL).await.unwrap();
    let ttl: i64 = engine::redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=1800).contains(&ttl), "{ttl}");
    // A second checkauth is a second session.
    let b = site.checkauth(EXCHANGE_LOGIN, EXCHANGE_PASSWORD).await;
    assert_ne!(b.lines()[2], token);

    // Administrators are not exchange accounts; no credentials, no session.
    site.checkauth(support::LOGIN, support::PASSWORD)
        .await
        .failure_containing("нет права обмена");
    site.checkauth(EXCHANGE_LOGIN, "wrong-password")
        .await
        .failure_containing("Неверный логин или пароль");
    site.checkauth("nobody", EXCHANGE_PASSWORD)
        .await
        .failure_containing("Неверный логин или пароль");
    site.get("type=catalog&mode=checkauth")
        .await
        .failure_containing("Требуется HTTP-авторизация");
    site.done().await;
}

support::exchange::on_both_backends!(checkauth_gives_a_session_kept_only_as_a_hash);

#[tokio::test]
async fn later_modes_need_the_exchange_cookie_and_its_sessid() {
    let site = Site::start(Backend::Sqlite).await;
    let ok = site.login().await;
    let init = |cookie: Option<String>, extra: &str| {
        let path = format!("/1c/exchange?type=catalog&mode=init{extra}");
        let site = &site;
        async move {
            let headers: Vec<(&str, &str)> = match &cookie {
                Some(c) => vec![("Cookie", c.as_str())],
                None => vec![],
            };
            site.request("GET", &path, &headers, b"").await
        }
    };
    init(None, "")
        .await
        .failure_containing("Требуется авторизация: выполните checkauth");
    let unknown = format!("onec_exchange={}", "ab".repeat(32));
    init(Some(unknown), "")
        .await
        .failure_containing("выполните checkauth заново");
    init(Some("onec_exchange=../../etc/passwd".into()), "")
        .await
        .failure_containing("выполните checkauth заново");
    // The web administrator's session does not open the exchange, under either cookie name.
    let web = support::login(site.addr).await;
    init(Some(web.clone()), "")
        .await
        .failure_containing("Требуется авторизация");
    let web_value = web.split_once('=').unwrap().1;
    init(Some(format!("onec_exchange={web_value}")), "")
        .await
        .failure_containing("выполните checkauth заново");
    // A sessid must be the session's own.
    let other = site.login().await;
    init(
        Some(ok.cookie.clone()),
        &format!("&sessid={}", other.sessid),
    )
    .await
    .failure_containing("Неверный sessid");
    for a in [
        ok.call(&format!("mode=init&sessid={}", ok.sessid), b"")
            .await,
        init(Some(format!("x=1; {}; y=2", ok.cookie)), "").await,
    ] {
        assert!(!a.body.contains("checkauth"), "{a:?}");
        assert!(!a.body.contains("Неверный sessid"), "{a:?}");
    }
    site.done().await;
}

#[tokio::test]
async fn failed_logins_are_limited_like_the_login_form() {
    let site = Site::start(Backend::Sqlite).await;
    // Five attempts go through; then each must wait twice as long as the one before, which
    // soon outlasts a password check even in a debug build.
    let mut refused = None;
    for attempt in 1..=12 {
        let a = site.checkauth(EXCHANGE_LOGIN, "wrong-password").await;
        assert_eq!(a.first_line(), "failure");
        if a.body.contains("Слишком много неудачных попыток") {
            refused = Some(attempt);
            break;
        }
        a.failure_containing("Неверный логин или пароль");
    }
    let refused = refused.expect("the limiter stepped in");
    assert!(refused > 5, "five attempts are free, refused at {refused}");
    // Now even the right password waits.
    site.checkauth(EXCHANGE_LOGIN, EXCHANGE_PASSWORD)
        .await
        .failure_containing("Слишком много неудачных попыток");
    // The counters are the login form's (per login hash and address).
    let keys = site.redis_keys().await;
    assert!(keys.iter().any(|k| k.contains(":login:pair:")), "{keys:?}");
    site.done().await;
}

/// A small-limits site: 64 KiB per request, 512 KiB per exchange, files only received and
/// checked.
/// The journal's latest 10 exchanges once `ready` holds for them (it is written off the request
/// path), within 30 s.
async fn journal_once(
    site: &Site,
    ready: impl Fn(&[wire::ExchangeRow]) -> bool,
) -> Vec<wire::ExchangeRow> {
    support::poll(Duration::from_secs(30), || async {
        let db = support::connect_db(&site.env.database_url).await;
        let journal = engine::exchange_journal::latest(&db, 10).await.unwrap();
        db.close().await.ok();
        ready(&journal).then_some(journal)
    })
    .await
    .expect("the journal holds the exchange")
}

/// A `file_limit` of 64 KiB: 1C sends every file of a test export in many pieces.
const PIECES: (&str, &str) = ("ONEC_EXCHANGE_FILE_LIMIT", "65536");
const SMALL: [(&str, &str); 3] = [PIECES, ("ONEC_EXCHANGE_MAX_BYTES", "524288"), RECEIVE];
/// `mode=import` only receives and checks (the tests of receiving and publishing).
const RECEIVE: (&str, &str) = ("ONEC_EXCHANGE_MODE", "receive");
const PIECE_LIMIT: usize = 65536 + 64 * 1024;

#[tokio::test]
async fn init_opens_one_exchange_at_a_time() {
    let site = Site::start_with(Backend::Sqlite, &SMALL).await;
    let a = site.login().await;
    let r = a.init().await;
    assert_eq!(r.lines(), ["zip=yes", "file_limit=65536"], "{r:?}");
    let first = site.receiving();
    let id = first.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        id.len() == 23 && id.as_bytes()[8] == b'T' && id.as_bytes()[15] == b'Z',
        "{id}"
    );
    // The session now names its exchange.
    let keys = site.redis_keys().await;
    let current = format!("{}:exchange:current", site.env.prefix);
    assert!(keys.contains(&current), "{keys:?}");
    assert_eq!(support::redis_get(REDIS_URL, &current).await.unwrap(), id);

    // Another account's 1C meets the running exchange.
    site.account("1c-second").await;
    let other = support::exchange::login(site.addr, "1c-second", EXCHANGE_PASSWORD).await;
    other
        .init()
        .await
        .failure_containing("Уже идёт другой обмен с 1С (начат ");
    other.init().await.failure_containing("учётная запись «1c»");
    // The same session starting over replaces its own (incomplete: set aside, not published).
    let r = a
        .call(&format!("mode=init&sessid={}&version=3.1", a.sessid), b"")
        .await;
    assert_eq!(
        r.lines(),
        [
            "zip=yes",
            "file_limit=65536",
            &format!("sessid={}", a.sessid),
            "version=3.1"
        ]
    );
    assert!(site.spool_folders().contains(&format!("{id}.abandoned")));
    let second = site.receiving();
    assert_ne!(second, first);
    assert!(!site.data_dir().exists(), "nothing published");
    let r = a.call("mode=init&version=%3Cscript%3E", b"").await;
    assert_eq!(r.lines().last(), Some(&"version=3.1"));
    // So does a new session of the same account (1C starts over from `checkauth` after a
    // dropped connection): the old session's exchange is over.
    let third_of = site.receiving();
    let b = site.login().await;
    assert_eq!(b.init().await.first_line(), "zip=yes");
    assert_ne!(site.receiving(), third_of);
    a.file("import.xml", b"<x/>")
        .await
        .failure_containing("прерван: начат другой обмен с 1С");
    other
        .init()
        .await
        .failure_containing("Уже идёт другой обмен");
    // Every file mode needs an init first.
    let c = site.login().await;
    c.file("import.xml", b"<x/>")
        .await
        .failure_containing("Обмен не начат: сначала выполните init");
    // The journal shows the refusals: one entry of the second account, its three `init`s
    // folded, with the reply 1C read.
    let refused: Vec<_> = journal_once(&site, |journal| {
        journal
            .iter()
            .any(|x| x.login == "1c-second" && x.requests[0].calls == 3)
    })
    .await
    .into_iter()
    .filter(|x| x.login == "1c-second")
    .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    let x = &refused[0];
    assert_eq!(x.result(), wire::ExchangeStatus::Failure);
    assert_eq!(x.requests.len(), 1, "{x:?}");
    let r = &x.requests[0];
    assert_eq!((r.mode.as_str(), r.filename.as_deref()), ("init", None));
    assert_eq!(r.reply[0], "failure");
    assert!(
        r.reply[1].starts_with("Уже идёт другой обмен с 1С"),
        "{r:?}"
    );
    site.done().await;
}

#[tokio::test]
async fn file_pieces_are_appended_and_limits_hold_while_streaming() {
    let site = Site::start_with(Backend::Sqlite, &SMALL).await;
    let (a, dir) = site.begin().await;
    // One file in three pieces, as 1C cuts it at file_limit.
    let pieces: Vec<Vec<u8>> = (0..3u8).map(|i| vec![b'a' + i; 65536]).collect();
    for p in &pieces {
        assert_eq!(
            a.file("goods/1/import.xml", p).await.first_line(),
            "success"
        );
    }
    let stored = std::fs::read(dir.join("goods/1/import.xml")).unwrap();
    assert_eq!(stored, pieces.concat());
    assert_eq!(
        a.file(r"import_files\ab\c.jpg", b"jpeg").await.first_line(),
        "success"
    );
    assert_eq!(
        std::fs::read(dir.join("import_files/ab/c.jpg")).unwrap(),
        b"jpeg"
    );
    // 1C sending an XML file again (a retry) replaces the earlier copy instead of doubling it.
    let doc = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>1</a>";
    a.upload("again.xml", doc, 20).await;
    a.upload("again.xml", doc, 20).await;
    assert_eq!(std::fs::read(dir.join("again.xml")).unwrap(), doc);

    // A piece that says it is too large is refused before it is read.
    let big = vec![b'x'; PIECE_LIMIT + 1];
    a.file("goods/1/import.xml", &big)
        .await
        .failure_containing("Файл «goods/1/import.xml» больше допустимого");
    // One that does not say so is stopped as it streams in, and nothing of it stays.
    let a2 = request(
        site.addr,
        "POST",
        &format!(
            "/1c/exchange?type=catalog&mode=file&filename={}",
            enc("goods/1/import.xml")
        ),
        &[("Cookie", &a.cookie)],
        &big,
        true,
    )
    .await;
    a2.failure_containing("больше допустимого");
    assert_eq!(
        std::fs::read(dir.join("goods/1/import.xml")).unwrap(),
        pieces.concat()
    );

    // The exchange as a whole: 512 KiB. 196 KiB are stored; pieces of 64 KiB go in until the
    // next would pass the limit, which is refused while it streams, and cut off again.
    let mut accepted = 0;
    let refused = loop {
        let r = request(
            site.addr,
            "POST",
            "/1c/exchange?type=catalog&mode=file&filename=big.bin",
            &[("Cookie", &a.cookie)],
            &[b'z'; 65536],
            true,
        )
        .await;
        if r.first_line() == "failure" {
            break r;
        }
        accepted += 1;
        assert!(accepted < 10, "the total limit never stepped in");
    };
    refused.failure_containing("ONEC_EXCHANGE_MAX_BYTES");
    let kept = std::fs::metadata(dir.join("big.bin")).unwrap().len();
    assert_eq!(kept, accepted * 65536);
    let total: u64 = std::fs::metadata(dir.join("goods/1/import.xml"))
        .unwrap()
        .len()
        + 4
        + doc.len() as u64
        + kept;
    assert!(total <= 524_288, "{total}");
    site.done().await;
}

#[tokio::test]
async fn names_that_could_leave_the_spool_are_refused() {
    let site = Site::start_with(Backend::Sqlite, &SMALL).await;
    let (a, dir) = site.begin().await;
    let before = site.all_files();
    for (name, why) in [
        ("../evil.xml", "родительскую папку"),
        ("import_files/../../evil.xml", "родительскую папку"),
        (r"..\..\evil.xml", "родительскую папку"),
        ("/etc/cron.d/evil", "абсолютный путь"),
        (r"C:\evil.xml", "абсолютный путь"),
        (r"\\server\share\evil.xml", "абсолютный путь"),
        ("evil\0.xml", "недопустимый символ"),
        ("evil\n.xml", "недопустимый символ"),
    ] {
        a.file(name, b"owned").await.failure_containing(why);
    }
    // Encoded by hand: %00 and an encoded ../
    for (query, why) in [
        ("filename=evil%00.xml", "недопустимый символ"),
        ("filename=%2e%2e%2fevil.xml", "родительскую папку"),
        ("filename=", "filename"),
    ] {
        a.call(&format!("mode=file&{query}"), b"owned")
            .await
            .failure_containing(why);
    }
    assert_eq!(site.all_files(), before, "nothing was written anywhere");
    // A folder of the spool that is a link out of it (never made by the endpoint) is not
    // followed.
    let outside = site.root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("import_files")).unwrap();
    a.file("import_files/x.jpg", b"owned")
        .await
        .failure_containing("за пределы папки обмена");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    site.done().await;
}

#[tokio::test]
async fn an_archive_is_unpacked_on_the_first_import_and_every_file_checked() {
    let site = Site::start_with(Backend::Sqlite, &SMALL).await;
    let (_src, files) = export(gendata::Format::V31, 30);
    let xml = xml_names(&files);
    assert!(xml.len() >= 5, "{xml:?}");
    let archive = zip_of(&files);
    let (a, dir) = site.begin().await;
    // One archive, cut into pieces of file_limit, under 1C's temp name.
    a.upload("v8_3B8F_3e.zip", &archive, 65536).await;
    let first = a.import(xml[0]).await;
    assert_eq!(first.first_line(), "success", "{first:?}");
    assert!(
        first
            .body
            .contains(&format!("Файл «{}» получен и проверен: ", xml[0])),
        "{first:?}"
    );
    assert!(
        !dir.join("v8_3B8F_3e.zip").exists(),
        "the archive is gone once unpacked"
    );
    assert_eq!(files_of(&dir), files, "unpacked as sent");
    for name in &xml[1..] {
        let r = a.import(name).await;
        assert_eq!(r.first_line(), "success", "{name}: {r:?}");
    }
    site.done().await;
}

#[tokio::test]
async fn import_never_says_success_for_what_it_did_not_check() {
    let site = Site::start_with(Backend::Sqlite, &SMALL).await;
    let (a, dir) = site.begin().await;
    a.import("offers0_1.xml")
        .await
        .failure_containing("Файл «offers0_1.xml» не получен");
    a.import("../../etc/passwd")
        .await
        .failure_containing("родительскую папку");
    a.upload("import_files", b"not a folder", 65536).await;
    a.upload("notes.xml", b"hello, 1C", 65536).await;
    let r = a.import("notes.xml").await;
    r.failure_containing("Файл notes.xml");
    r.failure_containing("не XML");
    assert!(
        !r.body.contains(&dir.display().to_string()),
        "the server's paths stay on the server: {r:?}"
    );
    a.upload("photo.jpg", b"\xff\xd8\xff\xe0", 65536).await;
    a.import("photo.jpg").await.failure_containing("photo.jpg");
    let root = r#"<?xml version="1.0" encoding="UTF-8"?><Other/>"#;
    a.upload("other.xml", root.as_bytes(), 65536).await;
    a.import("other.xml")
        .await
        .failure_containing("КоммерческаяИнформация");
    site.done().await;
}

#[tokio::test]
async fn a_zip_slip_archive_is_refused_and_writes_nothing_outside() {
    let site = Site::start_with(Backend::Sqlite, &SMALL).await;
    let (a, _) = site.begin().await;
    let before = site.all_files();
    let evil = zip_of(&[
        ("import.xml".into(), b"<x/>".to_vec()),
        ("../../../evil.sh".into(), b"rm -rf /".to_vec()),
    ]);
    a.upload("evil.zip", &evil, 65536).await;
    let r = a.import("import.xml").await;
    r.failure_containing("Архив «evil.zip»: недопустимое имя файла");
    r.failure_containing("родительскую папку");
    // Only the archive itself came in; nothing of it was unpacked, anywhere.
    let after = site.all_files();
    let new: Vec<&String> = after.iter().filter(|f| !before.contains(f)).collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert!(new[0].ends_with("/evil.zip"), "{new:?}");
    // A damaged archive says so; every later import says what still waits.
    a.upload("broken.zip", b"PK\x03\x04 not really", 65536)
        .await;
    a.import("import.xml")
        .await
        .failure_containing("Архив «broken.zip» повреждён");
    a.import("import.xml").await.failure_containing("Архив «");
    site.done().await;
}

/// The whole exchange as classic 1C runs it, then twice more: each complete exchange replaces
/// the export in one step, the folder it replaced is kept, and only the newest ones stay.
async fn full_exchanges_publish_the_export(backend: Backend) {
    let site = Site::start_with(backend, &[PIECES, ("ONEC_EXCHANGE_KEEP", "2"), RECEIVE]).await;
    let (_src, files) = export(gendata::Format::V2x, 150);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["import.xml", "offers.xml"]);
    let a = site.login().await;
    let r = a.init().await;
    assert_eq!(r.lines(), ["zip=yes", "file_limit=65536"]);
    for (name, content) in &files {
        assert!(content.len() > 3 * 20_000, "{name}: several pieces");
        a.upload(name, content, 20_000).await;
        let r = a.import(name).await;
        assert_eq!(r.first_line(), "success", "{r:?}");
        assert!(
            r.body
                .contains(&format!("Файл «{name}» получен и проверен: ")),
            "{r:?}"
        );
    }
    assert!(
        !site.data_dir().exists(),
        "nothing is published before the exchange ends"
    );
    a.deactivate()
        .await
        .says(&["success", "Деактивация пропущена: не включена в настройках"]);
    let r = a.complete().await;
    assert_eq!(r.first_line(), "success", "{r:?}");
    assert!(
        r.body.contains("опубликована для импорта: файлов 2"),
        "{r:?}"
    );
    assert_eq!(
        files_of(&site.data_dir()),
        files,
        "the export is what 1C sent"
    );
    let current = format!("{}:exchange:current", site.env.prefix);
    assert_eq!(
        support::redis_get(REDIS_URL, &current).await,
        None,
        "the lock is free"
    );
    let folders = site.spool_folders();
    assert_eq!(folders.len(), 1, "{folders:?}");
    assert!(folders[0].ends_with(".published"), "{folders:?}");
    a.file("import.xml", b"late")
        .await
        .failure_containing("Обмен не начат");

    // The next exchange (an archive in 3.1) replaces the export as a whole.
    let (_src2, files2) = export(gendata::Format::V31, 20);
    a.init().await;
    a.upload("v8_1.zip", &zip_of(&files2), 65536).await;
    for (name, _) in files2.iter().filter(|(n, _)| n.ends_with(".xml")) {
        let r = a.import(name).await;
        assert_eq!(r.first_line(), "success", "{r:?}");
    }
    assert_eq!(a.complete().await.first_line(), "success");
    assert_eq!(files_of(&site.data_dir()), files2);
    let replaced: Vec<String> = site
        .spool_folders()
        .into_iter()
        .filter(|f| f.ends_with(".replaced"))
        .collect();
    assert_eq!(replaced.len(), 1);
    assert_eq!(
        files_of(&site.spool().join(&replaced[0])),
        files,
        "the old export is kept"
    );

    // A third: only the newest two of each kind stay.
    a.init().await;
    a.upload("import.xml", &files[0].1, 65536).await;
    a.import("import.xml").await;
    assert_eq!(a.complete().await.first_line(), "success");
    let folders = site.spool_folders();
    let published = folders.iter().filter(|f| f.ends_with(".published")).count();
    let replaced = folders.iter().filter(|f| f.ends_with(".replaced")).count();
    assert_eq!((published, replaced), (2, 2), "{folders:?}");
    assert_eq!(files_of(&site.data_dir()), files[..1]);
    site.done().await;
}

support::exchange::on_both_backends!(full_exchanges_publish_the_export);

#[tokio::test]
async fn an_incomplete_exchange_is_never_published() {
    let site = Site::start_with(Backend::Sqlite, &SMALL).await;
    let (_src, files) = export(gendata::Format::V2x, 20);
    let (a, _) = site.begin().await;
    a.upload("import.xml", &files[0].1, 65536).await;
    a.upload("offers.xml", &files[1].1, 65536).await;
    a.import("import.xml").await;
    let r = a.complete().await;
    r.failure_containing("Выгрузка не опубликована: не проверены файлы «offers.xml»");
    assert!(!site.data_dir().exists());
    let folders = site.spool_folders();
    assert_eq!(folders.len(), 1);
    assert!(folders[0].ends_with(".abandoned"), "{folders:?}");
    // Nothing checked at all.
    a.init().await;
    a.complete()
        .await
        .failure_containing("ни один файл не проверен");
    assert!(!site.data_dir().exists());
    site.done().await;
}

#[tokio::test]
async fn a_finished_or_idle_exchange_gives_way_to_the_next() {
    let site = Site::start_with(
        Backend::Sqlite,
        &[("ONEC_EXCHANGE_IDLE_SECS", "2"), RECEIVE],
    )
    .await;
    let (_src, files) = export(gendata::Format::V2x, 20);
    // Classic 1C: everything sent and checked, but no `complete`.
    let (a, _) = site.begin().await;
    a.upload("import.xml", &files[0].1, 65536).await;
    a.import("import.xml").await;
    // The next exchange does not wait for the idle time: the finished one is published first.
    let b = site.login().await;
    assert_eq!(b.init().await.first_line(), "zip=yes");
    assert_eq!(files_of(&site.data_dir()), files[..1]);
    a.file("offers.xml", b"late")
        .await
        .failure_containing("прерван: начат другой обмен");
    // An exchange in the middle of its files holds the lock against another account's 1C...
    b.upload("offers.xml", &files[1].1, 65536).await;
    site.account("1c-second").await;
    let c = support::exchange::login(site.addr, "1c-second", EXCHANGE_PASSWORD).await;
    c.init().await.failure_containing("Уже идёт другой обмен");
    // ...until it has been idle for the idle time; then it is set aside, never published.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let c = site.login().await;
    assert_eq!(c.init().await.first_line(), "zip=yes");
    let folders = site.spool_folders();
    assert_eq!(
        folders.iter().filter(|f| f.ends_with(".abandoned")).count(),
        1,
        "{folders:?}"
    );
    assert_eq!(
        files_of(&site.data_dir()),
        files[..1],
        "the export did not change"
    );
    site.done().await;
}

#[tokio::test]
async fn of_two_inits_at_once_one_wins() {
    let site = Site::start_with(Backend::Sqlite, &SMALL).await;
    let (a, b) = (site.login().await, site.login().await);
    let (ra, rb) = tokio::join!(a.init(), b.init());
    let firsts = [ra.first_line(), rb.first_line()];
    assert!(
        firsts == ["zip=yes", "failure"] || firsts == ["failure", "zip=yes"],
        "{ra:?} {rb:?}"
    );
    assert_eq!(site.spool_folders().len(), 1);
    site.done().await;
}

/// Classic 1C in the default mode: each file imported into the database as 1C asks for it, in
/// many pieces, with honest `progress` until its data is committed; the database then holds
/// what the CLI import of the same export gives; the runs are the exchange's; and with no
/// `complete` (classic 1C never sends it) the exchange is published once it has been idle.
async fn an_exchange_imports_each_file_as_1c_asks(backend: Backend) {
    let site = Site::start_with(backend, &[PIECES, ("ONEC_EXCHANGE_IDLE_SECS", "2")]).await;
    let (src, files) = export(gendata::Format::V2x, 300);
    let (a, _) = site.begin().await;
    let id = site.spool_folders().pop().unwrap();
    for (name, content) in &files {
        a.upload(name, content, 20_000).await;
        let answers = a.import_to_end(name).await;
        let last = answers.last().unwrap();
        assert_eq!(last.first_line(), "success", "{answers:?}");
        assert!(
            last.body
                .contains(&format!("Файл «{name}» загружен: Каталог")),
            "{last:?}"
        );
        for p in &answers[..answers.len() - 1] {
            assert!(p.lines().len() >= 2, "progress says where it stands: {p:?}");
        }
    }
    assert_eq!(db_stats(&site).await, cli_stats(src.path()).await);
    assert!(db_stats(&site).await.products_total >= 300);
    let (runs, sessions) = runs_and_sessions(&site).await;
    assert_eq!(runs.len(), 2, "one run per file: {runs:?}");
    for (origin, by, exchange) in &runs {
        assert_eq!(
            (origin.as_str(), by.as_str(), exchange.as_deref()),
            ("exchange", EXCHANGE_LOGIN, Some(id.as_str()))
        );
    }
    assert_eq!(sessions, ["exchange", "exchange"]);
    // The journal: init, then each file's pieces as one row and its import polls as one row,
    // the import linked to the session it produced.
    // Written off the request path: wait for the last import's row to say `success`.
    let journal = journal_once(&site, |journal| {
        journal.first().is_some_and(|x| {
            x.requests.len() == 5 && x.requests[4].status == wire::ExchangeStatus::Success
        })
    })
    .await;
    assert_eq!(journal.len(), 1, "{journal:?}");
    let x = &journal[0];
    assert_eq!(
        (x.id.as_str(), x.login.as_str()),
        (id.as_str(), EXCHANGE_LOGIN)
    );
    let modes: Vec<&str> = x.requests.iter().map(|r| r.mode.as_str()).collect();
    assert_eq!(modes, ["init", "file", "import", "file", "import"]);
    for (r, (name, content)) in x.requests[1..].chunks(2).zip(&files) {
        let (upload, import) = (&r[0], &r[1]);
        assert_eq!(upload.filename.as_deref(), Some(name.as_str()));
        assert_eq!(upload.bytes, content.len() as i64);
        assert_eq!(upload.calls, content.len().div_ceil(20_000) as i64);
        assert_eq!(import.status, wire::ExchangeStatus::Success);
        assert_eq!(import.reply[0], "success");
        assert_eq!(import.sessions.len(), 1, "{import:?}");
        assert_eq!(import.sessions[0].status, wire::SessionStatus::Completed);
    }
    assert_eq!(x.result(), wire::ExchangeStatus::Success);
    assert_eq!(
        support::redis_get(REDIS_URL, &site.env.lock_key()).await,
        None,
        "the import lock is free"
    );
    // No `complete`: published by the sweeper once the exchange has been idle.
    let published = support::poll(Duration::from_secs(15), || async {
        site.data_dir().exists().then_some(())
    })
    .await;
    assert!(published.is_some(), "{:?}", site.spool_folders());
    assert_eq!(files_of(&site.data_dir()), files);
    site.done().await;
}

support::exchange::on_both_backends!(an_exchange_imports_each_file_as_1c_asks);

/// A 3.1 archive whose prices file is asked for first, in an exchange that already imported a
/// file on its own: the catalog files of the exchange are imported before it, and the database
/// ends as the CLI's import of the same export.
#[tokio::test]
async fn a_file_waits_for_the_catalog_files_of_its_exchange() {
    let site = Site::start(Backend::Sqlite).await;
    let (src, files) = export(gendata::Format::V31, 40);
    let (a, _) = site.begin().await;
    let (groups, rest): (Vec<_>, Vec<_>) = files
        .iter()
        .cloned()
        .partition(|(n, _)| n == "groups/groups.xml");
    a.upload(&groups[0].0, &groups[0].1, 1 << 20).await;
    a.import_succeeds("groups/groups.xml").await;
    a.upload("v8_1.zip", &zip_of(&rest), 1 << 20).await;
    let xml = xml_names(&rest);
    let prices = *xml.iter().find(|n| n.contains("prices")).unwrap();
    let answers = a.import_succeeds(prices).await;
    assert!(
        answers[0]
            .body
            .contains("Сначала загружается файл каталога"),
        "{answers:?}"
    );
    for name in &xml {
        a.import_succeeds(name).await;
    }
    assert_eq!(db_stats(&site).await, cli_stats(src.path()).await);
    assert_eq!(a.complete().await.first_line(), "success");
    site.done().await;
}

/// An archive of a whole 3.1 export, its prices file asked for first: every file of the
/// archive is taken in by one run (as the CLI takes the export), the prices file answers
/// `progress` with that run's counts until its own kind is committed, each other file follows
/// the same run, and the journal lists each file's own session.
#[tokio::test]
async fn an_archive_is_imported_as_one_run() {
    let site = Site::start(Backend::Sqlite).await;
    let (src, files) = export(gendata::Format::V31, 40);
    let (a, _) = site.begin().await;
    a.upload("v8_1.zip", &zip_of(&files), 1 << 20).await;
    let xml = xml_names(&files);
    let prices = *xml.iter().find(|n| n.contains("prices")).unwrap();
    let answers = a.import_to_end(prices).await;
    let last = answers.last().unwrap();
    assert_eq!(last.first_line(), "success", "{answers:?}");
    let own = format!(
        "Файл «{prices}» загружен: {} — ",
        wire::ImportKind::Prices.title()
    );
    assert!(
        last.lines().len() == 2 && last.lines()[1].starts_with(&own),
        "only the file's own kind: {last:?}"
    );
    assert!(
        answers[..answers.len() - 1]
            .iter()
            .all(|p| p.first_line() == "progress"),
        "{answers:?}"
    );
    for name in &xml {
        a.import_succeeds(name).await;
    }
    let (runs, sessions) = runs_and_sessions(&site).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(sessions.len(), 3, "catalog, stocks, prices: {sessions:?}");
    assert_eq!(db_stats(&site).await, cli_stats(src.path()).await);
    assert_eq!(a.complete().await.first_line(), "success");
    let journal = journal_once(&site, |journal| {
        journal
            .first()
            .is_some_and(|x| x.requests.iter().any(|r| r.mode == "complete"))
    })
    .await
    .swap_remove(0);
    for r in journal.requests.iter().filter(|r| r.mode == "import") {
        assert_eq!(r.sessions.len(), 1, "{r:?}");
        let kind = if r.filename.as_deref() == Some(prices) {
            wire::ImportKind::Prices
        } else if r.filename.as_deref().is_some_and(|f| f.contains("rests")) {
            wire::ImportKind::Stocks
        } else {
            wire::ImportKind::Catalog
        };
        assert_eq!(r.sessions[0].kind, kind, "{r:?}");
    }
    site.done().await;
}

/// While another import holds the lock, `import` answers `progress` «Ожидание…», then gives
/// up after `ONEC_EXCHANGE_WAIT_SECS`; once the lock is free the file is imported. A stock
/// file with no catalog to land on is a failure that says so.
#[tokio::test]
async fn import_waits_for_the_lock_within_its_bound() {
    let site = Site::start_with(Backend::Sqlite, &[("ONEC_EXCHANGE_WAIT_SECS", "2")]).await;
    let (_src, files) = export(gendata::Format::V31, 20);
    let (a, _) = site.begin().await;
    let rests = files.iter().find(|(n, _)| n.contains("rests")).unwrap();
    a.upload(&rests.0, &rests.1, 65536).await;
    let r = a.import(&rests.0).await;
    r.failure_containing(&format!("Файл «{}» не загружен", rests.0));
    r.failure_containing("каталог товаров пуст");

    let mut conn = support::redis_conn(REDIS_URL).await.unwrap();
    let lock = site.env.lock_key();
    let _: () = engine::redis::AsyncCommands::set(&mut conn, &lock, "an-admin-run")
        .await
        .unwrap();
    let goods: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(n, _)| n.ends_with(".xml") && !n.contains("rests"))
        .collect();
    for (name, content) in &goods {
        a.upload(name, content, 65536).await;
    }
    let first = goods[0].0.as_str();
    let r = a.import(first).await;
    assert_eq!(r.first_line(), "progress", "{r:?}");
    assert!(
        r.lines().contains(&"Ожидание: выполняется другой импорт"),
        "{r:?}"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    a.import(first)
        .await
        .failure_containing("ONEC_EXCHANGE_WAIT_SECS");
    assert_eq!(db_stats(&site).await.products_total, 0, "nothing written");
    let _: () = engine::redis::AsyncCommands::del(&mut conn, &lock)
        .await
        .unwrap();
    a.import_succeeds(first).await;
    site.done().await;
}
