use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where settings come from: the process environment. Tests pass a map instead.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Env for std::collections::HashMap<&str, &str> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key)
            .map(|v| v.to_string())
            .filter(|v| !v.trim().is_empty())
    }
}

/// Everything the binary needs to know, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// `REDIS_URL`.
    pub redis_url: String,
    /// `ONEC_DATA_DIR`: where 1C puts its exports.
    pub data_dir: Option<PathBuf>,
    /// `ONEC_BIND`: the address the web server listens on.
    pub bind: SocketAddr,
    /// `ONEC_DIST_DIR`: Trunk's output (the browser app).
    pub dist_dir: PathBuf,
    /// `ONEC_ADMIN_LOGIN` / `ONEC_ADMIN_PASSWORD`: the first administrator, created at start-up
    /// when that login does not exist yet.
    pub first_admin: Option<(String, String)>,
    /// `ONEC_SECURE_COOKIES` (default true): the session cookie is `__Host-onec_session; Secure`.
    /// `false` for plain-HTTP use (`./scripts/run.sh`): `onec_session`, `Secure` only when a
    /// proxy sends `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
    /// `ONEC_REDIS_PREFIX`: the prefix of every Redis key; instances sharing it share the lock.
    pub redis_prefix: String,
    /// `ONEC_PUBLIC_ORIGIN`: the origins administrators open the app at (comma-separated);
    /// `None`: derived from the bound address at start-up.
    pub public_origins: Option<crate::guard::AllowedOrigins>,
    /// `ONEC_METRICS_BIND`: where `GET /metrics` is served (Prometheus); `None` (the default)
    /// serves no metrics. Never the public address.
    pub metrics_bind: Option<SocketAddr>,
    /// `ONEC_TRUSTED_PROXIES`: proxies (addresses, networks) whose `X-Forwarded-For` names the
    /// client for the login limiter. Empty: the connection's peer is the client.
    pub trusted_proxies: Vec<app::login_limit::IpNet>,
    /// `ONEC_SESSION_MAX_AGE`: how long a login lasts at most, however active (default 7 days).
    pub session_max_age: chrono::Duration,
    /// `ONEC_PREVIEW_PRICE_JUMP_PERCENT`, `ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT`,
    /// `ONEC_PREVIEW_STOCK_ZERO_SHARE_PERCENT`: thresholds of the change report's warnings.
    pub change_limits: wire::ChangeLimits,
    /// `ONEC_EXCHANGE_*`: 1C's «Обмен с сайтом» endpoint (`/1c/exchange`).
    pub exchange: ExchangeSettings,
}

/// The settings of the 1C exchange endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchangeSettings {
    /// `ONEC_EXCHANGE_DIR`: the spool root; every exchange writes only into its own folder
    /// `<dir>/<id>/`, and the last finished ones stay there. Default: `exchange` beside
    /// `ONEC_DATA_DIR` (the same file system, so publishing is a rename), else `var/exchange`.
    pub dir: PathBuf,
    /// `ONEC_EXCHANGE_IDLE_SECS` (default 1800): how long an exchange session and an unfinished
    /// exchange live without a request.
    pub idle: std::time::Duration,
    /// `ONEC_EXCHANGE_FILE_LIMIT` (default 100 MiB): the `file_limit` told to 1C, the largest
    /// piece of a file one request may carry.
    pub file_limit: u64,
    /// `ONEC_EXCHANGE_MAX_BYTES` (default 20 GiB): everything one exchange may store, unpacked
    /// archives included.
    pub max_bytes: u64,
    /// `ONEC_EXCHANGE_KEEP` (default 5): finished exchanges kept in the spool root.
    pub keep: usize,
    /// `ONEC_EXCHANGE_MODE` (`import`, the default, or `receive`): whether `mode=import` imports
    /// the file into the database or only checks it.
    pub mode: wire::ExchangeMode,
    /// `ONEC_EXCHANGE_CHARSET` (`utf-8`, the default, or `windows-1251`): the text lines of
    /// every reply, for old 1C versions that show UTF-8 as garbage.
    pub charset: exchange::Charset,
    /// `ONEC_EXCHANGE_WAIT_SECS` (default 600): how long `mode=import` answers `progress`
    /// while another import holds the lock before it gives up with a `failure`.
    pub wait: std::time::Duration,
    /// `ONEC_EXCHANGE_DEACTIVATE` (`true` or `false`, the default): whether `mode=deactivate`
    /// after a full exchange marks deleted the products and offers it did not mention.
    pub deactivate: bool,
}

