//! The byte layer under the XML parser: strips a byte-order mark, transcodes
//! windows-1251 (or any ASCII-compatible encoding named in the XML
//! declaration, or UTF-16 with a BOM) to UTF-8 in a fixed-size buffer, and
//! counts lines and raw bytes as the parser consumes them. UTF-8 input passes
//! through without a copy. Memory use is constant whatever the input size.

use crate::error::{ErrorKind, MAX_EVENT_BYTES};
use encoding_rs::{CoderResult, Decoder, Encoding, UTF_8, UTF_16BE, UTF_16LE};
use std::io::{self, BufRead, Read};

/// How many bytes are read ahead to find a BOM and the XML declaration.
const PREFIX_LEN: usize = 512;
/// Size of the transcoding output buffer.
const OUT_LEN: usize = 32 * 1024;

struct Transcoder {
    decoder: Decoder,
    out: Box<[u8]>,
    pos: usize,
    len: usize,
    finished: bool,
}

/// A `BufRead` yielding UTF-8 without BOM.
pub(crate) struct Source<R> {
    inner: R,
    started: bool,
    /// UTF-8 input and the read-ahead prefix is used up: plain delegation.
    passthrough: bool,
    prefix: Vec<u8>,
    prefix_pos: usize,
    transcoder: Option<Box<Transcoder>>,
    /// Raw bytes taken from `inner` by the transcoder.
    raw: u64,
    /// Length of the BOM that was skipped.
    bom: u64,
    /// A detailed error behind the last `io::Error` this source returned.
    failure: Option<ErrorKind>,
    /// Bytes handed to the parser since [`Source::start_event`]: the parser buffers one event
    /// whole, so a text, comment or tag of gigabytes is refused here, while it is read.
    event: usize,
}

impl<R: BufRead> Source<R> {
    pub(crate) fn new(inner: R) -> Self {
        Source {
            inner,
            started: false,
            passthrough: false,
            prefix: Vec::new(),
            prefix_pos: 0,
            transcoder: None,
            raw: 0,
            bom: 0,
            failure: None,
            event: 0,
        }
    }

    /// The parser starts reading a new event: its size counts from here.
    pub(crate) fn start_event(&mut self) {
        self.event = 0;
    }

    /// Raw bytes the transcoder took from the underlying reader (BOM
    /// included); `None` when the input is UTF-8 and passes through, so
    /// parser offsets are raw offsets.
    pub(crate) fn transcoded_bytes(&self) -> Option<u64> {
        self.transcoder.as_ref().map(|_| self.raw)
    }

    /// Length of the skipped BOM (added to parser offsets).
    pub(crate) fn bom_len(&self) -> u64 {
        self.bom
    }

    /// The detailed cause of the last I/O error returned, if this source made it.
    pub(crate) fn take_failure(&mut self) -> Option<ErrorKind> {
        self.failure.take()
    }

    fn start(&mut self) -> io::Result<()> {
        self.started = true;
        while self.prefix.len() < PREFIX_LEN {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min(PREFIX_LEN - self.prefix.len());
            self.prefix.extend_from_slice(&buf[..n]);
            self.inner.consume(n);
        }
        let encoding = if self.prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.skip_bom(3);
            declared_encoding(&self.prefix[3..])
        } else if self.prefix.starts_with(&[0xFF, 0xFE]) {
            self.skip_bom(2);
            Ok(Some(UTF_16LE))
        } else if self.prefix.starts_with(&[0xFE, 0xFF]) {
            self.skip_bom(2);
            Ok(Some(UTF_16BE))
        } else {
            declared_encoding(&self.prefix)
        };
        match encoding {
            Ok(Some(enc)) if enc != UTF_8 => {
                self.transcoder = Some(Box::new(Transcoder {
                    decoder: enc.new_decoder_without_bom_handling(),
                    out: vec![0; OUT_LEN].into_boxed_slice(),
                    pos: 0,
                    len: 0,
                    finished: false,
                }));
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(label) => {
                self.failure = Some(ErrorKind::UnsupportedEncoding(label));
                Err(io::Error::other("unsupported encoding"))
            }
        }
    }

    fn skip_bom(&mut self, len: usize) {
        self.prefix_pos = len;
        self.bom = len as u64;
        self.raw = len as u64;
    }
}

