//! Cifras: a month of the business for its owner — bookings, completed, no-shows,
//! revenue, the busiest hours and services (scheduling's figures, as the API's), a bar
//! per day drawn as SVG on the server, and the same days as CSV.

use axum::{
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use cita_shared::{
    contracts::scheduling::{Figures, FiguresRequest, Outcome, Request},
    spanish::capitalized,
    spanish::{self, MONTHS},
};
use jiff::{ToSpan, civil::Date};
use maud::{Markup, html};
use serde::Deserialize;

use super::{
    Viewer,
    layout::{page, with_status},
    top_bar,
};
use crate::{
    problem::{ApiError, ApiResult},
    routes::unexpected,
    state::Shared,
    tenant,
};

#[derive(Debug, Deserialize)]
pub struct Month {
    /// `AAAA-MM`; this month when absent or unreadable.
    mes: Option<String>,
}

/// One local day of the month.
struct Day {
    date: Date,
    booked: i64,
    completed: i64,
    no_shows: i64,
    cancelled: i64,
    revenue_minor: i64,
}

/// The month's days and what its pages need to word them.
struct Days {
    business: String,
    locale: String,
    currency: String,
    first: Date,
    last: Date,
    days: Vec<Day>,
    /// (name, bookings, no-shows, revenue) per staff member, busiest first.
    staff: Vec<(String, i64, i64, i64)>,
    /// What the assistant cost (millionths of a dollar) and how many answers.
    ai: (i64, i64),
}

async fn read(state: &Shared, viewer: &Viewer, month: &Month) -> ApiResult<Days> {
    let caller = &viewer.caller;
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let org = tx
        .query_one(
            "SELECT name, timezone, locale, trim(currency) FROM organizations",
            &[],
        )
        .await?;
    let zone: String = org.get(1);
    let today = state
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC))
        .date();
    let first = month
        .mes
        .as_deref()
        .and_then(|m| format!("{m}-01").parse::<Date>().ok())
        .unwrap_or(today.first_of_month());
    let last = first.last_of_month();
    let rows = tx
        .query(
            "SELECT d::date,
                    count(a.id) FILTER (WHERE a.status <> 'cancelled'),
                    count(a.id) FILTER (WHERE a.status = 'completed'),
                    count(a.id) FILTER (WHERE a.status = 'no_show'),
                    count(a.id) FILTER (WHERE a.status = 'cancelled'),
                    COALESCE(sum(COALESCE(a.price_minor, s.price_minor)) FILTER (WHERE a.status = 'completed'), 0)::bigint
             FROM generate_series($1::date, $2::date, interval '1 day') d
             LEFT JOIN appointments a ON (a.starts_at AT TIME ZONE $3)::date = d::date
             LEFT JOIN service_types s ON s.id = a.service_type_id
             GROUP BY d ORDER BY d",
            &[&first, &last, &zone],
        )
        .await?;
    let tz = jiff::tz::TimeZone::get(&zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let start = first
        .to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or_default();
    let end = last
        .tomorrow()
        .and_then(|d| d.to_zoned(tz))
        .map(|z| z.timestamp())
        .unwrap_or(start);
    let staff = tx
        .query(
            "SELECT st.name, count(*) FILTER (WHERE a.status <> 'cancelled'),
                    count(*) FILTER (WHERE a.status = 'no_show'),
                    COALESCE(sum(COALESCE(a.price_minor, s.price_minor)) FILTER (WHERE a.status = 'completed'), 0)::bigint
             FROM appointments a JOIN staff st ON st.id = a.staff_id
             JOIN service_types s ON s.id = a.service_type_id
             WHERE a.starts_at >= $1 AND a.starts_at < $2
             GROUP BY st.id, st.name ORDER BY 2 DESC, st.name",
            &[&start, &end],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let ai = tx
        .query_one(
            "SELECT COALESCE(sum(cost_micro_usd), 0)::bigint, count(*) FROM ai_usage
             WHERE created_at >= $1 AND created_at < $2",
            &[&start, &end],
        )
        .await?;
    tx.commit().await?;
    Ok(Days {
        staff,
        ai: (ai.get(0), ai.get(1)),
        business: org.get(0),
        locale: org.get(2),
        currency: org.get(3),
        first,
        last,
        days: rows
            .iter()
            .map(|r| Day {
                date: r.get(0),
                booked: r.get(1),
                completed: r.get(2),
                no_shows: r.get(3),
                cancelled: r.get(4),
                revenue_minor: r.get(5),
            })
            .collect(),
    })
}

/// `GET /cifras?mes=`: the owner's only, as the API's figures.
pub async fn page_for(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(query): Query<Month>,
) -> ApiResult<Response> {
    if !viewer.caller.owner {
        let body =
            html! { p.error role="alert" { "Las cifras del negocio son sólo para el dueño." } };
        return Ok(with_status(
            StatusCode::FORBIDDEN,
            page("Cifras", Some(top_bar("Cita", &viewer)), body),
        ));
    }
    let month = read(&state, &viewer, &query).await?;
    let outcome = state
        .schedule(&Request::Figures(FiguresRequest {
            actor: viewer.caller.actor(),
            from: month.first,
            to: month.last,
        }))
        .await?;
    let Outcome::Figures { figures } = outcome else {
        return Err(unexpected("figures", &outcome));
    };
    let words = spanish::words(&month.locale);
    let name = format!(
        "{} {}",
        capitalized(MONTHS[usize::from(month.first.month() as u8) - 1]),
        month.first.year()
    );
    let previous = month.first.checked_sub(1.month()).unwrap_or(month.first);
    let next = month.first.checked_add(1.month()).unwrap_or(month.first);
    // Of the appointments that were due: the completed and the no-shows, as the API's.
    let decided = figures.completed + figures.no_shows;
    let no_show_rate = if decided > 0 {
        f64::from(figures.no_shows) * 100.0 / f64::from(decided)
    } else {
        0.0
    };
    let body = html! {
        nav.days aria-label="Meses" {
            a.button.quiet href={ "/cifras?mes=" (month_of(previous)) } { "‹ Antes" }
            h2 { (name) }
            a.button.quiet href={ "/cifras?mes=" (month_of(next)) } { "Después ›" }
        }
        ul.tiles {
            li { span { "Citas" } strong { (figures.appointments) } }
            li { span { "Completadas" } strong { (figures.completed) } }
            li { span { "No vinieron" } strong { (figures.no_shows) " (" (format!("{no_show_rate:.0}")) " %)" } }
            li { span { "Ingresos" } strong { (words.price(figures.revenue_minor, &figures.currency)) } }
        }
        h3 { "Citas por día" }
        (chart(&month))
        (busiest(&figures))
        @if !month.staff.is_empty() {
            h3 { "Por persona" }
            table.people {
                thead { tr { th scope="col" { "Quién" } th scope="col" { "Citas" } th scope="col" { "No vinieron" } th scope="col" { "Ingresos" } } }
                tbody {
                    @for (name, booked, no_shows, revenue) in &month.staff {
                        tr { th scope="row" { (name) } td { (booked) } td { (no_shows) } td { (words.price(*revenue, &figures.currency)) } }
                    }
                }
            }
        }
        p.hint {
            "Asistente con IA este mes: US$ " (format!("{:.2}", month.ai.0 as f64 / 1_000_000.0))
            " (" (if month.ai.1 == 1 { "1 respuesta".to_owned() } else { format!("{} respuestas", month.ai.1) }) ")."
        }
        p { a.button.quiet href={ "/cifras.csv?mes=" (month_of(month.first)) } download { "Descargar CSV" } }
    };
    Ok(page(
        "Cifras",
        Some(top_bar(&month.business, &viewer)),
        body,
    ))
}

/// A bar per day, scaled to the busiest day; every bar is labelled for screen readers.
fn chart(month: &Days) -> Markup {
    const BAR: i64 = 12;
    const HEIGHT: i64 = 120;
    let most = month
        .days
        .iter()
        .map(|d| d.booked)
        .max()
        .unwrap_or(0)
        .max(1);
    let width = BAR * month.days.len() as i64;
    html! {
        svg.chart viewBox={ "0 0 " (width) " " (HEIGHT + 14) } role="img" aria-label="Citas por día del mes" {
            @for (i, day) in month.days.iter().enumerate() {
                @let height = day.booked * HEIGHT / most;
                g {
                    title { (day.date) ": " (citas(day.booked)) }
                    rect x=(i as i64 * BAR + 1) y=(HEIGHT - height) width=(BAR - 2) height=(height) rx="2" {}
                    @if day.date.day() == 1 || day.date.day() % 5 == 0 {
                        text x=(i as i64 * BAR + BAR / 2) y=(HEIGHT + 12) text-anchor="middle" { (day.date.day()) }
                    }
                }
            }
        }
    }
}

fn busiest(figures: &Figures) -> Markup {
    html! {
        @if !figures.busiest_hours.is_empty() {
            h3 { "Horas con más citas" }
            ol.ranking {
                @for hour in &figures.busiest_hours {
                    li { (format!("{:02}:00", hour.hour)) " · " (citas(i64::from(hour.appointments))) }
                }
            }
        }
    }
}

/// `GET /cifras.csv?mes=`: the month's days, one row each.
pub async fn csv(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(query): Query<Month>,
) -> ApiResult<Response> {
    if !viewer.caller.owner {
        return Err(ApiError::Forbidden);
    }
    let month = read(&state, &viewer, &query).await?;
    let mut body = format!(
        "fecha,citas,completadas,no_vinieron,canceladas,ingresos_{}\n",
        month.currency.to_lowercase()
    );
    for day in &month.days {
        body.push_str(&format!(
            "{},{},{},{},{},{}.{:02}\n",
            day.date,
            day.booked,
            day.completed,
            day.no_shows,
            day.cancelled,
            day.revenue_minor / 100,
            day.revenue_minor % 100
        ));
    }
    let disposition = format!(
        "attachment; filename=\"cifras-{}.csv\"",
        month_of(month.first)
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response())
}

fn citas(n: i64) -> String {
    if n == 1 {
        "1 cita".into()
    } else {
        format!("{n} citas")
    }
}

fn month_of(date: Date) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}
