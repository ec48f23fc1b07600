//! The owner runs the business by chat with the assistant: closures and holidays, each
//! member's hours and permissions, settings, what customers are told, who does a service.
//! Every change shows in the next answer that depends on it; staff are refused.

mod common;

use cita_shared::testing::ModelReply;
use common::{BARBER_WA, OWNER_WA, fleet::Fleet};
use serde_json::{Value, json};

fn content(result: &Value) -> Value {
    assert!(result.get("is_error").is_none(), "{result}");
    serde_json::from_str(result["content"].as_str().unwrap()).unwrap()
}

fn refused(result: &Value) -> bool {
    result["is_error"] == true && result["content"].as_str().unwrap().starts_with("forbidden")
}

#[tokio::test]
async fn the_owner_closes_a_week_and_opens_it_again() {
    let fleet = Fleet::start().await;
    let week =
        json!({"service_id": fleet.shop.corte, "date_from": "2026-12-14", "date_to": "2026-12-20"});
    fleet.model.script([
        ModelReply::tool(
            "add_closure",
            json!({"kind": "closure", "date_from": "2026-12-14", "date_to": "2026-12-20", "reason": "vacaciones"}),
        ),
        ModelReply::tool("check_availability", week.clone()),
        ModelReply::tool("list_time_off", json!({"date_from": "2026-12-01", "date_to": "2026-12-31"})),
        ModelReply::text("Cerrado del 14 al 20."),
    ]);
    fleet
        .say(OWNER_WA, "Cerramos del 14 al 20 de diciembre")
        .await;
    fleet.texts_to(OWNER_WA, 1).await;
    let closed = content(&fleet.tool_results(1)[0]);
    assert_eq!(closed["closed"]["who"], "todo el negocio");
    assert_eq!(closed["closed"]["date_to"], "2026-12-20");
    assert_eq!(content(&fleet.tool_results(2)[0])["slots"], json!([]));
    let listed = content(&fleet.tool_results(3)[0]);
    let entries = listed["time_off"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{listed}");
    assert_eq!(entries[0]["start_time"], "2026-12-14T00:00-06:00");
    assert_eq!(entries[0]["end_time"], "2026-12-21T00:00-06:00");
    let id = entries[0]["time_off_id"].clone();
    assert_eq!(id, closed["closed"]["time_off_id"]);

    fleet.model.script([
        ModelReply::tool("remove_time_off", json!({"time_off_id": id})),
        ModelReply::tool("check_availability", week),
        ModelReply::text("Abierto otra vez."),
    ]);
    fleet.say(OWNER_WA, "Siempre no, abrimos esa semana").await;
    fleet.texts_to(OWNER_WA, 2).await;
    assert_eq!(
        content(&fleet.tool_results(5)[0])["removed"]["time_off_id"],
        id
    );
    let open = content(&fleet.tool_results(6)[0]);
    assert!(!open["slots"].as_array().unwrap().is_empty(), "{open}");
}

#[tokio::test]
async fn a_barber_takes_days_off_but_cannot_close_the_business_or_change_settings() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tools(
            None,
            vec![
                ("add_closure", json!({"kind": "time_off", "date_from": "2026-12-10"})),
                ("add_closure", json!({"kind": "closure", "date_from": "2026-12-11"})),
                ("update_settings", json!({"review_requests": true})),
                ("set_staff_hours", json!({"staff_id": fleet.shop.barber, "days": [{"weekday": "lunes", "intervals": []}]})),
            ],
        ),
        ModelReply::tool(
            "check_availability",
            json!({"service_id": fleet.shop.corte, "date_from": "2026-12-10", "staff_id": fleet.shop.barber}),
        ),
        ModelReply::text("Listo."),
    ]);
    fleet
        .say(BARBER_WA, "El jueves 10 no vengo; y cierra el viernes")
        .await;
    fleet.texts_to(BARBER_WA, 1).await;
    let results = fleet.tool_results(1);
    assert_eq!(content(&results[0])["closed"]["kind"], "time_off");
    assert!(refused(&results[1]), "{}", results[1]);
    assert!(refused(&results[2]), "{}", results[2]);
    assert!(refused(&results[3]), "{}", results[3]);
    assert_eq!(content(&fleet.tool_results(2)[0])["slots"], json!([]));
    let business_closures: i64 = fleet
        .shop
        .scalar(
            "SELECT count(*) FROM availability_exceptions WHERE staff_id IS NULL",
            &[],
        )
        .await;
    assert_eq!(business_closures, 0);
}

