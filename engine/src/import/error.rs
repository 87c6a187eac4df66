//! Why an import did not complete, and where: a database error names the table, the file being
//! imported and the batch, as a parse error names the file, line and element.
use std::fmt;
use std::ops::RangeInclusive;

use sea_orm::DbErr;

use super::own_rows::DanglingReference;

/// Why an import did not complete. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The files are not where they should be (message in Russian). Detected before any write.
    #[error("{0}")]
    MissingFiles(String),
    /// A file could not be read or parsed: the commerceml error (Russian, with file/line/element).
    #[error("{0}")]
    Parse(#[from] commerceml::Error),
    /// Stopped on request (the orchestrator shows «Отменено администратором»).
    #[error("Отменено администратором")]
    Cancelled,
    /// The database refused a statement: which one, and where the import was.
    #[error("Ошибка базы данных {context}: {source}")]
    Db {
        /// The table, the file and the batch (boxed: it keeps every `Result` of the importer small).
        context: Box<DbContext>,
        /// What the database said.
        source: DbErr,
    },
    /// A row the import wrote names a missing parent (checked before commit on SQLite).
    #[error("{0}")]
    Dangling(#[from] DanglingReference),
    /// The thread that reads the files could not be started (the system is out of resources).
    #[error("Не удалось запустить поток чтения файлов: {0}")]
    Thread(String),
}

impl ImportError {
    /// A database error opening, setting up or committing the import's transaction. There is
    /// deliberately no `From<DbErr>`: a `?` on a statement of the import would lose its table.
    pub fn transaction(source: DbErr) -> ImportError {
        ImportError::Db {
            context: Box::new(DbContext::new(DbTarget::Transaction)),
            source,
        }
    }

    /// The context of a database error, `None` for the other errors.
    pub fn db_context(&self) -> Option<&DbContext> {
        match self {
            ImportError::Db { context, .. } => Some(context.as_ref()),
            _ => None,
        }
    }
}

/// What the failing statement did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbTarget {
    /// Opening, setting up or committing the transaction.
    Transaction,
    /// Reading a table: what the import starts from (row counts, id maps), the stored rows a
    /// batch is compared with, the names of the change report, the check of its own rows.
    Read(&'static str),
    /// Writing a batch into a table.
    Write(&'static str),
    /// Lifting or restoring the insert triggers of the child tables (SQLite, see `own_rows`).
    Triggers,
}

impl DbTarget {
    /// The table the statement read or wrote.
    pub fn table(self) -> Option<&'static str> {
        match self {
            DbTarget::Read(t) | DbTarget::Write(t) => Some(t),
            DbTarget::Transaction | DbTarget::Triggers => None,
        }
    }
}

/// Where a database error happened: the statement's table, and the file and batch being
/// imported when it came while reading a file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DbContext {
    /// What the statement did, on which table.
    pub target: DbTarget,
    /// The file being imported, relative to the data folder (`/`-separated).
    pub file: Option<String>,
    /// Which batch of that file was being written: the n-th time (from 1) the pending batches
    /// were flushed while reading it.
    pub batch: Option<u64>,
    /// The records of the file that batch holds (numbered from 1 in the order read).
    pub records: Option<RangeInclusive<u64>>,
}

impl DbContext {
    /// A context with no file (before the first file, after the last, or outside the files).
    pub fn new(target: DbTarget) -> DbContext {
        DbContext {
            target,
            file: None,
            batch: None,
            records: None,
        }
    }
}

/// `при записи в products (файл import.xml, пакет 3, записи 2001–3000)`: follows «Ошибка базы
/// данных».
impl fmt::Display for DbContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.target {
            DbTarget::Transaction => f.write_str("при открытии или фиксации транзакции")?,
            DbTarget::Read(t) => write!(f, "при чтении {t}")?,
            DbTarget::Write(t) => write!(f, "при записи в {t}")?,
            DbTarget::Triggers => f.write_str("при снятии или восстановлении триггеров ссылок")?,
        }
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            parts.push(format!("файл {file}"));
        }
        if let Some(batch) = self.batch {
            parts.push(format!("пакет {batch}"));
        }
        if let Some(records) = &self.records {
            parts.push(if records.start() == records.end() {
                format!("запись {}", records.start())
            } else {
                format!("записи {}–{}", records.start(), records.end())
            });
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// For `map_err` outside a file: a database error reading `table`.
pub(crate) fn reading(table: &'static str) -> impl FnOnce(DbErr) -> ImportError {
    move |source| ImportError::Db {
        context: Box::new(DbContext::new(DbTarget::Read(table))),
        source,
    }
}

/// For `map_err`: a database error on the child tables' triggers.
pub(crate) fn trigger_error(source: DbErr) -> ImportError {
    ImportError::Db {
        context: Box::new(DbContext::new(DbTarget::Triggers)),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_error_names_the_table_the_file_and_the_batch() {
        let err = ImportError::Db {
            context: Box::new(DbContext {
                target: DbTarget::Write("products"),
                file: Some("import.xml".to_owned()),
                batch: Some(3),
                records: Some(2001..=3000),
            }),
            source: DbErr::Custom("нарушено ограничение".to_owned()),
        };
        assert_eq!(
            err.to_string(),
            "Ошибка базы данных при записи в products (файл import.xml, пакет 3, записи \
             2001–3000): Custom Error: нарушено ограничение"
        );
        assert_eq!(
            err.db_context().and_then(|c| c.target.table()),
            Some("products")
        );

        let begin = ImportError::transaction(DbErr::Custom("нет соединения".to_owned()));
        assert_eq!(
            begin.to_string(),
            "Ошибка базы данных при открытии или фиксации транзакции: Custom Error: нет соединения"
        );
        let read = reading("offers")(DbErr::Custom("x".to_owned()));
        assert!(
            read.to_string()
                .starts_with("Ошибка базы данных при чтении offers: "),
            "{read}"
        );
        let one = DbContext {
            records: Some(7..=7),
            ..DbContext::new(DbTarget::Write("prices"))
        };
        assert_eq!(one.to_string(), "при записи в prices (запись 7)");
    }
}
