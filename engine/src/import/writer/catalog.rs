//! Flushing the catalog batches: units, warehouses, price types, groups, properties (with their
//! values), products (with their own offers and property values) and offers (with their
//! characteristics, prices and stock).
use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use super::Importer;
use crate::import::ImportError;
use crate::import::sql::{Mode, Upsert, Written, in_ids, opt_str, str_val};
use wire::{ChangeColumn, ChangeEntity, SkipReason};

const UNITS: Upsert = Upsert {
    table: "units",
    cols: &["onec_id", "code", "short_name", "full_name", "is_deleted"],
    key: &["onec_id"],
    update: &["code", "short_name", "full_name", "is_deleted"],
    stamped: true,
    returning: false,
};

pub(super) const WAREHOUSES: Upsert = Upsert {
    table: "warehouses",
    cols: &["onec_id", "name", "is_deleted"],
    key: &["onec_id"],
    update: &["name", "is_deleted"],
    stamped: true,
    returning: true,
};

/// A warehouse created because stock named it: never overwrites an existing one.
pub(super) const WAREHOUSE_ON_DEMAND: Upsert = Upsert {
    update: &[],
    ..WAREHOUSES
};

const PRICE_TYPES: Upsert = Upsert {
    table: "price_types",
    cols: &["onec_id", "name", "currency", "is_deleted"],
    key: &["onec_id"],
    update: &["name", "currency", "is_deleted"],
    stamped: true,
    returning: true,
};

const CATEGORIES: Upsert = Upsert {
    table: "categories",
    cols: &["onec_id", "name", "parent_id", "is_deleted"],
    key: &["onec_id"],
    update: &["name", "parent_id", "is_deleted"],
    stamped: true,
    returning: true,
};

const PROPERTIES: Upsert = Upsert {
    table: "properties",
    cols: &["onec_id", "name", "value_type", "for_offers", "is_deleted"],
    key: &["onec_id"],
    update: &["name", "value_type", "for_offers", "is_deleted"],
    stamped: true,
    returning: true,
};

const PROPERTY_VALUES: Upsert = Upsert {
    table: "property_values",
    cols: &["property_id", "onec_id", "value"],
    key: &["property_id", "onec_id"],
    update: &["value"],
    stamped: false,
    returning: false,
};

const PRODUCTS: Upsert = Upsert {
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
    update: &[
        "sku",
        "name",
        "description",
        "category_id",
        "unit",
        "barcode",
        "manufacturer",
        "is_deleted",
    ],
    stamped: true,
    returning: true,
};

const OFFERS: Upsert = Upsert {
    table: "offers",
    cols: &[
        "onec_id",
        "product_id",
        "characteristic_id",
        "name",
        "is_deleted",
    ],
    key: &["onec_id"],
    update: &["product_id", "characteristic_id", "name", "is_deleted"],
    stamped: true,
    returning: true,
};

/// A product's own offer created for a bare-`Ид` price or rest: never overwrites an offer.
pub(super) const OWN_OFFERS: Upsert = Upsert {
    update: &[],
    ..OFFERS
};

/// A child table whose rows of one parent are replaced as a whole when they differ.
struct Children {
    table: &'static str,
    parent: &'static str,
    /// The two value columns.
    cols: [&'static str; 2],
    /// The first value column is an integer (a property id) rather than text.
    int_key: bool,
    insert: Upsert,
}

const PRODUCT_PROPERTY_VALUES: Children = Children {
    table: "product_property_values",
    parent: "product_id",
    cols: ["property_id", "value"],
    int_key: true,
    insert: Upsert {
        table: "product_property_values",
        cols: &["product_id", "property_id", "value"],
        key: &[],
        update: &[],
        stamped: false,
        returning: false,
    },
};

const OFFER_CHARACTERISTICS: Children = Children {
    table: "offer_characteristics",
    parent: "offer_id",
    cols: ["name", "value"],
    int_key: false,
    insert: Upsert {
        table: "offer_characteristics",
        cols: &["offer_id", "name", "value"],
        key: &[],
        update: &[],
        stamped: false,
        returning: false,
    },
};

/// The first value of a child row: a property id or a characteristic name.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ChildKey {
    Int(i64),
    Text(String),
}

impl ChildKey {
    fn value(&self) -> Value {
        match self {
            ChildKey::Int(i) => Value::BigInt(Some(*i)),
            ChildKey::Text(s) => str_val(s),
        }
    }
}

