//! Flushing products (with their property values and, later, own offers) and offers (with
//! their characteristics, prices and stock); the child rows of both are replaced per parent
//! only when they differ.
use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

use super::Importer;
use crate::import::ImportError;
use crate::import::sql::{Mode, Upsert, in_ids, opt_str, str_val};
use crate::import::tables::{
    Children, OFFER_CHARACTERISTICS, OFFERS, PRODUCT_PROPERTY_VALUES, PRODUCTS,
};
use wire::{ChangeColumn, ChangeEntity, Counter, SkipReason};

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
    /// Writes rows of a table whose stored `onec_id`s are all in `map` (loaded at the start and
    /// extended with every row written since): rows with a key not in it are plain inserts,
    /// the others upserts of what changed. Returns `onec_id → id` of what was written, and the
    /// ids of stored rows that changed.
    async fn write_keyed(
        &mut self,
        upsert: &Upsert,
        rows: Vec<(String, Vec<Value>)>,
        stored: fn(&Self, &str) -> bool,
    ) -> Result<(Vec<(String, i64)>, HashSet<i64>), ImportError> {
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

    pub(super) async fn flush_products(&mut self) -> Result<(), ImportError> {
        let products = self.batches.take_products();
        if products.is_empty() {
            return Ok(());
        }
        self.count_batch(Counter::Products, &products, |p| p.deleted);
        let known: HashSet<i64> = products
            .iter()
            .filter_map(|p| self.ids.products.get(&p.id).copied())
            .collect();
        let was_new: Vec<bool> = products
            .iter()
            .map(|p| !self.ids.products.contains_key(&p.id))
            .collect();
        let rows = products
            .iter()
            .map(|p| {
                let category = p
                    .group_ids
                    .iter()
                    .find_map(|g| self.ids.categories.get(g))
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
            .write_keyed(&PRODUCTS, rows, |im, k| im.ids.products.contains_key(k))
            .await?;
        self.ids.products.extend(ids);
        for (p, was_new) in products.iter().zip(was_new) {
            let Some(&id) = self.ids.products.get(&p.id) else {
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
            let Some(&id) = self.ids.products.get(&p.id) else {
                continue;
            };
            let mut values = Vec::with_capacity(p.properties.len());
            for (prop, value) in &p.properties {
                if value.is_empty() {
                    continue;
                }
                match self.ids.properties.get(prop) {
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
        let offers = self.batches.take_offers();
        if offers.is_empty() {
            return Ok(());
        }
        let mut landed = Vec::with_capacity(offers.len());
        let mut rows = Vec::with_capacity(offers.len());
        let mut known = HashSet::new();
        let mut was_new = Vec::with_capacity(offers.len());
        for o in offers {
            let Some(&product_id) = self.ids.products.get(&o.id.product_id) else {
                self.report.skip(SkipReason::UnknownProduct, 1);
                continue;
            };
            let key = o.id.to_string();
            if let Some(&id) = self.ids.offers.get(&key) {
                known.insert(id);
            }
            was_new.push(!self.ids.offers.contains_key(&key));
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
        self.count_batch(Counter::Offers, &landed, |(_, o)| o.deleted);
        self.report.add(
            Counter::Variants,
            landed
                .iter()
                .filter(|(_, o)| o.id.characteristic_id.is_some())
                .count() as u64,
        );
        let (ids, changed) = self
            .write_keyed(&OFFERS, rows, |im, k| im.ids.offers.contains_key(k))
            .await?;
        self.ids.offers.extend(ids);
        for ((key, o), was_new) in landed.iter().zip(was_new) {
            if let Some(&id) = self.ids.offers.get(key) {
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
            let Some(&id) = self.ids.offers.get(key) else {
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
            if let Some(&id) = self.ids.offers.get(key) {
                self.attach(id, o).await?;
            }
        }
        Ok(())
    }

    /// Makes the child rows of each parent equal `desired`: parents that existed before
    /// (`known`) are compared with their stored rows and rewritten only when they differ;
    /// new parents just get their rows.
    async fn replace_children(
        &self,
        spec: &Children,
        known: &HashSet<i64>,
        desired: Vec<(i64, ChildRows)>,
    ) -> Result<(), ImportError> {
        let known_ids: Vec<i64> = desired
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| known.contains(id))
            .collect();
        let mut stored = if known_ids.is_empty() {
            HashMap::new()
        } else {
            self.stored_children(spec, &known_ids)
                .await
                .map_err(self.reading(spec.table()))?
        };
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
            let (filter, values) = in_ids(self.backend, spec.parent(), &stale);
            let sql = format!("DELETE FROM {t} WHERE {filter}", t = spec.table());
            self.txn
                .execute_raw(Statement::from_sql_and_values(self.backend, sql, values))
                .await
                .map_err(self.writing(spec.table()))?;
        }
        self.run(&spec.rows, inserts, Mode::New).await?;
        Ok(())
    }

    /// The stored child rows of `parents`, in insertion order.
    async fn stored_children(
        &self,
        spec: &Children,
        parents: &[i64],
    ) -> Result<HashMap<i64, ChildRows>, DbErr> {
        let (filter, values) = in_ids(self.backend, spec.parent(), parents);
        let [a, b] = spec.values();
        let sql = format!(
            "SELECT {p}, {a}, {b} FROM {t} WHERE {filter} ORDER BY id",
            p = spec.parent(),
            t = spec.table(),
        );
        let rows = self
            .txn
            .query_all_raw(Statement::from_sql_and_values(self.backend, sql, values))
            .await?;
        let mut stored: HashMap<i64, ChildRows> = HashMap::new();
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
        Ok(stored)
    }
}
