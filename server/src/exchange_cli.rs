//! `onec-admin exchange send`: plays 1C against a site's `/1c/exchange` — the whole protocol as
//! classic 1C (2.x) or the 1C-Bitrix add-on (3.1) runs it ([`exchange::plan`]), the export's
//! files streamed from disk in pieces of the site's `file_limit`, `import` repeated while the
//! site answers `progress`. An administrator checks a setup without 1C; the tests drive the
//! endpoint with it.
//!
//! Exit codes: 0 the exchange went through, 1 the site answered `failure` (or something that is
//! not an answer of the protocol), 2 the command could not run (arguments, the folder, the
//! connection, the time limit).
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use exchange::plan::{self, Export, Protocol, Step};
use exchange::send::{self, InitParams, Login};
use exchange::{Charset, Reply, Status};
use reqwest::header;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Play 1C: send the export in DIR to a site's /1c/exchange through the whole protocol
    /// (checkauth, init, file, import repeated while «progress», and for the 1C-Bitrix
    /// add-on deactivate and complete), printing every request and reply.
    ///
    /// Exit codes: 0 done; 1 the site answered «failure» (its text is printed) or not in the
    /// protocol; 2 bad arguments, an unreadable folder, no connection or the --timeout passed.
    ///
    /// Example: echo "$PASSWORD" | onec-admin exchange send --url https://shop.example/1c/exchange
    /// --login 1c --password-stdin --protocol bitrix --zip ./export
    #[command(after_help = crate::cli::ENV_GEN_DATA)]
    Send(SendArgs),
}

/// Which generation of 1C to play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// 1C's built-in node (CommerceML 2.x): no sessid, no deactivate, no complete.
    Classic,
    /// The 1C-Bitrix exchange add-on (3.1 packets): sessid on every call, version=3.1,
    /// deactivate and complete at the end.
    Bitrix,
}

impl From<ProtocolArg> for Protocol {
    fn from(p: ProtocolArg) -> Self {
        match p {
            ProtocolArg::Classic => Self::Classic,
            ProtocolArg::Bitrix => Self::Bitrix,
        }
    }
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The exchange address as given to 1C: https://<site>/1c/exchange.
    #[arg(long)]
    pub url: String,
    /// The exchange account's login (created with `create-user --role exchange`).
    #[arg(long)]
    pub login: String,
    /// Read the password from the first line of standard input (the only way: arguments are
    /// visible to other users of the machine).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Send everything as one zip archive, as 1C does when the site answers zip=yes (when it
    /// answers zip=no the files go one by one).
    #[arg(long)]
    pub zip: bool,
    /// Largest piece of a file per request, bytes; the site's file_limit caps it as well.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub file_limit: Option<u64>,
    /// classic (1C's built-in node, 2.x) or bitrix (the 1C-Bitrix add-on, 3.1).
    #[arg(long, value_enum, default_value = "classic")]
    pub protocol: ProtocolArg,
    /// Give up after this many seconds for the whole exchange.
    #[arg(long, value_name = "SECS", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Pause between the repeats of an import the site answers «progress» to, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub poll_ms: u64,
    /// One JSON object per request on stdout: {mode, filename, status, lines, bytes, millis}.
    #[arg(long)]
    pub json: bool,
    /// The folder with the export (XML files, pictures under import_files/).
    pub dir: PathBuf,
}

/// Why the exchange stopped.
enum Stop {
    /// The site refused (exit 1).
    Refused(String),
    /// The command could not do its part (exit 2).
    Broken(String),
}

impl Stop {
    fn code(&self) -> ExitCode {
        match self {
            Self::Refused(_) => ExitCode::from(1),
            Self::Broken(_) => ExitCode::from(2),
        }
    }

    fn text(&self) -> &str {
        match self {
            Self::Refused(t) | Self::Broken(t) => t,
        }
    }
}

/// `exchange …`.
pub async fn exchange(cmd: ExchangeCommand) -> ExitCode {
    match cmd {
        ExchangeCommand::Send(args) => send_command(args).await,
    }
}

