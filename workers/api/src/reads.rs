//! A cache of appointment lists, exact rather than timed.
//!
//! PostgreSQL notifies `cita_reads` with an organization's id whenever a transaction that
//! changed what its lists show commits (`sql/migrations/0012_read_cache.sql`). This
//! replica listens; each notification drops the organization's lists and bumps its
//! generation. A list read from the database is kept only if the generation did not move
//! while it was read, so an answer computed before a change is never stored after it.
//! While the listening connection is down nothing is served from the cache or stored in
//! it; when it is back, everything stored before is dropped.
//!
//! A list is the same for everyone allowed to see it, so the key is the organization and
//! the query string; handlers check the caller before they ask.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::body::Bytes;
use cita_shared::{db, tls::Endpoint};
use prometheus_client::{
    metrics::{counter::Counter, gauge::Gauge},
    registry::Registry,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// What all stored lists may add up to; past it the cache starts over.
const BUDGET_BYTES: usize = 8 << 20;
/// How long a lost listening connection waits before it is opened again.
const RETRY: Duration = Duration::from_secs(1);
pub const CHANNEL: &str = "cita_reads";

#[derive(Clone, Default)]
pub struct ReadCache(Arc<Inner>);

#[derive(Default)]
struct Inner {
    listening: AtomicBool,
    state: Mutex<State>,
    hits: Counter,
    misses: Counter,
    following: Gauge,
}

#[derive(Default)]
struct State {
    organizations: HashMap<Uuid, Organization>,
    bytes: usize,
}

#[derive(Default)]
struct Organization {
    generation: u64,
    lists: HashMap<String, Bytes>,
}

/// Where a read started: stored only if nothing changed since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    organization_id: Uuid,
    generation: u64,
}

impl ReadCache {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "api_read_cache_hits",
            "Appointment lists answered from the read cache",
            self.0.hits.clone(),
        );
        registry.register(
            "api_read_cache_misses",
            "Appointment lists read from the database",
            self.0.misses.clone(),
        );
        registry.register(
            "api_read_cache_following",
            "1 while the read cache hears the database's changes",
            self.0.following.clone(),
        );
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The stored list, if any. Call [`ReadCache::ticket`] first when it is missing,
    /// before the database is read.
    pub fn get(&self, organization_id: Uuid, key: &str) -> Option<Bytes> {
        if !self.0.listening.load(Ordering::Acquire) {
            return None;
        }
        let list = self
            .state()
            .organizations
            .get(&organization_id)
            .and_then(|organization| organization.lists.get(key).cloned());
        match list {
            Some(_) => self.0.hits.inc(),
            None => self.0.misses.inc(),
        };
        list
    }

    /// `None` while changes cannot be heard: the answer is not to be stored.
    pub fn ticket(&self, organization_id: Uuid) -> Option<Ticket> {
        if !self.0.listening.load(Ordering::Acquire) {
            return None;
        }
        let generation = self
            .state()
            .organizations
            .get(&organization_id)
            .map_or(0, |organization| organization.generation);
        Some(Ticket {
            organization_id,
            generation,
        })
    }

    pub fn put(&self, ticket: Ticket, key: &str, list: Bytes) {
        let mut state = self.state();
        if !self.0.listening.load(Ordering::Acquire) {
            return;
        }
        if state.bytes + list.len() > BUDGET_BYTES {
            state
                .organizations
                .values_mut()
                .for_each(|o| o.lists.clear());
            state.bytes = 0;
        }
        let size = list.len();
        let organization = state
            .organizations
            .entry(ticket.organization_id)
            .or_default();
        if organization.generation != ticket.generation {
            return;
        }
        let replaced = organization.lists.insert(key.to_owned(), list);
        state.bytes = state.bytes + size - replaced.map_or(0, |old| old.len());
    }

    /// The organization's data changed: its lists are dropped and reads in flight will
    /// not be stored.
    pub fn invalidate(&self, organization_id: Uuid) {
        let mut state = self.state();
        let organization = state.organizations.entry(organization_id).or_default();
        organization.generation += 1;
        let freed: usize = organization.lists.drain().map(|(_, list)| list.len()).sum();
        state.bytes -= freed;
    }

    fn set_listening(&self, listening: bool) {
        let mut state = self.state();
        for organization in state.organizations.values_mut() {
            organization.generation += 1;
            organization.lists.clear();
        }
        state.bytes = 0;
        self.0.listening.store(listening, Ordering::Release);
        self.0.following.set(i64::from(listening));
    }
}

