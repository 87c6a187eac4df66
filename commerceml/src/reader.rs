//! The streaming record reader: a pull parser over quick-xml events that
//! buffers one record at a time (as a flat node list with reused buffers),
//! turns it into a typed [`Record`], and keeps the file itself out of memory.
//!
//! Records are recognised by their element path on local names, so files
//! with or without the CommerceML namespace read the same. Groups are nested
//! in the XML; the reader emits a group as soon as its own fields are read
//! (at its nested `Группы`), so parents always precede children.

use crate::build::{self, View};
use crate::error::{
    Error, ErrorKind, MAX_DEPTH, MAX_PATH_BYTES, MAX_RECORD_BYTES, SkipReason, Warning,
};
use crate::model::{Header, Item, Kind, Record};
use crate::number::parse_bool;
use crate::source::{Source, count_newlines};
use crate::tags::Tag;
use quick_xml::events::{BytesStart, Event};
use std::collections::VecDeque;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Marks a frame that is not part of a buffered record.
const NO_NODE: u32 = u32::MAX;
/// `peek_kind` gives up after this many queued items (the kind then comes from hints)…
const PEEK_LIMIT: usize = 4096;
/// … or once the queued records hold this many bytes of text.
const PEEK_BYTES: usize = 32 * 1024 * 1024;

/// One element of the buffered record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    pub(crate) tag: Tag,
    /// Text range in the record text buffer.
    pub(crate) text: (u32, u32),
    /// Range in the record attribute list.
    pub(crate) attrs: (u32, u32),
    /// Index after the last node of this element's subtree.
    pub(crate) end: u32,
}

/// One known attribute of a buffered element; the value lives in the text buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attr {
    pub(crate) tag: Tag,
    pub(crate) value: (u32, u32),
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    tag: Tag,
    /// Length of `path` before this element's name was appended.
    path_len: u32,
    /// Node index inside the current record, or `NO_NODE`.
    node: u32,
    /// A group emitted early because its children follow.
    flushed_group: bool,
}

#[derive(Clone, Copy, Debug)]
struct RecordStart {
    tag: Tag,
    /// Index in `stack` of the record's own frame.
    frame: usize,
    line: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    BeforeRoot,
    InRoot,
    AfterRoot,
    Done,
}

#[derive(Clone, Copy, Debug)]
struct Pos {
    line: u64,
    byte: u64,
}

/// Everything except the XML reader and its event buffer (kept apart so an
/// event borrowed from the buffer can be handled with `&mut State`).
struct State {
    file: Option<PathBuf>,
    hint: Option<Kind>,
    kind: Option<Kind>,
    /// A kind guessed from structure when no record decided it.
    list_hint: Option<Kind>,
    header: Option<Header>,
    is_2x: bool,
    phase: Phase,
    saw_text_before_root: bool,
    path: String,
    stack: Vec<Frame>,
    record: Option<RecordStart>,
    nodes: Vec<Node>,
    text: String,
    attrs: Vec<Attr>,
    group_parents: Vec<Option<String>>,
    capture_only_changes: bool,
    queue: VecDeque<Item>,
    /// Text bytes of the records in `queue` (bounds what `peek_kind` holds).
    queued_bytes: usize,
    warnings: Vec<(SkipReason, String)>,
    /// Newlines seen so far.
    lines: u64,
}

/// Reads typed records from one CommerceML file, streaming.
///
/// Accepts any `BufRead`: UTF-8 with or without BOM, or an encoding named in
/// the XML declaration (windows-1251), or UTF-16 with a BOM. Yields
/// `Ok(Item::Record)` for usable records, `Ok(Item::Warning)` for skipped
/// ones, and at most one `Err` (after which it ends).
pub struct RecordReader<R: BufRead> {
    xml: quick_xml::Reader<Source<R>>,
    buf: Vec<u8>,
    st: State,
    failed: bool,
}

