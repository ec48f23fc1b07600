//! The model's tools, executed by the system. Every call is checked again here: the
//! tool must belong to the person's persona, ids must be this business's, and the
//! scheduling service re-checks role, permissions and organization from the database
//! (the actor carries ids only). Failures stay typed ([`ToolError`]) until they are
//! worded for the model's tool result.

pub mod args;
mod customer;
pub mod definitions;
mod owner;
pub(crate) mod settings;
mod staff;
mod time_off;

use std::{sync::Arc, time::Duration};

use cita_shared::{
    amqp::{Publisher, Topology, rpc::RpcClient},
    contracts::scheduling::{Appointment, FreeSlot, Reply, Request, SchedulingError, Status},
    error::Chain,
    spanish,
};
use deadpool_postgres::Pool;
use jiff::Timestamp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::context::{Business, Person};
use definitions::Tool;

/// What a tool needs to reach the rest of the fleet.
pub struct Toolbox {
    pub pool: Pool,
    pub scheduling: Arc<RpcClient>,
    pub publisher: Arc<Publisher>,
    pub topology: Topology,
    /// How long a scheduling request may take before the tool reports it unavailable.
    pub rpc_timeout: Duration,
}

/// One tool call of a turn.
pub struct Call<'a> {
    pub business: &'a Business,
    pub person: &'a Person,
    pub conversation_id: Uuid,
    /// Stable across retries of the same turn; with the tool name and its ordinal in the
    /// turn, the idempotency key of what the call writes.
    pub idempotency_key: String,
    pub now: Timestamp,
}

/// A side effect of a tool on the turn itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// This turn handed the conversation to a person (so its own closing reply still
    /// goes out).
    HandedOff,
}

/// What one tool call did.
#[derive(Debug)]
pub struct Ran {
    pub result: Result<Value, ToolError>,
    pub effect: Effect,
}

impl Ran {
    fn plain(result: Result<Value, ToolError>) -> Ran {
        Ran {
            result,
            effect: Effect::None,
        }
    }