type ChildRows = Vec<(ChildKey, String)>;

impl Importer<'_> {
    /// Runs an upsert on a counted table and adds what it changed to `affected`.
    pub(super) async fn write(
        &mut self,
        upsert: &Upsert,
        rows: Vec<Vec<Value>>,
        mode: Mode,
    ) -> Result<Written, DbErr> {
        let written = upsert.run(self.txn, rows, mode).await?;
        self.affected += written.affected;
        Ok(written)
    }

    /// The [`Mode`] of a batch for `table` when the keys already stored are not known here:
    /// rows equal to stored ones are only to be expected when the table had rows at the start.
    pub(super) fn mode(&self, table: &str) -> Mode {
        if self.empty_at_start.contains(table) {
            Mode::Upsert
        } else {
            Mode::Changed
        }
    }

    /// Writes rows of a table whose stored `onec_id`s are all in `map` (loaded at the start and
    /// extended with every row written since): rows with a key not in it are plain inserts,
    /// the others upserts of what changed. Returns `onec_id → id` of what was written, and the
    /// ids of stored rows that changed.
    async fn write_keyed(
        &mut self,
        upsert: &Upsert,
        rows: Vec<(String, Vec<Value>)>,
        stored: fn(&Self, &str) -> bool,
    ) -> Result<(Vec<(String, i64)>, HashSet<i64>), DbErr> {
        let (known, new): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(k, _)| stored(self, k));
        let mut ids = Vec::new();
        let mut changed = HashSet::new();
        for (rows, mode) in [(new, Mode::New), (known, Mode::Changed)] {
            let rows = rows.into_iter().map(|(_, row)| row).collect();
            let written = self.write(upsert, rows, mode).await?;
            if mode == Mode::Changed {
                changed.extend(written.ids.iter().map(|(id, _)| *id));
            }
            ids.extend(written.ids.into_iter().map(|(id, k)| (k, id)));
        }
        Ok((ids, changed))
    }

    /// Counts one product or offer row of a batch: `id` its id after the write, `was_new` its
    /// key was not stored before, `deleted` its deletion mark now, `changed` the upsert wrote it.
    fn note_record(
        &mut self,
        entity: ChangeEntity,
        id: i64,
        was_new: bool,
        deleted: bool,
        changed: bool,
    ) -> ChangeColumn {
        let set = if entity == ChangeEntity::Products {
            &mut self.deleted_products
        } else {
            &mut self.deleted_offers
        };
        let was_deleted = if deleted {
            !set.insert(id)
        } else {
            set.remove(&id)
        };
        let column = if was_new {
            ChangeColumn::New
        } else if deleted && !was_deleted {
            ChangeColumn::Deactivated
        } else if !deleted && was_deleted {
            ChangeColumn::Reactivated
        } else if changed {
            ChangeColumn::Changed
        } else {
            ChangeColumn::Unchanged
        };
        self.changes.count(entity, column, 1);
        column
    }

    pub(super) async fn flush_units(&mut self) -> Result<(), ImportError> {
        let units = self.units_p.take();
        if units.is_empty() {
            return Ok(());
        }
        self.report.add("units", units.len() as u64);
        let rows = units
            .into_iter()
            .map(|u| {
                vec![
                    str_val(&u.id),
                    opt_str(u.code.as_deref()),
                    opt_str(u.short_name.as_deref()),
                    opt_str(u.full_name.as_deref()),
                    Value::Bool(Some(false)),
                ]
            })
            .collect();
        self.write(&UNITS, rows, self.mode("units")).await?;
        Ok(())
    }

    /// Writes a list of flat classifier records (warehouses, price types): counts them under
    /// `key`, counts deletion marks, upserts, and returns `onec_id → id` of what was written.
    #[allow(clippy::too_many_arguments)]
    async fn write_flat<T>(
        &mut self,
        upsert: &Upsert,
        key: &str,
        entity: ChangeEntity,
        list: Vec<T>,
        deleted: fn(&T) -> bool,
        ident: fn(&T) -> (&str, &str),
        row: fn(T) -> Vec<Value>,
    ) -> Result<Vec<(String, i64)>, ImportError> {
        if list.is_empty() {
            return Ok(Vec::new());
        }
        self.report.add(key, list.len() as u64);
        self.report.add(
            "deactivated",
            list.iter().filter(|t| deleted(t)).count() as u64,
        );
        let map = match entity {
            ChangeEntity::PriceTypes => &self.price_types,
            _ => &self.warehouses,
        };
        let mut known = Vec::with_capacity(list.len());
        let mut new = 0;
        for t in &list {
            let (id, name) = ident(t);
            match map.get(id) {
                Some(&stored) => known.push(stored),
                None => {
                    new += 1;
                    if entity == ChangeEntity::PriceTypes {
                        self.changes.new_price_type(id, name);
                    } else {
                        self.changes.new_warehouse(id, name);
                    }
                }
            }
        }
        let rows = list.into_iter().map(row).collect();
        let written = self.write(upsert, rows, self.mode(upsert.table)).await?;
        let changed: HashSet<i64> = written.ids.iter().map(|(id, _)| *id).collect();
        let known_changed = known.iter().filter(|id| changed.contains(id)).count() as u64;
        self.changes.count(entity, ChangeColumn::New, new);
        self.changes
            .count(entity, ChangeColumn::Changed, known_changed);
        self.changes.count(
            entity,
            ChangeColumn::Unchanged,
            known.len() as u64 - known_changed,
        );
        Ok(written.ids.into_iter().map(|(id, k)| (k, id)).collect())
    }

    pub(super) async fn flush_warehouses(&mut self) -> Result<(), ImportError> {
        let list = self.warehouses_p.take();
        let ids = self
            .write_flat(
                &WAREHOUSES,
                "warehouses",
                ChangeEntity::Warehouses,
                list,
                |w| w.deleted,
                |w| (&w.id, &w.name),
                |w| {
                    vec![
                        str_val(&w.id),
                        str_val(&w.name),
                        Value::Bool(Some(w.deleted)),
                    ]
                },
            )
            .await?;
        self.warehouses.extend(ids);
        Ok(())
    }

    pub(super) async fn flush_price_types(&mut self) -> Result<(), ImportError> {
        let list = self.price_types_p.take();
        let ids = self
            .write_flat(
                &PRICE_TYPES,
                "price_types",
                ChangeEntity::PriceTypes,
                list,
                |t| t.deleted,
                |t| (&t.id, &t.name),
                |t| {
                    vec![
                        str_val(&t.id),
                        str_val(&t.name),
                        opt_str(t.currency.as_deref()),
                        Value::Bool(Some(t.deleted)),
                    ]
                },
            )
            .await?;
        self.price_types.extend(ids);
        Ok(())
    }

    /// Groups are written level by level so that a parent's id is known before its children
    /// (1C writes parents first; a parent later in the batch than its child is looked up in the
    /// database only).
    pub(super) async fn flush_groups(&mut self) -> Result<(), ImportError> {
        let groups = self.groups_p.take();
        if groups.is_empty() {
            return Ok(());
        }
        self.report.add("categories", groups.len() as u64);
        self.report.add(
            "deactivated",
            groups.iter().filter(|g| g.deleted).count() as u64,
        );
        let mut depth: HashMap<&str, usize> = HashMap::with_capacity(groups.len());
        let mut levels: Vec<Vec<&commerceml::Group>> = Vec::new();
        for g in &groups {
            let d = g
                .parent_id
                .as_deref()
                .and_then(|p| depth.get(p))
                .map_or(0, |d| d + 1);
            depth.insert(&g.id, d);
            if levels.len() <= d {
                levels.resize_with(d + 1, Vec::new);
            }
            levels[d].push(g);
        }
        for level in levels {
            let rows = level
                .into_iter()
                .map(|g| {
                    let parent = g
                        .parent_id
                        .as_deref()
                        .and_then(|p| self.categories.get(p))
                        .copied();
                    vec![
                        str_val(&g.id),
                        str_val(&g.name),
                        Value::BigInt(parent),
                        Value::Bool(Some(g.deleted)),
                    ]
                })
                .collect();
            let written = self
                .write(&CATEGORIES, rows, self.mode("categories"))
                .await?;
            self.categories
                .extend(written.ids.into_iter().map(|(id, k)| (k, id)));
        }
        Ok(())
    }

    pub(super) async fn flush_properties(&mut self) -> Result<(), ImportError> {
        let props = self.properties_p.take();
        self.property_values_pending = 0;
        if props.is_empty() {
            return Ok(());
        }
        self.report.add("properties", props.len() as u64);
        self.report.add(
            "deactivated",
            props.iter().filter(|p| p.deleted).count() as u64,
        );
        let rows = props
            .iter()
            .map(|p| {
                vec![
                    str_val(&p.id),
                    str_val(&p.name),
                    opt_str(p.value_type.as_deref()),
                    Value::Bool(Some(p.for_offers)),
                    Value::Bool(Some(p.deleted)),
                ]
            })
            .collect();
        let written = self
            .write(&PROPERTIES, rows, self.mode("properties"))
            .await?;
        self.properties
            .extend(written.ids.into_iter().map(|(id, k)| (k, id)));

        let mut seen = HashSet::new();
        let mut values = Vec::new();
        for p in &props {
            let Some(&property_id) = self.properties.get(&p.id) else {
                continue;
            };
            // The last of duplicate value ids wins (one statement may not touch a row twice).
            for v in p.values.iter().rev() {
                if v.id.is_empty() || !seen.insert((property_id, v.id.as_str())) {
                    continue;
                }
                values.push(vec![
                    Value::BigInt(Some(property_id)),
                    str_val(&v.id),
                    str_val(&v.value),
                ]);
            }
        }
        self.report.add("property_values", values.len() as u64);
        // property_values is not a counted table: its rows do not enter `affected`.
        PROPERTY_VALUES.run(self.txn, values, Mode::Changed).await?;
        Ok(())
    }

    pub(super) async fn flush_products(&mut self) -> Result<(), ImportError> {
        let products = self.products_p.take();
        if products.is_empty() {
            return Ok(());
        }
        self.report.add("products", products.len() as u64);
        self.report.add(
            "deactivated",
            products.iter().filter(|p| p.deleted).count() as u64,
        );
        let known: HashSet<i64> = products
            .iter()
            .filter_map(|p| self.products.get(&p.id).copied())
            .collect();
        let was_new: Vec<bool> = products
            .iter()
            .map(|p| !self.products.contains_key(&p.id))
            .collect();
        let rows = products
            .iter()
            .map(|p| {
                let category = p
                    .group_ids
                    .iter()
                    .find_map(|g| self.categories.get(g))
                    .copied();
                let row = vec![
                    str_val(&p.id),
                    opt_str(p.sku.as_deref()),
                    str_val(&p.name),
                    opt_str(p.description.as_deref()),
                    Value::BigInt(category),
                    opt_str(p.base_unit.as_deref()),
                    opt_str(p.barcode.as_deref()),
                    opt_str(p.manufacturer.as_deref()),
                    Value::Bool(Some(p.deleted)),
                ];
                (p.id.clone(), row)
            })
            .collect();
        let (ids, changed) = self
            .write_keyed(&PRODUCTS, rows, |im, k| im.products.contains_key(k))
            .await?;
        self.products.extend(ids);
        for (p, was_new) in products.iter().zip(was_new) {
            let Some(&id) = self.products.get(&p.id) else {
                continue;
            };
            let column = self.note_record(
                ChangeEntity::Products,
                id,
                was_new,
                p.deleted,
                changed.contains(&id),
            );
            match column {
                ChangeColumn::New => self.changes.new_product(&p.id, &p.name),
                ChangeColumn::Deactivated => self.changes.deactivated_product(&p.id, &p.name),
                _ => {}
            }
        }

        self.own_offers_due = true;

        let mut desired = Vec::with_capacity(products.len());
        let mut unknown = 0;
        for p in &products {
            let Some(&id) = self.products.get(&p.id) else {
                continue;
            };
            let mut values = Vec::with_capacity(p.properties.len());
            for (prop, value) in &p.properties {
                if value.is_empty() {
                    continue;
                }
                match self.properties.get(prop) {
                    Some(&pid) => values.push((ChildKey::Int(pid), value.clone())),
                    None => unknown += 1,
                }
            }
            desired.push((id, values));
        }
        self.report.skip(SkipReason::UnknownProperty, unknown);
        self.replace_children(&PRODUCT_PROPERTY_VALUES, &known, desired)
            .await?;
        Ok(())
    }

    pub(super) async fn flush_offers(&mut self) -> Result<(), ImportError> {
        let offers = self.offers_p.take();
        if offers.is_empty() {
            return Ok(());
        }
        let mut landed = Vec::with_capacity(offers.len());
        let mut rows = Vec::with_capacity(offers.len());
        let mut known = HashSet::new();
        let mut was_new = Vec::with_capacity(offers.len());
        for o in offers {
            let Some(&product_id) = self.products.get(&o.id.product_id) else {
                self.report.skip(SkipReason::UnknownProduct, 1);
                continue;
            };
            let key = o.id.to_string();
            if let Some(&id) = self.offers.get(&key) {
                known.insert(id);
            }
            was_new.push(!self.offers.contains_key(&key));
            let row = vec![
                str_val(&key),
                Value::BigInt(Some(product_id)),
                opt_str(o.id.characteristic_id.as_deref()),
                opt_str(o.name.as_deref()),
                Value::Bool(Some(o.deleted)),
            ];
            rows.push((key.clone(), row));
            landed.push((key, o));
        }
        self.report.add("offers", landed.len() as u64);
        self.report.add(
            "variants",
            landed
                .iter()
                .filter(|(_, o)| o.id.characteristic_id.is_some())
                .count() as u64,
        );
        self.report.add(
            "deactivated",
            landed.iter().filter(|(_, o)| o.deleted).count() as u64,
        );
        let (ids, changed) = self
            .write_keyed(&OFFERS, rows, |im, k| im.offers.contains_key(k))
            .await?;
        self.offers.extend(ids);
        for ((key, o), was_new) in landed.iter().zip(was_new) {
            if let Some(&id) = self.offers.get(key) {
                self.note_record(
                    ChangeEntity::Offers,
                    id,
                    was_new,
                    o.deleted,
                    changed.contains(&id),
                );
            }
        }

        let mut desired = Vec::with_capacity(landed.len());
        for (key, o) in &landed {
            let Some(&id) = self.offers.get(key) else {
                continue;
            };
            let chars = o
                .characteristics
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(n, v)| (ChildKey::Text(n.clone()), v.clone()))
                .collect();
            desired.push((id, chars));
        }
        self.replace_children(&OFFER_CHARACTERISTICS, &known, desired)
            .await?;

        for (key, o) in &landed {
            if let Some(&id) = self.offers.get(key) {
                self.attach(id, o).await?;
            }
        }
        Ok(())
    }

    /// Makes the child rows of each parent equal `desired`: parents that existed before
    /// (`known`) are compared with their stored rows and rewritten only when they differ;
    /// new parents just get their rows.
    async fn replace_children(
        &mut self,
        spec: &Children,
        known: &HashSet<i64>,
        desired: Vec<(i64, ChildRows)>,
    ) -> Result<(), DbErr> {
        let mut stored: HashMap<i64, ChildRows> = HashMap::new();
        let known_ids: Vec<i64> = desired
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| known.contains(id))
            .collect();
        if !known_ids.is_empty() {
            let (filter, values) = in_ids(self.backend, spec.parent, &known_ids);
            let sql = format!(
                "SELECT {p}, {a}, {b} FROM {t} WHERE {filter} ORDER BY id",
                p = spec.parent,
                a = spec.cols[0],
                b = spec.cols[1],
                t = spec.table,
            );
            let rows = self
                .txn
                .query_all_raw(Statement::from_sql_and_values(self.backend, sql, values))
                .await?;
            for row in rows {
                let parent: i64 = row.try_get_by_index(0)?;
                let key = if spec.int_key {
                    ChildKey::Int(row.try_get_by_index(1)?)
                } else {
                    ChildKey::Text(row.try_get_by_index(1)?)
                };
                let value: String = row.try_get_by_index(2)?;
                stored.entry(parent).or_default().push((key, value));
            }
        }
        let mut stale = Vec::new();
        let mut inserts = Vec::new();
        for (id, rows) in desired {
            if known.contains(&id) {
                let current = stored.remove(&id).unwrap_or_default();
                if current == rows {
                    continue;
                }
                if !current.is_empty() {
                    stale.push(id);
                }
            }
            for (key, value) in rows {
                inserts.push(vec![Value::BigInt(Some(id)), key.value(), str_val(&value)]);
            }
        }
        if !stale.is_empty() {
            let (filter, values) = in_ids(self.backend, spec.parent, &stale);
            let sql = format!("DELETE FROM {t} WHERE {filter}", t = spec.table);
            self.txn
                .execute_raw(Statement::from_sql_and_values(self.backend, sql, values))
                .await?;
        }
        spec.insert.run(self.txn, inserts, Mode::New).await?;
        Ok(())
    }
}
