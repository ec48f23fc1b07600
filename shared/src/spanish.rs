//! How the fleet words things for people, in Spanish: dates, times and prices in the
//! organization's zone and currency, and the text/template pair that carries a message
//! when the recipient's 24-hour window is closed.
//!
//! Templates (approved per business in Meta, named as in the product brief):
//! `appointment_reminder`, `appointment_confirmation`, `appointment_cancelled`,
//! `review_request`, and `staff_notice` (one parameter: the notice on one line) for staff
//! and owner.

use crate::contracts::outbound::{Message, Parameter, Template};
use jiff::{Timestamp, tz::TimeZone};

/// Weekday names, Monday first (ISO weekday − 1).
pub const WEEKDAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];
const MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// "martes 14 de octubre, 10:30" in `tz`.
pub fn when(at: Timestamp, tz: &TimeZone) -> String {
    let local = at.to_zoned(tz.clone());
    format!(
        "{} {} de {}, {}",
        WEEKDAYS[local.weekday().to_monday_zero_offset() as usize],
        local.day(),
        MONTHS[local.month() as usize - 1],
        clock(at, tz)
    )
}

/// "10:30" in `tz`.
pub fn clock(at: Timestamp, tz: &TimeZone) -> String {
    let local = at.to_zoned(tz.clone());
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// "lunes 7 de diciembre" for a local date.
pub fn day(date: jiff::civil::Date) -> String {
    format!(
        "{} {} de {}",
        WEEKDAYS[date.weekday().to_monday_zero_offset() as usize],
        date.day(),
        MONTHS[date.month() as usize - 1]
    )
}

/// "Miércoles 30 sep": a local date short enough for a list row's title.
pub fn short_day(date: jiff::civil::Date) -> String {
    let weekday = WEEKDAYS[date.weekday().to_monday_zero_offset() as usize];
    let mut title: String = weekday
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .collect();
    title.extend(weekday.chars().skip(1));
    let month: String = MONTHS[date.month() as usize - 1].chars().take(3).collect();
    format!("{title} {} {month}", date.day())
}

/// "$250 MXN", "$1,250.50 MXN": an amount in minor units (centavos).
pub fn price(minor: i64, currency: &str) -> String {
    let units = minor / 100;
    let cents = (minor % 100).abs();
    let digits = units.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if minor < 0 { "-" } else { "" };
    if cents == 0 {
        format!("{sign}${grouped} {currency}")
    } else {
        format!("{sign}${grouped}.{cents:02} {currency}")
    }
}

/// Meta's template language for an organization locale: `es_MX` for Mexico, `es` for
/// the rest (Meta has no Colombian variant).
pub fn template_language(locale: &str) -> &'static str {
    match locale {
        "es-MX" | "es_MX" => "es_MX",
        _ => "es",
    }
}

/// A template with positional text parameters. Parameters may not hold newlines or runs
/// of spaces, so they are flattened.
pub fn template(name: &str, locale: &str, parameters: &[&str]) -> Template {
    Template {
        name: name.into(),
        language: template_language(locale).into(),
        header: vec![],
        body: parameters
            .iter()
            .map(|p| Parameter {
                name: None,
                text: one_line(p),
            })
            .collect(),
        buttons: vec![],
    }
}

/// A free-form text, clipped to WhatsApp's 4,096 characters.
pub fn text(body: String) -> Message {
    Message::Text {
        body: clip(&body, 4096),
        preview_url: false,
    }
}

/// Template parameters are kept well under Meta's limits (the whole text after
/// substitution may not grow past what the template allows either).
const PARAMETER_CHARS: usize = 900;

/// `text` cut to at most `max` characters, ending in "…" when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(max - 1).collect();
    clipped.push('…');
    clipped
}

/// A staff or owner notice: the text, and `staff_notice` carrying it on one line.
pub fn notice(body: String, locale: &str) -> (Message, Option<Template>) {
    let fallback = template("staff_notice", locale, &[&body]);
    (text(body), Some(fallback))
}

fn one_line(text: &str) -> String {
    let flat: Vec<&str> = text.split_whitespace().collect();
    let line = flat.join(" ");
    if line.is_empty() {
        "-".into()
    } else {
        clip(&line, PARAMETER_CHARS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_in_pesos() {
        assert_eq!(price(25000, "MXN"), "$250 MXN");
        assert_eq!(price(125050, "MXN"), "$1,250.50 MXN");
        assert_eq!(price(450_000_000, "COP"), "$4,500,000 COP");
    }

    #[test]
    fn short_days_fit_a_list_row() {
        let date = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        assert_eq!(short_day(date("2026-09-30")), "Miércoles 30 sep");
        assert_eq!(short_day(date("2026-12-07")), "Lunes 7 dic");
    }

    #[test]
    fn times_are_local_on_both_sides_of_daylight_saving() {
        let tijuana = TimeZone::get("America/Tijuana").unwrap();
        // 2026-03-08 is the spring-forward Sunday: 10:00 there is PDT (UTC-7).
        let spring: Timestamp = "2026-03-08T17:00:00Z".parse().unwrap();
        assert_eq!(when(spring, &tijuana), "domingo 8 de marzo, 10:00");
        // The Saturday before is still PST (UTC-8).
        let saturday: Timestamp = "2026-03-07T18:00:00Z".parse().unwrap();
        assert_eq!(when(saturday, &tijuana), "sábado 7 de marzo, 10:00");
        let mexico = TimeZone::get("America/Mexico_City").unwrap();
        let winter: Timestamp = "2026-12-14T16:30:00Z".parse().unwrap();
        assert_eq!(when(winter, &mexico), "lunes 14 de diciembre, 10:30");
    }

    #[test]
    fn templates_take_the_locale_and_one_line_parameters() {
        let t = template("staff_notice", "es-CO", &["Hoy:\n10:00 Corte\t  Ana"]);
        assert_eq!(t.language, "es");
        assert_eq!(t.body[0].text, "Hoy: 10:00 Corte Ana");
        assert!(Message::Template(t).validate().is_ok());
        assert_eq!(template("x", "es-MX", &[]).language, "es_MX");
        let long = "motivo ".repeat(500);
        let t = template("staff_notice", "es-MX", &[&long]);
        assert_eq!(t.body[0].text.chars().count(), PARAMETER_CHARS);
        assert!(Message::Template(t).validate().is_ok());
        assert!(text(long.repeat(2)).validate().is_ok());
    }
}
