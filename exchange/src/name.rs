//! The `filename` of `mode=file` and `mode=import`, and the names of zip entries.
//!
//! 1C sends names in several shapes: `import0_1.xml`, `goods/1/import___<guid>.xml`,
//! `import_files/ab/<guid>.jpg`, with Windows backslashes, or, from 1C on Linux, with its temp
//! folder in front (`/tmp/…/webdata/…`, `upload/1c/webdata/…`, and inside zips
//! `import_files/tmp/webdata/<n>/<n>/import_files/…`). [`SpoolName::parse`] turns any of them
//! into a relative path of plain segments, or refuses it: an absolute path, `..`, a drive letter,
//! NUL or another control character, an over-long name. What it accepts can only name a file
//! inside the folder it is joined to; the spool re-checks the resolved path on disk all the same.

use std::fmt;
use std::path::{Path, PathBuf};

/// Longest accepted name, in bytes, after normalisation.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest accepted segment (one folder or file name), in bytes: what Linux file systems allow.
pub const MAX_SEGMENT_BYTES: usize = 255;
/// Deepest accepted path (segments).
pub const MAX_DEPTH: usize = 16;

/// A checked relative path inside an exchange's folder: `/`-separated, no empty, `.` or `..`
/// segment, no control character.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpoolName(String);

/// Why a name was refused. The texts are Russian: they reach 1C's exchange log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing left after normalisation.
    #[error("пустое имя файла")]
    Empty,
    /// A name that starts at the root of a disk (`/etc/…`, `C:\…`, `\\server\…`).
    #[error("абсолютный путь запрещён: «{0}»")]
    Absolute(String),
    /// A `..` segment.
    #[error("переход в родительскую папку («..») запрещён: «{0}»")]
    ParentSegment(String),
    /// NUL or another control character.
    #[error("недопустимый символ в имени файла: «{0}»")]
    ControlCharacter(String),
    /// Longer than [`MAX_NAME_BYTES`], a segment longer than [`MAX_SEGMENT_BYTES`], or deeper
    /// than [`MAX_DEPTH`].
    #[error("слишком длинное имя файла: «{0}»")]
    TooLong(String),
}

impl SpoolName {
    /// Normalises and checks a name as 1C sent it (already URL-decoded).
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let shown = || visible(raw);
        if raw.chars().any(char::is_control) {
            return Err(NameError::ControlCharacter(shown()));
        }
        let slashed = raw.trim().replace('\\', "/");
        if slashed.starts_with("//") {
            return Err(NameError::Absolute(shown()));
        }
        let bytes = slashed.as_bytes();
        if bytes.len() >= 2
            && bytes[1] == b':'
            && bytes[0].is_ascii_alphabetic()
            && bytes.get(2).is_none_or(|&b| b == b'/')
        {
            return Err(NameError::Absolute(shown()));
        }
        let stripped = strip_temp_prefix(&slashed);
        if stripped.starts_with('/') {
            return Err(NameError::Absolute(shown()));
        }
        let mut segments = Vec::new();
        for segment in stripped.split('/') {
            match segment {
                "" | "." => {}
                ".." => return Err(NameError::ParentSegment(shown())),
                s if s.len() > MAX_SEGMENT_BYTES => return Err(NameError::TooLong(shown())),
                s => segments.push(s),
            }
        }
        if segments.is_empty() {
            return Err(NameError::Empty);
        }
        if segments.len() > MAX_DEPTH {
            return Err(NameError::TooLong(shown()));
        }
        let name = segments.join("/");
        if name.len() > MAX_NAME_BYTES {
            return Err(NameError::TooLong(shown()));
        }
        Ok(Self(name))
    }

    /// The normalised name, `/`-separated.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment (`import0_1.xml` of `goods/1/import0_1.xml`).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// True for a zip archive (by its extension, as 1C names them: `v8_3B8F_3e.zip`).
    pub fn is_zip(&self) -> bool {
        self.extension_is("zip")
    }

    /// True for an XML file (the only files an import reads).
    pub fn is_xml(&self) -> bool {
        self.extension_is("xml")
    }

    fn extension_is(&self, ext: &str) -> bool {
        self.file_name()
            .rsplit_once('.')
            .is_some_and(|(_, e)| e.eq_ignore_ascii_case(ext))
    }

    /// The path inside `root`. Only plain segments are joined, so the result is under `root`
    /// as written; symbolic links on disk are the spool's to check.
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        path.extend(self.0.split('/'));
        path
    }
}

impl fmt::Display for SpoolName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Drops the temp folder 1C on Linux puts in front of a name.
///
/// - `/tmp/<anything>/webdata/<digits>/…/x.xml` and `upload/1c/webdata/…` → what follows
///   `webdata` and the numeric folders after it;
/// - `import_files/tmp/webdata/<n>/<n>/import_files/a.jpg` (zip entries) → `import_files/a.jpg`;
/// - a bare `/tmp/x.xml` → `x.xml` (as 1C-Bitrix does).
fn strip_temp_prefix(name: &str) -> &str {
    let temp = [
        "/tmp/",
        "tmp/",
        "upload/1c/",
        "/upload/1c/",
        "import_files/tmp/",
    ]
    .iter()
    .any(|p| name.starts_with(p));
    if !temp {
        return name;
    }
    if let Some(at) = find_segment(name, "webdata") {
        let mut rest = &name[at + "webdata".len()..];
        loop {
            rest = rest.trim_start_matches('/');
            let seg_end = rest.find('/').unwrap_or(rest.len());
            let seg = &rest[..seg_end];
            // The numbered folders 1C makes under webdata; the last segment is the file itself.
            if seg_end < rest.len() && !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                rest = &rest[seg_end..];
            } else {
                return rest;
            }
        }
    }
    name.strip_prefix("/tmp/").unwrap_or(name)
}

