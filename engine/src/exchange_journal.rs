//! The journal of 1C's exchange requests behind the «Обмен с 1С» page: what each request of an
//! exchange carried, what 1C read back and which import sessions its file produced.
//!
//! One row per request, except that 1C's repeats fold into the row before them: the `file`
//! pieces of one file (one upload), and the `import` calls of one file that 1C repeats while it
//! reads `progress`. A 10-minute import polled every second is one row, not 600. A refused
//! `init` opens no exchange: the server journals it under an entry of the account's refusals,
//! where its next refusals fold too.
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use wire::{ExchangeRequest, ExchangeRow, ExchangeSession, ExchangeStatus};

use crate::entity::{exchange_requests, import_runs, import_sessions};
use crate::kinds::{ImportKind, SessionStatus};

/// Exchanges whose rows are kept; older ones are removed when a new exchange starts.
pub const KEPT_EXCHANGES: u64 = 100;

/// One request as the endpoint answered it.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub exchange_id: &'a str,
    pub login: &'a str,
    /// The mode word.
    pub mode: &'a str,
    pub filename: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// Body bytes received.
    pub bytes: u64,
    pub status: ExchangeStatus,
    /// The reply's lines as 1C read them.
    pub reply: &'a str,
    /// The import run the file's import started, if it did.
    pub run_id: Option<&'a str>,
    /// The kind the file is imported as (a run may import several files, a session per kind).
    pub kind: Option<ImportKind>,
}

/// Whether request `e` repeats `last`, the one before it in its exchange: both name the same
/// file, or both are refused `init`s (the entry of an account's refused `init`s holds nothing
/// else; an exchange that opened has one `init`).
fn folds(e: &Entry<'_>, last: &exchange_requests::Model) -> bool {
    let failed = ExchangeStatus::Failure.as_str();
    last.mode == e.mode
        && last.filename.as_deref() == e.filename
        && match e.mode {
            "file" | "import" => true,
            "init" => e.status == ExchangeStatus::Failure && last.status == failed,
            _ => false,
        }
}

