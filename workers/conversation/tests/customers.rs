//! Scripted conversations with customers, in Spanish, through the whole path: webhook →
//! intake → turn → fake model → tools → scheduling → reply → outbound → fake Graph API.

mod common;

use cita_shared::testing::ModelReply;
use common::{CUSTOMER_WA, fleet::Fleet};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn a_customer_books_a_haircut_in_two_messages() {
    let fleet = Fleet::start().await;
    let shop = &fleet.shop;
    fleet.model.script([
        ModelReply::tool(
            "check_availability",
            json!({"service_id": shop.corte, "date_from": "2026-12-08"}),
        ),
        ModelReply::text("¡Claro! Mañana martes tengo 16:00 o 16:45. ¿Cuál prefieres y a nombre de quién?"),
        ModelReply::tool(
            "book_appointment",
            json!({"service_id": shop.corte, "start_time": "2026-12-08T16:00", "customer_name": "Ana Martínez"}),
        ),
        ModelReply::text("Listo, Ana: corte el martes 8 a las 16:00. ¡Te esperamos!"),
    ]);

    fleet
        .say(CUSTOMER_WA, "Hola, quiero un corte mañana en la tarde")
        .await;
    let first = fleet.texts_to(CUSTOMER_WA, 1).await;
    assert_eq!(
        first[0],
        "¡Claro! Mañana martes tengo 16:00 o 16:45. ¿Cuál prefieres y a nombre de quién?"
    );
    fleet.settled().await;
    fleet
        .say(CUSTOMER_WA, "A las 4 porfa, soy Ana Martínez")
        .await;
    let replies = fleet.texts_to(CUSTOMER_WA, 2).await;
    assert_eq!(
        replies[1],
        "Listo, Ana: corte el martes 8 a las 16:00. ¡Te esperamos!"
    );

    // The slots the model offered came from scheduling, in local time.
    let offered = fleet.tool_results(1);
    let slots = offered[0]["content"].as_str().unwrap();
    assert!(slots.contains("2026-12-08T16:00-06:00"), "{slots}");
    assert!(offered[0].get("is_error").is_none());

    let client = shop.db.pool.get().await.unwrap();
    let booked = client
        .query_one(
            "SELECT a.starts_at = '2026-12-08T22:00:00Z', a.source, a.status, c.name, c.name_confirmed
             FROM appointments a JOIN customers c ON c.id = a.customer_id",
            &[],
        )
        .await
        .unwrap();
    assert!(booked.get::<_, bool>(0), "booked at 16:00 Mexico City");
    assert_eq!(booked.get::<_, &str>(1), "whatsapp");
    assert_eq!(booked.get::<_, &str>(2), "confirmed");
    assert_eq!(booked.get::<_, &str>(3), "Ana Martínez");
    assert!(
        booked.get::<_, bool>(4),
        "the name the customer gave is kept"
    );
    let answered: Vec<String> = client
        .query(
            "SELECT handled_as FROM messages WHERE direction = 'inbound' ORDER BY created_at",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(answered, ["ai", "ai"]);
    let (calls, cost): (i64, i64) = {
        let row = client
            .query_one("SELECT count(*), sum(cost_micro_usd)::bigint FROM ai_usage WHERE organization_id = $1", &[&shop.org])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(calls, 4, "every model call's usage is stored");
    // The fake bills 1000 input, 50 output and 2000 cache-read tokens per call.
    assert_eq!(cost, 4 * (1000 * 2 + 50 * 10 + 2000 / 10));

    // Each inbound message was marked read with the typing indicator before the model ran.
    let receipts = fleet.read_receipts();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0].body["typing_indicator"]["type"], "text");

    // What the model was sent: the static system block is identical across calls (the
    // cache hits), dates and names come after the breakpoint, and no phone leaks.
    let requests = fleet.model.requests();
    assert_eq!(requests.len(), 4);
    let statics: Vec<&serde_json::Value> = requests.iter().map(|r| &r["system"][0]).collect();
    assert!(statics.windows(2).all(|w| w[0] == w[1]));
    assert!(statics[0]["cache_control"].is_object());
    let stable = statics[0]["text"].as_str().unwrap();
    assert!(stable.contains("Corte de cabello — 45 min — $250 MXN"));
    assert!(
        !stable.contains("2026-12-07") && !stable.contains("diciembre"),
        "no date inside the cached prefix"
    );
    assert!(
        requests[0]["system"][1]["text"]
            .as_str()
            .unwrap()
            .contains("lunes 7 de diciembre")
    );
    let user_id = requests[0]["metadata"]["user_id"].as_str().unwrap();
    assert!(!user_id.contains("5512345678"));
    // The second turn carries the first turn's exchange, tool calls included.
    let second_turn = requests[2]["messages"].as_array().unwrap();
    assert_eq!(second_turn.len(), 5, "{second_turn:#?}");
    assert_eq!(second_turn[1]["content"][0]["type"], "tool_use");
    let _ = Uuid::nil();
}
