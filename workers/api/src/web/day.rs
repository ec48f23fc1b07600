//! Hoy: one column per staff member, the day's appointments coloured by status, blocks
//! and closures shaded, a line at the present minute, and what waits for a person on
//! top. Staff without `view_business_schedule` see their own column only, as in the API.

use axum::{
    extract::{Query, State},
    response::{Html, IntoResponse, Response},
};
use cita_shared::{contracts::scheduling::permissions, spanish, spanish::capitalized};
use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Viewer,
    assets::{HEADER_ROWS, MAX_COLUMNS, MINUTES_PER_ROW},
    layout::page_with,
    requests, top_bar,
};
use crate::{problem::ApiResult, state::Shared, tenant};

#[derive(Debug, Deserialize)]
pub struct Day {
    /// `AAAA-MM-DD`; today when absent or unreadable.
    dia: Option<String>,
    /// `agenda`: only the part that live updates replace.
    parte: Option<String>,
}

/// What the grid shows, read in one transaction.
struct Agenda {
    business: String,
    tz: TimeZone,
    locale: String,
    staff: Vec<(Uuid, String)>,
    appointments: Vec<Booked>,
    off: Vec<Off>,
    /// Minutes after local midnight where the grid starts and ends.
    from_minute: i64,
    to_minute: i64,
    waiting: Vec<String>,
}

struct Booked {
    id: Uuid,
    staff_id: Uuid,
    starts_at: Timestamp,
    ends_at: Timestamp,
    status: String,
    service: String,
    customer: String,
}

struct Off {
    staff_id: Option<Uuid>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    label: String,
}

