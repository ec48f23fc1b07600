//! A safety net for turn requests that were lost (a worker crashed holding a lease, a
//! publish failed after a commit): every so often, conversations with messages waiting
//! longer than a turn should take, and no live lease, get a turn request again. A
//! duplicate request is harmless: the lease lets one turn run, and it finds the rest
//! answered.

use cita_shared::db::Cached;
use std::time::Duration;

use cita_shared::{
    amqp::{Publisher, Topology},
    contracts::conversation::Turn,
    error::{Chain, Infra},
};
use deadpool_postgres::Pool;
use tokio_util::sync::CancellationToken;

use crate::intake::request_turns;

/// Requests turns for conversations whose messages have waited more than `after`
/// without a live lease; returns how many.
pub async fn sweep(
    pool: &Pool,
    publisher: &Publisher,
    topology: &Topology,
    after: Duration,
) -> Result<usize, Infra> {
    let client = pool.get().await?;
    let rows = client
        .rows(
            "SELECT DISTINCT m.organization_id, m.conversation_id
             FROM messages m JOIN conversations v ON v.id = m.conversation_id
             WHERE m.direction = 'inbound' AND m.answered_at IS NULL
               AND m.created_at < now() - make_interval(secs => $1)
               AND (v.turn_lease_until IS NULL OR v.turn_lease_until < now())
               -- A failed turn comes back through its delay queue; it is picked up here
               -- only if that retry is long overdue (lost).
               AND (v.turn_retry_at IS NULL OR v.turn_retry_at < now() - interval '2 minutes')
             LIMIT 500",
            &[&after.as_secs_f64()],
        )
        .await?;
    drop(client);
    let turns: Vec<Turn> = rows
        .iter()
        .map(|r| Turn {
            organization_id: r.get(0),
            conversation_id: r.get(1),
            attempt: 0,
        })
        .collect();
    let n = turns.len();
    request_turns(publisher, topology, turns).await?;
    Ok(n)
}

pub async fn run(
    pool: Pool,
    publisher: std::sync::Arc<Publisher>,
    topology: Topology,
    every: Duration,
    after: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        match sweep(&pool, &publisher, &topology, after).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                conversations = n,
                "requested turns for messages left waiting"
            ),
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "cannot sweep for waiting messages")
            }
        }
    }
}
