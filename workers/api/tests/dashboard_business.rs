//! The dashboard beyond the day: Cifras, Plan, Conversaciones, Clientes and Sesiones, as
//! plain HTTP and in a real headless Chromium (screenshots in `target/screenshots/`).

mod common;

use common::{
    Api, BARBER_PHONE, OWNER_PHONE, at,
    browser::Browser,
    pages::{client, cookie_of, csrf_in, session_of},
};
use reqwest::{StatusCode, header};

#[tokio::test]
async fn the_owner_sees_where_he_is_logged_in_and_closes_another_session() {
    let api = Api::start().await;
    let (here, _) = session_of(&api, OWNER_PHONE).await;
    let (there, there_id) = session_of(&api, OWNER_PHONE).await;
    let http = client();
    let get = |path: &str, cookie: &str| {
        http.get(format!("{}{path}", api.base))
            .header(header::COOKIE, cookie)
            .header(
                header::USER_AGENT,
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
            )
            .send()
    };
    let page = get("/sesiones", &here).await.unwrap().text().await.unwrap();
    assert_eq!(
        page.matches("<li class=\"card wide\">").count(),
        2,
        "{page}"
    );
    assert_eq!(page.matches(" · esta sesión").count(), 1);
    assert_eq!(page.matches("Cerrar esta sesión").count(), 1);
    let closed = http
        .post(format!("{}/sesiones/{there_id}", api.base))
        .header(header::COOKIE, &here)
        .header(header::ORIGIN, &api.base)
        .form(&[("csrf", csrf_in(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    let shut = get("/hoy", &there).await.unwrap();
    assert_eq!(
        shut.status(),
        StatusCode::SEE_OTHER,
        "the closed session is out"
    );
    assert_eq!(get("/hoy", &here).await.unwrap().status(), StatusCode::OK);
    // Closing it again: it is not open.
    let again = http
        .post(format!("{}/sesiones/{there_id}", api.base))
        .header(header::COOKIE, &here)
        .header(header::ORIGIN, &api.base)
        .form(&[("csrf", csrf_in(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

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
        browser.goto(&format!("{base}/entrar")).await;
        browser.type_into("#telefono", "55 1111 0001").await;
        browser.click("button[type=submit]").await;
        browser.wait_for("#codigo").await;
        let code = api.code_sent_to(OWNER_PHONE).await;
        browser.type_into("#codigo", &code).await;
        browser.click("button[type=submit]").await;
        browser.wait_for(".legend").await;
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
    browser.goto(&format!("{base}/entrar")).await;
    browser.type_into("#telefono", "55 1111 0001").await;
    browser.click("button[type=submit]").await;
    browser.wait_for("#codigo").await;
    let code = api.code_sent_to(OWNER_PHONE).await;
    browser.type_into("#codigo", &code).await;
    browser.click("button[type=submit]").await;
    browser.wait_for(".legend").await;

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
    assert!(page.contains("Te quedan 48 este mes."), "{page}");
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
    browser.goto(&format!("{base}/entrar")).await;
    browser.type_into("#telefono", "55 1111 0002").await;
    browser.click("button[type=submit]").await;
    browser.wait_for("#codigo").await;
    let code = api.code_sent_to(BARBER_PHONE).await;
    browser.type_into("#codigo", &code).await;
    browser.click("button[type=submit]").await;
    browser.wait_for(".legend").await;
    browser.goto(&format!("{base}/clientes/{customer}")).await;
    browser.wait_for(".tiles").await;
    browser.screenshot("cliente-phone").await;
}

#[tokio::test]
async fn the_owner_edits_the_price_list_with_every_field_checked_in_spanish() {
    let api = Api::start().await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let get = |path: String| {
        http.get(format!("{}{path}", api.base))
            .header(header::COOKIE, &owner)
            .send()
    };
    let list = get("/ajustes/servicios".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("<strong>Corte</strong>"), "{list}");
    let form = get("/ajustes/servicios/nuevo".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let post = |path: String, fields: Vec<(String, String)>| {
        http.post(format!("{}{path}", api.base))
            .header(header::COOKIE, &owner)
            .header(header::ORIGIN, &api.base)
            .form(&fields)
            .send()
    };
    let field = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let base_fields = |csrf: &str| {
        vec![
            field("csrf", csrf),
            field("clave", &uuid::Uuid::new_v4().to_string()),
        ]
    };
    let mut bad = base_fields(&csrf_in(&form));
    bad.extend([
        field("nombre", ""),
        field("duracion", "mucho"),
        field("precio", "dos"),
        field("preparacion", "999"),
        field("activo", "on"),
    ]);
    let refused = post("/ajustes/servicios/nuevo".into(), bad).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    for why in [
        "Escribe un nombre de 1 a 80 letras.",
        "La duración va de 5 a 720 minutos, en números.",
        "El precio va en números: 250 o 250.50.",
        "De 0 a 240 minutos, en números.",
        "Elige al menos a una persona que lo haga.",
    ] {
        assert!(page.contains(why), "{why}: {page}");
    }
    assert!(page.contains("value=\"mucho\""), "what was typed stays");
    let count = || async {
        api.db
            .pool
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT count(*) FROM service_types WHERE organization_id = $1",
                &[&api.orgs.a],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    assert_eq!(count().await, 1, "nothing was made");

    let mut good = base_fields(&csrf_in(&form));
    good.extend([
        field("nombre", "Corte y barba"),
        field("duracion", "60"),
        field("precio", "350.50"),
        field("preparacion", "10"),
        field(&format!("hace_{}", api.orgs.a_owner), "on"),
        field("activo", "on"),
    ]);
    let made = post("/ajustes/servicios/nuevo".into(), good).await.unwrap();
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    let row = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT s.price_minor, s.buffer_minutes, s.duration_minutes,
                    ARRAY(SELECT staff_id FROM staff_services x WHERE x.service_type_id = s.id)
             FROM service_types s WHERE s.name = 'Corte y barba'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 35_050);
    assert_eq!(row.get::<_, i32>(1), 10);
    assert_eq!(row.get::<_, i32>(2), 60);
    assert_eq!(row.get::<_, Vec<uuid::Uuid>>(3), vec![api.orgs.a_owner]);

    // The same name again: said so by scheduling's refusal.
    let form = get("/ajustes/servicios/nuevo".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut twice = base_fields(&csrf_in(&form));
    twice.extend([
        field("nombre", "Corte y barba"),
        field("duracion", "60"),
        field("precio", "350"),
        field("preparacion", "0"),
        field(&format!("hace_{}", api.orgs.a_owner), "on"),
        field("activo", "on"),
    ]);
    let again = post("/ajustes/servicios/nuevo".into(), twice)
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("Ya hay otro servicio con ese nombre.")
    );

    let barber = cookie_of(&api, BARBER_PHONE).await;
    let refused = http
        .get(format!("{}/ajustes/servicios", api.base))
        .header(header::COOKIE, &barber)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let base = api.base.replace("127.0.0.1", "localhost");
    let browser = Browser::start(390, 844).await;
    browser.goto(&format!("{base}/entrar")).await;
    browser.type_into("#telefono", "55 1111 0001").await;
    browser.click("button[type=submit]").await;
    browser.wait_for("#codigo").await;
    let code = api.code_sent_to(OWNER_PHONE).await;
    browser.type_into("#codigo", &code).await;
    browser.click("button[type=submit]").await;
    browser.wait_for(".legend").await;
    browser
        .goto(&format!("{base}/ajustes/servicios/{}", api.orgs.a_haircut))
        .await;
    browser.wait_for("#precio").await;
    browser
        .eval("document.getElementById('precio').value = ''; return null")
        .await;
    browser.type_into("#precio", "doscientos").await;
    browser.submit("form.card button").await;
    assert_eq!(
        browser.texts(".field-error").await,
        ["El precio va en números: 250 o 250.50."]
    );
    browser.screenshot("servicio-phone").await;
}

#[tokio::test]
async fn the_owner_sets_split_shifts_and_closes_a_week_and_availability_follows() {
    let api = Api::start().await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let token = api.token(OWNER_PHONE).await;
    let http = client();
    let page = || async {
        http.get(format!("{}/ajustes/horario", api.base))
            .header(header::COOKIE, &owner)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let post = |fields: Vec<(&str, String)>| {
        http.post(format!("{}/ajustes/horario", api.base))
            .header(header::COOKIE, &owner)
            .header(header::ORIGIN, &api.base)
            .form(&fields)
            .send()
    };
    let free = |date: &'static str| {
        let (http, token) = (http.clone(), token.clone());
        let url = format!(
            "{}/v1/organizations/{}/availability?service_type_id={}&date={date}",
            api.base, api.orgs.a, api.orgs.a_haircut
        );
        async move {
            let body: serde_json::Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["slots"].as_array().map_or(0, Vec::len)
        }
    };
    let shown = page().await;
    assert_eq!(shown.matches("value=\"10:00-19:00\"").count(), 7, "{shown}");
    let week = |csrf: String, saturday: &str, wednesday: &str| {
        let mut fields = vec![
            ("csrf", csrf),
            ("clave", uuid::Uuid::new_v4().to_string()),
            ("accion", "horario".into()),
        ];
        for (day, hours) in [
            ("dia1", "10:00-19:00"),
            ("dia2", "10:00-19:00"),
            ("dia3", wednesday),
            ("dia4", "10:00-19:00"),
            ("dia5", "10:00-19:00"),
            ("dia6", saturday),
            ("dia7", "cerrado"),
        ] {
            fields.push((day, hours.into()));
        }
        fields
    };
    let refused = post(week(
        csrf_in(&shown),
        "10:00-14:00, 16:00-20:00",
        "de 10 a siempre",
    ))
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("value=\"de 10 a siempre\""), "{refused}");
    assert_eq!(refused.matches("class=\"field-error\"").count(), 1);
    assert!(
        free("2026-12-13").await > 0,
        "nothing changed: Sunday is still open"
    );

    let saved = post(week(
        csrf_in(&shown),
        "10:00-14:00, 16:00-20:00",
        "10:00-19:00",
    ))
    .await
    .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(free("2026-12-13").await, 0, "Sunday is closed now");
    let saturday: String = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT string_agg(opens_at || '-' || closes_at, ',' ORDER BY opens_at) FROM business_hours
             WHERE organization_id = $1 AND weekday = 6",
            &[&api.orgs.a],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(saturday, "10:00:00-14:00:00,16:00:00-20:00:00");

    // A holiday week, then taken back.
    let shown = page().await;
    let bad = post(vec![
        ("csrf", csrf_in(&shown)),
        ("clave", uuid::Uuid::new_v4().to_string()),
        ("accion", "cerrar".into()),
        ("dias", "pronto".into()),
        ("tipo", "closure".into()),
    ])
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let closed = post(vec![
        ("csrf", csrf_in(&shown)),
        ("clave", uuid::Uuid::new_v4().to_string()),
        ("accion", "cerrar".into()),
        ("dias", "del 14 al 19 de diciembre".into()),
        ("tipo", "holiday".into()),
        ("motivo", "Vacaciones".into()),
    ])
    .await
    .unwrap();
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    assert_eq!(free("2026-12-15").await, 0, "no times that week");
    let shown = page().await;
    assert!(
        shown.contains("Del lunes 14 de diciembre al sábado 19 de diciembre"),
        "{shown}"
    );
    let closure = shown
        .split("name=\"cierre\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let removed = post(vec![
        ("csrf", csrf_in(&shown)),
        ("clave", uuid::Uuid::new_v4().to_string()),
        ("accion", "quitar".into()),
        ("cierre", closure),
    ])
    .await
    .unwrap();
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert!(free("2026-12-15").await > 0, "the week is open again");

    let base = api.base.replace("127.0.0.1", "localhost");
    let browser = Browser::start(390, 844).await;
    browser.goto(&format!("{base}/entrar")).await;
    browser.type_into("#telefono", "55 1111 0001").await;
    browser.click("button[type=submit]").await;
    browser.wait_for("#codigo").await;
    let code = api.code_sent_to(OWNER_PHONE).await;
    browser.type_into("#codigo", &code).await;
    browser.click("button[type=submit]").await;
    browser.wait_for(".legend").await;
    browser.goto(&format!("{base}/ajustes/horario")).await;
    browser.wait_for("#dia6").await;
    browser.screenshot("horario-phone").await;
}

#[tokio::test]
async fn the_owner_sets_reminders_reviews_and_the_assistant_under_the_version_he_saw() {
    let api = Api::start().await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let shown = http
        .get(format!("{}/ajustes/general", api.base))
        .header(header::COOKIE, &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let version = shown
        .split("name=\"version\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let post = |link: &str| {
        http.post(format!("{}/ajustes/general", api.base))
            .header(header::COOKIE, &owner)
            .header(header::ORIGIN, &api.base)
            .form(&[
                ("csrf", csrf_in(&shown)),
                ("clave", uuid::Uuid::new_v4().to_string()),
                ("version", version.clone()),
                ("recordar_1440", "on".into()),
                ("recordar_120", "on".into()),
                ("resenas", "on".into()),
                ("enlace", link.into()),
                ("modo", "guided".into()),
                ("limite", "240".into()),
            ])
            .send()
    };
    let bad = post("g.page/r/centro").await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("El enlace de reseñas empieza con https://")
    );
    let saved = post("https://g.page/r/centro").await.unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let row = api
        .db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT reminder_offsets_minutes, review_request_after_minutes, review_link, assistant_mode,
                    change_cutoff_minutes FROM organizations WHERE id = $1",
            &[&api.orgs.a],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Vec<i32>>(0), vec![1440, 120]);
    assert_eq!(row.get::<_, Option<i32>>(1), Some(120));
    assert_eq!(
        row.get::<_, Option<String>>(2).as_deref(),
        Some("https://g.page/r/centro")
    );
    assert_eq!(row.get::<_, String>(3), "guided");
    assert_eq!(row.get::<_, i32>(4), 240);
    // The same form again: it was shown before that change, so it is refused, not applied.
    let stale = post("https://g.page/r/otra").await.unwrap();
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(
        stale
            .text()
            .await
            .unwrap()
            .contains("Alguien cambió estos ajustes mientras tanto.")
    );

    let barber = cookie_of(&api, BARBER_PHONE).await;
    let refused = http
        .get(format!("{}/ajustes/general", api.base))
        .header(header::COOKIE, &barber)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_owner_adds_someone_grants_a_permission_and_takes_someone_off() {
    let api = Api::start().await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let shown = || async {
        http.get(format!("{}/ajustes/equipo", api.base))
            .header(header::COOKIE, &owner)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let post = |fields: Vec<(&'static str, String)>| {
        http.post(format!("{}/ajustes/equipo", api.base))
            .header(header::COOKIE, &owner)
            .header(header::ORIGIN, &api.base)
            .form(&fields)
            .send()
    };
    let page = shown().await;
    let csrf = csrf_in(&page);
    let key = || uuid::Uuid::new_v4().to_string();
    let added = post(vec![
        ("csrf", csrf.clone()),
        ("clave", key()),
        ("accion", "agregar".into()),
        ("nombre", "Carla".into()),
        ("telefono", "55 4444 3333".into()),
    ])
    .await
    .unwrap();
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let client_db = api.db.pool.get().await.unwrap();
    let carla: uuid::Uuid = client_db
        .query_one(
            "SELECT id FROM staff WHERE phone = '525544443333' AND active",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let welcomed: i64 = client_db
        .query_one(
            "SELECT count(*) FROM outbox WHERE routing_key = 'organization.staff_added'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(welcomed, 1, "the new member is welcomed");
    let twice = post(vec![
        ("csrf", csrf.clone()),
        ("clave", key()),
        ("accion", "agregar".into()),
        ("nombre", "Otro Luis".into()),
        ("telefono", "55 1111 0002".into()),
    ])
    .await
    .unwrap();
    assert_eq!(twice.status(), StatusCode::CONFLICT);
    assert!(
        twice
            .text()
            .await
            .unwrap()
            .contains("Alguien del equipo ya tiene ese número.")
    );

    // Luis may now read the chats.
    let luis = cookie_of(&api, BARBER_PHONE).await;
    let chats = |cookie: String| {
        http.get(format!("{}/conversaciones", api.base))
            .header(header::COOKIE, cookie)
            .send()
    };
    assert_eq!(
        chats(luis.clone()).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let granted = post(vec![
        ("csrf", csrf.clone()),
        ("clave", key()),
        ("accion", "permisos".into()),
        ("persona", api.orgs.a_barber.to_string()),
        ("puede_view_business_schedule", "on".into()),
    ])
    .await
    .unwrap();
    assert_eq!(granted.status(), StatusCode::SEE_OTHER);
    let luis = cookie_of(&api, BARBER_PHONE).await;
    assert_eq!(chats(luis).await.unwrap().status(), StatusCode::OK);

    let removed = post(vec![
        ("csrf", csrf),
        ("clave", key()),
        ("accion", "quitar".into()),
        ("persona", carla.to_string()),
    ])
    .await
    .unwrap();
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let active: bool = client_db
        .query_one("SELECT active FROM staff WHERE id = $1", &[&carla])
        .await
        .unwrap()
        .get(0);
    assert!(!active);
    assert!(!shown().await.contains("Carla"));
}
