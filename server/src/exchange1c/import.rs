//! `mode=import&filename=…`: 1C asks for one received file to be taken in, and repeats the
//! request while the answer is `progress`.
//!
//! The first call unpacks what archives wait and reads the file's beginning: a file never
//! received, or one that is not CommerceML, is a `failure`. Then, as `ONEC_EXCHANGE_MODE` says:
//! - `import` (the default): the file is imported through the same [`Runner`] as an
//!   administrator's import (the same Redis lock, one session per kind, the same counts and live
//!   events; the run is recorded with the exchange's id and the origin «1С (обмен)»). The call
//!   answers within [`ANSWER_WITHIN`]: `progress` with the counts so far while it runs,
//!   `success` once its data is committed, `failure` with the reason otherwise. Files of the
//!   catalog that this exchange received and did not import yet are imported first (1C sends
//!   them in that order; one that does not still lands on its catalog). While another import
//!   holds the lock the answer is `progress` «Ожидание: выполняется другой импорт», for at most
//!   `ONEC_EXCHANGE_WAIT_SECS`, then `failure`.
//! - `receive`: the file is only checked; the administrator imports the published export.
//!
//! Either way a file counts as taken in (for publishing the exchange, see [`super::run`]) only
//! after its `success`.
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::ssr::AppState;
use engine::run::{RunOptions, StartError, StartRequest};
use exchange::{Query, Reply, SpoolName};
use wire::text::thousands;
use wire::{ExchangeMode, ImportKind, KindPhase, RunOrigin, RunPhase, RunState};

use super::run::{RunRecord, blocking, current, spool_name, store, unpack_pending};
use super::session::Session;
use super::spool;
use super::{Ctx, REDIS_DOWN};

/// How long one `import` call waits for its file's import before answering `progress`.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How often a waiting call looks at the run's state.
const POLL: Duration = Duration::from_millis(100);

/// What `import` found at a name.
pub(super) enum Found {
    /// No regular file there (never received, or a folder).
    Missing,
    /// Not CommerceML: why, in Russian.
    Refused(String),
    /// A CommerceML file of this kind.
    Checked(commerceml::Kind),
}

/// Reads the beginning of the exchange's file `name` (inside `dir`, the canonical folder).
pub(super) async fn inspect(dir: &Path, name: &SpoolName) -> Result<Found, Reply> {
    let path = name.under(dir);
    let root = dir.to_path_buf();
    let shown = PathBuf::from(name.as_str());
    blocking(move || {
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Ok(Found::Missing),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Missing),
            Err(e) => return Err(e),
        }
        if !std::fs::canonicalize(&path)?.starts_with(&root) {
            return Ok(Found::Missing);
        }
        Ok(match commerceml::inspect(&path) {
            Ok(f) => Found::Checked(f.kind),
            Err(mut e) => {
                // The name as 1C knows it, not the server's path.
                e.file = Some(shown);
                Found::Refused(e.to_string())
            }
        })
    })
    .await
    .map_err(|e| Reply::failure(format!("Файл «{name}» не прочитан: {e}")))
}

/// The kind of import a file of this CommerceML kind is taken in by.
pub fn import_kind(kind: commerceml::Kind) -> ImportKind {
    use commerceml::Kind as K;
    match kind {
        K::Contragents => ImportKind::Customers,
        K::Rests => ImportKind::Stocks,
        K::Prices => ImportKind::Prices,
        // The classifier, products, offers, and a 2.x offers file with its prices and stock:
        // the catalog import applies all of them, as it does for the whole export.
        K::Units
        | K::Storages
        | K::PriceLists
        | K::Groups
        | K::PropertiesGoods
        | K::PropertiesOffers
        | K::Import2x
        | K::Goods
        | K::Offers
        | K::Offers2x => ImportKind::Catalog,
    }
}

/// Whether a file of kind `file` must wait for a file of kind `parent` of the same exchange:
/// everything but customers lands on the catalog, and the catalog's files on its earlier ones.
pub fn waits_for(file: commerceml::Kind, parent: commerceml::Kind) -> bool {
    import_kind(parent) == ImportKind::Catalog
        && import_kind(file) != ImportKind::Customers
        && parent.import_rank() < file.import_rank()
}

