//! What 1C reads back from every request: the first line exactly `success`, `progress` or
//! `failure`, then free text for its exchange log. Anything else (an empty body, an HTML error
//! page) makes 1C report «Получен неизвестный статус импорта», so every answer of the endpoint,
//! errors included, is a [`Reply`].
//!
//! The one exception is the protocol's own: a successful `mode=init` answers with the exchange's
//! parameters and no status word (`zip=yes`, `file_limit=…`, which 1C reads as the first two
//! lines; every site 1C is used with answers so): [`Reply::parameters`]. A refused `init` is a
//! `failure` like any other.

use std::fmt;

/// The first line of a reply: the shared vocabulary's [`wire::ExchangeStatus`].
pub use wire::ExchangeStatus as Status;

/// How the text lines are encoded. The status word is ASCII either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8 without BOM (what current 1C expects).
    #[default]
    Utf8,
    /// windows-1251, for old 1C versions that show UTF-8 as garbage. Characters it cannot hold
    /// (emoji, say) become `?`.
    Windows1251,
}

impl Charset {
    /// The `charset` parameter of the `Content-Type` header.
    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Windows1251 => "windows-1251",
        }
    }

    /// The charset a `Content-Type` header names (`text/plain; charset=windows-1251`): UTF-8
    /// unless it says windows-1251 (or `cp1251`), as 1C reads it.
    pub fn of_content_type(content_type: Option<&str>) -> Self {
        let named = content_type
            .into_iter()
            .flat_map(|ct| ct.split(';').skip(1))
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
            .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
        match named.as_deref() {
            Some("windows-1251" | "cp1251" | "cp-1251" | "win-1251") => Self::Windows1251,
            _ => Self::Utf8,
        }
    }

    /// The text of `bytes` in this charset; a UTF-8 BOM is dropped, and bytes that are not valid
    /// UTF-8 become U+FFFD.
    pub fn decode(self, bytes: &[u8]) -> String {
        match self {
            Self::Utf8 => encoding_rs::UTF_8
                .decode_with_bom_removal(bytes)
                .0
                .into_owned(),
            Self::Windows1251 => encoding_rs::WINDOWS_1251
                .decode_without_bom_handling(bytes)
                .0
                .into_owned(),
        }
    }
}

/// One answer to 1C: a status and its text lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The first line.
    pub status: Status,
    /// The lines after it. A line never holds a line break: [`Reply::line`] replaces them, so
    /// no text (a file name, a database message) can forge a status line of its own.
    pub lines: Vec<String>,
}

impl Reply {
    /// `success` and nothing else.
    pub fn success() -> Self {
        Self::new(Status::Success)
    }

    /// `progress` with one line saying where the work stands.
    pub fn progress(text: impl AsRef<str>) -> Self {
        Self::new(Status::Progress).line(text)
    }

    /// `failure` with one line saying why.
    pub fn failure(text: impl AsRef<str>) -> Self {
        Self::new(Status::Failure).line(text)
    }

    /// The answer of a successful `init`: `key=value` lines only, no status word.
    pub fn parameters<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        pairs
            .into_iter()
            .fold(Self::new(Status::Parameters), |r, (k, v)| {
                r.line(format!("{}={}", k.as_ref(), v.as_ref()))
            })
    }

    /// A reply with no text lines yet.
    pub fn new(status: Status) -> Self {
        Self {
            status,
            lines: Vec::new(),
        }
    }

    /// Adds one text line; line breaks and other control characters inside it become spaces.
    #[must_use]
    pub fn line(mut self, text: impl AsRef<str>) -> Self {
        let clean: String = text
            .as_ref()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.lines.push(clean);
        self
    }

    /// The body as 1C receives it: the lines joined by `\n`, no BOM.
    pub fn encode(&self, charset: Charset) -> Vec<u8> {
        let text = self.to_string();
        match charset {
            Charset::Utf8 => text.into_bytes(),
            Charset::Windows1251 => to_windows_1251(&text),
        }
    }

    /// Reads a reply as 1C does (the other side of [`Reply::encode`]): the body decoded in
    /// `charset`, lines split on `\n` (a `\r` before it, as some sites send, dropped), trailing
    /// empty lines dropped. A first line that is `success`, `progress` or `failure` is the status;
    /// anything else (the parameters of `init`, an HTML error page, an empty body) is
    /// [`Status::Parameters`] with every line kept.
    pub fn parse(bytes: &[u8], charset: Charset) -> Self {
        let text = charset.decode(bytes);
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
            .collect();
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        let status = match lines.first().map(|l| l.trim()) {
            Some("success") => Status::Success,
            Some("progress") => Status::Progress,
            Some("failure") => Status::Failure,
            _ => Status::Parameters,
        };
        if status != Status::Parameters {
            lines.remove(0);
        }
        Self { status, lines }
    }

    /// The `Content-Type` header value of [`Reply::encode`]'s body.
    pub fn content_type(charset: Charset) -> String {
        format!("text/plain; charset={}", charset.label())
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = self.lines.iter().map(String::as_str);
        let first = match self.status {
            Status::Parameters => lines.next().unwrap_or_default(),
            status => status.word(),
        };
        f.write_str(first)?;
        for line in lines {
            f.write_str("\n")?;
            f.write_str(line)?;
        }
        Ok(())
    }
}

