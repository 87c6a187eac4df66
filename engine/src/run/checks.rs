//! The checks before anything starts, and the refusals they end in ([`StartError`]): kinds
//! chosen and known, a catalog for the kinds that need one, the data folder and the files each
//! kind reads, and no run still recorded `running` that may be alive (Redis just restarted) —
//! and, for the import started from a preview's result, which files changed since that preview.
use std::path::Path;

use redis::aio::MultiplexedConnection;
use sea_orm::DbErr;
use wire::ImportKind;

use super::lock::ImportLock;
use super::sessions::stored_stamps;
use super::{RunOptions, Runner, StartRequest};
use crate::import::{self, FileType, ImportError, ImportRequest};

/// Why nothing was started. Every message is the administrator's text, ready to show.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("⚠️ Не выбрано ни одного типа данных для импорта.")]
    NothingChosen,
    #[error("⚠️ Неизвестный тип данных для импорта: «{0}».")]
    UnknownKind(String),
    #[error(
        "⚠️ Невозможно загрузить остатки/цены: каталог товаров пуст. Сначала импортируйте каталог или выберите 'Каталог товаров' для импорта."
    )]
    CatalogEmpty,
    #[error("⚠️ Не задана папка выгрузки 1С: укажите ONEC_DATA_DIR.")]
    NoDataDir,
    #[error("⚠️ Папка выгрузки 1С не найдена: {0}")]
    DataDirMissing(String),
    /// The files a kind needs are missing; the text names the expected place.
    #[error("{0}")]
    MissingFiles(String),
    #[error("⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта.")]
    AlreadyRunning,
    #[error("❌ Redis недоступен, импорт не запущен: {0}")]
    Redis(String),
    #[error("❌ Ошибка базы данных, импорт не запущен: {0}")]
    Db(String),
}

impl StartError {
    /// Why, as the type the pages decide by.
    pub fn refusal(&self) -> wire::Refusal {
        use wire::Refusal as R;
        match self {
            Self::NothingChosen => R::NothingChosen,
            Self::UnknownKind(_) => R::UnknownKind,
            Self::CatalogEmpty => R::CatalogEmpty,
            Self::NoDataDir => R::NoDataDir,
            Self::DataDirMissing(_) => R::DataDirMissing,
            Self::MissingFiles(_) => R::FilesMissing,
            Self::AlreadyRunning => R::AlreadyRunning,
            Self::Redis(_) => R::RedisDown,
            Self::Db(_) => R::DatabaseDown,
        }
    }
}

/// Why [`Runner::files_changed_since_preview`] could not tell. The texts are the ones the
/// administrator has always seen: [`StartError::NoDataDir`]'s, or the database's own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreviewCheckError {
    #[error("{}", StartError::NoDataDir)]
    NoDataDir,
    /// Reading the preview's rows of `table` failed.
    #[error("{source}")]
    Db { table: &'static str, source: DbErr },
}

impl Runner {
    /// The checks that need neither Redis nor the lock: the kinds, in run order, and what each
    /// will import (its files planned, so a missing file refuses the start).
    pub(super) async fn checked(
        &self,
        req: &StartRequest,
    ) -> Result<(Vec<ImportKind>, Vec<ImportRequest>), StartError> {
        let kinds = chosen(&req.kinds)?;
        if kinds.iter().any(|k| k.needs_catalog()) && !kinds.contains(&ImportKind::Catalog) {
            let products = crate::stats::product_count(&self.db)
                .await
                .map_err(|e| StartError::Db(e.to_string()))?;
            if products == 0 {
                return Err(StartError::CatalogEmpty);
            }
        }
        let data_dir = req
            .options
            .data_dir
            .clone()
            .or_else(|| self.data_dir.clone())
            .ok_or(StartError::NoDataDir)?;
        if !data_dir.is_dir() {
            return Err(StartError::DataDirMissing(data_dir.display().to_string()));
        }
        let requests: Vec<ImportRequest> = kinds
            .iter()
            .map(|&k| request_for(k, &data_dir, &req.options))
            .collect();
        for r in &requests {
            // Off the async workers: reading the heads of a large folder must not stall
            // every other request (two starts at once would stall them all).
            import::plan_blocking(r).await.map_err(|e| match e {
                ImportError::MissingFiles(m) => StartError::MissingFiles(m),
                other => StartError::MissingFiles(other.to_string()),
            })?;
        }
        Ok((kinds, requests))
    }

    /// With the lock taken: runs still marked running although nobody held the lock are either
    /// dead (their process was killed or lost the database before it could write the end:
    /// marked failed here), or alive with a lock that vanished in a Redis restart — then this
    /// start is refused until Redis has been up for a lock TTL (the owner takes its lock back
    /// sooner). The lock is released when the start is refused.
    pub(super) async fn refuse_if_unfinished(
        &self,
        conn: &mut MultiplexedConnection,
        lock: &ImportLock,
    ) -> Result<(), StartError> {
        match self.recorder.running_runs().await {
            Ok(0) => Ok(()),
            Ok(_) if self.redis_just_restarted(conn).await => {
                let _ = lock.release(conn).await;
                Err(StartError::AlreadyRunning)
            }
            Ok(_) => {
                if let Err(e) = self.recover_interrupted().await {
                    tracing::warn!(error = %e, "could not mark interrupted runs before a start");
                }
                Ok(())
            }
            Err(e) => {
                let _ = lock.release(conn).await;
                Err(StartError::Db(e.to_string()))
            }
        }
    }

