//! A webhook's trace (W3C `traceparent`, started by the ingress from its request id)
//! follows the work it causes: the turn command, the scheduling request, the booking's
//! event (through the outbox) and the reply's send command all carry the same trace id,
//! and so do the log lines of that work.

mod common;

use std::sync::{Arc, Mutex};

use cita_shared::{
    amqp::topology::{
        CITA_COMMANDS, CITA_EVENTS, CONVERSATION_TURNS, OUTBOUND_SEND, SCHEDULING_RPC, WA_WEBHOOKS,
        WHATSAPP_ROUTING_KEY,
    },
    testing::{ModelReply, eventually},
    trace::{self, Trace},
};
use common::{CUSTOMER_WA, fleet::Fleet};
use lapin::{
    BasicProperties,
    options::BasicPublishOptions,
    types::{AMQPValue, FieldTable},
};
use serde_json::json;
use uuid::Uuid;

/// Log lines, as the fleet's services write them in this process.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_webhooks_trace_follows_the_work_it_causes_and_its_log_lines() {
    let lines = Lines::default();
    let writer = lines.clone();
    tracing_subscriber::fmt()
        .with_env_filter("warn,cita_conversation=info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let fleet = Fleet::start().await;
    let turns = fleet.broker.tap(CITA_COMMANDS, CONVERSATION_TURNS).await;
    let requests = fleet.broker.tap(CITA_COMMANDS, SCHEDULING_RPC).await;
    let sends = fleet.broker.tap(CITA_COMMANDS, OUTBOUND_SEND).await;
    let events = fleet.broker.tap(CITA_EVENTS, "appointment.booked").await;
    // The first call fails, so the turn logs a line of its own.
    fleet.model.script([
        ModelReply::overloaded(),
        ModelReply::tool(
            "book_appointment",
            json!({"service_id": fleet.shop.corte, "start_time": "2026-12-08T16:00", "customer_name": "Ana"}),
        ),
        ModelReply::text("Listo, Ana: martes 8 a las 16:00."),
    ]);

    let trace = Trace::start(Uuid::new_v4());
    let mut headers = FieldTable::default();
    headers.insert(
        trace::HEADER.into(),
        AMQPValue::LongString(trace.to_string().into()),
    );
    let body = common::text_from(
        CUSTOMER_WA,
        "Ana",
        "wamid.traced",
        common::now_seconds(),
        "Un corte mañana a las 4",
    );
    fleet
        .broker
        .channel
        .basic_publish(
            fleet.broker.topology.name(WA_WEBHOOKS).as_str().into(),
            WHATSAPP_ROUTING_KEY.into(),
            BasicPublishOptions::default(),
            &body,
            BasicProperties::default()
                .with_delivery_mode(2)
                .with_headers(headers),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    fleet.texts_to(CUSTOMER_WA, 1).await;

    for (what, tap) in [
        ("turn command", &turns),
        ("scheduling request", &requests),
        ("booking event", &events),
        ("send command", &sends),
    ] {
        // The event is relayed from the outbox after the booking commits.
        let copies = eventually(common::fleet::PATIENCE, what, || async {
            let copies = fleet.broker.drain_tap(tap).await;
            (!copies.is_empty()).then_some(copies)
        })
        .await;
        for copy in copies {
            let carried = Trace::from_headers(copy.delivery.properties.headers().as_ref())
                .unwrap_or_else(|| panic!("the {what} carries no trace"));
            assert_eq!(carried.trace_id, trace.trace_id, "the {what}'s trace");
        }
    }
    let logged = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let failed = logged
        .lines()
        .find(|l| l.contains("model call failed"))
        .unwrap_or_else(|| panic!("no line of the turn: {logged}"));
    assert!(failed.contains(&trace.id()), "{failed}");
}