impl<R: BufRead> RecordReader<R> {
    /// Wraps a reader. `file` is used in messages and as a hint for the kind
    /// (`goods_1_2_….xml`, `propertiesOffers/…`).
    pub fn new(reader: R, file: Option<&Path>) -> Self {
        let mut xml = quick_xml::Reader::from_reader(Source::new(reader));
        // End tags are matched against the element path by `State::end`.
        xml.config_mut().check_end_names = false;
        RecordReader {
            xml,
            buf: Vec::with_capacity(4096),
            st: State {
                file: file.map(Path::to_path_buf),
                hint: file.and_then(Kind::hint_from_path),
                kind: None,
                list_hint: None,
                header: None,
                is_2x: false,
                phase: Phase::BeforeRoot,
                saw_text_before_root: false,
                path: String::with_capacity(128),
                stack: Vec::with_capacity(16),
                record: None,
                nodes: Vec::with_capacity(64),
                text: String::with_capacity(4096),
                attrs: Vec::new(),
                group_parents: Vec::new(),
                capture_only_changes: false,
                queue: VecDeque::new(),
                queued_bytes: 0,
                warnings: Vec::new(),
                lines: 0,
            },
            failed: false,
        }
    }

    /// Sets the kind to assume when the content does not decide it (e.g. an
    /// empty list); replaces the hint taken from the file name.
    pub fn with_kind_hint(mut self, kind: Kind) -> Self {
        self.st.hint = Some(kind);
        self
    }

    /// The file header, once the root element was read.
    pub fn header(&self) -> Option<&Header> {
        self.st.header.as_ref()
    }

    /// The file kind, once the content decided it (see [`RecordReader::peek_kind`]).
    pub fn kind(&self) -> Option<Kind> {
        self.st.kind
    }

    /// Raw bytes read from the underlying reader so far (for progress bars).
    pub fn bytes_read(&self) -> u64 {
        let src = self.xml.get_ref();
        src.transcoded_bytes()
            .unwrap_or_else(|| self.xml.buffer_position() + src.bom_len())
    }

    /// The file name given to [`RecordReader::new`].
    pub fn file(&self) -> Option<&Path> {
        self.st.file.as_deref()
    }

    /// Reads ahead (queueing records, nothing is lost) until the kind is
    /// known, then returns it. Also makes [`RecordReader::header`] available.
    pub fn peek_kind(&mut self) -> Result<Option<Kind>, Error> {
        while self.st.kind.is_none()
            && self.st.phase != Phase::Done
            && self.st.queue.len() < PEEK_LIMIT
            && self.st.queued_bytes < PEEK_BYTES
            && !self.failed
        {
            if let Err(e) = self.step() {
                self.failed = true;
                return Err(e);
            }
        }
        if self.st.kind.is_none() {
            self.st.kind = self.st.fallback_kind();
        }
        Ok(self.st.kind)
    }

