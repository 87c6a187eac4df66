//! `mode=deactivate&timestamp=…`: 1C-Bitrix's add-on asks, after a full exchange, that what
//! the exchange did not mention be taken off sale.
//!
//! Only when `ONEC_EXCHANGE_DEACTIVATE` is on (else `success` «Деактивация пропущена: не
//! включена в настройках»), and only after an exchange that was *full*: its files were imported
//! into the database (`ONEC_EXCHANGE_MODE=import`), among them at least one catalog file
//! (products), every catalog and offers file of the exchange was imported, and no CommerceML 2.x
//! file of them says `СодержитТолькоИзменения=true`. Otherwise the reply is `success` with the
//! reason it was skipped — 1C goes on to `complete`.
//!
//! In 3.x the attribute means nothing: 1C writes `true` into every file of a packet, full or not
//! (its own 3.1 samples do), and the 1C-Bitrix add-on sends `deactivate` only after a *full*
//! packet export («Деактивация элементов, не попавших в полную пакетную выгрузку»). So a 3.x
//! exchange is taken as full when 1C asks; the share limit below still guards against a wrong
//! one.
//!
//! The products (`Ид` of each `Товар`) and offers (`Ид` of each `Предложение`, `product#variant`
//! as the importer stores it) the exchange mentions are collected by streaming its files, then
//! [`engine::deactivate::deactivate_missing`] marks the rest deleted in one transaction, under
//! the import lock the administrator's imports take (while another import holds it: `progress`
//! «Ожидание: выполняется другой импорт», for at most `ONEC_EXCHANGE_WAIT_SECS`). More than
//! `ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT` of the active products (or offers) at once is
//! refused with a `failure` and nothing changes.
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use app::ssr::AppState;
use commerceml::{Item, Kind, Record};
use engine::deactivate::{DeactivateError, Rows};
use engine::redis::aio::ConnectionManager;
use engine::run::lock::{ImportLock, LOCK_TTL, RENEW_EVERY, Renewal};
use exchange::Reply;
use wire::ExchangeMode;
use wire::text::count_noun;

use super::run::{RunRecord, blocking, current, store};
use super::session::Session;
use super::spool;
use super::{Ctx, REDIS_DOWN};

/// The reply when the setting is off.
pub const OFF: &str = "Деактивация пропущена: не включена в настройках";
/// What `RunRecord::waiting` names while deactivation waits for the import lock.
const WAITING: &str = "mode=deactivate";

/// `success` with why nothing was done.
fn skipped(why: &str) -> Reply {
    Reply::success().line(format!("Деактивация пропущена: {why}"))
}

fn redis_down(e: impl std::fmt::Display) -> Reply {
    tracing::warn!(error = %e, "1C exchange: Redis unavailable");
    Reply::failure(REDIS_DOWN)
}

/// Whether a file says it carries changes only, where that means something: a CommerceML 2.x
/// catalog or offers package (see the module's text for 3.x).
fn changes_only<R: std::io::BufRead>(reader: &commerceml::RecordReader<R>) -> bool {
    matches!(reader.kind(), Some(Kind::Import2x | Kind::Offers2x))
        && reader.header().is_some_and(|h| h.only_changes)
}

/// Whether a file of this kind names products (`Some(true)`) or offers (`Some(false)`).
fn names_products(kind: Kind) -> Option<bool> {
    match kind {
        Kind::Goods | Kind::Import2x => Some(true),
        Kind::Offers | Kind::Offers2x => Some(false),
        _ => None,
    }
}

/// The exchange's catalog and offers files by name (`true`: a catalog file).
type Files = Vec<(String, bool)>;

