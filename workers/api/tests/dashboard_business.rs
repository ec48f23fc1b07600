//! The dashboard beyond the day: Cifras, Plan, Conversaciones, Clientes and Sesiones, as
//! plain HTTP and in a real headless Chromium (screenshots in `target/screenshots/`);
//! the owner's settings are in `dashboard_settings.rs`.

mod common;

use common::{
    Api, BARBER_PHONE, OWNER_PHONE, at,
    browser::Browser,
    pages::{client, cookie_of, csrf_in},
};
use reqwest::{StatusCode, header};

#[tokio::test]
async fn the_owner_reads_the_months_figures_and_downloads_them_staff_do_not() {
    let api = Api::start().await;
    // One of the two done, the other a no-show.
    api.db
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(&format!(
            "UPDATE appointments SET status = CASE WHEN starts_at = '{}' THEN 'completed' ELSE 'no_show' END
             WHERE organization_id = '{}'",
            at("2026-12-07T10:00"),
            api.orgs.a
        ))
        .await
        .unwrap();
    // What the assistant cost this month: two answers.
    api.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO ai_usage (organization_id, model, input_tokens, output_tokens, cache_read_tokens,
                                   cache_write_tokens, cost_micro_usd, created_at)
             VALUES ($1, 'claude', 1, 1, 0, 0, 12500, '2026-12-05T12:00Z'), ($1, 'claude', 1, 1, 0, 0, 2500, '2026-12-06T12:00Z')",
            &[&api.orgs.a],
        )
        .await
        .unwrap();
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let page = http
        .get(format!("{}/cifras?mes=2026-12", api.base))
        .header(header::COOKIE, &owner)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("<h2>Diciembre 2026</h2>"), "{page}");
    assert!(
        page.contains("<span>Citas</span><strong>2</strong>"),
        "{page}"
    );
    assert!(
        page.contains("<span>No vinieron</span><strong>1 (50 %)</strong>"),
        "{page}"
    );
    assert!(page.contains("$250"), "{page}");
    assert_eq!(page.matches("<rect ").count(), 31, "a bar per day");
    assert!(
        page.contains("<title>2026-12-07: 2 citas</title>"),
        "{page}"
    );
    let csv = http
        .get(format!("{}/cifras.csv?mes=2026-12", api.base))
        .header(header::COOKIE, &owner)
        .send()
        .await
        .unwrap();
    assert_eq!(
        csv.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "fecha,citas,completadas,no_vinieron,canceladas,ingresos_mxn"
    );
    assert_eq!(lines.len(), 32);
    assert_eq!(lines[7], "2026-12-07,2,1,1,0,250.00");

    let barber = cookie_of(&api, BARBER_PHONE).await;
    let refused = http
        .get(format!("{}/cifras", api.base))
        .header(header::COOKIE, &barber)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = http
        .get(format!("{}/cifras.csv", api.base))
        .header(header::COOKIE, &barber)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // As the owner's phone and desktop show it.
    let base = api.base.replace("127.0.0.1", "localhost");
    for (width, height, name) in [(390, 844, "cifras-phone"), (1440, 900, "cifras-desktop")] {
        let browser = Browser::start(width, height).await;
        browser
            .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
            .await;
        browser.goto(&format!("{base}/cifras?mes=2026-12")).await;
        browser.wait_for(".chart").await;
        browser.screenshot(name).await;
    }
}

#[tokio::test]
async fn the_owner_reads_a_chat_replies_gives_it_back_and_after_a_day_offers_the_template() {
    let api = Api::start().await;
    let base = api.base.replace("127.0.0.1", "localhost");
    let browser = Browser::start(390, 844).await;
    browser
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;

    browser.goto(&format!("{base}/conversaciones")).await;
    browser.wait_for(".inbox").await;
    assert_eq!(
        browser.all(".inbox .chat").await.len(),
        1,
        "only this organization's"
    );
    browser.submit(".inbox .chat").await;
    let bubbles = browser.texts(".bubble").await;
    assert_eq!(bubbles.len(), 2);
    assert!(bubbles[0].starts_with("¿Tienen lugar hoy?"), "{bubbles:?}");
    assert!(
        bubbles[1].starts_with("Sí, a las 12:00.") && bubbles[1].ends_with("✓✓"),
        "{bubbles:?}"
    );
    browser
        .type_into("#texto", "Hola Ana, soy José María: sí hay lugar a las 12.")
        .await;
    browser.submit(".reply button").await;
    let sent = common::eventually_sent(&api, 1).await;
    let reply = sent
        .iter()
        .find(|c| c["message"]["body"] == "Hola Ana, soy José María: sí hay lugar a las 12.")
        .unwrap_or_else(|| panic!("{sent:?}"));
    assert_eq!(reply["to"], "5215533330001");
    // Writing took the conversation over: it can be given back.
    assert_eq!(
        browser.texts("form.inline button").await,
        ["Devolver al asistente"]
    );
    browser.screenshot("chat-phone").await;
    browser.submit("form.inline button").await;
    assert_eq!(
        browser.texts("form.inline button").await,
        ["Tomar la conversación"]
    );

    // A day later the window is closed: no free text, the template instead.
    api.clock.advance(jiff::SignedDuration::from_hours(25));
    browser
        .goto(&format!(
            "{base}/conversaciones/{}",
            api.orgs.a_conversation
        ))
        .await;
    browser.wait_for(".transcript").await;
    assert!(browser.all("#texto").await.is_empty());
    browser.submit("section.card button").await;
    let sent = common::eventually_sent(&api, 1).await;
    assert!(
        sent.iter().any(
            |c| c["message"]["type"] == "template" && c["message"]["name"] == "window_fallback"
        ),
        "{sent:?}"
    );

    // Staff without the permission, and other organizations' chats: nothing to read.
    let barber = cookie_of(&api, BARBER_PHONE).await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let get = |path: String, cookie: &str| {
        http.get(format!("{}{path}", api.base))
            .header(header::COOKIE, cookie)
            .send()
    };
    assert_eq!(
        get("/conversaciones".into(), &barber)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(
            format!("/conversaciones/{}", api.orgs.b_conversation),
            &owner
        )
        .await
        .unwrap()
        .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_plan_page_counts_this_months_bookings_against_the_free_fifty() {
    let api = Api::start().await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let plan = || async {
        http.get(format!("{}/plan", api.base))
            .header(header::COOKIE, &owner)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let page = plan().await;
    assert!(page.contains("Reservas de diciembre: 2 de 50"), "{page}");
    assert!(
        page.contains("<progress id=\"uso\" max=\"50\" value=\"2\">"),
        "{page}"
    );
    assert!(page.contains("Quedan 48 este mes."), "{page}");
    // 48 more (one a day in January, made now): the allowance is spent.
    api.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id, starts_at, ends_at, source)
             SELECT $1, $2, $3, $4, d, d + interval '45 minutes', 'whatsapp'
             FROM generate_series(timestamptz '2027-01-01 16:00Z', timestamptz '2027-02-17 16:00Z', interval '1 day') d",
            &[&api.orgs.a, &api.orgs.a_customer, &api.orgs.a_barber, &api.orgs.a_haircut],
        )
        .await
        .unwrap();
    let page = plan().await;
    assert!(
        page.contains("Llegaste a las 50 reservas de diciembre."),
        "{page}"
    );
    api.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE organizations SET plan = 'paid' WHERE id = $1",
            &[&api.orgs.a],
        )
        .await
        .unwrap();
    let page = plan().await;
    assert!(page.contains("Plan de pago"), "{page}");
    assert!(!page.contains("<progress"), "{page}");
}

