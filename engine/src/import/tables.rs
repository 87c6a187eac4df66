//! What the importer writes, table by table: the column lists its SQL is built from. The
//! migrations and the sea-orm entities (`crate::entity`) list the same columns; the test at the
//! bottom checks, for every shape here, that each column it names is in the table's entity and
//! in the migrated schema (SQLite and PostgreSQL), and that the entity and the schema agree.
//!
//! A writer builds each row's values in the order of its shape's `cols` (`Upsert::run` checks
//! the count in debug builds). A new shape belongs in `tests::SHAPES` too; the test counts the shapes
//! of this file to make sure.
use super::sql::Upsert;

pub(crate) const UNITS: Upsert = Upsert {
    table: "units",
    cols: &["onec_id", "code", "short_name", "full_name", "is_deleted"],
    key: &["onec_id"],
    overwrite: true,
    stamped: true,
    returning: false,
};

pub(crate) const WAREHOUSES: Upsert = Upsert {
    table: "warehouses",
    cols: &["onec_id", "name", "is_deleted"],
    key: &["onec_id"],
    overwrite: true,
    stamped: true,
    returning: true,
};

/// A warehouse created because stock named it: never overwrites an existing one.
pub(crate) const WAREHOUSE_ON_DEMAND: Upsert = Upsert {
    overwrite: false,
    ..WAREHOUSES
};

pub(crate) const PRICE_TYPES: Upsert = Upsert {
    table: "price_types",
    cols: &["onec_id", "name", "currency", "is_deleted"],
    key: &["onec_id"],
    overwrite: true,
    stamped: true,
    returning: true,
};

pub(crate) const CATEGORIES: Upsert = Upsert {
    table: "categories",
    cols: &["onec_id", "name", "parent_id", "is_deleted"],
    key: &["onec_id"],
    overwrite: true,
    stamped: true,
    returning: true,
};

pub(crate) const PROPERTIES: Upsert = Upsert {
    table: "properties",
    cols: &["onec_id", "name", "value_type", "for_offers", "is_deleted"],
    key: &["onec_id"],
    overwrite: true,
    stamped: true,
    returning: true,
};

pub(crate) const PROPERTY_VALUES: Upsert = Upsert {
    table: "property_values",
    cols: &["property_id", "onec_id", "value"],
    key: &["property_id", "onec_id"],
    overwrite: true,
    stamped: false,
    returning: false,
};

pub(crate) const PRODUCTS: Upsert = Upsert {
    table: "products",
    cols: &[
        "onec_id",
        "sku",
        "name",
        "description",
        "category_id",
        "unit",
        "barcode",
        "manufacturer",
        "is_deleted",
    ],
    key: &["onec_id"],
    overwrite: true,
    stamped: true,
    returning: true,
};

pub(crate) const OFFERS: Upsert = Upsert {
    table: "offers",
    cols: &[
        "onec_id",
        "product_id",
        "characteristic_id",
        "name",
        "is_deleted",
    ],
    key: &["onec_id"],
    overwrite: true,
    stamped: true,
    returning: true,
};

/// A product's own offer created for a bare-`Ид` price or rest: never overwrites an offer.
pub(crate) const OWN_OFFERS: Upsert = Upsert {
    overwrite: false,
    ..OFFERS
};

/// The `offers` columns an own offer takes from its product (`products` column), when every
/// product without one gets it in one statement ([`missing_own_offers_sql`]); besides these it
/// is not deleted and stamped.
pub(crate) const OWN_OFFER_FROM_PRODUCT: [(&str, &str); 3] = [
    ("onec_id", "onec_id"),
    ("product_id", "id"),
    ("name", "name"),
];

/// `INSERT … SELECT` of an own offer for every product that has none, returning their
/// `id, onec_id`.
pub(crate) fn missing_own_offers_sql() -> String {
    let into: Vec<&str> = OWN_OFFER_FROM_PRODUCT.iter().map(|(o, _)| *o).collect();
    let from: Vec<String> = OWN_OFFER_FROM_PRODUCT
        .iter()
        .map(|(_, p)| format!("p.{p}"))
        .collect();
    format!(
        "INSERT INTO offers ({into}, is_deleted, updated_at) \
         SELECT {from}, FALSE, CURRENT_TIMESTAMP FROM products p \
         WHERE NOT EXISTS (SELECT 1 FROM offers o WHERE o.onec_id = p.onec_id) \
         RETURNING id, onec_id",
        into = into.join(", "),
        from = from.join(", "),
    )
}

