//! Fresh, migrated databases for tests of this crate and the ones above it: a SQLite file in a
//! temporary folder, or a new PostgreSQL database on `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), dropped again when the handle goes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test and benchmark scaffolding fails loudly
use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::db;
use migrations::{Migrator, MigratorTrait};

/// The server every PostgreSQL test database is created on.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A migrated test database and what it takes to remove it.
pub struct TestDb {
    pub db: DatabaseConnection,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    format!(
        "onec_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

impl TestDb {
    /// A new SQLite database file, migrated.
    pub async fn sqlite() -> TestDb {
        Self::sqlite_at(None).await
    }

    /// A new PostgreSQL database, migrated.
    pub async fn postgres() -> TestDb {
        Self::postgres_at(None).await
    }

    /// Both backends, for tests that must hold on each.
    pub async fn each() -> [TestDb; 2] {
        [Self::sqlite().await, Self::postgres().await]
    }

    /// Both backends with only the first `steps` migrations applied, for tests of a later
    /// migration on a database that already holds data.
    pub async fn each_at(steps: u32) -> [TestDb; 2] {
        [
            Self::sqlite_at(Some(steps)).await,
            Self::postgres_at(Some(steps)).await,
        ]
    }

    async fn sqlite_at(steps: Option<u32>) -> TestDb {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let url = format!("sqlite://{}/test.db?mode=rwc", dir.display());
        let db = db::connect(&url).await.expect("connect sqlite");
        Migrator::up(&db, steps).await.expect("migrate sqlite");
        TestDb {
            db,
            url,
            cleanup: Cleanup::Dir(dir),
        }
    }

    async fn postgres_at(steps: Option<u32>) -> TestDb {
        let admin_url = postgres_admin_url();
        let name = unique_name();
        let admin = db::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is required for tests: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        admin.close().await.ok();
        let (base, _) = admin_url.rsplit_once('/').expect("database name in URL");
        let url = format!("{base}/{name}");
        let db = db::connect(&url).await.expect("connect postgres");
        Migrator::up(&db, steps).await.expect("migrate postgres");
        TestDb {
            db,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// Closes the pool and removes the database.
    pub async fn drop_db(self) {
        self.db.close().await.ok();
        match self.cleanup {
            Cleanup::Dir(dir) => {
                std::fs::remove_dir_all(dir).ok();
            }
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(admin) = db::connect(&admin_url).await {
                    admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                        .ok();
                    admin.close().await.ok();
                }
            }
        }
    }
}