    /// For the import started from a preview's result: the kinds the preview `run_id` checked,
    /// and the files (relative to the data folder) that changed since — size, mtime or content
    /// differ, a file is gone, or the same import would now read a file the preview did not.
    pub async fn files_changed_since_preview(
        &self,
        run_id: &str,
    ) -> Result<(Vec<ImportKind>, Vec<String>), PreviewCheckError> {
        let sessions = self
            .recorder
            .preview_sessions(run_id)
            .await
            .map_err(|source| PreviewCheckError::Db {
                table: "import_sessions",
                source,
            })?;
        let Some(data_dir) = self.data_dir.clone() else {
            return Err(PreviewCheckError::NoDataDir);
        };
        let mut kinds = Vec::new();
        let mut changed = Vec::new();
        for s in sessions {
            let Some(kind) = ImportKind::parse(&s.import_type) else {
                continue;
            };
            kinds.push(kind);
            let stamps = stored_stamps(&s);
            let req = request_for(kind, &data_dir, &RunOptions::default());
            let now = import::planned_files(&req).unwrap_or_default();
            for f in import::changed_since(&data_dir, &stamps, &now) {
                if !changed.contains(&f) {
                    changed.push(f);
                }
            }
        }
        kinds.sort();
        kinds.dedup();
        Ok((kinds, changed))
    }
}

/// Kind words as typed on the command line (`--types catalog,stocks`) read as kinds: trimmed,
/// known, in run order, each once.
pub fn parse_kinds(words: &[String]) -> Result<Vec<ImportKind>, StartError> {
    let mut kinds = Vec::new();
    for w in words.iter().map(|w| w.trim()).filter(|w| !w.is_empty()) {
        kinds.push(ImportKind::parse(w).ok_or_else(|| StartError::UnknownKind(w.to_owned()))?);
    }
    chosen(&kinds)
}

/// The chosen kinds in run order, each once; at least one.
fn chosen(kinds: &[ImportKind]) -> Result<Vec<ImportKind>, StartError> {
    let mut kinds = kinds.to_vec();
    if kinds.is_empty() {
        return Err(StartError::NothingChosen);
    }
    kinds.sort();
    kinds.dedup();
    Ok(kinds)
}

/// What importing `kind` from `data_dir` reads, with the CLI's per-kind options.
fn request_for(kind: ImportKind, data_dir: &Path, o: &RunOptions) -> ImportRequest {
    ImportRequest {
        kind,
        data_dir: data_dir.to_path_buf(),
        file: o.file.clone().or_else(|| match kind {
            ImportKind::Stocks => o.stocks_file.clone(),
            ImportKind::Customers => o.customers_file.clone(),
            ImportKind::Catalog | ImportKind::Prices => None,
        }),
        file_type: if kind == ImportKind::Catalog {
            o.file_type
        } else {
            FileType::All
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_checked_sorted_and_deduplicated() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches!(
            parse_kinds(&w(&[])),
            Err(StartError::NothingChosen)
        ));
        assert!(matches!(
            parse_kinds(&w(&["", " "])),
            Err(StartError::NothingChosen)
        ));
        assert!(
            matches!(parse_kinds(&w(&["orders"])), Err(StartError::UnknownKind(k)) if k == "orders")
        );
        assert_eq!(
            parse_kinds(&w(&["customers", "stocks", "catalog", "stocks"])).unwrap(),
            [
                ImportKind::Catalog,
                ImportKind::Stocks,
                ImportKind::Customers
            ]
        );
    }

    #[test]
    fn start_errors_read_as_the_issue_wrote_them() {
        assert_eq!(
            StartError::NothingChosen.to_string(),
            "⚠️ Не выбрано ни одного типа данных для импорта."
        );
        assert_eq!(
            StartError::AlreadyRunning.to_string(),
            "⚠️ Импорт уже запущен! Дождитесь завершения текущего импорта."
        );
        assert_eq!(
            StartError::CatalogEmpty.to_string(),
            "⚠️ Невозможно загрузить остатки/цены: каталог товаров пуст. Сначала импортируйте каталог или выберите 'Каталог товаров' для импорта."
        );
    }

    #[test]
    fn the_preview_check_keeps_the_texts_shown_before() {
        assert_eq!(
            PreviewCheckError::NoDataDir.to_string(),
            StartError::NoDataDir.to_string()
        );
        let e = PreviewCheckError::Db {
            table: "import_sessions",
            source: DbErr::Custom("boom".into()),
        };
        assert_eq!(e.to_string(), DbErr::Custom("boom".into()).to_string());
    }
}
