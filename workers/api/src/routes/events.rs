//! The organization's live events as Server-Sent Events: bookings, changes, time off,
//! handoffs and failed messages, each with its outbox `seq` as its id, resumable with
//! `Last-Event-ID`.

use std::{collections::HashSet, convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::HeaderMap,
    response::sse::{Event, KeepAlive, Sse},
};
use cita_shared::contracts::scheduling::permissions::VIEW_BUSINESS_SCHEDULE;
use futures_lite::{Stream, stream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    auth::Scoped,
    live::LiveEvent,
    problem::{ApiError, ApiResult},
    state::Shared,
    tenant,
};

/// Missed events one reconnection replays; with more, the stream ends after them and the
/// client's next reconnection goes on from the last.
const REPLAY_MAX: i64 = 500;
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Who watches: everything of the organization, or only their own appointments.
struct Viewer {
    organization_id: Uuid,
    staff_id: Uuid,
    sees_all: bool,
}

impl Viewer {
    /// Without the permission: their own appointments and time off, and the business's
    /// closures (which are everyone's).
    fn sees(&self, event: &LiveEvent) -> bool {
        let own = event.staff.contains(&self.staff_id);
        event.organization_id == self.organization_id
            && (self.sees_all
                || (event.kind.starts_with("appointment.") && own)
                || (event.kind.starts_with("time_off.") && (own || event.staff.is_empty())))
    }
}

struct Feed {
    viewer: Viewer,
    replay: std::vec::IntoIter<LiveEvent>,
    replayed: HashSet<i64>,
    /// The replay was cut at its limit: end after it, so the client resumes from there.
    end_after_replay: bool,
    receiver: broadcast::Receiver<Arc<LiveEvent>>,
    shutdown: CancellationToken,
}

fn sse(event: &LiveEvent) -> Event {
    Event::default()
        .id(event.seq.to_string())
        .event(&event.kind)
        .data(&event.data)
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/events", security(("bearer" = [])), tag = "live",
    params(("organization_id" = Uuid, Path), ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the ones after it are sent first")),
    responses((status = 200, content_type = "text/event-stream", body = String, description = "`event:` the kind (appointment.booked, appointment.cancelled, appointment.rescheduled, appointment.status_changed, appointment.held, appointment.hold_ended, time_off.changed, conversation.handed_off, conversation.changed, message.received, message.status, message.failed, organization.quota_exceeded, organization.token_invalid), `id:` its sequence, `data:` the event's JSON"),
        (status = 400, body = crate::problem::Problem), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn stream(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let last = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ApiError::BadRequest("Last-Event-ID is not an id this API sent".into())
                })?,
        ),
    };
    let viewer = Viewer {
        organization_id: caller.organization_id,
        staff_id: caller.staff_id,
        sees_all: caller.may(VIEW_BUSINESS_SCHEDULE),
    };
    // Subscribed before the replay is read, so nothing published meanwhile falls between.
    let receiver = state.live.subscribe();
    let replay = match last {
        Some(after) => missed(&state, caller.organization_id, after).await?,
        None => Vec::new(),
    };
    let end_after_replay = replay.len() as i64 >= REPLAY_MAX;
    let replay: Vec<LiveEvent> = replay.into_iter().filter(|e| viewer.sees(e)).collect();
    let feed = Feed {
        viewer,
        replayed: replay.iter().map(|e| e.seq).collect(),
        replay: replay.into_iter(),
        end_after_replay,
        receiver,
        shutdown: state.shutdown.clone(),
    };
    let events = stream::unfold(feed, |mut feed| async move {
        if let Some(event) = feed.replay.next() {
            return Some((Ok(sse(&event)), feed));
        }
        if feed.end_after_replay {
            return None;
        }
        loop {
            let received = tokio::select! {
                () = feed.shutdown.cancelled() => return None,
                received = feed.receiver.recv() => received,
            };
            match received {
                Ok(event) if feed.viewer.sees(&event) && !feed.replayed.contains(&event.seq) => {
                    return Some((Ok(sse(&event)), feed));
                }
                Ok(_) => {}
                // Too far behind: end, and the client's reconnection resumes by id.
                Err(RecvError::Lagged(skipped)) => {
                    tracing::info!(skipped, "a live stream fell behind; ended");
                    return None;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The organization's events after `after`, from the outbox, in order.
async fn missed(state: &Shared, organization_id: Uuid, after: i64) -> ApiResult<Vec<LiveEvent>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, organization_id).await?;
    let rows = tx
        .query(
            "SELECT seq, routing_key, payload::text FROM outbox
             WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &REPLAY_MAX],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .filter_map(|r| LiveEvent::parse(r.get(0), r.get::<_, &str>(1), r.get(2)))
        .collect())
}
