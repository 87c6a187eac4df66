//! Number formatting the way 1C writes it: machine decimals with a dot (`6990`, `1234.50`,
//! `2.500`) and human presentations with a decimal comma and NO-BREAK SPACE thousands
//! (`6 990 руб`, `21,6`), plus the canonical form used by the oracle (`1234.5`).
//!
//! Money is kept in kopecks and quantities in thousandths, so nothing goes through floats.
use wire::text::thousands;

/// U+00A0 NO-BREAK SPACE, the thousands separator of 1C presentations.
pub(crate) const NBSP: char = '\u{a0}';

/// Machine price: `6990` for whole rubles, else two decimals `1234.50`.
pub(crate) fn price_machine(kop: u64) -> String {
    if kop.is_multiple_of(100) {
        (kop / 100).to_string()
    } else {
        format!("{}.{:02}", kop / 100, kop % 100)
    }
}

/// Human price: `6 990 руб`, `1 234,50 руб` (NBSP thousands, space before the currency).
pub(crate) fn price_human(kop: u64) -> String {
    let mut s = thousands(kop / 100);
    if !kop.is_multiple_of(100) {
        s.push(',');
        s.push_str(&format!("{:02}", kop % 100));
    }
    s.push_str(" руб");
    s
}

/// Machine quantity from thousandths: `12` for whole numbers, else three decimals `2.500`.
pub(crate) fn qty_machine(milli: u64) -> String {
    if milli.is_multiple_of(1000) {
        (milli / 1000).to_string()
    } else {
        format!("{}.{:03}", milli / 1000, milli % 1000)
    }
}

/// Canonical decimal with `scale` fractional digits and trailing zeros trimmed:
/// `canonical(123450, 2)` = `1234.5`, `canonical(700, 2)` = `7`.
pub(crate) fn canonical(v: u64, scale: u32) -> String {
    canonical_u128(u128::from(v), scale)
}

/// [`canonical`] for sums that may exceed `u64`.
pub(crate) fn canonical_u128(v: u128, scale: u32) -> String {
    let div = 10u128.pow(scale);
    let int = v / div;
    let mut frac = v % div;
    if frac == 0 {
        return int.to_string();
    }
    let mut digits = scale as usize;
    while frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    format!("{int}.{frac:0digits$}")
}

/// Human one-decimal number from tenths: `47,1`, `1 250,0`.
pub(crate) fn tenths_human(tenths: u64) -> String {
    format!("{},{}", thousands(tenths / 10), tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(price_machine(699_000), "6990");
        assert_eq!(price_machine(123_450), "1234.50");
        assert_eq!(price_human(699_000), "6\u{a0}990 руб");
        assert_eq!(price_human(123_450), "1\u{a0}234,50 руб");
        assert_eq!(price_human(99_00), "99 руб");
        assert_eq!(thousands(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(qty_machine(12_000), "12");
        assert_eq!(qty_machine(2_500), "2.500");
        assert_eq!(canonical(123_450, 2), "1234.5");
        assert_eq!(canonical(700, 2), "7");
        assert_eq!(canonical(2_050, 3), "2.05");
        assert_eq!(canonical(0, 3), "0");
        assert_eq!(tenths_human(471), "47,1");
    }
}
