//! Guided mode next to the AI: the model failing mid-conversation, a spent budget,
//! and a turn whose tools already ran.

use std::time::Duration;

use cita_shared::testing::ModelReply;
use serde_json::Value;

use super::chat::*;
use crate::common::{CUSTOMER_WA, fleet::Fleet};

#[tokio::test]
async fn when_the_model_fails_the_customer_books_in_guided_mode_and_returns_to_the_ai_after() {
    let fleet = Fleet::start_with(&[("CITA_AI_COOLDOWN_SECONDS", "1")]).await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    fleet
        .model
        .script([ModelReply::text("¡Hola! ¿Qué servicio te interesa?")]);
    let hello = chat.say("hola").await;
    assert_eq!(text(&hello[0]), "¡Hola! ¿Qué servicio te interesa?");

    fleet.model.respond_with(|_| ModelReply::overloaded());
    let fallback = chat.say("un corte mañana").await;
    let body = text(&fallback[0]);
    assert!(
        body.starts_with("En este momento te atiendo con opciones."),
        "{body}"
    );
    assert_eq!(
        titles(&fallback[0]),
        ["Agendar cita", "Mis citas", "Hablar con alguien"]
    );
    // The model is back meanwhile, but an option picked from the menu (here typed, by
    // its number) and a booking under way stay guided.
    fleet
        .model
        .respond_with(|_| ModelReply::text("respuesta del modelo"));
    fleet.clock.advance(jiff::SignedDuration::from_secs(2));
    let services = chat.say("1").await;
    assert_eq!(titles(&services[0])[1], "Corte de cabello");
    chat.tap("Corte de cabello").await;
    chat.tap("Martes 8 dic").await;
    chat.tap("10:00").await;
    chat.tap("Me da igual").await;
    let done = chat.tap("Confirmar").await;
    starts_with(&done[0], "¡Listo! Quedó tu cita de Corte de cabello");
    assert_eq!(appointments(&fleet).await.len(), 1);

    // At rest, with the model healthy, the next message goes to the AI again.
    let back = chat.say("gracias, ¿tienen estacionamiento?").await;
    assert_eq!(text(&back[0]), "respuesta del modelo");
    let guided: Option<Value> = fleet
        .shop
        .scalar(
            "SELECT guided FROM conversations WHERE wa_id = $1",
            &[&CUSTOMER_WA],
        )
        .await;
    assert_eq!(guided, None);
}

#[tokio::test]
async fn a_spent_budget_answers_in_guided_mode() {
    let fleet = Fleet::start().await;
    fleet
        .shop
        .execute(
            "UPDATE organizations SET ai_daily_budget_micro_usd = 0 WHERE id = $1",
            &[&fleet.shop.org],
        )
        .await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    let menu = chat.say("hola").await;
    starts_with(&menu[0], "En este momento te atiendo con opciones.");
    assert!(fleet.model.requests().is_empty());
}

#[tokio::test]
async fn a_turn_whose_tools_already_ran_is_retried_rather_than_answered_in_guided_mode() {
    let fleet = Fleet::start().await;
    fleet
        .shop
        .customer_with_appointment(CUSTOMER_WA, "Ana", "2026-12-09T17:00:00Z")
        .await;
    fleet.model.script([ModelReply::tool(
        "get_my_appointments",
        serde_json::json!({}),
    )]);
    fleet.model.respond_with(|_| ModelReply::overloaded());
    fleet.say(CUSTOMER_WA, "¿cuándo es mi cita?").await;
    let deadline = std::time::Instant::now() + crate::common::fleet::PATIENCE;
    while fleet.broker.count("conversation.turns.retry.15s").await < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the turn was not retried later"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // At most the outage apology of the AI path; no guided menu.
    let sent = fleet.replies_now(CUSTOMER_WA);
    assert!(sent.iter().all(|m| m["type"] != "interactive"), "{sent:#?}");
    let guided: Option<Value> = fleet
        .shop
        .scalar(
            "SELECT guided FROM conversations WHERE wa_id = $1",
            &[&CUSTOMER_WA],
        )
        .await;
    assert_eq!(guided, None);
}