async fn send_command(args: SendArgs) -> ExitCode {
    let password = match read_password() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let limit = Duration::from_secs(args.timeout);
    let started = Instant::now();
    let mut sender = match Sender::new(&args, password) {
        Ok(s) => s,
        Err(stop) => {
            eprintln!("{}", stop.text());
            return stop.code();
        }
    };
    let result = match tokio::time::timeout(limit, sender.run()).await {
        Ok(r) => r,
        Err(_) => Err(Stop::Broken(format!(
            "Обмен не завершён за {} с (--timeout); последний запрос: {}",
            args.timeout,
            sender.last.as_deref().unwrap_or("нет")
        ))),
    };
    match result {
        Ok(()) => {
            if !args.json {
                println!(
                    "Обмен завершён: файлов {}, отправлено байт {}, запросов {}, за {:.1} с",
                    sender.files,
                    sender.sent,
                    sender.requests,
                    started.elapsed().as_secs_f64()
                );
            }
            ExitCode::SUCCESS
        }
        Err(stop) => {
            eprintln!("{}", stop.text());
            stop.code()
        }
    }
}

/// The first line of standard input, without its line break.
fn read_password() -> Result<String, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Пароль учётной записи обмена:");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("Не удалось прочитать пароль со стандартного ввода: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(
            "Пароль пуст: передайте его первой строкой стандартного ввода (--password-stdin)"
                .into(),
        );
    }
    Ok(password)
}

/// One exchange in progress.
struct Sender {
    client: reqwest::Client,
    url: String,
    login_name: String,
    password: String,
    protocol: Protocol,
    zip: bool,
    file_limit: Option<u64>,
    poll: Duration,
    json: bool,
    dir: PathBuf,
    export: Export,
    login: Option<Login>,
    /// The request under way, for the time-limit message.
    last: Option<String>,
    requests: u64,
    sent: u64,
    files: usize,
}

/// The site's answer to one request.
struct Answer {
    reply: Reply,
    /// The HTTP status, when it is not 200.
    http: Option<reqwest::StatusCode>,
}

