//! `make bench`: the scheduling engine and service with a busy organization — 10 staff,
//! 6 services, 400 live appointments over the next two weeks — against the local
//! PostgreSQL, RabbitMQ and Redis.
//!
//! Prints: engine time for one service over 7 days (in process, inputs already loaded);
//! the RPC round trip for the same question uncached and cached; bookings per second with
//! 8 concurrent clients on distinct slots, and with all 8 racing for one slot.

#![allow(clippy::print_stdout)]

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use cita_scheduling::{
    cache::Cache,
    calendar::{self, Search},
    engine,
};
use cita_shared::{
    amqp::{rpc::RpcClient, topology::SCHEDULING_RPC},
    config::{Component, Settings},
    contracts::scheduling::{
        Actor, AvailabilityRequest, BookRequest, Channel, Outcome, Reply, Request, SchedulingError,
        Source, Who,
    },
    secret::Secret,
    testing::{Barbershop, Service, TestBroker, TestDb},
    tls::Endpoint,
};
use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ZONE: &str = cita_shared::testing::barbershop::ZONE;
const TIMEOUT: Duration = Duration::from_secs(10);

fn at(local: &str) -> Timestamp {
    local
        .parse::<jiff::civil::DateTime>()
        .unwrap()
        .to_zoned(TimeZone::get(ZONE).unwrap())
        .unwrap()
        .timestamp()
}

struct Org {
    id: Uuid,
    staff: Vec<Uuid>,
    services: Vec<Uuid>,
    customer: Uuid,
}

/// The barbershop with 10 staff (Rosa, Luis and 8 more) working 09:00–19:00 every day,
/// 6 services of 30–75 minutes, and 400 appointments over the 14 days from Monday 7
/// December 2026.
async fn busy_organization(db: &TestDb) -> Org {
    let shop = Barbershop::builder()
        .plan("paid")
        .hours(1..=7, &[("09:00", "19:00")], ("09:00", "19:00"))
        .extra_staff(8)
        .services(
            (1..=4)
                .map(|n| Service::new(format!("Service {n}"), 15 + 15 * n, 10000 * i64::from(n)))
                .chain([
                    Service::new("Service 5", 45, 30000),
                    Service::new("Service 6", 60, 40000),
                ]),
        )
        .customer(None, Some("525512345678"), None)
        .create(&db.pool)
        .await;
    let (id, staff, services, customer) = (
        shop.organization,
        shop.staff,
        shop.services,
        shop.customers[0],
    );
    let client = db.pool.get().await.unwrap();
    // 40 per staff member over 14 days: about three a day, at 10:00, 13:00 and 16:00.
    client
        .execute(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id, starts_at, ends_at, source)
             SELECT $1, $2, ($3::uuid[])[1 + n % 10], $4,
                    $5::timestamptz + ((n / 10) % 14) * interval '1 day' + ((n / 140) * 3) * interval '1 hour',
                    $5::timestamptz + ((n / 10) % 14) * interval '1 day' + ((n / 140) * 3) * interval '1 hour' + interval '45 min',
                    'manual'
             FROM generate_series(0, 399) n",
            &[&id, &customer, &staff, &services[4], &at("2026-12-07T10:00")],
        )
        .await
        .unwrap();
    let live: i64 = client
        .query_one(
            "SELECT count(*) FROM appointments WHERE status = 'confirmed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 400);
    Org {
        id,
        staff,
        services,
        customer,
    }
}

