//! The spool on disk (blocking; callers run it in `spawn_blocking`).
//!
//! ```text
//! ONEC_EXCHANGE_DIR/
//!   20261203T193700Z-ab12cd/             an exchange receiving files (only it writes here)
//!   20261202T080000Z-0f9e8d.published/   a finished exchange, published as ONEC_DATA_DIR
//!   20261201T080000Z-1a2b3c.abandoned/   an exchange that ended incomplete (never published)
//!   20261202T080000Z-0f9e8d.replaced/    what ONEC_DATA_DIR held before that exchange replaced it
//! ```
//!
//! Publishing never shows a half-written export: the finished spool is hard-linked (copied when
//! links are impossible) into a hidden folder beside `ONEC_DATA_DIR`
//! (`.<name>.incoming-<id>`, so on the same file system), which then changes places with
//! `ONEC_DATA_DIR` in one `renameat2(RENAME_EXCHANGE)` — atomic on Linux: a reader sees the old
//! export or the new one, never neither and never a mix. Where the file system cannot exchange
//! (EINVAL/ENOSYS/EOPNOTSUPP), two renames follow each other, and only for that instant the
//! folder is missing (an import started then says the folder does not exist; none reads a mix).
//! The last `keep` folders of each finished kind stay; older ones are removed.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a folder of the spool root is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// Receiving files.
    Receiving,
    /// Finished and published.
    Published,
    /// Ended incomplete; never published.
    Abandoned,
    /// The export folder's previous content, set aside when an exchange replaced it.
    Replaced,
}

impl State {
    const FINISHED: [State; 3] = [State::Published, State::Abandoned, State::Replaced];

    fn suffix(self) -> &'static str {
        match self {
            Self::Receiving => "",
            Self::Published => ".published",
            Self::Abandoned => ".abandoned",
            Self::Replaced => ".replaced",
        }
    }
}

/// The folder of exchange `id` in `state`.
pub fn folder(root: &Path, id: &str, state: State) -> PathBuf {
    root.join(format!("{id}{}", state.suffix()))
}

/// A new exchange id: the UTC time and six random hex digits (`20261203T193700Z-ab12cd`).
/// Ids sort by time.
pub fn new_id() -> String {
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
        hex::encode(rand::random::<[u8; 3]>())
    )
}

/// Whether `s` is an id as [`new_id`] makes them (nothing else is ever joined to a path).
pub fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 23
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..]
            .iter()
            .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// The exchanges in the spool root and their states, by id (oldest first).
pub fn list(root: &Path) -> io::Result<Vec<(String, State)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let (id, state) = match name.split_once('.') {
            None => (name.as_str(), State::Receiving),
            Some((id, rest)) => {
                let Some(state) = State::FINISHED
                    .into_iter()
                    .find(|s| s.suffix().strip_prefix('.') == Some(rest))
                else {
                    continue;
                };
                (id, state)
            }
        };
        if is_id(id) {
            out.push((id.to_owned(), state));
        }
    }
    out.sort();
    Ok(out)
}

/// Creates the folder of a new exchange (and the spool root); its canonical path.
pub fn create(root: &Path, id: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(root)?;
    let dir = folder(root, id, State::Receiving);
    fs::create_dir(&dir)?;
    fs::canonicalize(dir)
}

/// The `.xml` files of a folder, as `/`-separated names relative to it (links not followed).
pub fn xml_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    walk(dir, "", &mut |rel, kind| {
        if kind.is_file()
            && rel
                .rsplit_once('.')
                .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case("xml"))
        {
            out.push(rel.to_owned());
        }
    })?;
    out.sort();
    Ok(out)
}

