//! A minimal streaming XML writer over `BufWriter<File>`: tab indentation like 1C, escaping of
//! dynamic text, and both spellings of an empty element (`<X/>` and `<X></X>`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::rng::Guid;

const TABS: &[u8] = b"\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How an empty element is spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Empty {
    /// `<X/>`
    SelfClosing,
    /// `<X></X>`
    Pair,
}

impl Empty {
    /// Alternate spellings by a number (deterministic variety).
    pub(crate) fn by(n: u64) -> Empty {
        if n.is_multiple_of(3) {
            Empty::Pair
        } else {
            Empty::SelfClosing
        }
    }
}

/// Streaming writer of one XML file.
pub(crate) struct Xml {
    w: BufWriter<File>,
    depth: usize,
}

impl Xml {
    /// Creates (truncates) `path`, writes the optional BOM and the XML declaration.
    pub(crate) fn create(path: &Path, bom: bool) -> io::Result<Xml> {
        let file = File::create(path)?;
        let mut w = BufWriter::with_capacity(256 * 1024, file);
        if bom {
            w.write_all(BOM)?;
        }
        w.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
        Ok(Xml { w, depth: 0 })
    }

    fn indent(&mut self) -> io::Result<()> {
        self.w.write_all(&TABS[..self.depth.min(TABS.len())])
    }

    /// The indented start of a tag up to, not including, its `>` or `/>`: `<name a="v" …`,
    /// attribute values escaped. Every element this writer opens starts here.
    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.indent()?;
        self.w.write_all(b"<")?;
        self.w.write_all(name.as_bytes())?;
        for (k, v) in attrs {
            self.w.write_all(b" ")?;
            self.w.write_all(k.as_bytes())?;
            self.w.write_all(b"=\"")?;
            self.text(v)?;
            self.w.write_all(b"\"")?;
        }
        Ok(())
    }

    /// `<name a="v" …>` on its own line; attribute values are escaped.
    pub(crate) fn open_attrs(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.start_tag(name, attrs)?;
        self.w.write_all(b">\n")?;
        self.depth += 1;
        Ok(())
    }

    /// `<name>` on its own line.
    pub(crate) fn open(&mut self, name: &str) -> io::Result<()> {
        self.open_attrs(name, &[])
    }

    /// `</name>` on its own line.
    pub(crate) fn close(&mut self, name: &str) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        self.indent()?;
        self.w.write_all(b"</")?;
        self.w.write_all(name.as_bytes())?;
        self.w.write_all(b">\n")
    }

    /// `<name/>` with attributes (escaped).
    pub(crate) fn empty_attrs(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.start_tag(name, attrs)?;
        self.w.write_all(b"/>\n")
    }

    /// An empty element in the given spelling.
    pub(crate) fn empty(&mut self, name: &str, style: Empty) -> io::Result<()> {
        match style {
            Empty::SelfClosing => self.empty_attrs(name, &[]),
            Empty::Pair => {
                self.leaf_start(name)?;
                self.leaf_end(name)
            }
        }
    }

    fn leaf_start(&mut self, name: &str) -> io::Result<()> {
        self.start_tag(name, &[])?;
        self.w.write_all(b">")
    }

    fn leaf_end(&mut self, name: &str) -> io::Result<()> {
        self.w.write_all(b"</")?;
        self.w.write_all(name.as_bytes())?;
        self.w.write_all(b">\n")
    }

    /// `<name a="v" …>text</name>`, attribute values and text escaped.
    pub(crate) fn leaf_attrs(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> io::Result<()> {
        self.start_tag(name, attrs)?;
        self.w.write_all(b">")?;
        self.text(text)?;
        self.leaf_end(name)
    }

    /// `<name>text</name>`, text escaped.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.leaf_start(name)?;
        self.text(text)?;
        self.leaf_end(name)
    }

    /// `<name>bytes</name>` for text known to need no escaping (digits, GUIDs, ASCII codes).
    pub(crate) fn leaf_raw(&mut self, name: &str, raw: &[u8]) -> io::Result<()> {
        self.leaf_start(name)?;
        self.w.write_all(raw)?;
        self.leaf_end(name)
    }

    /// `<name>guid</name>`.
    pub(crate) fn leaf_guid(&mut self, name: &str, guid: Guid) -> io::Result<()> {
        self.leaf_raw(name, &guid.bytes())
    }

    /// `<name>` + pieces (each escaped) + `</name>`.
    pub(crate) fn leaf_parts(&mut self, name: &str, parts: &[&str]) -> io::Result<()> {
        self.leaf_start(name)?;
        for p in parts {
            self.text(p)?;
        }
        self.leaf_end(name)
    }

    /// `<name>false</name>` / `<name>true</name>`.
    pub(crate) fn leaf_bool(&mut self, name: &str, v: bool) -> io::Result<()> {
        self.leaf_raw(name, if v { b"true" } else { b"false" })
    }

    /// Escaped character data.
    fn text(&mut self, s: &str) -> io::Result<()> {
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let rep: &[u8] = match b {
                b'&' => b"&amp;",
                b'<' => b"&lt;",
                b'>' => b"&gt;",
                b'"' => b"&quot;",
                _ => continue,
            };
            self.w.write_all(&bytes[start..i])?;
            self.w.write_all(rep)?;
            start = i + 1;
        }
        self.w.write_all(&bytes[start..])
    }

    /// Flushes and closes the file; the caller must have closed every element.
    /// (No fsync: the export is test and demo data, and syncing a gigabyte costs seconds.)
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.w.flush()
    }
}
