//! The staff's tools (owners have them too): agendas, blocks, statuses, walk-ins,
//! customer history, messages to customers and releasing handed-off conversations.

use cita_shared::db::Cached;
use cita_shared::{
    contracts::{
        outbound::{Command, Message, Outgoing, Purpose, Template},
        scheduling::{
            BlockTimeRequest, CustomerRequest, DecideHoldRequest, Outcome, ReleaseRequest, Request,
            ScheduleRequest, SetStatusRequest, Status, WalkInRequest, Who,
        },
    },
    spanish,
};
use jiff::ToSpan;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::answer::send::derived_id;

use super::{
    Call, ToolError, Toolbox, appointment, appointments, args,
    customer::{customer_by_phone, database, unexpected},
    local_iso, service, staff_member,
};

pub(super) fn own_id(call: &Call<'_>) -> Result<Uuid, ToolError> {
    match call.person.actor.who {
        Who::Staff { staff_id } => Ok(staff_id),
        Who::Customer { .. } => Err(ToolError::Refused("solo para el equipo".into())),
    }
}

pub async fn schedule(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
    whole_business: bool,
) -> Result<Value, ToolError> {
    let staff_id = own_id(call)?;
    let business = call.business;
    let today = call.now.to_zoned(business.time_zone.clone()).date();
    let from = args::optional_date(input, "date_from")?.unwrap_or(today);
    let to = args::optional_date(input, "date_to")?.unwrap_or(from);
    if to < from {
        return Err(ToolError::Invalid("date_to es anterior a date_from".into()));
    }
    let to = to.min(from.saturating_add(30.days()));
    let outcome = toolbox
        .ask(Request::Schedule(ScheduleRequest {
            actor: call.person.actor,
            from,
            to,
            staff_id: (!whole_business).then_some(staff_id),
        }))
        .await?;
    let Outcome::Appointments { appointments: list } = outcome else {
        return Err(unexpected());
    };
    let names = customer_names(
        toolbox,
        business.id,
        list.iter().map(|a| a.customer_id).collect(),
    )
    .await?;
    let mut shown = appointments(&list, business);
    for (entry, appointment) in shown.as_array_mut().into_iter().flatten().zip(&list) {
        entry["customer"] = json!(
            names
                .iter()
                .find(|(id, _)| *id == appointment.customer_id)
                .map(|(_, n)| n)
        );
    }
    Ok(json!({"date_from": from.to_string(), "date_to": to.to_string(), "appointments": shown}))
}

pub async fn block_time(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let own = own_id(call)?;
    let business = call.business;
    let starts_at = args::instant(input, "start_time", &business.time_zone)?;
    let ends_at = args::instant(input, "end_time", &business.time_zone)?;
    if ends_at <= starts_at {
        return Err(ToolError::Invalid(
            "end_time debe ser después de start_time".into(),
        ));
    }
    let staff_id = staff_member(business, input, "staff_id")?.unwrap_or(own);
    let outcome = toolbox
        .ask(Request::BlockTime(BlockTimeRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            staff_id,
            starts_at,
            ends_at,
            reason: args::optional_text(input, "reason")?.map(str::to_owned),
        }))
        .await?;
    let Outcome::Blocked { block_id } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({
        "blocked": {"block_id": block_id, "staff": business.staff_name(staff_id),
                    "start_time": local_iso(starts_at, business), "end_time": local_iso(ends_at, business)}
    }))
}

pub async fn mark_status(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    own_id(call)?;
    let status = match args::text(input, "status")? {
        "completed" => Status::Completed,
        "no_show" => Status::NoShow,
        "cancelled" => Status::Cancelled,
        "confirmed" => Status::Confirmed,
        other => {
            return Err(ToolError::Invalid(format!(
                "status {other:?} no es válido: completed, no_show, cancelled o confirmed"
            )));
        }
    };
    let outcome = toolbox
        .ask(Request::SetStatus(SetStatusRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            appointment_id: args::id(input, "appointment_id")?,
            status,
            notes: args::optional_text(input, "notes")?.map(str::to_owned),
        }))
        .await?;
    let Outcome::Appointment {
        appointment: changed,
    } = outcome
    else {
        return Err(unexpected());
    };
    let mut shown = appointment(&changed, call.business);
    let names = customer_names(toolbox, call.business.id, vec![changed.customer_id]).await?;
    shown["customer"] = json!(names.first().map(|(_, n)| n));
    Ok(json!({"updated": shown}))
}

