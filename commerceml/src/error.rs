//! Errors (a file cannot be read at all) and warnings (one record was skipped
//! or trimmed) with the position they refer to. Messages are in Russian: they
//! are shown to the shop operator as they are.

use std::fmt;
use std::path::PathBuf;

pub use wire::SkipReason;

/// Maximum element nesting accepted before a file is refused.
pub const MAX_DEPTH: usize = 256;
/// Maximum buffered size of one record (text and attributes), in bytes.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Maximum size of one XML event — a text run, comment, CDATA section, tag with its
/// attributes, processing instruction — in bytes (after transcoding to UTF-8). The parser
/// buffers an event whole, so this is enforced while the bytes are read, before any other limit
/// can apply.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;
/// Maximum length of an element path (the names of all open elements), in bytes.
pub const MAX_PATH_BYTES: usize = 64 * 1024;

/// What went wrong; see [`Error`] for where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be opened or read.
    #[error("ошибка чтения: {}", io_text(.0))]
    Io(#[source] std::io::Error),
    /// Zero bytes or whitespace only.
    #[error("файл пуст")]
    Empty,
    /// Text or binary data where an XML document should start.
    #[error("это не XML-документ")]
    NotXml,
    /// The root element is not `КоммерческаяИнформация`.
    #[error("корневой элемент «{0}», ожидался «КоммерческаяИнформация»")]
    WrongRoot(String),
    /// The file ends before the root element is closed.
    #[error("файл обрывается посреди записи")]
    Truncated,
    /// The document is not well-formed XML.
    #[error("некорректный XML: {0}")]
    Malformed(String),
    /// A closing tag does not match the open element.
    #[error("закрывающий тег «{found}» не соответствует открытому «{expected}»")]
    MismatchedTag {
        /// Local name of the open element.
        expected: String,
        /// Local name found in the closing tag.
        found: String,
    },
    /// A `<!DOCTYPE>` declaration: DTDs and entity definitions are refused.
    #[error("объявление <!DOCTYPE> (DTD) не допускается, сущности не раскрываются")]
    Doctype,
    /// A reference to an entity that XML does not predefine.
    #[error("неизвестная сущность «&{0};» (DTD не поддерживается)")]
    UnknownEntity(String),
    /// Bytes that are invalid in the file's encoding.
    #[error("недопустимые байты для кодировки {0}")]
    Encoding(String),
    /// The XML declaration names an encoding this reader cannot decode.
    #[error("неподдерживаемая кодировка «{0}»")]
    UnsupportedEncoding(String),
    /// Element nesting deeper than [`MAX_DEPTH`].
    #[error("слишком глубокая вложенность элементов (больше {MAX_DEPTH})")]
    TooDeep,
    /// One record larger than [`MAX_RECORD_BYTES`].
    #[error("запись больше {} МБ", MAX_RECORD_BYTES / 1024 / 1024)]
    RecordTooLarge,
    /// One text run, comment, CDATA section or tag larger than [`MAX_EVENT_BYTES`].
    #[error(
        "текст, комментарий или тег длиннее {} МБ: файл не читается дальше",
        MAX_EVENT_BYTES / 1024 / 1024
    )]
    EventTooLarge,
    /// Element names that add up to more than [`MAX_PATH_BYTES`].
    #[error("слишком длинные имена элементов (путь больше {} КБ)", MAX_PATH_BYTES / 1024)]
    PathTooLong,
    /// The path is a symbolic link (files are opened without following links).
    #[error("это символическая ссылка: ссылки в каталоге выгрузки не читаются")]
    Symlink,
    /// A FIFO, device or socket where a file should be.
    #[error("это не обычный файл (канал, устройство или сокет): такие файлы не читаются")]
    NotRegularFile,
    /// The file at the path is not the one discovery checked (replaced since).
    #[error(
        "файл заменён после проверки каталога выгрузки (другой файл или ссылка на месте \
         проверенного): повторите импорт"
    )]
    Replaced,
    /// Content after the closing root tag.
    #[error("данные после закрывающего тега корневого элемента")]
    TrailingContent,
    /// The content does not say which kind of export file this is.
    #[error("не удалось определить вид файла выгрузки по его содержимому")]
    UnknownKind,
    /// A directory holds no CommerceML file.
    #[error("в каталоге нет файлов выгрузки 1С (CommerceML)")]
    NoExportFiles,
    /// The path given as an export directory is not a directory.
    #[error("это не каталог")]
    NotADirectory,
}

