//! The outbox relay: publishes committed events to `cita.events` with confirms, then
//! marks them. Replicas share the work with `FOR UPDATE SKIP LOCKED`. A crash between
//! publishing and marking publishes the event again later — a duplicate with the same
//! `event_id`, never a loss.

use std::time::Duration;

use cita_shared::amqp::{PublishError, Publisher};
use deadpool_postgres::Pool;
use lapin::BasicProperties;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("publishing an event: {0}")]
    Publish(#[from] PublishError),
}

/// Events claimed per transaction.
const BATCH: i64 = 100;
/// How long an idle relay waits before looking again.
const IDLE: Duration = Duration::from_millis(200);

/// Publishes up to one batch of unpublished events to `exchange`; returns how many.
pub async fn relay_batch(
    pool: &Pool,
    publisher: &Publisher,
    exchange: &str,
) -> Result<usize, RelayError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "SELECT seq, event_id, routing_key, payload::text FROM outbox
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
        let properties = BasicProperties::default()
            .with_message_id(event_id.to_string().into())
            .with_content_type("application/json".into());
        publisher
            .publish(exchange, &routing_key, payload.as_bytes(), properties)
            .await?;
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
                tracing::warn!(%error, "outbox relay failed; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => {}
        }
    }
}
