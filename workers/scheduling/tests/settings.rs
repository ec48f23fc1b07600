//! The owner's settings under optimistic concurrency, the change cutoff they set, the
//! business's information, the team's hours and permissions, and customers' records.

mod common;

use cita_shared::contracts::scheduling::{
    AssistantMode, AvailabilityRequest, BusinessInfo, CancelRequest, DayHours, FaqEntry, Interval,
    LocationInfo, Outcome, Reply, Request, ScheduleRequest, SchedulingError, Settings,
    StaffHoursRequest, StaffPermissionsRequest, UpdateBusinessInfoRequest, UpdateCustomerRequest,
    UpdateSettingsRequest, permissions,
};
use common::{Shop, at, slots};
use jiff::civil::time;
use uuid::Uuid;

fn outcome(reply: Reply) -> Result<Outcome, SchedulingError> {
    match reply {
        Reply::Ok(outcome) => Ok(outcome),
        Reply::Error(error) => Err(error),
    }
}

fn settings() -> Settings {
    Settings {
        reminder_offsets_minutes: vec![120, 1440],
        review_request_after_minutes: Some(60),
        review_link: Some("https://g.page/r/barberia".into()),
        assistant_mode: AssistantMode::Guided,
        handoff_minutes: 60,
        change_cutoff_minutes: 24 * 60,
        approval_required: true,
        hold_minutes: 90,
        deposit: Default::default(),
        no_show_forfeits: true,
    }
}

fn update(shop: &Shop, by: Uuid, version: i64, settings: Settings, key: &str) -> Request {
    Request::UpdateSettings(UpdateSettingsRequest {
        actor: shop.staff(by),
        idempotency_key: key.into(),
        expected_version: version,
        settings,
    })
}

#[tokio::test]
async fn settings_change_only_from_the_version_they_were_read_at() {
    let shop = Shop::open().await;
    let refused = outcome(
        shop.scheduler
            .handle(update(&shop, shop.barber, 1, settings(), "barber"))
            .await,
    );
    assert_eq!(refused, Err(SchedulingError::Forbidden));
    let Ok(Outcome::Settings {
        settings: saved,
        version,
    }) = outcome(
        shop.scheduler
            .handle(update(&shop, shop.owner, 1, settings(), "first"))
            .await,
    )
    else {
        panic!("not saved")
    };
    assert_eq!(version, 2);
    // Offsets come back largest first, as the reminders are sent.
    assert_eq!(saved.reminder_offsets_minutes, vec![1440, 120]);
    assert_eq!(
        shop.sql_count(
            "SELECT count(*) FROM organizations WHERE assistant_mode = 'guided'
             AND handoff_minutes = 60 AND review_link = 'https://g.page/r/barberia'
             AND reminder_offsets_minutes = '{1440,120}' AND change_cutoff_minutes = 1440
             AND approval_required AND hold_minutes = 90"
        )
        .await,
        1
    );
    // A second writer who read version 1 is told, and changes nothing.
    let mut other = settings();
    other.handoff_minutes = 30;
    let stale = outcome(
        shop.scheduler
            .handle(update(&shop, shop.owner, 1, other, "second"))
            .await,
    );
    assert_eq!(stale, Err(SchedulingError::StaleVersion { current: 2 }));
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM organizations WHERE handoff_minutes = 60")
            .await,
        1
    );
}

#[tokio::test]
async fn settings_out_of_range_are_refused_whole() {
    let shop = Shop::open().await;
    let mut cases: Vec<(&str, Settings)> = Vec::new();
    let mut s = settings();
    s.reminder_offsets_minutes = vec![0];
    cases.push(("zero offset", s));
    let mut s = settings();
    s.reminder_offsets_minutes = vec![10, 20, 30, 40, 50];
    cases.push(("five reminders", s));
    let mut s = settings();
    s.review_link = Some("http://insecure.example".into());
    cases.push(("http link", s));
    let mut s = settings();
    s.handoff_minutes = 0;
    cases.push(("no handoff", s));
    let mut s = settings();
    s.change_cutoff_minutes = 20_000;
    cases.push(("cutoff", s));
    let mut s = settings();
    s.hold_minutes = 4;
    cases.push(("short hold", s));
    let mut s = settings();
    s.hold_minutes = 7 * 24 * 60 + 1;
    cases.push(("long hold", s));
    for (what, s) in cases {
        let refused = outcome(
            shop.scheduler
                .handle(update(&shop, shop.owner, 1, s, what))
                .await,
        );
        assert!(
            matches!(refused, Err(SchedulingError::InvalidRequest { .. })),
            "{what}: {refused:?}"
        );
    }
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM organizations WHERE settings_version = 1")
            .await,
        1
    );
}

