//! `make bench`: the owner API (the release `cita-api` binary) over the barbershop of the
//! scheduling benchmark — 10 staff, 6 services, 400 appointments — with scheduling in
//! this process, against the local PostgreSQL, RabbitMQ and Redis.
//!
//! Prints: requests per second and p50/p99 of the day agenda and the week list at 32
//! connections, warm (answered from the read cache) and cold (read from PostgreSQL); the p50 of a booking through the API and through the scheduling RPC
//! alone, and their ratio (what the HTTP layer, the token and the session check cost);
//! the API's resident memory after the load.

#![allow(clippy::print_stdout)]

use std::{
    collections::HashMap,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use cita_shared::{
    amqp::{
        rpc::RpcClient,
        topology::{CITA_COMMANDS, OUTBOUND_SEND, SCHEDULING_RPC},
    },
    clock::Clock,
    config::{Component, Settings},
    contracts::scheduling::{Actor, BookRequest, Channel, Reply, Request, Source, Who},
    testing::{TestBroker, TestDb, free_port, memory_kib},
};
use jiff::{Timestamp, civil::DateTime, tz::TimeZone};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ZONE: &str = "America/Mexico_City";
const KEYS: &str = "k1:1111111111111111111111111111111111111111111111111111111111111111";
const CONNECTIONS: usize = 32;
const LOAD: Duration = Duration::from_secs(5);
const BOOKINGS: usize = 200;
/// Dashboard pages asked one after another.
const PAGES: usize = 500;

fn at(local: &str) -> Timestamp {
    local
        .parse::<DateTime>()
        .unwrap()
        .to_zoned(TimeZone::get(ZONE).unwrap())
        .unwrap()
        .timestamp()
}

/// The organization, its owner (who logs in) and a service everyone does.
async fn barbershop(db: &TestDb) -> (Uuid, Uuid, Uuid, Uuid) {
    let client = db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "WITH o AS (INSERT INTO organizations (slug, name, timezone, status, plan, phone_number_id)
                        VALUES ('bench', 'Bench', $1, 'active', 'paid', 'pn-bench') RETURNING id),
                  l AS (INSERT INTO locations (organization_id, name) SELECT id, 'Centro' FROM o RETURNING id, organization_id),
                  h AS (INSERT INTO business_hours (organization_id, location_id, weekday, opens_at, closes_at)
                        SELECT organization_id, id, d, '09:00', '19:00' FROM l, generate_series(1, 7) d),
                  s AS (INSERT INTO staff (organization_id, name, phone, role)
                        SELECT o.id, 'Staff ' || n, '5255000000' || lpad(n::text, 2, '0'),
                               CASE WHEN n = 1 THEN 'owner' ELSE 'employee' END
                        FROM o, generate_series(1, 10) n RETURNING id, organization_id),
                  v AS (INSERT INTO service_types (organization_id, name, duration_minutes, price_minor, currency)
                        SELECT o.id, 'Service ' || n, 15 * n, 10000 * n, 'MXN' FROM o, generate_series(1, 6) n
                        RETURNING id, organization_id),
                  c AS (INSERT INTO customers (organization_id, phone) SELECT id, '525512345678' FROM o RETURNING id)
             SELECT o.id, c.id, (SELECT array_agg(id) FROM s), (SELECT array_agg(id) FROM v) FROM o, c",
            &[&ZONE],
        )
        .await
        .unwrap();
    let (org, customer, staff, services): (Uuid, Uuid, Vec<Uuid>, Vec<Uuid>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    client
        .execute(
            "INSERT INTO staff_services (organization_id, staff_id, service_type_id)
             SELECT $1, s, v FROM unnest($2::uuid[]) s, unnest($3::uuid[]) v",
            &[&org, &staff, &services],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO staff_working_hours (organization_id, staff_id, weekday, starts_at, ends_at)
             SELECT $1, s, d, '09:00', '19:00' FROM unnest($2::uuid[]) s, generate_series(1, 7) d",
            &[&org, &staff],
        )
        .await
        .unwrap();
    // 40 per staff member over the 14 days from Monday 7 December: 10:00, 13:00, 16:00.
    client
        .execute(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id, starts_at, ends_at, source)
             SELECT $1, $2, ($3::uuid[])[1 + n % 10], $4,
                    $5::timestamptz + ((n / 10) % 14) * interval '1 day' + ((n / 140) * 3) * interval '1 hour',
                    $5::timestamptz + ((n / 10) % 14) * interval '1 day' + ((n / 140) * 3) * interval '1 hour' + interval '45 min',
                    'manual'
             FROM generate_series(0, 399) n",
            &[&org, &customer, &staff, &services[2], &at("2026-12-07T10:00")],
        )
        .await
        .unwrap();
    (org, staff[0], services[0], customer)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `CONNECTIONS` clients asking for `LOAD`, each request for `url(n)` with `n` counting
