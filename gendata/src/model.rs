//! The deterministic plan of an export: the classifier (groups, units, properties, price types,
//! warehouses), products and their offers, prices and stock per offer, customers.
//!
//! Nothing here is stored per product: [`Plan::product`] and [`Plan::offers_of`] recompute a
//! record from its own random sub-stream, so every file sees the same record and memory stays
//! flat for any catalog size. Only the group tree (about one group per 20 products) is kept.

use crate::Options;
use crate::rng::{Guid, Rng, tag};

/// Number of price types (Розничная, Мелкооптовая, Оптовая, Закупочная).
pub(crate) const PRICE_TYPES: usize = 4;
/// Number of warehouses.
pub(crate) const WAREHOUSES: usize = 3;

/// A unit of measure as 1C writes it (the OKEI code padded with a space).
pub(crate) struct Unit {
    pub code: &'static str,
    pub code_trim: &'static str,
    pub short: &'static str,
    pub full: &'static str,
    pub intl: &'static str,
    /// Stock in this unit may be fractional.
    pub fractional: bool,
}

pub(crate) const UNITS: [Unit; 5] = [
    Unit {
        code: "796 ",
        code_trim: "796",
        short: "шт",
        full: "Штука",
        intl: "PCE",
        fractional: false,
    },
    Unit {
        code: "715 ",
        code_trim: "715",
        short: "пар",
        full: "Пара (2 шт.)",
        intl: "NPR",
        fractional: false,
    },
    Unit {
        code: "778 ",
        code_trim: "778",
        short: "упак",
        // 1C pads some names to the field width.
        full: "Упаковка                                        ",
        intl: "NMP",
        fractional: false,
    },
    Unit {
        code: "166 ",
        code_trim: "166",
        short: "кг",
        full: "Килограмм",
        intl: "KGM",
        fractional: true,
    },
    Unit {
        code: "006 ",
        code_trim: "006",
        short: "м",
        full: "Метр",
        intl: "MTR",
        fractional: true,
    },
];

/// Value type of a goods property.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PropKind {
    Directory,
    Number,
    Text,
    Boolean,
}

impl PropKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            PropKind::Directory => "Справочник",
            PropKind::Number => "Число",
            PropKind::Text => "Строка",
            PropKind::Boolean => "Булево",
        }
    }
}

/// A goods property (propertiesGoods / Классификатор/Свойства).
pub(crate) struct Property {
    pub id: Guid,
    pub name: &'static str,
    pub kind: PropKind,
    /// `(ИдЗначения, Значение)` for directory properties.
    pub values: Vec<(Guid, &'static str)>,
}

pub(crate) const COLORS: [&str; 7] = [
    "Белый",
    "Чёрный",
    "Красный",
    "Синий",
    "Зелёный",
    "Жёлтый",
    "Серый",
];
const MATERIALS: [&str; 7] = [
    "Хлопок",
    "Полиэстер",
    "Нейлон",
    "Кожа",
    "Резина",
    "Сталь",
    "Алюминий",
];
const PROPERTIES: [(&str, PropKind); 5] = [
    ("Цвет", PropKind::Directory),
    ("Материал", PropKind::Directory),
    ("Вес (кг)", PropKind::Number),
    ("Бренд", PropKind::Text),
    ("Водонепроницаемость", PropKind::Boolean),
];
pub(crate) const PROP_COLOR: usize = 0;
pub(crate) const PROP_MATERIAL: usize = 1;
pub(crate) const PROP_WEIGHT: usize = 2;
pub(crate) const PROP_BRAND: usize = 3;
pub(crate) const PROP_WATERPROOF: usize = 4;

const PRICE_TYPE_NAMES: [&str; PRICE_TYPES] =
    ["Розничная", "Мелкооптовая", "Оптовая", "Закупочная"];
/// Percent of the retail price per price type.
const PRICE_FACTORS: [u64; PRICE_TYPES] = [100, 92, 85, 70];
const WAREHOUSE_NAMES: [&str; WAREHOUSES] = [
    "1 Центральный склад",
    "2 Склад Подольск",
    "3 Магазин на Тверской",
];

/// How a product's variants differ.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sizing {
    Clothes,
    Shoes,
    ColorOnly,
}