#[tokio::test]
async fn customers_cannot_cancel_inside_the_cutoff_but_staff_can() {
    let shop = Shop::open().await;
    let tomorrow = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-08T10:00", "ana"))
        .await
        .unwrap();
    let later = shop
        .book(shop.booking(shop.customer(shop.beto), "2026-12-08T11:00", "beto"))
        .await
        .unwrap();
    let saved = outcome(
        shop.scheduler
            .handle(update(&shop, shop.owner, 1, settings(), "cutoff"))
            .await,
    );
    assert!(saved.is_ok(), "{saved:?}");
    let cancel = |actor, appointment_id, key: &str| {
        Request::Cancel(CancelRequest {
            actor,
            idempotency_key: key.into(),
            appointment_id,
            reason: None,
        })
    };
    // 27 hours ahead: still allowed.
    let in_time = outcome(
        shop.scheduler
            .handle(cancel(shop.customer(shop.beto), later.id, "in-time"))
            .await,
    );
    assert!(in_time.is_ok(), "{in_time:?}");
    // 23 hours ahead: too late.
    shop.set_now("2026-12-07T11:00");
    let too_late = outcome(
        shop.scheduler
            .handle(cancel(shop.customer(shop.ana), tomorrow.id, "late"))
            .await,
    );
    assert_eq!(
        too_late,
        Err(SchedulingError::TooLate {
            cutoff_minutes: 1440
        })
    );
    let by_staff = outcome(
        shop.scheduler
            .handle(cancel(shop.staff(shop.owner), tomorrow.id, "staff"))
            .await,
    );
    assert!(by_staff.is_ok(), "{by_staff:?}");
}

#[tokio::test]
async fn business_information_is_replaced_whole_and_only_with_its_own_locations() {
    let shop = Shop::open().await;
    let location: Uuid = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT id FROM locations", &[])
        .await
        .unwrap()
        .get(0);
    let info = |location: Uuid, faq: &[(&str, &str)]| BusinessInfo {
        description: Some("  Cortes clásicos y modernos.  ".into()),
        payment_methods: vec!["efectivo".into(), "tarjeta".into(), "efectivo".into()],
        locations: vec![LocationInfo {
            id: location,
            name: "Centro".into(),
            address: Some("Av. Juárez 10, Centro".into()),
            directions: Some("frente al parque".into()),
        }],
        faq: faq
            .iter()
            .map(|(q, a)| FaqEntry {
                question: (*q).into(),
                answer: (*a).into(),
            })
            .collect(),
    };
    let request = |info, key: &str| {
        Request::UpdateBusinessInfo(UpdateBusinessInfoRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: key.into(),
            info,
        })
    };
    let first = info(
        location,
        &[
            ("¿Hay estacionamiento?", "Sí, enfrente."),
            ("¿Aceptan niños?", "Claro."),
        ],
    );
    let Ok(Outcome::Business { info: saved }) =
        outcome(shop.scheduler.handle(request(first, "first")).await)
    else {
        panic!("not saved")
    };
    assert_eq!(
        saved.description.as_deref(),
        Some("Cortes clásicos y modernos.")
    );
    assert_eq!(saved.payment_methods, vec!["efectivo", "tarjeta"]);
    assert_eq!(saved.faq.len(), 2);
    assert_eq!(
        saved.locations[0].directions.as_deref(),
        Some("frente al parque")
    );

    let second = info(location, &[("¿Aceptan niños?", "Sí, desde los 3 años.")]);
    let Ok(Outcome::Business { info: saved }) =
        outcome(shop.scheduler.handle(request(second, "second")).await)
    else {
        panic!("not saved")
    };
    assert_eq!(saved.faq[0].answer, "Sí, desde los 3 años.");
    assert_eq!(shop.sql_count("SELECT count(*) FROM faq_entries").await, 1);

    // A location of nobody's: refused, and the rest of the request is not applied.
    let mut foreign = info(Uuid::new_v4(), &[]);
    foreign.description = Some("otra".into());
    let refused = outcome(shop.scheduler.handle(request(foreign, "foreign")).await);
    assert!(
        matches!(refused, Err(SchedulingError::NotFound { .. })),
        "{refused:?}"
    );
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM organizations WHERE description = 'otra'")
            .await,
        0
    );
    assert_eq!(shop.sql_count("SELECT count(*) FROM faq_entries").await, 1);
}