/// Reads `encoding="…"` from an XML declaration at the start of `bytes`.
/// `Ok(None)`: no declaration or no encoding (UTF-8). `Err(label)`: unsupported.
fn declared_encoding(bytes: &[u8]) -> Result<Option<&'static Encoding>, String> {
    if !bytes.starts_with(b"<?xml") {
        return Ok(None);
    }
    let Some(end) = find(bytes, b"?>") else {
        return Ok(None);
    };
    let decl = &bytes[..end];
    let Some(at) = find(decl, b"encoding") else {
        return Ok(None);
    };
    let rest = &decl[at + b"encoding".len()..];
    let rest = trim_start(rest);
    let Some(rest) = rest.strip_prefix(b"=") else {
        return Ok(None);
    };
    let rest = trim_start(rest);
    let Some((&quote, rest)) = rest.split_first() else {
        return Ok(None);
    };
    if quote != b'"' && quote != b'\'' {
        return Ok(None);
    }
    let Some(len) = rest.iter().position(|&b| b == quote) else {
        return Ok(None);
    };
    let label = &rest[..len];
    match Encoding::for_label(label) {
        // A declaration readable as ASCII cannot be UTF-16: the bytes are UTF-8.
        Some(enc) if enc == UTF_16LE || enc == UTF_16BE => Ok(None),
        Some(enc) if enc.is_ascii_compatible() => Ok(Some(enc)),
        _ => Err(String::from_utf8_lossy(label).into_owned()),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn trim_start(mut b: &[u8]) -> &[u8] {
    while let Some((first, rest)) = b.split_first() {
        if !first.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    b
}

/// Number of `\n` bytes.
pub(crate) fn count_newlines(bytes: &[u8]) -> u64 {
    // Byte-wide counters over chunks of at most 255 bytes vectorize well.
    let mut total = 0u64;
    for chunk in bytes.chunks(255) {
        let mut n = 0u8;
        for &b in chunk {
            n += u8::from(b == b'\n');
        }
        total += u64::from(n);
    }
    total
}

impl<R: BufRead> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.event >= MAX_EVENT_BYTES {
            self.failure = Some(ErrorKind::EventTooLarge);
            return Err(io::Error::other("event too large"));
        }
        if self.passthrough {
            return self.inner.fill_buf();
        }
        if !self.started {
            self.start()?;
        }
        let Source {
            inner,
            prefix,
            prefix_pos,
            transcoder,
            raw,
            ..
        } = self;
        let Some(t) = transcoder else {
            if *prefix_pos < prefix.len() {
                return Ok(&prefix[*prefix_pos..]);
            }
            self.passthrough = true;
            return self.inner.fill_buf();
        };
        loop {
            if t.pos < t.len {
                return Ok(&t.out[t.pos..t.len]);
            }
            if t.finished {
                return Ok(&[]);
            }
            let from_prefix = *prefix_pos < prefix.len();
            let src: &[u8] = if from_prefix {
                &prefix[*prefix_pos..]
            } else {
                inner.fill_buf()?
            };
            let last = src.is_empty();
            let (result, read, written, _) = t.decoder.decode_to_utf8(src, &mut t.out, last);
            if from_prefix {
                *prefix_pos += read;
            } else {
                inner.consume(read);
            }
            *raw += read as u64;
            t.pos = 0;
            t.len = written;
            if last && result == CoderResult::InputEmpty {
                t.finished = true;
            }
        }
    }

    fn consume(&mut self, amt: usize) {
        self.event = self.event.saturating_add(amt);
        if self.passthrough {
            self.inner.consume(amt);
            return;
        }
        if let Some(t) = &mut self.transcoder {
            t.pos = (t.pos + amt).min(t.len);
            return;
        }
        if self.prefix_pos < self.prefix.len() {
            self.prefix_pos = (self.prefix_pos + amt).min(self.prefix.len());
        } else {
            self.inner.consume(amt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (String, u64) {
        let mut s = Source::new(bytes);
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let lines = count_newlines(out.as_bytes());
        (out, lines)
    }

    #[test]
    fn counts_newlines_in_long_input() {
        let text = "a\n".repeat(1000);
        assert_eq!(count_newlines(text.as_bytes()), 1000);
        assert_eq!(count_newlines(b""), 0);
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let (s, lines) = read_all(b"\xEF\xBB\xBF<a>\n</a>");
        assert_eq!(s, "<a>\n</a>");
        assert_eq!(lines, 1);
    }

    #[test]
    fn windows_1251_is_transcoded() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n<a>".to_vec();
        bytes.extend_from_slice(&[0xC8, 0xE4]); // "Ид"
        bytes.extend_from_slice(b"</a>");
        let (s, lines) = read_all(&bytes);
        assert!(s.ends_with("<a>Ид</a>"), "{s}");
        assert_eq!(lines, 1);
    }

    #[test]
    fn utf16_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "<a>Ид</a>".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(read_all(&bytes).0, "<a>Ид</a>");
    }

    #[test]
    fn unsupported_encoding() {
        let mut s = Source::new(&b"<?xml version='1.0' encoding='x-nonsense'?><a/>"[..]);
        assert!(s.fill_buf().is_err());
        assert!(
            matches!(s.take_failure(), Some(ErrorKind::UnsupportedEncoding(l)) if l == "x-nonsense")
        );
    }

    #[test]
    fn one_event_may_not_outgrow_the_limit() {
        let big = vec![b'a'; MAX_EVENT_BYTES + 100_000];
        let mut s = Source::new(io::BufReader::with_capacity(64 * 1024, &big[..]));
        s.start_event();
        let mut taken = 0;
        let err = loop {
            match s.fill_buf() {
                Ok([]) => panic!("read {taken} bytes without an error"),
                Ok(buf) => {
                    let n = buf.len();
                    s.consume(n);
                    taken += n;
                }
                Err(e) => break e,
            }
        };
        // Stopped at the limit, give or take one buffer.
        assert!(
            (MAX_EVENT_BYTES..=MAX_EVENT_BYTES + 64 * 1024).contains(&taken),
            "{taken}"
        );
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert!(matches!(s.take_failure(), Some(ErrorKind::EventTooLarge)));
        // A new event starts a new count.
        s.start_event();
        assert!(!s.fill_buf().unwrap().is_empty());
    }

    #[test]
    fn declaration_variants() {
        assert_eq!(declared_encoding(b"<?xml version='1.0'?>"), Ok(None));
        assert_eq!(
            declared_encoding(b"<?xml encoding = 'UTF-8' ?>"),
            Ok(Some(UTF_8))
        );
        assert_eq!(declared_encoding(b"<?xml encoding=\"utf-16\"?>"), Ok(None));
        assert_eq!(declared_encoding(b"<?xml encoding=cp1251?>"), Ok(None));
        assert_eq!(declared_encoding(b"<?xml encoding='cp1251"), Ok(None));
        assert_eq!(declared_encoding(b"<a/>"), Ok(None));
    }
}