struct Noun {
    word: &'static str,
    adjectives: [&'static str; 2],
    sizing: Sizing,
    /// Index into [`UNITS`].
    unit: usize,
}

const NOUNS: [Noun; 16] = [
    Noun {
        word: "Мяч",
        adjectives: ["футбольный", "баскетбольный"],
        sizing: Sizing::ColorOnly,
        unit: 0,
    },
    Noun {
        word: "Кроссовки",
        adjectives: ["беговые", "трекинговые"],
        sizing: Sizing::Shoes,
        unit: 1,
    },
    Noun {
        word: "Куртка",
        adjectives: ["горнолыжная", "ветрозащитная"],
        sizing: Sizing::Clothes,
        unit: 0,
    },
    Noun {
        word: "Рюкзак",
        adjectives: ["туристический", "городской"],
        sizing: Sizing::ColorOnly,
        unit: 0,
    },
    Noun {
        word: "Шлем",
        adjectives: ["велосипедный", "горнолыжный"],
        sizing: Sizing::Clothes,
        unit: 0,
    },
    Noun {
        word: "Перчатки",
        adjectives: ["боксёрские", "вратарские"],
        sizing: Sizing::Clothes,
        unit: 1,
    },
    Noun {
        word: "Коврик",
        adjectives: ["для йоги", "туристический"],
        sizing: Sizing::ColorOnly,
        unit: 0,
    },
    Noun {
        word: "Гантели",
        adjectives: ["разборные", "неопреновые"],
        sizing: Sizing::ColorOnly,
        unit: 2,
    },
    Noun {
        word: "Лыжи",
        adjectives: ["беговые", "горные"],
        sizing: Sizing::ColorOnly,
        unit: 1,
    },
    Noun {
        word: "Ракетка",
        adjectives: ["теннисная", "для бадминтона"],
        sizing: Sizing::ColorOnly,
        unit: 0,
    },
    Noun {
        word: "Палатка",
        adjectives: ["двухместная", "трёхместная"],
        sizing: Sizing::ColorOnly,
        unit: 0,
    },
    Noun {
        word: "Футболка",
        adjectives: ["компрессионная", "хлопковая"],
        sizing: Sizing::Clothes,
        unit: 0,
    },
    Noun {
        word: "Носки",
        adjectives: ["трекинговые", "спортивные"],
        sizing: Sizing::Shoes,
        unit: 1,
    },
    Noun {
        word: "Верёвка",
        adjectives: ["альпинистская", "страховочная"],
        sizing: Sizing::ColorOnly,
        unit: 4,
    },
    Noun {
        word: "Блины",
        adjectives: ["обрезиненные", "чугунные"],
        sizing: Sizing::ColorOnly,
        unit: 3,
    },
    Noun {
        word: "Шорты",
        adjectives: ["беговые", "пляжные"],
        sizing: Sizing::Clothes,
        unit: 0,
    },
];
const BRANDS: [&str; 8] = [
    "Demix",
    "Nordway",
    "Outventure",
    "Torres",
    "Atemi",
    "Larsen",
    "Jögel",
    "Kampfer",
];
const CLOTHES_SIZES: [&str; 7] = ["XS", "S", "M", "L", "XL", "XXL", "3XL"];
const SHOE_SIZES: [&str; 11] = [
    "36", "37", "38", "39", "40", "41", "42", "43", "44", "45", "46",
];
const TOP_GROUPS: [&str; 12] = [
    "Зимние виды спорта",
    "Летние виды спорта",
    "Туризм",
    "Фитнес",
    "Единоборства",
    "Игровые виды спорта",
    "Велоспорт",
    "Плавание",
    "Бег",
    "Одежда",
    "Обувь",
    "Аксессуары",
];
const SUB_GROUPS: [&str; 20] = [
    "Мячи",
    "Лыжи и палки",
    "Палатки",
    "Рюкзаки",
    "Шлемы",
    "Перчатки",
    "Ракетки",
    "Коврики",
    "Гантели и блины",
    "Кроссовки",
    "Куртки",
    "Футболки",
    "Носки",
    "Скакалки",
    "Тренажёры",
    "Велосипеды",
    "Самокаты",
    "Коньки",
    "Клюшки",
    "Очки для плавания",
];
pub(crate) const COUNTRIES: [&str; 5] = ["КИТАЙ", "РОССИЯ", "ВЬЕТНАМ", "ТУРЦИЯ", "ИНДИЯ"];

/// A catalog group (category).
pub(crate) struct Group {
    pub id: Guid,
    pub name: String,
    pub children: Vec<usize>,
    pub parent: Option<usize>,
}

/// A price type (priceLists).
pub(crate) struct PriceType {
    pub id: Guid,
    pub name: &'static str,
}

/// A warehouse (storages).
pub(crate) struct Warehouse {
    pub id: Guid,
    pub name: &'static str,
}

/// One product of the catalog, recomputed on demand by [`Plan::product`].
pub(crate) struct Product {
    pub index: usize,
    pub id: Guid,
    pub deleted: bool,
    pub group: usize,
    pub unit: usize,
    pub name: String,
    pub brand: usize,
    pub color: usize,
    sizing: Sizing,
    /// Number of variants; 0 means the product has its own bare offer.
    pub variants: usize,
    /// The own offer is written as `<productGuid>#` (empty tail).
    pub empty_tail: bool,
    base_kop: u64,
}

impl Product {
    /// `SP000123`.
    pub(crate) fn article(&self) -> String {
        format!("SP{:06}", self.index)
    }
}

/// One offer record (a variant, a product's own offer, or an orphan whose product is in no
/// goods file).
pub(crate) struct Offer {
    pub product_id: Guid,
    pub char_id: Option<Guid>,
    /// Written as `<productGuid>#`.
    pub empty_tail: bool,
    /// The product is in a goods file, so an importer keeps this offer.
    pub known: bool,
    pub deleted: bool,
    pub name: String,
    pub size: Option<&'static str>,
    pub color: Option<&'static str>,
    /// `Вес коробки (кг)` characteristic: `Some(None)` is the "not filled" marker.
    pub box_weight: Option<Option<u64>>,
    pub unit: usize,
    /// Prices in kopecks per price type.
    pub prices: [u64; PRICE_TYPES],
    /// Stock in thousandths per warehouse.
    pub stock: [u64; WAREHOUSES],
}

impl Offer {
    /// The id exactly as written in the files.
    pub(crate) fn raw_id(&self) -> String {
        match (self.char_id, self.empty_tail) {
            (Some(c), _) => format!("{}#{}", self.product_id, c),
            (None, true) => format!("{}#", self.product_id),
            (None, false) => self.product_id.to_string(),
        }
    }

