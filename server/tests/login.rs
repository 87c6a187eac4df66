//! The login and its sessions under attack: the `?next=` redirect, the limiter (per address and
//! account, atomic, with backoff), floods (sizes, concurrent hashes, Redis down), the session
//! cookie's two modes and its renewal, disabled and removed administrators. Real SQLite, real
//! Redis (the shared one with a fresh prefix, or a private one that is stopped), the real
//! router; client addresses are the connection info axum gives each request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app::login_limit::LoginPolicy;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use engine::entity::web_sessions;
use engine::redis::AsyncCommands;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};

use support::{LOGIN, PASSWORD, REDIS_URL, RouterApp as App, body_text};

async fn app_with(secure_cookies: bool, redis_url: &str, policy: LoginPolicy) -> App {
    App::new("login", secure_cookies, redis_url, policy).await
}

/// The default limits with room for 64 password checks at once and a first wait of a minute
/// (longer than any password check of a test build, so a wait never runs out mid-test).
fn policy() -> LoginPolicy {
    let mut p = LoginPolicy::new(Vec::new(), 64);
    p.pair_first_wait = Duration::from_secs(60);
    p
}

async fn app() -> App {
    app_with(false, REDIS_URL, policy()).await
}

/// The number of seconds in «Повторите через N с».
fn wait_secs(body: &str) -> u64 {
    let rest = body
        .split("Повторите через ")
        .nth(1)
        .unwrap_or_else(|| panic!("{body}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// What one login attempt got back.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    cookie: Option<String>,
    body: String,
}

impl Answer {
    fn reached_the_password_check(&self) -> bool {
        self.body.contains("Неверный логин или пароль")
    }
}

fn form(login: &str, password: &str) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    format!("login={}&password={}", enc(login), enc(password))
}

/// This suite's requests through the shared `support::RouterApp`.
impl App {
    /// `POST /api/login` from `peer`, with extra headers.
    async fn login_from(
        &self,
        peer: &str,
        headers: &[(&str, &str)],
        login: &str,
        password: &str,
    ) -> Answer {
        let mut req = Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form(login, password)))
            .unwrap();
        for (k, v) in headers {
            req.headers_mut().insert(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        req.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        let res = self.send(req).await;
        let status = res.status();
        let cookie = res
            .headers()
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned());
        Answer {
            status,
            cookie,
            body: body_text(res).await,
        }
    }

    /// The owner's login with the right password, from their own address.
    async fn owner_login(&self) -> Answer {
        self.login_from(OWNER, &[], LOGIN, PASSWORD).await
    }

    /// The `name=value` of the cookie of a new session of the owner.
    async fn owner_session(&self) -> String {
        pair(&self.owner_login().await.cookie.unwrap())
    }

    async fn guess(&self, peer: &str) -> Answer {
        self.login_from(peer, &[], LOGIN, "wrong-pass").await
    }

    async fn whoami(&self, cookie_pair: &str) -> axum::response::Response {
        self.send(
            Request::post("/api/whoami")
                .header(header::COOKIE, cookie_pair)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }
}

/// Edits the only session row with `edit` (given the row as it was); returns that row.
async fn edit_session(
    db: &DatabaseConnection,
    edit: impl FnOnce(&web_sessions::Model, &mut web_sessions::ActiveModel),
) -> web_sessions::Model {
    let row = web_sessions::Entity::find().one(db).await.unwrap().unwrap();
    let mut active: web_sessions::ActiveModel = row.clone().into();
    edit(&row, &mut active);
    active.update(db).await.unwrap();
    row
}

/// `name=value` of a `Set-Cookie`.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

const ATTACKER: &str = "203.0.113.9:40000";
const OWNER: &str = "198.51.100.7:50000";

#[tokio::test]
async fn the_path_put_into_next_is_percent_encoded() {
    let app = app().await;
    for (path, target) in [
        ("/sessions/1", "/login?next=/sessions/1"),
        // Decoded by the login page this must read `/%5Cevil.example`, never `/\evil.example`.
        ("/%5Cevil.example", "/login?next=/%255Cevil.example"),
        ("/%09/evil.example", "/login?next=/%2509/evil.example"),
        (
            "/a&next=//evil.example",
            "/login?next=/a%26next%3D//evil.example",
        ),
    ] {
        app.assert_redirects(path, target).await;
    }
    app.done().await;
}

#[tokio::test]
async fn a_stranger_guessing_slows_only_themselves_not_the_owner() {
    let app = app().await;
    let free = app.state.login.pair_free;
    let mut reached = 0;
    let mut waits = Vec::new();
    for _ in 0..(free + 10) {
        let a = app.guess(ATTACKER).await;
        if a.reached_the_password_check() {
            reached += 1;
        } else {
            assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{a:?}");
            assert!(
                a.body
                    .contains("Слишком много неудачных попыток входа. Повторите через"),
                "{a:?}"
            );
            waits.push(a.body);
        }
    }
    assert_eq!(
        reached, free,
        "only the free attempts reach the password check at once"
    );
    assert_eq!(waits.len(), 10);
    // A minute from the last free attempt's start (its password check took part of it).
    assert!((30..=60).contains(&wait_secs(&waits[0])), "{}", waits[0]);
    // The owner, from their own address, is not locked out by the stranger's guesses.
    let owner = app.owner_login().await;
    assert_eq!(owner.status, StatusCode::OK, "{owner:?}");
    assert!(owner.cookie.is_some());

    // No key names the login: they carry a hash of it.
    let keys = app.redis_keys().await;
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| !k.contains(LOGIN)), "{keys:?}");
    app.done().await;
}

