//! The webhook kinds Cita does not book from, shaped as pywa's fixtures
//! (`tests/data/updates/*.json`) and Meta's docs show them, each with its intended
//! outcome: stored and answered, stored for the record only, or acknowledged and not
//! stored at all. None is rejected.

use serde_json::Value;

use super::*;

/// What became of one webhook.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Stored with this content kind and body, and the assistant asked to answer.
    Answered(String, Option<String>),
    /// Stored with this content kind and body; nothing to answer.
    Kept(String, Option<String>),
    /// A field this worker does not act on: acknowledged, nothing stored.
    Ignored,
}

fn answered(kind: &str, body: Option<&str>) -> Outcome {
    Outcome::Answered(kind.into(), body.map(str::to_owned))
}

fn kept(kind: &str, body: Option<&str>) -> Outcome {
    Outcome::Kept(kind.into(), body.map(str::to_owned))
}

fn message(kind: &str, body: Value) -> Vec<u8> {
    let mut message = message_json(CUSTOMER_WA, "wamid.fixture", now_seconds(), kind, body);
    if kind == "contacts" {
        // A contact card travels next to the type, not under it.
        message["contacts"] = message["contacts"].take();
    }
    notification(
        "messages",
        json!({
            "contacts": [{"profile": {"name": "Test Name"}, "wa_id": CUSTOMER_WA}],
            "messages": [message]
        }),
    )
}

fn table() -> Vec<(&'static str, Vec<u8>, Outcome)> {
    vec![
        (
            "edited text",
            message(
                "edit",
                json!({"original_message_id": "wamid.original",
                       "message": {"type": "text", "text": {"body": "Text was edited"}}}),
            ),
            kept("edit", Some("Text was edited")),
        ),
        (
            "edited caption",
            message(
                "edit",
                json!({"original_message_id": "wamid.original",
                       "message": {"type": "image", "image": {"caption": "caption", "mime_type": "image/jpeg", "id": "65463453"}}}),
            ),
            kept("edit", Some("caption")),
        ),
        (
            "revoked",
            message("revoke", json!({"original_message_id": "wamid.original"})),
            kept("revoke", None),
        ),
        (
            "reaction",
            message(
                "reaction",
                json!({"message_id": "wamid.original", "emoji": "👍"}),
            ),
            kept("reaction", Some("👍")),
        ),
        (
            "reaction removed",
            message(
                "reaction",
                json!({"message_id": "wamid.original", "emoji": ""}),
            ),
            kept("reaction", None),
        ),
        (
            "system: changed number",
            message(
                "system",
                json!({"body": "User A changed from 972... to 972...", "new_wa_id": "972987654321", "type": "user_changed_number"}),
            ),
            kept("system", Some("User A changed from 972... to 972...")),
        ),
        (
            "contact card",
            message(
                "contacts",
                json!([{"name": {"formatted_name": "Ana López", "first_name": "Ana"},
                        "phones": [{"phone": "+52 55 1234 5678", "type": "CELL"}]}]),
            ),
            answered("contacts", None),
        ),
        (
            "catalog order",
            message(
                "order",
                json!({"catalog_id": "1", "product_items": [{"product_retailer_id": "x", "quantity": "1", "item_price": "250", "currency": "MXN"}]}),
            ),
            answered("unsupported", None),
        ),
        (
            "chat opened",
            message("request_welcome", json!({})),
            answered("unsupported", None),
        ),
        (
            "unsupported type",
            message("unsupported", json!({})),
            answered("unsupported", None),
        ),
        (
            "a call",
            notification(
                "calls",
                json!({"calls": [{"id": "wacid.x", "from": CUSTOMER_WA, "to": "16315553601", "event": "connect",
                                  "timestamp": now_seconds().to_string(), "direction": "USER_INITIATED"}]}),
            ),
            Outcome::Ignored,
        ),
        (
            "account update",
            notification(
                "account_update",
                json!({"phone_number": "16505551111", "event": "VERIFIED_ACCOUNT"}),
            ),
            Outcome::Ignored,
        ),
        (
            "template status",
            notification(
                "message_template_status_update",
                json!({"event": "APPROVED", "message_template_id": 1, "message_template_name": "x", "message_template_language": "es_MX", "reason": null}),
            ),
            Outcome::Ignored,
        ),
        (
            "marketing preferences",
            notification(
                "user_preferences",
                json!({"user_preferences": [{"wa_id": CUSTOMER_WA, "detail": "User requested to stop marketing messages", "category": "marketing_messages", "value": "stop", "timestamp": now_seconds()}]}),
            ),
            Outcome::Ignored,
        ),
    ]
}

#[tokio::test]
async fn every_kind_cita_does_not_book_from_gets_its_intended_outcome() {
    for (name, body, expected) in table() {
        let shop = Shop::open().await;
        let applied = apply(&shop, &body).await;
        assert!(applied.unreadable.is_none(), "{name}: {applied:?}");
        assert!(
            !applied
                .items
                .iter()
                .any(|i| matches!(i, ItemOutcome::Rejected(_))),
            "{name}: {applied:?}"
        );
        let client = shop.db.pool.get().await.unwrap();
        let stored = client
            .query_opt(
                "SELECT content_kind, body, handled_as FROM messages WHERE wa_message_id = 'wamid.fixture'",
                &[],
            )
            .await
            .unwrap();
        let rejected: i64 = shop
            .scalar("SELECT count(*) FROM rejected_webhooks", &[])
            .await;
        assert_eq!(rejected, 0, "{name}");
        let got = match stored {
            None => {
                assert_eq!(applied.items, vec![ItemOutcome::Ignored], "{name}");
                Outcome::Ignored
            }
            Some(row) => {
                let kind: String = row.get(0);
                let body: Option<String> = row.get(1);
                let handled: Option<String> = row.get(2);
                match handled.as_deref() {
                    None => {
                        assert_eq!(applied.turns.len(), 1, "{name}: a turn is asked for");
                        Outcome::Answered(kind, body)
                    }
                    Some("no_answer_needed") => {
                        assert!(applied.turns.is_empty(), "{name}");
                        Outcome::Kept(kind, body)
                    }
                    Some(other) => panic!("{name}: handled as {other}"),
                }
            }
        };
        assert_eq!(got, expected, "{name}");
    }
}