/// Default `ONEC_EXCHANGE_IDLE_SECS`.
pub const EXCHANGE_IDLE_SECS: u64 = 1800;
/// Default `ONEC_EXCHANGE_FILE_LIMIT`: 100 MiB.
pub const EXCHANGE_FILE_LIMIT: u64 = 100 * 1024 * 1024;
/// Default `ONEC_EXCHANGE_MAX_BYTES`: 20 GiB.
pub const EXCHANGE_MAX_BYTES: u64 = 20 * 1024 * 1024 * 1024;
/// Default `ONEC_EXCHANGE_KEEP`.
pub const EXCHANGE_KEEP: usize = 5;
/// Default `ONEC_EXCHANGE_WAIT_SECS`.
pub const EXCHANGE_WAIT_SECS: u64 = 600;

impl ExchangeSettings {
    /// What the «Обмен с 1С» page shows of these settings.
    pub fn setup(&self) -> wire::ExchangeSetup {
        wire::ExchangeSetup {
            path: crate::exchange1c::PATH.to_owned(),
            mode: self.mode,
            file_limit: self.file_limit,
            zip: true,
            deactivate: self.deactivate,
            charset: self.charset.label().to_owned(),
            keep: self.keep as u64,
        }
    }

    /// The defaults for an export folder (`ONEC_DATA_DIR`), if any.
    pub fn defaults(data_dir: Option<&Path>) -> ExchangeSettings {
        ExchangeSettings {
            dir: default_exchange_dir(data_dir),
            idle: std::time::Duration::from_secs(EXCHANGE_IDLE_SECS),
            file_limit: EXCHANGE_FILE_LIMIT,
            max_bytes: EXCHANGE_MAX_BYTES,
            keep: EXCHANGE_KEEP,
            mode: wire::ExchangeMode::Import,
            charset: exchange::Charset::Utf8,
            wait: std::time::Duration::from_secs(EXCHANGE_WAIT_SECS),
            deactivate: false,
        }
    }
}

/// `exchange` beside the export folder (`/srv/1c/export` → `/srv/1c/exchange`), or
/// `var/exchange` without one.
fn default_exchange_dir(data_dir: Option<&Path>) -> PathBuf {
    match data_dir.and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => parent.join("exchange"),
        Some(_) => PathBuf::from("exchange"),
        None => PathBuf::from("var/exchange"),
    }
}

