//! Deposits in scheduling: a customer's booking of a service that asks for one is a hold
//! with a deposit row; a believed payment confirms it once, a wrong amount confirms
//! nothing, and a payment after the hold ended books the time if it is still free and is
//! owed back otherwise.

mod common;

use cita_scheduling::ops::{Paid, Settled};
use cita_shared::contracts::scheduling::{SchedulingError, Status};
use common::Shop;
use uuid::Uuid;

/// 40 % of the haircut's $250.00, for customers' bookings.
async fn ask_for_deposits(shop: &Shop) {
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE organizations SET deposit_kind = 'percent', deposit_value = 40, hold_minutes = 60",
            &[],
        )
        .await
        .unwrap();
}

async fn deposit_of(shop: &Shop, appointment: Uuid) -> (Uuid, i64, String, String) {
    let row = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT id, amount_minor, trim(currency), status FROM deposits WHERE appointment_id = $1",
            &[&appointment],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

/// A booking by staff member `staff`, with them, for Beto.
fn by_staff(
    shop: &Shop,
    staff: Uuid,
    local: &str,
    key: &str,
) -> cita_shared::contracts::scheduling::BookRequest {
    let mut request = shop.booking(shop.staff(staff), local, key);
    request.customer_id = Some(shop.beto);
    request.staff_id = Some(staff);
    request
}

fn paid(id: &str, amount_minor: i64) -> Paid {
    Paid {
        payment_id: id.into(),
        amount_minor,
        currency: "MXN".into(),
    }
}

#[tokio::test]
async fn a_paid_deposit_confirms_its_hold_once_and_a_wrong_amount_confirms_nothing() {
    let shop = Shop::open().await;
    ask_for_deposits(&shop).await;
    let by_staff = shop
        .book(by_staff(&shop, shop.owner, "2026-12-07T10:00", "staff"))
        .await
        .unwrap();
    assert_eq!(
        by_staff.status,
        Status::Confirmed,
        "staff book without a deposit"
    );
    let held = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "ana"))
        .await
        .unwrap();
    assert_eq!(held.status, Status::Pending);
    let (deposit, amount, currency, status) = deposit_of(&shop, held.id).await;
    assert_eq!(
        (amount, currency.as_str(), status.as_str()),
        (10_000, "MXN", "awaiting")
    );
    assert_eq!(
        shop.sql_count(
            "SELECT count(*) FROM outbox WHERE routing_key = 'appointment.held'
             AND jsonb_path_exists(payload, '$.**.deposit.amount_minor ? (@ == 10000)')"
        )
        .await,
        1,
        "the held event carries the deposit"
    );

    let short = shop
        .scheduler
        .settle_deposit(shop.org, deposit, &paid("111", 9_999))
        .await
        .unwrap();
    assert!(matches!(short, Settled::Mismatch(_)), "{short:?}");
    assert_eq!(deposit_of(&shop, held.id).await.3, "awaiting");
    assert_eq!(
        shop.sql_count(&format!(
            "SELECT count(*) FROM appointments WHERE id = '{}' AND status = 'pending'",
            held.id
        ))
        .await,
        1
    );
    let Settled::Confirmed(confirmed) = shop
        .scheduler
        .settle_deposit(shop.org, deposit, &paid("222", 10_000))
        .await
        .unwrap()
    else {
        panic!("the payment did not confirm the hold");
    };
    assert_eq!(confirmed.status, Status::Confirmed);
    assert_eq!(deposit_of(&shop, held.id).await.3, "paid");
    let again = shop
        .scheduler
        .settle_deposit(shop.org, deposit, &paid("222", 10_000))
        .await
        .unwrap();
    assert_eq!(again, Settled::AlreadyPaid);
    let twice = shop
        .scheduler
        .settle_deposit(shop.org, deposit, &paid("333", 10_000))
        .await
        .unwrap();
    assert!(matches!(twice, Settled::PaidTwice { .. }), "{twice:?}");
    let events = shop.events().await;
    assert_eq!(
        events.iter().filter(|e| *e == "appointment.booked").count(),
        2,
        "the staff booking and the paid hold, once: {events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == "appointment.deposit_issue")
            .count(),
        1,
        "the short payment: {events:?}"
    );

    let elsewhere = shop
        .scheduler
        .settle_deposit(Uuid::new_v4(), deposit, &paid("444", 10_000))
        .await;
    assert!(
        matches!(
            elsewhere,
            Err(cita_scheduling::error::Error::Rejected(
                SchedulingError::NotFound { .. }
            ))
        ),
        "another organization's reference: {elsewhere:?}"
    );
}

