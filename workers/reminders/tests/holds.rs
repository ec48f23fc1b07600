//! Holds on the reminders clock: the owner is asked with buttons while the hold waits,
//! and a hold that ran out is freed exactly once, however many replicas race for it.

mod common;

use cita_shared::contracts::{
    events::{Envelope, Event},
    outbound::{Message, Purpose},
    scheduling::{HoldOutcome, Status},
};
use common::{CUSTOMER_WA, OWNER_PHONE, Shop, at, text_of};
use uuid::Uuid;

/// Holds this many, each an hour after the last, all expiring at `expires`.
async fn holds(shop: &Shop, count: i32, expires: &str) -> Vec<Uuid> {
    let client = shop.db.pool.get().await.unwrap();
    client
        .query(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                       starts_at, ends_at, status, source, hold_expires_at)
             SELECT $1, $2, $3, $4, t, t + interval '45 minutes', 'pending', 'whatsapp', $5
             FROM generate_series(1, $6::int) AS i,
                  LATERAL (SELECT timestamptz '2026-12-14 16:00Z' + i * interval '1 hour' AS t) s
             RETURNING id",
            &[
                &shop.org,
                &shop.customer,
                &shop.barber,
                &shop.service,
                &at(expires),
                &count,
            ],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn hold_ended(shop: &Shop) -> Vec<Envelope> {
    let client = shop.db.pool.get().await.unwrap();
    client
        .query(
            "SELECT payload::text FROM outbox WHERE routing_key = 'appointment.hold_ended'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(r.get(0)).unwrap())
        .collect()
}

#[tokio::test]
async fn an_expired_hold_is_freed_exactly_once_across_three_replicas() {
    let shop = Shop::open("America/Mexico_City").await;
    // More than one batch, so the replicas overlap.
    let due = holds(&shop, 250, "2026-12-10T15:00:00Z").await;
    let client = shop.db.pool.get().await.unwrap();
    let later: Uuid = client
        .query_one(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                       starts_at, ends_at, status, source, hold_expires_at)
             VALUES ($1, $2, $3, $4, '2026-12-20 16:00Z', '2026-12-20 16:45Z', 'pending',
                     'whatsapp', '2026-12-10T15:30:00Z') RETURNING id",
            &[&shop.org, &shop.customer, &shop.owner, &shop.service],
        )
        .await
        .unwrap()
        .get(0);

    let now = at("2026-12-10T15:00:00Z");
    let replicas = (0..3).map(|_| {
        let pool = shop.db.pool.clone();
        tokio::spawn(async move {
            let mut freed = 0;
            loop {
                match cita_reminders::holds::expire(&pool, now).await.unwrap() {
                    0 => return freed,
                    n => freed += n,
                }
            }
        })
    });
    let mut freed = 0;
    for replica in replicas {
        freed += replica.await.unwrap();
    }
    assert_eq!(freed, due.len());

    let ended = hold_ended(&shop).await;
    let mut ids: Vec<Uuid> = ended
        .iter()
        .map(|envelope| match &envelope.event {
            Event::HoldEnded {
                appointment,
                outcome: HoldOutcome::Expired,
                actor: None,
            } => {
                assert_eq!(appointment.status, Status::Cancelled);
                appointment.id
            }
            other => panic!("not an expiry: {other:?}"),
        })
        .collect();
    ids.sort();
    let mut expected = due.clone();
    expected.sort();
    assert_eq!(ids, expected, "each hold ended once");
    assert_eq!(
        shop.db
            .count(&format!(
                "SELECT count(*) FROM appointments WHERE status = 'pending' AND id = '{later}'"
            ))
            .await,
        1,
        "a hold not yet due still waits"
    );
    // The freed times take a new booking.
    client
        .execute(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                       starts_at, ends_at, status, source)
             VALUES ($1, $2, $3, $4, '2026-12-14 17:00Z', '2026-12-14 17:45Z', 'confirmed',
                     'whatsapp')",
            &[&shop.org, &shop.customer, &shop.barber, &shop.service],
        )
        .await
        .unwrap();

    // Told once each, even when the event comes twice.
    let first = &ended[0];
    shop.apply(first).await;
    shop.apply(first).await;
    shop.dispatch("2026-12-10T15:00:01Z").await;
    let mut sends = shop.commands().await;
    sends.sort_by(|a, b| a.to.cmp(&b.to));
    let to: Vec<&str> = sends.iter().map(|s| s.to.as_str()).collect();
    assert_eq!(to, [OWNER_PHONE, CUSTOMER_WA]);
    assert!(text_of(&sends[1]).contains("se liberó"), "{:?}", sends[1]);
    assert_eq!(
        sends[1].fallback.as_ref().map(|t| t.name.as_str()),
        Some("appointment_cancelled")
    );
    assert!(text_of(&sends[0]).contains("venció"), "{:?}", sends[0]);
}