    /// The id an importer should store (`<productGuid>#` normalised to bare).
    pub(crate) fn normalized_id(&self) -> String {
        match self.char_id {
            Some(c) => format!("{}#{}", self.product_id, c),
            None => self.product_id.to_string(),
        }
    }

    pub(crate) fn is_variant(&self) -> bool {
        self.char_id.is_some()
    }
}

/// A customer (contragents).
pub(crate) struct Customer {
    pub id: Guid,
    pub deleted: bool,
    pub legal: bool,
    pub name: String,
    pub full_name: String,
    pub inn: String,
    pub kpp: Option<String>,
    pub okpo: Option<String>,
    pub account: String,
    pub bik: String,
    pub bank: &'static str,
    pub corr: String,
    pub zip: String,
    pub city: &'static str,
    pub street: &'static str,
    pub house: u64,
    pub email: String,
    pub phone: String,
}

const SURNAMES: [&str; 8] = [
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Соколов",
    "Лебедев",
    "Козлов",
];
const FIRST_NAMES: [&str; 6] = ["Иван", "Сергей", "Алексей", "Дмитрий", "Андрей", "Михаил"];
const PATRONYMICS: [&str; 5] = [
    "Иванович",
    "Сергеевич",
    "Петрович",
    "Алексеевич",
    "Николаевич",
];
const COMPANY_WORDS: [&str; 8] = [
    "Спорт-Лайн",
    "Атлет",
    "Вершина",
    "Олимп",
    "Бег & Ко",
    "Снежный барс",
    "Турист",
    "Динамо-Трейд",
];
const CITIES: [&str; 6] = [
    "Москва",
    "Санкт-Петербург",
    "Екатеринбург",
    "Новосибирск",
    "Казань",
    "Нижний Новгород",
];
const STREETS: [&str; 6] = [
    "ул. Ленина",
    "ул. Мира",
    "пр-т Победы",
    "ул. Садовая",
    "ул. Гагарина",
    "наб. Речная",
];
const BANKS: [&str; 4] = [
    "ПАО СБЕРБАНК",
    "БАНК ВТБ (ПАО)",
    "АО \"АЛЬФА-БАНК\"",
    "АО \"ТБанк\"",
];

/// The whole plan of one generation.
pub(crate) struct Plan {
    pub seed: u64,
    pub products: usize,
    pub customers: usize,
    pub catalog_id: Guid,
    pub date: String,
    pub groups: Vec<Group>,
    pub properties: Vec<Property>,
    pub price_types: Vec<PriceType>,
    pub warehouses: Vec<Warehouse>,
}

impl Plan {
    pub(crate) fn new(opts: &Options) -> Plan {
        let seed = opts.seed;
        let mut r = Rng::stream(seed, tag::CATALOG, 0, 0);
        let catalog_id = r.guid();
        let date = format!(
            "2026-{:02}-{:02}T{:02}:{:02}:{:02}",
            r.range(1, 12),
            r.range(1, 28),
            r.range(8, 22),
            r.below(60),
            r.below(60)
        );
        let properties = PROPERTIES
            .iter()
            .enumerate()
            .map(|(i, &(name, kind))| {
                let mut r = Rng::stream(seed, tag::PROPERTY, i as u64, 0);
                let id = r.guid();
                let list: &[&'static str] = match i {
                    PROP_COLOR => &COLORS,
                    PROP_MATERIAL => &MATERIALS,
                    _ => &[],
                };
                let values = list.iter().map(|v| (r.guid(), *v)).collect();
                Property {
                    id,
                    name,
                    kind,
                    values,
                }
            })
            .collect();
        let price_types = named(seed, tag::PRICE_TYPE, &PRICE_TYPE_NAMES, |id, name| {
            PriceType { id, name }
        });
        let warehouses = named(seed, tag::WAREHOUSE, &WAREHOUSE_NAMES, |id, name| {
            Warehouse { id, name }
        });
        Plan {
            seed,
            products: opts.products,
            customers: opts.customers,
            catalog_id,
            date,
            groups: build_groups(seed, (opts.products / 20).max(5)),
            properties,
            price_types,
            warehouses,
        }
    }

