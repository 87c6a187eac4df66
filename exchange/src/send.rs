//! The pure parts of `onec-admin exchange send`, the stand-in that plays 1C against a site:
//! which files of a folder are the export and in what order 1C would send them, what the replies
//! of `checkauth` and `init` say, and the query string of every request as 1C writes it.
//!
//! The HTTP itself is the server crate's (`server/src/exchange_cli.rs`).

use std::cmp::Ordering;
use std::io;
use std::path::Path;

use crate::plan::{Export, Protocol, Step};
use crate::reply::{Reply, Status};

/// Where an XML file stands in 1C's dependency order: what the others refer to comes first —
/// reference books, then properties, then the catalog, then offers, prices, stock, and the
/// counterparties last (BX-XML: «в момент загрузки товаров на сайте уже должна быть информация
/// о группах, свойствах, единицах измерений…»).
fn rank(name: &str) -> u8 {
    let segments: Vec<String> = name.split('/').map(str::to_ascii_lowercase).collect();
    let file = segments.last().map(String::as_str).unwrap_or_default();
    // The letters the name starts with: `import` of `import0_1.xml` and `import___<guid>.xml`,
    // `goods` of `goods_1_1_<guid>.xml`, `propertiesgoods`, `pricelists`.
    let word: String = file.chars().take_while(char::is_ascii_alphabetic).collect();
    // The 1C-Bitrix add-on 6.x: `properties/1/import.xml` is a classifier of properties.
    let in_properties = segments[..segments.len().saturating_sub(1)]
        .iter()
        .any(|s| s.starts_with("properties"));
    match word.as_str() {
        "groups" | "units" | "storages" | "pricelists" | "classifier" => 0,
        w if w.starts_with("properties") => 1,
        "import" | "offers" if in_properties => 1,
        "import" | "goods" => 2,
        "offers" => 3,
        "prices" => 4,
        "rests" => 5,
        "contragents" | "documents" | "orders" => 7,
        _ => 6,
    }
}

/// Compares names as people do: the numbers in them by value (`import2_1` before `import10_1`).
fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let strip = |n: &[u8]| -> usize { n.iter().take_while(|&&c| c == b'0').count() };
                let (na, nb) = (&na[strip(na)..], &nb[strip(nb)..]);
                let by_value = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (a, b) = (&a[da..], &b[db..]);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

/// The export made of these relative (`/`-separated) names: the XML files in the order 1C
/// sends them (dependency order, then shallower first — the 1C-Bitrix add-on's root
/// `import.xml` before `goods/1/import.xml` — then by name, numbers by value), everything else
/// (pictures under `import_files/`) by name.
pub fn order(names: impl IntoIterator<Item = String>) -> Export {
    let (mut xml, mut other): (Vec<String>, Vec<String>) = names.into_iter().partition(|n| {
        n.rsplit_once('.')
            .is_some_and(|(_, e)| e.eq_ignore_ascii_case("xml"))
    });
    xml.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.matches('/').count().cmp(&b.matches('/').count()))
            .then_with(|| natural(a, b))
    });
    other.sort_by(|a, b| natural(a, b));
    Export { xml, other }
}

/// The export in `dir`: every file under it (hidden ones, whose name starts with a dot, left
/// out), in [`order`]. Symbolic links are followed as the files they point to.
pub fn find(dir: &Path) -> io::Result<Export> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("имя файла не в UTF-8: {}", entry.path().display()),
                ));
            };
            if name.starts_with('.') {
                continue;
            }
            let rel = format!("{prefix}{name}");
            if std::fs::metadata(entry.path())?.is_dir() {
                walk(&entry.path(), &format!("{rel}/"), out)?;
            } else {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut names = Vec::new();
    walk(dir, "", &mut names)?;
    Ok(order(names))
}

/// What a successful `checkauth` gave: the cookie 1C sends back and, from the 1C-Bitrix add-on's
/// five-line reply, the `sessid=…` line it appends to every later URL and the server's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// Line 2.
    pub cookie_name: String,
    /// Line 3.
    pub cookie_value: String,
    /// Line 4 as it is (`sessid=<token>`), when it is a `name=value` pair.
    pub sessid: Option<String>,
    /// The value of line 5 (`timestamp=<unix seconds>`).
    pub timestamp: Option<String>,
}

