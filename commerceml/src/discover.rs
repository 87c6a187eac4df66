//! Opening files and finding the files of an export directory: the three
//! on-disk layouts (folder per kind with numbered segments, goods under
//! `goods/import_files/`, the 1C-Bitrix `import.xml` + `goods/1/…` layout,
//! the 2.x `import*.xml` + `offers*.xml` pair), ordered for import.

use crate::error::{Error, ErrorKind};
use crate::model::Kind;
use crate::reader::RecordReader;
use std::cmp::Ordering;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Read buffer size for files.
const FILE_BUFFER: usize = 64 * 1024;
/// Folder depth searched below the export root.
const MAX_DIR_DEPTH: usize = 8;

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io(e)).with_file(Some(path.to_path_buf()))
}

/// A file's identity on its file system (device and inode number): what discovery checked is
/// what an import later reads, not whatever was put at the same path since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Opens `path` read-only without following a symbolic link in its last component
/// (`O_NOFOLLOW`) and without blocking (`O_NONBLOCK`: a FIFO opens at once instead of waiting
/// for a writer), and refuses anything but a regular file. Returns the file and its metadata,
/// taken from the open descriptor (so they describe the very file that will be read).
fn open_regular(path: &Path) -> Result<(File, fs::Metadata), Error> {
    let fail = |kind| Error::new(kind).with_file(Some(path.to_path_buf()));
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => fail(ErrorKind::Symlink),
            _ => io_error(path, e),
        })?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        return Err(io_error(path, std::io::ErrorKind::IsADirectory.into()));
    }
    if !meta.is_file() {
        return Err(fail(ErrorKind::NotRegularFile));
    }
    Ok((file, meta))
}

/// Wraps an open file in a record reader and reads ahead to its kind.
fn reader_of(file: File, path: &Path) -> Result<RecordReader<BufReader<File>>, Error> {
    let mut reader = RecordReader::new(BufReader::with_capacity(FILE_BUFFER, file), Some(path));
    reader.peek_kind()?;
    Ok(reader)
}

/// Opens a file for reading records: BOM and windows-1251 are handled while
/// streaming. Reads ahead to the first record so that
/// [`RecordReader::kind`] and [`RecordReader::header`] are set; an empty,
/// non-XML or wrongly rooted file is an error here already. A symbolic link, a FIFO, a device
/// or a socket is refused (without blocking on it).
pub fn open_file(path: &Path) -> Result<RecordReader<impl BufRead + use<>>, Error> {
    let (file, _) = open_regular(path)?;
    reader_of(file, path)
}

/// Opens a file that discovery (or [`inspect`]) found, like [`open_file`], and checks that it
/// is still that file (same device and inode): a file replaced since — by a link, another file
/// or a FIFO — is refused with [`ErrorKind::Replaced`] (or the error of what is there now).
pub fn open_export(export: &ExportFile) -> Result<RecordReader<impl BufRead + use<>>, Error> {
    let path = &export.path;
    let (file, meta) = open_regular(path)?;
    if FileId::of(&meta) != export.id {
        return Err(Error::new(ErrorKind::Replaced).with_file(Some(path.clone())));
    }
    reader_of(file, path)
}

/// Reads the beginning of one file (never following a link in its last component): its kind,
/// size and identity.
pub fn inspect(path: &Path) -> Result<ExportFile, Error> {
    let (file, meta) = open_regular(path)?;
    let reader = reader_of(file, path)?;
    let kind = reader
        .kind()
        .ok_or_else(|| Error::new(ErrorKind::UnknownKind).with_file(Some(path.to_path_buf())))?;
    Ok(ExportFile {
        path: path.to_path_buf(),
        kind,
        size: meta.len(),
        id: FileId::of(&meta),
    })
}

/// Decides a file's kind from its beginning (up to its first record; the
/// name and folder break ties and cover files without records).
pub fn sniff_kind(path: &Path) -> Result<Kind, Error> {
    inspect(path).map(|f| f.kind)
}

/// One file of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportFile {
    /// Full path.
    pub path: PathBuf,
    /// Kind, from the content.
    pub kind: Kind,
    /// Size in bytes (for progress).
    pub size: u64,
    /// The file's identity when its kind was read ([`open_export`] checks it).
    pub id: FileId,
}

/// An `.xml` file of the directory that is not a readable CommerceML file.
#[derive(Debug)]
pub struct SkippedFile {
    /// Full path.
    pub path: PathBuf,
    /// Why it was skipped.
    pub error: Error,
}

