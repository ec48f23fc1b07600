//! What Meta's failures do: retries through the delay tiers, exhaustion into the dead
//! queue, the fallback on 131047, a refused token pausing the organization, and
//! commands that can't be handled at all.

mod common;

use std::time::Duration;

use cita_shared::{
    amqp::{
        Publisher, PublisherOptions,
        consumer::REASON_HEADER,
        topology::{OUTBOUND_SEND, dead_name},
    },
    contracts::{
        events::{Event, FailureReason},
        outbound::Message,
    },
    crypto::Keyring,
    secret::Secret,
    testing::{Reply, eventually},
};
use common::{PATIENCE, SECRETS_KEY, World, template};
use lapin::types::AMQPValue;
use uuid::Uuid;

#[tokio::test]
async fn transient_failures_are_retried_until_meta_accepts() {
    let mut world = World::new().await;
    // The first call of each of the three sends fails, each in another retryable way.
    world.graph.script([
        Reply::Error {
            status: 500,
            code: 1,
        },
        Reply::Bare(429),
        Reply::Error {
            status: 400,
            code: 130429,
        },
    ]);
    world.start().await;
    let sends: Vec<_> = (0..3)
        .map(|i| {
            let mut send = world.text(&format!("intento {i}"));
            // Different recipients: no ordering between them, all fail at once.
            send.to = format!("52155000000{i:02}");
            send.conversation_id = None;
            send.purpose = cita_shared::contracts::outbound::Purpose::Notification;
            send.message = Message::Template(template("aviso"));
            send
        })
        .collect();
    for send in &sends {
        world.publish(send).await;
    }
    let mut attempts = Vec::new();
    for send in &sends {
        attempts.push(world.wait_status(send.command_id, "sent").await.attempts);
    }
    attempts.sort();
    // The 500 spent an attempt; the two throttled calls (429, 130429) did not.
    assert_eq!(attempts, [1, 1, 2]);
    assert_eq!(world.graph.sends().len(), 6);
    world.stop().await;
}

#[tokio::test]
async fn exhausted_retries_end_in_the_dead_queue_with_the_reason() {
    let mut world = World::with(&[("CITA_OUTBOUND_MAX_ATTEMPTS", "2")]).await;
    let failures = world.listen("message.failed").await;
    world.graph.script([
        Reply::Error {
            status: 503,
            code: 2,
        },
        Reply::Error {
            status: 503,
            code: 2,
        },
    ]);
    world.start().await;
    let send = world.text("nunca llega");
    world.publish(&send).await;
    let row = world.wait_status(send.command_id, "failed").await;
    assert_eq!(row.error_title.as_deref(), Some("retries_exhausted"));
    assert_eq!(row.attempts, 2);

    let dead = wait_dead(&world, 1).await;
    let reason = reason_of(&dead[0]);
    assert!(
        reason.contains("retries exhausted after 2 attempts"),
        "{reason}"
    );
    match world.next_event(&failures).await.event {
        Event::MessageFailed {
            reason, error_code, ..
        } => {
            assert_eq!(reason, FailureReason::RetriesExhausted);
            assert_eq!(error_code, Some(2));
        }
        other => panic!("unexpected event {other:?}"),
    }
    assert_eq!(world.graph.sends().len(), 2);
    world.stop().await;
}

#[tokio::test]
async fn meta_closing_the_window_sends_the_fallback_template() {
    let mut world = World::new().await;
    world.graph.script([Reply::Error {
        status: 400,
        code: 131047,
    }]);
    world.start().await;
    let mut send = world.text("¿Sigues ahí?");
    send.fallback = Some(template("seguimiento"));
    world.publish(&send).await;
    let row = world.wait_status(send.command_id, "sent").await;
    assert_eq!(row.content_kind, "template");
    let sends = world.graph.sends();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0].body["type"], "text");
    assert_eq!(sends[1].body["template"]["name"], "seguimiento");

    // Without a fallback the same answer is final.
    world.graph.script([Reply::Error {
        status: 400,
        code: 131047,
    }]);
    let send = world.text("¿Sigues ahí?");
    world.publish(&send).await;
    let row = world.wait_status(send.command_id, "failed").await;
    assert_eq!(row.error_title.as_deref(), Some("outside_window"));
    world.stop().await;
}

