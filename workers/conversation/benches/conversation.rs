//! `make bench`: the conversation path end to end, without the model's own time.
//!
//! A real `cita-conversation` process, with `cita-ingress`, `cita-scheduling` and
//! `cita-outbound` running in this process, against the local PostgreSQL, RabbitMQ and
//! Redis; Meta's Graph API and Anthropic's Messages API are fakes in this process.
//!
//! 1. Overhead: signed webhooks POSTed to the ingress one after another (each from a new
//!    customer), a fake model that answers at once with one tool call to scheduling and
//!    then text; latency from the POST to the reply's arrival at the fake Graph API.
//!    `BENCH_TURNS` (default 1000).
//! 2. Throughput: 100, then 200 conversations at once (the worker's turn concurrency is
//!    200), each writing again as soon as it is answered, with a fake model that takes
//!    1 s per call; turns per second, the worker's peak memory, and CPU per turn of every
//!    process. `BENCH_ROUNDS` (default 10) turns per conversation.

#![allow(clippy::print_stdout)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    collections::HashMap,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use cita_shared::whatsapp::signature::sign;
use cita_shared::{
    config::{Component, Settings},
    crypto::Keyring,
    secret::Secret,
    testing::{
        FakeGraph, FakeModel, ModelReply, TestBroker, cpu_ms, free_port, memory_kib, pids_named,
    },
};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "bench-secret";
const SECRETS_KEY: &str = "b1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const CONVERSATIONS: usize = 200;

/// Who waits for a reply to which customer.
type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<Instant>>>>;

