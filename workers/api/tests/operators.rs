//! Platform operators: a token minted by `cita-api operator-token` against a recorded
//! grant reads a tenant's routes only when the request names the organization again, never
//! changes anything, and leaves each read in the organization's audit log.

mod common;

use std::process::Command;

use cita_api::auth::{
    jwt::{self, OperatorClaims},
    operators::{self, Minted},
};
use cita_shared::config::TokenKey;
use common::{Api, OWNER_PHONE, TOKEN_KEYS};
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

async fn grant(api: &Api, minutes: i64) -> Minted {
    let client = api.db.pool.get().await.unwrap();
    operators::mint(
        &client,
        &common::token_keys(),
        "ana@cita",
        "ticket 42",
        minutes,
        api.clock.now(),
    )
    .await
    .unwrap()
}

async fn as_operator(
    api: &Api,
    method: Method,
    path: &str,
    token: &str,
    organization: Option<Uuid>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = api
        .http
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(token);
    if let Some(organization) = organization {
        request = request.header("cita-organization", organization.to_string());
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn day(org: Uuid) -> String {
    format!(
        "/v1/organizations/{org}/appointments?from=2026-12-07T00:00:00-06:00&to=2026-12-08T00:00:00-06:00"
    )
}

async fn operator_reads(api: &Api, org: Uuid) -> i64 {
    api.db
        .count(&format!(
            "SELECT count(*) FROM audit_log WHERE organization_id = '{org}' AND actor_kind = 'operator'"
        ))
        .await
}

#[tokio::test]
async fn an_operator_reads_an_organization_named_twice_and_its_owner_sees_the_read() {
    let api = Api::start().await;
    let minted = grant(&api, 60).await;
    let token = minted.token.as_str();
    let (a, b) = (api.orgs.a, api.orgs.b);

    let (status, list) = as_operator(&api, Method::GET, &day(a), token, Some(a), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["appointments"].as_array().unwrap().len(), 2);

    let owner = api.token(OWNER_PHONE).await;
    let (_, audit) = api
        .get(&format!("/v1/organizations/{a}/audit"), &owner)
        .await;
    let entry = &audit["entries"][0];
    assert_eq!(entry["actor"]["kind"], "operator", "{audit}");
    assert_eq!(entry["actor"]["id"], minted.grant_id.to_string());
    assert_eq!(entry["after"]["operator"], "ana@cita");
    assert_eq!(
        entry["after"]["path"],
        format!("/v1/organizations/{a}/appointments")
    );

    for (named, why) in [
        (None, "no organization named"),
        (Some(b), "another one named"),
    ] {
        let (status, problem) = as_operator(&api, Method::GET, &day(a), token, named, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{why}");
        assert_eq!(problem["code"], "operator_scope", "{why}");
    }
    let (status, problem) = as_operator(
        &api,
        Method::POST,
        &format!("/v1/organizations/{a}/appointments"),
        token,
        Some(a),
        Some(json!({ "service_type_id": api.orgs.a_haircut, "starts_at": "2026-12-07T18:00:00Z", "customer_id": api.orgs.a_customer })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem["code"], "operator_scope");
    assert_eq!(api.db.count("SELECT count(*) FROM appointments").await, 3);

    // Not a person: nothing outside tenant routes, and scheduling acts for people only.
    let (status, _) = as_operator(&api, Method::GET, "/v1/me", token, Some(a), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let free = format!(
        "/v1/organizations/{a}/availability?service_type_id={}&date=2026-12-08",
        api.orgs.a_haircut
    );
    let (status, _) = as_operator(&api, Method::GET, &free, token, Some(a), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let nowhere = Uuid::new_v4();
    let (status, _) =
        as_operator(&api, Method::GET, &day(nowhere), token, Some(nowhere), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = as_operator(&api, Method::GET, &day(b), token, Some(b), None).await;
    assert_eq!(status, StatusCode::OK);
    // The admitted reads only: A's list and free times (refused by scheduling, but read).
    assert_eq!(operator_reads(&api, a).await, 2);
    assert_eq!(operator_reads(&api, b).await, 1);
}

#[tokio::test]
async fn expired_revoked_and_forged_operator_tokens_are_refused() {
    let api = Api::start().await;
    let a = api.orgs.a;
    let short = grant(&api, 30).await;
    api.clock.advance(SignedDuration::from_mins(31));
    let (status, _) = as_operator(&api, Method::GET, &day(a), &short.token, Some(a), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");

    let revoked = grant(&api, 60).await;
    let output = Command::new(env!("CARGO_BIN_EXE_cita-api"))
        .args(["operator-revoke", &revoked.grant_id.to_string()])
        .env("CITA_DATABASE_URL", api.db.url.expose())
        .env("CITA_API_TOKEN_KEYS", TOKEN_KEYS)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let (status, _) = as_operator(&api, Method::GET, &day(a), &revoked.token, Some(a), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");

    let person = api.token(OWNER_PHONE).await;
    let foreign = jwt::sign(
        &[TokenKey {
            id: "k1".into(),
            key: [0x22; 32],
        }],
        &OperatorClaims {
            sub: "mallory".into(),
            gid: revoked.grant_id,
            iat: api.clock.now().as_second(),
            exp: api.clock.now().as_second() + 600,
            typ: "operator".into(),
        },
    );
    for (forged, why) in [
        (format!("{}{person}", operators::PREFIX), "a person's token"),
        (format!("{}{foreign}", operators::PREFIX), "another key"),
        (format!("{}e30.e30.", operators::PREFIX), "alg none"),
    ] {
        let (status, _) = as_operator(&api, Method::GET, &day(a), &forged, Some(a), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}");
    }
    assert_eq!(operator_reads(&api, a).await, 0);
}

#[tokio::test]
async fn the_command_records_a_grant_and_prints_its_token() {
    let api = Api::start().await;
    let mint = |minutes: &str| {
        Command::new(env!("CARGO_BIN_EXE_cita-api"))
            .args(["operator-token", "ana@cita", minutes, "ticket", "42"])
            .env("CITA_NOT_A_SETTING", "1")
            .env("CITA_DATABASE_URL", api.db.url.expose())
            .env("CITA_API_TOKEN_KEYS", TOKEN_KEYS)
            .output()
            .unwrap()
    };
    let output = mint("60");
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    // The token alone: warnings (here, of the test's own environment) go to stderr.
    let token = printed
        .trim()
        .strip_prefix(operators::PREFIX)
        .unwrap_or_else(|| panic!("{printed:?}"));
    let claims: OperatorClaims =
        jwt::verify(&common::token_keys(), token, Timestamp::now()).unwrap();
    assert_eq!(claims.sub, "ana@cita");
    let client = api.db.pool.get().await.unwrap();
    let row = client
        .query_one(
            "SELECT reason, expires_at FROM operator_grants WHERE id = $1",
            &[&claims.gid],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "ticket 42");
    let lasts = row.get::<_, Timestamp>(1).duration_since(Timestamp::now());
    assert!(
        lasts > SignedDuration::from_mins(58) && lasts <= SignedDuration::from_mins(60),
        "{lasts:?}"
    );

    for minutes in ["0", "481", "soon"] {
        assert_eq!(mint(minutes).status.code(), Some(1), "{minutes}");
    }
    assert_eq!(
        api.db.count("SELECT count(*) FROM operator_grants").await,
        1
    );

    // The API's own role can neither read nor make grants.
    client.batch_execute("SET ROLE cita_api").await.unwrap();
    let denied = client
        .query("SELECT * FROM operator_grants", &[])
        .await
        .unwrap_err();
    assert_eq!(
        denied.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
        "{denied}"
    );
}
