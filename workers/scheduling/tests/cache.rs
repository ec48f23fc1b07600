//! Availability cached in a real Redis: served from the cache until a write, and never a
//! slot that was just booked or blocked.

mod common;

use cita_scheduling::cache::Cache;
use cita_shared::{
    contracts::scheduling::{AvailabilityRequest, BlockTimeRequest, Request},
    tls::Endpoint,
};
use common::{Shop, at, slots};

async fn cached_shop() -> (Shop, String) {
    let prefix = format!("test.{}.", uuid::Uuid::new_v4().simple());
    let cache = Cache::connect(&Endpoint::new("redis://127.0.0.1:6379/0"), &prefix)
        .await
        .expect("local Redis");
    (Shop::open_with(Some(cache)).await, prefix)
}

fn monday(shop: &Shop) -> Request {
    let day = "2026-12-07".parse().unwrap();
    Request::Availability(AvailabilityRequest {
        actor: shop.customer(shop.beto),
        service_type_id: shop.haircut,
        from: day,
        to: day,
        staff_id: Some(shop.barber),
        moving: None,
    })
}

async fn forget(prefix: &str) {
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn answers_are_served_from_the_cache_until_the_organization_writes() {
    let (shop, prefix) = cached_shop().await;
    let first = slots(shop.scheduler.handle(monday(&shop)).await);
    assert!(first.contains(&at("2026-12-07T16:00")));

    // Changed behind the scheduler's back: the cached answer does not know yet.
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO availability_exceptions (organization_id, staff_id, kind, during)
             VALUES ($1, $2, 'time_off', tstzrange($3, $4))",
            &[
                &shop.org,
                &shop.barber,
                &at("2026-12-07T16:00"),
                &at("2026-12-07T19:00"),
            ],
        )
        .await
        .unwrap();
    let cached = slots(shop.scheduler.handle(monday(&shop)).await);
    assert_eq!(cached, first, "served from the cache");

    // Any write through the scheduler invalidates the organization's answers.
    shop.book(shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "k"))
        .await
        .unwrap();
    let fresh = slots(shop.scheduler.handle(monday(&shop)).await);
    assert!(!fresh.contains(&at("2026-12-07T16:00")));
    forget(&prefix).await;
}

#[tokio::test]
async fn the_cache_never_offers_a_slot_that_was_just_booked_or_blocked() {
    let (shop, prefix) = cached_shop().await;
    let before = slots(shop.scheduler.handle(monday(&shop)).await);
    assert!(before.contains(&at("2026-12-07T10:00")) && before.contains(&at("2026-12-07T12:00")));

    let mut booking = shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "b");
    booking.staff_id = Some(shop.barber);
    shop.book(booking).await.unwrap();
    let after_booking = slots(shop.scheduler.handle(monday(&shop)).await);
    shop.scheduler
        .handle(Request::BlockTime(BlockTimeRequest {
            actor: shop.staff(shop.barber),
            idempotency_key: "block".into(),
            staff_id: shop.barber,
            starts_at: at("2026-12-07T12:00"),
            ends_at: at("2026-12-07T13:00"),
            reason: None,
        }))
        .await;
    let after_block = slots(shop.scheduler.handle(monday(&shop)).await);

    assert!(!after_booking.contains(&at("2026-12-07T10:00")));
    assert!(after_booking.contains(&at("2026-12-07T12:00")));
    assert!(!after_block.contains(&at("2026-12-07T12:00")));
    forget(&prefix).await;
}

#[tokio::test]
async fn cached_slots_that_come_within_the_minimum_notice_are_dropped() {
    let (shop, prefix) = cached_shop().await;
    let early = slots(shop.scheduler.handle(monday(&shop)).await);
    assert!(early.contains(&at("2026-12-07T10:00")));

    // Two hours later, the 10:00 slot is within the hour of notice, cache or not.
    shop.set_now("2026-12-07T09:30");
    let later = slots(shop.scheduler.handle(monday(&shop)).await);

    assert!(!later.contains(&at("2026-12-07T10:00")));
    assert!(later.contains(&at("2026-12-07T10:30")));
    forget(&prefix).await;
}