/// The path made absolute against the working folder and with `.` and `..` resolved lexically
/// (the folders may not exist yet), for comparing two settings.
fn lexical_absolute(p: &Path) -> PathBuf {
    use std::path::Component;
    let base = if p.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    let mut out = PathBuf::new();
    for c in base.components().chain(p.components()) {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Reads the `ONEC_EXCHANGE_*` settings.
fn exchange_settings(
    env: &impl Env,
    data_dir: Option<&Path>,
) -> Result<ExchangeSettings, ConfigError> {
    let d = ExchangeSettings::defaults(data_dir);
    let number = |var: &'static str, v: String, min: u64, max: u64| {
        v.trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                bad(
                    var,
                    format!("ожидается целое число от {min} до {max}, получено «{v}»"),
                )
            })
    };
    let dir = env
        .var("ONEC_EXCHANGE_DIR")
        .map(PathBuf::from)
        .unwrap_or(d.dir);
    if let Some(data) = data_dir {
        let (a, b) = (lexical_absolute(&dir), lexical_absolute(data));
        if a.starts_with(&b) || b.starts_with(&a) {
            return Err(bad(
                "ONEC_EXCHANGE_DIR",
                format!(
                    "папка обмена «{}» не может лежать внутри ONEC_DATA_DIR «{}» или содержать её",
                    dir.display(),
                    data.display()
                ),
            ));
        }
    }
    let idle = match env.var("ONEC_EXCHANGE_IDLE_SECS") {
        None => d.idle,
        Some(v) => {
            std::time::Duration::from_secs(number("ONEC_EXCHANGE_IDLE_SECS", v, 1, 7 * 24 * 3600)?)
        }
    };
    let file_limit = match env.var("ONEC_EXCHANGE_FILE_LIMIT") {
        None => d.file_limit,
        Some(v) => number("ONEC_EXCHANGE_FILE_LIMIT", v, 1024, 4 * 1024 * 1024 * 1024)?,
    };
    let max_bytes = match env.var("ONEC_EXCHANGE_MAX_BYTES") {
        None => d.max_bytes,
        Some(v) => number("ONEC_EXCHANGE_MAX_BYTES", v, 1024, u64::MAX / 2)?,
    };
    if max_bytes < file_limit {
        return Err(bad(
            "ONEC_EXCHANGE_MAX_BYTES",
            format!("меньше ONEC_EXCHANGE_FILE_LIMIT ({file_limit} байт)"),
        ));
    }
    let keep = match env.var("ONEC_EXCHANGE_KEEP") {
        None => d.keep,
        Some(v) => number("ONEC_EXCHANGE_KEEP", v, 1, 1000)? as usize,
    };
    let mode = match env.var("ONEC_EXCHANGE_MODE") {
        None => d.mode,
        Some(v) => wire::ExchangeMode::parse(v.trim()).ok_or_else(|| {
            bad(
                "ONEC_EXCHANGE_MODE",
                format!("ожидается import или receive, получено «{v}»"),
            )
        })?,
    };
    let charset = match env.var("ONEC_EXCHANGE_CHARSET") {
        None => d.charset,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => exchange::Charset::Utf8,
            "windows-1251" | "cp1251" => exchange::Charset::Windows1251,
            _ => {
                return Err(bad(
                    "ONEC_EXCHANGE_CHARSET",
                    format!("ожидается utf-8 или windows-1251, получено «{v}»"),
                ));
            }
        },
    };
    let wait = match env.var("ONEC_EXCHANGE_WAIT_SECS") {
        None => d.wait,
        Some(v) => {
            std::time::Duration::from_secs(number("ONEC_EXCHANGE_WAIT_SECS", v, 1, 24 * 3600)?)
        }
    };
    let deactivate = match env.var("ONEC_EXCHANGE_DEACTIVATE") {
        None => d.deactivate,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                return Err(bad(
                    "ONEC_EXCHANGE_DEACTIVATE",
                    format!("ожидается true или false, получено «{v}»"),
                ));
            }
        },
    };
    Ok(ExchangeSettings {
        dir,
        idle,
        file_limit,
        max_bytes,
        keep,
        mode,
        charset,
        wait,
        deactivate,
    })
}

/// `12h`, `7d` or a number of hours, between 1 hour and 365 days.
fn parse_max_age(v: &str) -> Option<chrono::Duration> {
    let v = v.trim();
    let (num, unit) = match v.strip_suffix('d') {
        Some(n) => (n, chrono::Duration::days(1)),
        None => (v.strip_suffix('h').unwrap_or(v), chrono::Duration::hours(1)),
    };
    let n: i32 = num.trim().parse().ok()?;
    let d = unit * n;
    (d >= chrono::Duration::hours(1) && d <= chrono::Duration::days(365)).then_some(d)
}

