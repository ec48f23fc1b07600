//! Events from `reminders.events` become notification rows: notices due now, reminders
//! due before the appointment, review requests after it. Each event is applied once (its
//! id is recorded in the same transaction), and each row is unique per organization and
//! key, so nothing here can produce a second message.

mod writer;

use cita_shared::{
    amqp::{Handler, Settlement},
    contracts::{
        events::{DepositIssue, Envelope, Event},
        scheduling::{Appointment, HoldOutcome, Status, Who},
    },
    error::Infra,
};
use deadpool_postgres::Pool;
use jiff::{SignedDuration, Timestamp};
use lapin::{Channel, message::Delivery};
use serde_json::json;

use crate::{kind::Kind, metrics::Metrics};
use writer::Writer;

/// What became of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Rows written (possibly none: an event nobody is told about).
    Done,
    /// Its id was handled before.
    Duplicate,
    /// It names an organization or appointment this database does not have.
    Unknown(String),
}

/// Applies one event in one transaction.
pub async fn apply(pool: &Pool, envelope: &Envelope) -> Result<Applied, Infra> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let first = tx
        .execute(
            "INSERT INTO handled_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&envelope.event_id],
        )
        .await?;
    if first == 0 {
        return Ok(Applied::Duplicate);
    }
    let org = envelope.organization_id;
    let Some(policy) = tx
        .query_opt(
            "SELECT reminder_offsets_minutes, review_request_after_minutes FROM organizations WHERE id = $1",
            &[&org],
        )
        .await?
    else {
        tx.commit().await?;
        return Ok(Applied::Unknown(format!("organization {org}")));
    };
    let offsets: Vec<i32> = policy.get(0);
    let review_after: Option<i32> = policy.get(1);
    let writer = Writer {
        tx: &tx,
        organization_id: org,
        event_id: envelope.event_id,
        now: envelope.occurred_at,
    };
    if let Some(appointment) = appointment_of(&envelope.event)
        && !writer.appointment_exists(appointment.id).await?
    {
        tx.commit().await?;
        return Ok(Applied::Unknown(format!("appointment {}", appointment.id)));
    }
    match &envelope.event {
        Event::AppointmentBooked { appointment, actor } => {
            writer.reminders(appointment, &offsets).await?;
            let details = json!({});
            for owner in writer.owners().await? {
                writer
                    .staff_notice(Kind::Booked, appointment, owner, &details)
                    .await?;
            }
            writer
                .staff_notice(Kind::Booked, appointment, appointment.staff_id, &details)
                .await?;
            if !by_customer(&actor.who) {
                writer
                    .customer_notice(Kind::Booked, appointment, &details)
                    .await?;
            }
        }
        // A hold waiting for its deposit asks the customer (once the link is made), not
        // the owners.
        Event::AppointmentHeld {
            deposit: Some(_), ..
        } => {}
        Event::DepositRequested {
            appointment,
            deposit,
            link,
        } => {
            let details = json!({"until": appointment.hold_expires_at, "link": link,
                                 "amount_minor": deposit.amount_minor, "currency": deposit.currency});
            writer
                .customer_notice(Kind::DepositRequest, appointment, &details)
                .await?;
        }
        Event::DepositIssue {
            appointment,
            deposit,
            issue,
        } => {
            let details = json!({"issue": issue, "amount_minor": deposit.amount_minor,
                                 "currency": deposit.currency});
            for owner in writer.owners().await? {
                writer
                    .staff_notice(Kind::DepositIssue, appointment, owner, &details)
                    .await?;
            }
            if *issue == DepositIssue::RefundDue {
                writer
                    .customer_notice(Kind::DepositIssue, appointment, &details)
                    .await?;
            }
        }
        Event::AppointmentHeld { appointment, .. } => {
            let details = json!({"until": appointment.hold_expires_at});
            for owner in writer.owners().await? {
                writer
                    .staff_notice(Kind::HoldRequest, appointment, owner, &details)
                    .await?;
            }
        }
        Event::HoldEnded {
            appointment,
            outcome,
            ..
        } => {
            writer.cancel_pending(appointment.id).await?;
            match outcome {
                HoldOutcome::Rejected => {
                    let details = json!({"reason": appointment.cancellation_reason});
                    writer
                        .customer_notice(Kind::HoldRejected, appointment, &details)
                        .await?;
                }
                HoldOutcome::Expired => {
                    // Unpaid, not unanswered: the customer is told the deposit did not come.
                    let unpaid = tx
                        .query_opt(
                            "SELECT 1 FROM deposits WHERE appointment_id = $1 AND status = 'awaiting'",
                            &[&appointment.id],
                        )
                        .await?
                        .is_some();
                    let details = json!({"unpaid_deposit": unpaid});
                    writer
                        .customer_notice(Kind::HoldExpired, appointment, &details)
                        .await?;
                    for owner in writer.owners().await? {
                        writer
                            .staff_notice(Kind::HoldExpired, appointment, owner, &details)
                            .await?;
                    }
                }
            }
        }
        Event::AppointmentCancelled { appointment, actor } => {
            writer.cancel_pending(appointment.id).await?;
            let details = json!({"reason": appointment.cancellation_reason});
            writer
                .staff_notice(Kind::Cancelled, appointment, appointment.staff_id, &details)
                .await?;
            if !by_customer(&actor.who) {
                writer
                    .customer_notice(Kind::Cancelled, appointment, &details)
                    .await?;
            }
        }
        Event::AppointmentRescheduled {
            appointment,
            previous_starts_at,
            previous_staff_id,
            actor,
        } => {
            // A hold moved is still a request: reminded once it is approved.
            if appointment.status == Status::Confirmed {
                writer.reminders(appointment, &offsets).await?;
            }
            let details = json!({"previous_starts_at": previous_starts_at});
            writer
                .staff_notice(
                    Kind::Rescheduled,
                    appointment,
                    appointment.staff_id,
                    &details,
                )
                .await?;
            if *previous_staff_id != appointment.staff_id {
                writer
                    .staff_notice(Kind::Rescheduled, appointment, *previous_staff_id, &details)
                    .await?;
            }
            if !by_customer(&actor.who) {
                writer
                    .customer_notice(Kind::Rescheduled, appointment, &details)
                    .await?;
            }
        }
        Event::AppointmentStatusChanged { appointment, .. } => match appointment.status {
            Status::Completed => {
                writer.cancel_pending(appointment.id).await?;
                if let Some(minutes) = review_after {
                    writer.review_request(appointment, minutes).await?;
                }
            }
            Status::Cancelled | Status::NoShow => writer.cancel_pending(appointment.id).await?,
            Status::Pending | Status::Confirmed => {}
        },
        Event::QuotaExceeded { month, limit } => {
            let details = json!({"month": month, "limit": limit});
            for owner in writer.owners().await? {
                let key = format!("quota_exceeded:{month}:{owner}");
                writer
                    .add(
                        Kind::QuotaExceeded,
                        &key,
                        None,
                        Some(owner),
                        None,
                        &details,
                        day_later(writer.now),
                    )
                    .await?;
            }
        }
        Event::ConversationHandedOff {
            wa_id,
            customer_name,
            reason,
            ..
        } => {
            // Name and number: the owner answers from their own phone, and a profile
            // name alone does not say who that is.
            let customer = match customer_name {
                Some(name) => format!("{name} (+{wa_id})"),
                None => format!("+{wa_id}"),
            };
            let details = json!({ "customer": customer, "reason": reason });
            for owner in writer.owners().await? {
                let key = format!("handed_off:{}:{owner}", envelope.event_id);
                writer
                    .add(
                        Kind::HandedOff,
                        &key,
                        None,
                        Some(owner),
                        None,
                        &details,
                        day_later(writer.now),
                    )
                    .await?;
            }
        }
        Event::StaffAdded { staff_id, .. } => {
            // Per event: someone removed and added again months later is welcomed again.
            let key = format!("staff_welcome:{}:{staff_id}", envelope.event_id);
            writer
                .add(
                    Kind::StaffWelcome,
                    &key,
                    None,
                    Some(*staff_id),
                    None,
                    &json!({}),
                    day_later(writer.now),
                )
                .await?;
        }
        // A person handling a conversation needs no notice of it.
        Event::ConversationChanged { .. } => {}
        // Not bound to this queue (see the topology); nothing to remind of either way.
        Event::TokenInvalid { .. }
        | Event::MessageFailed { .. }
        | Event::MessageReceived { .. }
        | Event::MessageStatus { .. }
        | Event::TimeOffChanged { .. } => {}
    }
    tx.commit().await?;
    Ok(Applied::Done)
}

