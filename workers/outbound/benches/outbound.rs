//! `make bench`: a real `cita-outbound` process against the local PostgreSQL, RabbitMQ
//! and Redis and a fake Graph API in this process. For each phase, the commands for 10
//! organizations are queued first; then the worker starts and the bench measures how
//! fast the sends reach the fake (first to last arrival) and the worker's peak memory.
//!
//! Phases: limits set high with the fake answering at once, then after 200 ms; and the
//! default 80 messages/s per number, where the figure should sit at 10 × 80 = 800/s.
//! `BENCH_SENDS` (default 6000) sets the size of the unthrottled phases.

#![allow(clippy::print_stdout)]

use std::{
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use cita_shared::{
    admin::Health,
    amqp::{
        Publisher, PublisherOptions,
        topology::{CITA_COMMANDS, OUTBOUND_SEND},
    },
    contracts::outbound::{
        Command as SendCommand, Message, Outgoing, Parameter, Purpose, Template,
    },
    crypto::Keyring,
    secret::Secret,
    testing::{Barbershop, FakeGraph, TestBroker, TestDb, free_port, memory_kib},
};
use lapin::BasicProperties;
use uuid::Uuid;

const SECRETS_KEY: &str = "b1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const ORGANIZATIONS: usize = 10;

struct Phase {
    name: &'static str,
    sends: usize,
    latency: Duration,
    env: &'static [(&'static str, &'static str)],
}

#[tokio::main]
async fn main() {
    let sends: usize = std::env::var("BENCH_SENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6000);
    let unthrottled: &[(&str, &str)] = &[
        ("CITA_OUTBOUND_NUMBER_RATE", "1000000"),
        ("CITA_OUTBOUND_NUMBER_BURST", "1000000"),
        ("CITA_OUTBOUND_PAIR_BURST", "1000000"),
    ];
    let phases = [
        Phase {
            name: "limits high, Graph API answers at once",
            sends,
            latency: Duration::ZERO,
            env: unthrottled,
        },
        Phase {
            name: "limits high, Graph API answers after 200 ms",
            sends,
            latency: Duration::from_millis(200),
            env: unthrottled,
        },
        Phase {
            name: "default 80/s per number (ceiling 800/s), answers at once",
            sends: 2400,
            latency: Duration::ZERO,
            env: &[("CITA_OUTBOUND_PAIR_BURST", "1000000")],
        },
    ];
    println!("cita-outbound: {ORGANIZATIONS} organizations, each send to its own recipient");
    for phase in &phases {
        run(phase).await;
    }
}

async fn run(phase: &Phase) {
    let db = TestDb::migrated().await;
    let broker = TestBroker::new().await;
    broker.declare().await;
    let graph = FakeGraph::start().await;
    graph.set_latency(phase.latency);

    let mut organizations = Vec::new();
    for i in 0..ORGANIZATIONS {
        let shop = Barbershop::builder()
            .slug(format!("org-{i}"))
            .phone_number_id(format!("1000000000000{i:02}"))
            .access_token(
                Keyring::parse(&Secret::new(SECRETS_KEY)).unwrap(),
                "EAAG-bench",
            )
            .create(&db.pool)
            .await;
        organizations.push(shop.organization);
    }
    let client = db.pool.get().await.unwrap();

    queue(&broker, &organizations, phase.sends).await;

    let admin_port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cita-outbound"))
        .env("CITA_DATABASE_URL", db.url.expose())
        .env("CITA_AMQP_URL", &broker.url)
        .env("CITA_AMQP_PREFIX", &broker.prefix)
        .env("CITA_REDIS_URL", "redis://127.0.0.1:6379/0")
        .env("CITA_GRAPH_API_BASE", &graph.base)
        .env("CITA_SECRETS_KEY", SECRETS_KEY)
        .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
        .env("RUST_LOG", "warn")
        .envs(phase.env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();

    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    while graph.sends().len() < phase.sends {
        assert!(
            Instant::now() < deadline,
            "only {} sends arrived",
            graph.sends().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every send recorded as sent, exactly once.
    let sent: i64 = loop {
        let n: i64 = client
            .query_one("SELECT count(*) FROM messages WHERE status = 'sent'", &[])
            .await
            .unwrap()
            .get(0);
        if n as usize >= phase.sends || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let peak_kib = memory_kib(pid, "VmHWM:");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();

    let arrivals = graph.sends();
    let span = arrivals
        .last()
        .unwrap()
        .at
        .duration_since(arrivals[0].at)
        .as_secs_f64();
    let per_number = per_number_rates(&arrivals);
    println!("\n== {} ==", phase.name);
    println!(
        "  {} sends in {:.2} s → {:.0} sends/s (first to last arrival at the fake)",
        arrivals.len(),
        span,
        (arrivals.len() - 1) as f64 / span
    );
    println!(
        "  per number: {:.0}–{:.0} sends/s; recorded sent: {sent}; calls to Meta: {}",
        per_number.0,
        per_number.1,
        arrivals.len()
    );
    println!(
        "  peak resident memory of cita-outbound: {:.1} MiB",
        peak_kib as f64 / 1024.0
    );
    assert_eq!(arrivals.len(), phase.sends, "no send went out twice");
    assert_eq!(sent as usize, phase.sends);
}

/// Queues `n` commands round-robin over the organizations, with confirms.
async fn queue(broker: &TestBroker, organizations: &[Uuid], n: usize) {
    let ready = Health::default().register("amqp");
    let (publisher, task) = Publisher::start(
        Secret::new(broker.url.clone()),
        broker.topology.clone(),
        PublisherOptions {
            connection_name: "bench-queue".into(),
            confirm_timeout: Duration::from_secs(30),
            channels: 4,
            ..Default::default()
        },
        ready.clone(),
    );
    while !ready.get() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let exchange = broker.topology.name(CITA_COMMANDS);
    let publisher: Arc<Publisher> = publisher;
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(n.div_ceil(16)) {
        let chunk = chunk.to_vec();
        let (publisher, exchange, organizations) =
            (publisher.clone(), exchange.clone(), organizations.to_vec());
        tasks.spawn(async move {
            for i in chunk {
                let command = SendCommand::SendV1(Outgoing {
                    command_id: Uuid::new_v4(),
                    organization_id: organizations[i % organizations.len()],
                    to: format!("52155{i:08}"),
                    conversation_id: None,
                    purpose: Purpose::Reminder,
                    reply_to: None,
                    message: Message::Template(Template {
                        name: "recordatorio_cita".into(),
                        language: "es_MX".into(),
                        header: vec![],
                        body: vec![Parameter {
                            name: None,
                            text: "martes 14 de octubre, 10:30".into(),
                        }],
                        buttons: vec![],
                    }),
                    fallback: None,
                    author: None,
                });
                let body = serde_json::to_vec(&command).unwrap();
                publisher
                    .publish(&exchange, OUTBOUND_SEND, &body, BasicProperties::default())
                    .await
                    .unwrap();
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    publisher.close();
    let _ = task.await;
}

/// The slowest and fastest organization's rate, from their own first to last arrival.
fn per_number_rates(arrivals: &[cita_shared::testing::Recorded]) -> (f64, f64) {
    let mut by_number: std::collections::HashMap<&str, Vec<Instant>> = Default::default();
    for arrival in arrivals {
        by_number
            .entry(arrival.path.as_str())
            .or_default()
            .push(arrival.at);
    }
    let rates: Vec<f64> = by_number
        .values()
        .map(|times| {
            let span = times.last().unwrap().duration_since(times[0]).as_secs_f64();
            (times.len() - 1) as f64 / span.max(1e-9)
        })
        .collect();
    let min = rates.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = rates.iter().cloned().fold(0.0, f64::max);
    (min, max)
}
