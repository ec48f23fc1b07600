//! The running service with Mercado Pago played by the fake: a deposit hold gets its
//! payment link, a notification (as the ingress queues it) is re-fetched and confirms
//! the hold once, a wrong amount confirms nothing, a late payment whose time was taken is
//! refunded, and notifications that can't be believed are dead-lettered alone.

mod common;

use std::{collections::HashMap, time::Duration};

use cita_scheduling::payments::accounts;
use cita_shared::{
    amqp::topology::{
        MERCADOPAGO_ROUTING_KEY, PAYMENT_WEBHOOKS, PAYMENTS_NOTIFICATIONS, dead_name,
    },
    config::{Component, Settings},
    contracts::scheduling::{Reply, Request, SetStatusRequest, Status},
    crypto::Keyring,
    secret::Secret,
    testing::{FakeMercadoPago, TestBroker, eventually},
};
use common::Shop;
use lapin::{
    BasicProperties,
    options::BasicPublishOptions,
    types::{AMQPValue, FieldTable},
};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(15);
const SECRETS_KEY: &str = "t1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SELLER: &str = "2025436155";
const TOKEN: &str = "APP_USR-barberia";

struct Running {
    shop: Shop,
    broker: TestBroker,
    provider: FakeMercadoPago,
    shutdown: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn start() -> Running {
    let shop = Shop::open().await;
    let broker = TestBroker::new().await;
    let provider = FakeMercadoPago::start().await;
    let env: HashMap<String, String> = [
        ("CITA_DATABASE_URL", shop.db.url.expose().to_string()),
        ("CITA_AMQP_URL", broker.url.clone()),
        ("CITA_AMQP_PREFIX", broker.prefix.clone()),
        ("CITA_SECRETS_KEY", SECRETS_KEY.into()),
        ("CITA_MERCADOPAGO_API_BASE", provider.base.clone()),
        (
            "CITA_MERCADOPAGO_NOTIFICATION_URL",
            "https://cita.example/webhooks/mercadopago".into(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = Settings::from_env(Component::Scheduling, env).unwrap();
    let keyring = Keyring::parse(&Secret::new(SECRETS_KEY)).unwrap();
    accounts::store(
        &shop.db.pool,
        &keyring,
        shop.org,
        SELLER,
        &Secret::new(TOKEN),
    )
    .await
    .unwrap();
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE organizations SET deposit_kind = 'fixed', deposit_value = 10000, hold_minutes = 60",
            &[],
        )
        .await
        .unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let clock = cita_scheduling::ops::Clock::fixed(common::at("2026-12-07T08:00"));
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            cita_scheduling::serve(&settings, admin, clock, shutdown)
                .await
                .unwrap()
        }
    });
    Running {
        shop,
        broker,
        provider,
        shutdown,
    }
}