fn appointment_of(event: &Event) -> Option<&Appointment> {
    match event {
        Event::AppointmentBooked { appointment, .. }
        | Event::AppointmentHeld { appointment, .. }
        | Event::DepositRequested { appointment, .. }
        | Event::DepositIssue { appointment, .. }
        | Event::HoldEnded { appointment, .. }
        | Event::AppointmentCancelled { appointment, .. }
        | Event::AppointmentRescheduled { appointment, .. }
        | Event::AppointmentStatusChanged { appointment, .. } => Some(appointment),
        _ => None,
    }
}

/// The customer did it from their own conversation: the assistant already told them.
fn by_customer(who: &Who) -> bool {
    matches!(who, Who::Customer { .. })
}

fn day_later(now: Timestamp) -> Timestamp {
    now + SignedDuration::from_hours(24)
}

/// Consumes `reminders.events`: applies each event, then acks; an event that can't be
/// parsed goes to `reminders.events.dead` with the reason.
pub struct Intake {
    pub pool: Pool,
    pub metrics: Metrics,
}

impl Handler for Intake {
    type Error = Infra;
    type Admission = ();

    fn admit(&self, _: &Delivery) {}

    async fn attempt(
        &self,
        delivery: &Delivery,
        (): &(),
        _: &Channel,
    ) -> Result<Settlement, Infra> {
        let envelope = match serde_json::from_slice::<Envelope>(&delivery.data) {
            Ok(envelope) => envelope,
            Err(error) => {
                self.metrics.event("malformed");
                return Ok(Settlement::DeadLetter(format!("malformed event: {error}")));
            }
        };
        match apply(&self.pool, &envelope).await? {
            Applied::Done => self.metrics.event("applied"),
            Applied::Duplicate => self.metrics.event("duplicate"),
            Applied::Unknown(what) => {
                tracing::info!(event_id = %envelope.event_id, kind = envelope.event.routing_key(), %what, "event names something unknown; acknowledged");
                self.metrics.event("unknown");
            }
        }
        Ok(Settlement::Ack)
    }
}