#[tokio::main]
async fn main() {
    let turns: usize = env_number("BENCH_TURNS", 1000);
    let rounds: usize = env_number("BENCH_ROUNDS", 10);

    let shop = common::Shop::open().await;
    let broker = TestBroker::new().await;
    broker.declare().await;
    let graph = FakeGraph::start().await;
    let model = FakeModel::start().await;
    let keyring = Keyring::parse(&Secret::new(SECRETS_KEY)).unwrap();
    let sealed = keyring.seal(b"EAAG-bench", shop.org.as_bytes());
    shop.execute(
        "UPDATE organizations SET access_token_ciphertext = $2, access_token_key_id = $3 WHERE id = $1",
        &[&shop.org, &sealed.ciphertext, &sealed.key_id],
    )
    .await;
    // No business is busy on Sundays in the demo; open every day so "tomorrow" works.
    shop.execute(
        "INSERT INTO business_hours (organization_id, location_id, weekday, opens_at, closes_at)
         SELECT organization_id, location_id, 7, opens_at, closes_at FROM business_hours WHERE weekday = 1",
        &[],
    )
    .await;
    shop.execute(
        "INSERT INTO staff_working_hours (organization_id, staff_id, weekday, starts_at, ends_at)
         SELECT organization_id, staff_id, 7, starts_at, ends_at FROM staff_working_hours WHERE weekday = 1",
        &[],
    )
    .await;

    let env: HashMap<String, String> = [
        ("CITA_DATABASE_URL", shop.db.url.expose().to_string()),
        ("CITA_AMQP_URL", broker.url.clone()),
        ("CITA_AMQP_PREFIX", broker.prefix.clone()),
        ("CITA_GRAPH_API_BASE", graph.base.clone()),
        ("CITA_SECRETS_KEY", SECRETS_KEY.to_string()),
        ("CITA_OUTBOUND_PAIR_BURST", "1000000".to_string()),
        ("CITA_OUTBOUND_NUMBER_RATE", "1000000".to_string()),
        ("CITA_OUTBOUND_NUMBER_BURST", "1000000".to_string()),
        ("CITA_META_APP_SECRET", SECRET.to_string()),
        ("CITA_META_VERIFY_TOKEN", "bench".to_string()),
        ("CITA_ANTHROPIC_API_KEY", "bench-key".to_string()),
        ("CITA_ANTHROPIC_BASE_URL", model.base.clone()),
        ("CITA_TURN_CONCURRENCY", CONVERSATIONS.to_string()),
        ("CITA_DATABASE_POOL_SIZE", "32".to_string()),
        ("CITA_FLOOD_MESSAGES_PER_MINUTE", "1000".to_string()),
        ("CITA_AI_DAILY_BUDGET_USD", "1000000".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let stop = CancellationToken::new();
    let settings = |component| Settings::from_env(component, env.clone()).unwrap();
    {
        let settings = settings(Component::Scheduling);
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let clock = cita_scheduling::ops::Clock::system();
        let stop = stop.clone();
        tokio::spawn(async move {
            cita_scheduling::serve(&settings, admin, clock, stop)
                .await
                .unwrap()
        });
    }
    {
        let settings = settings(Component::Outbound);
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let stop = stop.clone();
        tokio::spawn(async move { cita_outbound::serve(&settings, admin, stop).await.unwrap() });
    }
    let (ingress_addr, ingress_admin) = {
        let settings = settings(Component::Ingress);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_addr = admin.local_addr().unwrap();
        let stop = stop.clone();
        tokio::spawn(async move {
            cita_ingress::serve(&settings, listener, admin, stop)
                .await
                .unwrap()
        });
        (addr, admin_addr)
    };
    let conversation_admin = format!("127.0.0.1:{}", free_port());
    let worker = Worker(
        Command::new(env!("CARGO_BIN_EXE_cita-conversation"))
            .envs(&env)
            .env("CITA_ADMIN_ADDR", &conversation_admin)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = worker.0.id();

    // Route every text reply at the fake Graph API to whoever waits for that customer.
    let waiting: Waiting = Arc::default();
    {
        let waiting = waiting.clone();
        let mut arrivals = graph.subscribe();
        tokio::spawn(async move {
            while let Ok(send) = arrivals.recv().await {
                // Texts from the AI, buttons and lists from guided mode.
                if send.body["type"] != "text" && send.body["type"] != "interactive" {
                    continue;
                }
                let to = send.body["to"].as_str().unwrap_or_default().to_owned();
                if let Some(tx) = waiting.lock().unwrap().remove(&to) {
                    let _ = tx.send(send.at);
                }
            }
        });
    }
    let poster = Poster {
        addr: ingress_addr,
        waiting: waiting.clone(),
    };
    ready(ingress_admin).await;
    ready(conversation_admin.parse().unwrap()).await;

    // Phase 1: one tool call to scheduling, then text, answered at once.
    let corte = shop.corte;
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("America/Mexico_City").unwrap())
        .date()
        .tomorrow()
        .unwrap()
        .to_string();
    model.respond_with(move |request| {
        let last = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned()
            .unwrap_or_default();
        let answered_tool = last["content"]
            .as_array()
            .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"));
        if answered_tool {
            ModelReply::text("Mañana tengo 10:00, 10:45 y 11:30. ¿Cuál prefieres?")
        } else {
            ModelReply::tool(
                "check_availability",
                json!({"service_id": corte, "date_from": tomorrow}),
            )
        }
    });
    // Warm-up (connections, statement caches, the first prompt build).
    for n in 0..20 {
        poster.turn(&format!("52166{n:08}"), n as u64).await;
    }
    let cpu_before = Cpu::now(pid);
    let mut latencies = Vec::with_capacity(turns);
    for n in 0..turns {
        latencies.push(poster.turn(&format!("52155{n:08}"), 1_000 + n as u64).await);
    }
    println!(
        "cita-conversation, end to end: ingress → intake → turn → model (instant) → scheduling → model → outbound → Graph API"
    );
    println!(
        "\n== overhead, {turns} turns one after another, each: 2 model calls + 1 scheduling RPC =="
    );
    percentiles(latencies);
    Cpu::now(pid).since(&cpu_before).print(turns);

    // Phase 2: many conversations at once, 1 s per model call (text only): first half the
    // configured concurrency, then all of it.
    model.respond_with(|_| {
        ModelReply::Slow(
            Duration::from_secs(1),
            Box::new(ModelReply::text("Anotado, ¿algo más?")),
        )
    });
    for (phase, conversations) in [CONVERSATIONS / 2, CONVERSATIONS].into_iter().enumerate() {
        throughput(
            &poster,
            &shop,
            pid,
            phase,
            conversations,
            rounds,
            "model 1 s per call",
        )
        .await;
    }

    // Phase 3: guided mode, no model: each message is answered with the menu.
    shop.execute("UPDATE organizations SET assistant_mode = 'guided'", &[])
        .await;
    let cpu_before = Cpu::now(pid);
    let mut latencies = Vec::with_capacity(turns);
    for n in 0..turns {
        latencies.push(
            poster
                .turn(&format!("52144{n:08}"), 50_000_000 + n as u64)
                .await,
        );
    }
    println!("\n== guided mode, {turns} turns one after another, each answered with the menu ==");
    percentiles(latencies);
    Cpu::now(pid).since(&cpu_before).print(turns);
    throughput(
        &poster,
        &shop,
        pid,
        2,
        CONVERSATIONS,
        rounds,
        "guided mode, no model",
    )
    .await;

    drop(worker);
    stop.cancel();
}

/// p50/p90/p99/max of `latencies`.
fn percentiles(mut latencies: Vec<Duration>) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "  p50 {:.1} ms   p90 {:.1} ms   p99 {:.1} ms   max {:.1} ms",
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap())
    );
}

