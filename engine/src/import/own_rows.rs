//! SQLite: the import's own rows are checked for dangling references once per table, before
//! commit, instead of row by row.
//!
//! Migration `m20261201_000006` gives every child table a `BEFORE INSERT` row trigger that
//! refuses a reference to a missing parent. SQLite runs a trigger as a sub-program per row, and
//! for the millions of rows of an import that cost 12–27 % of each phase (measured 2026-12-03,
//! docs/benchmarks.md) against the 10 % allowed. So an import, inside its own write
//! transaction:
//!
//! 1. notes each child table's highest rowid and drops the `*_refs_inserted` triggers;
//! 2. writes as usual;
//! 3. checks every reference of the rows inserted since (rowid above the mark), set-based: one
//!    pass over the new rows for each reference's lowest and highest id, then a count of the
//!    parent's ids in that range (ids are unique, so a full count proves every one exists); only
//!    when the range has gaps, an anti-join of the new rows with the parent. A missing parent
//!    refuses the import with the trigger's own message, naming the value;
//! 4. re-creates the triggers from their stored text, and only then the caller commits.
//!
//! Nothing else can write meanwhile: SQLite has one writer, and the import holds the write lock
//! from its `BEGIN IMMEDIATE` ([`crate::db::begin_write`]) to its commit; readers see the committed schema,
//! triggers included. If the import fails or the process dies, the rollback restores the
//! triggers with everything else. The `*_refs_updated` triggers stay: the importer changes a
//! reference column by update only in `products.category_id` and `offers.product_id`, a few
//! rows per import.
//!
//! Rows inserted since the mark: `product_property_values`, `offer_characteristics`, `offers`
//! and `products` have `AUTOINCREMENT` ids, which never reuse a value; `prices` and `stocks`
//! take the highest rowid plus one, which reuses a value only after their highest rows were
//! deleted in the same transaction — the importer never deletes from them.
//!
//! PostgreSQL keeps its statement-level checks during imports (about 5 % of the catalog there,
//! docs/benchmarks.md); dropping or disabling a trigger there would lock out other writers.
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

use super::ImportError;
use super::error::{reading, trigger_error};
use crate::stats::CHILD_REFERENCES;

/// The insert triggers lifted for one import, and where each child table's own rows begin.
pub(crate) struct Lifted {
    /// `CREATE TRIGGER …` texts to run again before commit.
    triggers: Vec<String>,
    /// `(child table, highest rowid before the import)`.
    marks: Vec<(&'static str, i64)>,
}

/// A reference of the import's own rows to a missing parent (an importer bug: the importer
/// writes only references it resolved in the same transaction).
#[derive(Debug, thiserror::Error)]
#[error(
    "нарушена ссылочная целостность: {child}.{column} = {value} указывает на отсутствующую строку {parent}"
)]
pub struct DanglingReference {
    pub child: &'static str,
    pub column: &'static str,
    pub value: i64,
    pub parent: &'static str,
}

fn child_tables() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for (child, _, _) in CHILD_REFERENCES {
        if !out.contains(&child) {
            out.push(child);
        }
    }
    out
}

/// The first column of the first row of a query that reads `table`.
async fn scalar(
    txn: &DatabaseTransaction,
    table: &'static str,
    sql: String,
) -> Result<Option<i64>, ImportError> {
    let row = txn
        .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await
        .map_err(reading(table))?;
    Ok(match row {
        Some(r) => r
            .try_get_by_index::<Option<i64>>(0)
            .map_err(reading(table))?,
        None => None,
    })
}

/// Step 1 on SQLite; nothing (and `None`) on PostgreSQL.
pub(crate) async fn lift(txn: &DatabaseTransaction) -> Result<Option<Lifted>, ImportError> {
    if txn.get_database_backend() != DbBackend::Sqlite {
        return Ok(None);
    }
    let children = child_tables();
    let rows = txn
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' \
             AND name LIKE '%\\_refs\\_inserted' ESCAPE '\\'",
        ))
        .await
        .map_err(trigger_error)?;
    let mut triggers = Vec::new();
    let mut names = Vec::new();
    for row in rows {
        let name: String = row.try_get_by_index(0).map_err(trigger_error)?;
        let sql: String = row.try_get_by_index(1).map_err(trigger_error)?;
        if children
            .iter()
            .any(|c| name == format!("{c}_refs_inserted"))
        {
            names.push(name);
            triggers.push(sql);
        }
    }
    let mut marks = Vec::new();
    for child in children {
        let top = scalar(txn, child, format!("SELECT MAX(rowid) FROM {child}")).await?;
        marks.push((child, top.unwrap_or(0)));
    }
    for name in names {
        txn.execute_unprepared(&format!("DROP TRIGGER {name}"))
            .await
            .map_err(trigger_error)?;
    }
    Ok(Some(Lifted { triggers, marks }))
}

