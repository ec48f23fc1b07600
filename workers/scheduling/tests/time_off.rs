//! Closures, holidays and days off: who may make and remove them, and what they do to
//! availability.

mod common;

use cita_shared::contracts::scheduling::{
    AddClosureRequest, AvailabilityRequest, BlockTimeRequest, Outcome, RemoveTimeOffRequest, Reply,
    Request, SchedulingError, TimeOffKind,
};
use common::{Shop, at, slots};
use uuid::Uuid;

fn outcome(reply: Reply) -> Result<Outcome, SchedulingError> {
    match reply {
        Reply::Ok(outcome) => Ok(outcome),
        Reply::Error(error) => Err(error),
    }
}

fn closure(
    shop: &Shop,
    by: Uuid,
    staff_id: Option<Uuid>,
    days: (&str, &str),
    key: &str,
) -> Request {
    Request::AddClosure(AddClosureRequest {
        actor: shop.staff(by),
        idempotency_key: key.into(),
        staff_id,
        kind: TimeOffKind::Closure,
        from: days.0.parse().unwrap(),
        to: days.1.parse().unwrap(),
        reason: Some("inventario".into()),
    })
}

fn remove(shop: &Shop, by: Uuid, id: Uuid, key: &str) -> Request {
    Request::RemoveTimeOff(RemoveTimeOffRequest {
        actor: shop.staff(by),
        idempotency_key: key.into(),
        time_off_id: id,
    })
}

async fn free_on(shop: &Shop, day: &str, staff_id: Option<Uuid>) -> usize {
    let request = AvailabilityRequest {
        actor: shop.customer(shop.ana),
        service_type_id: shop.haircut,
        from: day.parse().unwrap(),
        to: day.parse().unwrap(),
        staff_id,
        moving: None,
    };
    slots(shop.scheduler.handle(Request::Availability(request)).await).len()
}

