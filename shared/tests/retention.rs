//! Pruning with backdated rows: what is past its age goes, what is not stays, a send
//! still waiting is never pruned, each organization's own retention applies to its
//! messages and AI usage, and a table far behind is caught up in batches.

use cita_shared::{config::RetentionSettings, retention, testing::TestDb};
use jiff::Timestamp;
use std::time::Duration;
use uuid::Uuid;

const HOUR: Duration = Duration::from_secs(3600);

fn settings() -> RetentionSettings {
    RetentionSettings {
        outbox: 24 * HOUR,
        dedupe: 48 * HOUR,
        rejected: 24 * HOUR,
        notifications: 72 * HOUR,
    }
}

async fn execute(db: &TestDb, sql: &str) {
    db.pool
        .get()
        .await
        .unwrap()
        .batch_execute(sql)
        .await
        .unwrap();
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.pool
        .get()
        .await
        .unwrap()
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

/// An organization keeping messages `days`, with a conversation and a staff member.
async fn organization(db: &TestDb, slug: &str, days: i32) -> (Uuid, Uuid, Uuid) {
    let client = db.pool.get().await.unwrap();
    let org: Uuid = client
        .query_one(
            "INSERT INTO organizations (slug, name, timezone, retention_days)
             VALUES ($1, $1, 'America/Mexico_City', $2) RETURNING id",
            &[&slug, &days],
        )
        .await
        .unwrap()
        .get(0);
    let staff: Uuid = client
        .query_one(
            "INSERT INTO staff (organization_id, name, role) VALUES ($1, 'Rosa', 'owner') RETURNING id",
            &[&org],
        )
        .await
        .unwrap()
        .get(0);
    let conversation: Uuid = client
        .query_one(
            "INSERT INTO conversations (organization_id, wa_id, staff_id)
             VALUES ($1, '5215512345678', $2) RETURNING id",
            &[&org, &staff],
        )
        .await
        .unwrap()
        .get(0);
    (org, conversation, staff)
}

#[tokio::test]
async fn rows_past_their_age_are_pruned_and_the_rest_kept() {
    let db = TestDb::migrated().await;
    let (org, conversation, staff) = organization(&db, "keeps-400", 400).await;
    let (short, short_conversation, _) = organization(&db, "keeps-30", 30).await;
    execute(
        &db,
        &format!(
            "INSERT INTO outbox (organization_id, routing_key, payload, created_at, published_at) VALUES
               ('{org}', 'a', '{{}}', now() - interval '3 days', now() - interval '2 days'),
               ('{org}', 'a', '{{}}', now() - interval '1 hour', now() - interval '1 hour'),
               ('{org}', 'a', '{{}}', now() - interval '9 days', NULL);
             INSERT INTO handled_events (event_id, handled_at) VALUES
               (gen_random_uuid(), now() - interval '3 days'), (gen_random_uuid(), now());
             INSERT INTO command_results (organization_id, idempotency_key, command, result, created_at) VALUES
               ('{org}', 'old', 'book', '{{}}', now() - interval '3 days'),
               ('{org}', 'new', 'book', '{{}}', now());
             INSERT INTO rejected_webhooks (received_at, reason, body) VALUES
               (now() - interval '2 days', 'old', ''), (now(), 'new', '');
             INSERT INTO early_statuses (wa_message_id, status, received_at) VALUES
               ('wamid.old', 'read', now() - interval '2 days'), ('wamid.new', 'read', now());
             INSERT INTO notifications (organization_id, kind, dedupe_key, audience, staff_id, due_at, stale_at, status, created_at) VALUES
               ('{org}', 'agenda', 'sent-old', 'staff', '{staff}', now(), now(), 'sent', now() - interval '4 days'),
               ('{org}', 'agenda', 'pending-old', 'staff', '{staff}', now(), now(), 'pending', now() - interval '4 days'),
               ('{org}', 'agenda', 'sent-new', 'staff', '{staff}', now(), now(), 'sent', now());
             INSERT INTO messages (organization_id, conversation_id, direction, sender_kind, content_kind, status, created_at) VALUES
               ('{org}', '{conversation}', 'inbound', 'customer', 'text', 'received', now() - interval '401 days'),
               ('{org}', '{conversation}', 'outbound', 'ai', 'text', 'pending', now() - interval '401 days'),
               ('{org}', '{conversation}', 'inbound', 'customer', 'text', 'received', now() - interval '31 days'),
               ('{short}', '{short_conversation}', 'inbound', 'customer', 'text', 'received', now() - interval '31 days'),
               ('{short}', '{short_conversation}', 'inbound', 'customer', 'text', 'received', now() - interval '29 days');
             INSERT INTO ai_usage (organization_id, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_micro_usd, created_at) VALUES
               ('{org}', 'm', 1, 1, 0, 0, 1, now() - interval '401 days'),
               ('{short}', 'm', 1, 1, 0, 0, 1, now() - interval '31 days'),
               ('{short}', 'm', 1, 1, 0, 0, 1, now() - interval '1 day');
             INSERT INTO audit_log (organization_id, at, actor_kind, actor_id, channel, action, entity, operation) VALUES
               ('{short}', now() - interval '31 days', 'staff', '{staff}', 'api', 'book', 'appointments', 'insert'),
               ('{short}', now() - interval '1 day', 'staff', '{staff}', 'api', 'book', 'appointments', 'insert'),
               ('{org}', now() - interval '31 days', 'staff', '{staff}', 'api', 'book', 'appointments', 'insert');"
        ),
    )
    .await;

    let pruned = retention::prune(&db.pool, &settings(), Timestamp::now())
        .await
        .unwrap();

    assert_eq!(
        (
            pruned.outbox,
            pruned.handled_events,
            pruned.command_results,
            pruned.rejected_webhooks,
            pruned.early_statuses,
            pruned.notifications,
            pruned.messages,
            pruned.ai_usage,
            pruned.audit_log
        ),
        (1, 1, 1, 1, 1, 1, 2, 2, 1)
    );
    // Unpublished events are never pruned, however old; nor are pending notifications.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notifications WHERE dedupe_key <> 'sent-old'"
        )
        .await,
        2
    );
    // The 400-day organization keeps its 31-day-old message and its waiting send; the
    // 30-day one keeps only what is younger than 30 days.
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM messages WHERE organization_id = '{org}'")
        )
        .await,
        2
    );
    assert_eq!(
        count(&db, &format!("SELECT count(*) FROM messages WHERE organization_id = '{org}' AND status = 'pending'")).await,
        1
    );
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM messages WHERE organization_id = '{short}'")
        )
        .await,
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM ai_usage").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM audit_log").await, 2);

    let again = retention::prune(&db.pool, &settings(), Timestamp::now())
        .await
        .unwrap();
    assert_eq!(again.total(), 0, "a second run finds nothing");
}

#[tokio::test]
async fn a_table_far_behind_is_caught_up_in_batches() {
    let db = TestDb::migrated().await;
    execute(
        &db,
        "INSERT INTO handled_events (event_id, handled_at)
         SELECT gen_random_uuid(), now() - interval '5 days' FROM generate_series(1, 2500)",
    )
    .await;
    let pruned = retention::prune(&db.pool, &settings(), Timestamp::now())
        .await
        .unwrap();
    assert_eq!(pruned.handled_events, 2500);
    assert_eq!(count(&db, "SELECT count(*) FROM handled_events").await, 0);
}
