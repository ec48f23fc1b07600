//! Values people of a business type where a list can't hold them, in chat (guided mode)
//! or on the dashboard's forms: a price, a length, a day's shifts, a day or a range of
//! days. Each parser accepts the usual ways of writing the value in Mexico and Colombia
//! and nothing else.

use crate::spanish::MONTHS;
use jiff::civil::{Date, Time};

/// Minor units as a form shows them back, for [`price`] to read again: "250", "250.50".
pub fn decimal(minor: i64) -> String {
    if minor % 100 == 0 {
        (minor / 100).to_string()
    } else {
        format!("{}.{:02}", minor / 100, (minor % 100).abs())
    }
}

/// A price in minor units: "250", "$250.50", "1,250", "35.000" (Colombian thousands).
pub fn price(text: &str) -> Option<i64> {
    let lower = text.trim().to_lowercase();
    let mut digits = lower.as_str();
    for noise in ["$", "mxn", "cop", "pesos", "peso"] {
        digits = digits
            .trim()
            .trim_start_matches(noise)
            .trim_end_matches(noise);
    }
    let digits = digits.trim();
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    // A separator before exactly one or two final digits is the decimal point; any
    // other separator groups thousands.
    let (whole, cents) = match digits.rfind(['.', ',']) {
        Some(at) if (1..=2).contains(&(digits.len() - at - 1)) => {
            (&digits[..at], &digits[at + 1..])
        }
        _ => (digits, ""),
    };
    let groups: Vec<&str> = whole.split(['.', ',']).collect();
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return None;
    }
    let whole: i64 = groups.concat().parse().ok()?;
    let cents: i64 = match cents.len() {
        0 => 0,
        1 => cents.parse::<i64>().ok()? * 10,
        _ => cents.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(cents)
}

/// A length in minutes: "45", "45 min", "1 hora", "1:30", "2 horas".
pub fn minutes(text: &str) -> Option<u32> {
    let lower = text.trim().to_lowercase();
    if let Some((h, m)) = lower.split_once(':') {
        let (h, m): (u32, u32) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
        return (m < 60).then_some(h * 60 + m);
    }
    let number_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let n: u32 = lower[..number_end].parse().ok()?;
    match lower[number_end..].trim() {
        "" | "m" | "min" | "mins" | "minuto" | "minutos" => Some(n),
        "h" | "hr" | "hrs" | "hora" | "horas" => n.checked_mul(60),
        _ => None,
    }
}

/// A day's shifts: "10 a 14 y 16 a 20", "10:00-14:00, 16:00-20:00", "9:30 a 7pm";
/// "cerrado" is none. Each shift must end after it starts.
pub fn shifts(text: &str) -> Option<Vec<(Time, Time)>> {
    let lower = text.trim().to_lowercase();
    if matches!(
        lower.as_str(),
        "cerrado" | "cerrada" | "cerramos" | "no abrimos"
    ) {
        return Some(Vec::new());
    }
    let spaced = lower.replace(',', " y ");
    let mut shifts = Vec::new();
    for part in spaced.split(" y ").map(str::trim).filter(|p| !p.is_empty()) {
        let part = part.trim_start_matches("de ");
        let (opens, closes) = part
            .split_once(" a ")
            .or_else(|| part.split_once('-'))
            .or_else(|| part.split_once('–'))?;
        let (opens, closes) = (clock(opens)?, clock(closes)?);
        if closes <= opens {
            return None;
        }
        shifts.push((opens, closes));
    }
    shifts.sort();
    let overlapping = shifts.windows(2).any(|w| w[1].0 < w[0].1);
    (!shifts.is_empty() && shifts.len() <= 4 && !overlapping).then_some(shifts)
}

/// "10", "10:30", "7pm", "7:30 pm", "19:00".
fn clock(text: &str) -> Option<Time> {
    let text = text.trim();
    let (text, afternoon) = match text.strip_suffix("pm") {
        Some(t) => (t.trim(), true),
        None => (text.strip_suffix("am").unwrap_or(text).trim(), false),
    };
    let (h, m) = text.split_once(':').unwrap_or((text, "0"));
    let (mut h, m): (i8, i8) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
    if afternoon && (1..12).contains(&h) {
        h += 12;
    }
    Time::new(h, m, 0, 0).ok()
}

/// A day or a range: "12/12", "12/12/2026", "14/04 al 20/04", "12 de diciembre",
/// "del 14 al 20 de abril". A date without a year is its next one from `today`.
pub fn days(text: &str, today: Date) -> Option<(Date, Date)> {
    let lower = text.trim().to_lowercase();
    let lower = lower.trim_start_matches("el ").trim_start_matches("del ");
    let (first, last) = match lower.split_once(" al ") {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (lower.trim(), lower.trim()),
    };
    let last = day(last, today, None)?;
    // "del 14 al 20 de abril": the first day takes the last one's month.
    let first = day(first, today, Some(last))?;
    let first = if first > last {
        first.checked_sub(jiff::Span::new().years(1)).ok()?
    } else {
        first
    };
    (first <= last && last.since(first).ok()?.get_days() <= 366).then_some((first, last))
}

