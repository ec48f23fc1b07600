//! Messages caused by the clock: exactly once with concurrent workers and crashes,
//! catch-up after downtime, stale skipping, agendas at 08:00 local on daylight-saving
//! days, and conversation housekeeping.

mod common;

use std::{collections::HashSet, time::Duration};

use cita_reminders::{dispatch, planner};
use cita_shared::{
    amqp::topology::CITA_COMMANDS,
    config::{Component, Settings},
    contracts::outbound::Message,
    crypto::Keyring,
    secret::Secret,
    testing::FakeGraph,
};
use common::{BARBER_PHONE, OWNER_PHONE, Shop, at, text_of};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// `n` appointments an hour apart from `first`, each with a reminder due at `due`.
async fn due_reminders(shop: &Shop, n: i32, first: &str, due: &str) {
    let client = shop.db.pool.get().await.unwrap();
    client
        .execute(
            "WITH a AS (
                 INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                           starts_at, ends_at, status, source)
                 SELECT $1, $2, $3, $4, $5::timestamptz + make_interval(hours => i),
                        $5::timestamptz + make_interval(hours => i, mins => 45), 'confirmed', 'whatsapp'
                 FROM generate_series(0, $6 - 1) AS i
                 RETURNING id, starts_at)
             INSERT INTO notifications (organization_id, kind, dedupe_key, appointment_id, audience,
                                        customer_id, due_at, stale_at)
             SELECT $1, 'reminder', 'reminder:' || a.id || ':1440', a.id, 'customer', $2, $7, a.starts_at
             FROM a",
            &[
                &shop.org,
                &shop.customer,
                &shop.barber,
                &shop.service,
                &at(first),
                &n,
                &at(due),
            ],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn three_workers_publish_500_due_reminders_exactly_once() {
    let shop = Shop::open("America/Mexico_City").await;
    due_reminders(&shop, 500, "2026-12-14T14:00:00Z", "2026-12-13T14:00:00Z").await;
    let exchange = shop.broker.topology.name(CITA_COMMANDS);
    let worker = || async {
        let mut published = 0;
        loop {
            let done = dispatch::dispatch_batch(
                &shop.db.pool,
                &shop.publisher,
                &exchange,
                at("2026-12-13T14:00:00Z"),
                50,
            )
            .await
            .unwrap();
            if done.total() == 0 {
                return published;
            }
            published += done.published;
        }
    };
    let (a, b, c) = tokio::join!(worker(), worker(), worker());
    assert_eq!(a + b + c, 500);
    assert!(a > 0 && b > 0 && c > 0, "the work was shared: {a} {b} {c}");
    let sends = shop.commands().await;
    assert_eq!(sends.len(), 500);
    let ids: HashSet<Uuid> = sends.iter().map(|s| s.command_id).collect();
    assert_eq!(ids.len(), 500, "no reminder was published twice");
    assert!(shop.rows("reminder").await.iter().all(|r| r.1 == "sent"));
}