/// windows-1251 bytes of `text`, `?` for what it cannot hold (encoding_rs alone would write HTML
/// numeric references, which 1C would show as they are).
fn to_windows_1251(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(c.encode_utf8(&mut buf));
        if unmappable {
            out.push(b'?');
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_the_status_word() {
        assert_eq!(Reply::success().to_string(), "success");
        assert_eq!(
            Reply::progress("Каталог: 12 000 из 100 000 товаров").to_string(),
            "progress\nКаталог: 12 000 из 100 000 товаров"
        );
        let r = Reply::success()
            .line("zip=yes")
            .line("file_limit=104857600");
        assert_eq!(
            r.encode(Charset::Utf8),
            b"success\nzip=yes\nfile_limit=104857600"
        );
    }

    #[test]
    fn init_answers_with_its_parameters_alone() {
        let r = Reply::parameters([("zip", "yes"), ("file_limit", "104857600")]);
        assert_eq!(r.to_string(), "zip=yes\nfile_limit=104857600");
        let r = Reply::parameters([("zip", "yes"), ("sessid", "a\nsuccess")]);
        assert_eq!(r.to_string().lines().count(), 2, "no forged line");
        assert_eq!(Reply::new(Status::Parameters).to_string(), "");
    }

    #[test]
    fn a_text_cannot_forge_a_status_line() {
        let r = Reply::failure("файл «x\nsuccess» не найден\r");
        assert_eq!(r.to_string(), "failure\nфайл «x success» не найден ");
        assert_eq!(r.to_string().lines().count(), 2);
    }

    #[test]
    fn a_reply_is_read_back_in_its_charset() {
        let sent = Reply::progress("Каталог: 12 из 100").line("ещё строка");
        for charset in [Charset::Utf8, Charset::Windows1251] {
            let ct = Reply::content_type(charset);
            let back = Reply::parse(&sent.encode(charset), Charset::of_content_type(Some(&ct)));
            assert_eq!(back, sent, "{ct}");
        }
        let init = Reply::parameters([("zip", "yes"), ("file_limit", "1")]);
        assert_eq!(
            Reply::parse(&init.encode(Charset::Utf8), Charset::Utf8),
            init
        );
    }

    #[test]
    fn what_other_sites_send_is_read_too() {
        // Bitrix: a trailing newline; Webasyst: CRLF; sgtpep: a UTF-8 BOM.
        let r = Reply::parse(b"success\nPHPSESSID\nabc\n", Charset::Utf8);
        assert_eq!((r.status, r.lines.len()), (Status::Success, 2));
        let r = Reply::parse(b"failure\r\nbad\r\n", Charset::Utf8);
        assert_eq!(r, Reply::failure("bad"));
        let r = Reply::parse("\u{feff}progress\nx".as_bytes(), Charset::Utf8);
        assert_eq!(r, Reply::progress("x"));
        let r = Reply::parse(b"<html>502</html>", Charset::Utf8);
        assert_eq!(r.status, Status::Parameters);
        assert_eq!(
            Reply::parse(b"", Charset::Utf8),
            Reply::new(Status::Parameters)
        );
        assert_eq!(
            Charset::of_content_type(Some("text/html; Charset=\"Windows-1251\"")),
            Charset::Windows1251
        );
        assert_eq!(Charset::of_content_type(Some("text/plain")), Charset::Utf8);
        assert_eq!(Charset::of_content_type(None), Charset::Utf8);
    }

    #[test]
    fn windows_1251_replaces_what_it_cannot_hold() {
        let r = Reply::failure("❌ Ошибка");
        let bytes = r.encode(Charset::Windows1251);
        assert!(bytes.starts_with(b"failure\n? "));
        let (back, _, had_errors) = encoding_rs::WINDOWS_1251.decode(&bytes);
        assert!(!had_errors);
        assert_eq!(back, "failure\n? Ошибка");
        assert_eq!(
            Reply::content_type(Charset::Windows1251),
            "text/plain; charset=windows-1251"
        );
        assert_eq!(
            Reply::content_type(Charset::Utf8),
            "text/plain; charset=utf-8"
        );
    }
}
