//! The audit log: every row a person's command changes, with who, the channel, and the
//! row before and after, written in the command's own transaction.

mod common;

use cita_shared::contracts::scheduling::{CancelRequest, Channel, Reply, Request, SchedulingError};
use common::Shop;
use serde_json::Value;

struct Entry {
    actor_kind: String,
    channel: String,
    action: String,
    entity: String,
    operation: String,
    before: Option<Value>,
    after: Option<Value>,
}

async fn log(shop: &Shop) -> Vec<Entry> {
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .query(
            "SELECT actor_kind, channel, action, entity, operation, before, after
             FROM audit_log ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| Entry {
            actor_kind: r.get(0),
            channel: r.get(1),
            action: r.get(2),
            entity: r.get(3),
            operation: r.get(4),
            before: r.get(5),
            after: r.get(6),
        })
        .collect()
}

#[tokio::test]
async fn a_booking_and_its_cancellation_are_logged_with_who_where_and_what() {
    let shop = Shop::open().await;
    let booked = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-08T10:00", "ana"))
        .await
        .unwrap();
    let entries = log(&shop).await;
    let insert = entries
        .iter()
        .find(|e| e.entity == "appointments")
        .expect("the booking is logged");
    assert_eq!(
        (
            insert.actor_kind.as_str(),
            insert.channel.as_str(),
            insert.action.as_str(),
            insert.operation.as_str()
        ),
        ("customer", "whatsapp", "book", "insert")
    );
    assert!(insert.before.is_none());
    assert_eq!(insert.after.as_ref().unwrap()["status"], "confirmed");

    let mut actor = shop.staff(shop.owner);
    actor.channel = Channel::Api;
    let cancelled = shop
        .scheduler
        .handle(Request::Cancel(CancelRequest {
            actor,
            idempotency_key: "cancel".into(),
            appointment_id: booked.id,
            reason: Some("enfermo".into()),
        }))
        .await;
    assert!(matches!(cancelled, Reply::Ok(_)), "{cancelled:?}");
    let entries = log(&shop).await;
    let update = entries.last().unwrap();
    assert_eq!(
        (
            update.actor_kind.as_str(),
            update.channel.as_str(),
            update.action.as_str(),
            update.operation.as_str()
        ),
        ("staff", "api", "cancel", "update")
    );
    assert_eq!(update.before.as_ref().unwrap()["status"], "confirmed");
    assert_eq!(update.after.as_ref().unwrap()["status"], "cancelled");
    assert_eq!(
        update.after.as_ref().unwrap()["cancellation_reason"],
        "enfermo"
    );
}

#[tokio::test]
async fn refusals_and_the_workers_bookkeeping_leave_no_entry_and_secrets_never_do() {
    let shop = Shop::open().await;
    let refused = shop
        .book(shop.booking(shop.customer(shop.ana), "2026-12-08T03:00", "night"))
        .await;
    assert!(
        matches!(refused, Err(SchedulingError::NotAvailable { .. })),
        "{refused:?}"
    );
    // What a worker writes outside a command (a name learned from a profile, a token).
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(
            "UPDATE customers SET name = 'Ana María';
             UPDATE organizations SET access_token_ciphertext = '\\x01', access_token_key_id = 'k1'",
        )
        .await
        .unwrap();
    assert_eq!(shop.sql_count("SELECT count(*) FROM audit_log").await, 0);

    // A command that changes the organization logs it without its token.
    let settings = cita_shared::contracts::scheduling::Settings {
        reminder_offsets_minutes: vec![1440],
        review_request_after_minutes: None,
        review_link: None,
        assistant_mode: cita_shared::contracts::scheduling::AssistantMode::Guided,
        handoff_minutes: 720,
        change_cutoff_minutes: 0,
        approval_required: false,
        hold_minutes: 120,
        deposit: Default::default(),
        no_show_forfeits: true,
    };
    let saved = shop
        .scheduler
        .handle(Request::UpdateSettings(
            cita_shared::contracts::scheduling::UpdateSettingsRequest {
                actor: shop.staff(shop.owner),
                idempotency_key: "settings".into(),
                expected_version: 1,
                settings,
            },
        ))
        .await;
    assert!(matches!(saved, Reply::Ok(_)), "{saved:?}");
    let entries = log(&shop).await;
    assert_eq!(entries.len(), 1);
    let after = entries[0].after.as_ref().unwrap();
    assert_eq!(after["assistant_mode"], "guided");
    assert_eq!(entries[0].before.as_ref().unwrap()["settings_version"], 1);
    assert!(after.get("access_token_ciphertext").is_none());
    assert!(after.get("access_token_key_id").is_none());
}
