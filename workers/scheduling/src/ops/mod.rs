//! The operations, each one PostgreSQL transaction. Writing operations carry an
//! idempotency key: a repeated key returns the first reply and writes nothing.

mod book;
mod business;
mod change;
mod conversations;
mod customers;
mod deposits;
mod holds;
mod read;
mod settings;
mod team;
mod time_off;

use std::{future::Future, pin::Pin};

use cita_shared::contracts::scheduling::{
    Actor, FreeSlot, Outcome, Reply, Request, SchedulingError,
};
use deadpool_postgres::Pool;
use jiff::Timestamp;
use uuid::Uuid;

use crate::{
    cache::Cache,
    calendar::{self, Organization, Search, Service},
    engine::Slot,
    error::Error,
    store::{self, Tx},
};

pub use cita_shared::clock::Clock;
pub use deposits::{Paid, Settled};

/// How many alternatives a refused booking offers, and how far ahead they are sought.
const ALTERNATIVES: usize = 3;
const ALTERNATIVE_DAYS: i64 = 7;
/// Runs of a transaction that PostgreSQL aborted for a deadlock or serialization failure.
const MAX_ATTEMPTS: u32 = 3;

pub struct Scheduler {
    pool: Pool,
    clock: Clock,
    cache: Option<Cache>,
}

impl Scheduler {
    pub fn new(pool: Pool, clock: Clock) -> Self {
        Scheduler {
            pool,
            clock,
            cache: None,
        }
    }

