//! Staff and the owner manage the day by writing to the same number.

mod common;

use cita_shared::testing::ModelReply;
use common::{BARBER_WA, CUSTOMER_WA, OWNER_WA, fleet::Fleet};
use serde_json::json;

#[tokio::test]
async fn a_barber_asks_for_todays_agenda() {
    let fleet = Fleet::start().await;
    fleet
        .shop
        .customer_with_appointment(CUSTOMER_WA, "Ana López", "2026-12-07T17:00:00Z")
        .await;
    fleet.model.script([
        ModelReply::tool("get_my_schedule", json!({})),
        ModelReply::text("Hoy tienes: 11:00 Corte de cabello con Ana López."),
    ]);
    fleet.say(BARBER_WA, "¿Qué tengo hoy?").await;
    let replies = fleet.texts_to(BARBER_WA, 1).await;
    assert_eq!(
        replies,
        ["Hoy tienes: 11:00 Corte de cabello con Ana López."]
    );
    let agenda = fleet.tool_results(1)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        agenda.contains("Ana López") && agenda.contains("2026-12-07T11:00-06:00"),
        "{agenda}"
    );
    let requests = fleet.model.requests();
    let tools: Vec<&str> = requests[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(tools.contains(&"block_time") && tools.contains(&"get_my_schedule"));
    assert!(
        requests[0]["system"][0]["text"]
            .as_str()
            .unwrap()
            .contains("persona del equipo")
    );
    assert!(
        requests[0]["system"][1]["text"]
            .as_str()
            .unwrap()
            .contains("Luis")
    );
}

#[tokio::test]
async fn a_barber_blocks_lunch() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tool("block_time", json!({"start_time": "2026-12-07T14:00", "end_time": "2026-12-07T15:00", "reason": "comida"})),
        ModelReply::text("Listo, bloqueé de 14:00 a 15:00."),
    ]);
    fleet.say(BARBER_WA, "Bloquéame de 2 a 3 para comer").await;
    fleet.texts_to(BARBER_WA, 1).await;
    let blocked: bool = fleet
        .shop
        .scalar(
            "SELECT during = tstzrange('2026-12-07T20:00:00Z', '2026-12-07T21:00:00Z') AND staff_id = $1 AND kind = 'block'
             FROM availability_exceptions",
            &[&fleet.shop.barber],
        )
        .await;
    assert!(blocked);
}

#[tokio::test]
async fn a_no_show_is_marked_and_the_customer_is_messaged_on_request() {
    let fleet = Fleet::start().await;
    let (_, appointment) = fleet
        .shop
        .customer_with_appointment(CUSTOMER_WA, "Ana", "2026-12-07T14:00:00Z")
        .await;
    // The customer wrote to the business earlier today, so the window is open.
    fleet.model.script([ModelReply::text("¡Te esperamos!")]);
    fleet.say(CUSTOMER_WA, "Voy para allá").await;
    fleet.texts_to(CUSTOMER_WA, 1).await;
    fleet.model.script([
        ModelReply::tool("mark_appointment_status", json!({"appointment_id": appointment, "status": "no_show"})),
        ModelReply::text("Marcada como no-show. ¿Quieres que le escriba a Ana?"),
        ModelReply::tool("send_message_to_customer", json!({"customer_phone": "55 1234 5678", "message": "Hola Ana, te esperamos hoy a las 8. ¿Quieres reagendar?"})),
        ModelReply::text("Listo, le escribí."),
    ]);
    fleet
        .say(BARBER_WA, "Ana no llegó a su cita de las 8")
        .await;
    fleet.texts_to(BARBER_WA, 1).await;
    fleet.settled().await;
    fleet.say(BARBER_WA, "Sí, escríbele").await;
    assert_eq!(fleet.texts_to(BARBER_WA, 2).await[1], "Listo, le escribí.");
    let to_customer = fleet.texts_to(CUSTOMER_WA, 2).await;
    assert_eq!(
        to_customer[1],
        "Hola Ana, te esperamos hoy a las 8. ¿Quieres reagendar?"
    );
    let status: String = fleet
        .shop
        .scalar(
            "SELECT status FROM appointments WHERE id = $1",
            &[&appointment],
        )
        .await;
    assert_eq!(status, "no_show");
}

