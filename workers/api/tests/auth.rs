//! Logging in by a code sent over WhatsApp, tokens, refresh rotation, sessions, and every
//! way a credential can be wrong.

mod common;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use common::{Api, BARBER_PHONE, OWNER_PHONE};
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_code_sent_by_whatsapp_logs_the_owner_in() {
    let api = Api::start().await;
    let (status, body) = api
        .post("/v1/auth/code", None, json!({ "phone": OWNER_PHONE }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["status"], "accepted");
    let sent = common::eventually_codes(&api, 1).await;
    let (to, code, command) = &sent[0];
    assert_eq!(to, "525511110001");
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(command["message"]["type"], "template");
    assert_eq!(command["message"]["name"], "cita_codigo_acceso");
    assert_eq!(command["message"]["language"], "es_MX");
    assert_eq!(command["message"]["buttons"][0]["text"], code.as_str());
    assert_eq!(command["organization_id"], api.orgs.a.to_string());

    let (status, tokens) = api
        .post(
            "/v1/auth/login",
            None,
            json!({ "phone": OWNER_PHONE, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap();
    let (status, me) = api.get("/v1/me", access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "owner");
    assert_eq!(me["organization"]["slug"], "barberia");
    assert_eq!(me["organization"]["time_zone"], "America/Mexico_City");

    // A code is spent by its login.
    let (status, problem) = api
        .post(
            "/v1/auth/login",
            None,
            json!({ "phone": OWNER_PHONE, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["code"], "invalid_code");
}

#[tokio::test]
async fn an_unknown_number_gets_the_same_answer_and_no_message() {
    let api = Api::start().await;
    let (unknown_status, unknown) = api
        .post("/v1/auth/code", None, json!({ "phone": "+525599999999" }))
        .await;
    let (known_status, known) = api
        .post("/v1/auth/code", None, json!({ "phone": BARBER_PHONE }))
        .await;
    assert_eq!((unknown_status, &unknown), (known_status, &known));
    // The unknown number's lookup was started first; by the time the known one's code is
    // on its way, nothing went to the unknown one.
    let sent = common::eventually_codes(&api, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "525511110002");
    let (status, problem) = api
        .post(
            "/v1/auth/login",
            None,
            json!({ "phone": "+525599999999", "code": "123456" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["code"], "invalid_code");
}

#[tokio::test]
async fn five_wrong_tries_burn_the_code_and_an_expired_one_is_refused() {
    let api = Api::start().await;
    let code = api.code_for(OWNER_PHONE).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let (status, problem) = api
            .post(
                "/v1/auth/login",
                None,
                json!({ "phone": OWNER_PHONE, "code": wrong }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(problem["code"], "invalid_code");
    }
    let (status, _) = api
        .post(
            "/v1/auth/login",
            None,
            json!({ "phone": OWNER_PHONE, "code": code }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the right code after five wrong ones"
    );

    let code = api.code_for(OWNER_PHONE).await;
    api.clock.advance(SignedDuration::from_mins(10));
    let (status, _) = api
        .post(
            "/v1/auth/login",
            None,
            json!({ "phone": OWNER_PHONE, "code": code }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a code ten minutes old");
}

#[tokio::test]
async fn a_new_code_replaces_the_last_and_requests_are_limited_per_number() {
    let api = Api::start().await;
    let first = api.code_for(OWNER_PHONE).await;
    let second = api.code_for(OWNER_PHONE).await;
    if first != second {
        let (status, _) = api
            .post(
                "/v1/auth/login",
                None,
                json!({ "phone": OWNER_PHONE, "code": first }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "an earlier code");
    }
    for _ in 0..3 {
        let (status, _) = api
            .post("/v1/auth/code", None, json!({ "phone": OWNER_PHONE }))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let response = api
        .http
        .post(format!("{}/v1/auth/code", api.base))
        .json(&json!({ "phone": OWNER_PHONE }))
        .send()
        .await
        .unwrap();
    let retry_after = common::retry_after(&response);
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
}

#[tokio::test]
async fn a_refresh_rotates_the_token_and_reusing_a_spent_one_revokes_the_session() {
    let api = Api::start().await;
    let tokens = api.login(OWNER_PHONE).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let (status, rotated) = api
        .post("/v1/auth/refresh", None, json!({ "refresh_token": first }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let second = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(first, second);
    assert_eq!(rotated["session_id"], tokens["session_id"]);
    let access = rotated["access_token"].as_str().unwrap();
    assert_eq!(api.get("/v1/me", access).await.0, StatusCode::OK);

    // The spent token again: someone holds a copy. The whole session ends.
    let (status, _) = api
        .post("/v1/auth/refresh", None, json!({ "refresh_token": first }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = api
        .post("/v1/auth/refresh", None, json!({ "refresh_token": second }))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the newest token of a revoked family"
    );
    assert_eq!(api.get("/v1/me", access).await.0, StatusCode::UNAUTHORIZED);
    let reason: String = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT revoked_reason FROM api_sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "refresh_reused");
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_and_logout_ends_the_current_one() {
    let api = Api::start().await;
    let phone_token = api.token(OWNER_PHONE).await;
    let laptop = api.login(OWNER_PHONE).await;
    let laptop_token = laptop["access_token"].as_str().unwrap();
    let (status, listed) = api.get("/v1/sessions", laptop_token).await;
    assert_eq!(status, StatusCode::OK);
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_session = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The barber cannot revoke the owner's session: it does not exist for them.
    let barber = api.token(BARBER_PHONE).await;
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/v1/sessions/{phone_session}"),
            Some(&barber),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/v1/me", &phone_token).await.0, StatusCode::OK);

    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/v1/sessions/{phone_session}"),
            Some(laptop_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/v1/me", &phone_token).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, _) = api
        .post("/v1/auth/logout", Some(laptop_token), json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get("/v1/me", laptop_token).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = api
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": laptop["refresh_token"] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a logged-out session's refresh token"
    );
}

#[tokio::test]
async fn missing_forged_expired_none_and_unknown_key_tokens_are_refused() {
    let api = Api::start().await;
    let token = api.token(OWNER_PHONE).await;
    let parts: Vec<&str> = token.split('.').collect();
    let claims: serde_json::Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    let reencode = |header: &str, claims: &serde_json::Value, signature: &str| {
        format!(
            "{}.{}.{signature}",
            B64.encode(header),
            B64.encode(serde_json::to_vec(claims).unwrap())
        )
    };
    let mut other_org = claims.clone();
    other_org["org"] = json!(api.orgs.b);
    let none = reencode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#, &claims, "");
    let unknown_key = reencode(
        r#"{"alg":"HS256","typ":"JWT","kid":"k9"}"#,
        &claims,
        parts[2],
    );
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(serde_json::to_vec(&other_org).unwrap()),
        parts[2]
    );
    for bad in [
        none.as_str(),
        unknown_key.as_str(),
        forged.as_str(),
        "not-a-token",
    ] {
        let (status, problem) = api.get("/v1/me", bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(problem["code"], "unauthorized");
    }
    let (status, _) = api.call(Method::GET, "/v1/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    api.clock.advance(SignedDuration::from_mins(15));
    assert_eq!(
        api.get("/v1/me", &token).await.0,
        StatusCode::UNAUTHORIZED,
        "expired"
    );
}

#[tokio::test]
async fn bad_bodies_get_problems_that_name_what_is_wrong() {
    let api = Api::start().await;
    let url = format!("{}/v1/auth/code", api.base);
    let send = |body: Vec<u8>| {
        api.http
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            b"{\"phone\":".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            br#"{"phone": 5215511110001}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            br#"{"phone": "+525511110001", "admin": true}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            br#"{"phone": "55 1111 0001"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            vec![b' '; 2 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
    ];
    for (body, status, code) in cases {
        let response = send(body).await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], code, "{problem}");
        assert_eq!(problem["status"], status.as_u16());
    }
    assert!(api.codes().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn each_session_has_its_allowance_per_minute() {
    let api = Api::start_with(&[("CITA_API_SESSION_REQUESTS_PER_MINUTE", "3")]).await;
    let phone = api.token(OWNER_PHONE).await;
    let laptop = api.token(OWNER_PHONE).await;
    for _ in 0..3 {
        assert_eq!(api.get("/v1/me", &phone).await.0, StatusCode::OK);
    }
    let response = api
        .http
        .get(format!("{}/v1/me", api.base))
        .bearer_auth(&phone)
        .send()
        .await
        .unwrap();
    let retry_after = common::retry_after(&response);
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        api.get("/v1/me", &laptop).await.0,
        StatusCode::OK,
        "another session of the same person keeps its own allowance"
    );
}

#[tokio::test]
async fn refreshes_are_limited_per_address() {
    let api = Api::start().await;
    for n in 0..120 {
        let (status, _) = api
            .post(
                "/v1/auth/refresh",
                None,
                json!({ "refresh_token": format!("guess-{n}") }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, problem) = api
        .post(
            "/v1/auth/refresh",
            None,
            json!({ "refresh_token": "guess-121" }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
}
