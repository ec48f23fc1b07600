//! The running service over a real RabbitMQ: RPC round trips, timeouts, malformed
//! requests, and the outbox relay (two replicas, and a crash between publish and mark).

mod common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use cita_shared::outbox as relay;
use cita_shared::{
    admin::Health,
    amqp::{
        Publisher, PublisherOptions,
        rpc::{RpcClient, RpcError},
        topology::{CITA_EVENTS, REMINDERS_EVENTS, SCHEDULING_RPC, dead_name},
    },
    config::{Component, Settings},
    contracts::scheduling::{Reply, Request, SchedulingError},
    secret::Secret,
    testing::TestBroker,
};
use common::{Shop, appointment};
use lapin::types::AMQPValue;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(10);

struct Running {
    admin: std::net::SocketAddr,
    shop: Shop,
    broker: TestBroker,
    client: RpcClient,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn start() -> Running {
    let shop = Shop::open().await;
    let broker = TestBroker::new().await;
    let env: HashMap<String, String> = [
        ("CITA_DATABASE_URL", shop.db.url.expose().to_string()),
        ("CITA_AMQP_URL", broker.url.clone()),
        ("CITA_AMQP_PREFIX", broker.prefix.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = Settings::from_env(Component::Scheduling, env).unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin_addr = admin.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let clock = cita_scheduling::ops::Clock::fixed(common::at("2026-12-07T08:00"));
    let task = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            cita_scheduling::serve(&settings, admin, clock, shutdown)
                .await
                .unwrap()
        }
    });
    let client = RpcClient::new(
        Secret::new(broker.url.clone()),
        "test",
        broker.topology.clone(),
        SCHEDULING_RPC,
    );
    Running {
        admin: admin_addr,
        shop,
        broker,
        client,
        shutdown,
        task,
    }
}

#[tokio::test]
async fn a_booking_makes_the_round_trip_and_its_event_reaches_the_events_exchange() {
    let running = start().await;
    let shop = &running.shop;
    let request = Request::Book(shop.booking(shop.customer(shop.ana), "2026-12-07T10:00", "rpc-1"));

    let reply: Reply = running.client.call(&request, PATIENCE).await.unwrap();

    let booked = appointment(reply).unwrap();
    assert_eq!(booked.customer_id, shop.ana);
    let mut events = Vec::new();
    for _ in 0..100 {
        events = running.broker.drain(REMINDERS_EVENTS).await;
        if !events.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(events.len(), 1, "the relay published the booking");
    let event: serde_json::Value = serde_json::from_slice(&events[0].delivery.data).unwrap();
    assert_eq!(event["type"], "appointment.booked");
    assert_eq!(event["appointment"]["id"], booked.id.to_string());
    assert_eq!(
        events[0]
            .delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string()),
        event["event_id"].as_str().map(str::to_owned),
        "consumers deduplicate on the message id"
    );
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await,
        0
    );
    let metrics = get(running.admin, "/metrics").await;
    assert!(
        metrics.contains(r#"cita_scheduling_requests_total{request="book",outcome="ok"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("cita_scheduling_events_relayed_total 1"),
        "{metrics}"
    );
    assert!(
        get(running.admin, "/readyz")
            .await
            .starts_with("HTTP/1.1 200")
    );

    running.shutdown.cancel();
    running.task.await.unwrap();
}

#[tokio::test]
async fn a_malformed_request_gets_invalid_request_and_is_dead_lettered_with_its_reason() {
    let running = start().await;
    let garbage = serde_json::json!({ "type": "book", "when": "mañana" });

    let reply: Reply = running.client.call(&garbage, PATIENCE).await.unwrap();

    assert!(
        matches!(reply, Reply::Error(SchedulingError::InvalidRequest { .. })),
        "{reply:?}"
    );
    let mut dead = Vec::new();
    for _ in 0..100 {
        dead = running.broker.drain(&dead_name(SCHEDULING_RPC)).await;
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].delivery.data, serde_json::to_vec(&garbage).unwrap());
    let headers = dead[0].delivery.properties.headers().clone().unwrap();
    assert!(
        matches!(headers.inner().get("x-cita-reason"), Some(AMQPValue::LongString(reason)) if !reason.to_string().is_empty())
    );
    assert_eq!(running.broker.count(SCHEDULING_RPC).await, 0, "not retried");

    running.shutdown.cancel();
    running.task.await.unwrap();
}