/// The files of one export directory, in import order.
#[derive(Debug)]
#[non_exhaustive]
pub struct ExportPackage {
    /// The directory as given.
    pub root: PathBuf,
    /// Files in import order: by kind (units, warehouses, price types,
    /// groups, properties, products, offers, prices, stock, customers), then
    /// by path with numbers compared as numbers (`goods_1_2_…` before `goods_1_10_…`).
    pub files: Vec<ExportFile>,
    /// `.xml` files that could not be read as CommerceML (with the reason).
    pub skipped: Vec<SkippedFile>,
}

impl ExportPackage {
    /// The files of the given kinds, in import order.
    pub fn files_of<'a>(&'a self, kinds: &'a [Kind]) -> impl Iterator<Item = &'a ExportFile> + 'a {
        self.files.iter().filter(move |f| kinds.contains(&f.kind))
    }

    /// Total size of all files, for progress.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Finds the CommerceML files below `dir` and orders them for import.
///
/// Never follows a symbolic link (nor a path resolving outside `dir`).
/// Unreadable `.xml` files are listed in [`ExportPackage::skipped`]; a
/// directory without any CommerceML file is an error.
pub fn discover(dir: &Path) -> Result<ExportPackage, Error> {
    let package = scan(dir)?;
    if package.files.is_empty() {
        return Err(Error::new(ErrorKind::NoExportFiles).with_file(Some(dir.to_path_buf())));
    }
    Ok(package)
}

/// Like [`discover`], but a directory without any readable CommerceML file is an empty
/// package rather than an error, so that the caller can still see the `.xml` files that were
/// [`ExportPackage::skipped`] (an importer reports a broken goods file instead of «not found»).
pub fn scan(dir: &Path) -> Result<ExportPackage, Error> {
    let dir_error = |kind| Error::new(kind).with_file(Some(dir.to_path_buf()));
    let meta = fs::symlink_metadata(dir).map_err(|e| io_error(dir, e))?;
    if !meta.is_dir() {
        return Err(dir_error(ErrorKind::NotADirectory));
    }
    let root = fs::canonicalize(dir).map_err(|e| io_error(dir, e))?;
    let mut candidates = Vec::new();
    collect(&root, 0, &mut candidates);

    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in candidates {
        // Defence in depth: everything must resolve inside the root.
        match fs::canonicalize(&path) {
            Ok(real) if real.starts_with(&root) => {}
            _ => continue,
        }
        match inspect(&path) {
            Ok(file) => files.push(file),
            Err(error) => skipped.push(SkippedFile { path, error }),
        }
    }
    files.sort_by(|a, b| {
        a.kind
            .import_rank()
            .cmp(&b.kind.import_rank())
            .then_with(|| natural_cmp(&rel(&root, &a.path), &rel(&root, &b.path)))
    });
    skipped.sort_by(|a, b| natural_cmp(&rel(&root, &a.path), &rel(&root, &b.path)));
    Ok(ExportPackage {
        root: dir.to_path_buf(),
        files,
        skipped,
    })
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        // `file_type` does not follow symbolic links.
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if file_type.is_dir() {
            if depth < MAX_DIR_DEPTH {
                collect(&path, depth + 1, out);
            }
        } else if file_type.is_file()
            && path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            out.push(path);
        }
    }
}

/// Compares strings with digit runs compared as numbers, case-insensitively otherwise.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let na = trim_zeros(&a[..da]);
                let nb = trim_zeros(&b[..db]);
                let ord = na
                    .len()
                    .cmp(&nb.len())
                    .then_with(|| na.cmp(nb))
                    .then(da.cmp(&db));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                let ord = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    &digits[zeros..]
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use std::cmp::Ordering;

    #[test]
    fn natural_order() {
        assert_eq!(
            natural_cmp("goods_1_2_ab.xml", "goods_1_10_ab.xml"),
            Ordering::Less
        );
        assert_eq!(
            natural_cmp("goods/2/import.xml", "goods/10/import.xml"),
            Ordering::Less
        );
        assert_eq!(natural_cmp("a", "a"), Ordering::Equal);
        assert_eq!(natural_cmp("a", "ab"), Ordering::Less);
        assert_eq!(natural_cmp("b", "A"), Ordering::Greater);
        assert_eq!(natural_cmp("x01", "x1"), Ordering::Greater);
        assert_eq!(natural_cmp("x1", "x01"), Ordering::Less);
    }
}