#[tokio::test]
async fn staff_find_a_customer_by_name_or_phone_and_keep_notes_about_her() {
    let api = Api::start().await;
    let barber = cookie_of(&api, BARBER_PHONE).await;
    let http = client();
    let get = |path: String| {
        http.get(format!("{}{path}", api.base))
            .header(header::COOKIE, &barber)
            .send()
    };
    for (q, found) in [
        ("an", 1),
        ("5533", 1),
        ("+52 55 3333", 1),
        ("zzz", 0),
        ("%", 0),
    ] {
        let page = http
            .get(format!("{}/clientes", api.base))
            .query(&[("q", q)])
            .header(header::COOKIE, &barber)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            page.matches("class=\"card wide chat\"").count(),
            found,
            "{q}: {page}"
        );
    }
    let customer = api.orgs.a_customer;
    let page = get(format!("/clientes/{customer}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h2>Ana</h2>"), "{page}");
    assert!(
        page.contains("<span>Visitas</span><strong>0</strong>"),
        "{page}"
    );
    assert_eq!(
        page.matches("href=\"/citas/").count(),
        2,
        "her two appointments"
    );
    // The barber may not read chats: no link to hers.
    assert!(!page.contains("/conversaciones/"), "{page}");
    let saved = http
        .post(format!("{}/clientes/{customer}", api.base))
        .header(header::COOKIE, &barber)
        .header(header::ORIGIN, &api.base)
        .form(&[
            ("csrf", csrf_in(&page).as_str()),
            ("clave", &uuid::Uuid::new_v4().to_string()),
            ("notas", "Prefiere la máquina del 2."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let notes: Option<String> = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT notes FROM customers WHERE id = $1", &[&customer])
        .await
        .unwrap()
        .get(0);
    assert_eq!(notes.as_deref(), Some("Prefiere la máquina del 2."));
    let page = get(format!("/clientes/{customer}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(">Prefiere la máquina del 2.</textarea>"),
        "{page}"
    );
    // Another organization's customer: not found.
    let theirs = get(format!("/clientes/{}", api.orgs.b_customer))
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);

    let base = api.base.replace("127.0.0.1", "localhost");
    let browser = Browser::start(390, 844).await;
    browser
        .enter(&api, &base, "55 1111 0002", BARBER_PHONE)
        .await;
    browser.goto(&format!("{base}/clientes/{customer}")).await;
    browser.wait_for(".tiles").await;
    browser.screenshot("cliente-phone").await;
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
async fn forms_without_the_sessions_token_and_other_organizations_ids_change_nothing() {
    let api = Api::start().await;
    let cookie = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let (ten, _) = appointment_at(&api, "2026-12-07T10:00").await;
    let page = http
        .get(format!("{}/citas/{ten}", api.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_in(&page);
    let post = |token: &str, id: uuid::Uuid| {
        http.post(format!("{}/citas/{id}", api.base))
            .header(header::COOKIE, &cookie)
            .header(header::ORIGIN, &api.base)
            .form(&[
                ("csrf", token),
                ("clave", &uuid::Uuid::new_v4().to_string()),
                ("accion", "cancelled"),
            ])
            .send()
    };
    assert_eq!(
        post("forged", ten).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        appointment_at(&api, "2026-12-07T10:00").await.1,
        "confirmed"
    );
    // Another organization's appointment: not found, to read or to change.
    let theirs = api.orgs.b_appointment;
    let read = http
        .get(format!("{}/citas/{theirs}", api.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        post(&csrf, theirs).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let status: String = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one("SELECT status FROM appointments WHERE id = $1", &[&theirs])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "confirmed");
    // With the token, the change is made.
    let done = post(&csrf, ten).await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        appointment_at(&api, "2026-12-07T10:00").await.1,
        "cancelled"
    );
}