#[tokio::test]
async fn days_after_a_no_show_the_follow_up_goes_as_its_template_and_the_barber_is_told() {
    let fleet = Fleet::start().await;
    let (customer, appointment) = fleet
        .shop
        .customer_with_appointment(CUSTOMER_WA, "Ana", "2026-12-04T14:00:00Z")
        .await;
    fleet
        .shop
        .execute(
            "UPDATE appointments SET status = 'no_show' WHERE id = $1",
            &[&appointment],
        )
        .await;
    // She last wrote three days ago: the window is closed.
    fleet
        .shop
        .execute(
            "INSERT INTO conversations (organization_id, wa_id, customer_id, last_inbound_at)
             VALUES ($1, $2, $3, now() - interval '3 days')",
            &[&fleet.shop.org, &CUSTOMER_WA, &customer],
        )
        .await;
    fleet.model.script([
        ModelReply::tool("send_message_to_customer", json!({"customer_phone": "55 1234 5678", "message": "Hola Ana, ¿quieres reagendar tu corte?"})),
        ModelReply::text("Ana no ha escrito en 24 horas, así que le envié la plantilla de seguimiento para reagendar."),
    ]);
    fleet
        .say(BARBER_WA, "Escríbele a Ana, la del no-show del viernes")
        .await;
    fleet.texts_to(BARBER_WA, 1).await;
    let result = fleet.tool_results(1)[0].clone();
    let told: serde_json::Value =
        serde_json::from_str(result["content"].as_str().unwrap()).unwrap();
    assert_eq!(told["sent"], "template", "{result}");
    assert_eq!(told["template"], "no_show_follow_up");
    assert!(
        told["note"]
            .as_str()
            .unwrap()
            .contains("la plantilla de seguimiento por no asistir"),
        "{told}"
    );
    let sent = cita_shared::testing::eventually(
        common::fleet::PATIENCE,
        "the follow-up reaches Meta",
        || async {
            let sent = fleet.replies_now(CUSTOMER_WA);
            (!sent.is_empty()).then_some(sent)
        },
    )
    .await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["type"], "template");
    assert_eq!(sent[0]["template"]["name"], "no_show_follow_up");
    assert_eq!(sent[0]["template"]["language"]["code"], "es_MX");
    let parameters = &sent[0]["template"]["components"][0]["parameters"];
    assert_eq!(parameters[0]["text"], "Ana");
    assert_eq!(parameters[1]["text"], "Barbería El Centro");
}

#[tokio::test]
async fn release_conversation_goes_through_scheduling_for_those_allowed() {
    let fleet = Fleet::start().await;
    let conversation = fleet.shop.handed_off_conversation(CUSTOMER_WA, "Ana").await;
    let release = || {
        [
            ModelReply::tool(
                "release_conversation",
                json!({"customer_phone": "55 1234 5678"}),
            ),
            ModelReply::text("Listo."),
        ]
    };
    // A barber without view_business_schedule may not.
    fleet.model.script(release());
    fleet.say(BARBER_WA, "Devuélvele a Ana al asistente").await;
    fleet.texts_to(BARBER_WA, 1).await;
    let refused = fleet.tool_results(1)[0].clone();
    assert_eq!(refused["is_error"], true, "{refused}");
    assert!(
        refused["content"]
            .as_str()
            .unwrap()
            .starts_with("forbidden")
    );
    assert_eq!(
        fleet.shop.conversation_status(conversation).await,
        "handed_off"
    );

    fleet.model.script(release());
    fleet.say(OWNER_WA, "Devuélvele a Ana al asistente").await;
    fleet.texts_to(OWNER_WA, 1).await;
    let released = fleet.tool_results(3)[0].clone();
    assert!(released.get("is_error").is_none(), "{released}");
    assert_eq!(fleet.shop.conversation_status(conversation).await, "active");
    let (channel, action): (String, String) = {
        let client = fleet.shop.db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT channel, action FROM audit_log WHERE entity_id = $1",
                &[&conversation],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((channel.as_str(), action.as_str()), ("whatsapp", "release"));
    let events: i64 = fleet
        .shop
        .scalar(
            "SELECT count(*) FROM outbox WHERE routing_key = 'conversation.changed'",
            &[],
        )
        .await;
    assert_eq!(events, 1);
}

#[tokio::test]
async fn a_walk_in_is_booked_now() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tool("book_walk_in", json!({"service_id": fleet.shop.barba, "customer_name": "Pedro", "customer_phone": "55 8765 4321"})),
        ModelReply::text("Registrado: Pedro, arreglo de barba."),
    ]);
    fleet
        .say(BARBER_WA, "Llegó Pedro para barba, 55 8765 4321")
        .await;
    fleet.texts_to(BARBER_WA, 1).await;
    let client = fleet.shop.db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT a.source, a.staff_id, c.name, c.phone FROM appointments a JOIN customers c ON c.id = a.customer_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "walk_in");
    assert_eq!(
        row.get::<_, uuid::Uuid>(1),
        fleet.shop.barber,
        "the barber who asked takes it"
    );
    assert_eq!(row.get::<_, &str>(2), "Pedro");
    assert_eq!(row.get::<_, &str>(3), "525587654321");
}

