//! The running service over the broker: an event published to `cita.events` becomes
//! send commands on `outbound.send`; a malformed event is dead-lettered with its reason.

mod common;

use std::{collections::HashMap, time::Duration};

use cita_shared::{
    amqp::{
        consumer::REASON_HEADER,
        topology::{CITA_EVENTS, OUTBOUND_SEND, REMINDERS_EVENTS, dead_name},
    },
    config::{Component, Settings},
    contracts::{events::Event, outbound::Purpose},
    testing::eventually,
};
use common::{BARBER_PHONE, CUSTOMER_WA, OWNER_PHONE, Shop, at};
use lapin::{BasicProperties, types::AMQPValue};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn events_on_the_exchange_become_send_commands() {
    let shop = Shop::open("America/Mexico_City").await;
    let env: HashMap<String, String> = [
        ("CITA_DATABASE_URL", shop.db.url.expose().to_string()),
        ("CITA_AMQP_URL", shop.broker.url.clone()),
        ("CITA_AMQP_PREFIX", shop.broker.prefix.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = Settings::from_env(Component::Reminders, env).unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    let clock = cita_reminders::Clock::fixed(at("2026-12-10T15:00:05Z"));
    let service = tokio::spawn({
        let stop = stop.clone();
        async move {
            cita_reminders::serve(&settings, admin, clock, stop)
                .await
                .unwrap()
        }
    });

    let appointment = shop.appointment(shop.barber, "2026-12-14T16:30:00Z").await;
    let booked = shop.envelope(
        "2026-12-10T15:00:00Z",
        Event::AppointmentBooked {
            appointment,
            actor: shop.by_staff(shop.owner),
        },
    );
    let exchange = shop.broker.topology.name(CITA_EVENTS);
    for body in [
        serde_json::to_vec(&booked).unwrap(),
        b"{\"type\": \"appointment.booked\"}".to_vec(),
    ] {
        shop.publisher
            .publish(
                &exchange,
                "appointment.booked",
                &body,
                BasicProperties::default(),
            )
            .await
            .unwrap();
    }
    // The same event twice: told once.
    shop.publisher
        .publish(
            &exchange,
            "appointment.booked",
            &serde_json::to_vec(&booked).unwrap(),
            BasicProperties::default(),
        )
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut sends = Vec::new();
    // The three notices of the booking, and the owner's agenda of the day (08:00 local
    // has passed on the injected clock; the barber has nothing that day).
    while sends.len() < 4 {
        sends.extend(shop.commands().await);
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} commands",
            sends.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut to: Vec<String> = sends
        .iter()
        .filter(|s| s.purpose == Purpose::Notification)
        .map(|s| s.to.clone())
        .collect();
    to.sort();
    assert_eq!(to, [OWNER_PHONE, BARBER_PHONE, CUSTOMER_WA]);
    let agenda: Vec<_> = sends
        .iter()
        .filter(|s| s.purpose == Purpose::Reminder)
        .collect();
    assert_eq!(agenda.len(), 1);
    assert_eq!(agenda[0].to, OWNER_PHONE);

    let mut dead = Vec::new();
    while dead.is_empty() {
        dead = shop.broker.drain(&dead_name(REMINDERS_EVENTS)).await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let headers = dead[0]
        .delivery
        .properties
        .headers()
        .clone()
        .unwrap_or_default();
    match headers.inner().get(REASON_HEADER) {
        Some(AMQPValue::LongString(reason)) => {
            assert!(
                reason.to_string().starts_with("malformed event"),
                "{reason}"
            )
        }
        other => panic!("no reason: {other:?}"),
    }
    // The duplicate has been taken once the queue is empty; stopped, the service
    // finishes what it holds, and anything it had not handled would be back in the queue.
    eventually(
        Duration::from_secs(15),
        "the events are consumed",
        || async { (shop.broker.count(REMINDERS_EVENTS).await == 0).then_some(()) },
    )
    .await;
    stop.cancel();
    service.await.unwrap();
    assert_eq!(shop.broker.count(REMINDERS_EVENTS).await, 0);
    assert!(
        shop.commands().await.is_empty(),
        "the duplicate event told no one"
    );
    assert_eq!(shop.broker.count(OUTBOUND_SEND).await, 0);
}
