//! Russian number words, in one place for the server's messages, the pages and the generator.

/// The Russian plural form for `n`: `one` (1, 21 …), `few` (2–4, 22–24 …) or `many`.
pub fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (d10, d100) = (n % 10, n % 100);
    if d10 == 1 && d100 != 11 {
        one
    } else if (2..=4).contains(&d10) && !(12..=14).contains(&d100) {
        few
    } else {
        many
    }
}

/// `1234567` → `1 234 567`: groups of three with a no-break space, as Russian text writes them.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 2);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(ch);
    }
    out
}

/// `n` grouped, with its noun in the right form: «1 товар», «2 товара», «1 234 товара».
pub fn count_noun(n: u64, one: &str, few: &str, many: &str) -> String {
    format!("{} {}", thousands(n), plural(n, one, few, many))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_plurals_and_groups() {
        let forms = |n| plural(n, "товар", "товара", "товаров");
        for (n, want) in [
            (0, "товаров"),
            (1, "товар"),
            (2, "товара"),
            (4, "товара"),
            (5, "товаров"),
            (11, "товаров"),
            (12, "товаров"),
            (14, "товаров"),
            (21, "товар"),
            (22, "товара"),
            (25, "товаров"),
            (111, "товаров"),
            (1234, "товара"),
            (1001, "товар"),
        ] {
            assert_eq!(forms(n), want, "{n}");
        }
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1\u{a0}000");
        assert_eq!(thousands(1234567), "1\u{a0}234\u{a0}567");
        assert_eq!(
            count_noun(1234, "товар", "товара", "товаров"),
            "1\u{a0}234 товара"
        );
        assert_eq!(
            count_noun(56, "клиент", "клиента", "клиентов"),
            "56 клиентов"
        );
    }
}
