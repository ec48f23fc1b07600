//! Webhook bodies become customers, conversations, messages, statuses and handoffs.

mod common;

#[path = "intake/fixtures.rs"]
mod fixtures;
#[path = "intake/statuses_and_echoes.rs"]
mod statuses_and_echoes;

use cita_conversation::intake::{self, ItemOutcome, Stored};
use common::*;
use serde_json::json;
use uuid::Uuid;

async fn apply(shop: &Shop, body: &[u8]) -> intake::Applied {
    intake::apply(&shop.db.pool, body, Some("req-1"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_first_message_creates_the_customer_the_conversation_and_asks_for_a_turn() {
    let shop = Shop::open().await;
    let sent = now_seconds() - 30;
    let applied = apply(
        &shop,
        &text_from(
            CUSTOMER_WA,
            "Ana López",
            "wamid.1",
            sent,
            "Hola, ¿tienen cita hoy?",
        ),
    )
    .await;

    assert_eq!(applied.turns.len(), 1);
    let (org, conversation) = *applied.turns.first().unwrap();
    assert_eq!(org, shop.org);
    let name: String = shop
        .scalar("SELECT c.name FROM customers c JOIN conversations v ON v.customer_id = c.id WHERE v.id = $1", &[&conversation])
        .await;
    assert_eq!(name, "Ana López");
    let phone: String = shop
        .scalar(
            "SELECT phone FROM customers WHERE wa_id = $1",
            &[&CUSTOMER_WA],
        )
        .await;
    assert_eq!(phone, "525512345678");
    let row = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT m.sender_kind, m.body, m.status, m.answered_at IS NULL, v.last_inbound_at = m.sent_by_person_at,
                    extract(epoch from m.sent_by_person_at)::bigint
             FROM messages m JOIN conversations v ON v.id = m.conversation_id WHERE m.wa_message_id = 'wamid.1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "customer");
    assert_eq!(row.get::<_, &str>(1), "Hola, ¿tienen cita hoy?");
    assert_eq!(row.get::<_, &str>(2), "received");
    assert!(row.get::<_, bool>(3), "waits for an answer");
    assert!(
        row.get::<_, bool>(4),
        "the 24-hour window runs from this message"
    );
    assert_eq!(row.get::<_, i64>(5), sent);
    // The business's live view hears of it, without the words.
    let event: serde_json::Value = shop
        .scalar(
            "SELECT payload FROM outbox WHERE routing_key = 'message.received'",
            &[],
        )
        .await;
    assert_eq!(event["conversation_id"], json!(conversation));
    assert_eq!(event["content_kind"], "text");
    assert_eq!(event["handed_off"], false);
    assert!(!event.to_string().contains("tienen cita"));
}

#[tokio::test]
async fn a_duplicate_delivery_is_stored_once_and_still_points_at_its_waiting_turn() {
    let shop = Shop::open().await;
    let body = text_from(CUSTOMER_WA, "Ana", "wamid.dup", now_seconds(), "Hola");
    let first = apply(&shop, &body).await;
    let second = apply(&shop, &body).await;
    let count: i64 = shop.scalar("SELECT count(*) FROM messages", &[]).await;
    let events: i64 = shop
        .scalar(
            "SELECT count(*) FROM outbox WHERE routing_key = 'message.received'",
            &[],
        )
        .await;
    assert_eq!(events, 1, "a duplicate is not news");
    assert_eq!(count, 1);
    assert!(matches!(
        second.items[0],
        ItemOutcome::Stored(Stored::Duplicate { waiting: Some(_) })
    ));
    assert_eq!(
        first.turns, second.turns,
        "a lost turn request is asked for again"
    );

    shop.execute(
        "UPDATE messages SET answered_at = now(), handled_as = 'ai'",
        &[],
    )
    .await;
    let third = apply(&shop, &body).await;
    assert!(
        third.turns.is_empty(),
        "an answered duplicate asks for nothing"
    );
}

#[tokio::test]
async fn staff_and_the_owner_are_recognized_by_their_number_in_either_mexican_form() {
    let shop = Shop::open().await;
    apply(
        &shop,
        &text_from(
            BARBER_WA,
            "Luis",
            "wamid.s1",
            now_seconds(),
            "¿Qué tengo hoy?",
        ),
    )
    .await;
    apply(
        &shop,
        &text_from(
            OWNER_PHONE,
            "Rosa",
            "wamid.o1",
            now_seconds(),
            "Agenda de hoy",
        ),
    )
    .await;
    let barber: (String, Option<Uuid>) = {
        let client = shop.db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT m.sender_kind, v.staff_id FROM messages m JOIN conversations v ON v.id = m.conversation_id
                 WHERE m.wa_message_id = 'wamid.s1'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(barber, ("staff".to_owned(), Some(shop.barber)));
    let owner: String = shop
        .scalar(
            "SELECT sender_kind FROM messages WHERE wa_message_id = 'wamid.o1'",
            &[],
        )
        .await;
    assert_eq!(owner, "owner");
    let customers: i64 = shop.scalar("SELECT count(*) FROM customers", &[]).await;
    assert_eq!(customers, 0, "staff are not customers");

    shop.execute(
        "UPDATE staff SET active = false WHERE id = $1",
        &[&shop.barber],
    )
    .await;
    apply(
        &shop,
        &text_from(BARBER_WA, "Luis", "wamid.s2", now_seconds(), "Hola"),
    )
    .await;
    let kind: String = shop
        .scalar(
            "SELECT sender_kind FROM messages WHERE wa_message_id = 'wamid.s2'",
            &[],
        )
        .await;
    assert_eq!(
        kind, "customer",
        "a deactivated member writes as anyone else"
    );
}

#[tokio::test]
async fn a_walk_in_typed_by_staff_is_found_by_number_and_profiles_never_overwrite_a_given_name() {
    let shop = Shop::open().await;
    let walk_in: Uuid = shop
        .scalar(
            "INSERT INTO customers (organization_id, phone, name, name_confirmed) VALUES ($1, '525512345678', 'Ana María', true) RETURNING id",
            &[&shop.org],
        )
        .await;
    apply(
        &shop,
        &text_from(CUSTOMER_WA, "Anita 🌸", "wamid.w1", now_seconds(), "Hola"),
    )
    .await;
    let (id, wa_id, name): (Uuid, String, String) = {
        let client = shop.db.pool.get().await.unwrap();
        let row = client
            .query_one("SELECT id, wa_id, name FROM customers", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(
        (id, wa_id.as_str(), name.as_str()),
        (walk_in, CUSTOMER_WA, "Ana María")
    );

    // Someone who never gave a name is known by their latest profile name.
    apply(
        &shop,
        &text_from("573001234567", "Carlos", "wamid.c1", now_seconds(), "Hola"),
    )
    .await;
    apply(
        &shop,
        &text_from(
            "573001234567",
            "Carlos R.",
            "wamid.c2",
            now_seconds(),
            "¿Sigue abierto?",
        ),
    )
    .await;
    let name: String = shop
        .scalar(
            "SELECT name FROM customers WHERE wa_id = '573001234567'",
            &[],
        )
        .await;
    assert_eq!(name, "Carlos R.");
}

#[tokio::test]
async fn a_business_scoped_user_id_is_kept_as_an_opaque_identity() {
    let shop = Shop::open().await;
    let body = notification(
        "messages",
        json!({
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "MX.13491208655302741918", "user_id": "MX.13491208655302741918"}],
            "messages": [message_json("MX.13491208655302741918", "wamid.b1", now_seconds(), "text", json!({"body": "Hola"}))]
        }),
    );
    let applied = apply(&shop, &body).await;
    assert_eq!(applied.turns.len(), 1);
    let phone: Option<String> = shop
        .scalar(
            "SELECT phone FROM customers WHERE wa_id = 'MX.13491208655302741918'",
            &[],
        )
        .await;
    assert_eq!(phone, None);
}

#[tokio::test]
async fn unknown_and_suspended_numbers_are_kept_for_replay_and_not_answered() {
    let shop = Shop::open().await;
    let mut body: serde_json::Value = serde_json::from_slice(&text_from(
        CUSTOMER_WA,
        "Ana",
        "wamid.u1",
        now_seconds(),
        "Hola",
    ))
    .unwrap();
    body["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = json!("999");
    let applied = apply(&shop, &serde_json::to_vec(&body).unwrap()).await;
    assert!(applied.turns.is_empty());
    assert_eq!(
        applied.items,
        vec![ItemOutcome::Rejected("unknown phone_number_id".into())]
    );

    shop.execute("UPDATE organizations SET status = 'suspended'", &[])
        .await;
    let applied = apply(
        &shop,
        &text_from(CUSTOMER_WA, "Ana", "wamid.u2", now_seconds(), "Hola"),
    )
    .await;
    assert!(applied.turns.is_empty());
    let kept: Vec<String> = {
        let client = shop.db.pool.get().await.unwrap();
        client
            .query("SELECT reason FROM rejected_webhooks WHERE request_id = 'req-1' ORDER BY received_at", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(kept, ["unknown phone_number_id", "organization suspended"]);
    let messages: i64 = shop.scalar("SELECT count(*) FROM messages", &[]).await;
    assert_eq!(messages, 0);
}

#[tokio::test]
async fn one_malformed_item_is_kept_and_the_others_are_stored() {
    let shop = Shop::open().await;
    let body = notification(
        "messages",
        json!({"messages": [
            message_json(CUSTOMER_WA, "wamid.g1", now_seconds(), "text", json!({"body": "uno"})),
            {"from": CUSTOMER_WA, "id": "wamid.bad", "type": "text", "text": {"body": "sin hora"}},
            message_json(CUSTOMER_WA, "wamid.g2", now_seconds(), "text", json!({"body": "dos"}))
        ]}),
    );
    let applied = apply(&shop, &body).await;
    let labels: Vec<&str> = applied.items.iter().map(ItemOutcome::label).collect();
    assert_eq!(labels, ["message", "rejected", "message"]);
    let stored: i64 = shop.scalar("SELECT count(*) FROM messages", &[]).await;
    assert_eq!(stored, 2);
    let kept: Vec<u8> = shop.scalar("SELECT body FROM rejected_webhooks", &[]).await;
    assert_eq!(kept, body, "the raw payload is kept byte for byte");

    let unreadable = apply(&shop, b"{\"object\":\"page\"}").await;
    assert!(unreadable.unreadable.is_some());
    let kept: i64 = shop
        .scalar("SELECT count(*) FROM rejected_webhooks", &[])
        .await;
    assert_eq!(kept, 2);
}

#[tokio::test]
async fn reactions_and_system_notices_need_no_answer() {
    let shop = Shop::open().await;
    let body = notification(
        "messages",
        json!({"messages": [
            message_json(CUSTOMER_WA, "wamid.r1", now_seconds(), "reaction", json!({"message_id": "wamid.x", "emoji": "👍"})),
            message_json(CUSTOMER_WA, "wamid.y1", now_seconds(), "system", json!({"type": "user_changed_number", "body": "cambió"}))
        ]}),
    );
    let applied = apply(&shop, &body).await;
    assert!(applied.turns.is_empty());
    let handled: Vec<String> = {
        let client = shop.db.pool.get().await.unwrap();
        client
            .query(
                "SELECT handled_as FROM messages ORDER BY wa_message_id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    assert_eq!(handled, ["no_answer_needed", "no_answer_needed"]);
}
