//! One exchange, from `init` to `complete`: its lock, its record in Redis, its spool folder.
//!
//! - `<prefix>:exchange:current` names the exchange receiving now (`SET NX PX`, the idle time,
//!   refreshed by each of its requests): one exchange at a time per deployment. A second `init`
//!   is refused while it lives, unless that exchange is complete (then it is published first)
//!   or it is the same account's (its 1C started over: the old one is set aside, or finished by
//!   the sweeper once a file it is importing is done).
//! - `<prefix>:exchange:run:<id>` is the exchange's record: who started it, when, which files
//!   `import` checked, which archives wait to be unpacked, which file is being received.
//! - `<prefix>:exchange:bytes:<id>` counts the bytes it stored; space is reserved there before
//!   the bytes are written, so `ONEC_EXCHANGE_MAX_BYTES` holds while a body streams in.
//!
//! An exchange is *complete* when nothing is being received, no archive waits, at least one file
//! was checked and every `.xml` file of its folder was checked by `import` (or its import run
//! committed after 1C stopped asking). Only a complete exchange is ever published; one that ends
//! otherwise is set aside (`.abandoned`).
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderMap, header};
use engine::redis::aio::ConnectionManager;
use engine::redis::{AsyncCommands, Script};
use exchange::{Query, Reply, SpoolName};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::session::{self, Session};
use super::spool::{self, State};
use super::{Ctx, REDIS_DOWN};

/// How long a record outlives its last write (an exchange lasts hours at most).
const RECORD_TTL_SECS: u64 = 7 * 24 * 3600;
/// What one `file` request may carry beyond `file_limit` (headers of a piece, rounding).
pub const SLACK: u64 = 64 * 1024;
/// A body is written to its file in pieces of this size.
const WRITE_BUFFER: usize = 1024 * 1024;
/// Space is reserved in steps of at least this much while a body streams.
const RESERVE_STEP: u64 = 1024 * 1024;

/// What Redis keeps of one exchange.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    /// The exchange account that started it.
    pub login: String,
    /// Unix seconds.
    pub started: i64,
    /// Files taken in by `import`: imported (or, in receive mode, found to be CommerceML).
    pub checked: BTreeSet<String>,
    /// Archives received and not yet unpacked.
    pub zips: BTreeSet<String>,
    /// The file a `file` request is writing (left behind if the server died meanwhile).
    pub uploading: Option<String>,
    /// The import run each file's `import` started, by file name.
    #[serde(default)]
    pub runs: BTreeMap<String, String>,
    /// The kind of import each file of `runs` is taken in by (a run may import several files).
    #[serde(default)]
    pub kinds: BTreeMap<String, wire::ImportKind>,
    /// The file whose `import` waits for another import to end, and since when (Unix seconds).
    #[serde(default)]
    pub waiting: Option<(String, i64)>,
}

/// Takes the lock for `id` when it is free or held by `allowed`; else names its holder.
const ACQUIRE: &str = r"
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ''
end
return v
";

/// Keeps the lock of `id` (taking it again if it lapsed and nobody took it); 0 if another
/// exchange holds it.
const TOUCH: &str = r"
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Extends the lock if `id` holds it.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Frees the lock if `id` holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

fn redis_down(e: impl std::fmt::Display) -> Reply {
    tracing::warn!(error = %e, "1C exchange: Redis unavailable");
    Reply::failure(REDIS_DOWN)
}

async fn conn(ctx: &Ctx) -> Result<ConnectionManager, Reply> {
    ctx.redis.conn().await.map_err(redis_down)
}

fn idle_ms(ctx: &Ctx) -> u64 {
    (ctx.ex.settings.idle.as_millis() as u64).max(1000)
}

/// Runs blocking file work off the async threads; a panic there is an error like any other.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(format!("внутренняя ошибка: {e}"))))
}