    /// Product `i` (0-based). Products 0–3 force the quirks every export should show:
    /// 0 has variants, 1 a bare own offer, 2 an own offer written `<guid>#`, 3 is deleted.
    pub(crate) fn product(&self, i: usize) -> Product {
        let mut r = Rng::stream(self.seed, tag::PRODUCT, i as u64, 0);
        let id = r.guid();
        let deleted = i == 3 || r.chance(10);
        let group = r.index(self.groups.len());
        let noun = r.pick(&NOUNS);
        let adjective = r.pick_str(&noun.adjectives);
        let brand = r.index(BRANDS.len());
        let color = r.index(COLORS.len());
        let letter = char::from(b'A' + r.below(26) as u8);
        let model = r.range(1000, 9999);
        let has_variants = match i {
            0 => true,
            1..=3 => false,
            _ => r.chance(300),
        };
        let variants = if has_variants {
            r.range(2, 5) as usize
        } else {
            0
        };
        // Colour-only variants carry the colour themselves; the others share the product's.
        let name = if variants > 0 && noun.sizing == Sizing::ColorOnly {
            format!(
                "{} {} {} {}{}",
                noun.word, adjective, BRANDS[brand], letter, model
            )
        } else {
            format!(
                "{} {} {} {}{}, {}",
                noun.word,
                adjective,
                BRANDS[brand],
                letter,
                model,
                COLORS[color].to_lowercase()
            )
        };
        let empty_tail = variants == 0 && (i == 2 || (i > 3 && r.chance(20)));
        // Retail price in kopecks: whole rubles mostly, sometimes .50 or .99.
        let rubles = r.range(150, 60_000);
        let kop = match r.below(10) {
            0..=6 => 0,
            7 | 8 => 50,
            _ => 99,
        };
        Product {
            index: i,
            id,
            deleted,
            group,
            unit: noun.unit,
            name,
            brand,
            color,
            sizing: noun.sizing,
            variants,
            empty_tail,
            base_kop: rubles * 100 + kop,
        }
    }