/// A hold's answer; a rejection's reason reaches the customer.
pub async fn decide_hold(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    own_id(call)?;
    let approve = input["approve"]
        .as_bool()
        .ok_or_else(|| ToolError::Invalid("approve debe ser true o false".into()))?;
    let outcome = toolbox
        .ask(Request::DecideHold(DecideHoldRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            appointment_id: args::id(input, "appointment_id")?,
            approve,
            reason: args::optional_text(input, "reason")?.map(str::to_owned),
        }))
        .await?;
    let Outcome::Appointment {
        appointment: decided,
    } = outcome
    else {
        return Err(unexpected());
    };
    Ok(json!({"decided": appointment(&decided, call.business), "customer_told": true}))
}

pub async fn walk_in(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    own_id(call)?;
    let business = call.business;
    let customer_phone = args::phone(input, "customer_phone", &business.locale)?;
    let outcome = toolbox
        .ask(Request::BookWalkIn(WalkInRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            service_type_id: service(business, input)?,
            staff_id: staff_member(business, input, "staff_id")?,
            customer_name: args::optional_text(input, "customer_name")?.map(str::to_owned),
            customer_phone,
        }))
        .await?;
    let Outcome::Appointment {
        appointment: booked,
    } = outcome
    else {
        return Err(unexpected());
    };
    Ok(json!({"booked": appointment(&booked, business)}))
}

pub async fn history(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    own_id(call)?;
    let customer_id = customer_by_phone(toolbox, call, input).await?;
    let outcome = toolbox
        .ask(Request::History(CustomerRequest {
            actor: call.person.actor,
            customer_id,
        }))
        .await?;
    let Outcome::Appointments { appointments: list } = outcome else {
        return Err(unexpected());
    };
    let names = customer_names(toolbox, call.business.id, vec![customer_id]).await?;
    Ok(json!({
        "customer": names.first().map(|(_, n)| n),
        "appointments": appointments(&list, call.business),
    }))
}

/// The customer's conversation with this business, by the number staff typed.
struct CustomerConversation {
    customer_id: Uuid,
    conversation_id: Uuid,
    wa_id: String,
    window_open: bool,
}

