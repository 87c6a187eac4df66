//! Where files go: the list of files a generation writes (folder-per-kind layout for 3.1,
//! `import.xml` + `offers.xml` for 2.x), removal of stale files of an earlier generation, and
//! the broken-goods helper.

use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::model::Plan;
use crate::rng::{Rng, tag};
use crate::{Format, Options};

/// Folders of the 3.1 layout this generator writes.
pub(crate) const KINDS_31: [&str; 10] = [
    "groups",
    "units",
    "propertiesGoods",
    "priceLists",
    "storages",
    "goods",
    "offers",
    "prices",
    "rests",
    "contragents",
];
/// Kinds written as numbered segments `<kind>_1_<n>_<guid>.xml`.
const SEGMENTED: [&str; 2] = ["goods", "propertiesGoods"];
/// Files of the 2.x layout.
const FILES_2X: [&str; 2] = ["import.xml", "offers.xml"];

/// What a file holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Groups,
    Units,
    Properties,
    PriceLists,
    Storages,
    /// A goods segment with the product indices it holds.
    Goods(Range<usize>),
    Offers,
    Prices,
    Rests,
    Contragents,
    Import2,
    Offers2,
}

/// One file to write.
#[derive(Clone, Debug)]
pub(crate) struct FileSpec {
    /// Relative path, `/`-separated.
    pub rel: String,
    pub bom: bool,
    pub kind: Kind,
}

fn segment_name(plan: &Plan, kind: &str, kind_no: u64, n: usize) -> String {
    let guid = Rng::stream(plan.seed, tag::SEGMENT, kind_no, n as u64).guid();
    format!("{kind}/{kind}_1_{n}_{guid}.xml")
}

