//! Holds by chat: a customer's booking that waits for the owner is told so, takes its
//! time from everyone else at once, and is approved by the owner's tap on the notice's
//! button — once — or decided by the assistant's tool, with a reason for the customer.
//! The clock is Monday 2026-12-07 09:00 in Mexico City.

#[path = "guided/chat.rs"]
mod chat;
mod common;

use chat::*;
use cita_shared::testing::ModelReply;
use common::{CUSTOMER_WA, OWNER_WA, fleet::Fleet};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn a_held_time_waits_for_the_owners_tap_and_is_taken_meanwhile() {
    let fleet = guided_fleet().await;
    // The owner alone cuts hair, so a held time is nobody else's.
    fleet
        .shop
        .execute(
            "UPDATE staff SET active = false WHERE id = $1",
            &[&fleet.shop.barber],
        )
        .await;
    fleet
        .shop
        .execute(
            "UPDATE organizations SET approval_required = true, hold_minutes = 120 WHERE id = $1",
            &[&fleet.shop.org],
        )
        .await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    chat.say("menu").await;
    chat.tap("Agendar cita").await;
    chat.tap("Corte de cabello").await;
    chat.tap("Martes 8 dic").await;
    chat.tap("10:15").await;
    let held = chat.tap("Confirmar").await;
    assert_eq!(
        text(&held[0]),
        "Te apartamos Corte de cabello el martes 8 de diciembre, 10:15 con Rosa. Falta que el \
         negocio la confirme: te avisamos por aquí a más tardar el lunes 7 de diciembre, \
         11:00. Mientras, nadie más puede tomar ese horario."
    );
    assert_eq!(
        appointments(&fleet).await,
        [(
            "Corte de cabello".into(),
            "2026-12-08 10:15".into(),
            "pending".into()
        )]
    );

    // Another customer is not offered the held time.
    let mut other = Chat::new(&fleet, OTHER_WA);
    other.say("menu").await;
    other.tap("Agendar cita").await;
    other.tap("Corte de cabello").await;
    let times = other.tap("Martes 8 dic").await;
    let offered = titles(&times[0]);
    assert!(!offered.contains(&"10:15".to_string()), "{offered:?}");
    assert!(offered.contains(&"11:15".to_string()), "{offered:?}");

    // The owner taps "Aprobar" on the notice reminders sent.
    let id: Uuid = fleet
        .shop
        .scalar("SELECT id FROM appointments WHERE status = 'pending'", &[])
        .await;
    let mut owner = Chat::new(&fleet, OWNER_WA);
    let wamid = fleet
        .tap(
            OWNER_WA,
            "button_reply",
            &format!("hold:ok:{id}"),
            "Aprobar",
        )
        .await;
    let approved = owner.replies_to(&wamid).await;
    assert_eq!(
        text(&approved[0]),
        "Listo: la cita quedó confirmada y le avisamos al cliente."
    );
    assert_eq!(appointments(&fleet).await[0].2, "confirmed");
    // A second answer, by the other button of the same notice, changes nothing.
    let wamid = fleet
        .tap(
            OWNER_WA,
            "button_reply",
            &format!("hold:no:{id}"),
            "Rechazar",
        )
        .await;
    let again = owner.replies_to(&wamid).await;
    assert!(
        text(&again[0]).contains("la cita ya está confirmada"),
        "{:#}",
        again[0]
    );
    assert_eq!(appointments(&fleet).await[0].2, "confirmed");

    // A customer tapping a forged hold id is not the owner: nothing is decided.
    fleet
        .shop
        .execute(
            "UPDATE appointments SET status = 'pending', hold_outcome = NULL WHERE id = $1",
            &[&id],
        )
        .await;
    let wamid = fleet
        .tap(
            CUSTOMER_WA,
            "button_reply",
            &format!("hold:ok:{id}"),
            "Aprobar",
        )
        .await;
    chat.replies_to(&wamid).await;
    assert_eq!(appointments(&fleet).await[0].2, "pending");
}

