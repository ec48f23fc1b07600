//! Guided mode against the real services: booking by taps and by typed numbers, the
//! customer's appointments, a handoff, the staff's day, a slot taken meanwhile, a
//! restart between two taps, and lists longer than WhatsApp shows at once; `model`
//! has guided mode next to the AI. The clock is Monday 2026-12-07 09:00 in Mexico City.

#[path = "guided/chat.rs"]
mod chat;
mod common;
#[path = "guided/model.rs"]
mod model;

use std::time::Duration;

use chat::*;
use common::{BARBER_WA, CUSTOMER_WA, OWNER_WA};
use uuid::Uuid;

#[tokio::test]
async fn a_customer_books_by_taps_and_gets_the_confirmation() {
    let fleet = guided_fleet().await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    let menu = chat.say("hola").await;
    assert_eq!(menu.len(), 1);
    assert!(
        text(&menu[0]).contains("Barbería El Centro"),
        "{:#}",
        menu[0]
    );
    assert_eq!(
        titles(&menu[0]),
        ["Agendar cita", "Mis citas", "Hablar con alguien"]
    );

    let services = chat.tap("Agendar cita").await;
    assert_eq!(
        titles(&services[0]),
        ["Arreglo de barba", "Corte de cabello", "Tinte"]
    );
    let rows = &services[0]["interactive"]["action"]["sections"][0]["rows"];
    assert_eq!(rows[1]["description"], "45 min · $250 MXN");

    let days = chat.tap("Corte de cabello").await;
    let day_titles = titles(&days[0]);
    // Monday from 10:00 (an hour's notice after 09:00) to Saturday, and the next week.
    assert_eq!(day_titles[0], "Lunes 7 dic");
    assert!(
        !day_titles.iter().any(|t| t.starts_with("Domingo")),
        "{day_titles:?}"
    );

    let times = chat.tap("Martes 8 dic").await;
    assert!(
        text(&times[0]).contains("martes 8 de diciembre"),
        "{:#}",
        times[0]
    );
    assert_eq!(titles(&times[0])[..2], ["10:00", "10:15"]);

    let who = chat.tap("10:15").await;
    assert_eq!(titles(&who[0]), ["Me da igual", "Luis", "Rosa"]);
    let summary = chat.tap("Luis").await;
    let body = text(&summary[0]);
    assert!(
        body.contains("Corte de cabello")
            && body.contains("martes 8 de diciembre, 10:15")
            && body.contains("Con Luis"),
        "{body}"
    );
    assert_eq!(titles(&summary[0]), ["Confirmar", "Cambiar", "Cancelar"]);

    let done = chat.tap("Confirmar").await;
    assert_eq!(done.len(), 1);
    assert_eq!(
        text(&done[0]),
        "¡Listo! Quedó tu cita de Corte de cabello el martes 8 de diciembre, 10:15 con Luis en Barbería El Centro. Te esperamos 🙌"
    );
    assert_eq!(
        appointments(&fleet).await,
        [(
            "Corte de cabello".into(),
            "2026-12-08 10:15".into(),
            "confirmed".into()
        )]
    );
    let staff: Uuid = fleet
        .shop
        .scalar("SELECT staff_id FROM appointments", &[])
        .await;
    assert_eq!(staff, fleet.shop.barber);
    // Every message was answered by guided mode, none by the model.
    assert!(fleet.model.requests().is_empty());
    let guided: i64 = fleet
        .shop
        .scalar(
            "SELECT count(*) FROM messages WHERE direction = 'inbound' AND handled_as = 'guided'",
            &[],
        )
        .await;
    assert_eq!(guided, 7);
    // Each message was marked read.
    assert_eq!(fleet.read_receipts().len(), 7);
}

