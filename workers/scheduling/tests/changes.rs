//! Cancelling, moving, marking, blocking and reading — and who may do each.

mod common;

use cita_shared::contracts::scheduling::{
    Actor, AvailabilityRequest, BlockTimeRequest, CancelRequest, Channel, CustomerRequest, Outcome,
    Reply, Request, RescheduleRequest, ScheduleRequest, SchedulingError, SetStatusRequest, Status,
    Who,
};
use common::{Shop, appointment, appointments, at, slots};
use uuid::Uuid;

fn cancel(actor: Actor, id: Uuid, key: &str) -> Request {
    Request::Cancel(CancelRequest {
        actor,
        idempotency_key: key.into(),
        appointment_id: id,
        reason: Some("no puedo".into()),
    })
}

fn reschedule(actor: Actor, id: Uuid, local: &str, key: &str) -> Request {
    Request::Reschedule(RescheduleRequest {
        actor,
        idempotency_key: key.into(),
        appointment_id: id,
        starts_at: at(local),
        staff_id: None,
    })
}

fn set_status(actor: Actor, id: Uuid, status: Status, key: &str) -> Request {
    Request::SetStatus(SetStatusRequest {
        actor,
        idempotency_key: key.into(),
        appointment_id: id,
        status,
        notes: None,
    })
}

/// Ana's 10:00 haircut with the barber.
async fn anas_haircut(shop: &Shop) -> Uuid {
    let mut request = shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "anas-haircut");
    request.staff_id = Some(shop.barber);
    shop.book(request).await.unwrap().id
}

async fn barber_free_at(shop: &Shop, local: &str) -> bool {
    let day = local[..10].parse().unwrap();
    let request = AvailabilityRequest {
        actor: shop.customer(shop.beto),
        service_type_id: shop.haircut,
        from: day,
        to: day,
        staff_id: Some(shop.barber),
        moving: None,
    };
    slots(shop.scheduler.handle(Request::Availability(request)).await).contains(&at(local))
}

#[tokio::test]
async fn cancelling_frees_the_slot_and_a_cancelled_appointment_cannot_be_cancelled_again() {
    let shop = Shop::open().await;
    let id = anas_haircut(&shop).await;
    assert!(!barber_free_at(&shop, "2026-12-07T10:00").await);

    let cancelled = appointment(
        shop.scheduler
            .handle(cancel(shop.customer(shop.ana), id, "c1"))
            .await,
    )
    .unwrap();
    let again = appointment(
        shop.scheduler
            .handle(cancel(shop.customer(shop.ana), id, "c2"))
            .await,
    );

    assert_eq!(cancelled.status, Status::Cancelled);
    assert_eq!(cancelled.cancellation_reason.as_deref(), Some("no puedo"));
    assert!(barber_free_at(&shop, "2026-12-07T10:00").await);
    assert_eq!(
        again,
        Err(SchedulingError::IllegalTransition {
            from: Status::Cancelled,
            to: Status::Cancelled
        })
    );
    assert_eq!(
        shop.events().await,
        ["appointment.booked", "appointment.cancelled"]
    );
}

#[tokio::test]
async fn a_customer_cannot_touch_another_customers_appointment() {
    let shop = Shop::open().await;
    let id = anas_haircut(&shop).await;
    let beto = shop.customer(shop.beto);

    let cancelled = appointment(shop.scheduler.handle(cancel(beto, id, "b1")).await);
    let moved = appointment(
        shop.scheduler
            .handle(reschedule(beto, id, "2026-12-07T12:00", "b2"))
            .await,
    );
    let mut for_ana = shop.booking(beto, "2026-12-07T12:00", "b3");
    for_ana.customer_id = Some(shop.ana);
    let booked = shop.book(for_ana).await;
    let upcoming = appointments(
        shop.scheduler
            .handle(Request::Upcoming(CustomerRequest {
                actor: beto,
                customer_id: shop.ana,
            }))
            .await,
    );

    assert_eq!(cancelled, Err(SchedulingError::Forbidden));
    assert_eq!(moved, Err(SchedulingError::Forbidden));
    assert_eq!(booked, Err(SchedulingError::Forbidden));
    assert_eq!(upcoming, Err(SchedulingError::Forbidden));
    assert_eq!(
        shop.events().await,
        ["appointment.booked"],
        "nothing changed"
    );
}