impl Sender {
    fn new(args: &SendArgs, password: String) -> Result<Self, Stop> {
        let url = reqwest::Url::parse(&args.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| {
                Stop::Broken(format!(
                    "Неверный адрес --url «{}»: нужен http(s)://<сайт>/1c/exchange",
                    args.url
                ))
            })?;
        let export = send::find(&args.dir).map_err(|e| {
            Stop::Broken(format!(
                "Не удалось прочитать папку выгрузки {}: {e}",
                args.dir.display()
            ))
        })?;
        if export.xml.is_empty() {
            return Err(Stop::Broken(format!(
                "В папке {} нет XML-файлов выгрузки",
                args.dir.display()
            )));
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            .user_agent(concat!(
                "onec-admin-exchange-send/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| Stop::Broken(format!("Не удалось создать HTTP-клиент: {e}")))?;
        let mut base = url.to_string();
        base.push(if url.query().is_some() { '&' } else { '?' });
        Ok(Self {
            client,
            url: base,
            login_name: args.login.clone(),
            password,
            protocol: args.protocol.into(),
            zip: args.zip,
            file_limit: args.file_limit,
            poll: Duration::from_millis(args.poll_ms),
            json: args.json,
            dir: args.dir.clone(),
            export,
            login: None,
            last: None,
            requests: 0,
            sent: 0,
            files: 0,
        })
    }

    async fn run(&mut self) -> Result<(), Stop> {
        // checkauth and init come first: the archive's name and the piece size depend on them.
        let a = self.call(&Step::CheckAuth, None).await?;
        let login = Login::parse(&a.reply).ok_or_else(|| {
            Stop::Refused(format!(
                "Сервер не выдал cookie сеанса на mode=checkauth: {}",
                shown(&a.reply)
            ))
        })?;
        self.login = Some(login);
        let a = self.call(&Step::Init, None).await?;
        let params = InitParams::parse(&a.reply).ok_or_else(|| {
            Stop::Refused(format!(
                "Сервер не сообщил параметры обмена на mode=init: {}",
                shown(&a.reply)
            ))
        })?;
        let limit = match (params.file_limit, self.file_limit) {
            (Some(site), Some(ours)) => site.min(ours),
            (site, ours) => site.or(ours).unwrap_or(u64::MAX),
        };
        if self.zip && !params.zip {
            self.note("Сайт ответил zip=no: файлы отправляются по одному, без архива");
        }
        // The archive lives in a temp folder removed when the exchange ends, however it ends.
        let mut archive: Option<(tempfile::TempDir, String)> = None;
        if self.zip && params.zip {
            let seconds = self
                .login
                .as_ref()
                .and_then(|l| l.timestamp.as_deref())
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or_else(|| chrono::Utc::now().timestamp().unsigned_abs());
            let name = send::archive_name(seconds);
            let tmp = tempfile::tempdir()
                .map_err(|e| Stop::Broken(format!("Не удалось создать временную папку: {e}")))?;
            let (dir, export, path) = (
                self.dir.clone(),
                self.export.clone(),
                tmp.path().join(&name),
            );
            let size = tokio::task::spawn_blocking(move || send::pack(&dir, &export, &path))
                .await
                .map_err(|e| Stop::Broken(format!("Архив не собран: {e}")))?
                .map_err(|e| Stop::Broken(format!("Не удалось собрать архив {name}: {e}")))?;
            self.note(&format!(
                "Архив {name}: файлов {}, {size} байт",
                self.export.xml.len() + self.export.other.len()
            ));
            archive = Some((tmp, name));
        }
        let steps = plan::steps(
            self.protocol,
            archive.as_ref().map(|(_, n)| n.as_str()),
            &self.export,
        );
        for step in &steps {
            match step {
                // Done above.
                Step::CheckAuth | Step::Init => {}
                Step::Upload(name) => {
                    let path = match &archive {
                        Some((tmp, zip)) if zip == name => tmp.path().join(zip),
                        _ => name.split('/').fold(self.dir.clone(), |p, s| p.join(s)),
                    };
                    self.upload(step, &path, limit).await?;
                }
                Step::Import(_) => self.import(step).await?,
                Step::Deactivate | Step::Complete => {
                    self.call(step, None).await?;
                }
            }
        }
        Ok(())
    }

    /// Sends the file at `path` as `name`, in pieces of `limit` bytes, each read from disk as
    /// it goes out.
    async fn upload(&mut self, step: &Step, path: &Path, limit: u64) -> Result<(), Stop> {
        let len = tokio::fs::metadata(path)
            .await
            .map_err(|e| Stop::Broken(format!("Не удалось прочитать {}: {e}", path.display())))?
            .len();
        for (start, end) in plan::pieces(len, limit) {
            let mut file = tokio::fs::File::open(path)
                .await
                .map_err(|e| Stop::Broken(format!("Не удалось открыть {}: {e}", path.display())))?;
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|e| {
                    Stop::Broken(format!("Не удалось прочитать {}: {e}", path.display()))
                })?;
            let stream =
                tokio_util::io::ReaderStream::with_capacity(file.take(end - start), 1 << 20);
            let body = reqwest::Body::wrap_stream(stream);
            self.call(step, Some((body, end - start))).await?;
        }
        self.files += 1;
        Ok(())
    }

    /// `import` of one file, repeated while the site answers `progress`.
    async fn import(&mut self, step: &Step) -> Result<(), Stop> {
        loop {
            let a = self.call(step, None).await?;
            if a.reply.status != Status::Progress {
                return Ok(());
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// One request: printed, sent, its reply read and printed. A `failure`, or a reply that is
    /// not of the protocol, stops the exchange.
    async fn call(
        &mut self,
        step: &Step,
        body: Option<(reqwest::Body, u64)>,
    ) -> Result<Answer, Stop> {
        let query = send::query(self.protocol, step, self.login.as_ref());
        let shown_query = query.trim_start_matches("type=catalog&").to_owned();
        let shown_query = hide_sessid(&shown_query);
        let method = if body.is_some() { "POST" } else { "GET" };
        let bytes = body.as_ref().map(|(_, n)| *n).unwrap_or(0);
        if !self.json {
            let size = if body.is_some() {
                format!(" ({bytes} байт)")
            } else {
                String::new()
            };
            println!("→ {method} {shown_query}{size}");
        }
        self.last = Some(shown_query.clone());
        let started = Instant::now();
        let url = format!("{}{query}", self.url);
        let mut req = match body {
            Some((body, len)) => self
                .client
                .post(&url)
                .header(header::CONTENT_LENGTH, len)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(body),
            None => self.client.get(&url),
        };
        match (&self.login, step) {
            (_, Step::CheckAuth) => {
                req = req.basic_auth(&self.login_name, Some(&self.password));
            }
            (Some(login), _) => req = req.header(header::COOKIE, login.cookie()),
            (None, _) => {}
        }
        let res = req.send().await.map_err(|e| {
            Stop::Broken(format!(
                "Нет связи с сайтом ({method} {shown_query}): {}",
                error_chain(&e)
            ))
        })?;
        let http = res.status();
        let location = res
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let charset = Charset::of_content_type(
            res.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
        );
        let raw = res.bytes().await.map_err(|e| {
            Stop::Broken(format!(
                "Ответ на {method} {shown_query} оборвался: {}",
                error_chain(&e)
            ))
        })?;
        let reply = Reply::parse(&raw, charset);
        let millis = started.elapsed().as_millis();
        self.requests += 1;
        self.sent += bytes;
        let answer = Answer {
            reply,
            http: (http != reqwest::StatusCode::OK).then_some(http),
        };
        let printed = if *step == Step::CheckAuth {
            hide_login(&answer.reply)
        } else {
            answer.reply.clone()
        };
        if self.json {
            let (mode, filename) = match step {
                Step::Upload(n) | Step::Import(n) => (step.mode().word(), Some(n.as_str())),
                _ => (step.mode().word(), None),
            };
            let status = match printed.status {
                Status::Parameters => serde_json::Value::Null,
                s => json!(s.word()),
            };
            let mut line = json!({
                "mode": mode,
                "filename": filename,
                "status": status,
                "lines": printed.lines,
                "bytes": bytes,
                "millis": millis,
            });
            if let Some(code) = answer.http {
                line["http_status"] = json!(code.as_u16());
            }
            println!("{line}");
        } else {
            let http = answer
                .http
                .map(|c| format!("[HTTP {}] ", c.as_u16()))
                .unwrap_or_default();
            println!("← {http}{} ({millis} мс)", one_line(&printed));
        }
        match answer.reply.status {
            Status::Failure => Err(Stop::Refused(format!(
                "Сервер ответил failure на {shown_query}: {}",
                answer.reply.lines.join(" ")
            ))),
            Status::Parameters if *step != Step::Init => Err(Stop::Refused(unknown_status(
                &shown_query,
                &answer,
                location.as_deref(),
            ))),
            Status::Parameters if answer.http.is_some() => Err(Stop::Refused(unknown_status(
                &shown_query,
                &answer,
                location.as_deref(),
            ))),
            _ => Ok(answer),
        }
    }

    /// A line for the administrator (not in `--json`, whose stdout holds requests only).
    fn note(&self, text: &str) {
        if self.json {
            eprintln!("{text}");
        } else {
            println!("  {text}");
        }
    }
}

/// What 1C would call «Получен неизвестный статус импорта», with what helps to find the cause.
fn unknown_status(query: &str, answer: &Answer, location: Option<&str>) -> String {
    let mut text = format!(
        "Сервер ответил не по протоколу обмена на {query} (1С сообщила бы «Получен неизвестный статус импорта»)"
    );
    if let Some(code) = answer.http {
        text.push_str(&format!(": HTTP {code}"));
    }
    if let Some(to) = location {
        text.push_str(&format!(
            "; сайт перенаправляет на {to} — укажите этот адрес в --url"
        ));
    }
    let first: String = answer
        .reply
        .lines
        .first()
        .map(|l| l.chars().take(200).collect())
        .unwrap_or_default();
    if first.is_empty() {
        text.push_str("; ответ пуст");
    } else {
        text.push_str(&format!("; первая строка ответа: «{first}»"));
    }
    text
}

/// The reply on one line: the status word and its lines.
fn one_line(reply: &Reply) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if reply.status != Status::Parameters {
        parts.push(reply.status.word());
    }
    parts.extend(reply.lines.iter().map(String::as_str));
    if parts.is_empty() {
        "(пустой ответ)".into()
    } else {
        parts.join(" | ")
    }
}

/// The reply's text for a message.
fn shown(reply: &Reply) -> String {
    let text = one_line(reply);
    if text.chars().count() > 300 {
        text.chars().take(300).chain(['…']).collect()
    } else {
        text
    }
}

/// A checkauth reply as printed: the session's secrets (cookie value, sessid) replaced by `…`.
fn hide_login(reply: &Reply) -> Reply {
    let mut out = reply.clone();
    if out.status == Status::Success {
        for (i, line) in out.lines.iter_mut().enumerate() {
            if i == 1 {
                *line = "…".into();
            } else if let Some((k, _)) = line.split_once('=')
                && k != "timestamp"
            {
                *line = format!("{k}=…");
            }
        }
    }
    out
}

/// The query as printed: the `sessid` value hidden.
fn hide_sessid(query: &str) -> String {
    query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some(("sessid", _)) => "sessid=…".to_owned(),
            _ => p.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An error with its causes («connection refused» is in the source, not the top).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let t = cause.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        source = cause.source();
    }
    text
}