/// `mode=import`: see the module's text.
pub async fn import(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    query: &Query,
) -> Result<Reply, Reply> {
    let (mut rec, dir) = current(ctx, session).await?;
    unpack_pending(ctx, &mut rec, &dir).await?;
    let name = spool_name(query)?;
    if let Some(run_id) = rec.runs.get(name.as_str()).cloned() {
        return follow(app, ctx, &mut rec, &name, &run_id).await;
    }
    let kind = match inspect(&dir, &name).await? {
        Found::Missing => {
            tracing::warn!(exchange = %rec.id, file = %name, "1C exchange: import of a file never received");
            return Err(Reply::failure(format!("Файл «{name}» не получен")));
        }
        Found::Refused(why) => {
            tracing::warn!(exchange = %rec.id, file = %name, error = %why, "1C exchange: not a CommerceML file");
            rec.checked.remove(name.as_str());
            store(ctx, &rec).await?;
            return Err(Reply::failure(why));
        }
        Found::Checked(kind) => kind,
    };
    if ctx.ex.settings.mode == ExchangeMode::Receive {
        rec.checked.insert(name.to_string());
        store(ctx, &rec).await?;
        tracing::info!(exchange = %rec.id, file = %name, %kind, "1C exchange: file checked");
        return Ok(Reply::success().line(format!("Файл «{name}» получен и проверен: {kind}")));
    }
    let parents = pending(&dir, &rec, &name).await?;
    if rec.runs.is_empty() && rec.checked.is_empty() && !parents.is_empty() {
        // The exchange's first `import`, with more files received (an archive, or 1C sent the
        // whole folder first): one run takes them all in, as the CLI does a whole export, and
        // the later `import` calls follow it. One run reads each table's ids once, where a run
        // per file would read them again for every segment.
        let mut files = parents;
        files.push((name.clone(), kind));
        return start(app, ctx, &mut rec, &dir, &name, &files).await;
    }
    // A catalog file of this exchange still to be imported goes first.
    if let Some((parent, parent_kind)) = parents.into_iter().find(|(_, k)| waits_for(kind, *k)) {
        return match rec.runs.get(parent.as_str()).cloned() {
            Some(run_id) => match follow(app, ctx, &mut rec, &parent, &run_id).await {
                Ok(r) if r.status == exchange::Status::Success => Ok(Reply::progress(format!(
                    "Файл «{parent}» загружен, очередь файла «{name}»"
                ))),
                Ok(r) => Ok(waiting_for(&parent, &name, r)),
                Err(r) => Err(Reply::failure(format!(
                    "Файл «{name}» не загружен: не загрузился файл каталога «{parent}»"
                ))
                .lines_of(r)),
            },
            None => start(
                app,
                ctx,
                &mut rec,
                &dir,
                &parent,
                &[(parent.clone(), parent_kind)],
            )
            .await
            .map(|r| waiting_for(&parent, &name, r)),
        };
    }
    start(app, ctx, &mut rec, &dir, &name, &[(name.clone(), kind)]).await
}

/// `progress` for a file waiting for `parent`, with the parent's own answer.
fn waiting_for(parent: &SpoolName, name: &SpoolName, r: Reply) -> Reply {
    Reply::progress(format!(
        "Сначала загружается файл каталога «{parent}», затем «{name}»"
    ))
    .lines_of(r)
}

/// The exchange's CommerceML files other than `name` not taken in yet, with their kinds, in
/// import order (files that are not CommerceML are left for their own `import` to refuse).
async fn pending(
    dir: &Path,
    rec: &RunRecord,
    name: &SpoolName,
) -> Result<Vec<(SpoolName, commerceml::Kind)>, Reply> {
    let folder = dir.to_path_buf();
    let names = blocking(move || spool::xml_files(&folder))
        .await
        .map_err(|e| Reply::failure(format!("Папка обмена не читается: {e}")))?;
    let mut out = Vec::new();
    for other in names {
        if other == name.as_str() || rec.checked.contains(&other) {
            continue;
        }
        let Ok(other) = SpoolName::parse(&other) else {
            continue;
        };
        if let Found::Checked(kind) = inspect(dir, &other).await? {
            out.push((other, kind));
        }
    }
    out.sort_by_key(|(n, k)| (k.import_rank(), n.as_str().to_owned()));
    Ok(out)
}

