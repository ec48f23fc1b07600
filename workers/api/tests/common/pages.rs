//! Logging in to the dashboard's pages without a browser, and what their forms carry.

use reqwest::{StatusCode, header};

use super::Api;

/// An HTTP client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The access cookie of a login by the API with `cookies: true`.
pub async fn cookie_of(api: &Api, phone: &str) -> String {
    session_of(api, phone).await.0
}

/// The cookies and the session id of a login by the API with `cookies: true`.
pub async fn session_of(api: &Api, phone: &str) -> (String, String) {
    let code = api.code_for(phone).await;
    let response = client()
        .post(format!("{}/v1/auth/login", api.base))
        .json(&serde_json::json!({"phone": phone, "code": code, "cookies": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter(|pair| pair.starts_with("cita_access=") || pair.starts_with("cita_csrf="))
        .collect::<Vec<_>>()
        .join("; ");
    let body: serde_json::Value = response.json().await.unwrap();
    (cookies, body["session_id"].as_str().unwrap().to_owned())
}

/// The CSRF token a page's forms carry.
pub fn csrf_in(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned()
}
