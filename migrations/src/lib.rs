//! The shop schema as sea-orm migrations, identical on SQLite and PostgreSQL.
//!
//! Rules (see `migrations/README.md`): a migration that has reached `main` is never edited; a
//! change is a new file listed last in [`Migrator::migrations`].
pub use sea_orm_migration::prelude::*;

pub use m20261201_000006_child_reference_checks::CHILD_REFERENCES;

mod m20261125_000001_catalog;
mod m20261125_000002_customers;
mod m20261125_000003_import_sessions;
mod m20261125_000004_admins;
mod m20261130_000005_child_rows_without_fk;
mod m20261201_000006_child_reference_checks;
mod m20261201_000007_admin_disabled;
mod m20261201_000008_session_preview;
mod m20261203_000009_account_roles;
mod m20261203_000010_run_origin;
mod m20261204_000011_exchange_journal;
mod m20261204_000012_exchange_request_kind;

/// Applies every migration of the product in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_catalog::Migration),
            Box::new(m20261125_000002_customers::Migration),
            Box::new(m20261125_000003_import_sessions::Migration),
            Box::new(m20261125_000004_admins::Migration),
            Box::new(m20261130_000005_child_rows_without_fk::Migration),
            Box::new(m20261201_000006_child_reference_checks::Migration),
            Box::new(m20261201_000007_admin_disabled::Migration),
            Box::new(m20261201_000008_session_preview::Migration),
            Box::new(m20261203_000009_account_roles::Migration),
            Box::new(m20261203_000010_run_origin::Migration),
            Box::new(m20261204_000011_exchange_journal::Migration),
            Box::new(m20261204_000012_exchange_request_kind::Migration),
        ]
    }
}

/// Columns every table that mirrors a 1C record carries.
mod common {
    use sea_orm_migration::{prelude::*, schema::*};

    #[derive(DeriveIden)]
    pub enum Common {
        Id,
        OnecId,
        IsDeleted,
        UpdatedAt,
    }

    /// `id` (64-bit, auto), `onec_id` (the 1C `Ид`, unique), and the deletion flag and
    /// `updated_at` stamp every 1C record keeps.
    pub fn onec_table<T: IntoIden + 'static>(name: T) -> TableCreateStatement {
        Table::create()
            .table(name)
            .if_not_exists()
            .col(big_pk_auto(Common::Id))
            .col(string_uniq(Common::OnecId))
            .col(boolean(Common::IsDeleted).default(false))
            .col(timestamp_with_time_zone(Common::UpdatedAt).default(Expr::current_timestamp()))
            .to_owned()
    }

    /// A plain index named `idx_<table>_<cols>`.
    pub fn index<T: IntoIden + 'static>(
        table: T,
        name: &str,
        cols: &[&'static str],
    ) -> IndexCreateStatement {
        let mut idx = Index::create();
        idx.name(name).table(table).if_not_exists();
        for c in cols {
            idx.col(Alias::new(*c));
        }
        idx.to_owned()
    }

    /// A foreign key from `from.col` to `to.id`.
    pub fn fk<F: IntoIden + 'static, T: IntoIden + 'static>(
        from: F,
        col: &'static str,
        to: T,
        on_delete: ForeignKeyAction,
    ) -> ForeignKeyCreateStatement {
        ForeignKey::create()
            .from(from, Alias::new(col))
            .to(to, Common::Id)
            .on_delete(on_delete)
            .to_owned()
    }
}
