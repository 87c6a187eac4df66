//! Logs on stderr: human-readable lines by default, one JSON object per line with
//! `ONEC_LOG_FORMAT=json`; the filter is `RUST_LOG`. Every line logged while a request is
//! served carries its `request_id` (the proxy's `X-Request-Id` when it sends a sane one, else a
//! new one; the answer carries it back), and every line of an import its `run_id` and `kind`
//! (spans opened by `engine::run`).
//!
//! What never reaches a log: passwords, session tokens, cookies and `Authorization` headers.
//! Nothing here logs headers or bodies; `server/tests/logs.rs` checks it with `RUST_LOG=trace`.
use std::io::Write;
use std::sync::Mutex;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::config::{ConfigError, Env};

/// The default filter when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn";
/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// `ONEC_LOG_FORMAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default); colours only on a terminal.
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message`, the event's
    /// fields, `span` (the innermost) and `spans` (all open ones, outermost first).
    Json,
}

impl LogFormat {
    /// Reads `ONEC_LOG_FORMAT`: `text` (default) or `json`.
    pub fn from_env(env: &impl Env) -> Result<LogFormat, ConfigError> {
        match env.var("ONEC_LOG_FORMAT").as_deref().map(str::trim) {
            None => Ok(LogFormat::Text),
            Some(v) if v.eq_ignore_ascii_case("text") => Ok(LogFormat::Text),
            Some(v) if v.eq_ignore_ascii_case("json") => Ok(LogFormat::Json),
            Some(other) => Err(ConfigError {
                var: "ONEC_LOG_FORMAT",
                problem: format!("ожидается text или json, получено «{other}»"),
            }),
        }
    }
}

/// Progress bars on the terminal, if any: log lines are printed above them.
static BARS: Mutex<Option<indicatif::MultiProgress>> = Mutex::new(None);

/// While `Some`, every log line is printed above these bars (the CLI's progress).
pub fn print_above(bars: Option<indicatif::MultiProgress>) {
    *BARS.lock().unwrap_or_else(|e| e.into_inner()) = bars;
}

/// Stderr, or, while progress bars are drawn, the line above them. One writer per log line.
struct LineWriter(Vec<u8>);

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.0);
        let bars = BARS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let write = || {
            let _ = std::io::stderr().lock().write_all(&line);
        };
        match bars {
            Some(b) => b.suspend(write),
            None => write(),
        }
    }
}

/// Installs the process's subscriber (stderr).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| DEFAULT_FILTER.into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LineWriter(Vec::new()));
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

/// A request id from the proxy is kept when it is short and plain (nginx's `$request_id` is 32
/// hex digits); anything else is replaced, so a client cannot write into the logs at will.
fn sane_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
    .then(|| s.to_owned())
}

/// Opens the request's span (`request_id`, `method`, `path` without the query) around
/// everything that serves it, and returns the id in `X-Request-Id`.
pub async fn request_span(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = res.status().as_u16(), "answered"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_format_is_text_json_or_refused() {
        assert_eq!(
            LogFormat::from_env(&HashMap::new()).unwrap(),
            LogFormat::Text
        );
        let json = HashMap::from([("ONEC_LOG_FORMAT", "JSON")]);
        assert_eq!(LogFormat::from_env(&json).unwrap(), LogFormat::Json);
        let bad = HashMap::from([("ONEC_LOG_FORMAT", "xml")]);
        let err = LogFormat::from_env(&bad).unwrap_err();
        assert_eq!(err.var, "ONEC_LOG_FORMAT");
        assert!(err.to_string().contains("text или json"), "{err}");
    }

    #[test]
    fn request_ids_from_outside_are_kept_only_when_plain() {
        let ok = HeaderValue::from_static("0123456789abcdef0123456789abcdef");
        assert_eq!(sane_request_id(&ok).as_deref(), Some(ok.to_str().unwrap()));
        for bad in ["", "a b", "x\"}{", &"a".repeat(65)] {
            assert_eq!(sane_request_id(&HeaderValue::from_str(bad).unwrap()), None);
        }
    }
}
