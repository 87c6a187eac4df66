//! Flushing the classifier batches: units, warehouses, price types, groups (level by level, so
//! a parent's id is known before its children) and properties with their values.
use std::collections::{HashMap, HashSet};

use sea_orm::Value;

use super::Importer;
use crate::import::ImportError;
use crate::import::sql::{Mode, Upsert, opt_str, str_val};
use crate::import::tables::{
    CATEGORIES, PRICE_TYPES, PROPERTIES, PROPERTY_VALUES, UNITS, WAREHOUSES,
};
use wire::{ChangeColumn, ChangeEntity, Counter};

impl Importer<'_> {
    pub(super) async fn flush_units(&mut self) -> Result<(), ImportError> {
        let units = self.batches.take_units();
        if units.is_empty() {
            return Ok(());
        }
        self.report.add(Counter::Units, units.len() as u64);
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
    /// `counter`, counts deletion marks, upserts, and returns `onec_id → id` of what was written.
    #[allow(clippy::too_many_arguments)]
    async fn write_flat<T>(
        &mut self,
        upsert: &Upsert,
        counter: Counter,
        entity: ChangeEntity,
        list: Vec<T>,
        deleted: fn(&T) -> bool,
        ident: fn(&T) -> (&str, &str),
        row: fn(T) -> Vec<Value>,
    ) -> Result<Vec<(String, i64)>, ImportError> {
        if list.is_empty() {
            return Ok(Vec::new());
        }
        self.count_batch(counter, &list, deleted);
        let map = match entity {
            ChangeEntity::PriceTypes => &self.ids.price_types,
            _ => &self.ids.warehouses,
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
        let list = self.batches.take_warehouses();
        let ids = self
            .write_flat(
                &WAREHOUSES,
                Counter::Warehouses,
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
        self.ids.warehouses.extend(ids);
        Ok(())
    }

    pub(super) async fn flush_price_types(&mut self) -> Result<(), ImportError> {
        let list = self.batches.take_price_types();
        let ids = self
            .write_flat(
                &PRICE_TYPES,
                Counter::PriceTypes,
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
        self.ids.price_types.extend(ids);
        Ok(())
    }

    /// Groups are written level by level so that a parent's id is known before its children
    /// (1C writes parents first; a parent later in the batch than its child is looked up in the
    /// database only).
    pub(super) async fn flush_groups(&mut self) -> Result<(), ImportError> {
        let groups = self.batches.take_groups();
        if groups.is_empty() {
            return Ok(());
        }
        self.count_batch(Counter::Categories, &groups, |g| g.deleted);
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
                        .and_then(|p| self.ids.categories.get(p))
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
            self.ids
                .categories
                .extend(written.ids.into_iter().map(|(id, k)| (k, id)));
        }
        Ok(())
    }

    pub(super) async fn flush_properties(&mut self) -> Result<(), ImportError> {
        let props = self.batches.take_properties();
        if props.is_empty() {
            return Ok(());
        }
        self.count_batch(Counter::Properties, &props, |p| p.deleted);
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
        self.ids
            .properties
            .extend(written.ids.into_iter().map(|(id, k)| (k, id)));

        let mut seen = HashSet::new();
        let mut values = Vec::new();
        for p in &props {
            let Some(&property_id) = self.ids.properties.get(&p.id) else {
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
        self.report
            .add(Counter::PropertyValues, values.len() as u64);
        // property_values is not a counted table: its rows do not enter `affected`.
        self.run(&PROPERTY_VALUES, values, Mode::Changed).await?;
        Ok(())
    }
}