    /// Processes one XML event.
    fn step(&mut self) -> Result<(), Error> {
        self.buf.clear();
        // Caps this event's size while it is read (`MAX_EVENT_BYTES`).
        self.xml.get_mut().start_event();
        let event = self.xml.read_event_into(&mut self.buf);
        let st = &mut self.st;
        let pos = Pos {
            line: st.lines + 1,
            byte: self.xml.buffer_position() + self.xml.get_ref().bom_len(),
        };
        // Lines are counted on the events: every newline of the input is in
        // some event's content (tag delimiters never are newlines).
        match &event {
            Ok(Event::Text(t)) => st.lines += count_newlines(t.as_bytes()),
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let raw = e.attributes_raw();
                if !raw.is_empty() {
                    st.lines += count_newlines(raw.as_bytes());
                }
            }
            Ok(Event::CData(t)) => st.lines += count_newlines(t.as_bytes()),
            Ok(Event::Comment(t) | Event::DocType(t)) => st.lines += count_newlines(t.as_bytes()),
            Ok(Event::PI(t)) => st.lines += count_newlines(t.as_bytes()),
            Ok(Event::Decl(t)) => st.lines += count_newlines(t.as_bytes()),
            _ => {}
        }
        match event {
            Ok(Event::Start(e)) => st.start(&e, pos, false),
            Ok(Event::Empty(e)) => st.start(&e, pos, true),
            Ok(Event::End(e)) => st.end(e.local_name().as_ref(), pos),
            Ok(Event::Text(t)) => st.text(&t, pos),
            Ok(Event::CData(t)) => st.text(&t, pos),
            Ok(Event::GeneralRef(r)) => {
                if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => st.text(c.encode_utf8(&mut [0; 4]), pos),
                        _ => Err(st.error(
                            ErrorKind::Malformed(format!(
                                "некорректная ссылка на символ &{};",
                                &*r
                            )),
                            pos,
                        )),
                    }
                } else {
                    match &*r {
                        "lt" => st.text("<", pos),
                        "gt" => st.text(">", pos),
                        "amp" => st.text("&", pos),
                        "apos" => st.text("'", pos),
                        "quot" => st.text("\"", pos),
                        other => Err(st.error(ErrorKind::UnknownEntity(other.to_owned()), pos)),
                    }
                }
            }
            Ok(Event::DocType(_)) => Err(st.error(ErrorKind::Doctype, pos)),
            Ok(Event::Decl(_) | Event::PI(_) | Event::Comment(_)) => Ok(()),
            Ok(Event::Eof) => st.eof(pos),
            Err(e) => {
                let failure = self.xml.get_mut().take_failure();
                // Syntax errors have their own offset; others (bad UTF-8 in a text …) are
                // placed where the reader stopped.
                let pos = match self.xml.error_position() {
                    0 => pos,
                    at => Pos {
                        line: pos.line,
                        byte: at + self.xml.get_ref().bom_len(),
                    },
                };
                Err(self.st.xml_error(e, failure, pos))
            }
        }
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.st.queue.pop_front() {
                return Some(Ok(item));
            }
            self.st.queued_bytes = 0;
            if self.failed || self.st.phase == Phase::Done {
                return None;
            }
            if let Err(e) = self.step() {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}

impl<R: BufRead> std::fmt::Debug for RecordReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordReader")
            .field("file", &self.st.file)
            .field("kind", &self.st.kind)
            .field("header", &self.st.header)
            .field("bytes_read", &self.bytes_read())
            .finish()
    }
}

