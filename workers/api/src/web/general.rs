//! Ajustes › Asistente y avisos: the reminders customers get, the review request and its
//! link, who answers (the AI, buttons, or the AI with buttons when it fails), whether
//! customers' bookings wait for approval, and until when customers may change or cancel.
//! Saved under the version the form was shown with, so two people saving at once cannot
//! undo each other unnoticed.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::contracts::scheduling::{
    AssistantMode, DepositPolicy, Request, SchedulingError, Settings, UpdateSettingsRequest,
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

/// Reminder times offered, minutes before the appointment.
const REMINDERS: [(u32, &str); 4] = [
    (1440, "Un día antes"),
    (240, "4 horas antes"),
    (120, "2 horas antes"),
    (60, "1 hora antes"),
];
pub(super) const CUTOFFS: [(u32, &str); 5] = [
    (0, "Hasta la hora de la cita"),
    (120, "Hasta 2 horas antes"),
    (240, "Hasta 4 horas antes"),
    (720, "Hasta 12 horas antes"),
    (1440, "Hasta 1 día antes"),
];
/// How long a booking may wait for the owner's approval.
const HOLDS: [(u32, &str); 4] = [
    (30, "Media hora"),
    (120, "2 horas"),
    (360, "6 horas"),
    (1440, "Un día"),
];
const MODES: [(AssistantMode, &str); 3] = [
    (
        AssistantMode::AiWithGuidedFallback,
        "Asistente con IA, y botones si la IA falla",
    ),
    (AssistantMode::Ai, "Sólo el asistente con IA"),
    (AssistantMode::Guided, "Sólo botones y listas, sin IA"),
];

#[derive(Debug, Deserialize)]
pub struct Saved {
    listo: Option<String>,
}

async fn current(state: &Shared, viewer: &Viewer) -> ApiResult<(String, Settings, i64)> {
    let organization_id = viewer.caller.organization_id;
    let (settings, version) = crate::routes::settings::settings(state, organization_id).await?;
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, organization_id).await?;
    let business = tx
        .query_one("SELECT name FROM organizations", &[])
        .await?
        .get(0);
    tx.commit().await?;
    Ok((business, settings, version))
}

/// `GET /ajustes/general`
pub async fn page_for(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(saved): Query<Saved>,
) -> ApiResult<Response> {
    let (business, settings, version) = current(&state, &viewer).await?;
    let note = saved.listo.is_some().then_some("Listo: ajustes guardados.");
    render(
        &viewer,
        &business,
        &settings,
        version,
        note,
        None,
        StatusCode::OK,
    )
}

/// The deposit the form asks for: none, a fixed amount in pesos, or a percentage.
pub(super) fn deposit_of(kind: &str, value: &str) -> Result<DepositPolicy, &'static str> {
    match kind {
        "fijo" => cita_shared::typed::price(value)
            .filter(|minor| (100..=100_000_000).contains(minor))
            .map(|amount_minor| DepositPolicy::Fixed { amount_minor })
            .ok_or("El anticipo fijo va en pesos, por ejemplo 100 o 150.50."),
        "porcentaje" => value
            .trim()
            .trim_end_matches('%')
            .parse::<u8>()
            .ok()
            .filter(|p| (1..=100).contains(p))
            .map(|percent| DepositPolicy::Percent { percent })
            .ok_or("El porcentaje del anticipo va de 1 a 100."),
        _ => Ok(DepositPolicy::None),
    }
}

/// The deposit form fields' values: its kind (empty: the business's) and its amount.
pub(super) fn deposit_fields(deposit: Option<DepositPolicy>) -> (&'static str, String) {
    match deposit {
        None => ("", String::new()),
        Some(DepositPolicy::None) => ("ninguno", String::new()),
        Some(DepositPolicy::Fixed { amount_minor }) => {
            ("fijo", cita_shared::typed::decimal(amount_minor))
        }
        Some(DepositPolicy::Percent { percent }) => ("porcentaje", percent.to_string()),
    }
}

