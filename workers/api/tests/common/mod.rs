//! The API against the real services: a migrated database with two organizations, a
//! broker prefix of the test's own, the real scheduling service answering its RPCs, and
//! a tap on `outbound.send` where login codes are read as the sandbox would show them.

#![allow(dead_code)]

use std::{collections::HashMap, time::Duration};

pub mod browser;
pub mod pages;

use cita_shared::{
    amqp::topology::{CITA_COMMANDS, OUTBOUND_SEND},
    config::{Component, Settings},
    testing::{ManualClock, Tap, TestBroker, TestDb, eventually},
};
use jiff::{Timestamp, civil::DateTime, tz::TimeZone};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const ZONE: &str = "America/Mexico_City";
pub const OWNER_PHONE: &str = "+525511110001";
pub const BARBER_PHONE: &str = "+525511110002";
pub const OTHER_OWNER_PHONE: &str = "+573001110001";
pub const TOKEN_KEYS: &str = "k1:1111111111111111111111111111111111111111111111111111111111111111";
pub const PATIENCE: Duration = Duration::from_secs(10);

pub fn at(local: &str) -> Timestamp {
    local
        .parse::<DateTime>()
        .unwrap()
        .to_zoned(TimeZone::get(ZONE).unwrap())
        .unwrap()
        .timestamp()
}

/// Two organizations: "barberia" in Mexico City (an owner, a barber without extra
/// permissions, a haircut, customer Ana with a booking at 10:00 and 11:00 today) and
/// "otra" in Bogotá (its owner, a service, a customer, one booking).
pub struct Orgs {
    pub a: Uuid,
    pub a_owner: Uuid,
    pub a_barber: Uuid,
    pub a_haircut: Uuid,
    pub a_customer: Uuid,
    pub b: Uuid,
    pub b_owner: Uuid,
    pub b_service: Uuid,
    pub b_customer: Uuid,
    pub b_appointment: Uuid,
    /// B's owner's day off on 9 December.
    pub b_time_off: Uuid,
    /// Each Ana's conversation: she wrote at 07:30 today and the assistant answered.
    pub a_conversation: Uuid,
    pub b_conversation: Uuid,
}

/// Ana's conversation in `org`: her question at 07:30 (Mexico City) today, the
/// assistant's answer delivered.
async fn conversation(client: &deadpool_postgres::Object, org: Uuid, customer: Uuid) -> Uuid {
    let wrote = at("2026-12-07T07:30");
    let id: Uuid = client
        .query_one(
            "INSERT INTO conversations (organization_id, wa_id, customer_id, last_inbound_at, updated_at)
             VALUES ($1, '5215533330001', $2, $3, $3) RETURNING id",
            &[&org, &customer, &wrote],
        )
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "INSERT INTO messages (organization_id, conversation_id, direction, sender_kind, content_kind,
                                   body, wa_message_id, status, created_at, answered_at, handled_as)
             VALUES ($1, $2, 'inbound', 'customer', 'text', '¿Tienen lugar hoy?', 'wamid.in-' || $2::uuid::text, 'received', $3, $3, 'ai'),
                    ($1, $2, 'outbound', 'ai', 'text', 'Sí, a las 12:00.', 'wamid.out-' || $2::uuid::text, 'delivered',
                     $3 + interval '5 seconds', NULL, NULL)",
            &[&org, &id, &wrote],
        )
        .await
        .unwrap();
    id
}

