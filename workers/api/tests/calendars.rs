//! Calendar feeds: a secret URL per member or for the business, in RFC 5545, rotated by
//! making a new one and gone once revoked.

mod common;

use common::{Api, BARBER_PHONE, OWNER_PHONE};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn ics(api: &Api, path: &str) -> (StatusCode, String) {
    let response = api
        .http
        .get(format!("{}{path}", api.base))
        .send()
        .await
        .unwrap();
    let status = response.status();
    if status == StatusCode::OK {
        assert_eq!(
            response.headers()["content-type"],
            "text/calendar; charset=utf-8"
        );
    }
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_barber_subscribes_to_their_own_agenda_and_rotates_the_url() {
    let api = Api::start().await;
    let barber = api.token(BARBER_PHONE).await;
    let org = api.orgs.a;
    let feeds = format!("/v1/organizations/{org}/calendar-feeds");

    let (status, _) = api.post(&feeds, Some(&barber), json!({})).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the business's feed is the owner's"
    );
    let (status, made) = api
        .post(
            &feeds,
            Some(&barber),
            json!({ "staff_id": api.orgs.a_barber }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let path = made["path"].as_str().unwrap().to_owned();

    let (status, calendar) = ics(&api, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(calendar.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(
        calendar.contains("X-WR-CALNAME:Org barberia · "),
        "{calendar}"
    );
    assert_eq!(calendar.matches("BEGIN:VEVENT").count(), 2, "{calendar}");
    assert!(calendar.contains("DTSTART:20261207T160000Z"));
    assert!(calendar.contains("SUMMARY:Corte · Ana"));

    // A cancelled appointment leaves the calendar.
    let first: uuid::Uuid = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT id FROM appointments WHERE staff_id = $1 ORDER BY starts_at LIMIT 1",
            &[&api.orgs.a_barber],
        )
        .await
        .unwrap()
        .get(0);
    let (status, _) = api
        .post(
            &format!("/v1/organizations/{org}/appointments/{first}/cancel"),
            Some(&barber),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, calendar) = ics(&api, &path).await;
    assert_eq!(calendar.matches("BEGIN:VEVENT").count(), 1);

    // A new feed replaces the old URL.
    let (_, rotated) = api
        .post(
            &feeds,
            Some(&barber),
            json!({ "staff_id": api.orgs.a_barber }),
        )
        .await;
    let new_path = rotated["path"].as_str().unwrap().to_owned();
    assert_ne!(new_path, path);
    assert_eq!(ics(&api, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ics(&api, &new_path).await.0, StatusCode::OK);
    let (_, listed) = api.get(&feeds, &barber).await;
    assert_eq!(listed["calendar_feeds"].as_array().unwrap().len(), 1);

    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("{feeds}/{}", rotated["id"].as_str().unwrap()),
            Some(&barber),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(ics(&api, &new_path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        ics(&api, "/v1/calendars/not-a-token.ics").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_owners_business_feed_shows_everyone_and_a_barber_cannot_revoke_it() {
    let api = Api::start().await;
    let owner = api.token(OWNER_PHONE).await;
    let barber = api.token(BARBER_PHONE).await;
    let feeds = format!("/v1/organizations/{}/calendar-feeds", api.orgs.a);
    let (status, made) = api.post(&feeds, Some(&owner), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (_, calendar) = ics(&api, made["path"].as_str().unwrap()).await;
    assert_eq!(calendar.matches("BEGIN:VEVENT").count(), 2);
    assert!(calendar.contains(" · con "), "{calendar}");
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("{feeds}/{}", made["id"].as_str().unwrap()),
            Some(&barber),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, listed) = api.get(&feeds, &barber).await;
    assert_eq!(
        listed["calendar_feeds"],
        json!([]),
        "staff see only their own"
    );
}

#[tokio::test]
async fn a_feed_is_fetched_at_most_120_times_an_hour() {
    let api = Api::start().await;
    for _ in 0..120 {
        assert_eq!(
            ics(&api, "/v1/calendars/not-a-token.ics").await.0,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        ics(&api, "/v1/calendars/not-a-token.ics").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        ics(&api, "/v1/calendars/another-token.ics").await.0,
        StatusCode::NOT_FOUND,
        "each feed is counted on its own"
    );
}