/// Listens on [`CHANNEL`] until `shutdown`, opening the connection again when it is lost.
pub async fn follow(url: Endpoint, cache: ReadCache, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        match db::listen(&url, CHANNEL).await {
            Ok(mut listening) => {
                // Everything stored before this point may have missed a notification.
                cache.set_listening(true);
                tracing::info!("the read cache follows the database's changes");
                loop {
                    let payload = tokio::select! {
                        () = shutdown.cancelled() => break,
                        payload = listening.next() => payload,
                    };
                    let Some(payload) = payload else { break };
                    match Uuid::try_parse(&payload) {
                        Ok(organization_id) => cache.invalidate(organization_id),
                        Err(_) => {
                            tracing::warn!(%payload, "a read notification without an organization")
                        }
                    }
                }
                cache.set_listening(false);
                if !shutdown.is_cancelled() {
                    tracing::warn!(
                        "the read cache lost the database's changes; reading through until it is back"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(error = %cita_shared::error::Chain(&error), "the read cache cannot listen; reading through");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening() -> ReadCache {
        let cache = ReadCache::default();
        cache.set_listening(true);
        cache
    }

    #[test]
    fn a_list_read_across_a_change_is_not_stored() {
        let cache = listening();
        let org = Uuid::new_v4();
        let ticket = cache.ticket(org).unwrap();
        cache.invalidate(org);
        cache.put(ticket, "q", Bytes::from_static(b"old"));
        assert_eq!(cache.get(org, "q"), None);
        let ticket = cache.ticket(org).unwrap();
        cache.put(ticket, "q", Bytes::from_static(b"new"));
        assert_eq!(cache.get(org, "q"), Some(Bytes::from_static(b"new")));
    }

    #[test]
    fn a_change_drops_only_its_organizations_lists() {
        let cache = listening();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        cache.put(cache.ticket(a).unwrap(), "q", Bytes::from_static(b"a"));
        cache.put(cache.ticket(b).unwrap(), "q", Bytes::from_static(b"b"));
        cache.invalidate(a);
        assert_eq!(cache.get(a, "q"), None);
        assert_eq!(cache.get(b, "q"), Some(Bytes::from_static(b"b")));
        assert_eq!(cache.state().bytes, 1);
    }

    #[test]
    fn nothing_is_served_or_stored_while_changes_cannot_be_heard() {
        let cache = listening();
        let org = Uuid::new_v4();
        let ticket = cache.ticket(org).unwrap();
        cache.put(ticket, "q", Bytes::from_static(b"x"));
        cache.set_listening(false);
        assert_eq!(cache.get(org, "q"), None);
        assert!(cache.ticket(org).is_none());
        cache.put(ticket, "q", Bytes::from_static(b"x"));
        cache.set_listening(true);
        assert_eq!(cache.get(org, "q"), None);
    }

    #[test]
    fn the_budget_bounds_what_is_kept() {
        let cache = listening();
        let org = Uuid::new_v4();
        let big = Bytes::from(vec![0; BUDGET_BYTES / 2 + 1]);
        cache.put(cache.ticket(org).unwrap(), "one", big.clone());
        cache.put(cache.ticket(org).unwrap(), "two", big.clone());
        assert_eq!(cache.get(org, "one"), None);
        assert_eq!(cache.get(org, "two"), Some(big));
        assert!(cache.state().bytes <= BUDGET_BYTES);
    }
}
