//! Notices caused by events: who hears about what, with which template fallback; each
//! event once; reminders armed, moved and cancelled with their appointment.

mod common;

use cita_reminders::intake::Applied;
use cita_shared::contracts::{
    events::Event,
    outbound::{Message, Purpose},
    scheduling::Status,
};
use common::{BARBER_PHONE, CUSTOMER_WA, OWNER_PHONE, Shop, at, text_of};

fn recipients(sends: &[cita_shared::contracts::outbound::Outgoing]) -> Vec<String> {
    let mut to: Vec<String> = sends.iter().map(|s| s.to.clone()).collect();
    to.sort();
    to
}

fn sorted(phones: &[&str]) -> Vec<String> {
    let mut phones: Vec<String> = phones.iter().map(|p| p.to_string()).collect();
    phones.sort();
    phones
}

#[tokio::test]
async fn a_booking_by_staff_tells_the_owner_the_barber_and_the_customer() {
    let shop = Shop::open("America/Mexico_City").await;
    // Monday 14 December 2026, 10:30 in Mexico City.
    let appointment = shop.appointment(shop.barber, "2026-12-14T16:30:00Z").await;
    let booked = shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentBooked {
            appointment: appointment.clone(),
            actor: shop.by_staff(shop.barber),
        },
    );
    assert_eq!(shop.apply(&booked).await, Applied::Done);
    let done = shop.dispatch("2026-12-10T15:00:01Z").await;
    assert_eq!((done.published, done.skipped), (3, 0));
    let sends = shop.commands().await;
    assert_eq!(
        recipients(&sends),
        sorted(&[CUSTOMER_WA, OWNER_PHONE, BARBER_PHONE])
    );
    let customer = sends.iter().find(|s| s.to == CUSTOMER_WA).unwrap();
    assert_eq!(
        text_of(customer),
        "Hola, Ana. Barbería El Centro agendó tu cita: Corte el lunes 14 de diciembre, 10:30 con Luis."
    );
    let fallback = customer.fallback.as_ref().unwrap();
    assert_eq!(fallback.name, "appointment_confirmation");
    assert_eq!(fallback.language, "es_MX");
    assert_eq!(fallback.body[2].text, "lunes 14 de diciembre, 10:30");
    let owner = sends.iter().find(|s| s.to == OWNER_PHONE).unwrap();
    assert_eq!(
        text_of(owner),
        "Nueva cita: Ana, Corte, el lunes 14 de diciembre, 10:30 con Luis."
    );
    assert_eq!(owner.fallback.as_ref().unwrap().name, "staff_notice");
    assert!(sends.iter().all(|s| s.purpose == Purpose::Notification));

    // The day-before reminder is armed for 13 December, 10:30 local.
    let reminders = shop.rows("reminder").await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].2, at("2026-12-13T16:30:00Z"));

    // The same event again changes nothing.
    assert_eq!(shop.apply(&booked).await, Applied::Duplicate);
    assert_eq!(shop.dispatch("2026-12-10T15:00:02Z").await.total(), 0);
}

#[tokio::test]
async fn a_booking_by_the_customer_is_not_confirmed_again_and_the_owner_barber_hears_once() {
    let shop = Shop::open("America/Mexico_City").await;
    let appointment = shop.appointment(shop.owner, "2026-12-14T16:30:00Z").await;
    let booked = shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentBooked {
            appointment,
            actor: shop.by_customer(),
        },
    );
    shop.apply(&booked).await;
    shop.dispatch("2026-12-10T15:00:01Z").await;
    let sends = shop.commands().await;
    assert_eq!(recipients(&sends), sorted(&[OWNER_PHONE]));
}