/// the client's requests: requests per second and latencies.
async fn load(
    http: &reqwest::Client,
    url: impl Fn(usize) -> String + Clone + Send + 'static,
    token: &str,
) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let mut clients = Vec::new();
    for client in 0..CONNECTIONS {
        let (http, url, token) = (http.clone(), url.clone(), token.to_owned());
        clients.push(tokio::spawn(async move {
            let mut took = Vec::new();
            while started.elapsed() < LOAD {
                let url = url(client * 1_000_000 + took.len());
                let sent = Instant::now();
                let response = http.get(&url).bearer_auth(&token).send().await.unwrap();
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.unwrap();
                took.push(sent.elapsed());
            }
            took
        }));
    }
    let mut all = Vec::new();
    for client in clients {
        all.extend(client.await.unwrap());
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort();
    (rate, all)
}

/// The dashboard's day page for the 30-appointment day, one request at a time (the
/// server's time per page, the loopback's included), and what its first load weighs.
async fn dashboard(http: &reqwest::Client, base: &str, cookie: &str) {
    let get = |path: String| {
        let (http, cookie) = (http.clone(), cookie.to_owned());
        async move {
            let response = http
                .get(path)
                .header(reqwest::header::COOKIE, cookie)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            response.bytes().await.unwrap()
        }
    };
    let page = get(format!("{base}/hoy?dia=2026-12-08")).await;
    let html = String::from_utf8_lossy(&page);
    assert_eq!(
        html.matches("class=\"appt ").count(),
        30,
        "the day has its 30 appointments"
    );
    let mut weight = page.len();
    for asset in html.split("=\"/assets/").skip(1) {
        let name = asset.split('"').next().unwrap();
        weight += get(format!("{base}/assets/{name}")).await.len();
    }
    for (name, path) in [
        ("day page (30 appointments)", "/hoy?dia=2026-12-08"),
        ("its live part", "/hoy?dia=2026-12-08&parte=agenda"),
        ("week page (the owner's)", "/semana?dia=2026-12-08"),
    ] {
        let mut took = Vec::with_capacity(PAGES);
        for _ in 0..PAGES {
            let sent = Instant::now();
            get(format!("{base}{path}")).await;
            took.push(sent.elapsed());
        }
        took.sort();
        println!(
            "dashboard {name}, one at a time ({PAGES}): p50 {:.2} ms, p99 {:.2} ms",
            ms(percentile(&took, 0.5)),
            ms(percentile(&took, 0.99))
        );
    }
    println!(
        "dashboard first load of the day: {:.1} KB uncompressed, the page and every asset it links",
        weight as f64 / 1024.0
    );
}

