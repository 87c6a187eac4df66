//! Unpacking the archive 1C sends with `zip=yes`, into the exchange's folder, without trusting it.
//!
//! Every entry name goes through [`SpoolName::parse`] (UTF-8 when it is valid UTF-8, else CP866,
//! which Windows 1C writes), so no entry can land outside the folder. Limits are enforced while
//! the bytes stream, on what actually comes out of the decompressor, not on what the archive's
//! headers claim: the number of entries, the total unpacked size, and the ratio of unpacked to
//! packed bytes (a zip bomb). On a refusal the archive's partly unpacked files are removed.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::name::{NameError, SpoolName};

/// What an archive may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZipLimits {
    /// Most entries (files and folders).
    pub max_entries: usize,
    /// Most bytes unpacked, all entries together.
    pub max_unpacked: u64,
    /// Most unpacked bytes per packed byte of an entry (once it is past 1 MiB). XML from 1C packs
    /// about 80:1; deflate cannot do better than about 1 030:1.
    pub max_ratio: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        Self {
            max_entries: 200_000,
            max_unpacked: 20 * 1024 * 1024 * 1024,
            max_ratio: 500,
        }
    }
}

/// Below this many unpacked bytes an entry's ratio is not checked (tiny files pack oddly).
const RATIO_FREE_BYTES: u64 = 1024 * 1024;

/// Why an archive was refused. The texts are Russian and name the archive: they reach 1C's log
/// and the exchange page.
#[derive(Debug, thiserror::Error)]
pub enum ZipError {
    /// Not a zip archive, or a damaged one.
    #[error("Архив «{archive}» повреждён или не является zip-архивом: {detail}")]
    Damaged {
        /// The archive's name in the exchange.
        archive: String,
        /// What the zip reader said.
        detail: String,
    },
    /// An entry name that could leave the folder (zip slip) or is otherwise unusable.
    #[error("Архив «{archive}»: недопустимое имя файла в архиве — {source}")]
    BadName {
        /// The archive's name in the exchange.
        archive: String,
        /// Why the name was refused.
        source: NameError,
    },
    /// A symbolic link entry (never sent by 1C; could point outside the folder).
    #[error("Архив «{archive}»: символическая ссылка «{entry}» не принимается")]
    Symlink {
        /// The archive's name in the exchange.
        archive: String,
        /// The entry's name.
        entry: String,
    },
    /// More entries than [`ZipLimits::max_entries`].
    #[error("Архив «{archive}» содержит больше {limit} файлов — отклонён")]
    TooManyEntries {
        /// The archive's name in the exchange.
        archive: String,
        /// The limit.
        limit: usize,
    },
    /// More bytes than [`ZipLimits::max_unpacked`].
    #[error("Архив «{archive}» распаковывается больше чем в {limit} байт — отклонён")]
    TooLarge {
        /// The archive's name in the exchange.
        archive: String,
        /// The limit.
        limit: u64,
    },
    /// An entry that unpacks past [`ZipLimits::max_ratio`] (a zip bomb).
    #[error(
        "Архив «{archive}»: файл «{entry}» сжат более чем в {limit} раз — похоже на zip-бомбу, \
         архив отклонён"
    )]
    Bomb {
        /// The archive's name in the exchange.
        archive: String,
        /// The entry's name.
        entry: String,
        /// The limit.
        limit: u64,
    },
    /// The disk refused a write (full, no permission).
    #[error("Архив «{archive}»: не удалось записать «{entry}»: {source}")]
    Io {
        /// The archive's name in the exchange.
        archive: String,
        /// The entry's name, or the archive's own when it could not be opened.
        entry: String,
        /// The system's error.
        source: io::Error,
    },
}

/// What an archive held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// The files written, as names inside the folder, in archive order.
    pub files: Vec<SpoolName>,
    /// Bytes written.
    pub bytes: u64,
}