#[tokio::test]
async fn a_cancellation_cancels_the_reminder_and_tells_whom_it_concerns() {
    let shop = Shop::open("America/Mexico_City").await;
    let mut appointment = shop.appointment(shop.barber, "2026-12-14T16:30:00Z").await;
    shop.apply(&shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentBooked {
            appointment: appointment.clone(),
            actor: shop.by_customer(),
        },
    ))
    .await;
    shop.dispatch("2026-12-10T15:00:01Z").await;
    shop.commands().await;

    appointment.status = Status::Cancelled;
    // Cancelled by the customer: only the barber is told.
    shop.apply(&shop.envelope(
        "2026-12-11T15:00:00Z",
        Event::AppointmentCancelled {
            appointment: appointment.clone(),
            actor: shop.by_customer(),
        },
    ))
    .await;
    shop.dispatch("2026-12-11T15:00:01Z").await;
    let sends = shop.commands().await;
    assert_eq!(recipients(&sends), sorted(&[BARBER_PHONE]));
    assert_eq!(
        text_of(&sends[0]),
        "Cita cancelada: Ana, Corte, el lunes 14 de diciembre, 10:30."
    );
    assert_eq!(shop.rows("reminder").await[0].1, "cancelled");
    // The reminder's time comes and nothing goes.
    assert_eq!(shop.dispatch("2026-12-13T17:00:00Z").await.total(), 0);

    // Cancelled by staff: the customer is told, with the cancellation template.
    let other = shop.appointment(shop.barber, "2026-12-15T16:30:00Z").await;
    shop.apply(&shop.envelope(
        "2026-12-11T16:00:00Z",
        Event::AppointmentCancelled {
            appointment: other,
            actor: shop.by_staff(shop.owner),
        },
    ))
    .await;
    shop.dispatch("2026-12-11T16:00:01Z").await;
    let sends = shop.commands().await;
    assert_eq!(recipients(&sends), sorted(&[CUSTOMER_WA, BARBER_PHONE]));
    let customer = sends.iter().find(|s| s.to == CUSTOMER_WA).unwrap();
    assert_eq!(
        customer.fallback.as_ref().unwrap().name,
        "appointment_cancelled"
    );
}

#[tokio::test]
async fn a_reschedule_moves_the_reminder_and_tells_both_barbers_and_the_customer() {
    let shop = Shop::open("America/Mexico_City").await;
    let mut appointment = shop.appointment(shop.barber, "2026-12-14T16:30:00Z").await;
    shop.apply(&shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentBooked {
            appointment: appointment.clone(),
            actor: shop.by_customer(),
        },
    ))
    .await;
    let before = shop.rows("reminder").await;
    let previous = appointment.starts_at;
    // Moved by the owner to Wednesday 16, 12:00, with herself.
    let client = shop.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE appointments SET starts_at = '2026-12-16T18:00:00Z', ends_at = '2026-12-16T18:45:00Z', staff_id = $2 WHERE id = $1",
            &[&appointment.id, &shop.owner],
        )
        .await
        .unwrap();
    appointment.starts_at = at("2026-12-16T18:00:00Z");
    appointment.ends_at = at("2026-12-16T18:45:00Z");
    appointment.staff_id = shop.owner;
    shop.apply(&shop.envelope(
        "2026-12-11T15:00:00Z",
        Event::AppointmentRescheduled {
            appointment,
            previous_starts_at: previous,
            previous_staff_id: shop.barber,
            actor: shop.by_staff(shop.owner),
        },
    ))
    .await;
    let after = shop.rows("reminder").await;
    assert_eq!(after.len(), 1);
    assert_eq!(
        after[0].2,
        at("2026-12-15T18:00:00Z"),
        "moved to the day before the new time"
    );
    assert_ne!(
        after[0].4, before[0].4,
        "a moved reminder gets a new command id (the old one may have reached outbound)"
    );

    shop.dispatch("2026-12-11T15:00:01Z").await;
    let sends = shop.commands().await;
    // Booking notices (owner, barber) and the reschedule notices (owner, barber, customer).
    let moved: Vec<_> = sends
        .iter()
        .filter(|s| text_of(s).contains("cambió") || text_of(s).starts_with("Cita movida"))
        .collect();
    assert_eq!(moved.len(), 3, "{sends:#?}");
    let customer = moved.iter().find(|s| s.to == CUSTOMER_WA).unwrap();
    assert_eq!(
        text_of(customer),
        "Hola, Ana. Tu cita de Corte en Barbería El Centro cambió al miércoles 16 de diciembre, 12:00 con Rosa."
    );
    let barber = moved.iter().find(|s| s.to == BARBER_PHONE).unwrap();
    assert!(
        text_of(barber).ends_with("(antes el lunes 14 de diciembre, 10:30)."),
        "{}",
        text_of(barber)
    );

    // The reminder goes at its new time, as a template, and says the new time.
    assert_eq!(shop.dispatch("2026-12-14T17:00:00Z").await.total(), 0);
    assert_eq!(shop.dispatch("2026-12-15T18:00:00Z").await.published, 1);
    let reminder = shop.commands().await.pop().unwrap();
    assert_eq!(reminder.purpose, Purpose::Reminder);
    match &reminder.message {
        Message::Template(t) => {
            assert_eq!(t.name, "appointment_reminder");
            let params: Vec<&str> = t.body.iter().map(|p| p.text.as_str()).collect();
            assert_eq!(
                params,
                [
                    "Barbería El Centro",
                    "Corte",
                    "miércoles 16 de diciembre, 12:00",
                    "Rosa"
                ]
            );
        }
        other => panic!("a reminder is a template, got {other:?}"),
    }
}

