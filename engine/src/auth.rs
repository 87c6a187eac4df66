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
/// The shortest password `create-admin` accepts.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Why an administrator could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("логин не может быть пустым и должен быть не длиннее 150 символов")]
    BadLogin,
    #[error("пароль должен быть не короче {MIN_PASSWORD_LEN} символов")]
    ShortPassword,
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

/// Whether [`upsert_admin`] created the account or reset an existing one's password.
#[derive(Debug, PartialEq, Eq)]
pub enum Upserted {
    Created,
    PasswordReset,
}

/// Creates the administrator, or sets a new password if the login exists (so the start-up
/// command can run again safely).
pub async fn upsert_admin(
    db: &DatabaseConnection,
    login: &str,
    password: &str,
) -> Result<Upserted, AdminError> {
    let login = login.trim();
    if login.is_empty() || login.chars().count() > 150 {
        return Err(AdminError::BadLogin);
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AdminError::ShortPassword);
    }
    let hash = hash_password(password)?;
    match admins::Entity::find()
        .filter(admins::Column::Login.eq(login))
        .one(db)
        .await?
    {
        Some(existing) => {
            let id = existing.id;
            let mut active: admins::ActiveModel = existing.into();
            active.password_hash = Set(hash);
            active.update(db).await?;
            // A new password ends every open session of that account.
            web_sessions::Entity::delete_many()
                .filter(web_sessions::Column::AdminId.eq(id))
                .exec(db)
                .await?;
            Ok(Upserted::PasswordReset)
        }
        None => {
            admins::ActiveModel {
                login: Set(login.to_owned()),
                password_hash: Set(hash),
                created_at: Set(Utc::now()),
                last_login_at: Set(None),
                ..Default::default()
            }
            .insert(db)
            .await?;
            Ok(Upserted::Created)
        }
    }
}

/// Whether an administrator with this login exists.
pub async fn admin_exists(db: &DatabaseConnection, login: &str) -> Result<bool, DbErr> {
    Ok(admins::Entity::find()
        .filter(admins::Column::Login.eq(login.trim()))
        .one(db)
        .await?
        .is_some())
}

/// The administrator with this login and password, or `None`. An unknown login costs the same
/// hashing work as a wrong password, so timing does not reveal which logins exist.
pub async fn authenticate(
    db: &DatabaseConnection,
    login: &str,
    password: &str,
) -> Result<Option<admins::Model>, DbErr> {
    let found = admins::Entity::find()
        .filter(admins::Column::Login.eq(login.trim()))
        .one(db)
        .await?;
    let (hash, admin) = match found {
        Some(a) => (a.password_hash.clone(), Some(a)),
        None => (DUMMY_HASH.clone(), None),
    };
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .unwrap_or(false);
    let admin = admin.filter(|_| ok);
    if admin.is_none() {
        metrics::counter!(LOGIN_FAILURES).increment(1);
    }
    Ok(admin)
}

/// Logins refused for a wrong login or password (a Prometheus counter; see `server::metrics`).
pub const LOGIN_FAILURES: &str = "onec_login_failures_total";

/// A hash of a random string, verified against when the login is unknown.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&hex::encode(rand::random::<[u8; 16]>())).unwrap_or_default());

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

/// The administrator a cookie value belongs to, if the session is alive. Activity slides the
/// expiry forward, at most once a minute per session to keep reads cheap.
pub async fn session_admin(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<admins::Model>, DbErr> {
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
    if session.expires_at <= now {
        web_sessions::Entity::delete_by_id(session.id)
            .exec(db)
            .await?;
        return Ok(None);
    }
    if now - session.last_seen_at > Duration::minutes(1) {
        // In the background: on SQLite a running import holds the write lock, and a page must
        // not wait for it just to slide an expiry forward.
        let db = db.clone();
        let mut active: web_sessions::ActiveModel = session.clone().into();
        active.last_seen_at = Set(now);
        active.expires_at = Set(now + SESSION_TTL);
        tokio::spawn(async move {
            if let Err(e) = active.update(&db).await {
                tracing::debug!(error = %e, "session expiry not extended");
            }
        });
    }
    admins::Entity::find_by_id(session.admin_id).one(db).await
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
    fn the_dummy_hash_parses_so_unknown_logins_cost_the_same() {
        assert!(PasswordHash::new(&DUMMY_HASH).is_ok());
    }
}
