//! Accounts: an administrator of the web app, 1C's exchange user, or both ([`Role`]); creating
//! them, checking a password at a constant cost, disabling and removing them.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter,
};

use super::{
    AdminError, DUMMY_HASH, LOGIN_FAILURES, MAX_LOGIN_CHARS, MAX_PASSWORD_BYTES, MIN_PASSWORD_LEN,
    hash_password, verify_password,
};
use crate::entity::{admins, web_sessions};

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