pub async fn page_for(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(day): Query<Day>,
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
    let date = day
        .dia
        .as_deref()
        .and_then(|d| d.parse::<Date>().ok())
        .unwrap_or(today);
    let start = date.to_zoned(tz.clone()).map_err(bad_date)?.timestamp();
    let end = date
        .tomorrow()
        .and_then(|d| d.to_zoned(tz.clone()))
        .map_err(bad_date)?
        .timestamp();
    let everyone = caller.may(permissions::VIEW_BUSINESS_SCHEDULE);
    let staff: Vec<(Uuid, String)> = tx
        .query(
            "SELECT id, name FROM staff WHERE active AND ($1 OR id = $2)
             ORDER BY role = 'owner' DESC, name LIMIT $3",
            &[&everyone, &caller.staff_id, &(MAX_COLUMNS as i64)],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let ids: Vec<Uuid> = staff.iter().map(|(id, _)| *id).collect();
    let appointments = tx
        .query(
            "SELECT a.staff_id, a.starts_at, a.ends_at, a.status, s.name,
                    COALESCE(c.name, c.phone, c.wa_id, ''), a.id
             FROM appointments a
             JOIN service_types s ON s.id = a.service_type_id
             JOIN customers c ON c.id = a.customer_id
             WHERE a.staff_id = ANY($1) AND a.status <> 'cancelled'
               AND a.starts_at < $3 AND a.ends_at > $2
             ORDER BY a.starts_at",
            &[&ids, &start, &end],
        )
        .await?
        .iter()
        .map(|r| Booked {
            id: r.get(6),
            staff_id: r.get(0),
            starts_at: r.get(1),
            ends_at: r.get(2),
            status: r.get(3),
            service: r.get(4),
            customer: r.get(5),
        })
        .collect();
    let off = tx
        .query(
            "SELECT staff_id, kind, lower(during), upper(during), reason
             FROM availability_exceptions
             WHERE (staff_id IS NULL OR staff_id = ANY($1)) AND during && tstzrange($2, $3)
             ORDER BY lower(during)",
            &[&ids, &start, &end],
        )
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.get(1);
            let reason: Option<String> = r.get(4);
            Off {
                staff_id: r.get(0),
                starts_at: r.get(2),
                ends_at: r.get(3),
                label: reason.unwrap_or_else(|| kind_label(&kind).to_owned()),
            }
        })
        .collect();
    let weekday = i16::from(date.weekday().to_monday_one_offset());
    let hours = tx
        .query_one(
            "SELECT (extract(epoch FROM min(opens_at)) / 60)::bigint,
                    (extract(epoch FROM max(closes_at)) / 60)::bigint
             FROM business_hours WHERE weekday = $1",
            &[&weekday],
        )
        .await?;
    let waiting = if everyone {
        tx.query(
            "SELECT COALESCE(c.name, '+' || v.wa_id) FROM conversations v
             LEFT JOIN customers c ON c.id = v.customer_id
             WHERE v.status = 'handed_off' AND (v.handed_off_until IS NULL OR v.handed_off_until > $1)
             ORDER BY v.updated_at DESC LIMIT 5",
            &[&now],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect()
    } else {
        Vec::new()
    };
    let requests = requests::read(&tx, caller, now).await?;
    tx.commit().await?;
    // Whole hours around the opening hours, 9 to 19 on a closed day.
    let from_minute = hours
        .get::<_, Option<i64>>(0)
        .map_or(9 * 60, |m| m / 60 * 60);
    let to_minute = hours
        .get::<_, Option<i64>>(1)
        .map_or(19 * 60, |m| (m + 59) / 60 * 60);
    let agenda = Agenda {
        business: org.get(0),
        tz,
        locale: org.get(2),
        staff,
        appointments,
        off,
        from_minute,
        to_minute,
        waiting,
    };
    // What live updates replace: what waits for a person, and the grid.
    let part = html! {
        (requests::queue(&requests, spanish::words(&agenda.locale), &agenda.tz, &viewer))
        @if !agenda.waiting.is_empty() {
            p.note role="status" {
                "Esperan a una persona: " (agenda.waiting.join(", "))
            }
        }
        (grid(&agenda, date, now))
    };
    if day.parte.as_deref() == Some("agenda") {
        return Ok(Html(part.into_string()).into_response());
    }
    let title = spanish::words(&agenda.locale).day(date);
    let feed = format!("/v1/organizations/{}/events", caller.organization_id);
    let body = html! {
        nav.days aria-label="Días" {
            a.button.quiet href={ "/hoy?dia=" (date.yesterday().unwrap_or(date)) } { "‹ Ayer" }
            h2 { (capitalized(&title)) }
            a.button.quiet href={ "/hoy?dia=" (date.tomorrow().unwrap_or(date)) } { "Mañana ›" }
        }
        p.views {
            @if date != today { a href="/hoy" { "Volver a hoy" } }
            a href={ "/semana?dia=" (date) } { "Ver la semana" }
        }
        div #agenda data-feed=(feed) data-part={ "/hoy?dia=" (date) "&parte=agenda" } { (part) }
        (legend())
    };
    Ok(page_with(
        &title,
        Some(top_bar(&agenda.business, &viewer)),
        body,
        true,
    ))
}

