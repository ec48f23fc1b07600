//! `make bench`: drives a real `cita-ingress` process with signed Meta-shaped payloads
//! (~500 bytes) at 32 and 128 concurrent connections, against the local RabbitMQ and a
//! real `conversation.inbound` quorum queue, and in the same run measures the broker's
//! own ceiling: raw lapin publishes with confirms at the same concurrency, no HTTP.
//!
//! Prints throughput, latency percentiles, the ingress's resident memory, and checks
//! that the queue holds exactly one message per 200. `BENCH_SECONDS` (default 15) sets
//! the length of each phase.

#![allow(clippy::print_stdout)]

use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use cita_shared::whatsapp::signature::sign;
use cita_shared::{
    amqp::topology,
    testing::{TestBroker, cpu_ms, free_port, memory_kib},
};
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use lapin::{
    BasicProperties, Connection, ConnectionProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions, QueuePurgeOptions},
};

const SECRET: &str = "bench-secret";
const CONCURRENCIES: [usize; 2] = [32, 128];
/// The ceiling is the best of these channel counts: one channel batches confirms best,
/// several spread the client's work.
const CEILING_CHANNELS: [usize; 2] = [1, 4];

fn payload(n: u64) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"200000000000001","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"525500000001","phone_number_id":"100000000000001"}},"contacts":[{{"profile":{{"name":"Cliente de prueba"}},"wa_id":"5215512345678"}}],"messages":[{{"from":"5215512345678","id":"wamid.HBgNNTIxNTUxMjM0NTY3OBUCABIYFDNBMDAwMDAwMDAwMDAw{n:012}","timestamp":"1763780000","type":"text","text":{{"body":"Hola, quisiera una cita para un corte ma\u00f1ana en la tarde"}}}}]}},"field":"messages"}}]}}]}}"#
    )
}

struct Run {
    ok: u64,
    failed: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// What one sender counted.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

impl Tally {
    fn record(&mut self, since: Instant, ok: bool) {
        self.latencies_us
            .push(since.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
    }
}

/// Runs `senders` tasks made by `sender(i, stop)` for `duration`, then merges their tallies.
async fn drive<F, Fut>(senders: usize, duration: Duration, sender: F) -> Run
where
    F: Fn(usize, Arc<AtomicBool>) -> Fut,
    Fut: std::future::Future<Output = Tally> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|i| tokio::spawn(sender(i, stop.clone())))
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut run = Run {
        ok: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for task in tasks {
        let tally = task.await.unwrap();
        run.ok += tally.ok;
        run.failed += tally.failed;
        run.latencies_us.extend(tally.latencies_us);
    }
    run.elapsed = started.elapsed();
    run.latencies_us.sort_unstable();
    run
}

/// The RabbitMQ node's Erlang VM, to attribute CPU time to the broker.
fn broker_pid() -> Option<u32> {
    let output = Command::new("pgrep")
        .arg("-o")
        .arg("beam.smp")
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// CPU milliseconds per 1,000 messages of the ingress, the broker and this load generator.
struct CpuShare {
    ingress: f64,
    broker: f64,
    client: f64,
}

fn cpu_snapshot(ingress: u32, broker: Option<u32>) -> [u64; 3] {
    [
        cpu_ms(ingress),
        broker.map(cpu_ms).unwrap_or(0),
        cpu_ms(std::process::id()),
    ]
}

fn cpu_share(before: [u64; 3], after: [u64; 3], messages: u64) -> CpuShare {
    let per_k = |i: usize| (after[i] - before[i]) as f64 * 1000.0 / messages.max(1) as f64;
    CpuShare {
        ingress: per_k(0),
        broker: per_k(1),
        client: per_k(2),
    }
}

async fn ingress_phase(
    addr: std::net::SocketAddr,
    connections: usize,
    duration: Duration,
    counter: Arc<AtomicU64>,
) -> Run {
    drive(connections, duration, |_, stop| {
        let counter = counter.clone();
        async move {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream))
                    .await
                    .unwrap();
            tokio::spawn(connection);
            let mut tally = Tally::default();
            while !stop.load(Ordering::Relaxed) {
                let body = payload(counter.fetch_add(1, Ordering::Relaxed));
                let request = Request::post("/webhooks/whatsapp")
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", sign(SECRET, body.as_bytes()))
                    .body(Full::new(Bytes::from(body)))
                    .unwrap();
                let sent = Instant::now();
                if sender.ready().await.is_err() {
                    tally.failed += 1;
                    break;
                }
                let response = sender.send_request(request).await.unwrap();
                let status = response.status();
                let _ = response.into_body().collect().await;
                tally.record(sent, status == StatusCode::OK);
            }
            tally
        }
    })
    .await
}