    /// `ok`, `refused` (the tool or object is not this person's), or `error`.
    pub fn outcome(&self) -> &'static str {
        match &self.result {
            Ok(_) => "ok",
            Err(ToolError::Refused(_) | ToolError::Scheduling(SchedulingError::Forbidden)) => {
                "refused"
            }
            Err(_) => "error",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The model's arguments are missing or malformed.
    #[error("invalid_arguments: {0}")]
    Invalid(String),
    /// The tool or the object is not this person's to use.
    #[error("forbidden: {0}")]
    Refused(String),
    #[error("{}", scheduling_words(.0))]
    Scheduling(SchedulingError),
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl ToolError {
    /// The words of the tool result: the error, with a scheduling refusal's
    /// alternatives in the business's local time.
    pub fn for_model(&self, business: &Business) -> String {
        match self {
            ToolError::Scheduling(
                SchedulingError::SlotTaken { alternatives }
                | SchedulingError::NotAvailable { alternatives },
            ) if !alternatives.is_empty() => {
                format!("{self}: {}", slots(alternatives, business, 5))
            }
            _ => self.to_string(),
        }
    }
}

fn scheduling_words(error: &SchedulingError) -> String {
    match error {
        SchedulingError::SlotTaken { .. } => {
            "slot_taken: ese horario se acaba de ocupar; ofrece las alternativas".into()
        }
        SchedulingError::NotAvailable { .. } => {
            "not_available: ese horario no se puede reservar; ofrece las alternativas".into()
        }
        SchedulingError::Forbidden => {
            "forbidden: eso no le corresponde a esta persona (solo sus propias citas o lo que sus permisos permiten)".into()
        }
        SchedulingError::NotFound { what } => format!("not_found: no existe {what}"),
        SchedulingError::QuotaExceeded => {
            "quota_exceeded: el negocio llegó al límite de reservas de su plan este mes; ofrece pasar con una persona".into()
        }
        SchedulingError::IllegalTransition { from, to } => format!(
            "illegal_transition: la cita está {} y no puede pasar a {}",
            from.as_str(),
            to.as_str()
        ),
        SchedulingError::InvalidRequest { reason } => format!("invalid_request: {reason}"),
        SchedulingError::Unavailable => {
            "unavailable: la agenda no responde; intenta de nuevo en un momento".into()
        }
        SchedulingError::TooLate { cutoff_minutes } => format!(
            "too_late: el negocio solo permite cambiar o cancelar hasta {cutoff_minutes} minutos antes de la cita; ofrece pasar con una persona"
        ),
        SchedulingError::OutsideWindow { .. } => {
            "outside_window: el cliente no ha escrito en 24 horas; solo se le puede enviar una plantilla".into()
        }
        SchedulingError::HoldExpired { .. } => {
            "hold_expired: la solicitud venció sin que nadie la aprobara; su horario ya se liberó o se libera ahora".into()
        }
        SchedulingError::AlreadyDecided { status } => format!(
            "already_decided: esa solicitud ya se decidió (la cita está {}); no se decide dos veces",
            status.as_str()
        ),
        SchedulingError::StaleVersion { .. } => {
            "stale_version: alguien cambió lo mismo hace un momento; vuelve a leerlo e intenta de nuevo".into()
        }
    }
}

impl Toolbox {
    /// Runs one call of the tool the model named.
    pub async fn run(&self, call: &Call<'_>, name: &str, input: &Value) -> Ran {
        let tool = match Tool::parse(name) {
            Some(tool) if tool.allowed(call.person.persona) => tool,
            Some(_) => {
                return Ran::plain(Err(ToolError::Refused(format!(
                    "la herramienta {name} no está disponible en esta conversación"
                ))));
            }
            None => {
                return Ran::plain(Err(ToolError::Refused(format!(
                    "no existe la herramienta {name}"
                ))));
            }
        };
        let input = if input.is_object() {
            input
        } else {
            &Value::Null
        };
        Ran::plain(match tool {
            Tool::HandoffToHuman => return self.handoff(call, input).await,
            Tool::CheckAvailability => customer::check_availability(self, call, input).await,
            Tool::BookAppointment => customer::book(self, call, input).await,
            Tool::GetMyAppointments => customer::my_appointments(self, call).await,
            Tool::CancelAppointment => customer::cancel(self, call, input).await,
            Tool::RescheduleAppointment => customer::reschedule(self, call, input).await,
            Tool::GetMySchedule => staff::schedule(self, call, input, false).await,
            Tool::GetBusinessSchedule => staff::schedule(self, call, input, true).await,
            Tool::BlockTime => staff::block_time(self, call, input).await,
            Tool::MarkAppointmentStatus => staff::mark_status(self, call, input).await,
            Tool::DecideBookingRequest => staff::decide_hold(self, call, input).await,
            Tool::BookWalkIn => staff::walk_in(self, call, input).await,
            Tool::GetCustomerHistory => staff::history(self, call, input).await,
            Tool::SendMessageToCustomer => staff::message_customer(self, call, input).await,
            Tool::ReleaseConversation => staff::release(self, call, input).await,
            Tool::AddStaff => owner::add_staff(self, call, input).await,
            Tool::RemoveStaff => owner::remove_staff(self, call, input).await,
            Tool::SetBusinessHours => owner::set_hours(self, call, input).await,
            Tool::UpsertService => owner::upsert_service(self, call, input).await,
            Tool::GetBusinessFigures => owner::figures(self, call, input).await,
            Tool::AddClosure => time_off::add_closure(self, call, input).await,
            Tool::ListTimeOff => time_off::list(self, call, input).await,
            Tool::RemoveTimeOff => time_off::remove(self, call, input).await,
            Tool::SetStaffHours => owner::set_staff_hours(self, call, input).await,
            Tool::SetStaffPermissions => owner::set_staff_permissions(self, call, input).await,
            Tool::UpdateSettings => settings::update_settings(self, call, input).await,
            Tool::UpdateBusinessInfo => settings::update_business_info(self, call, input).await,
        })
    }

    /// Asks scheduling; its typed refusals become [`ToolError::Scheduling`].
    pub(crate) async fn ask(
        &self,
        request: Request,
    ) -> Result<cita_shared::contracts::scheduling::Outcome, ToolError> {
        match self
            .scheduling
            .call::<Request, Reply>(&request, self.rpc_timeout)
            .await
        {
            Ok(Reply::Ok(outcome)) => Ok(outcome),
            Ok(Reply::Error(error)) => Err(ToolError::Scheduling(error)),
            Err(error) => {
                tracing::warn!(%error, request = request.name(), "scheduling did not answer a tool call");
                Err(ToolError::Unavailable(
                    "la agenda no responde; intenta de nuevo en un momento".into(),
                ))
            }
        }
    }

    async fn handoff(&self, call: &Call<'_>, input: &Value) -> Ran {
        let reason = match args::text(input, "reason") {
            Ok(reason) => spanish::clip(reason, 300),
            Err(error) => return Ran::plain(Err(error)),
        };
        match crate::handoff::hand_off(
            &self.pool,
            call.business,
            call.conversation_id,
            &reason,
            call.now,
        )
        .await
        {
            Ok(()) => Ran {
                result: Ok(
                    json!({"handed_off": true, "note": "Una persona del negocio continuará; despídete brevemente."}),
                ),
                effect: Effect::HandedOff,
            },
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "cannot hand a conversation off");
                Ran::plain(Err(ToolError::Unavailable(
                    "no se pudo pasar con una persona ahora".into(),
                )))
            }
        }
    }
}

