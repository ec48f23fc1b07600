//! Due notifications become send commands on `outbound.send`. A batch of due rows is
//! locked (`FOR UPDATE SKIP LOCKED`, so replicas take disjoint batches), each is composed
//! from fresh data, all are published with confirms, and the rows are marked in the same
//! transaction. A crash between publishing and marking leaves the rows pending: they are
//! published again later with the same command ids, which outbound refuses to send twice.

use std::{sync::Arc, time::Duration};

use cita_shared::{
    amqp::{Publisher, topology::OUTBOUND_SEND},
    clock::Clock,
    contracts::outbound::{Command, Outgoing},
    error::{Chain, Infra},
    trace,
};
use deadpool_postgres::{Pool, Transaction};
use jiff::{Timestamp, tz::TimeZone};
use lapin::{
    BasicProperties,
    types::{AMQPValue, FieldTable},
};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::{
    compose::{AppointmentView, Due, compose},
    kind::Kind,
};

/// What one batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    pub published: usize,
    pub skipped: usize,
}

impl Dispatched {
    pub fn total(&self) -> usize {
        self.published + self.skipped
    }
}

/// Publishes up to `batch` notifications due at `now` to `exchange`'s `outbound.send`.
pub async fn dispatch_batch(
    pool: &Pool,
    publisher: &Arc<Publisher>,
    commands_exchange: &str,
    now: Timestamp,
    batch: i64,
) -> Result<Dispatched, Infra> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let statement = tx
        .prepare_cached(
            "SELECT n.id, n.organization_id, n.kind, n.command_id, n.details, n.stale_at, n.staff_id,
                    o.name, o.timezone, o.locale,
                    CASE n.audience WHEN 'staff' THEN s.phone ELSE COALESCE(cu.wa_id, cu.phone) END,
                    CASE n.audience WHEN 'staff' THEN s.name ELSE cu.name END,
                    COALESCE(s.role = 'owner', false),
                    a.id IS NOT NULL, a.starts_at, a.status IN ('pending', 'confirmed'),
                    st.name, ast.name, cu.name, n.traceparent, o.review_link,
                    a.status = 'pending', a.id
             FROM notifications n
             JOIN organizations o ON o.id = n.organization_id
             LEFT JOIN staff s ON s.id = n.staff_id
             LEFT JOIN appointments a ON a.id = n.appointment_id
             LEFT JOIN customers cu ON cu.id = COALESCE(n.customer_id, a.customer_id)
             LEFT JOIN service_types st ON st.id = a.service_type_id
             LEFT JOIN staff ast ON ast.id = a.staff_id
             WHERE n.status = 'pending' AND n.due_at <= $1
             ORDER BY n.due_at
             LIMIT $2
             FOR UPDATE OF n SKIP LOCKED",
        )
        .await?;
    let rows = tx.query(&statement, &[&now, &batch]).await?;
    if rows.is_empty() {
        return Ok(Dispatched::default());
    }
    let mut due = Vec::with_capacity(rows.len());
    let mut skipped: Vec<(Uuid, &'static str)> = Vec::new();
    for row in &rows {
        let stored: String = row.get(2);
        let Some(kind) = Kind::parse(&stored) else {
            // Written by a newer binary during a rollout; this one can't word it.
            tracing::warn!(kind = %stored, "notification of an unknown kind; skipped");
            skipped.push((row.get(0), "unknown_kind"));
            continue;
        };
        let timezone: String = row.get(8);
        let has_appointment: bool = row.get(13);
        due.push(Due {
            id: row.get(0),
            organization_id: row.get(1),
            kind,
            command_id: row.get(3),
            details: row.get(4),
            stale_at: row.get(5),
            staff_id: row.get(6),
            business: row.get(7),
            tz: TimeZone::get(&timezone).unwrap_or(TimeZone::UTC),
            locale: row.get(9),
            recipient: row.get(10),
            recipient_name: row.get(11),
            recipient_is_owner: row.get(12),
            conversation_id: None,
            traceparent: row.get(19),
            review_link: row.get(20),
            appointment: has_appointment.then(|| AppointmentView {
                id: row.get(22),
                pending: row.get(21),
                starts_at: row.get(14),
                live: row.get(15),
                service: row.get(16),
                staff_name: row.get(17),
                customer_name: row.get(18),
            }),
        });
    }
    attach_conversations(&tx, &mut due).await?;

    let mut published = Vec::new();
    let mut sends = JoinSet::new();
    for row in &due {
        let composed = match compose(&tx, row, now).await? {
            Ok(composed) => composed,
            Err(skip) => {
                skipped.push((row.id, skip.as_str()));
                continue;
            }
        };
        let (message, fallback, purpose) = composed;
        let command = Command::SendV1(Outgoing {
            command_id: row.command_id,
            organization_id: row.organization_id,
            to: row.recipient.clone().unwrap_or_default(),
            conversation_id: row.conversation_id,
            purpose,
            reply_to: None,
            message,
            fallback,
            author: None,
        });
        let body = serde_json::to_vec(&command).expect("a command serializes to JSON");
        let (publisher, exchange, id) = (publisher.clone(), commands_exchange.to_string(), row.id);
        let mut properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_message_id(id.to_string().into());
        if let Some(trace) = &row.traceparent {
            let mut headers = FieldTable::default();
            headers.insert(
                trace::HEADER.into(),
                AMQPValue::LongString(trace.clone().into()),
            );
            properties = properties.with_headers(headers);
        }
        sends.spawn(async move {
            publisher
                .publish(&exchange, OUTBOUND_SEND, &body, properties)
                .await
                .map(|()| id)
        });
    }
    while let Some(joined) = sends.join_next().await {
        // A failed publish aborts the whole batch: nothing is marked, everything is
        // retried, and what did go out is deduplicated by outbound.
        published.push(joined.expect("a publish task does not panic")?);
    }
    let (skipped_ids, reasons): (Vec<Uuid>, Vec<&str>) = skipped.iter().copied().unzip();
    tx.execute(
        "UPDATE notifications SET status = 'sent', sent_at = $2 WHERE id = ANY($1)",
        &[&published, &now],
    )
    .await?;
    tx.execute(
        "UPDATE notifications n SET status = 'skipped', skipped_reason = s.reason
         FROM unnest($1::uuid[], $2::text[]) AS s(id, reason) WHERE n.id = s.id",
        &[&skipped_ids, &reasons],
    )
    .await?;
    tx.commit().await?;
    Ok(Dispatched {
        published: published.len(),
        skipped: skipped.len(),
    })
}

