//! Delivery statuses, and the owner's own messages from the WhatsApp Business app.

use super::*;

#[tokio::test]
async fn statuses_move_forward_only_and_one_that_overtakes_its_message_is_applied_later() {
    let shop = Shop::open().await;
    // Outbound writes the message before calling Meta, and its WhatsApp id after.
    let message: Uuid = shop
        .scalar(
            "INSERT INTO messages (organization_id, direction, sender_kind, content_kind, body, status, recipient)
             VALUES ($1, 'outbound', 'ai', 'text', 'Listo', 'pending', $2) RETURNING id",
            &[&shop.org, &CUSTOMER_WA],
        )
        .await;
    let parked = apply(&shop, &status_of("wamid.out1", "delivered", now_seconds())).await;
    assert_eq!(
        parked.items,
        vec![ItemOutcome::Stored(Stored::StatusParked)]
    );
    shop.execute(
        "UPDATE messages SET status = 'sent', wa_message_id = 'wamid.out1' WHERE id = $1",
        &[&message],
    )
    .await;
    let status: String = shop
        .scalar("SELECT status FROM messages WHERE id = $1", &[&message])
        .await;
    assert_eq!(
        status, "delivered",
        "the parked status was applied when the id appeared"
    );
    let left: i64 = shop
        .scalar("SELECT count(*) FROM early_statuses", &[])
        .await;
    assert_eq!(left, 0);

    apply(&shop, &status_of("wamid.out1", "read", now_seconds())).await;
    apply(&shop, &status_of("wamid.out1", "delivered", now_seconds())).await;
    let status: String = shop
        .scalar("SELECT status FROM messages WHERE id = $1", &[&message])
        .await;
    assert_eq!(status, "read", "a late 'delivered' does not undo 'read'");

    let failed = notification(
        "messages",
        json!({"statuses": [{"id": "wamid.out1", "status": "failed", "timestamp": "1",
            "errors": [{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "blocked"}}]}]}),
    );
    apply(&shop, &failed).await;
    let (status, code, title): (String, i32, String) = {
        let client = shop.db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT status, error_code, error_title FROM messages WHERE id = $1",
                &[&message],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!((status.as_str(), code), ("failed", 131026));
    assert_eq!(title, "Message undeliverable: blocked");
}

#[tokio::test]
async fn an_owner_echo_hands_the_conversation_off_and_the_assistant_stays_silent() {
    let shop = Shop::open().await;
    apply(
        &shop,
        &text_from(
            CUSTOMER_WA,
            "Ana",
            "wamid.e1",
            now_seconds(),
            "¿Hacen descuento?",
        ),
    )
    .await;
    let echoed = apply(
        &shop,
        &echo_to(
            CUSTOMER_WA,
            "wamid.echo1",
            now_seconds(),
            "Hola Ana, soy Rosa",
        ),
    )
    .await;
    assert!(matches!(
        echoed.items[0],
        ItemOutcome::Stored(Stored::Echo { .. })
    ));
    let client = shop.db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status, handoff_reason,
                    handed_off_until BETWEEN now() + interval '719 minutes' AND now() + interval '721 minutes'
             FROM conversations",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "handed_off");
    assert_eq!(row.get::<_, &str>(1), "owner_replied");
    assert!(row.get::<_, bool>(2), "paused for the default 12 hours");
    let echo = client
        .query_one(
            "SELECT direction, sender_kind, body FROM messages WHERE wa_message_id = 'wamid.echo1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            echo.get::<_, &str>(0),
            echo.get::<_, &str>(1),
            echo.get::<_, &str>(2)
        ),
        ("outbound", "owner", "Hola Ana, soy Rosa")
    );
    let first: String = client
        .query_one(
            "SELECT handled_as FROM messages WHERE wa_message_id = 'wamid.e1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(first, "human", "the owner answered what was waiting");

    let later = apply(
        &shop,
        &text_from(CUSTOMER_WA, "Ana", "wamid.e2", now_seconds(), "Gracias"),
    )
    .await;
    assert!(later.turns.is_empty(), "no turn while handed off");
    let handled: String = client
        .query_one(
            "SELECT handled_as FROM messages WHERE wa_message_id = 'wamid.e2'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(handled, "handed_off");

    client
        .execute(
            "UPDATE conversations SET handed_off_until = now() - interval '1 minute'",
            &[],
        )
        .await
        .unwrap();
    let after = apply(
        &shop,
        &text_from(CUSTOMER_WA, "Ana", "wamid.e3", now_seconds(), "¿Sigue ahí?"),
    )
    .await;
    assert_eq!(
        after.turns.len(),
        1,
        "the assistant is back once the pause ran out"
    );
    let status: String = client
        .query_one("SELECT status FROM conversations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "active");
}

#[tokio::test]
async fn a_delivery_status_of_a_conversations_message_is_announced_for_its_ticks() {
    let shop = Shop::open().await;
    let conversation: Uuid = shop
        .scalar(
            "WITH c AS (INSERT INTO customers (organization_id, wa_id, phone) VALUES ($1, $2, $2) RETURNING id)
             INSERT INTO conversations (organization_id, wa_id, customer_id) SELECT $1, $2, id FROM c RETURNING id",
            &[&shop.org, &CUSTOMER_WA],
        )
        .await;
    let message: Uuid = shop
        .scalar(
            "INSERT INTO messages (organization_id, conversation_id, direction, sender_kind, content_kind,
                                   body, status, recipient, wa_message_id)
             VALUES ($1, $2, 'outbound', 'ai', 'text', 'Listo', 'sent', $3, 'wamid.tick') RETURNING id",
            &[&shop.org, &conversation, &CUSTOMER_WA],
        )
        .await;
    // A voice note's "played" is read, for Cita.
    apply(&shop, &status_of("wamid.tick", "played", now_seconds())).await;
    apply(&shop, &status_of("wamid.tick", "delivered", now_seconds())).await;
    let client = shop.db.pool.get().await.unwrap();
    let events: Vec<serde_json::Value> = client
        .query(
            "SELECT payload FROM outbox WHERE routing_key = 'message.status' ORDER BY seq",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["message_id"], json!(message));
    assert_eq!(events[0]["conversation_id"], json!(conversation));
    assert_eq!(events[0]["status"], "read");
    assert_eq!(events[1]["status"], "read", "the ticks never go back");
}
