//! Holds through the API and the dashboard: a held time is taken for everyone else, the
//! owner approves or rejects it once (on the day's queue, in a real browser, or by the
//! decision endpoint), and not after its deadline.

mod common;

use common::{
    Api, OWNER_PHONE, at,
    browser::Browser,
    pages::{client, cookie_of, csrf_in},
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use uuid::Uuid;

/// A customer's booking with the owner at `time`, waiting for approval until `until`.
async fn hold(api: &Api, time: &str, until: &str) -> Uuid {
    api.db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id,
                                       starts_at, ends_at, status, source, hold_expires_at)
             VALUES ($1, $2, $3, $4, $5::timestamptz, $5::timestamptz + interval '45 minutes', 'pending', 'whatsapp', $6)
             RETURNING id",
            &[
                &api.orgs.a,
                &api.orgs.a_customer,
                &api.orgs.a_owner,
                &api.orgs.a_haircut,
                &at(time),
                &at(until),
            ],
        )
        .await
        .unwrap()
        .get(0)
}

async fn decide(
    api: &Api,
    token: &str,
    org: Uuid,
    id: Uuid,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = api
        .http
        .post(format!(
            "{}/v1/organizations/{org}/appointments/{id}/decision",
            api.base
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

async fn status_of(api: &Api, id: Uuid) -> (String, Option<String>) {
    let row = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT status, cancellation_reason FROM appointments WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn the_decision_endpoint_approves_once_and_never_after_the_deadline() {
    let api = Api::start().await;
    let token = api.token(OWNER_PHONE).await;
    let held = hold(&api, "2026-12-08T12:00", "2026-12-07T10:00").await;
    let a = api.orgs.a;

    // The held time is taken for a booking by the API too.
    let response = api
        .http
        .post(format!("{}/v1/organizations/{a}/appointments", api.base))
        .bearer_auth(&token)
        .header("idempotency-key", "taken")
        .json(&json!({
            "service_type_id": api.orgs.a_haircut,
            "starts_at": "2026-12-08T18:00:00Z",
            "staff_id": api.orgs.a_owner,
            "customer_phone": "+525544440002",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // Listed with its deadline.
    let (_, list) = api
        .get(
            &format!("/v1/organizations/{a}/appointments?from=2026-12-08T00:00:00-06:00&to=2026-12-09T00:00:00-06:00"),
            &token,
        )
        .await;
    let listed = &list["appointments"][0];
    assert_eq!(listed["status"], "pending");
    assert_eq!(listed["hold_expires_at"], "2026-12-07T16:00:00Z");

    // Another organization's appointment is not found, and nothing changes.
    let (status, _) = decide(
        &api,
        &token,
        a,
        api.orgs.b_appointment,
        "b",
        json!({"approve": true}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = decide(&api, &token, a, held, "bad", json!({"approve": "sí"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of(&api, held).await.0, "pending");

    let (status, approved) = decide(&api, &token, a, held, "ok", json!({"approve": true})).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["status"], "confirmed");
    // The same key replays; a new decision is refused.
    let (status, replay) = decide(&api, &token, a, held, "ok", json!({"approve": true})).await;
    assert_eq!(
        (status, &replay["status"]),
        (StatusCode::OK, &json!("confirmed"))
    );
    let (status, again) = decide(&api, &token, a, held, "no", json!({"approve": false})).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_decided"))
    );

    let late = hold(&api, "2026-12-08T15:00", "2026-12-07T07:59").await;
    let (status, refused) = decide(&api, &token, a, late, "late", json!({"approve": true})).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("hold_expired"))
    );
    assert_eq!(status_of(&api, late).await.0, "pending");
}

#[tokio::test]
async fn the_owner_approves_one_from_the_days_queue_and_rejects_another_with_a_reason() {
    let api = Api::start().await;
    let base = api.base.replace("127.0.0.1", "localhost");
    let first = hold(&api, "2026-12-07T15:00", "2026-12-07T10:00").await;
    let second = hold(&api, "2026-12-09T12:00", "2026-12-07T12:00").await;

    let browser = Browser::start(390, 844).await;
    browser
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;
    browser.wait_for(".queue").await;
    let queued = browser.all(".queue li").await;
    assert_eq!(queued.len(), 2, "{queued:?}");
    assert!(
        browser.texts("#por-aprobar").await[0].contains("(2)"),
        "the queue says how many"
    );
    // Today's hold is on the grid too, in the pending colour.
    assert_eq!(browser.all(".appt[data-status=pending]").await.len(), 1);
    browser.screenshot("hoy-por-aprobar-phone").await;

    // Soonest deadline first: the first one, approved in one tap.
    browser.click(".queue li:first-child button").await;
    browser.wait_for("[role=status]").await;
    assert_eq!(
        browser.texts("[role=status]").await,
        ["Listo: cita aprobada; se le avisa al cliente."]
    );
    assert_eq!(status_of(&api, first).await.0, "confirmed");

    // The other, opened and rejected with a reason the customer reads.
    browser.goto(&format!("{base}/citas/{second}")).await;
    browser.wait_for(".decision").await;
    browser.screenshot("cita-por-aprobar-phone").await;
    browser
        .type_into(".decision input[name=motivo]", "Ese día cerramos temprano")
        .await;
    browser.submit(".decision form:last-child button").await;
    browser.wait_for("[role=status]").await;
    assert_eq!(
        status_of(&api, second).await,
        ("cancelled".into(), Some("Ese día cerramos temprano".into()))
    );
    browser.goto(&format!("{base}/hoy")).await;
    browser.wait_for(".legend").await;
    assert!(
        browser.all(".queue").await.is_empty(),
        "nothing left to approve"
    );

    let desktop = Browser::start(1440, 900).await;
    hold(&api, "2026-12-07T17:00", "2026-12-07T11:00").await;
    desktop
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;
    desktop.wait_for(".queue").await;
    desktop.screenshot("hoy-por-aprobar-desktop").await;
}

#[tokio::test]
async fn without_javascript_a_late_approval_is_refused_in_words() {
    let api = Api::start().await;
    let late = hold(&api, "2026-12-08T12:00", "2026-12-07T07:00").await;
    let cookie = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let page = http
        .get(format!("{}/citas/{late}", api.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    let response = http
        .post(format!("{}/citas/{late}", api.base))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, &api.base)
        .form(&[
            ("csrf", csrf.as_str()),
            ("clave", &Uuid::new_v4().to_string()),
            ("accion", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(body.contains("La solicitud ya venció"), "{body}");
    assert_eq!(status_of(&api, late).await.0, "pending");
}

#[tokio::test]
async fn holds_that_ran_out_show_on_the_day_for_a_day_and_say_so_on_their_page() {
    let api = Api::start().await;
    let recent = hold(&api, "2026-12-08T12:00", "2026-12-07T07:30").await;
    let old = hold(&api, "2026-12-08T15:00", "2026-12-06T07:00").await;
    api.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE appointments SET status = 'cancelled', hold_outcome = 'expired'
             WHERE id = ANY ($1)",
            &[&vec![recent, old]],
        )
        .await
        .unwrap();
    let page_of = |cookie: String, path: String| {
        let base = api.base.clone();
        async move {
            client()
                .get(format!("{base}{path}"))
                .header(header::COOKIE, cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let day = page_of(owner.clone(), "/hoy".into()).await;
    assert!(day.contains("Vencieron sin respuesta"), "{day}");
    assert!(day.contains(&format!("data-expired=\"{recent}\"")), "{day}");
    assert!(
        !day.contains(&format!("data-expired=\"{old}\"")),
        "a day later it is gone"
    );
    assert!(!day.contains("Por aprobar ("), "nothing waits");
    let page = page_of(owner, format!("/citas/{recent}")).await;
    assert!(page.contains("Venció sin respuesta"), "{page}");
    assert!(!page.contains("class=\"decision\""), "{page}");

    // A barber decides only his own holds, so he is not shown the owner's.
    let barber = cookie_of(&api, common::BARBER_PHONE).await;
    let day = page_of(barber, "/hoy".into()).await;
    assert!(!day.contains("Vencieron sin respuesta"), "{day}");
}