/// The worker process, stopped with SIGTERM when the bench ends — or fails half-way.
struct Worker(std::process::Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// `conversations` customers at once, each writing again as soon as it is answered.
async fn throughput(
    poster: &Poster,
    shop: &common::Shop,
    pid: u32,
    phase: usize,
    conversations: usize,
    rounds: usize,
    what: &str,
) {
    let rss_before = memory_kib(pid, "VmRSS:");
    let cpu_before = Cpu::now(pid);
    let started = Instant::now();
    let stop = CancellationToken::new();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
    {
        let (stop, peak) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !stop.is_cancelled() {
                peak.fetch_max(
                    memory_kib(pid, "VmRSS:"),
                    std::sync::atomic::Ordering::Relaxed,
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..conversations {
        let poster = poster.clone();
        tasks.spawn(async move {
            let wa_id = format!("5217{phase}{c:08}");
            for round in 0..rounds {
                let n = 10_000_000 * (phase as u64 + 1) + (c * 1000 + round) as u64;
                poster.turn(&wa_id, n).await;
            }
            Instant::now()
        });
    }
    let mut finished = started;
    while let Some(done) = tasks.join_next().await {
        finished = finished.max(done.unwrap());
    }
    stop.cancel();
    let span = finished.duration_since(started).as_secs_f64();
    let total = conversations * rounds;
    println!(
        "\n== throughput, {conversations} conversations at once, {rounds} turns each, {what} =="
    );
    let ceiling = if what.contains("model 1 s") {
        format!(" (with 1 s model calls the ceiling is {conversations}/s)")
    } else {
        String::new()
    };
    println!(
        "  {total} turns in {span:.1} s → {:.0} turns/s{ceiling}",
        total as f64 / span
    );
    println!(
        "  cita-conversation resident memory: {:.1} MiB before, {:.1} MiB peak under load",
        rss_before as f64 / 1024.0,
        peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0,
    );
    Cpu::now(pid).since(&cpu_before).print(total);
    let unanswered: i64 = shop
        .scalar(
            "SELECT count(*) FROM messages WHERE direction = 'inbound' AND answered_at IS NULL",
            &[],
        )
        .await;
    println!("  inbound messages left unanswered: {unanswered}");
}

/// CPU milliseconds used so far by the conversation worker, this process (ingress,
/// scheduling, outbound and the fakes), PostgreSQL, RabbitMQ and Redis.
struct Cpu([u64; 5]);

impl Cpu {
    fn now(conversation: u32) -> Self {
        let sum = |name: &str| pids_named(name).into_iter().map(cpu_ms).sum::<u64>();
        Cpu([
            cpu_ms(conversation),
            cpu_ms(std::process::id()),
            sum("postgres"),
            sum("beam.smp"),
            sum("redis-server"),
        ])
    }

    fn since(&self, before: &Cpu) -> Cpu {
        Cpu(std::array::from_fn(|i| {
            self.0[i].saturating_sub(before.0[i])
        }))
    }

    fn print(&self, turns: usize) {
        let per = |i: usize| self.0[i] as f64 / turns.max(1) as f64;
        println!(
            "  CPU per turn: conversation {:.1} ms, ingress+scheduling+outbound+fakes {:.1} ms, PostgreSQL {:.1} ms, RabbitMQ {:.1} ms, Redis {:.1} ms",
            per(0),
            per(1),
            per(2),
            per(3),
            per(4)
        );
    }
}

/// Waits until `/readyz` on `admin` answers 200.
async fn ready(admin: std::net::SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = async {
            let stream = tokio::net::TcpStream::connect(admin).await.ok()?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .ok()?;
            tokio::spawn(connection);
            let request = Request::get("/readyz")
                .header("host", "bench")
                .body(Full::new(Bytes::new()))
                .ok()?;
            Some(sender.send_request(request).await.ok()?.status())
        }
        .await;
        if status == Some(hyper::StatusCode::OK) {
            return;
        }
        assert!(Instant::now() < deadline, "{admin} not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone)]
struct Poster {
    addr: std::net::SocketAddr,
    waiting: Waiting,
}

impl Poster {
    /// Posts a signed text from `wa_id` and waits for the reply; the time from the POST
    /// to the reply's arrival at the fake Graph API.
    async fn turn(&self, wa_id: &str, n: u64) -> Duration {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().insert(wa_id.to_owned(), tx);
        let body = common::text_from(
            wa_id,
            "Cliente",
            &format!("wamid.bench.{n}"),
            jiff::Timestamp::now().as_second(),
            "Hola, ¿tienen lugar mañana para un corte?",
        );
        let started = Instant::now();
        let stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::post("/webhooks/whatsapp")
            .header("host", "bench")
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sign(SECRET, &body))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let _ = response.into_body().collect().await;
        let arrived = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .expect("a reply within a minute")
            .unwrap();
        arrived.duration_since(started)
    }
}
