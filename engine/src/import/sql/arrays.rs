//! PostgreSQL's path of [`Upsert::run`]: a batch travels column by column, each column one
//! array parameter in PostgreSQL's binary format (`INSERT … SELECT … FROM unnest($1::bigint[],
//! $2::text[], …)`), with a `boolean[]` null mask for a column that holds `NULL`s. One bind per
//! column, nothing formatted or parsed as text, and one SQL text per table and mask, so the
//! server parses and plans it once per connection.
use sea_orm::sea_query::ArrayType;
use sea_orm::{DatabaseTransaction, DbBackend, DbErr, Statement, Value};

use super::{Mode, Upsert, Written};

impl Upsert {
    /// The statement for any number of rows passed column by column as arrays (PostgreSQL):
    /// one parameter per column (plus one `boolean[]` null mask per column in `masked`) instead
    /// of one per value, and one SQL text per table and mask, so the server parses and plans it
    /// once per connection rather than once per batch. `types`: the SQL type of each column.
    fn array_sql(&self, types: &[&str], masked: &[bool], mode: Mode) -> String {
        let mut sql = String::with_capacity(256);
        self.head(&mut sql);
        sql.push_str(" SELECT ");
        let exprs: Vec<String> = self
            .cols
            .iter()
            .zip(masked)
            .map(|(c, &m)| {
                if m {
                    format!("CASE WHEN x.{c}__null THEN NULL ELSE x.{c} END")
                } else {
                    format!("x.{c}")
                }
            })
            .collect();
        sql.push_str(&exprs.join(", "));
        if self.stamped {
            sql.push_str(", CURRENT_TIMESTAMP");
        }
        let mut params = Vec::new();
        let mut names = Vec::new();
        for (c, t) in self.cols.iter().zip(types) {
            params.push(format!("${}::{t}[]", params.len() + 1));
            names.push((*c).to_owned());
        }
        for (c, _) in self.cols.iter().zip(masked).filter(|(_, m)| **m) {
            params.push(format!("${}::boolean[]", params.len() + 1));
            names.push(format!("{c}__null"));
        }
        sql.push_str(" FROM unnest(");
        sql.push_str(&params.join(", "));
        sql.push_str(") AS x(");
        sql.push_str(&names.join(", "));
        sql.push(')');
        let update = self.update();
        if mode == Mode::Changed && !self.key.is_empty() && !update.is_empty() {
            // Rows equal to the stored ones never reach ON CONFLICT. A scalar subquery, not
            // NOT EXISTS: it stays one unique-index probe per row, where an anti-join may be
            // planned as a scan of the whole table per batch.
            let expr = |col: &str| {
                let i = self.cols.iter().position(|c| *c == col).unwrap_or(0);
                exprs[i].clone()
            };
            let same: Vec<String> = update
                .iter()
                .map(|c| format!("s.{c} IS NOT DISTINCT FROM {}", expr(c)))
                .collect();
            let key: Vec<String> = self
                .key
                .iter()
                .map(|c| format!("s.{c} = {}", expr(c)))
                .collect();
            sql.push_str(&format!(
                " WHERE NOT COALESCE((SELECT {same} FROM {t} s WHERE {key}), FALSE)",
                same = same.join(" AND "),
                t = self.table,
                key = key.join(" AND "),
            ));
        }
        self.tail(&mut sql, mode);
        sql
    }

    /// [`Upsert::run`] on PostgreSQL: chunks of [`ARRAY_ROWS`] rows, each column one array.
    pub(super) async fn run_arrays(
        &self,
        txn: &DatabaseTransaction,
        rows: Vec<Vec<Value>>,
        types: &[ArrayType],
        mode: Mode,
    ) -> Result<Written, DbErr> {
        let mut out = Written::default();
        let names: Vec<&str> = types.iter().map(sql_type).collect();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<Vec<Value>> = rows.by_ref().take(ARRAY_ROWS).collect();
            let (values, masked) = columns(self.cols, types, chunk)?;
            let stmt = Statement::from_sql_and_values(
                DbBackend::Postgres,
                self.array_sql(&names, &masked, mode),
                values,
            );
            self.execute(txn, stmt, &mut out).await?;
        }
        if self.returning {
            out.affected = out.ids.len() as u64;
        }
        Ok(out)
    }
}

/// Rows per statement when rows travel as arrays (PostgreSQL).
const ARRAY_ROWS: usize = 10_000;

/// The array type of each value of a row, when every one is a kind [`columns`] passes
/// (integer, boolean, text); `None` otherwise.
pub(super) fn array_types(row: &[Value]) -> Option<Vec<ArrayType>> {
    row.iter()
        .map(|v| match v {
            Value::BigInt(_) => Some(ArrayType::BigInt),
            Value::Bool(_) => Some(ArrayType::Bool),
            Value::String(_) => Some(ArrayType::String),
            _ => None,
        })
        .collect()
}

fn sql_type(t: &ArrayType) -> &'static str {
    match t {
        ArrayType::BigInt => "bigint",
        ArrayType::Bool => "boolean",
        _ => "text",
    }
}

