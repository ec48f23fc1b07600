//! Conversaciones: the customers' chats, those waiting for a person first; one chat's
//! messages with their delivery ticks; taking it over, giving it back to the assistant,
//! and replying. Outside WhatsApp's 24-hour window the reply box says why free text
//! can't go and offers the template that asks the customer to write back. For the owner
//! and staff who see the whole business, as the API's.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use cita_shared::{
    contracts::{
        outbound::Command,
        scheduling::{
            Outcome, ReleaseRequest, ReplyContent, ReplyRequest, Request, TakeOverRequest,
            permissions::VIEW_BUSINESS_SCHEDULE,
        },
    },
    spanish,
};
use jiff::{SignedDuration, Timestamp, tz::TimeZone};
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
    routes::unexpected,
    state::Shared,
    tenant,
};

const LISTED: i64 = 30;
const MESSAGES: i64 = 60;

/// The page refusing someone who may not read customers' chats, if they may not.
fn refusal(viewer: &Viewer) -> Option<Response> {
    if viewer.caller.may(VIEW_BUSINESS_SCHEDULE) {
        return None;
    }
    let body = html! { p.error role="alert" { "Las conversaciones de los clientes son para el dueño y quien ve la agenda de todos." } };
    Some(with_status(
        StatusCode::FORBIDDEN,
        page("Conversaciones", Some(top_bar("Cita", viewer)), body),
    ))
}

/// The organization's name, zone and locale, for the pages' words.
async fn organization(
    tx: &tokio_postgres::Transaction<'_>,
) -> ApiResult<(String, TimeZone, String)> {
    let org = tx
        .query_one("SELECT name, timezone, locale FROM organizations", &[])
        .await?;
    Ok((
        org.get(0),
        TimeZone::get(org.get::<_, &str>(1)).unwrap_or(TimeZone::UTC),
        org.get(2),
    ))
}

/// `GET /conversaciones`
pub async fn inbox(State(state): State<Shared>, viewer: Viewer) -> ApiResult<Response> {
    if let Some(refused) = refusal(&viewer) {
        return Ok(refused);
    }
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let (business, tz, locale) = organization(&tx).await?;
    let rows = tx
        .query(
            "SELECT v.id, COALESCE(c.name, '+' || c.phone, '+' || v.wa_id),
                    v.status = 'handed_off' AND (v.handed_off_until IS NULL OR v.handed_off_until > $1),
                    v.handoff_reason, v.updated_at,
                    (SELECT left(m.body, 80) FROM messages m WHERE m.conversation_id = v.id
                     ORDER BY m.created_at DESC LIMIT 1)
             FROM conversations v JOIN customers c ON c.id = v.customer_id
             ORDER BY 3 DESC, v.updated_at DESC LIMIT $2",
            &[&now, &LISTED],
        )
        .await?;
    tx.commit().await?;
    let words = spanish::words(&locale);
    let body = html! {
        h2 { "Conversaciones" }
        @if rows.is_empty() { p.empty { "Todavía no hay conversaciones con clientes." } }
        ul.inbox {
            @for row in &rows {
                @let waiting: bool = row.get(2);
                li {
                    a.card.wide.chat href={ "/conversaciones/" (row.get::<_, Uuid>(0)) } {
                        strong { (row.get::<_, String>(1)) }
                        @if waiting { " " span.badge.st-pending { "Espera a una persona" } }
                        span.hint { (words.when(row.get(4), &tz)) }
                        @if let Some(reason) = row.get::<_, Option<String>>(3).filter(|_| waiting) { p.hint { "«" (reason) "»" } }
                        @if let Some(preview) = row.get::<_, Option<String>>(5) { p { (preview) } }
                    }
                }
            }
        }
    };
    Ok(page(
        "Conversaciones",
        Some(top_bar(&business, &viewer)),
        body,
    ))
}

/// `GET /conversaciones/{id}`
pub async fn chat(
    State(state): State<Shared>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    if let Some(refused) = refusal(&viewer) {
        return Ok(refused);
    }
    chat_page(&state, &viewer, id, None).await
}