#[tokio::test]
async fn a_call_nobody_answers_times_out() {
    let broker = TestBroker::new().await;
    let client = RpcClient::new(
        Secret::new(broker.url.clone()),
        "test",
        broker.topology.clone(),
        SCHEDULING_RPC,
    );

    let reply: Result<Reply, RpcError> = client
        .call(
            &serde_json::json!({"type": "schedule"}),
            Duration::from_millis(300),
        )
        .await;

    assert!(matches!(reply, Err(RpcError::Timeout(_))), "{reply:?}");
}

/// 200 events written straight to the outbox.
async fn outbox_of_200(shop: &Shop) {
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO outbox (organization_id, routing_key, payload)
             SELECT $1, 'appointment.booked', jsonb_build_object('n', n) FROM generate_series(1, 200) n",
            &[&shop.org],
        )
        .await
        .unwrap();
}

fn relay_publisher(broker: &TestBroker) -> (Arc<Publisher>, tokio::task::JoinHandle<()>) {
    Publisher::start(
        Secret::new(broker.url.clone()),
        broker.topology.clone(),
        PublisherOptions {
            connection_name: "test-relay".into(),
            confirm_timeout: PATIENCE,
            channels: 1,
            ..Default::default()
        },
        Health::default().register("amqp"),
    )
}

async fn relay_until_empty(shop: &Shop, publisher: &Publisher, exchange: &str) -> usize {
    let mut total = 0;
    loop {
        match relay::relay_batch(&shop.db.pool, publisher, exchange).await {
            Ok(0) => return total,
            Ok(n) => total += n,
            // Not connected yet.
            Err(cita_shared::error::Infra::Publish(_)) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(other) => panic!("{other}"),
        }
    }
}

#[tokio::test]
async fn two_relays_publish_every_event_exactly_once() {
    let shop = Shop::open().await;
    let broker = TestBroker::new().await;
    broker.declare().await;
    outbox_of_200(&shop).await;
    let (first, _) = relay_publisher(&broker);
    let (second, _) = relay_publisher(&broker);
    let exchange = broker.topology.name(CITA_EVENTS);

    let (a, b) = tokio::join!(
        relay_until_empty(&shop, &first, &exchange),
        relay_until_empty(&shop, &second, &exchange)
    );

    assert_eq!(a + b, 200);
    let queued = broker.drain(REMINDERS_EVENTS).await;
    let mut ids: Vec<String> = queued
        .iter()
        .map(|m| {
            m.delivery
                .properties
                .message_id()
                .as_ref()
                .unwrap()
                .to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!((queued.len(), ids.len()), (200, 200));
    assert_eq!(
        shop.sql_count("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn a_crash_between_publish_and_mark_duplicates_events_but_loses_none() {
    let shop = Shop::open().await;
    let broker = TestBroker::new().await;
    broker.declare().await;
    outbox_of_200(&shop).await;
    let (publisher, _) = relay_publisher(&broker);
    let exchange = broker.topology.name(CITA_EVENTS);
    let client = shop.db.pool.get().await.unwrap();
    // The mark fails as if the relay died right after publishing.
    client
        .batch_execute(
            "CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'crash'; END $$;
             CREATE TRIGGER crash BEFORE UPDATE ON outbox FOR EACH STATEMENT EXECUTE FUNCTION crash();",
        )
        .await
        .unwrap();
    let mut crashed = false;
    for _ in 0..100 {
        match relay::relay_batch(&shop.db.pool, &publisher, &exchange).await {
            Err(cita_shared::error::Infra::Postgres(_)) => {
                crashed = true;
                break;
            }
            Err(cita_shared::error::Infra::Publish(_)) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => panic!("expected the mark to fail, got {other:?}"),
        }
    }
    assert!(crashed);
    client
        .batch_execute("DROP TRIGGER crash ON outbox")
        .await
        .unwrap();

    let after_restart = relay_until_empty(&shop, &publisher, &exchange).await;

    assert_eq!(after_restart, 200);
    let queued = broker.drain(REMINDERS_EVENTS).await;
    let mut copies: HashMap<String, usize> = HashMap::new();
    for message in &queued {
        *copies
            .entry(
                message
                    .delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .unwrap()
                    .to_string(),
            )
            .or_default() += 1;
    }
    assert_eq!(copies.len(), 200, "no event lost");
    // The crashed batch (100) went out twice, the rest once.
    assert_eq!(copies.values().filter(|n| **n == 2).count(), 100);
    assert_eq!(queued.len(), 300);
}

/// A GET on the admin port over a plain connection: the whole response as text.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