#[tokio::test]
async fn a_customer_books_by_typing_numbers_and_gets_a_hint_for_anything_else() {
    let fleet = guided_fleet().await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    // "quiero una cita" is an intent: the services come at once.
    let services = chat.say("buenas, quiero una cita").await;
    assert_eq!(titles(&services[0])[0], "Arreglo de barba");
    let unclear = chat.say("el de la barba porfa").await;
    starts_with(&unclear[0], "No te entendí");
    assert_eq!(titles(&unclear[0])[0], "Arreglo de barba");
    let days = chat.say("1").await;
    starts_with(&days[0], "Arreglo de barba: ¿qué día");
    let times = chat.say("2").await; // Tuesday
    assert_eq!(titles(&times[0])[0], "10:00");
    let who = chat.say("1").await;
    assert_eq!(titles(&who[0])[0], "Me da igual");
    chat.say("me da igual").await;
    let done = chat.say("1").await;
    assert!(
        text(&done[0]).starts_with(
            "¡Listo! Quedó tu cita de Arreglo de barba el martes 8 de diciembre, 10:00"
        ),
        "{:#}",
        done[0]
    );
    assert_eq!(
        appointments(&fleet).await,
        [(
            "Arreglo de barba".into(),
            "2026-12-08 10:00".into(),
            "confirmed".into()
        )]
    );
    // "cancelar" leaves what is in progress; "menú" shows the start again.
    chat.say("hola").await;
    chat.say("1").await;
    let quit = chat.say("Cancelar").await;
    assert_eq!(text(&quit[0]), "Listo, lo dejamos aquí.");
    assert_eq!(
        titles(&quit[1]),
        ["Agendar cita", "Mis citas", "Hablar con alguien"]
    );
}

#[tokio::test]
async fn typed_intents_land_where_the_customer_means() {
    let fleet = guided_fleet().await;
    fleet
        .shop
        .execute(
            "UPDATE locations SET address = 'Av. Juárez 10, Centro, CDMX', directions = 'Frente al parque'
             WHERE organization_id = $1",
            &[&fleet.shop.org],
        )
        .await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    let info = chat.say("¿Dónde están?").await;
    let body = text(&info[0]);
    for part in [
        "📍 Así encuentras a Barbería El Centro:",
        "*Centro*: Av. Juárez 10, Centro, CDMX",
        "Cómo llegar: Frente al parque",
        "https://www.google.com/maps/search/?api=1&query=Av.+Ju%C3%A1rez+10%2C+Centro%2C+CDMX",
        "Horario:",
        "domingo: cerrado",
    ] {
        assert!(body.contains(part), "{part:?} in {body}");
    }
    assert_eq!(
        titles(&info[1]),
        ["Agendar cita", "Mis citas", "Hablar con alguien"]
    );

    let prices = chat.say("¿cuánto cuesta el corte?").await;
    let rows = &prices[0]["interactive"]["action"]["sections"][0]["rows"];
    assert_eq!(rows[1]["description"], "45 min · $250 MXN");

    chat.tap("Corte de cabello").await;
    chat.tap("Martes 8 dic").await;
    chat.tap("10:15").await;
    chat.tap("Luis").await;
    starts_with(&chat.tap("Confirmar").await[0], "¡Listo!");
    let mine = chat.say("quiero cambiar mi cita").await;
    let rows = &mine[0]["interactive"]["action"]["sections"][0]["rows"];
    assert_eq!(
        rows[0]["description"], "martes 8 de diciembre, 10:15 · con Luis",
        "{:#}",
        mine[0]
    );

    // Sharing a location is asking where the business is.
    let wamid = "wamid.shared-location";
    fleet
        .post(&common::notification(
            "messages",
            serde_json::json!({
                "contacts": [{"profile": {"name": "Ana"}, "wa_id": CUSTOMER_WA}],
                "messages": [common::message_json(CUSTOMER_WA, wamid, common::now_seconds(), "location",
                    serde_json::json!({"latitude": 19.43, "longitude": -99.13}))]
            }),
        ))
        .await;
    let place = chat.replies_to(wamid).await;
    assert!(
        text(&place[0]).contains("*Centro*: Av. Juárez 10, Centro, CDMX"),
        "{:#}",
        place[0]
    );

    // A near miss still gets the hint, on the screen it was on.
    let unclear = chat.say("qué precioso").await;
    starts_with(&unclear[0], "No te entendí");

    let human = chat.say("quiero hablar con alguien").await;
    assert_eq!(
        text(&human[0]),
        "Listo, le aviso a una persona del negocio; te escribirá pronto 🙏"
    );
}

#[tokio::test]
async fn inside_the_businesss_cutoff_a_customer_is_told_why_they_cannot_cancel() {
    let fleet = guided_fleet().await;
    fleet
        .shop
        .execute(
            "UPDATE organizations SET change_cutoff_minutes = 2880 WHERE id = $1",
            &[&fleet.shop.org],
        )
        .await;
    // Tomorrow at 11:00, 26 hours away: inside a 48-hour cutoff.
    fleet
        .shop
        .customer_with_appointment(CUSTOMER_WA, "Ana", "2026-12-08T17:00:00Z")
        .await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    chat.say("hola").await;
    chat.tap("Mis citas").await;
    chat.tap("Corte de cabello").await;
    chat.tap("Cancelar cita").await;
    let refused = chat.tap("Sí, cancelar").await;
    assert_eq!(
        text(&refused[0]),
        "No se pudo: ya no se puede cambiar ni cancelar por aquí: el negocio lo permite hasta 48 horas antes de la cita."
    );
    assert_eq!(
        fleet
            .shop
            .scalar::<i64>(
                "SELECT count(*) FROM appointments WHERE status = 'confirmed'",
                &[]
            )
            .await,
        1
    );
}