async fn seed(db: &TestDb) -> Orgs {
    let client = db.pool.get().await.unwrap();
    let shop = |slug: &str, zone: &str, owner: &str, locale: &str, currency: &str| {
        format!(
            "WITH o AS (INSERT INTO organizations (slug, name, timezone, status, locale, currency, phone_number_id)
                        VALUES ('{slug}', 'Org {slug}', '{zone}', 'active', '{locale}', '{currency}', 'pn-{slug}') RETURNING id),
                  l AS (INSERT INTO locations (organization_id, name) SELECT id, 'Centro' FROM o RETURNING id, organization_id),
                  h AS (INSERT INTO business_hours (organization_id, location_id, weekday, opens_at, closes_at)
                        SELECT l.organization_id, l.id, d, time '10:00', time '19:00' FROM l, generate_series(1, 7) d),
                  owner AS (INSERT INTO staff (organization_id, name, phone, role)
                            SELECT id, 'Dueño {slug}', '{owner}', 'owner' FROM o RETURNING id),
                  svc AS (INSERT INTO service_types (organization_id, name, duration_minutes, price_minor, currency)
                          SELECT id, 'Corte', 45, 25000, '{currency}' FROM o RETURNING id),
                  c AS (INSERT INTO customers (organization_id, wa_id, phone, name)
                        SELECT id, '5215533330001', '525533330001', 'Ana' FROM o RETURNING id)
             SELECT o.id, owner.id, svc.id, c.id FROM o, owner, svc, c"
        )
    };
    let a = client
        .query_one(&shop("barberia", ZONE, "525511110001", "es-MX", "MXN"), &[])
        .await
        .unwrap();
    let b = client
        .query_one(
            &shop("otra", "America/Bogota", "573001110001", "es-CO", "COP"),
            &[],
        )
        .await
        .unwrap();
    let (a_org, a_owner, a_haircut, a_customer): (Uuid, Uuid, Uuid, Uuid) =
        (a.get(0), a.get(1), a.get(2), a.get(3));
    let (b_org, b_owner, b_service, b_customer): (Uuid, Uuid, Uuid, Uuid) =
        (b.get(0), b.get(1), b.get(2), b.get(3));
    let a_barber: Uuid = client
        .query_one(
            "INSERT INTO staff (organization_id, name, phone, role) VALUES ($1, 'Luis', '525511110002', 'employee') RETURNING id",
            &[&a_org],
        )
        .await
        .unwrap()
        .get(0);
    client
        .batch_execute(&format!(
            "INSERT INTO staff_services (organization_id, staff_id, service_type_id)
             VALUES ('{a_org}', '{a_owner}', '{a_haircut}'), ('{a_org}', '{a_barber}', '{a_haircut}'),
                    ('{b_org}', '{b_owner}', '{b_service}');
             INSERT INTO staff_working_hours (organization_id, staff_id, weekday, starts_at, ends_at)
             SELECT org, s, d, time '10:00', time '19:00'
             FROM (VALUES ('{a_org}'::uuid, '{a_owner}'::uuid), ('{a_org}', '{a_barber}'), ('{b_org}', '{b_owner}')) m(org, s),
                  generate_series(1, 7) d;"
        ))
        .await
        .unwrap();
    let book = "INSERT INTO appointments (organization_id, customer_id, staff_id, service_type_id, starts_at, ends_at, source)
                VALUES ($1, $2, $3, $4, $5::timestamptz, $5::timestamptz + interval '45 minutes', 'whatsapp') RETURNING id";
    for time in ["2026-12-07T10:00", "2026-12-07T11:00"] {
        client
            .query_one(
                book,
                &[&a_org, &a_customer, &a_barber, &a_haircut, &at(time)],
            )
            .await
            .unwrap();
    }
    let b_appointment: Uuid = client
        .query_one(
            book,
            &[
                &b_org,
                &b_customer,
                &b_owner,
                &b_service,
                &at("2026-12-07T12:00"),
            ],
        )
        .await
        .unwrap()
        .get(0);
    let b_time_off: Uuid = client
        .query_one(
            "INSERT INTO availability_exceptions (organization_id, staff_id, kind, during)
             VALUES ($1, $2, 'time_off', tstzrange($3, $4)) RETURNING id",
            &[
                &b_org,
                &b_owner,
                &at("2026-12-09T00:00"),
                &at("2026-12-10T00:00"),
            ],
        )
        .await
        .unwrap()
        .get(0);
    let a_conversation = conversation(&client, a_org, a_customer).await;
    let b_conversation = conversation(&client, b_org, b_customer).await;
    Orgs {
        a_conversation,
        b_conversation,
        a: a_org,
        a_owner,
        a_barber,
        a_haircut,
        a_customer,
        b: b_org,
        b_owner,
        b_service,
        b_customer,
        b_appointment,
        b_time_off,
    }
}

