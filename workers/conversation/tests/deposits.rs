//! A booking that waits for a deposit is told so in the chat, in guided mode and by the
//! assistant: the time is kept, and the payment link comes next (not the owner's
//! approval). The clock is Monday 2026-12-07 09:00 in Mexico City.

#[path = "guided/chat.rs"]
mod chat;
mod common;

use chat::*;
use cita_shared::testing::ModelReply;
use common::{CUSTOMER_WA, fleet::Fleet};
use serde_json::json;

async fn ask_for_deposits(fleet: &Fleet) {
    fleet
        .shop
        .execute(
            "UPDATE organizations SET deposit_kind = 'fixed', deposit_value = 10000, hold_minutes = 120
             WHERE id = $1",
            &[&fleet.shop.org],
        )
        .await;
}

#[tokio::test]
async fn a_guided_customer_is_told_the_deposit_keeps_the_time_until_paid() {
    let fleet = guided_fleet().await;
    ask_for_deposits(&fleet).await;
    let mut chat = Chat::new(&fleet, CUSTOMER_WA);
    chat.say("menu").await;
    chat.tap("Agendar cita").await;
    chat.tap("Corte de cabello").await;
    chat.tap("Martes 8 dic").await;
    chat.tap("10:15").await;
    chat.tap("Me da igual").await;
    let held = chat.tap("Confirmar").await;
    let said = text(&held[0]);
    assert!(
        said.starts_with("Te apartamos Corte de cabello el martes 8 de diciembre, 10:15")
            && said.contains(
                "Se confirma al pagar un anticipo de $100 MXN antes del lunes 7 de diciembre, 11:00"
            ),
        "{said}"
    );
    assert!(!said.contains("Falta que el negocio"), "{said}");
}

#[tokio::test]
async fn the_assistant_learns_the_deposit_due_with_the_booking() {
    let fleet = Fleet::start().await;
    ask_for_deposits(&fleet).await;
    fleet.model.script([
        ModelReply::tool(
            "book_appointment",
            json!({"service_id": fleet.shop.corte, "start_time": "2026-12-08T16:00", "customer_name": "Ana"}),
        ),
        ModelReply::text("Te aparté el martes a las 16:00; te llega el enlace del anticipo."),
    ]);
    fleet
        .say(CUSTOMER_WA, "Corte mañana a las 4, soy Ana")
        .await;
    fleet.texts_to(CUSTOMER_WA, 1).await;
    let booked = fleet.tool_results(1)[0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(booked.contains("\"deposit_due\":\"$100 MXN\""), "{booked}");
    assert!(booked.contains("\"status\":\"pending\""), "{booked}");
}

#[tokio::test]
async fn the_owner_asks_for_a_deposit_by_chat_once_mercado_pago_is_connected() {
    let fleet = Fleet::start().await;
    let deposit = json!({"deposit": {"kind": "fixed", "amount": 150}});
    fleet.model.script([
        ModelReply::tools(
            None,
            vec![
                ("update_settings", deposit.clone()),
                (
                    "update_settings",
                    json!({"deposit": {"kind": "percent", "percent": 300}}),
                ),
            ],
        ),
        ModelReply::text("Primero hay que conectar Mercado Pago."),
    ]);
    fleet
        .say(common::OWNER_WA, "Pide 150 pesos de anticipo")
        .await;
    fleet.texts_to(common::OWNER_WA, 1).await;
    let refused = fleet.tool_results(1);
    let said = |i: usize| refused[i]["content"].as_str().unwrap().to_owned();
    assert!(
        said(0).starts_with("invalid_request") && said(0).contains("Mercado Pago"),
        "scheduling refuses without an account: {}",
        said(0)
    );
    assert!(said(1).starts_with("invalid_arguments"), "{}", said(1));

    fleet
        .shop
        .execute(
            "INSERT INTO payment_accounts (organization_id, provider_user_id, token_ciphertext, token_key_id)
             VALUES ($1, '2025436155', '\\x00', 't1')",
            &[&fleet.shop.org],
        )
        .await;
    fleet.model.script([
        ModelReply::tool("update_settings", deposit),
        ModelReply::text("Listo: $150 de anticipo."),
    ]);
    fleet
        .say(common::OWNER_WA, "Ya conecté Mercado Pago, pide los 150")
        .await;
    fleet.texts_to(common::OWNER_WA, 2).await;
    let saved = fleet.tool_results(3);
    let settings: serde_json::Value =
        serde_json::from_str(saved[0]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        settings["settings"]["deposit"],
        json!({"kind": "fixed", "amount_minor": 15000})
    );
}
