//! The business in guided mode (no AI). The owner runs it: services and prices, the
//! team, a day's hours, closures, settings and the month's figures; typed values are read
//! back and changed only on "Confirmar", and every change shows in what the next screen
//! or the next customer is offered. Customers read what the owner wrote: the frequent
//! questions, the payment methods. The clock is Monday 2026-12-07 09:00 in Mexico City.

#[path = "guided/chat.rs"]
mod chat;
mod common;

use chat::*;
use common::{BARBER_WA, CUSTOMER_WA, OWNER_WA};

async fn manage(chat: &mut Chat<'_>) {
    chat.say("menu").await;
    let menu = chat.tap("Administrar").await;
    assert_eq!(
        titles(&menu[0]),
        [
            "Servicios y precios",
            "Equipo",
            "Horario",
            "Cierres y festivos",
            "Ajustes",
            "Cifras del mes",
            "Volver"
        ]
    );
}

#[tokio::test]
async fn the_owner_reprices_a_service_after_reading_it_back_and_adds_a_new_one() {
    let fleet = guided_fleet().await;
    let mut owner = Chat::new(&fleet, OWNER_WA);
    manage(&mut owner).await;
    owner.tap("Servicios y precios").await;
    owner.tap("Corte de cabello").await;
    let asked = owner.tap("Precio").await;
    starts_with(&asked[0], "Nuevo precio de Corte de cabello");
    // Not a price: asked again, nothing changes.
    let again = owner.say("barato").await;
    starts_with(&again[0], "Ese precio no se entiende.");
    let read_back = owner.say("$280").await;
    assert!(
        text(&read_back[0]).contains("¿El precio de Corte de cabello queda en $280"),
        "{:#}",
        read_back[0]
    );
    let before: i64 = fleet
        .shop
        .scalar(
            "SELECT price_minor FROM service_types WHERE id = $1",
            &[&fleet.shop.corte],
        )
        .await;
    assert_eq!(before, 25_000, "nothing changes before the yes");
    let done = owner.tap("Confirmar").await;
    starts_with(&done[0], "Listo: Corte de cabello, 45 minutos, $280");
    let after: i64 = fleet
        .shop
        .scalar(
            "SELECT price_minor FROM service_types WHERE id = $1",
            &[&fleet.shop.corte],
        )
        .await;
    assert_eq!(after, 28_000);

    // A new service: name, length, price, yes.
    owner.tap("Servicios y precios").await;
    owner.tap("Nuevo servicio").await;
    owner.say("Corte y barba").await;
    let length = owner.say("una hora").await;
    starts_with(&length[0], "La duración va de 5 a 720 minutos.");
    owner.say("60").await;
    let read_back = owner.say("350").await;
    assert!(
        text(&read_back[0]).starts_with("¿Agrego el servicio «Corte y barba», 1 hora, $350"),
        "{:#}",
        read_back[0]
    );
    owner.tap("Confirmar").await;
    // Customers are offered it right away.
    let mut customer = Chat::new(&fleet, CUSTOMER_WA);
    customer.say("hola").await;
    let services = customer.tap("Agendar cita").await;
    assert!(
        titles(services.last().unwrap()).contains(&"Corte y barba".to_owned()),
        "{:#}",
        services.last().unwrap()
    );
}

#[tokio::test]
async fn the_owner_closes_the_twelfth_and_customers_see_no_times_that_day() {
    let fleet = guided_fleet().await;
    let mut owner = Chat::new(&fleet, OWNER_WA);
    manage(&mut owner).await;
    let closures = owner.tap("Cierres y festivos").await;
    starts_with(&closures[0], "No hay cierres próximos.");
    owner.tap("Cerrar días").await;
    let read_back = owner.say("del 8 al 9 de diciembre").await;
    starts_with(
        &read_back[0],
        "¿Se cierra el negocio del martes 8 de diciembre al miércoles 9 de diciembre?",
    );
    let done = owner.tap("Confirmar").await;
    starts_with(
        &done[0],
        "Listo: del martes 8 de diciembre al miércoles 9 de diciembre no se reservan citas.",
    );
    let mut customer = Chat::new(&fleet, CUSTOMER_WA);
    customer.say("hola").await;
    customer.tap("Agendar cita").await;
    let days = customer.tap("Corte de cabello").await;
    let offered = titles(days.last().unwrap());
    assert!(
        !offered
            .iter()
            .any(|d| d.starts_with("Martes 8") || d.starts_with("Miércoles 9")),
        "{offered:?}"
    );
    assert!(
        offered.iter().any(|d| d.starts_with("Jueves 10")),
        "{offered:?}"
    );

    // Taken away again: the closure is listed, and removing it frees the days.
    owner.tap("Cierres y festivos").await;
    let confirm = owner.tap("8 dic – 9 dic").await;
    starts_with(&confirm[0], "¿Quito el cierre 8 dic – 9 dic?");
    owner.tap("Confirmar").await;
    let left: i64 = fleet
        .shop
        .scalar("SELECT count(*) FROM availability_exceptions", &[])
        .await;
    assert_eq!(left, 0);
}

