//! The transactional outbox: [`emit`] writes an event in the transaction of the change it
//! describes; the relay publishes committed events to `cita.events` with confirms, then
//! marks them. Relays (in every service that emits) share the work with
//! `FOR UPDATE SKIP LOCKED`. A crash between publishing and marking publishes the event
//! again later — a duplicate with the same `event_id`, never a loss.

use std::time::Duration;

use deadpool_postgres::GenericClient;
use deadpool_postgres::Pool;
use jiff::Timestamp;
use lapin::{
    BasicProperties,
    types::{AMQPValue, FieldTable},
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    amqp::{PublishError, Publisher},
    contracts::events::{Envelope, Event},
    error::{Chain, Infra},
    trace::{HEADER, Trace},
};

/// Writes `event` to the outbox; it is published once the caller's transaction commits.
/// Returns the event id.
pub async fn emit(
    tx: &impl GenericClient,
    organization_id: Uuid,
    occurred_at: Timestamp,
    event: Event,
) -> Result<Uuid, tokio_postgres::Error> {
    let envelope = Envelope {
        event_id: Uuid::new_v4(),
        organization_id,
        occurred_at,
        event,
    };
    // Serializing plain data with string keys cannot fail.
    let payload = serde_json::to_value(&envelope).expect("an event serializes to JSON");
    // Relayed later, outside this work: the row keeps its trace for the event.
    let trace = Trace::current().map(|t| t.child().to_string());
    let statement = tx
        .prepare_cached(
            "INSERT INTO outbox (event_id, organization_id, routing_key, payload, traceparent)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &envelope.event_id,
            &organization_id,
            &envelope.event.routing_key(),
            &payload,
            &trace,
        ],
    )
    .await?;
    Ok(envelope.event_id)
}

/// The header carrying an event's outbox `seq`: the order a live stream resumes from.
pub const SEQ_HEADER: &str = "cita-seq";

/// Events claimed per transaction.
const BATCH: i64 = 100;
/// How long an idle relay waits before looking again.
const IDLE: Duration = Duration::from_millis(200);

/// Publishes up to one batch of unpublished events to `exchange`; returns how many.
pub async fn relay_batch(
    pool: &Pool,
    publisher: &Publisher,
    exchange: &str,
) -> Result<usize, Infra> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "SELECT seq, event_id, routing_key, payload::text, traceparent FROM outbox
             WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
            &[&BATCH],
        )
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut published = Vec::with_capacity(rows.len());
    for row in &rows {
        let (seq, event_id, routing_key, payload): (i64, Uuid, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let mut headers = FieldTable::default();
        headers.insert(SEQ_HEADER.into(), AMQPValue::LongLongInt(seq));
        if let Some(trace) = row.get::<_, Option<String>>(4) {
            headers.insert(HEADER.into(), AMQPValue::LongString(trace.into()));
        }
        let properties = BasicProperties::default()
            .with_message_id(event_id.to_string().into())
            .with_content_type("application/json".into())
            .with_headers(headers);
        match publisher
            .publish(exchange, &routing_key, payload.as_bytes(), properties)
            .await
        {
            Ok(()) => {}
            // No queue subscribes to this kind of event: published to nobody, which is
            // not a reason to hold back every event behind it.
            Err(PublishError::Unroutable { .. }) => {
                tracing::debug!(%event_id, %routing_key, "no queue is bound for this event");
            }
            Err(error) => return Err(error.into()),
        }
        published.push(seq);
    }
    tx.execute(
        "UPDATE outbox SET published_at = now() WHERE seq = ANY($1)",
        &[&published],
    )
    .await?;
    tx.commit().await?;
    Ok(published.len())
}

/// Relays until `shutdown`, backing off after errors; counts what it published.
pub async fn run(
    pool: Pool,
    publisher: std::sync::Arc<Publisher>,
    exchange: String,
    relayed: prometheus_client::metrics::counter::Counter,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let pause = match relay_batch(&pool, &publisher, &exchange).await {
            Ok(0) => IDLE,
            Ok(n) => {
                relayed.inc_by(n as u64);
                Duration::ZERO
            }
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "outbox relay failed; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => {}
        }
    }
}
