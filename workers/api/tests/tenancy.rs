//! Tenant isolation: row-level security under the API's own role, tested with raw SQL,
//! and one organization's token on another's ids.

mod common;

use common::{Api, BARBER_PHONE, OTHER_OWNER_PHONE, OWNER_PHONE};
use reqwest::StatusCode;
use serde_json::json;

/// Counts what `sql` sees as the API's role, with the organization named or not.
async fn seen_as_api(api: &Api, organization: Option<uuid::Uuid>, sql: &str) -> i64 {
    let mut client = api.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("SET LOCAL ROLE cita_api").await.unwrap();
    if let Some(org) = organization {
        tx.execute(
            "SELECT set_config('cita.organization_id', $1, true)",
            &[&org.to_string()],
        )
        .await
        .unwrap();
    }
    let count: i64 = tx.query_one(sql, &[]).await.unwrap().get(0);
    tx.rollback().await.unwrap();
    count
}

#[tokio::test]
async fn the_api_role_sees_one_organization_and_nothing_without_one() {
    let api = Api::start().await;
    for table in [
        "organizations",
        "staff",
        "service_types",
        "customers",
        "appointments",
        "business_hours",
    ] {
        let sql = format!("SELECT count(*) FROM {table}");
        assert_eq!(
            seen_as_api(&api, None, &sql).await,
            0,
            "{table} without an organization"
        );
        let everything = api.db.count(&sql).await;
        let a = seen_as_api(&api, Some(api.orgs.a), &sql).await;
        let b = seen_as_api(&api, Some(api.orgs.b), &sql).await;
        assert!(a > 0 && b > 0, "{table}: {a} and {b}");
        assert_eq!(
            a + b,
            everything,
            "{table}: each row belongs to one organization"
        );
    }
    // A query naming the other organization's id outright still sees nothing of it.
    let sql = format!(
        "SELECT count(*) FROM appointments WHERE organization_id = '{}'",
        api.orgs.b
    );
    assert_eq!(seen_as_api(&api, Some(api.orgs.a), &sql).await, 0);
    // The role may not write the business's tables at all.
    let mut client = api.db.pool.get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    tx.batch_execute("SET LOCAL ROLE cita_api").await.unwrap();
    let refused = tx
        .execute("DELETE FROM appointments", &[])
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
    );
}

#[tokio::test]
async fn every_table_with_an_organization_has_row_level_security() {
    let api = Api::start().await;
    let unprotected = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
               AND a.attname = 'organization_id' AND NOT c.relrowsecurity",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<String> = unprotected.iter().map(|r| r.get(0)).collect();
    assert!(
        names.is_empty(),
        "tables without row-level security: {names:?}"
    );
}

#[tokio::test]
async fn another_organizations_ids_are_not_found_and_nothing_changes() {
    let api = Api::start().await;
    let a = api.token(OWNER_PHONE).await;
    let b = &api.orgs;
    let before = api
        .db
        .count("SELECT count(*) FROM appointments WHERE status = 'confirmed'")
        .await;
    let reads = [
        format!("/v1/organizations/{}", b.b),
        format!("/v1/organizations/{}/services", b.b),
        format!("/v1/organizations/{}/staff", b.b),
        format!(
            "/v1/organizations/{}/appointments?from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z",
            b.b
        ),
    ];
    for path in &reads {
        let (status, problem) = api.get(path, &a).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(problem["code"], "not_found");
    }
    // B's appointment through A's own organization path: scheduling finds no such id.
    let cancel = format!(
        "/v1/organizations/{}/appointments/{}/cancel",
        b.a, b.b_appointment
    );
    let (status, _) = api.post(&cancel, Some(&a), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A booking in A with B's service.
    let (status, _) = api
        .call(
            reqwest::Method::POST,
            &format!("/v1/organizations/{}/appointments", b.a),
            Some(&a),
            Some(json!({
                "service_type_id": b.b_service,
                "starts_at": "2026-12-08T16:00:00Z",
                "customer_id": b.a_customer,
            })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no Idempotency-Key");
    let response = api
        .http
        .post(format!(
            "{}/v1/organizations/{}/appointments",
            api.base, b.a
        ))
        .bearer_auth(&a)
        .header("idempotency-key", "other-service")
        .json(&json!({
            "service_type_id": b.b_service,
            "starts_at": "2026-12-08T16:00:00Z",
            "customer_id": b.a_customer,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let after = api
        .db
        .count("SELECT count(*) FROM appointments WHERE status = 'confirmed'")
        .await;
    assert_eq!(before, after);

    // B's own owner sees B.
    let b_token = api.token(OTHER_OWNER_PHONE).await;
    let (status, org) = api
        .get(&format!("/v1/organizations/{}", b.b), &b_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(org["currency"], "COP");
}

#[tokio::test]
async fn staff_without_the_permission_see_only_their_own_agenda() {
    let api = Api::start().await;
    let barber = api.token(BARBER_PHONE).await;
    let org = api.orgs.a;
    let range = "from=2026-12-07T00:00:00-06:00&to=2026-12-08T00:00:00-06:00";
    let (status, problem) = api
        .get(
            &format!("/v1/organizations/{org}/appointments?{range}"),
            &barber,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem["code"], "forbidden");
    let (status, own) = api
        .get(
            &format!(
                "/v1/organizations/{org}/appointments?{range}&staff_id={}",
                api.orgs.a_barber
            ),
            &barber,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["appointments"].as_array().unwrap().len(), 2);

    api.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE staff SET permissions = '{view_business_schedule}' WHERE id = $1",
            &[&api.orgs.a_barber],
        )
        .await
        .unwrap();
    let (status, _) = api
        .get(
            &format!("/v1/organizations/{org}/appointments?{range}"),
            &barber,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the permission counts from the next request"
    );
}
