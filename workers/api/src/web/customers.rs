//! Clientes: search by name or phone; one customer's visits, no-shows, spend, notes, the
//! appointments they had and will have, and their chat. Notes are changed through
//! scheduling, as the API's.

use axum::{
    extract::{Path, Query, State},
    response::Response,
};
use cita_shared::{
    contracts::scheduling::{Request, UpdateCustomerRequest},
    spanish,
};
use jiff::{Timestamp, tz::TimeZone};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Posted, Viewer,
    layout::{page, see_other},
    top_bar,
};
use crate::{
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

const LISTED: i64 = 30;
const HISTORY: i64 = 20;

#[derive(Debug, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

/// `text` as a LIKE pattern matching it literally anywhere.
fn contains(text: &str) -> String {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

/// `GET /clientes?q=`
pub async fn search(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(search): Query<Search>,
) -> ApiResult<Response> {
    let q: String = search.q.trim().chars().take(80).collect();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let name = (!q.is_empty()).then(|| contains(&q));
    let phone = (digits.len() >= 3).then(|| contains(&digits));
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let business: String = tx
        .query_one("SELECT name FROM organizations", &[])
        .await?
        .get(0);
    let rows = tx
        .query(
            "SELECT c.id, COALESCE(c.name, 'Sin nombre'), c.phone,
                    count(a.id) FILTER (WHERE a.status = 'completed'),
                    count(a.id) FILTER (WHERE a.status = 'no_show')
             FROM customers c LEFT JOIN appointments a ON a.customer_id = c.id
             WHERE $1::text IS NULL OR c.name ILIKE $1 OR c.phone LIKE $2
             GROUP BY c.id ORDER BY c.name NULLS LAST, c.id LIMIT $3",
            &[&name, &phone, &LISTED],
        )
        .await?;
    tx.commit().await?;
    let body = html! {
        h2 { "Clientes" }
        form.search method="get" action="/clientes" role="search" {
            label for="q" { "Buscar por nombre o teléfono" }
            input #q type="search" name="q" value=(q) autocomplete="off";
            button type="submit" { "Buscar" }
        }
        @if rows.is_empty() { p.empty { "Nadie coincide con «" (q) "»." } }
        ul.inbox {
            @for row in &rows {
                li {
                    a.card.wide.chat href={ "/clientes/" (row.get::<_, Uuid>(0)) } {
                        strong { (row.get::<_, String>(1)) }
                        @if let Some(phone) = row.get::<_, Option<String>>(2) { span.hint { "+" (phone) } }
                        span.hint { (row.get::<_, i64>(3)) " visitas · " (row.get::<_, i64>(4)) " no vino" }
                    }
                }
            }
        }
    };
    Ok(page("Clientes", Some(top_bar(&business, &viewer)), body))
}

/// `GET /clientes/{id}`
pub async fn customer(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let org = tx
        .query_one(
            "SELECT name, timezone, locale, trim(currency) FROM organizations",
            &[],
        )
        .await?;
    let row = tx
        .query_opt(
            "SELECT COALESCE(c.name, 'Sin nombre'), c.phone, c.notes,
                    count(a.id) FILTER (WHERE a.status = 'completed'),
                    count(a.id) FILTER (WHERE a.status = 'no_show'),
                    COALESCE(sum(COALESCE(a.price_minor, s.price_minor)) FILTER (WHERE a.status = 'completed'), 0)::bigint,
                    (SELECT v.id FROM conversations v WHERE v.customer_id = c.id ORDER BY v.updated_at DESC LIMIT 1)
             FROM customers c
             LEFT JOIN appointments a ON a.customer_id = c.id
             LEFT JOIN service_types s ON s.id = a.service_type_id
             WHERE c.id = $1 GROUP BY c.id",
            &[&id],
        )
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    let history = tx
        .query(
            "SELECT a.id, a.starts_at, s.name, st.name, a.status FROM appointments a
             JOIN service_types s ON s.id = a.service_type_id JOIN staff st ON st.id = a.staff_id
             WHERE a.customer_id = $1 ORDER BY a.starts_at DESC LIMIT $2",
            &[&id, &HISTORY],
        )
        .await?;
    tx.commit().await?;
    let tz = TimeZone::get(org.get::<_, &str>(1)).unwrap_or(TimeZone::UTC);
    let words = spanish::words(org.get::<_, &str>(2));
    let currency: String = org.get(3);
    let conversation: Option<Uuid> = row.get(6);
    let body = html! {
        p { a href="/clientes" { "‹ Clientes" } }
        h2 { (row.get::<_, String>(0)) }
        ul.tiles {
            li { span { "Visitas" } strong { (row.get::<_, i64>(3)) } }
            li { span { "No vino" } strong { (row.get::<_, i64>(4)) } }
            li { span { "Ha gastado" } strong { (words.price(row.get(5), &currency)) } }
            li { span { "Teléfono" } strong.small {
                @match row.get::<_, Option<String>>(1) {
                    Some(phone) => a href={ "https://wa.me/" (phone) } { "+" (phone) },
                    None => "—",
                }
            } }
        }
        @if let Some(conversation) = conversation.filter(|_| viewer.caller.may(cita_shared::contracts::scheduling::permissions::VIEW_BUSINESS_SCHEDULE)) {
            p { a.button.quiet href={ "/conversaciones/" (conversation) } { "Ver su conversación" } }
        }
        form.reply method="post" action={ "/clientes/" (id) } {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            label for="notas" { "Notas (sólo las ve el equipo)" }
            textarea #notas name="notas" rows="3" maxlength="2000" {
                (row.get::<_, Option<String>>(2).unwrap_or_default())
            }
            button type="submit" { "Guardar notas" }
        }
        h3 { "Citas" }
        @if history.is_empty() { p.empty { "Todavía no tiene citas." } }
        ul.inbox {
            @for appointment in &history {
                li {
                    a.card.wide.chat href={ "/citas/" (appointment.get::<_, Uuid>(0)) } {
                        strong { (words.when(appointment.get::<_, Timestamp>(1), &tz)) }
                        span.hint { (appointment.get::<_, String>(2)) " · con " (appointment.get::<_, String>(3)) " · " (status_word(&appointment.get::<_, String>(4))) }
                    }
                }
            }
        }
    };
    Ok(page(
        "Cliente",
        Some(top_bar(&org.get::<_, String>(0), &viewer)),
        body,
    ))
}

fn status_word(status: &str) -> &'static str {
    match status {
        "pending" => "por aprobar",
        "completed" => "completada",
        "no_show" => "no vino",
        "cancelled" => "cancelada",
        _ => "confirmada",
    }
}

#[derive(Debug, Deserialize)]
pub struct Notes {
    clave: Uuid,
    #[serde(default)]
    notas: String,
}

/// `POST /clientes/{id}`: the team's notes about the customer.
pub async fn save_notes(
    State(state): State<Shared>,
    Path(id): Path<Uuid>,
    posted: Posted<Notes>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    state
        .schedule(&Request::UpdateCustomer(UpdateCustomerRequest {
            actor: viewer.caller.actor(),
            idempotency_key: format!("web:{}", form.clave),
            customer_id: id,
            name: None,
            // An empty text clears them.
            notes: Some(form.notas.trim().to_owned()),
            email: None,
            tags: None,
        }))
        .await?;
    Ok(see_other(&format!("/clientes/{id}")))
}