pub struct Api {
    pub base: String,
    pub admin: String,
    pub http: reqwest::Client,
    pub db: TestDb,
    pub broker: TestBroker,
    pub orgs: Orgs,
    pub clock: ManualClock,
    sends: Tap,
    scheduling_stop: CancellationToken,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn env(db: &TestDb, broker: &TestBroker, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("CITA_DATABASE_URL", db.url.expose().to_string()),
        ("CITA_AMQP_URL", broker.url.clone()),
        ("CITA_AMQP_PREFIX", broker.prefix.clone()),
        ("CITA_API_TOKEN_KEYS", TOKEN_KEYS.into()),
        ("CITA_API_RPC_TIMEOUT_MS", "2000".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    env
}

impl Api {
    /// It is Monday 7 December 2026, 08:00 in Mexico City.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let db = TestDb::migrated().await;
        let orgs = seed(&db).await;
        let broker = TestBroker::new().await;
        broker.declare().await;
        let sends = broker.tap(CITA_COMMANDS, OUTBOUND_SEND).await;
        let clock = ManualClock::new(at("2026-12-07T08:00"));
        let stop = CancellationToken::new();
        let scheduling_stop = CancellationToken::new();
        let mut tasks = Vec::new();

        let settings = Settings::from_env(Component::Scheduling, env(&db, &broker, extra)).unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheduling_admin = admin.local_addr().unwrap();
        tasks.push(tokio::spawn({
            let (clock, stop) = (clock.clock(), scheduling_stop.clone());
            async move {
                cita_scheduling::serve(&settings, admin, clock, stop)
                    .await
                    .unwrap()
            }
        }));

        let settings = Settings::from_env(Component::Api, env(&db, &broker, extra)).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let api_admin = format!("http://{}", admin.local_addr().unwrap());
        tasks.push(tokio::spawn({
            let (clock, stop) = (clock.clock(), stop.clone());
            async move {
                cita_api::serve(&settings, listener, admin, clock, stop)
                    .await
                    .unwrap()
            }
        }));

        cita_shared::tls::install_provider();
        let http = reqwest::Client::new();
        for admin in [format!("http://{scheduling_admin}"), api_admin.clone()] {
            eventually(PATIENCE, "the services are ready", || {
                let (http, url) = (http.clone(), format!("{admin}/readyz"));
                async move {
                    let response = http.get(url).send().await.ok()?;
                    response.status().is_success().then_some(())
                }
            })
            .await;
        }
        Api {
            base,
            admin: api_admin,
            http,
            db,
            broker,
            orgs,
            clock,
            sends,
            scheduling_stop,
            stop,
            tasks,
        }
    }

    /// Stops the scheduling service: writes have no one to answer them.
    pub fn stop_scheduling(&self) {
        self.scheduling_stop.cancel();
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A counter or gauge of the API's `/metrics` (0 before its first sample).
    pub async fn metric(&self, name: &str) -> f64 {
        let page = self
            .http
            .get(format!("{}/metrics", self.admin))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        page.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// The send commands published since the last look.
    pub async fn sent(&self) -> Vec<Value> {
        self.broker
            .drain_tap(&self.sends)
            .await
            .iter()
            .map(|m| serde_json::from_slice(&m.data).unwrap())
            .collect()
    }

    /// The login codes sent so far, by recipient (stored digits).
    pub async fn codes(&self) -> Vec<(String, String, Value)> {
        self.sent()
            .await
            .into_iter()
            .map(|command| {
                let code = command["message"]["body"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                (command["to"].as_str().unwrap().to_owned(), code, command)
            })
            .collect()
    }

    /// Asks for a code for `phone` and waits until it is on its way.
    pub async fn code_for(&self, phone: &str) -> String {
        let (status, _) = self
            .post("/v1/auth/code", None, json!({ "phone": phone }))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        self.code_sent_to(phone).await
    }

    /// Waits for the next login code sent to `phone` (asked for by someone else: a
    /// browser, say).
    pub async fn code_sent_to(&self, phone: &str) -> String {
        let digits = phone.trim_start_matches('+').to_owned();
        eventually(PATIENCE, "the login code is sent", || {
            let digits = digits.clone();
            async move {
                self.codes()
                    .await
                    .into_iter()
                    .find(|(to, _, _)| *to == digits)
                    .map(|(_, code, _)| code)
            }
        })
        .await
    }

    /// Logs `phone` in and answers the tokens.
    pub async fn login(&self, phone: &str) -> Value {
        let code = self.code_for(phone).await;
        let (status, tokens) = self
            .post(
                "/v1/auth/login",
                None,
                json!({ "phone": phone, "code": code }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    pub async fn token(&self, phone: &str) -> String {
        self.login(phone).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.stop.cancel();
        self.scheduling_stop.cancel();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Waits until at least `n` login codes are on their way, and answers them all.
/// [`TOKEN_KEYS`] as the API reads them, to sign tokens in tests.
pub fn token_keys() -> Vec<cita_shared::config::TokenKey> {
    let (id, hex_key) = TOKEN_KEYS.split_once(':').unwrap();
    vec![cita_shared::config::TokenKey {
        id: id.into(),
        key: hex::decode(hex_key).unwrap().try_into().unwrap(),
    }]
}

/// A 429's `Retry-After`, in seconds.
pub fn retry_after(response: &reqwest::Response) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

pub async fn eventually_codes(api: &Api, n: usize) -> Vec<(String, String, Value)> {
    let seen = std::sync::Mutex::new(Vec::new());
    eventually(PATIENCE, "login codes are sent", || async {
        let got = api.codes().await;
        let mut seen = seen.lock().unwrap();
        seen.extend(got);
        (seen.len() >= n).then(|| seen.clone())
    })
    .await
}

/// Waits until at least `n` send commands are published, and answers them all.
pub async fn eventually_sent(api: &Api, n: usize) -> Vec<Value> {
    let seen = std::sync::Mutex::new(Vec::new());
    eventually(PATIENCE, "send commands are published", || async {
        let got = api.sent().await;
        let mut seen = seen.lock().unwrap();
        seen.extend(got);
        (seen.len() >= n).then(|| seen.clone())
    })
    .await
}
