//! Semana: one staff member's week from Monday, a column per day, coloured and shaded as
//! the day is, with the present minute on today's column; ‹ / › move a week, and a name
//! shows that person's week. Staff without `view_business_schedule` see their own only.

use axum::{
    extract::{Query, State},
    response::{Html, IntoResponse, Response},
};
use cita_shared::{contracts::scheduling::permissions, spanish, spanish::capitalized};
use jiff::{SignedDuration, Timestamp, ToSpan, civil::Date, tz::TimeZone};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Viewer,
    assets::{HEADER_ROWS, MINUTES_PER_ROW},
    day::{bad_date, kind_label, legend, place, status_label},
    layout::page_with,
    top_bar,
};
use crate::{problem::ApiResult, state::Shared, tenant};

#[derive(Debug, Deserialize)]
pub struct Week {
    /// Any day of the week, `AAAA-MM-DD`; this week when absent or unreadable.
    dia: Option<String>,
    /// Whose week; the viewer's own (or the first shown) when absent, unreadable or not
    /// someone the viewer may see.
    personal: Option<String>,
    /// `agenda`: only the part that live updates replace.
    parte: Option<String>,
}

/// The week as the grid shows it, read in one transaction.
struct Shown {
    tz: TimeZone,
    monday: Date,
    /// Each day's local midnight, Monday first, and the next Monday's.
    midnights: Vec<Timestamp>,
    staff_id: Uuid,
    staff_name: String,
    appointments: Vec<(Uuid, Timestamp, Timestamp, String, String, String)>,
    off: Vec<(Timestamp, Timestamp, String)>,
    from_minute: i64,
    to_minute: i64,
}