/// Calls `f` with the relative name and type of everything under `dir` (depth first, folders
/// before their content); symbolic links are reported, never followed.
fn walk(dir: &Path, prefix: &str, f: &mut dyn FnMut(&str, fs::FileType)) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let rel = if prefix.is_empty() {
            name.into_owned()
        } else {
            format!("{prefix}/{name}")
        };
        f(&rel, kind);
        if kind.is_dir() {
            walk(&entry.path(), &rel, f)?;
        }
    }
    Ok(())
}

/// Recreates the tree of `src` at `dst` (which must not exist): folders made, regular files
/// hard-linked (copied where a link is refused, e.g. across file systems), anything else
/// skipped. Returns the number of files.
fn link_tree(src: &Path, dst: &Path) -> io::Result<usize> {
    fs::create_dir(dst)?;
    let mut files = 0;
    let mut failure = None;
    walk(src, "", &mut |rel, kind| {
        if failure.is_some() {
            return;
        }
        let (from, to) = (src.join(rel), dst.join(rel));
        let done = if kind.is_dir() {
            fs::create_dir(&to)
        } else if kind.is_file() {
            files += 1;
            fs::hard_link(&from, &to).or_else(|_| fs::copy(&from, &to).map(|_| ()))
        } else {
            Ok(())
        };
        if let Err(e) = done {
            failure = Some(e);
        }
    })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(files),
    }
}

/// Makes the finished exchange `id` the export `data_dir`, in one atomic exchange of folders
/// (see the module's text); the folder it replaced goes to `<id>.replaced`, the spool to
/// `<id>.published`. Returns the number of files published.
pub fn publish(root: &Path, id: &str, data_dir: &Path) -> io::Result<usize> {
    let src = folder(root, id, State::Receiving);
    let name = data_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::other("ONEC_DATA_DIR не оканчивается именем папки"))?;
    let parent = match data_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let stage = parent.join(format!(".{name}.incoming-{id}"));
    if fs::symlink_metadata(&stage).is_ok() {
        fs::remove_dir_all(&stage)?;
    }
    let files = match link_tree(&src, &stage) {
        Ok(n) => n,
        Err(e) => {
            fs::remove_dir_all(&stage).ok();
            return Err(e);
        }
    };
    match fs::symlink_metadata(data_dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::rename(&stage, data_dir)?,
        Err(e) => {
            fs::remove_dir_all(&stage).ok();
            return Err(e);
        }
        Ok(_) => {
            if let Err(e) = swap(&stage, data_dir, &parent, name, id) {
                fs::remove_dir_all(&stage).ok();
                return Err(e);
            }
            // `stage` now holds what the export folder held.
            let aside = folder(root, id, State::Replaced);
            if fs::rename(&stage, &aside).is_err() {
                fs::remove_dir_all(&stage)?;
            }
        }
    }
    // Published: a failure to relabel the spool is not a failure to publish.
    if let Err(e) = fs::rename(&src, folder(root, id, State::Published)) {
        tracing::warn!(exchange = %id, error = %e, "1C exchange: published, but the spool folder keeps its name");
    }
    Ok(files)
}

/// `new` and `current` change places: atomically with `RENAME_EXCHANGE`, else by two renames.
fn swap(new: &Path, current: &Path, parent: &Path, name: &str, id: &str) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    match renameat_with(CWD, new, CWD, current, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(()),
        Err(e) if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP => {
            tracing::warn!(
                "1C exchange: the file system cannot exchange two folders atomically; \
                 publishing by two renames"
            );
            let old = parent.join(format!(".{name}.old-{id}"));
            fs::rename(current, &old)?;
            if let Err(e) = fs::rename(new, current) {
                fs::rename(&old, current).ok();
                return Err(e);
            }
            fs::rename(&old, new)
        }
        Err(e) => Err(e.into()),
    }
}

/// Marks exchange `id` as ended without being published.
pub fn abandon(root: &Path, id: &str) -> io::Result<()> {
    fs::rename(
        folder(root, id, State::Receiving),
        folder(root, id, State::Abandoned),
    )
}

