//! Calendar feeds: a secret URL per staff member or for the whole business that Google
//! Calendar or an iPhone subscribes to. Made, rotated and revoked by the people they
//! show; read by whoever holds the URL.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    auth::{Caller, Scoped},
    body::{Body, Path},
    ical::{self, Entry},
    problem::{ApiError, ApiResult},
    secrets,
    state::Shared,
    tenant,
};

/// What a feed shows: the last month and the next six.
const PAST: SignedDuration = SignedDuration::from_hours(24 * 31);
const AHEAD: SignedDuration = SignedDuration::from_hours(24 * 183);

/// Owners make and revoke any feed; staff their own.
fn may_manage(caller: &Caller, staff_id: Option<Uuid>) -> ApiResult<()> {
    if caller.owner || staff_id == Some(caller.staff_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

#[utoipa::path(get, path = "/v1/organizations/{organization_id}/calendar-feeds", security(("bearer" = [])), tag = "calendars", params(("organization_id" = Uuid, Path)),
    responses((status = 200, body = Value), (status = 401, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn list(State(state): State<Shared>, Scoped(caller): Scoped) -> ApiResult<Json<Value>> {
    let mut client = state.db().await?;
    let tx = tenant::read(&mut client, caller.organization_id).await?;
    let rows = tx
        .query(
            "SELECT id, staff_id, created_at FROM calendar_feeds
             WHERE revoked_at IS NULL AND ($1 OR staff_id = $2) ORDER BY created_at",
            &[&caller.owner, &caller.staff_id],
        )
        .await?;
    tx.commit().await?;
    let feeds: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r.get::<_, Uuid>(0),
                "staff_id": r.get::<_, Option<Uuid>>(1),
                "created_at": r.get::<_, Timestamp>(2),
            })
        })
        .collect();
    Ok(Json(json!({ "calendar_feeds": feeds })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedBody {
    /// One member's appointments; the whole business's (owner only) without it.
    pub staff_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/v1/organizations/{organization_id}/calendar-feeds", security(("bearer" = [])), tag = "calendars", params(("organization_id" = Uuid, Path)),
    request_body = FeedBody,
    responses((status = 201, body = Value, description = "`path` is shown this once: the feed's secret URL on this host"), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn create(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Body(body): Body<FeedBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    may_manage(&caller, body.staff_id)?;
    let token = secrets::token();
    let mut client = state.db().await?;
    let tx = tenant::write(&mut client, caller.organization_id).await?;
    if let Some(staff_id) = body.staff_id {
        let known = tx
            .query_opt("SELECT 1 FROM staff WHERE id = $1 AND active", &[&staff_id])
            .await?;
        if known.is_none() {
            return Err(ApiError::NotFound("staff member"));
        }
    }
    // A new feed for the same calendar replaces the old: that is how a URL is rotated.
    tx.execute(
        "UPDATE calendar_feeds SET revoked_at = now()
         WHERE revoked_at IS NULL AND staff_id IS NOT DISTINCT FROM $1",
        &[&body.staff_id],
    )
    .await?;
    let row = tx
        .query_one(
            "INSERT INTO calendar_feeds (organization_id, staff_id, token_hash, created_by)
             VALUES ($1, $2, $3, $4) RETURNING id, created_at",
            &[
                &caller.organization_id,
                &body.staff_id,
                &secrets::fingerprint(&token),
                &caller.staff_id,
            ],
        )
        .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": row.get::<_, Uuid>(0),
            "staff_id": body.staff_id,
            "created_at": row.get::<_, Timestamp>(1),
            "path": format!("/v1/calendars/{token}.ics"),
        })),
    ))
}

