//! Multi-row upserts written per backend, id maps, and exact decimal conversion.
//!
//! Every write of the importers goes through [`Upsert::run`]: one
//! `INSERT … ON CONFLICT (…) DO UPDATE SET … WHERE <something changed>` per chunk of rows, so
//! an unchanged row is neither rewritten nor returned. On SQLite the rows are a multi-row
//! `VALUES (…), (…)` list bound value by value; on PostgreSQL each column travels as one array
//! parameter ([`arrays`]), so a batch costs one bind per column and the SQL text is the same for
//! every batch of a table. The SQL is written here rather than with sea-query because the change
//! filter (`IS DISTINCT FROM`, which SQLite ≥ 3.39 and PostgreSQL both accept), `excluded.`
//! references and `RETURNING` are the whole point and are easiest to keep identical on both
//! backends by hand. The shapes themselves (table, columns, key) are in `import::tables`.
use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::sea_query::ArrayType;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement, Value};

mod arrays;

use arrays::array_types;

/// SQLite allows 32 766 bound variables per statement; PostgreSQL 65 535. Stay below both.
pub(crate) const MAX_BINDS: usize = 30_000;
/// Rows per statement at most, whatever the column count: on PostgreSQL (where a batch travels
/// as arrays, so this only bounds the rare row-by-row fallback) and on SQLite.
const MAX_ROWS: usize = 1_000;
/// On SQLite every statement is a `VALUES` list of its own length, and the connection keeps
/// the prepared statements it ran (sqlx's statement cache): a 1 000-row upsert of a dozen
/// columns holds ≈ 1.3 MB of compiled program there, and the last, shorter statement of each
/// flush is a new one. A quarter of that costs the same per row (measured: 1 000, 500 and 250
/// rows a statement within the run-to-run spread) and a quarter of the memory.
const SQLITE_MAX_ROWS: usize = 250;

/// The shape of one multi-row upsert.
pub(crate) struct Upsert {
    /// Table name.
    pub table: &'static str,
    /// Columns bound per row, in row order.
    pub cols: &'static [&'static str],
    /// Conflict target (a unique key); empty for a plain insert.
    pub key: &'static [&'static str],
    /// On conflict, rewrite every bound column but the key (when any of them changed); false:
    /// `DO NOTHING` (a row that must never overwrite a stored one).
    pub overwrite: bool,
    /// The table has an `updated_at` stamp to set on insert and on change.
    pub stamped: bool,
    /// The statement returns `id, onec_id` of the rows it inserted or changed.
    pub returning: bool,
}

impl Upsert {
    /// The columns rewritten on conflict: every bound column but the key, when the shape
    /// overwrites.
    pub(crate) fn update(&self) -> Vec<&'static str> {
        if !self.overwrite {
            return Vec::new();
        }
        self.cols
            .iter()
            .copied()
            .filter(|c| !self.key.contains(c))
            .collect()
    }
}

/// What one [`Upsert::run`] did.
#[derive(Default)]
pub(crate) struct Written {
    /// Rows inserted or changed.
    pub affected: u64,
    /// `(id, onec_id)` of those rows, when the upsert returns them.
    pub ids: Vec<(i64, String)>,
}

/// How [`Upsert::run`] writes a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// None of the rows is stored (the caller knows every key it wrote and every key the table
    /// held): a plain `INSERT`, without the conflict check PostgreSQL otherwise makes per row.
    New,
    /// Insert or update; nothing stored equals these rows, except rows this import wrote itself
    /// (the table was empty when it began).
    Upsert,
    /// Insert or update, where many rows may equal the stored ones: on PostgreSQL those are
    /// filtered out first, since `ON CONFLICT` would lock (and so write) each of them even when
    /// its `WHERE` then changes nothing.
    Changed,
}

impl Upsert {
    /// `INSERT INTO t (cols[, updated_at])`.
    fn head(&self, sql: &mut String) {
        sql.push_str("INSERT INTO ");
        sql.push_str(self.table);
        sql.push_str(" (");
        sql.push_str(&self.cols.join(", "));
        if self.stamped {
            sql.push_str(", updated_at");
        }
        sql.push(')');
    }