fn median_p99(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (
        ms(samples[samples.len() / 2]),
        ms(samples[(samples.len() * 99 / 100).min(samples.len() - 1)]),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    cita_shared::telemetry::init(cita_shared::config::LogFormat::Text);
    let db = TestDb::migrated().await;
    let broker = TestBroker::new().await;
    let org = busy_organization(&db).await;
    let now = at("2026-12-07T08:00");
    let week: (Date, Date) = ("2026-12-07".parse().unwrap(), "2026-12-13".parse().unwrap());

    // Engine alone: inputs loaded once, the computation timed.
    let inputs = {
        let mut client = db.pool.get().await.unwrap();
        let tx = client.transaction().await.unwrap();
        let organization = calendar::organization(&tx, org.id).await.unwrap();
        let service = calendar::service(&tx, org.id, org.services[1])
            .await
            .unwrap();
        calendar::inputs(
            &tx,
            &organization,
            &service,
            &Search::days(week.0, week.1),
            now,
        )
        .await
        .unwrap()
    };
    let mut engine_times = Vec::new();
    let mut slot_count = 0;
    for _ in 0..500 {
        let started = Instant::now();
        let slots = engine::free_slots(&inputs.business, &inputs.resources, &inputs.query).unwrap();
        engine_times.push(started.elapsed());
        slot_count = slots.len();
    }
    let engine = median_p99(engine_times);

    // The service, in process, over the real broker, with the Redis cache.
    let env: HashMap<String, String> = [
        ("CITA_DATABASE_URL", db.url.expose().to_string()),
        ("CITA_AMQP_URL", broker.url.clone()),
        ("CITA_AMQP_PREFIX", broker.prefix.clone()),
        ("CITA_PREFETCH", "32".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let settings = Settings::from_env(Component::Scheduling, env).unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let clock = cita_scheduling::ops::Clock::fixed(now);
    let service_task = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            cita_scheduling::serve(&settings, admin, clock, shutdown)
                .await
                .unwrap()
        }
    });
    let client = Arc::new(RpcClient::new(
        Secret::new(broker.url.clone()),
        "bench",
        broker.topology.clone(),
        SCHEDULING_RPC,
    ));
    let cache = Cache::connect(&Endpoint::new("redis://127.0.0.1:6379/0"), &broker.prefix)
        .await
        .unwrap();
    let customer = Actor {
        organization_id: org.id,
        who: Who::Customer {
            customer_id: org.customer,
        },
        channel: Channel::Whatsapp,
        api_key_id: None,
    };
    let availability = Request::Availability(AvailabilityRequest {
        actor: customer,
        service_type_id: org.services[1],
        from: week.0,
        to: week.1,
        staff_id: None,
        moving: None,
    });
    // Wait until the service answers.
    for _ in 0..100 {
        if client
            .call::<_, Reply>(&availability, Duration::from_millis(500))
            .await
            .is_ok()
        {
            break;
        }
    }

    let mut uncached = Vec::new();
    for _ in 0..200 {
        cache.invalidate(org.id).await;
        let started = Instant::now();
        let reply: Reply = client.call(&availability, TIMEOUT).await.unwrap();
        uncached.push(started.elapsed());
        assert!(
            matches!(reply, Reply::Ok(Outcome::Slots { ref slots }) if slots.len() == slot_count)
        );
    }
    let mut cached = Vec::new();
    for _ in 0..1000 {
        let started = Instant::now();
        let reply: Reply = client.call(&availability, TIMEOUT).await.unwrap();
        cached.push(started.elapsed());
        assert!(matches!(reply, Reply::Ok(Outcome::Slots { .. })));
    }
    let (uncached, cached) = (median_p99(uncached), median_p99(cached));

    // The same question to the handler in process: what the broker adds is the difference.
    let scheduler = cita_scheduling::ops::Scheduler::new(
        db.pool.clone(),
        cita_scheduling::ops::Clock::fixed(now),
    )
    .with_cache(cache.clone());
    let mut handler_uncached = Vec::new();
    let mut handler_cached = Vec::new();
    for _ in 0..200 {
        cache.invalidate(org.id).await;
        let started = Instant::now();
        scheduler.handle(availability.clone()).await;
        handler_uncached.push(started.elapsed());
        let started = Instant::now();
        scheduler.handle(availability.clone()).await;
        handler_cached.push(started.elapsed());
    }
    let (handler_uncached, handler_cached) =
        (median_p99(handler_uncached), median_p99(handler_cached));

    // 8 clients, each booking its own staff member's hours on days 15–59: no two collide.
    let booking = |staff: Uuid, start: Timestamp, key: String| {
        Request::Book(BookRequest {
            actor: customer,
            idempotency_key: key,
            service_type_id: org.services[0],
            starts_at: start,
            staff_id: Some(staff),
            customer_id: None,
            customer_phone: None,
            customer_name: None,
            source: Source::Whatsapp,
            notes: None,
        })
    };
    const PER_CLIENT: usize = 250;
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..8 {
        let (client, staff) = (client.clone(), org.staff[c]);
        let requests: Vec<Request> = (0..PER_CLIENT)
            .map(|i| {
                let day = Date::new(2026, 12, 21)
                    .unwrap()
                    .checked_add(((i / 10) as i64).days())
                    .unwrap();
                let local = day
                    .at(9 + (i % 10) as i8, 0, 0, 0)
                    .to_zoned(TimeZone::get(ZONE).unwrap())
                    .unwrap();
                booking(staff, local.timestamp(), format!("distinct-{c}-{i}"))
            })
            .collect();
        clients.push(tokio::spawn(async move {
            let mut ok = 0;
            for request in requests {
                if let Reply::Ok(_) = client.call::<_, Reply>(&request, TIMEOUT).await.unwrap() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut distinct_ok = 0;
    for c in clients {
        distinct_ok += c.await.unwrap();
    }
    let distinct_rate = distinct_ok as f64 / started.elapsed().as_secs_f64();

    // All 8 racing for one slot, 100 rounds on fresh slots.
    const ROUNDS: usize = 100;
    let started = Instant::now();
    let mut winners_per_round = Vec::new();
    for round in 0..ROUNDS {
        let day = Date::new(2027, 1, 20)
            .unwrap()
            .checked_add(((round / 10) as i64).days())
            .unwrap();
        let start = day
            .at(9 + (round % 10) as i8, 0, 0, 0)
            .to_zoned(TimeZone::get(ZONE).unwrap())
            .unwrap()
            .timestamp();
        let racers: Vec<_> = (0..8)
            .map(|c| {
                let client = client.clone();
                let request = booking(org.staff[9], start, format!("race-{round}-{c}"));
                tokio::spawn(async move { client.call::<_, Reply>(&request, TIMEOUT).await })
            })
            .collect();
        let mut winners = 0;
        for racer in racers {
            let reply = match racer.await.unwrap() {
                Ok(reply) => reply,
                Err(error) => {
                    print_lock_waits(&db).await;
                    panic!("round {round}: {error}");
                }
            };
            match reply {
                Reply::Ok(_) => winners += 1,
                Reply::Error(SchedulingError::SlotTaken { .. }) => {}
                other => panic!("unexpected reply in a race: {other:?}"),
            }
        }
        winners_per_round.push(winners);
    }
    let race_rate = (ROUNDS * 8) as f64 / started.elapsed().as_secs_f64();
    assert!(
        winners_per_round.iter().all(|w| *w == 1),
        "exactly one winner per slot: {winners_per_round:?}"
    );

    shutdown.cancel();
    service_task.await.unwrap();

    println!("cita-scheduling benchmark: 10 staff, 6 services, 400 live appointments over 14 days");
    println!("availability of one 45-minute service over 7 days: {slot_count} free start times");
    println!();
    println!("| measurement | median | p99 |");
    println!("|---|---|---|");
    println!(
        "| engine, in process (500 runs) | {:.3} ms | {:.3} ms |",
        engine.0, engine.1
    );
    println!(
        "| RPC round trip, uncached (200 calls) | {:.2} ms | {:.2} ms |",
        uncached.0, uncached.1
    );
    println!(
        "| RPC round trip, cached (1,000 calls) | {:.2} ms | {:.2} ms |",
        cached.0, cached.1
    );
    println!(
        "| handler in process, uncached (200 calls) | {:.2} ms | {:.2} ms |",
        handler_uncached.0, handler_uncached.1
    );
    println!(
        "| handler in process, cached (200 calls) | {:.2} ms | {:.2} ms |",
        handler_cached.0, handler_cached.1
    );
    println!();
    println!(
        "bookings through RPC, 8 concurrent clients on distinct slots: {distinct_ok} in total, {distinct_rate:.0} bookings/s"
    );
    println!(
        "8 concurrent clients racing for one slot, {ROUNDS} rounds: {race_rate:.0} requests/s, exactly one winner each round"
    );
    forget_cache(&broker.prefix).await;
}

/// Who holds and who waits for transaction locks: what to look at if racers stall.
async fn print_lock_waits(db: &TestDb) {
    let rows = db
        .pool
        .get()
        .await
        .unwrap()
        .query(
            "SELECT a.pid::text, l.transactionid::text, l.granted::text, left(a.query, 60)
             FROM pg_locks l JOIN pg_stat_activity a USING (pid)
             WHERE l.locktype = 'transactionid' ORDER BY l.transactionid::text",
            &[],
        )
        .await
        .unwrap();
    for row in rows {
        let (pid, xid, granted, query): (String, String, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        println!("lock: pid {pid} xid {xid} granted {granted}: {query}");
    }
}

async fn forget_cache(prefix: &str) {
    let client = redis::Client::open("redis://127.0.0.1:6379/0").unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut redis)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut redis)
            .await
            .unwrap();
    }
}
