//! The broker topology: `rabbitmq/definitions.json` says exactly what the binaries
//! declare, and the declared topology routes and dead-letters as DESIGN.md says.

use std::collections::BTreeSet;

use cita_shared::{
    amqp::{
        Topology,
        topology::{self, Arg},
    },
    testing::TestBroker,
};
use lapin::{
    BasicProperties,
    options::{BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions},
};
use serde_json::{Value, json};

fn definitions() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rabbitmq/definitions.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn set(values: impl IntoIterator<Item = Value>) -> BTreeSet<String> {
    values.into_iter().map(|v| v.to_string()).collect()
}

#[test]
fn definitions_json_declares_exactly_what_the_binaries_declare() {
    let code = Topology::new("");
    let file = definitions();

    let declared_exchanges = set(code.exchanges().into_iter().map(|e| {
        json!({"name": e.name, "vhost": "/", "type": e.kind.as_str(), "durable": true,
               "auto_delete": false, "internal": false, "arguments": {}})
    }));
    let declared_queues = set(code.queues().into_iter().map(|q| {
        let arguments: serde_json::Map<String, Value> = q
            .arguments
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Arg::Str(s) => json!(s),
                    Arg::Int(i) => json!(i),
                };
                (k.to_string(), v)
            })
            .collect();
        json!({"name": q.name, "vhost": "/", "durable": true, "auto_delete": false, "arguments": arguments})
    }));
    let declared_bindings = set(code.bindings().into_iter().map(|b| {
        json!({"source": b.exchange, "vhost": "/", "destination": b.queue, "destination_type": "queue",
               "routing_key": b.routing_key, "arguments": {}})
    }));

    let in_file = |key: &str| set(file[key].as_array().unwrap().iter().cloned());
    assert_eq!(in_file("exchanges"), declared_exchanges);
    assert_eq!(in_file("queues"), declared_queues);
    assert_eq!(in_file("bindings"), declared_bindings);
}

/// Only one policy applies to a queue; every declared queue must get exactly one, or its
/// dead-lettering and length limits silently fall back to the broker's defaults.
#[test]
fn every_declared_queue_is_covered_by_exactly_one_policy() {
    let file = definitions();
    let policies: Vec<(String, String)> = file["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["pattern"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for queue in Topology::new("").queues() {
        let matching: Vec<&str> = policies
            .iter()
            .filter(|(_, pattern)| pattern_matches(pattern, &queue.name))
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "queue {} matches policies {matching:?}",
            queue.name
        );
    }
}

/// The two pattern shapes definitions.json uses: `^(a|b)$` and `suffix$` (dots escaped).
fn pattern_matches(pattern: &str, name: &str) -> bool {
    let unescape = |s: &str| s.replace("\\.", ".");
    if let Some(alternatives) = pattern
        .strip_prefix("^(")
        .and_then(|p| p.strip_suffix(")$"))
    {
        alternatives.split('|').any(|alt| unescape(alt) == name)
    } else if let Some(suffix) = pattern.strip_suffix('$') {
        name.ends_with(&unescape(suffix))
    } else {
        panic!("unexpected policy pattern {pattern}")
    }
}

#[tokio::test]
async fn declaring_the_topology_twice_is_harmless() {
    let broker = TestBroker::new().await;
    broker.declare().await;
    broker.declare().await;
    assert_eq!(broker.count(topology::CONVERSATION_INBOUND).await, 0);
}

async fn publish(broker: &TestBroker, exchange: &str, routing_key: &str, body: &[u8]) {
    let channel = &broker.channel;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let confirmation = channel
        .basic_publish(
            broker.topology.name(exchange).as_str().into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory: true,
                ..Default::default()
            },
            body,
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(
        confirmation,
        lapin::Confirmation::Ack(None),
        "routed and stored"
    );
}

#[tokio::test]
async fn webhooks_commands_and_events_reach_their_queues() {
    let broker = TestBroker::new().await;
    broker.declare().await;

    publish(
        &broker,
        topology::WA_WEBHOOKS,
        topology::WHATSAPP_ROUTING_KEY,
        b"w",
    )
    .await;
    publish(
        &broker,
        topology::CITA_COMMANDS,
        topology::SCHEDULING_RPC,
        b"s",
    )
    .await;
    publish(
        &broker,
        topology::CITA_COMMANDS,
        topology::OUTBOUND_SEND,
        b"o",
    )
    .await;
    publish(&broker, topology::CITA_EVENTS, "appointment.booked", b"e1").await;
    publish(
        &broker,
        topology::CITA_EVENTS,
        "conversation.handed_off",
        b"e2",
    )
    .await;

    let bodies = |messages: Vec<lapin::message::BasicGetMessage>| {
        messages
            .into_iter()
            .map(|m| String::from_utf8(m.delivery.data).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bodies(broker.drain(topology::CONVERSATION_INBOUND).await),
        ["w"]
    );
    assert_eq!(bodies(broker.drain(topology::SCHEDULING_RPC).await), ["s"]);
    assert_eq!(bodies(broker.drain(topology::OUTBOUND_SEND).await), ["o"]);
    assert_eq!(
        bodies(broker.drain(topology::REMINDERS_EVENTS).await),
        ["e1", "e2"]
    );
}

#[tokio::test]
async fn a_rejected_message_lands_in_its_dead_queue() {
    let broker = TestBroker::new().await;
    broker.declare().await;
    publish(
        &broker,
        topology::WA_WEBHOOKS,
        topology::WHATSAPP_ROUTING_KEY,
        b"not json",
    )
    .await;

    let queue = broker.topology.name(topology::CONVERSATION_INBOUND);
    let message = broker
        .channel
        .basic_get(queue.as_str().into(), BasicGetOptions::default())
        .await
        .unwrap()
        .expect("the message is in the work queue");
    message
        .nack(BasicNackOptions {
            requeue: false,
            ..Default::default()
        })
        .await
        .unwrap();

    let dead = wait_for_messages(
        &broker,
        &topology::dead_name(topology::CONVERSATION_INBOUND),
    )
    .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].delivery.data, b"not json");
    assert_eq!(broker.count(topology::CONVERSATION_INBOUND).await, 0);
}

/// Dead-lettering is asynchronous: poll briefly.
async fn wait_for_messages(
    broker: &TestBroker,
    queue: &str,
) -> Vec<lapin::message::BasicGetMessage> {
    for _ in 0..50 {
        let messages = broker.drain(queue).await;
        if !messages.is_empty() {
            return messages;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Vec::new()
}