/// The files of a generation, in write order.
pub(crate) fn files(plan: &Plan, opts: &Options) -> Vec<FileSpec> {
    let spec = |rel: String, bom: bool, kind: Kind| FileSpec { rel, bom, kind };
    match opts.format {
        Format::V2x => vec![
            spec("import.xml".into(), true, Kind::Import2),
            // Old 2.x exports without a BOM are common.
            spec("offers.xml".into(), false, Kind::Offers2),
        ],
        Format::V31 => {
            let mut v = vec![
                spec("groups/groups.xml".into(), true, Kind::Groups),
                spec("units/units.xml".into(), true, Kind::Units),
                spec(
                    segment_name(plan, "propertiesGoods", 1, 1),
                    true,
                    Kind::Properties,
                ),
                spec("priceLists/priceLists.xml".into(), true, Kind::PriceLists),
                spec("storages/storages.xml".into(), true, Kind::Storages),
            ];
            let per = match opts.goods_per_segment {
                0 => opts.products.max(1),
                n => n,
            };
            let segments = opts.products.div_ceil(per);
            for s in 0..segments {
                let range = s * per..((s + 1) * per).min(opts.products);
                // The first goods segment has no BOM, as in real exports.
                v.push(spec(
                    segment_name(plan, "goods", 2, s + 1),
                    s != 0,
                    Kind::Goods(range),
                ));
            }
            v.push(spec("offers/offers.xml".into(), true, Kind::Offers));
            v.push(spec("prices/prices.xml".into(), true, Kind::Prices));
            v.push(spec("rests/rests.xml".into(), false, Kind::Rests));
            if opts.customers > 0 {
                v.push(spec(
                    "contragents/contragents.xml".into(),
                    true,
                    Kind::Contragents,
                ));
            }
            v
        }
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// Could this generator have written `name` inside folder `kind`?
fn is_generated_name(kind: &str, name: &str) -> bool {
    if name == format!("{kind}.xml") {
        return true;
    }
    if !SEGMENTED.contains(&kind) {
        return false;
    }
    let Some(rest) = name
        .strip_prefix(kind)
        .and_then(|r| r.strip_prefix("_1_"))
        .and_then(|r| r.strip_suffix(".xml"))
    else {
        return false;
    };
    let Some((n, guid)) = rest.split_once('_') else {
        return false;
    };
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && is_guid(guid)
}

/// Removes files of an earlier generation that this one will not write, touching only names
/// this generator produces, then folders of the 3.1 layout left empty by that.
pub(crate) fn remove_stale(out: &Path, files: &[FileSpec]) -> io::Result<()> {
    let keep: HashSet<&str> = files.iter().map(|f| f.rel.as_str()).collect();
    for name in FILES_2X {
        if !keep.contains(name) && out.join(name).is_file() {
            fs::remove_file(out.join(name))?;
        }
    }
    for kind in KINDS_31 {
        let dir = out.join(kind);
        if !dir.is_dir() {
            continue;
        }
        let mut removed = false;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let rel = format!("{kind}/{name}");
            if entry.file_type()?.is_file()
                && is_generated_name(kind, &name)
                && !keep.contains(rel.as_str())
            {
                fs::remove_file(entry.path())?;
                removed = true;
            }
        }
        let used = files.iter().any(|f| f.rel.starts_with(&format!("{kind}/")));
        if removed && !used && fs::read_dir(&dir)?.next().is_none() {
            fs::remove_dir(&dir)?;
        }
    }
    Ok(())
}

/// See [`crate::write_broken_goods`].
pub(crate) fn write_broken_goods(out: &Path) -> io::Result<PathBuf> {
    let path = first_goods_file(out)?;
    let mut reader = BufReader::new(fs::File::open(&path)?);
    let mut line = String::new();
    let mut offset = 0u64;
    // Lines (with byte offsets) of the record being read, the first complete record, and
    // the second one. Breaking the second means a streaming reader has already seen a
    // complete record before the damage.
    let mut current: Vec<(u64, String)> = Vec::new();
    let mut in_record = false;
    let mut first: Option<Vec<(u64, String)>> = None;
    let mut target: Option<Vec<(u64, String)>> = None;
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            break;
        }
        let trimmed = line.trim();
        if trimmed == "<Товар>" {
            current.clear();
            in_record = true;
        }
        if in_record {
            current.push((offset, line.clone()));
        }
        if trimmed == "</Товар>" && in_record {
            in_record = false;
            if first.is_none() {
                first = Some(std::mem::take(&mut current));
            } else {
                target = Some(std::mem::take(&mut current));
                break;
            }
        }
        offset += n as u64;
    }
    let lines = target.or(first).unwrap_or_default();
    if lines.len() < 3 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: no complete <Товар> record to break", path.display()),
        ));
    }
    let (line_start, text) = &lines[lines.len() / 2];
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let f = OpenOptions::new().write(true).open(&path)?;
    f.set_len(line_start + cut as u64)?;
    f.sync_data()?;
    Ok(path)
}

/// `goods/goods_1_1_<guid>.xml` of a 3.1 export, else `import.xml` of a 2.x one.
fn first_goods_file(out: &Path) -> io::Result<PathBuf> {
    let dir = out.join("goods");
    if dir.is_dir() {
        let mut best: Option<(u64, PathBuf)> = None;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !is_generated_name("goods", name) || name == "goods.xml" {
                continue;
            }
            let n: u64 = name["goods_1_".len()..]
                .split('_')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(u64::MAX);
            if best.as_ref().is_none_or(|(b, _)| n < *b) {
                best = Some((n, entry.path()));
            }
        }
        if let Some((_, p)) = best {
            return Ok(p);
        }
    }
    let import = out.join("import.xml");
    if import.is_file() {
        return Ok(import);
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("no goods file under {}", out.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names() {
        assert!(is_generated_name("groups", "groups.xml"));
        assert!(is_generated_name(
            "goods",
            "goods_1_12_359d05ef-9594-1bef-bd60-c17084924159.xml"
        ));
        assert!(!is_generated_name(
            "goods",
            "goods_1_x_359d05ef-9594-1bef-bd60-c17084924159.xml"
        ));
        assert!(!is_generated_name("goods", "goods_1_1_notes.xml"));
        assert!(!is_generated_name(
            "groups",
            "groups_1_1_359d05ef-9594-1bef-bd60-c17084924159.xml"
        ));
        assert!(!is_generated_name("goods", "my.xml"));
    }
}
