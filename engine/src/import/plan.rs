//! Which files an import reads: discovery filtered by kind, or the one file the caller named
//! (which must lie inside the data folder), and the Russian messages when they are missing; and
//! which of their records it applies ([`Parts`]) and which tables it counts.
use std::path::{Path, PathBuf};

use commerceml::{ErrorKind, ExportFile, Kind, SkippedFile};

use super::{FileType, ImportError, ImportRequest};
use crate::kinds::ImportKind;

/// What an import reads and how its absence is reported.
pub(crate) struct Selection {
    /// Kinds of files this import reads.
    pub accepted: &'static [Kind],
    /// At least one file of these kinds must exist.
    pub required: &'static [Kind],
    /// «Файл остатков» …: the subject of the «не найден» message.
    pub what: &'static str,
    /// The folder where the files are expected, under the data folder.
    pub folder: &'static str,
}

/// The classifier kinds and goods: `Kind::ALL` up to and including `Goods` (checked at compile
/// time, as the import order puts every classifier kind before the goods).
const CLASSIFIER_AND_GOODS: &[Kind] = match Kind::ALL.split_at(8) {
    (head @ [.., Kind::Import2x, Kind::Goods], _) => head,
    _ => panic!("Kind::ALL must list the classifier kinds, then Import2x and Goods"),
};
/// Every kind but customers, in import order (checked at compile time: `Kind::ALL` ends with
/// `Contragents`).
const CATALOG_ALL: &[Kind] = match Kind::ALL.split_last() {
    Some((Kind::Contragents, rest)) => rest,
    _ => panic!("Kind::ALL must end with Contragents"),
};
const GOODS: &[Kind] = &[Kind::Goods, Kind::Import2x];
const OFFERS: &[Kind] = &[Kind::Offers, Kind::Offers2x];
const PRICES: &[Kind] = &[Kind::PriceLists, Kind::Prices, Kind::Offers2x];
const PRICES_REQUIRED: &[Kind] = &[Kind::Prices, Kind::Offers2x];
const RESTS: &[Kind] = &[Kind::Storages, Kind::Rests, Kind::Offers2x];
const RESTS_REQUIRED: &[Kind] = &[Kind::Rests, Kind::Offers2x];
const CUSTOMERS: &[Kind] = &[Kind::Contragents];

impl Selection {
    pub(crate) fn of(req: &ImportRequest) -> Selection {
        let catalog = |accepted| Selection {
            accepted,
            required: GOODS,
            what: "Файл каталога",
            folder: "goods",
        };
        let prices = Selection {
            accepted: PRICES,
            required: PRICES_REQUIRED,
            what: "Файл цен",
            folder: "prices",
        };
        let rests = Selection {
            accepted: RESTS,
            required: RESTS_REQUIRED,
            what: "Файл остатков",
            folder: "rests",
        };
        match req.kind {
            ImportKind::Catalog => match req.file_type {
                FileType::All => catalog(CATALOG_ALL),
                FileType::Goods => catalog(CLASSIFIER_AND_GOODS),
                FileType::Offers => Selection {
                    accepted: OFFERS,
                    required: OFFERS,
                    what: "Файл предложений",
                    folder: "offers",
                },
                FileType::Prices => prices,
                FileType::Rests => rests,
            },
            ImportKind::Stocks => rests,
            ImportKind::Prices => prices,
            ImportKind::Customers => Selection {
                accepted: CUSTOMERS,
                required: CUSTOMERS,
                what: "Файл клиентов",
                folder: "contragents",
            },
        }
    }

    /// Whether a file discovery could not read is one this import would have read: named (by
    /// its folder or name under the data folder) like a kind it reads, or named like no kind
    /// but broken after a CommerceML start (a DTD, a cut, bad bytes …). A well-formed XML file
    /// of another kind of document, like `notes.xml` at the top, or a CommerceML file without
    /// any list to tell its kind, is not.
    fn would_read(&self, root: &Path, file: &SkippedFile) -> bool {
        let rel = file.path.strip_prefix(root).unwrap_or(&file.path);
        match Kind::hint_from_path(rel) {
            Some(kind) => self.accepted.contains(&kind),
            None => !matches!(
                file.error.kind(),
                ErrorKind::WrongRoot(_)
                    | ErrorKind::NotXml
                    | ErrorKind::Empty
                    | ErrorKind::Io(_)
                    | ErrorKind::UnknownKind
            ),
        }
    }

    fn not_found(&self, path: &Path, dir: &Path) -> ImportError {
        ImportError::MissingFiles(format!(
            "{} не найден: {}. Убедитесь, что данные из 1С выгружены в {}",
            self.what,
            path.display(),
            dir.display()
        ))
    }
}

/// Files this import would read, in import order, checked before a run starts.
///
/// Without [`ImportRequest::file`] the data folder is discovered and its files of the kinds
/// this import reads are kept; when none of the required kinds is there the error is
/// «Файл остатков не найден: {dir}/rests. Убедитесь, что данные из 1С выгружены в {dir}»
/// (likewise «Файл каталога …» with `goods`, «Файл цен …» with `prices`, «Файл клиентов …» with
/// `contragents`, «Файл предложений …» with `offers`). An `.xml` file this import would read
/// (see `Selection::would_read`) that cannot be read as CommerceML — empty, not XML, wrongly
/// rooted, cut before its first record, with a DTD … — fails the plan with its
/// [`ImportError::Parse`] error (naming the file and position) rather than being left out
/// silently. With a `file`, that file alone is read:
/// it must exist, resolve (symbolic links included) inside the data folder, and be of a kind
/// this import reads.
pub fn plan(req: &ImportRequest) -> Result<Vec<ExportFile>, ImportError> {
    let sel = Selection::of(req);
    let dir = &req.data_dir;
    match &req.file {
        Some(file) => one_file(&sel, dir, file),
        None => {
            let expected = dir.join(sel.folder);
            let package = commerceml::scan(dir).map_err(|_| sel.not_found(&expected, dir))?;
            let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            if let Some(broken) = package
                .skipped
                .into_iter()
                .find(|f| sel.would_read(&root, f))
            {
                return Err(ImportError::Parse(broken.error));
            }
            let files: Vec<ExportFile> = package
                .files
                .into_iter()
                .filter(|f| sel.accepted.contains(&f.kind))
                .collect();
            if !files.iter().any(|f| sel.required.contains(&f.kind)) {
                return Err(sel.not_found(&expected, dir));
            }
            Ok(files)
        }
    }
}