/// Records one request (folding a repeat into the row before it).
pub async fn record(db: &DatabaseConnection, e: &Entry<'_>) -> Result<(), DbErr> {
    use exchange_requests::Column;
    let last = exchange_requests::Entity::find()
        .filter(Column::ExchangeId.eq(e.exchange_id))
        .order_by_desc(Column::Id)
        .one(db)
        .await?;
    let bytes = i64::try_from(e.bytes).unwrap_or(i64::MAX);
    if let Some(last) = last.filter(|l| folds(e, l)) {
        let run_id = e.run_id.map(str::to_owned).or(last.run_id.clone());
        let kind = e
            .kind
            .map(|k| k.as_str().to_owned())
            .or(last.import_kind.clone());
        let mut row: exchange_requests::ActiveModel = last.clone().into();
        row.last_at = Set(e.at);
        row.calls = Set(last.calls.saturating_add(1));
        row.bytes = Set(last.bytes.saturating_add(bytes));
        row.status = Set(e.status.as_str().to_owned());
        row.reply = Set(e.reply.to_owned());
        row.run_id = Set(run_id);
        row.import_kind = Set(kind);
        row.update(db).await?;
        return Ok(());
    }
    exchange_requests::ActiveModel {
        exchange_id: Set(e.exchange_id.to_owned()),
        login: Set(e.login.to_owned()),
        mode: Set(e.mode.to_owned()),
        filename: Set(e.filename.map(str::to_owned)),
        first_at: Set(e.at),
        last_at: Set(e.at),
        calls: Set(1),
        bytes: Set(bytes),
        status: Set(e.status.as_str().to_owned()),
        reply: Set(e.reply.to_owned()),
        run_id: Set(e.run_id.map(str::to_owned)),
        import_kind: Set(e.kind.map(|k| k.as_str().to_owned())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The ids of the latest `n` exchanges, newest first.
async fn latest_ids(db: &DatabaseConnection, n: u64) -> Result<Vec<String>, DbErr> {
    use exchange_requests::Column;
    exchange_requests::Entity::find()
        .select_only()
        .column(Column::ExchangeId)
        .column_as(Column::Id.max(), "last")
        .group_by(Column::ExchangeId)
        .order_by_desc(Column::Id.max())
        .limit(n)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await
        .map(|rows| rows.into_iter().map(|(id, _)| id).collect())
}

/// Removes the rows of every exchange but the latest [`KEPT_EXCHANGES`].
pub async fn prune(db: &DatabaseConnection) -> Result<u64, DbErr> {
    use exchange_requests::Column;
    let kept = latest_ids(db, KEPT_EXCHANGES).await?;
    if (kept.len() as u64) < KEPT_EXCHANGES {
        return Ok(0);
    }
    let gone = exchange_requests::Entity::delete_many()
        .filter(Column::ExchangeId.is_not_in(kept))
        .exec(db)
        .await?;
    Ok(gone.rows_affected)
}

/// The latest `n` exchanges, newest first, each with its requests in order and the import
/// sessions its files produced.
pub async fn latest(db: &DatabaseConnection, n: u64) -> Result<Vec<ExchangeRow>, DbErr> {
    let ids = latest_ids(db, n).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = exchange_requests::Entity::find()
        .filter(exchange_requests::Column::ExchangeId.is_in(ids.clone()))
        .order_by_asc(exchange_requests::Column::Id)
        .all(db)
        .await?;
    let run_ids: Vec<String> = rows.iter().filter_map(|r| r.run_id.clone()).collect();
    let mut sessions: HashMap<String, Vec<ExchangeSession>> = HashMap::new();
    if !run_ids.is_empty() {
        for s in import_sessions::Entity::find()
            .filter(import_sessions::Column::RunId.is_in(run_ids))
            .order_by_asc(import_sessions::Column::Id)
            .all(db)
            .await?
        {
            let (Some(kind), Some(status)) = (
                ImportKind::parse(&s.import_type),
                SessionStatus::parse(&s.status),
            ) else {
                continue;
            };
            sessions.entry(s.run_id).or_default().push(ExchangeSession {
                id: s.id,
                kind,
                status,
                processed: s.processed,
            });
        }
    }
    let mut by_exchange: BTreeMap<String, ExchangeRow> = BTreeMap::new();
    for r in rows {
        let row = by_exchange
            .entry(r.exchange_id.clone())
            .or_insert_with(|| ExchangeRow {
                id: r.exchange_id.clone(),
                login: r.login.clone(),
                started_at: r.first_at.to_rfc3339(),
                last_at: r.last_at.to_rfc3339(),
                bytes: 0,
                requests: Vec::new(),
            });
        row.last_at = r.last_at.to_rfc3339();
        row.bytes = row.bytes.saturating_add(r.bytes);
        row.requests.push(ExchangeRequest {
            sessions: {
                let kind = r.import_kind.as_deref().and_then(ImportKind::parse);
                r.run_id
                    .as_ref()
                    .and_then(|id| sessions.get(id))
                    .map(|all| {
                        all.iter()
                            .filter(|s| kind.is_none_or(|k| s.kind == k))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default()
            },
            mode: r.mode,
            filename: r.filename,
            first_at: r.first_at.to_rfc3339(),
            last_at: r.last_at.to_rfc3339(),
            calls: r.calls,
            bytes: r.bytes,
            status: ExchangeStatus::parse(&r.status).unwrap_or(ExchangeStatus::Failure),
            reply: r.reply.lines().map(str::to_owned).collect(),
        });
    }
    Ok(ids
        .into_iter()
        .filter_map(|id| by_exchange.remove(&id))
        .collect())
}

/// The exchange a run belongs to, if an exchange started it.
pub async fn exchange_of_run(
    db: &DatabaseConnection,
    run_id: &str,
) -> Result<Option<String>, DbErr> {
    Ok(import_runs::Entity::find_by_id(run_id.to_owned())
        .one(db)
        .await?
        .and_then(|r| r.exchange_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(
        id: &'a str,
        mode: &'a str,
        file: Option<&'a str>,
        status: ExchangeStatus,
    ) -> Entry<'a> {
        Entry {
            exchange_id: id,
            login: "1c",
            mode,
            filename: file,
            at: Utc::now(),
            bytes: 10,
            status,
            reply: "progress\nКаталог: 10 из 20 записей",
            run_id: None,
            kind: None,
        }
    }

    #[tokio::test]
    async fn repeats_fold_and_exchanges_come_newest_first() {
        for t in crate::testing::TestDb::each().await {
            repeats_fold_on(&t.db).await;
            t.drop_db().await;
        }
    }

    async fn repeats_fold_on(db: &DatabaseConnection) {
        let p = ExchangeStatus::Progress;
        for e in [
            entry("a", "init", None, ExchangeStatus::Parameters),
            entry("a", "file", Some("import.xml"), ExchangeStatus::Success),
            entry("a", "file", Some("import.xml"), ExchangeStatus::Success),
            entry("a", "import", Some("import.xml"), p),
            entry("a", "import", Some("import.xml"), p),
            entry("a", "import", Some("import.xml"), ExchangeStatus::Success),
            entry("a", "file", Some("offers.xml"), ExchangeStatus::Success),
            entry("b", "init", None, ExchangeStatus::Parameters),
            entry("b", "init", None, ExchangeStatus::Parameters),
            entry("c", "init", None, ExchangeStatus::Failure),
            entry("c", "init", None, ExchangeStatus::Failure),
        ] {
            record(db, &e).await.unwrap();
        }
        let rows = latest(db, 10).await.unwrap();
        assert_eq!(
            rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["c", "b", "a"]
        );
        let refused: Vec<(&str, i64)> = rows[0]
            .requests
            .iter()
            .map(|r| (r.mode.as_str(), r.calls))
            .collect();
        assert_eq!(refused, [("init", 2)], "refused inits fold");
        assert_eq!(rows[1].requests.len(), 2, "an accepted init never folds");
        let a = &rows[2];
        let shape: Vec<(&str, i64, i64)> = a
            .requests
            .iter()
            .map(|r| (r.mode.as_str(), r.calls, r.bytes))
            .collect();
        assert_eq!(
            shape,
            [
                ("init", 1, 10),
                ("file", 2, 20),
                ("import", 3, 30),
                ("file", 1, 10)
            ]
        );
        assert_eq!(a.requests[2].status, ExchangeStatus::Success);
        assert_eq!(
            a.requests[2].reply,
            ["progress", "Каталог: 10 из 20 записей"]
        );
        assert_eq!(a.bytes, 70);
        assert_eq!(latest(db, 1).await.unwrap().len(), 1);
        assert_eq!(prune(db).await.unwrap(), 0, "fewer than kept");
    }
}
