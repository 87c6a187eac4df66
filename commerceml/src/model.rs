//! The typed records a CommerceML file yields, the file kinds, and the file
//! header. Plain data: no behaviour beyond parsing offer ids and naming kinds.

use rust_decimal::Decimal;
use std::fmt;
use std::path::Path;

/// What one export file carries (decided from its content; name and folder are hints).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// 3.x `groups`: the group tree.
    Groups,
    /// 3.x `propertiesGoods`: product properties.
    PropertiesGoods,
    /// 3.x `propertiesOffers`: offer (variant) properties.
    PropertiesOffers,
    /// 3.x `priceLists`: price types.
    PriceLists,
    /// 3.x `storages`: warehouses.
    Storages,
    /// 3.x `units`: units of measure.
    Units,
    /// 3.x `goods`: products.
    Goods,
    /// 3.x `offers`: offers without prices or stock.
    Offers,
    /// 3.x `prices`: offers with `Цены`.
    Prices,
    /// 3.x `rests`: offers with `Остатки`.
    Rests,
    /// 3.x `contragents`: customers.
    Contragents,
    /// 2.x `import.xml`: classifier (groups, properties, maybe price types and
    /// warehouses) plus catalog (products).
    Import2x,
    /// 2.x `offers.xml`: price types, warehouses, offers with prices and stock.
    Offers2x,
}

impl Kind {
    /// All kinds, in import order.
    pub const ALL: [Kind; 13] = [
        Kind::Units,
        Kind::Storages,
        Kind::PriceLists,
        Kind::Groups,
        Kind::PropertiesGoods,
        Kind::PropertiesOffers,
        Kind::Import2x,
        Kind::Goods,
        Kind::Offers,
        Kind::Offers2x,
        Kind::Prices,
        Kind::Rests,
        Kind::Contragents,
    ];

    /// Position in import order: references point to earlier kinds
    /// (units, warehouses, price types, groups, properties, products, offers,
    /// prices, stock, customers).
    pub fn import_rank(self) -> usize {
        Kind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(usize::MAX)
    }

    /// The 3.x folder / file prefix (`goods`, `propertiesOffers` …); `import` /
    /// `offers` for the 2.x kinds.
    pub fn folder_name(self) -> &'static str {
        match self {
            Kind::Groups => "groups",
            Kind::PropertiesGoods => "propertiesGoods",
            Kind::PropertiesOffers => "propertiesOffers",
            Kind::PriceLists => "priceLists",
            Kind::Storages => "storages",
            Kind::Units => "units",
            Kind::Goods => "goods",
            Kind::Offers => "offers",
            Kind::Prices => "prices",
            Kind::Rests => "rests",
            Kind::Contragents => "contragents",
            Kind::Import2x => "import",
            Kind::Offers2x => "offers",
        }
    }

    /// Guesses a kind from a path alone (file name first, then folders).
    /// Only a hint: the content decides.
    pub fn hint_from_path(path: &Path) -> Option<Kind> {
        let stem = path.file_stem()?.to_str()?;
        let word = leading_word(stem);
        let folders: Vec<String> = path
            .parent()
            .into_iter()
            .flat_map(|p| p.components())
            .filter_map(|c| c.as_os_str().to_str().map(str::to_ascii_lowercase))
            .collect();
        let in_folder = |name: &str| folders.iter().rev().take(3).any(|f| f == name);
        match word.as_str() {
            "import" => {
                if in_folder("goods") {
                    Some(Kind::Goods)
                } else if in_folder("properties") {
                    Some(Kind::PropertiesGoods)
                } else {
                    Some(Kind::Import2x)
                }
            }
            "offers" if in_folder("goods") || in_folder("offers") => Some(Kind::Offers),
            "offers" => Some(Kind::Offers2x),
            other => kind_from_word(other).or_else(|| {
                folders
                    .iter()
                    .rev()
                    .filter(|f| {
                        f.as_str() != "import_files" && !f.chars().all(|c| c.is_ascii_digit())
                    })
                    .find_map(|f| kind_from_word(f))
            }),
        }
    }
}