    /// The offers of product `p`, in file order.
    pub(crate) fn offers_of(&self, p: &Product) -> Vec<Offer> {
        if p.variants == 0 {
            let mut r = Rng::stream(self.seed, tag::OFFER_DATA, p.index as u64, 0);
            let deleted = p.index > 3 && r.chance(10);
            let (prices, stock) = self.offer_numbers(&mut r, p.base_kop, p.unit);
            return vec![Offer {
                product_id: p.id,
                char_id: None,
                empty_tail: p.empty_tail,
                known: true,
                deleted,
                name: p.name.clone(),
                size: None,
                color: None,
                box_weight: None,
                unit: p.unit,
                prices,
                stock,
            }];
        }
        let mut r = Rng::stream(self.seed, tag::VARIANT, p.index as u64, 0);
        let start_size = r.below(6) as usize;
        let start_color = p.color;
        (0..p.variants)
            .map(|j| {
                let mut d = Rng::stream(self.seed, tag::OFFER_DATA, p.index as u64, j as u64 + 1);
                let char_id = d.guid();
                // Product 0 always has a deleted second variant.
                let deleted = (p.index == 0 && j == 1) || d.chance(10);
                let (size, color) = match p.sizing {
                    Sizing::Clothes => (
                        Some(CLOTHES_SIZES[(start_size + j) % CLOTHES_SIZES.len()]),
                        COLORS[start_color],
                    ),
                    Sizing::Shoes => (
                        Some(SHOE_SIZES[(start_size + j) % SHOE_SIZES.len()]),
                        COLORS[start_color],
                    ),
                    Sizing::ColorOnly => (None, COLORS[(start_color + j) % COLORS.len()]),
                };
                let box_weight = match d.below(10) {
                    0 => Some(None),
                    1 | 2 => Some(Some(d.range(2, 250))),
                    _ => None,
                };
                // Variants cost up to 10 % more than the base.
                let base = p.base_kop + p.base_kop / 100 * d.below(11) / 50 * 50;
                let (prices, stock) = self.offer_numbers(&mut d, base, p.unit);
                let name = match size {
                    Some(s) => format!("{} ({}, {})", p.name, s, color.to_lowercase()),
                    None => format!("{} ({})", p.name, color.to_lowercase()),
                };
                Offer {
                    product_id: p.id,
                    char_id: Some(char_id),
                    empty_tail: false,
                    known: true,
                    deleted,
                    name,
                    size,
                    color: Some(color),
                    box_weight,
                    unit: p.unit,
                    prices,
                    stock,
                }
            })
            .collect()
    }

