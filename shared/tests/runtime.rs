//! The worker runtime's promises, with handlers of the test's own on a real broker and
//! database: a stopping worker gives up a slow delivery within the shutdown timeout and
//! the next process handles it once; a failure is classified once — an outage is tried
//! again in place, a constraint violation dead-lettered with the database's words.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use cita_shared::{
    amqp::{
        Handler, PublishError, Settlement,
        consumer::REASON_HEADER,
        topology::{CITA_EVENTS, REMINDERS_EVENTS, dead_name},
    },
    clock::Clock,
    config::{Component, Settings},
    error::Infra,
    runtime::{Consume, Worker},
    testing::{TestBroker, TestDb, eventually},
};
use lapin::{BasicProperties, Channel, message::Delivery, types::AMQPValue};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(15);

/// What the test handler does with a delivery.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    /// Never finishes (a turn stuck on a slow model).
    Hang,
    /// Records the message's id in `handled_events` (a primary key).
    Record,
    /// Fails as if the broker were away, `n` times, then records.
    FailTransiently(u32),
}

struct Recorder {
    pool: deadpool_postgres::Pool,
    behaviour: Behaviour,
    started: Arc<Notify>,
    attempts: Arc<AtomicU32>,
}

impl Handler for Recorder {
    type Error = Infra;
    type Admission = ();

    fn admit(&self, _: &Delivery) {}

    async fn attempt(
        &self,
        delivery: &Delivery,
        (): &(),
        _: &Channel,
    ) -> Result<Settlement, Infra> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        self.started.notify_one();
        match self.behaviour {
            Behaviour::Hang => std::future::pending().await,
            Behaviour::FailTransiently(n) if attempt <= n => {
                return Err(PublishError::NotConnected.into());
            }
            _ => {}
        }
        let id: Uuid = std::str::from_utf8(&delivery.data)
            .ok()
            .and_then(|s| s.parse().ok())
            .expect("the test publishes uuids");
        let client = self.pool.get().await?;
        client
            .execute("INSERT INTO handled_events (event_id) VALUES ($1)", &[&id])
            .await?;
        Ok(Settlement::Ack)
    }
}

struct Bench {
    db: TestDb,
    broker: TestBroker,
}

impl Bench {
    async fn new() -> Self {
        let broker = TestBroker::new().await;
        broker.declare().await;
        Bench {
            db: TestDb::migrated().await,
            broker,
        }
    }

    fn settings(&self) -> Settings {
        let env: HashMap<String, String> = [
            ("CITA_DATABASE_URL", self.db.url.expose().to_string()),
            ("CITA_AMQP_URL", self.broker.url.clone()),
            ("CITA_AMQP_PREFIX", self.broker.prefix.clone()),
            ("CITA_SHUTDOWN_TIMEOUT_MS", "300".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Settings::from_env(Component::Reminders, env).unwrap()
    }

    /// A worker consuming `reminders.events` with the test's handler.
    async fn worker(
        &self,
        behaviour: Behaviour,
    ) -> (
        CancellationToken,
        tokio::task::JoinHandle<()>,
        Arc<Notify>,
        Arc<AtomicU32>,
    ) {
        let shutdown = CancellationToken::new();
        let settings = self.settings();
        let mut worker = Worker::new(&settings, Clock::system(), shutdown.clone(), 1).unwrap();
        let started = Arc::new(Notify::new());
        let attempts = Arc::new(AtomicU32::new(0));
        let handler = Arc::new(Recorder {
            pool: worker.pool.clone(),
            behaviour,
            started: started.clone(),
            attempts: attempts.clone(),
        });
        worker.consume(Consume::new(REMINDERS_EVENTS, "consumer", 4), handler);
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let task = tokio::spawn(worker.run(admin));
        (shutdown, task, started, attempts)
    }

    /// Publishes `id` as an event (routed to `reminders.events`).
    async fn publish(&self, id: Uuid) {
        self.broker
            .channel
            .basic_publish(
                self.broker.topology.name(CITA_EVENTS).as_str().into(),
                "appointment.booked".into(),
                Default::default(),
                id.to_string().as_bytes(),
                BasicProperties::default(),
            )
            .await
            .unwrap();
    }

    async fn recorded(&self, id: Uuid) -> i64 {
        self.db
            .pool
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT count(*) FROM handled_events WHERE event_id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get(0)
    }
}

#[tokio::test]
async fn a_stopping_worker_leaves_a_slow_delivery_to_the_next_process_which_handles_it_once() {
    let bench = Bench::new().await;
    let (stop, stopped, started, _) = bench.worker(Behaviour::Hang).await;
    let id = Uuid::new_v4();
    bench.publish(id).await;
    tokio::time::timeout(PATIENCE, started.notified())
        .await
        .expect("the slow delivery started");

    stop.cancel();
    // The handler never returns: only the shutdown bound (300 ms here) ends the drain.
    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("the worker stops within its shutdown timeout")
        .unwrap();
    assert_eq!(bench.recorded(id).await, 0, "the slow delivery did nothing");

    let (stop, next, _, attempts) = bench.worker(Behaviour::Record).await;
    eventually(PATIENCE, "the next worker handles it", || async {
        (bench.recorded(id).await == 1).then_some(())
    })
    .await;
    stop.cancel();
    next.await.unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    assert_eq!(bench.recorded(id).await, 1);
    assert!(
        bench
            .broker
            .drain(&dead_name(REMINDERS_EVENTS))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_constraint_violation_is_dead_lettered_with_the_database_words_and_not_retried() {
    let bench = Bench::new().await;
    let (stop, task, _, attempts) = bench.worker(Behaviour::Record).await;
    let id = Uuid::new_v4();
    bench.publish(id).await;
    eventually(PATIENCE, "the first copy recorded", || async {
        (bench.recorded(id).await == 1).then_some(())
    })
    .await;
    // The same id again: the primary key refuses it, and will every time.
    bench.publish(id).await;
    let dead = eventually(PATIENCE, "the second copy dead-lettered", || async {
        let dead = bench.broker.drain(&dead_name(REMINDERS_EVENTS)).await;
        (!dead.is_empty()).then_some(dead)
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    let headers = dead[0].delivery.properties.headers().clone().unwrap();
    let Some(AMQPValue::LongString(reason)) = headers.inner().get(REASON_HEADER) else {
        panic!("no reason: {headers:?}");
    };
    assert!(
        reason
            .to_string()
            .contains("duplicate key value violates unique constraint"),
        "{reason}"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "tried once each");
}

#[tokio::test]
async fn an_outage_is_waited_out_in_place_and_the_message_handled() {
    let bench = Bench::new().await;
    let (stop, task, _, attempts) = bench.worker(Behaviour::FailTransiently(2)).await;
    let id = Uuid::new_v4();
    bench.publish(id).await;
    eventually(PATIENCE, "handled after the outage", || async {
        (bench.recorded(id).await == 1).then_some(())
    })
    .await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert!(
        bench
            .broker
            .drain(&dead_name(REMINDERS_EVENTS))
            .await
            .is_empty()
    );
    assert_eq!(bench.broker.count(REMINDERS_EVENTS).await, 0);
}
