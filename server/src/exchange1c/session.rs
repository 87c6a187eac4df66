//! The exchange's own login: `mode=checkauth` with HTTP Basic, then a cookie 1C sends back on
//! every later call (it builds `Cookie: <name>=<value>` itself from the reply's lines 2 and 3).
//!
//! - Only accounts with the exchange role open it ([`engine::auth::authenticate_as`] with
//!   [`Role::Exchange`]); an administrator's password does not, nor a web session cookie.
//! - Failed logins are limited exactly like the web login form's: the same Redis script and
//!   counters ([`app::login_limit::admit`]: per login and client address, then per login from
//!   everywhere), the same bounded number of password checks at once.
//! - The token (and the `sessid` the 1C-Bitrix add-on echoes) are 32 random bytes in hex; Redis
//!   keeps only their SHA-256 (`<prefix>:exchange:token:<sha256>`, expiring after
//!   `ONEC_EXCHANGE_IDLE_SECS` without a request). A token never becomes a path.
use std::time::Duration;

use app::login_limit::{self, Verdict};
use app::ssr::AppState;
use axum::http::{HeaderMap, header, request::Parts};
use base64::Engine;
use engine::auth::{MAX_LOGIN_CHARS, MAX_PASSWORD_BYTES, Role};
use engine::redis::AsyncCommands;
use exchange::Reply;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Ctx, REDIS_DOWN};

/// The cookie's name (letters, digits and `_` only: 1C and PHP-minded proxies keep it intact).
pub const COOKIE: &str = "onec_exchange";

/// The refusal without a cookie.
pub const NO_COOKIE: &str = "Требуется авторизация: выполните checkauth";
/// The refusal with a cookie Redis does not know (wrong, expired, or Redis restarted).
pub const UNKNOWN_COOKIE: &str =
    "Сеанс обмена не найден или истёк: выполните checkauth заново (авторизация)";
/// The refusal of a `sessid` that is not the session's.
pub const WRONG_SESSID: &str =
    "Неверный sessid: он не от этого сеанса обмена; выполните checkauth заново";

/// What Redis keeps of one exchange session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// The exchange account.
    pub login: String,
    /// SHA-256 of the `sessid=` value.
    pub sessid_sha256: String,
    /// The exchange this session started with `init`, if any.
    pub exchange: Option<String>,
}

/// A checked session: its key and what it holds.
#[derive(Clone, Debug)]
pub struct Session {
    /// The token's Redis key.
    pub key: String,
    pub entry: TokenEntry,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// 32 random bytes in hex.
fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A token as this server makes them: 64 lower-case hex digits (anything else is not looked up).
fn is_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The `onec_exchange` cookie's value in the request's `Cookie` headers.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    app::ssr::cookie(headers, COOKIE)
}

/// Login and password of `Authorization: Basic …`, if well-formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, password) = text.split_once(':')?;
    Some((login.to_owned(), password.to_owned()))
}

/// A Redis connection of its own for the login limiter (its script runs on a multiplexed
/// connection, as the login form's), or `None` when Redis does not answer within 2 s.
async fn limiter_conn(app: &AppState) -> Option<engine::redis::aio::MultiplexedConnection> {
    let fut = app.redis.get_multiplexed_async_connection();
    match tokio::time::timeout(Duration::from_secs(2), fut).await {
        Ok(Ok(c)) => Some(c),
        _ => None,
    }
}

/// `mode=checkauth`: HTTP Basic, limited like the login form; on success a new session and the
/// five lines 1C (and the 1C-Bitrix add-on) read.
pub async fn checkauth(app: &AppState, ctx: &Ctx, parts: &Parts) -> Reply {
    let Some((login, password)) = basic_credentials(&parts.headers) else {
        tracing::info!("1C exchange: checkauth without Basic credentials");
        return Reply::failure(
            "Требуется HTTP-авторизация (Basic): укажите в узле обмена 1С пользователя и пароль \
             учётной записи обмена",
        );
    };
    let shown = engine::auth::loggable_login(&login);
    if login.trim().is_empty()
        || login.trim().chars().count() > MAX_LOGIN_CHARS
        || password.len() > MAX_PASSWORD_BYTES
    {
        tracing::info!(login = %shown, "1C exchange: checkauth refused: login or password too long");
        return Reply::failure(format!(
            "Логин должен быть не длиннее {MAX_LOGIN_CHARS} символов, пароль — не длиннее \
             {MAX_PASSWORD_BYTES} байт"
        ));
    }
    let Some(slot) = app.login.hash_slot().await else {
        tracing::warn!(login = %shown, "1C exchange: checkauth refused: every password-check slot is busy");
        return Reply::failure("Слишком много попыток входа одновременно, повторите позже");
    };
    let Some(mut conn) = limiter_conn(app).await else {
        return Reply::failure(REDIS_DOWN);
    };
    let keys = app.runner.keys();
    let (attempt, verdict) =
        login_limit::admit_attempt(&mut conn, keys, &app.login, &login, parts).await;
    let addr = &attempt.addr;
    match verdict {
        Some(Verdict::Go) => {}
        Some(Verdict::Wait(d)) => {
            tracing::warn!(login = %shown, %addr, "1C exchange: checkauth refused: too many attempts from this address");
            return Reply::failure(format!(
                "Слишком много неудачных попыток входа. Повторите через {}",
                login_limit::wait_text(d)
            ));
        }
        Some(Verdict::AccountLocked(d)) => {
            tracing::warn!(login = %shown, %addr, "1C exchange: checkauth refused: too many attempts at this account");
            return Reply::failure(format!(
                "Слишком много попыток входа в эту учётную запись. Повторите через {}",
                login_limit::wait_text(d)
            ));
        }
        None => return Reply::failure(REDIS_DOWN),
    }
    let checked = engine::auth::authenticate_as(&app.db, &login, &password, Role::Exchange).await;
    drop(slot);
    let account = match checked {
        Ok(Some(a)) => a,
        Ok(None) => {
            tracing::info!(login = %shown, %addr, "1C exchange: checkauth refused");
            return Reply::failure(
                "Неверный логин или пароль, или у учётной записи нет права обмена с 1С",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "1C exchange: account lookup failed");
            return Reply::failure("База данных недоступна, повторите позже");
        }
    };
    login_limit::forget_pair(&mut conn, keys, &attempt.login_key, addr).await;
    let (token, sessid) = (new_token(), new_token());
    let entry = TokenEntry {
        login: account.login.clone(),
        sessid_sha256: sha256_hex(&sessid),
        exchange: None,
    };
    let key = ctx.ex.key_token(&sha256_hex(&token));
    if save(ctx, &key, &entry).await.is_err() {
        return Reply::failure(REDIS_DOWN);
    }
    tracing::info!(login = %account.login, %addr, "1C exchange: logged in");
    Reply::success()
        .line(COOKIE)
        .line(token)
        .line(format!("sessid={sessid}"))
        .line(format!("timestamp={}", chrono::Utc::now().timestamp()))
}

