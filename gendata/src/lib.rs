//! `gendata`: a deterministic generator of realistic 1C CommerceML exports.
//!
//! [`generate`] writes a CommerceML 3.1 export in the folder-per-kind layout (groups, units,
//! propertiesGoods, priceLists, storages, goods segments, offers, prices, rests, contragents)
//! or a CommerceML 2.x export (`import.xml` + `offers.xml`), with the quirks of real 1C
//! exports (see `README.md` and `docs/architecture/20-1c-integration.md`), and returns a
//! [`Summary`]: the exact counts an importer following the rules must end up with.
//!
//! Output is a pure function of [`Options`]: the same options give byte-identical files.
//! Every file is streamed through a `BufWriter`; memory does not grow with the catalog size
//! beyond the group tree.

mod layout;
mod model;
mod num;
mod records;
mod rng;
mod summary;
mod v2x;
mod v31;
mod xml;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use summary::{ExampleCustomer, ExampleOffer, ExampleProduct, Summary};

/// CommerceML generation to write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// CommerceML 3.1, one folder per kind (layout 1 of the guide).
    #[default]
    V31,
    /// CommerceML 2.08: `import.xml` + `offers.xml`.
    V2x,
}

impl Format {
    /// `"3.1"` or `"2.x"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::V31 => "3.1",
            Format::V2x => "2.x",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// Accepts `3.1`, `3`, `2.x`, `2`, `2.08` (case-insensitive `x`).
    fn from_str(s: &str) -> Result<Format, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "3.1" | "3" | "v31" => Ok(Format::V31),
            "2.x" | "2" | "2.08" | "v2x" => Ok(Format::V2x),
            other => Err(format!(
                "unknown CommerceML format {other:?} (use 3.1 or 2.x)"
            )),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Number of products (goods records).
    pub products: usize,
    /// Number of customers (3.1 only; 2.x has no customer lists).
    pub customers: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// CommerceML generation and layout.
    pub format: Format,
    /// Products per goods segment file (3.1); 0 puts all goods in one segment.
    pub goods_per_segment: usize,
}

impl Default for Options {
    /// 1 000 products, 100 customers, seed 1, 3.1, 5 000 goods per segment.
    fn default() -> Options {
        Options {
            products: 1_000,
            customers: 100,
            seed: 1,
            format: Format::V31,
            goods_per_segment: 5_000,
        }
    }
}

/// Generates the export into `out` (created if missing) and returns its oracle.
///
/// Files this generation writes are overwritten. Files an earlier generation wrote that this
/// one does not (for example goods segments of a larger catalog, or the other format's files)
/// are removed, together with 3.1 kind folders left empty; only names this generator
/// produces are ever touched, anything else in `out` is left alone.
pub fn generate(opts: &Options, out: &Path) -> io::Result<Summary> {
    generate_with_progress(opts, out, &mut |_| {})
}

/// One file [`generate_with_progress`] has just written.
#[derive(Clone, Debug)]
pub struct FileWritten<'a> {
    /// The kind: its 3.1 folder (`goods`, `offers`, …) or the 2.x file (`import.xml`).
    pub kind: &'a str,
    /// The file, relative to the output folder.
    pub rel: &'a str,
    /// Its size.
    pub bytes: u64,
    /// Files of this kind written so far, and in all.
    pub done: usize,
    pub of: usize,
    /// Records written so far, all kinds together: products, offers, price rows, stock rows,
    /// customers.
    pub records: u64,
}

/// [`generate`], calling `on_file` after each file (for a progress display).
pub fn generate_with_progress(
    opts: &Options,
    out: &Path,
    on_file: &mut dyn FnMut(FileWritten<'_>),
) -> io::Result<Summary> {
    fs::create_dir_all(out)?;
    let plan = model::Plan::new(opts);
    let files = layout::files(&plan, opts);
    layout::remove_stale(out, &files)?;
    let kind_of = |rel: &str| rel.split('/').next().unwrap_or(rel).to_owned();
    let mut per_kind: std::collections::HashMap<String, (usize, usize)> = Default::default();
    for f in &files {
        per_kind.entry(kind_of(&f.rel)).or_default().1 += 1;
    }
    let mut cb = |f: &layout::FileSpec, s: &Summary| {
        let kind = kind_of(&f.rel);
        let entry = per_kind.entry(kind.clone()).or_default();
        entry.0 += 1;
        let bytes = fs::metadata(out.join(&f.rel)).map(|m| m.len()).unwrap_or(0);
        on_file(FileWritten {
            kind: &kind,
            rel: &f.rel,
            bytes,
            done: entry.0,
            of: entry.1,
            records: (s.products
                + s.variants
                + s.own_offers
                + s.price_rows
                + s.stock_rows
                + s.customers) as u64,
        });
    };
    let mut summary = Summary::new(opts.format);
    let write_file = match opts.format {
        Format::V31 => v31::write,
        Format::V2x => v2x::write,
    };
    records::write_files(
        &plan,
        opts.format,
        out,
        &files,
        &mut summary,
        &mut cb,
        write_file,
    )?;
    Ok(summary)
}

/// Breaks a generated export for "a broken goods file makes the catalog import fail" tests.
///
/// Truncates the first goods file of the export in `out` — `goods/goods_1_1_<guid>.xml` for
/// 3.1, `import.xml` for 2.x — in the middle of a `<Товар>` record: the second record when
/// the file has two or more (so a streaming reader has read one complete record first), else
/// the first. The cut falls mid-line on a UTF-8 character boundary, so the file stays valid
/// UTF-8 but is not well-formed XML (unclosed elements, no root end). Returns the path of the
/// truncated file. Fails with `NotFound` when there is no goods file and with `InvalidData`
/// when it holds no complete `<Товар>` record (for example when it was already broken).
/// [`generate`] into the same directory restores the file.
pub fn write_broken_goods(out: &Path) -> io::Result<PathBuf> {
    layout::write_broken_goods(out)
}
