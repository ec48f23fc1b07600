//! The live event stream: what happens in the organization arrives as Server-Sent
//! Events, only the organization's own, only what the viewer may see, and a reconnection
//! with `Last-Event-ID` gets what it missed.

mod common;

use std::time::Duration;

use common::{Api, BARBER_PHONE, OTHER_OWNER_PHONE, OWNER_PHONE};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// How long a test waits for the next event before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

struct Stream {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug)]
struct Sse {
    id: i64,
    kind: String,
    data: Value,
}

impl Stream {
    async fn open(api: &Api, org: Uuid, token: &str, last: Option<&str>) -> Stream {
        let mut request = api
            .http
            .get(format!("{}/v1/organizations/{org}/events", api.base))
            .bearer_auth(token);
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Stream {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (keep-alive comments skipped).
    async fn next(&mut self) -> Sse {
        tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let field = |name: &str| {
                        block
                            .lines()
                            .find_map(|l| l.strip_prefix(name))
                            .map(str::trim)
                            .map(str::to_owned)
                    };
                    if let (Some(id), Some(kind), Some(data)) =
                        (field("id:"), field("event:"), field("data:"))
                    {
                        return Sse {
                            id: id.parse().unwrap(),
                            kind,
                            data: serde_json::from_str(&data).unwrap(),
                        };
                    }
                    continue;
                }
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .unwrap()
                    .expect("the stream ended");
                self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("no event in time")
    }
}

async fn book(api: &Api, org: Uuid, token: &str, body: Value) -> Value {
    let response = api
        .http
        .post(format!("{}/v1/organizations/{org}/appointments", api.base))
        .bearer_auth(token)
        .header("idempotency-key", Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

#[tokio::test]
async fn bookings_arrive_live_only_in_their_organization_and_resume_by_id() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let other = api.token(OTHER_OWNER_PHONE).await;
    let o = &api.orgs;
    let mut stream = Stream::open(&api, o.a, &owner, None).await;

    let booked = book(
        &api,
        o.a,
        &owner,
        json!({ "service_type_id": o.a_haircut, "starts_at": "2026-12-08T16:00:00Z",
                "customer_id": o.a_customer, "staff_id": o.a_owner }),
    )
    .await;
    let first = stream.next().await;
    assert_eq!(first.kind, "appointment.booked");
    assert_eq!(first.data["appointment"]["id"], booked["id"]);

    // B books, then A cancels: A's next event is its own cancellation.
    book(
        &api,
        o.b,
        &other,
        json!({ "service_type_id": o.b_service, "starts_at": "2026-12-08T15:00:00Z",
                "customer_id": o.b_customer }),
    )
    .await;
    let (status, _) = api
        .post(
            &format!(
                "/v1/organizations/{}/appointments/{}/cancel",
                o.a,
                booked["id"].as_str().unwrap()
            ),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let second = stream.next().await;
    assert_eq!(second.kind, "appointment.cancelled");
    assert_eq!(second.data["organization_id"], json!(o.a));
    assert!(second.id > first.id);

    // A stream reopened after the first event gets the second from the outbox.
    let mut resumed = Stream::open(&api, o.a, &owner, Some(&first.id.to_string())).await;
    let missed = resumed.next().await;
    assert_eq!(
        (missed.id, missed.kind.as_str()),
        (second.id, "appointment.cancelled")
    );
}

#[tokio::test]
async fn staff_without_the_permission_see_only_their_own_appointments() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let barber = api.token(BARBER_PHONE).await;
    let o = &api.orgs;
    let mut stream = Stream::open(&api, o.a, &barber, None).await;
    book(
        &api,
        o.a,
        &owner,
        json!({ "service_type_id": o.a_haircut, "starts_at": "2026-12-08T16:00:00Z",
                "customer_id": o.a_customer, "staff_id": o.a_owner }),
    )
    .await;
    let theirs = book(
        &api,
        o.a,
        &owner,
        json!({ "service_type_id": o.a_haircut, "starts_at": "2026-12-08T17:00:00Z",
                "customer_id": o.a_customer, "staff_id": o.a_barber }),
    )
    .await;
    let seen = stream.next().await;
    assert_eq!(seen.data["appointment"]["id"], theirs["id"]);

    // Their own block, made by the owner, arrives too.
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/organizations/{}/blocks", o.a),
            Some(&owner),
            Some(
                json!({ "staff_id": o.a_barber, "starts_at": "2026-12-09T20:00:00Z",
                         "ends_at": "2026-12-09T21:00:00Z", "reason": "comida" }),
            ),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a block needs an Idempotency-Key"
    );
    let response = api
        .http
        .post(format!("{}/v1/organizations/{}/blocks", api.base, o.a))
        .bearer_auth(&owner)
        .header("idempotency-key", "lunch")
        .json(
            &json!({ "staff_id": o.a_barber, "starts_at": "2026-12-09T20:00:00Z",
                       "ends_at": "2026-12-09T21:00:00Z", "reason": "comida" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let block = stream.next().await;
    assert_eq!(
        (
            block.kind.as_str(),
            &block.data["time_off"]["kind"],
            block.data["removed"].as_bool()
        ),
        ("time_off.changed", &json!("block"), Some(false))
    );

    let bad = api
        .http
        .get(format!("{}/v1/organizations/{}/events", api.base, o.a))
        .bearer_auth(&barber)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_conversation_taken_over_is_live_for_those_who_see_the_business() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let barber = api.token(BARBER_PHONE).await;
    let o = &api.orgs;
    let mut owners = Stream::open(&api, o.a, &owner, None).await;
    let mut barbers = Stream::open(&api, o.a, &barber, None).await;
    let (status, _) = api
        .post(
            &format!(
                "/v1/organizations/{}/conversations/{}/take-over",
                o.a, o.a_conversation
            ),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let taken = owners.next().await;
    assert_eq!(taken.kind, "conversation.changed");
    assert_eq!(taken.data["conversation_id"], json!(o.a_conversation));
    assert_eq!(taken.data["status"], "handed_off");

    // The barber's next event is their own booking: customers' words are not theirs.
    let theirs = book(
        &api,
        o.a,
        &owner,
        json!({ "service_type_id": o.a_haircut, "starts_at": "2026-12-08T17:00:00Z",
                "customer_id": o.a_customer, "staff_id": o.a_barber }),
    )
    .await;
    let seen = barbers.next().await;
    assert_eq!(seen.kind, "appointment.booked");
    assert_eq!(seen.data["appointment"]["id"], theirs["id"]);
}