pub(super) async fn load(ctx: &Ctx, id: &str) -> Result<Option<RunRecord>, Reply> {
    let json: Option<String> = conn(ctx)
        .await?
        .get(ctx.ex.key_run(id))
        .await
        .map_err(redis_down)?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

pub(super) async fn store(ctx: &Ctx, rec: &RunRecord) -> Result<(), Reply> {
    let json = serde_json::to_string(rec).map_err(redis_down)?;
    conn(ctx)
        .await?
        .set_ex::<_, _, ()>(ctx.ex.key_run(&rec.id), json, RECORD_TTL_SECS)
        .await
        .map_err(redis_down)
}

/// `Ok(None)`: the lock is now `id`'s; `Ok(Some(holder))`: another exchange has it.
async fn acquire(ctx: &Ctx, id: &str, allowed: &str) -> Result<Option<String>, Reply> {
    let holder: String = Script::new(ACQUIRE)
        .key(ctx.ex.key_current())
        .arg(id)
        .arg(idle_ms(ctx))
        .arg(allowed)
        .invoke_async(&mut conn(ctx).await?)
        .await
        .map_err(redis_down)?;
    Ok((!holder.is_empty()).then_some(holder))
}

async fn touch(ctx: &Ctx, id: &str) -> Result<bool, Reply> {
    let ok: i64 = Script::new(TOUCH)
        .key(ctx.ex.key_current())
        .arg(id)
        .arg(idle_ms(ctx))
        .invoke_async(&mut conn(ctx).await?)
        .await
        .map_err(redis_down)?;
    Ok(ok == 1)
}

/// After a request of exchange `id`: its lock (if it still holds it) lasts another idle time
/// from now. The request's start refreshed it too, but an `import` answers only after up to its
/// answer time, which a short idle time would not outlast.
pub async fn extend(ctx: &Ctx, id: &str) {
    if let Ok(mut c) = ctx.redis.conn().await {
        let _: Result<i64, _> = Script::new(EXTEND)
            .key(ctx.ex.key_current())
            .arg(id)
            .arg(idle_ms(ctx))
            .invoke_async(&mut c)
            .await;
    }
}

/// The journal id under which `login`'s refused `init` is recorded: the entry of its previous
/// refusal while they come less than an idle time apart and no `init` of it succeeded since,
/// otherwise a new one. Without Redis, a new one each time.
pub async fn refusal_id(ctx: &Ctx, login: &str) -> String {
    let key = ctx.ex.key_refused(login);
    let Ok(mut c) = ctx.redis.conn().await else {
        return spool::new_id();
    };
    let kept: Option<String> = c.get(&key).await.ok().flatten();
    let id = kept
        .filter(|id| spool::is_id(id))
        .unwrap_or_else(spool::new_id);
    let _: Result<(), _> = c.pset_ex(&key, &id, idle_ms(ctx)).await;
    id
}

/// After `login`'s `init` succeeded: its next refusal starts a new journal entry.
pub async fn forget_refusals(ctx: &Ctx, login: &str) {
    if let Ok(mut c) = ctx.redis.conn().await {
        let _: Result<i64, _> = c.del(ctx.ex.key_refused(login)).await;
    }
}

async fn release(ctx: &Ctx, id: &str) {
    if let Ok(mut c) = ctx.redis.conn().await {
        let _: Result<i64, _> = Script::new(RELEASE)
            .key(ctx.ex.key_current())
            .arg(id)
            .invoke_async(&mut c)
            .await;
    }
}

/// The right to finish (publish or set aside) exchange `id`: one caller gets it.
async fn claim(ctx: &Ctx, id: &str) -> Result<bool, Reply> {
    let got: Option<String> = engine::redis::cmd("SET")
        .arg(ctx.ex.key_finish(id))
        .arg(1)
        .arg("NX")
        .arg("EX")
        .arg(3600)
        .query_async(&mut conn(ctx).await?)
        .await
        .map_err(redis_down)?;
    Ok(got.is_some())
}

/// A Unix time as the refusals show it.
fn shown_time(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%d.%m.%Y %H:%M UTC").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// At most five names, then how many more.
fn some_names<'a>(names: impl IntoIterator<Item = &'a String>) -> String {
    let names: Vec<&String> = names.into_iter().collect();
    let mut out: Vec<String> = names.iter().take(5).map(|n| format!("«{n}»")).collect();
    if names.len() > 5 {
        out.push(format!("и ещё {}", names.len() - 5));
    }
    out.join(", ")
}

/// The files of `rec` taken in: those `import` answered `success` for, and those whose import
/// run committed after 1C stopped asking (1C went quiet while its file was importing: the data
/// is in the database, so the file counts as taken in).
async fn taken_in(ctx: &Ctx, rec: &RunRecord) -> BTreeSet<String> {
    let mut checked = rec.checked.clone();
    let keys = engine::run::Keys::new(&ctx.ex.prefix);
    let Ok(mut c) = ctx.redis.conn().await else {
        return checked;
    };
    for (file, run_id) in &rec.runs {
        if checked.contains(file) {
            continue;
        }
        let state = engine::run::stored_state(&mut c, &keys.state(run_id)).await;
        if state.is_ok_and(|s| s.is_some_and(|s| s.phase == wire::RunPhase::Completed)) {
            checked.insert(file.clone());
        }
    }
    checked
}

/// Whether exchange `rec` is complete (see the module's text); else why not, in Russian.
async fn readiness(ctx: &Ctx, rec: &RunRecord) -> Result<(), String> {
    if let Some(f) = &rec.uploading {
        return Err(format!(
            "файл «{f}» ещё передаётся (или его передача оборвалась)"
        ));
    }
    if !rec.zips.is_empty() {
        return Err(format!(
            "не распакованы архивы {} (не было запроса mode=import)",
            some_names(&rec.zips)
        ));
    }
    let checked = taken_in(ctx, rec).await;
    if checked.is_empty() {
        return Err("ни один файл не проверен (не было запроса mode=import)".into());
    }
    let dir = spool::folder(&ctx.ex.settings.dir, &rec.id, State::Receiving);
    let xml = blocking(move || spool::xml_files(&dir))
        .await
        .map_err(|e| format!("папка обмена не читается: {e}"))?;
    let unchecked: Vec<&String> = xml.iter().filter(|x| !checked.contains(*x)).collect();
    if unchecked.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "не проверены файлы {} (для них не было успешного mode=import)",
            some_names(unchecked)
        ))
    }
}