#[tokio::test]
async fn the_owner_sets_a_split_shift_adds_a_barber_and_changes_settings() {
    let fleet = guided_fleet().await;
    let mut owner = Chat::new(&fleet, OWNER_WA);
    manage(&mut owner).await;
    owner.tap("Horario").await;
    owner.tap("Sábado").await;
    let read_back = owner.say("10 a 14 y 16 a 20").await;
    starts_with(
        &read_back[0],
        "¿El sábado queda de 10:00 a 14:00 y de 16:00 a 20:00?",
    );
    owner.tap("Confirmar").await;
    let saturday: String = fleet
        .shop
        .scalar("SELECT string_agg(opens_at || '-' || closes_at, ',' ORDER BY opens_at) FROM business_hours WHERE weekday = 6", &[])
        .await;
    assert_eq!(saturday, "10:00:00-14:00:00,16:00:00-20:00:00");

    owner.tap("Equipo").await;
    owner.tap("Agregar persona").await;
    owner.say("Carla").await;
    let read_back = owner.say("55 4444 3333").await;
    starts_with(&read_back[0], "¿Agrego a Carla (+525544443333) al equipo?");
    let done = owner.tap("Confirmar").await;
    starts_with(&done[0], "Listo: Carla ya está en el equipo");
    let carla: i64 = fleet
        .shop
        .scalar(
            "SELECT count(*) FROM staff WHERE name = 'Carla' AND active",
            &[],
        )
        .await;
    assert_eq!(carla, 1);

    owner.tap("Ajustes").await;
    owner.tap("Recordatorios").await;
    let done = owner.tap("1 día y 2 horas antes").await;
    starts_with(&done[0], "Listo. Recordatorios: 1 día y 2 horas antes.");
    owner.tap("Ajustes").await;
    owner.tap("Reseñas").await;
    owner.tap("Cambiar enlace").await;
    owner.say("https://g.page/r/el-centro").await;
    owner.tap("Confirmar").await;
    owner.tap("Ajustes").await;
    owner.tap("Reseñas").await;
    let done = owner.tap("Activar").await;
    assert!(
        text(&done[0]).contains("Reseñas: activadas, con el enlace https://g.page/r/el-centro"),
        "{:#}",
        done[0]
    );
    let (offsets, review_after): (Vec<i32>, Option<i32>) = {
        let client = fleet.shop.db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT reminder_offsets_minutes, review_request_after_minutes FROM organizations",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((offsets, review_after), (vec![1440, 120], Some(120)));

    let figures = owner.tap("Cifras del mes").await;
    starts_with(&figures[0], "Diciembre hasta hoy: 0 citas");
}

#[tokio::test]
async fn staff_have_no_owner_menu_and_its_ids_do_nothing_for_them() {
    let fleet = guided_fleet().await;
    let mut barber = Chat::new(&fleet, BARBER_WA);
    let menu = barber.say("menu").await;
    assert!(
        !titles(&menu[0]).contains(&"Administrar".to_owned()),
        "{:#}",
        menu[0]
    );
    // A forged tap on the owner's menu id is not a screen for them.
    let wamid = fleet
        .tap(BARBER_WA, "list_reply", "s:manage", "Administrar")
        .await;
    let replies = barber.replies_to(&wamid).await;
    assert!(!titles(replies.last().unwrap()).contains(&"Equipo".to_owned()));
}

#[tokio::test]
async fn a_customer_with_a_question_picks_it_and_reads_the_owners_answer() {
    let fleet = guided_fleet().await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    // No questions yet: said so, and the menu again.
    let none = chat.say("tengo una pregunta").await;
    starts_with(&none[0], "Aún no hay preguntas frecuentes aquí.");
    for (position, question, answer) in [
        (
            0,
            "¿Tienen estacionamiento?",
            "Sí, en la esquina, gratis con tu cita.",
        ),
        (
            1,
            "¿Atienden a niños menores de diez años?",
            "Sí, con un adulto.",
        ),
    ] {
        fleet
            .shop
            .execute(
                "INSERT INTO faq_entries (organization_id, position, question, answer) VALUES ($1, $2, $3, $4)",
                &[&fleet.shop.org, &position, &question, &answer],
            )
            .await;
    }
    fleet
        .shop
        .execute(
            "UPDATE organizations SET payment_methods = ARRAY['efectivo', 'tarjeta']",
            &[],
        )
        .await;
    let list = chat.say("tengo una duda").await;
    starts_with(&list[0], "¿Cuál es tu pregunta?");
    let rows = &list[0]["interactive"]["action"]["sections"][0]["rows"];
    assert_eq!(rows[0]["title"], "¿Tienen estacionamiento?");
    // Too long for a title: the whole question is the description.
    assert_eq!(
        rows[1]["description"],
        "¿Atienden a niños menores de diez años?"
    );
    let answer = chat.tap("¿Tienen estacionamiento?").await;
    assert_eq!(
        text(&answer[0]),
        "*¿Tienen estacionamiento?*\nSí, en la esquina, gratis con tu cita."
    );
    let info = chat.say("ubicación").await;
    assert!(
        text(&info[0]).contains("Formas de pago: efectivo, tarjeta."),
        "{:#}",
        info[0]
    );
}