/// Turns rows into one array per column, then one `boolean[]` null mask per column that holds
/// a `NULL` in these rows (arrays travel without `NULL` elements: a masked slot carries a
/// placeholder). Returns the parameters and which columns are masked.
fn columns(
    cols: &[&str],
    types: &[ArrayType],
    rows: Vec<Vec<Value>>,
) -> Result<(Vec<Value>, Vec<bool>), DbErr> {
    let n = rows.len();
    let mut data: Vec<Vec<Value>> = (0..cols.len()).map(|_| Vec::with_capacity(n)).collect();
    let mut nulls: Vec<Option<Vec<Value>>> = vec![None; cols.len()];
    for (r, row) in rows.into_iter().enumerate() {
        for (c, v) in row.into_iter().enumerate() {
            let is_null = match (&types[c], v) {
                (ArrayType::BigInt, Value::BigInt(Some(i))) => {
                    data[c].push(Value::BigInt(Some(i)));
                    false
                }
                (ArrayType::Bool, Value::Bool(Some(b))) => {
                    data[c].push(Value::Bool(Some(b)));
                    false
                }
                (ArrayType::String, Value::String(Some(s))) => {
                    data[c].push(Value::String(Some(s)));
                    false
                }
                (ArrayType::BigInt, Value::BigInt(None)) => {
                    data[c].push(Value::BigInt(Some(0)));
                    true
                }
                (ArrayType::Bool, Value::Bool(None)) => {
                    data[c].push(Value::Bool(Some(false)));
                    true
                }
                (ArrayType::String, Value::String(None)) => {
                    data[c].push(Value::String(Some(String::new())));
                    true
                }
                (_, other) => {
                    return Err(DbErr::Custom(format!(
                        "{}: значение {other:?} не того типа, что первое в столбце",
                        cols[c]
                    )));
                }
            };
            if is_null || nulls[c].is_some() {
                let mask = nulls[c].get_or_insert_with(|| {
                    let mut m = Vec::with_capacity(n);
                    m.resize(r, Value::Bool(Some(false)));
                    m
                });
                mask.push(Value::Bool(Some(is_null)));
            }
        }
    }
    let masked: Vec<bool> = nulls.iter().map(Option::is_some).collect();
    let mut values: Vec<Value> = data
        .into_iter()
        .zip(types)
        .map(|(d, t)| Value::Array(t.clone(), Some(Box::new(d))))
        .collect();
    values.extend(
        nulls
            .into_iter()
            .flatten()
            .map(|m| Value::Array(ArrayType::Bool, Some(Box::new(m)))),
    );
    Ok((values, masked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::sql::str_val;

    #[test]
    fn array_upsert_sql_and_columns() {
        let u = Upsert {
            table: "t",
            cols: &["onec_id", "n", "gone"],
            key: &["onec_id"],
            overwrite: true,
            stamped: true,
            returning: false,
        };
        let rows = vec![
            vec![
                str_val("a"),
                Value::BigInt(Some(-5)),
                Value::Bool(Some(true)),
            ],
            vec![str_val("b"), Value::BigInt(None), Value::Bool(Some(false))],
        ];
        let types = array_types(&rows[0]).unwrap();
        let (values, masked) = columns(u.cols, &types, rows).unwrap();
        assert_eq!(masked, [false, true, false]);
        let names: Vec<&str> = types.iter().map(sql_type).collect();
        assert_eq!(
            u.array_sql(&names, &masked, Mode::Upsert),
            "INSERT INTO t (onec_id, n, gone, updated_at) SELECT x.onec_id, CASE WHEN x.n__null \
             THEN NULL ELSE x.n END, x.gone, CURRENT_TIMESTAMP FROM unnest($1::text[], \
             $2::bigint[], $3::boolean[], $4::boolean[]) AS x(onec_id, n, gone, n__null) ON \
             CONFLICT (onec_id) DO UPDATE SET n = excluded.n, gone = excluded.gone, updated_at \
             = CURRENT_TIMESTAMP WHERE t.n IS DISTINCT FROM excluded.n OR t.gone IS DISTINCT \
             FROM excluded.gone"
        );
        // New rows: no conflict clause. Changed rows: equal ones filtered out first.
        let new = u.array_sql(&names, &masked, Mode::New);
        assert!(new.ends_with("AS x(onec_id, n, gone, n__null)"), "{new}");
        let changed = u.array_sql(&names, &masked, Mode::Changed);
        assert!(
            changed.contains(
                ") WHERE NOT COALESCE((SELECT s.n IS NOT DISTINCT FROM CASE WHEN x.n__null THEN \
                 NULL ELSE x.n END AND s.gone IS NOT DISTINCT FROM x.gone FROM t s WHERE \
                 s.onec_id = x.onec_id), FALSE) ON CONFLICT (onec_id) DO UPDATE"
            ),
            "{changed}"
        );
        assert!(
            !u.sql(DbBackend::Sqlite, 1, Mode::New)
                .contains("ON CONFLICT"),
            "SQLite inserts new rows plainly too"
        );
        let array = |v: &Value| match v {
            Value::Array(_, Some(items)) => items.as_ref().clone(),
            other => panic!("not an array: {other:?}"),
        };
        assert_eq!(values.len(), 4);
        assert_eq!(
            array(&values[1]),
            [Value::BigInt(Some(-5)), Value::BigInt(Some(0))]
        );
        assert_eq!(
            array(&values[3]),
            [Value::Bool(Some(false)), Value::Bool(Some(true))]
        );
        // A later row whose value is of another kind than the first row's is refused.
        let odd = vec![vec![Value::BigInt(Some(1))], vec![str_val("x")]];
        assert!(columns(&["n"], &[ArrayType::BigInt], odd).is_err());
        assert!(array_types(&[Value::Int(Some(1))]).is_none());
    }
}
