//! Helpers the engine's integration tests share (each test binary uses some of them).
#![allow(dead_code)]

use std::ops::Deref;
use std::path::Path;

use engine::import::{FileType, ImportRequest};
use engine::kinds::ImportKind;

/// A fresh directory under the system's temp dir, removed when dropped — also when the test
/// fails. Derefs to its [`Path`].
pub struct TempDir(tempfile::TempDir);

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

/// A new empty directory named after the test's `tag`.
pub fn temp_dir(tag: &str) -> TempDir {
    TempDir(
        tempfile::Builder::new()
            .prefix(&format!("onec_{tag}_"))
            .tempdir()
            .expect("a temp dir"),
    )
}

/// An import of every file of `kind` under `dir`.
pub fn request(kind: ImportKind, dir: &Path) -> ImportRequest {
    ImportRequest {
        kind,
        data_dir: dir.to_path_buf(),
        file: None,
        file_type: FileType::All,
    }
}