impl Login {
    /// Reads a `success` reply of `checkauth`; `None` when it lacks the cookie.
    pub fn parse(reply: &Reply) -> Option<Self> {
        if reply.status != Status::Success {
            return None;
        }
        let mut lines = reply.lines.iter().map(|l| l.trim());
        let cookie_name = lines.next().filter(|l| !l.is_empty())?.to_owned();
        let cookie_value = lines.next().filter(|l| !l.is_empty())?.to_owned();
        let mut login = Self {
            cookie_name,
            cookie_value,
            sessid: None,
            timestamp: None,
        };
        for line in lines {
            if let Some(t) = line.strip_prefix("timestamp=") {
                login.timestamp = Some(t.to_owned());
            } else if login.sessid.is_none() && line.contains('=') {
                login.sessid = Some(line.to_owned());
            }
        }
        Some(login)
    }

    /// The `Cookie` header 1C builds: `<name>=<value>`.
    pub fn cookie(&self) -> String {
        format!("{}={}", self.cookie_name, self.cookie_value)
    }
}

/// What `init` answered: whether the site takes a zip and the largest piece of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitParams {
    /// `zip=yes`.
    pub zip: bool,
    /// `file_limit=<bytes>`; `None` when missing, not a number or not positive (`-1`: no limit).
    pub file_limit: Option<u64>,
}

impl InitParams {
    /// Reads the reply of `init` (its `key=value` lines; a `success` line before them is allowed).
    /// `None` for a `failure` or `progress`.
    pub fn parse(reply: &Reply) -> Option<Self> {
        if !matches!(reply.status, Status::Parameters | Status::Success) {
            return None;
        }
        let mut params = Self {
            zip: false,
            file_limit: None,
        };
        for line in &reply.lines {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key.trim() {
                "zip" => params.zip = value.trim().eq_ignore_ascii_case("yes"),
                "file_limit" => {
                    params.file_limit = value.trim().parse::<u64>().ok().filter(|&n| n > 0);
                }
                _ => {}
            }
        }
        Some(params)
    }
}

/// The CommerceML version the 1C-Bitrix add-on announces in `init`.
pub const BITRIX_VERSION: &str = "3.1";

/// The query string (after `?`) of `step`, as each generation of 1C writes it: `type=catalog`,
/// the mode, its parameters, and in the Bitrix protocol the `sessid=…` line of `checkauth`
/// appended (1C adds `"&" + line 4`).
pub fn query(protocol: Protocol, step: &Step, login: Option<&Login>) -> String {
    let mut q = format!("type=catalog&mode={}", step.mode().word());
    match step {
        Step::Upload(name) | Step::Import(name) => {
            q.push_str("&filename=");
            q.push_str(&encode(name));
        }
        Step::Deactivate => {
            let t = login.and_then(|l| l.timestamp.as_deref()).unwrap_or("0");
            q.push_str("&timestamp=");
            q.push_str(&encode(t));
        }
        Step::CheckAuth | Step::Init | Step::Complete => {}
    }
    if protocol == Protocol::Bitrix
        && *step != Step::CheckAuth
        && let Some(sessid) = login.and_then(|l| l.sessid.as_deref())
    {
        q.push('&');
        q.push_str(sessid);
    }
    if protocol == Protocol::Bitrix && *step == Step::Init {
        q.push_str("&version=");
        q.push_str(BITRIX_VERSION);
    }
    q
}

/// Percent-encodes a query value, keeping what needs no escape in a URL (letters, digits,
/// `-._~` and `/`, which 1C leaves in `filename`).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The name of the archive, like 1C's temp names (`v8_3B8F_3e.zip`): `v8_<seconds in hex>_1.zip`.
pub fn archive_name(unix_seconds: u64) -> String {
    format!("v8_{unix_seconds:X}_1.zip")
}