/// Starts the import of `files` (with their CommerceML kinds), then answers for `name`, one of
/// them, as [`follow`]. One file is read alone; several are read as the whole folder is (they
/// are then every CommerceML file of the exchange).
async fn start(
    app: &AppState,
    ctx: &Ctx,
    rec: &mut RunRecord,
    dir: &Path,
    name: &SpoolName,
    files: &[(SpoolName, commerceml::Kind)],
) -> Result<Reply, Reply> {
    let kinds: Vec<ImportKind> = files.iter().map(|(_, k)| import_kind(*k)).collect();
    let file = match files {
        [(one, _)] => Some(one.under(dir)),
        _ => None,
    };
    let req = StartRequest {
        kinds,
        started_by: rec.login.clone(),
        origin: RunOrigin::Exchange,
        options: RunOptions {
            data_dir: Some(dir.to_path_buf()),
            file,
            exchange_id: Some(rec.id.clone()),
            ..RunOptions::default()
        },
    };
    match app.runner.start(req).await {
        Ok(handle) => {
            for (file, kind) in files {
                tracing::info!(exchange = %rec.id, file = %file, %kind, run_id = %handle.run_id, "1C exchange: import started");
                rec.runs.insert(file.to_string(), handle.run_id.clone());
                rec.kinds.insert(file.to_string(), import_kind(*kind));
            }
            rec.waiting = None;
            store(ctx, rec).await?;
            follow(app, ctx, rec, name, &handle.run_id).await
        }
        Err(StartError::AlreadyRunning) => {
            wait_for_lock(ctx, rec, name.as_str(), |wait| {
                format!(
                    "Файл «{name}» не загружен: другой импорт выполняется дольше {wait} с \
                     (ONEC_EXCHANGE_WAIT_SECS). Повторите обмен позже"
                )
            })
            .await
        }
        Err(e) => {
            tracing::warn!(exchange = %rec.id, file = %name, error = %e, "1C exchange: import refused");
            Err(Reply::failure(format!(
                "Файл «{name}» не загружен: {}",
                plain(&e.to_string())
            )))
        }
    }
}

/// `progress` while another import holds the lock, until `ONEC_EXCHANGE_WAIT_SECS` have passed
/// since `what` (a file, or deactivation) first met it; then `failure` with `gave_up(<seconds>)`.
pub(super) async fn wait_for_lock(
    ctx: &Ctx,
    rec: &mut RunRecord,
    what: &str,
    gave_up: impl FnOnce(u64) -> String,
) -> Result<Reply, Reply> {
    let now = chrono::Utc::now().timestamp();
    let since = match &rec.waiting {
        Some((waiting, since)) if waiting == what => *since,
        _ => {
            rec.waiting = Some((what.to_owned(), now));
            store(ctx, rec).await?;
            now
        }
    };
    let wait = ctx.ex.settings.wait.as_secs();
    if now.saturating_sub(since) >= wait as i64 {
        rec.waiting = None;
        store(ctx, rec).await?;
        tracing::warn!(exchange = %rec.id, what, "1C exchange: gave up waiting for another import");
        return Err(Reply::failure(gave_up(wait)));
    }
    Ok(Reply::progress("Ожидание: выполняется другой импорт"))
}

