//! A barbershop in a throwaway database (an owner, a barber, a customer known by phone,
//! three services, opening hours), and webhook bodies as Meta posts them.

#![allow(dead_code)]

pub mod fleet;

use cita_shared::testing::{Barbershop, Service, TestDb, barbershop};
use serde_json::{Value, json};
use uuid::Uuid;

pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// Stored in the normalized form (52 + 10 digits); WhatsApp sends 521 + 10 digits.
pub const OWNER_PHONE: &str = barbershop::OWNER_PHONE;
pub const OWNER_WA: &str = "5215500000001";
pub const BARBER_PHONE: &str = barbershop::BARBER_PHONE;
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
        let shop = Barbershop::builder()
            .phone_number_id(PHONE_NUMBER_ID)
            .services([
                Service::new("Corte de cabello", 45, 25000),
                Service::new("Arreglo de barba", 30, 15000),
                Service::new("Tinte", 90, 60000),
            ])
            .create(&db.pool)
            .await;
        let [corte, barba, tinte] = shop.services[..] else {
            unreachable!("three services were created")
        };
        Shop {
            db,
            org: shop.organization,
            owner: shop.owner,
            barber: shop.barber,
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
    /// `wa_id`'s conversation as a customer named `name`, handed to a person: its id.
    pub async fn handed_off_conversation(&self, wa_id: &str, name: &str) -> Uuid {
        let (customer, _) = self
            .customer_with_appointment(wa_id, name, "2026-12-09T17:00:00Z")
            .await;
        self.scalar(
            "INSERT INTO conversations (organization_id, wa_id, customer_id, status, handoff_reason, last_inbound_at)
             VALUES ($1, $2, $3, 'handed_off', 'quiere un precio especial', now()) RETURNING id",
            &[&self.org, &wa_id, &customer],
        )
        .await
    }

    pub async fn conversation_status(&self, id: Uuid) -> String {
        self.scalar("SELECT status FROM conversations WHERE id = $1", &[&id])
            .await
    }

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