#[tokio::test]
async fn permanent_errors_are_recorded_not_retried() {
    let mut world = World::new().await;
    world.graph.script([Reply::Error {
        status: 400,
        code: 131026,
    }]);
    world.start().await;
    let send = world.text("número sin WhatsApp");
    world.publish(&send).await;
    let row = world.wait_status(send.command_id, "failed").await;
    assert_eq!(row.error_title.as_deref(), Some("rejected"));
    assert_eq!(world.settle().await, 0, "no retry is waiting");
    assert_eq!(world.graph.sends().len(), 1, "not retried");
}

#[tokio::test]
async fn a_refused_token_pauses_the_organization_until_a_new_one_is_stored() {
    let mut world = World::new().await;
    let events = world.listen("organization.token_invalid").await;
    world.graph.script([Reply::Error {
        status: 401,
        code: 190,
    }]);
    world.start().await;
    let first = world.text("primero");
    world.publish(&first).await;
    world.wait_status(first.command_id, "paused").await;
    let later: Vec<_> = (0..3)
        .map(|i| world.text(&format!("después {i}")))
        .collect();
    for send in &later {
        world.publish(send).await;
    }
    for send in &later {
        world.wait_status(send.command_id, "paused").await;
    }
    assert_eq!(world.graph.sends().len(), 1, "paused sends don't call Meta");
    match world.next_event(&events).await.event {
        Event::TokenInvalid {
            phone_number_id, ..
        } => {
            assert_eq!(phone_number_id, world.phone_number_id)
        }
        other => panic!("unexpected event {other:?}"),
    }
    let client = world.db.pool.get().await.unwrap();
    let reason: Option<String> = client
        .query_one(
            "SELECT messaging_paused_reason FROM organizations WHERE id = $1",
            &[&world.organization],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason.as_deref(), Some("token_invalid"));

    // The owner reconnects: the new token is stored and the parked sends go, in order.
    let keyring = Keyring::parse(&Secret::new(SECRETS_KEY)).unwrap();
    cita_outbound::tokens::store(
        &world.db.pool,
        &keyring,
        "barberia",
        None,
        &Secret::new("EAAG-new-token"),
    )
    .await
    .unwrap();
    let ready = cita_shared::admin::Health::default().register("amqp");
    let (publisher, _task) = Publisher::start(
        Secret::new(world.broker.url.clone()),
        world.broker.topology.clone(),
        PublisherOptions {
            connection_name: "test-resume".into(),
            confirm_timeout: Duration::from_secs(5),
            channels: 1,
            ..Default::default()
        },
        ready.clone(),
    );
    eventually(PATIENCE, "the publisher is ready", || async {
        ready.get().then_some(())
    })
    .await;
    let resumed = cita_outbound::tokens::resume(
        &world.db.pool,
        &publisher,
        &world.broker.topology,
        world.organization,
    )
    .await
    .unwrap();
    assert_eq!(resumed, 4);
    for send in std::iter::once(&first).chain(&later) {
        world.wait_status(send.command_id, "sent").await;
    }
    let sends = world.graph.sends();
    assert_eq!(sends.len(), 5);
    assert!(
        sends[1..]
            .iter()
            .all(|s| s.authorization.as_deref() == Some("Bearer EAAG-new-token"))
    );
    publisher.close();
    world.stop().await;
}