    /// Caches availability in Redis and invalidates it after every write.
    pub fn with_cache(mut self, cache: Cache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Runs one request. Never fails: failures of ours become `Unavailable`.
    pub async fn handle(&self, request: Request) -> Reply {
        let written = writes_to(&request);
        let mut attempt = 1;
        let result = loop {
            let result = self.run(request.clone()).await;
            match result {
                // Conflicting inserts under an exclusion constraint can deadlock each
                // other; PostgreSQL aborts one, and running it again is the documented cure.
                Err(ref error) if error.is_transient() && attempt < MAX_ATTEMPTS => attempt += 1,
                other => break other,
            }
        };
        // After the commit, never before: a reader that cached in between stored its
        // answer under the old version, which nobody reads any more.
        if let (Some(organization_id), Some(cache)) = (written, &self.cache) {
            cache.invalidate(organization_id).await;
        }
        result.unwrap_or_else(|error| Reply::Error(error.into_reply_error()))
    }

    async fn run(&self, request: Request) -> Result<Reply, Error> {
        match request {
            Request::Availability(r) => read::availability(self, r).await,
            Request::Book(r) => book::book(self, r).await,
            Request::BookWalkIn(r) => book::walk_in(self, r).await,
            Request::Cancel(r) => change::cancel(self, r).await,
            Request::Reschedule(r) => change::reschedule(self, r).await,
            Request::SetStatus(r) => change::set_status(self, r).await,
            Request::DecideHold(r) => holds::decide(self, r).await,
            Request::BlockTime(r) => time_off::block(self, r).await,
            Request::Schedule(r) => read::schedule(self, r).await,
            Request::Upcoming(r) => read::upcoming(self, r).await,
            Request::History(r) => read::history(self, r).await,
            Request::AddStaff(r) => team::add_staff(self, r).await,
            Request::RemoveStaff(r) => team::remove_staff(self, r).await,
            Request::SetStaffHours(r) => team::set_hours(self, r).await,
            Request::SetStaffPermissions(r) => team::set_permissions(self, r).await,
            Request::AddClosure(r) => time_off::add_closure(self, r).await,
            Request::RemoveTimeOff(r) => time_off::remove(self, r).await,
            Request::UpdateSettings(r) => settings::update_settings(self, r).await,
            Request::UpdateBusinessInfo(r) => settings::update_business_info(self, r).await,
            Request::UpdateCustomer(r) => customers::update(self, r).await,
            Request::TakeOver(r) => conversations::take_over(self, r).await,
            Request::Release(r) => conversations::release(self, r).await,
            Request::Reply(r) => conversations::reply(self, r).await,
            Request::SetBusinessHours(r) => business::set_hours(self, r).await,
            Request::UpsertService(r) => business::upsert_service(self, r).await,
            Request::Figures(r) => business::figures(self, r).await,
            Request::OpeningHours(r) => read::opening_hours(self, r).await,
        }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }
}

/// The body of a writing command, run inside the command's transaction.
type Command<'t> = Pin<Box<dyn Future<Output = Result<Outcome, Error>> + Send + 't>>;

/// Pins down a writing command's signature for the compiler (closures don't infer
/// higher-ranked lifetimes on their own).
fn writing<F>(command: F) -> F
where
    F: for<'t> FnOnce(&'t Tx<'t>) -> Command<'t>,
{
    command
}

impl Scheduler {
    /// Runs a writing command once per idempotency key: the remembered reply if the key
    /// was seen, otherwise the command's, remembered and committed with its writes.
    async fn once<F>(
        &self,
        actor: Actor,
        key: &str,
        fingerprint: &[u8],
        name: &str,
        command: F,
    ) -> Result<Reply, Error>
    where
        F: for<'t> FnOnce(&'t Tx<'t>) -> Command<'t>,
    {
        let organization_id = actor.organization_id;
        let mut client = self.pool.get().await?;
        let transaction = client.transaction().await?;
        let (remembered, ()) = tokio::try_join!(
            store::recall(&transaction, organization_id, key, fingerprint),
            async {
                cita_shared::db::audit::act_as(&transaction, &actor, name)
                    .await
                    .map_err(Error::from)
            },
        )?;
        if let Some(reply) = remembered {
            return Ok(reply);
        }
        let outcome = command(&transaction).await;
        store::settle(
            transaction,
            organization_id,
            key,
            fingerprint,
            name,
            outcome,
        )
        .await
    }
}

/// The organization whose cached availability a request may change; `None` for reads and
/// for writes availability does not depend on.
fn writes_to(request: &Request) -> Option<Uuid> {
    match request {
        Request::Availability(_)
        | Request::Schedule(_)
        | Request::Upcoming(_)
        | Request::History(_)
        | Request::Figures(_)
        | Request::OpeningHours(_) => None,
        // Availability is made of none of these.
        Request::SetStaffPermissions(_)
        | Request::UpdateSettings(_)
        | Request::UpdateBusinessInfo(_)
        | Request::UpdateCustomer(_)
        | Request::TakeOver(_)
        | Request::Release(_)
        | Request::Reply(_) => None,
        Request::Book(r) => Some(r.actor.organization_id),
        Request::BookWalkIn(r) => Some(r.actor.organization_id),
        Request::Cancel(r) => Some(r.actor.organization_id),
        Request::Reschedule(r) => Some(r.actor.organization_id),
        Request::SetStatus(r) => Some(r.actor.organization_id),
        Request::DecideHold(r) => Some(r.actor.organization_id),
        Request::BlockTime(r) => Some(r.actor.organization_id),
        // The team, the hours and the services are what availability is made of.
        Request::AddStaff(r) => Some(r.actor.organization_id),
        Request::RemoveStaff(r) => Some(r.actor.organization_id),
        Request::SetBusinessHours(r) => Some(r.actor.organization_id),
        Request::UpsertService(r) => Some(r.actor.organization_id),
        Request::SetStaffHours(r) => Some(r.actor.organization_id),
        Request::AddClosure(r) => Some(r.actor.organization_id),
        Request::RemoveTimeOff(r) => Some(r.actor.organization_id),
    }
}

/// Why `start` is not free: taken (it would be free without appointments) or never
/// bookable, with the nearest free alternatives either way.
async fn refusal(
    tx: &Tx<'_>,
    org: &Organization,
    service: &Service,
    start: Timestamp,
    staff_id: Option<Uuid>,
    ignoring: Option<Uuid>,
    now: Timestamp,
) -> Result<Error, Error> {
    let day = calendar::local_date(&org.time_zone, start);
    let mut search = Search::days(day, day);
    search.staff_id = staff_id;
    search.ignoring = ignoring;
    search.without_appointments = true;
    let bookable = calendar::free_slots(tx, org, service, &search, now)
        .await?
        .iter()
        .any(|s| s.start == start);
    let alternatives = alternatives(tx, org, service, start, staff_id, ignoring, now).await?;
    Ok(Error::Rejected(if bookable {
        SchedulingError::SlotTaken { alternatives }
    } else {
        SchedulingError::NotAvailable { alternatives }
    }))
}

/// The free slots nearest to `wanted` (before or after it) within a week, earliest first.
async fn alternatives(
    tx: &Tx<'_>,
    org: &Organization,
    service: &Service,
    wanted: Timestamp,
    staff_id: Option<Uuid>,
    ignoring: Option<Uuid>,
    now: Timestamp,
) -> Result<Vec<FreeSlot>, Error> {
    let day = calendar::local_date(&org.time_zone, wanted.max(now));
    let last = day
        .checked_add(jiff::Span::new().days(ALTERNATIVE_DAYS))
        .map_err(|e| Error::invalid(e.to_string()))?;
    let mut search = Search::days(day, last);
    search.staff_id = staff_id;
    search.ignoring = ignoring;
    let mut slots = calendar::free_slots(tx, org, service, &search, now).await?;
    slots.sort_by_key(|s| (s.start.duration_since(wanted).abs(), s.start));
    slots.truncate(ALTERNATIVES);
    slots.sort_by_key(|s| s.start);
    Ok(slots.into_iter().map(free_slot).collect())
}

fn free_slot(slot: Slot) -> FreeSlot {
    FreeSlot {
        starts_at: slot.start,
        staff_ids: slot.resources,
    }
}