async fn conversation_of(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<CustomerConversation, ToolError> {
    let customer_id = customer_by_phone(toolbox, call, input).await?;
    let client = toolbox.pool.get().await.map_err(database)?;
    let row = client
        .maybe_row(
            "SELECT id, wa_id, last_inbound_at > now() - interval '24 hours'
             FROM conversations WHERE organization_id = $1 AND customer_id = $2
             ORDER BY last_inbound_at DESC NULLS LAST LIMIT 1",
            &[&call.business.id, &customer_id],
        )
        .await
        .map_err(database)?
        .ok_or_else(|| {
            ToolError::Invalid("ese cliente nunca ha escrito por WhatsApp a este negocio".into())
        })?;
    Ok(CustomerConversation {
        customer_id,
        conversation_id: row.get(0),
        wa_id: row.get(1),
        window_open: row.get::<_, Option<bool>>(2).unwrap_or(false),
    })
}

/// What goes instead of free text once the customer's 24-hour window has closed: after a
/// no-show (the customer's last appointment), the follow-up inviting them to book again;
/// otherwise the template asking them to write back. With what to tell the staff member.
async fn closed_window_template(
    toolbox: &Toolbox,
    call: &Call<'_>,
    customer_id: Uuid,
) -> Result<(Template, &'static str), ToolError> {
    let client = toolbox.pool.get().await.map_err(database)?;
    let row = client
        .maybe_row(
            "SELECT c.name,
                    (SELECT a.status FROM appointments a
                     WHERE a.organization_id = c.organization_id AND a.customer_id = c.id
                       AND a.starts_at <= $3
                     ORDER BY a.starts_at DESC LIMIT 1)
             FROM customers c WHERE c.organization_id = $1 AND c.id = $2",
            &[&call.business.id, &customer_id, &call.now],
        )
        .await
        .map_err(database)?;
    let (name, last): (Option<String>, Option<String>) =
        row.map(|r| (r.get(0), r.get(1))).unwrap_or_default();
    let locale = &call.business.locale;
    let business = call.business.name.as_str();
    Ok(if last.as_deref() == Some("no_show") {
        let name = name.unwrap_or_default();
        (
            spanish::template(NO_SHOW_TEMPLATE, locale, &[&name, business]),
            "la plantilla de seguimiento por no asistir, que lo invita a reagendar",
        )
    } else {
        (
            spanish::template(WINDOW_TEMPLATE, locale, &[business]),
            "la plantilla que le pide escribir al negocio",
        )
    })
}

/// Meta's templates for a closed window (issue 18 creates them per business).
const NO_SHOW_TEMPLATE: &str = "no_show_follow_up";
const WINDOW_TEMPLATE: &str = "window_fallback";

/// Inside the customer's window the staff member's words go; outside it WhatsApp allows
/// only a template, so the fitting one is attached as the fallback (outbound decides by
/// the window when it sends) and the staff member is told which.
pub async fn message_customer(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    own_id(call)?;
    let text = args::text(input, "message")?;
    let to = conversation_of(toolbox, call, input).await?;
    let (fallback, described) = closed_window_template(toolbox, call, to.customer_id).await?;
    // The text is part of the id: a retried turn that words the message differently
    // sends what it says now rather than being dropped as a duplicate.
    let command = Command::SendV1(Outgoing {
        command_id: derived_id(&format!("{}:{text}", call.idempotency_key)),
        organization_id: call.business.id,
        to: to.wa_id,
        conversation_id: Some(to.conversation_id),
        purpose: Purpose::Notification,
        reply_to: None,
        message: Message::Text {
            body: spanish::clip(text, 4096),
            preview_url: false,
        },
        fallback: Some(fallback.clone()),
        author: None,
    });
    toolbox
        .publisher
        .send(&toolbox.topology, &command)
        .await
        .map_err(|error| {
            tracing::warn!(%error, "cannot publish a staff message to a customer");
            ToolError::Unavailable("no se pudo enviar ahora; intenta de nuevo".into())
        })?;
    if to.window_open {
        return Ok(json!({"sent": "text"}));
    }
    Ok(json!({
        "sent": "template",
        "template": fallback.name,
        "note": format!(
            "El cliente no ha escrito en 24 horas y WhatsApp solo permite plantillas: en lugar de tu texto se le envió {described}. Dile a la persona del equipo exactamente eso; cuando el cliente responda, ya se le puede escribir libremente."
        ),
    }))
}

pub async fn release(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    own_id(call)?;
    let conversation_id = conversation_of(toolbox, call, input).await?.conversation_id;
    // Through scheduling: who may release, the audit log and the live event are its.
    let outcome = toolbox
        .ask(Request::Release(ReleaseRequest {
            actor: call.person.actor,
            idempotency_key: call.idempotency_key.clone(),
            conversation_id,
        }))
        .await?;
    let Outcome::Conversation { conversation } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({"released": true, "status": conversation.status}))
}

async fn customer_names(
    toolbox: &Toolbox,
    organization_id: Uuid,
    ids: Vec<Uuid>,
) -> Result<Vec<(Uuid, String)>, ToolError> {
    let client = toolbox.pool.get().await.map_err(database)?;
    crate::context::customer_names(&client, organization_id, &ids)
        .await
        .map_err(database)
}