/// Publishes (`publish`) or sets aside exchange `id`, forgets its record, prunes the spool.
/// The caller holds its [`claim`]. Returns the number of files published.
async fn finish(ctx: &Ctx, id: &str, publish: bool) -> io::Result<usize> {
    let root = ctx.ex.settings.dir.clone();
    let keep = ctx.ex.settings.keep;
    let data_dir = ctx.ex.data_dir.clone();
    let owned = id.to_owned();
    let result = blocking(move || {
        let done = match (publish, data_dir) {
            (true, Some(data_dir)) => spool::publish(&root, &owned, &data_dir),
            (true, None) => Err(io::Error::other("не задан ONEC_DATA_DIR")),
            (false, _) => spool::abandon(&root, &owned).map(|()| 0),
        };
        if done.is_err() && publish {
            // Kept for a look, never published.
            spool::abandon(&root, &owned).ok();
        }
        if let Err(e) = spool::prune(&root, keep) {
            tracing::warn!(error = %e, "1C exchange: could not prune the spool");
        }
        done
    })
    .await;
    if let Ok(mut c) = ctx.redis.conn().await {
        let _: Result<(), _> = c.del(&[ctx.ex.key_run(id), ctx.ex.key_bytes(id)]).await;
    }
    match &result {
        Ok(files) if publish => tracing::info!(exchange = %id, files, "1C exchange published"),
        Ok(_) => tracing::warn!(exchange = %id, "1C exchange set aside unpublished"),
        Err(e) => tracing::error!(exchange = %id, error = %e, "1C exchange could not be finished"),
    }
    result
}

/// Finishes every receiving exchange that is idle: not `except`, not the one holding the
/// exchange lock (read after the spool is listed, so an exchange that `init` is creating is
/// never taken for idle), and not one whose file is importing now. A complete one is
/// published, any other set aside. Oldest first, so the newest complete one ends up as the
/// export.
async fn sweep(ctx: &Ctx, except: &str) -> Result<(), Reply> {
    let root = ctx.ex.settings.dir.clone();
    let all = blocking(move || spool::list(&root))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "1C exchange: could not list the spool");
            Vec::new()
        });
    let mut c = conn(ctx).await?;
    let holder: Option<String> = c.get(ctx.ex.key_current()).await.map_err(redis_down)?;
    // The run id of the import holding the lock (its value is `<run id>:<nonce>`).
    let importing =
        engine::run::lock::holder(&mut c, &engine::run::Keys::new(&ctx.ex.prefix).lock())
            .await
            .map_err(redis_down)?;
    for (id, state) in all {
        if state != State::Receiving || id == except || Some(&id) == holder.as_ref() {
            continue;
        }
        let rec = load(ctx, &id).await?;
        if let (Some(r), Some(run)) = (&rec, &importing)
            && r.runs.values().any(|v| v == run)
        {
            continue;
        }
        if !claim(ctx, &id).await? {
            continue;
        }
        let ready = match &rec {
            Some(rec) => readiness(ctx, rec).await,
            None => Err("запись об обмене утеряна".into()),
        };
        if let Err(why) = &ready {
            tracing::warn!(exchange = %id, reason = %why, "1C exchange ended incomplete");
        }
        finish(ctx, &id, ready.is_ok()).await.ok();
    }
    Ok(())
}