/// The first `max` bytes of `s` (cut at a character boundary).
fn clipped(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The first few names of a very deep element path, `…` and the innermost name.
fn abbreviated_path(path: &str, innermost: &str) -> String {
    const HEAD: usize = 6;
    let mut head: Vec<&str> = path.split('/').take(HEAD + 1).collect();
    if head.len() <= HEAD {
        return format!("{path}/{innermost}");
    }
    head.truncate(HEAD);
    format!("{}/…/{innermost}", head.join("/"))
}

impl State {
    fn error(&self, kind: ErrorKind, pos: Pos) -> Error {
        Error {
            file: self.file.clone(),
            line: pos.line,
            byte: pos.byte,
            path: self.path.clone(),
            kind,
        }
    }

    fn xml_error(&self, e: quick_xml::Error, failure: Option<ErrorKind>, pos: Pos) -> Error {
        use quick_xml::errors::{IllFormedError, SyntaxError};
        let kind = match e {
            _ if failure.is_some() => failure.unwrap_or(ErrorKind::Empty),
            quick_xml::Error::Io(io) => {
                ErrorKind::Io(std::io::Error::new(io.kind(), io.to_string()))
            }
            quick_xml::Error::Syntax(SyntaxError::InvalidBangMarkup) => {
                ErrorKind::Malformed(SyntaxError::InvalidBangMarkup.to_string())
            }
            quick_xml::Error::Syntax(_)
                if self.phase == Phase::BeforeRoot && !self.saw_text_before_root =>
            {
                ErrorKind::Truncated
            }
            quick_xml::Error::Syntax(_) => ErrorKind::Truncated,
            quick_xml::Error::Encoding(_) if self.phase == Phase::BeforeRoot => ErrorKind::NotXml,
            quick_xml::Error::Encoding(_) => ErrorKind::Encoding("UTF-8".to_owned()),
            quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
                ErrorKind::MismatchedTag { expected, found }
            }
            quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(found)) => {
                ErrorKind::Malformed(format!("закрывающий тег «{found}» без открывающего"))
            }
            other => ErrorKind::Malformed(other.to_string()),
        };
        self.error(kind, pos)
    }

    fn start(&mut self, e: &BytesStart<'_>, pos: Pos, empty: bool) -> Result<(), Error> {
        let local = e.local_name();
        let name: &str = local.as_ref();
        let tag = Tag::from_name(name);
        match self.phase {
            Phase::BeforeRoot => {
                if tag != Tag::Root {
                    self.path.push_str(name);
                    return Err(self.error(ErrorKind::WrongRoot(name.to_owned()), pos));
                }
                self.read_header(e, pos)?;
                self.phase = Phase::InRoot;
            }
            Phase::AfterRoot | Phase::Done => {
                return Err(self.error(ErrorKind::TrailingContent, pos));
            }
            Phase::InRoot => {}
        }
        if self.stack.len() >= MAX_DEPTH {
            // The full path would be MAX_DEPTH names long: name the start and the repeated tail.
            let mut err = self.error(ErrorKind::TooDeep, pos);
            err.path = abbreviated_path(&self.path, name);
            return Err(err);
        }
        if self.path.len() + name.len() >= MAX_PATH_BYTES {
            let mut err = self.error(ErrorKind::PathTooLong, pos);
            err.path = format!("{}…/{}…", clipped(&self.path, 200), clipped(name, 64));
            return Err(err);
        }
        let path_len = self.path.len() as u32;
        if !self.path.is_empty() {
            self.path.push('/');
        }
        self.path.push_str(name);

        let mut node = NO_NODE;
        if let Some(rec) = self.record {
            if rec.tag == Tag::Group && tag == Tag::Groups && self.stack.len() == rec.frame + 1 {
                // A group's children follow: emit the group first.
                self.finish_record(true);
            } else {
                node = self.add_node(tag, e, pos)?;
            }
        } else if self.is_record_start(tag) {
            self.nodes.clear();
            self.text.clear();
            self.attrs.clear();
            self.record = Some(RecordStart {
                tag,
                frame: self.stack.len(),
                line: pos.line,
            });
            node = self.add_node(tag, e, pos)?;
            self.kind_at_record_start(tag);
        } else {
            self.container(tag, e, pos)?;
        }
        self.stack.push(Frame {
            tag,
            path_len,
            node,
            flushed_group: false,
        });
        if empty {
            self.close();
        }
        Ok(())
    }

    fn read_header(&mut self, e: &BytesStart<'_>, pos: Pos) -> Result<(), Error> {
        let mut header = Header::default();
        for attr in e.attributes() {
            let attr =
                attr.map_err(|err| self.error(ErrorKind::Malformed(err.to_string()), pos))?;
            let key = attr.key.local_name();
            let tag = Tag::from_name(key.as_ref());
            if tag == Tag::SchemaVersion || tag == Tag::GeneratedAt {
                let value = attr
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|err| self.error(ErrorKind::Malformed(err.to_string()), pos))?;
                if tag == Tag::SchemaVersion {
                    header.schema_version = value.trim().to_owned();
                } else {
                    header.generated_at = Some(value.trim().to_owned());
                }
            }
        }
        self.is_2x = header.is_2x()
            || (header.schema_version.is_empty()
                && matches!(self.hint, Some(Kind::Import2x | Kind::Offers2x)));
        self.header = Some(header);
        Ok(())
    }

    /// Handles an element outside records: containers, flags, kind clues.
    fn container(&mut self, tag: Tag, e: &BytesStart<'_>, pos: Pos) -> Result<(), Error> {
        let parent = self.stack.last().map_or(Tag::Other, |f| f.tag);
        if parent == Tag::Root {
            match tag {
                Tag::Classifier | Tag::Catalog if self.is_2x => self.decide(Kind::Import2x),
                Tag::OfferPackage | Tag::OfferPackageChanges if self.is_2x => {
                    self.decide(Kind::Offers2x)
                }
                Tag::Counterparties => self.decide(Kind::Contragents),
                _ => {}
            }
            if !e.attributes_raw().trim_ascii().is_empty() {
                for attr in e.attributes() {
                    let attr =
                        attr.map_err(|err| self.error(ErrorKind::Malformed(err.to_string()), pos))?;
                    if Tag::from_name(attr.key.local_name().as_ref()) == Tag::OnlyChanges
                        && parse_bool(&attr.value) == Some(true)
                        && let Some(h) = &mut self.header
                    {
                        h.only_changes = true;
                    }
                }
            }
        }
        if tag == Tag::OnlyChanges {
            self.capture_only_changes = true;
        }
        if self.list_hint.is_none() {
            self.list_hint = match (parent, tag) {
                (Tag::Classifier, Tag::Groups) => Some(Kind::Groups),
                (Tag::Classifier, Tag::Properties) => Some(Kind::PropertiesGoods),
                (Tag::Classifier, Tag::PriceTypes) => Some(Kind::PriceLists),
                (Tag::Classifier, Tag::Warehouses) => Some(Kind::Storages),
                (Tag::Classifier, Tag::Units) => Some(Kind::Units),
                (Tag::Catalog, Tag::Products) => Some(Kind::Goods),
                (Tag::OfferPackage | Tag::OfferPackageChanges, Tag::Offers) => Some(Kind::Offers),
                (Tag::Root, Tag::Counterparties) => Some(Kind::Contragents),
                _ => None,
            };
        }
        Ok(())
    }

    fn is_record_start(&self, tag: Tag) -> bool {
        let n = self.stack.len();
        if n < 2 {
            return false;
        }
        let parent = self.stack[n - 1].tag;
        let grand = self.stack[n - 2].tag;
        let in_package = matches!(grand, Tag::OfferPackage | Tag::OfferPackageChanges);
        match tag {
            Tag::Group => {
                parent == Tag::Groups && (grand == Tag::Classifier || grand == Tag::Group)
            }
            Tag::Property | Tag::PropertyNom => {
                parent == Tag::Properties && grand == Tag::Classifier
            }
            Tag::PriceType => parent == Tag::PriceTypes && (grand == Tag::Classifier || in_package),
            Tag::Warehouse => parent == Tag::Warehouses && (grand == Tag::Classifier || in_package),
            Tag::Unit => parent == Tag::Units && grand == Tag::Classifier,
            Tag::Product => parent == Tag::Products && grand == Tag::Catalog,
            Tag::Offer => parent == Tag::Offers && in_package,
            Tag::Counterparty => parent == Tag::Counterparties && grand == Tag::Root,
            _ => false,
        }
    }

    fn decide(&mut self, kind: Kind) {
        if self.kind.is_none() {
            self.kind = Some(kind);
        }
    }

    fn kind_at_record_start(&mut self, tag: Tag) {
        if self.kind.is_some() || self.is_2x {
            return;
        }
        let grand = self.stack[self.stack.len() - 2].tag;
        match tag {
            Tag::Group => self.decide(Kind::Groups),
            Tag::Unit => self.decide(Kind::Units),
            Tag::Product => self.decide(Kind::Goods),
            Tag::Counterparty => self.decide(Kind::Contragents),
            Tag::PriceType if grand == Tag::Classifier => self.decide(Kind::PriceLists),
            Tag::Warehouse if grand == Tag::Classifier => self.decide(Kind::Storages),
            _ => {}
        }
    }

    /// The kind when no record decided it: structure, then file name.
    fn fallback_kind(&self) -> Option<Kind> {
        match (self.list_hint, self.hint) {
            (Some(Kind::Offers), Some(h @ (Kind::Prices | Kind::Rests | Kind::Offers2x))) => {
                Some(h)
            }
            (Some(Kind::PropertiesGoods), Some(Kind::PropertiesOffers)) => {
                Some(Kind::PropertiesOffers)
            }
            (Some(l), _) => Some(l),
            (None, h) => h,
        }
    }

    fn add_node(&mut self, tag: Tag, e: &BytesStart<'_>, pos: Pos) -> Result<u32, Error> {
        let attr_start = self.attrs.len() as u32;
        if !e.attributes_raw().trim_ascii().is_empty() {
            for attr in e.attributes() {
                let attr =
                    attr.map_err(|err| self.error(ErrorKind::Malformed(err.to_string()), pos))?;
                let atag = Tag::from_name(attr.key.local_name().as_ref());
                if atag == Tag::Other {
                    continue;
                }
                let value = attr
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map_err(|err| {
                        let kind = match err {
                            quick_xml::Error::Escape(
                                quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                            ) => ErrorKind::UnknownEntity(name),
                            other => ErrorKind::Malformed(other.to_string()),
                        };
                        self.error(kind, pos)
                    })?;
                let start = self.text.len() as u32;
                self.text.push_str(&value);
                self.attrs.push(Attr {
                    tag: atag,
                    value: (start, self.text.len() as u32),
                });
            }
        }
        if self.text.len()
            + self.nodes.len() * std::mem::size_of::<Node>()
            + self.attrs.len() * std::mem::size_of::<Attr>()
            > MAX_RECORD_BYTES
        {
            return Err(self.error(ErrorKind::RecordTooLarge, pos));
        }
        let at = self.text.len() as u32;
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            tag,
            text: (at, at),
            attrs: (attr_start, self.attrs.len() as u32),
            end: u32::MAX,
        });
        Ok(index)
    }

    fn text(&mut self, s: &str, pos: Pos) -> Result<(), Error> {
        if self.record.is_some() {
            let Some(frame) = self.stack.last() else {
                return Ok(());
            };
            let node = &mut self.nodes[frame.node as usize];
            if node.text.1 as usize == self.text.len() {
                if s.as_bytes().contains(&b'\r') {
                    self.text
                        .push_str(&s.replace("\r\n", "\n").replace('\r', "\n"));
                } else {
                    self.text.push_str(s);
                }
                node.text.1 = self.text.len() as u32;
                if self.text.len() > MAX_RECORD_BYTES {
                    return Err(self.error(ErrorKind::RecordTooLarge, pos));
                }
            }
            return Ok(());
        }
        match self.phase {
            Phase::BeforeRoot if !s.trim_ascii().is_empty() => {
                self.saw_text_before_root = true;
                Err(self.error(ErrorKind::NotXml, pos))
            }
            Phase::AfterRoot if !s.trim_ascii().is_empty() => {
                Err(self.error(ErrorKind::TrailingContent, pos))
            }
            Phase::InRoot if self.capture_only_changes => {
                if parse_bool(s) == Some(true)
                    && let Some(h) = &mut self.header
                {
                    h.only_changes = true;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn end(&mut self, name: &str, pos: Pos) -> Result<(), Error> {
        let Some(frame) = self.stack.last() else {
            return Err(self.error(
                ErrorKind::Malformed(format!("закрывающий тег «{name}» без открывающего")),
                pos,
            ));
        };
        let start = frame.path_len as usize + usize::from(frame.path_len > 0);
        let open = &self.path[start..];
        if open != name {
            let kind = ErrorKind::MismatchedTag {
                expected: open.to_owned(),
                found: name.to_owned(),
            };
            return Err(self.error(kind, pos));
        }
        self.close();
        Ok(())
    }

    /// Closes the innermost element (its name was checked).
    fn close(&mut self) {
        let Some(frame) = self.stack.last().copied() else {
            return;
        };
        if let Some(rec) = self.record {
            if frame.node != NO_NODE {
                let len = self.nodes.len() as u32;
                self.nodes[frame.node as usize].end = len;
            }
            if rec.frame == self.stack.len() - 1 {
                self.finish_record(false);
            }
        }
        if frame.flushed_group {
            self.group_parents.pop();
        }
        if frame.tag == Tag::OnlyChanges {
            self.capture_only_changes = false;
        }
        self.stack.pop();
        self.path.truncate(frame.path_len as usize);
        if self.stack.is_empty() {
            self.phase = Phase::AfterRoot;
        }
    }

    fn eof(&mut self, pos: Pos) -> Result<(), Error> {
        match self.phase {
            Phase::BeforeRoot if self.saw_text_before_root => {
                Err(self.error(ErrorKind::NotXml, pos))
            }
            Phase::BeforeRoot => Err(self.error(ErrorKind::Empty, pos)),
            Phase::InRoot => Err(self.error(ErrorKind::Truncated, pos)),
            Phase::AfterRoot | Phase::Done => {
                self.phase = Phase::Done;
                if self.kind.is_none() {
                    self.kind = self.fallback_kind();
                }
                Ok(())
            }
        }
    }

    /// Turns the buffered record into items. `early`: a group whose nested
    /// `Группы` starts now (its frame stays open).
    fn finish_record(&mut self, early: bool) {
        let Some(rec) = self.record.take() else {
            return;
        };
        if early {
            let len = self.nodes.len() as u32;
            self.nodes[0].end = len;
        }
        let view = View {
            nodes: &self.nodes,
            text: &self.text,
            attrs: &self.attrs,
        };
        self.warnings.clear();
        let warnings = &mut self.warnings;
        let record = match rec.tag {
            Tag::Group => {
                let parent = self.group_parents.last().cloned().flatten();
                let group = build::group(&view, parent, warnings);
                if early {
                    self.group_parents
                        .push(group.as_ref().map(|g| g.id.clone()));
                    self.stack[rec.frame].flushed_group = true;
                }
                group.map(Record::Group)
            }
            Tag::Property | Tag::PropertyNom => {
                if self.kind.is_none() {
                    let kind = match self.hint {
                        Some(h @ (Kind::PropertiesGoods | Kind::PropertiesOffers)) => h,
                        _ if build::property_for_offers_flag(&view) => Kind::PropertiesOffers,
                        _ => Kind::PropertiesGoods,
                    };
                    self.kind = Some(kind);
                }
                let file_for_offers = self.kind == Some(Kind::PropertiesOffers);
                build::property(&view, file_for_offers, warnings).map(Record::Property)
            }
            Tag::PriceType => build::price_type(&view, warnings).map(Record::PriceType),
            Tag::Warehouse => build::warehouse(&view, warnings).map(Record::Warehouse),
            Tag::Unit => build::unit(&view, warnings).map(Record::Unit),
            Tag::Product => build::product(&view, warnings).map(Record::Product),
            Tag::Offer => {
                if self.kind.is_none() {
                    let (prices, stock) = build::offer_shape(&view);
                    let kind = match (prices, stock) {
                        (true, true) => Kind::Offers2x,
                        (true, false) => Kind::Prices,
                        (false, true) => Kind::Rests,
                        (false, false) => match self.hint {
                            Some(h @ (Kind::Prices | Kind::Rests)) => h,
                            _ => Kind::Offers,
                        },
                    };
                    self.kind = Some(kind);
                }
                build::offer(&view, warnings).map(Record::Offer)
            }
            Tag::Counterparty => build::customer(&view, warnings).map(Record::Customer),
            _ => None,
        };
        let record_path_len = if early {
            self.path.rfind('/').unwrap_or(0)
        } else {
            self.path.len()
        };
        for (reason, detail) in self.warnings.drain(..) {
            self.queue.push_back(Item::Warning(Warning {
                file: self.file.clone(),
                line: rec.line,
                path: self.path[..record_path_len].to_owned(),
                reason,
                detail,
            }));
        }
        if let Some(record) = record {
            self.queued_bytes += self.text.len();
            self.queue.push_back(Item::Record(record));
        }
    }
}