/// Removes all but the newest `keep` folders of each finished state; receiving ones stay.
pub fn prune(root: &Path, keep: usize) -> io::Result<usize> {
    let all = list(root)?;
    let mut removed = 0;
    for state in State::FINISHED {
        let ids: Vec<&String> = all
            .iter()
            .filter(|(_, s)| *s == state)
            .map(|(id, _)| id)
            .collect();
        let old = ids.len().saturating_sub(keep);
        for id in &ids[..old] {
            fs::remove_dir_all(folder(root, id, state))?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tmp(PathBuf);

    impl Tmp {
        fn new(tag: &str) -> Tmp {
            let p = std::env::temp_dir().join(format!("onec-spool-{tag}-{}", new_id()));
            fs::create_dir_all(&p).unwrap();
            Tmp(p)
        }
    }

    impl Drop for Tmp {
        fn drop(&mut self) {
            fs::remove_dir_all(&self.0).ok();
        }
    }

    #[test]
    fn ids_are_recognised_and_nothing_else() {
        let id = new_id();
        assert!(is_id(&id), "{id}");
        for bad in [
            "",
            "..",
            "20261203T193700Z-ab12cg",
            "20261203T193700Z-ab12c",
            "20261203T193700Z/ab12cd",
            "../../etc/passwd/xxxxxx",
        ] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn publishing_swaps_the_export_and_keeps_what_it_replaced() {
        let t = Tmp::new("publish");
        let root = t.0.join("exchange");
        let data = t.0.join("export");
        fs::create_dir_all(&data).unwrap();
        fs::write(data.join("old.xml"), "old").unwrap();
        let id = "20260101T000000Z-000001";
        let dir = create(&root, id).unwrap();
        fs::create_dir_all(dir.join("import_files/ab")).unwrap();
        fs::write(dir.join("import.xml"), "new").unwrap();
        fs::write(dir.join("import_files/ab/c.jpg"), "jpg").unwrap();
        assert_eq!(xml_files(&dir).unwrap(), ["import.xml"]);
        assert_eq!(publish(&root, id, &data).unwrap(), 2);
        assert_eq!(fs::read_to_string(data.join("import.xml")).unwrap(), "new");
        assert!(data.join("import_files/ab/c.jpg").is_file());
        assert!(!data.join("old.xml").exists());
        let aside = folder(&root, id, State::Replaced);
        assert_eq!(fs::read_to_string(aside.join("old.xml")).unwrap(), "old");
        assert!(
            folder(&root, id, State::Published)
                .join("import.xml")
                .is_file()
        );
        assert_eq!(
            list(&root).unwrap(),
            [
                (id.to_owned(), State::Published),
                (id.to_owned(), State::Replaced)
            ]
        );
        // Nothing is left beside the export folder.
        let beside: Vec<String> = fs::read_dir(&t.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(beside.len(), 2, "{beside:?}");
        // A first publication creates the export folder.
        let fresh = t.0.join("fresh");
        let id2 = "20260101T000001Z-000002";
        create(&root, id2).unwrap();
        publish(&root, id2, &fresh).unwrap();
        assert!(fresh.is_dir());
    }

    #[test]
    fn only_the_newest_finished_exchanges_stay() {
        let t = Tmp::new("prune");
        for i in 0..4 {
            let id = format!("20260101T00000{i}Z-00000{i}");
            create(&t.0, &id).unwrap();
            if i < 3 {
                abandon(&t.0, &id).unwrap();
            }
        }
        fs::create_dir(t.0.join("not-an-exchange")).unwrap();
        assert_eq!(prune(&t.0, 2).unwrap(), 1);
        let left = list(&t.0).unwrap();
        assert_eq!(left.len(), 3, "{left:?}");
        assert_eq!(left[0].0, "20260101T000001Z-000001");
        assert_eq!(left[2].1, State::Receiving);
        assert!(t.0.join("not-an-exchange").is_dir());
    }
}