#[tokio::test]
async fn the_owner_gives_the_barber_mondays_off_and_lets_him_see_everyones_agenda() {
    let fleet = Fleet::start().await;
    let barber = fleet.shop.barber;
    fleet.model.script([
        ModelReply::tools(
            None,
            vec![
                ("set_staff_hours", json!({"staff_id": barber, "days": [{"weekday": "lunes", "intervals": []}]})),
                ("set_staff_permissions", json!({"staff_id": barber, "permissions": ["view_business_schedule"]})),
                ("check_availability", json!({"service_id": fleet.shop.corte, "date_from": "2026-12-14", "staff_id": barber})),
                ("check_availability", json!({"service_id": fleet.shop.corte, "date_from": "2026-12-15", "staff_id": barber})),
            ],
        ),
        ModelReply::text("Hecho."),
    ]);
    fleet
        .say(
            OWNER_WA,
            "Luis descansa los lunes, y que pueda ver la agenda de todos",
        )
        .await;
    fleet.texts_to(OWNER_WA, 1).await;
    let results = fleet.tool_results(1);
    let hours = content(&results[0]);
    let week = hours["working_hours"].as_array().unwrap();
    assert_eq!(week[0], json!({"weekday": "lunes", "hours": "cerrado"}));
    // The other days stay as they were.
    assert_eq!(week[1]["weekday"], "martes");
    assert_ne!(week[1]["hours"], "cerrado");
    assert_eq!(
        content(&results[1])["permissions"],
        json!(["view_business_schedule"])
    );
    assert_eq!(content(&results[2])["slots"], json!([]));
    assert!(!content(&results[3])["slots"].as_array().unwrap().is_empty());

    fleet.model.script([
        ModelReply::tool("get_business_schedule", json!({})),
        ModelReply::text("Ok."),
    ]);
    fleet.say(BARBER_WA, "¿Qué hay hoy en todo el local?").await;
    fleet.texts_to(BARBER_WA, 1).await;
    assert!(fleet.tool_results(3)[0].get("is_error").is_none());
}

#[tokio::test]
async fn the_owner_changes_settings_and_what_customers_are_told() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tools(
            None,
            vec![
                ("update_settings", json!({"reminder_offsets_minutes": [1440, 120], "review_requests": true,
                                           "review_link": "https://g.page/r/barberia", "change_cutoff_minutes": 240})),
                ("update_business_info", json!({"address": "Av. Juárez 10, Centro", "directions": "frente al parque",
                                                "payment_methods": ["efectivo", "transferencia"],
                                                "add_faq": {"question": "¿Tienen estacionamiento?", "answer": "Sí, en la esquina."}})),
                ("update_settings", json!({})),
            ],
        ),
        ModelReply::text("Listo."),
    ]);
    fleet
        .say(
            OWNER_WA,
            "Recordatorios un día y dos horas antes, pide reseñas, y pon la dirección",
        )
        .await;
    fleet.texts_to(OWNER_WA, 1).await;
    let results = fleet.tool_results(1);
    let settings = content(&results[0])["settings"].clone();
    assert_eq!(settings["reminder_offsets_minutes"], json!([1440, 120]));
    assert_eq!(settings["review_requests"], true);
    assert_eq!(settings["review_request_after_minutes"], 120);
    assert_eq!(settings["change_cutoff_minutes"], 240);
    // What was not named stays.
    assert_eq!(settings["assistant_mode"], "ai_with_guided_fallback");
    let info = content(&results[1])["business"].clone();
    assert_eq!(info["locations"][0]["address"], "Av. Juárez 10, Centro");
    assert_eq!(info["faq"][0]["answer"], "Sí, en la esquina.");
    assert!(
        results[2]["content"]
            .as_str()
            .unwrap()
            .starts_with("invalid_arguments")
    );
    let link: String = fleet
        .shop
        .scalar("SELECT review_link FROM organizations", &[])
        .await;
    assert_eq!(link, "https://g.page/r/barberia");

    // A customer's next conversation carries the new facts.
    fleet
        .model
        .script([ModelReply::text("Estamos en Av. Juárez 10.")]);
    fleet.say(common::CUSTOMER_WA, "¿Dónde están?").await;
    fleet.texts_to(common::CUSTOMER_WA, 1).await;
    let requests = fleet.model.requests();
    let system = requests.last().unwrap()["system"].to_string();
    assert!(system.contains("Av. Juárez 10, Centro"), "{system}");
    assert!(system.contains("¿Tienen estacionamiento?"));
    assert!(system.contains("transferencia"));
}