async fn chat_page(
    state: &Shared,
    viewer: &Viewer,
    id: Uuid,
    error: Option<&str>,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, viewer.caller.organization_id).await?;
    let (business, tz, locale) = organization(&tx).await?;
    let conversation = tx
        .query_opt(
            "SELECT COALESCE(c.name, '+' || c.phone, '+' || v.wa_id),
                    v.status = 'handed_off' AND (v.handed_off_until IS NULL OR v.handed_off_until > $2),
                    v.last_inbound_at, c.phone
             FROM conversations v JOIN customers c ON c.id = v.customer_id WHERE v.id = $1",
            &[&id, &now],
        )
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let mut messages = tx
        .query(
            "SELECT direction, sender_kind, body, content_kind, status, created_at FROM messages
             WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
            &[&id, &MESSAGES],
        )
        .await?;
    tx.commit().await?;
    messages.reverse();
    let words = spanish::words(&locale);
    let handed_off: bool = conversation.get(1);
    let last_inbound: Option<Timestamp> = conversation.get(2);
    let window_open = last_inbound.is_some_and(|at| now < at + SignedDuration::from_hours(24));
    let hidden = |action: &str| {
        html! {
            input type="hidden" name="csrf" value=(viewer.csrf);
            input type="hidden" name="clave" value=(Uuid::new_v4());
            input type="hidden" name="accion" value=(action);
        }
    };
    let body = html! {
        p { a href="/conversaciones" { "‹ Conversaciones" } }
        h2 { (conversation.get::<_, String>(0)) }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        p.hint {
            @if handed_off { "Una persona la atiende: el asistente no responde." } @else { "El asistente responde." }
        }
        form.inline method="post" action={ "/conversaciones/" (id) } {
            @if handed_off { (hidden("devolver")) button.quiet type="submit" { "Devolver al asistente" } }
            @else { (hidden("tomar")) button.quiet type="submit" { "Tomar la conversación" } }
        }
        ol.transcript {
            @for message in &messages {
                @let inbound = message.get::<_, String>(0) == "inbound";
                li class={ "bubble " (if inbound { "in" } else { "out" }) } {
                    (bubble_text(message.get(2), &message.get::<_, String>(3)))
                    span.meta {
                        (words.clock(message.get(5), &tz))
                        @if !inbound { " " (ticks(&message.get::<_, String>(4))) }
                    }
                }
            }
        }
        @if window_open {
            form.reply method="post" action={ "/conversaciones/" (id) } {
                (hidden("responder"))
                label for="texto" { "Responder como el negocio" }
                textarea #texto name="texto" rows="3" maxlength="4096" required {}
                button type="submit" { "Enviar" }
            }
        } @else {
            section.card.wide {
                p { "El cliente no ha escrito en las últimas 24 horas: WhatsApp sólo deja enviar mensajes aprobados (plantillas)." }
                form method="post" action={ "/conversaciones/" (id) } {
                    (hidden("plantilla"))
                    button.quiet type="submit" { "Pedirle que nos escriba (plantilla)" }
                }
            }
        }
    };
    Ok(page("Conversación", Some(top_bar(&business, viewer)), body))
}

fn bubble_text(body: Option<String>, kind: &str) -> Markup {
    html! {
        @match body {
            Some(text) if !text.is_empty() => span { (text) },
            _ => span.hint { "(" (kind) ")" },
        }
    }
}

/// WhatsApp's ticks: sent ✓, delivered ✓✓, read ✓✓ in blue, failed ✕.
fn ticks(status: &str) -> Markup {
    match status {
        "sent" => html! { span.tick title="Enviado" { "✓" } },
        "delivered" => html! { span.tick title="Entregado" { "✓✓" } },
        "read" => html! { span.tick.read title="Leído" { "✓✓" } },
        "failed" => html! { span.tick.failed title="No se entregó" { "✕" } },
        _ => html! { span.tick title="Enviando" { "…" } },
    }
}

#[derive(Debug, Deserialize)]
pub struct Act {
    accion: String,
    clave: Uuid,
    #[serde(default)]
    texto: String,
}

/// `POST /conversaciones/{id}`: take over, give back, reply or send the template.
pub async fn act(
    State(state): State<Shared>,
    Path(id): Path<Uuid>,
    posted: Posted<Act>,
) -> ApiResult<Response> {
    let Posted { viewer, form } = posted;
    if let Some(refused) = refusal(&viewer) {
        return Ok(refused);
    }
    let actor = viewer.caller.actor();
    let idempotency_key = format!("web:{}", form.clave);
    let request = match form.accion.as_str() {
        "tomar" => Request::TakeOver(TakeOverRequest {
            actor,
            idempotency_key,
            conversation_id: id,
        }),
        "devolver" => Request::Release(ReleaseRequest {
            actor,
            idempotency_key,
            conversation_id: id,
        }),
        "responder" if !form.texto.trim().is_empty() => Request::Reply(ReplyRequest {
            actor,
            idempotency_key,
            conversation_id: id,
            content: ReplyContent::Text {
                body: form.texto.trim().to_owned(),
            },
        }),
        "responder" => {
            return Ok(with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                chat_page(&state, &viewer, id, Some("Falta el mensaje.")).await?,
            ));
        }
        "plantilla" => Request::Reply(ReplyRequest {
            actor,
            idempotency_key,
            conversation_id: id,
            content: ReplyContent::Template {
                name: "window_fallback".into(),
            },
        }),
        _ => return Err(ApiError::BadRequest("unknown action".into())),
    };
    match state.schedule(&request).await {
        Ok(Outcome::Replied(accepted)) => {
            state.send(&Command::SendV1(accepted.send)).await?;
            Ok(see_other(&format!("/conversaciones/{id}")))
        }
        Ok(Outcome::Conversation { .. }) => Ok(see_other(&format!("/conversaciones/{id}"))),
        Ok(other) => Err(unexpected(request.name(), &other)),
        Err(ApiError::Scheduling(error)) => {
            tracing::info!(
                ?error,
                "a conversation change from the dashboard was refused"
            );
            let why = match error {
                cita_shared::contracts::scheduling::SchedulingError::OutsideWindow { .. } => {
                    "El cliente no ha escrito en 24 horas: sólo se puede enviar la plantilla."
                }
                cita_shared::contracts::scheduling::SchedulingError::NotFound { .. } => {
                    "Esa conversación ya no existe."
                }
                _ => "No se pudo hacer el cambio.",
            };
            Ok(with_status(
                StatusCode::CONFLICT,
                chat_page(&state, &viewer, id, Some(why)).await?,
            ))
        }
        Err(error) => Err(error),
    }
}
