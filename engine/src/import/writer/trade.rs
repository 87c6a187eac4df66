//! Flushing prices and stock: resolving the offers that price and rest records name
//! (creating a product's own offer for a bare product `Ид` when needed), the price types and the
//! warehouses (creating unknown ones), and upserting `prices` and `stocks`.
use std::collections::HashMap;

use commerceml::Offer;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

use super::Importer;
use crate::import::ImportError;
use crate::import::sql::{MAX_BINDS, Mode, Upsert, in_ids, placeholders, str_val, to_e4};
use crate::import::tables::{
    OWN_OFFERS, PRICES, STOCKS, WAREHOUSE_ON_DEMAND, missing_own_offers_sql,
};
use wire::{ChangeColumn, ChangeEntity, Counter, SkipReason};

/// Name of the warehouse row that holds stock 1C reports without a warehouse.
pub const NO_WAREHOUSE_NAME: &str = "Без склада";

impl Importer<'_> {
    /// Resolves the pending price and rest records to offers and queues their rows.
    pub(super) async fn flush_refs(&mut self) -> Result<(), ImportError> {
        let refs = self.batches.take_refs();
        if !refs.is_empty() {
            self.create_missing_own_offers().await?;
        }
        let count_offers = !self.parts.offers;
        for o in refs {
            let key = o.id.to_string();
            let id = match self.ids.offers.get(&key) {
                Some(&id) => Some(id),
                None if o.id.characteristic_id.is_none() => {
                    match self.ids.products.get(&o.id.product_id).copied() {
                        Some(product_id) => Some(self.create_own_offer(&key, product_id).await?),
                        None => None,
                    }
                }
                None => None,
            };
            match id {
                Some(id) => {
                    if count_offers {
                        self.report.add(Counter::Offers, 1);
                    }
                    self.attach(id, &o).await?;
                }
                None => self.report.skip(SkipReason::UnknownOffer, 1),
            }
        }
        Ok(())
    }

    /// Gives every product without an own offer (an offer whose `Ид` is the product's) one, in
    /// a single statement, once products were written: run before prices and rests are
    /// resolved and at the end of the import, so offers files define own offers first (with
    /// their name and deletion mark) and the rest are created without a later rewrite.
    pub(super) async fn create_missing_own_offers(&mut self) -> Result<(), ImportError> {
        if !self.own_offers_due {
            return Ok(());
        }
        self.own_offers_due = false;
        let rows = self
            .txn
            .query_all_raw(Statement::from_string(
                self.backend,
                missing_own_offers_sql(),
            ))
            .await
            .and_then(|rows| {
                rows.into_iter()
                    .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
                    .collect::<Result<Vec<(i64, String)>, DbErr>>()
            })
            .map_err(self.writing("offers"))?;
        self.affected += rows.len() as u64;
        self.changes
            .count(ChangeEntity::Offers, ChangeColumn::New, rows.len() as u64);
        self.ids
            .offers
            .extend(rows.into_iter().map(|(id, onec_id)| (onec_id, id)));
        Ok(())
    }

    /// The own offer of a product that has none yet (a bare `Ид` in prices or rests).
    async fn create_own_offer(&mut self, key: &str, product_id: i64) -> Result<i64, ImportError> {
        let row = vec![
            str_val(key),
            Value::BigInt(Some(product_id)),
            Value::String(None),
            Value::String(None),
            Value::Bool(Some(false)),
        ];
        let written = self.write(&OWN_OFFERS, vec![row], Mode::Upsert).await?;
        self.changes
            .count(ChangeEntity::Offers, ChangeColumn::New, written.affected);
        let id = match written.ids.first() {
            Some((id, _)) => *id,
            None => self.select_id("offers", key).await?,
        };
        self.ids.offers.insert(key.to_owned(), id);
        Ok(id)
    }

    /// The id of a stored row by its `onec_id` (a row an upsert that does nothing on conflict
    /// did not return).
    async fn select_id(&self, table: &'static str, onec_id: &str) -> Result<i64, ImportError> {
        let sql = format!(
            "SELECT id FROM {table} WHERE onec_id = {}",
            placeholders(self.backend, 0, 1)
        );
        let stmt = Statement::from_sql_and_values(self.backend, sql, [str_val(onec_id)]);
        let row = self
            .txn
            .query_one_raw(stmt)
            .await
            .map_err(self.reading(table))?
            .ok_or_else(|| DbErr::RecordNotFound(format!("{table}.onec_id = «{onec_id}»")))
            .map_err(self.reading(table))?;
        row.try_get_by_index(0).map_err(self.reading(table))
    }

    /// The id of a warehouse, creating it when stock names one the database does not know
    /// (`""` is «Без склада», any other `Ид` is named by itself and counted in
    /// `warehouses_created`).
    async fn warehouse_id(&mut self, onec_id: &str) -> Result<i64, ImportError> {
        if let Some(&id) = self.ids.warehouses.get(onec_id) {
            return Ok(id);
        }
        let name = if onec_id.is_empty() {
            NO_WAREHOUSE_NAME
        } else {
            onec_id
        };
        let row = vec![str_val(onec_id), str_val(name), Value::Bool(Some(false))];
        let written = self
            .write(&WAREHOUSE_ON_DEMAND, vec![row], Mode::Upsert)
            .await?;
        let id = match written.ids.first() {
            Some((id, _)) => *id,
            None => self.select_id("warehouses", onec_id).await?,
        };
        if !onec_id.is_empty() && written.affected > 0 {
            self.report.add(Counter::WarehousesCreated, 1);
        }
        if written.affected > 0 {
            self.changes
                .count(ChangeEntity::Warehouses, ChangeColumn::New, 1);
            self.changes.new_warehouse(onec_id, name);
        }
        self.ids.warehouses.insert(onec_id.to_owned(), id);
        Ok(id)
    }

    /// Queues the prices and stock of one landed offer (what this import applies of them).
    pub(super) async fn attach(&mut self, offer_id: i64, o: &Offer) -> Result<(), ImportError> {
        if self.parts.prices {
            for p in &o.prices {
                let Some(&type_id) = self.ids.price_types.get(&p.price_type_id) else {
                    self.report.skip(SkipReason::UnknownPriceType, 1);
                    continue;
                };
                let Some(e4) = to_e4(p.value) else {
                    self.report.skip(SkipReason::NumberOutOfRange, 1);
                    continue;
                };
                self.batches
                    .price(offer_id, type_id, e4, p.currency.clone());
            }
        }
        if self.parts.stock {
            for s in &o.stock {
                let Some(e4) = to_e4(s.quantity) else {
                    self.report.skip(SkipReason::NumberOutOfRange, 1);
                    continue;
                };
                let wh = self
                    .warehouse_id(s.warehouse_id.as_deref().unwrap_or(""))
                    .await?;
                self.batches.stock(offer_id, wh, e4);
            }
        }
        Ok(())
    }

    pub(super) async fn flush_prices(&mut self) -> Result<(), ImportError> {
        let rows: Vec<KeyedRow> = self
            .batches
            .take_prices()
            .into_iter()
            .map(|((offer, pt), (e4, currency))| {
                let row = vec![
                    Value::BigInt(Some(offer)),
                    Value::BigInt(Some(pt)),
                    Value::BigInt(Some(e4)),
                    Value::String(currency),
                ];
                ((offer, pt), row)
            })
            .collect();
        self.report.add(Counter::Prices, rows.len() as u64);
        self.write_by_offer(&PRICES, rows).await
    }

    pub(super) async fn flush_stocks(&mut self) -> Result<(), ImportError> {
        let rows: Vec<KeyedRow> = self
            .batches
            .take_stocks()
            .into_iter()
            .map(|((offer, wh), e4)| {
                let row = vec![
                    Value::BigInt(Some(offer)),
                    Value::BigInt(Some(wh)),
                    Value::BigInt(Some(e4)),
                ];
                ((offer, wh), row)
            })
            .collect();
        self.report.add(Counter::StockRows, rows.len() as u64);
        self.write_by_offer(&STOCKS, rows).await
    }

    /// Writes price or stock rows. Into a table that was empty when the import began, the rows
    /// of an offer this import has not written rows of yet are plain inserts (nothing can
    /// conflict with them) and the rest upserts. Into a table that held rows, the stored rows of
    /// the batch's offers are read first: they give the change report its old values, and only
    /// the rows that differ (or are not stored) are written, as upserts.
    async fn write_by_offer(
        &mut self,
        upsert: &Upsert,
        rows: Vec<KeyedRow>,
    ) -> Result<(), ImportError> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.mode(upsert.table) == Mode::Changed {
            let stored = if self.backend == DbBackend::Postgres {
                Stored::All(
                    self.stored_rows(upsert, &rows)
                        .await
                        .map_err(self.reading(upsert.table))?,
                )
            } else {
                Stored::Differing(
                    self.differing_rows(upsert, &rows)
                        .await
                        .map_err(self.reading(upsert.table))?,
                )
            };
            self.note_rows(upsert, &rows, Some(&stored));
            let rows = rows
                .into_iter()
                .filter(|(key, row)| stored.get(key, row) != Some(&row[2..]))
                .map(|(_, row)| row)
                .collect();
            self.write(upsert, rows, Mode::Upsert).await?;
            return Ok(());
        }
        self.note_rows(upsert, &rows, None);
        let written = self.offers_written.entry(upsert.table).or_default();
        let (again, new): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|((offer, _), _)| written.contains(offer));
        written.extend(new.iter().map(|((offer, _), _)| *offer));
        for (rows, mode) in [(new, Mode::New), (again, Mode::Upsert)] {
            let rows = rows.into_iter().map(|(_, row)| row).collect();
            self.write(upsert, rows, mode).await?;
        }
        Ok(())
    }

    /// Feeds the change report with a batch of price or stock rows, offer by offer:
    /// `stored` the stored values of the batch's keys (none when the table was empty).
    fn note_rows(&mut self, upsert: &Upsert, rows: &[KeyedRow], stored: Option<&Stored>) {
        let e4 = |v: Option<&Value>| match v {
            Some(Value::BigInt(Some(i))) => Some(*i),
            _ => None,
        };
        let mut noted: Vec<(i64, i64, Option<i64>, i64, bool)> = rows
            .iter()
            .map(|(key, row)| {
                let old = stored.and_then(|s| s.get(key, row));
                let same = old == Some(&row[2..]);
                let old = old.map(|o| e4(o.first()).unwrap_or(0));
                (key.0, key.1, old, e4(row.get(2)).unwrap_or(0), same)
            })
            .collect();
        noted.sort_unstable_by_key(|r| (r.0, r.1));
        let prices = upsert.table == "prices";
        let mut per_offer = Vec::new();
        for chunk in noted.chunk_by(|a, b| a.0 == b.0) {
            per_offer.clear();
            per_offer.extend(
                chunk
                    .iter()
                    .map(|&(_, k, old, new, same)| (k, old, new, same)),
            );
            if prices {
                self.changes.offer_prices(chunk[0].0, &per_offer);
            } else {
                self.changes.offer_stock(chunk[0].0, &per_offer);
            }
        }
    }

    /// The stored value columns of the batch's keys. The stored rows of these offers come in one
    /// query — `offer_id` leads the primary key, so it is one index range per offer — and are
    /// compared here: cheaper than making the database probe and compare row by row, and a
    /// re-import of unchanged data then writes nothing.
    /// `upsert.cols` must start with its two key columns, `offer_id` first.
    async fn stored_rows(
        &self,
        upsert: &Upsert,
        rows: &[KeyedRow],
    ) -> Result<HashMap<(i64, i64), Vec<Value>>, DbErr> {
        debug_assert_eq!(upsert.key, &upsert.cols[..2]);
        let mut offers: Vec<i64> = rows.iter().map(|((offer, _), _)| *offer).collect();
        offers.sort_unstable();
        offers.dedup();
        let (filter, params) = in_ids(self.backend, "offer_id", &offers);
        let sql = format!(
            "SELECT {cols} FROM {table} WHERE {filter}",
            cols = upsert.cols.join(", "),
            table = upsert.table
        );
        let like = &rows[0].1;
        let mut stored: HashMap<(i64, i64), Vec<Value>> = HashMap::new();
        for row in self
            .txn
            .query_all_raw(Statement::from_sql_and_values(self.backend, sql, params))
            .await?
        {
            let key = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
            stored.insert(key, value_columns(&row, like, 2)?);
        }
        Ok(stored)
    }

    /// The keys of the batch that are not stored (`None`) or stored with other values (`Some`:
    /// the stored values). SQLite compares in the database and returns only those: on a
    /// re-import of unchanged data nothing comes back, where reading every stored row through
    /// the driver ([`Self::stored_rows`]) cost more than the writes it saves (the re-import
    /// of 525 000 unchanged stock rows: 3.6 s before the change report, 7.9 s with it reading
    /// them back; see docs/benchmarks.md). `upsert.cols` must start with its two key columns.
    async fn differing_rows(
        &self,
        upsert: &Upsert,
        rows: &[KeyedRow],
    ) -> Result<HashMap<(i64, i64), Option<Vec<Value>>>, DbErr> {
        debug_assert_eq!(upsert.key, &upsert.cols[..2]);
        let cols = upsert.cols;
        let (k0, k1) = (cols[0], cols[1]);
        let value_cols = &cols[2..];
        let head = format!("WITH v({list}) AS (VALUES ", list = cols.join(", "));
        let tail = format!(
            ") SELECT v.{k0}, v.{k1}, s.{k0} IS NULL, {stored} \
             FROM v LEFT JOIN {table} s ON s.{k0} = v.{k0} AND s.{k1} = v.{k1} \
             WHERE s.{k0} IS NULL OR {differs}",
            stored = value_cols
                .iter()
                .map(|c| format!("s.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            table = upsert.table,
            differs = value_cols
                .iter()
                .map(|c| format!("s.{c} IS NOT v.{c}"))
                .collect::<Vec<_>>()
                .join(" OR "),
        );
        let one = format!("({})", placeholders(self.backend, 0, cols.len()));
        let like = &rows[0].1;
        // Short statements: the driver keeps each distinct SQL text prepared (one per chunk
        // length), and a program for 7 500 rows made the re-import's peak RSS 45 MB larger.
        let per_statement = (MAX_BINDS / cols.len()).clamp(1, DIFF_ROWS);
        let mut out = HashMap::new();
        for chunk in rows.chunks(per_statement) {
            let sql = format!("{head}{}{tail}", vec![one.as_str(); chunk.len()].join(", "));
            let params: Vec<Value> = chunk.iter().flat_map(|(_, row)| row.clone()).collect();
            for row in self
                .txn
                .query_all_raw(Statement::from_sql_and_values(self.backend, sql, params))
                .await?
            {
                let key = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
                let missing: bool = row.try_get_by_index(2)?;
                let old = if missing {
                    None
                } else {
                    Some(value_columns(&row, like, 3)?)
                };
                out.insert(key, old);
            }
        }
        Ok(out)
    }
}

/// The value columns of a price or stock row read back, typed like `like`'s (a batch row whose
/// first two values are its key): result columns `first`, `first + 1`, ….
fn value_columns(row: &QueryResult, like: &[Value], first: usize) -> Result<Vec<Value>, DbErr> {
    like[2..]
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            Ok(match kind {
                Value::BigInt(_) => Value::BigInt(row.try_get_by_index(first + i)?),
                _ => Value::String(row.try_get_by_index(first + i)?),
            })
        })
        .collect()
}

/// Rows compared per statement by [`Importer::differing_rows`].
const DIFF_ROWS: usize = 500;

/// A price or stock row with its key, `(offer_id, price type or warehouse id)`.
type KeyedRow = ((i64, i64), Vec<Value>);

/// What a table holds for the keys of a batch of price or stock rows.
enum Stored {
    /// The stored value columns of every stored key (PostgreSQL: [`Importer::stored_rows`]).
    All(HashMap<(i64, i64), Vec<Value>>),
    /// Only the keys stored with other values (`Some`: those values) or not stored at all
    /// (`None`); every other key of the batch is stored with the batch's values
    /// (SQLite: [`Importer::differing_rows`]).
    Differing(HashMap<(i64, i64), Option<Vec<Value>>>),
}

impl Stored {
    /// The stored value columns of `key` (`row` is the batch's row of that key), `None` when
    /// the key is not stored.
    fn get<'a>(&'a self, key: &(i64, i64), row: &'a [Value]) -> Option<&'a [Value]> {
        match self {
            Self::All(stored) => stored.get(key).map(Vec::as_slice),
            Self::Differing(differing) => match differing.get(key) {
                None => Some(&row[2..]),
                Some(old) => old.as_deref(),
            },
        }
    }
}
