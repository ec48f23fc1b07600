//! The OpenAPI document: the committed file is the code's, it is served, and every
//! operation in it is walked with every wrong credential. An operation added later is
//! covered without touching this file.

mod common;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use common::{Api, BARBER_PHONE, OWNER_PHONE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[test]
fn the_committed_document_is_the_codes() {
    let generated = cita_api::routes::openapi().to_pretty_json().unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json")).unwrap();
    assert!(
        committed.trim_end() == generated,
        "workers/api/openapi.json is stale: cargo run -q --bin cita-api -- --openapi > workers/api/openapi.json"
    );
}

struct Operation {
    method: Method,
    path: String,
    secured: bool,
    permission: Option<String>,
    parameters: Vec<Value>,
}

fn operations(document: &Value) -> Vec<Operation> {
    let mut all = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            all.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                secured: operation["security"].is_array(),
                permission: operation["x-cita-permission"].as_str().map(str::to_owned),
                parameters: operation["parameters"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            });
        }
    }
    all
}

/// The operation's URL with `ids` in its path and every required query parameter given
/// a value of its type.
fn url(operation: &Operation, ids: &[(&str, String)]) -> String {
    let mut path = operation.path.clone();
    for (name, id) in ids {
        path = path.replace(&format!("{{{name}}}"), id);
    }
    let query: Vec<String> = operation
        .parameters
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| {
            let value = match p["schema"]["format"].as_str() {
                Some("date-time") => "2026-12-07T00:00:00Z",
                Some("date") => "2026-12-08",
                Some("uuid") => "00000000-0000-4000-8000-000000000000",
                _ => "1",
            };
            format!("{}={value}", p["name"].as_str().unwrap())
        })
        .collect();
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

async fn send(
    api: &Api,
    operation: &Operation,
    url: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let body =
        (operation.method != Method::GET && operation.method != Method::DELETE).then(|| json!({}));
    api.call(operation.method.clone(), url, token, body).await
}

