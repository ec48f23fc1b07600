//! The owner asks for deposits on the dashboard: only once the business's Mercado Pago
//! account is connected, with the amount checked in Spanish, and the API reads it back.

mod common;

use common::{
    Api, OWNER_PHONE,
    browser::Browser,
    pages::{client, cookie_of, csrf_in},
};
use reqwest::{StatusCode, header};
use serde_json::json;

#[tokio::test]
async fn a_deposit_is_asked_for_only_with_mercado_pago_connected_and_in_valid_amounts() {
    let api = Api::start().await;
    let owner = cookie_of(&api, OWNER_PHONE).await;
    let http = client();
    let page = || async {
        http.get(format!("{}/ajustes/general", api.base))
            .header(header::COOKIE, &owner)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let post = |shown: String, kind: &str, value: &str| {
        let version = shown
            .split("name=\"version\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned();
        http.post(format!("{}/ajustes/general", api.base))
            .header(header::COOKIE, &owner)
            .header(header::ORIGIN, &api.base)
            .form(&[
                ("csrf", csrf_in(&shown)),
                ("clave", uuid::Uuid::new_v4().to_string()),
                ("version", version),
                ("modo", "guided".into()),
                ("limite", "0".into()),
                ("espera", "120".into()),
                ("anticipo", kind.into()),
                ("anticipo_valor", value.into()),
            ])
            .send()
    };
    let typed = post(page().await, "porcentaje", "mucho").await.unwrap();
    assert_eq!(typed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        typed
            .text()
            .await
            .unwrap()
            .contains("El porcentaje del anticipo va de 1 a 100.")
    );
    let unconnected = post(page().await, "porcentaje", "30").await.unwrap();
    assert_eq!(unconnected.status(), StatusCode::CONFLICT);
    assert!(
        unconnected
            .text()
            .await
            .unwrap()
            .contains("primero hay que conectar la cuenta de Mercado Pago")
    );
    let stored = || async {
        api.db
            .pool
            .get()
            .await
            .unwrap()
            .query_one(
                "SELECT deposit_kind, deposit_value FROM organizations WHERE id = $1",
                &[&api.orgs.a],
            )
            .await
            .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1)))
            .unwrap()
    };
    assert_eq!(stored().await, ("none".into(), 0), "nothing was saved");

    api.db
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO payment_accounts (organization_id, provider_user_id, token_ciphertext, token_key_id)
             VALUES ($1, '2025436155', '\\x00', 't1')",
            &[&api.orgs.a],
        )
        .await
        .unwrap();
    let saved = post(page().await, "fijo", "150.50").await.unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored().await, ("fixed".into(), 15_050));
    let shown = page().await;
    assert!(
        shown.contains("value=\"150.50\""),
        "the amount reads back as typed"
    );
    let token = api.token(OWNER_PHONE).await;
    let (status, settings) = api
        .get(
            &format!("/v1/organizations/{}/settings", api.orgs.a),
            &token,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        settings["deposit"],
        json!({"kind": "fixed", "amount_minor": 15050})
    );
    // The box "Si el cliente no llega, el anticipo no se devuelve" was left unticked.
    assert_eq!(settings["no_show_forfeits"], false);
    // "Nada por adelantado" turns deposits off again.
    let off = post(shown, "ninguno", "").await.unwrap();
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored().await, ("none".into(), 0));

    // A service asks for its own: half its price.
    let path = format!("{}/ajustes/servicios/{}", api.base, api.orgs.a_haircut);
    let form = http
        .get(&path)
        .header(header::COOKIE, &owner)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let saved = http
        .post(&path)
        .header(header::COOKIE, &owner)
        .header(header::ORIGIN, &api.base)
        .form(&[
            ("csrf", csrf_in(&form)),
            ("clave", uuid::Uuid::new_v4().to_string()),
            ("nombre", "Corte".into()),
            ("duracion", "45".into()),
            ("precio", "250".into()),
            ("preparacion", "0".into()),
            (&format!("hace_{}", api.orgs.a_owner), "on".into()),
            ("activo", "on".into()),
            ("anticipo", "porcentaje".into()),
            ("anticipo_valor", "50".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, services) = api
        .get(
            &format!("/v1/organizations/{}/services", api.orgs.a),
            &token,
        )
        .await;
    let haircut = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == json!(api.orgs.a_haircut))
        .unwrap()
        .clone();
    assert_eq!(
        haircut["deposit"],
        json!({"kind": "percent", "percent": 50})
    );
}

#[tokio::test]
async fn in_the_browser_the_deposit_is_refused_in_words_until_mercado_pago_is_connected() {
    let api = Api::start().await;
    let base = api.base.replace("127.0.0.1", "localhost");
    for (width, height, name) in [
        (390, 844, "anticipo-phone"),
        (1440, 900, "anticipo-desktop"),
    ] {
        let browser = Browser::start(width, height).await;
        browser
            .enter(&api, &base, "55 1111 0001", OWNER_PHONE)
            .await;
        browser.goto(&format!("{base}/ajustes/general")).await;
        browser.wait_for("#anticipo").await;
        browser
            .eval("document.getElementById('anticipo').value = 'porcentaje'; return null")
            .await;
        browser.type_into("#anticipo_valor", "30").await;
        browser.submit("form.card button").await;
        browser.wait_for("p.error").await;
        assert_eq!(
            browser.texts("p.error").await,
            [
                "Para pedir anticipos, primero hay que conectar la cuenta de Mercado Pago del negocio."
            ]
        );
        browser
            .eval("document.getElementById('anticipo').scrollIntoView(); return null")
            .await;
        browser.screenshot(name).await;
    }
}