#[tokio::main]
async fn main() {
    cita_shared::tls::install_provider();
    let db = TestDb::migrated().await;
    let broker = TestBroker::new().await;
    broker.declare().await;
    let sends = broker.tap(CITA_COMMANDS, OUTBOUND_SEND).await;
    let (org, owner, service, customer) = barbershop(&db).await;
    let env: HashMap<String, String> = [
        ("CITA_DATABASE_URL", db.url.expose().to_string()),
        ("CITA_AMQP_URL", broker.url.clone()),
        ("CITA_AMQP_PREFIX", broker.prefix.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();

    let settings = Settings::from_env(Component::Scheduling, env.clone()).unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stop = CancellationToken::new();
    let scheduling = tokio::spawn({
        let stop = stop.clone();
        async move {
            cita_scheduling::serve(&settings, admin, Clock::system(), stop)
                .await
                .unwrap()
        }
    });

    let (port, admin_port) = (free_port(), free_port());
    let mut api = Command::new(env!("CARGO_BIN_EXE_cita-api"))
        .envs(&env)
        .env("CITA_API_TOKEN_KEYS", KEYS)
        // Counted as always, but one session drives the whole load.
        .env("CITA_API_SESSION_REQUESTS_PER_MINUTE", "1000000000")
        .env("CITA_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("CITA_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("http://127.0.0.1:{admin_port}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "cita-api did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let asked = http
        .post(format!("{base}/v1/auth/code"))
        .json(&json!({ "phone": "+525500000001" }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), reqwest::StatusCode::ACCEPTED);
    let code = loop {
        let sent = broker.drain_tap(&sends).await;
        if let Some(message) = sent.first() {
            let command: Value = serde_json::from_slice(&message.data).unwrap();
            break command["message"]["body"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        assert!(Instant::now() < deadline, "no login code");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let tokens: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "phone": "+525500000001", "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let cookie = {
        let asked = http
            .post(format!("{base}/v1/auth/code"))
            .json(&json!({ "phone": "+525500000001" }))
            .send()
            .await
            .unwrap();
        assert_eq!(asked.status(), reqwest::StatusCode::ACCEPTED);
        let code = loop {
            let sent = broker.drain_tap(&sends).await;
            if let Some(message) = sent.first() {
                let command: Value = serde_json::from_slice(&message.data).unwrap();
                break command["message"]["body"][0]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
            assert!(
                Instant::now() < deadline + Duration::from_secs(30),
                "no login code"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let login = http
            .post(format!("{base}/v1/auth/login"))
            .json(&json!({ "phone": "+525500000001", "code": code, "cookies": true }))
            .send()
            .await
            .unwrap();
        login
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next())
            .filter(|pair| pair.starts_with("cita_access="))
            .collect::<Vec<_>>()
            .join("; ")
    };

    // Warm: the same list again, as every screen showing the day asks for it; it is
    // answered from the read cache until something changes. Cold: every request a list
    // of its own (its start moved back a nanosecond per request), read from PostgreSQL.
    let list = |from: &str, to: &str, cold: bool| {
        let (base, from, to) = (base.clone(), at(from), at(to));
        move |n: usize| {
            let shift = jiff::SignedDuration::from_nanos(if cold { n as i64 } else { 0 });
            format!(
                "{base}/v1/organizations/{org}/appointments?from={}&to={}&limit=200",
                from - shift,
                to
            )
        }
    };
    for (name, from, to) in [
        (
            "day agenda (30 appointments)",
            "2026-12-08T00:00",
            "2026-12-09T00:00",
        ),
        (
            "week list (200 of 210)",
            "2026-12-07T00:00",
            "2026-12-14T00:00",
        ),
    ] {
        for (temperature, cold) in [("warm", false), ("cold", true)] {
            let (rate, took) = load(&http, list(from, to, cold), &token).await;
            println!(
                "{name}, {temperature}, {CONNECTIONS} connections: {rate:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({} requests)",
                ms(percentile(&took, 0.5)),
                ms(percentile(&took, 0.99)),
                took.len()
            );
        }
    }
    dashboard(&http, &base, &cookie).await;
    let pid = api.id();
    println!(
        "cita-api resident memory after the load: {:.1} MiB (peak {:.1} MiB)",
        memory_kib(pid, "VmRSS:") as f64 / 1024.0,
        memory_kib(pid, "VmHWM:") as f64 / 1024.0
    );

    // Bookings one after another at distinct times, on days without appointments.
    let start = |i: usize| {
        at("2027-01-04T09:00")
            + jiff::SignedDuration::from_mins(15 * (i % 40) as i64)
            + jiff::SignedDuration::from_hours(24 * (i / 40) as i64)
    };
    let mut through_api = Vec::new();
    for i in 0..BOOKINGS {
        let sent = Instant::now();
        let response = http
            .post(format!("{base}/v1/organizations/{org}/appointments"))
            .bearer_auth(&token)
            .header("idempotency-key", format!("bench-{i}"))
            .json(&json!({
                "service_type_id": service,
                "starts_at": start(i),
                "staff_id": owner,
                "customer_id": customer,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            reqwest::StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
        through_api.push(sent.elapsed());
    }
    let rpc = Arc::new(RpcClient::new(
        cita_shared::tls::Endpoint::from(cita_shared::secret::Secret::new(broker.url.clone())),
        "bench-rpc",
        broker.topology.clone(),
        SCHEDULING_RPC,
    ));
    let second = owner;
    let mut through_rpc = Vec::new();
    for i in 0..BOOKINGS {
        let request = Request::Book(BookRequest {
            actor: Actor {
                organization_id: org,
                who: Who::Staff { staff_id: second },
                channel: Channel::Api,
                api_key_id: None,
            },
            idempotency_key: format!("bench-rpc-{i}"),
            service_type_id: service,
            starts_at: start(i) + jiff::SignedDuration::from_hours(24 * 7),
            staff_id: Some(second),
            customer_id: Some(customer),
            customer_phone: None,
            customer_name: None,
            source: Source::Manual,
            notes: None,
        });
        let sent = Instant::now();
        let reply: Reply = rpc.call(&request, Duration::from_secs(10)).await.unwrap();
        assert!(matches!(reply, Reply::Ok(_)), "{reply:?}");
        through_rpc.push(sent.elapsed());
    }
    through_api.sort();
    through_rpc.sort();
    let (api_p50, rpc_p50) = (percentile(&through_api, 0.5), percentile(&through_rpc, 0.5));
    println!(
        "a booking, one at a time ({BOOKINGS}): through the API p50 {:.2} ms (p99 {:.2}), scheduling RPC alone p50 {:.2} ms (p99 {:.2}): the API costs {:.2}x",
        ms(api_p50),
        ms(percentile(&through_api, 0.99)),
        ms(rpc_p50),
        ms(percentile(&through_rpc, 0.99)),
        api_p50.as_secs_f64() / rpc_p50.as_secs_f64()
    );

    api.kill().unwrap();
    let _ = api.wait();
    stop.cancel();
    let _ = scheduling.await;
}
