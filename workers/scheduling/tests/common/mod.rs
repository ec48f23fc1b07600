//! A barbershop in Mexico City on a throwaway database, and a scheduler whose clock the
//! test sets.

#![allow(dead_code)] // each test file uses a different part

use std::sync::{Arc, Mutex};

use cita_scheduling::ops::Scheduler;
use cita_shared::{
    contracts::scheduling::{
        Actor, Appointment, BookRequest, Outcome, Reply, Request, SchedulingError, Source, Who,
    },
    testing::TestDb,
};
use jiff::{Timestamp, tz::TimeZone};
use uuid::Uuid;

pub const ZONE: &str = "America/Mexico_City";

pub struct Shop {
    pub db: TestDb,
    pub scheduler: Scheduler,
    now: Arc<Mutex<Timestamp>>,
    pub org: Uuid,
    pub owner: Uuid,
    pub barber: Uuid,
    pub haircut: Uuid,
    pub ana: Uuid,
    pub beto: Uuid,
}

/// An instant given as local time in Mexico City, e.g. "2026-12-07T10:00".
pub fn at(local: &str) -> Timestamp {
    local
        .parse::<jiff::civil::DateTime>()
        .unwrap()
        .to_zoned(TimeZone::get(ZONE).unwrap())
        .unwrap()
        .timestamp()
}

impl Shop {
    /// Open every day 10:00–14:00 and 15:00–19:00; an owner and a barber who both cut
    /// hair (45 minutes, 15 of buffer); customers Ana and Beto. It is Monday 7 December
    /// 2026, 08:00.
    pub async fn open() -> Self {
        Self::open_with(None).await
    }

    /// The same shop, with availability cached in `cache`.
    pub async fn open_with(cache: Option<cita_scheduling::cache::Cache>) -> Self {
        let db = TestDb::migrated().await;
        let client = db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "WITH o AS (INSERT INTO organizations (slug, name, timezone, status)
                            VALUES ('shop', 'Shop', $1, 'active') RETURNING id),
                      l AS (INSERT INTO locations (organization_id, name) SELECT id, 'Centro' FROM o RETURNING id, organization_id),
                      h AS (INSERT INTO business_hours (organization_id, location_id, weekday, opens_at, closes_at)
                            SELECT l.organization_id, l.id, d, s.opens, s.closes
                            FROM l, generate_series(1, 7) d,
                                 (VALUES (time '10:00', time '14:00'), (time '15:00', time '19:00')) s(opens, closes)),
                      owner AS (INSERT INTO staff (organization_id, name, phone, role)
                                SELECT id, 'Dueño', '525511110001', 'owner' FROM o RETURNING id),
                      barber AS (INSERT INTO staff (organization_id, name, phone, role)
                                 SELECT id, 'Barbero', '525511110002', 'employee' FROM o RETURNING id),
                      svc AS (INSERT INTO service_types (organization_id, name, duration_minutes, buffer_minutes, price_minor, currency)
                              SELECT id, 'Corte', 45, 15, 25000, 'MXN' FROM o RETURNING id),
                      ana AS (INSERT INTO customers (organization_id, wa_id, phone, name)
                              SELECT id, '5215533330001', '525533330001', 'Ana' FROM o RETURNING id),
                      beto AS (INSERT INTO customers (organization_id, wa_id, phone, name)
                               SELECT id, '5215533330002', '525533330002', 'Beto' FROM o RETURNING id)
                 SELECT o.id, owner.id, barber.id, svc.id, ana.id, beto.id FROM o, owner, barber, svc, ana, beto",
                &[&ZONE],
            )
            .await
            .unwrap();
        let (org, owner, barber, haircut): (Uuid, Uuid, Uuid, Uuid) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        client
            .execute(
                "INSERT INTO staff_services (organization_id, staff_id, service_type_id)
                 VALUES ($1, $2, $4), ($1, $3, $4)",
                &[&org, &owner, &barber, &haircut],
            )
            .await
            .unwrap();
        client
            .execute(
                "INSERT INTO staff_working_hours (organization_id, staff_id, weekday, starts_at, ends_at)
                 SELECT $1, s, d, time '10:00', time '19:00' FROM unnest($2::uuid[]) s, generate_series(1, 7) d",
                &[&org, &vec![owner, barber]],
            )
            .await
            .unwrap();
        let now = Arc::new(Mutex::new(at("2026-12-07T08:00")));
        let clock = now.clone();
        let mut scheduler = Scheduler::new(
            db.pool.clone(),
            cita_scheduling::ops::Clock::from_fn(move || *clock.lock().unwrap()),
        );
        if let Some(cache) = cache {
            scheduler = scheduler.with_cache(cache);
        }
        let (ana, beto) = (row.get(4), row.get(5));
        drop(client);
        Shop {
            db,
            scheduler,
            now,
            org,
            owner,
            barber,
            haircut,
            ana,
            beto,
        }
    }

    pub fn set_now(&self, local: &str) {
        *self.now.lock().unwrap() = at(local);
    }

    pub fn customer(&self, id: Uuid) -> Actor {
        Actor {
            organization_id: self.org,
            who: Who::Customer { customer_id: id },
        }
    }

    pub fn staff(&self, id: Uuid) -> Actor {
        Actor {
            organization_id: self.org,
            who: Who::Staff { staff_id: id },
        }
    }

    pub fn booking(&self, actor: Actor, local: &str, key: &str) -> BookRequest {
        BookRequest {
            actor,
            idempotency_key: key.into(),
            service_type_id: self.haircut,
            starts_at: at(local),
            staff_id: None,
            customer_id: None,
            customer_phone: None,
            customer_name: None,
            source: Source::Whatsapp,
            notes: None,
        }
    }

    pub async fn book(&self, request: BookRequest) -> Result<Appointment, SchedulingError> {
        appointment(self.scheduler.handle(Request::Book(request)).await)
    }

    pub async fn sql_count(&self, sql: &str) -> i64 {
        self.db.count(sql).await
    }

    pub async fn events(&self) -> Vec<String> {
        self.db
            .pool
            .get()
            .await
            .unwrap()
            .query("SELECT routing_key FROM outbox ORDER BY seq", &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    }
}

pub fn appointment(reply: Reply) -> Result<Appointment, SchedulingError> {
    match reply {
        Reply::Ok(Outcome::Appointment { appointment }) => Ok(appointment),
        Reply::Ok(other) => panic!("expected an appointment, got {other:?}"),
        Reply::Error(error) => Err(error),
    }
}

pub fn appointments(reply: Reply) -> Result<Vec<Appointment>, SchedulingError> {
    match reply {
        Reply::Ok(Outcome::Appointments { appointments }) => Ok(appointments),
        Reply::Ok(other) => panic!("expected appointments, got {other:?}"),
        Reply::Error(error) => Err(error),
    }
}

pub fn slots(reply: Reply) -> Vec<Timestamp> {
    match reply {
        Reply::Ok(Outcome::Slots { slots }) => slots.into_iter().map(|s| s.starts_at).collect(),
        other => panic!("expected slots, got {other:?}"),
    }
}