/// Reads the beginning of every `.xml` file of the exchange's folder: which are catalog and
/// offers files, and whether the exchange is full (`Err`: why not).
fn survey(dir: &Path, rec: &RunRecord) -> std::io::Result<Result<Files, String>> {
    let mut files = Vec::new();
    let (mut not_imported, mut partial) = (Vec::new(), Vec::new());
    for name in spool::xml_files(dir)? {
        // A file that is not CommerceML is no catalog; `complete` refuses the exchange for it.
        let Ok(reader) = commerceml::open_file(&dir.join(&name)) else {
            continue;
        };
        let Some(products) = reader.kind().and_then(names_products) else {
            continue;
        };
        if !(rec.checked.contains(&name) && rec.runs.contains_key(&name)) {
            not_imported.push(name.clone());
        }
        if changes_only(&reader) {
            partial.push(name.clone());
        }
        files.push((name, products));
    }
    Ok(if !files.iter().any(|(_, products)| *products) {
        Err("в обмене не было каталога товаров".into())
    } else if !not_imported.is_empty() {
        Err(format!(
            "не загружены файлы {}",
            not_imported
                .iter()
                .map(|n| format!("«{n}»"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else if !partial.is_empty() {
        Err("выгрузка содержит только изменения".into())
    } else {
        Ok(files)
    })
}

/// What the exchange's files mention.
#[derive(Debug, Default)]
struct Mentioned {
    products: HashSet<String>,
    /// `None` when the exchange had no offers file.
    offers: Option<HashSet<String>>,
}

/// Streams the files for the ids they mention. `Ok(Err(why))`: skipped after all (a file says
/// «only changes» further in, or the catalog named no product); `Err`: a file is unreadable.
fn collect(dir: &Path, files: &Files) -> Result<Result<Mentioned, String>, String> {
    let mut m = Mentioned::default();
    for (name, products) in files {
        let unreadable = |mut e: commerceml::Error| {
            e.file = Some(PathBuf::from(name));
            format!("Деактивация не выполнена: {e}")
        };
        let mut reader = commerceml::open_file(&dir.join(name)).map_err(unreadable)?;
        if !*products {
            m.offers.get_or_insert_default();
        }
        for item in reader.by_ref() {
            match item.map_err(unreadable)? {
                Item::Record(Record::Product(p)) if *products => {
                    m.products.insert(p.id);
                }
                Item::Record(Record::Offer(o)) if !*products => {
                    if let Some(set) = m.offers.as_mut() {
                        set.insert(o.id.to_string());
                    }
                }
                _ => {}
            }
        }
        if changes_only(&reader) {
            return Ok(Err("выгрузка содержит только изменения".into()));
        }
    }
    if m.products.is_empty() {
        return Ok(Err("в обмене не было каталога товаров".into()));
    }
    Ok(Ok(m))
}

/// `mode=deactivate`: see the module's text.
pub async fn deactivate(app: &AppState, ctx: &Ctx, session: &Session) -> Result<Reply, Reply> {
    if !ctx.ex.settings.deactivate {
        return Ok(Reply::success().line(OFF));
    }
    let (mut rec, dir) = current(ctx, session).await?;
    if ctx.ex.settings.mode == ExchangeMode::Receive {
        return Ok(skipped(
            "файлы обмена только принимаются (ONEC_EXCHANGE_MODE=receive), в базу они не загружались",
        ));
    }
    if rec.uploading.is_some() || !rec.zips.is_empty() {
        return Ok(skipped("обмен получен не целиком"));
    }
    let (d, r) = (dir.clone(), rec.clone());
    let files = match blocking(move || survey(&d, &r)).await {
        Ok(Ok(files)) => files,
        Ok(Err(why)) => {
            tracing::info!(exchange = %rec.id, reason = %why, "1C exchange: deactivation skipped");
            return Ok(skipped(&why));
        }
        Err(e) => {
            return Err(Reply::failure(format!(
                "Деактивация не выполнена: папка обмена не читается: {e}"
            )));
        }
    };

    let mut conn = ctx.redis.conn().await.map_err(redis_down)?;
    let key = engine::run::Keys::new(&ctx.ex.prefix).lock();
    let lock = ImportLock::acquire(&mut conn, &key, &format!("deactivate-{}", rec.id), LOCK_TTL)
        .await
        .map_err(redis_down)?;
    let Some(lock) = lock else {
        return super::import::wait_for_lock(ctx, &mut rec, WAITING, |wait| {
            format!(
                "Деактивация не выполнена: другой импорт выполняется дольше {wait} с \
                 (ONEC_EXCHANGE_WAIT_SECS). Повторите обмен позже"
            )
        })
        .await;
    };
    let renewer = Renewer::start(lock.clone(), conn.clone());
    let done = work(app, ctx, &mut rec, dir, files).await;
    drop(renewer);
    if let Err(e) = lock.release(&mut conn).await {
        tracing::warn!(error = %e, "1C exchange: the import lock was not released (it lapses by itself)");
    }
    done
}

/// Under the import lock: the ids, then the database.
async fn work(
    app: &AppState,
    ctx: &Ctx,
    rec: &mut RunRecord,
    dir: PathBuf,
    files: Files,
) -> Result<Reply, Reply> {
    if rec.waiting.take().is_some() {
        store(ctx, rec).await?;
    }
    let mentioned = match blocking(move || Ok(collect(&dir, &files))).await {
        Ok(Ok(Ok(m))) => m,
        Ok(Ok(Err(why))) => {
            tracing::info!(exchange = %rec.id, reason = %why, "1C exchange: deactivation skipped");
            return Ok(skipped(&why));
        }
        Ok(Err(text)) => {
            tracing::warn!(exchange = %rec.id, error = %text, "1C exchange: deactivation failed");
            return Err(Reply::failure(text));
        }
        Err(e) => return Err(Reply::failure(format!("Деактивация не выполнена: {e}"))),
    };
    let limits = app.runner.change_limits();
    let result = engine::deactivate::deactivate_missing(
        &app.db,
        &mentioned.products,
        mentioned.offers.as_ref(),
        limits,
    )
    .await;
    match result {
        Ok(done) => {
            tracing::info!(
                exchange = %rec.id,
                products = done.products,
                offers = done.offers,
                active_products = done.active_products,
                active_offers = done.active_offers,
                "1C exchange: deactivated what the full exchange did not mention"
            );
            Ok(Reply::success().line(format!(
                "Деактивировано: {}, {}",
                count_noun(done.products, "товар", "товара", "товаров"),
                count_noun(done.offers, "предложение", "предложения", "предложений"),
            )))
        }
        Err(DeactivateError::TooMany {
            rows,
            would,
            active,
            limit_percent,
        }) => {
            tracing::warn!(
                exchange = %rec.id, would, active, limit_percent,
                "1C exchange: deactivation refused, over the change limit"
            );
            let of = match rows {
                Rows::Products => "товаров",
                Rows::Offers => "предложений",
            };
            Err(Reply::failure(format!(
                "Деактивация отменена: сняты были бы {would} из {active} активных {of} — больше \
                 {limit_percent} % (ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT). Ничего не изменено: \
                 проверьте выгрузку или поднимите порог"
            )))
        }
        Err(e @ DeactivateError::Db(_)) => {
            tracing::error!(exchange = %rec.id, error = %e, "1C exchange: deactivation failed");
            Err(Reply::failure(format!(
                "Деактивация не выполнена, данные не изменены: {e}"
            )))
        }
    }
}

/// Renews the import lock while deactivation works; stops when dropped.
struct Renewer(tokio::task::JoinHandle<()>);

impl Renewer {
    fn start(lock: ImportLock, mut conn: ConnectionManager) -> Renewer {
        Renewer(tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                match lock.renew(&mut conn).await {
                    Ok(Renewal::Renewed | Renewal::Reestablished) => {}
                    Ok(Renewal::Lost) => {
                        tracing::error!(
                            "1C exchange: the import lock was taken during deactivation"
                        );
                        return;
                    }
                    Err(e) => tracing::warn!(error = %e, "1C exchange: import lock renewal failed"),
                }
            }
        }))
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_catalog_and_offers_files_name_what_is_kept() {
        assert_eq!(names_products(Kind::Goods), Some(true));
        assert_eq!(names_products(Kind::Import2x), Some(true));
        assert_eq!(names_products(Kind::Offers), Some(false));
        assert_eq!(names_products(Kind::Offers2x), Some(false));
        for k in [Kind::Prices, Kind::Rests, Kind::Groups, Kind::Contragents] {
            assert_eq!(names_products(k), None, "{k:?}");
        }
        assert_eq!(
            skipped("выгрузка содержит только изменения").to_string(),
            "success\nДеактивация пропущена: выгрузка содержит только изменения"
        );
    }
}