#[tokio::test]
async fn completing_an_appointment_schedules_the_review_request_with_the_businesss_link() {
    let shop = Shop::open("America/Bogota").await;
    let client = shop.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE organizations SET review_request_after_minutes = 120, locale = 'es-CO',
                    review_link = 'https://g.page/r/el-centro' WHERE id = $1",
            &[&shop.org],
        )
        .await
        .unwrap();
    let mut appointment = shop.appointment(shop.barber, "2026-12-14T15:00:00Z").await;
    appointment.status = Status::Completed;
    shop.apply(&shop.envelope(
        "2026-12-14T15:50:00Z",
        Event::AppointmentStatusChanged {
            appointment,
            previous: Status::Confirmed,
            actor: shop.by_staff(shop.barber),
        },
    ))
    .await;
    assert_eq!(shop.dispatch("2026-12-14T17:49:00Z").await.total(), 0);
    assert_eq!(shop.dispatch("2026-12-14T17:50:00Z").await.published, 1);
    let send = shop.commands().await.pop().unwrap();
    assert_eq!(send.to, CUSTOMER_WA);
    // A Colombian business speaks to its customers as usted.
    assert!(text_of(&send).contains("¡Gracias por su visita a Barbería El Centro!"));
    assert!(
        text_of(&send).ends_with("Déjenos su opinión aquí: https://g.page/r/el-centro"),
        "{}",
        text_of(&send)
    );
    let fallback = send.fallback.unwrap();
    assert_eq!(
        (fallback.name.as_str(), fallback.language.as_str()),
        ("review_request", "es")
    );
}

#[tokio::test]
async fn quota_and_handoff_notices_go_to_the_owner() {
    let shop = Shop::open("America/Mexico_City").await;
    let month: jiff::civil::Date = "2026-12-01".parse().unwrap();
    for _ in 0..2 {
        // Two events of the same month (e.g. re-emitted): one notice.
        let quota = shop.envelope(
            "2026-12-20T15:00:00Z",
            Event::QuotaExceeded { month, limit: 50 },
        );
        assert_eq!(shop.apply(&quota).await, Applied::Done);
    }
    shop.apply(&shop.envelope(
        "2026-12-20T15:00:00Z",
        Event::ConversationHandedOff {
            conversation_id: uuid::Uuid::new_v4(),
            customer_id: Some(shop.customer),
            wa_id: CUSTOMER_WA.into(),
            customer_name: Some("Ana".into()),
            reason: "quiere un precio especial para 5 cortes".into(),
            until: None,
        },
    ))
    .await;
    shop.dispatch("2026-12-20T15:00:01Z").await;
    let sends = shop.commands().await;
    assert_eq!(recipients(&sends), sorted(&[OWNER_PHONE, OWNER_PHONE]));
    let texts: Vec<String> = sends.iter().map(text_of).collect();
    assert!(
        texts.iter().any(|t| t.contains("llegó a sus 50 citas")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with(
            &format!("Ana (+{CUSTOMER_WA}) pidió hablar con una persona: «quiere un precio especial para 5 cortes»")
        )),
        "{texts:?}"
    );
}

