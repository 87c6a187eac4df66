use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Which database a URL points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Reads the backend from a `DATABASE_URL`, or says what is wrong with it.
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(format!(
                "ожидается sqlite://… или postgres://…, получено «{}»",
                redact_url(url)
            ))
        }
    }
}

/// Connects with settings that keep the app answering while an import writes: on SQLite, WAL
/// journal (readers never wait for the writer), a busy timeout instead of instant "database is
/// locked" errors, and a pool of several connections (sea-orm's SQLite default is one).
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let backend = Backend::from_url(url).map_err(DbErr::Custom)?;
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    match backend {
        Backend::Sqlite => {
            opts.max_connections(4).map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
                    .create_if_missing(true)
            });
        }
        Backend::Postgres => {
            opts.max_connections(10);
        }
    }
    if backend == Backend::Postgres {
        return Database::connect(opts).await;
    }
    // Opening a new SQLite file switches it to WAL, which needs the file to itself: a second
    // process opening the same new file at that moment gets SQLITE_BUSY at once, without the
    // busy handler (SQLite refuses to wait where waiting could deadlock). The switch is done
    // once per file and takes milliseconds, so wait for it here, as the busy timeout would.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut pause = Duration::from_millis(20);
    loop {
        match Database::connect(opts.clone()).await {
            Err(e) if is_sqlite_busy(&e) && tokio::time::Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

/// Whether SQLite answered SQLITE_BUSY ("database is locked", primary code 5) or
/// SQLITE_LOCKED (6).
fn is_sqlite_busy(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let (DbErr::Conn(RuntimeErr::SqlxError(e))
    | DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(db) = &**e else {
        return false;
    };
    db.code()
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// A transaction that is going to write. On SQLite it begins `IMMEDIATE`: it takes the write
/// lock at once, waiting up to the busy timeout while another connection writes. A deferred one
/// that reads first (an import reads the schema and its id maps before its first write) fails
/// at its first write with SQLITE_BUSY_SNAPSHOT («database is locked», code 517), without
/// waiting, whenever another connection committed meanwhile — the exchange journal does, every
/// time 1C polls. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The URL with any password replaced by `***`, safe for logs and messages: the password of
/// the user part (split where a URL parser splits it, at the last `@` before the host, so
/// `u:p@ss@host` hides `p@ss`) and the value of every query parameter whose name holds
/// `pass`, `secret` or `token` (`?password=…`, `sslpassword=…`). A string no URL parser reads
/// is shown only when it has neither an `@` nor such a word.
pub fn redact_url(raw: &str) -> String {
    fn secret(key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        ["pass", "secret", "token"].iter().any(|w| key.contains(w))
    }
    let Ok(mut url) = url::Url::parse(raw) else {
        let lower = raw.to_ascii_lowercase();
        return if raw.contains('@')
            || ["pass", "secret", "token"]
                .iter()
                .any(|w| lower.contains(w))
        {
            "*** (адрес скрыт: не разобран)".to_owned()
        } else {
            raw.to_owned()
        };
    };
    let mut changed = false;
    if url.password().is_some() {
        changed |= url.set_password(Some("***")).is_ok();
    }
    if url.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        changed = true;
    }
    if changed {
        url.to_string()
    } else {
        raw.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_read_from_the_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://data/a.db?mode=rwc"),
            Ok(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Ok(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Ok(Backend::Postgres)
        );
        let err = Backend::from_url("mysql://root:secret@h/db").unwrap_err();
        assert!(err.contains("mysql://root:***@h/db"), "{err}");
        assert!(!err.contains("secret"));
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://u:p@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(redact_url("no scheme"), "no scheme");
    }

    #[test]
    fn a_password_holding_an_at_sign_is_hidden_whole() {
        let r = redact_url("postgres://u:p@ss@host/db");
        assert_eq!(r, "postgres://u:***@host/db");
        assert!(!r.contains("ss"), "{r}");
    }

    #[test]
    fn passwords_in_the_query_are_hidden() {
        let r = redact_url("postgres://u@host:5432/db?password=hunter2&sslmode=require");
        assert_eq!(r, "postgres://u@host:5432/db?password=***&sslmode=require");
        let r = redact_url("postgres://host/db?sslmode=verify-full&sslpassword=s3cr%40t&user=u");
        assert_eq!(
            r,
            "postgres://host/db?sslmode=verify-full&sslpassword=***&user=u"
        );
        assert!(!r.contains("s3cr"), "{r}");
        let r = redact_url("postgres://u:top@host/db?PASSWORD=again");
        assert!(!r.contains("top") && !r.contains("again"), "{r}");
        // Redis: a password without a user.
        assert_eq!(
            redact_url("redis://:pw@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
    }

    #[test]
    fn urls_without_a_password_are_unchanged() {
        for url in [
            "postgres://u@h/d",
            "postgres://h:5432/d?sslmode=require&application_name=onec",
            "sqlite://data/onec.db?mode=rwc",
            "redis://127.0.0.1:6379",
        ] {
            assert_eq!(redact_url(url), url);
        }
        // Unreadable as a URL but holding an @: hidden rather than guessed at.
        assert!(!redact_url("postgres://u:p@[bad").contains("p@"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processes_opening_a_new_sqlite_file_together_all_connect() {
        // Each round a new file: the race is only on the switch to WAL of a fresh file.
        let dir = std::env::temp_dir().join(format!("onec-db-connect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for round in 0..5 {
            let url = format!("sqlite://{}/r{round}.db?mode=rwc", dir.display());
            let opens: Vec<_> = (0..6)
                .map(|_| {
                    let url = url.clone();
                    tokio::spawn(async move { connect(&url).await.map(|_| ()) })
                })
                .collect();
            for open in opens {
                open.await.unwrap().expect("every connection opens");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_sqlite_busy_and_locked_are_waited_for() {
        assert!(!is_sqlite_busy(&DbErr::Custom("database is locked".into())));
    }
}