#[tokio::test]
async fn the_assistant_says_a_held_booking_waits_and_the_owner_rejects_it_with_a_reason() {
    let fleet = Fleet::start().await;
    let shop = &fleet.shop;
    shop.execute(
        "UPDATE organizations SET approval_required = true WHERE id = $1",
        &[&shop.org],
    )
    .await;
    fleet.model.script([
        ModelReply::tool(
            "book_appointment",
            json!({"service_id": shop.corte, "start_time": "2026-12-08T16:00", "customer_name": "Ana"}),
        ),
        ModelReply::text("Te aparté el martes a las 16:00; el negocio te confirma pronto."),
    ]);
    fleet
        .say(CUSTOMER_WA, "Corte mañana a las 4, soy Ana")
        .await;
    fleet.texts_to(CUSTOMER_WA, 1).await;
    let booked = fleet.tool_results(1)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(booked.contains("\"status\":\"pending\""), "{booked}");
    assert!(
        booked.contains("\"awaiting_approval_until\":\"lunes 7 de diciembre, 11:00\""),
        "{booked}"
    );
    fleet.settled().await;

    let id: Uuid = shop
        .scalar("SELECT id FROM appointments WHERE status = 'pending'", &[])
        .await;
    fleet.model.script([
        ModelReply::tool(
            "decide_booking_request",
            json!({"appointment_id": id, "approve": false, "reason": "Ese día cerramos temprano"}),
        ),
        ModelReply::text("Listo, la rechacé y le avisamos a Ana."),
    ]);
    fleet
        .say(OWNER_WA, "Rechaza la de Ana, ese día cerramos temprano")
        .await;
    fleet.texts_to(OWNER_WA, 1).await;
    let decided = fleet.tool_results(3)[0].clone();
    assert!(decided.get("is_error").is_none(), "{decided}");
    let row = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT status, cancellation_reason, hold_outcome FROM appointments WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, Option<String>>(1),
            row.get::<_, Option<String>>(2)
        ),
        (
            "cancelled".into(),
            Some("Ese día cerramos temprano".into()),
            Some("rejected".into())
        )
    );
}

#[tokio::test]
async fn the_owner_answers_a_request_from_the_guided_menu_and_a_barber_sees_none() {
    let fleet = guided_fleet().await;
    let shop = &fleet.shop;
    let (_, id) = shop
        .customer_with_appointment(CUSTOMER_WA, "Ana", "2026-12-09T17:00:00Z")
        .await;
    shop.execute(
        "UPDATE appointments SET status = 'pending', staff_id = $2,
                hold_expires_at = '2026-12-07T17:00:00Z' WHERE id = $1",
        &[&id, &shop.owner],
    )
    .await;
    let mut owner = Chat::new(&fleet, OWNER_WA);
    let menu = owner.say("menu").await;
    assert_eq!(titles(&menu[0])[0], "Por aprobar (1)");
    let list = owner.tap("Por aprobar").await;
    assert_eq!(text(&list[0]), "¿Cuál solicitud respondes?");
    assert_eq!(titles(&list[0]), ["Ana"]);
    let request = owner.tap("Ana").await;
    assert_eq!(
        text(&request[0]),
        "Ana pide Corte de cabello el miércoles 9 de diciembre, 11:00. ¿La apruebas? El \
         horario queda apartado hasta el lunes 7 de diciembre, 11:00; si nadie responde, se \
         libera."
    );
    assert_eq!(titles(&request[0]), ["Aprobar", "Rechazar", "Volver"]);
    let done = owner.tap("Rechazar").await;
    assert_eq!(
        text(&done[0]),
        "Listo: la rechazaste, el horario quedó libre y le avisamos al cliente."
    );
    assert_eq!(
        shop.scalar::<String>(
            "SELECT status || '/' || hold_outcome FROM appointments WHERE id = $1",
            &[&id]
        )
        .await,
        "cancelled/rejected"
    );
    // Nothing waits any more: the menu has no such row.
    let menu = owner.say("menu").await;
    assert!(!titles(&menu[0])[0].starts_with("Por aprobar"));

    // Another request, with the owner: a barber without manage_appointments doesn't see it.
    shop.execute(
        "UPDATE appointments SET status = 'pending', hold_outcome = NULL WHERE id = $1",
        &[&id],
    )
    .await;
    let mut barber = Chat::new(&fleet, common::BARBER_WA);
    let menu = barber.say("menu").await;
    assert!(
        !titles(&menu[0])
            .iter()
            .any(|t| t.starts_with("Por aprobar")),
        "{:#}",
        menu[0]
    );
}
