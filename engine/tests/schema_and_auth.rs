//! The schema and the administrator accounts behave the same on SQLite and PostgreSQL.
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
        assert_eq!(
            auth::upsert_admin(db, "admin", "s3cret-pass")
                .await
                .unwrap(),
            Upserted::Created
        );
        assert!(
            auth::authenticate(db, "admin", "wrong-pass")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            auth::authenticate(db, "nobody", "s3cret-pass")
                .await
                .unwrap()
                .is_none()
        );
        let admin = auth::authenticate(db, " admin ", "s3cret-pass")
            .await
            .unwrap()
            .expect("login");
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
        assert!(auth::session_admin(db, &token).await.unwrap().is_none());
        assert!(auth::session_admin(db, &renewed).await.unwrap().is_some());
        // Garbage never matches and never errors.
        assert!(auth::session_admin(db, "x").await.unwrap().is_none());
        assert!(
            auth::session_admin(db, &"z".repeat(64))
                .await
                .unwrap()
                .is_none()
        );

        auth::end_session(db, &renewed).await.unwrap();
        assert!(auth::session_admin(db, &renewed).await.unwrap().is_none());
        t.drop_db().await;
    }
}

#[tokio::test]
async fn an_expired_session_is_refused_and_removed() {
    let t = TestDb::sqlite().await;
    let db = &t.db;
    auth::upsert_admin(db, "admin", "s3cret-pass")
        .await
        .unwrap();
    let admin = auth::authenticate(db, "admin", "s3cret-pass")
        .await
        .unwrap()
        .unwrap();
    let token = auth::start_session(db, admin.id, None).await.unwrap();
    let row = web_sessions::Entity::find().one(db).await.unwrap().unwrap();
    let mut active: web_sessions::ActiveModel = row.into();
    active.expires_at = Set(Utc::now() - Duration::seconds(1));
    active.update(db).await.unwrap();
    assert!(auth::session_admin(db, &token).await.unwrap().is_none());
    assert_eq!(web_sessions::Entity::find().all(db).await.unwrap().len(), 0);
    t.drop_db().await;
}

#[tokio::test]
async fn create_admin_again_resets_the_password_and_ends_sessions() {
    let t = TestDb::sqlite().await;
    let db = &t.db;
    auth::upsert_admin(db, "admin", "first-pass").await.unwrap();
    let admin = auth::authenticate(db, "admin", "first-pass")
        .await
        .unwrap()
        .unwrap();
    let token = auth::start_session(db, admin.id, None).await.unwrap();
    assert_eq!(
        auth::upsert_admin(db, "admin", "second-pass")
            .await
            .unwrap(),
        Upserted::PasswordReset
    );
    assert!(
        auth::authenticate(db, "admin", "first-pass")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        auth::authenticate(db, "admin", "second-pass")
            .await
            .unwrap()
            .is_some()
    );
    assert!(auth::session_admin(db, &token).await.unwrap().is_none());
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
