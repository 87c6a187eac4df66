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
    engine::db::migrate(&db)
        .await
        .context("не удалось применить миграции")?;
    let redis = engine::redis::Client::open(config.redis_url.as_str()).context("REDIS_URL")?;
    let runner = engine::run::Runner::new(db.clone(), redis.clone(), config.data_dir.clone())
        .with_prefix(&config.redis_prefix)
        .with_change_limits(config.change_limits);
    Ok(AppState {
        db,
        redis,
        secure_cookies: config.secure_cookies,
        runner,
    })
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
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("не удалось занять адрес {} (ONEC_BIND)", config.bind))?;
        let router = crate::routes::router(state, &config.dist_dir);
        Ok(Application { listener, router })
    }

    /// The address actually bound (port 0 in tests becomes a real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
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
