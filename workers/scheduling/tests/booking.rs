//! Booking against a real PostgreSQL: the happy path, refusals, races, idempotency, quota.

mod common;

use std::sync::Arc;

use cita_shared::contracts::scheduling::{
    AvailabilityRequest, Request, SchedulingError, Status, WalkInRequest,
};
use common::{Shop, appointment, at, slots};

#[tokio::test]
async fn booking_a_free_slot_confirms_it_and_writes_the_event() {
    let shop = Shop::open().await;

    let booked = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "k1"))
        .await
        .unwrap();

    assert_eq!(booked.status, Status::Confirmed);
    assert_eq!(booked.customer_id, shop.ana);
    assert!(
        [shop.owner, shop.barber].contains(&booked.staff_id),
        "someone who cuts hair"
    );
    assert_eq!(booked.ends_at, at("2026-12-07T10:45"));
    assert_eq!(shop.events().await, ["appointment.booked"]);
}

#[tokio::test]
async fn the_same_idempotency_key_books_once_and_returns_the_first_result() {
    let shop = Shop::open().await;
    let request = shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "same-key");

    let first = shop.book(request.clone()).await.unwrap();
    let again = shop.book(request).await.unwrap();

    assert_eq!(first, again);
    assert_eq!(shop.sql_count("SELECT count(*) FROM appointments").await, 1);
    assert_eq!(shop.events().await.len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused_and_books_nothing() {
    let shop = Shop::open().await;
    let first = shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "reused-key");
    let booked = shop.book(first.clone()).await.unwrap();
    let other = shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "reused-key");

    let refused = shop.book(other).await.unwrap_err();

    assert!(
        matches!(&refused, SchedulingError::InvalidRequest { reason } if reason.contains("idempotency key")),
        "{refused:?}"
    );
    assert_eq!(shop.sql_count("SELECT count(*) FROM appointments").await, 1);
    assert_eq!(
        shop.book(first).await.unwrap(),
        booked,
        "the first request still replays"
    );
}

#[tokio::test]
async fn twenty_clients_booking_the_last_free_slot_at_once_let_exactly_one_win() {
    let shop = Arc::new(Shop::open().await);
    // Only the barber is free at 10:00: the owner is blocked.
    let mut block = shop.booking(shop.staff(shop.owner), "2026-12-07T10:00", "owner-busy");
    block.customer_id = Some(shop.beto);
    block.staff_id = Some(shop.owner);
    shop.book(block).await.unwrap();

    let mut racers = Vec::new();
    for n in 0..20 {
        let shop = shop.clone();
        racers.push(tokio::spawn(async move {
            shop.book(shop.booking(
                shop.customer(shop.ana),
                "2026-12-07T10:00",
                &format!("race-{n}"),
            ))
            .await
        }));
    }
    let mut won = 0;
    let mut taken = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(appointment) => {
                won += 1;
                assert_eq!(appointment.staff_id, shop.barber);
            }
            Err(SchedulingError::SlotTaken { alternatives }) => {
                taken += 1;
                assert!(!alternatives.is_empty(), "a refusal offers alternatives");
                assert!(
                    alternatives
                        .iter()
                        .all(|a| a.starts_at != at("2026-12-07T10:00"))
                );
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((won, taken), (1, 19));
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM appointments WHERE status = 'confirmed'")
            .await,
        2,
        "the owner's and one racer's"
    );
}

#[tokio::test]
async fn a_taken_slot_is_refused_with_the_nearest_alternatives() {
    let shop = Shop::open().await;
    for (key, who) in [("a", shop.ana), ("b", shop.beto)] {
        shop.book(shop.booking(shop.customer(who), "2026-12-07T12:00", key))
            .await
            .unwrap();
    }

    let refused = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T12:00", "c"))
        .await
        .unwrap_err();

    let SchedulingError::SlotTaken { alternatives } = refused else {
        panic!("{refused:?}")
    };
    let starts: Vec<_> = alternatives.iter().map(|a| a.starts_at).collect();
    // Both are busy 12:00–13:00 (45 minutes plus 15 of buffer), and a new booking needs
    // its own buffer too: 11:00 is the last start that is clear by 12:00.
    assert_eq!(
        starts,
        [
            at("2026-12-07T10:45"),
            at("2026-12-07T11:00"),
            at("2026-12-07T13:00")
        ]
    );
}

#[tokio::test]
async fn times_that_are_never_bookable_are_refused_as_not_available() {
    let shop = Shop::open().await;
    let ana = shop.customer(shop.ana);

    for (local, why) in [
        ("2026-12-07T14:00", "lunch"),
        ("2026-12-07T08:30", "before opening and within the notice"),
        ("2026-12-07T10:07", "off the 15-minute grid"),
        ("2026-12-06T10:00", "yesterday"),
    ] {
        let refused = shop
            .book(shop.booking(ana, local, local))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, SchedulingError::NotAvailable { .. }),
            "{why}: {refused:?}"
        );
    }
    assert_eq!(shop.sql_count("SELECT count(*) FROM appointments").await, 0);
}