/// Every `ONEC_EXCHANGE_IDLE_SECS / 4` (between 1 s and a minute), finishes the exchanges whose
/// 1C went quiet: classic 1C never sends `complete`, so an exchange whose files were all taken
/// in is published once its lock lapses, and one left unfinished is set aside.
pub fn spawn_sweeper(ctx: Ctx) -> tokio::task::JoinHandle<()> {
    let every = (ctx.ex.settings.idle / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(60),
    );
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            // A Redis outage is logged by `redis_down`; the next round tries again.
            let _ = sweep(&ctx, "").await;
        }
    })
}

/// `mode=init`: a new exchange with its own spool folder. Replies with its parameters.
/// `init`: a new exchange with its own spool folder; the reply and the exchange's id.
pub async fn init(
    ctx: &Ctx,
    mut session: Session,
    query: &Query,
) -> Result<(Reply, String), Reply> {
    if ctx.ex.data_dir.is_none() {
        return Err(Reply::failure(
            "Обмен не настроен: не задан ONEC_DATA_DIR — полученную выгрузку некуда опубликовать",
        ));
    }
    let id = spool::new_id();
    let own = session.entry.exchange.clone().unwrap_or_default();
    if let Some(holder) = acquire(ctx, &id, &own).await? {
        let rec = load(ctx, &holder).await?;
        // A complete exchange whose 1C never said `complete` (classic 1C never does) gives way;
        // so does an unfinished one of the same account: its 1C started over (after a dropped
        // connection 1C repeats the exchange from `checkauth`, with a new session).
        let gives_way = match &rec {
            Some(r) if r.login == session.entry.login => {
                tracing::info!(previous = %holder, login = %r.login, "1C exchange: the account starts over");
                true
            }
            Some(r) => readiness(ctx, r).await.is_ok(),
            None => false,
        };
        if !gives_way || acquire(ctx, &id, &holder).await?.is_some() {
            tracing::info!(holder = %holder, "1C exchange: init refused, another exchange is receiving");
            return Err(Reply::failure(match rec {
                Some(r) => format!(
                    "Уже идёт другой обмен с 1С (начат {}, учётная запись «{}»); повторите позже",
                    shown_time(r.started),
                    r.login
                ),
                None => "Уже идёт другой обмен с 1С; повторите позже".into(),
            }));
        }
    }
    // The lock is this exchange's: whatever else is still receiving is idle.
    if let Err(reply) = sweep(ctx, &id).await {
        release(ctx, &id).await;
        return Err(reply);
    }
    let root = ctx.ex.settings.dir.clone();
    let owned = id.clone();
    if let Err(e) = blocking(move || spool::create(&root, &owned)).await {
        release(ctx, &id).await;
        tracing::error!(error = %e, "1C exchange: could not create the spool folder");
        return Err(Reply::failure(format!(
            "Не удалось создать папку обмена (ONEC_EXCHANGE_DIR): {e}"
        )));
    }
    let rec = RunRecord {
        id: id.clone(),
        login: session.entry.login.clone(),
        started: chrono::Utc::now().timestamp(),
        ..RunRecord::default()
    };
    store(ctx, &rec).await?;
    conn(ctx)
        .await?
        .set_ex::<_, _, ()>(ctx.ex.key_bytes(&id), 0, RECORD_TTL_SECS)
        .await
        .map_err(redis_down)?;
    session.entry.exchange = Some(id.clone());
    session::save(ctx, &session.key, &session.entry)
        .await
        .map_err(|()| Reply::failure(REDIS_DOWN))?;
    tracing::info!(exchange = %id, login = %rec.login, "1C exchange started");
    let mut params = vec![
        ("zip", "yes".to_owned()),
        ("file_limit", ctx.ex.settings.file_limit.to_string()),
    ];
    if let Some(version) = &query.version {
        if let Some(sessid) = &query.sessid {
            params.push(("sessid", sessid.clone()));
        }
        let looks_like_one = version.len() <= 8
            && version.contains('.')
            && version.chars().all(|c| c.is_ascii_digit() || c == '.');
        params.push((
            "version",
            if looks_like_one {
                version.clone()
            } else {
                "3.1".into()
            },
        ));
    }
    Ok((Reply::parameters(params), id))
}

