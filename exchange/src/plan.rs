//! What 1C sends, in what order: the requests of one catalog exchange as each generation of 1C
//! makes them (see `../shared/exchange-protocol.md` §2.3). `onec-admin exchange send` plays them
//! against a site, so that an administrator can check a setup without 1C and the tests can drive
//! the endpoint exactly as 1C does.
//!
//! - [`Protocol::Classic`] (1C's built-in node, CommerceML 2.x): `checkauth`, `init` without
//!   parameters, then either one zip with everything or each file on its own — for every XML,
//!   its upload and then its import loop — and nothing after the last import (no `sessid`, no
//!   `deactivate`, no `complete`).
//! - [`Protocol::Bitrix`] (the 1C-Bitrix add-on, CommerceML 3.1): `checkauth`,
//!   `init&sessid=…&version=3.1`, then packet by packet in dependency order: upload, import;
//!   `deactivate&timestamp=…` after a full exchange, then `complete`. Every call after
//!   `checkauth` carries `sessid`.

use crate::query::Mode;

/// Which generation of 1C to play.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// 1C's built-in «Обмен с сайтом» (classic, 2.x).
    Classic,
    /// The 1C-Bitrix exchange add-on (3.1 packets).
    Bitrix,
}

/// One request of the exchange. Uploads name the file; [`Step::Upload`] is cut into pieces of
/// the server's `file_limit` when it is played.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `mode=checkauth`.
    CheckAuth,
    /// `mode=init` (with `sessid` and `version` in the Bitrix protocol).
    Init,
    /// `mode=file&filename=…`: the file (or the archive), in pieces.
    Upload(String),
    /// `mode=import&filename=…`, repeated while the answer is `progress`.
    Import(String),
    /// `mode=deactivate&timestamp=…`.
    Deactivate,
    /// `mode=complete`.
    Complete,
}

impl Step {
    /// The mode this step sends.
    pub fn mode(&self) -> Mode {
        match self {
            Self::CheckAuth => Mode::CheckAuth,
            Self::Init => Mode::Init,
            Self::Upload(_) => Mode::File,
            Self::Import(_) => Mode::Import,
            Self::Deactivate => Mode::Deactivate,
            Self::Complete => Mode::Complete,
        }
    }
}

/// The files of an export, as the sender found them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Export {
    /// The XML files, relative `/`-separated names, in import (dependency) order.
    pub xml: Vec<String>,
    /// Everything else (pictures under `import_files/`), relative names.
    pub other: Vec<String>,
}

/// The requests of one exchange of `export`. With `zip`, everything travels as one archive named
/// `archive` (the sender builds it), uploaded first and unpacked by the first import.
pub fn steps(protocol: Protocol, zip: Option<&str>, export: &Export) -> Vec<Step> {
    let mut out = vec![Step::CheckAuth, Step::Init];
    match zip {
        Some(archive) => {
            out.push(Step::Upload(archive.to_owned()));
            out.extend(export.xml.iter().cloned().map(Step::Import));
        }
        None => {
            // Pictures go up with the first XML that can refer to them (the catalog's), before
            // its import, as 1C does.
            let mut pictures_sent = export.xml.is_empty();
            for xml in &export.xml {
                out.push(Step::Upload(xml.clone()));
                if !pictures_sent {
                    out.extend(export.other.iter().cloned().map(Step::Upload));
                    pictures_sent = true;
                }
                out.push(Step::Import(xml.clone()));
            }
            if export.xml.is_empty() {
                out.extend(export.other.iter().cloned().map(Step::Upload));
            }
        }
    }
    if protocol == Protocol::Bitrix {
        out.push(Step::Deactivate);
        out.push(Step::Complete);
    }
    out
}

/// The `(start, end)` byte offsets of the pieces a file of `len` bytes is sent in, `limit` bytes
/// each (the last one shorter); an empty file is one empty piece. A `limit` of 0 is taken as 1.
pub fn pieces(len: u64, limit: u64) -> Vec<(u64, u64)> {
    let limit = limit.max(1);
    if len == 0 {
        return vec![(0, 0)];
    }
    (0..len.div_ceil(limit))
        .map(|i| (i * limit, ((i + 1) * limit).min(len)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export() -> Export {
        Export {
            xml: vec!["import0_1.xml".into(), "offers0_1.xml".into()],
            other: vec!["import_files/ab/1.jpg".into()],
        }
    }

    #[test]
    fn classic_1c_uploads_then_imports_each_file_and_says_nothing_after() {
        use Step::*;
        assert_eq!(
            steps(Protocol::Classic, None, &export()),
            [
                CheckAuth,
                Init,
                Upload("import0_1.xml".into()),
                Upload("import_files/ab/1.jpg".into()),
                Import("import0_1.xml".into()),
                Upload("offers0_1.xml".into()),
                Import("offers0_1.xml".into()),
            ]
        );
        assert_eq!(
            steps(Protocol::Classic, Some("v8_1.zip"), &export()),
            [
                CheckAuth,
                Init,
                Upload("v8_1.zip".into()),
                Import("import0_1.xml".into()),
                Import("offers0_1.xml".into()),
            ]
        );
    }

    #[test]
    fn the_bitrix_add_on_ends_with_deactivate_and_complete() {
        let s = steps(Protocol::Bitrix, Some("a.zip"), &export());
        assert_eq!(
            s.iter().map(Step::mode).collect::<Vec<_>>(),
            [
                Mode::CheckAuth,
                Mode::Init,
                Mode::File,
                Mode::Import,
                Mode::Import,
                Mode::Deactivate,
                Mode::Complete
            ]
        );
    }

    #[test]
    fn files_are_cut_into_pieces_of_the_limit() {
        assert_eq!(pieces(10, 4), [(0, 4), (4, 8), (8, 10)]);
        assert_eq!(pieces(8, 4), [(0, 4), (4, 8)]);
        assert_eq!(pieces(3, 100), [(0, 3)]);
        assert_eq!(pieces(0, 100), [(0, 0)]);
        assert_eq!(pieces(2, 0), [(0, 1), (1, 2)]);
    }

    #[test]
    fn pictures_alone_are_still_sent() {
        let only = Export {
            xml: vec![],
            other: vec!["import_files/a.jpg".into()],
        };
        assert_eq!(
            steps(Protocol::Classic, None, &only),
            [
                Step::CheckAuth,
                Step::Init,
                Step::Upload("import_files/a.jpg".into())
            ]
        );
    }
}
