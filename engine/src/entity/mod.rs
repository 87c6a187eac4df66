//! sea-orm entities, one module per table (see docs/architecture/20-1c-integration.md).
pub mod admins;
pub mod categories;
pub mod customers;
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
