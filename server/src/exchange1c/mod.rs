//! 1C's «Обмен с сайтом» endpoint: `GET|POST /1c/exchange?type=catalog&mode=…`.
//!
//! 1C is not a browser: the endpoint stands outside the web login and the same-origin check
//! (it has its own login: HTTP Basic on `checkauth`, then its own cookie), inside the request
//! logging and metrics. Every answer is `200 text/plain; charset=utf-8` whose first line is
//! `success`, `progress` or `failure` ([`exchange::Reply`]): errors, an unknown address under
//! `/1c/`, another method, a body too large and a panic inside the handler included — 1C shows
//! anything else (an HTML page, an empty body) as «Получен неизвестный статус импорта».
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use app::ssr::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};
use exchange::{Charset, Mode, Query, Reply};
use futures::{FutureExt, StreamExt};

use crate::config::ExchangeSettings;
use crate::events::SharedRedis;

pub mod deactivate;
pub mod import;
pub mod journal;
pub mod run;
pub mod session;
pub mod spool;

/// The address 1C is given (`https://<site>/1c/exchange`).
pub const PATH: &str = "/1c/exchange";

/// What the endpoint needs besides the app's state.
#[derive(Clone)]
pub struct Endpoint {
    /// `None`: the server was built without exchange settings (tests of other parts); every
    /// request is answered with a `failure` saying so.
    settings: Option<Arc<Exchange>>,
    redis: SharedRedis,
    journal: journal::Journal,
}

/// What every mode after the query check works with.
#[derive(Clone)]
pub struct Ctx {
    pub ex: Arc<Exchange>,
    pub redis: SharedRedis,
}

/// The refusal when Redis (sessions, the exchange lock, the login limiter) does not answer.
pub const REDIS_DOWN: &str = "Обмен временно невозможен: Redis не отвечает. Повторите позже";

/// The configured endpoint.
#[derive(Debug)]
pub struct Exchange {
    /// `ONEC_EXCHANGE_*`.
    pub settings: ExchangeSettings,
    /// `ONEC_DATA_DIR`: where a finished exchange is published.
    pub data_dir: Option<std::path::PathBuf>,
    /// `ONEC_REDIS_PREFIX`.
    pub prefix: String,
}

impl Exchange {
    /// A session, by its token's SHA-256.
    pub fn key_token(&self, token_sha256: &str) -> String {
        format!("{}:exchange:token:{token_sha256}", self.prefix)
    }

    /// The id of the exchange receiving now (the lock).
    pub fn key_current(&self) -> String {
        format!("{}:exchange:current", self.prefix)
    }

    /// An exchange's record ([`run::RunRecord`]).
    pub fn key_run(&self, id: &str) -> String {
        format!("{}:exchange:run:{id}", self.prefix)
    }

    /// The bytes an exchange stored (and reserved).
    pub fn key_bytes(&self, id: &str) -> String {
        format!("{}:exchange:bytes:{id}", self.prefix)
    }

    /// Set by whoever finishes (publishes or sets aside) an exchange.
    pub fn key_finish(&self, id: &str) -> String {
        format!("{}:exchange:finish:{id}", self.prefix)
    }

    /// The journal entry where an account's refused `init`s fold, while they keep coming.
    pub fn key_refused(&self, login: &str) -> String {
        format!("{}:exchange:refused:{login}", self.prefix)
    }
}

/// The routes of the endpoint (`/1c/exchange`, `/1c/exchange/`, and anything else under `/1c`,
/// answered with a `failure`), for every method; and, when configured, the sweeper that
/// publishes exchanges whose 1C went quiet ([`run::spawn_sweeper`]). Call inside the runtime.
pub fn router(settings: Option<Arc<Exchange>>, redis: SharedRedis) -> Router<AppState> {
    if let Some(ex) = &settings {
        run::spawn_sweeper(Ctx {
            ex: ex.clone(),
            redis: redis.clone(),
        });
    }
    Router::new()
        .route(PATH, any(endpoint))
        .route("/1c/exchange/", any(endpoint))
        .route("/1c", any(unknown_address))
        .route("/1c/", any(unknown_address))
        .route("/1c/{*rest}", any(unknown_address))
        .layer(Extension(Endpoint {
            settings,
            redis,
            journal: journal::Journal::default(),
        }))
}

