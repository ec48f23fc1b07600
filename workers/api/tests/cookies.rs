//! Browsers: the same tokens in `HttpOnly; Secure; SameSite=Strict` cookies, a CSRF token
//! bound to the session on every change made with them, refresh and logout by cookie.

mod common;

use std::collections::HashMap;

use common::{Api, BARBER_PHONE, OWNER_PHONE};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

struct Browser {
    cookies: HashMap<String, String>,
    attributes: HashMap<String, String>,
    csrf: String,
}

/// The cookies a response sets, by name: their values and their attributes.
fn set_cookies(headers: &header::HeaderMap) -> (HashMap<String, String>, HashMap<String, String>) {
    let mut values = HashMap::new();
    let mut attributes = HashMap::new();
    for cookie in headers.get_all(header::SET_COOKIE) {
        let cookie = cookie.to_str().unwrap();
        let (pair, rest) = cookie.split_once(';').unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        values.insert(name.to_owned(), value.to_owned());
        attributes.insert(name.to_owned(), rest.trim().to_owned());
    }
    (values, attributes)
}

impl Browser {
    async fn login(api: &Api, phone: &str) -> Browser {
        let code = api.code_for(phone).await;
        let response = api
            .http
            .post(format!("{}/v1/auth/login", api.base))
            .json(&json!({ "phone": phone, "code": code, "cookies": true }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (cookies, attributes) = set_cookies(response.headers());
        let body: Value = response.json().await.unwrap();
        assert!(
            body.get("access_token").is_none(),
            "no token in the body: {body}"
        );
        assert!(body.get("refresh_token").is_none());
        Browser {
            cookies,
            attributes,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    fn header(&self) -> String {
        self.cookies
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(
        &self,
        api: &Api,
        method: Method,
        path: &str,
        csrf: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = api
            .http
            .request(method, format!("{}{path}", api.base))
            .header(header::COOKIE, self.header());
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn cookies_are_http_only_secure_and_strict_and_changes_need_the_sessions_csrf_token() {
    let api = Api::start().await;
    let browser = Browser::login(&api, OWNER_PHONE).await;
    for name in ["cita_access", "cita_refresh"] {
        let attributes = &browser.attributes[name];
        for wanted in ["HttpOnly", "Secure", "SameSite=Strict"] {
            assert!(attributes.contains(wanted), "{name}: {attributes}");
        }
    }
    assert!(browser.attributes["cita_refresh"].contains("Path=/v1/auth"));
    // The page's scripts read the CSRF token; it is the same as in the body.
    assert!(!browser.attributes["cita_csrf"].contains("HttpOnly"));
    assert_eq!(browser.cookies["cita_csrf"], browser.csrf);

    let me = browser.send(&api, Method::GET, "/v1/me", None, None).await;
    assert_eq!(me.status(), StatusCode::OK, "reads need no CSRF token");

    let cancel = format!(
        "/v1/organizations/{}/appointments/{}/cancel",
        api.orgs.a,
        first_appointment(&api).await
    );
    let other = Browser::login(&api, BARBER_PHONE).await;
    for (what, csrf) in [
        ("no token", None),
        ("a made-up token", Some("AAAA")),
        ("another session's token", Some(other.csrf.as_str())),
    ] {
        let refused = browser
            .send(&api, Method::POST, &cancel, csrf, Some(json!({})))
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{what}");
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["code"], "csrf", "{what}");
    }
    assert_eq!(
        api.db
            .count("SELECT count(*) FROM appointments WHERE status = 'cancelled'")
            .await,
        0,
        "nothing changed"
    );
    let done = browser
        .send(
            &api,
            Method::POST,
            &cancel,
            Some(&browser.csrf),
            Some(json!({})),
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_browser_refreshes_and_logs_out_by_cookie() {
    let api = Api::start().await;
    let browser = Browser::login(&api, OWNER_PHONE).await;
    let refreshed = browser
        .send(
            &api,
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let (cookies, _) = set_cookies(refreshed.headers());
    assert_ne!(cookies["cita_refresh"], browser.cookies["cita_refresh"]);
    let renewed = Browser {
        cookies,
        attributes: HashMap::new(),
        csrf: browser.csrf.clone(),
    };
    // The spent cookie again: refused, and the session is closed.
    let reused = browser
        .send(
            &api,
            Method::POST,
            "/v1/auth/refresh",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
    let closed = renewed.send(&api, Method::GET, "/v1/me", None, None).await;
    assert_eq!(closed.status(), StatusCode::UNAUTHORIZED);

    let again = Browser::login(&api, OWNER_PHONE).await;
    let logout = again
        .send(
            &api,
            Method::POST,
            "/v1/auth/logout",
            Some(&again.csrf),
            None,
        )
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let (cleared, attributes) = set_cookies(logout.headers());
    for name in ["cita_access", "cita_refresh", "cita_csrf"] {
        assert_eq!(cleared[name], "", "{name}");
        assert!(attributes[name].contains("Max-Age=0"), "{name}");
    }
    let after = again.send(&api, Method::GET, "/v1/me", None, None).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
}

async fn first_appointment(api: &Api) -> uuid::Uuid {
    api.db
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT id FROM appointments WHERE organization_id = $1 ORDER BY starts_at LIMIT 1",
            &[&api.orgs.a],
        )
        .await
        .unwrap()
        .get(0)
}

/// `GET /entrar/renovar` with the pages' refresh cookie `refresh`: where it sends the
/// browser, and the cookies it sets.
async fn renew(api: &Api, refresh: &str) -> (String, HashMap<String, String>) {
    let response = common::pages::client()
        .get(format!("{}/entrar/renovar?volver=/hoy", api.base))
        .header(header::COOKIE, format!("cita_refresh={refresh}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    (to, set_cookies(response.headers()).0)
}

#[tokio::test]
async fn two_tabs_renewing_at_once_keep_the_session_but_a_later_copy_revokes_it() {
    let api = Api::start().await;
    let browser = Browser::login(&api, OWNER_PHONE).await;
    let first = browser.cookies["cita_refresh"].clone();
    let (to, rotated) = renew(&api, &first).await;
    assert_eq!(to, "/hoy");
    assert!(rotated.contains_key("cita_refresh"));
    // The other tab, a moment later, with the same cookie: an access cookie only, so the
    // jar keeps the refresh cookie the first renewal set.
    api.clock.advance(jiff::SignedDuration::from_secs(3));
    let (to, second) = renew(&api, &first).await;
    assert_eq!(to, "/hoy");
    assert!(!second["cita_access"].is_empty());
    assert!(!second.contains_key("cita_refresh"), "{second:?}");
    let (status, _) = api.get("/v1/me", &second["cita_access"]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        api.db
            .count("SELECT count(*) FROM api_sessions WHERE revoked_at IS NULL")
            .await,
        1
    );
    // The API's own refresh has no such grace.
    let (status, _) = api
        .post("/v1/auth/refresh", None, json!({ "refresh_token": first }))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api.db
            .count("SELECT count(*) FROM api_sessions WHERE revoked_reason = 'refresh_reused'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_spent_pages_cookie_presented_after_the_grace_revokes_the_session() {
    let api = Api::start().await;
    let browser = Browser::login(&api, OWNER_PHONE).await;
    let first = browser.cookies["cita_refresh"].clone();
    let (_, rotated) = renew(&api, &first).await;
    api.clock.advance(jiff::SignedDuration::from_secs(11));
    let (to, cookies) = renew(&api, &first).await;
    assert_eq!(to, "/entrar");
    assert!(!cookies.contains_key("cita_access"));
    assert_eq!(
        api.db
            .count("SELECT count(*) FROM api_sessions WHERE revoked_reason = 'refresh_reused'")
            .await,
        1
    );
    // The copy the first renewal set is dead with its session.
    let (to, _) = renew(&api, &rotated["cita_refresh"]).await;
    assert_eq!(to, "/entrar");
}