fn grid(agenda: &Agenda, date: Date, now: Timestamp) -> Markup {
    let columns = agenda.staff.len().max(1);
    let minutes = agenda.to_minute - agenda.from_minute;
    let rows = (minutes / MINUTES_PER_ROW) as usize;
    let midnight = date
        .to_zoned(agenda.tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or(now);
    let grid_start = midnight + SignedDuration::from_mins(agenda.from_minute);
    let grid_end = midnight + SignedDuration::from_mins(agenda.to_minute);
    let place = |from, to| place(grid_start, grid_end, from, to);
    let column_of = |staff_id: Uuid| {
        agenda
            .staff
            .iter()
            .position(|(id, _)| *id == staff_id)
            .map(|i| i + 2)
    };
    let words = spanish::words(&agenda.locale);
    html! {
        div.scroll {
            div class={ "grid cols-" (columns) } role="table" aria-label="Agenda del día" {
                div class="head c1 r1" {}
                @for (i, (_, name)) in agenda.staff.iter().enumerate() {
                    div class={ "head c" (i + 2) " r1" } role="columnheader" { (name) }
                }
                @for hour in (agenda.from_minute / 60)..(agenda.to_minute / 60) {
                    @let row = HEADER_ROWS + 1 + ((hour * 60 - agenda.from_minute) / MINUTES_PER_ROW) as usize;
                    div class={ "hour c1 r" (row) " s" (60 / MINUTES_PER_ROW) } { (format!("{hour:02}:00")) }
                }
                @for i in 0..columns {
                    div class={ "lane c" (i + 2) " s" (rows) " r" (HEADER_ROWS + 1) } {}
                }
                // Every half hour of each column, under what is booked there: tap to
                // book or block it.
                @for (i, (staff_id, name)) in agenda.staff.iter().enumerate() {
                    @for step in 0..(minutes / 30) {
                        @let at = grid_start + SignedDuration::from_mins(step * 30);
                        @if at >= now {
                            a class={ "slot c" (i + 2) " r" (HEADER_ROWS + 1 + (step * 30 / MINUTES_PER_ROW) as usize) " s" (30 / MINUTES_PER_ROW) }
                                href={ "/hoy/nueva?personal=" (staff_id) "&inicio=" (at.as_second()) }
                                aria-label={ "Reservar o bloquear a las " (words.clock(at, &agenda.tz)) " con " (name) } {}
                        }
                    }
                }
                @for off in &agenda.off {
                    @if let Some((row, span)) = place(off.starts_at, off.ends_at) {
                        @match off.staff_id.and_then(column_of) {
                            Some(column) => div class={ "off c" (column) " r" (row) " s" (span) } { (off.label) },
                            None => @for i in 0..columns {
                                div class={ "off c" (i + 2) " r" (row) " s" (span) } { (off.label) }
                            },
                        }
                    }
                }
                @for appointment in &agenda.appointments {
                    @if let (Some(column), Some((row, span))) = (column_of(appointment.staff_id), place(appointment.starts_at, appointment.ends_at)) {
                        a class={ "appt st-" (appointment.status) " c" (column) " r" (row) " s" (span) }
                            href={ "/citas/" (appointment.id) } role="cell" data-status=(appointment.status) {
                            strong { (words.clock(appointment.starts_at, &agenda.tz)) " " (appointment.customer) }
                            (appointment.service) " · " (status_label(&appointment.status))
                        }
                    }
                }
                @if let Some((row, _)) = place(now, now + SignedDuration::from_mins(MINUTES_PER_ROW)) {
                    div class={ "now r" (row) } aria-hidden="true" {}
                }
            }
        }
        @if agenda.staff.is_empty() { p.empty { "No hay nadie en el equipo todavía." } }
    }
}

/// A block's first row and its span on a grid from `grid_start` to `grid_end`, clipped
/// to it; `None` outside.
pub(super) fn place(
    grid_start: Timestamp,
    grid_end: Timestamp,
    from: Timestamp,
    to: Timestamp,
) -> Option<(usize, usize)> {
    let from = from.max(grid_start);
    let to = to.min(grid_end);
    if to <= from {
        return None;
    }
    let first = from.duration_since(grid_start).as_mins() / MINUTES_PER_ROW;
    let last = (to.duration_since(grid_start).as_mins() + MINUTES_PER_ROW - 1) / MINUTES_PER_ROW;
    Some((
        HEADER_ROWS + 1 + first as usize,
        ((last - first) as usize).max(1),
    ))
}

pub(super) fn legend() -> Markup {
    html! {
        ul.legend aria-label="Colores" {
            li.st-confirmed { "Confirmada" }
            li.st-pending { "Por aprobar" }
            li.st-completed { "Completada" }
            li.st-no_show { "No vino" }
            li.off { "Bloqueado o cerrado" }
        }
    }
}

pub(super) fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "por aprobar",
        "completed" => "completada",
        "no_show" => "no vino",
        _ => "confirmada",
    }
}

pub(super) fn kind_label(kind: &str) -> &'static str {
    match kind {
        "block" => "Bloqueado",
        "time_off" => "Día libre",
        "holiday" => "Festivo",
        _ => "Cerrado",
    }
}

pub(super) fn bad_date(_: jiff::Error) -> crate::problem::ApiError {
    crate::problem::ApiError::BadRequest("that day does not exist here".into())
}