/// Unpacks `archive` (a file on disk, named `shown` in messages) into the folder `root`.
/// `root` must exist. On an error, the files this call wrote are removed again.
pub fn unpack(
    archive: &Path,
    shown: &str,
    root: &Path,
    limits: ZipLimits,
) -> Result<Unpacked, ZipError> {
    let mut written = Unpacked::default();
    let result = unpack_into(archive, shown, root, limits, &mut written);
    if result.is_err() {
        for name in &written.files {
            // Best effort: what could not be removed is inside the spool, which is removed with
            // its exchange anyway.
            fs::remove_file(name.under(root)).ok();
        }
    }
    result.map(|()| written)
}

fn unpack_into(
    archive: &Path,
    shown: &str,
    root: &Path,
    limits: ZipLimits,
    written: &mut Unpacked,
) -> Result<(), ZipError> {
    let io_err = |entry: &str| {
        let archive = shown.to_owned();
        let entry = entry.to_owned();
        move |source| ZipError::Io {
            archive,
            entry,
            source,
        }
    };
    let damaged = |e: zip::result::ZipError| ZipError::Damaged {
        archive: shown.to_owned(),
        detail: e.to_string(),
    };
    let root = fs::canonicalize(root).map_err(io_err(shown))?;
    let file = File::open(archive).map_err(io_err(shown))?;
    let mut zip = zip::ZipArchive::new(file).map_err(damaged)?;
    if zip.len() > limits.max_entries {
        return Err(ZipError::TooManyEntries {
            archive: shown.to_owned(),
            limit: limits.max_entries,
        });
    }
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(damaged)?;
        let raw = entry_name(entry.name_raw());
        if entry.is_symlink() {
            return Err(ZipError::Symlink {
                archive: shown.to_owned(),
                entry: raw,
            });
        }
        if entry.is_dir() {
            continue;
        }
        let name = SpoolName::parse(&raw).map_err(|source| ZipError::BadName {
            archive: shown.to_owned(),
            source,
        })?;
        let target = place(&root, &name).map_err(io_err(&raw))?;
        let packed = entry.compressed_size();
        let mut out = File::create(&target).map_err(io_err(&raw))?;
        written.files.push(name);
        let mut buf = vec![0u8; 64 * 1024];
        let mut this = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(|e| match e.kind() {
                io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => ZipError::Damaged {
                    archive: shown.to_owned(),
                    detail: format!("{raw}: {e}"),
                },
                _ => io_err(&raw)(e),
            })?;
            if n == 0 {
                break;
            }
            this += n as u64;
            written.bytes += n as u64;
            if written.bytes > limits.max_unpacked {
                return Err(ZipError::TooLarge {
                    archive: shown.to_owned(),
                    limit: limits.max_unpacked,
                });
            }
            if this > RATIO_FREE_BYTES && this > packed.saturating_mul(limits.max_ratio) {
                return Err(ZipError::Bomb {
                    archive: shown.to_owned(),
                    entry: raw,
                    limit: limits.max_ratio,
                });
            }
            out.write_all(&buf[..n]).map_err(io_err(&raw))?;
        }
        out.flush().map_err(io_err(&raw))?;
    }
    Ok(())
}

/// An entry's name: UTF-8 when its bytes are valid UTF-8 (the zip flag or plain ASCII), else
/// CP866, the code page Windows 1C writes names in.
fn entry_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::IBM866
            .decode_without_bom_handling(raw)
            .0
            .into_owned(),
    }
}

