//! Appointments through the API: the day's list page by page, free times from the engine,
//! and bookings, moves, cancellations and statuses written by scheduling.

mod common;

use cita_shared::testing::eventually;
use common::{Api, OWNER_PHONE, PATIENCE};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn book(api: &Api, token: &str, key: &str, body: Value) -> (StatusCode, Value) {
    let response = api
        .http
        .post(format!(
            "{}/v1/organizations/{}/appointments",
            api.base, api.orgs.a
        ))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_days_appointments_come_in_pages_in_order() {
    let api = Api::start().await;
    let token = api.token(OWNER_PHONE).await;
    let base = format!(
        "/v1/organizations/{}/appointments?from=2026-12-07T00:00:00-06:00&to=2026-12-08T00:00:00-06:00&limit=1",
        api.orgs.a
    );
    let (status, first) = api.get(&base, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        first["appointments"][0]["starts_at"],
        "2026-12-07T16:00:00Z"
    );
    assert_eq!(first["appointments"][0]["customer"]["name"], "Ana");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = api.get(&format!("{base}&cursor={cursor}"), &token).await;
    assert_eq!(
        second["appointments"][0]["starts_at"],
        "2026-12-07T17:00:00Z"
    );
    assert_eq!(second["next_cursor"], Value::Null);

    for bad in [
        "from=2026-12-07T00:00:00&to=2026-12-08T00:00:00Z",
        "from=2026-12-08T00:00:00Z&to=2026-12-07T00:00:00Z",
        "from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z&limit=0",
        "from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z&cursor=';DROP TABLE appointments;--",
    ] {
        let (status, problem) = api
            .get(
                &format!("/v1/organizations/{}/appointments?{bad}", api.orgs.a),
                &token,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
    }
    assert_eq!(api.db.count("SELECT count(*) FROM appointments").await, 3);
}

#[tokio::test]
async fn a_cached_list_follows_changes_whoever_makes_them() {
    let api = Api::start().await;
    let token = api.token(OWNER_PHONE).await;
    eventually(PATIENCE, "the read cache follows the database", || async {
        (api.metric("cita_api_read_cache_following").await == 1.0).then_some(())
    })
    .await;
    let day = format!(
        "/v1/organizations/{}/appointments?from=2026-12-07T00:00:00-06:00&to=2026-12-08T00:00:00-06:00",
        api.orgs.a
    );
    let (_, first) = api.get(&day, &token).await;
    let (_, again) = api.get(&day, &token).await;
    assert_eq!(first, again);
    assert_eq!(api.metric("cita_api_read_cache_hits_total").await, 1.0);
    assert_eq!(first["appointments"][0]["customer"]["name"], "Ana");

    // Written by SQL, as another worker or an operator would: no API, no scheduling.
    let client = api.db.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE customers SET name = 'Ana María' WHERE id = $1",
            &[&api.orgs.a_customer],
        )
        .await
        .unwrap();
    eventually(PATIENCE, "the list shows the new name", || async {
        let (_, list) = api.get(&day, &token).await;
        (list["appointments"][0]["customer"]["name"] == "Ana María").then_some(())
    })
    .await;
    client
        .execute(
            "UPDATE appointments SET status = 'cancelled' WHERE organization_id = $1",
            &[&api.orgs.a],
        )
        .await
        .unwrap();
    eventually(PATIENCE, "the list shows the cancellations", || async {
        let (_, list) = api.get(&day, &token).await;
        let statuses: Vec<&Value> = list["appointments"]
            .as_array()?
            .iter()
            .map(|a| &a["status"])
            .collect();
        statuses.iter().all(|s| *s == "cancelled").then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_owner_books_moves_marks_and_cancels_through_scheduling() {
    let api = Api::start().await;
    let token = api.token(OWNER_PHONE).await;
    let org = api.orgs.a;
    let (status, free) = api
        .get(
            &format!(
                "/v1/organizations/{org}/availability?service_type_id={}&date=2026-12-08",
                api.orgs.a_haircut
            ),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let slot = free["slots"][0]["starts_at"].as_str().unwrap().to_owned();
    assert_eq!(slot, "2026-12-08T16:00:00Z", "10:00 in Mexico City");

    let body = json!({
        "service_type_id": api.orgs.a_haircut,
        "starts_at": slot,
        "customer_phone": "+525544440001",
        "customer_name": "Carla",
    });
    let (status, booked) = book(&api, &token, "carla-1", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert_eq!(booked["status"], "confirmed");
    assert_eq!(booked["source"], "web");
    let (status, again) = book(&api, &token, "carla-1", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        again["id"], booked["id"],
        "the same key replays the first answer"
    );
    let carla = api
        .db
        .count("SELECT count(*) FROM customers WHERE name = 'Carla'")
        .await;
    assert_eq!(carla, 1);

    // The same time again for the same staff member is taken.
    let mut clash = body.clone();
    clash["staff_id"] = booked["staff_id"].clone();
    let (status, problem) = book(&api, &token, "carla-2", clash).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "slot_taken");
    assert!(!problem["alternatives"].as_array().unwrap().is_empty());

    let id = booked["id"].as_str().unwrap();
    let (status, moved) = api
        .post(
            &format!("/v1/organizations/{org}/appointments/{id}/move"),
            Some(&token),
            json!({ "starts_at": "2026-12-08T18:00:00Z" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["starts_at"], "2026-12-08T18:00:00Z");
    let (status, cancelled) = api
        .post(
            &format!("/v1/organizations/{org}/appointments/{id}/cancel"),
            Some(&token),
            json!({ "reason": "se enfermó" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    let (status, problem) = api
        .post(
            &format!("/v1/organizations/{org}/appointments/{id}/status"),
            Some(&token),
            json!({ "status": "completed" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "illegal_transition");
}

#[tokio::test]
async fn bad_bookings_are_refused_and_change_nothing() {
    let api = Api::start().await;
    let token = api.token(OWNER_PHONE).await;
    let before = api.db.count("SELECT count(*) FROM appointments").await;
    let haircut = api.orgs.a_haircut;
    let cases = [
        (
            json!({ "service_type_id": haircut, "starts_at": "2026-12-08T16:00:00Z", "customer_phone": "5544440001" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "service_type_id": haircut, "starts_at": "2026-12-08T16:00:00", "customer_id": api.orgs.a_customer }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "service_type_id": haircut, "starts_at": "2026-12-01T16:00:00Z", "customer_id": api.orgs.a_customer }),
            StatusCode::CONFLICT,
        ),
        (
            json!({ "service_type_id": haircut, "starts_at": "2026-12-08T16:00:00Z", "customer_id": api.orgs.a_customer, "price": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "service_type_id": "not-a-uuid", "starts_at": "2026-12-08T16:00:00Z" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (i, (body, expected)) in cases.into_iter().enumerate() {
        let (status, problem) = book(&api, &token, &format!("bad-{i}"), body.clone()).await;
        assert_eq!(status, expected, "{body}: {problem}");
        assert!(problem["code"].is_string());
    }
    assert_eq!(
        api.db.count("SELECT count(*) FROM appointments").await,
        before
    );
}

#[tokio::test]
async fn without_scheduling_writes_get_503_with_retry_after_and_reads_still_work() {
    let api = Api::start().await;
    let token = api.token(OWNER_PHONE).await;
    api.stop_scheduling();
    let response = api
        .http
        .post(format!(
            "{}/v1/organizations/{}/appointments",
            api.base, api.orgs.a
        ))
        .bearer_auth(&token)
        .header("idempotency-key", "during-outage")
        .json(&json!({
            "service_type_id": api.orgs.a_haircut,
            "starts_at": "2026-12-08T16:00:00Z",
            "customer_id": api.orgs.a_customer,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let (status, _) = api
        .get(
            &format!(
                "/v1/organizations/{}/appointments?from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z",
                api.orgs.a
            ),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
