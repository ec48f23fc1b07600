//! Events from `reminders.events` become notification rows: notices due now, reminders
//! due before the appointment, review requests after it. Each event is applied once (its
//! id is recorded in the same transaction), and each row is unique per organization and
//! key, so nothing here can produce a second message.

use std::{future::Future, sync::Arc, time::Duration};

use cita_shared::{
    amqp::{
        Publisher, Topology,
        consumer::{self, Handler},
        topology::REMINDERS_EVENTS,
    },
    contracts::{
        events::{Envelope, Event},
        scheduling::{Appointment, Status, Who},
    },
};
use deadpool_postgres::{Pool, Transaction};
use jiff::{SignedDuration, Timestamp};
use lapin::{
    Channel,
    message::Delivery,
    options::{BasicAckOptions, BasicNackOptions},
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

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
pub async fn apply(pool: &Pool, envelope: &Envelope) -> Result<Applied, IntakeError> {
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
                    .staff_notice("booked", appointment, owner, &details)
                    .await?;
            }
            writer
                .staff_notice("booked", appointment, appointment.staff_id, &details)
                .await?;
            if !by_customer(&actor.who) {
                writer
                    .customer_notice("booked", appointment, &details)
                    .await?;
            }
        }
        Event::AppointmentCancelled { appointment, actor } => {
            writer.cancel_pending(appointment.id).await?;
            let details = json!({"reason": appointment.cancellation_reason});
            writer
                .staff_notice("cancelled", appointment, appointment.staff_id, &details)
                .await?;
            if !by_customer(&actor.who) {
                writer
                    .customer_notice("cancelled", appointment, &details)
                    .await?;
            }
        }
        Event::AppointmentRescheduled {
            appointment,
            previous_starts_at,
            previous_staff_id,
            actor,
        } => {
            writer.reminders(appointment, &offsets).await?;
            let details = json!({"previous_starts_at": previous_starts_at});
            writer
                .staff_notice("rescheduled", appointment, appointment.staff_id, &details)
                .await?;
            if *previous_staff_id != appointment.staff_id {
                writer
                    .staff_notice("rescheduled", appointment, *previous_staff_id, &details)
                    .await?;
            }
            if !by_customer(&actor.who) {
                writer
                    .customer_notice("rescheduled", appointment, &details)
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
                        "quota_exceeded",
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
            let details = json!({
                "customer": customer_name.clone().unwrap_or_else(|| format!("+{wa_id}")),
                "reason": reason,
            });
            for owner in writer.owners().await? {
                let key = format!("handed_off:{}:{owner}", envelope.event_id);
                writer
                    .add(
                        "handed_off",
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
        // Not bound to this queue; nothing to tell anyone.
        Event::TokenInvalid { .. } | Event::MessageFailed { .. } => {}
    }
    tx.commit().await?;
    Ok(Applied::Done)
}

fn appointment_of(event: &Event) -> Option<&Appointment> {
    match event {
        Event::AppointmentBooked { appointment, .. }
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

struct Writer<'a> {
    tx: &'a Transaction<'a>,
    organization_id: Uuid,
    event_id: Uuid,
    now: Timestamp,
}

impl Writer<'_> {
    async fn appointment_exists(&self, id: Uuid) -> Result<bool, IntakeError> {
        Ok(self
            .tx
            .query_opt(
                "SELECT 1 FROM appointments WHERE organization_id = $1 AND id = $2",
                &[&self.organization_id, &id],
            )
            .await?
            .is_some())
    }

    async fn owners(&self) -> Result<Vec<Uuid>, IntakeError> {
        let rows = self
            .tx
            .query(
                "SELECT id FROM staff WHERE organization_id = $1 AND role = 'owner' AND active ORDER BY created_at",
                &[&self.organization_id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// One row; a second insert of the same key does nothing.
    #[allow(clippy::too_many_arguments)]
    async fn add(
        &self,
        kind: &str,
        key: &str,
        appointment_id: Option<Uuid>,
        staff_id: Option<Uuid>,
        customer_id: Option<Uuid>,
        details: &Value,
        stale_at: Timestamp,
    ) -> Result<(), IntakeError> {
        let audience = if staff_id.is_some() {
            "staff"
        } else {
            "customer"
        };
        self.tx
            .execute(
                "INSERT INTO notifications (organization_id, kind, dedupe_key, appointment_id, audience,
                                            customer_id, staff_id, details, due_at, stale_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (organization_id, dedupe_key) DO NOTHING",
                &[
                    &self.organization_id,
                    &kind,
                    &key,
                    &appointment_id,
                    &audience,
                    &customer_id,
                    &staff_id,
                    details,
                    &self.now,
                    &stale_at,
                ],
            )
            .await?;
        Ok(())
    }

    /// A notice to a staff member about an appointment, once per event and member (the
    /// owner who is also the assigned barber hears it once).
    async fn staff_notice(
        &self,
        kind: &str,
        appointment: &Appointment,
        staff_id: Uuid,
        details: &Value,
    ) -> Result<(), IntakeError> {
        let key = format!("{kind}:{}:staff:{staff_id}", self.event_id);
        self.add(
            kind,
            &key,
            Some(appointment.id),
            Some(staff_id),
            None,
            details,
            appointment.starts_at,
        )
        .await
    }

    async fn customer_notice(
        &self,
        kind: &str,
        appointment: &Appointment,
        details: &Value,
    ) -> Result<(), IntakeError> {
        let key = format!("{kind}:{}:customer", self.event_id);
        self.add(
            kind,
            &key,
            Some(appointment.id),
            None,
            Some(appointment.customer_id),
            details,
            appointment.starts_at,
        )
        .await
    }

    /// Arms one reminder per offset before the appointment (moving pending ones, and
    /// re-arming sent ones for the new time). A reminder whose time has already passed
    /// when the appointment is booked or moved is not armed: the customer just spoke to
    /// the business about it.
    async fn reminders(
        &self,
        appointment: &Appointment,
        offsets: &[i32],
    ) -> Result<(), IntakeError> {
        // The time comes from the database, not the event: events of one appointment can
        // arrive out of order (several relays, concurrent consumers), and a late
        // `booked` must not put a moved reminder back at the old time.
        let current = self
            .tx
            .query_opt(
                "SELECT starts_at, status IN ('pending', 'confirmed') FROM appointments
                 WHERE organization_id = $1 AND id = $2 FOR SHARE",
                &[&self.organization_id, &appointment.id],
            )
            .await?;
        let starts_at: Timestamp = match current {
            Some(row) if row.get::<_, bool>(1) => row.get(0),
            _ => return self.cancel_pending(appointment.id).await,
        };
        for &offset in offsets {
            let key = format!("reminder:{}:{offset}", appointment.id);
            let due = starts_at - SignedDuration::from_mins(i64::from(offset));
            if due <= self.now {
                self.tx
                    .execute(
                        "UPDATE notifications SET status = 'skipped', skipped_reason = 'too_late'
                         WHERE organization_id = $1 AND dedupe_key = $2 AND status = 'pending'",
                        &[&self.organization_id, &key],
                    )
                    .await?;
                continue;
            }
            // A reminder whose time changes is re-armed (even one already sent for the old
            // time) with a new command id: the old id may already have reached outbound,
            // which would refuse the new message as a duplicate. Same time: unchanged.
            self.tx
                .execute(
                    "INSERT INTO notifications (organization_id, kind, dedupe_key, appointment_id, audience,
                                                customer_id, details, due_at, stale_at)
                     VALUES ($1, 'reminder', $2, $3, 'customer', $4, $5, $6, $7)
                     ON CONFLICT (organization_id, dedupe_key) DO UPDATE
                         SET due_at = EXCLUDED.due_at, stale_at = EXCLUDED.stale_at,
                             status = 'pending', skipped_reason = NULL, sent_at = NULL,
                             command_id = gen_random_uuid()
                         WHERE notifications.status IN ('pending', 'sent', 'skipped', 'cancelled')
                           AND notifications.due_at IS DISTINCT FROM EXCLUDED.due_at",
                    &[
                        &self.organization_id,
                        &key,
                        &appointment.id,
                        &appointment.customer_id,
                        &json!({"offset_minutes": offset}),
                        &due,
                        &starts_at,
                    ],
                )
                .await?;
        }
        Ok(())
    }

    async fn review_request(
        &self,
        appointment: &Appointment,
        after: i32,
    ) -> Result<(), IntakeError> {
        let due = self.now + SignedDuration::from_mins(i64::from(after));
        self.tx
            .execute(
                "INSERT INTO notifications (organization_id, kind, dedupe_key, appointment_id, audience,
                                            customer_id, due_at, stale_at)
                 VALUES ($1, 'review_request', $2, $3, 'customer', $4, $5, $6)
                 ON CONFLICT (organization_id, dedupe_key) DO NOTHING",
                &[
                    &self.organization_id,
                    &format!("review_request:{}", appointment.id),
                    &appointment.id,
                    &appointment.customer_id,
                    &due,
                    &(due + SignedDuration::from_hours(48)),
                ],
            )
            .await?;
        Ok(())
    }

    /// Cancels what was still to be sent about the appointment.
    async fn cancel_pending(&self, appointment_id: Uuid) -> Result<(), IntakeError> {
        self.tx
            .execute(
                "UPDATE notifications SET status = 'cancelled'
                 WHERE organization_id = $1 AND appointment_id = $2 AND status = 'pending'
                   AND kind IN ('reminder', 'review_request')",
                &[&self.organization_id, &appointment_id],
            )
            .await?;
        Ok(())
    }
}

/// How long an event waits in place for the database before it goes back to the queue.
const PATIENCE: Duration = Duration::from_secs(120);

/// Consumes `reminders.events`: applies each event, then acks; an event that can't be
/// parsed goes to `reminders.events.dead` with the reason.
pub struct Intake {
    pub pool: Pool,
    pub publisher: Arc<Publisher>,
    pub topology: Topology,
    pub metrics: Metrics,
}

impl Handler for Intake {
    fn handle(
        self: &Arc<Self>,
        _channel: &Channel,
        delivery: Delivery,
    ) -> impl Future<Output = ()> + Send + 'static {
        let intake = self.clone();
        async move { intake.take(delivery).await }
    }
}

impl Intake {
    async fn take(&self, delivery: Delivery) {
        let envelope = match serde_json::from_slice::<Envelope>(&delivery.data) {
            Ok(envelope) => envelope,
            Err(error) => {
                let reason = format!("malformed event: {error}");
                tracing::warn!(%reason, "event dead-lettered");
                self.metrics.event("malformed");
                consumer::dead_letter_and_ack(
                    &self.publisher,
                    &self.topology,
                    REMINDERS_EVENTS,
                    &delivery,
                    &reason,
                )
                .await;
                return;
            }
        };
        let what = format!("event {}", envelope.event_id);
        let applied = consumer::patiently(PATIENCE, &what, || apply(&self.pool, &envelope)).await;
        let settled = match applied {
            Some(applied) => {
                match &applied {
                    Applied::Done => self.metrics.event("applied"),
                    Applied::Duplicate => self.metrics.event("duplicate"),
                    Applied::Unknown(what) => {
                        tracing::info!(event_id = %envelope.event_id, kind = envelope.event.routing_key(), %what, "event names something unknown; acknowledged");
                        self.metrics.event("unknown");
                    }
                }
                delivery.ack(BasicAckOptions::default()).await
            }
            None => {
                delivery
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
            }
        };
        if let Err(error) = settled {
            tracing::warn!(%error, "cannot settle an event; it will be redelivered (and deduplicated)");
        }
    }
}
