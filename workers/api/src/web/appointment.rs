//! One appointment, tapped on the day's grid: who, what, when, the customer's number, and
//! what can be done with it — completed, no-show, cancel, or move to a free time that
//! scheduling offers. Every change is the scheduling request the API sends; each form
//! carries its own idempotency key, so submitting it twice changes nothing twice.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::{
    contracts::scheduling::{
        AvailabilityRequest, CancelRequest, DecideHoldRequest, Outcome, Request, RescheduleRequest,
        SchedulingError, SetStatusRequest, Status, permissions,
    },
    spanish::{self, Words},
};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Posted, Viewer,
    layout::{page, see_other, with_status},
    top_bar,
};
use crate::{
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

/// The appointment as the page shows it.
struct Shown {
    id: Uuid,
    staff_id: Uuid,
    business: String,
    tz: TimeZone,
    locale: String,
    staff: String,
    starts_at: Timestamp,
    status: Status,
    service_id: Uuid,
    service: String,
    customer: String,
    phone: Option<String>,
    notes: Option<String>,
    /// A hold: answered by then, or it is freed.
    hold_expires_at: Option<Timestamp>,
    /// How a hold ended: `approved`, `rejected` or `expired`.
    hold_outcome: Option<String>,
    /// The customer's chat, for those who may read it.
    conversation: Option<Uuid>,
}

impl Shown {
    fn words(&self) -> &'static dyn Words {
        spanish::words(&self.locale)
    }

    fn day(&self) -> Date {
        self.starts_at.to_zoned(self.tz.clone()).date()
    }
}

/// The appointment `id` if the viewer may see it: their own, or anyone's with
/// `view_business_schedule` (another organization's ids are not found at all).
async fn read(state: &Shared, viewer: &Viewer, id: Uuid) -> ApiResult<Shown> {
    let caller = &viewer.caller;
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let row = tx
        .query_opt(
            "SELECT a.id, o.name, o.timezone, o.locale, st.name, a.starts_at, a.status,
                    s.id, s.name, COALESCE(c.name, ''), COALESCE(c.phone, c.wa_id), a.notes, a.staff_id,
                    (SELECT v.id FROM conversations v WHERE v.customer_id = c.id ORDER BY v.updated_at DESC LIMIT 1),
                    a.hold_expires_at, a.hold_outcome
             FROM appointments a
             JOIN staff st ON st.id = a.staff_id
             JOIN service_types s ON s.id = a.service_type_id
             JOIN customers c ON c.id = a.customer_id
             JOIN organizations o ON o.id = a.organization_id
             WHERE a.id = $1",
            &[&id],
        )
        .await?
        .ok_or(ApiError::NotFound("appointment"))?;
    tx.commit().await?;
    let staff_id: Uuid = row.get(12);
    if staff_id != caller.staff_id && !caller.may(permissions::VIEW_BUSINESS_SCHEDULE) {
        return Err(ApiError::NotFound("appointment"));
    }
    let status: String = row.get(6);
    Ok(Shown {
        id: row.get(0),
        staff_id,
        business: row.get(1),
        tz: TimeZone::get(row.get::<_, &str>(2)).unwrap_or(TimeZone::UTC),
        locale: row.get(3),
        staff: row.get(4),
        starts_at: row.get(5),
        status: Status::parse(&status).unwrap_or(Status::Confirmed),
        service_id: row.get(7),
        service: row.get(8),
        customer: row.get(9),
        phone: row.get(10),
        notes: row.get(11),
        hold_expires_at: row.get(14),
        hold_outcome: row.get(15),
        conversation: row
            .get::<_, Option<Uuid>>(13)
            .filter(|_| caller.may(permissions::VIEW_BUSINESS_SCHEDULE)),
    })
}

#[derive(Debug, Deserialize)]
pub struct Done {
    listo: Option<String>,
}