async fn ceiling_phase(
    url: &str,
    exchange: &str,
    publishers: usize,
    channel_count: usize,
    duration: Duration,
) -> Run {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap();
    let mut channels = Vec::new();
    for _ in 0..channel_count {
        let channel = connection.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        channels.push(channel);
    }
    let run = drive(publishers, duration, |i, stop| {
        let channel = channels[i % channel_count].clone();
        let exchange = exchange.to_owned();
        async move {
            let mut tally = Tally::default();
            let mut n = (i as u64) << 40;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = payload(n);
                let sent = Instant::now();
                let confirmation = channel
                    .basic_publish(
                        exchange.as_str().into(),
                        topology::WHATSAPP_ROUTING_KEY.into(),
                        BasicPublishOptions {
                            mandatory: true,
                            immediate: false,
                        },
                        body.as_bytes(),
                        BasicProperties::default().with_delivery_mode(2),
                    )
                    .await
                    .unwrap()
                    .await
                    .unwrap();
                tally.record(sent, confirmation == lapin::Confirmation::Ack(None));
            }
            tally
        }
    })
    .await;
    let _ = connection.close(200, "bench done".into()).await;
    run
}

/// Waits until the queue depth stops changing, then returns it.
async fn settled_count(broker: &TestBroker) -> u32 {
    let mut last = u32::MAX;
    loop {
        let count = broker.count(topology::CONVERSATION_INBOUND).await;
        if count == last {
            return count;
        }
        last = count;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn purge(broker: &TestBroker) {
    broker
        .channel
        .queue_purge(
            broker
                .topology
                .name(topology::CONVERSATION_INBOUND)
                .as_str()
                .into(),
            QueuePurgeOptions::default(),
        )
        .await
        .unwrap();
}

fn start_ingress(broker: &TestBroker, port: u16, admin_port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cita-ingress"))
        .env("CITA_AMQP_URL", &broker.url)
        .env("CITA_AMQP_PREFIX", &broker.prefix)
        .env("CITA_META_APP_SECRET", SECRET)
        .env("CITA_META_VERIFY_TOKEN", "bench")
        .env("CITA_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
        // Production settings: one JSON log line per request, written to a pipe.
        .env("CITA_LOG_FORMAT", "json")
        .env(
            "RUST_LOG",
            std::env::var("BENCH_RUST_LOG").unwrap_or("info,lapin=warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start cita-ingress (built by cargo bench)")
}

async fn wait_ready(admin_port: u16) {
    for _ in 0..200 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", admin_port)).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = stream
                .write_all(b"GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await;
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response).await;
            if response.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("cita-ingress did not become ready");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let duration = Duration::from_secs(seconds);
    let broker = TestBroker::new().await;
    broker.declare().await;
    let exchange = broker.topology.name(topology::WA_WEBHOOKS);
    let (port, admin_port) = (free_port(), free_port());
    let mut ingress = start_ingress(&broker, port, admin_port);
    let pid = ingress.id();
    wait_ready(admin_port).await;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let counter = Arc::new(AtomicU64::new(0));

    println!(
        "cita-ingress benchmark: {seconds} s per phase, payload {} bytes",
        payload(0).len()
    );
    println!(
        "RSS of cita-ingress at idle: {} KiB",
        memory_kib(pid, "VmRSS:")
    );
    let broker_vm = broker_pid();
    let mut rows = Vec::new();
    let mut cpu_rows = Vec::new();
    for connections in CONCURRENCIES {
        // Warm up connections and the queue, then measure from an empty queue.
        let _ = ingress_phase(addr, connections, Duration::from_secs(1), counter.clone()).await;
        settled_count(&broker).await;
        purge(&broker).await;

        let sampling = Arc::new(AtomicBool::new(true));
        let peak_rss = Arc::new(AtomicU64::new(0));
        let sampler = tokio::spawn({
            let (sampling, peak_rss) = (sampling.clone(), peak_rss.clone());
            async move {
                while sampling.load(Ordering::Relaxed) {
                    peak_rss.fetch_max(memory_kib(pid, "VmRSS:"), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
        let before = cpu_snapshot(pid, broker_vm);
        let through_ingress = ingress_phase(addr, connections, duration, counter.clone()).await;
        let ingress_cpu = cpu_share(before, cpu_snapshot(pid, broker_vm), through_ingress.ok);
        sampling.store(false, Ordering::Relaxed);
        sampler.await.unwrap();
        let queued = settled_count(&broker).await;
        purge(&broker).await;

        let mut best: Option<(usize, Run, CpuShare, u32)> = None;
        for channel_count in CEILING_CHANNELS {
            let before = cpu_snapshot(pid, broker_vm);
            let run =
                ceiling_phase(&broker.url, &exchange, connections, channel_count, duration).await;
            let cpu = cpu_share(before, cpu_snapshot(pid, broker_vm), run.ok);
            let queued = settled_count(&broker).await;
            purge(&broker).await;
            println!(
                "ceiling at {connections} publishers on {channel_count} channel(s): {:.0} msg/s",
                run.rate()
            );
            if best
                .as_ref()
                .is_none_or(|(_, b, _, _)| run.rate() > b.rate())
            {
                best = Some((channel_count, run, cpu, queued));
            }
        }
        let (_, ceiling, ceiling_cpu, ceiling_queued) = best.expect("at least one ceiling run");

        rows.push((
            connections,
            through_ingress,
            queued,
            ceiling,
            ceiling_queued,
            peak_rss.load(Ordering::Relaxed),
        ));
        cpu_rows.push((connections, ingress_cpu, ceiling_cpu));
    }

    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let exit = ingress.wait().unwrap();

    println!();
    println!(
        "| conns | ingress req/s | p50 ms | p99 ms | max ms | non-200 | queued = 200s | ceiling msg/s | ceiling p50 | ceiling p99 | ingress/ceiling | ingress peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (connections, run, queued, ceiling, ceiling_queued, rss) in &rows {
        println!(
            "| {connections} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} ({queued}) | {:.0} | {:.2} | {:.2} | {:.0} % | {:.1} MiB |",
            run.rate(),
            run.percentile_ms(0.50),
            run.percentile_ms(0.99),
            run.percentile_ms(1.0),
            run.failed,
            if u64::from(*queued) == run.ok {
                "yes"
            } else {
                "NO"
            },
            ceiling.rate(),
            ceiling.percentile_ms(0.50),
            ceiling.percentile_ms(0.99),
            100.0 * run.rate() / ceiling.rate(),
            *rss as f64 / 1024.0,
        );
        assert_eq!(
            u64::from(*ceiling_queued),
            ceiling.ok,
            "ceiling: one queued message per confirm"
        );
    }
    println!();
    println!("CPU ms per 1,000 messages (2 cores shared by all three):");
    println!("| conns | phase | ingress | broker | load generator / publisher |");
    println!("|---|---|---|---|---|");
    for (connections, ingress_cpu, ceiling_cpu) in &cpu_rows {
        for (phase, cpu) in [("via ingress", ingress_cpu), ("ceiling", ceiling_cpu)] {
            println!(
                "| {connections} | {phase} | {:.0} | {:.0} | {:.0} |",
                cpu.ingress, cpu.broker, cpu.client
            );
        }
    }
    println!();
    println!("cita-ingress exited with {exit} after SIGTERM");
    let all_landed = rows
        .iter()
        .all(|(_, run, queued, ..)| u64::from(*queued) == run.ok);
    assert!(all_landed, "the queue must hold one message per 200");
}