#[tokio::test]
async fn staff_change_their_own_appointments_and_others_only_with_permission() {
    let shop = Shop::open().await;
    let mut owners = shop.booking(shop.staff(shop.owner), "2026-12-07T11:00", "o");
    owners.customer_id = Some(shop.beto);
    owners.staff_id = Some(shop.owner);
    let owners = shop.book(owners).await.unwrap().id;
    let barbers = anas_haircut(&shop).await;

    // The barber books Beto for himself (staff without manage_appointments get their own time).
    let mut own = shop.booking(shop.staff(shop.barber), "2026-12-07T12:00", "own");
    own.customer_id = Some(shop.beto);
    let own = shop.book(own).await.unwrap();
    assert_eq!(own.staff_id, shop.barber);

    let barber_on_owners = appointment(
        shop.scheduler
            .handle(cancel(shop.staff(shop.barber), owners, "1"))
            .await,
    );
    let barber_on_own = appointment(
        shop.scheduler
            .handle(cancel(shop.staff(shop.barber), own.id, "2"))
            .await,
    );
    let owner_on_barbers = appointment(
        shop.scheduler
            .handle(set_status(
                shop.staff(shop.owner),
                barbers,
                Status::Completed,
                "3",
            ))
            .await,
    );
    assert_eq!(barber_on_owners, Err(SchedulingError::Forbidden));
    assert_eq!(barber_on_own.unwrap().status, Status::Cancelled);
    assert_eq!(
        owner_on_barbers.unwrap().status,
        Status::Completed,
        "owners may act on anyone's"
    );

    // Granting manage_appointments lets the barber act on others' appointments.
    let mut other = shop.booking(shop.staff(shop.owner), "2026-12-07T12:00", "o2");
    other.customer_id = Some(shop.beto);
    other.staff_id = Some(shop.owner);
    let other = shop.book(other).await.unwrap().id;
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE staff SET permissions = '{manage_appointments}' WHERE id = $1",
            &[&shop.barber],
        )
        .await
        .unwrap();
    let granted = appointment(
        shop.scheduler
            .handle(cancel(shop.staff(shop.barber), other, "4"))
            .await,
    );
    assert_eq!(granted.unwrap().status, Status::Cancelled);
}

#[tokio::test]
async fn moving_checks_the_new_time_and_frees_the_old_one() {
    let shop = Shop::open().await;
    let id = anas_haircut(&shop).await;

    // 15 minutes later overlaps the appointment's own old time, which must not block it.
    let moved = appointment(
        shop.scheduler
            .handle(reschedule(
                shop.customer(shop.ana),
                id,
                "2026-12-07T10:15",
                "m1",
            ))
            .await,
    )
    .unwrap();

    assert_eq!(moved.id, id);
    assert_eq!(
        (moved.starts_at, moved.staff_id),
        (at("2026-12-07T10:15"), shop.barber),
        "same barber"
    );
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM appointments WHERE status = 'confirmed'")
            .await,
        1
    );
    assert_eq!(
        shop.events().await,
        ["appointment.booked", "appointment.rescheduled"]
    );
}

#[tokio::test]
async fn moving_to_a_taken_time_is_refused_and_changes_nothing() {
    let shop = Shop::open().await;
    let id = anas_haircut(&shop).await;
    for (key, who) in [("x", shop.beto), ("y", shop.beto)] {
        shop.book(shop.booking(shop.customer(who), "2026-12-07T13:00", key))
            .await
            .unwrap();
    }

    let refused = appointment(
        shop.scheduler
            .handle(reschedule(
                shop.customer(shop.ana),
                id,
                "2026-12-07T13:00",
                "m",
            ))
            .await,
    );

    assert!(
        matches!(refused, Err(SchedulingError::SlotTaken { .. })),
        "{refused:?}"
    );
    let starts: jiff::Timestamp = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT starts_at FROM appointments WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(starts, at("2026-12-07T10:00"));
}

