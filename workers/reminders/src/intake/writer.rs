//! The notification rows one event writes, in the event's transaction. Each row is
//! unique per organization and key, so writing it twice adds nothing.

use cita_shared::{contracts::scheduling::Appointment, error::Infra};
use deadpool_postgres::Transaction;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::kind::Kind;

/// The trace of the event being applied, for the message the row will become.
fn traceparent() -> Option<String> {
    cita_shared::trace::Trace::current().map(|t| t.child().to_string())
}

pub(super) struct Writer<'a> {
    pub tx: &'a Transaction<'a>,
    pub organization_id: Uuid,
    pub event_id: Uuid,
    pub now: Timestamp,
}

impl Writer<'_> {
    pub(super) async fn appointment_exists(&self, id: Uuid) -> Result<bool, Infra> {
        Ok(self
            .tx
            .query_opt(
                "SELECT 1 FROM appointments WHERE organization_id = $1 AND id = $2",
                &[&self.organization_id, &id],
            )
            .await?
            .is_some())
    }

    pub(super) async fn owners(&self) -> Result<Vec<Uuid>, Infra> {
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
    pub(super) async fn add(
        &self,
        kind: Kind,
        key: &str,
        appointment_id: Option<Uuid>,
        staff_id: Option<Uuid>,
        customer_id: Option<Uuid>,
        details: &Value,
        stale_at: Timestamp,
    ) -> Result<(), Infra> {
        let audience = if staff_id.is_some() {
            "staff"
        } else {
            "customer"
        };
        self.tx
            .execute(
                "INSERT INTO notifications (organization_id, kind, dedupe_key, appointment_id, audience,
                                            customer_id, staff_id, details, due_at, stale_at,
                                            traceparent)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (organization_id, dedupe_key) DO NOTHING",
                &[
                    &self.organization_id,
                    &kind.as_str(),
                    &key,
                    &appointment_id,
                    &audience,
                    &customer_id,
                    &staff_id,
                    details,
                    &self.now,
                    &stale_at,
                    &traceparent(),
                ],
            )
            .await?;
        Ok(())
    }

    /// A notice to a staff member about an appointment, once per event and member (the
    /// owner who is also the assigned barber hears it once).
    pub(super) async fn staff_notice(
        &self,
        kind: Kind,
        appointment: &Appointment,
        staff_id: Uuid,
        details: &Value,
    ) -> Result<(), Infra> {
        let key = format!("{}:{}:staff:{staff_id}", kind.as_str(), self.event_id);
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

    pub(super) async fn customer_notice(
        &self,
        kind: Kind,
        appointment: &Appointment,
        details: &Value,
    ) -> Result<(), Infra> {
        let key = format!("{}:{}:customer", kind.as_str(), self.event_id);
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
    pub(super) async fn reminders(
        &self,
        appointment: &Appointment,
        offsets: &[i32],
    ) -> Result<(), Infra> {
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
                                                customer_id, details, due_at, stale_at, traceparent)
                     VALUES ($1, $8, $2, $3, 'customer', $4, $5, $6, $7, $9)
                     ON CONFLICT (organization_id, dedupe_key) DO UPDATE
                         SET due_at = EXCLUDED.due_at, stale_at = EXCLUDED.stale_at,
                             status = 'pending', skipped_reason = NULL, sent_at = NULL,
                             command_id = gen_random_uuid(), traceparent = EXCLUDED.traceparent
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
                        &Kind::Reminder.as_str(),
                        &traceparent(),
                    ],
                )
                .await?;
        }
        Ok(())
    }

    pub(super) async fn review_request(
        &self,
        appointment: &Appointment,
        after: i32,
    ) -> Result<(), Infra> {
        let due = self.now + SignedDuration::from_mins(i64::from(after));
        self.tx
            .execute(
                "INSERT INTO notifications (organization_id, kind, dedupe_key, appointment_id, audience,
                                            customer_id, due_at, stale_at, traceparent)
                 VALUES ($1, $7, $2, $3, 'customer', $4, $5, $6, $8)
                 ON CONFLICT (organization_id, dedupe_key) DO NOTHING",
                &[
                    &self.organization_id,
                    &format!("review_request:{}", appointment.id),
                    &appointment.id,
                    &appointment.customer_id,
                    &due,
                    &(due + SignedDuration::from_hours(48)),
                    &Kind::ReviewRequest.as_str(),
                    &traceparent(),
                ],
            )
            .await?;
        Ok(())
    }

    /// Cancels what was still to be sent about the appointment.
    pub(super) async fn cancel_pending(&self, appointment_id: Uuid) -> Result<(), Infra> {
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
