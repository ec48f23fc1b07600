//! Ajustes › Equipo: who is on the team, with their WhatsApp number and what they may do
//! beyond their own agenda; adding someone (welcomed by WhatsApp) and taking someone off
//! (their appointments stay). The owner's only; scheduling makes every change.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::{
    contracts::scheduling::{
        AddStaffRequest, RemoveStaffRequest, Request, SchedulingError, StaffPermissionsRequest,
        permissions,
    },
    whatsapp::phone,
};
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

const PERMISSIONS: [(&str, &str); 2] = [
    (
        permissions::VIEW_BUSINESS_SCHEDULE,
        "Ve la agenda y los chats de todos",
    ),
    (
        permissions::MANAGE_APPOINTMENTS,
        "Reserva, mueve y cancela citas de otros",
    ),
];

#[derive(Debug, Deserialize)]
pub struct Saved {
    listo: Option<String>,
}

/// `GET /ajustes/equipo`
pub async fn page_for(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(saved): Query<Saved>,
) -> ApiResult<Response> {
    let note = saved.listo.as_deref().map(|what| match what {
        "agregado" => {
            "Listo: ya está en el equipo y le llega un mensaje de bienvenida por WhatsApp."
        }
        "quitado" => "Listo: ya no está en el equipo; sus citas siguen en la agenda.",
        "horario" => "Listo: horario guardado.",
        _ => "Listo: permisos guardados.",
    });
    render(&state, &viewer, note, None, StatusCode::OK).await
}

async fn render(
    state: &Shared,
    viewer: &Viewer,
    note: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> ApiResult<Response> {
    if let Some(refused) = super::owner_only(viewer) {
        return Ok(refused);
    }
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let business: String = tx
        .query_one("SELECT name FROM organizations", &[])
        .await?
        .get(0);
    let team = tx
        .query(
            "SELECT id, name, phone, role = 'owner', permissions FROM staff WHERE active
             ORDER BY role = 'owner' DESC, name",
            &[],
        )
        .await?;
    tx.commit().await?;
    let hidden = |action: &str| {
        html! {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            input type="hidden" name="accion" value=(action);
        }
    };
    let body = html! {
        (super::settings_tabs("equipo"))
        h2 { "Equipo" }
        @if let Some(note) = note { p.note role="status" { (note) } }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        ul.inbox {
            @for member in &team {
                @let id: Uuid = member.get(0);
                @let granted: Vec<String> = member.get(4);
                li.card.wide {
                    p { strong { (member.get::<_, String>(1)) } @if member.get::<_, bool>(3) { " · dueño" } }
                    @if let Some(number) = member.get::<_, Option<String>>(2) { p.hint { "+" (number) } }
                    p { a href={ "/ajustes/equipo/" (id) "/horario" } { "Su horario" } }
                    @if !member.get::<_, bool>(3) {
                        form method="post" action="/ajustes/equipo" {
                            (hidden("permisos"))
                            input type="hidden" name="persona" value=(id);
                            @for (permission, label) in PERMISSIONS {
                                label.check {
                                    input type="checkbox" name={ "puede_" (permission) } checked[granted.iter().any(|g| g == permission)];
                                    " " (label)
                                }
                            }
                            button.quiet type="submit" { "Guardar permisos" }
                        }
                        form method="post" action="/ajustes/equipo" {
                            (hidden("quitar"))
                            input type="hidden" name="persona" value=(id);
                            button.quiet type="submit" { "Quitar del equipo" }
                        }
                    }
                }
            }
        }
        form.card.wide method="post" action="/ajustes/equipo" {
            h3 { "Agregar a alguien" }
            (hidden("agregar"))
            label for="nombre" { "Nombre" }
            input #nombre type="text" name="nombre" maxlength="80" required;
            label for="telefono" { "WhatsApp" }
            input #telefono type="tel" name="telefono" required;
            p.hint { "10 dígitos, o con +57 en Colombia. Podrá escribir a este número como equipo." }
            button type="submit" { "Agregar" }
        }
    };
    Ok(with_status(
        status,
        page("Equipo", Some(top_bar(&business, viewer)), body),
    ))
}

/// `POST /ajustes/equipo`: add, remove, or set someone's permissions.
pub async fn save(
    State(state): State<Shared>,
    posted: Posted<super::Fields>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    let value = |key: &str| form.value(key);
    let actor = viewer.caller.actor();
    let idempotency_key = format!("web:{}", value("clave"));
    let person = || {
        value("persona")
            .parse::<Uuid>()
            .map_err(|_| ApiError::BadRequest("no such person".into()))
    };
    let (request, done) = match value("accion").as_str() {
        "agregar" => {
            let name = value("nombre");
            let number = phone::parse_typed(&value("telefono"), "52");
            let (false, Some(number)) = (name.is_empty(), number) else {
                let why = "Faltan el nombre o un número de WhatsApp válido.";
                return render(
                    &state,
                    &viewer,
                    None,
                    Some(why),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            };
            (
                Request::AddStaff(AddStaffRequest {
                    actor,
                    idempotency_key,
                    name,
                    phone: number,
                    service_type_ids: None,
                }),
                "agregado",
            )
        }
        "quitar" => (
            Request::RemoveStaff(RemoveStaffRequest {
                actor,
                idempotency_key,
                staff_id: person()?,
            }),
            "quitado",
        ),
        "permisos" => {
            let granted = PERMISSIONS
                .iter()
                .filter(|(p, _)| form.checked(&format!("puede_{p}")))
                .map(|(p, _)| (*p).to_owned())
                .collect();
            (
                Request::SetStaffPermissions(StaffPermissionsRequest {
                    actor,
                    idempotency_key,
                    staff_id: person()?,
                    permissions: granted,
                }),
                "permisos",
            )
        }
        _ => return Err(ApiError::BadRequest("unknown action".into())),
    };
    match state.schedule(&request).await {
        Ok(_) => Ok(see_other(&format!("/ajustes/equipo?listo={done}"))),
        Err(ApiError::Scheduling(error)) => {
            tracing::info!(?error, "a team change from the dashboard was refused");
            let why = match error {
                SchedulingError::InvalidRequest { reason } if reason.contains("phone") => {
                    "Alguien del equipo ya tiene ese número."
                }
                SchedulingError::NotFound { .. } => "Esa persona ya no está en el equipo.",
                _ => "No se pudo hacer el cambio.",
            };
            render(&state, &viewer, None, Some(why), StatusCode::CONFLICT).await
        }
        Err(error) => Err(error),
    }
}
