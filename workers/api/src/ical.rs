//! iCalendar (RFC 5545) for the calendar feeds: text escaped (§3.3.11), lines folded at
//! 75 octets (§3.1), CRLF line ends, times in UTC.

use std::fmt::Write;

use jiff::Timestamp;
use uuid::Uuid;

/// One appointment as a calendar shows it.
pub struct Entry {
    pub id: Uuid,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// "Corte de cabello · Ana"
    pub summary: String,
    pub description: Option<String>,
    /// Pending appointments are tentative, confirmed ones confirmed.
    pub tentative: bool,
    pub updated_at: Timestamp,
}

/// A calendar named `name` with `entries`, stamped at `now`.
pub fn calendar(name: &str, entries: &[Entry], now: Timestamp) -> String {
    let mut out = String::with_capacity(256 + entries.len() * 256);
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Cita//Agenda//ES");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", text(name)));
    // Calendar apps poll feeds; this asks them to come back within the hour.
    line(&mut out, "REFRESH-INTERVAL;VALUE=DURATION:PT1H");
    line(&mut out, "X-PUBLISHED-TTL:PT1H");
    for entry in entries {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}@cita", entry.id));
        line(&mut out, &format!("DTSTAMP:{}", utc(now)));
        line(
            &mut out,
            &format!("LAST-MODIFIED:{}", utc(entry.updated_at)),
        );
        line(&mut out, &format!("DTSTART:{}", utc(entry.starts_at)));
        line(&mut out, &format!("DTEND:{}", utc(entry.ends_at)));
        line(&mut out, &format!("SUMMARY:{}", text(&entry.summary)));
        if let Some(description) = &entry.description {
            line(&mut out, &format!("DESCRIPTION:{}", text(description)));
        }
        let status = if entry.tentative {
            "TENTATIVE"
        } else {
            "CONFIRMED"
        };
        line(&mut out, &format!("STATUS:{status}"));
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// `20261207T160000Z`.
fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value: backslash, semicolon, comma and newlines escaped.
fn text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Appends a content line, folded so no physical line passes 75 octets, never inside a
/// UTF-8 character.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    let _ = out.write_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(summary: &str) -> Entry {
        Entry {
            id: Uuid::nil(),
            starts_at: "2026-12-07T16:00:00Z".parse().unwrap(),
            ends_at: "2026-12-07T16:45:00Z".parse().unwrap(),
            summary: summary.into(),
            description: Some("Notas: llega, tarde;\nsiempre".into()),
            tentative: false,
            updated_at: "2026-12-01T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn events_carry_utc_times_escaped_text_and_crlf() {
        let ics = calendar(
            "Luis, barbero",
            &[entry("Corte · Ana")],
            Timestamp::UNIX_EPOCH,
        );
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("X-WR-CALNAME:Luis\\, barbero\r\n"));
        assert!(ics.contains("DTSTART:20261207T160000Z\r\nDTEND:20261207T164500Z\r\n"));
        assert!(ics.contains("DESCRIPTION:Notas: llega\\, tarde\\;\\nsiempre\r\n"));
        assert!(ics.contains("UID:00000000-0000-0000-0000-000000000000@cita\r\n"));
        assert!(
            !ics.replace("\r\n", "").contains('\n'),
            "no bare line feeds"
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let summary =
            "Tinte y corte de cabello con lavado y peinado y tratamiento de keratina ñññññññ";
        let ics = calendar("x", &[entry(summary)], Timestamp::UNIX_EPOCH);
        for physical in ics.split("\r\n") {
            assert!(
                physical.len() <= 75,
                "{physical:?} is {} octets",
                physical.len()
            );
        }
        // Unfolding (§3.1: CRLF followed by one space) gives the value back.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{summary}\r\n")));
    }
}