#[tokio::test]
async fn an_employee_without_permission_cannot_see_the_whole_business_but_the_owner_can() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tool("get_business_schedule", json!({})),
        ModelReply::text("No tienes permiso para ver toda la agenda."),
    ]);
    fleet
        .say(BARBER_WA, "¿Qué hay hoy en todo el negocio?")
        .await;
    fleet.texts_to(BARBER_WA, 1).await;
    let refused = fleet.tool_results(1)[0].clone();
    assert_eq!(refused["is_error"], true);
    assert!(
        refused["content"]
            .as_str()
            .unwrap()
            .starts_with("forbidden")
    );

    fleet.model.script([
        ModelReply::tool("get_business_schedule", json!({})),
        ModelReply::text("Hoy no hay citas."),
    ]);
    fleet.say(OWNER_WA, "¿Qué hay hoy?").await;
    fleet.texts_to(OWNER_WA, 1).await;
    let allowed = fleet.tool_results(3)[0].clone();
    assert!(allowed.get("is_error").is_none(), "{allowed}");
}

#[tokio::test]
async fn the_owner_adds_a_barber_who_can_then_write_as_staff() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tool(
            "add_staff",
            json!({"name": "Carla", "phone": "55 4444 3333", "service_ids": [fleet.shop.corte]}),
        ),
        ModelReply::text("Listo, Carla ya está en el equipo."),
    ]);
    fleet
        .say(OWNER_WA, "Da de alta a Carla, 55 4444 3333, hace cortes")
        .await;
    assert_eq!(
        fleet.texts_to(OWNER_WA, 1).await,
        ["Listo, Carla ya está en el equipo."]
    );
    let client = fleet.shop.db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT s.phone, s.role, s.active, (SELECT count(*) FROM staff_services x WHERE x.staff_id = s.id),
                    (SELECT count(*) FROM staff_working_hours w WHERE w.staff_id = s.id)
             FROM staff s WHERE s.name = 'Carla'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "525544443333");
    assert_eq!(row.get::<_, &str>(1), "employee");
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, i64>(3), 1, "only cortes");
    assert_eq!(row.get::<_, i64>(4), 6, "the business's six open days");

    // Carla writes from WhatsApp (the 521 form) and is treated as staff.
    fleet
        .model
        .script([ModelReply::text("Hola Carla, ¿en qué te ayudo?")]);
    fleet.say("5215544443333", "Hola, soy Carla").await;
    fleet.texts_to("5215544443333", 1).await;
    let requests = fleet.model.requests();
    let tools: Vec<&str> = requests[2]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"get_my_schedule") && !tools.contains(&"add_staff"),
        "{tools:?}"
    );
}

#[tokio::test]
async fn an_employee_cannot_use_the_owners_tools() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tool(
            "upsert_service",
            json!({"service_id": fleet.shop.corte, "price": 1}),
        ),
        ModelReply::text("No puedo."),
    ]);
    fleet.say(BARBER_WA, "Pon el corte a 1 peso").await;
    fleet.texts_to(BARBER_WA, 1).await;
    let result = fleet.tool_results(1)[0].clone();
    assert!(
        result["content"].as_str().unwrap().starts_with("forbidden"),
        "{result}"
    );
    let price: i64 = fleet
        .shop
        .scalar(
            "SELECT price_minor FROM service_types WHERE id = $1",
            &[&fleet.shop.corte],
        )
        .await;
    assert_eq!(price, 25000);
}

#[tokio::test]
async fn the_owner_changes_saturday_hours_reprices_a_service_and_reads_the_figures() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tools(
            None,
            vec![
                ("set_business_hours", json!({"days": [{"weekday": "sábado", "intervals": [{"opens": "09:00", "closes": "13:00"}]}]})),
                ("upsert_service", json!({"service_id": fleet.shop.corte, "price": 280})),
                ("get_business_figures", json!({"date_from": "2026-12-01", "date_to": "2026-12-07"})),
            ],
        ),
        ModelReply::text("Hecho."),
    ]);
    fleet
        .say(
            OWNER_WA,
            "Sábados de 9 a 1, el corte a 280, y ¿cómo vamos esta semana?",
        )
        .await;
    fleet.texts_to(OWNER_WA, 1).await;
    let results = fleet.tool_results(1);
    for result in &results {
        assert!(result.get("is_error").is_none(), "{result}");
    }
    assert!(
        results[0]["content"]
            .as_str()
            .unwrap()
            .contains("09:00–13:00")
    );
    assert!(results[1]["content"].as_str().unwrap().contains("$280 MXN"));
    assert!(
        results[2]["content"]
            .as_str()
            .unwrap()
            .contains("\"appointments\":0")
    );
    let saturday: String = fleet
        .shop
        .scalar("SELECT string_agg(opens_at || '-' || closes_at, ',') FROM business_hours WHERE weekday = 6", &[])
        .await;
    assert_eq!(saturday, "09:00:00-13:00:00");
    let price: i64 = fleet
        .shop
        .scalar(
            "SELECT price_minor FROM service_types WHERE id = $1",
            &[&fleet.shop.corte],
        )
        .await;
    assert_eq!(price, 28000);
}
