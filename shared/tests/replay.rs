//! Dead-lettered messages go back to work: as they were, or — for outbound — under a new
//! command id, or — for turns — with their messages waiting again.

use cita_shared::{
    amqp::{
        Topology,
        replay::{ReplayError, replay},
        topology::{CITA_DLX, dead_name},
    },
    testing::{TestBroker, TestDb},
    tls::Endpoint,
};
use lapin::{
    BasicProperties,
    options::BasicPublishOptions,
    types::{AMQPValue, FieldTable},
};
use serde_json::json;

async fn kill(broker: &TestBroker, queue: &str, body: &[u8]) {
    let mut headers = FieldTable::default();
    headers.insert(
        "x-cita-reason".into(),
        AMQPValue::LongString("broken".into()),
    );
    broker
        .channel
        .basic_publish(
            broker.topology.name(CITA_DLX).as_str().into(),
            queue.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default().with_headers(headers),
        )
        .await
        .unwrap()
        .await
        .unwrap();
}

async fn setup() -> (TestDb, TestBroker, Endpoint, Topology) {
    let db = TestDb::migrated().await;
    let broker = TestBroker::new().await;
    broker.declare().await;
    let url = Endpoint::new(broker.url.clone());
    let topology = broker.topology.clone();
    (db, broker, url, topology)
}

#[tokio::test]
async fn webhooks_go_back_as_they_were_up_to_the_limit() {
    let (db, broker, url, topology) = setup().await;
    for n in 0..3 {
        kill(
            &broker,
            "conversation.inbound",
            format!("{{\"n\":{n}}}").as_bytes(),
        )
        .await;
    }
    let moved = replay(&url, &topology, &db.pool, "conversation.inbound", 2)
        .await
        .unwrap();
    assert_eq!(moved, 2);
    assert_eq!(broker.count(&dead_name("conversation.inbound")).await, 1);
    let back = broker.drain("conversation.inbound").await;
    assert_eq!(back.len(), 2);
    assert_eq!(back[0].data, b"{\"n\":0}");
    let headers = back[0].properties.headers().clone().unwrap_or_default();
    assert!(
        !headers.inner().contains_key("x-cita-reason"),
        "the reason is dropped"
    );
}

#[tokio::test]
async fn an_outbound_command_goes_back_under_a_new_id_and_events_under_their_type() {
    let (db, broker, url, topology) = setup().await;
    let command =
        json!({"schema": "send.v1", "command_id": "00000000-0000-4000-8000-000000000001"});
    kill(&broker, "outbound.send", command.to_string().as_bytes()).await;
    kill(
        &broker,
        "reminders.events",
        json!({"type": "appointment.booked", "event_id": "e"})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(
        replay(&url, &topology, &db.pool, "outbound.send", 10)
            .await
            .unwrap(),
        1
    );
    let back: serde_json::Value =
        serde_json::from_slice(&broker.drain("outbound.send").await[0].data).unwrap();
    assert_eq!(back["schema"], "send.v1");
    assert_ne!(back["command_id"], command["command_id"]);
    assert_eq!(
        replay(&url, &topology, &db.pool, "reminders.events", 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(broker.count("reminders.events").await, 1);
}

#[tokio::test]
async fn a_turn_goes_back_with_its_rejected_messages_waiting_again() {
    let (db, broker, url, topology) = setup().await;
    let client = db.pool.get().await.unwrap();
    let conversation: uuid::Uuid = client
        .query_one(
            "WITH o AS (INSERT INTO organizations (slug, name, timezone) VALUES ('o', 'O', 'America/Mexico_City') RETURNING id),
                  c AS (INSERT INTO customers (organization_id, wa_id) SELECT id, '5215512345678' FROM o RETURNING id, organization_id),
                  v AS (INSERT INTO conversations (organization_id, wa_id, customer_id) SELECT organization_id, '5215512345678', id FROM c RETURNING id, organization_id),
                  m AS (INSERT INTO messages (organization_id, conversation_id, direction, sender_kind, content_kind, body, wa_message_id, status, answered_at, handled_as)
                        SELECT organization_id, id, 'inbound', 'customer', 'text', 'hola', 'wamid.r', 'received', now(), 'model_rejected' FROM v)
             SELECT id FROM v",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let turn = json!({"schema": "turn.v1", "organization_id": uuid::Uuid::nil(), "conversation_id": conversation, "attempt": 0});
    kill(&broker, "conversation.turns", turn.to_string().as_bytes()).await;
    assert_eq!(
        replay(&url, &topology, &db.pool, "conversation.turns", 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(broker.count("conversation.turns").await, 1);
    let waiting: bool = client
        .query_one(
            "SELECT answered_at IS NULL AND handled_as IS NULL FROM messages",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(waiting);
    let unknown = replay(&url, &topology, &db.pool, "nowhere", 1).await;
    assert!(matches!(unknown, Err(ReplayError::UnknownQueue(_))));
}
