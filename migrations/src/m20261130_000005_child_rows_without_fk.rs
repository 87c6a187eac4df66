//! The references the importer writes by the million lose their foreign keys — `prices`,
//! `stocks`, `product_property_values`, `offer_characteristics`, `offers.product_id` and
//! `products.category_id` — and triggers on the parents keep `ON DELETE CASCADE` / `SET NULL`
//! (and `TRUNCATE`) behaving as before.
//!
//! Why: on PostgreSQL a foreign key is a per-row trigger that looks up and key-share-locks the
//! parent row. For the 700 000 prices of a 100 000-product catalog that was 70–80 % of the
//! import's time (COPY of the same rows: 6.0 s with the keys, 1.7 s without; see
//! docs/benchmarks.md), and about 1 s of a catalog import for the 205 000 offers. The importer
//! never writes a reference to a missing row: every id comes from the id maps it loads and
//! extends in the same transaction, under the import lock. What the keys did beyond that —
//! removing or unlinking children with their parent — the triggers below do, on both backends.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `(parent table, [(child table, column that points at the parent's id)])`.
const CASCADES: [(&str, &[(&str, &str)]); 5] = [
    (
        "offers",
        &[
            ("prices", "offer_id"),
            ("stocks", "offer_id"),
            ("offer_characteristics", "offer_id"),
        ],
    ),
    (
        "products",
        &[
            ("product_property_values", "product_id"),
            ("offers", "product_id"),
        ],
    ),
    ("properties", &[("product_property_values", "property_id")]),
    ("price_types", &[("prices", "price_type_id")]),
    ("warehouses", &[("stocks", "warehouse_id")]),
];

/// `(parent table, child table, column set to NULL when its parent row goes)`.
const SET_NULLS: [(&str, &str, &str); 1] = [("categories", "products", "category_id")];

/// The tables that lose foreign keys, children before parents: on SQLite, which cannot drop a
/// constraint, each is rebuilt from its own `CREATE TABLE` text with the `FOREIGN KEY` clauses
/// cut off (same columns, types and keys) and gets its indexes back. By the time a table is
/// rebuilt, no foreign key points at it any more, so this is safe with `foreign_keys = ON`.
const TABLES: [&str; 6] = [
    "prices",
    "stocks",
    "product_property_values",
    "offer_characteristics",
    "offers",
    "products",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too (sea-orm's default there is none): the rebuild must be all
    /// or nothing, and every statement must see the schema the previous one left, which a
    /// statement on another pooled connection may not.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let postgres = m.get_database_backend() == DbBackend::Postgres;
        if postgres {
            let list: Vec<String> = TABLES.iter().map(|t| format!("'{t}'::regclass")).collect();
            db.execute_unprepared(&format!(
                "DO $$ DECLARE r record; BEGIN \
                   FOR r IN SELECT conname, conrelid::regclass AS t FROM pg_constraint \
                     WHERE contype = 'f' AND conrelid IN ({}) \
                   LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); \
                   END LOOP; END $$",
                list.join(", ")
            ))
            .await?;
        } else {
            for table in TABLES {
                sqlite_rebuild_without_foreign_keys(db, table).await?;
            }
        }
        // What each parent's deletion (and, on PostgreSQL, truncation) does to its children:
        // `(parent, statements over the deleted rows, statements after TRUNCATE, the same as
        // one SQLite row trigger over OLD)`.
        let mut triggers: Vec<(&str, String, String, String)> = Vec::new();
        for (parent, children) in CASCADES {
            let mut deleted = String::new();
            let mut truncated = String::new();
            let mut row = String::new();
            for (child, col) in children {
                deleted += &format!("DELETE FROM {child} c USING gone g WHERE c.{col} = g.id; ");
                // A child that the same TRUNCATE names too is already being emptied by it:
                // truncating it again here fails with object_in_use, which is then fine.
                truncated += &format!(
                    "BEGIN TRUNCATE {child}; EXCEPTION WHEN object_in_use THEN NULL; END; "
                );
                row += &format!("DELETE FROM {child} WHERE {col} = OLD.id; ");
            }
            triggers.push((parent, deleted, truncated, row));
        }
        for (parent, child, col) in SET_NULLS {
            triggers.push((
                parent,
                format!("UPDATE {child} c SET {col} = NULL FROM gone g WHERE c.{col} = g.id; "),
                format!("UPDATE {child} SET {col} = NULL WHERE {col} IS NOT NULL; "),
                format!("UPDATE {child} SET {col} = NULL WHERE {col} = OLD.id; "),
            ));
        }
        for (parent, deleted, truncated, row) in triggers {
            let sql = if postgres {
                postgres_triggers(parent, &deleted, &truncated)
            } else {
                format!("CREATE TRIGGER {parent}_deleted AFTER DELETE ON {parent} BEGIN {row}END")
            };
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m20261130_000005 is not reversible: restore the keys from a backup".to_owned(),
        ))
    }
}