#[tokio::test]
async fn my_appointments_cancel_one_and_move_another() {
    let fleet = guided_fleet().await;
    fleet
        .shop
        .customer_with_appointment(CUSTOMER_WA, "Ana", "2026-12-09T17:00:00Z")
        .await;
    fleet
        .shop
        .customer_with_appointment(CUSTOMER_WA, "Ana", "2026-12-10T17:00:00Z")
        .await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    chat.say("hola").await;
    let mine = chat.tap("Mis citas").await;
    let rows = &mine[0]["interactive"]["action"]["sections"][0]["rows"];
    assert_eq!(
        rows[0]["description"],
        "miércoles 9 de diciembre, 11:00 · con Luis"
    );
    assert_eq!(rows.as_array().unwrap().len(), 2);

    // Cancel the first.
    let (_, id, _) = chat.option("Corte de cabello");
    let wamid = fleet
        .tap(CUSTOMER_WA, "list_reply", &id, "Corte de cabello")
        .await;
    let one = chat.replies_to(&wamid).await;
    assert_eq!(
        titles(&one[0]),
        ["Cancelar cita", "Cambiar horario", "Volver"]
    );
    let sure = chat.tap("Cancelar cita").await;
    assert!(
        text(&sure[0]).contains("miércoles 9 de diciembre, 11:00"),
        "{:#}",
        sure[0]
    );
    let cancelled = chat.tap("Sí, cancelar").await;
    starts_with(&cancelled[0], "Listo, cancelé tu cita");

    // Move the other to Friday 11:30.
    chat.say("menu").await;
    let mine = chat.tap("Mis citas").await;
    assert_eq!(options(&mine[0]).len(), 1);
    chat.tap("Corte de cabello").await;
    let days = chat.tap("Cambiar horario").await;
    assert!(text(&days[0]).starts_with("Corte de cabello: ¿qué día"));
    chat.tap("Viernes 11 dic").await;
    let who = chat.tap("11:30").await;
    chat.option("Me da igual");
    let summary = chat.tap("Luis").await;
    starts_with(&summary[0], "Cambiar tu cita a:");
    let moved = chat.tap("Confirmar").await;
    assert_eq!(
        text(&moved[0]),
        "¡Listo! Tu cita de Corte de cabello quedó para el viernes 11 de diciembre, 11:30 con Luis."
    );
    drop(who);
    assert_eq!(
        appointments(&fleet).await,
        [
            (
                "Corte de cabello".into(),
                "2026-12-09 11:00".into(),
                "cancelled".into()
            ),
            (
                "Corte de cabello".into(),
                "2026-12-11 11:30".into(),
                "confirmed".into()
            ),
        ]
    );
}

