//! The owner's changes to the business: team, hours, services; figures. Owner only.

mod common;

use cita_shared::contracts::scheduling::{
    AddStaffRequest, AvailabilityRequest, BusinessHoursRequest, DayHours, FiguresRequest, Interval,
    Outcome, RemoveStaffRequest, Reply, Request, SchedulingError, SetStatusRequest, Status,
    UpsertServiceRequest,
};
use common::{Shop, at, slots};
use jiff::civil::time;
use uuid::Uuid;

fn add_staff(shop: &Shop, actor_id: Uuid, key: &str) -> Request {
    let actor = if actor_id == shop.ana {
        shop.customer(actor_id)
    } else {
        shop.staff(actor_id)
    };
    Request::AddStaff(AddStaffRequest {
        actor,
        idempotency_key: key.into(),
        name: "Carla".into(),
        phone: "525511110003".into(),
        service_type_ids: None,
    })
}

fn outcome(reply: Reply) -> Result<Outcome, SchedulingError> {
    match reply {
        Reply::Ok(outcome) => Ok(outcome),
        Reply::Error(error) => Err(error),
    }
}

#[tokio::test]
async fn only_the_owner_adds_staff_who_then_work_the_opening_hours_and_every_service() {
    let shop = Shop::open().await;
    for who in [shop.barber, shop.ana] {
        let refused = outcome(
            shop.scheduler
                .handle(add_staff(&shop, who, &format!("k-{who}")))
                .await,
        );
        assert_eq!(refused, Err(SchedulingError::Forbidden));
    }
    let Ok(Outcome::Staff { staff }) = outcome(
        shop.scheduler
            .handle(add_staff(&shop, shop.owner, "add-carla"))
            .await,
    ) else {
        panic!("not added")
    };
    assert_eq!(
        (staff.name.as_str(), staff.active, staff.owner),
        ("Carla", true, false)
    );
    assert_eq!(staff.service_type_ids, vec![shop.haircut]);
    // Refusals announce nothing; the addition is announced once (reminders welcomes her).
    assert_eq!(shop.events().await, ["organization.staff_added"]);
    // Carla is bookable at 10:00 with the two others.
    let request = AvailabilityRequest {
        actor: shop.customer(shop.ana),
        service_type_id: shop.haircut,
        from: "2026-12-08".parse().unwrap(),
        to: "2026-12-08".parse().unwrap(),
        staff_id: Some(staff.id),
        moving: None,
    };
    assert!(
        slots(shop.scheduler.handle(Request::Availability(request)).await)
            .contains(&at("2026-12-08T10:00"))
    );
    let again = outcome(
        shop.scheduler
            .handle(add_staff(&shop, shop.owner, "add-carla-twice"))
            .await,
    );
    assert!(
        matches!(again, Err(SchedulingError::InvalidRequest { .. })),
        "{again:?}"
    );
    assert_eq!(shop.events().await.len(), 1);
}

#[tokio::test]
async fn a_removed_member_is_not_bookable_and_the_owner_cannot_remove_themselves() {
    let shop = Shop::open().await;
    let remove = |staff_id, key: &str| {
        Request::RemoveStaff(RemoveStaffRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: key.into(),
            staff_id,
        })
    };
    let myself = outcome(shop.scheduler.handle(remove(shop.owner, "self")).await);
    assert!(matches!(
        myself,
        Err(SchedulingError::InvalidRequest { .. })
    ));
    let Ok(Outcome::Staff { staff }) =
        outcome(shop.scheduler.handle(remove(shop.barber, "barber")).await)
    else {
        panic!()
    };
    assert!(!staff.active);
    let request = AvailabilityRequest {
        actor: shop.customer(shop.ana),
        service_type_id: shop.haircut,
        from: "2026-12-08".parse().unwrap(),
        to: "2026-12-08".parse().unwrap(),
        staff_id: Some(shop.barber),
        moving: None,
    };
    assert!(slots(shop.scheduler.handle(Request::Availability(request)).await).is_empty());
}