fn one_file(sel: &Selection, dir: &Path, file: &Path) -> Result<Vec<ExportFile>, ImportError> {
    let path: PathBuf = if file.is_absolute() {
        file.to_path_buf()
    } else {
        dir.join(file)
    };
    let meta = std::fs::metadata(&path).map_err(|_| sel.not_found(&path, dir))?;
    if !meta.is_file() {
        return Err(sel.not_found(&path, dir));
    }
    let root = std::fs::canonicalize(dir).map_err(|_| sel.not_found(&path, dir))?;
    let real = std::fs::canonicalize(&path).map_err(|_| sel.not_found(&path, dir))?;
    if !real.starts_with(&root) {
        return Err(ImportError::MissingFiles(format!(
            "Файл {} находится вне каталога выгрузки {} (с учётом символических ссылок): \
             импорт читает только файлы из каталога выгрузки",
            path.display(),
            dir.display()
        )));
    }
    let export = commerceml::inspect(&real)?;
    let kind = export.kind;
    if !sel.accepted.contains(&kind) {
        return Err(ImportError::MissingFiles(format!(
            "{} не найден: {} — это файл другого вида («{kind}»). Убедитесь, что данные из 1С \
             выгружены в {}",
            sel.what,
            path.display(),
            dir.display()
        )));
    }
    Ok(vec![export])
}

/// [`plan`] on a thread of tokio's blocking pool: it opens and parses the beginning of every
/// file of the folder, which on an async worker would hold up every other request of the server
/// (and, with two starts at once, all of them) while a large folder is read.
pub async fn plan_blocking(req: &ImportRequest) -> Result<Vec<ExportFile>, ImportError> {
    let req = req.clone();
    tokio::task::spawn_blocking(move || plan(&req))
        .await
        .map_err(|e| ImportError::Thread(e.to_string()))?
}

/// Tables whose row counts give `created` (and, with the rows written, `updated`).
pub(crate) const COUNTED_TABLES: [&str; 10] = [
    "categories",
    "units",
    "properties",
    "products",
    "offers",
    "price_types",
    "warehouses",
    "prices",
    "stocks",
    "customers",
];

/// Which records an import applies; the others are read and ignored.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Parts {
    /// Groups, units, properties.
    pub classifier: bool,
    /// Price type definitions.
    pub price_types: bool,
    /// Warehouse definitions.
    pub warehouses: bool,
    /// Products.
    pub products: bool,
    /// Offers in offers files (and 2.x offers) define offers.
    pub offers: bool,
    /// Prices of offers.
    pub prices: bool,
    /// Stock of offers.
    pub stock: bool,
    /// Customers.
    pub customers: bool,
}

impl Parts {
    pub(crate) fn of(req: &ImportRequest) -> Parts {
        let prices = Parts {
            price_types: true,
            prices: true,
            ..Parts::default()
        };
        let stock = Parts {
            warehouses: true,
            stock: true,
            ..Parts::default()
        };
        match req.kind {
            ImportKind::Catalog => match req.file_type {
                FileType::All => Parts {
                    classifier: true,
                    price_types: true,
                    warehouses: true,
                    products: true,
                    offers: true,
                    prices: true,
                    stock: true,
                    customers: false,
                },
                FileType::Goods => Parts {
                    classifier: true,
                    price_types: true,
                    warehouses: true,
                    products: true,
                    ..Parts::default()
                },
                FileType::Offers => Parts {
                    offers: true,
                    ..Parts::default()
                },
                FileType::Prices => prices,
                FileType::Rests => stock,
            },
            ImportKind::Stocks => stock,
            ImportKind::Prices => prices,
            ImportKind::Customers => Parts {
                customers: true,
                ..Parts::default()
            },
        }
    }

    /// The [`COUNTED_TABLES`] this import can add rows to (a superset): only they are counted
    /// for `created`, so that, say, a customers import does not scan the prices table twice.
    pub(crate) fn counted_tables(self) -> Vec<&'static str> {
        let offers = self.products || self.offers || self.prices || self.stock;
        COUNTED_TABLES
            .into_iter()
            .filter(|&t| match t {
                "categories" | "units" | "properties" => self.classifier,
                "price_types" => self.price_types,
                "warehouses" => self.warehouses || self.stock,
                "products" => self.products,
                "offers" => offers,
                "prices" => self.prices,
                "stocks" => self.stock,
                "customers" => self.customers,
                // A table added to COUNTED_TABLES without a rule here is always counted.
                _ => true,
            })
            .collect()
    }

    pub(crate) fn needs_catalog_maps(self) -> bool {
        self.classifier
            || self.price_types
            || self.warehouses
            || self.products
            || self.offers
            || self.prices
            || self.stock
    }
}