/// The appointment's page, with a note above it (what was just done) or an error.
async fn page_of(
    state: &Shared,
    viewer: &Viewer,
    id: Uuid,
    note: Option<&str>,
    error: Option<&str>,
) -> ApiResult<Response> {
    let shown = read(state, viewer, id).await?;
    let words = shown.words();
    let live = shown.status.is_live();
    let body = html! {
        p { a href={ "/hoy?dia=" (shown.day()) } { "‹ Volver al día" } }
        @if let Some(note) = note { p.note role="status" { (note) } }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        section.card.wide {
            h2 { (words.clock(shown.starts_at, &shown.tz)) " · " (if shown.customer.is_empty() { "Cliente" } else { &shown.customer }) }
            dl.facts {
                dt { "Servicio" } dd { (shown.service) }
                dt { "Con" } dd { (shown.staff) }
                dt { "Cuándo" } dd { (words.when(shown.starts_at, &shown.tz)) }
                dt { "Estado" } dd { span class={ "badge st-" (shown.status.as_str()) } { (match (shown.status, shown.hold_outcome.as_deref()) {
                    (Status::Cancelled, Some("expired")) => "Venció sin respuesta",
                    (Status::Cancelled, Some("rejected")) => "Rechazada",
                    (status, _) => status_label(status),
                }) } }
                @if let Some(phone) = &shown.phone {
                    dt { "Teléfono" } dd { a href={ "https://wa.me/" (phone) } { "+" (phone) } }
                }
                @if let Some(notes) = &shown.notes { dt { "Notas" } dd { (notes) } }
            }
            @if let (Status::Pending, Some(until)) = (shown.status, shown.hold_expires_at) {
                (decision(viewer, &shown, until))
            }
            @if live {
                div.actions {
                    @if shown.status != Status::Pending {
                        (action(viewer, &shown, "completed", "Completada", false))
                        (action(viewer, &shown, "no_show", "No vino", true))
                    }
                    (action(viewer, &shown, "cancelled", "Cancelar cita", true))
                    a.button.quiet href={ "/citas/" (shown.id) "/mover" } { "Mover a otra hora" }
                }
            }
            @if let Some(conversation) = shown.conversation {
                p { a.button.quiet href={ "/conversaciones/" (conversation) } { "Escribirle" } }
            }
        }
    };
    Ok(page(
        &shown.service,
        Some(top_bar(&shown.business, viewer)),
        body,
    ))
}

/// `GET /citas/{id}`
pub async fn show(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    Query(done): Query<Done>,
) -> ApiResult<Response> {
    let note = done.listo.as_deref().and_then(|what| match what {
        "completed" => Some("Listo: marcada como completada."),
        "no_show" => Some("Listo: marcada como «no vino»."),
        "cancelled" => Some("Listo: la cita se canceló y se le avisa al cliente."),
        "moved" => Some("Listo: la cita se movió y se le avisa al cliente."),
        "booked" => Some("Listo: cita reservada; se le avisa al cliente."),
        "approve" => Some("Listo: cita aprobada; se le avisa al cliente."),
        "reject" => {
            Some("Listo: solicitud rechazada; el horario quedó libre y se le avisa al cliente.")
        }
        _ => None,
    });
    page_of(&state, &viewer, id, note, None).await
}

/// A hold's two answers: approve, or reject with a reason the customer reads.
fn decision(viewer: &Viewer, shown: &Shown, until: Timestamp) -> Markup {
    html! {
        section.decision aria-label="Por aprobar" {
            p { "Espera aprobación. Sin respuesta antes del " (shown.words().when(until, &shown.tz)) ", el horario se libera y se le avisa al cliente." }
            div.actions {
                (action(viewer, shown, "approve", "Aprobar", false))
                form method="post" action={ "/citas/" (shown.id) } {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    input type="hidden" name="clave" value=(Uuid::new_v4());
                    input type="hidden" name="accion" value="reject";
                    label { "Motivo (opcional, lo lee el cliente)"
                        input type="text" name="motivo" maxlength="300" autocomplete="off";
                    }
                    button.quiet type="submit" { "Rechazar" }
                }
            }
        }
    }
}