#[tokio::test]
async fn a_payment_after_the_hold_ended_books_the_time_if_free_and_is_owed_back_if_not() {
    let shop = Shop::open().await;
    ask_for_deposits(&shop).await;
    let late = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "late"))
        .await
        .unwrap();
    let lost = shop
        .book(shop.booking(shop.customer(shop.beto), "2026-12-07T16:00", "lost"))
        .await
        .unwrap();
    let client = shop.db.pool.get().await.unwrap();
    // The reminders clock freed both.
    client
        .execute(
            "UPDATE appointments SET status = 'cancelled', hold_outcome = 'expired'",
            &[],
        )
        .await
        .unwrap();
    shop.set_now("2026-12-07T09:30");
    // Someone else takes the lost hold's time with the same staff member.
    let taken = shop
        .book(by_staff(&shop, lost.staff_id, "2026-12-07T16:00", "taken"))
        .await
        .unwrap();
    assert_eq!(taken.status, Status::Confirmed);

    let (deposit, amount, ..) = deposit_of(&shop, late.id).await;
    let rebooked = shop
        .scheduler
        .settle_deposit(shop.org, deposit, &paid("555", amount))
        .await
        .unwrap();
    assert!(
        matches!(&rebooked, Settled::Confirmed(a) if a.id == late.id && a.status == Status::Confirmed),
        "{rebooked:?}"
    );
    assert_eq!(deposit_of(&shop, late.id).await.3, "paid");

    let (deposit, amount, ..) = deposit_of(&shop, lost.id).await;
    let owed = shop
        .scheduler
        .settle_deposit(shop.org, deposit, &paid("666", amount))
        .await
        .unwrap();
    assert!(matches!(owed, Settled::RefundDue { .. }), "{owed:?}");
    assert_eq!(deposit_of(&shop, lost.id).await.3, "refund_due");
    assert_eq!(
        shop.sql_count(&format!(
            "SELECT count(*) FROM appointments WHERE id = '{}' AND status = 'cancelled'",
            lost.id
        ))
        .await,
        1,
        "nothing double-books"
    );
}

#[tokio::test]
async fn a_service_asks_for_its_own_deposit_only_once_mercado_pago_is_connected() {
    use cita_shared::contracts::scheduling::{
        DepositPolicy, Outcome, Reply, Request, UpsertServiceRequest,
    };
    let shop = Shop::open().await;
    ask_for_deposits(&shop).await;
    let own = |deposit: Option<DepositPolicy>, key: &str| {
        Request::UpsertService(UpsertServiceRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: key.into(),
            service_type_id: Some(shop.haircut),
            name: None,
            description: None,
            duration_minutes: None,
            price_minor: None,
            buffer_minutes: None,
            active: None,
            staff_ids: None,
            approval: None,
            change_cutoff_minutes: None,
            deposit: Some(deposit),
        })
    };
    let fixed = Some(DepositPolicy::Fixed {
        amount_minor: 5_000,
    });
    let unconnected = shop.scheduler.handle(own(fixed, "unconnected")).await;
    assert!(
        matches!(&unconnected, Reply::Error(SchedulingError::InvalidRequest { reason }) if reason.contains("Mercado Pago")),
        "{unconnected:?}"
    );
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO payment_accounts (organization_id, provider_user_id, token_ciphertext, token_key_id)
             VALUES ($1, '2025436155', '\\x00', 't1')",
            &[&shop.org],
        )
        .await
        .unwrap();
    let Reply::Ok(Outcome::Service { service }) = shop.scheduler.handle(own(fixed, "fixed")).await
    else {
        panic!("the service's deposit was not saved");
    };
    assert_eq!(service.deposit, fixed);
    let held = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "ana"))
        .await
        .unwrap();
    assert_eq!(
        deposit_of(&shop, held.id).await.1,
        5_000,
        "the service's, not the business's 40 %"
    );
    let none = shop
        .scheduler
        .handle(own(Some(DepositPolicy::None), "none"))
        .await;
    assert!(matches!(none, Reply::Ok(_)), "{none:?}");
    let confirmed = shop
        .book(shop.booking(shop.customer(shop.beto), "2026-12-07T16:00", "beto"))
        .await
        .unwrap();
    assert_eq!(
        confirmed.status,
        Status::Confirmed,
        "this service asks for nothing"
    );
    let Reply::Ok(Outcome::Service { service }) =
        shop.scheduler.handle(own(None, "business")).await
    else {
        panic!("the service did not follow the business again");
    };
    assert_eq!(service.deposit, None);
}

#[tokio::test]
async fn a_hold_the_owner_approved_first_is_paid_by_its_deposit_not_refunded() {
    use cita_shared::contracts::scheduling::{DecideHoldRequest, Request};
    let shop = Shop::open().await;
    ask_for_deposits(&shop).await;
    let held = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "ana"))
        .await
        .unwrap();
    let approved = shop
        .scheduler
        .handle(Request::DecideHold(DecideHoldRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: "cash".into(),
            appointment_id: held.id,
            approve: true,
            reason: None,
        }))
        .await;
    assert!(
        matches!(approved, cita_shared::contracts::scheduling::Reply::Ok(_)),
        "{approved:?}"
    );
    let (deposit, amount, ..) = deposit_of(&shop, held.id).await;
    let settled = shop
        .scheduler
        .settle_deposit(shop.org, deposit, &paid("777", amount))
        .await
        .unwrap();
    assert!(matches!(settled, Settled::Confirmed(_)), "{settled:?}");
    assert_eq!(deposit_of(&shop, held.id).await.3, "paid");
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM outbox WHERE routing_key = 'appointment.booked'")
            .await,
        1,
        "booked once, by the approval"
    );
}