fn render(
    viewer: &Viewer,
    business: &str,
    settings: &Settings,
    version: i64,
    note: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> ApiResult<Response> {
    if let Some(refused) = super::owner_only(viewer) {
        return Ok(refused);
    }
    let body = html! {
        (super::settings_tabs("general"))
        h2 { "Asistente y avisos" }
        @if let Some(note) = note { p.note role="status" { (note) } }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form.card.wide method="post" action="/ajustes/general" {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            input type="hidden" name="version" value=(version);
            fieldset {
                legend { "Recordatorio al cliente" }
                @for (minutes, label) in REMINDERS {
                    label.check {
                        input type="checkbox" name={ "recordar_" (minutes) } checked[settings.reminder_offsets_minutes.contains(&minutes)];
                        " " (label)
                    }
                }
            }
            fieldset {
                legend { "Reseñas" }
                label.check {
                    input type="checkbox" name="resenas" checked[settings.review_request_after_minutes.is_some()];
                    " Pedir una reseña dos horas después de la visita"
                }
                label for="enlace" { "Enlace para dejar la reseña" }
                input #enlace type="text" name="enlace" value=(settings.review_link.as_deref().unwrap_or("")) inputmode="url" aria-describedby="enlace-ayuda";
                p.hint #enlace-ayuda { "Empieza con https://; por ejemplo, el de reseñas de la ficha del negocio en Google." }
            }
            fieldset {
                legend { "Quién responde a los clientes" }
                @for (mode, label) in MODES {
                    label.check {
                        input type="radio" name="modo" value=(mode.as_str()) checked[settings.assistant_mode == mode];
                        " " (label)
                    }
                }
            }
            fieldset {
                legend { "Citas por aprobar" }
                label.check {
                    input type="checkbox" name="aprobar" checked[settings.approval_required];
                    " Las citas que agendan los clientes esperan mi aprobación"
                }
                label for="espera" { "Si nadie la aprueba, el horario se libera después de" }
                select #espera name="espera" aria-describedby="espera-ayuda" {
                    @for (minutes, label) in HOLDS {
                        option value=(minutes) selected[settings.hold_minutes == minutes] { (label) }
                    }
                }
                p.hint #espera-ayuda { "Mientras espera, nadie más puede tomar ese horario. Cada servicio puede pedir otra cosa." }
            }
            fieldset {
                legend { "Anticipo" }
                @let (kind, amount) = deposit_fields(Some(settings.deposit));
                label for="anticipo" { "Para confirmar su cita, los clientes pagan" }
                select #anticipo name="anticipo" aria-describedby="anticipo-ayuda" {
                    @for (value, label) in [("ninguno", "Nada por adelantado"), ("fijo", "Un monto fijo"), ("porcentaje", "Un porcentaje del precio")] {
                        option value=(value) selected[kind == value] { (label) }
                    }
                }
                label for="anticipo_valor" { "Monto en pesos, o porcentaje" }
                input #anticipo_valor type="text" name="anticipo_valor" value=(amount) inputmode="decimal";
                p.hint #anticipo-ayuda { "Se cobra con un enlace de Mercado Pago; la cita espera el pago el mismo tiempo que una aprobación." }
                label.check {
                    input type="checkbox" name="no_llega_pierde" checked[settings.no_show_forfeits];
                    " Si el cliente no llega, el anticipo no se devuelve"
                }
            }
            label for="limite" { "Los clientes pueden cambiar o cancelar" }
            select #limite name="limite" {
                @for (minutes, label) in CUTOFFS {
                    option value=(minutes) selected[settings.change_cutoff_minutes == minutes] { (label) }
                }
            }
            button type="submit" { "Guardar ajustes" }
        }
    };
    Ok(with_status(
        status,
        page("Ajustes", Some(top_bar(business, viewer)), body),
    ))
}

/// `POST /ajustes/general`
pub async fn save(
    State(state): State<Shared>,
    posted: Posted<super::Fields>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    let (business, stored, _) = current(&state, &viewer).await?;
    let value = |key: &str| form.value(key);
    let checked = |key: &str| form.checked(key);
    let version: i64 = value("version")
        .parse()
        .map_err(|_| ApiError::BadRequest("no version".into()))?;
    let link = value("enlace");
    let settings = Settings {
        reminder_offsets_minutes: REMINDERS
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| checked(&format!("recordar_{m}")))
            .collect(),
        review_request_after_minutes: checked("resenas")
            .then_some(stored.review_request_after_minutes.unwrap_or(120)),
        review_link: Some(link.clone()).filter(|l| !l.is_empty()),
        assistant_mode: AssistantMode::parse(&value("modo")).unwrap_or(stored.assistant_mode),
        handoff_minutes: stored.handoff_minutes,
        change_cutoff_minutes: value("limite")
            .parse()
            .ok()
            .filter(|m| CUTOFFS.iter().any(|(c, _)| c == m))
            .unwrap_or(stored.change_cutoff_minutes),
        approval_required: checked("aprobar"),
        hold_minutes: value("espera")
            .parse()
            .ok()
            .filter(|m| HOLDS.iter().any(|(h, _)| h == m))
            .unwrap_or(stored.hold_minutes),
        deposit: stored.deposit,
        no_show_forfeits: checked("no_llega_pierde"),
    };
    let deposit = match deposit_of(&value("anticipo"), &value("anticipo_valor")) {
        Ok(deposit) => deposit,
        Err(why) => {
            return render(
                &viewer,
                &business,
                &settings,
                version,
                None,
                Some(why),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let settings = Settings {
        deposit,
        ..settings
    };
    if !link.is_empty()
        && (!link.starts_with("https://") || link.contains(char::is_whitespace) || link.len() > 500)
    {
        let why = "El enlace de reseñas empieza con https:// y no lleva espacios.";
        return render(
            &viewer,
            &business,
            &settings,
            version,
            None,
            Some(why),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let request = Request::UpdateSettings(UpdateSettingsRequest {
        actor: viewer.caller.actor(),
        idempotency_key: format!("web:{}", value("clave")),
        expected_version: version,
        settings: settings.clone(),
    });
    match state.schedule(&request).await {
        Ok(_) => Ok(see_other("/ajustes/general?listo=1")),
        Err(ApiError::Scheduling(SchedulingError::StaleVersion { current })) => {
            let why = "Alguien cambió estos ajustes mientras tanto: así quedaron; hay que guardar otra vez.";
            let (_, fresh, _) = self::current(&state, &viewer).await?;
            render(
                &viewer,
                &business,
                &fresh,
                current,
                None,
                Some(why),
                StatusCode::CONFLICT,
            )
        }
        Err(ApiError::Scheduling(error)) => {
            tracing::info!(?error, "settings from the dashboard were refused");
            let why = match error {
                SchedulingError::InvalidRequest { reason } if reason.contains("Mercado Pago") => {
                    "Para pedir anticipos, primero hay que conectar la cuenta de Mercado Pago del negocio."
                }
                _ => "No se pudieron guardar los ajustes.",
            };
            render(
                &viewer,
                &business,
                &settings,
                version,
                None,
                Some(why),
                StatusCode::CONFLICT,
            )
        }
        Err(error) => Err(error),
    }
}
