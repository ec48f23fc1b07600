//! A barbershop in a throwaway database (an owner, a barber, a customer known by phone,
//! three services, opening hours), and webhook bodies as Meta posts them.

#![allow(dead_code)]

pub mod fleet;

use cita_shared::testing::TestDb;
use serde_json::{Value, json};
use uuid::Uuid;

pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// Stored in the normalized form (52 + 10 digits); WhatsApp sends 521 + 10 digits.
pub const OWNER_PHONE: &str = "525500000001";
pub const OWNER_WA: &str = "5215500000001";
pub const BARBER_PHONE: &str = "525500000002";
pub const BARBER_WA: &str = "5215500000002";
pub const CUSTOMER_WA: &str = "5215512345678";

pub struct Shop {
    pub db: TestDb,
    pub org: Uuid,
    pub owner: Uuid,
    pub barber: Uuid,
    pub corte: Uuid,
    pub barba: Uuid,
    pub tinte: Uuid,
}

impl Shop {
    pub async fn open() -> Self {
        let db = TestDb::migrated().await;
        let client = db.pool.get().await.unwrap();
        let org: Uuid = client
            .query_one(
                "INSERT INTO organizations (slug, name, timezone, status, phone_number_id)
                 VALUES ('barberia', 'Barbería El Centro', 'America/Mexico_City', 'active', $1)
                 RETURNING id",
                &[&PHONE_NUMBER_ID],
            )
            .await
            .unwrap()
            .get(0);
        let location: Uuid = client
            .query_one(
                "INSERT INTO locations (organization_id, name) VALUES ($1, 'Centro') RETURNING id",
                &[&org],
            )
            .await
            .unwrap()
            .get(0);
        client
            .execute(
                "INSERT INTO business_hours (organization_id, location_id, weekday, opens_at, closes_at)
                 SELECT $1, $2, d, '10:00', '19:00' FROM generate_series(1, 6) d",
                &[&org, &location],
            )
            .await
            .unwrap();
        let staff = |name: &'static str, phone: &'static str, role: &'static str| {
            let client = &client;
            async move {
                let id: Uuid = client
                    .query_one(
                        "INSERT INTO staff (organization_id, name, phone, role) VALUES ($1, $2, $3, $4) RETURNING id",
                        &[&org, &name, &phone, &role],
                    )
                    .await
                    .unwrap()
                    .get(0);
                client
                    .execute(
                        "INSERT INTO staff_working_hours (organization_id, staff_id, weekday, starts_at, ends_at)
                         SELECT $1, $2, d, '10:00', '19:00' FROM generate_series(1, 6) d",
                        &[&org, &id],
                    )
                    .await
                    .unwrap();
                id
            }
        };
        let owner = staff("Rosa", OWNER_PHONE, "owner").await;
        let barber = staff("Luis", BARBER_PHONE, "employee").await;
        let service = |name: &'static str, minutes: i32, price: i64| {
            let client = &client;
            async move {
                let id: Uuid = client
                    .query_one(
                        "INSERT INTO service_types (organization_id, name, duration_minutes, price_minor, currency)
                         VALUES ($1, $2, $3, $4, 'MXN') RETURNING id",
                        &[&org, &name, &minutes, &price],
                    )
                    .await
                    .unwrap()
                    .get(0);
                for staff in [owner, barber] {
                    client
                        .execute(
                            "INSERT INTO staff_services (organization_id, staff_id, service_type_id) VALUES ($1, $2, $3)",
                            &[&org, &staff, &id],
                        )
                        .await
                        .unwrap();
                }
                id
            }
        };
        let corte = service("Corte de cabello", 45, 25000).await;
        let barba = service("Arreglo de barba", 30, 15000).await;
        let tinte = service("Tinte", 90, 60000).await;
        drop(client);
        Shop {
            db,
            org,
            owner,
            barber,
            corte,
            barba,
            tinte,
        }
    }

    pub async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> T {
        let client = self.db.pool.get().await.unwrap();
        client.query_one(sql, params).await.unwrap().get(0)
    }

    pub async fn execute(&self, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) {
        let client = self.db.pool.get().await.unwrap();
        client.execute(sql, params).await.unwrap();
    }
}

/// A notification with one change of `field` for the shop's number.
pub fn notification(field: &str, value: Value) -> Vec<u8> {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] =
        json!({"display_phone_number": "5215511112222", "phone_number_id": PHONE_NUMBER_ID});
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}]
    }))
    .unwrap()
}

/// A message object as Meta sends it.
pub fn message_json(from: &str, wamid: &str, seconds: i64, kind: &str, body: Value) -> Value {
    let mut m = json!({"from": from, "id": wamid, "timestamp": seconds.to_string(), "type": kind});
    m[kind] = body;
    m
}

/// A text message from `from` (with a WhatsApp profile name).
pub fn text_from(from: &str, name: &str, wamid: &str, seconds: i64, text: &str) -> Vec<u8> {
    notification(
        "messages",
        json!({
            "contacts": [{"profile": {"name": name}, "wa_id": from}],
            "messages": [message_json(from, wamid, seconds, "text", json!({"body": text}))]
        }),
    )
}

/// A tap on a reply button (`button_reply`) or list row (`list_reply`).
pub fn tap_from(
    from: &str,
    wamid: &str,
    seconds: i64,
    kind: &str,
    id: &str,
    title: &str,
) -> Vec<u8> {
    notification(
        "messages",
        json!({
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": from}],
            "messages": [message_json(from, wamid, seconds, "interactive",
                                      json!({"type": kind, kind: {"id": id, "title": title}}))]
        }),
    )
}

pub fn status_of(wamid: &str, status: &str, seconds: i64) -> Vec<u8> {
    notification(
        "messages",
        json!({"statuses": [{"id": wamid, "status": status, "timestamp": seconds.to_string(),
                             "recipient_id": CUSTOMER_WA}]}),
    )
}

pub fn echo_to(to: &str, wamid: &str, seconds: i64, text: &str) -> Vec<u8> {
    notification(
        "smb_message_echoes",
        json!({"message_echoes": [{"from": "5215511112222", "to": to, "id": wamid,
               "timestamp": seconds.to_string(), "type": "text", "text": {"body": text}}]}),
    )
}

pub fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl Shop {
    /// A known customer (by their WhatsApp id) with a confirmed appointment.
    pub async fn customer_with_appointment(
        &self,
        wa_id: &str,
        name: &str,
        starts_at: &str,
    ) -> (Uuid, Uuid) {
        let customer: Uuid = self
            .scalar(
                "INSERT INTO customers (organization_id, wa_id, phone, name) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (organization_id, wa_id) DO UPDATE SET name = EXCLUDED.name RETURNING id",
                &[&self.org, &wa_id, &cita_shared::whatsapp::phone::normalize(wa_id), &name],
            )
            .await;
        let starts: jiff::Timestamp = starts_at.parse().unwrap();
        let ends = starts + jiff::SignedDuration::from_mins(45);
        let appointment: Uuid = self
            .scalar(
                "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                           starts_at, ends_at, status, source)
                 VALUES ($1, $2, $3, $4, $5, $6, 'confirmed', 'whatsapp') RETURNING id",
                &[
                    &self.org,
                    &customer,
                    &self.barber,
                    &self.corte,
                    &starts,
                    &ends,
                ],
            )
            .await;
        (customer, appointment)
    }
}
