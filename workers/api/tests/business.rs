//! Managing the business over HTTP: settings under ETag/If-Match, closures, the team,
//! services, customers, walk-ins, figures and the audit log. Every write goes through
//! scheduling, which the audit log shows.

mod common;

use common::{Api, BARBER_PHONE, OWNER_PHONE, at};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

struct Answer {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Value,
}

async fn send(
    api: &Api,
    method: Method,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut request = api
        .http
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn settings(handoff: u32) -> Value {
    json!({
        "reminder_offsets_minutes": [1440, 120],
        "review_request_after_minutes": 90,
        "review_link": "https://g.page/r/barberia",
        "assistant_mode": "guided",
        "handoff_minutes": handoff,
        "change_cutoff_minutes": 120,
    })
}

#[tokio::test]
async fn settings_are_replaced_only_by_who_read_the_current_version() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let barber = api.token(BARBER_PHONE).await;
    let path = format!("/v1/organizations/{}/settings", api.orgs.a);

    let read = send(&api, Method::GET, &path, &owner, &[], None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.headers[header::ETAG], "\"1\"");
    assert_eq!(read.body["assistant_mode"], "ai_with_guided_fallback");

    let blind = send(&api, Method::PUT, &path, &owner, &[], Some(settings(60))).await;
    assert_eq!(blind.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(blind.body["code"], "precondition_required");

    let by_barber = send(
        &api,
        Method::PUT,
        &path,
        &barber,
        &[("if-match", "\"1\"")],
        Some(settings(60)),
    )
    .await;
    assert_eq!(by_barber.status, StatusCode::FORBIDDEN);

    let saved = send(
        &api,
        Method::PUT,
        &path,
        &owner,
        &[("if-match", "\"1\"")],
        Some(settings(60)),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.headers[header::ETAG], "\"2\"");
    assert_eq!(saved.body["handoff_minutes"], 60);

    // Someone who read version 1 is refused, and the first change stands.
    let stale = send(
        &api,
        Method::PUT,
        &path,
        &owner,
        &[("if-match", "\"1\"")],
        Some(settings(30)),
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.body["code"], "stale_version");
    let read = send(&api, Method::GET, &path, &owner, &[], None).await;
    assert_eq!(read.body["handoff_minutes"], 60);
    assert_eq!(read.body["review_link"], "https://g.page/r/barberia");

    let mut unknown = settings(60);
    unknown["surprise"] = json!(true);
    let strict = send(
        &api,
        Method::PUT,
        &path,
        &owner,
        &[("if-match", "\"2\"")],
        Some(unknown),
    )
    .await;
    assert_eq!(strict.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_owner_closes_a_day_and_opens_it_again() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let org = api.orgs.a;
    let closure = json!({ "kind": "holiday", "from": "2026-12-12", "to": "2026-12-12", "reason": "Virgen de Guadalupe" });
    let unkeyed = send(
        &api,
        Method::POST,
        &format!("/v1/organizations/{org}/closures"),
        &owner,
        &[],
        Some(closure.clone()),
    )
    .await;
    assert_eq!(unkeyed.status, StatusCode::BAD_REQUEST);
    let made = send(
        &api,
        Method::POST,
        &format!("/v1/organizations/{org}/closures"),
        &owner,
        &[("idempotency-key", "guadalupe")],
        Some(closure),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.body["live_appointments"], 0);
    let id = made.body["time_off"]["id"].as_str().unwrap().to_owned();

    assert_eq!(slots(&api, &owner).await, 0);
    let listed = send(
        &api,
        Method::GET,
        &format!(
            "/v1/organizations/{org}/time-off?from=2026-12-12T00:00:00-06:00&to=2026-12-13T00:00:00-06:00"
        ),
        &owner,
        &[],
        None,
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["time_off"][0]["kind"], "holiday");

    let removed = send(
        &api,
        Method::DELETE,
        &format!("/v1/organizations/{org}/time-off/{id}"),
        &owner,
        &[],
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert!(slots(&api, &owner).await > 0);
}

#[tokio::test]
async fn the_owner_adds_a_barber_prices_a_service_and_the_audit_log_shows_it() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let barber = api.token(BARBER_PHONE).await;
    let org = api.orgs.a;
    let added = send(
        &api,
        Method::POST,
        &format!("/v1/organizations/{org}/staff"),
        &owner,
        &[("idempotency-key", "pedro")],
        Some(json!({ "name": "Pedro", "phone": "+525511110009" })),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let pedro = added.body["id"].as_str().unwrap().to_owned();
    let hours = send(
        &api,
        Method::PUT,
        &format!("/v1/organizations/{org}/staff/{pedro}/hours"),
        &owner,
        &[],
        Some(json!({ "days": [{ "weekday": 6, "intervals": [{ "opens": "09:00", "closes": "15:00" }] }] })),
    )
    .await;
    assert_eq!(hours.status, StatusCode::OK, "{}", hours.body);
    assert_eq!(hours.body["days"][5]["intervals"][0]["opens"], "09:00:00");
    let read = send(
        &api,
        Method::GET,
        &format!("/v1/organizations/{org}/staff/{pedro}/hours"),
        &barber,
        &[],
        None,
    )
    .await;
    assert_eq!(read.body["days"][0]["intervals"], json!([]));

    let repriced = send(
        &api,
        Method::PATCH,
        &format!("/v1/organizations/{org}/services/{}", api.orgs.a_haircut),
        &owner,
        &[],
        Some(json!({ "price_minor": 30000, "buffer_minutes": 10 })),
    )
    .await;
    assert_eq!(repriced.status, StatusCode::OK, "{}", repriced.body);
    assert_eq!(
        (
            repriced.body["price_minor"].as_i64(),
            repriced.body["buffer_minutes"].as_i64()
        ),
        (Some(30000), Some(10))
    );
    let service = format!("/v1/organizations/{org}/services/{}", api.orgs.a_haircut);
    for (cutoff, status, stored) in [
        (json!(1440), StatusCode::OK, json!(1440)),
        (json!(10081), StatusCode::UNPROCESSABLE_ENTITY, json!(1440)),
        (json!(null), StatusCode::OK, json!(null)),
    ] {
        let changed = send(
            &api,
            Method::PATCH,
            &service,
            &owner,
            &[],
            Some(json!({ "change_cutoff_minutes": cutoff })),
        )
        .await;
        assert_eq!(changed.status, status, "{cutoff}: {}", changed.body);
        let listed = send(
            &api,
            Method::GET,
            &format!("/v1/organizations/{org}/services"),
            &owner,
            &[],
            None,
        )
        .await;
        let haircut = listed.body["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == json!(api.orgs.a_haircut))
            .unwrap()
            .clone();
        assert_eq!(haircut["change_cutoff_minutes"], stored, "after {cutoff}");
        assert_eq!(haircut["price_minor"], 30000, "a cutoff leaves the price");
    }
    let by_barber = send(
        &api,
        Method::PATCH,
        &format!("/v1/organizations/{org}/services/{}", api.orgs.a_haircut),
        &barber,
        &[],
        Some(json!({ "price_minor": 1 })),
    )
    .await;
    assert_eq!(by_barber.status, StatusCode::FORBIDDEN);

    let log = send(
        &api,
        Method::GET,
        &format!("/v1/organizations/{org}/audit?limit=200"),
        &owner,
        &[],
        None,
    )
    .await;
    assert_eq!(log.status, StatusCode::OK);
    let entries = log.body["entries"].as_array().unwrap();
    let price = entries
        .iter()
        .find(|e| {
            e["entity"] == "service_types"
                && e["operation"] == "update"
                && e["before"]["price_minor"] != e["after"]["price_minor"]
        })
        .expect("the new price is logged");
    assert_eq!(
        (&price["channel"], &price["action"], &price["actor"]["id"]),
        (
            &json!("api"),
            &json!("upsert_service"),
            &json!(api.orgs.a_owner)
        )
    );
    assert_eq!(price["before"]["price_minor"], 25000);
    assert_eq!(price["after"]["price_minor"], 30000);
    assert!(
        entries
            .iter()
            .any(|e| e["entity"] == "staff" && e["action"] == "add_staff"),
        "adding Pedro is logged"
    );
    let forbidden = send(
        &api,
        Method::GET,
        &format!("/v1/organizations/{org}/audit"),
        &barber,
        &[],
        None,
    )
    .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn customers_are_searched_literally_and_keep_their_notes() {
    let api = Api::start().await;
    let barber = api.token(BARBER_PHONE).await;
    let org = api.orgs.a;
    for (q, found) in [
        ("an", 1),
        ("+52 55 3333", 1),
        ("%", 0),
        ("_", 0),
        ("' OR 1=1 --", 0),
    ] {
        let path = format!("/v1/organizations/{org}/customers?q={}", urlencode(q));
        let answer = send(&api, Method::GET, &path, &barber, &[], None).await;
        assert_eq!(answer.status, StatusCode::OK, "{q}: {}", answer.body);
        assert_eq!(
            answer.body["customers"].as_array().unwrap().len(),
            found,
            "{q:?}"
        );
    }

    let customer = api.orgs.a_customer;
    let changed = send(
        &api,
        Method::PATCH,
        &format!("/v1/organizations/{org}/customers/{customer}"),
        &barber,
        &[],
        Some(json!({ "notes": "Alérgica al talco", "tags": ["VIP"] })),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let detail = send(
        &api,
        Method::GET,
        &format!("/v1/organizations/{org}/customers/{customer}"),
        &barber,
        &[],
        None,
    )
    .await;
    assert_eq!(detail.body["notes"], "Alérgica al talco");
    assert_eq!(detail.body["tags"], json!(["vip"]));
    assert_eq!(detail.body["history"].as_array().unwrap().len(), 2);
    let other = send(
        &api,
        Method::PATCH,
        &format!("/v1/organizations/{org}/customers/{}", api.orgs.b_customer),
        &barber,
        &[],
        Some(json!({ "notes": "no" })),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_walk_in_is_booked_now_and_counted_in_the_figures() {
    let api = Api::start().await;
    api.clock.set(at("2026-12-07T13:00"));
    let owner = api.token(OWNER_PHONE).await;
    let org = api.orgs.a;
    let walk_in = send(
        &api,
        Method::POST,
        &format!("/v1/organizations/{org}/walk-ins"),
        &owner,
        &[("idempotency-key", "walk-in-1")],
        Some(json!({ "service_type_id": api.orgs.a_haircut, "customer_name": "Luis" })),
    )
    .await;
    assert_eq!(walk_in.status, StatusCode::CREATED, "{}", walk_in.body);
    assert_eq!(walk_in.body["source"], "walk_in");
    let figures = send(
        &api,
        Method::GET,
        &format!("/v1/organizations/{org}/figures?from=2026-12-07&to=2026-12-07"),
        &owner,
        &[],
        None,
    )
    .await;
    assert_eq!(figures.status, StatusCode::OK, "{}", figures.body);
    assert_eq!(figures.body["appointments"], 3);
    assert_eq!(figures.body["no_show_rate"], Value::Null);
    assert_eq!(figures.body["ai"]["cost_micro_usd"], 0);
    let backwards = send(
        &api,
        Method::GET,
        &format!("/v1/organizations/{org}/figures?from=2026-12-08&to=2026-12-07"),
        &owner,
        &[],
        None,
    )
    .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How many free times a haircut has on Saturday 12 December.
async fn slots(api: &Api, token: &str) -> usize {
    let path = format!(
        "/v1/organizations/{}/availability?service_type_id={}&date=2026-12-12",
        api.orgs.a, api.orgs.a_haircut
    );
    let answer = send(api, Method::GET, &path, token, &[], None).await;
    answer.body["slots"].as_array().unwrap().len()
}
