//! How the fleet words things for people, in Spanish: every sentence, date, time and
//! price of a language variant in its own module ([`es_mx`], [`es_co`]) behind one trait
//! ([`Words`]), chosen by the organization's locale; and the text/template pair that
//! carries a message when the recipient's 24-hour window is closed.
//!
//! Templates (approved per business in Meta, named as in the product brief):
//! `appointment_reminder`, `appointment_confirmation`, `appointment_cancelled`,
//! `review_request`, and `staff_notice` (one parameter: the notice on one line) for staff
//! and owner.

mod es_co;
mod es_mx;
mod words;

pub use words::{AgendaLine, Choice, Holds, ListOf, Notices, Words};

use crate::contracts::outbound::{Message, Parameter, Template};

/// Weekday names, Monday first (ISO weekday − 1).
/// The same in es-MX and es-CO.
pub const OPENING_HOURS: &str = "Horario";
pub const CLOSED: &str = "cerrado";

pub const WEEKDAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
];
pub const MONTHS: [&str; 12] = [
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

/// The words of an organization's locale (`organizations.locale`): `es-CO` is Colombian
/// Spanish, anything else Mexican.
pub fn words(locale: &str) -> &'static dyn Words {
    match locale {
        "es-CO" | "es_CO" => &es_co::EsCo,
        _ => &es_mx::EsMx,
    }
}

/// "Miércoles" from "miércoles".
pub fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `units` with `separator` between each group of three digits: 4500000 → "4.500.000".
fn grouped(units: u64, separator: char) -> String {
    let digits = units.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
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
    use jiff::{Timestamp, tz::TimeZone};

    use super::*;

    #[test]
    fn prices_read_as_each_country_writes_them() {
        let mx = words("es-MX");
        assert_eq!(mx.price(25000, "MXN"), "$250 MXN");
        assert_eq!(mx.price(125050, "MXN"), "$1,250.50 MXN");
        let co = words("es-CO");
        assert_eq!(co.price(450_000_000, "COP"), "$4.500.000 COP");
        assert_eq!(co.price(125050, "COP"), "$1.250,50 COP");
        assert_eq!(co.price(-500_000, "COP"), "-$5.000 COP");
    }

    #[test]
    fn short_days_fit_a_list_row() {
        let date = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        assert_eq!(
            words("es-MX").short_day(date("2026-09-30")),
            "Miércoles 30 sep"
        );
        assert_eq!(words("es-CO").short_day(date("2026-12-07")), "Lunes 7 dic");
    }

    #[test]
    fn times_are_local_on_both_sides_of_daylight_saving() {
        let mx = words("es-MX");
        let tijuana = TimeZone::get("America/Tijuana").unwrap();
        // 2026-03-08 is the spring-forward Sunday: 10:00 there is PDT (UTC-7).
        let spring: Timestamp = "2026-03-08T17:00:00Z".parse().unwrap();
        assert_eq!(mx.when(spring, &tijuana), "domingo 8 de marzo, 10:00");
        // The Saturday before is still PST (UTC-8).
        let saturday: Timestamp = "2026-03-07T18:00:00Z".parse().unwrap();
        assert_eq!(mx.when(saturday, &tijuana), "sábado 7 de marzo, 10:00");
        let mexico = TimeZone::get("America/Mexico_City").unwrap();
        let winter: Timestamp = "2026-12-14T16:30:00Z".parse().unwrap();
        assert_eq!(mx.when(winter, &mexico), "lunes 14 de diciembre, 10:30");
    }

    #[test]
    fn colombia_reads_the_twelve_hour_clock() {
        let co = words("es-CO");
        let bogota = TimeZone::get("America/Bogota").unwrap();
        let morning: Timestamp = "2026-12-14T15:30:00Z".parse().unwrap();
        assert_eq!(
            co.when(morning, &bogota),
            "lunes 14 de diciembre, 10:30 a. m."
        );
        let noon: Timestamp = "2026-12-14T17:05:00Z".parse().unwrap();
        assert_eq!(co.clock(noon, &bogota), "12:05 p. m.");
        let midnight: Timestamp = "2026-12-15T05:00:00Z".parse().unwrap();
        assert_eq!(co.clock(midnight, &bogota), "12:00 a. m.");
    }

    #[test]
    fn each_variant_speaks_to_the_customer_its_way() {
        assert_eq!(words("es-MX").which_service(), "¿Qué servicio quieres?");
        assert_eq!(words("es-CO").which_service(), "¿Qué servicio desea?");
        assert_eq!(words("es-AR").which_service(), "¿Qué servicio quieres?");
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
