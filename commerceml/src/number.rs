//! Tolerant readers for the scalar values 1C writes: decimals in machine or
//! Russian human format, the "not filled" marker, yes/no flags, the zero GUID.
//! Numbers never go through floating point.

use rust_decimal::Decimal;
use std::str::FromStr;

/// The all-zero GUID 1C writes for "no value".
pub const ZERO_GUID: &str = "00000000-0000-0000-0000-000000000000";

/// The outcome of reading a number field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Number {
    /// A value.
    Value(Decimal),
    /// Empty, or 1C's "not filled" marker `-999 999 999,9`.
    Empty,
    /// Not a number.
    Invalid,
}

/// `true` for the all-zero GUID.
pub fn is_zero_guid(s: &str) -> bool {
    s.trim() == ZERO_GUID
}

/// Normalizes a number into `out`: drops plain, no-break (U+00A0), narrow no-break
/// (U+202F) and thin (U+2009) spaces and apostrophes between digits, turns a
/// decimal comma into a dot. `None` when `out` overflows or a character
/// cannot be part of a number.
fn normalize<'a>(s: &str, out: &'a mut [u8; 64]) -> Option<&'a str> {
    let mut len = 0;
    for c in s.chars() {
        let b = match c {
            ' ' | '\t' | '\r' | '\n' | '\u{a0}' | '\u{202f}' | '\u{2009}' | '\'' => continue,
            ',' => b'.',
            c if c.is_ascii() => c as u8,
            _ => return None,
        };
        if len == out.len() {
            return None;
        }
        out[len] = b;
        len += 1;
    }
    // Only ASCII bytes were written.
    std::str::from_utf8(&out[..len]).ok()
}

/// Reads a decimal written by 1C: `6990`, `1234.50`, `2.000`, `21,6`,
/// `6 990` (any of the spaces above), `1e3`. Empty text and `-999 999 999,9`
/// give [`Number::Empty`].
pub fn parse_decimal(s: &str) -> Number {
    let mut buf = [0u8; 64];
    let Some(n) = normalize(s, &mut buf) else {
        return Number::Invalid;
    };
    if n.is_empty() {
        return Number::Empty;
    }
    if is_marker(n) {
        return Number::Empty;
    }
    let n = n.strip_prefix('+').unwrap_or(n);
    if let Ok(d) = Decimal::from_str(n) {
        return Number::Value(d);
    }
    if n.contains(['e', 'E'])
        && let Ok(d) = Decimal::from_scientific(n)
    {
        return Number::Value(d);
    }
    Number::Invalid
}

fn is_marker(normalized: &str) -> bool {
    let Some(rest) = normalized.strip_prefix("-999999999") else {
        return false;
    };
    matches!(rest, ".9" | ".90" | ".900")
}

/// `true` when a text value is 1C's "not filled" numeric marker
/// (`-999 999 999,9`, `-999999999.9` …).
pub fn is_not_filled(s: &str) -> bool {
    let s = s.trim();
    if !s.starts_with("-999") {
        return false;
    }
    let mut buf = [0u8; 64];
    normalize(s, &mut buf).is_some_and(is_marker)
}

/// Reads a 1C flag. `None` when the text is neither yes nor no.
pub fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") || s == "1" {
        return Some(true);
    }
    if s.eq_ignore_ascii_case("false") || s == "0" || s.is_empty() {
        return Some(false);
    }
    match s.to_lowercase().as_str() {
        "истина" | "да" => Some(true),
        "ложь" | "нет" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Number {
        Number::Value(Decimal::from_str(s).unwrap())
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("6990"), d("6990"));
        assert_eq!(parse_decimal(" 1234.50 "), d("1234.50"));
        assert_eq!(parse_decimal("21,6"), d("21.6"));
        assert_eq!(parse_decimal("6\u{a0}990,5"), d("6990.5"));
        assert_eq!(parse_decimal("1\u{202f}234\u{202f}567"), d("1234567"));
        assert_eq!(parse_decimal("1 234 567,25"), d("1234567.25"));
        assert_eq!(parse_decimal("+5"), d("5"));
        assert_eq!(parse_decimal("-2.5"), d("-2.5"));
        assert_eq!(parse_decimal("1e3"), d("1000"));
        assert_eq!(parse_decimal(""), Number::Empty);
        assert_eq!(parse_decimal("  "), Number::Empty);
        assert_eq!(parse_decimal("-999 999 999,9"), Number::Empty);
        assert_eq!(parse_decimal("-999\u{a0}999\u{a0}999,9"), Number::Empty);
        assert_eq!(parse_decimal("-999999999.9"), Number::Empty);
        assert_eq!(parse_decimal("abc"), Number::Invalid);
        assert_eq!(parse_decimal("12 руб"), Number::Invalid);
        assert_eq!(parse_decimal(&"9".repeat(100)), Number::Invalid);
        assert_eq!(parse_decimal("1.2.3"), Number::Invalid);
    }

    #[test]
    fn markers_and_flags() {
        assert!(is_not_filled("-999 999 999,9"));
        assert!(is_not_filled("-999999999.9"));
        assert!(!is_not_filled("-999"));
        assert!(!is_not_filled("8,2"));
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("Истина"), Some(true));
        assert_eq!(parse_bool(""), Some(false));
        assert_eq!(parse_bool("нет"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
        assert!(is_zero_guid(" 00000000-0000-0000-0000-000000000000 "));
        assert!(!is_zero_guid("1"));
    }
}
