use std::net::SocketAddr;
use std::path::PathBuf;

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
    /// `ONEC_SECURE_COOKIES`: mark the session cookie `Secure` (behind a TLS proxy).
    pub secure_cookies: bool,
    /// `ONEC_REDIS_PREFIX`: the prefix of every Redis key; instances sharing it share the lock.
    pub redis_prefix: String,
    /// `ONEC_PREVIEW_PRICE_JUMP_PERCENT`, `ONEC_PREVIEW_DEACTIVATED_SHARE_PERCENT`,
    /// `ONEC_PREVIEW_STOCK_ZERO_SHARE_PERCENT`: thresholds of the change report's warnings.
    pub change_limits: wire::ChangeLimits,
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
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
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

        Ok(Config {
            database_url,
            redis_url,
            data_dir,
            bind,
            dist_dir,
            first_admin,
            secure_cookies,
            redis_prefix,
            change_limits: change_limits(env)?,
        })
    }
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
        assert!(c.first_admin.is_none() && c.data_dir.is_none() && !c.secure_cookies);
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
        ]);
        let c = Config::from_env(&env).unwrap();
        assert_eq!(c.bind.port(), 8080);
        assert_eq!(c.data_dir, Some(PathBuf::from("/srv/1c")));
        assert_eq!(c.first_admin, Some(("admin".into(), "long-enough".into())));
        assert!(c.secure_cookies);
        assert_eq!(c.redis_prefix, "shop-1");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (k, v, var) in [
            ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
            ("REDIS_URL", "http://nope", "REDIS_URL"),
            ("ONEC_BIND", "localhost", "ONEC_BIND"),
            ("ONEC_ADMIN_LOGIN", "admin", "ONEC_ADMIN_PASSWORD"),
            ("ONEC_ADMIN_PASSWORD", "long-enough", "ONEC_ADMIN_LOGIN"),
            ("ONEC_SECURE_COOKIES", "maybe", "ONEC_SECURE_COOKIES"),
            ("ONEC_REDIS_PREFIX", "a b", "ONEC_REDIS_PREFIX"),
        ] {
            let err = Config::from_env(&HashMap::from([(k, v)])).unwrap_err();
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
}