/// The session's exchange, still receiving: its record and its folder (canonical). Keeps its
/// lock alive.
pub async fn current(ctx: &Ctx, session: &Session) -> Result<(RunRecord, PathBuf), Reply> {
    let Some(id) = session.entry.exchange.clone() else {
        return Err(Reply::failure("Обмен не начат: сначала выполните init"));
    };
    if !touch(ctx, &id).await? {
        return Err(Reply::failure(format!(
            "Обмен {id} прерван: начат другой обмен с 1С. Выполните checkauth и init заново"
        )));
    }
    let gone = || {
        Reply::failure(format!(
            "Обмен {id} уже завершён: выполните init, чтобы начать новый"
        ))
    };
    let Some(rec) = load(ctx, &id).await? else {
        release(ctx, &id).await;
        return Err(gone());
    };
    let dir = spool::folder(&ctx.ex.settings.dir, &id, State::Receiving);
    match blocking(move || std::fs::canonicalize(dir)).await {
        Ok(dir) => Ok((rec, dir)),
        Err(_) => {
            release(ctx, &id).await;
            Err(gone())
        }
    }
}

/// The spool name of a `file`/`import` request, or its refusal.
pub fn spool_name(query: &Query) -> Result<SpoolName, Reply> {
    let raw = query.filename.as_deref().unwrap_or_default();
    SpoolName::parse(raw).map_err(|e| {
        tracing::warn!(error = %e, "1C exchange: file name refused");
        Reply::failure(format!("Файл не принят: {e}"))
    })
}

/// Space of the exchange's byte budget held by one request.
struct Budget<'a> {
    ctx: &'a Ctx,
    id: &'a str,
    reserved: u64,
}

impl Budget<'_> {
    /// Reserves `n` more bytes; refused when the exchange would pass its limit.
    async fn reserve(&mut self, n: u64, name: &SpoolName) -> Result<(), Reply> {
        let total: u64 = conn(self.ctx)
            .await?
            .incr(self.ctx.ex.key_bytes(self.id), n)
            .await
            .map_err(redis_down)?;
        self.reserved += n;
        let max = self.ctx.ex.settings.max_bytes;
        if total > max {
            tracing::warn!(exchange = %self.id, file = %name, "1C exchange: total size limit reached");
            return Err(Reply::failure(format!(
                "Файл «{name}» больше допустимого: обмен превысил бы {max} байт \
                 (ONEC_EXCHANGE_MAX_BYTES)"
            )));
        }
        touch(self.ctx, self.id).await?;
        Ok(())
    }

    /// Gives back what was reserved beyond `used`.
    async fn settle(self, used: u64) {
        let back = self.reserved.saturating_sub(used);
        if back > 0
            && let Ok(mut c) = self.ctx.redis.conn().await
        {
            let _: Result<i64, _> = c.decr(self.ctx.ex.key_bytes(self.id), back).await;
        }
    }
}

/// Whether a piece is the beginning of an XML document (`<?xml`, after a UTF-8 BOM or not).
fn starts_a_document(piece: &[u8]) -> bool {
    let rest = piece.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(piece);
    rest.starts_with(b"<?xml")
}

fn too_large(name: &SpoolName, file_limit: u64) -> Reply {
    Reply::failure(format!(
        "Файл «{name}» больше допустимого: за один запрос принимается не больше {file_limit} байт \
         (file_limit)"
    ))
}

