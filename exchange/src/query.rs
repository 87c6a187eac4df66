//! The query string of a request to the exchange endpoint: `?type=catalog&mode=…` and the
//! parameters each mode carries. Parsing is strict where a mistake would do harm (a mode that
//! needs a file name must have one) and lenient where 1C differs between generations (`sessid`,
//! `version` and `timestamp` may come or not; unknown parameters are ignored).

use std::fmt;

/// What 1C asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Log in with HTTP Basic; the reply carries the cookie for the later calls.
    CheckAuth,
    /// Start an exchange; the reply says whether zip is accepted and the chunk size.
    Init,
    /// A file, or the next piece of one (the raw request body).
    File,
    /// Import a received file; repeated while the reply is `progress`.
    Import,
    /// After a full exchange: deactivate what the exchange did not touch.
    Deactivate,
    /// The exchange is over (the 1C-Bitrix add-on sends it; classic 1C never does).
    Complete,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 6] = [
        Self::CheckAuth,
        Self::Init,
        Self::File,
        Self::Import,
        Self::Deactivate,
        Self::Complete,
    ];

    /// The word in `mode=`.
    pub fn word(self) -> &'static str {
        match self {
            Self::CheckAuth => "checkauth",
            Self::Init => "init",
            Self::File => "file",
            Self::Import => "import",
            Self::Deactivate => "deactivate",
            Self::Complete => "complete",
        }
    }

    /// Parses `mode=` (1C writes it in lower case; any case is accepted).
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.word().eq_ignore_ascii_case(word.trim()))
    }

    /// Whether the mode names a file (`filename=` is required).
    pub fn needs_file(self) -> bool {
        matches!(self, Self::File | Self::Import)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One request's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// `mode=`.
    pub mode: Mode,
    /// `filename=`, as sent (the name rules apply later: [`crate::SpoolName::parse`]).
    pub filename: Option<String>,
    /// `sessid=` (1C-Bitrix add-on: the fourth line of the checkauth reply, echoed).
    pub sessid: Option<String>,
    /// `version=` of `init` (the CommerceML version the add-on speaks, e.g. `3.1`).
    pub version: Option<String>,
    /// `timestamp=` of `deactivate` (unix seconds: the checkauth reply's `timestamp=`).
    pub timestamp: Option<i64>,
}

/// Why a query was refused. The texts are Russian: they reach 1C's exchange log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// No `type=`.
    #[error("не указан тип обмена (type=catalog)")]
    NoType,
    /// `type=sale`: orders are not exchanged here.
    #[error(
        "обмен заказами (type=sale) не поддерживается: настройте в 1С только выгрузку каталога"
    )]
    Orders,
    /// Another `type=`.
    #[error("неизвестный тип обмена «{0}»: поддерживается только type=catalog")]
    UnknownType(String),
    /// No `mode=`.
    #[error("не указан режим обмена (mode=…)")]
    NoMode,
    /// An unknown `mode=`.
    #[error("неизвестный режим обмена «{0}»")]
    UnknownMode(String),
    /// `file` or `import` without `filename=`.
    #[error("режим {0} требует параметр filename")]
    NoFilename(Mode),
    /// `timestamp=` that is not a number.
    #[error("параметр timestamp должен быть числом секунд, получено «{0}»")]
    BadTimestamp(String),
}

/// Longest value of a parameter this parser keeps (a file name is checked again later).
const MAX_VALUE_CHARS: usize = 2048;