pub(crate) const PRICES: Upsert = Upsert {
    table: "prices",
    cols: &["offer_id", "price_type_id", "price_e4", "currency"],
    key: &["offer_id", "price_type_id"],
    overwrite: true,
    stamped: true,
    returning: false,
};

pub(crate) const STOCKS: Upsert = Upsert {
    table: "stocks",
    cols: &["offer_id", "warehouse_id", "quantity_e4"],
    key: &["offer_id", "warehouse_id"],
    overwrite: true,
    stamped: true,
    returning: false,
};

pub(crate) const CUSTOMERS: Upsert = Upsert {
    table: "customers",
    cols: &[
        "onec_id",
        "name",
        "full_name",
        "role",
        "inn",
        "kpp",
        "okpo",
        "contacts",
        "addresses",
        "bank_accounts",
        "is_deleted",
    ],
    key: &["onec_id"],
    overwrite: true,
    stamped: true,
    returning: false,
};

/// A child table whose rows of one parent are replaced as a whole when they differ.
pub(crate) struct Children {
    /// Its rows: `cols` are the parent column, then the two value columns; plain inserts.
    pub rows: Upsert,
    /// The first value column is an integer (a property id) rather than text.
    pub int_key: bool,
}

impl Children {
    pub(crate) fn table(&self) -> &'static str {
        self.rows.table
    }

    /// The column naming the parent.
    pub(crate) fn parent(&self) -> &'static str {
        self.rows.cols[0]
    }

    /// The two value columns.
    pub(crate) fn values(&self) -> [&'static str; 2] {
        [self.rows.cols[1], self.rows.cols[2]]
    }
}

pub(crate) const PRODUCT_PROPERTY_VALUES: Children = Children {
    rows: Upsert {
        table: "product_property_values",
        cols: &["product_id", "property_id", "value"],
        key: &[],
        overwrite: false,
        stamped: false,
        returning: false,
    },
    int_key: true,
};

