//! Ajustes › Servicios: the price list. Each service's name, length, price, the time kept
//! free after it, who does it, and whether it is still offered; a new one. The owner's
//! only; every field is checked here with a Spanish message beside it, and again by
//! scheduling, which makes the change.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::{
    contracts::scheduling::{
        Approval, DepositPolicy, Request, SchedulingError, UpsertServiceRequest,
    },
    spanish,
};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    Posted, Viewer,
    general::CUTOFFS,
    layout::{page, see_other, with_status},
    top_bar,
};
use crate::{
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

/// A service as the form shows it (typed values kept as typed when refused).
#[derive(Default)]
struct Draft {
    name: String,
    minutes: String,
    price: String,
    buffer: String,
    staff: Vec<Uuid>,
    active: bool,
    approval: Approval,
    /// `None`: the business's cutoff.
    cutoff: Option<u32>,
    /// `None`: the business's deposit.
    deposit: Option<DepositPolicy>,
}

/// Whether customers' bookings of a service wait for the owner's approval.
const APPROVALS: [(Approval, &str); 3] = [
    (Approval::Business, "Como en Ajustes › Asistente y avisos"),
    (Approval::Required, "Siempre esperan mi aprobación"),
    (Approval::Immediate, "Se confirman al momento"),
];

/// Why a field was refused, by field name.
type Problems = Vec<(&'static str, &'static str)>;

#[derive(Debug, Deserialize)]
pub struct Saved {
    listo: Option<String>,
}

/// `GET /ajustes/servicios`
pub async fn list(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(saved): Query<Saved>,
) -> ApiResult<Response> {
    if let Some(refused) = super::owner_only(&viewer) {
        return Ok(refused);
    }
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let org = tx
        .query_one("SELECT name, locale FROM organizations", &[])
        .await?;
    let rows = tx
        .query(
            "SELECT id, name, duration_minutes, price_minor, trim(currency), active FROM service_types
             ORDER BY active DESC, name",
            &[],
        )
        .await?;
    tx.commit().await?;
    let words = spanish::words(org.get::<_, &str>(1));
    let body = html! {
        (super::settings_tabs("servicios"))
        h2 { "Servicios y precios" }
        @if saved.listo.is_some() { p.note role="status" { "Listo: servicio guardado." } }
        p { a.button href="/ajustes/servicios/nuevo" { "Nuevo servicio" } }
        ul.inbox {
            @for row in &rows {
                li {
                    a.card.wide.chat href={ "/ajustes/servicios/" (row.get::<_, Uuid>(0)) } {
                        strong { (row.get::<_, String>(1)) }
                        @if !row.get::<_, bool>(5) { " " span.badge.st-cancelled { "Ya no se ofrece" } }
                        span.hint {
                            (row.get::<_, i32>(2)) " min · " (words.price(row.get(3), &row.get::<_, String>(4)))
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        "Servicios",
        Some(top_bar(org.get::<_, &str>(0), &viewer)),
        body,
    ))
}

/// `GET /ajustes/servicios/{id}` (`nuevo`: an empty form).
pub async fn edit(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    if let Some(refused) = super::owner_only(&viewer) {
        return Ok(refused);
    }
    let id = service_id(&id)?;
    let draft = match id {
        None => Draft {
            active: true,
            buffer: "0".into(),
            ..Draft::default()
        },
        Some(id) => {
            let mut client = state.db().await?;
            let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
            let row = tx
                .query_opt(
                    "SELECT name, duration_minutes, price_minor, buffer_minutes, active,
                            ARRAY(SELECT staff_id FROM staff_services WHERE service_type_id = s.id),
                            approval_required, change_cutoff_minutes, deposit_kind, deposit_value
                     FROM service_types s WHERE id = $1",
                    &[&id],
                )
                .await?
                .ok_or(ApiError::NotFound("service"))?;
            tx.commit().await?;
            let price: i64 = row.get(2);
            Draft {
                name: row.get(0),
                minutes: row.get::<_, i32>(1).to_string(),
                price: cita_shared::typed::decimal(price),
                buffer: row.get::<_, i32>(3).to_string(),
                active: row.get(4),
                staff: row.get(5),
                approval: Approval::from_required(row.get(6)),
                cutoff: row
                    .get::<_, Option<i32>>(7)
                    .and_then(|m| u32::try_from(m).ok()),
                deposit: row.get::<_, Option<&str>>(8).and_then(|kind| {
                    DepositPolicy::from_columns(kind, row.get::<_, Option<i64>>(9).unwrap_or(0))
                }),
            }
        }
    };
    form_page(&state, &viewer, id, &draft, &[], StatusCode::OK).await
}

fn service_id(text: &str) -> ApiResult<Option<Uuid>> {
    match text {
        "nuevo" => Ok(None),
        id => Uuid::try_parse(id)
            .map(Some)
            .map_err(|_| ApiError::NotFound("service")),
    }
}

async fn form_page(
    state: &Shared,
    viewer: &Viewer,
    id: Option<Uuid>,
    draft: &Draft,
    problems: &[(&'static str, &'static str)],
    status: StatusCode,
) -> ApiResult<Response> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let business: String = tx
        .query_one("SELECT name FROM organizations", &[])
        .await?
        .get(0);
    let team = tx
        .query("SELECT id, name FROM staff WHERE active ORDER BY name", &[])
        .await?;
    tx.commit().await?;
    let problem = |field: &str| {
        problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, why)| *why)
    };
    let field = |name: &'static str, label: &str, value: &str, kind: &str, hint: &str| -> Markup {
        let why = problem(name);
        html! {
            label for=(name) { (label) }
            input #(name) type=(kind) name=(name) value=(value) inputmode=[(kind == "text" && name != "nombre").then_some("decimal")]
                aria-invalid=[why.map(|_| "true")] aria-describedby={ (name) "-ayuda" };
            @match why {
                Some(why) => p.field-error id={ (name) "-ayuda" } { (why) },
                None => p.hint id={ (name) "-ayuda" } { (hint) },
            }
        }
    };
    let action = match id {
        Some(id) => format!("/ajustes/servicios/{id}"),
        None => "/ajustes/servicios/nuevo".into(),
    };
    let body = html! {
        p { a href="/ajustes/servicios" { "‹ Servicios" } }
        h2 { @if id.is_some() { "Editar " (draft.name) } @else { "Nuevo servicio" } }
        @if let Some(why) = problem("servicio") { p.error role="alert" { (why) } }
        form.card.wide method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            (field("nombre", "Nombre", &draft.name, "text", "Como lo verán los clientes."))
            (field("duracion", "Duración (minutos)", &draft.minutes, "text", "De 5 a 720."))
            (field("precio", "Precio", &draft.price, "text", "En pesos, por ejemplo 250 o 250.50."))
            (field("preparacion", "Tiempo libre después (minutos)", &draft.buffer, "text", "Limpieza o preparación, de 0 a 240."))
            fieldset {
                legend { "Quién lo hace" }
                @for member in &team {
                    @let member_id: Uuid = member.get(0);
                    label.check {
                        input type="checkbox" name={ "hace_" (member_id) } checked[draft.staff.contains(&member_id) || id.is_none()];
                        " " (member.get::<_, String>(1))
                    }
                }
                @if let Some(why) = problem("equipo") { p.field-error { (why) } }
            }
            label for="aprobacion" { "Las citas que agendan los clientes" }
            select #aprobacion name="aprobacion" {
                @for (approval, label) in APPROVALS {
                    option value=(approval.as_str()) selected[draft.approval == approval] { (label) }
                }
            }
            label for="limite" { "Los clientes pueden cambiar o cancelar" }
            select #limite name="limite" {
                option value="" selected[draft.cutoff.is_none()] { "Como en Ajustes › Asistente y avisos" }
                @if let Some(own) = draft.cutoff.filter(|m| !CUTOFFS.iter().any(|(c, _)| c == m)) {
                    option value=(own) selected { "Hasta " (own) " minutos antes" }
                }
                @for (minutes, label) in CUTOFFS {
                    option value=(minutes) selected[draft.cutoff == Some(minutes)] { (label) }
                }
            }
            @if let Some(why) = problem("limite") { p.field-error { (why) } }
            @let (kind, amount) = super::general::deposit_fields(draft.deposit);
            label for="anticipo" { "Para confirmar la cita, los clientes pagan" }
            select #anticipo name="anticipo" {
                @for (value, label) in [("", "Como en Ajustes › Asistente y avisos"), ("ninguno", "Nada por adelantado"), ("fijo", "Un monto fijo"), ("porcentaje", "Un porcentaje del precio")] {
                    option value=(value) selected[kind == value] { (label) }
                }
            }
            (field("anticipo_valor", "Monto en pesos, o porcentaje", &amount, "text", "Se cobra con un enlace de Mercado Pago."))
            label.check { input type="checkbox" name="activo" checked[draft.active]; " Se ofrece a los clientes" }
            button type="submit" { "Guardar" }
        }
    };
    Ok(with_status(
        status,
        page("Servicio", Some(top_bar(&business, viewer)), body),
    ))
}