impl Running {
    /// What the ingress queues for a notification about `payment_id` of `seller`.
    async fn notify(&self, payment_id: &str, seller: &str) {
        let mut headers = FieldTable::default();
        headers.insert(
            "x-mercadopago-data-id".into(),
            AMQPValue::LongString(payment_id.into()),
        );
        headers.insert(
            "x-mercadopago-type".into(),
            AMQPValue::LongString("payment".into()),
        );
        let body = json!({"type": "payment", "data": {"id": payment_id}, "user_id": seller});
        self.broker
            .channel
            .basic_publish(
                self.broker.topology.name(PAYMENT_WEBHOOKS).as_str().into(),
                MERCADOPAGO_ROUTING_KEY.into(),
                BasicPublishOptions::default(),
                body.to_string().as_bytes(),
                BasicProperties::default().with_headers(headers),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// A customer's hold at `local`, and its deposit's id once its link is made.
    async fn hold_with_link(&self, local: &str, key: &str) -> (Uuid, Uuid, String) {
        let shop = &self.shop;
        let held = shop
            .book(shop.booking(shop.customer(shop.ana), local, key))
            .await
            .unwrap();
        assert_eq!(held.status, Status::Pending);
        let pool = shop.db.pool.clone();
        let (deposit, preference): (Uuid, String) = eventually(PATIENCE, "the payment link", || {
            let pool = pool.clone();
            async move {
                let row = pool
                    .get()
                    .await
                    .unwrap()
                    .query_opt(
                        "SELECT id, preference_id FROM deposits WHERE appointment_id = $1 AND link IS NOT NULL",
                        &[&held.id],
                    )
                    .await
                    .unwrap()?;
                Some((row.get(0), row.get(1)))
            }
        })
        .await;
        (held.id, deposit, preference)
    }

    /// A hold at `local` whose deposit the customer paid by its link; (appointment, payment).
    async fn paid_hold(&self, local: &str, key: &str) -> (Uuid, String) {
        let (held, _, preference) = self.hold_with_link(local, key).await;
        let payment = self.provider.pay(&preference);
        self.notify(&payment, SELLER).await;
        self.wait_for(held, ("confirmed", "paid")).await;
        (held, payment)
    }

    /// The owner marks `appointment` a no-show at `local` (after it started).
    async fn no_show(&self, appointment: Uuid, local: &str) {
        let shop = &self.shop;
        shop.set_now(local);
        let reply = shop
            .scheduler
            .handle(Request::SetStatus(SetStatusRequest {
                actor: shop.staff(shop.owner),
                idempotency_key: format!("no-show:{appointment}"),
                appointment_id: appointment,
                status: Status::NoShow,
                notes: None,
            }))
            .await;
        assert!(matches!(reply, Reply::Ok(_)), "{reply:?}");
    }

    async fn status_of(&self, appointment: Uuid) -> (String, String) {
        let row = self
            .shop
            .db
            .pool
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT a.status, d.status FROM appointments a JOIN deposits d ON d.appointment_id = a.id
                 WHERE a.id = $1",
                &[&appointment],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    }

    async fn wait_for(&self, appointment: Uuid, expected: (&str, &str)) {
        eventually(PATIENCE, &format!("{expected:?}"), || async {
            let now = self.status_of(appointment).await;
            (now.0 == expected.0 && now.1 == expected.1).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn a_deposit_paid_by_link_confirms_once_and_a_wrong_amount_confirms_nothing() {
    let running = start().await;
    let shop = &running.shop;
    let (held, deposit, preference) = running.hold_with_link("2026-12-07T12:00", "ana").await;
    let made = running.provider.preferences();
    assert_eq!(made.len(), 1);
    let body = &made[0].1;
    assert_eq!(body["external_reference"], deposit.to_string());
    assert_eq!(body["items"][0]["unit_price"], 100.0);
    assert_eq!(body["items"][0]["currency_id"], "MXN");
    assert_eq!(
        body["notification_url"],
        "https://cita.example/webhooks/mercadopago"
    );
    let created = running
        .provider
        .requests()
        .into_iter()
        .find(|r| r.path == "/checkout/preferences")
        .unwrap();
    assert_eq!(
        created.authorization.as_deref(),
        Some("Bearer APP_USR-barberia")
    );
    assert_eq!(
        shop.sql_count(
            "SELECT count(*) FROM outbox WHERE routing_key = 'appointment.deposit_requested'"
        )
        .await,
        1
    );

    let payment = running.provider.pay(&preference);
    running.notify(&payment, SELLER).await;
    running.notify(&payment, SELLER).await;
    running.wait_for(held, ("confirmed", "paid")).await;
    // The duplicate is harmless: one confirmation, whatever order they were handled in.
    eventually(PATIENCE, "both notifications handled", || async {
        (running.broker.count(PAYMENTS_NOTIFICATIONS).await == 0).then_some(())
    })
    .await;
    assert_eq!(
        shop.sql_count(&format!(
            "SELECT count(*) FROM outbox WHERE routing_key = 'appointment.booked'
             AND jsonb_path_exists(payload, '$.**.appointment.id ? (@ == \"{held}\")')"
        ))
        .await,
        1
    );

    let (short, deposit, _) = running.hold_with_link("2026-12-07T16:00", "short").await;
    let wrong = running.provider.add_payment(json!({
        "status": "approved", "transaction_amount": 10.0, "currency_id": "MXN",
        "external_reference": deposit.to_string(),
    }));
    running.notify(&wrong, SELLER).await;
    eventually(PATIENCE, "the owner told of the wrong amount", || async {
        (shop
            .sql_count(
                "SELECT count(*) FROM outbox WHERE routing_key = 'appointment.deposit_issue'",
            )
            .await
            == 1)
            .then_some(())
    })
    .await;
    assert_eq!(
        running.status_of(short).await,
        ("pending".into(), "awaiting".into())
    );
}

#[tokio::test]
async fn a_late_payment_whose_time_was_taken_is_refunded_and_bad_notifications_are_dead_lettered() {
    let running = start().await;
    let shop = &running.shop;
    let (late, _, preference) = running.hold_with_link("2026-12-07T12:00", "late").await;
    let client = shop.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE appointments SET status = 'cancelled', hold_outcome = 'expired' WHERE id = $1",
            &[&late],
        )
        .await
        .unwrap();
    let staff: Uuid = client
        .query_one("SELECT staff_id FROM appointments WHERE id = $1", &[&late])
        .await
        .unwrap()
        .get(0);
    let mut taken = shop.booking(shop.staff(shop.owner), "2026-12-07T12:00", "taken");
    taken.customer_id = Some(shop.beto);
    taken.staff_id = Some(staff);
    shop.book(taken).await.unwrap();

    let payment = running.provider.pay(&preference);
    running.notify(&payment, SELLER).await;
    running.wait_for(late, ("cancelled", "refunded")).await;
    assert_eq!(
        running.provider.refunds(),
        [(payment.clone(), format!("refund:{payment}"))]
    );

    let dead = dead_name(PAYMENTS_NOTIFICATIONS);
    running.notify(&payment, "not-a-seller-of-ours").await;
    let no_reference = running.provider.add_payment(json!({
        "status": "approved", "transaction_amount": 100.0, "currency_id": "MXN",
        "external_reference": Uuid::new_v4().to_string(),
    }));
    running.notify(&no_reference, SELLER).await;
    running.notify("404404", SELLER).await;
    eventually(PATIENCE, "three dead letters", || async {
        (running.broker.count(&dead).await == 3).then_some(())
    })
    .await;
    assert_eq!(
        running.provider.refunds().len(),
        1,
        "nothing else moved money"
    );
}

#[tokio::test]
async fn a_cancelled_paid_appointment_refunds_its_deposit_and_a_no_show_keeps_it() {
    use cita_shared::contracts::scheduling::CancelRequest;
    let running = start().await;
    let shop = &running.shop;
    let (cancelled, payment) = running.paid_hold("2026-12-07T12:00", "cancelled").await;
    let reply = shop
        .scheduler
        .handle(Request::Cancel(CancelRequest {
            actor: shop.customer(shop.ana),
            idempotency_key: "cancel".into(),
            appointment_id: cancelled,
            reason: None,
        }))
        .await;
    assert!(matches!(reply, Reply::Ok(_)), "{reply:?}");
    running.wait_for(cancelled, ("cancelled", "refunded")).await;
    assert_eq!(
        running.provider.refunds(),
        [(payment.clone(), format!("refund:{payment}"))]
    );

    let (missed, _) = running.paid_hold("2026-12-07T16:00", "missed").await;
    running.no_show(missed, "2026-12-07T17:00").await;
    running.wait_for(missed, ("no_show", "forfeited")).await;
    assert_eq!(
        running.provider.refunds().len(),
        1,
        "a no-show gives nothing back"
    );

    // The books agree with Mercado Pago's: what was kept and what went back, per business.
    let ours = shop
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT COALESCE(sum(amount_minor) FILTER (WHERE status IN ('paid', 'forfeited')), 0)::bigint,
                    COALESCE(sum(amount_minor) FILTER (WHERE status = 'refunded'), 0)::bigint
             FROM deposits WHERE organization_id = $1",
            &[&shop.org],
        )
        .await
        .unwrap();
    let theirs = |status: &str| -> i64 {
        running
            .provider
            .payments()
            .iter()
            .filter(|p| p["status"] == status)
            .map(|p| (p["transaction_amount"].as_f64().unwrap() * 100.0).round() as i64)
            .sum()
    };
    assert_eq!(
        (ours.get::<_, i64>(0), ours.get::<_, i64>(1)),
        (theirs("approved"), theirs("refunded"))
    );
    assert_eq!((theirs("approved"), theirs("refunded")), (10_000, 10_000));
}

#[tokio::test]
async fn a_business_that_gives_deposits_back_refunds_a_no_show() {
    let running = start().await;
    let shop = &running.shop;
    shop.db
        .pool
        .get()
        .await
        .unwrap()
        .execute("UPDATE organizations SET no_show_forfeits = false", &[])
        .await
        .unwrap();
    let (missed, payment) = running.paid_hold("2026-12-07T12:00", "missed").await;
    running.no_show(missed, "2026-12-07T13:00").await;
    running.wait_for(missed, ("no_show", "refunded")).await;
    assert_eq!(
        running.provider.refunds(),
        [(payment.clone(), format!("refund:{payment}"))]
    );
}
