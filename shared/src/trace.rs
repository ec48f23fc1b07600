//! Following one piece of work across the fleet: a W3C `traceparent`
//! (`00-<trace id>-<parent id>-<flags>`) travels in the AMQP headers of every message the
//! work causes, and every log line of that work carries its trace id.
//!
//! The ingress starts the trace from its request id (the trace id *is* the request id).
//! The consumer continues it for each delivery ([`Trace::scope`]); whatever the handler
//! publishes — through the publisher, the RPC client or the outbox — carries it on. A
//! message without one starts a new trace.

use std::fmt;

use lapin::types::{AMQPValue, FieldTable, ShortString};
use uuid::Uuid;

/// The AMQP header (and HTTP header) that carries the context.
pub const HEADER: &str = "traceparent";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    pub trace_id: [u8; 16],
    /// The span that caused this one.
    pub parent_id: [u8; 8],
    pub sampled: bool,
}

tokio::task_local! {
    static CURRENT: Trace;
}

impl Trace {
    /// A new trace whose id is `request_id`.
    pub fn start(request_id: Uuid) -> Trace {
        Trace {
            trace_id: *request_id.as_bytes(),
            parent_id: span_id(),
            sampled: true,
        }
    }

    /// The same trace, one hop further (a new span id as the next one's parent).
    pub fn child(self) -> Trace {
        Trace {
            parent_id: span_id(),
            ..self
        }
    }

    /// `00-<32 hex>-<16 hex>-<2 hex>`; `None` unless it is a valid version-00 context
    /// (ids all zero are invalid, per the specification).
    pub fn parse(header: &str) -> Option<Trace> {
        let mut parts = header.trim().split('-');
        let (version, trace, parent, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "00" || parts.next().is_some() {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut parent_id = [0u8; 8];
        let mut flag = [0u8; 1];
        hex::decode_to_slice(trace, &mut trace_id).ok()?;
        hex::decode_to_slice(parent, &mut parent_id).ok()?;
        hex::decode_to_slice(flags, &mut flag).ok()?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(Trace {
            trace_id,
            parent_id,
            sampled: flag[0] & 1 == 1,
        })
    }

    /// The context carried by a message's headers, if any.
    pub fn from_headers(headers: Option<&FieldTable>) -> Option<Trace> {
        match headers?.inner().get(HEADER)? {
            AMQPValue::LongString(value) => Trace::parse(&value.to_string()),
            AMQPValue::ShortString(value) => Trace::parse(value.as_str()),
            _ => None,
        }
    }

    /// The trace id as 32 hex digits (what log lines show).
    pub fn id(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The trace of the work this task is doing, if any.
    pub fn current() -> Option<Trace> {
        CURRENT.try_with(|trace| *trace).ok()
    }

    /// Runs `work` as part of this trace: what it publishes carries it.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// Adds the current trace to `headers`, one hop further, unless they carry one.
    pub fn propagate(headers: &mut FieldTable) {
        if headers.inner().contains_key(HEADER) {
            return;
        }
        if let Some(trace) = Trace::current() {
            headers.insert(
                ShortString::from(HEADER),
                AMQPValue::LongString(trace.child().to_string().into()),
            );
        }
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.parent_id),
            u8::from(self.sampled)
        )
    }
}

fn span_id() -> [u8; 8] {
    let mut id = [0u8; 8];
    id.copy_from_slice(&Uuid::new_v4().as_bytes()[..8]);
    if id == [0; 8] {
        id[7] = 1;
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_reads_back_as_written_and_bad_ones_are_refused() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = Trace::parse(header).unwrap();
        assert_eq!(trace.to_string(), header);
        assert_eq!(trace.id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(trace.sampled);
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        ] {
            assert_eq!(Trace::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn work_in_a_scope_passes_its_trace_on_one_hop_further() {
        let request = Uuid::new_v4();
        let trace = Trace::start(request);
        assert_eq!(trace.id(), request.simple().to_string());
        let mut headers = FieldTable::default();
        trace
            .scope(async {
                assert_eq!(Trace::current(), Some(trace));
                Trace::propagate(&mut headers);
            })
            .await;
        let carried = Trace::from_headers(Some(&headers)).unwrap();
        assert_eq!(carried.trace_id, trace.trace_id);
        assert_ne!(carried.parent_id, trace.parent_id);
        assert_eq!(Trace::current(), None, "outside the scope there is none");
    }
}