#[tokio::test]
async fn commands_that_cannot_be_handled_are_dead_lettered_with_their_reason() {
    let mut world = World::new().await;
    // A conversation of another organization.
    let client = world.db.pool.get().await.unwrap();
    let other_org: Uuid = client
        .query_one(
            "INSERT INTO organizations (slug, name, timezone) VALUES ('otra', 'Otra', 'America/Bogota') RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let other_customer: Uuid = client
        .query_one(
            "INSERT INTO customers (organization_id, wa_id) VALUES ($1, '573001112233') RETURNING id",
            &[&other_org],
        )
        .await
        .unwrap()
        .get(0);
    let foreign: Uuid = client
        .query_one(
            "INSERT INTO conversations (organization_id, wa_id, customer_id) VALUES ($1, '573001112233', $2) RETURNING id",
            &[&other_org, &other_customer],
        )
        .await
        .unwrap()
        .get(0);
    drop(client);
    world.start().await;

    world.publish_raw(b"{not json").await;
    world
        .publish_raw(
            br#"{"schema": "send.v9", "command_id": "00000000-0000-0000-0000-000000000000"}"#,
        )
        .await;
    let mut unknown = world.text("hola");
    unknown.organization_id = Uuid::new_v4();
    world.publish(&unknown).await;
    let mut cross = world.text("hola");
    cross.conversation_id = Some(foreign);
    world.publish(&cross).await;

    let dead = wait_dead(&world, 4).await;
    let mut reasons: Vec<String> = dead.iter().map(reason_of).collect();
    reasons.sort();
    assert!(
        reasons[0].contains(&format!("conversation {foreign} does not belong")),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("malformed command"), "{reasons:?}");
    assert!(reasons[2].contains("send.v9"), "{reasons:?}");
    assert_eq!(
        reasons[3],
        format!("unknown organization {}", unknown.organization_id)
    );
    assert!(world.graph.sends().is_empty());
    assert_eq!(
        world.broker.count(OUTBOUND_SEND).await,
        0,
        "nothing is retried"
    );
    world.stop().await;
}

async fn wait_dead(world: &World, n: usize) -> Vec<lapin::message::BasicGetMessage> {
    let dead = std::cell::RefCell::new(Vec::new());
    eventually(PATIENCE, &format!("{n} dead letters"), || async {
        let taken = world.broker.drain(&dead_name(OUTBOUND_SEND)).await;
        let mut dead = dead.borrow_mut();
        dead.extend(taken);
        (dead.len() >= n).then_some(())
    })
    .await;
    dead.into_inner()
}

fn reason_of(message: &lapin::message::BasicGetMessage) -> String {
    let headers = message
        .delivery
        .properties
        .headers()
        .clone()
        .unwrap_or_default();
    match headers.inner().get(REASON_HEADER) {
        Some(AMQPValue::LongString(reason)) => reason.to_string(),
        other => panic!("no reason header: {other:?}"),
    }
}

#[tokio::test]
async fn throttling_by_meta_spends_no_attempt() {
    // One attempt allowed, yet two throttled calls don't fail the message.
    let mut world = World::with(&[("CITA_OUTBOUND_MAX_ATTEMPTS", "1")]).await;
    world.graph.script([
        Reply::Error {
            status: 400,
            code: 130429,
        },
        Reply::Error {
            status: 400,
            code: 131056,
        },
    ]);
    world.start().await;
    let send = world.text("despacio");
    world.publish(&send).await;
    world.wait_status(send.command_id, "sent").await;
    assert_eq!(world.graph.sends().len(), 3);
    world.stop().await;
}

#[tokio::test]
async fn a_refusal_of_a_token_replaced_meanwhile_does_not_pause_the_organization() {
    let mut world = World::new().await;
    let events = world.listen("organization.token_invalid").await;
    world.graph.set_latency(Duration::from_millis(400));
    world.graph.script([Reply::Error {
        status: 401,
        code: 190,
    }]);
    world.start().await;
    let send = world.text("con el token viejo");
    world.publish(&send).await;
    world.graph.wait_for_sends(1, PATIENCE).await;
    // The owner reconnects while the call with the old token is in flight.
    let keyring = Keyring::parse(&Secret::new(SECRETS_KEY)).unwrap();
    cita_outbound::tokens::store(
        &world.db.pool,
        &keyring,
        "barberia",
        None,
        &Secret::new("EAAG-fresh"),
    )
    .await
    .unwrap();
    world.wait_status(send.command_id, "sent").await;
    let sends = world.graph.sends();
    assert_eq!(
        sends.last().unwrap().authorization.as_deref(),
        Some("Bearer EAAG-fresh")
    );
    let client = world.db.pool.get().await.unwrap();
    let paused: bool = client
        .query_one(
            "SELECT messaging_paused_at IS NOT NULL FROM organizations WHERE id = $1",
            &[&world.organization],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!paused);
    let none = world
        .broker
        .channel
        .basic_get(
            events.as_str().into(),
            lapin::options::BasicGetOptions::default(),
        )
        .await
        .unwrap();
    assert!(
        none.is_none(),
        "no organization.token_invalid for a stale refusal"
    );
    world.stop().await;
}

#[tokio::test]
async fn an_invalid_fallback_does_not_stop_a_message_that_needs_none() {
    let mut world = World::new().await;
    world.start().await;
    let mut send = world.text("dentro de la ventana");
    let mut fallback = template("aviso");
    fallback.body[0].text = "con\nsalto".into();
    send.fallback = Some(fallback.clone());
    world.publish(&send).await;
    world.wait_status(send.command_id, "sent").await;

    // Outside the window the same fallback is needed, and refused with the reason.
    world.last_inbound("2 days").await;
    let mut outside = world.text("fuera");
    outside.fallback = Some(fallback);
    world.publish(&outside).await;
    let row = world.wait_status(outside.command_id, "failed").await;
    assert_eq!(row.error_title.as_deref(), Some("invalid_message"));
    assert_eq!(world.graph.sends().len(), 1);
    world.stop().await;
}
