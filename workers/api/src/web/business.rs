//! Ajustes › Información: what the assistant and guided mode tell customers — the
//! description, how they can pay, each location's address and how to get there, and the
//! frequent questions. Data for customers, never instructions to the assistant (the
//! prompt quotes it as such). The owner's only; scheduling stores it.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::contracts::scheduling::{
    BusinessInfo, FaqEntry, Request, UpdateBusinessInfoRequest,
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
    routes::settings::business_info,
    state::Shared,
    tenant,
};

const PAYMENTS: [&str; 5] = [
    "efectivo",
    "tarjeta",
    "transferencia",
    "Mercado Pago",
    "Nequi",
];

#[derive(Debug, Deserialize)]
pub struct Saved {
    listo: Option<String>,
}

/// `GET /ajustes/negocio`
pub async fn page_for(
    State(state): State<Shared>,
    viewer: Viewer,
    Query(saved): Query<Saved>,
) -> ApiResult<Response> {
    render(
        &state,
        &viewer,
        saved
            .listo
            .is_some()
            .then_some("Listo: información guardada."),
        None,
        StatusCode::OK,
    )
    .await
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
    let info = business_info(state, viewer.caller.organization_id).await?;
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let business: String = tx
        .query_one("SELECT name FROM organizations", &[])
        .await?
        .get(0);
    tx.commit().await?;
    let hidden = |action: &str| {
        html! {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            input type="hidden" name="accion" value=(action);
        }
    };
    let body = html! {
        (super::settings_tabs("negocio"))
        h2 { "Información para los clientes" }
        p.hint { "El asistente y los botones responden con esto: dónde están, cómo pagar, preguntas frecuentes." }
        @if let Some(note) = note { p.note role="status" { (note) } }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form.card.wide method="post" action="/ajustes/negocio" {
            (hidden("datos"))
            label for="descripcion" { "Descripción" }
            textarea #descripcion name="descripcion" rows="3" maxlength="1000" { (info.description.as_deref().unwrap_or("")) }
            fieldset {
                legend { "Formas de pago" }
                @for method in PAYMENTS {
                    label.check {
                        input type="checkbox" name={ "pago_" (method) } checked[info.payment_methods.iter().any(|m| m == method)];
                        " " (method)
                    }
                }
            }
            @for location in &info.locations {
                fieldset {
                    legend { (location.name) }
                    label for={ "direccion_" (location.id) } { "Dirección" }
                    input type="text" id={ "direccion_" (location.id) } name={ "direccion_" (location.id) } value=(location.address.as_deref().unwrap_or("")) maxlength="300";
                    label for={ "llegar_" (location.id) } { "Cómo llegar" }
                    input type="text" id={ "llegar_" (location.id) } name={ "llegar_" (location.id) } value=(location.directions.as_deref().unwrap_or("")) maxlength="300";
                }
            }
            button type="submit" { "Guardar" }
        }
        section.card.wide {
            h3 { "Preguntas frecuentes" }
            @if info.faq.is_empty() { p.empty { "Todavía no hay preguntas." } }
            ul.inbox {
                @for (i, entry) in info.faq.iter().enumerate() {
                    li {
                        p { strong { (entry.question) } }
                        p { (entry.answer) }
                        form method="post" action="/ajustes/negocio" {
                            (hidden("quitar"))
                            input type="hidden" name="pregunta" value=(i);
                            button.quiet type="submit" { "Quitar" }
                        }
                    }
                }
            }
            form method="post" action="/ajustes/negocio" {
                (hidden("agregar"))
                label for="nueva" { "Pregunta" }
                input #nueva type="text" name="nueva" maxlength="200" required;
                label for="respuesta" { "Respuesta" }
                textarea #respuesta name="respuesta" rows="2" maxlength="1000" required {}
                button type="submit" { "Agregar pregunta" }
            }
        }
    };
    Ok(with_status(
        status,
        page("Información", Some(top_bar(&business, viewer)), body),
    ))
}

/// `POST /ajustes/negocio`: the details, a new question, or a question taken away.
pub async fn save(
    State(state): State<Shared>,
    posted: Posted<super::Fields>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    if !viewer.caller.owner {
        return render(&state, &viewer, None, None, StatusCode::FORBIDDEN).await;
    }
    let value = |key: &str| form.value(key);
    let optional = |key: &str| Some(value(key)).filter(|v| !v.is_empty());
    let mut info: BusinessInfo = business_info(&state, viewer.caller.organization_id).await?;
    match value("accion").as_str() {
        "datos" => {
            info.description = optional("descripcion");
            info.payment_methods = PAYMENTS
                .iter()
                .filter(|m| form.checked(&format!("pago_{m}")))
                .map(|m| (*m).to_owned())
                .collect();
            for location in &mut info.locations {
                location.address = optional(&format!("direccion_{}", location.id));
                location.directions = optional(&format!("llegar_{}", location.id));
            }
        }
        "agregar" => {
            let (question, answer) = (value("nueva"), value("respuesta"));
            if question.is_empty() || answer.is_empty() {
                let why = "Faltan la pregunta o su respuesta.";
                return render(
                    &state,
                    &viewer,
                    None,
                    Some(why),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            if info.faq.len() >= 30 {
                let why = "Caben hasta 30 preguntas; hay que quitar alguna antes.";
                return render(
                    &state,
                    &viewer,
                    None,
                    Some(why),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            info.faq.push(FaqEntry { question, answer });
        }
        "quitar" => {
            let index: usize = value("pregunta")
                .parse()
                .map_err(|_| ApiError::BadRequest("no such question".into()))?;
            if index >= info.faq.len() {
                return Err(ApiError::NotFound("question"));
            }
            info.faq.remove(index);
        }
        _ => return Err(ApiError::BadRequest("unknown action".into())),
    }
    let request = Request::UpdateBusinessInfo(UpdateBusinessInfoRequest {
        actor: viewer.caller.actor(),
        idempotency_key: format!("web:{}", value("clave")),
        info,
    });
    match state.schedule(&request).await {
        Ok(_) => Ok(see_other("/ajustes/negocio?listo=1")),
        Err(ApiError::Scheduling(error)) => {
            tracing::info!(
                ?error,
                "business information from the dashboard was refused"
            );
            render(
                &state,
                &viewer,
                None,
                Some("No se pudo guardar: algún texto es demasiado largo."),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(error) => Err(error),
    }
}