/// `2026-12-07T10:30-06:00`: local time with its offset, what the model reads and writes.
pub fn local_iso(at: Timestamp, business: &Business) -> String {
    at.to_zoned(business.time_zone.clone())
        .strftime("%Y-%m-%dT%H:%M%:z")
        .to_string()
}

fn slots(slots: &[FreeSlot], business: &Business, limit: usize) -> Value {
    Value::Array(
        slots
            .iter()
            .take(limit)
            .map(|slot| {
                json!({
                    "start_time": local_iso(slot.starts_at, business),
                    "staff": slot.staff_ids.iter().map(|id| json!({
                        "staff_id": id,
                        "name": business.staff_name(*id),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn appointment(appointment: &Appointment, business: &Business) -> Value {
    let mut value = json!({
        "appointment_id": appointment.id,
        "service": business.service(appointment.service_type_id).map(|s| s.name.as_str()),
        "start_time": local_iso(appointment.starts_at, business),
        "when": business.words().when(appointment.starts_at, &business.time_zone),
        "staff": business.staff_name(appointment.staff_id),
        "status": appointment.status.as_str(),
    });
    // A hold: the model must not tell the customer it is confirmed.
    if let (Status::Pending, Some(until)) = (appointment.status, appointment.hold_expires_at) {
        value["awaiting_approval_until"] = business.words().when(until, &business.time_zone).into();
        value["note"] = "El horario queda apartado, pero el negocio debe aprobar la cita; \
                         dile al cliente que le avisaremos por aquí"
            .into();
    }
    value
}

fn appointments(list: &[Appointment], business: &Business) -> Value {
    Value::Array(list.iter().map(|a| appointment(a, business)).collect())
}

/// A service id the model gave, checked against this business's services.
fn service(business: &Business, input: &Value) -> Result<Uuid, ToolError> {
    let id = args::id(input, "service_id")?;
    business.service(id).map(|s| s.id).ok_or_else(|| {
        ToolError::Invalid(
            "service_id no es un servicio de este negocio; usa un id de la lista".into(),
        )
    })
}

/// An optional staff id, checked against this business's team.
fn staff_member(business: &Business, input: &Value, key: &str) -> Result<Option<Uuid>, ToolError> {
    match args::optional_id(input, key)? {
        Some(id) if business.staff_name(id).is_none() => Err(ToolError::Invalid(format!(
            "{key} no es alguien del equipo de este negocio"
        ))),
        other => Ok(other),
    }
}
