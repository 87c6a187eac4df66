//! Interned CommerceML element and attribute names.
//!
//! The reader matches every element on its local name (namespace prefixes are
//! ignored). Turning a name into a small `Tag` once per element keeps the hot
//! path free of string comparisons later on.

macro_rules! tags {
    ($($variant:ident => $name:literal,)*) => {
        /// A known CommerceML local name; everything else is [`Tag::Other`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Tag {
            $($variant,)*
            Other,
        }

        impl Tag {
            /// Looks up a local name.
            #[inline]
            pub(crate) fn from_name(name: &str) -> Tag {
                // Every CommerceML name is Cyrillic, so ASCII names (namespaces,
                // `xmlns`, `xsi:…`) are rejected with one byte check.
                if name.as_bytes().first().is_none_or(|b| b.is_ascii()) {
                    return Tag::Other;
                }
                match name {
                    $($name => Tag::$variant,)*
                    _ => Tag::Other,
                }
            }

            /// The canonical Cyrillic spelling (`""` for [`Tag::Other`]).
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $(Tag::$variant => $name,)*
                    Tag::Other => "",
                }
            }
        }
    };
}

tags! {
    Root => "КоммерческаяИнформация",
    Classifier => "Классификатор",
    Catalog => "Каталог",
    OfferPackage => "ПакетПредложений",
    OfferPackageChanges => "ИзмененияПакетаПредложений",
    Counterparties => "Контрагенты",
    Counterparty => "Контрагент",
    Groups => "Группы",
    Group => "Группа",
    Properties => "Свойства",
    Property => "Свойство",
    PropertyNom => "СвойствоНоменклатуры",
    PriceTypes => "ТипыЦен",
    PriceType => "ТипЦены",
    Warehouses => "Склады",
    Warehouse => "Склад",
    Units => "ЕдиницыИзмерения",
    Unit => "ЕдиницаИзмерения",
    Products => "Товары",
    Product => "Товар",
    Offers => "Предложения",
    Offer => "Предложение",
    Id => "Ид",
    Name => "Наименование",
    DeletionMark => "ПометкаУдаления",
    Status => "Статус",
    ValueType => "ТипЗначений",
    ValueVariants => "ВариантыЗначений",
    Dictionary => "Справочник",
    ValueId => "ИдЗначения",
    Value => "Значение",
    ForOffers => "ДляПредложений",
    Currency => "Валюта",
    Code => "Код",
    ShortName => "НаименованиеКраткое",
    FullName => "НаименованиеПолное",
    Sku => "Артикул",
    Description => "Описание",
    BaseUnit => "БазоваяЕдиница",
    Barcode => "Штрихкод",
    Manufacturer => "Изготовитель",
    Image => "Картинка",
    PropertyValues => "ЗначенияСвойств",
    PropertyValue => "ЗначенияСвойства",
    Requisites => "ЗначенияРеквизитов",
    Requisite => "ЗначениеРеквизита",
    Characteristics => "ХарактеристикиТовара",
    Characteristic => "ХарактеристикаТовара",
    Prices => "Цены",
    Price => "Цена",
    Presentation => "Представление",
    PriceTypeId => "ИдТипаЦены",
    PricePerUnit => "ЦенаЗаЕдиницу",
    Rests => "Остатки",
    Rest => "Остаток",
    Quantity => "Количество",
    WarehouseId => "ИдСклада",
    WarehouseQuantity => "КоличествоНаСкладе",
    SchemaVersion => "ВерсияСхемы",
    GeneratedAt => "ДатаФормирования",
    OnlyChanges => "СодержитТолькоИзменения",
    OrgFullName => "ПолноеНаименование",
    OfficialName => "ОфициальноеНаименование",
    Role => "Роль",
    Inn => "ИНН",
    Kpp => "КПП",
    Okpo => "ОКПО",
    OkpoCode => "КодПоОКПО",
    RegistrationAddress => "АдресРегистрации",
    LegalAddress => "ЮридическийАдрес",
    ActualAddress => "ФактическийАдрес",
    Address => "Адрес",
    AddressField => "АдресноеПоле",
    Type => "Тип",
    Contacts => "Контакты",
    Contact => "Контакт",
    BankAccounts => "РасчетныеСчета",
    BankAccount => "РасчетныйСчет",
    AccountNumber => "НомерСчета",
    Bank => "Банк",
    Bik => "БИК",
    CorrAccount => "СчетКорреспондентский",
    Representatives => "Представители",
}

#[cfg(test)]
mod tests {
    use super::Tag;

    #[test]
    fn round_trip() {
        for tag in [
            Tag::Root,
            Tag::Id,
            Tag::WarehouseQuantity,
            Tag::Representatives,
        ] {
            assert_eq!(Tag::from_name(tag.as_str()), tag);
        }
        assert_eq!(Tag::from_name("xmlns"), Tag::Other);
        assert_eq!(Tag::from_name(""), Tag::Other);
        assert_eq!(Tag::from_name("Страна"), Tag::Other);
        assert_eq!(Tag::Other.as_str(), "");
    }
}