pub(crate) const OFFER_CHARACTERISTICS: Children = Children {
    rows: Upsert {
        table: "offer_characteristics",
        cols: &["offer_id", "name", "value"],
        key: &[],
        overwrite: false,
        stamped: false,
        returning: false,
    },
    int_key: false,
};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Iterable, Statement};

    use super::*;
    use crate::entity;
    use crate::testing::TestDb;

    /// Every shape of this file.
    pub(super) const SHAPES: [&Upsert; 15] = [
        &UNITS,
        &WAREHOUSES,
        &WAREHOUSE_ON_DEMAND,
        &PRICE_TYPES,
        &CATEGORIES,
        &PROPERTIES,
        &PROPERTY_VALUES,
        &PRODUCTS,
        &OFFERS,
        &OWN_OFFERS,
        &PRICES,
        &STOCKS,
        &CUSTOMERS,
        &PRODUCT_PROPERTY_VALUES.rows,
        &OFFER_CHARACTERISTICS.rows,
    ];

    /// The columns one shape's statements name: those it binds, its conflict key, what it
    /// updates, the stamp, and what it returns.
    fn named(u: &Upsert) -> BTreeSet<&'static str> {
        let mut cols: BTreeSet<&'static str> = u.cols.iter().copied().collect();
        cols.extend(u.key.iter().copied());
        cols.extend(u.update());
        if u.stamped {
            cols.insert("updated_at");
        }
        if u.returning {
            cols.extend(["id", "onec_id"]);
        }
        cols
    }

    /// Table → every column the importer's statements name in it.
    fn importer_columns(shapes: &[&Upsert]) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
        let mut out: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
        for u in shapes {
            out.entry(u.table).or_default().extend(named(u));
        }
        // The own offers filled from products, and the ids they return.
        let offers = out.entry("offers").or_default();
        offers.extend(OWN_OFFER_FROM_PRODUCT.iter().map(|(o, _)| *o));
        offers.extend(["is_deleted", "updated_at", "id", "onec_id"]);
        let products = out.entry("products").or_default();
        products.extend(OWN_OFFER_FROM_PRODUCT.iter().map(|(_, p)| *p));
        out
    }

    fn columns_of<E: EntityTrait>() -> (&'static str, BTreeSet<&'static str>) {
        (
            E::default().table_name(),
            E::Column::iter().map(|c| c.as_str()).collect(),
        )
    }

    /// Table → the columns of its sea-orm entity (every shop table the importer may write).
    fn entity_columns() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
        [
            columns_of::<entity::units::Entity>(),
            columns_of::<entity::warehouses::Entity>(),
            columns_of::<entity::price_types::Entity>(),
            columns_of::<entity::categories::Entity>(),
            columns_of::<entity::properties::Entity>(),
            columns_of::<entity::property_values::Entity>(),
            columns_of::<entity::products::Entity>(),
            columns_of::<entity::product_property_values::Entity>(),
            columns_of::<entity::offers::Entity>(),
            columns_of::<entity::offer_characteristics::Entity>(),
            columns_of::<entity::prices::Entity>(),
            columns_of::<entity::stocks::Entity>(),
            columns_of::<entity::customers::Entity>(),
        ]
        .into_iter()
        .collect()
    }

    /// What `importer` names that `other` (an entity's or the schema's columns, by table)
    /// lacks, as `table.column`.
    fn missing(
        importer: &BTreeMap<&'static str, BTreeSet<&'static str>>,
        other: &BTreeMap<&str, BTreeSet<String>>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for (table, cols) in importer {
            let Some(have) = other.get(table) else {
                out.push(format!("{table} (no such table)"));
                continue;
            };
            for col in cols {
                if !have.contains(*col) {
                    out.push(format!("{table}.{col}"));
                }
            }
        }
        out
    }

    fn owned(
        m: BTreeMap<&'static str, BTreeSet<&'static str>>,
    ) -> BTreeMap<&'static str, BTreeSet<String>> {
        m.into_iter()
            .map(|(t, cols)| (t, cols.into_iter().map(str::to_owned).collect()))
            .collect()
    }

    /// The columns of `table` as migrated.
    async fn schema_columns(db: &impl ConnectionTrait, table: &str) -> BTreeSet<String> {
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => format!(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            _ => format!("SELECT name FROM pragma_table_info('{table}')"),
        };
        db.query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect()
    }

    #[test]
    fn every_shape_of_this_file_is_checked() {
        let source = include_str!("tables.rs");
        let declared = source.matches(concat!(": Upsert", " = Upsert {")).count()
            + source
                .matches(concat!(": Children", " = Children {"))
                .count();
        assert_eq!(
            declared,
            SHAPES.len(),
            "a shape declared in tables.rs is missing from SHAPES"
        );
    }

    #[test]
    fn the_importer_names_only_columns_of_the_entities() {
        let importer = importer_columns(&SHAPES);
        let entities = owned(entity_columns());
        assert_eq!(missing(&importer, &entities), Vec::<String>::new());
        // Every table the importer writes has its entity, and the checks would see a column the
        // entity lacks.
        let bogus = Upsert {
            cols: &["onec_id", "name", "colour"],
            ..WAREHOUSES
        };
        let importer = importer_columns(&[&bogus, &PRODUCTS]);
        assert_eq!(missing(&importer, &entities), ["warehouses.colour"]);
        let unknown = Upsert {
            table: "gadgets",
            ..UNITS
        };
        assert_eq!(
            missing(&importer_columns(&[&unknown]), &entities),
            ["gadgets (no such table)"]
        );
    }

    #[tokio::test]
    async fn the_importer_entities_and_migrated_schema_agree() {
        let importer = importer_columns(&SHAPES);
        let entities = entity_columns();
        for t in TestDb::each().await {
            let mut schema = BTreeMap::new();
            for table in entities.keys() {
                schema.insert(*table, schema_columns(&t.db, table).await);
            }
            assert_eq!(
                missing(&importer, &schema),
                Vec::<String>::new(),
                "importer vs schema on {}",
                t.url
            );
            assert_eq!(
                owned(entities.clone()),
                schema,
                "entities vs schema on {}",
                t.url
            );
            t.drop_db().await;
        }
    }

    #[test]
    fn the_own_offers_statement_is_built_from_its_columns() {
        assert_eq!(
            missing_own_offers_sql(),
            "INSERT INTO offers (onec_id, product_id, name, is_deleted, updated_at) \
             SELECT p.onec_id, p.id, p.name, FALSE, CURRENT_TIMESTAMP FROM products p \
             WHERE NOT EXISTS (SELECT 1 FROM offers o WHERE o.onec_id = p.onec_id) \
             RETURNING id, onec_id"
        );
    }
}