#[tokio::test]
async fn the_wait_doubles_and_then_lets_one_more_attempt_through() {
    let mut p = policy();
    p.pair_first_wait = Duration::from_secs(3);
    let app = app_with(false, REDIS_URL, p).await;
    for _ in 0..app.state.login.pair_free {
        assert!(app.guess(ATTACKER).await.reached_the_password_check());
    }
    let first = app.guess(ATTACKER).await;
    assert_eq!(first.status, StatusCode::TOO_MANY_REQUESTS, "{first:?}");
    assert!((1..=3).contains(&wait_secs(&first.body)), "{first:?}");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    // Backoff, not a lock: after the wait one more attempt reaches the password check…
    assert!(app.guess(ATTACKER).await.reached_the_password_check());
    // …and the next wait is twice as long.
    let second = app.guess(ATTACKER).await;
    assert!(wait_secs(&second.body) > 3, "{second:?}");
    app.done().await;
}

#[tokio::test]
async fn a_success_clears_the_addresss_count() {
    let app = app().await;
    let free = app.state.login.pair_free;
    for _ in 0..free - 1 {
        assert!(app.guess(OWNER).await.reached_the_password_check());
    }
    assert_eq!(app.owner_login().await.status, StatusCode::OK);
    for _ in 0..free - 1 {
        assert!(app.guess(OWNER).await.reached_the_password_check());
    }
    app.done().await;
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    let mut proxy_policy = policy();
    proxy_policy.trusted_proxies = app::login_limit::parse_trusted_proxies("127.0.0.1").unwrap();
    let app = app_with(false, REDIS_URL, proxy_policy).await;
    let free = app.state.login.pair_free;
    let via_proxy = "127.0.0.1:41000";
    for _ in 0..free + 3 {
        app.login_from(
            via_proxy,
            &[("x-forwarded-for", "203.0.113.9")],
            LOGIN,
            "wrong-pass",
        )
        .await;
    }
    // The same proxy, another client behind it: not slowed down.
    let owner = app
        .login_from(
            via_proxy,
            &[("x-forwarded-for", "198.51.100.7")],
            LOGIN,
            PASSWORD,
        )
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{owner:?}");

    // A client that is not our proxy cannot pick its address by writing the header.
    for i in 0..free + 3 {
        let xff = format!("192.0.2.{i}");
        app.login_from(
            "203.0.113.50:1",
            &[("x-forwarded-for", &xff)],
            LOGIN,
            "wrong-pass",
        )
        .await;
    }
    let spoofed = app
        .login_from(
            "203.0.113.50:1",
            &[("x-forwarded-for", "192.0.2.200")],
            LOGIN,
            "wrong-pass",
        )
        .await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS, "{spoofed:?}");
    app.done().await;
}