/// `POST /ajustes/servicios/{id}` (`nuevo`: creates it).
pub async fn save(
    State(state): State<Shared>,
    Path(id): Path<String>,
    posted: Posted<super::Fields>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    if let Some(refused) = super::owner_only(&viewer) {
        return Ok(refused);
    }
    let id = service_id(&id)?;
    let value = |key: &str| form.value(key);
    let draft = Draft {
        name: value("nombre"),
        minutes: value("duracion"),
        price: value("precio"),
        buffer: value("preparacion"),
        staff: form
            .suffixes("hace_")
            .filter_map(|id| id.parse().ok())
            .collect(),
        active: form.checked("activo"),
        approval: Approval::parse(&value("aprobacion")).unwrap_or_default(),
        cutoff: value("limite").parse().ok(),
        deposit: None,
    };
    let deposit = match value("anticipo").as_str() {
        "" => Ok(None),
        kind => super::general::deposit_of(kind, &value("anticipo_valor")).map(Some),
    };
    let draft = Draft {
        deposit: deposit.unwrap_or(None),
        ..draft
    };
    let mut problems: Problems = Vec::new();
    if let Err(why) = deposit {
        problems.push(("anticipo_valor", why));
    }
    if !value("limite").is_empty() && draft.cutoff.is_none_or(|m| m > 7 * 24 * 60) {
        problems.push(("limite", "Elige hasta cuándo pueden cambiar la cita."));
    }
    let name_ok = !draft.name.is_empty() && draft.name.chars().count() <= 80;
    if !name_ok {
        problems.push(("nombre", "Falta un nombre, de 1 a 80 letras."));
    }
    let minutes = draft
        .minutes
        .parse::<u32>()
        .ok()
        .filter(|m| (5..=720).contains(m));
    if minutes.is_none() {
        problems.push(("duracion", "La duración va de 5 a 720 minutos, en números."));
    }
    let price = cita_shared::typed::price(&draft.price);
    if price.is_none() {
        problems.push(("precio", "El precio va en números: 250 o 250.50."));
    }
    let buffer = draft.buffer.parse::<u32>().ok().filter(|b| *b <= 240);
    if buffer.is_none() {
        problems.push(("preparacion", "De 0 a 240 minutos, en números."));
    }
    if draft.staff.is_empty() && draft.active {
        problems.push(("equipo", "Falta elegir al menos a una persona que lo haga."));
    }
    if !problems.is_empty() {
        return form_page(
            &state,
            &viewer,
            id,
            &draft,
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let request = Request::UpsertService(UpsertServiceRequest {
        actor: viewer.caller.actor(),
        idempotency_key: format!("web:{}", value("clave")),
        service_type_id: id,
        name: Some(draft.name.clone()),
        description: None,
        duration_minutes: minutes,
        price_minor: price,
        buffer_minutes: buffer,
        active: Some(draft.active),
        staff_ids: Some(draft.staff.clone()),
        approval: Some(draft.approval),
        change_cutoff_minutes: Some(draft.cutoff),
        deposit: Some(draft.deposit),
    });
    match state.schedule(&request).await {
        Ok(_) => Ok(see_other("/ajustes/servicios?listo=1")),
        Err(ApiError::Scheduling(error)) => {
            tracing::info!(?error, "a service from the dashboard was refused");
            let why = match error {
                SchedulingError::InvalidRequest { reason } if reason.contains("name") => {
                    "Ya hay otro servicio con ese nombre."
                }
                SchedulingError::InvalidRequest { reason } if reason.contains("Mercado Pago") => {
                    "Para pedir anticipos, primero hay que conectar la cuenta de Mercado Pago del negocio."
                }
                SchedulingError::NotFound { .. } => {
                    "Alguien del equipo ya no está; hay que recargar la página."
                }
                _ => "No se pudo guardar el servicio.",
            };
            form_page(
                &state,
                &viewer,
                id,
                &draft,
                &[("servicio", why)],
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(error) => Err(error),
    }
}
