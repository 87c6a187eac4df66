//! Formatting that pages need, as plain functions (tested on the host).

pub use wire::text::{plural, thousands};

/// The monitor's «Длительность»: «35 сек» under a minute, «2.1 мин» under an hour, «1.5 ч» above.
pub fn duration_text(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 60 {
        format!("{s} сек")
    } else if s < 3600 {
        format!("{:.1} мин", s as f64 / 60.0)
    } else {
        format!("{:.1} ч", s as f64 / 3600.0)
    }
}

/// Seconds between two RFC 3339 instants, if both parse.
pub fn seconds_between(start: &str, end: &str) -> Option<i64> {
    Some(parse_rfc3339(end)? - parse_rfc3339(start)?)
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp (`2026-11-25T10:00:00.123+00:00`,
/// `…Z`). Hand-written so the browser bundle needs no date library.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let oh = rest.get(1..3)?.parse::<i64>().ok()?;
            let om = rest.get(4..6)?.parse::<i64>().ok()?;
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-25T10:04:05+00:00` → `25.11.2026 10:04:05` in the browser's time zone (UTC on the host).
pub fn datetime_text(rfc3339: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
        if !d.get_time().is_nan() {
            return format!(
                "{:02}.{:02}.{} {:02}:{:02}:{:02}",
                d.get_date(),
                d.get_month() + 1,
                d.get_full_year(),
                d.get_hours(),
                d.get_minutes(),
                d.get_seconds()
            );
        }
    }
    match parse_rfc3339(rfc3339) {
        Some(t) => {
            let days = t.div_euclid(86_400);
            let secs = t.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            format!(
                "{d:02}.{m:02}.{y} {:02}:{:02}:{:02}",
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            )
        }
        None => rfc3339.to_owned(),
    }
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Percent done, 0–100, for a progress bar.
pub fn percent(processed: i64, total: i64) -> u8 {
    if total <= 0 {
        return 0;
    }
    (processed.clamp(0, total) * 100 / total) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_the_monitor() {
        assert_eq!(duration_text(35), "35 сек");
        assert_eq!(duration_text(126), "2.1 мин");
        assert_eq!(duration_text(5400), "1.5 ч");
        assert_eq!(duration_text(-3), "0 сек");
    }

    #[test]
    fn rfc3339_parses_with_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-25T10:00:00.123456+00:00"),
            Some(1_795_600_800)
        );
        assert_eq!(
            parse_rfc3339("2026-11-25T13:00:00+03:00"),
            Some(1_795_600_800)
        );
        assert_eq!(
            parse_rfc3339("2026-11-25T07:30:00-02:30"),
            Some(1_795_600_800)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-11-25T10:00:00?"), None);
        assert_eq!(
            seconds_between("2026-11-25T10:00:00Z", "2026-11-25T10:02:06Z"),
            Some(126)
        );
    }

    #[test]
    fn datetimes_print_day_first() {
        assert_eq!(
            datetime_text("2026-11-25T10:04:05.5+00:00"),
            "25.11.2026 10:04:05"
        );
        assert_eq!(datetime_text("2024-02-29T23:59:59Z"), "29.02.2024 23:59:59");
        assert_eq!(datetime_text("garbage"), "garbage");
    }

    #[test]
    fn percent_of_a_progress_bar() {
        assert_eq!(percent(50, 200), 25);
        assert_eq!(percent(5, 0), 0);
        assert_eq!(percent(300, 200), 100);
    }
}