/// Writes a session, expiring after the idle time.
pub async fn save(ctx: &Ctx, key: &str, entry: &TokenEntry) -> Result<(), ()> {
    let json = serde_json::to_string(entry).map_err(|_| ())?;
    let mut conn = ctx.redis.conn().await.map_err(|e| {
        tracing::warn!(error = %e, "1C exchange: Redis unavailable");
    })?;
    conn.set_ex::<_, _, ()>(key, json, ctx.ex.settings.idle.as_secs().max(1))
        .await
        .map_err(|e| tracing::warn!(error = %e, "1C exchange: could not store the session"))
}

/// Keeps the session at `key` alive another idle period (if it still exists).
pub async fn keep_alive(ctx: &Ctx, key: &str) {
    if let Ok(mut conn) = ctx.redis.conn().await {
        let _: Result<(), _> = conn
            .expire(key, ctx.ex.settings.idle.as_secs().max(1) as i64)
            .await;
    }
}

/// The session of a request after `checkauth`: the cookie must name a live one, and a `sessid`
/// sent along must be that session's. Each call keeps the session alive another idle period.
pub async fn authorize(
    ctx: &Ctx,
    headers: &HeaderMap,
    sessid: Option<&str>,
) -> Result<Session, Reply> {
    let Some(token) = cookie_token(headers) else {
        tracing::info!("1C exchange: request without the exchange cookie");
        return Err(Reply::failure(NO_COOKIE));
    };
    if !is_token(&token) {
        tracing::info!("1C exchange: malformed exchange cookie");
        return Err(Reply::failure(UNKNOWN_COOKIE));
    }
    let key = ctx.ex.key_token(&sha256_hex(&token));
    let mut conn = ctx.redis.conn().await.map_err(|e| {
        tracing::warn!(error = %e, "1C exchange: Redis unavailable");
        Reply::failure(REDIS_DOWN)
    })?;
    let json: Option<String> = conn.get(&key).await.map_err(|e| {
        tracing::warn!(error = %e, "1C exchange: session lookup failed");
        Reply::failure(REDIS_DOWN)
    })?;
    let Some(entry) = json.and_then(|j| serde_json::from_str::<TokenEntry>(&j).ok()) else {
        tracing::info!("1C exchange: unknown or expired exchange cookie");
        return Err(Reply::failure(UNKNOWN_COOKIE));
    };
    if let Some(sent) = sessid
        && sha256_hex(sent) != entry.sessid_sha256
    {
        tracing::warn!(login = %entry.login, "1C exchange: sessid of another session refused");
        return Err(Reply::failure(WRONG_SESSID));
    }
    let _: Result<(), _> = conn
        .expire(&key, ctx.ex.settings.idle.as_secs().max(1) as i64)
        .await;
    Ok(Session { key, entry })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let t = "a".repeat(64);
        let h = headers(&[
            (header::COOKIE, "onec_session=zzz; x=1"),
            (header::COOKIE, &format!("other=2; {COOKIE}={t}")),
        ]);
        assert_eq!(cookie_token(&h).as_deref(), Some(t.as_str()));
        assert_eq!(
            cookie_token(&headers(&[(header::COOKIE, "onec_session=x")])),
            None
        );
        assert!(is_token(&t) && !is_token("../x") && !is_token(&"A".repeat(64)));
        assert!(is_token(&new_token()));
        assert_ne!(new_token(), new_token());
    }

    #[test]
    fn basic_credentials_are_read() {
        let enc = base64::engine::general_purpose::STANDARD.encode("1c:pa:ss");
        let h = headers(&[(header::AUTHORIZATION, &format!("Basic {enc}"))]);
        assert_eq!(
            basic_credentials(&h),
            Some(("1c".to_owned(), "pa:ss".to_owned()))
        );
        let h = headers(&[(header::AUTHORIZATION, &format!("basic  {enc}"))]);
        assert!(basic_credentials(&h).is_some());
        for bad in ["Bearer x", "Basic !!!", "Basic", "Basic bm9jb2xvbg=="] {
            let h = headers(&[(header::AUTHORIZATION, bad)]);
            assert_eq!(basic_credentials(&h), None, "{bad}");
        }
    }
}