#[tokio::test]
async fn statuses_change_only_along_legal_transitions_and_only_by_staff() {
    let shop = Shop::open().await;
    let id = anas_haircut(&shop).await;

    let by_customer = appointment(
        shop.scheduler
            .handle(set_status(
                shop.customer(shop.ana),
                id,
                Status::Completed,
                "s0",
            ))
            .await,
    );
    let no_show = appointment(
        shop.scheduler
            .handle(set_status(
                shop.staff(shop.barber),
                id,
                Status::NoShow,
                "s1",
            ))
            .await,
    );
    let back = appointment(
        shop.scheduler
            .handle(set_status(
                shop.staff(shop.barber),
                id,
                Status::Confirmed,
                "s2",
            ))
            .await,
    );

    assert_eq!(by_customer, Err(SchedulingError::Forbidden));
    assert_eq!(no_show.unwrap().status, Status::NoShow);
    assert_eq!(
        back,
        Err(SchedulingError::IllegalTransition {
            from: Status::NoShow,
            to: Status::Confirmed
        })
    );
    assert_eq!(
        shop.events().await,
        ["appointment.booked", "appointment.status_changed"]
    );
}

#[tokio::test]
async fn a_block_removes_its_time_and_only_its_owner_or_a_manager_may_set_it() {
    let shop = Shop::open().await;
    let block = |actor, staff_id, key: &str| {
        Request::BlockTime(BlockTimeRequest {
            actor,
            idempotency_key: key.into(),
            staff_id,
            starts_at: at("2026-12-07T14:00"),
            ends_at: at("2026-12-07T16:00"),
            reason: Some("comida".into()),
        })
    };

    let own = shop
        .scheduler
        .handle(block(shop.staff(shop.barber), shop.barber, "b1"))
        .await;
    let others = shop
        .scheduler
        .handle(block(shop.staff(shop.barber), shop.owner, "b2"))
        .await;
    let by_customer = shop
        .scheduler
        .handle(block(shop.customer(shop.ana), shop.barber, "b3"))
        .await;

    assert!(matches!(own, Reply::Ok(Outcome::Blocked { .. })), "{own:?}");
    assert_eq!(others, Reply::Error(SchedulingError::Forbidden));
    assert_eq!(by_customer, Reply::Error(SchedulingError::Forbidden));
    assert!(!barber_free_at(&shop, "2026-12-07T15:00").await);
    assert!(barber_free_at(&shop, "2026-12-07T16:00").await);
}

#[tokio::test]
async fn agendas_are_visible_to_their_staff_member_and_the_business_one_with_permission() {
    let shop = Shop::open().await;
    anas_haircut(&shop).await;
    let day = "2026-12-07".parse().unwrap();
    let agenda = |actor, staff_id| {
        Request::Schedule(ScheduleRequest {
            actor,
            from: day,
            to: day,
            staff_id,
        })
    };

    let own = appointments(
        shop.scheduler
            .handle(agenda(shop.staff(shop.barber), Some(shop.barber)))
            .await,
    )
    .unwrap();
    let business_by_barber = appointments(
        shop.scheduler
            .handle(agenda(shop.staff(shop.barber), None))
            .await,
    );
    let owners_by_barber = appointments(
        shop.scheduler
            .handle(agenda(shop.staff(shop.barber), Some(shop.owner)))
            .await,
    );
    let business_by_owner = appointments(
        shop.scheduler
            .handle(agenda(shop.staff(shop.owner), None))
            .await,
    )
    .unwrap();
    let by_customer = appointments(
        shop.scheduler
            .handle(agenda(shop.customer(shop.ana), Some(shop.barber)))
            .await,
    );

    assert_eq!(own.len(), 1);
    assert_eq!(business_by_barber, Err(SchedulingError::Forbidden));
    assert_eq!(owners_by_barber, Err(SchedulingError::Forbidden));
    assert_eq!(business_by_owner.len(), 1);
    assert_eq!(by_customer, Err(SchedulingError::Forbidden));
}