#[tokio::test]
async fn the_buffer_keeps_the_staff_member_busy_in_the_database_too() {
    let shop = Shop::open().await;
    let mut first = shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "1");
    first.staff_id = Some(shop.barber);
    shop.book(first).await.unwrap();
    let client = shop.db.pool.get().await.unwrap();

    // Straight past the engine: 10:45 is inside the 15-minute buffer after 10:00–10:45.
    let direct = client
        .execute(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id, starts_at, ends_at, source)
             VALUES ($1, $2, $3, $4, $5, $6, 'manual')",
            &[&shop.org, &shop.beto, &shop.barber, &shop.haircut, &at("2026-12-07T10:45"), &at("2026-12-07T11:30")],
        )
        .await
        .unwrap_err();

    assert_eq!(
        direct.code(),
        Some(&tokio_postgres::error::SqlState::EXCLUSION_VIOLATION)
    );
}

/// 50 bookings (cancelled later, which doesn't give them back) made at a local time.
async fn fifty_bookings_made_at(shop: &Shop, local: &str) {
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id, starts_at, ends_at,
                                       status, source, created_at)
             SELECT $1, $2, $3, $4, $5::timestamptz + n * interval '1 day', $5::timestamptz + n * interval '1 day' + interval '45 min',
                    'cancelled', 'whatsapp', $6
             FROM generate_series(1, 50) n",
            &[&shop.org, &shop.beto, &shop.barber, &shop.haircut, &at("2027-01-10T10:00"), &at(local)],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_free_plan_allows_fifty_bookings_a_month_and_tells_the_owner_once() {
    let shop = Shop::open().await;
    let client = shop.db.pool.get().await.unwrap();
    // 50 bookings already made this month (in December, local time).
    fifty_bookings_made_at(&shop, "2026-12-01T00:30").await;

    let refused = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "51"))
        .await;
    let again = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T11:00", "52"))
        .await;

    assert_eq!(refused, Err(SchedulingError::QuotaExceeded));
    assert_eq!(again, Err(SchedulingError::QuotaExceeded));
    assert_eq!(
        shop.events().await,
        ["organization.quota_exceeded"],
        "the owner is told once"
    );

    // On a paid plan the limit does not apply.
    client
        .execute("UPDATE organizations SET plan = 'paid'", &[])
        .await
        .unwrap();
    assert!(
        shop.book(shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "53"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_quota_counts_the_organizations_own_calendar_month() {
    let shop = Shop::open().await;
    // 50 bookings made on 30 November at 23:30 in Mexico City — already December in UTC.
    fifty_bookings_made_at(&shop, "2026-11-30T23:30").await;

    let booked = shop
        .book(shop.booking(
            shop.customer(shop.ana),
            "2026-12-07T10:00",
            "first-of-december",
        ))
        .await;

    assert!(booked.is_ok(), "{booked:?}");
}

#[tokio::test]
async fn a_walk_in_starts_now_when_the_barber_is_free_and_at_the_next_free_slot_otherwise() {
    let shop = Shop::open().await;
    shop.set_now("2026-12-07T10:05");
    let walk_in = |key: &str| WalkInRequest {
        actor: shop.staff(shop.barber),
        idempotency_key: key.into(),
        service_type_id: shop.haircut,
        staff_id: None,
        customer_name: Some("Cliente sin cita".into()),
        customer_phone: None,
    };

    let now = appointment(
        shop.scheduler
            .handle(Request::BookWalkIn(walk_in("w1")))
            .await,
    )
    .unwrap();
    let next = appointment(
        shop.scheduler
            .handle(Request::BookWalkIn(walk_in("w2")))
            .await,
    )
    .unwrap();

    assert_eq!(now.starts_at, at("2026-12-07T10:05"));
    assert_eq!(now.staff_id, shop.barber);
    // Busy 10:05–11:05 with the buffer; the next grid slot is 11:15.
    assert_eq!(next.starts_at, at("2026-12-07T11:15"));
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM customers").await,
        4,
        "each walk-in gets a customer"
    );
}

#[tokio::test]
async fn availability_lists_free_slots_and_drops_booked_ones_at_once() {
    let shop = Shop::open().await;
    let day = "2026-12-07".parse().unwrap();
    let request = AvailabilityRequest {
        actor: shop.customer(shop.ana),
        service_type_id: shop.haircut,
        from: day,
        to: day,
        staff_id: Some(shop.barber),
        moving: None,
    };
    let before = slots(
        shop.scheduler
            .handle(Request::Availability(request.clone()))
            .await,
    );
    assert!(before.contains(&at("2026-12-07T10:00")));

    let mut booking = shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "k");
    booking.staff_id = Some(shop.barber);
    shop.book(booking).await.unwrap();

    let after = slots(shop.scheduler.handle(Request::Availability(request)).await);
    assert!(!after.contains(&at("2026-12-07T10:00")));
    assert!(
        !after.contains(&at("2026-12-07T10:45")),
        "the buffer holds 10:45"
    );
    assert!(after.contains(&at("2026-12-07T11:00")));
    assert_eq!(
        before.len() - after.len(),
        4,
        "starts 10:00…10:45 overlap 10:00–11:00"
    );
}