fn leading_word(stem: &str) -> String {
    stem.chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn kind_from_word(word: &str) -> Option<Kind> {
    Some(match word {
        "groups" => Kind::Groups,
        "propertiesgoods" => Kind::PropertiesGoods,
        "propertiesoffers" => Kind::PropertiesOffers,
        "pricelists" => Kind::PriceLists,
        "storages" => Kind::Storages,
        "units" => Kind::Units,
        "goods" => Kind::Goods,
        "offers" => Kind::Offers,
        "prices" => Kind::Prices,
        "rests" => Kind::Rests,
        "contragents" => Kind::Contragents,
        _ => return None,
    })
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Import2x => f.write_str("import (2.x)"),
            Kind::Offers2x => f.write_str("offers (2.x)"),
            other => f.write_str(other.folder_name()),
        }
    }
}

/// The envelope of a file: root attributes and the `СодержитТолькоИзменения` flag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// `ВерсияСхемы`, e.g. `3.1` or `2.07` (empty when absent).
    pub schema_version: String,
    /// `ДатаФормирования` as written (e.g. `2026-11-20T21:25:39`).
    pub generated_at: Option<String>,
    /// `СодержитТолькоИзменения` on Каталог / Классификатор / ПакетПредложений /
    /// Контрагенты: the file carries changes only; anything absent stays as it is.
    pub only_changes: bool,
}

impl Header {
    /// `true` for CommerceML 2.x files (`ВерсияСхемы` 2.xx).
    pub fn is_2x(&self) -> bool {
        self.schema_version.trim().starts_with('2')
    }
}

/// A product group. Groups arrive flattened, parents before children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `Ид` of the enclosing group; `None` for a top-level group.
    pub parent_id: Option<String>,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// One value of a list (`Справочник`) property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PropertyValue {
    /// `ИдЗначения`.
    pub id: String,
    /// `Значение`.
    pub value: String,
}

/// A product or offer property (`Свойство`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `ТипЗначений`: `Строка`, `Число`, `Справочник`, `Булево` …
    pub value_type: Option<String>,
    /// The property belongs to offers (a `propertiesOffers` file or `ДляПредложений` = true).
    pub for_offers: bool,
    /// `ВариантыЗначений/Справочник(ИдЗначения, Значение)`.
    pub values: Vec<PropertyValue>,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// A price type (`ТипЦены`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceType {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `Валюта`.
    pub currency: Option<String>,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// A warehouse (`Склад`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warehouse {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// A unit of measure (`ЕдиницаИзмерения`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// `Ид`, trimmed; when it is blank (1C writes `"    "`), the trimmed `Код`.
    pub id: String,
    /// `Код` (OKEI code), trimmed.
    pub code: Option<String>,
    /// `НаименованиеКраткое`.
    pub short_name: Option<String>,
    /// `НаименованиеПолное`, trimmed.
    pub full_name: Option<String>,
}

/// A product (`Товар`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// `Ид`.
    pub id: String,
    /// `Артикул`.
    pub sku: Option<String>,
    /// `Наименование`.
    pub name: String,
    /// `Описание` (XML-unescaped; may contain HTML).
    pub description: Option<String>,
    /// `БазоваяЕдиница`: the OKEI code (the `Код` attribute in 2.x, else the text), trimmed.
    pub base_unit: Option<String>,
    /// `Группы/Ид`.
    pub group_ids: Vec<String>,
    /// `Штрихкод`.
    pub barcode: Option<String>,
    /// `Изготовитель/Наименование` (or its text).
    pub manufacturer: Option<String>,
    /// `ЗначенияСвойств/ЗначенияСвойства`: (property id, value or value id).
    /// One pair per `Значение`; an empty or "not filled" value gives `""`.
    pub properties: Vec<(String, String)>,
    /// `ЗначенияРеквизитов/ЗначениеРеквизита`: (name, value).
    pub requisites: Vec<(String, String)>,
    /// `Картинка` paths (relative to the file's folder, usually `import_files/…`).
    pub images: Vec<String>,
    /// `ПометкаУдаления` = true or `Статус` = `Удален`.
    pub deleted: bool,
}

/// An offer id: `product#characteristic` or a bare product id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfferId {
    /// The product `Ид` part.
    pub product_id: String,
    /// The characteristic part; `None` for `P`, `P#` and `P#<zero GUID>`.
    pub characteristic_id: Option<String>,
}

