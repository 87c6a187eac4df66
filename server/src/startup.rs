use std::net::SocketAddr;

use anyhow::Context;
use app::ssr::AppState;
use tokio::net::TcpListener;

use crate::config::Config;

/// Opens the database (applying migrations), checks nothing else: Redis may come up later
/// and `/healthz` says when it is missing.
pub async fn state(config: &Config) -> anyhow::Result<AppState> {
    ensure_sqlite_dir(&config.database_url)?;
    let db = engine::db::connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "не удалось подключиться к базе {}",
                engine::db::redact_url(&config.database_url)
            )
        })?;
    migrate_exclusively(&db)
        .await
        .context("не удалось применить миграции")?;
    let redis = engine::redis::Client::open(config.redis_url.as_str()).context("REDIS_URL")?;
    let runner = engine::run::Runner::new(db.clone(), redis.clone(), config.data_dir.clone())
        .with_prefix(&config.redis_prefix)
        .with_change_limits(config.change_limits);
    let mut login = app::login_limit::LoginPolicy::default();
    login.trusted_proxies = config.trusted_proxies.clone();
    login.sessions.max_age = config.session_max_age;
    Ok(AppState {
        db,
        redis,
        secure_cookies: config.secure_cookies,
        runner,
        login,
        exchange: Some(config.exchange.setup()),
    })
}

/// The PostgreSQL advisory lock every instance takes around its migrations (any fixed number;
/// this one spells "onec-mig").
pub const MIGRATION_LOCK_KEY: i64 = 0x6f6e_6563_2d6d_6967;

/// Applies pending migrations, one process at a time, so instances starting together never
/// meet a half-created schema or a duplicate-object error: the later ones wait, then find
/// nothing pending. On PostgreSQL under a transaction-scoped advisory lock; on SQLite under an
/// exclusive lock of the file `<database file>.migrate-lock` beside it (processes on one host
/// share a SQLite file anyway). A crash releases either lock.
pub async fn migrate_exclusively(db: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, TransactionTrait};
    match db.get_database_backend() {
        DbBackend::Postgres => {
            // The lock lives as long as this transaction, on its own pooled connection; the
            // migrations run on others.
            let holder = db.begin().await?;
            holder
                .execute_unprepared(&format!(
                    "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
                ))
                .await?;
            let result = engine::db::migrate(db).await;
            holder.commit().await?;
            result
        }
        DbBackend::Sqlite => {
            let row = db
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "SELECT file FROM pragma_database_list WHERE name = 'main'",
                ))
                .await?;
            let file: String = row
                .and_then(|r| r.try_get("", "file").ok())
                .unwrap_or_default();
            if file.is_empty() {
                // In memory: nobody else can see this database.
                return engine::db::migrate(db).await;
            }
            let path = format!("{file}.migrate-lock");
            let lock = tokio::task::spawn_blocking(move || {
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)?;
                f.lock()?;
                Ok::<_, std::io::Error>(f)
            })
            .await
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .map_err(|e| {
                DbErr::Custom(format!(
                    "блокировка миграций (файл {file}.migrate-lock): {e}"
                ))
            })?;
            let result = engine::db::migrate(db).await;
            drop(lock); // closing the file releases the lock
            result
        }
        _ => engine::db::migrate(db).await,
    }
}

/// SQLite creates the file but not its folder; make `./data/` on first start.
fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Ok(());
    };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("не удалось создать папку {}", dir.display()))?;
    }
    Ok(())
}

/// A built web application, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    metrics: Option<crate::metrics::MetricsServer>,
}

impl Application {
    /// Connects, migrates, creates the first administrator if configured, and binds.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let state = state(&config).await?;
        if let Some((login, password)) = &config.first_admin {
            let exists = engine::auth::admin_exists(&state.db, login).await?;
            if !exists {
                engine::auth::upsert_admin(&state.db, login, password).await?;
                tracing::info!(%login, "first administrator created");
            }
        }
        match state.runner.recover_interrupted().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(sessions = n, "interrupted import sessions marked failed"),
            Err(e) => {
                tracing::warn!(error = %e, "could not check for interrupted imports (Redis down?)")
            }
        }
        // A process killed mid-run still holds its lock for up to its TTL: look again until it
        // has expired, so that run is marked failed without waiting for the next restart.
        state.runner.spawn_recovery_watch();
        let metrics = match config.metrics_bind {
            Some(addr) => Some(crate::metrics::MetricsServer::bind(addr).await?),
            None => None,
        };
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("не удалось занять адрес {} (ONEC_BIND)", config.bind))?;
        let origins = match config.public_origins.clone() {
            Some(o) => o,
            None => {
                let derived = crate::guard::AllowedOrigins::for_bind(listener.local_addr()?);
                if config.bind.ip().is_unspecified() {
                    tracing::warn!(
                        origins = %derived.list(),
                        "ONEC_PUBLIC_ORIGIN не задан: приложение откроется только по этим \
                         адресам; укажите адрес, по которому его открывают администраторы"
                    );
                }
                derived
            }
        };
        let exchange = std::sync::Arc::new(crate::exchange1c::Exchange {
            settings: config.exchange.clone(),
            data_dir: config.data_dir.clone(),
            prefix: config.redis_prefix.clone(),
        });
        let router = crate::routes::router_with(state, &config.dist_dir, origins, Some(exchange));
        Ok(Application {
            listener,
            router,
            metrics,
        })
    }

    /// The address actually bound (port 0 in tests becomes a real port).
    #[expect(clippy::expect_used, reason = "a bound listener always has an address")]
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` is served, when `ONEC_METRICS_BIND` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.local_addr())
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        if let Some(m) = self.metrics {
            tokio::spawn(async move {
                if let Err(e) = m.run().await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            });
        }
        // With the peer's address in each request (the login limiter keys on it).
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the web server stopped")
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sqlite_folder_is_derived_from_the_url() {
        let dir = std::env::temp_dir().join(format!("onec-startup-{}", std::process::id()));
        let url = format!("sqlite://{}/sub/x.db?mode=rwc", dir.display());
        super::ensure_sqlite_dir(&url).unwrap();
        assert!(dir.join("sub").is_dir());
        std::fs::remove_dir_all(&dir).unwrap();
        super::ensure_sqlite_dir("sqlite::memory:").unwrap();
        super::ensure_sqlite_dir("postgres://u@h/d").unwrap();
    }
}