#[tokio::test]
async fn the_owner_sets_a_barbers_hours_and_permissions() {
    let shop = Shop::open().await;
    // Mondays only, mornings.
    let hours = Request::SetStaffHours(StaffHoursRequest {
        actor: shop.staff(shop.owner),
        idempotency_key: "hours".into(),
        staff_id: shop.barber,
        days: vec![DayHours {
            weekday: 1,
            intervals: vec![Interval {
                opens: time(10, 0, 0, 0),
                closes: time(13, 0, 0, 0),
            }],
        }],
    });
    let Ok(Outcome::Hours { days }) = outcome(shop.scheduler.handle(hours).await) else {
        panic!("no hours")
    };
    assert_eq!(days.len(), 7);
    assert_eq!(days[0].intervals.len(), 1);
    assert!(days[1..].iter().all(|d| d.intervals.is_empty()));
    let free = |day: &str| {
        let request = AvailabilityRequest {
            actor: shop.customer(shop.ana),
            service_type_id: shop.haircut,
            from: day.parse().unwrap(),
            to: day.parse().unwrap(),
            staff_id: Some(shop.barber),
            moving: None,
        };
        shop.scheduler.handle(Request::Availability(request))
    };
    assert!(slots(free("2026-12-08").await).is_empty(), "Tuesday is off");
    let monday = slots(free("2026-12-14").await);
    assert_eq!(monday.first(), Some(&at("2026-12-14T10:00")));
    assert!(monday.iter().all(|s| *s < at("2026-12-14T13:00")));

    let schedule = || {
        Request::Schedule(ScheduleRequest {
            actor: shop.staff(shop.barber),
            from: "2026-12-08".parse().unwrap(),
            to: "2026-12-08".parse().unwrap(),
            staff_id: None,
        })
    };
    assert_eq!(
        outcome(shop.scheduler.handle(schedule()).await),
        Err(SchedulingError::Forbidden)
    );
    let grant = |permissions: Vec<String>, staff_id: Uuid, key: &str| {
        Request::SetStaffPermissions(StaffPermissionsRequest {
            actor: shop.staff(shop.owner),
            idempotency_key: key.into(),
            staff_id,
            permissions,
        })
    };
    let unknown = outcome(
        shop.scheduler
            .handle(grant(vec!["everything".into()], shop.barber, "unknown"))
            .await,
    );
    assert!(matches!(
        unknown,
        Err(SchedulingError::InvalidRequest { .. })
    ));
    let owner = outcome(
        shop.scheduler
            .handle(grant(vec![], shop.owner, "owner"))
            .await,
    );
    assert!(matches!(owner, Err(SchedulingError::InvalidRequest { .. })));
    let Ok(Outcome::Staff { staff }) = outcome(
        shop.scheduler
            .handle(grant(
                vec![permissions::VIEW_BUSINESS_SCHEDULE.into()],
                shop.barber,
                "view",
            ))
            .await,
    ) else {
        panic!("not granted")
    };
    assert_eq!(staff.permissions, vec!["view_business_schedule"]);
    assert!(outcome(shop.scheduler.handle(schedule()).await).is_ok());
}

#[tokio::test]
async fn staff_keep_notes_email_and_tags_of_a_customer() {
    let shop = Shop::open().await;
    let change = |actor, customer_id, key: &str| UpdateCustomerRequest {
        actor,
        idempotency_key: key.into(),
        customer_id,
        name: None,
        notes: Some("Prefiere tijera".into()),
        email: Some("ana@example.mx".into()),
        tags: Some(vec![" VIP ".into(), "vip".into(), "puntual".into()]),
    };
    let by_customer = outcome(
        shop.scheduler
            .handle(Request::UpdateCustomer(change(
                shop.customer(shop.ana),
                shop.ana,
                "self",
            )))
            .await,
    );
    assert_eq!(by_customer, Err(SchedulingError::Forbidden));
    let Ok(Outcome::Customer { customer }) = outcome(
        shop.scheduler
            .handle(Request::UpdateCustomer(change(
                shop.staff(shop.barber),
                shop.ana,
                "notes",
            )))
            .await,
    ) else {
        panic!("not changed")
    };
    assert_eq!(customer.tags, vec!["vip", "puntual"]);
    assert_eq!(customer.email.as_deref(), Some("ana@example.mx"));

    // An empty text clears; an invalid email changes nothing.
    let mut clear = change(shop.staff(shop.barber), shop.ana, "clear");
    clear.notes = Some(String::new());
    clear.email = None;
    clear.tags = None;
    let Ok(Outcome::Customer { customer }) =
        outcome(shop.scheduler.handle(Request::UpdateCustomer(clear)).await)
    else {
        panic!("not cleared")
    };
    assert_eq!(customer.notes, None);
    assert_eq!(customer.email.as_deref(), Some("ana@example.mx"));
    let mut bad = change(shop.staff(shop.barber), shop.ana, "bad");
    bad.email = Some("ana at example".into());
    let refused = outcome(shop.scheduler.handle(Request::UpdateCustomer(bad)).await);
    assert!(matches!(
        refused,
        Err(SchedulingError::InvalidRequest { .. })
    ));
    let unknown = outcome(
        shop.scheduler
            .handle(Request::UpdateCustomer(change(
                shop.staff(shop.barber),
                Uuid::new_v4(),
                "unknown",
            )))
            .await,
    );
    assert!(matches!(unknown, Err(SchedulingError::NotFound { .. })));
}