fn day(text: &str, today: Date, month_of: Option<Date>) -> Option<Date> {
    let (d, m, y) = if text.contains('/') {
        let mut parts = text.split('/').map(|p| p.trim().parse::<i16>().ok());
        let (d, m) = (parts.next()??, parts.next()??);
        let y = parts.next().flatten();
        (d, m, y)
    } else {
        let (d, rest) = text.split_once(" de ").unwrap_or((text, ""));
        let d: i16 = d.trim().parse().ok()?;
        let m = match rest.trim() {
            "" => i16::from(month_of?.month()),
            name => MONTHS.iter().position(|m| *m == name)? as i16 + 1,
        };
        (d, m, None)
    };
    let (d, m) = (i8::try_from(d).ok()?, i8::try_from(m).ok()?);
    match y {
        Some(y) => Date::new(if y < 100 { 2000 + y } else { y }, m, d).ok(),
        None => {
            let this = Date::new(today.year(), m, d).ok()?;
            if this >= today {
                Some(this)
            } else {
                Date::new(today.year() + 1, m, d).ok()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    #[test]
    fn prices_as_people_write_them() {
        for (typed, minor) in [
            ("250", Some(25_000)),
            ("$250", Some(25_000)),
            ("250 pesos", Some(25_000)),
            ("$ 250.50", Some(25_050)),
            ("99,5", Some(9_950)),
            ("1,250", Some(125_000)),
            ("35.000", Some(3_500_000)),
            ("1.250.000 COP", Some(125_000_000)),
            ("0", Some(0)),
            ("doscientos", None),
            ("-5", None),
            ("12,34,5", None),
            ("", None),
            ("1234,567", None),
        ] {
            assert_eq!(price(typed), minor, "{typed}");
        }
    }

    #[test]
    fn lengths_in_minutes_or_hours() {
        for (typed, minutes_) in [
            ("45", Some(45)),
            ("45 min", Some(45)),
            ("1 hora", Some(60)),
            ("2 horas", Some(120)),
            ("1:30", Some(90)),
            ("1:75", None),
            ("media hora", None),
            ("45 segundos", None),
        ] {
            assert_eq!(minutes(typed), minutes_, "{typed}");
        }
    }

    #[test]
    fn shifts_split_or_closed() {
        assert_eq!(
            shifts("10 a 14 y 16 a 20"),
            Some(vec![
                (time(10, 0, 0, 0), time(14, 0, 0, 0)),
                (time(16, 0, 0, 0), time(20, 0, 0, 0))
            ])
        );
        assert_eq!(
            shifts("de 9:30 a 7pm"),
            Some(vec![(time(9, 30, 0, 0), time(19, 0, 0, 0))])
        );
        assert_eq!(
            shifts("16:00-20:00, 10:00-14:00").map(|s| s[0].0),
            Some(time(10, 0, 0, 0))
        );
        assert_eq!(shifts("Cerrado"), Some(vec![]));
        assert_eq!(shifts("14 a 10"), None);
        assert_eq!(shifts("10 a 15 y 14 a 18"), None, "overlapping");
        assert_eq!(shifts("todo el día"), None);
        assert_eq!(shifts("25 a 26"), None);
    }

    #[test]
    fn days_and_ranges_take_their_next_year() {
        let today = date(2026, 12, 7);
        assert_eq!(
            days("12/12", today),
            Some((date(2026, 12, 12), date(2026, 12, 12)))
        );
        assert_eq!(
            days("del 14 al 20 de abril", today),
            Some((date(2027, 4, 14), date(2027, 4, 20)))
        );
        assert_eq!(
            days("14/04 al 20/04", today),
            Some((date(2027, 4, 14), date(2027, 4, 20)))
        );
        assert_eq!(
            days("28/12 al 3/1", today),
            Some((date(2026, 12, 28), date(2027, 1, 3)))
        );
        assert_eq!(
            days("1 de diciembre", today),
            Some((date(2027, 12, 1), date(2027, 12, 1)))
        );
        assert_eq!(
            days("12/12/2026", today),
            Some((date(2026, 12, 12), date(2026, 12, 12)))
        );
        assert_eq!(days("31/02", today), None);
        assert_eq!(days("mañana", today), None);
        assert_eq!(days("12 de diciembrero", today), None);
    }
}