#[tokio::test]
async fn many_addresses_meet_a_looser_per_account_ceiling() {
    let mut p = policy();
    p.account_ceiling = 6;
    let app = app_with(false, REDIS_URL, p).await;
    for i in 0..6 {
        let a = app.guess(&format!("192.0.2.{i}:1")).await;
        assert!(a.reached_the_password_check(), "{a:?}");
    }
    let a = app.guess("192.0.2.99:1").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        a.body
            .contains("Слишком много попыток входа в эту учётную запись. Повторите через"),
        "{a:?}"
    );
    app.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_guesses_reach_the_password_check_at_most_the_limit() {
    let app = std::sync::Arc::new(app().await);
    let free = app.state.login.pair_free;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.guess(ATTACKER).await })
        })
        .collect();
    let mut reached = 0;
    let mut refused = 0;
    for t in tasks {
        let a = t.await.unwrap();
        if a.reached_the_password_check() {
            reached += 1;
        } else if a.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        } else {
            panic!("unexpected answer: {a:?}");
        }
    }
    assert!(
        reached <= free,
        "{reached} guesses reached the password check"
    );
    assert_eq!(reached + refused, 50);
    std::sync::Arc::into_inner(app).unwrap().done().await;
}

#[tokio::test]
async fn oversized_logins_and_passwords_are_refused_before_any_work() {
    let app = app().await;
    let long_login = "я".repeat(151);
    let started = Instant::now();
    let a = app.login_from(OWNER, &[], &long_login, "x").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{a:?}");
    assert!(a.body.contains("не длиннее 150 символов"), "{a:?}");
    let a = app.login_from(OWNER, &[], LOGIN, &"p".repeat(1025)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{a:?}");
    // Both refused without hashing (argon2 takes far longer in a test build) and without a key.
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(app.redis_keys().await.is_empty());
    // The limits themselves are still fine.
    let a = app
        .login_from(OWNER, &[], &"я".repeat(150), &"p".repeat(1024))
        .await;
    assert!(a.reached_the_password_check(), "{a:?}");
    app.done().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_password_checks_are_bounded() {
    let mut p = LoginPolicy::new(Vec::new(), 1);
    p.pair_first_wait = Duration::from_secs(60);
    let app = std::sync::Arc::new(app_with(false, REDIS_URL, p).await);
    assert_eq!(app.state.login.hash_slots(), 1);
    // Every guess from its own address, so only the bound on hashing can refuse them.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.guess(&format!("10.9.{}.{}:1", i / 200, i % 200)).await })
        })
        .collect();
    let (mut checked, mut busy) = (0, 0);
    for t in tasks {
        let a = t.await.unwrap();
        if a.reached_the_password_check() {
            checked += 1;
        } else {
            assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{a:?}");
            assert!(
                a.body.contains("Слишком много попыток, повторите позже"),
                "{a:?}"
            );
            busy += 1;
        }
    }
    assert!(
        checked >= 1 && busy >= 1,
        "checked {checked}, refused {busy}"
    );
    std::sync::Arc::into_inner(app).unwrap().done().await;
}

#[tokio::test]
async fn without_redis_the_login_is_refused() {
    let mut redis = support::RedisProcess::start().await;
    let app = app_with(false, &redis.url(), policy()).await;
    assert_eq!(app.owner_login().await.status, StatusCode::OK);
    redis.kill();
    let a = app.owner_login().await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{a:?}");
    assert!(
        a.body
            .contains("Вход временно невозможен: Redis не отвечает"),
        "{a:?}"
    );
    assert!(a.cookie.is_none());
    drop(app.dist);
    app.db.drop_db().await;
}