/// A statement-level `AFTER DELETE` trigger on `parent` that runs `deleted` over the removed
/// rows (the transition table `gone`: one statement per child table, however many rows a
/// statement removes), and an `AFTER TRUNCATE` trigger that runs `truncated`.
fn postgres_triggers(parent: &str, deleted: &str, truncated: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION onec_{parent}_deleted() RETURNS trigger LANGUAGE plpgsql AS \
           $f$ BEGIN {deleted}RETURN NULL; END $f$; \
         CREATE TRIGGER {parent}_deleted AFTER DELETE ON {parent} \
           REFERENCING OLD TABLE AS gone FOR EACH STATEMENT \
           EXECUTE FUNCTION onec_{parent}_deleted(); \
         CREATE OR REPLACE FUNCTION onec_{parent}_truncated() RETURNS trigger LANGUAGE plpgsql AS \
           $f$ BEGIN {truncated}RETURN NULL; END $f$; \
         CREATE TRIGGER {parent}_truncated AFTER TRUNCATE ON {parent} FOR EACH STATEMENT \
           EXECUTE FUNCTION onec_{parent}_truncated();"
    )
}

/// Rebuilds `table` without its foreign keys (SQLite): same definition, same rows (ids
/// included), same indexes.
async fn sqlite_rebuild_without_foreign_keys(
    db: &SchemaManagerConnection<'_>,
    table: &str,
) -> Result<(), DbErr> {
    let definitions = |kind: &str| {
        Statement::from_string(
            DbBackend::Sqlite,
            format!(
                "SELECT sql FROM sqlite_master WHERE type = '{kind}' AND tbl_name = '{table}' \
                 AND sql IS NOT NULL ORDER BY name"
            ),
        )
    };
    let create: String = db
        .query_one_raw(definitions("table"))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("no table {table}")))?
        .try_get_by_index(0)?;
    let mut indexes = Vec::new();
    for row in db.query_all_raw(definitions("index")).await? {
        indexes.push(row.try_get_by_index::<String>(0)?);
    }
    db.execute_unprepared(&without_foreign_keys(&create, table)?)
        .await?;
    db.execute_unprepared(&format!(
        r#"INSERT INTO "{table}_rebuilt" SELECT * FROM "{table}""#
    ))
    .await?;
    db.execute_unprepared(&format!(r#"DROP TABLE "{table}""#))
        .await?;
    db.execute_unprepared(&format!(
        r#"ALTER TABLE "{table}_rebuilt" RENAME TO "{table}""#
    ))
    .await?;
    for index in indexes {
        db.execute_unprepared(&index).await?;
    }
    Ok(())
}

/// `CREATE TABLE "t" (…, FOREIGN KEY …)` → `CREATE TABLE "t_rebuilt" (…)`.
fn without_foreign_keys(create: &str, table: &str) -> Result<String, DbErr> {
    let head = format!(r#"CREATE TABLE "{table}""#);
    let (Some(body), Some(cut)) = (create.strip_prefix(&head), create.find(", FOREIGN KEY")) else {
        return Err(DbErr::Migration(format!(
            "unexpected definition of {table}: {create}"
        )));
    };
    let cut = cut - head.len();
    Ok(format!(
        r#"CREATE TABLE "{table}_rebuilt"{} )"#,
        &body[..cut]
    ))
}
