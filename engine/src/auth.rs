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

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Log in to the web app: pages, server functions, event streams.
    Admin,
    /// Use 1C's «Обмен с сайтом» endpoint, and nothing else.
    Exchange,
}

impl Role {
    /// Whether `account` has this role.
    pub fn held_by(self, account: &admins::Model) -> bool {
        match self {
            Self::Admin => account.can_admin,
            Self::Exchange => account.can_exchange,
        }
    }
}

/// The roles an account is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    /// [`Role::Admin`].
    pub admin: bool,
    /// [`Role::Exchange`].
    pub exchange: bool,
}

impl Roles {
    /// An administrator only (what `create-admin` makes).
    pub const ADMIN: Self = Self {
        admin: true,
        exchange: false,
    };
    /// 1C's exchange user only.
    pub const EXCHANGE: Self = Self {
        admin: false,
        exchange: true,
    };

    /// These roles, from a list (`--role admin --role exchange`).
    pub fn of(list: &[Role]) -> Self {
        Self {
            admin: list.contains(&Role::Admin),
            exchange: list.contains(&Role::Exchange),
        }
    }
}

/// Whether [`upsert_admin`] created the account or reset an existing one's password.
#[derive(Debug, PartialEq, Eq)]
pub enum Upserted {
    Created,
    PasswordReset,
}

/// Creates the administrator, or sets a new password if the login exists (so the start-up
/// command can run again safely). An existing account keeps its exchange role.
pub async fn upsert_admin(
    db: &DatabaseConnection,
    login: &str,
    password: &str,
) -> Result<Upserted, AdminError> {
    upsert(db, login, password, Roles::ADMIN, Grant::Add).await
}

/// Creates an account with exactly these roles, or sets an existing one's password and roles
/// (`onec-admin create-user`). At least one role is needed.
pub async fn upsert_account(
    db: &DatabaseConnection,
    login: &str,
    password: &str,
    roles: Roles,
) -> Result<Upserted, AdminError> {
    if roles == Roles::default() {
        return Err(AdminError::NoRole);
    }
    upsert(db, login, password, roles, Grant::Exactly).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// The account gets these roles besides those it has.
    Add,
    /// The account has these roles and no other.
    Exactly,
}

async fn upsert(
    db: &DatabaseConnection,
    login: &str,
    password: &str,
    roles: Roles,
    grant: Grant,
) -> Result<Upserted, AdminError> {
    let login = login.trim();
    if login.is_empty() || login.chars().count() > MAX_LOGIN_CHARS {
        return Err(AdminError::BadLogin);
    }
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AdminError::ShortPassword);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AdminError::LongPassword);
    }
    let hash = hash_password(password)?;
    match admins::Entity::find()
        .filter(admins::Column::Login.eq(login))
        .one(db)
        .await?
    {
        Some(existing) => {
            let id = existing.id;
            let (admin, exchange) = match grant {
                Grant::Add => (
                    existing.can_admin || roles.admin,
                    existing.can_exchange || roles.exchange,
                ),
                Grant::Exactly => (roles.admin, roles.exchange),
            };
            let mut active: admins::ActiveModel = existing.into();
            active.password_hash = Set(hash);
            active.can_admin = Set(admin);
            active.can_exchange = Set(exchange);
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
                disabled_at: Set(None),
                can_admin: Set(roles.admin),
                can_exchange: Set(roles.exchange),
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

/// The administrator with this login and password, or `None` (the web app's login form).
pub async fn authenticate(
    db: &DatabaseConnection,
    login: &str,
    password: &str,
) -> Result<Option<admins::Model>, DbErr> {
    authenticate_as(db, login, password, Role::Admin).await
}

/// The account with this login and password that has `role`, or `None`. An unknown login costs
/// the same hashing work as a wrong password, so timing does not reveal which logins exist; a
/// disabled account, or one without the role, is refused like a wrong password.
pub async fn authenticate_as(
    db: &DatabaseConnection,
    login: &str,
    password: &str,
    role: Role,
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
    let admin = admin.filter(|a| ok && a.disabled_at.is_none() && role.held_by(a));
    if admin.is_none() {
        metrics::counter!(LOGIN_FAILURES).increment(1);
    }
    Ok(admin)
}

/// What [`set_admin_state`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminChange {
    Done,
    NoSuchLogin,
}

/// What to do with an administrator's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminAction {
    /// No login and no session until enabled again; the account and its history stay.
    Disable,
    /// Allowed to log in again.
    Enable,
    /// The account is deleted (sessions and runs keep the login as text).
    Remove,
}

/// Disables, enables or removes the administrator with this login. Disabling and removing end
/// every open session of that account at once.
pub async fn set_admin_state(
    db: &DatabaseConnection,
    login: &str,
    action: AdminAction,
) -> Result<AdminChange, DbErr> {
    let Some(admin) = admins::Entity::find()
        .filter(admins::Column::Login.eq(login.trim()))
        .one(db)
        .await?
    else {
        return Ok(AdminChange::NoSuchLogin);
    };
    if action != AdminAction::Remove {
        let at = (action == AdminAction::Disable).then(Utc::now);
        admins::Entity::update_many()
            .col_expr(admins::Column::DisabledAt, Expr::value(at))
            .filter(admins::Column::Id.eq(admin.id))
            .exec(db)
            .await?;
    }
    // After the flag, so a login racing with `disable` cannot leave a session behind (and
    // [`check_session`] refuses a disabled administrator's session anyway).
    if action != AdminAction::Enable {
        web_sessions::Entity::delete_many()
            .filter(web_sessions::Column::AdminId.eq(admin.id))
            .exec(db)
            .await?;
    }
    if action == AdminAction::Remove {
        admins::Entity::delete_by_id(admin.id).exec(db).await?;
    }
    Ok(AdminChange::Done)
}

/// Logins refused for a wrong login or password (a Prometheus counter; see `server::metrics`).
pub const LOGIN_FAILURES: &str = "onec_login_failures_total";

/// A hash of a random string, verified against when the login is unknown.
static DUMMY_HASH: LazyLock<String> =
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
