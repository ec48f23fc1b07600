//! Customers' conversations over the API: the inbox with handed-off conversations first,
//! the transcript with delivery statuses, taking over and releasing through scheduling
//! (in the audit log), and replies that reach outbound once, only inside the 24-hour
//! window unless they are a template.

mod common;

use common::{Api, OWNER_PHONE, at};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

impl Api {
    async fn reply(&self, token: &str, key: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!(
                "{}/v1/organizations/{}/conversations/{}/messages",
                self.base, self.orgs.a, self.orgs.a_conversation
            ))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn conversation_row(&self) -> (String, Option<String>, Option<jiff::Timestamp>) {
        let row = self
            .db
            .pool
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT status, handoff_reason, handed_off_until FROM conversations WHERE id = $1",
                &[&self.orgs.a_conversation],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    }
}

/// A second customer of A, whose conversation a person has had since yesterday.
async fn handed_off_conversation(api: &Api) -> Uuid {
    let client = api.db.pool.get().await.unwrap();
    client
        .query_one(
            "WITH c AS (INSERT INTO customers (organization_id, wa_id, phone, name)
                        VALUES ($1, '5215544440002', '525544440002', 'Beto') RETURNING id)
             INSERT INTO conversations (organization_id, wa_id, customer_id, status, handoff_reason,
                                        handed_off_until, last_inbound_at, updated_at)
             SELECT $1, '5215544440002', c.id, 'handed_off', 'pidió hablar con alguien',
                    $2::timestamptz + interval '20 hours', $2, $2 FROM c
             RETURNING id",
            &[&api.orgs.a, &at("2026-12-06T20:00")],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn the_inbox_puts_handed_off_first_and_the_transcript_shows_delivery() {
    let api = Api::start().await;
    let beto = handed_off_conversation(&api).await;
    let owner = api.token(OWNER_PHONE).await;
    let inbox = format!("/v1/organizations/{}/conversations", api.orgs.a);

    let (status, page) = api.get(&inbox, &owner).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed = page["conversations"].as_array().unwrap();
    // Beto's is older, but a person has it.
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], json!(beto));
    assert_eq!(listed[0]["status"], "handed_off");
    assert_eq!(listed[1]["id"], json!(api.orgs.a_conversation));
    assert_eq!(listed[1]["status"], "active");
    assert_eq!(listed[1]["customer"]["name"], "Ana");
    assert_eq!(listed[1]["last_message"]["sender_kind"], "ai");
    assert_eq!(listed[1]["last_message"]["status"], "delivered");
    assert_eq!(listed[1]["window_closes_at"], json!(at("2026-12-08T07:30")));

    // One per page: the cursor walks the same order.
    let (_, first) = api.get(&format!("{inbox}?limit=1"), &owner).await;
    assert_eq!(first["conversations"][0]["id"], json!(beto));
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = api
        .get(&format!("{inbox}?limit=1&cursor={cursor}"), &owner)
        .await;
    assert_eq!(
        second["conversations"][0]["id"],
        json!(api.orgs.a_conversation)
    );
    assert!(second["next_cursor"].is_null());
    let (_, only) = api.get(&format!("{inbox}?handed_off=true"), &owner).await;
    assert_eq!(only["conversations"].as_array().unwrap().len(), 1);
    let (status, problem) = api
        .get(&format!("{inbox}?cursor=bm90LWEtY3Vyc29y"), &owner)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    let (status, transcript) = api
        .get(
            &format!("{inbox}/{}/messages", api.orgs.a_conversation),
            &owner,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{transcript}");
    let messages = transcript["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["direction"], "inbound");
    assert_eq!(messages[0]["body"], "¿Tienen lugar hoy?");
    assert_eq!(messages[1]["status"], "delivered");
    assert_eq!(
        transcript["conversation"]["customer"]["id"],
        json!(api.orgs.a_customer)
    );
    let (_, newest) = api
        .get(
            &format!("{inbox}/{}/messages?limit=1", api.orgs.a_conversation),
            &owner,
        )
        .await;
    assert_eq!(newest["messages"][0]["sender_kind"], "ai");
    let older = newest["older_cursor"].as_str().unwrap();
    let (_, oldest) = api
        .get(
            &format!(
                "{inbox}/{}/messages?limit=1&before={older}",
                api.orgs.a_conversation
            ),
            &owner,
        )
        .await;
    assert_eq!(oldest["messages"][0]["sender_kind"], "customer");
    assert!(oldest["older_cursor"].is_null());
}

#[tokio::test]
async fn taking_over_and_releasing_go_through_scheduling_into_the_audit_log() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let client = api.db.pool.get().await.unwrap();
    // A message waiting for the assistant becomes the person's to answer.
    client
        .execute(
            "INSERT INTO messages (organization_id, conversation_id, direction, sender_kind, content_kind,
                                   body, wa_message_id, status)
             VALUES ($1, $2, 'inbound', 'customer', 'text', '¿Y mañana?', 'wamid.waiting', 'received')",
            &[&api.orgs.a, &api.orgs.a_conversation],
        )
        .await
        .unwrap();
    let path = format!(
        "/v1/organizations/{}/conversations/{}",
        api.orgs.a, api.orgs.a_conversation
    );

    let (status, taken) = api
        .post(&format!("{path}/take-over"), Some(&owner), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["status"], "handed_off");
    // The organization's handoff time (720 minutes by default) from the API's clock.
    assert_eq!(taken["handed_off_until"], json!(at("2026-12-07T20:00")));
    let (status, reason, until) = api.conversation_row().await;
    assert_eq!(
        (status.as_str(), reason.as_deref()),
        ("handed_off", Some("taken_over"))
    );
    assert_eq!(until, Some(at("2026-12-07T20:00")));
    let handled: Option<String> = client
        .query_one(
            "SELECT handled_as FROM messages WHERE wa_message_id = 'wamid.waiting'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(handled.as_deref(), Some("human"));

    let (status, released) = api
        .post(&format!("{path}/release"), Some(&owner), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(released["status"], "active");
    assert!(released["handed_off_until"].is_null());
    assert_eq!(api.conversation_row().await.0, "active");

    let audit = client
        .query(
            "SELECT action, channel, actor_id, before ->> 'status', after ->> 'status' FROM audit_log
             WHERE entity = 'conversations' AND entity_id = $1 ORDER BY id",
            &[&api.orgs.a_conversation],
        )
        .await
        .unwrap();
    let audit: Vec<(String, String, Uuid, String, String)> = audit
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let o = api.orgs.a_owner;
    assert_eq!(
        audit,
        vec![
            (
                "take_over".into(),
                "api".into(),
                o,
                "active".into(),
                "handed_off".into()
            ),
            (
                "release".into(),
                "api".into(),
                o,
                "handed_off".into(),
                "active".into()
            ),
        ]
    );
    let events = client
        .query(
            "SELECT payload ->> 'status' FROM outbox WHERE routing_key = 'conversation.changed'
             AND organization_id = $1 ORDER BY seq",
            &[&api.orgs.a],
        )
        .await
        .unwrap();
    let events: Vec<String> = events.iter().map(|r| r.get(0)).collect();
    assert_eq!(events, ["handed_off", "active"]);

    let (status, _) = api
        .post(
            &format!(
                "/v1/organizations/{}/conversations/{}/take-over",
                api.orgs.a,
                Uuid::new_v4()
            ),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_reply_in_the_window_reaches_outbound_once_and_takes_the_conversation() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    api.sent().await;

    let text = json!({"text": "  Hola Ana, te esperamos a las 12:00.  "});
    let (status, accepted) = api.reply(&owner, "reply-1", text.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let command_id = accepted["command_id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["conversation"]["status"], "handed_off");
    let sent = common::eventually_sent(&api, 1).await;
    let command = &sent[0];
    assert_eq!(command["schema"], "send.v1");
    assert_eq!(command["command_id"], command_id.as_str());
    assert_eq!(command["to"], "5215533330001");
    assert_eq!(command["conversation_id"], json!(api.orgs.a_conversation));
    assert_eq!(command["purpose"], "reply");
    assert_eq!(command["author"], "owner");
    assert_eq!(command["message"]["type"], "text");
    assert_eq!(
        command["message"]["body"],
        "Hola Ana, te esperamos a las 12:00."
    );
    let (_, reason, _) = api.conversation_row().await;
    assert_eq!(reason.as_deref(), Some("owner_replied"));

    // A retry replays the same command, which outbound sends once by its id.
    let (status, again) = api.reply(&owner, "reply-1", text).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["command_id"], command_id.as_str());
    let resent = common::eventually_sent(&api, 1).await;
    assert_eq!(resent[0]["command_id"], command_id.as_str());
    let (status, problem) = api
        .reply(&owner, "reply-1", json!({"text": "otra cosa"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    for (body, why) in [
        (json!({"text": "   "}), "empty"),
        (json!({"text": "a", "template": "window_fallback"}), "both"),
        (json!({}), "neither"),
        (
            json!({"template": "promo_navidad"}),
            "not a window template",
        ),
        (json!({"text": "a", "urgent": true}), "unknown field"),
        (json!({"text": "x".repeat(4097)}), "too long"),
    ] {
        let (status, problem) = api.reply(&owner, why, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {problem}");
    }
    assert!(api.sent().await.is_empty(), "a refused reply sends nothing");
}

#[tokio::test]
async fn outside_the_window_only_a_template_goes_and_the_api_says_so() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    api.sent().await;
    let client = api.db.pool.get().await.unwrap();
    // Ana last wrote two days ago.
    client
        .execute(
            "UPDATE conversations SET last_inbound_at = $2 WHERE id = $1",
            &[&api.orgs.a_conversation, &at("2026-12-05T08:00")],
        )
        .await
        .unwrap();

    let (status, problem) = api
        .reply(&owner, "late", json!({"text": "¿Sigues interesada?"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "outside_window");
    assert_eq!(problem["templates"], json!(["window_fallback"]));
    assert_eq!(problem["last_inbound_at"], json!(at("2026-12-05T08:00")));
    assert!(api.sent().await.is_empty());
    assert_eq!(api.conversation_row().await.0, "active", "nothing changed");

    let (status, accepted) = api
        .reply(
            &owner,
            "late-template",
            json!({"template": "window_fallback"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let sent = common::eventually_sent(&api, 1).await;
    let message = &sent[0]["message"];
    assert_eq!(message["type"], "template");
    assert_eq!(message["name"], "window_fallback");
    assert_eq!(message["language"], "es_MX");
    assert_eq!(message["body"][0]["text"], "Org barberia");
}

#[tokio::test]
async fn without_scheduling_a_reply_is_refused_and_reads_go_on() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    api.sent().await;
    api.stop_scheduling();
    let (status, problem) = api.reply(&owner, "outage", json!({"text": "Hola"})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{problem}");
    assert!(api.sent().await.is_empty());
    let (status, _) = api
        .get(
            &format!("/v1/organizations/{}/conversations", api.orgs.a),
            &owner,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
