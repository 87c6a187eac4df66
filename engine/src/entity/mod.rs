//! sea-orm entities, one module per table (see docs/architecture/20-1c-integration.md).
pub mod admins;
pub mod categories;
pub mod customers;
pub mod exchange_requests;
pub mod import_runs;
pub mod import_sessions;
pub mod offer_characteristics;
pub mod offers;
pub mod price_types;
pub mod prices;
pub mod product_property_values;
pub mod products;
pub mod properties;
pub mod property_values;
pub mod stocks;
pub mod units;
pub mod warehouses;
pub mod web_sessions;

/// The `mode` of an `import_runs` / `import_sessions` row being inserted: an insert that does not
/// say it is an import, written out rather than left to the column's default. On SQLite a row
/// inserted without `mode` came back from the insert without it («Missing value for column
/// 'mode'») — the column was added by `ALTER TABLE … ADD COLUMN … DEFAULT`, which PostgreSQL
/// returns and SQLite here did not.
pub(crate) fn mode_on_insert(mode: &mut sea_orm::ActiveValue<String>, insert: bool) {
    if insert && mode.is_not_set() {
        *mode = sea_orm::ActiveValue::Set(wire::RunMode::Import.as_str().to_owned());
    }
}
