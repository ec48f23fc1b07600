//! The customer's tools (staff have them too): availability, booking, their
//! appointments, cancelling and moving.

use cita_shared::db::Cached;
use cita_shared::{
    contracts::scheduling::{
        AvailabilityRequest, BookRequest, CancelRequest, CustomerRequest, Outcome,
        RescheduleRequest, ScheduleRequest, Source, Who,
    },
    customers,
};
use jiff::ToSpan;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Call, ToolError, Toolbox, appointment, appointments, args, service, slots, staff_member,
};

/// Longest range one availability question covers: enough for "next week", small enough
/// to keep the answer short.
const MAX_DAYS: i32 = 14;
/// Slots shown to the model per question.
const MAX_SLOTS: usize = 40;

pub async fn check_availability(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let business = call.business;
    let service_type_id = service(business, input)?;
    let from = args::date(input, "date_from")?;
    let to = args::optional_date(input, "date_to")?.unwrap_or(from);
    if to < from {
        return Err(ToolError::Invalid("date_to es anterior a date_from".into()));
    }
    let to = to.min(from.saturating_add((MAX_DAYS - 1).days()));
    let outcome = toolbox
        .ask(cita_shared::contracts::scheduling::Request::Availability(
            AvailabilityRequest {
                actor: call.person.actor,
                service_type_id,
                from,
                to,
                staff_id: staff_member(business, input, "staff_id")?,
                // Scheduling ignores an id that is not an appointment of this business.
                moving: args::optional_id(input, "appointment_id")?,
            },
        ))
        .await?;
    let Outcome::Slots { slots: free } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({
        "service": business.service(service_type_id).map(|s| s.name.as_str()),
        "date_from": from.to_string(),
        "date_to": to.to_string(),
        "slots": slots(&free, business, MAX_SLOTS),
        "more_slots": free.len().saturating_sub(MAX_SLOTS),
    }))
}

pub async fn book(toolbox: &Toolbox, call: &Call<'_>, input: &Value) -> Result<Value, ToolError> {
    let business = call.business;
    let service_type_id = service(business, input)?;
    let starts_at = args::instant(input, "start_time", &business.time_zone)?;
    let staff_id = staff_member(business, input, "staff_id")?;
    let name = args::optional_text(input, "customer_name")?;
    // Staff book for a customer named by phone; scheduling finds or creates them.
    let customer_phone = match call.person.actor.who {
        Who::Customer { customer_id } => {
            if let Some(name) = name {
                remember_name(toolbox, business.id, customer_id, name).await?;
            }
            None
        }
        Who::Staff { .. } => Some(typed_phone(call, input)?),
    };
    let outcome = toolbox
        .ask(cita_shared::contracts::scheduling::Request::Book(
            BookRequest {
                actor: call.person.actor,
                idempotency_key: call.idempotency_key.clone(),
                service_type_id,
                starts_at,
                staff_id,
                customer_id: None,
                customer_name: customer_phone.as_ref().and(name.map(str::to_owned)),
                customer_phone,
                source: match call.person.actor.who {
                    Who::Customer { .. } => Source::Whatsapp,
                    Who::Staff { .. } => Source::Manual,
                },
                notes: None,
            },
        ))
        .await?;
    let Outcome::Appointment {
        appointment: booked,
    } = outcome
    else {
        return Err(unexpected());
    };
    let mut booked_value = appointment(&booked, business);
    let deposit = crate::deposits::awaited(&toolbox.pool, &booked)
        .await
        .map_err(database)?;
    if let Some((amount, currency)) = deposit {
        booked_value["deposit_due"] = business.words().price(amount, &currency).into();
        booked_value["note"] =
            "El horario queda apartado hasta awaiting_approval_until: se confirma \
                                cuando el cliente pague el anticipo deposit_due con el enlace de \
                                Mercado Pago que le llegará por aquí en un momento"
                .into();
    }
    Ok(json!({"booked": booked_value}))
}