#[tokio::test]
async fn the_owner_closes_the_business_for_days_and_opens_it_again() {
    let shop = Shop::open().await;
    let booked = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-12T11:00", "ana-12"))
        .await
        .unwrap();
    assert!(free_on(&shop, "2026-12-12", None).await > 0);

    let refused = outcome(
        shop.scheduler
            .handle(closure(
                &shop,
                shop.barber,
                None,
                ("2026-12-12", "2026-12-13"),
                "barber-closes",
            ))
            .await,
    );
    assert_eq!(refused, Err(SchedulingError::Forbidden));

    let Ok(Outcome::TimeOff {
        time_off,
        live_appointments,
    }) = outcome(
        shop.scheduler
            .handle(closure(
                &shop,
                shop.owner,
                None,
                ("2026-12-12", "2026-12-13"),
                "owner-closes",
            ))
            .await,
    )
    else {
        panic!("not closed")
    };
    assert_eq!(time_off.staff_id, None);
    assert_eq!(
        (time_off.starts_at, time_off.ends_at),
        (at("2026-12-12T00:00"), at("2026-12-14T00:00"))
    );
    // Ana's appointment stays; the owner is told it is inside.
    assert_eq!(live_appointments, 1);
    assert_eq!(
        shop.sql_count(&format!(
            "SELECT count(*) FROM appointments WHERE id = '{}' AND status = 'confirmed'",
            booked.id
        ))
        .await,
        1
    );
    assert_eq!(free_on(&shop, "2026-12-12", None).await, 0);
    assert_eq!(free_on(&shop, "2026-12-13", None).await, 0);
    assert!(free_on(&shop, "2026-12-14", None).await > 0);

    let removed = outcome(
        shop.scheduler
            .handle(remove(&shop, shop.barber, time_off.id, "barber-opens"))
            .await,
    );
    assert_eq!(removed, Err(SchedulingError::Forbidden));
    let removed = outcome(
        shop.scheduler
            .handle(remove(&shop, shop.owner, time_off.id, "owner-opens"))
            .await,
    );
    assert_eq!(removed, Ok(Outcome::Removed { id: time_off.id }));
    assert!(free_on(&shop, "2026-12-12", None).await > 0);
    // Made and removed, each told to the fleet (the refusals were not).
    let changes = shop
        .events()
        .await
        .into_iter()
        .filter(|key| key == "time_off.changed")
        .count();
    assert_eq!(changes, 2);
    let again = outcome(
        shop.scheduler
            .handle(remove(&shop, shop.owner, time_off.id, "owner-opens-again"))
            .await,
    );
    assert!(
        matches!(again, Err(SchedulingError::NotFound { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_barber_takes_days_off_for_themselves_only() {
    let shop = Shop::open().await;
    let before = free_on(&shop, "2026-12-09", Some(shop.barber)).await;
    assert!(before > 0);
    let days_off = |by: Uuid, staff: Uuid, key: &str| {
        Request::AddClosure(AddClosureRequest {
            actor: shop.staff(by),
            idempotency_key: key.into(),
            staff_id: Some(staff),
            kind: TimeOffKind::TimeOff,
            from: "2026-12-09".parse().unwrap(),
            to: "2026-12-09".parse().unwrap(),
            reason: None,
        })
    };
    let refused = outcome(
        shop.scheduler
            .handle(days_off(shop.barber, shop.owner, "for-the-owner"))
            .await,
    );
    assert_eq!(refused, Err(SchedulingError::Forbidden));
    let Ok(Outcome::TimeOff { time_off, .. }) = outcome(
        shop.scheduler
            .handle(days_off(shop.barber, shop.barber, "own"))
            .await,
    ) else {
        panic!("no days off")
    };
    assert_eq!(time_off.kind, TimeOffKind::TimeOff);
    assert_eq!(free_on(&shop, "2026-12-09", Some(shop.barber)).await, 0);
    // The owner still works that day.
    assert!(free_on(&shop, "2026-12-09", Some(shop.owner)).await > 0);
    let removed = outcome(
        shop.scheduler
            .handle(remove(&shop, shop.barber, time_off.id, "back"))
            .await,
    );
    assert!(removed.is_ok(), "{removed:?}");
    assert_eq!(
        free_on(&shop, "2026-12-09", Some(shop.barber)).await,
        before
    );
}

#[tokio::test]
async fn a_removed_block_frees_its_time() {
    let shop = Shop::open().await;
    let block = Request::BlockTime(BlockTimeRequest {
        actor: shop.staff(shop.barber),
        idempotency_key: "lunch".into(),
        staff_id: shop.barber,
        starts_at: at("2026-12-08T10:00"),
        ends_at: at("2026-12-08T12:00"),
        reason: Some("comida".into()),
    });
    let Ok(Outcome::Blocked { block_id }) = outcome(shop.scheduler.handle(block).await) else {
        panic!("not blocked")
    };
    let blocked = free_on(&shop, "2026-12-08", Some(shop.barber)).await;
    let removed = outcome(
        shop.scheduler
            .handle(remove(&shop, shop.barber, block_id, "unblock"))
            .await,
    );
    assert_eq!(removed, Ok(Outcome::Removed { id: block_id }));
    assert!(free_on(&shop, "2026-12-08", Some(shop.barber)).await > blocked);
}

#[tokio::test]
async fn closures_refuse_bad_ranges_blocks_and_other_organizations_ids() {
    let shop = Shop::open().await;
    let cases = [
        (("2026-12-13", "2026-12-12"), "backwards"),
        (("2026-12-01", "2026-12-05"), "over"),
        (("2026-12-12", "2028-01-01"), "too long"),
    ];
    for (days, what) in cases {
        let refused = outcome(
            shop.scheduler
                .handle(closure(&shop, shop.owner, None, days, what))
                .await,
        );
        assert!(
            matches!(refused, Err(SchedulingError::InvalidRequest { .. })),
            "{what}: {refused:?}"
        );
    }
    let block = Request::AddClosure(AddClosureRequest {
        actor: shop.staff(shop.owner),
        idempotency_key: "block-kind".into(),
        staff_id: None,
        kind: TimeOffKind::Block,
        from: "2026-12-12".parse().unwrap(),
        to: "2026-12-12".parse().unwrap(),
        reason: None,
    });
    assert!(matches!(
        outcome(shop.scheduler.handle(block).await),
        Err(SchedulingError::InvalidRequest { .. })
    ));
    let stranger = Uuid::new_v4();
    let refused = outcome(
        shop.scheduler
            .handle(closure(
                &shop,
                shop.owner,
                Some(stranger),
                ("2026-12-12", "2026-12-12"),
                "stranger",
            ))
            .await,
    );
    assert!(
        matches!(refused, Err(SchedulingError::NotFound { .. })),
        "{refused:?}"
    );
    let refused = outcome(
        shop.scheduler
            .handle(remove(&shop, shop.owner, stranger, "unknown"))
            .await,
    );
    assert!(matches!(refused, Err(SchedulingError::NotFound { .. })));
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM availability_exceptions")
            .await,
        0,
        "nothing was written"
    );
}
