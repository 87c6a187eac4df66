//! The schema and the administrator accounts behave the same on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly by design
use chrono::{Duration, Utc};
use engine::auth::{self, AdminError, Upserted};
use engine::entity::{import_runs, import_sessions, web_sessions};
use engine::kinds::{ImportKind, SessionStatus};
use engine::monitor::{self, SessionFilter};
use engine::testing::TestDb;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait};

#[tokio::test]
async fn migrations_create_every_table_on_both_backends_and_run_twice() {
    for t in TestDb::each().await {
        engine::db::migrate(&t.db)
            .await
            .expect("second migrate is a no-op");
        for table in [
            "categories",
            "units",
            "properties",
            "property_values",
            "products",
            "product_property_values",
            "offers",
            "offer_characteristics",
            "price_types",
            "prices",
            "warehouses",
            "stocks",
            "customers",
            "import_runs",
            "import_sessions",
            "admins",
            "web_sessions",
        ] {
            t.db.execute_unprepared(&format!("SELECT COUNT(*) FROM {table}"))
                .await
                .unwrap_or_else(|e| panic!("{table} on {}: {e}", t.url));
        }
        t.drop_db().await;
    }
}

#[tokio::test]
async fn an_admin_logs_in_with_the_right_password_only() {
    for t in TestDb::each().await {
        let db = &t.db;
        assert_eq!(upsert(db, "admin", "s3cret-pass").await, Upserted::Created);
        assert!(!logs_in(db, "admin", "wrong-pass").await);
        assert!(!logs_in(db, "nobody", "s3cret-pass").await);
        let admin = logged_in(db, " admin ", "s3cret-pass").await;
        assert_eq!(admin.login, "admin");

        let token = auth::start_session(db, admin.id, None).await.unwrap();
        assert_eq!(
            auth::session_admin(db, &token).await.unwrap().map(|a| a.id),
            Some(admin.id)
        );
        // Renewal at login: the old id stops working.
        let renewed = auth::start_session(db, admin.id, Some(&token))
            .await
            .unwrap();
        assert_ne!(renewed, token);
        assert!(!has_session(db, &token).await);
        assert!(has_session(db, &renewed).await);
        // Garbage never matches and never errors.
        assert!(!has_session(db, "x").await);
        assert!(
            auth::session_admin(db, &"z".repeat(64))
                .await
                .unwrap()
                .is_none()
        );

        auth::end_session(db, &renewed).await.unwrap();
        assert!(!has_session(db, &renewed).await);
        t.drop_db().await;
    }
}

#[tokio::test]
async fn an_expired_session_is_refused_and_removed() {
    let t = TestDb::sqlite().await;
    let db = &t.db;
    let token = new_admin_session(db, "admin", "s3cret-pass").await;
    let row = web_sessions::Entity::find().one(db).await.unwrap().unwrap();
    let mut active: web_sessions::ActiveModel = row.into();
    active.expires_at = Set(Utc::now() - Duration::seconds(1));
    active.update(db).await.unwrap();
    assert!(!has_session(db, &token).await);
    assert_eq!(web_sessions::Entity::find().all(db).await.unwrap().len(), 0);
    t.drop_db().await;
}

#[tokio::test]
async fn create_admin_again_resets_the_password_and_ends_sessions() {
    let t = TestDb::sqlite().await;
    let db = &t.db;
    let token = new_admin_session(db, "admin", "first-pass").await;
    assert_eq!(
        upsert(db, "admin", "second-pass").await,
        Upserted::PasswordReset
    );
    assert!(!logs_in(db, "admin", "first-pass").await);
    assert!(logs_in(db, "admin", "second-pass").await);
    assert!(!has_session(db, &token).await);
    assert!(matches!(
        auth::upsert_admin(db, "", "long-enough").await,
        Err(AdminError::BadLogin)
    ));
    assert!(matches!(
        auth::upsert_admin(db, "a", "short").await,
        Err(AdminError::ShortPassword)
    ));
    t.drop_db().await;
}

