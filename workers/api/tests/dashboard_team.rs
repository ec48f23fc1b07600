//! The dashboard's people and settings: a person's open sessions; the owner's team and
//! its permissions, the assistant and reminders, what customers are told.

mod common;

use common::{
    Api, BARBER_PHONE, OWNER_PHONE,
    pages::{client, cookie_of, csrf_in, session_of},
};
use reqwest::{StatusCode, header};

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
            .contains("Alguien cambió estos ajustes mientras tanto:")
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

#[tokio::test]
async fn the_owner_writes_what_customers_are_told_address_payments_and_questions() {
    let api = Api::start().await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let shown = || async {
        http.get(format!("{}/ajustes/negocio", api.base))
            .header(header::COOKIE, &owner)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let post = |fields: Vec<(String, String)>| {
        http.post(format!("{}/ajustes/negocio", api.base))
            .header(header::COOKIE, &owner)
            .header(header::ORIGIN, &api.base)
            .form(&fields)
            .send()
    };
    let page = shown().await;
    let location = page
        .split("name=\"direccion_")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let base = |action: &str| {
        vec![
            ("csrf".to_owned(), csrf_in(&page)),
            ("clave".to_owned(), uuid::Uuid::new_v4().to_string()),
            ("accion".to_owned(), action.to_owned()),
        ]
    };
    let mut details = base("datos");
    details.extend([
        (
            "descripcion".into(),
            "Barbería de barrio desde 1998.".into(),
        ),
        ("pago_efectivo".into(), "on".into()),
        ("pago_transferencia".into(), "on".into()),
        (
            format!("direccion_{location}"),
            "Av. Juárez 10, Centro".into(),
        ),
        (format!("llegar_{location}"), "Frente al parque".into()),
    ]);
    assert_eq!(post(details).await.unwrap().status(), StatusCode::SEE_OTHER);
    let mut question = base("agregar");
    question.extend([
        ("nueva".into(), "¿Hay estacionamiento?".into()),
        ("respuesta".into(), "Sí, en la esquina.".into()),
    ]);
    assert_eq!(
        post(question).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let mut empty = base("agregar");
    empty.extend([
        ("nueva".into(), "¿Y?".into()),
        ("respuesta".into(), " ".into()),
    ]);
    assert_eq!(
        post(empty).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let client_db = api.db.pool.get().await.unwrap();
    let org = client_db
        .query_one(
            "SELECT description, payment_methods FROM organizations WHERE id = $1",
            &[&api.orgs.a],
        )
        .await
        .unwrap();
    assert_eq!(
        org.get::<_, Option<String>>(0).as_deref(),
        Some("Barbería de barrio desde 1998.")
    );
    assert_eq!(org.get::<_, Vec<String>>(1), ["efectivo", "transferencia"]);
    let place: Option<String> = client_db
        .query_one(
            "SELECT address FROM locations WHERE organization_id = $1",
            &[&api.orgs.a],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(place.as_deref(), Some("Av. Juárez 10, Centro"));
    let page = shown().await;
    assert!(
        page.contains("<strong>¿Hay estacionamiento?</strong>"),
        "{page}"
    );
    let mut remove = base("quitar");
    remove.push(("pregunta".into(), "0".into()));
    assert_eq!(post(remove).await.unwrap().status(), StatusCode::SEE_OTHER);
    let questions: i64 = client_db
        .query_one(
            "SELECT count(*) FROM faq_entries WHERE organization_id = $1",
            &[&api.orgs.a],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(questions, 0);

    let barber = cookie_of(&api, BARBER_PHONE).await;
    let refused = http
        .get(format!("{}/ajustes/negocio", api.base))
        .header(header::COOKIE, &barber)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

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
async fn the_owner_gives_the_barber_mondays_off_and_his_times_follow() {
    let api = Api::start().await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let token = api.token(OWNER_PHONE).await;
    let http = client();
    let luis = api.orgs.a_barber;
    let page = http
        .get(format!("{}/ajustes/equipo/{luis}/horario", api.base))
        .header(header::COOKIE, &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h2>Horario de Luis</h2>"), "{page}");
    assert_eq!(page.matches("value=\"10:00-19:00\"").count(), 7);
    let week = |monday: &str| {
        let mut fields = vec![
            ("csrf", csrf_in(&page)),
            ("clave", uuid::Uuid::new_v4().to_string()),
        ];
        for day in 1..=7 {
            let hours = if day == 1 {
                monday.to_owned()
            } else {
                "10:00-19:00".to_owned()
            };
            fields.push((
                ["dia1", "dia2", "dia3", "dia4", "dia5", "dia6", "dia7"][day - 1],
                hours,
            ));
        }
        fields
    };
    let post = |fields: Vec<(&'static str, String)>| {
        http.post(format!("{}/ajustes/equipo/{luis}/horario", api.base))
            .header(header::COOKIE, &owner)
            .header(header::ORIGIN, &api.base)
            .form(&fields)
            .send()
    };
    let wrong = post(week("todo el día")).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        post(week("descansa")).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
    let free = |date: &'static str| {
        let url = format!(
            "{}/v1/organizations/{}/availability?service_type_id={}&date={date}&staff_id={luis}",
            api.base, api.orgs.a, api.orgs.a_haircut
        );
        let (http, token) = (http.clone(), token.clone());
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
            body["slots"].as_array().unwrap().len()
        }
    };
    assert_eq!(free("2026-12-14").await, 0, "Monday off");
    assert!(free("2026-12-15").await > 0, "Tuesday as before");
}