/// The answer 1C reads: always 200, plain text in `charset`, never cached.
pub fn respond(reply: &Reply, charset: Charset) -> Response {
    let mut res = (StatusCode::OK, reply.encode(charset)).into_response();
    let h = res.headers_mut();
    if let Ok(ct) = HeaderValue::from_str(&Reply::content_type(charset)) {
        h.insert(header::CONTENT_TYPE, ct);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A panic in `work` becomes a `failure` (and an error in the log) instead of a dropped
/// connection.
pub async fn guarded(work: impl Future<Output = Reply>) -> Reply {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(reply) => reply,
        Err(_) => {
            tracing::error!("1C exchange: the handler panicked");
            Reply::failure(
                "Внутренняя ошибка сервера при обработке запроса обмена; подробности в журнале сервера",
            )
        }
    }
}

async fn unknown_address(Extension(ep): Extension<Endpoint>, req: Request) -> Response {
    tracing::info!(path = %req.uri().path(), "1C exchange: unknown address");
    respond(
        &Reply::failure(format!(
            "Неизвестный адрес обмена: укажите в узле обмена 1С адрес …{PATH}"
        )),
        ep.charset(),
    )
}

impl Endpoint {
    /// The charset of the replies (`ONEC_EXCHANGE_CHARSET`).
    fn charset(&self) -> Charset {
        self.settings
            .as_ref()
            .map(|ex| ex.settings.charset)
            .unwrap_or_default()
    }
}

async fn endpoint(
    State(app): State<AppState>,
    Extension(ep): Extension<Endpoint>,
    req: Request,
) -> Response {
    let charset = ep.charset();
    respond(&guarded(serve(app, ep, req)).await, charset)
}

/// The decoded `(name, value)` pairs of the query string.
fn query_pairs(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

async fn serve(app: AppState, ep: Endpoint, req: Request) -> Reply {
    if !matches!(*req.method(), Method::GET | Method::POST) {
        return Reply::failure(format!(
            "Метод {} не поддерживается: 1С обращается к обмену запросами GET и POST",
            req.method()
        ));
    }
    let pairs = query_pairs(&req);
    let query = match Query::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        Ok(q) => q,
        Err(e) => {
            tracing::info!(error = %e, "1C exchange: query refused");
            return Reply::failure(capitalised(&e.to_string()));
        }
    };
    let Some(ex) = ep.settings.clone() else {
        return Reply::failure("Обмен с 1С не настроен на этом сервере");
    };
    let ctx = Ctx {
        ex,
        redis: ep.redis,
    };
    let journal = ep.journal;
    let (parts, body) = req.into_parts();
    if query.mode == Mode::CheckAuth {
        return session::checkauth(&app, &ctx, &parts).await;
    }
    let session = match session::authorize(&ctx, &parts.headers, query.sessid.as_deref()).await {
        Ok(s) => s,
        Err(reply) => return reply,
    };
    let login = session.entry.login.clone();
    let session_key = session.key.clone();
    let exchange_id = session.entry.exchange.clone();
    let mut journal_id = exchange_id.clone();
    let received = Arc::new(AtomicU64::new(0));
    let done = match query.mode {
        Mode::Init => {
            let channel = engine::run::Keys::new(&ctx.ex.prefix).exchange_events();
            match run::init(&ctx, session, &query).await {
                Ok((reply, id)) => {
                    run::forget_refusals(&ctx, &login).await;
                    journal.prune(&app.db, &ctx.redis, &channel);
                    record(&journal, &app, &ctx, &login, Some(&id), &query, 0, &reply).await;
                    return reply;
                }
                // A refused `init` opens no exchange. It is journalled as an entry of its own,
                // where the account's next refusals fold, so the page shows that 1C was turned
                // away, and why.
                Err(reply) => {
                    journal_id = Some(run::refusal_id(&ctx, &login).await);
                    journal.prune(&app.db, &ctx.redis, &channel);
                    Err(reply)
                }
            }
        }
        Mode::File => {
            let counter = received.clone();
            let body = Body::from_stream(body.into_data_stream().inspect(move |chunk| {
                if let Ok(bytes) = chunk {
                    counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                }
            }));
            run::file(&ctx, &session, &query, &parts.headers, body).await
        }
        Mode::Import => import::import(&app, &ctx, &session, &query).await,
        Mode::Complete => run::complete(&ctx, session).await,
        Mode::Deactivate => deactivate::deactivate(&app, &ctx, &session).await,
        // Answered before the session check.
        Mode::CheckAuth => Err(Reply::failure("Режим checkauth не требует сеанса")),
    };
    let reply = match done {
        Ok(reply) | Err(reply) => reply,
    };
    let bytes = received.load(Ordering::Relaxed);
    record(
        &journal,
        &app,
        &ctx,
        &login,
        journal_id.as_deref(),
        &query,
        bytes,
        &reply,
    )
    .await;
    // The idle time counts from the end of a request too: an `import` answers only after up
    // to its answer time; 1C's next request must not find its session expired meanwhile.
    session::keep_alive(&ctx, &session_key).await;
    if let Some(id) = &exchange_id {
        run::extend(&ctx, id).await;
    }
    reply
}

/// Queues the request for the exchange journal ([`journal`]: written and announced to the
/// «Обмен с 1С» pages off the request path); a request outside any exchange (before `init`) is
/// not journalled, and a refused `init` is journalled under its refusal entry
/// ([`run::refusal_id`]).
#[expect(
    clippy::too_many_arguments,
    reason = "one request's facts, passed through once"
)]
async fn record(
    journal: &journal::Journal,
    app: &AppState,
    ctx: &Ctx,
    login: &str,
    exchange_id: Option<&str>,
    query: &Query,
    bytes: u64,
    reply: &Reply,
) {
    let Some(exchange_id) = exchange_id else {
        return;
    };
    let (run_id, kind) = match (query.mode, query.filename.as_deref()) {
        (Mode::Import, Some(file)) => match run::load(ctx, exchange_id).await.ok().flatten() {
            Some(rec) => (rec.runs.get(file).cloned(), rec.kinds.get(file).copied()),
            None => (None, None),
        },
        _ => (None, None),
    };
    let row = journal::Row {
        exchange_id: exchange_id.to_owned(),
        login: login.to_owned(),
        mode: query.mode.word(),
        filename: query.filename.clone(),
        at: chrono::Utc::now(),
        bytes,
        status: reply.status,
        reply: reply.to_string(),
        run_id,
        kind,
    };
    let channel = engine::run::Keys::new(&ctx.ex.prefix).exchange_events();
    journal.write(&app.db, &ctx.redis, &channel, row);
}

/// The text with its first letter in upper case (the exchange crate's texts are clauses).
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_a_failure() {
        let reply = guarded(async { panic!("boom") }).await;
        assert_eq!(reply.status, exchange::Status::Failure);
        assert!(reply.to_string().starts_with("failure\nВнутренняя ошибка"));
    }

    #[test]
    fn every_answer_is_plain_text() {
        let res = respond(&Reply::success(), Charset::Utf8);
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(capitalised("не указан тип"), "Не указан тип");
        let old = respond(&Reply::failure("Ошибка"), Charset::Windows1251);
        assert_eq!(
            old.headers()[header::CONTENT_TYPE],
            "text/plain; charset=windows-1251"
        );
    }
}