/// Writes the files of `export` under `dir` into a new zip archive at `out` (deflate, as 1C
/// writes), XML first, each file streamed from disk. Returns the archive's size.
pub fn pack(dir: &Path, export: &Export, out: &Path) -> io::Result<u64> {
    let file = std::fs::File::create(out)?;
    let mut zip = zip::ZipWriter::new(io::BufWriter::new(file));
    // The fastest deflate level: packing is the sender's time, not the site's, and a large
    // export packs several times faster than at the default level for a few percent more bytes.
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(false);
    for name in export.xml.iter().chain(&export.other) {
        let path = name.split('/').fold(dir.to_path_buf(), |p, s| p.join(s));
        let mut src = std::fs::File::open(&path)?;
        let big = src.metadata()?.len() >= u64::from(u32::MAX);
        zip.start_file(name.as_str(), opts.large_file(big))
            .map_err(io::Error::other)?;
        io::copy(&mut src, &mut zip)?;
    }
    let mut writer = zip.finish().map_err(io::Error::other)?;
    io::Write::flush(&mut writer)?;
    let file = writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    Ok(file.metadata()?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Charset;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn classic_packets_go_catalog_first_numbers_by_value() {
        let e = order(names(&[
            "offers10_1.xml",
            "offers0_1.xml",
            "import10_1.xml",
            "import_files/b/2.jpg",
            "import2_1.xml",
            "import0_1.xml",
            "import_files/a/1.jpg",
        ]));
        assert_eq!(
            e.xml,
            [
                "import0_1.xml",
                "import2_1.xml",
                "import10_1.xml",
                "offers0_1.xml",
                "offers10_1.xml"
            ]
        );
        assert_eq!(e.other, ["import_files/a/1.jpg", "import_files/b/2.jpg"]);
        let e = order(names(&["offers.xml", "import.xml"]));
        assert_eq!(e.xml, ["import.xml", "offers.xml"]);
    }

    #[test]
    fn bitrix_module_packets_go_in_dependency_order() {
        // Module 4.x–5.x: flat names with a guid.
        let e = order(names(&[
            "rests___b.xml",
            "prices___a.xml",
            "offers___c.xml",
            "import___f.xml",
            "import___e.xml",
            "contragents___1.xml",
        ]));
        assert_eq!(
            e.xml,
            [
                "import___e.xml",
                "import___f.xml",
                "offers___c.xml",
                "prices___a.xml",
                "rests___b.xml",
                "contragents___1.xml"
            ]
        );
        // Module 6.5: root classifier, properties, then goods.
        let e = order(names(&[
            "goods/1/rests.xml",
            "goods/1/offers.xml",
            "goods/1/import.xml",
            "goods/1/prices.xml",
            "properties/1/offers.xml",
            "properties/1/import.xml",
            "import.xml",
            "goods/import_files/a.jpg",
        ]));
        assert_eq!(
            e.xml,
            [
                "properties/1/import.xml",
                "properties/1/offers.xml",
                "import.xml",
                "goods/1/import.xml",
                "goods/1/offers.xml",
                "goods/1/prices.xml",
                "goods/1/rests.xml"
            ]
        );
        assert_eq!(e.other, ["goods/import_files/a.jpg"]);
    }

    #[test]
    fn per_entity_folders_go_reference_books_first_contragents_last() {
        let e = order(names(&[
            "contragents/contragents.xml",
            "rests/rests.xml",
            "prices/prices.xml",
            "offers/offers.xml",
            "goods/goods_1_10_x.xml",
            "goods/goods_1_2_x.xml",
            "storages/storages.xml",
            "priceLists/priceLists.xml",
            "propertiesGoods/propertiesGoods_1_1_x.xml",
            "units/units.xml",
            "groups/groups.xml",
        ]));
        assert_eq!(
            e.xml,
            [
                "groups/groups.xml",
                "priceLists/priceLists.xml",
                "storages/storages.xml",
                "units/units.xml",
                "propertiesGoods/propertiesGoods_1_1_x.xml",
                "goods/goods_1_2_x.xml",
                "goods/goods_1_10_x.xml",
                "offers/offers.xml",
                "prices/prices.xml",
                "rests/rests.xml",
                "contragents/contragents.xml"
            ]
        );
    }

    #[test]
    fn a_folder_is_found_with_its_pictures_and_without_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("import_files/ab")).unwrap();
        std::fs::write(p.join("offers.xml"), "<x/>").unwrap();
        std::fs::write(p.join("import.XML"), "<x/>").unwrap();
        std::fs::write(p.join("import_files/ab/c.jpg"), "jpg").unwrap();
        std::fs::write(p.join(".DS_Store"), "").unwrap();
        let e = find(p).unwrap();
        assert_eq!(e.xml, ["import.XML", "offers.xml"]);
        assert_eq!(e.other, ["import_files/ab/c.jpg"]);
        assert!(find(&p.join("missing")).is_err());
    }

    #[test]
    fn a_packed_export_unpacks_to_the_same_files() {
        let src = tempfile::tempdir().unwrap();
        let p = src.path();
        std::fs::create_dir_all(p.join("goods")).unwrap();
        std::fs::create_dir_all(p.join("import_files/ab")).unwrap();
        std::fs::write(p.join("goods/goods_1_1_x.xml"), "<Товары/>".repeat(1000)).unwrap();
        std::fs::write(p.join("import_files/ab/c.jpg"), [0u8, 1, 2, 255]).unwrap();
        let export = find(p).unwrap();
        let out = tempfile::tempdir().unwrap();
        let zip = out.path().join("v8_1_1.zip");
        let size = pack(p, &export, &zip).unwrap();
        assert_eq!(size, std::fs::metadata(&zip).unwrap().len());
        assert!(size < 9 * 1000, "deflated: {size}");
        let dst = tempfile::tempdir().unwrap();
        let got =
            crate::unpack(&zip, "v8_1_1.zip", dst.path(), crate::ZipLimits::default()).unwrap();
        let names: Vec<&str> = got.files.iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["goods/goods_1_1_x.xml", "import_files/ab/c.jpg"]);
        assert_eq!(
            std::fs::read(dst.path().join("import_files/ab/c.jpg")).unwrap(),
            [0u8, 1, 2, 255]
        );
    }

    #[test]
    fn natural_order_compares_numbers_by_value() {
        assert_eq!(natural("a2", "a10"), Ordering::Less);
        assert_eq!(natural("a010", "a9"), Ordering::Greater);
        assert_eq!(natural("a1b", "a1b"), Ordering::Equal);
        assert_eq!(natural("a", "ab"), Ordering::Less);
    }

    fn reply(text: &str) -> Reply {
        Reply::parse(text.as_bytes(), Charset::Utf8)
    }

    #[test]
    fn checkauth_replies_of_both_generations_are_read() {
        let l = Login::parse(&reply("success\nPHPSESSID\nabc\n")).unwrap();
        assert_eq!(l.cookie(), "PHPSESSID=abc");
        assert_eq!((l.sessid, l.timestamp), (None, None));
        let l = Login::parse(&reply(
            "success\nonec_exchange\ntok\nsessid=s1\ntimestamp=1700000000\n",
        ))
        .unwrap();
        assert_eq!(l.sessid.as_deref(), Some("sessid=s1"));
        assert_eq!(l.timestamp.as_deref(), Some("1700000000"));
        assert!(Login::parse(&reply("failure\nНеверный логин")).is_none());
        assert!(Login::parse(&reply("success")).is_none());
    }

    #[test]
    fn init_parameters_are_read() {
        let p = InitParams::parse(&reply("zip=yes\nfile_limit=65536")).unwrap();
        assert_eq!(
            p,
            InitParams {
                zip: true,
                file_limit: Some(65536)
            }
        );
        let p = InitParams::parse(&reply("zip=no\nfile_limit=-1\nsessid=x\nversion=3.1")).unwrap();
        assert_eq!(
            p,
            InitParams {
                zip: false,
                file_limit: None
            }
        );
        assert!(InitParams::parse(&reply("failure\nУже идёт другой обмен")).is_none());
    }

    #[test]
    fn queries_are_written_as_each_generation_writes_them() {
        let login = Login {
            cookie_name: "c".into(),
            cookie_value: "v".into(),
            sessid: Some("sessid=s1".into()),
            timestamp: Some("1700000000".into()),
        };
        let q = |p, s: Step| query(p, &s, Some(&login));
        assert_eq!(
            q(Protocol::Bitrix, Step::CheckAuth),
            "type=catalog&mode=checkauth"
        );
        assert_eq!(q(Protocol::Classic, Step::Init), "type=catalog&mode=init");
        assert_eq!(
            q(Protocol::Bitrix, Step::Init),
            "type=catalog&mode=init&sessid=s1&version=3.1"
        );
        assert_eq!(
            q(Protocol::Classic, Step::Upload("goods/1/a b+c.xml".into())),
            "type=catalog&mode=file&filename=goods/1/a%20b%2Bc.xml"
        );
        assert_eq!(
            q(Protocol::Bitrix, Step::Import("Фото.xml".into())),
            "type=catalog&mode=import&filename=%D0%A4%D0%BE%D1%82%D0%BE.xml&sessid=s1"
        );
        assert_eq!(
            q(Protocol::Bitrix, Step::Deactivate),
            "type=catalog&mode=deactivate&timestamp=1700000000&sessid=s1"
        );
        assert_eq!(
            q(Protocol::Bitrix, Step::Complete),
            "type=catalog&mode=complete&sessid=s1"
        );
        assert_eq!(archive_name(0x3B8F), "v8_3B8F_1.zip");
    }
}