#[tokio::test]
async fn every_operation_refuses_wrong_credentials_other_tenants_and_missing_permissions() {
    let api = Api::start().await;
    let (status, document) = api.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    let operations = operations(&document);
    assert!(operations.len() >= 35, "{} operations", operations.len());

    let owner = api.token(OWNER_PHONE).await;
    let barber = api.token(BARBER_PHONE).await;
    let parts: Vec<&str> = owner.split('.').collect();
    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    let mut expired = claims.clone();
    expired["exp"] = json!(claims["iat"]);
    let mut elsewhere = claims.clone();
    elsewhere["org"] = json!(api.orgs.b);
    let encode = |header: &str, claims: &Value, signature: &str| {
        format!(
            "{}.{}.{signature}",
            B64.encode(header),
            B64.encode(claims.to_string())
        )
    };
    let hs256 = r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#;
    let wrong = [
        ("forged", encode(hs256, &elsewhere, parts[2])),
        ("expired", encode(hs256, &expired, parts[2])),
        (
            "alg none",
            encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#, &claims, ""),
        ),
        (
            "unknown key",
            encode(
                r#"{"alg":"HS256","typ":"JWT","kid":"k9"}"#,
                &claims,
                parts[2],
            ),
        ),
    ];
    // Everything of B an operation could change, as one text.
    let b_state = "SELECT concat_ws('|',
        (SELECT string_agg(id::text || status || starts_at::text, ',' ORDER BY id) FROM appointments WHERE organization_id = $1),
        (SELECT string_agg(id::text || during::text, ',' ORDER BY id) FROM availability_exceptions WHERE organization_id = $1),
        (SELECT string_agg(id::text || name || active::text || permissions::text, ',' ORDER BY id) FROM staff WHERE organization_id = $1),
        (SELECT string_agg(id::text || coalesce(notes, '') || tags::text, ',' ORDER BY id) FROM customers WHERE organization_id = $1),
        (SELECT string_agg(id::text || name || price_minor::text || active::text, ',' ORDER BY id) FROM service_types WHERE organization_id = $1),
        (SELECT string_agg(weekday::text || opens_at::text, ',' ORDER BY weekday, opens_at) FROM business_hours WHERE organization_id = $1),
        (SELECT settings_version::text || coalesce(description, '') FROM organizations WHERE id = $1),
        (SELECT string_agg(id::text || status || coalesce(handed_off_until::text, ''), ',' ORDER BY id) FROM conversations WHERE organization_id = $1),
        (SELECT count(*)::text FROM messages WHERE organization_id = $1),
        (SELECT count(*)::text FROM audit_log WHERE organization_id = $1))";
    let b_before: Option<String> = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(b_state, &[&api.orgs.b])
        .await
        .unwrap()
        .get(0);

    let o = &api.orgs;
    let of_b = [
        ("organization_id", o.b.to_string()),
        ("appointment_id", o.b_appointment.to_string()),
        ("session_id", uuid::Uuid::new_v4().to_string()),
        ("staff_id", o.b_owner.to_string()),
        ("service_type_id", o.b_service.to_string()),
        ("customer_id", o.b_customer.to_string()),
        ("time_off_id", o.b_time_off.to_string()),
        ("feed_id", uuid::Uuid::new_v4().to_string()),
        ("key_id", uuid::Uuid::new_v4().to_string()),
        ("conversation_id", o.b_conversation.to_string()),
    ];
    // A's organization with B's ids: a staff member without the permission is refused
    // before any id is looked at.
    let of_a = [
        ("organization_id", o.a.to_string()),
        ("appointment_id", o.b_appointment.to_string()),
        ("session_id", uuid::Uuid::new_v4().to_string()),
        ("staff_id", o.b_owner.to_string()),
        ("service_type_id", o.b_service.to_string()),
        ("customer_id", o.b_customer.to_string()),
        ("time_off_id", o.b_time_off.to_string()),
        ("feed_id", uuid::Uuid::new_v4().to_string()),
        ("key_id", uuid::Uuid::new_v4().to_string()),
        ("conversation_id", o.b_conversation.to_string()),
    ];
    let operator = {
        let client = api.db.pool.get().await.unwrap();
        cita_api::auth::operators::mint(
            &client,
            &common::token_keys(),
            "walker",
            "the walk",
            60,
            api.clock.now(),
        )
        .await
        .unwrap()
        .token
    };
    let mut walked = 0;
    for operation in operations.iter().filter(|o| o.secured) {
        let name = format!("{} {}", operation.method, operation.path);
        let at_b = url(operation, &of_b);
        let (status, problem) = send(&api, operation, &at_b, None).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{name} without credentials: {problem}"
        );
        assert_eq!(problem["code"], "unauthorized", "{name}");
        for (what, token) in &wrong {
            let (status, _) = send(&api, operation, &at_b, Some(token)).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{name} with a {what} token"
            );
        }
        if operation.path.contains("{organization_id}") {
            let (status, problem) = send(&api, operation, &at_b, Some(&owner)).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{name} with A's token on B: {problem}"
            );
            // An operator who does not name the organization, or who tries a change.
            let (status, problem) = send(&api, operation, &at_b, Some(&operator)).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{name} by an operator: {problem}"
            );
            if operation.method != Method::GET {
                let mut request = api
                    .http
                    .request(operation.method.clone(), format!("{}{at_b}", api.base))
                    .bearer_auth(&operator)
                    .header("cita-organization", o.b.to_string());
                if operation.method != Method::DELETE {
                    request = request.json(&json!({}));
                }
                let status = request.send().await.unwrap().status();
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{name}: an operator's change"
                );
            }
        } else {
            let (status, _) = send(&api, operation, &at_b, Some(&operator)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} by an operator");
        }
        if let Some(permission) = &operation.permission {
            let (status, problem) =
                send(&api, operation, &url(operation, &of_a), Some(&barber)).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{name} without {permission}: {problem}"
            );
        }
        walked += 1;
    }
    assert!(walked >= 32, "{walked} secured operations walked");
    let b_after: Option<String> = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(b_state, &[&api.orgs.b])
        .await
        .unwrap()
        .get(0);
    assert_eq!(b_before, b_after, "nothing of B changed");
}
