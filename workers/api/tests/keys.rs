//! API keys: made by the owner and shown once, acting as them within their scopes,
//! limited per key, named in the audit log, and dead once revoked.

mod common;

use common::{Api, OWNER_PHONE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn a_key_reads_and_books_within_its_scopes_and_is_audited() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let o = &api.orgs;
    let keys = format!("/v1/organizations/{}/api-keys", o.a);
    let (status, problem) = api
        .post(
            &keys,
            Some(&owner),
            json!({ "name": "Web", "scopes": ["everything"] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, made) = api
        .post(
            &keys,
            Some(&owner),
            json!({ "name": "Página web", "scopes": ["read", "appointments"] }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let key = made["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("cita_"));
    let (_, listed) = api.get(&keys, &owner).await;
    assert_eq!(listed["api_keys"][0]["name"], "Página web");
    assert!(listed["api_keys"][0].get("key").is_none(), "shown once");

    let (status, _) = api
        .get(
            &format!(
                "/v1/organizations/{}/appointments?from=2026-12-07T00:00:00-06:00&to=2026-12-08T00:00:00-06:00",
                o.a
            ),
            &key,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let booked = api
        .http
        .post(format!(
            "{}/v1/organizations/{}/appointments",
            api.base, o.a
        ))
        .bearer_auth(&key)
        .header("idempotency-key", "from-the-web")
        .json(
            &json!({ "service_type_id": o.a_haircut, "starts_at": "2026-12-08T16:00:00Z",
                       "customer_phone": "+525544440001", "customer_name": "Carla" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), StatusCode::CREATED);
    let booked: Value = booked.json().await.unwrap();

    // Outside its scopes: the catalogue, the sessions, the keys.
    for (method, path) in [
        (
            Method::PATCH,
            format!("/v1/organizations/{}/services/{}", o.a, o.a_haircut),
        ),
        (Method::GET, "/v1/sessions".to_owned()),
        (Method::POST, keys.clone()),
        (Method::GET, format!("/v1/organizations/{}/api-keys", o.a)),
    ] {
        let body = (method != Method::GET).then(|| json!({ "price_minor": 1 }));
        let (status, _) = api.call(method.clone(), &path, Some(&key), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
    }
    // Another organization's routes are not found, as for a person.
    let (status, _) = api
        .get(&format!("/v1/organizations/{}/services", o.b), &key)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, log) = api
        .get(
            &format!("/v1/organizations/{}/audit?limit=200", o.a),
            &owner,
        )
        .await;
    let entries = log["entries"].as_array().unwrap();
    let booking = entries
        .iter()
        .find(|e| e["entity"] == "appointments" && e["entity_id"] == booked["id"])
        .expect("the key's booking is logged");
    assert_eq!(booking["api_key_id"], made["id"]);
    assert_eq!(booking["actor"]["id"], json!(o.a_owner));
    let creation = entries
        .iter()
        .find(|e| e["entity"] == "api_keys")
        .expect("making the key is logged");
    assert_eq!(creation["action"], "create_api_key");
    assert!(creation["after"].get("key_hash").is_none(), "{creation}");

    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("{keys}/{}", made["id"].as_str().unwrap()),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.get("/v1/me", &key).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    let (status, _) = api.get("/v1/me", "cita_not-a-key").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_key_is_limited_per_minute_with_retry_after() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let (_, made) = api
        .post(
            &format!("/v1/organizations/{}/api-keys", api.orgs.a),
            Some(&owner),
            json!({ "name": "Zapier", "scopes": ["read"] }),
        )
        .await;
    let key = made["key"].as_str().unwrap();
    for _ in 0..600 {
        let (status, _) = api.get("/v1/me", key).await;
        assert_eq!(status, StatusCode::OK);
    }
    let response = api
        .http
        .get(format!("{}/v1/me", api.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let retry = common::retry_after(&response);
    assert!((1..=60).contains(&retry), "{retry}");
    // The owner's own session is not the key's allowance.
    let (status, _) = api.get("/v1/me", &owner).await;
    assert_eq!(status, StatusCode::OK);
}
