//! Reading the model's tool inputs. Anything missing or malformed is an
//! [`ToolError::Invalid`] in plain words, which goes back to the model so it can ask or
//! correct itself; nothing here trusts the input.

use cita_shared::whatsapp::phone;
use jiff::{Timestamp, civil, tz::TimeZone};
use serde_json::Value;
use uuid::Uuid;

use super::ToolError;

fn invalid(message: String) -> ToolError {
    ToolError::Invalid(message)
}

pub fn text<'a>(input: &'a Value, key: &str) -> Result<&'a str, ToolError> {
    optional_text(input, key)?.ok_or_else(|| invalid(format!("falta {key}")))
}

pub fn optional_text<'a>(input: &'a Value, key: &str) -> Result<Option<&'a str>, ToolError> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(invalid(format!("{key} debe ser texto"))),
    }
}

pub fn id(input: &Value, key: &str) -> Result<Uuid, ToolError> {
    optional_id(input, key)?.ok_or_else(|| invalid(format!("falta {key}")))
}

pub fn optional_id(input: &Value, key: &str) -> Result<Option<Uuid>, ToolError> {
    optional_text(input, key)?
        .map(|s| {
            s.parse()
                .map_err(|_| invalid(format!("{key} no es un id que el sistema haya mostrado")))
        })
        .transpose()
}

/// A phone number as staff typed it, normalized; without a country code it takes the
/// business's (from its locale).
pub fn phone(input: &Value, key: &str, locale: &str) -> Result<Option<String>, ToolError> {
    optional_text(input, key)?
        .map(|typed| {
            phone::parse_typed(typed, phone::country_code(locale))
                .ok_or_else(|| invalid(format!("{key} no parece un número de teléfono")))
        })
        .transpose()
}

/// A local date: `2026-12-07`, or the date part of a date-time.
pub fn date(input: &Value, key: &str) -> Result<civil::Date, ToolError> {
    optional_date(input, key)?.ok_or_else(|| invalid(format!("falta {key}")))
}

pub fn optional_date(input: &Value, key: &str) -> Result<Option<civil::Date>, ToolError> {
    optional_text(input, key)?
        .map(|s| {
            s.get(..10)
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| invalid(format!("{key} debe ser una fecha AAAA-MM-DD")))
        })
        .transpose()
}

/// An instant: ISO 8601 with an offset (`2026-12-07T10:30-06:00`, `…Z`), or a local
/// date-time in the business's zone (`2026-12-07T10:30`). In the hour a clock change
/// repeats, the earlier one is taken; a time the change skips is refused.
pub fn instant(input: &Value, key: &str, tz: &TimeZone) -> Result<Timestamp, ToolError> {
    let raw = text(input, key)?;
    if let Ok(at) = raw.parse::<Timestamp>() {
        return Ok(at);
    }
    let local: civil::DateTime = raw.replacen(' ', "T", 1).parse().map_err(|_| {
        invalid(format!(
            "{key} debe ser fecha y hora ISO 8601, p. ej. 2026-12-07T10:30"
        ))
    })?;
    tz.to_ambiguous_zoned(local)
        .earlier()
        .ok()
        .filter(|z| z.datetime() == local)
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            invalid(format!(
                "{key}: esa hora no existe ese día (cambio de horario)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_local_unless_they_carry_an_offset() {
        let mexico = TimeZone::get("America/Mexico_City").unwrap();
        let at = |v: &str| instant(&json!({"t": v}), "t", &mexico);
        assert_eq!(
            at("2026-12-07T10:30").unwrap().to_string(),
            "2026-12-07T16:30:00Z"
        );
        assert_eq!(
            at("2026-12-07 10:30").unwrap().to_string(),
            "2026-12-07T16:30:00Z"
        );
        assert_eq!(
            at("2026-12-07T10:30:00-05:00").unwrap().to_string(),
            "2026-12-07T15:30:00Z"
        );
        assert!(at("mañana a las 10").is_err());
        let tijuana = TimeZone::get("America/Tijuana").unwrap();
        let skipped = instant(&json!({"t": "2026-03-08T02:30"}), "t", &tijuana);
        assert!(
            skipped.is_err(),
            "02:30 does not exist on spring-forward day"
        );
    }

    #[test]
    fn ids_and_dates_are_checked() {
        let input = json!({"a": "not-an-id", "d": "2026-12-07T10:00", "n": 5, "e": " "});
        assert!(id(&input, "a").is_err());
        assert!(id(&input, "missing").is_err());
        assert_eq!(date(&input, "d").unwrap().to_string(), "2026-12-07");
        assert!(text(&input, "n").is_err());
        assert_eq!(optional_text(&input, "e").unwrap(), None);
    }
}