/// Byte offset of the last whole segment `seg` in a `/`-separated path.
fn find_segment(path: &str, seg: &str) -> Option<usize> {
    path.match_indices(seg)
        .filter(|&(at, _)| {
            let before = at == 0 || path.as_bytes()[at - 1] == b'/';
            let end = at + seg.len();
            let after = end == path.len() || path.as_bytes()[end] == b'/';
            before && after
        })
        .map(|(at, _)| at)
        .last()
}

/// A name as it may be shown in a message: control characters as `\u{…}`, at most 200 chars.
fn visible(raw: &str) -> String {
    let mut out: String = raw.chars().take(200).flat_map(char::escape_debug).collect();
    if raw.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> String {
        SpoolName::parse(raw)
            .unwrap_or_else(|e| panic!("{raw:?}: {e}"))
            .as_str()
            .to_owned()
    }

    #[test]
    fn names_1c_sends_are_kept_as_relative_paths() {
        assert_eq!(ok("import0_1.xml"), "import0_1.xml");
        assert_eq!(ok("goods/1/import___ab12.xml"), "goods/1/import___ab12.xml");
        assert_eq!(
            ok("import_files/e2/e2410f8e.jpeg"),
            "import_files/e2/e2410f8e.jpeg"
        );
        assert_eq!(ok(r"import_files\e2\x.jpeg"), "import_files/e2/x.jpeg");
        assert_eq!(ok("./goods//1/./offers.xml"), "goods/1/offers.xml");
        assert_eq!(ok("Картинки/фото 1.jpg"), "Картинки/фото 1.jpg");
        assert_eq!(ok("v8_3B8F_3e.zip"), "v8_3B8F_3e.zip");
    }

    #[test]
    fn linux_1c_temp_prefixes_are_stripped() {
        assert_eq!(ok("/tmp/import0_1.xml"), "import0_1.xml");
        assert_eq!(ok("/tmp/v8_AB_1/webdata/12/import0_1.xml"), "import0_1.xml");
        assert_eq!(ok("upload/1c/webdata/import.xml"), "import.xml");
        assert_eq!(
            ok("upload/1c/webdata/3/goods/1/import.xml"),
            "goods/1/import.xml"
        );
        assert_eq!(
            ok("import_files/tmp/webdata/1/2/import_files/ab/c.jpg"),
            "import_files/ab/c.jpg"
        );
        // A folder of the export that happens to be called webdata stays.
        assert_eq!(ok("webdata/import.xml"), "webdata/import.xml");
        // Numeric folders of the export itself stay (3.x: goods/1/…).
        assert_eq!(
            ok("/tmp/x/webdata/goods/1/import.xml"),
            "goods/1/import.xml"
        );
    }

    #[test]
    fn anything_that_could_leave_the_folder_is_refused() {
        for raw in [
            "../etc/passwd",
            "import_files/../../x.php",
            r"..\..\x",
            "goods/1/../../../x",
            "/tmp/webdata/../../x",
        ] {
            assert!(
                matches!(SpoolName::parse(raw), Err(NameError::ParentSegment(_))),
                "{raw}"
            );
        }
        for raw in [
            "/etc/passwd",
            "C:/x.xml",
            r"C:\1c\import.xml",
            r"\\server\share\x",
            "//x",
        ] {
            assert!(
                matches!(SpoolName::parse(raw), Err(NameError::Absolute(_))),
                "{raw}"
            );
        }
        for raw in [
            "import\0.xml",
            "a\nb.xml",
            "a\rb",
            "a\u{7f}b",
            "\u{1b}[31m.xml",
        ] {
            assert!(
                matches!(SpoolName::parse(raw), Err(NameError::ControlCharacter(_))),
                "{raw:?}"
            );
        }
        for raw in ["", "/", ".", "./", "  ", "/tmp/"] {
            assert!(SpoolName::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn limits_hold() {
        assert!(matches!(
            SpoolName::parse(&"a".repeat(256)),
            Err(NameError::TooLong(_))
        ));
        assert!(SpoolName::parse(&"a".repeat(255)).is_ok());
        let deep = vec!["d"; MAX_DEPTH + 1].join("/");
        assert!(matches!(
            SpoolName::parse(&deep),
            Err(NameError::TooLong(_))
        ));
        let long = vec!["a".repeat(200); 6].join("/");
        assert!(matches!(
            SpoolName::parse(&long),
            Err(NameError::TooLong(_))
        ));
    }

    #[test]
    fn messages_name_the_file_and_escape_what_is_invisible() {
        let e = SpoolName::parse("a\0b.xml").unwrap_err().to_string();
        assert_eq!(e, "недопустимый символ в имени файла: «a\\0b.xml»");
        let e = SpoolName::parse("../x").unwrap_err().to_string();
        assert!(e.contains("«../x»"), "{e}");
    }

    #[test]
    fn kinds_and_placement() {
        let n = SpoolName::parse("goods/1/Import.XML").unwrap();
        assert!(n.is_xml() && !n.is_zip());
        assert_eq!(n.file_name(), "Import.XML");
        assert_eq!(
            n.under(Path::new("/spool/7")),
            Path::new("/spool/7/goods/1/Import.XML")
        );
        assert!(SpoolName::parse("v8_1.ZIP").unwrap().is_zip());
        assert!(!SpoolName::parse("zip").unwrap().is_zip());
    }
}
