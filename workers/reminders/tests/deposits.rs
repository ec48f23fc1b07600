//! Deposits on the reminders side: a hold waiting for its deposit asks the customer with
//! the payment link (and not the owners for approval), and a payment that did not confirm
//! is told to the owners, and to the customer when the money goes back.

mod common;

use cita_shared::contracts::{
    events::{DepositIssue, Event},
    scheduling::{Deposit, Status},
};
use common::{CUSTOMER_WA, OWNER_PHONE, Shop, at, text_of};
use uuid::Uuid;

async fn hold(shop: &Shop) -> cita_shared::contracts::scheduling::Appointment {
    let id: Uuid = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                       starts_at, ends_at, status, source, hold_expires_at)
             VALUES ($1, $2, $3, $4, '2026-12-14 17:00Z', '2026-12-14 17:45Z', 'pending',
                     'whatsapp', '2026-12-10T16:00:00Z') RETURNING id",
            &[&shop.org, &shop.customer, &shop.barber, &shop.service],
        )
        .await
        .unwrap()
        .get(0);
    let mut appointment = shop.appointment_row(id).await;
    appointment.hold_expires_at = Some(at("2026-12-10T16:00:00Z"));
    appointment
}

fn deposit() -> Deposit {
    Deposit {
        id: Uuid::new_v4(),
        amount_minor: 10_000,
        currency: "MXN".into(),
    }
}

#[tokio::test]
async fn a_deposit_hold_sends_the_customer_its_link_and_asks_no_owner() {
    let shop = Shop::open("America/Mexico_City").await;
    let held = hold(&shop).await;
    let deposit = deposit();
    shop.apply(&shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentHeld {
            appointment: held.clone(),
            actor: shop.by_customer(),
            deposit: Some(deposit.clone()),
        },
    ))
    .await;
    assert!(
        shop.rows("hold_request").await.is_empty(),
        "the owners are not asked"
    );
    shop.apply(&shop.envelope(
        "2026-12-10T15:00:02Z",
        Event::DepositRequested {
            appointment: held.clone(),
            deposit,
            link: "https://www.mercadopago.com.mx/checkout/v1/redirect?pref_id=pref-1".into(),
        },
    ))
    .await;
    shop.dispatch("2026-12-10T15:00:03Z").await;
    let sends = shop.commands().await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].to, CUSTOMER_WA);
    let text = text_of(&sends[0]);
    for part in [
        "$100 MXN",
        "pref_id=pref-1",
        "jueves 10 de diciembre, 10:00",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert!(sends[0].fallback.is_none(), "no template carries a link");
}

#[tokio::test]
async fn a_wrong_amount_is_told_to_the_owners_and_money_owed_back_to_the_customer_too() {
    let shop = Shop::open("America/Mexico_City").await;
    let held = hold(&shop).await;
    shop.apply(&shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::DepositIssue {
            appointment: held.clone(),
            deposit: deposit(),
            issue: DepositIssue::AmountMismatch {
                paid_minor: 1_000,
                paid_currency: "MXN".into(),
            },
        },
    ))
    .await;
    shop.dispatch("2026-12-10T15:00:01Z").await;
    let sends = shop.commands().await;
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].to, OWNER_PHONE);
    let text = text_of(&sends[0]);
    assert!(
        text.contains("$10 MXN") && text.contains("$100 MXN"),
        "{text}"
    );

    let mut lost = held.clone();
    lost.status = Status::Cancelled;
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE appointments SET status = 'cancelled', hold_outcome = 'expired' WHERE id = $1",
            &[&held.id],
        )
        .await
        .unwrap();
    shop.apply(&shop.envelope(
        "2026-12-10T17:00:00Z",
        Event::DepositIssue {
            appointment: lost,
            deposit: deposit(),
            issue: DepositIssue::RefundDue,
        },
    ))
    .await;
    shop.dispatch("2026-12-10T17:00:01Z").await;
    let sends = shop.commands().await;
    let mut to: Vec<&str> = sends.iter().map(|s| s.to.as_str()).collect();
    to.sort_unstable();
    let mut expected = [OWNER_PHONE, CUSTOMER_WA];
    expected.sort_unstable();
    assert_eq!(to, expected, "{sends:?}");
    let customer = sends.iter().find(|s| s.to == CUSTOMER_WA).unwrap();
    assert!(
        text_of(customer).contains("Te devolvemos los $100 MXN"),
        "{}",
        text_of(customer)
    );
}

#[tokio::test]
async fn a_deposit_hold_that_ran_out_tells_the_customer_the_deposit_did_not_come() {
    let shop = Shop::open("America/Mexico_City").await;
    let held = hold(&shop).await;
    let client = shop.db.pool.get().await.unwrap();
    client
        .execute(
            "INSERT INTO deposits (organization_id, appointment_id, amount_minor, currency)
             VALUES ($1, $2, 10000, 'MXN')",
            &[&shop.org, &held.id],
        )
        .await
        .unwrap();
    client
        .execute(
            "UPDATE appointments SET status = 'cancelled', hold_outcome = 'expired' WHERE id = $1",
            &[&held.id],
        )
        .await
        .unwrap();
    let mut expired = held.clone();
    expired.status = Status::Cancelled;
    shop.apply(&shop.envelope(
        "2026-12-10T16:00:00Z",
        Event::HoldEnded {
            appointment: expired,
            outcome: cita_shared::contracts::scheduling::HoldOutcome::Expired,
            actor: None,
        },
    ))
    .await;
    shop.dispatch("2026-12-10T16:00:01Z").await;
    let sends = shop.commands().await;
    let customer = sends
        .iter()
        .find(|s| s.to == CUSTOMER_WA)
        .expect("the customer is told");
    assert!(
        text_of(customer).contains("no recibimos a tiempo el anticipo"),
        "{}",
        text_of(customer)
    );
}
