//! Semana: one person's week, a column per day, live like the day, in a real Chromium at
//! phone and desktop width, and as plain HTTP: whose week a staff member may see.

mod common;

use common::{
    Api, BARBER_PHONE, OWNER_PHONE,
    browser::Browser,
    pages::{client, cookie_of},
};
use reqwest::{StatusCode, header};

async fn page(api: &Api, cookie: &str, query: &str) -> String {
    let response = client()
        .get(format!("{}/semana?{query}", api.base))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_owner_reads_luiss_week_and_a_booking_appears_in_it_live() {
    let api = Api::start().await;
    let base = api.base.replace("127.0.0.1", "localhost");
    let browser = Browser::start(390, 844).await;
    browser
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;
    browser.click(".views a[href^='/semana']").await;
    browser.wait_for(".week .grid").await;
    assert_eq!(
        browser.texts(".days h2").await,
        ["Semana del 7 de diciembre"]
    );
    let days = browser.texts(".week .head[role=columnheader]").await;
    assert_eq!(days.len(), 7);
    assert_eq!(days[0], "Lun 7");
    assert_eq!(days[6], "Dom 13");
    // The owner's own week first: nothing booked with him.
    assert!(browser.all(".appt").await.is_empty());
    browser.click(".tabs a:last-child").await;
    browser.wait_for(".appt").await;
    assert_eq!(browser.all(".appt").await.len(), 2);
    let monday = browser
        .eval("return [...document.querySelectorAll('.appt')].filter(e => getComputedStyle(e).gridColumnStart === '2').length")
        .await;
    assert_eq!(monday, 2, "both on Monday's column");
    browser.screenshot("semana-phone").await;

    browser.eval("window.kept = true; return null").await;
    let token = api.token(OWNER_PHONE).await;
    let booked = client()
        .post(format!(
            "{}/v1/organizations/{}/appointments",
            api.base, api.orgs.a
        ))
        .bearer_auth(&token)
        .header("Idempotency-Key", "week-1")
        .json(&serde_json::json!({"service_type_id": api.orgs.a_haircut, "staff_id": api.orgs.a_barber,
                                  "starts_at": "2026-12-09T12:00:00-06:00", "customer_phone": "+525533330001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), StatusCode::CREATED);
    cita_shared::testing::eventually(
        std::time::Duration::from_secs(10),
        "the booking appears",
        || async { (browser.all(".appt").await.len() == 3).then_some(()) },
    )
    .await;
    assert_eq!(browser.eval("return window.kept === true").await, true);
    let wednesday = browser
        .eval("return [...document.querySelectorAll('.appt')].filter(e => getComputedStyle(e).gridColumnStart === '4').length")
        .await;
    assert_eq!(wednesday, 1);
    drop(browser);

    let desktop = Browser::start(1440, 900).await;
    desktop
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;
    desktop
        .goto(&format!(
            "{base}/semana?dia=2026-12-09&personal={}",
            api.orgs.a_barber
        ))
        .await;
    desktop.wait_for(".week .grid").await;
    assert_eq!(desktop.all(".appt").await.len(), 3);
    desktop.screenshot("semana-desktop").await;
}

#[tokio::test]
async fn a_barber_sees_only_his_own_week_whoever_the_link_names() {
    let api = Api::start().await;
    let cookie = cookie_of(&api, BARBER_PHONE).await;
    for query in [
        String::new(),
        format!("personal={}", api.orgs.a_owner),
        format!("personal={}", api.orgs.b_owner),
        "dia=not-a-day&personal=nobody".into(),
    ] {
        let week = page(&api, &cookie, &query).await;
        assert!(week.contains("Semana de Luis"), "{query}");
        assert_eq!(week.matches("class=\"appt ").count(), 2, "{query}");
        assert!(!week.contains("class=\"tabs\""), "no other names: {query}");
    }
    // The week after: nothing booked, and the way back.
    let next = page(&api, &cookie, "dia=2026-12-14").await;
    assert!(next.contains("Semana del 14 de diciembre"), "{next}");
    assert_eq!(next.matches("class=\"appt ").count(), 0);
    assert!(next.contains("href=\"/semana?dia=2026-12-07&amp;personal="));
}
