//! The README's "Talk to the API", against the fleet of `deploy/run.sh`: ask for a code,
//! read it from the sandbox, log in, list today's appointments, book one.

use serde_json::{Value, json};

/// The demo barbershop's owner, José María.
const OWNER: &str = "525511110001";

pub async fn walk(http: &reqwest::Client, api: &str, sandbox: &str) {
    let response = http
        .post(format!("{api}/v1/auth/code"))
        .json(&json!({ "phone": format!("+{OWNER}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);

    let code = cita_shared::testing::eventually(
        std::time::Duration::from_secs(20),
        "the login code reaches the sandbox",
        || async {
            let sent: Value = http
                .get(format!("{sandbox}/sandbox/messages?to={OWNER}"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            sent["messages"]
                .as_array()?
                .iter()
                .rev()
                .find(|m| m["message"]["template"]["name"] == "cita_codigo_acceso")
                .and_then(|m| {
                    m["message"]["template"]["components"][0]["parameters"][0]["text"].as_str()
                })
                .map(str::to_owned)
        },
    )
    .await;

    let tokens: Value = http
        .post(format!("{api}/v1/auth/login"))
        .json(&json!({ "phone": format!("+{OWNER}"), "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"]
        .as_str()
        .expect("logged in")
        .to_owned();
    let org = tokens["organization_id"].as_str().unwrap().to_owned();
    let get = |path: String| {
        let request = http.get(format!("{api}{path}")).bearer_auth(&token);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<Value>().await.unwrap()
        }
    };
    let today =
        jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::get("America/Mexico_City").unwrap());
    let start = today.start_of_day().unwrap();
    let end = start.tomorrow().unwrap();
    let listed = get(format!(
        "/v1/organizations/{org}/appointments?from={}&to={}",
        start.timestamp(),
        end.timestamp()
    ))
    .await;
    assert!(listed["appointments"].is_array(), "{listed}");

    let services = get(format!("/v1/organizations/{org}/services")).await;
    let haircut = services["services"][0]["id"].as_str().unwrap().to_owned();
    let mut slot = None;
    let mut day = today.date();
    for _ in 0..7 {
        day = day.tomorrow().unwrap();
        let free = get(format!(
            "/v1/organizations/{org}/availability?service_type_id={haircut}&date={day}"
        ))
        .await;
        slot = free["slots"][0]["starts_at"].as_str().map(str::to_owned);
        if slot.is_some() {
            break;
        }
    }
    let booked = http
        .post(format!("{api}/v1/organizations/{org}/appointments"))
        .bearer_auth(&token)
        .header("idempotency-key", "readme-walk")
        .json(&json!({
            "service_type_id": haircut,
            "starts_at": slot.expect("a free time within a week"),
            "customer_phone": "+525544440001",
            "customer_name": "Carla",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), reqwest::StatusCode::CREATED);
}