pub async fn my_appointments(toolbox: &Toolbox, call: &Call<'_>) -> Result<Value, ToolError> {
    let business = call.business;
    let request = match call.person.actor.who {
        Who::Customer { customer_id } => {
            cita_shared::contracts::scheduling::Request::Upcoming(CustomerRequest {
                actor: call.person.actor,
                customer_id,
            })
        }
        Who::Staff { staff_id } => {
            let today = call.now.to_zoned(business.time_zone.clone()).date();
            cita_shared::contracts::scheduling::Request::Schedule(ScheduleRequest {
                actor: call.person.actor,
                from: today,
                to: today.saturating_add((MAX_DAYS - 1).days()),
                staff_id: Some(staff_id),
            })
        }
    };
    let Outcome::Appointments { appointments: list } = toolbox.ask(request).await? else {
        return Err(unexpected());
    };
    Ok(json!({"appointments": appointments(&list, business)}))
}

pub async fn cancel(toolbox: &Toolbox, call: &Call<'_>, input: &Value) -> Result<Value, ToolError> {
    let outcome = toolbox
        .ask(cita_shared::contracts::scheduling::Request::Cancel(
            CancelRequest {
                actor: call.person.actor,
                idempotency_key: call.idempotency_key.clone(),
                appointment_id: args::id(input, "appointment_id")?,
                reason: args::optional_text(input, "reason")?.map(str::to_owned),
            },
        ))
        .await?;
    let Outcome::Appointment {
        appointment: cancelled,
    } = outcome
    else {
        return Err(unexpected());
    };
    Ok(json!({"cancelled": appointment(&cancelled, call.business)}))
}

pub async fn reschedule(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Value, ToolError> {
    let business = call.business;
    let outcome = toolbox
        .ask(cita_shared::contracts::scheduling::Request::Reschedule(
            RescheduleRequest {
                actor: call.person.actor,
                idempotency_key: call.idempotency_key.clone(),
                appointment_id: args::id(input, "appointment_id")?,
                starts_at: args::instant(input, "new_start_time", &business.time_zone)?,
                staff_id: staff_member(business, input, "staff_id")?,
            },
        ))
        .await?;
    let Outcome::Appointment { appointment: moved } = outcome else {
        return Err(unexpected());
    };
    Ok(json!({"rescheduled": appointment(&moved, business)}))
}

/// The customer told us their name: it replaces the WhatsApp profile's for good.
async fn remember_name(
    toolbox: &Toolbox,
    organization_id: Uuid,
    customer_id: Uuid,
    name: &str,
) -> Result<(), ToolError> {
    let name: String = name.chars().take(120).collect();
    let client = toolbox.pool.get().await.map_err(database)?;
    client
        .run(
            "UPDATE customers SET name = $3, name_confirmed = true, updated_at = now()
             WHERE id = $2 AND organization_id = $1",
            &[&organization_id, &customer_id, &name],
        )
        .await
        .map_err(database)?;
    Ok(())
}

/// The number staff gave in `customer_phone`, normalized.
fn typed_phone(call: &Call<'_>, input: &Value) -> Result<String, ToolError> {
    args::phone(input, "customer_phone", &call.business.locale)?
        .ok_or_else(|| ToolError::Invalid("falta customer_phone".into()))
}

/// The customer of this business with the number in `customer_phone`.
pub(super) async fn customer_by_phone(
    toolbox: &Toolbox,
    call: &Call<'_>,
    input: &Value,
) -> Result<Uuid, ToolError> {
    let number = typed_phone(call, input)?;
    let client = toolbox.pool.get().await.map_err(database)?;
    customers::find(&client, call.business.id, &number)
        .await
        .map_err(database)?
        .ok_or_else(|| {
            ToolError::Scheduling(
                cita_shared::contracts::scheduling::SchedulingError::NotFound {
                    what: "un cliente con ese teléfono".into(),
                },
            )
        })
}

pub(super) fn database(error: impl std::fmt::Display) -> ToolError {
    tracing::warn!(%error, "a tool could not reach the database");
    ToolError::Unavailable("el sistema no responde; intenta de nuevo en un momento".into())
}

pub(super) fn unexpected() -> ToolError {
    ToolError::Unavailable("la agenda respondió algo inesperado".into())
}