/// `mode=file`: appends the request's body to the named file of the exchange's folder, chunk by
/// chunk as it arrives, within the per-request and per-exchange limits.
pub async fn file(
    ctx: &Ctx,
    session: &Session,
    query: &Query,
    headers: &HeaderMap,
    body: Body,
) -> Result<Reply, Reply> {
    let (mut rec, dir) = current(ctx, session).await?;
    let name = spool_name(query)?;
    let file_limit = ctx.ex.settings.file_limit;
    let limit = file_limit + SLACK;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        tracing::warn!(exchange = %rec.id, file = %name, "1C exchange: file piece over the limit");
        return Err(too_large(&name, file_limit));
    }
    let placed = name.clone();
    let target = blocking(move || exchange::unzip::place(&dir, &placed))
        .await
        .map_err(|e| Reply::failure(format!("Файл «{name}» не принят: {e}")))?;
    rec.uploading = Some(name.to_string());
    rec.checked.remove(name.as_str());
    rec.runs.remove(name.as_str());
    if name.is_zip() {
        rec.zips.insert(name.to_string());
    }
    store(ctx, &rec).await?;
    let result = receive(ctx, &rec.id, &target, &name, body, limit, declared).await;
    // Unless the exchange was finished meanwhile (its record is gone then).
    if let Some(mut now) = load(ctx, &rec.id).await? {
        now.uploading = None;
        store(ctx, &now).await?;
    }
    if let Ok(n) = &result {
        tracing::info!(exchange = %rec.id, file = %name, bytes = n, "1C exchange: file piece received");
    }
    result.map(|_| Reply::success())
}

/// Streams `body` onto the end of `target`; on any refusal the file is cut back to what it was.
async fn receive(
    ctx: &Ctx,
    id: &str,
    target: &Path,
    name: &SpoolName,
    body: Body,
    limit: u64,
    declared: Option<u64>,
) -> Result<u64, Reply> {
    let write_failed =
        |e: io::Error| Reply::failure(format!("Не удалось записать файл «{name}»: {e}"));
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o640)
        .open(target)
        .await
        .map_err(write_failed)?;
    let mut start = file.metadata().await.map_err(write_failed)?.len();
    let mut budget = Budget {
        ctx,
        id,
        reserved: 0,
    };
    let streamed = async {
        if let Some(n) = declared {
            budget.reserve(n, name).await?;
        }
        let file_limit = limit - SLACK;
        let mut stream = body.into_data_stream();
        let mut got = 0u64;
        // Written a megabyte at a time: a body arrives in pieces of a few KiB, and each write
        // of tokio's file is a trip to the blocking pool.
        let mut pending: Vec<u8> = Vec::with_capacity(WRITE_BUFFER);
        while let Some(next) = stream.next().await {
            let chunk = next.map_err(|e| {
                Reply::failure(format!("Передача файла «{name}» оборвалась: {e}"))
            })?;
            if got == 0 && start > 0 && name.is_xml() && starts_a_document(&chunk) {
                // 1C sends the file again (a retry, a second packet under the same name): a
                // later piece of an XML file never starts with its declaration.
                tracing::info!(exchange = %id, file = %name, "1C exchange: a file sent again replaces the earlier copy");
                file.set_len(0).await.map_err(write_failed)?;
                budget.reserved += start;
                start = 0;
            }
            got += chunk.len() as u64;
            if got > limit {
                tracing::warn!(exchange = %id, file = %name, "1C exchange: file piece over the limit");
                return Err(too_large(name, file_limit));
            }
            if got > budget.reserved {
                let more = (got - budget.reserved).max(RESERVE_STEP);
                budget.reserve(more, name).await?;
            }
            pending.extend_from_slice(&chunk);
            if pending.len() >= WRITE_BUFFER {
                file.write_all(&pending).await.map_err(write_failed)?;
                pending.clear();
            }
        }
        file.write_all(&pending).await.map_err(write_failed)?;
        file.flush().await.map_err(write_failed)?;
        Ok(got)
    }
    .await;
    match streamed {
        Ok(got) => {
            budget.settle(got).await;
            Ok(got)
        }
        Err(reply) => {
            if let Err(e) = file.set_len(start).await {
                tracing::error!(error = %e, file = %name, "1C exchange: could not cut a refused piece off");
            }
            budget.settle(0).await;
            Err(reply)
        }
    }
}