    /// The orphan offer written after product `i`, if any: an offer whose product is in no
    /// goods file (about 1 %, always one after product 0).
    pub(crate) fn orphan_after(&self, i: usize) -> Option<Offer> {
        let mut o = self.stray_offer(tag::ORPHAN, i, |r, variant| {
            let color = r.pick_str(&COLORS);
            variant.then_some(color)
        })?;
        o.name = format!(
            "Товар не из этого пакета {}",
            &o.product_id.to_string()[..8]
        );
        Some(o)
    }

    /// Calls `f` for every offer in file order: each product's offers, then the orphan
    /// written after it.
    pub(crate) fn for_each_offer<E>(
        &self,
        mut f: impl FnMut(Option<&Product>, &Offer) -> Result<(), E>,
    ) -> Result<(), E> {
        for i in 0..self.products {
            let p = self.product(i);
            for o in self.offers_of(&p) {
                f(Some(&p), &o)?;
            }
            if let Some(o) = self.orphan_after(i) {
                f(None, &o)?;
            }
        }
        Ok(())
    }

    /// A price or rest record for an offer id that exists nowhere, written after the
    /// `ordinal`-th offer (about 1 %, always after the first). `kind` is
    /// [`tag::PHANTOM_PRICE`] or [`tag::PHANTOM_REST`].
    pub(crate) fn phantom_after(&self, kind: u64, ordinal: usize) -> Option<Offer> {
        self.stray_offer(kind, ordinal, |_, _| None)
    }

    /// What orphans and phantoms share: an offer of a product that is in no goods file
    /// (`known: false`, no name), from the stream (`kind`, `ordinal`); `None` but for ordinal 0
    /// and about 1 % of the others. Draws, in this order: the product GUID, a characteristic
    /// GUID (1 in 500), the unit, the retail price, `color` (told whether the offer is a
    /// variant), prices and stock.
    fn stray_offer(
        &self,
        kind: u64,
        ordinal: usize,
        color: impl FnOnce(&mut Rng, bool) -> Option<&'static str>,
    ) -> Option<Offer> {
        let mut r = Rng::stream(self.seed, kind, ordinal as u64, 0);
        if !(ordinal == 0 || r.chance(10)) {
            return None;
        }
        let product_id = r.guid();
        let variant = r.chance(500);
        let char_id = variant.then(|| r.guid());
        let unit = r.index(UNITS.len());
        let base = r.range(200, 20_000) * 100;
        let color = color(&mut r, variant);
        let (prices, stock) = self.offer_numbers(&mut r, base, unit);
        Some(Offer {
            product_id,
            char_id,
            empty_tail: false,
            known: false,
            deleted: false,
            name: String::new(),
            size: None,
            color,
            box_weight: None,
            unit,
            prices,
            stock,
        })
    }

    /// Prices per price type (kopecks) and stock per warehouse (thousandths).
    fn offer_numbers(
        &self,
        r: &mut Rng,
        retail_kop: u64,
        unit: usize,
    ) -> ([u64; PRICE_TYPES], [u64; WAREHOUSES]) {
        let mut prices = [0; PRICE_TYPES];
        for (price, factor) in prices.iter_mut().zip(PRICE_FACTORS) {
            *price = if factor == 100 {
                retail_kop
            } else {
                // Rounded to 50 kopecks, like 1C price rounding rules.
                (retail_kop * factor / 100) / 50 * 50
            };
        }
        let mut stock = [0; WAREHOUSES];
        for q in stock.iter_mut() {
            *q = match r.below(10) {
                0..=2 => 0,
                3..=7 => r.range(1, 20) * 1000,
                _ => r.range(21, 500) * 1000,
            };
            if UNITS[unit].fractional && *q > 0 && r.chance(600) {
                *q += r.range(1, 999);
            }
        }
        (prices, stock)
    }

