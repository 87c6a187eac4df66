//! The change report, collected while the writers write: they already know which rows are new
//! (key not in the id maps), which changed (returned by the upsert, or compared with the stored
//! row), and the old value of a price or stock row (read to filter out unchanged rows). Examples
//! are bounded top-N; names are looked up at the end for those few rows only.
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Statement};
use wire::{
    CHANGE_EXAMPLES, ChangeColumn, ChangeEntity, ChangeLimits, ChangeReport, ChangeWarning, Named,
    PriceChange, SkipReason, StockChange,
};

use super::ImportError;
use super::error::reading;
use super::sql::in_ids;

/// A price row that changed: `(offer, price type)`, old and new `price_e4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PriceRow {
    offer: i64,
    price_type: i64,
    old: i64,
    new: i64,
}

/// A stock row that changed: `(offer, warehouse)`, old and new `quantity_e4`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct StockRow {
    offer: i64,
    warehouse: i64,
    old: i64,
    new: i64,
}

/// Keeps the `CHANGE_EXAMPLES` items of largest rank (a min-heap of that size).
struct Top<T: Ord> {
    heap: BinaryHeap<Reverse<(i128, T)>>,
}

impl<T: Ord> Top<T> {
    fn new() -> Self {
        Top {
            heap: BinaryHeap::with_capacity(CHANGE_EXAMPLES + 1),
        }
    }

    fn offer(&mut self, rank: i128, item: T) {
        if self.heap.len() < CHANGE_EXAMPLES {
            self.heap.push(Reverse((rank, item)));
        } else if self.heap.peek().is_some_and(|Reverse((r, _))| rank > *r) {
            self.heap.pop();
            self.heap.push(Reverse((rank, item)));
        }
    }

    /// Largest first.
    fn into_sorted(self) -> Vec<T> {
        let mut v: Vec<(i128, T)> = self.heap.into_iter().map(|Reverse(x)| x).collect();
        v.sort_by(|a, b| b.cmp(a));
        v.into_iter().map(|(_, t)| t).collect()
    }
}

/// The change report of one import while it is being written.
pub(crate) struct Changes {
    limits: ChangeLimits,
    report: ChangeReport,
    prices: Top<PriceRow>,
    stocks: Top<StockRow>,
    price_jumps: u64,
    prices_lost: u64,
    stock_zero: u64,
    stock_offers: u64,
    /// Active products when the import began (for the share deactivated).
    pub active_products_before: u64,
}

impl Changes {
    pub(crate) fn new(limits: ChangeLimits) -> Self {
        Changes {
            limits,
            report: ChangeReport::default(),
            prices: Top::new(),
            stocks: Top::new(),
            price_jumps: 0,
            prices_lost: 0,
            stock_zero: 0,
            stock_offers: 0,
            active_products_before: 0,
        }
    }

    pub(crate) fn count(&mut self, e: ChangeEntity, c: ChangeColumn, n: u64) {
        if n > 0 {
            self.report.counts.entry(e).or_default().bump(c, n);
        }
    }

    fn push_example(list: &mut Vec<Named>, onec_id: &str, name: &str) {
        if list.len() < CHANGE_EXAMPLES {
            list.push(Named {
                onec_id: onec_id.to_owned(),
                name: name.to_owned(),
            });
        }
    }

    pub(crate) fn new_product(&mut self, onec_id: &str, name: &str) {
        Self::push_example(&mut self.report.new_products, onec_id, name);
    }

    pub(crate) fn deactivated_product(&mut self, onec_id: &str, name: &str) {
        Self::push_example(&mut self.report.deactivated_products, onec_id, name);
    }

    pub(crate) fn new_price_type(&mut self, onec_id: &str, name: &str) {
        Self::push_example(&mut self.report.new_price_types, onec_id, name);
    }

    pub(crate) fn new_warehouse(&mut self, onec_id: &str, name: &str) {
        Self::push_example(&mut self.report.new_warehouses, onec_id, name);
    }

    /// One offer's price rows of a batch: `(price type, stored price, new price)`.
    pub(crate) fn offer_prices(&mut self, offer: i64, rows: &[(i64, Option<i64>, i64, bool)]) {
        let mut had_price = false;
        let mut all_zero = true;
        for &(price_type, old, new, same) in rows {
            all_zero &= new == 0;
            let Some(old) = old else {
                self.count(ChangeEntity::Prices, ChangeColumn::New, 1);
                continue;
            };
            had_price |= old != 0;
            if same {
                self.count(ChangeEntity::Prices, ChangeColumn::Unchanged, 1);
                continue;
            }
            self.count(ChangeEntity::Prices, ChangeColumn::Changed, 1);
            if old == new {
                // Only the currency changed.
                continue;
            }
            let diff = (i128::from(new) - i128::from(old)).abs();
            // Rank by the share of the old price; a price from zero ranks above all.
            let rank = if old == 0 {
                i128::MAX
            } else {
                diff * 1_000_000 / i128::from(old).abs()
            };
            if old != 0
                && diff * 100 > i128::from(self.limits.price_jump_percent) * i128::from(old).abs()
            {
                self.price_jumps += 1;
            }
            self.prices.offer(
                rank,
                PriceRow {
                    offer,
                    price_type,
                    old,
                    new,
                },
            );
        }
        if had_price && all_zero {
            self.prices_lost += 1;
        }
    }