impl Query {
    /// Reads the decoded `(name, value)` pairs of a query string. The last value of a repeated
    /// parameter wins; names are matched case-insensitively.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, QueryError> {
        let (mut kind, mut mode, mut filename, mut sessid, mut version, mut timestamp) =
            (None, None, None, None, None, None);
        for (name, value) in pairs {
            let value: String = value.chars().take(MAX_VALUE_CHARS).collect();
            match name.to_ascii_lowercase().as_str() {
                "type" => kind = Some(value),
                "mode" => mode = Some(value),
                "filename" => filename = Some(value),
                "sessid" => sessid = Some(value),
                "version" => version = Some(value),
                "timestamp" => timestamp = Some(value),
                _ => {}
            }
        }
        match kind.as_deref().map(str::trim) {
            None | Some("") => return Err(QueryError::NoType),
            Some(t) if t.eq_ignore_ascii_case("catalog") => {}
            Some(t) if t.eq_ignore_ascii_case("sale") => return Err(QueryError::Orders),
            Some(t) => return Err(QueryError::UnknownType(t.to_owned())),
        }
        let mode = match mode.as_deref().map(str::trim) {
            None | Some("") => return Err(QueryError::NoMode),
            Some(m) => Mode::parse(m).ok_or_else(|| QueryError::UnknownMode(m.to_owned()))?,
        };
        let filename = filename.filter(|f| !f.trim().is_empty());
        if mode.needs_file() && filename.is_none() {
            return Err(QueryError::NoFilename(mode));
        }
        let timestamp = match timestamp.filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(t) => Some(
                t.trim()
                    .parse::<i64>()
                    .map_err(|_| QueryError::BadTimestamp(t.clone()))?,
            ),
        };
        Ok(Self {
            mode,
            filename,
            sessid: sessid.filter(|s| !s.is_empty()),
            version: version.filter(|v| !v.is_empty()),
            timestamp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &[(&str, &str)]) -> Result<Query, QueryError> {
        Query::parse(q.iter().copied())
    }

    #[test]
    fn every_mode_1c_sends_is_read() {
        let q = parse(&[("type", "catalog"), ("mode", "checkauth")]).unwrap();
        assert_eq!(q.mode, Mode::CheckAuth);
        let q = parse(&[
            ("type", "catalog"),
            ("mode", "init"),
            ("sessid", "abc"),
            ("version", "3.1"),
        ])
        .unwrap();
        assert_eq!(
            (q.mode, q.sessid.as_deref(), q.version.as_deref()),
            (Mode::Init, Some("abc"), Some("3.1"))
        );
        let q = parse(&[
            ("type", "catalog"),
            ("mode", "file"),
            ("filename", "import0_1.xml"),
        ])
        .unwrap();
        assert_eq!(q.filename.as_deref(), Some("import0_1.xml"));
        let q = parse(&[
            ("type", "catalog"),
            ("mode", "deactivate"),
            ("timestamp", "1700000000"),
        ])
        .unwrap();
        assert_eq!(q.timestamp, Some(1_700_000_000));
        assert_eq!(
            parse(&[("TYPE", "Catalog"), ("Mode", "COMPLETE")])
                .unwrap()
                .mode,
            Mode::Complete
        );
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.word()), Some(m));
        }
    }

    #[test]
    fn what_cannot_be_served_says_why() {
        assert_eq!(parse(&[("mode", "init")]), Err(QueryError::NoType));
        assert_eq!(
            parse(&[("type", "sale"), ("mode", "query")]),
            Err(QueryError::Orders)
        );
        assert!(
            QueryError::Orders.to_string().contains("type=sale"),
            "the text names what 1C sent"
        );
        assert_eq!(
            parse(&[("type", "crm"), ("mode", "init")]),
            Err(QueryError::UnknownType("crm".into()))
        );
        assert_eq!(parse(&[("type", "catalog")]), Err(QueryError::NoMode));
        assert_eq!(
            parse(&[("type", "catalog"), ("mode", "query")]),
            Err(QueryError::UnknownMode("query".into()))
        );
        assert_eq!(
            parse(&[("type", "catalog"), ("mode", "import"), ("filename", " ")]),
            Err(QueryError::NoFilename(Mode::Import))
        );
        assert_eq!(
            parse(&[
                ("type", "catalog"),
                ("mode", "deactivate"),
                ("timestamp", "x")
            ]),
            Err(QueryError::BadTimestamp("x".into()))
        );
        assert_eq!(
            QueryError::NoFilename(Mode::File).to_string(),
            "режим file требует параметр filename"
        );
    }

    #[test]
    fn values_are_bounded_and_the_last_one_wins() {
        let long = "a".repeat(10_000);
        let q = parse(&[
            ("type", "catalog"),
            ("mode", "file"),
            ("filename", "first.xml"),
            ("filename", &long),
        ])
        .unwrap();
        assert_eq!(q.filename.unwrap().len(), MAX_VALUE_CHARS);
    }
}
