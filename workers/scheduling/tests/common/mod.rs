//! A barbershop in Mexico City on a throwaway database, and a scheduler whose clock the
//! test sets.

#![allow(dead_code)] // each test file uses a different part

use std::sync::{Arc, Mutex};

use cita_scheduling::ops::Scheduler;
use cita_shared::{
    contracts::scheduling::{
        Actor, Appointment, BookRequest, Channel, Outcome, Reply, Request, SchedulingError, Source,
        Who,
    },
    testing::{Barbershop, Service, TestDb},
};
use jiff::{Timestamp, tz::TimeZone};
use uuid::Uuid;

pub const ZONE: &str = cita_shared::testing::barbershop::ZONE;

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
        let shop = Barbershop::builder()
            .hours(
                1..=7,
                &[("10:00", "14:00"), ("15:00", "19:00")],
                ("10:00", "19:00"),
            )
            .services([Service::haircut().with_buffer(15)])
            .customer(Some("5215533330001"), Some("525533330001"), Some("Ana"))
            .customer(Some("5215533330002"), Some("525533330002"), Some("Beto"))
            .create(&db.pool)
            .await;
        let now = Arc::new(Mutex::new(at("2026-12-07T08:00")));
        let clock = now.clone();
        let mut scheduler = Scheduler::new(
            db.pool.clone(),
            cita_scheduling::ops::Clock::from_fn(move || *clock.lock().unwrap()),
        );
        if let Some(cache) = cache {
            scheduler = scheduler.with_cache(cache);
        }
        Shop {
            db,
            scheduler,
            now,
            org: shop.organization,
            owner: shop.owner,
            barber: shop.barber,
            haircut: shop.services[0],
            ana: shop.customers[0],
            beto: shop.customers[1],
        }
    }

    pub fn set_now(&self, local: &str) {
        *self.now.lock().unwrap() = at(local);
    }

    pub fn customer(&self, id: Uuid) -> Actor {
        Actor {
            organization_id: self.org,
            who: Who::Customer { customer_id: id },
            channel: Channel::Whatsapp,
            api_key_id: None,
        }
    }

    pub fn staff(&self, id: Uuid) -> Actor {
        Actor {
            organization_id: self.org,
            who: Who::Staff { staff_id: id },
            channel: Channel::Whatsapp,
            api_key_id: None,
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