/// The default database: a SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/onec.db?mode=rwc";

/// A configuration error names the variable and says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("Неверная настройка {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

fn bad(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        problem: problem.into(),
    }
}

impl Config {
    /// Reads and checks every setting.
    pub fn from_env(env: &impl Env) -> Result<Config, ConfigError> {
        let database_url = env
            .var("DATABASE_URL")
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        engine::db::Backend::from_url(&database_url).map_err(|p| bad("DATABASE_URL", p))?;

        let redis_url = env
            .var("REDIS_URL")
            .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
        engine::redis::Client::open(redis_url.as_str()).map_err(|e| {
            bad(
                "REDIS_URL",
                format!("{e} («{}»)", engine::db::redact_url(&redis_url)),
            )
        })?;

        let bind = env
            .var("ONEC_BIND")
            .unwrap_or_else(|| "127.0.0.1:3000".into());
        let bind = bind.parse::<SocketAddr>().map_err(|_| {
            bad(
                "ONEC_BIND",
                format!("ожидается адрес вида 127.0.0.1:3000, получено «{bind}»"),
            )
        })?;

        let data_dir = env.var("ONEC_DATA_DIR").map(PathBuf::from);
        let dist_dir = PathBuf::from(env.var("ONEC_DIST_DIR").unwrap_or_else(|| "dist".into()));

        let first_admin = match (env.var("ONEC_ADMIN_LOGIN"), env.var("ONEC_ADMIN_PASSWORD")) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad(
                    "ONEC_ADMIN_PASSWORD",
                    "не задан, а ONEC_ADMIN_LOGIN задан",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "ONEC_ADMIN_LOGIN",
                    "не задан, а ONEC_ADMIN_PASSWORD задан",
                ));
            }
            (Some(l), Some(p)) => {
                if p.chars().count() < engine::auth::MIN_PASSWORD_LEN {
                    return Err(bad(
                        "ONEC_ADMIN_PASSWORD",
                        format!(
                            "пароль должен быть не короче {} символов",
                            engine::auth::MIN_PASSWORD_LEN
                        ),
                    ));
                }
                Some((l, p))
            }
        };

        let secure_cookies = match env.var("ONEC_SECURE_COOKIES").as_deref() {
            Some("0" | "false" | "no") => false,
            None | Some("1" | "true" | "yes") => true,
            Some(other) => {
                return Err(bad(
                    "ONEC_SECURE_COOKIES",
                    format!("ожидается true или false, получено «{other}»"),
                ));
            }
        };

        let redis_prefix = env
            .var("ONEC_REDIS_PREFIX")
            .unwrap_or_else(|| engine::run::DEFAULT_PREFIX.into());
        if !redis_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        {
            return Err(bad(
                "ONEC_REDIS_PREFIX",
                format!("допустимы латинские буквы, цифры и - _ . :, получено «{redis_prefix}»"),
            ));
        }

        let metrics_bind = metrics_bind(env, bind)?;
        let trusted_proxies = app::login_limit::parse_trusted_proxies(
            &env.var("ONEC_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|p| bad("ONEC_TRUSTED_PROXIES", p))?;
        let session_max_age = match env.var("ONEC_SESSION_MAX_AGE") {
            None => engine::auth::SESSION_MAX_AGE,
            Some(v) => parse_max_age(&v).ok_or_else(|| {
                bad(
                    "ONEC_SESSION_MAX_AGE",
                    format!(
                        "ожидается срок вида 12h или 7d (от 1 часа до 365 дней), получено «{v}»"
                    ),
                )
            })?,
        };
        let public_origins = env
            .var("ONEC_PUBLIC_ORIGIN")
            .map(|v| crate::guard::AllowedOrigins::parse_list(&v))
            .transpose()
            .map_err(|p| bad("ONEC_PUBLIC_ORIGIN", p))?;

        let exchange = exchange_settings(env, data_dir.as_deref())?;
        Ok(Config {
            database_url,
            redis_url,
            data_dir,
            bind,
            dist_dir,
            first_admin,
            secure_cookies,
            redis_prefix,
            metrics_bind,
            trusted_proxies,
            session_max_age,
            public_origins,
            change_limits: change_limits(env)?,
            exchange,
        })
    }
}