impl OfferId {
    /// Parses `P#C`, `P` or `P#` (trimmed). `None` when there is no product part.
    pub fn parse(s: &str) -> Option<OfferId> {
        let s = s.trim();
        let (product, characteristic) = match s.split_once('#') {
            Some((p, c)) => (p.trim(), Some(c.trim())),
            None => (s, None),
        };
        if product.is_empty() || crate::number::is_zero_guid(product) {
            return None;
        }
        let characteristic = characteristic
            .filter(|c| !c.is_empty() && !crate::number::is_zero_guid(c))
            .map(str::to_owned);
        Some(OfferId {
            product_id: product.to_owned(),
            characteristic_id: characteristic,
        })
    }
}

impl fmt::Display for OfferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.characteristic_id {
            Some(c) => write!(f, "{}#{}", self.product_id, c),
            None => f.write_str(&self.product_id),
        }
    }
}

/// One price of an offer (`Цены/Цена`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    /// `ИдТипаЦены`.
    pub price_type_id: String,
    /// `ЦенаЗаЕдиницу`, exact.
    pub value: Decimal,
    /// `Валюта`.
    pub currency: Option<String>,
    /// `Представление` as written (e.g. `6 990 руб`).
    pub presentation: Option<String>,
}

/// Stock of an offer in one warehouse, or its total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockEntry {
    /// Warehouse `Ид`; `None` for a bare total without a warehouse.
    pub warehouse_id: Option<String>,
    /// Quantity, exact (may be fractional or negative).
    pub quantity: Decimal,
}

/// An offer (`Предложение`): a sellable variant of a product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// `Ид`.
    pub id: OfferId,
    /// `Наименование`.
    pub name: Option<String>,
    /// `ХарактеристикиТовара/ХарактеристикаТовара`: (name, value); a "not filled" value gives `""`.
    pub characteristics: Vec<(String, String)>,
    /// `ЗначенияСвойств/ЗначенияСвойства`: (property id, value or value id).
    pub properties: Vec<(String, String)>,
    /// `Цены/Цена` (3.x `prices` files and 2.x offers).
    pub prices: Vec<Price>,
    /// Stock. Per-warehouse entries win over a bare total: a `warehouse_id: None`
    /// entry appears only when the record had no per-warehouse stock.
    pub stock: Vec<StockEntry>,
    /// The record carried stock information (`Остатки`, `Количество` or `Склад`),
    /// even if every entry was unusable.
    pub has_stock: bool,
    /// `ПометкаУдаления` = true or `Статус` = `Удален`.
    pub deleted: bool,
}

/// A postal address of a customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// The element it came from: `АдресРегистрации`, `ЮридическийАдрес`, `ФактическийАдрес`, `Адрес`.
    pub kind: String,
    /// `Представление`.
    pub presentation: Option<String>,
    /// `АдресноеПоле(Тип, Значение)`.
    pub fields: Vec<(String, String)>,
}

/// A customer's bank account (`РасчетныйСчет`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankAccount {
    /// `НомерСчета`.
    pub number: String,
    /// `Банк/Наименование`.
    pub bank_name: Option<String>,
    /// `Банк/БИК`.
    pub bik: Option<String>,
    /// `Банк/СчетКорреспондентский`.
    pub correspondent_account: Option<String>,
}

/// A customer (`Контрагент`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `ПолноеНаименование` or `ОфициальноеНаименование`.
    pub full_name: Option<String>,
    /// `Роль` (Покупатель …).
    pub role: Option<String>,
    /// `ИНН`.
    pub inn: Option<String>,
    /// `КПП`.
    pub kpp: Option<String>,
    /// `ОКПО` / `КодПоОКПО`.
    pub okpo: Option<String>,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// `Контакты/Контакт`: (type, value).
    pub contacts: Vec<(String, String)>,
    /// `РасчетныеСчета/РасчетныйСчет`.
    pub bank_accounts: Vec<BankAccount>,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// One record of any kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A product group.
    Group(Group),
    /// A property.
    Property(Property),
    /// A price type.
    PriceType(PriceType),
    /// A warehouse.
    Warehouse(Warehouse),
    /// A unit of measure.
    Unit(Unit),
    /// A product.
    Product(Product),
    /// An offer (with prices and/or stock depending on the file).
    Offer(Offer),
    /// A customer.
    Customer(Customer),
}

/// What the reader yields: a record, or a warning about one it could not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A usable record.
    Record(Record),
    /// A skipped or trimmed record.
    Warning(crate::Warning),
}