    /// The statement for `rows` rows bound value by value (SQLite).
    fn sql(&self, backend: DbBackend, rows: usize, mode: Mode) -> String {
        let mut sql = String::with_capacity(64 + rows * self.cols.len() * 6);
        self.head(&mut sql);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..self.cols.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                match backend {
                    DbBackend::Postgres => {
                        sql.push('$');
                        sql.push_str(&n.to_string());
                    }
                    _ => sql.push('?'),
                }
            }
            if self.stamped {
                sql.push_str(", CURRENT_TIMESTAMP");
            }
            sql.push(')');
        }
        self.tail(&mut sql, mode);
        sql
    }

    /// `ON CONFLICT … DO UPDATE … WHERE <changed>` (unless the rows are [`Mode::New`]) and
    /// `RETURNING`.
    fn tail(&self, sql: &mut String, mode: Mode) {
        if !self.key.is_empty() && mode != Mode::New {
            sql.push_str(" ON CONFLICT (");
            sql.push_str(&self.key.join(", "));
            sql.push(')');
            let update = self.update();
            if update.is_empty() {
                sql.push_str(" DO NOTHING");
            } else {
                sql.push_str(" DO UPDATE SET ");
                let sets: Vec<String> = update
                    .iter()
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect();
                sql.push_str(&sets.join(", "));
                if self.stamped {
                    sql.push_str(", updated_at = CURRENT_TIMESTAMP");
                }
                sql.push_str(" WHERE ");
                let changed: Vec<String> = update
                    .iter()
                    .map(|c| format!("{t}.{c} IS DISTINCT FROM excluded.{c}", t = self.table))
                    .collect();
                sql.push_str(&changed.join(" OR "));
            }
        }
        if self.returning {
            sql.push_str(" RETURNING id, onec_id");
        }
    }

    /// Writes `rows` (each `cols.len()` values) in as few statements as the bind limits allow.
    pub async fn run(
        &self,
        txn: &DatabaseTransaction,
        rows: Vec<Vec<Value>>,
        mode: Mode,
    ) -> Result<Written, DbErr> {
        let mut out = Written::default();
        if rows.is_empty() {
            return Ok(out);
        }
        let backend = txn.get_database_backend();
        if backend == DbBackend::Postgres
            && let Some(types) = array_types(&rows[0])
        {
            return self.run_arrays(txn, rows, &types, mode).await;
        }
        let max_rows = match backend {
            DbBackend::Sqlite => SQLITE_MAX_ROWS,
            _ => MAX_ROWS,
        };
        let per_chunk = (MAX_BINDS / self.cols.len().max(1)).clamp(1, max_rows);
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut values = Vec::with_capacity(per_chunk * self.cols.len());
            let mut count = 0;
            for row in rows.by_ref().take(per_chunk) {
                debug_assert_eq!(row.len(), self.cols.len(), "{}", self.table);
                values.extend(row);
                count += 1;
            }
            let stmt =
                Statement::from_sql_and_values(backend, self.sql(backend, count, mode), values);
            self.execute(txn, stmt, &mut out).await?;
        }
        if self.returning {
            out.affected = out.ids.len() as u64;
        }
        Ok(out)
    }
}

impl Upsert {
    /// Runs one statement: collects `(id, onec_id)` when the upsert returns ids, else counts
    /// the rows it touched.
    async fn execute(
        &self,
        txn: &DatabaseTransaction,
        stmt: Statement,
        out: &mut Written,
    ) -> Result<(), DbErr> {
        if self.returning {
            for row in txn.query_all_raw(stmt).await? {
                let id: i64 = row.try_get_by_index(0)?;
                let onec_id: String = row.try_get_by_index(1)?;
                out.ids.push((id, onec_id));
            }
        } else {
            out.affected += txn.execute_raw(stmt).await?.rows_affected();
        }
        Ok(())
    }
}

/// Placeholder list `?, ?, …` / `$k, $k+1, …` for `n` values starting after `offset` binds.
pub(crate) fn placeholders(backend: DbBackend, offset: usize, n: usize) -> String {
    (1..=n)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${}", offset + i),
            _ => "?".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `col IN (…)` over `ids`, and its parameters: on PostgreSQL `col = ANY($1)` with one
/// `bigint[]` parameter (one SQL text whatever the count, so it is planned once per
/// connection), on SQLite `col IN (?, ?, …)` with one parameter per id.
pub(crate) fn in_ids(backend: DbBackend, col: &str, ids: &[i64]) -> (String, Vec<Value>) {
    match backend {
        DbBackend::Postgres => {
            let items = ids.iter().map(|&i| Value::BigInt(Some(i))).collect();
            (
                format!("{col} = ANY($1)"),
                vec![Value::Array(ArrayType::BigInt, Some(Box::new(items)))],
            )
        }
        _ => (
            format!("{col} IN ({})", placeholders(backend, 0, ids.len())),
            ids.iter().map(|&i| Value::BigInt(Some(i))).collect(),
        ),
    }
}

/// Rows of an id map read per query: the driver holds a page's rows whole (a few hundred bytes
/// each) before they become map entries, so one query for the 200 000 offers of a large catalog
/// held ≈ 80 MB at once.
const ID_PAGE: usize = 10_000;

/// Loads `onec_id → id` of a table, a page of [`ID_PAGE`] rows at a time in `id` order.
pub(crate) async fn load_ids(
    txn: &DatabaseTransaction,
    table: &str,
) -> Result<HashMap<String, i64>, DbErr> {
    let backend = txn.get_database_backend();
    let sql = format!(
        "SELECT id, onec_id FROM {table} WHERE id > {} ORDER BY id LIMIT {ID_PAGE}",
        placeholders(backend, 0, 1)
    );
    let mut map = HashMap::new();
    let mut after = i64::MIN;
    loop {
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql.as_str(),
                [Value::BigInt(Some(after))],
            ))
            .await?;
        let full = rows.len() == ID_PAGE;
        map.reserve(rows.len());
        for row in rows {
            let id: i64 = row.try_get_by_index(0)?;
            let onec_id: String = row.try_get_by_index(1)?;
            map.insert(onec_id, id);
            after = id;
        }
        if !full {
            return Ok(map);
        }
    }
}