/// The Russian text of an I/O error: the common causes in words, anything else as the
/// system's own text in quotes.
fn io_text(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let text = match e.kind() {
        K::NotFound => "файл не найден",
        K::PermissionDenied => "нет прав на чтение файла",
        K::IsADirectory => "это каталог, а не файл",
        K::UnexpectedEof => "файл обрывается",
        K::InvalidData => "недопустимые данные в файле",
        K::Interrupted | K::TimedOut | K::WouldBlock => "чтение файла прервано",
        K::OutOfMemory => "не хватает памяти для чтения файла",
        _ => return format!("«{e}»"),
    };
    text.to_owned()
}

/// A fatal problem with one file (or export directory), with its position.
///
/// `Display` gives a Russian sentence such as
/// «Файл goods/goods_1_1.xml, строка 12, элемент КоммерческаяИнформация/Каталог/Товары/Товар:
/// файл обрывается посреди записи (байт 4567)».
#[derive(Debug)]
#[non_exhaustive]
pub struct Error {
    /// The file (or, for directory errors, the directory); `None` for anonymous streams.
    pub file: Option<PathBuf>,
    /// 1-based line; 0 when not applicable (e.g. a file that cannot be opened).
    pub line: u64,
    /// Byte offset in the file. For transcoded files (windows-1251, UTF-16) it
    /// counts bytes of the UTF-8 text after transcoding.
    pub byte: u64,
    /// Element path by local names, e.g. `КоммерческаяИнформация/Каталог/Товары/Товар`.
    pub path: String,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error {
            file: None,
            line: 0,
            byte: 0,
            path: String::new(),
            kind,
        }
    }

    pub(crate) fn with_file(mut self, file: Option<PathBuf>) -> Self {
        if self.file.is_none() {
            self.file = file;
        }
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let is_dir = matches!(
            self.kind,
            ErrorKind::NoExportFiles | ErrorKind::NotADirectory
        );
        let mut sep = "";
        if let Some(file) = &self.file {
            let what = if is_dir { "Каталог" } else { "Файл" };
            write!(f, "{what} {}", file.display())?;
            sep = ", ";
        }
        if self.line > 0 {
            let word = if sep.is_empty() {
                "Строка"
            } else {
                "строка"
            };
            write!(f, "{sep}{word} {}", self.line)?;
            sep = ", ";
        }
        if !self.path.is_empty() {
            let word = if sep.is_empty() {
                "Элемент"
            } else {
                "элемент"
            };
            write!(f, "{sep}{word} {}", self.path)?;
            sep = ", ";
        }
        if sep.is_empty() {
            write!(f, "{}", self.kind)?;
        } else {
            write!(f, ": {}", self.kind)?;
        }
        if self.byte > 0 {
            write!(f, " (байт {})", self.byte)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A record (or part of one) the reader could not use. Not fatal: reading goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The file, if the reader was given a name.
    pub file: Option<PathBuf>,
    /// 1-based line where the record starts.
    pub line: u64,
    /// Element path of the record, e.g. `КоммерческаяИнформация/Каталог/Товары/Товар`.
    pub path: String,
    /// Why.
    pub reason: SkipReason,
    /// The offending value or record id, for the operator.
    pub detail: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "Файл {}, строка {}", file.display(), self.line)?;
        } else {
            write!(f, "Строка {}", self.line)?;
        }
        write!(f, ", элемент {}: {}", self.path, self.reason.text())?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}