#[tokio::test]
async fn a_crash_between_publish_and_mark_still_reaches_the_customer_once() {
    let shop = Shop::open("America/Mexico_City").await;
    due_reminders(&shop, 3, "2026-12-14T14:00:00Z", "2026-12-13T14:00:00Z").await;
    let client = shop.db.pool.get().await.unwrap();
    // The mark fails as if the worker died right after publishing.
    client
        .batch_execute(
            "CREATE FUNCTION crash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'crash'; END $$;
             CREATE TRIGGER crash BEFORE UPDATE ON notifications FOR EACH STATEMENT EXECUTE FUNCTION crash();",
        )
        .await
        .unwrap();
    let exchange = shop.broker.topology.name(CITA_COMMANDS);
    let crashed = dispatch::dispatch_batch(
        &shop.db.pool,
        &shop.publisher,
        &exchange,
        at("2026-12-13T14:00:00Z"),
        50,
    )
    .await;
    assert!(matches!(
        crashed,
        Err(cita_shared::error::Infra::Postgres(_))
    ));
    client
        .batch_execute("DROP TRIGGER crash ON notifications")
        .await
        .unwrap();
    // After the restart the same reminders are published again.
    assert_eq!(shop.dispatch("2026-12-13T14:00:01Z").await.published, 3);

    // Outbound, running against a fake Graph API, sends each reminder once.
    let graph = FakeGraph::start().await;
    let key = "t1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let sealed = Keyring::parse(&Secret::new(key))
        .unwrap()
        .seal(b"EAAG-token", shop.org.as_bytes());
    client
        .execute(
            "UPDATE organizations SET access_token_ciphertext = $2, access_token_key_id = $3 WHERE id = $1",
            &[&shop.org, &sealed.ciphertext, &sealed.key_id],
        )
        .await
        .unwrap();
    let env = [
        ("CITA_DATABASE_URL", shop.db.url.expose().to_string()),
        ("CITA_AMQP_URL", shop.broker.url.clone()),
        ("CITA_AMQP_PREFIX", shop.broker.prefix.clone()),
        ("CITA_GRAPH_API_BASE", graph.base.clone()),
        ("CITA_SECRETS_KEY", key.to_string()),
        ("CITA_OUTBOUND_PAIR_BURST", "100".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = Settings::from_env(Component::Outbound, env).unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    let outbound = tokio::spawn({
        let stop = stop.clone();
        async move { cita_outbound::serve(&settings, admin, stop).await.unwrap() }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let sent: i64 = client
            .query_one("SELECT count(*) FROM messages WHERE status = 'sent'", &[])
            .await
            .unwrap()
            .get(0);
        let queued = shop
            .broker
            .count(cita_shared::amqp::topology::OUTBOUND_SEND)
            .await;
        if sent == 3 && queued == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sent {sent}, queued {queued}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Stopped, outbound finishes the commands in hand and takes no more: a duplicate not
    // yet sent would be back in the queue.
    stop.cancel();
    outbound.await.unwrap();
    assert_eq!(
        shop.broker
            .count(cita_shared::amqp::topology::OUTBOUND_SEND)
            .await,
        0
    );
    assert_eq!(graph.sends().len(), 3, "six commands, three messages");
    shop.publisher.close();
}

#[tokio::test]
async fn after_downtime_due_reminders_go_and_stale_ones_are_skipped() {
    let shop = Shop::open("America/Mexico_City").await;
    // Due yesterday; one appointment is still ahead, the other has started.
    due_reminders(&shop, 1, "2026-12-14T18:00:00Z", "2026-12-13T18:00:00Z").await;
    due_reminders(&shop, 1, "2026-12-14T15:00:00Z", "2026-12-13T15:00:00Z").await;
    let done = shop.dispatch("2026-12-14T16:00:00Z").await;
    assert_eq!((done.published, done.skipped), (1, 1));
    let rows = shop.rows("reminder").await;
    assert_eq!(rows[0].1, "skipped");
    assert_eq!(rows[0].3.as_deref(), Some("stale"));
    assert_eq!(rows[1].1, "sent");
    let sends = shop.commands().await;
    assert_eq!(sends.len(), 1);
    match &sends[0].message {
        Message::Template(t) => assert_eq!(t.body[2].text, "lunes 14 de diciembre, 12:00"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn agendas_are_at_eight_local_on_both_daylight_saving_days() {
    let shop = Shop::open("America/Tijuana").await;
    let pool = &shop.db.pool;
    // Saturday 7 March 2026, noon local: today's agenda (08:00 PST = 16:00Z) is 4 hours
    // old and no longer planned; tomorrow's is at 08:00 PDT (15:00Z), after the jump.
    planner::plan_agendas(pool, at("2026-03-07T20:00:00Z"))
        .await
        .unwrap();
    // Saturday 31 October, 11:00 local (PDT): today's agenda was at 15:00Z and is still
    // worth sending; Sunday 1 November is at 08:00 PST again (16:00Z).
    planner::plan_agendas(pool, at("2026-10-31T18:00:00Z"))
        .await
        .unwrap();
    let client = pool.get().await.unwrap();
    let due: Vec<(String, jiff::Timestamp)> = client
        .query(
            "SELECT DISTINCT details->>'date', due_at FROM notifications WHERE kind = 'agenda' ORDER BY 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        due,
        [
            ("2026-03-08".to_string(), at("2026-03-08T15:00:00Z")),
            ("2026-10-31".to_string(), at("2026-10-31T15:00:00Z")),
            ("2026-11-01".to_string(), at("2026-11-01T16:00:00Z")),
        ]
    );
    // Planning again adds nothing.
    assert_eq!(
        planner::plan_agendas(pool, at("2026-03-07T20:05:00Z"))
            .await
            .unwrap(),
        0
    );

    // Sunday 8 March: the barber has two appointments, the owner none of her own.
    shop.appointment(shop.barber, "2026-03-08T17:00:00Z").await; // 10:00 PDT
    shop.appointment(shop.barber, "2026-03-08T18:00:00Z").await; // 11:00 PDT
    client
        .execute(
            "DELETE FROM notifications WHERE details->>'date' <> '2026-03-08'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(shop.dispatch("2026-03-08T14:59:00Z").await.total(), 0);
    let done = shop.dispatch("2026-03-08T15:00:00Z").await;
    assert_eq!((done.published, done.skipped), (2, 0));
    let sends = shop.commands().await;
    let barber = sends.iter().find(|s| s.to == BARBER_PHONE).unwrap();
    assert_eq!(
        text_of(barber),
        "Buenos días, Luis. Hoy, domingo 8 de marzo, hay 2 citas:\n10:00 Corte — Ana\n11:00 Corte — Ana"
    );
    let owner = sends.iter().find(|s| s.to == OWNER_PHONE).unwrap();
    assert!(
        text_of(owner).contains("10:00 Corte — Ana (Luis)"),
        "{}",
        text_of(owner)
    );
    assert_eq!(
        owner.fallback.as_ref().unwrap().body[0].text,
        "Agenda de hoy, domingo 8 de marzo: 2 citas. La primera a las 10:00."
    );
}

#[tokio::test]
async fn staff_without_appointments_get_no_agenda() {
    let shop = Shop::open("America/Mexico_City").await;
    planner::plan_agendas(&shop.db.pool, at("2026-12-14T12:00:00Z"))
        .await
        .unwrap();
    let done = shop.dispatch("2026-12-14T14:00:00Z").await;
    // The owner hears that the day is empty; the barber is not written to.
    assert_eq!((done.published, done.skipped), (1, 1));
    let sends = shop.commands().await;
    assert_eq!(sends[0].to, OWNER_PHONE);
    assert_eq!(
        text_of(&sends[0]),
        "Buenos días, Rosa. Hoy, lunes 14 de diciembre, no hay citas en la agenda."
    );
}

#[tokio::test]
async fn handoffs_run_out_and_closed_windows_resolve() {
    let shop = Shop::open("America/Mexico_City").await;
    let client = shop.db.pool.get().await.unwrap();
    let conversation = |wa: &'static str, status: &'static str, until: Option<&str>, last: &str| {
        let client = &client;
        let (org, until, last) = (shop.org, until.map(at), at(last));
        async move {
            let customer: Uuid = client
                .query_one(
                    "INSERT INTO customers (organization_id, wa_id) VALUES ($1, $2) RETURNING id",
                    &[&org, &wa],
                )
                .await
                .unwrap()
                .get(0);
            client
                .query_one(
                    "INSERT INTO conversations (organization_id, wa_id, customer_id, status, handed_off_until, last_inbound_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[&org, &wa, &customer, &status, &until, &last],
                )
                .await
                .unwrap()
                .get::<_, Uuid>(0)
        }
    };
    let expired = conversation(
        "521550001",
        "handed_off",
        Some("2026-12-14T11:00:00Z"),
        "2026-12-14T10:00:00Z",
    )
    .await;
    let paused = conversation(
        "521550002",
        "handed_off",
        Some("2026-12-14T13:00:00Z"),
        "2026-12-14T10:00:00Z",
    )
    .await;
    let stale = conversation("521550003", "active", None, "2026-12-13T11:00:00Z").await;
    let fresh = conversation("521550004", "active", None, "2026-12-13T13:00:00Z").await;
    let done = planner::housekeeping(&shop.db.pool, at("2026-12-14T12:00:00Z"))
        .await
        .unwrap();
    assert_eq!(done, (1, 1));
    let status = async |id: Uuid| -> String {
        client
            .query_one("SELECT status FROM conversations WHERE id = $1", &[&id])
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(status(expired).await, "active");
    assert_eq!(status(paused).await, "handed_off");
    assert_eq!(status(stale).await, "resolved");
    assert_eq!(status(fresh).await, "active");
}