#[tokio::test]
async fn the_owner_is_asked_with_buttons_only_while_the_hold_waits() {
    let shop = Shop::open("America/Mexico_City").await;
    let ids = holds(&shop, 2, "2026-12-10T17:00:00Z").await;
    let client = shop.db.pool.get().await.unwrap();
    let mut held = Vec::new();
    for id in &ids {
        let mut appointment = shop.appointment_row(*id).await;
        appointment.hold_expires_at = Some(at("2026-12-10T17:00:00Z"));
        held.push(appointment);
    }
    for appointment in &held {
        let envelope = shop.envelope(
            "2026-12-10T15:00:00Z",
            Event::AppointmentHeld {
                appointment: appointment.clone(),
                actor: shop.by_customer(),
                deposit: None,
            },
        );
        shop.apply(&envelope).await;
    }
    // The second is approved before its notice goes out.
    client
        .execute(
            "UPDATE appointments SET status = 'confirmed', hold_outcome = 'approved' WHERE id = $1",
            &[&ids[1]],
        )
        .await
        .unwrap();
    shop.dispatch("2026-12-10T15:00:01Z").await;
    let sends = shop.commands().await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].to, OWNER_PHONE);
    assert_eq!(sends[0].purpose, Purpose::Notification);
    let Message::Buttons(buttons) = &sends[0].message else {
        panic!("no buttons: {:?}", sends[0].message)
    };
    let choices: Vec<&str> = buttons.buttons.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        choices,
        [format!("hold:ok:{}", ids[0]), format!("hold:no:{}", ids[0])]
    );
    assert!(buttons.body.contains("¿La apruebas?"), "{}", buttons.body);
    assert!(
        sends[0].fallback.is_some(),
        "a closed window still reaches the owner"
    );
    let skipped = shop.rows("hold_request").await;
    assert_eq!(skipped.len(), 2);
    assert!(skipped.iter().any(|r| r.1 == "skipped"), "{skipped:?}");
}

#[tokio::test]
async fn a_hold_moved_before_its_approval_is_not_reminded() {
    let shop = Shop::open("America/Mexico_City").await;
    let ids = holds(&shop, 1, "2026-12-10T17:00:00Z").await;
    let held = shop.appointment_row(ids[0]).await;
    assert_eq!(held.status, Status::Pending);
    let moved = shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentRescheduled {
            appointment: held.clone(),
            previous_starts_at: at("2026-12-14T16:00:00Z"),
            previous_staff_id: held.staff_id,
            actor: shop.by_customer(),
        },
    );
    shop.apply(&moved).await;
    assert!(shop.rows("reminder").await.is_empty(), "no reminder yet");
    // Approved, it is booked — and reminded from then on.
    let mut approved = held.clone();
    approved.status = Status::Confirmed;
    let booked = shop.envelope(
        "2026-12-10T15:10:00Z",
        Event::AppointmentBooked {
            appointment: approved,
            actor: shop.by_staff(shop.owner),
        },
    );
    shop.apply(&booked).await;
    assert!(!shop.rows("reminder").await.is_empty());
}
