//! A barbershop in a throwaway database (an owner who also cuts hair, a barber, a
//! customer, a service), events as scheduling publishes them, and the commands reminders
//! publishes to `outbound.send`.

#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use cita_reminders::{dispatch, intake};
use cita_shared::{
    admin::Health,
    amqp::{
        Publisher, PublisherOptions,
        topology::{CITA_COMMANDS, OUTBOUND_SEND},
    },
    contracts::{
        events::{Envelope, Event},
        outbound::{Command, Outgoing},
        scheduling::{Actor, Appointment, Channel, Source, Status, Who},
    },
    secret::Secret,
    testing::{Barbershop, TestBroker, TestDb, eventually},
};
use jiff::Timestamp;
use uuid::Uuid;

pub const OWNER_PHONE: &str = "5215500000001";
pub const BARBER_PHONE: &str = "5215500000002";
pub const CUSTOMER_WA: &str = "5215512345678";

pub struct Shop {
    pub db: TestDb,
    pub broker: TestBroker,
    pub publisher: Arc<Publisher>,
    pub org: Uuid,
    pub owner: Uuid,
    pub barber: Uuid,
    pub customer: Uuid,
    pub service: Uuid,
}

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

impl Shop {
    pub async fn open(timezone: &str) -> Self {
        let db = TestDb::migrated().await;
        let broker = TestBroker::new().await;
        broker.declare().await;
        // Staff phones as WhatsApp gives them (521 + 10 digits): the notices go there.
        let shop = Barbershop::builder()
            .timezone(timezone)
            .phone_number_id("100000000000001")
            .staff_phones(Some(OWNER_PHONE), Some(BARBER_PHONE))
            .customer(Some(CUSTOMER_WA), Some(CUSTOMER_WA), Some("Ana"))
            .create(&db.pool)
            .await;
        let ready = Health::default().register("amqp");
        let (publisher, _task) = Publisher::start(
            Secret::new(broker.url.clone()),
            broker.topology.clone(),
            PublisherOptions {
                connection_name: "test-reminders".into(),
                confirm_timeout: Duration::from_secs(5),
                channels: 2,
                ..Default::default()
            },
            ready.clone(),
        );
        eventually(
            Duration::from_secs(10),
            "the publisher is ready",
            || async { ready.get().then_some(()) },
        )
        .await;
        Shop {
            db,
            broker,
            publisher,
            org: shop.organization,
            owner: shop.owner,
            barber: shop.barber,
            customer: shop.customers[0],
            service: shop.services[0],
        }
    }

    /// A confirmed appointment with `staff` starting at `starts_at` (UTC).
    pub async fn appointment(&self, staff: Uuid, starts_at: &str) -> Appointment {
        let starts = at(starts_at);
        let ends = starts + jiff::SignedDuration::from_mins(45);
        let client = self.db.pool.get().await.unwrap();
        let id: Uuid = client
            .query_one(
                "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                           starts_at, ends_at, status, source)
                 VALUES ($1, $2, $3, $4, $5, $6, 'confirmed', 'whatsapp') RETURNING id",
                &[
                    &self.org,
                    &self.customer,
                    &staff,
                    &self.service,
                    &starts,
                    &ends,
                ],
            )
            .await
            .unwrap()
            .get(0);
        Appointment {
            id,
            organization_id: self.org,
            customer_id: self.customer,
            staff_id: staff,
            service_type_id: self.service,
            starts_at: starts,
            ends_at: ends,
            status: Status::Confirmed,
            source: Source::Whatsapp,
            notes: None,
            cancellation_reason: None,
            hold_expires_at: None,
        }
    }

    /// The appointment `id` as stored.
    pub async fn appointment_row(&self, id: Uuid) -> Appointment {
        use cita_shared::db::rows;
        let client = self.db.pool.get().await.unwrap();
        let row = client
            .query_one(
                &format!(
                    "SELECT {} FROM appointments WHERE id = $1",
                    rows::APPOINTMENT_COLUMNS
                ),
                &[&id],
            )
            .await
            .unwrap();
        rows::appointment(&row).unwrap()
    }

    pub fn by_customer(&self) -> Actor {
        Actor {
            organization_id: self.org,
            who: Who::Customer {
                customer_id: self.customer,
            },
            channel: Channel::Whatsapp,
            api_key_id: None,
        }
    }

    pub fn by_staff(&self, staff_id: Uuid) -> Actor {
        Actor {
            organization_id: self.org,
            who: Who::Staff { staff_id },
            channel: Channel::Whatsapp,
            api_key_id: None,
        }
    }

    pub fn envelope(&self, occurred_at: &str, event: Event) -> Envelope {
        Envelope {
            event_id: Uuid::new_v4(),
            organization_id: self.org,
            occurred_at: at(occurred_at),
            event,
        }
    }

    pub async fn apply(&self, envelope: &Envelope) -> intake::Applied {
        intake::apply(&self.db.pool, envelope).await.unwrap()
    }

    /// Dispatches everything due at `now`; returns how many were published and skipped.
    pub async fn dispatch(&self, now: &str) -> dispatch::Dispatched {
        let mut total = dispatch::Dispatched::default();
        loop {
            let done = dispatch::dispatch_batch(
                &self.db.pool,
                &self.publisher,
                &self.broker.topology.name(CITA_COMMANDS),
                at(now),
                100,
            )
            .await
            .unwrap();
            if done.total() == 0 {
                return total;
            }
            total.published += done.published;
            total.skipped += done.skipped;
        }
    }

    /// Every command on `outbound.send`, taken off the queue.
    pub async fn commands(&self) -> Vec<Outgoing> {
        self.broker
            .drain(OUTBOUND_SEND)
            .await
            .into_iter()
            .map(
                |m| match serde_json::from_slice(&m.delivery.data).unwrap() {
                    Command::SendV1(send) => send,
                },
            )
            .collect()
    }

    /// (kind, status, due_at, skipped_reason, command_id) of the rows with `kind`.
    pub async fn rows(&self, kind: &str) -> Vec<(String, String, Timestamp, Option<String>, Uuid)> {
        let client = self.db.pool.get().await.unwrap();
        client
            .query(
                "SELECT kind, status, due_at, skipped_reason, command_id FROM notifications
                 WHERE kind = $1 ORDER BY due_at, dedupe_key",
                &[&kind],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect()
    }
}

/// The text of a command's message (or its template name).
pub fn text_of(send: &Outgoing) -> String {
    send.message.summary()
}
