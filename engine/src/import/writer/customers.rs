//! Flushing customers (`Контрагент`): requisites as columns; contacts, addresses and bank
//! accounts as JSON arrays in their text columns:
//! - `contacts`: `[{"type": "Почта", "value": "…"}]`
//! - `addresses`: `[{"kind": "АдресРегистрации", "presentation": "…", "fields": [{"type": "Город", "value": "…"}]}]`
//! - `bank_accounts`: `[{"number": "…", "bank_name": "…", "bik": "…", "correspondent_account": "…"}]`
use commerceml::Customer;
use sea_orm::Value;
use serde_json::json;

use super::Importer;
use crate::import::ImportError;
use crate::import::sql::{opt_str, str_val};
use crate::import::tables::CUSTOMERS;
use wire::Counter;

/// `contacts` JSON of a customer.
pub(crate) fn contacts_json(c: &Customer) -> String {
    json!(
        c.contacts
            .iter()
            .map(|(t, v)| json!({"type": t, "value": v}))
            .collect::<Vec<_>>()
    )
    .to_string()
}

/// `addresses` JSON of a customer.
pub(crate) fn addresses_json(c: &Customer) -> String {
    json!(
        c.addresses
            .iter()
            .map(|a| json!({
                "kind": a.kind,
                "presentation": a.presentation,
                "fields": a.fields.iter().map(|(t, v)| json!({"type": t, "value": v})).collect::<Vec<_>>(),
            }))
            .collect::<Vec<_>>()
    )
    .to_string()
}

/// `bank_accounts` JSON of a customer.
pub(crate) fn bank_accounts_json(c: &Customer) -> String {
    json!(
        c.bank_accounts
            .iter()
            .map(|b| json!({
                "number": b.number,
                "bank_name": b.bank_name,
                "bik": b.bik,
                "correspondent_account": b.correspondent_account,
            }))
            .collect::<Vec<_>>()
    )
    .to_string()
}

impl Importer<'_> {
    pub(super) async fn flush_customers(&mut self) -> Result<(), ImportError> {
        let list = self.batches.take_customers();
        if list.is_empty() {
            return Ok(());
        }
        self.count_batch(Counter::Customers, &list, |c| c.deleted);
        let rows = list
            .iter()
            .map(|c| {
                vec![
                    str_val(&c.id),
                    str_val(&c.name),
                    opt_str(c.full_name.as_deref()),
                    opt_str(c.role.as_deref()),
                    opt_str(c.inn.as_deref()),
                    opt_str(c.kpp.as_deref()),
                    opt_str(c.okpo.as_deref()),
                    Value::String(Some(contacts_json(c))),
                    Value::String(Some(addresses_json(c))),
                    Value::String(Some(bank_accounts_json(c))),
                    Value::Bool(Some(c.deleted)),
                ]
            })
            .collect();
        self.write(&CUSTOMERS, rows, self.mode("customers")).await?;
        Ok(())
    }
}