#[tokio::test]
async fn someone_added_to_the_team_is_welcomed_once_per_addition() {
    let shop = Shop::open("America/Mexico_City").await;
    let added = shop.envelope(
        "2026-12-20T15:00:00Z",
        Event::StaffAdded {
            staff_id: shop.barber,
            name: "Luis".into(),
            actor: shop.by_staff(shop.owner),
        },
    );
    assert_eq!(shop.apply(&added).await, Applied::Done);
    assert_eq!(shop.apply(&added).await, Applied::Duplicate);
    assert_eq!(shop.dispatch("2026-12-20T15:00:01Z").await.published, 1);
    let send = shop.commands().await.pop().unwrap();
    assert_eq!(send.to, BARBER_PHONE);
    let text = text_of(&send);
    assert!(text.contains("Ya eres parte del equipo de"), "{text}");
    assert!(text.contains("¿qué tengo hoy?"), "{text}");
    // A new member has never written: the notice template carries it.
    let fallback = send.fallback.unwrap();
    assert_eq!(fallback.name, "staff_notice");
    // Added again later (a second event): welcomed again.
    let again = shop.envelope(
        "2027-03-01T15:00:00Z",
        Event::StaffAdded {
            staff_id: shop.barber,
            name: "Luis".into(),
            actor: shop.by_staff(shop.owner),
        },
    );
    assert_eq!(shop.apply(&again).await, Applied::Done);
    assert_eq!(shop.dispatch("2027-03-01T15:00:01Z").await.published, 1);
}

#[tokio::test]
async fn events_for_unknown_organizations_or_appointments_change_nothing() {
    let shop = Shop::open("America/Mexico_City").await;
    let appointment = shop.appointment(shop.barber, "2026-12-14T16:30:00Z").await;
    let mut ghost = appointment.clone();
    ghost.id = uuid::Uuid::new_v4();
    let event = shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentBooked {
            appointment: ghost.clone(),
            actor: shop.by_customer(),
        },
    );
    assert!(
        matches!(shop.apply(&event).await, Applied::Unknown(what) if what.contains(&ghost.id.to_string()))
    );
    let mut elsewhere = shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentBooked {
            appointment,
            actor: shop.by_customer(),
        },
    );
    elsewhere.organization_id = uuid::Uuid::new_v4();
    assert!(
        matches!(shop.apply(&elsewhere).await, Applied::Unknown(what) if what.starts_with("organization"))
    );
    let client = shop.db.pool.get().await.unwrap();
    let rows: i64 = client
        .query_one("SELECT count(*) FROM notifications", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn a_late_booking_event_does_not_move_a_rescheduled_reminder_back() {
    let shop = Shop::open("America/Mexico_City").await;
    let mut appointment = shop.appointment(shop.barber, "2026-12-14T16:30:00Z").await;
    let booked = shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentBooked {
            appointment: appointment.clone(),
            actor: shop.by_customer(),
        },
    );
    let client = shop.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE appointments SET starts_at = '2026-12-18T16:30:00Z', ends_at = '2026-12-18T17:15:00Z' WHERE id = $1",
            &[&appointment.id],
        )
        .await
        .unwrap();
    let previous = appointment.starts_at;
    appointment.starts_at = at("2026-12-18T16:30:00Z");
    appointment.ends_at = at("2026-12-18T17:15:00Z");
    let moved = shop.envelope(
        "2026-12-10T15:05:00Z",
        Event::AppointmentRescheduled {
            appointment,
            previous_starts_at: previous,
            previous_staff_id: shop.barber,
            actor: shop.by_customer(),
        },
    );
    // The relay delivered them out of order.
    shop.apply(&moved).await;
    shop.apply(&booked).await;
    let reminders = shop.rows("reminder").await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].2, at("2026-12-17T16:30:00Z"));
    // Nothing goes at the old reminder time.
    assert_eq!(
        shop.dispatch("2026-12-13T17:00:00Z").await.published,
        3,
        "the booking's notices to owner and barber, the move's to the barber"
    );
    assert!(
        shop.commands()
            .await
            .iter()
            .all(|s| s.purpose == Purpose::Notification)
    );
}