pub async fn page_for(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(week): Query<Week>,
) -> ApiResult<Response> {
    let caller = &viewer.caller;
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let org = tx
        .query_one("SELECT name, timezone, locale FROM organizations", &[])
        .await?;
    let tz = TimeZone::get(org.get::<_, &str>(1)).unwrap_or(TimeZone::UTC);
    let today = now.to_zoned(tz.clone()).date();
    let date = week
        .dia
        .as_deref()
        .and_then(|d| d.parse::<Date>().ok())
        .unwrap_or(today);
    let monday = date
        .checked_sub(i32::from(date.weekday().to_monday_zero_offset()).days())
        .map_err(bad_date)?;
    let midnights = (0..=7)
        .map(|i| {
            monday
                .checked_add(i.days())
                .and_then(|d| d.to_zoned(tz.clone()))
                .map(|z| z.timestamp())
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad_date)?;
    let everyone = caller.may(permissions::VIEW_BUSINESS_SCHEDULE);
    let staff: Vec<(Uuid, String)> = tx
        .query(
            "SELECT id, name FROM staff WHERE active AND ($1 OR id = $2)
             ORDER BY role = 'owner' DESC, name",
            &[&everyone, &caller.staff_id],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let named = week.personal.as_deref().and_then(|id| id.parse().ok());
    let chosen = [named, Some(caller.staff_id)]
        .into_iter()
        .flatten()
        .find_map(|id| staff.iter().find(|(s, _)| *s == id))
        .or(staff.first())
        .cloned();
    let (start, end) = (midnights[0], midnights[7]);
    let (appointments, off) = match &chosen {
        Some((staff_id, _)) => (
            tx.query(
                "SELECT a.id, a.starts_at, a.ends_at, a.status, s.name,
                        COALESCE(c.name, c.phone, c.wa_id, '')
                 FROM appointments a
                 JOIN service_types s ON s.id = a.service_type_id
                 JOIN customers c ON c.id = a.customer_id
                 WHERE a.staff_id = $1 AND a.status <> 'cancelled'
                   AND a.starts_at < $3 AND a.ends_at > $2
                 ORDER BY a.starts_at",
                &[staff_id, &start, &end],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
            .collect(),
            tx.query(
                "SELECT lower(during), upper(during), kind, reason FROM availability_exceptions
                 WHERE (staff_id IS NULL OR staff_id = $1) AND during && tstzrange($2, $3)",
                &[staff_id, &start, &end],
            )
            .await?
            .iter()
            .map(|r| {
                let reason: Option<String> = r.get(3);
                let label = reason.unwrap_or_else(|| kind_label(r.get(2)).to_owned());
                (r.get(0), r.get(1), label)
            })
            .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let hours = tx
        .query_one(
            "SELECT (extract(epoch FROM min(opens_at)) / 60)::bigint,
                    (extract(epoch FROM max(closes_at)) / 60)::bigint
             FROM business_hours",
            &[],
        )
        .await?;
    tx.commit().await?;
    let business: String = org.get(0);
    let locale: String = org.get(2);
    let words = spanish::words(&locale);
    let title = format!(
        "Semana del {}",
        words
            .day(monday)
            .trim_start_matches(|c: char| !c.is_ascii_digit())
    );
    let Some((staff_id, staff_name)) = chosen else {
        let body = html! { p.empty { "No hay nadie en el equipo todavía." } };
        return Ok(page_with(
            &title,
            Some(top_bar(&business, &viewer)),
            body,
            true,
        ));
    };
    let shown = Shown {
        tz,
        monday,
        midnights,
        staff_id,
        staff_name,
        appointments,
        off,
        from_minute: hours
            .get::<_, Option<i64>>(0)
            .map_or(9 * 60, |m| m / 60 * 60),
        to_minute: hours
            .get::<_, Option<i64>>(1)
            .map_or(19 * 60, |m| (m + 59) / 60 * 60),
    };
    let part = grid(&shown, &locale, now);
    if week.parte.as_deref() == Some("agenda") {
        return Ok(Html(part.into_string()).into_response());
    }
    let here = |monday: Date| format!("/semana?dia={monday}&personal={}", shown.staff_id);
    let feed = format!("/v1/organizations/{}/events", caller.organization_id);
    let body = html! {
        nav.days aria-label="Semanas" {
            a.button.quiet href=(here(monday.saturating_sub(7.days()))) { "‹ Anterior" }
            h2 { (capitalized(&title)) }
            a.button.quiet href=(here(monday.saturating_add(7.days()))) { "Siguiente ›" }
        }
        p.views { a href={ "/hoy?dia=" (date) } { "Ver el día" } }
        @if staff.len() > 1 {
            nav.tabs aria-label="Personas" {
                @for (id, name) in &staff {
                    a href={ "/semana?dia=" (monday) "&personal=" (id) } aria-current=[(*id == shown.staff_id).then_some("page")] { (name) }
                }
            }
        }
        div.week #agenda data-feed=(feed) data-part={ (here(monday)) "&parte=agenda" } { (part) }
        (legend())
    };
    Ok(page_with(
        &title,
        Some(top_bar(&business, &viewer)),
        body,
        true,
    ))
}

/// A column's heading, short enough for a phone: "Lun 7".
const WEEKDAYS: [&str; 7] = ["Lun", "Mar", "Mié", "Jue", "Vie", "Sáb", "Dom"];

fn grid(shown: &Shown, locale: &str, now: Timestamp) -> Markup {
    let words = spanish::words(locale);
    let minutes = shown.to_minute - shown.from_minute;
    let rows = (minutes / MINUTES_PER_ROW) as usize;
    // Day `i`'s grid: its opening minute to its closing minute.
    let span = |i: usize| {
        (
            shown.midnights[i] + SignedDuration::from_mins(shown.from_minute),
            shown.midnights[i] + SignedDuration::from_mins(shown.to_minute),
        )
    };
    let day_of = |at: Timestamp| (0..7).find(|&i| at < shown.midnights[i + 1]);
    html! {
        div.scroll {
            div.grid.cols-7 role="table" aria-label={ "Semana de " (shown.staff_name) } {
                div class="head c1 r1" {}
                @for i in 0..7 {
                    @let date = shown.monday.saturating_add((i as i64).days());
                    a class={ "head c" (i + 2) " r1" } role="columnheader" href={ "/hoy?dia=" (date) }
                        aria-label=(words.short_day(date)) { (WEEKDAYS[i]) " " (date.day()) }
                }
                @for hour in (shown.from_minute / 60)..(shown.to_minute / 60) {
                    @let row = HEADER_ROWS + 1 + ((hour * 60 - shown.from_minute) / MINUTES_PER_ROW) as usize;
                    div class={ "hour c1 r" (row) " s" (60 / MINUTES_PER_ROW) } { (format!("{hour:02}:00")) }
                }
                @for i in 0..7 {
                    div class={ "lane c" (i + 2) " s" (rows) " r" (HEADER_ROWS + 1) } {}
                }
                @for i in 0..7 {
                    @for step in 0..(minutes / 30) {
                        @let at = span(i).0 + SignedDuration::from_mins(step * 30);
                        @if at >= now {
                            a class={ "slot c" (i + 2) " r" (HEADER_ROWS + 1 + (step * 30 / MINUTES_PER_ROW) as usize) " s" (30 / MINUTES_PER_ROW) }
                                href={ "/hoy/nueva?personal=" (shown.staff_id) "&inicio=" (at.as_second()) }
                                aria-label={ "Reservar o bloquear el " (words.when(at, &shown.tz)) } {}
                        }
                    }
                }
                // A closure of several days is shaded on each of them.
                @for (from, to, label) in &shown.off {
                    @for i in 0..7 {
                        @let (start, end) = span(i);
                        @if let Some((row, rows)) = place(start, end, *from, *to) {
                            div class={ "off c" (i + 2) " r" (row) " s" (rows) } { (label) }
                        }
                    }
                }
                @for (id, from, to, status, service, customer) in &shown.appointments {
                    @if let Some(i) = day_of(*from) {
                        @let (start, end) = span(i);
                        @if let Some((row, rows)) = place(start, end, *from, *to) {
                            a class={ "appt st-" (status) " c" (i + 2) " r" (row) " s" (rows) }
                                href={ "/citas/" (id) } role="cell" data-status=(status) {
                                strong { (words.clock(*from, &shown.tz)) " " (customer) }
                                (service) " · " (status_label(status))
                            }
                        }
                    }
                }
                @if let Some(i) = day_of(now).filter(|_| now >= shown.midnights[0]) {
                    @let (start, end) = span(i);
                    @if let Some((row, _)) = place(start, end, now, now + SignedDuration::from_mins(MINUTES_PER_ROW)) {
                        div class={ "now week-now c" (i + 2) " r" (row) } aria-hidden="true" {}
                    }
                }
            }
        }
    }
}