/// Where file `name`'s import (run `run_id`) stands, waiting up to [`ANSWER_WITHIN`] for its
/// end: `success` once committed (the file is then taken in), `failure` with the reason,
/// else `progress` with the counts so far.
async fn follow(
    app: &AppState,
    ctx: &Ctx,
    rec: &mut RunRecord,
    name: &SpoolName,
    run_id: &str,
) -> Result<Reply, Reply> {
    let deadline = Instant::now() + ANSWER_WITHIN;
    loop {
        let state = app.runner.state(run_id).await.map_err(|e| {
            tracing::warn!(error = %e, "1C exchange: Redis unavailable");
            Reply::failure(REDIS_DOWN)
        })?;
        let Some(state) = state else {
            rec.runs.remove(name.as_str());
            store(ctx, rec).await?;
            return Err(Reply::failure(format!(
                "Файл «{name}» не загружен: состояние его импорта утеряно. Повторите обмен"
            )));
        };
        let kind = rec.kinds.get(name.as_str()).copied();
        let own_done = kind.is_some_and(|kind| {
            state
                .kinds
                .iter()
                .any(|k| k.kind == kind && k.phase == KindPhase::Done)
        });
        if state.is_finished() || own_done {
            return ended(ctx, rec, name, &state).await;
        }
        if Instant::now() >= deadline {
            return Ok(running(&state));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The answer for file `name` from its run's state, once the run ended or the file's own kind
/// is done: `success` (the file is taken in) when that kind was imported, else `failure` with
/// the reason. A file of an older record (no kind noted) answers for the whole run.
async fn ended(
    ctx: &Ctx,
    rec: &mut RunRecord,
    name: &SpoolName,
    state: &RunState,
) -> Result<Reply, Reply> {
    let kind = rec.kinds.get(name.as_str()).copied();
    let own: Vec<&wire::KindState> = state
        .kinds
        .iter()
        .filter(|k| kind.is_none_or(|kind| k.kind == kind))
        .collect();
    let done = match kind {
        Some(_) => !own.is_empty() && own.iter().all(|k| k.phase == KindPhase::Done),
        None => state.phase == RunPhase::Completed,
    };
    if done {
        rec.checked.insert(name.to_string());
        store(ctx, rec).await?;
        let mut reply = Reply::success();
        for k in own {
            reply = reply.line(format!(
                "Файл «{name}» загружен: {} — {}",
                k.kind.title(),
                k.kind.headline(&k.counts)
            ));
        }
        return Ok(reply);
    }
    rec.runs.remove(name.as_str());
    rec.kinds.remove(name.as_str());
    rec.checked.remove(name.as_str());
    store(ctx, rec).await?;
    let why = state
        .kinds
        .iter()
        .find(|k| k.phase == KindPhase::Failed)
        .and_then(|k| k.error.clone())
        .or_else(|| state.message.clone())
        .unwrap_or_else(|| "импорт прерван".into());
    Err(Reply::failure(format!(
        "Файл «{name}» не загружен: {}",
        plain(&why)
    )))
}

/// `progress` with the counts of a running import («Каталог: 12 000 из 100 000 записей»).
fn running(state: &RunState) -> Reply {
    let mut reply = Reply::new(exchange::Status::Progress);
    for k in &state.kinds {
        reply = reply.line(match k.phase {
            KindPhase::Running if k.total > 0 => format!(
                "{}: {} из {} записей",
                k.kind.title(),
                thousands(k.processed),
                thousands(k.total.max(k.processed))
            ),
            KindPhase::Running => format!("{}: {} записей", k.kind.title(), thousands(k.processed)),
            _ => format!("{}: ожидает очереди", k.kind.title()),
        });
    }
    reply
}

/// A message without the emoji and marks the web page starts it with.
fn plain(text: &str) -> String {
    text.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '«')
        .to_owned()
}

/// [`Reply`] lines carried over from another reply.
trait LinesOf {
    fn lines_of(self, other: Reply) -> Self;
}

impl LinesOf for Reply {
    fn lines_of(self, other: Reply) -> Self {
        other.lines.into_iter().fold(self, |r, l| r.line(l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commerceml::Kind as K;

    #[test]
    fn every_file_kind_has_its_import() {
        assert_eq!(import_kind(K::Contragents), ImportKind::Customers);
        assert_eq!(import_kind(K::Rests), ImportKind::Stocks);
        assert_eq!(import_kind(K::Prices), ImportKind::Prices);
        for k in [K::Goods, K::Offers, K::Import2x, K::Offers2x, K::Groups] {
            assert_eq!(import_kind(k), ImportKind::Catalog, "{k:?}");
        }
    }

    #[test]
    fn files_wait_only_for_earlier_catalog_files() {
        assert!(waits_for(K::Offers2x, K::Import2x));
        assert!(waits_for(K::Offers, K::Goods));
        assert!(waits_for(K::Prices, K::Goods));
        assert!(waits_for(K::Rests, K::Offers));
        assert!(!waits_for(K::Goods, K::Offers));
        assert!(!waits_for(K::Rests, K::Prices));
        assert!(!waits_for(K::Contragents, K::Goods));
        assert!(!waits_for(K::Goods, K::Goods));
    }

    #[test]
    fn progress_counts_and_plain_messages() {
        let mut state = RunState::new(
            "r".into(),
            &[ImportKind::Catalog],
            "1c".into(),
            String::new(),
        );
        state.kinds[0].phase = KindPhase::Running;
        state.kinds[0].processed = 12_000;
        state.kinds[0].total = 100_000;
        assert_eq!(
            running(&state).to_string(),
            "progress\nКаталог: 12\u{a0}000 из 100\u{a0}000 записей"
        );
        assert_eq!(
            plain("⚠️ Импорт уже запущен!"),
            "Импорт уже запущен!".to_owned()
        );
        assert_eq!(plain("❌ Ошибка"), "Ошибка");
        let merged = Reply::failure("a").lines_of(Reply::failure("b"));
        assert_eq!(merged.lines, ["a", "b"]);
    }
}