#[tokio::test]
async fn the_cookie_is_host_prefixed_and_secure_by_default_and_plain_when_switched_off() {
    let secure = app_with(true, REDIS_URL, policy()).await;
    let a = secure.owner_login().await;
    let cookie = a.cookie.unwrap();
    assert!(cookie.starts_with("__Host-onec_session="), "{cookie}");
    assert!(
        cookie.contains("; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    let res = secure.whoami(&pair(&cookie)).await;
    assert_eq!(body_text(res).await, r#"{"login":"admin"}"#);
    // The same value under the unprefixed name (which plain HTTP could plant) opens nothing.
    let token = pair(&cookie).split_once('=').unwrap().1.to_owned();
    let res = secure.whoami(&format!("onec_session={token}")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    secure.done().await;

    let plain = app().await;
    let cookie = plain.owner_login().await.cookie.unwrap();
    assert!(cookie.starts_with("onec_session="), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let res = plain.whoami(&pair(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    plain.done().await;
}

#[tokio::test]
async fn an_active_session_gets_its_cookie_renewed_and_ends_at_the_absolute_limit() {
    let mut p = policy();
    p.sessions.max_age = chrono::Duration::days(7);
    let app = app_with(true, REDIS_URL, p).await;
    let cookie = app.owner_session().await;
    // A request within the minute: no new cookie.
    let res = app.whoami(&cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get(header::SET_COOKIE).is_none());

    // Two minutes later the expiry slides, and the cookie is sent again with a fresh Max-Age.
    let row = edit_session(&app.state.db, |row, s| {
        s.last_seen_at = Set(row.last_seen_at - chrono::Duration::minutes(2));
    })
    .await;
    let res = app.whoami(&cookie).await;
    assert_eq!(res.status(), StatusCode::OK);
    let renewed = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        pair(&renewed),
        cookie,
        "the same session, a longer-lived cookie"
    );
    assert!(
        renewed.contains("Max-Age=4320") && renewed.ends_with("; Secure"),
        "{renewed}"
    );

    // However active, a session ends 7 days after the login.
    support::poll(Duration::from_secs(5), || async {
        let r = web_sessions::Entity::find()
            .one(&app.state.db)
            .await
            .ok()??;
        (r.last_seen_at > row.last_seen_at).then_some(())
    })
    .await
    .expect("the slide is written");
    edit_session(&app.state.db, |row, s| {
        s.created_at = Set(row.created_at - chrono::Duration::days(7));
    })
    .await;
    assert_eq!(app.whoami(&cookie).await.status(), StatusCode::UNAUTHORIZED);
    app.done().await;
}

#[tokio::test]
async fn a_disabled_or_removed_administrator_loses_their_sessions_and_their_login() {
    let app = app().await;
    let cookie = app.owner_session().await;
    assert_eq!(app.whoami(&cookie).await.status(), StatusCode::OK);

    let bin = env!("CARGO_BIN_EXE_onec-admin");
    let admin_cli = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .env("DATABASE_URL", &app.db.url)
            .env("REDIS_URL", REDIS_URL)
            .env_remove("ONEC_ADMIN_LOGIN")
            .env_remove("ONEC_ADMIN_PASSWORD")
            .current_dir(app.dist.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = admin_cli(&["admin", "disable", "--login", LOGIN]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        out.trim(),
        "Администратор «admin» отключён, его сессии завершены."
    );
    // The live session is gone at once, and the right password no longer opens one.
    assert_eq!(app.whoami(&cookie).await.status(), StatusCode::UNAUTHORIZED);
    let a = app.owner_login().await;
    assert!(
        a.reached_the_password_check() && a.cookie.is_none(),
        "{a:?}"
    );

    let (code, out, _) = admin_cli(&["admin", "enable", "--login", LOGIN]);
    assert_eq!(
        (code, out.trim()),
        (Some(0), "Администратор «admin» снова может входить.")
    );
    let cookie = app.owner_session().await;
    assert_eq!(app.whoami(&cookie).await.status(), StatusCode::OK);

    let (code, out, _) = admin_cli(&["admin", "remove", "--login", LOGIN]);
    assert_eq!(
        (code, out.trim()),
        (
            Some(0),
            "Администратор «admin» удалён, его сессии завершены."
        )
    );
    assert_eq!(app.whoami(&cookie).await.status(), StatusCode::UNAUTHORIZED);
    assert!(
        !engine::auth::admin_exists(&app.state.db, LOGIN)
            .await
            .unwrap()
    );
    assert!(
        web_sessions::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .is_empty()
    );
    let (code, _, err) = admin_cli(&["admin", "remove", "--login", LOGIN]);
    assert_eq!((code, err.trim()), (Some(2), "Администратора «admin» нет."));
    app.done().await;
}

#[tokio::test]
async fn the_server_sees_the_peer_address() {
    // Through a real socket: axum gives every request its peer, so the limiter keys on it.
    let data = support::TempDir::new("login-peer");
    let env = support::ServerEnv::new(&data.sqlite_url(), data.path(), "login-peer");
    let addr = support::spawn_in_process(&env).await;
    let (head, _) = support::request(
        addr,
        "POST",
        "/api/login",
        None,
        "login=admin&password=nope",
    )
    .await;
    assert!(
        head.starts_with("HTTP/1.0 500") || head.starts_with("HTTP/1.1 500"),
        "{head}"
    );
    let mut conn = support::redis_conn(REDIS_URL).await.unwrap();
    let keys: Vec<String> = conn
        .keys(format!("{}:login:pair:*", env.prefix))
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with(":127.0.0.1"), "{keys:?}");
    support::cleanup_redis(REDIS_URL, &env.prefix).await;
}