/// The conversation with each recipient, when there is one (for the message's record).
async fn attach_conversations(tx: &Transaction<'_>, due: &mut [Due]) -> Result<(), Infra> {
    let (orgs, recipients): (Vec<Uuid>, Vec<String>) = due
        .iter()
        .filter_map(|d| d.recipient.clone().map(|r| (d.organization_id, r)))
        .unzip();
    if recipients.is_empty() {
        return Ok(());
    }
    let rows = tx
        .query(
            "SELECT c.organization_id, c.wa_id, c.id FROM conversations c
             JOIN unnest($1::uuid[], $2::text[]) AS r(org, wa_id)
               ON c.organization_id = r.org AND c.wa_id = r.wa_id",
            &[&orgs, &recipients],
        )
        .await?;
    for row in rows {
        let (org, wa_id, id): (Uuid, String, Uuid) = (row.get(0), row.get(1), row.get(2));
        for d in due
            .iter_mut()
            .filter(|d| d.organization_id == org && d.recipient.as_deref() == Some(wa_id.as_str()))
        {
            d.conversation_id = Some(id);
        }
    }
    Ok(())
}

/// Dispatches until `shutdown`, backing off after errors.
pub async fn run(
    pool: Pool,
    publisher: Arc<Publisher>,
    commands_exchange: String,
    clock: Clock,
    metrics: crate::metrics::Metrics,
    shutdown: tokio_util::sync::CancellationToken,
) {
    const BATCH: i64 = 500;
    while !shutdown.is_cancelled() {
        let pause = match dispatch_batch(&pool, &publisher, &commands_exchange, clock.now(), BATCH)
            .await
        {
            Ok(done) if done.total() as i64 == BATCH => {
                metrics.dispatched(done.published, done.skipped);
                Duration::ZERO
            }
            Ok(done) => {
                metrics.dispatched(done.published, done.skipped);
                Duration::from_millis(250)
            }
            Err(error) => {
                tracing::warn!(error = %Chain(&error), "dispatching notifications failed; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = shutdown.cancelled() => {}
        }
    }
}