#[tokio::test]
async fn the_owner_says_who_does_a_service_its_buffer_and_its_cutoff() {
    let fleet = Fleet::start().await;
    fleet.model.script([
        ModelReply::tools(
            None,
            vec![
                ("upsert_service", json!({"service_id": fleet.shop.tinte, "staff_ids": [fleet.shop.owner], "buffer_minutes": 15, "change_cutoff_minutes": 1440})),
                ("check_availability", json!({"service_id": fleet.shop.tinte, "date_from": "2026-12-08", "staff_id": fleet.shop.barber})),
                ("upsert_service", json!({"service_id": fleet.shop.tinte, "staff_ids": ["00000000-0000-0000-0000-000000000000"]})),
            ],
        ),
        ModelReply::text("Hecho."),
    ]);
    fleet
        .say(
            OWNER_WA,
            "El tinte solo lo hago yo, con 15 minutos de limpieza",
        )
        .await;
    fleet.texts_to(OWNER_WA, 1).await;
    let results = fleet.tool_results(1);
    let service = content(&results[0])["service"].clone();
    assert_eq!(service["buffer_minutes"], 15);
    assert_eq!(service["change_cutoff_minutes"], 1440);
    assert_eq!(service["staff"].as_array().unwrap().len(), 1);
    assert_eq!(content(&results[1])["slots"], json!([]));
    assert!(
        results[2]["content"]
            .as_str()
            .unwrap()
            .starts_with("invalid_arguments")
    );
    let performers: i64 = fleet
        .shop
        .scalar(
            "SELECT count(*) FROM staff_services WHERE service_type_id = $1",
            &[&fleet.shop.tinte],
        )
        .await;
    assert_eq!(performers, 1);
    let cutoff: Option<i32> = fleet
        .shop
        .scalar(
            "SELECT change_cutoff_minutes FROM service_types WHERE id = $1",
            &[&fleet.shop.tinte],
        )
        .await;
    assert_eq!(cutoff, Some(1440));
}

#[tokio::test]
async fn a_customer_moving_her_appointment_is_offered_times_that_overlap_only_it() {
    let fleet = Fleet::start().await;
    let (_, appointment) = fleet
        .shop
        .customer_with_appointment(common::CUSTOMER_WA, "Ana", "2026-12-08T17:00:00Z")
        .await;
    let ask = |moving: Option<uuid::Uuid>| {
        let mut input = json!({"service_id": fleet.shop.corte, "date_from": "2026-12-08", "staff_id": fleet.shop.barber});
        if let Some(id) = moving {
            input["appointment_id"] = json!(id);
        }
        ModelReply::tool("check_availability", input)
    };
    fleet.model.script([
        ask(None),
        ask(Some(appointment)),
        ModelReply::text("¿A las 11:15?"),
    ]);
    fleet
        .say(
            common::CUSTOMER_WA,
            "¿Puedo mover mi cita un poco más tarde?",
        )
        .await;
    fleet.texts_to(common::CUSTOMER_WA, 1).await;
    let times = |n: usize| -> Vec<String> {
        content(&fleet.tool_results(n)[0])["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["start_time"].as_str().unwrap().to_owned())
            .collect()
    };
    // 11:15 local overlaps her 11:00 appointment: offered only for moving it.
    assert!(
        !times(1).contains(&"2026-12-08T11:15-06:00".to_owned()),
        "{:?}",
        times(1)
    );
    assert!(
        times(2).contains(&"2026-12-08T11:15-06:00".to_owned()),
        "{:?}",
        times(2)
    );
}