#[tokio::test]
async fn the_monitor_lists_newest_first_with_filters_and_pages() {
    for t in TestDb::each().await {
        let db = &t.db;
        let now = Utc::now();
        import_runs::ActiveModel {
            id: Set("run-1".into()),
            kinds: Set("catalog,stocks".into()),
            status: Set("completed".into()),
            message: Set(None),
            started_by: Set("admin".into()),
            cancelled_by: Set(None),
            started_at: Set(now),
            finished_at: Set(None),
            mode: Set("import".into()),
            origin: Set("admin".into()),
            exchange_id: Set(None),
        }
        .insert(db)
        .await
        .unwrap();
        for i in 0..5i64 {
            let kind = if i % 2 == 0 {
                ImportKind::Catalog
            } else {
                ImportKind::Stocks
            };
            let status = if i == 4 {
                SessionStatus::Failed
            } else {
                SessionStatus::Completed
            };
            import_sessions::ActiveModel {
                run_id: Set("run-1".into()),
                import_type: Set(kind.as_str().into()),
                status: Set(status.as_str().into()),
                started_at: Set(now - Duration::minutes(10 - i)),
                finished_at: Set(None),
                processed: Set(i),
                total: Set(10),
                report: Set("{}".into()),
                error_message: Set(None),
                triggered_by: Set("cli".into()),
                ..Default::default()
            }
            .insert(db)
            .await
            .unwrap();
        }
        let (rows, total) = monitor::list_sessions(db, &SessionFilter::default(), 0, 2)
            .await
            .unwrap();
        assert_eq!(total, 5);
        assert_eq!(rows.iter().map(|r| r.processed).collect::<Vec<_>>(), [4, 3]);
        let (rows, _) = monitor::list_sessions(db, &SessionFilter::default(), 2, 2)
            .await
            .unwrap();
        assert_eq!(rows.iter().map(|r| r.processed).collect::<Vec<_>>(), [0]);

        let catalog = SessionFilter {
            kind: Some(ImportKind::Catalog),
            ..Default::default()
        };
        assert_eq!(
            monitor::list_sessions(db, &catalog, 0, 50).await.unwrap().1,
            3
        );
        let failed = SessionFilter {
            status: Some(SessionStatus::Failed),
            ..Default::default()
        };
        let (rows, total) = monitor::list_sessions(db, &failed, 0, 50).await.unwrap();
        assert_eq!((total, rows[0].processed), (1, 4));
        let recent = SessionFilter {
            from: Some(now - Duration::minutes(7)),
            until: Some(now),
            ..Default::default()
        };
        assert_eq!(
            monitor::list_sessions(db, &recent, 0, 50).await.unwrap().1,
            2
        );

        let one = monitor::session(db, rows[0].id).await.unwrap().unwrap();
        assert_eq!(one.status, "failed");
        assert!(monitor::session(db, 999_999).await.unwrap().is_none());
        t.drop_db().await;
    }
}

