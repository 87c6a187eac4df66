//! Who may do what: accounts with roles and their passwords ([`accounts`]), and the web sessions
//! of administrators (here).

mod accounts;
pub use accounts::{
    AdminAction, AdminChange, Role, Roles, Upserted, admin_exists, authenticate, authenticate_as,
    set_admin_state, upsert_account, upsert_admin,
};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter,
};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

use crate::entity::{admins, web_sessions};

/// How long a login lasts without activity.
pub const SESSION_TTL: Duration = Duration::hours(12);
/// How long a login lasts at most, however active (`ONEC_SESSION_MAX_AGE`'s default).
pub const SESSION_MAX_AGE: Duration = Duration::days(7);
/// The shortest password `create-admin` accepts.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest login, in characters (`create-admin` and the login form).
pub const MAX_LOGIN_CHARS: usize = 150;
/// The longest password, in bytes: a longer one is refused before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// How long web sessions live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Without activity (the expiry slides forward with use).
    pub idle: Duration,
    /// From the login, whatever the activity.
    pub max_age: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: SESSION_TTL,
            max_age: SESSION_MAX_AGE,
        }
    }
}

/// A live session: whose it is, and, when this request slid its expiry forward, how long it now
/// has left (the cookie's new `Max-Age`).
#[derive(Clone, Debug)]
pub struct LiveSession {
    pub admin: admins::Model,
    pub renewed: Option<Duration>,
}

/// Why an administrator could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("логин не может быть пустым и должен быть не длиннее {MAX_LOGIN_CHARS} символов")]
    BadLogin,
    #[error("пароль должен быть не короче {MIN_PASSWORD_LEN} символов")]
    ShortPassword,
    #[error("пароль должен быть не длиннее {MAX_PASSWORD_BYTES} байт")]
    LongPassword,
    #[error("у учётной записи должна быть хотя бы одна роль (admin или exchange)")]
    NoRole,
    #[error("не удалось вычислить хеш пароля: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// An argon2id PHC string for `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, AdminError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| AdminError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Hash(e.to_string()))
}

/// True when `password` matches the PHC string `hash`; a malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Logins refused for a wrong login or password (a Prometheus counter; see `server::metrics`).
pub const LOGIN_FAILURES: &str = "onec_login_failures_total";

/// A hash of a random string, verified against when the login is unknown.
pub(crate) static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&hex::encode(rand::random::<[u8; 16]>())).unwrap_or_default());

/// A fixed-length name for a login in Redis keys: the SHA-256 (first 128 bits, hex) of the
/// trimmed, lower-cased login, so a key never carries what a visitor typed.
pub fn login_key(login: &str) -> String {
    hex::encode(&Sha256::digest(login.trim().to_lowercase().as_bytes())[..16])
}

/// A login as it may appear in the log: at most 64 characters, control characters and quotes
/// escaped (a newline in a login cannot forge a log line).
pub fn loggable_login(login: &str) -> String {
    let mut out: String = login
        .trim()
        .chars()
        .take(64)
        .flat_map(char::escape_debug)
        .collect();
    if login.trim().chars().count() > 64 {
        out.push('…');
    }
    out
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a web session for `admin_id` and returns the cookie value. The caller's previous
/// session, if any, ends: the id is renewed at every login (no session fixation).
pub async fn start_session(
    db: &DatabaseConnection,
    admin_id: i64,
    previous_token: Option<&str>,
) -> Result<String, DbErr> {
    if let Some(old) = previous_token {
        end_session(db, old).await?;
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let now = Utc::now();
    web_sessions::ActiveModel {
        id: Set(token_hash(&token)),
        admin_id: Set(admin_id),
        created_at: Set(now),
        expires_at: Set(now + SESSION_TTL),
        last_seen_at: Set(now),
    }
    .insert(db)
    .await?;
    admins::Entity::update_many()
        .col_expr(admins::Column::LastLoginAt, Expr::value(now))
        .filter(admins::Column::Id.eq(admin_id))
        .exec(db)
        .await?;
    web_sessions::Entity::delete_many()
        .filter(web_sessions::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    Ok(token)
}

/// The administrator a cookie value belongs to, if the session is alive, with the default
/// [`SessionPolicy`].
pub async fn session_admin(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<admins::Model>, DbErr> {
    Ok(check_session(db, token, &SessionPolicy::default())
        .await?
        .map(|s| s.admin))
}

/// The live session behind a cookie value. A session ends after `policy.idle` without activity,
/// `policy.max_age` after the login whatever the activity, and when its administrator is
/// disabled, removed or loses the admin role. Activity slides the expiry forward (never past the absolute limit), at
/// most once a minute per session to keep reads cheap; then [`LiveSession::renewed`] says how
/// long the cookie should now live.
pub async fn check_session(
    db: &DatabaseConnection,
    token: &str,
    policy: &SessionPolicy,
) -> Result<Option<LiveSession>, DbErr> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(session) = web_sessions::Entity::find_by_id(token_hash(token))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let hard_end = session.created_at + policy.max_age;
    if session.expires_at <= now || hard_end <= now {
        web_sessions::Entity::delete_by_id(session.id)
            .exec(db)
            .await?;
        return Ok(None);
    }
    let Some(admin) = admins::Entity::find_by_id(session.admin_id)
        .one(db)
        .await?
        .filter(|a| a.disabled_at.is_none() && a.can_admin)
    else {
        web_sessions::Entity::delete_by_id(session.id)
            .exec(db)
            .await?;
        return Ok(None);
    };
    let mut renewed = None;
    if now - session.last_seen_at > Duration::minutes(1) {
        let expires = (now + policy.idle).min(hard_end);
        // In the background: on SQLite a running import holds the write lock, and a page must
        // not wait for it just to slide an expiry forward.
        let db = db.clone();
        let mut active: web_sessions::ActiveModel = session.into();
        active.last_seen_at = Set(now);
        active.expires_at = Set(expires);
        tokio::spawn(async move {
            if let Err(e) = active.update(&db).await {
                tracing::debug!(error = %e, "session expiry not extended");
            }
        });
        renewed = Some(expires - now);
    }
    Ok(Some(LiveSession { admin, renewed }))
}

/// Ends the session behind a cookie value (logout).
pub async fn end_session(db: &DatabaseConnection, token: &str) -> Result<(), DbErr> {
    web_sessions::Entity::delete_by_id(token_hash(token))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "every hash has its own salt");
        assert!(verify_password(&a, "correct horse"));
        assert!(!verify_password(&a, "wrong horse"));
        assert!(!verify_password("not a hash", "correct horse"));
    }

    #[test]
    fn logins_are_hashed_for_keys_and_escaped_for_logs() {
        assert_eq!(login_key(" Admin "), login_key("admin"));
        assert_eq!(login_key("admin").len(), 32);
        assert_ne!(login_key("admin"), login_key("admin2"));
        assert_eq!(loggable_login("admin"), "admin");
        assert_eq!(
            loggable_login("x\nINFO forged line"),
            "x\\nINFO forged line"
        );
        let long = loggable_login(&"я".repeat(1000));
        assert_eq!(long.chars().count(), 65);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_logins_cost_the_same() {
        assert!(PasswordHash::new(&DUMMY_HASH).is_ok());
    }
}