#[tokio::test]
async fn a_customer_sees_upcoming_appointments_and_history() {
    let shop = Shop::open().await;
    let id = anas_haircut(&shop).await;
    let ask = |request| async { appointments(shop.scheduler.handle(request).await).unwrap() };
    let mine = CustomerRequest {
        actor: shop.customer(shop.ana),
        customer_id: shop.ana,
    };

    let upcoming = ask(Request::Upcoming(mine.clone())).await;
    shop.set_now("2026-12-08T09:00");
    let later_upcoming = ask(Request::Upcoming(mine.clone())).await;
    let history = ask(Request::History(mine)).await;
    let by_staff = ask(Request::History(CustomerRequest {
        actor: shop.staff(shop.barber),
        customer_id: shop.ana,
    }))
    .await;

    assert_eq!(upcoming.iter().map(|a| a.id).collect::<Vec<_>>(), [id]);
    assert!(later_upcoming.is_empty());
    assert_eq!(history.iter().map(|a| a.id).collect::<Vec<_>>(), [id]);
    assert_eq!(by_staff.len(), 1);
}

#[tokio::test]
async fn nothing_crosses_organizations() {
    let shop = Shop::open().await;
    let id = anas_haircut(&shop).await;
    let other_org: Uuid = shop.db.pool.get().await.unwrap()
        .query_one("INSERT INTO organizations (slug, name, timezone, status) VALUES ('other', 'Other', 'America/Bogota', 'active') RETURNING id", &[])
        .await
        .unwrap()
        .get(0);
    // Someone of the other organization, even naming this organization's staff member.
    let intruder = Actor {
        organization_id: other_org,
        who: Who::Staff {
            staff_id: shop.owner,
        },
        channel: Channel::Whatsapp,
        api_key_id: None,
    };

    let reply = appointment(shop.scheduler.handle(cancel(intruder, id, "x")).await);

    assert_eq!(reply, Err(SchedulingError::Forbidden));
    let status: String = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT status FROM appointments WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "confirmed");
}

#[tokio::test]
async fn a_suspended_organization_can_do_nothing() {
    let shop = Shop::open().await;
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute("UPDATE organizations SET status = 'suspended'", &[])
        .await
        .unwrap();

    let reply = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "k"))
        .await;

    assert_eq!(reply, Err(SchedulingError::Forbidden));
}

#[tokio::test]
async fn times_for_moving_an_appointment_are_not_blocked_by_the_appointment_itself() {
    let shop = Shop::open().await;
    let id = anas_haircut(&shop).await;
    let times = |moving: Option<Uuid>| {
        let request = AvailabilityRequest {
            actor: shop.customer(shop.ana),
            service_type_id: shop.haircut,
            from: "2026-12-07".parse().unwrap(),
            to: "2026-12-07".parse().unwrap(),
            staff_id: Some(shop.barber),
            moving,
        };
        let scheduler = &shop.scheduler;
        async move { slots(scheduler.handle(Request::Availability(request)).await) }
    };
    // 10:15 would overlap her own 10:00: not offered to anyone else, offered to her move.
    assert!(!times(None).await.contains(&at("2026-12-07T10:15")));
    assert!(times(Some(id)).await.contains(&at("2026-12-07T10:15")));
    // Asked again without it (the cache must not answer with the move's times).
    assert!(!times(None).await.contains(&at("2026-12-07T10:15")));
    let moved = appointment(
        shop.scheduler
            .handle(reschedule(
                shop.customer(shop.ana),
                id,
                "2026-12-07T10:15",
                "m-later",
            ))
            .await,
    )
    .unwrap();
    assert_eq!(moved.starts_at, at("2026-12-07T10:15"));
}