#[tokio::test]
async fn the_owner_changes_the_hours_of_the_days_given_only() {
    let shop = Shop::open().await;
    let request = |days: Vec<DayHours>, key: &str| {
        Request::SetBusinessHours(BusinessHoursRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: key.into(),
            days,
        })
    };
    let saturday = DayHours {
        weekday: 6,
        intervals: vec![Interval {
            opens: time(9, 0, 0, 0),
            closes: time(13, 0, 0, 0),
        }],
    };
    let sunday = DayHours {
        weekday: 7,
        intervals: vec![],
    };
    let Ok(Outcome::Hours { days }) = outcome(
        shop.scheduler
            .handle(request(vec![saturday.clone(), sunday], "hours"))
            .await,
    ) else {
        panic!()
    };
    assert_eq!(days[5], saturday);
    assert!(days[6].intervals.is_empty(), "closed on Sunday");
    assert_eq!(days[0].intervals.len(), 2, "Monday unchanged");
    assert_eq!(days[0].intervals[0].opens, time(10, 0, 0, 0));
    // Monday's morning and afternoon given apart are one day.
    let morning = DayHours {
        weekday: 1,
        intervals: vec![Interval {
            opens: time(9, 0, 0, 0),
            closes: time(13, 0, 0, 0),
        }],
    };
    let afternoon = DayHours {
        weekday: 1,
        intervals: vec![Interval {
            opens: time(16, 0, 0, 0),
            closes: time(20, 0, 0, 0),
        }],
    };
    let Ok(Outcome::Hours { days }) = outcome(
        shop.scheduler
            .handle(request(vec![morning, afternoon], "split"))
            .await,
    ) else {
        panic!()
    };
    assert_eq!(days[0].intervals.len(), 2, "{:?}", days[0]);
    let bad = DayHours {
        weekday: 1,
        intervals: vec![
            Interval {
                opens: time(10, 0, 0, 0),
                closes: time(14, 0, 0, 0),
            },
            Interval {
                opens: time(13, 0, 0, 0),
                closes: time(18, 0, 0, 0),
            },
        ],
    };
    let refused = outcome(shop.scheduler.handle(request(vec![bad], "overlap")).await);
    assert!(matches!(
        refused,
        Err(SchedulingError::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn the_owner_creates_and_reprices_a_service() {
    let shop = Shop::open().await;
    let upsert = |id, name: Option<&str>, minutes, price, key: &str| {
        Request::UpsertService(UpsertServiceRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: key.into(),
            service_type_id: id,
            name: name.map(str::to_owned),
            description: None,
            duration_minutes: minutes,
            price_minor: price,
            buffer_minutes: None,
            active: None,
            staff_ids: None,
            approval: None,
            change_cutoff_minutes: None,
            deposit: None,
        })
    };
    let incomplete = outcome(
        shop.scheduler
            .handle(upsert(None, Some("Tinte"), None, Some(60000), "a"))
            .await,
    );
    assert!(matches!(
        incomplete,
        Err(SchedulingError::InvalidRequest { .. })
    ));
    let Ok(Outcome::Service { service }) = outcome(
        shop.scheduler
            .handle(upsert(None, Some("Tinte"), Some(90), Some(60000), "b"))
            .await,
    ) else {
        panic!()
    };
    assert_eq!(
        (
            service.duration_minutes,
            service.price_minor,
            service.currency.as_str()
        ),
        (90, 60000, "MXN")
    );
    let performers = shop
        .sql_count(&format!(
            "SELECT count(*) FROM staff_services WHERE service_type_id = '{}'",
            service.id
        ))
        .await;
    assert_eq!(performers, 2);
    let Ok(Outcome::Service { service: repriced }) = outcome(
        shop.scheduler
            .handle(upsert(Some(service.id), None, None, Some(65000), "c"))
            .await,
    ) else {
        panic!()
    };
    assert_eq!(
        (repriced.name.as_str(), repriced.price_minor),
        ("Tinte", 65000)
    );
    let duplicate = outcome(
        shop.scheduler
            .handle(upsert(None, Some("Corte"), Some(30), Some(1), "d"))
            .await,
    );
    assert!(matches!(
        duplicate,
        Err(SchedulingError::InvalidRequest { .. })
    ));
}

#[tokio::test]
async fn figures_count_outcomes_revenue_and_busy_hours_for_the_owner_only() {
    let shop = Shop::open().await;
    let mut ids = Vec::new();
    for (n, local) in ["2026-12-07T10:00", "2026-12-07T11:00", "2026-12-07T15:00"]
        .iter()
        .enumerate()
    {
        ids.push(
            shop.book(shop.booking(shop.customer(shop.ana), local, &format!("b{n}")))
                .await
                .unwrap()
                .id,
        );
    }
    shop.set_now("2026-12-07T18:00");
    for (id, status) in [(ids[0], Status::Completed), (ids[1], Status::NoShow)] {
        shop.scheduler
            .handle(Request::SetStatus(SetStatusRequest {
                actor: shop.staff(shop.owner),
                idempotency_key: format!("s-{id}"),
                appointment_id: id,
                status,
                notes: None,
            }))
            .await;
    }
    let request = |actor| {
        Request::Figures(FiguresRequest {
            actor,
            from: "2026-12-07".parse().unwrap(),
            to: "2026-12-07".parse().unwrap(),
        })
    };
    assert_eq!(
        outcome(
            shop.scheduler
                .handle(request(shop.staff(shop.barber)))
                .await
        ),
        Err(SchedulingError::Forbidden)
    );
    let Ok(Outcome::Figures { figures }) =
        outcome(shop.scheduler.handle(request(shop.staff(shop.owner))).await)
    else {
        panic!()
    };
    assert_eq!(
        (
            figures.appointments,
            figures.completed,
            figures.no_shows,
            figures.cancelled
        ),
        (3, 1, 1, 0)
    );
    assert_eq!(figures.revenue_minor, 25000);
    assert_eq!(figures.busiest_hours.len(), 3);
    assert!(
        figures.busiest_hours.iter().any(|h| h.hour == 15),
        "local hours: {:?}",
        figures.busiest_hours
    );
    assert_eq!(figures.by_service[0].appointments, 3);
}