/// One change as a one-button form, with its own idempotency key.
fn action(viewer: &Viewer, shown: &Shown, what: &str, label: &str, quiet: bool) -> Markup {
    html! {
        form method="post" action={ "/citas/" (shown.id) } {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            input type="hidden" name="accion" value=(what);
            button type="submit" class=[quiet.then_some("quiet")] { (label) }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Change {
    accion: String,
    clave: Uuid,
    /// Why a hold is rejected.
    motivo: Option<String>,
}

/// `POST /citas/{id}`: completed, no-show or cancelled.
pub async fn change(
    State(state): State<Shared>,
    Path(id): Path<Uuid>,
    posted: Posted<Change>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    let actor = viewer.caller.actor();
    let idempotency_key = format!("web:{}", form.clave);
    let request = match form.accion.as_str() {
        "completed" | "no_show" => Request::SetStatus(SetStatusRequest {
            actor,
            idempotency_key,
            appointment_id: id,
            status: if form.accion == "completed" {
                Status::Completed
            } else {
                Status::NoShow
            },
            notes: None,
        }),
        "approve" | "reject" => Request::DecideHold(DecideHoldRequest {
            actor,
            idempotency_key,
            appointment_id: id,
            approve: form.accion == "approve",
            reason: form.motivo.filter(|m| !m.trim().is_empty()),
        }),
        "cancelled" => Request::Cancel(CancelRequest {
            actor,
            idempotency_key,
            appointment_id: id,
            reason: None,
        }),
        _ => return Err(ApiError::BadRequest("unknown action".into())),
    };
    match state.schedule(&request).await {
        Ok(_) => Ok(see_other(&format!("/citas/{id}?listo={}", form.accion))),
        Err(error) => refused(&state, &viewer, id, error).await,
    }
}

/// A refused change: the page again, saying why.
async fn refused(
    state: &Shared,
    viewer: &Viewer,
    id: Uuid,
    error: ApiError,
) -> ApiResult<Response> {
    let (status, why) = match &error {
        ApiError::Scheduling(refusal) => (StatusCode::CONFLICT, refusal_words(refusal)),
        ApiError::WritesUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "La agenda no responde en este momento; en un minuto se puede intentar de nuevo.",
        ),
        _ => return Err(error),
    };
    tracing::info!(error = %cita_shared::error::Chain(&error), "a change from the dashboard was refused");
    Ok(with_status(
        status,
        page_of(state, viewer, id, None, Some(why)).await?,
    ))
}

fn refusal_words(error: &SchedulingError) -> &'static str {
    match error {
        SchedulingError::SlotTaken { .. } | SchedulingError::NotAvailable { .. } => {
            "Esa hora ya no está libre; hay que elegir otra."
        }
        SchedulingError::IllegalTransition { .. } => {
            "La cita ya cambió de estado; esto ya no aplica."
        }
        SchedulingError::Forbidden => "Sin permiso para cambiar esta cita.",
        SchedulingError::HoldExpired { .. } => {
            "La solicitud ya venció: el horario se liberó y ya no se puede aprobar."
        }
        SchedulingError::AlreadyDecided { .. } => "Esta solicitud ya se respondió.",
        SchedulingError::NotFound { .. } => "La cita ya no existe.",
        _ => "No se pudo hacer el cambio.",
    }
}

#[derive(Debug, Deserialize)]
pub struct Day {
    dia: Option<Date>,
}

/// `GET /citas/{id}/mover?dia=`: the free times of that day for the same service.
pub async fn times(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    Query(day): Query<Day>,
) -> ApiResult<Response> {
    let shown = read(&state, &viewer, id).await?;
    let date = day.dia.unwrap_or_else(|| shown.day());
    let outcome = state
        .schedule(&Request::Availability(AvailabilityRequest {
            actor: viewer.caller.actor(),
            service_type_id: shown.service_id,
            from: date,
            to: date,
            staff_id: None,
            moving: Some(id),
        }))
        .await?;
    let Outcome::Slots { slots } = outcome else {
        return Err(crate::routes::unexpected("availability", &outcome));
    };
    let names = staff_names(&state, &viewer).await?;
    let name_of = |id: Uuid| {
        names
            .iter()
            .find(|(s, _)| *s == id)
            .map_or("", |(_, n)| n.as_str())
    };
    let words = shown.words();
    let body = html! {
        p { a href={ "/citas/" (id) } { "‹ Volver a la cita" } }
        h2 { "Mover " (shown.service) " de " (shown.customer) }
        nav.days aria-label="Días" {
            a.button.quiet href={ "/citas/" (id) "/mover?dia=" (date.yesterday().unwrap_or(date)) } { "‹ Antes" }
            h3 { (words.day(date)) }
            a.button.quiet href={ "/citas/" (id) "/mover?dia=" (date.tomorrow().unwrap_or(date)) } { "Después ›" }
        }
        @if slots.is_empty() { p.empty { "No hay horas libres ese día." } }
        ul.slots {
            @for slot in &slots {
                // Its own time with its own person is where it already is.
                @for staff_id in slot.staff_ids.iter().filter(|s| !(slot.starts_at == shown.starts_at && **s == shown.staff_id)) {
                    li {
                        form method="post" action={ "/citas/" (id) "/mover" } {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            input type="hidden" name="clave" value=(Uuid::new_v4());
                            input type="hidden" name="inicio" value=(slot.starts_at.as_second());
                            input type="hidden" name="personal" value=(staff_id);
                            button.quiet type="submit" { (words.clock(slot.starts_at, &shown.tz)) " · " (name_of(*staff_id)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        "Mover cita",
        Some(top_bar(&shown.business, &viewer)),
        body,
    ))
}

async fn staff_names(state: &Shared, viewer: &Viewer) -> ApiResult<Vec<(Uuid, String)>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let rows = tx.query("SELECT id, name FROM staff", &[]).await?;
    tx.commit().await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

#[derive(Debug, Deserialize)]
pub struct Move {
    clave: Uuid,
    inicio: i64,
    personal: Option<Uuid>,
}

/// `POST /citas/{id}/mover`: to the time picked.
pub async fn moved(
    State(state): State<Shared>,
    Path(id): Path<Uuid>,
    posted: Posted<Move>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    let starts_at = Timestamp::from_second(form.inicio)
        .map_err(|_| ApiError::BadRequest("not a time".into()))?;
    let request = Request::Reschedule(RescheduleRequest {
        actor: viewer.caller.actor(),
        idempotency_key: format!("web:{}", form.clave),
        appointment_id: id,
        starts_at,
        staff_id: form.personal,
    });
    match state.schedule(&request).await {
        Ok(_) => Ok(see_other(&format!("/citas/{id}?listo=moved"))),
        Err(error) => refused(&state, &viewer, id, error).await,
    }
}

fn status_label(status: Status) -> &'static str {
    match status {
        Status::Pending => "Por aprobar",
        Status::Confirmed => "Confirmada",
        Status::Completed => "Completada",
        Status::NoShow => "No vino",
        Status::Cancelled => "Cancelada",
    }
}
