//! An empty time on the day's grid, tapped: book a customer there (by phone, found or
//! created, and the service) or block the time. Scheduling checks the time is free and
//! that the person may act for that staff member, as for the API's bookings.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::{
    contracts::scheduling::{
        BlockTimeRequest, BookRequest, Outcome, Request, SchedulingError, Source,
    },
    spanish,
    whatsapp::phone,
};
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use maud::html;
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

/// Lengths a block can take, in minutes.
const BLOCKS: [i64; 5] = [30, 60, 90, 120, 240];

#[derive(Debug, Deserialize)]
pub struct Slot {
    personal: Uuid,
    inicio: i64,
}

/// `GET /hoy/nueva?personal=&inicio=`: the two forms.
pub async fn form(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(slot): Query<Slot>,
) -> ApiResult<Response> {
    render(&state, &viewer, &slot, None).await
}

async fn render(
    state: &Shared,
    viewer: &Viewer,
    slot: &Slot,
    error: Option<&str>,
) -> ApiResult<Response> {
    let starts_at = Timestamp::from_second(slot.inicio)
        .map_err(|_| ApiError::BadRequest("not a time".into()))?;
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let org = tx
        .query_one("SELECT name, timezone, locale FROM organizations", &[])
        .await?;
    let staff: String = tx
        .query_opt(
            "SELECT name FROM staff WHERE id = $1 AND active",
            &[&slot.personal],
        )
        .await?
        .ok_or(ApiError::NotFound("staff member"))?
        .get(0);
    let services = tx
        .query(
            "SELECT s.id, s.name, s.duration_minutes FROM service_types s
             JOIN staff_services x ON x.service_type_id = s.id AND x.staff_id = $1
             WHERE s.active ORDER BY s.name",
            &[&slot.personal],
        )
        .await?;
    tx.commit().await?;
    let tz = TimeZone::get(org.get::<_, &str>(1)).unwrap_or(TimeZone::UTC);
    let words = spanish::words(org.get::<_, &str>(2));
    let when = words.when(starts_at, &tz);
    let day = starts_at.to_zoned(tz).date();
    let hidden = html! {
        input type="hidden" name="csrf" value=(viewer.csrf);
        input type="hidden" name="clave" value=(Uuid::new_v4());
        input type="hidden" name="personal" value=(slot.personal);
        input type="hidden" name="inicio" value=(slot.inicio);
    };
    let body = html! {
        p { a href={ "/hoy?dia=" (day) } { "‹ Volver al día" } }
        h2 { (when) " · " (staff) }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        section.card.wide {
            h3 { "Reservar" }
            form method="post" action="/hoy/nueva" {
                (hidden)
                input type="hidden" name="accion" value="reservar";
                label for="telefono" { "Teléfono del cliente" }
                input #telefono type="tel" name="telefono" autocomplete="off" required;
                p.hint { "Si ya es cliente se encuentra por su número; si no, se registra." }
                label for="nombre" { "Nombre (si es nuevo)" }
                input #nombre type="text" name="nombre" autocomplete="off" maxlength="80";
                label for="servicio" { "Servicio" }
                select #servicio name="servicio" required {
                    @for service in &services {
                        option value=(service.get::<_, Uuid>(0)) { (service.get::<_, String>(1)) " (" (service.get::<_, i32>(2)) " min)" }
                    }
                }
                button type="submit" { "Reservar" }
            }
        }
        section.card.wide {
            h3 { "Bloquear" }
            form method="post" action="/hoy/nueva" {
                (hidden)
                input type="hidden" name="accion" value="bloquear";
                label for="duracion" { "Por cuánto tiempo" }
                select #duracion name="duracion" {
                    @for minutes in BLOCKS { option value=(minutes) { (words.length(minutes)) } }
                }
                label for="motivo" { "Motivo (opcional)" }
                input #motivo type="text" name="motivo" maxlength="120" autocomplete="off";
                button.quiet type="submit" { "Bloquear" }
            }
        }
    };
    Ok(page(
        "Nueva cita",
        Some(top_bar(org.get::<_, &str>(0), viewer)),
        body,
    ))
}

#[derive(Debug, Deserialize)]
pub struct Made {
    clave: Uuid,
    personal: Uuid,
    inicio: i64,
    accion: String,
    #[serde(default)]
    telefono: String,
    #[serde(default)]
    nombre: String,
    servicio: Option<Uuid>,
    duracion: Option<i64>,
    #[serde(default)]
    motivo: String,
}

/// `POST /hoy/nueva`: the booking or the block.
pub async fn made(State(state): State<Shared>, posted: Posted<Made>) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    let slot = Slot {
        personal: form.personal,
        inicio: form.inicio,
    };
    let starts_at = Timestamp::from_second(form.inicio)
        .map_err(|_| ApiError::BadRequest("not a time".into()))?;
    let actor = viewer.caller.actor();
    let idempotency_key = format!("web:{}", form.clave);
    let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let request = match (form.accion.as_str(), form.servicio, form.duracion) {
        ("reservar", Some(service), _) => {
            // Ten digits without a country code: the business's country (Mexico unless
            // the organization is Colombian, which scheduling knows; the form says +57).
            let Some(digits) = phone::parse_typed(&form.telefono, "52") else {
                let why = "Ese teléfono no parece válido.";
                return Ok(with_status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    render(&state, &viewer, &slot, Some(why)).await?,
                ));
            };
            Request::Book(BookRequest {
                actor,
                idempotency_key,
                service_type_id: service,
                starts_at,
                staff_id: Some(form.personal),
                customer_id: None,
                customer_phone: Some(digits),
                customer_name: text(&form.nombre),
                source: Source::Manual,
                notes: None,
            })
        }
        ("bloquear", _, Some(minutes)) if BLOCKS.contains(&minutes) => {
            Request::BlockTime(BlockTimeRequest {
                actor,
                idempotency_key,
                staff_id: form.personal,
                starts_at,
                ends_at: starts_at + SignedDuration::from_mins(minutes),
                reason: text(&form.motivo),
            })
        }
        _ => return Err(ApiError::BadRequest("unknown action".into())),
    };
    match state.schedule(&request).await {
        Ok(Outcome::Appointment { appointment }) => Ok(see_other(&format!(
            "/citas/{}?listo=booked",
            appointment.id
        ))),
        Ok(_) => Ok(see_other("/hoy")),
        Err(ApiError::Scheduling(error)) => {
            tracing::info!(?error, "a booking or block from the dashboard was refused");
            let why = match error {
                SchedulingError::SlotTaken { .. } | SchedulingError::NotAvailable { .. } => {
                    "Esa hora ya no está libre para esa persona."
                }
                SchedulingError::Forbidden => "Sin permiso para la agenda de esa persona.",
                SchedulingError::QuotaExceeded => {
                    "El negocio llegó a las reservas de su plan este mes."
                }
                _ => "No se pudo hacer.",
            };
            Ok(with_status(
                StatusCode::CONFLICT,
                render(&state, &viewer, &slot, Some(why)).await?,
            ))
        }
        Err(error) => Err(error),
    }
}
