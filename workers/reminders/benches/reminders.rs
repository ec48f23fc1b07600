//! `make bench`: 10,000 reminders fall due at once; how long until all are published to
//! `outbound.send`, with one and with three `cita-reminders` processes, against the
//! local PostgreSQL and RabbitMQ. The reminders are armed while the workers idle, made
//! due in one statement, and the clock starts then. `BENCH_REMINDERS` sets the number.

#![allow(clippy::print_stdout)]

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use cita_shared::{
    amqp::topology::OUTBOUND_SEND,
    testing::{Barbershop, TestBroker, TestDb, free_port, memory_kib},
};

#[tokio::main]
async fn main() {
    let n: i32 = std::env::var("BENCH_REMINDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    println!("cita-reminders: {n} reminders due at once");
    for replicas in [1, 3] {
        run(n, replicas).await;
    }
}

async fn run(n: i32, replicas: usize) {
    let db = TestDb::migrated().await;
    let broker = TestBroker::new().await;
    broker.declare().await;
    // No staff phones: no agendas, only the reminders are measured.
    let shop = Barbershop::builder()
        .staff_phones(None, None)
        .customer(Some("5215512345678"), None, Some("Ana"))
        .create(&db.pool)
        .await;
    let client = db.pool.get().await.unwrap();
    client
        .execute(
            "WITH a AS (
                 INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                           starts_at, ends_at, status, source)
                 SELECT $1, $2, $3, $4,
                        now() + make_interval(days => 2, hours => i),
                        now() + make_interval(days => 2, hours => i, mins => 45), 'confirmed', 'whatsapp'
                 FROM generate_series(1, $5::int) AS i
                 RETURNING id, starts_at)
             INSERT INTO notifications (organization_id, kind, dedupe_key, appointment_id, audience,
                                        customer_id, due_at, stale_at)
             SELECT $1, 'reminder', 'reminder:' || a.id || ':1440', a.id,
                    'customer', $2, now() + interval '1 year', a.starts_at
             FROM a",
            &[
                &shop.organization,
                &shop.customers[0],
                &shop.owner,
                &shop.services[0],
                &n,
            ],
        )
        .await
        .unwrap();

    let mut children: Vec<(Child, u16)> = (0..replicas)
        .map(|_| {
            let admin_port = free_port();
            let child = Command::new(env!("CARGO_BIN_EXE_cita-reminders"))
                .env("CITA_DATABASE_URL", db.url.expose())
                .env("CITA_AMQP_URL", &broker.url)
                .env("CITA_AMQP_PREFIX", &broker.prefix)
                .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            (child, admin_port)
        })
        .collect();
    for (_, port) in &children {
        while !ready(*port).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    client
        .execute(
            "UPDATE notifications SET due_at = now() - interval '1 minute'",
            &[],
        )
        .await
        .unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    let mut peak_kib = 0;
    while broker.count(OUTBOUND_SEND).await < n as u32 {
        assert!(
            Instant::now() < deadline,
            "only {} published",
            broker.count(OUTBOUND_SEND).await
        );
        for (child, _) in &children {
            peak_kib = peak_kib.max(memory_kib(child.id(), "VmRSS:"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    // The last batch is marked in the transaction that published it, a moment later.
    let sent = loop {
        let sent: i64 = client
            .query_one(
                "SELECT count(*) FROM notifications WHERE status = 'sent'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if sent >= i64::from(n) || Instant::now() > deadline {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let marked = started.elapsed();
    for (child, _) in &mut children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    println!(
        "  {replicas} replica(s): {n} published in {:.2} s → {:.0} reminders/s; all {sent} rows marked \
         sent after {:.2} s; peak resident memory per process: {:.1} MiB",
        elapsed.as_secs_f64(),
        f64::from(n) / elapsed.as_secs_f64(),
        marked.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    assert_eq!(
        broker.count(OUTBOUND_SEND).await,
        n as u32,
        "none published twice"
    );
}

async fn ready(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let request = "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer.starts_with("HTTP/1.1 200")
}