/// Unpacks the exchange's pending archives into its folder (each removed once unpacked).
pub(super) async fn unpack_pending(
    ctx: &Ctx,
    rec: &mut RunRecord,
    dir: &Path,
) -> Result<(), Reply> {
    for zip in rec.zips.clone() {
        let name =
            SpoolName::parse(&zip).map_err(|e| Reply::failure(format!("Архив не принят: {e}")))?;
        let used: Option<u64> = conn(ctx)
            .await?
            .get(ctx.ex.key_bytes(&rec.id))
            .await
            .map_err(redis_down)?;
        let limits = exchange::ZipLimits {
            max_unpacked: ctx
                .ex
                .settings
                .max_bytes
                .saturating_sub(used.unwrap_or_default()),
            ..exchange::ZipLimits::default()
        };
        let d = dir.to_path_buf();
        let archive = name.clone();
        let done = blocking(move || {
            let path = archive.under(&d);
            let packed = std::fs::symlink_metadata(&path)
                .map(|m| m.len())
                .unwrap_or(0);
            match exchange::unpack(&path, archive.as_str(), &d, limits) {
                Ok(unpacked) => {
                    std::fs::remove_file(&path)?;
                    Ok(Ok((unpacked, packed)))
                }
                Err(e) => Ok(Err(e)),
            }
        })
        .await;
        match done {
            Ok(Ok((unpacked, packed))) => {
                let delta = unpacked.bytes as i64 - packed as i64;
                let _: i64 = conn(ctx)
                    .await?
                    .incr(ctx.ex.key_bytes(&rec.id), delta)
                    .await
                    .map_err(redis_down)?;
                rec.zips.remove(&zip);
                for f in &unpacked.files {
                    rec.checked.remove(f.as_str());
                    rec.runs.remove(f.as_str());
                }
                store(ctx, rec).await?;
                tracing::info!(
                    exchange = %rec.id, archive = %zip, files = unpacked.files.len(),
                    bytes = unpacked.bytes, "1C exchange: archive unpacked"
                );
            }
            Ok(Err(e)) => {
                tracing::warn!(exchange = %rec.id, error = %e, "1C exchange: archive refused");
                return Err(Reply::failure(e.to_string()));
            }
            Err(e) => {
                return Err(Reply::failure(format!("Архив «{zip}» не распакован: {e}")));
            }
        }
    }
    Ok(())
}

/// `mode=complete`: the exchange is over. A complete one is published as the export the
/// administrator's import reads (`ONEC_DATA_DIR`, replaced in one step); any other is set
/// aside and the reply says what was missing.
pub async fn complete(ctx: &Ctx, mut session: Session) -> Result<Reply, Reply> {
    let (rec, _) = current(ctx, &session).await?;
    let id = rec.id.clone();
    if !claim(ctx, &id).await? {
        return Err(Reply::failure(format!("Обмен {id} уже завершается")));
    }
    let ready = readiness(ctx, &rec).await;
    let finished = finish(ctx, &id, ready.is_ok()).await;
    release(ctx, &id).await;
    session.entry.exchange = None;
    session::save(ctx, &session.key, &session.entry).await.ok();
    match (ready, finished) {
        (Ok(()), Ok(files)) => Ok(Reply::success().line(format!(
            "Выгрузка получена и опубликована для импорта: файлов {files} (обмен {id})"
        ))),
        (Ok(()), Err(e)) => Err(Reply::failure(format!(
            "Выгрузка получена, но не опубликована: {e}"
        ))),
        (Err(why), _) => {
            tracing::warn!(exchange = %id, reason = %why, "1C exchange completed incomplete");
            Err(Reply::failure(format!("Выгрузка не опубликована: {why}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_of_names_are_short() {
        let names: Vec<String> = (1..=7).map(|i| format!("{i}.xml")).collect();
        assert_eq!(
            some_names(&names),
            "«1.xml», «2.xml», «3.xml», «4.xml», «5.xml», и ещё 2"
        );
        assert_eq!(shown_time(0), "01.01.1970 00:00 UTC");
        assert!(starts_a_document(b"<?xml version=\"1.0\"?>"));
        assert!(starts_a_document(b"\xEF\xBB\xBF<?xml version"));
        assert!(!starts_a_document(b"<xml"));
        assert!(!starts_a_document("ar>100</Товар>".as_bytes()));
    }
}
