//! The dashboard's settings, the owner's only: services and prices, opening hours and
//! closures (the team, the assistant and what customers are told are in
//! `dashboard_team.rs`). Each form checked on the server with a Spanish message, each
//! change made by scheduling and seen in what the business offers next.

mod common;

use common::{
    Api, BARBER_PHONE, OWNER_PHONE,
    browser::Browser,
    pages::{client, cookie_of, csrf_in},
};
use reqwest::{StatusCode, header};

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
        field("limite", "nunca"),
        field("activo", "on"),
    ]);
    let refused = post("/ajustes/servicios/nuevo".into(), bad).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    for why in [
        "Falta un nombre, de 1 a 80 letras.",
        "La duración va de 5 a 720 minutos, en números.",
        "El precio va en números: 250 o 250.50.",
        "De 0 a 240 minutos, en números.",
        "Falta elegir al menos a una persona que lo haga.",
        "Elige hasta cuándo pueden cambiar la cita.",
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
        field("limite", "240"),
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
                    ARRAY(SELECT staff_id FROM staff_services x WHERE x.service_type_id = s.id),
                    s.change_cutoff_minutes
             FROM service_types s WHERE s.name = 'Corte y barba'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 35_050);
    assert_eq!(row.get::<_, i32>(1), 10);
    assert_eq!(row.get::<_, i32>(2), 60);
    assert_eq!(row.get::<_, Vec<uuid::Uuid>>(3), vec![api.orgs.a_owner]);
    assert_eq!(row.get::<_, Option<i32>>(4), Some(240));

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
    browser
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;
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
    browser
        .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
        .await;
    browser.goto(&format!("{base}/ajustes/horario")).await;
    browser.wait_for("#dia6").await;
    browser.screenshot("horario-phone").await;
}