impl Lifted {
    /// Steps 3 and 4: an error names the first dangling reference; the caller then rolls back,
    /// which restores the triggers too.
    pub(crate) async fn check_and_restore(
        self,
        txn: &DatabaseTransaction,
    ) -> Result<(), ImportError> {
        let started = std::time::Instant::now();
        for (child, mark) in &self.marks {
            let refs: Vec<(&'static str, &'static str)> = CHILD_REFERENCES
                .iter()
                .filter(|r| r.0 == *child)
                .map(|r| (r.1, r.2))
                .collect();
            // One pass over the new rows: their count and each reference's lowest and highest id.
            let ranges: Vec<String> = refs
                .iter()
                .map(|(col, _)| format!("MIN(c.{col}), MAX(c.{col})"))
                .collect();
            let sql = format!(
                "SELECT COUNT(*), {} FROM {child} c WHERE c.rowid > {mark}",
                ranges.join(", ")
            );
            let Some(row) = txn
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .map_err(reading(child))?
            else {
                continue;
            };
            let rows: i64 = row.try_get_by_index(0).map_err(reading(child))?;
            if rows == 0 {
                continue;
            }
            for (i, &(column, parent)) in refs.iter().enumerate() {
                let lo: Option<i64> = row.try_get_by_index(1 + 2 * i).map_err(reading(child))?;
                let hi: Option<i64> = row.try_get_by_index(2 + 2 * i).map_err(reading(child))?;
                let (Some(lo), Some(hi)) = (lo, hi) else {
                    continue;
                };
                // Ids are unique: when the parent holds as many rows in [lo, hi] as the range
                // has ids, every referenced id exists. That is the usual case (children are
                // written in the order their parents were); a short range keeps the count cheap.
                if hi - lo <= 2 * rows + 1024 {
                    let held = scalar(
                        txn,
                        parent,
                        format!("SELECT COUNT(*) FROM {parent} WHERE id BETWEEN {lo} AND {hi}"),
                    )
                    .await?;
                    if held == Some(hi - lo + 1) {
                        continue;
                    }
                }
                // Gaps or scattered ids: look for a new row whose parent is missing.
                let bad = scalar(
                    txn,
                    child,
                    format!(
                        "SELECT c.{column} FROM {child} c WHERE c.rowid > {mark} \
                         AND c.{column} IS NOT NULL \
                         AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column}) LIMIT 1"
                    ),
                )
                .await?;
                if let Some(value) = bad {
                    return Err(ImportError::Dangling(DanglingReference {
                        child,
                        column,
                        value,
                        parent,
                    }));
                }
            }
        }
        for sql in &self.triggers {
            txn.execute_unprepared(sql).await.map_err(trigger_error)?;
        }
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "references of the import's own rows checked"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::TransactionTrait;

    use super::*;
    use crate::testing::TestDb;

    async fn triggers(db: &impl ConnectionTrait) -> i64 {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%refs%'",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index(0).unwrap()
    }

    #[tokio::test]
    async fn own_rows_are_checked_before_commit_and_the_triggers_come_back() {
        let t = TestDb::sqlite().await;
        let db = &t.db;
        assert_eq!(triggers(db).await, 12);
        db.execute_unprepared(
            "INSERT INTO categories (id, onec_id, name) VALUES (1, 'c', 'Категория'); \
             INSERT INTO products (id, onec_id, name, category_id) VALUES (1, 'p', 'Товар', 1); \
             INSERT INTO offers (id, onec_id, product_id) VALUES (1, 'p', 1); \
             INSERT INTO price_types (id, onec_id, name) VALUES (1, 't', 'Розница'); \
             INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES (1, 1, 10000);",
        )
        .await
        .unwrap();

        // Whole rows: the check passes and the triggers are there again before commit.
        let txn = db.begin().await.unwrap();
        let lifted = lift(&txn).await.unwrap().unwrap();
        assert_eq!(
            triggers(&txn).await,
            6,
            "the six insert triggers are lifted"
        );
        txn.execute_unprepared("INSERT INTO offers (id, onec_id, product_id) VALUES (2, 'q', 1)")
            .await
            .unwrap();
        txn.execute_unprepared(
            "INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES (2, 1, 5)",
        )
        .await
        .unwrap();
        lifted.check_and_restore(&txn).await.unwrap();
        assert_eq!(triggers(&txn).await, 12);
        txn.commit().await.unwrap();
        assert_eq!(triggers(db).await, 12);

        // A dangling row of the import's own: refused with the trigger's message, naming the
        // value; the rollback brings the triggers back, and they refuse the same row again.
        let txn = db.begin().await.unwrap();
        let lifted = lift(&txn).await.unwrap().unwrap();
        txn.execute_unprepared(
            "INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES (42, 1, 5)",
        )
        .await
        .unwrap();
        let err = lifted.check_and_restore(&txn).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "нарушена ссылочная целостность: prices.offer_id = 42 указывает на отсутствующую строку offers"
        );
        txn.rollback().await.unwrap();
        assert_eq!(triggers(db).await, 12);
        let err = db
            .execute_unprepared(
                "INSERT INTO prices (offer_id, price_type_id, price_e4) VALUES (42, 1, 5)",
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("prices.offer_id"), "{err}");

        // PostgreSQL keeps its statement-level checks: nothing is lifted.
        let pg = TestDb::postgres().await;
        let txn = pg.db.begin().await.unwrap();
        assert!(lift(&txn).await.unwrap().is_none());
        txn.rollback().await.unwrap();
        pg.drop_db().await;
        t.drop_db().await;
    }
}