    /// Customer `i` (0-based); customer 1 is always deleted, customer 2 always an
    /// organisation whose name needs escaping (`&`, `"`).
    pub(crate) fn customer(&self, i: usize) -> Customer {
        let mut r = Rng::stream(self.seed, tag::CUSTOMER, i as u64, 0);
        let id = r.guid();
        let deleted = i == 1 || r.chance(10);
        let legal = r.chance(600) || i == 2;
        let (name, full_name, inn, kpp) = if legal {
            let word = if i == 2 {
                "Бег & Ко"
            } else {
                r.pick_str(&COMPANY_WORDS)
            };
            let n = r.range(1, 999);
            let inn = inn10(&mut r);
            let mut kpp = inn[..4].to_string();
            kpp.push_str("01001");
            (
                format!("ООО «{word} {n}»"),
                format!("Общество с ограниченной ответственностью \"{word} {n}\""),
                inn,
                Some(kpp),
            )
        } else {
            let person = format!(
                "{} {} {}",
                r.pick(&SURNAMES),
                r.pick(&FIRST_NAMES),
                r.pick(&PATRONYMICS)
            );
            (
                format!("ИП {person}"),
                format!("Индивидуальный предприниматель {person}"),
                inn12(&mut r),
                None,
            )
        };
        let okpo = legal.then(|| {
            let mut v = Vec::new();
            r.digits(8, &mut v);
            ascii(v)
        });
        let mut acc = b"40702810".to_vec();
        r.digits(12, &mut acc);
        let mut bik = b"04".to_vec();
        r.digits(7, &mut bik);
        let mut corr = b"30101810".to_vec();
        r.digits(9, &mut corr);
        corr.extend_from_slice(&bik[6..9]);
        let mut zip = vec![b'1' + r.below(6) as u8];
        r.digits(5, &mut zip);
        let phone = format!(
            "+7 9{:02} {:03}-{:02}-{:02}",
            r.below(100),
            r.below(1000),
            r.below(100),
            r.below(100)
        );
        Customer {
            id,
            deleted,
            legal,
            name,
            full_name,
            inn,
            kpp,
            okpo,
            account: ascii(acc),
            bik: ascii(bik),
            bank: r.pick_str(&BANKS),
            corr: ascii(corr),
            zip: ascii(zip),
            city: r.pick_str(&CITIES),
            street: r.pick_str(&STREETS),
            house: r.range(1, 150),
            email: format!("client{i}@example.ru"),
            phone,
        }
    }

    /// Manufacturer id of brand `b`.
    pub(crate) fn manufacturer_id(&self, b: usize) -> Guid {
        Rng::stream(self.seed, tag::MANUFACTURER, b as u64, 0).guid()
    }

    /// Brand name `b`.
    pub(crate) fn brand(b: usize) -> &'static str {
        BRANDS[b]
    }
}