#[utoipa::path(delete, path = "/v1/organizations/{organization_id}/calendar-feeds/{feed_id}", security(("bearer" = [])), tag = "calendars", params(("organization_id" = Uuid, Path), ("feed_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = crate::problem::Problem), (status = 403, body = crate::problem::Problem), (status = 404, body = crate::problem::Problem)))]
pub async fn revoke(
    State(state): State<Shared>,
    Scoped(caller): Scoped,
    Path((_, feed_id)): Path<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let mut client = state.db().await?;
    let tx = tenant::write(&mut client, caller.organization_id).await?;
    let feed = tx
        .query_opt(
            "SELECT staff_id FROM calendar_feeds WHERE id = $1 AND revoked_at IS NULL FOR UPDATE",
            &[&feed_id],
        )
        .await?
        .ok_or(ApiError::NotFound("calendar feed"))?;
    may_manage(&caller, feed.get(0))?;
    tx.execute(
        "UPDATE calendar_feeds SET revoked_at = now() WHERE id = $1",
        &[&feed_id],
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Google Calendar and iOS fetch a feed a few times an hour at most.
const FEED_FETCHES_PER_HOUR: u64 = 120;

#[utoipa::path(get, path = "/v1/calendars/{token}", tag = "calendars", params(("token" = String, Path, description = "The secret of the feed's URL, with `.ics`")),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = crate::problem::Problem), (status = 429, body = crate::problem::Problem)))]
pub async fn feed(State(state): State<Shared>, Path(token): Path<String>) -> ApiResult<Response> {
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    let fingerprint = secrets::fingerprint(token);
    // Per feed, not per address: calendar services fetch every subscriber's feed from
    // a few addresses of their own.
    let name = format!(
        "{}:{}",
        state.topology.name("calendar-feed"),
        hex::encode(&fingerprint[..16])
    );
    crate::limits::hit(&state.redis, &name, FEED_FETCHES_PER_HOUR, 3600).await?;
    let mut client = state.db().await?;
    let statement = client
        .prepare_cached("SELECT organization_id, staff_id FROM calendar_feed($1)")
        .await?;
    let scope = client
        .query_opt(&statement, &[&fingerprint])
        .await?
        .ok_or(ApiError::NotFound("calendar feed"))?;
    let (organization_id, staff_id): (Uuid, Option<Uuid>) = (scope.get(0), scope.get(1));
    let now = state.clock.now();
    let tx = tenant::read(&mut client, organization_id).await?;
    let name: String = tx
        .query_one(
            "SELECT o.name || coalesce(' · ' || s.name, '') FROM organizations o
             LEFT JOIN staff s ON s.id = $1",
            &[&staff_id],
        )
        .await?
        .get(0);
    let rows = tx
        .query(
            "SELECT a.id, a.starts_at, a.ends_at, a.status, st.name, coalesce(c.name, 'Cliente'),
                    s.name, a.notes, a.updated_at
             FROM appointments a
             JOIN service_types st ON st.id = a.service_type_id
             JOIN customers c ON c.id = a.customer_id
             JOIN staff s ON s.id = a.staff_id
             WHERE a.starts_at >= $1 AND a.starts_at < $2
               AND a.status IN ('pending', 'confirmed', 'completed')
               AND ($3::uuid IS NULL OR a.staff_id = $3)
             ORDER BY a.starts_at, a.id LIMIT 5000",
            &[&(now - PAST), &(now + AHEAD), &staff_id],
        )
        .await?;
    tx.commit().await?;
    let entries: Vec<Entry> = rows
        .iter()
        .map(|r| {
            let (service, customer, staff): (String, String, String) =
                (r.get(4), r.get(5), r.get(6));
            Entry {
                id: r.get(0),
                starts_at: r.get(1),
                ends_at: r.get(2),
                tentative: r.get::<_, String>(3) == "pending",
                // A member's own feed needs no name of theirs on every event.
                summary: match staff_id {
                    Some(_) => format!("{service} · {customer}"),
                    None => format!("{service} · {customer} · con {staff}"),
                },
                description: r.get(7),
                updated_at: r.get(8),
            }
        })
        .collect();
    let mut response = ical::calendar(&name, &entries, now).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    Ok(response)
}
