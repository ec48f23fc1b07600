//! The dashboard's day: Entrar by a WhatsApp code, the day's grid kept live, an
//! appointment's changes, in a real headless Chromium at phone and desktop width
//! (screenshots in `target/screenshots/`), and as plain HTTP without JavaScript:
//! redirects, the strict Content-Security-Policy, forged forms, a staff member's own
//! column only.

mod common;

use common::{
    Api, BARBER_PHONE, OWNER_PHONE, at,
    browser::Browser,
    pages::{client, cookie_of, csrf_in},
};
use reqwest::{StatusCode, header};

#[tokio::test]
async fn pages_without_a_session_go_to_entrar_under_a_strict_policy() {
    let api = Api::start().await;
    let http = client();
    // Each page without a session: to the renewal (with the way back), which without a
    // refresh cookie goes on to Entrar.
    for (path, to) in [
        ("/", "/hoy"),
        (
            "/hoy?dia=2026-12-08",
            "/entrar/renovar?volver=/hoy%3Fdia%3D2026-12-08",
        ),
        ("/entrar/renovar?volver=/hoy", "/entrar"),
        ("/entrar/renovar?volver=//evil.example", "/entrar"),
    ] {
        let response = http
            .get(format!("{}{path}", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[header::LOCATION], to, "{path}");
    }
    let response = http
        .get(format!("{}/entrar", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'none'; script-src 'self'; style-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let page = response.text().await.unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html><html lang=\"es\">"),
        "{page}"
    );
    assert!(
        !page.contains("<script") && !page.contains("style="),
        "{page}"
    );
    assert!(
        page.contains("<form method=\"post\" action=\"/entrar\">"),
        "{page}"
    );
    let sheet = page
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        sheet.starts_with("/assets/app.") && sheet.ends_with(".css"),
        "{sheet}"
    );
    let css = http
        .get(format!("{}{sheet}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(
        css.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let stale = http
        .get(format!("{}/assets/app.000000000000.css", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);

    // A form posted from another site (or with no Origin) does nothing.
    for origin in [Some("https://evil.example"), None] {
        let mut request = http
            .post(format!("{}/entrar", api.base))
            .form(&[("telefono", OWNER_PHONE)]);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin:?}");
    }
    assert!(api.codes().await.is_empty(), "no code was sent");
}

#[tokio::test]
async fn the_owner_enters_with_the_whatsapp_code_and_sees_everyones_day() {
    let api = Api::start().await;
    api.clock.set(at("2026-12-07T10:20"));
    // The browser at "localhost": a secure context, where Secure cookies are kept.
    let base = api.base.replace("127.0.0.1", "localhost");
    let browser = Browser::start(390, 844).await;
    browser.goto(&format!("{base}/hoy")).await;
    browser.wait_for_url("/entrar").await;
    browser.screenshot("entrar-phone").await;
    browser.type_into("#telefono", "55 1111 0001").await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url("telefono=").await;
    browser.wait_for("#codigo").await;
    let code = api.code_sent_to(OWNER_PHONE).await;
    // A wrong code first: said so, on the same form.
    browser.type_into("#codigo", "000000").await;
    browser.click("button[type=submit]").await;
    browser.wait_for("[role=alert]").await;
    let alert = browser.texts("[role=alert]").await;
    assert_eq!(alert, ["Ese código no es correcto o ya venció."]);
    browser.type_into("#codigo", &code).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_url("/hoy").await;
    browser.wait_for(".legend").await;

    let columns = browser.texts("[role=columnheader]").await;
    assert_eq!(columns, ["Dueño barberia", "Luis"]);
    let appointments = browser.texts(".appt").await;
    assert_eq!(appointments.len(), 2, "{appointments:?}");
    assert!(
        appointments[0].starts_with("10:00 Ana") && appointments[0].contains("Corte · confirmada"),
        "{appointments:?}"
    );
    // Luis's appointments are in Luis's column, the present minute is marked.
    let placed = browser
        .eval("return [...document.querySelectorAll('.appt')].map(e => getComputedStyle(e).gridColumnStart)")
        .await;
    assert_eq!(placed, serde_json::json!(["3", "3"]));
    assert_eq!(browser.all(".now").await.len(), 1);
    let shot = browser.screenshot("hoy-phone").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);

    // A booking made elsewhere (here by the API) appears without a reload.
    browser.eval("window.kept = true; return null").await;
    let token = api.token(OWNER_PHONE).await;
    let booked = client()
        .post(format!("{}/v1/organizations/{}/appointments", api.base, api.orgs.a))
        .bearer_auth(&token)
        .header("Idempotency-Key", "live-1")
        .json(&serde_json::json!({"service_type_id": api.orgs.a_haircut, "staff_id": api.orgs.a_owner,
                                  "starts_at": "2026-12-07T13:00:00-06:00", "customer_phone": "+525533330001"}))
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
    assert_eq!(
        browser.eval("return window.kept === true").await,
        true,
        "the page was not reloaded"
    );
    let owner_column = browser
        .eval("return [...document.querySelectorAll('.appt')].filter(e => getComputedStyle(e).gridColumnStart === '2').length")
        .await;
    assert_eq!(owner_column, 1);
    drop(browser);

    let desktop = Browser::start(1440, 900).await;
    desktop.goto(&format!("{base}/entrar")).await;
    desktop.type_into("#telefono", "+525511110001").await;
    desktop.click("button[type=submit]").await;
    desktop.wait_for_url("telefono=").await;
    desktop.wait_for("#codigo").await;
    let code = api.code_sent_to(OWNER_PHONE).await;
    desktop.type_into("#codigo", &code).await;
    desktop.click("button[type=submit]").await;
    desktop.wait_for_url("/hoy").await;
    desktop.wait_for(".legend").await;
    assert_eq!(desktop.all(".appt").await.len(), 3);
    desktop.screenshot("hoy-desktop").await;

    // Past the access cookie's 15 minutes the page renews the session and stays.
    api.clock.advance(jiff::SignedDuration::from_mins(16));
    desktop.goto(&format!("{base}/hoy?dia=2026-12-08")).await;
    desktop.wait_for(".legend").await;
    assert!(desktop.url().await.ends_with("/hoy?dia=2026-12-08"));

    // Salir ends the session: the day is behind Entrar again.
    desktop.click("header form button").await;
    desktop.wait_for_url("/entrar").await;
    desktop.goto(&format!("{base}/hoy")).await;
    desktop.wait_for_url("/entrar").await;
}

#[tokio::test]
async fn a_barber_sees_only_his_own_column_and_other_days_by_link() {
    let api = Api::start().await;
    let cookie = cookie_of(&api, BARBER_PHONE).await;
    let http = client();
    let page = http
        .get(format!("{}/hoy", api.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert_eq!(page.matches("role=\"columnheader\"").count(), 1, "{page}");
    assert!(page.contains(">Luis</div>"));
    assert!(!page.contains("Dueño barberia</div>"));
    assert_eq!(page.matches("class=\"appt ").count(), 2);
    assert!(page.contains("href=\"/hoy?dia=2026-12-08\""), "{page}");
    let tomorrow = http
        .get(format!("{}/hoy?dia=2026-12-08", api.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(tomorrow.contains("Martes 8 de diciembre"), "{tomorrow}");
    assert_eq!(tomorrow.matches("class=\"appt ").count(), 0);

    // Salir without the page's CSRF token keeps the session.
    let refused = http
        .post(format!("{}/salir", api.base))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, &api.base)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let still = http
        .get(format!("{}/hoy", api.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), StatusCode::OK);
}

/// The status and local start of the barbershop's appointment at `time` today.
async fn appointment_at(api: &Api, time: &str) -> (uuid::Uuid, String) {
    let row = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT id, status FROM appointments WHERE organization_id = $1 AND starts_at = $2",
            &[&api.orgs.a, &at(time)],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn the_owner_taps_appointments_to_complete_one_and_move_another() {
    let api = Api::start().await;
    let base = api.base.replace("127.0.0.1", "localhost");
    let browser = Browser::start(390, 844).await;
    browser
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;

    browser.click(".appt").await;
    browser.wait_for(".facts").await;
    let facts = browser.texts(".facts dd").await;
    assert_eq!(facts[0], "Corte");
    assert_eq!(facts[1], "Luis");
    assert_eq!(facts[3], "Confirmada");
    // Ana's chat, one tap away.
    assert_eq!(browser.all("a[href^='/conversaciones/']").await.len(), 1);
    browser.screenshot("cita-phone").await;
    browser.click("form button:not(.quiet)").await;
    browser.wait_for("[role=status]").await;
    assert_eq!(
        browser.texts("[role=status]").await,
        ["Listo: marcada como completada."]
    );
    assert_eq!(
        appointment_at(&api, "2026-12-07T10:00").await.1,
        "completed"
    );
    // Done with: no more actions on it.
    assert!(browser.all(".actions").await.is_empty());

    // The 11:00 one, moved to the first free time scheduling offers that day.
    browser.goto(&format!("{base}/hoy")).await;
    browser.wait_for(".legend").await;
    let (eleven, _) = appointment_at(&api, "2026-12-07T11:00").await;
    browser.goto(&format!("{base}/citas/{eleven}/mover")).await;
    browser.wait_for(".slots").await;
    let offered = browser.texts(".slots button").await;
    assert!(!offered.is_empty());
    assert!(
        !offered.iter().any(|t| t.starts_with("11:00 · Luis")),
        "where it already is is not offered: {offered:?}"
    );
    // 11:15 with Luis overlaps only this appointment itself: it can move there.
    assert!(
        offered.iter().any(|t| t.starts_with("11:15 · Luis")),
        "{offered:?}"
    );
    browser.screenshot("mover-phone").await;
    let first = offered[0].clone();
    browser.click(".slots button").await;
    browser.wait_for("[role=status]").await;
    assert_eq!(
        browser.texts("[role=status]").await,
        ["Listo: la cita se movió y se le avisa al cliente."]
    );
    let moved: String = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT to_char(starts_at AT TIME ZONE 'America/Mexico_City', 'HH24:MI') FROM appointments WHERE id = $1",
            &[&eleven],
        )
        .await
        .unwrap()
        .get(0);
    assert!(first.starts_with(&moved), "{first} vs {moved}");
}

#[tokio::test]
async fn an_empty_time_is_tapped_to_book_a_new_customer_or_to_block_it() {
    let api = Api::start().await;
    let base = api.base.replace("127.0.0.1", "localhost");
    let browser = Browser::start(390, 844).await;
    browser
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;

    browser
        .submit("a.slot[aria-label='Reservar o bloquear a las 12:00 con Dueño barberia']")
        .await;
    assert_eq!(
        browser.texts("h2").await,
        ["lunes 7 de diciembre, 12:00 · Dueño barberia"]
    );
    browser.screenshot("nueva-phone").await;
    browser.type_into("#telefono", "55 7777 8888").await;
    browser.type_into("#nombre", "Beto").await;
    browser.submit("form:has(#telefono) button").await;
    assert_eq!(
        browser.texts("[role=status]").await,
        ["Listo: cita reservada; se le avisa al cliente."]
    );
    let row = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT c.name, c.phone, a.staff_id, a.source FROM appointments a JOIN customers c ON c.id = a.customer_id
             WHERE a.starts_at = $1 AND a.organization_id = $2",
            &[&at("2026-12-07T12:00"), &api.orgs.a],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some("Beto"));
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("525577778888")
    );
    assert_eq!(row.get::<_, uuid::Uuid>(2), api.orgs.a_owner);
    assert_eq!(row.get::<_, String>(3), "manual");

    browser.goto(&format!("{base}/hoy")).await;
    browser.wait_for(".legend").await;
    browser
        .submit("a.slot[aria-label='Reservar o bloquear a las 13:00 con Luis']")
        .await;
    browser.type_into("#motivo", "Comida").await;
    browser.submit("form:has(#duracion) button").await;
    browser.wait_for(".legend").await;
    assert!(browser.texts(".off").await.contains(&"Comida".to_owned()));

    // A time taken meanwhile: said so, nothing booked.
    let cookie = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let luis = api.orgs.a_barber;
    let ten = at("2026-12-07T10:00").as_second();
    let page = http
        .get(format!(
            "{}/hoy/nueva?personal={luis}&inicio={ten}",
            api.base
        ))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let taken = http
        .post(format!("{}/hoy/nueva", api.base))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, &api.base)
        .form(&[
            ("csrf", csrf_in(&page)),
            ("clave", uuid::Uuid::new_v4().to_string()),
            ("personal", luis.to_string()),
            ("inicio", ten.to_string()),
            ("accion", "reservar".into()),
            ("telefono", "55 7777 9999".into()),
            ("servicio", api.orgs.a_haircut.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert!(
        taken
            .text()
            .await
            .unwrap()
            .contains("Esa hora ya no está libre para esa persona.")
    );
}