/// Ids of a table's rows that carry a deletion mark, in one query.
pub(crate) async fn load_deleted(
    txn: &DatabaseTransaction,
    table: &str,
) -> Result<std::collections::HashSet<i64>, DbErr> {
    let backend = txn.get_database_backend();
    let rows = txn
        .query_all_raw(Statement::from_string(
            backend,
            format!("SELECT id FROM {table} WHERE is_deleted"),
        ))
        .await?;
    rows.into_iter().map(|r| r.try_get_by_index(0)).collect()
}

/// `SELECT COUNT(*)` of a table (optionally filtered by a constant condition).
pub(crate) async fn count<C: ConnectionTrait>(
    db: &C,
    table: &str,
    filter: Option<&str>,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let sql = match filter {
        Some(f) => format!("SELECT COUNT(*) FROM {table} WHERE {f}"),
        None => format!("SELECT COUNT(*) FROM {table}"),
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get_by_index(0)?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A decimal as ten-thousandths (`price_e4`, `quantity_e4`): rounded half-even to 4 places,
/// exactly, never through floating point. `None` when it does not fit in an `i64`.
pub fn to_e4(d: Decimal) -> Option<i64> {
    let r = d.round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven);
    let scale = r.scale().min(4);
    let factor = 10i128.pow(4 - scale);
    i64::try_from(r.mantissa().checked_mul(factor)?).ok()
}

/// Ten-thousandths back to a decimal, normalized (`12345000` → `1234.5`).
pub fn from_e4(v: i64) -> Decimal {
    Decimal::new(v, 4).normalize()
}

/// A string value (`NULL` when `None`).
pub(crate) fn opt_str(s: Option<&str>) -> Value {
    Value::String(s.map(str::to_owned))
}

/// A non-null string value.
pub(crate) fn str_val(s: &str) -> Value {
    Value::String(Some(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn decimals_round_half_even_to_four_places() {
        let e4 = |s: &str| to_e4(Decimal::from_str(s).unwrap());
        assert_eq!(e4("6990"), Some(69_900_000));
        assert_eq!(e4("1234.50"), Some(12_345_000));
        assert_eq!(e4("0.00005"), Some(0));
        assert_eq!(e4("0.00015"), Some(2));
        assert_eq!(e4("-2.5"), Some(-25_000));
        assert_eq!(e4("99999999999999999999"), None);
        assert_eq!(from_e4(12_345_000).to_string(), "1234.5");
    }

    #[test]
    fn upsert_sql_per_backend() {
        let u = Upsert {
            table: "t",
            cols: &["onec_id", "name"],
            key: &["onec_id"],
            overwrite: true,
            stamped: true,
            returning: true,
        };
        assert_eq!(
            u.sql(DbBackend::Postgres, 2, Mode::Upsert),
            "INSERT INTO t (onec_id, name, updated_at) VALUES ($1, $2, CURRENT_TIMESTAMP), \
             ($3, $4, CURRENT_TIMESTAMP) ON CONFLICT (onec_id) DO UPDATE SET name = excluded.name, \
             updated_at = CURRENT_TIMESTAMP WHERE t.name IS DISTINCT FROM excluded.name \
             RETURNING id, onec_id"
        );
        assert!(
            u.sql(DbBackend::Sqlite, 1, Mode::Upsert)
                .starts_with("INSERT INTO t (onec_id, name, updated_at) VALUES (?, ?, ")
        );
    }
}