/// One record per name of a fixed list (price types, warehouses), in list order; the GUID of
/// the `i`-th is the first of the stream (`seed`, `tag`, `i`).
fn named<T>(
    seed: u64,
    tag: u64,
    names: &[&'static str],
    make: impl Fn(Guid, &'static str) -> T,
) -> Vec<T> {
    names
        .iter()
        .enumerate()
        .map(|(i, &name)| make(Rng::stream(seed, tag, i as u64, 0).guid(), name))
        .collect()
}

fn ascii(v: Vec<u8>) -> String {
    // Only ASCII digits are ever pushed into these buffers.
    String::from_utf8(v).unwrap_or_default()
}

/// A 10-digit ИНН of an organisation with a valid check digit.
fn inn10(r: &mut Rng) -> String {
    const W: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
    let mut d: Vec<u32> = (0..9).map(|_| r.below(10) as u32).collect();
    if d[0] == 0 && d[1] == 0 {
        d[1] = 7;
    }
    let c = d.iter().zip(W).map(|(a, w)| a * w).sum::<u32>() % 11 % 10;
    d.push(c);
    d.iter().map(|x| char::from(b'0' + *x as u8)).collect()
}

/// A 12-digit ИНН of a person with valid check digits.
fn inn12(r: &mut Rng) -> String {
    const W1: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W2: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    let mut d: Vec<u32> = (0..10).map(|_| r.below(10) as u32).collect();
    if d[0] == 0 && d[1] == 0 {
        d[1] = 5;
    }
    let c1 = d.iter().zip(W1).map(|(a, w)| a * w).sum::<u32>() % 11 % 10;
    d.push(c1);
    let c2 = d.iter().zip(W2).map(|(a, w)| a * w).sum::<u32>() % 11 % 10;
    d.push(c2);
    d.iter().map(|x| char::from(b'0' + *x as u8)).collect()
}

/// A group tree of `n` groups, 2–3 levels deep: a few roots, then every other group hangs
/// under a random earlier group of depth 1 or 2 (group `roots` under root 0 and group
/// `roots + 1` under it, so both depths always exist).
fn build_groups(seed: u64, n: usize) -> Vec<Group> {
    let roots = (n / 8).clamp(2, TOP_GROUPS.len());
    let mut r = Rng::stream(seed, tag::GROUP, 0, 0);
    let mut groups: Vec<Group> = Vec::with_capacity(n);
    let mut depth: Vec<u8> = Vec::with_capacity(n);
    for i in 0..n {
        let id = Rng::stream(seed, tag::GROUP, i as u64 + 1, 0).guid();
        let (parent, d) = if i < roots {
            (None, 1)
        } else if i == roots {
            (Some(0), 2)
        } else if i == roots + 1 {
            (Some(roots), 3)
        } else {
            let mut p = r.index(i);
            if depth[p] == 3 {
                // Depth-3 groups are leaves: hang under their parent instead.
                p = groups[p].parent.unwrap_or(0);
            }
            (Some(p), depth[p] + 1)
        };
        let name = if i < roots {
            TOP_GROUPS.get(i).copied().unwrap_or("Каталог").to_string()
        } else {
            let base = SUB_GROUPS[r.index(SUB_GROUPS.len())];
            if i < roots + SUB_GROUPS.len() {
                base.to_string()
            } else {
                format!("{base} ({})", i - roots)
            }
        };
        if let Some(p) = parent {
            groups[p].children.push(i);
        }
        groups.push(Group {
            id,
            name,
            children: Vec::new(),
            parent,
        });
        depth.push(d);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inn_check_digits() {
        let mut r = Rng::stream(5, 5, 5, 5);
        for _ in 0..100 {
            assert_eq!(inn10(&mut r).len(), 10);
            assert_eq!(inn12(&mut r).len(), 12);
        }
        // Known valid ИНН: 7707083893 (ПАО Сбербанк).
        const W: [u32; 9] = [2, 4, 10, 3, 5, 9, 4, 6, 8];
        let d = [7, 7, 0, 7, 0, 8, 3, 8, 9];
        assert_eq!(
            d.iter().zip(W).map(|(a, w)| a * w).sum::<u32>() % 11 % 10,
            3
        );
    }

    #[test]
    fn group_tree_depth() {
        for n in [5, 6, 50, 5000] {
            let g = build_groups(1, n);
            assert_eq!(g.len(), n);
            let depth = |mut i: usize| {
                let mut d = 1;
                while let Some(p) = g[i].parent {
                    i = p;
                    d += 1;
                }
                d
            };
            let max = (0..n).map(depth).max().unwrap();
            assert_eq!(max, 3, "n = {n}");
        }
    }
}