#[tokio::test]
async fn talking_to_a_person_hands_the_conversation_off() {
    let fleet = guided_fleet().await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    chat.say("hola").await;
    // Without appointments, the menu comes back with a note and without the greeting.
    let none = chat.tap("Mis citas").await;
    assert_eq!(
        text(&none[0]),
        "No tienes citas próximas.\n\n¿Qué quieres hacer?"
    );
    let handed = chat.tap("Hablar con alguien").await;
    assert_eq!(
        text(&handed[0]),
        "Listo, le aviso a una persona del negocio; te escribirá pronto 🙏"
    );
    let status: String = fleet
        .shop
        .scalar(
            "SELECT status FROM conversations WHERE wa_id = $1",
            &[&CUSTOMER_WA],
        )
        .await;
    assert_eq!(status, "handed_off");
    let events: i64 = fleet
        .shop
        .scalar(
            "SELECT count(*) FROM outbox WHERE routing_key = 'conversation.handed_off'",
            &[],
        )
        .await;
    assert_eq!(events, 1);
    // While a person has it, guided mode stays silent too.
    let wamid = fleet.say(CUSTOMER_WA, "¿hola?").await;
    let deadline = std::time::Instant::now() + common::fleet::PATIENCE;
    let handled = loop {
        let client = fleet.shop.db.pool.get().await.unwrap();
        let row = client
            .query_opt(
                "SELECT handled_as FROM messages WHERE wa_message_id = $1 AND answered_at IS NOT NULL",
                &[&wamid],
            )
            .await
            .unwrap();
        if let Some(row) = row {
            break row.get::<_, String>(0);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the message was not handled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(handled, "handed_off");
    assert_eq!(fleet.replies_now(CUSTOMER_WA).len(), 3);
}

#[tokio::test]
async fn staff_read_their_agenda_block_time_and_mark_a_no_show() {
    let fleet = guided_fleet().await;
    fleet
        .shop
        .customer_with_appointment(CUSTOMER_WA, "Ana", "2026-12-07T17:00:00Z")
        .await;
    let mut chat = Chat::new(&fleet, BARBER_WA);
    let menu = chat.say("hola").await;
    starts_with(&menu[0], "Hola, Luis.");
    assert_eq!(
        titles(&menu[0]),
        [
            "Agenda de hoy",
            "Agenda de mañana",
            "Bloquear horario",
            "Marcar una cita",
            "Liberar conversación"
        ]
    );
    let agenda = chat.tap("Agenda de hoy").await;
    assert_eq!(
        text(&agenda[0]),
        "Agenda de hoy (lunes 7 de diciembre):\n11:00 Corte de cabello — Ana (con Luis)"
    );
    assert_eq!(titles(&agenda[1])[0], "Agenda de hoy");

    chat.tap("Bloquear horario").await;
    let starts = chat.tap("Hoy").await;
    // From 09:00 the business hours (10:00–19:00) are all ahead.
    assert_eq!(titles(&starts[0])[0], "10:00");
    chat.tap("Más tarde").await;
    chat.tap("14:00").await;
    let blocked = chat.tap("1 hora").await;
    assert_eq!(
        text(&blocked[0]),
        "Listo: bloqueé tu horario del lunes 7 de diciembre, 14:00 a las 15:00."
    );
    let during: String = fleet
        .shop
        .scalar(
            "SELECT during::text FROM availability_exceptions WHERE staff_id = $1 AND kind = 'block'",
            &[&fleet.shop.barber],
        )
        .await;
    assert_eq!(
        during,
        "[\"2026-12-07 20:00:00+00\",\"2026-12-07 21:00:00+00\")"
    );

    chat.tap("Marcar una cita").await;
    chat.tap("11:00 Ana").await;
    let marked = chat.tap("No vino").await;
    assert_eq!(
        text(&marked[0]),
        "Listo: marqué como «no vino» la cita 11:00 Ana."
    );
    assert_eq!(appointments(&fleet).await[0].2, "no_show");
    let nothing = chat.tap("Marcar una cita").await;
    starts_with(&nothing[0], "No hay citas de hoy por marcar.");
}

#[tokio::test]
async fn a_time_taken_meanwhile_gets_a_clear_message_and_fresh_times() {
    let fleet = guided_fleet().await;
    // One barber only, so a booking takes the time for everyone.
    fleet
        .shop
        .execute(
            "UPDATE staff SET active = false WHERE id = $1",
            &[&fleet.shop.owner],
        )
        .await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    chat.say("hola").await;
    chat.tap("Agendar cita").await;
    chat.tap("Corte de cabello").await;
    let times = chat.tap("Martes 8 dic").await;
    assert!(titles(&times[0]).contains(&"10:15".to_string()));
    // Someone else books 10:15 with the only barber before the tap…
    let mut other = Chat::new(&fleet, OTHER_WA);
    other.book_haircut_on_tuesday_at("10:15").await;
    let again = chat.tap("10:15").await;
    starts_with(&again[0], "Ese horario se acaba de ocupar");
    let fresh = titles(&again[0]);
    assert!(!fresh.contains(&"10:15".to_string()), "{fresh:?}");
    assert_eq!(fresh[0], "11:00");
    // …and 11:00 while this customer looks at the summary.
    chat.tap("11:00").await;
    other.book_haircut_on_tuesday_at("11:00").await;
    let taken = chat.tap("Confirmar").await;
    starts_with(&taken[0], "Ese horario se acaba de ocupar");
    assert!(!titles(&taken[0]).contains(&"11:00".to_string()));
    // A tap on the older list is stale, not acted on.
    let old_id = options(&times[0])
        .into_iter()
        .find(|(_, t)| t == "11:30")
        .unwrap()
        .0;
    let wamid = fleet.tap(CUSTOMER_WA, "list_reply", &old_id, "11:30").await;
    let stale = chat.replies_to(&wamid).await;
    starts_with(&stale[0], "Esa opción ya no está vigente");
    assert_eq!(appointments(&fleet).await.len(), 2);
}

#[tokio::test]
async fn the_flow_survives_a_worker_restart_between_two_taps() {
    let mut fleet = guided_fleet().await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    chat.say("hola").await;
    chat.tap("Agendar cita").await;
    chat.tap("Tinte").await;
    let (kind, id, title) = chat.option("Martes 8 dic");
    let seen = chat.seen;
    fleet.stop("conversation").await;
    fleet.start_conversation("conversation").await;
    let wamid = fleet.tap(CUSTOMER_WA, kind, &id, &title).await;
    let mut chat = Chat {
        fleet: &fleet,
        who: CUSTOMER_WA,
        seen,
    };
    let times = chat.replies_to(&wamid).await;
    starts_with(&times[0], "Tinte, martes 8 de diciembre");
}

#[tokio::test]
async fn long_lists_page_fourteen_services_and_thirty_times() {
    let fleet = guided_fleet().await;
    let mut names: Vec<String> = (1..=10).map(|i| format!("Especial {i:02}")).collect();
    names.push("Tratamiento capilar completo con masaje".into());
    for name in &names {
        fleet
            .shop
            .execute(
                "INSERT INTO service_types (organization_id, name, duration_minutes, price_minor, currency)
                 VALUES ($1, $2, 30, 10000, 'MXN')",
                &[&fleet.shop.org, name],
            )
            .await;
    }
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    chat.say("hola").await;
    let first = chat.tap("Agendar cita").await;
    let page1 = titles(&first[0]);
    assert_eq!(page1.len(), 10);
    assert_eq!(page1[9], "Más servicios");
    let second = chat.tap("Más servicios").await;
    let page2 = titles(&second[0]);
    assert_eq!(page2.len(), 5);
    let mut all: Vec<String> = page1[..9].iter().chain(&page2).cloned().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 14, "{all:?}");
    assert!(
        all.iter().any(|t| t == "Tratamiento capilar com…"),
        "{all:?}"
    );

    // A day with 10:00–19:00 free for 45 minutes: 10:00 to 18:15 every 15 minutes.
    chat.tap("Tinte").await;
    chat.say("menu").await;
    chat.tap("Agendar cita").await;
    chat.tap("Corte").await;
    let mut page = chat.tap("Martes 8 dic").await;
    let mut seen: Vec<String> = Vec::new();
    loop {
        let rows = titles(&page[0]);
        seen.extend(rows.iter().filter(|t| t.contains(':')).cloned());
        if !rows.contains(&"Más tarde".to_string()) {
            break;
        }
        page = chat.tap("Más tarde").await;
    }
    assert_eq!(seen.len(), 34, "{seen:?}");
    assert_eq!(seen.first().unwrap(), "10:00");
    assert_eq!(seen.last().unwrap(), "18:15");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
    let back = chat.tap("Más temprano").await;
    assert_eq!(titles(&back[0])[1], "15:15");
}

#[tokio::test]
async fn releasing_a_conversation_from_the_menu_is_for_those_allowed() {
    let fleet = guided_fleet().await;
    let conversation = fleet.shop.handed_off_conversation(CUSTOMER_WA, "Ana").await;
    let status = || fleet.shop.conversation_status(conversation);

    let mut barber = Chat::new(&fleet, BARBER_WA);
    barber.say("hola").await;
    barber.tap("Liberar conversación").await;
    let refused = barber.tap("Ana").await;
    assert_eq!(text(&refused[0]), "No se pudo: eso no te corresponde.");
    assert_eq!(status().await, "handed_off");

    let mut owner = Chat::new(&fleet, OWNER_WA);
    owner.say("hola").await;
    let which = owner.tap("Liberar conversación").await;
    assert_eq!(titles(&which[0]), ["Ana"]);
    let done = owner.tap("Ana").await;
    assert_eq!(
        text(&done[0]),
        "Listo: el asistente vuelve a atender a Ana."
    );
    assert_eq!(status().await, "active");
    let audited: i64 = fleet
        .shop
        .scalar(
            "SELECT count(*) FROM audit_log WHERE entity_id = $1 AND action = 'release'",
            &[&conversation],
        )
        .await;
    assert_eq!(audited, 1);
}