/// `ONEC_METRICS_BIND`: an address other than `ONEC_BIND` (metrics are for the operator's
/// scraper, not the public).
fn metrics_bind(env: &impl Env, bind: SocketAddr) -> Result<Option<SocketAddr>, ConfigError> {
    let Some(raw) = env.var("ONEC_METRICS_BIND") else {
        return Ok(None);
    };
    let addr = raw.trim().parse::<SocketAddr>().map_err(|_| {
        bad(
            "ONEC_METRICS_BIND",
            format!("ожидается адрес вида 127.0.0.1:9300, получено «{raw}»"),
        )
    })?;
    let overlaps = addr.port() == bind.port()
        && (addr.ip() == bind.ip() || addr.ip().is_unspecified() || bind.ip().is_unspecified());
    if overlaps && addr.port() != 0 {
        return Err(bad(
            "ONEC_METRICS_BIND",
            format!(
                "метрики не отдаются на публичном адресе ONEC_BIND ({bind}): укажите другой порт"
            ),
        ));
    }
    Ok(Some(addr))
}

/// The thresholds of the change report's warnings: whole percents, 0–1000.
fn change_limits(env: &impl Env) -> Result<wire::ChangeLimits, ConfigError> {
    let d = wire::ChangeLimits::default();
    let read = |var: &'static str, default: u32| match env.var(var) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|p| *p <= 1000)
            .ok_or_else(|| {
                bad(
                    var,
                    format!("ожидается целое число процентов 0–1000, получено «{v}»"),
                )
            }),
    };
    Ok(wire::ChangeLimits {
        price_jump_percent: read("ONEC_PREVIEW_PRICE_JUMP_PERCENT", d.price_jump_percent)?,
        deactivated_share_percent: read(
            "ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT",
            d.deactivated_share_percent,
        )?,
        stock_zero_share_percent: read(
            "ONEC_PREVIEW_STOCK_ZERO_SHARE_PERCENT",
            d.stock_zero_share_percent,
        )?,
    })
}

#[cfg(test)]
mod change_limit_tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn preview_thresholds_are_read_and_checked() {
        let c = Config::from_env(&HashMap::new()).unwrap();
        assert_eq!(c.change_limits, wire::ChangeLimits::default());
        let env = HashMap::from([
            ("ONEC_PREVIEW_PRICE_JUMP_PERCENT", "30"),
            ("ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT", "5"),
            ("ONEC_PREVIEW_STOCK_ZERO_SHARE_PERCENT", "40"),
        ]);
        let l = Config::from_env(&env).unwrap().change_limits;
        assert_eq!(
            (
                l.price_jump_percent,
                l.deactivated_share_percent,
                l.stock_zero_share_percent
            ),
            (30, 5, 40)
        );
        let err = Config::from_env(&HashMap::from([(
            "ONEC_PREVIEW_PRICE_JUMP_PERCENT",
            "много",
        )]))
        .unwrap_err();
        assert_eq!(err.var, "ONEC_PREVIEW_PRICE_JUMP_PERCENT");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn defaults_need_nothing() {
        let c = Config::from_env(&HashMap::new()).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(c.dist_dir, PathBuf::from("dist"));
        assert!(c.first_admin.is_none() && c.data_dir.is_none());
        assert!(c.secure_cookies, "Secure and __Host- unless switched off");
        assert!(c.trusted_proxies.is_empty());
        assert_eq!(c.session_max_age, chrono::Duration::days(7));
        assert!(c.metrics_bind.is_none(), "no metrics unless asked for");
        assert!(c.public_origins.is_none());
    }