    /// One offer's stock rows of a batch: `(warehouse, stored quantity, new quantity, equal)`.
    pub(crate) fn offer_stock(&mut self, offer: i64, rows: &[(i64, Option<i64>, i64, bool)]) {
        self.stock_offers += 1;
        let (mut before, mut after) = (0i128, 0i128);
        for &(warehouse, old, new, same) in rows {
            after += i128::from(new);
            let Some(old) = old else {
                self.count(ChangeEntity::Stocks, ChangeColumn::New, 1);
                continue;
            };
            before += i128::from(old);
            if same {
                self.count(ChangeEntity::Stocks, ChangeColumn::Unchanged, 1);
                continue;
            }
            self.count(ChangeEntity::Stocks, ChangeColumn::Changed, 1);
            let rank = (i128::from(new) - i128::from(old)).abs();
            self.stocks.offer(
                rank,
                StockRow {
                    offer,
                    warehouse,
                    old,
                    new,
                },
            );
        }
        if before > 0 && after <= 0 {
            self.stock_zero += 1;
        }
    }

    /// The finished report: skipped reasons, warnings, and names for the examples.
    pub(crate) async fn finish(
        mut self,
        txn: &DatabaseTransaction,
        skipped: &std::collections::BTreeMap<SkipReason, u64>,
    ) -> Result<ChangeReport, ImportError> {
        for (&reason, &n) in skipped {
            *self.report.skipped.entry(reason).or_default() += n;
        }
        let prices = self.prices.into_sorted();
        let stocks = self.stocks.into_sorted();
        let offer_ids: Vec<i64> = prices
            .iter()
            .map(|p| p.offer)
            .chain(stocks.iter().map(|s| s.offer))
            .collect();
        let offers = names(
            txn,
            "SELECT o.id, o.onec_id, COALESCE(o.name, p.name, o.onec_id) FROM offers o \
             LEFT JOIN products p ON p.id = o.product_id WHERE ",
            "o.id",
            offer_ids,
        )
        .await
        .map_err(reading("offers"))?;
        let types = names(
            txn,
            "SELECT id, onec_id, name FROM price_types WHERE ",
            "id",
            prices.iter().map(|p| p.price_type).collect(),
        )
        .await
        .map_err(reading("price_types"))?;
        let warehouses = names(
            txn,
            "SELECT id, onec_id, name FROM warehouses WHERE ",
            "id",
            stocks.iter().map(|s| s.warehouse).collect(),
        )
        .await
        .map_err(reading("warehouses"))?;
        let get = |m: &HashMap<i64, Named>, id: i64| m.get(&id).cloned().unwrap_or_default();
        self.report.price_changes = prices
            .into_iter()
            .map(|p| PriceChange {
                offer: get(&offers, p.offer),
                price_type: get(&types, p.price_type),
                old_e4: p.old,
                new_e4: p.new,
                percent_e2: (p.old != 0).then(|| {
                    let v = (i128::from(p.new) - i128::from(p.old)) * 10_000 / i128::from(p.old);
                    i64::try_from(v).unwrap_or(i64::MAX)
                }),
            })
            .collect();
        self.report.stock_changes = stocks
            .into_iter()
            .map(|s| StockChange {
                offer: get(&offers, s.offer),
                warehouse: get(&warehouses, s.warehouse),
                old_e4: s.old,
                new_e4: s.new,
            })
            .collect();

        let l = self.limits;
        if self.price_jumps > 0 {
            self.report.warnings.push(ChangeWarning::PriceJumps {
                count: self.price_jumps,
                limit_percent: l.price_jump_percent,
            });
        }
        let deactivated = self.report.of(ChangeEntity::Products).deactivated;
        if deactivated > 0
            && u128::from(deactivated) * 100
                > u128::from(l.deactivated_share_percent) * u128::from(self.active_products_before)
        {
            self.report.warnings.push(ChangeWarning::MassDeactivation {
                deactivated,
                active_before: self.active_products_before,
                limit_percent: l.deactivated_share_percent,
            });
        }
        if self.stock_zero > 0
            && u128::from(self.stock_zero) * 100
                > u128::from(l.stock_zero_share_percent) * u128::from(self.stock_offers)
        {
            self.report.warnings.push(ChangeWarning::StockToZero {
                offers: self.stock_zero,
                of_offers: self.stock_offers,
                limit_percent: l.stock_zero_share_percent,
            });
        }
        if self.prices_lost > 0 {
            self.report.warnings.push(ChangeWarning::PricesLost {
                offers: self.prices_lost,
            });
        }
        Ok(self.report)
    }
}

/// `id → (onec_id, name)` of a few rows.
async fn names(
    txn: &DatabaseTransaction,
    select: &str,
    col: &str,
    mut ids: Vec<i64>,
) -> Result<HashMap<i64, Named>, DbErr> {
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let backend = txn.get_database_backend();
    let (filter, values) = in_ids(backend, col, &ids);
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!("{select}{filter}"),
            values,
        ))
        .await?;
    for row in rows {
        let id: i64 = row.try_get_by_index(0)?;
        out.insert(
            id,
            Named {
                onec_id: row.try_get_by_index(1)?,
                name: row.try_get_by_index(2)?,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_keeps_the_largest_bounded() {
        let mut t = Top::new();
        for i in 0..1000i64 {
            t.offer(i128::from((i * 7919) % 1000), i);
        }
        let v = t.into_sorted();
        assert_eq!(v.len(), CHANGE_EXAMPLES);
        let ranks: Vec<i64> = v.iter().map(|i| (i * 7919) % 1000).collect();
        assert_eq!(ranks, (980..1000).rev().collect::<Vec<_>>());
    }
}