/// The path `name` gets under `root` (canonical), with its folders created; refused when a folder
/// on the way resolves outside `root` (a symbolic link) or the file itself is a link or folder.
pub fn place(root: &Path, name: &SpoolName) -> io::Result<PathBuf> {
    let target = name.under(root);
    let parent = target.parent().unwrap_or(root);
    fs::create_dir_all(parent)?;
    let real_parent = fs::canonicalize(parent)?;
    if !real_parent.starts_with(root) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "путь ведёт за пределы папки обмена",
        ));
    }
    match fs::symlink_metadata(&target) {
        Ok(m) if !m.is_file() => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "на этом месте уже есть папка или ссылка",
        )),
        _ => Ok(real_parent.join(name.file_name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use zip::write::SimpleFileOptions;

    /// Writes an archive of (name, content) with deflate.
    fn archive(dir: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, body) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(body).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let path = dir.join("a.zip");
        fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn an_export_unpacks_with_its_folders() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let zip = archive(
            src.path(),
            &[
                ("import0_1.xml", b"<xml/>"),
                ("import_files/ab/c.jpg", b"jpeg"),
                (
                    "import_files/tmp/webdata/1/2/import_files/cd/e.jpg",
                    b"jpeg2",
                ),
            ],
        );
        let got = unpack(&zip, "v8_1.zip", dst.path(), ZipLimits::default()).unwrap();
        let names: Vec<&str> = got.files.iter().map(SpoolName::as_str).collect();
        assert_eq!(
            names,
            [
                "import0_1.xml",
                "import_files/ab/c.jpg",
                "import_files/cd/e.jpg"
            ]
        );
        assert_eq!(got.bytes, 6 + 4 + 5);
        assert_eq!(
            fs::read(dst.path().join("import_files/cd/e.jpg")).unwrap(),
            b"jpeg2"
        );
    }

    #[test]
    fn zip_slip_is_refused_and_nothing_stays() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let zip = archive(
            src.path(),
            &[("ok.xml", b"<x/>"), ("../../evil.sh", b"rm -rf /")],
        );
        let e = unpack(&zip, "v8_1.zip", dst.path(), ZipLimits::default()).unwrap_err();
        assert!(matches!(e, ZipError::BadName { .. }), "{e}");
        assert!(e.to_string().starts_with("Архив «v8_1.zip»"), "{e}");
        assert!(
            !dst.path().join("ok.xml").exists(),
            "a refused archive leaves nothing"
        );
        assert!(!dst.path().parent().unwrap().join("evil.sh").exists());
    }

    #[test]
    fn a_zip_bomb_is_refused_by_what_comes_out() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let zeros = vec![0u8; 8 * 1024 * 1024];
        let zip = archive(src.path(), &[("import.xml", &zeros)]);
        let e = unpack(&zip, "bomb.zip", dst.path(), ZipLimits::default()).unwrap_err();
        assert!(matches!(e, ZipError::Bomb { .. }), "{e}");
        assert!(e.to_string().contains("zip-бомбу"), "{e}");
        assert!(!dst.path().join("import.xml").exists());
    }

    #[test]
    fn size_and_count_limits_hold() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let zip = archive(src.path(), &[("a.xml", &[b'a'; 2000]), ("b.xml", b"b")]);
        let small = ZipLimits {
            max_unpacked: 1000,
            ..ZipLimits::default()
        };
        let e = unpack(&zip, "a.zip", dst.path(), small).unwrap_err();
        assert!(matches!(e, ZipError::TooLarge { limit: 1000, .. }), "{e}");
        let few = ZipLimits {
            max_entries: 1,
            ..ZipLimits::default()
        };
        let e = unpack(&zip, "a.zip", dst.path(), few).unwrap_err();
        assert!(
            matches!(e, ZipError::TooManyEntries { limit: 1, .. }),
            "{e}"
        );
    }

    #[test]
    fn cp866_names_from_windows_1c_are_read() {
        // «Фото.jpg» in CP866.
        let cp866 = encoding_rs::IBM866.encode("Фото.jpg").0.into_owned();
        assert_eq!(entry_name(&cp866), "Фото.jpg");
        assert_eq!(entry_name("Фото.jpg".as_bytes()), "Фото.jpg");
    }

    #[test]
    fn not_a_zip_is_damaged_and_says_which() {
        let src = tempfile::tempdir().unwrap();
        let path = src.path().join("x.zip");
        fs::write(&path, b"<xml>not a zip</xml>").unwrap();
        let e = unpack(&path, "x.zip", src.path(), ZipLimits::default()).unwrap_err();
        assert!(matches!(e, ZipError::Damaged { .. }), "{e}");
        assert!(e.to_string().contains("«x.zip»"), "{e}");
    }

    #[test]
    fn a_symlinked_folder_in_the_spool_is_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("import_files")).unwrap();
        let name = SpoolName::parse("import_files/x.jpg").unwrap();
        let real = fs::canonicalize(root.path()).unwrap();
        let e = place(&real, &name).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
    }
}