    #[test]
    fn every_setting_is_read() {
        let env = HashMap::from([
            ("DATABASE_URL", "postgres://u:p@db/shop"),
            ("REDIS_URL", "redis://cache:6380/1"),
            ("ONEC_BIND", "0.0.0.0:8080"),
            ("ONEC_DATA_DIR", "/srv/1c"),
            ("ONEC_DIST_DIR", "/srv/dist"),
            ("ONEC_ADMIN_LOGIN", "admin"),
            ("ONEC_ADMIN_PASSWORD", "long-enough"),
            ("ONEC_SECURE_COOKIES", "true"),
            ("ONEC_REDIS_PREFIX", "shop-1"),
            ("ONEC_METRICS_BIND", "127.0.0.1:9300"),
            ("ONEC_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16"),
            ("ONEC_SESSION_MAX_AGE", "36h"),
            ("ONEC_PUBLIC_ORIGIN", "https://shop-admin.example"),
        ]);
        let c = Config::from_env(&env).unwrap();
        assert_eq!(c.bind.port(), 8080);
        assert_eq!(c.data_dir, Some(PathBuf::from("/srv/1c")));
        assert_eq!(c.first_admin, Some(("admin".into(), "long-enough".into())));
        assert!(c.secure_cookies);
        assert_eq!(c.redis_prefix, "shop-1");
        assert_eq!(c.metrics_bind.map(|a| a.port()), Some(9300));
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(c.session_max_age, chrono::Duration::hours(36));
        let plain = Config::from_env(&HashMap::from([("ONEC_SECURE_COOKIES", "false")])).unwrap();
        assert!(!plain.secure_cookies);
        assert_eq!(parse_max_age("7d"), Some(chrono::Duration::days(7)));
        assert_eq!(parse_max_age("12"), Some(chrono::Duration::hours(12)));
        assert_eq!(
            c.public_origins.map(|o| o.list()).as_deref(),
            Some("https://shop-admin.example")
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        // Each bad value is named by its own variable ...
        let own = [
            ("DATABASE_URL", "mysql://x"),
            ("REDIS_URL", "http://nope"),
            ("ONEC_BIND", "localhost"),
            ("ONEC_SECURE_COOKIES", "maybe"),
            ("ONEC_REDIS_PREFIX", "a b"),
            ("ONEC_METRICS_BIND", "9300"),
            ("ONEC_METRICS_BIND", "127.0.0.1:3000"),
            ("ONEC_METRICS_BIND", "0.0.0.0:3000"),
            ("ONEC_TRUSTED_PROXIES", "proxy.local"),
            ("ONEC_TRUSTED_PROXIES", "10.0.0.0/40"),
            ("ONEC_SESSION_MAX_AGE", "forever"),
            ("ONEC_SESSION_MAX_AGE", "0h"),
            ("ONEC_PUBLIC_ORIGIN", "shop-admin.example"),
            ("ONEC_EXCHANGE_IDLE_SECS", "0"),
            ("ONEC_EXCHANGE_FILE_LIMIT", "100M"),
            ("ONEC_EXCHANGE_FILE_LIMIT", "10"),
            ("ONEC_EXCHANGE_MAX_BYTES", "2048"),
            ("ONEC_EXCHANGE_KEEP", "0"),
            ("ONEC_EXCHANGE_MODE", "import-all"),
            ("ONEC_EXCHANGE_CHARSET", "koi8-r"),
            ("ONEC_EXCHANGE_WAIT_SECS", "0"),
            ("ONEC_EXCHANGE_DEACTIVATE", "sometimes"),
            ("ONEC_EXCHANGE_DIR", "/srv/1c/export/spool"),
            ("ONEC_EXCHANGE_DIR", "/srv/1c/export/../export"),
            ("ONEC_EXCHANGE_DIR", "/srv"),
        ]
        .map(|(k, v)| (k, v, k));
        // ... except half an administrator, which names the half that is missing.
        let pair = [
            ("ONEC_ADMIN_LOGIN", "admin", "ONEC_ADMIN_PASSWORD"),
            ("ONEC_ADMIN_PASSWORD", "long-enough", "ONEC_ADMIN_LOGIN"),
        ];
        for (k, v, var) in own.into_iter().chain(pair) {
            // With an export folder: the spool's placement is checked against it.
            let env = HashMap::from([("ONEC_DATA_DIR", "/srv/1c/export"), (k, v)]);
            let err = Config::from_env(&env).unwrap_err();
            assert_eq!(err.var, var, "{k}={v}");
            assert!(
                err.to_string()
                    .starts_with(&format!("Неверная настройка {var}: ")),
                "{err}"
            );
        }
        let short = HashMap::from([("ONEC_ADMIN_LOGIN", "a"), ("ONEC_ADMIN_PASSWORD", "short")]);
        assert_eq!(
            Config::from_env(&short).unwrap_err().var,
            "ONEC_ADMIN_PASSWORD"
        );
    }

    #[test]
    fn exchange_settings_have_defaults_and_bounds() {
        let none = Config::from_env(&HashMap::new()).unwrap().exchange;
        assert_eq!(none.dir, PathBuf::from("var/exchange"));
        assert_eq!(none.idle, std::time::Duration::from_secs(1800));
        assert_eq!(none.file_limit, 104_857_600);
        assert_eq!(none.max_bytes, 20 * 1024 * 1024 * 1024);
        assert_eq!(none.keep, 5);
        assert_eq!(none.mode, wire::ExchangeMode::Import);
        assert_eq!(none.charset, exchange::Charset::Utf8);
        assert_eq!(none.wait, std::time::Duration::from_secs(600));
        assert!(!none.deactivate, "deactivation only when switched on");
        assert!(!none.setup().deactivate);
        let beside = Config::from_env(&HashMap::from([("ONEC_DATA_DIR", "/srv/1c/export")]))
            .unwrap()
            .exchange;
        assert_eq!(beside.dir, PathBuf::from("/srv/1c/exchange"));
        let env = HashMap::from([
            ("ONEC_DATA_DIR", "/srv/1c/export"),
            ("ONEC_EXCHANGE_DIR", "/var/spool/onec"),
            ("ONEC_EXCHANGE_IDLE_SECS", "600"),
            ("ONEC_EXCHANGE_FILE_LIMIT", "1048576"),
            ("ONEC_EXCHANGE_MAX_BYTES", "1073741824"),
            ("ONEC_EXCHANGE_KEEP", "3"),
            ("ONEC_EXCHANGE_MODE", "receive"),
            ("ONEC_EXCHANGE_CHARSET", "Windows-1251"),
            ("ONEC_EXCHANGE_WAIT_SECS", "30"),
            ("ONEC_EXCHANGE_DEACTIVATE", "true"),
        ]);
        let c = Config::from_env(&env).unwrap().exchange;
        assert_eq!(
            c,
            ExchangeSettings {
                dir: PathBuf::from("/var/spool/onec"),
                idle: std::time::Duration::from_secs(600),
                file_limit: 1_048_576,
                max_bytes: 1_073_741_824,
                keep: 3,
                mode: wire::ExchangeMode::Receive,
                charset: exchange::Charset::Windows1251,
                wait: std::time::Duration::from_secs(30),
                deactivate: true,
            }
        );
        assert!(
            c.setup().deactivate,
            "the «Обмен с 1С» page shows the setting"
        );
        let off = HashMap::from([("ONEC_EXCHANGE_DEACTIVATE", "false")]);
        assert!(!Config::from_env(&off).unwrap().exchange.deactivate);
    }
}