/// Moves the only session's times back by `created` and `seen`.
async fn age_session(db: &sea_orm::DatabaseConnection, created: Duration, seen: Duration) {
    let row = web_sessions::Entity::find().one(db).await.unwrap().unwrap();
    let mut active: web_sessions::ActiveModel = row.clone().into();
    active.created_at = Set(row.created_at - created);
    active.last_seen_at = Set(row.last_seen_at - seen);
    active.update(db).await.unwrap();
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_limit_however_active() {
    for t in TestDb::each().await {
        let db = &t.db;
        let admin = created_and_logged_in(db, "admin", "s3cret-pass").await;
        let policy = auth::SessionPolicy::default();
        assert_eq!(policy.max_age, Duration::days(7));

        let token = auth::start_session(db, admin.id, None).await.unwrap();
        let live = auth::check_session(db, &token, &policy)
            .await
            .unwrap()
            .unwrap();
        assert!(live.renewed.is_none(), "no slide within the first minute");
        // Active two minutes ago, logged in 7 days minus an hour ago: the expiry slides, but
        // only up to the absolute limit, and says so for the cookie.
        age_session(
            db,
            Duration::days(7) - Duration::hours(1),
            Duration::minutes(2),
        )
        .await;
        let live = auth::check_session(db, &token, &policy)
            .await
            .unwrap()
            .unwrap();
        let left = live.renewed.expect("the expiry slid");
        assert!(
            left <= Duration::hours(1) && left > Duration::minutes(59),
            "{left}"
        );
        // Past the absolute limit the session is over (and removed), though it was just used
        // and its sliding expiry lies ahead.
        age_session(db, Duration::hours(1), Duration::zero()).await;
        assert!(!has_session(db, &token).await);
        assert_eq!(web_sessions::Entity::find().all(db).await.unwrap().len(), 0);

        // A shorter configured limit applies too.
        let token = auth::start_session(db, admin.id, None).await.unwrap();
        age_session(db, Duration::hours(2), Duration::zero()).await;
        let short = auth::SessionPolicy {
            max_age: Duration::hours(1),
            ..policy
        };
        assert!(
            auth::check_session(db, &token, &short)
                .await
                .unwrap()
                .is_none()
        );
        t.drop_db().await;
    }
}

#[tokio::test]
async fn a_disabled_administrator_cannot_log_in_and_loses_sessions_and_a_removed_one_is_gone() {
    use auth::{AdminAction, AdminChange};
    for t in TestDb::each().await {
        let db = &t.db;
        auth::upsert_admin(db, "admin", "s3cret-pass")
            .await
            .unwrap();
        auth::upsert_admin(db, "other", "other-pass").await.unwrap();
        let admin = logged_in(db, "admin", "s3cret-pass").await;
        let other = logged_in(db, "other", "other-pass").await;
        let token = auth::start_session(db, admin.id, None).await.unwrap();
        let others = auth::start_session(db, other.id, None).await.unwrap();

        assert_eq!(
            set_state(db, "admin", AdminAction::Disable).await,
            AdminChange::Done
        );
        assert!(!has_session(db, &token).await);
        assert!(!logs_in(db, "admin", "s3cret-pass").await);
        assert!(auth::admin_exists(db, "admin").await.unwrap());
        assert!(
            has_session(db, &others).await,
            "other administrators keep their sessions"
        );

        set_state(db, "admin", AdminAction::Enable).await;
        let admin = logged_in(db, "admin", "s3cret-pass").await;
        let token = auth::start_session(db, admin.id, None).await.unwrap();

        assert_eq!(
            set_state(db, "admin", AdminAction::Remove).await,
            AdminChange::Done
        );
        assert!(!has_session(db, &token).await);
        assert!(!auth::admin_exists(db, "admin").await.unwrap());
        assert_eq!(
            set_state(db, "admin", AdminAction::Disable).await,
            AdminChange::NoSuchLogin
        );
        assert!(matches!(
            auth::upsert_admin(db, "x", &"p".repeat(auth::MAX_PASSWORD_BYTES + 1)).await,
            Err(AdminError::LongPassword)
        ));
        t.drop_db().await;
    }
}

/// Whether `login` with `password` opens what `role` gives.
async fn opens(
    db: &sea_orm::DatabaseConnection,
    login: &str,
    password: &str,
    role: auth::Role,
) -> bool {
    auth::authenticate_as(db, login, password, role)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn roles_keep_the_exchange_user_out_of_the_web_app_and_the_admin_out_of_the_exchange() {
    use auth::{Role, Roles};
    for t in TestDb::each().await {
        let db = &t.db;
        auth::upsert_account(db, "1c", "exchange-pass", Roles::EXCHANGE)
            .await
            .unwrap();
        auth::upsert_admin(db, "admin", "s3cret-pass")
            .await
            .unwrap();
        // The exchange account opens the endpoint only; the administrator the web app only.
        assert!(!opens(db, "1c", "exchange-pass", Role::Admin).await);
        assert!(opens(db, "1c", "exchange-pass", Role::Exchange).await);
        assert!(!opens(db, "admin", "s3cret-pass", Role::Exchange).await);
        // A session of an account that loses the admin role ends.
        let admin = logged_in(db, "admin", "s3cret-pass").await;
        let token = auth::start_session(db, admin.id, None).await.unwrap();
        assert!(has_session(db, &token).await);
        auth::upsert_account(db, "admin", "s3cret-pass", Roles::of(&[Role::Exchange]))
            .await
            .unwrap();
        assert!(!has_session(db, &token).await);
        assert!(!opens(db, "admin", "s3cret-pass", Role::Admin).await);
        // `create-admin` on that account gives the admin role back and keeps the exchange one.
        auth::upsert_admin(db, "admin", "s3cret-pass")
            .await
            .unwrap();
        assert!(opens(db, "admin", "s3cret-pass", Role::Admin).await);
        assert!(opens(db, "admin", "s3cret-pass", Role::Exchange).await);
        // A disabled exchange account is refused like a wrong password.
        set_state(db, "1c", auth::AdminAction::Disable).await;
        assert!(!opens(db, "1c", "exchange-pass", Role::Exchange).await);
        assert!(matches!(
            auth::upsert_account(db, "nobody", "long-enough", Roles::default()).await,
            Err(AdminError::NoRole)
        ));
        t.drop_db().await;
    }
}

/// Whether `login` and `password` authenticate an admin.
async fn logs_in(db: &sea_orm::DatabaseConnection, login: &str, password: &str) -> bool {
    auth::authenticate(db, login, password)
        .await
        .unwrap()
        .is_some()
}

/// Creates the admin or resets its password; must succeed.
async fn upsert(db: &sea_orm::DatabaseConnection, login: &str, password: &str) -> Upserted {
    auth::upsert_admin(db, login, password).await.unwrap()
}

/// The admin `login` authenticated with `password`; it must log in.
async fn logged_in(
    db: &sea_orm::DatabaseConnection,
    login: &str,
    password: &str,
) -> engine::entity::admins::Model {
    auth::authenticate(db, login, password)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{login} does not log in"))
}

/// Creates the admin `login` (or resets its password) and logs it in.
async fn created_and_logged_in(
    db: &sea_orm::DatabaseConnection,
    login: &str,
    password: &str,
) -> engine::entity::admins::Model {
    upsert(db, login, password).await;
    logged_in(db, login, password).await
}

/// Creates the admin `login` (or resets its password), logs it in and starts a session: its
/// token.
async fn new_admin_session(
    db: &sea_orm::DatabaseConnection,
    login: &str,
    password: &str,
) -> String {
    let admin = created_and_logged_in(db, login, password).await;
    auth::start_session(db, admin.id, None).await.unwrap()
}

/// Whether `token` opens a session.
async fn has_session(db: &sea_orm::DatabaseConnection, token: &str) -> bool {
    auth::session_admin(db, token).await.unwrap().is_some()
}

/// Disables, enables or removes the account `login`; must not fail.
async fn set_state(
    db: &sea_orm::DatabaseConnection,
    login: &str,
    action: auth::AdminAction,
) -> auth::AdminChange {
    auth::set_admin_state(db, login, action).await.unwrap()
}
