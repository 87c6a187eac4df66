//! The four high-volume child tables — `prices`, `stocks`, `product_property_values` and
//! `offer_characteristics` — lose their foreign keys; statement triggers on their parents keep
//! `ON DELETE CASCADE` (and `TRUNCATE`) behaving as before.
//!
//! Why: on PostgreSQL a foreign key is a per-row trigger that looks up and key-share-locks the
//! parent row. For the 700 000 prices of a 100 000-product catalog that was 70–80 % of the
//! import's time (COPY of the same rows: 6.0 s with the keys, 1.7 s without; see
//! docs/benchmarks.md). The importer never writes a child row whose parent is missing: every
//! parent id comes from the id maps it loads and extends in the same transaction, under the
//! import lock. What the keys did beyond that — removing children with their parent — the
//! triggers below do, on both backends.
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
    ("products", &[("product_property_values", "product_id")]),
    ("properties", &[("product_property_values", "property_id")]),
    ("price_types", &[("prices", "price_type_id")]),
    ("warehouses", &[("stocks", "warehouse_id")]),
];

/// SQLite cannot drop a constraint: each table is rebuilt from its own `CREATE TABLE` text
/// with the `FOREIGN KEY` clauses cut off (same columns, types and primary key), and its indexes
/// are created again. Nothing references these tables, so this is safe with `foreign_keys = ON`.
const SQLITE_TABLES: [(&str, &[&str]); 4] = [
    ("prices", &[]),
    ("stocks", &[]),
    (
        "product_property_values",
        &[
            r#"CREATE INDEX "idx_product_property_values_product" ON "product_property_values" ("product_id")"#,
        ],
    ),
    (
        "offer_characteristics",
        &[
            r#"CREATE INDEX "idx_offer_characteristics_offer" ON "offer_characteristics" ("offer_id")"#,
        ],
    ),
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
        match m.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "DO $$ DECLARE r record; BEGIN \
                       FOR r IN SELECT conname, conrelid::regclass AS t FROM pg_constraint \
                         WHERE contype = 'f' AND conrelid IN ('prices'::regclass, \
                           'stocks'::regclass, 'product_property_values'::regclass, \
                           'offer_characteristics'::regclass) \
                       LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); \
                       END LOOP; END $$",
                )
                .await?;
                for (parent, children) in CASCADES {
                    db.execute_unprepared(&postgres_cascade(parent, children))
                        .await?;
                }
            }
            _ => {
                for (table, indexes) in SQLITE_TABLES {
                    let row = db
                        .query_one_raw(Statement::from_string(
                            DbBackend::Sqlite,
                            format!("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{table}'"),
                        ))
                        .await?
                        .ok_or_else(|| DbErr::Migration(format!("no table {table}")))?;
                    let create: String = row.try_get_by_index(0)?;
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
                        db.execute_unprepared(index).await?;
                    }
                }
                for (parent, children) in CASCADES {
                    db.execute_unprepared(&sqlite_cascade(parent, children))
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m20261130_000005 is not reversible: restore the keys from a backup".to_owned(),
        ))
    }
}

/// A statement-level trigger (one `DELETE … USING` per child table, however many parent rows a
/// statement removes) and a `TRUNCATE` trigger for `parent`. A child that the same `TRUNCATE`
/// names too is already being emptied by it: PostgreSQL refuses to truncate it again in the
/// trigger (`object_in_use`), which is then fine to ignore.
fn postgres_cascade(parent: &str, children: &[(&str, &str)]) -> String {
    let deletes: String = children
        .iter()
        .map(|(child, col)| format!("DELETE FROM {child} c USING gone g WHERE c.{col} = g.id; "))
        .collect();
    let truncates: String = children
        .iter()
        .map(|(child, _)| {
            format!("BEGIN TRUNCATE {child}; EXCEPTION WHEN object_in_use THEN NULL; END; ")
        })
        .collect();
    format!(
        "CREATE OR REPLACE FUNCTION onec_{parent}_deleted() RETURNS trigger LANGUAGE plpgsql AS \
           $f$ BEGIN {deletes}RETURN NULL; END $f$; \
         CREATE TRIGGER {parent}_deleted AFTER DELETE ON {parent} \
           REFERENCING OLD TABLE AS gone FOR EACH STATEMENT \
           EXECUTE FUNCTION onec_{parent}_deleted(); \
         CREATE OR REPLACE FUNCTION onec_{parent}_truncated() RETURNS trigger LANGUAGE plpgsql AS \
           $f$ BEGIN {truncates}RETURN NULL; END $f$; \
         CREATE TRIGGER {parent}_truncated AFTER TRUNCATE ON {parent} FOR EACH STATEMENT \
           EXECUTE FUNCTION onec_{parent}_truncated();"
    )
}

/// A row trigger (SQLite has no statement triggers) deleting `parent`'s children.
fn sqlite_cascade(parent: &str, children: &[(&str, &str)]) -> String {
    let deletes: String = children
        .iter()
        .map(|(child, col)| format!("DELETE FROM {child} WHERE {col} = OLD.id; "))
        .collect();
    format!("CREATE TRIGGER {parent}_deleted AFTER DELETE ON {parent} BEGIN {deletes}END")
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
