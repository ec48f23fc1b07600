//! The shop with the services a conversation goes through, all real but Meta and
//! Anthropic: scheduling, outbound (to a fake Graph API) and conversation (with a fake
//! Messages API), on a broker prefix of their own. Webhooks are published to
//! `wa.webhooks` as the ingress does. The business clock is fixed at Monday
//! 2026-12-07 09:00 in Mexico City.

use std::{collections::HashMap, sync::Arc, time::Duration};

use cita_shared::{
    amqp::topology::{CITA_COMMANDS, OUTBOUND_SEND},
    amqp::topology::{WA_WEBHOOKS, WHATSAPP_ROUTING_KEY},
    config::{Component, Settings},
    contracts::outbound::{Command, Message, Outgoing},
    crypto::Keyring,
    secret::Secret,
    testing::{FakeGraph, FakeModel, ManualClock, Recorded, Tap, TestBroker, eventually},
};
use jiff::Timestamp;
use lapin::{BasicProperties, options::BasicPublishOptions};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{Shop, now_seconds, tap_from, text_from};

pub const PATIENCE: Duration = Duration::from_secs(20);
pub const SECRETS_KEY: &str = "t1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub const NOW: &str = "2026-12-07T15:00:00Z";

pub struct Fleet {
    pub shop: Shop,
    pub broker: TestBroker,
    pub graph: FakeGraph,
    pub model: FakeModel,
    pub env: HashMap<String, String>,
    /// The business clock of scheduling and conversation; starts at [`NOW`].
    pub clock: ManualClock,
    /// Every send command published to `outbound.send`, as a copy.
    sent: Tap,
    commands: std::sync::Mutex<Vec<Outgoing>>,
    services: Vec<(&'static str, CancellationToken, tokio::task::JoinHandle<()>)>,
    next_wamid: std::sync::atomic::AtomicU64,
}

pub fn now() -> Timestamp {
    NOW.parse().unwrap()
}

impl Fleet {
    /// Starts scheduling, outbound and one conversation worker.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    pub async fn start_with(overrides: &[(&str, &str)]) -> Self {
        let mut fleet = Self::new(overrides).await;
        fleet.start_scheduling().await;
        fleet.start_outbound().await;
        fleet.start_conversation("conversation").await;
        fleet
    }

    pub async fn new(overrides: &[(&str, &str)]) -> Self {
        let shop = Shop::open().await;
        let broker = TestBroker::new().await;
        broker.declare().await;
        let sent = broker.tap(CITA_COMMANDS, OUTBOUND_SEND).await;
        let graph = FakeGraph::start().await;
        let model = FakeModel::start().await;
        let keyring = Keyring::parse(&Secret::new(SECRETS_KEY)).unwrap();
        let sealed = keyring.seal(b"EAAG-test-token", shop.org.as_bytes());
        shop.execute(
            "UPDATE organizations SET access_token_ciphertext = $2, access_token_key_id = $3 WHERE id = $1",
            &[&shop.org, &sealed.ciphertext, &sealed.key_id],
        )
        .await;
        let mut env: HashMap<String, String> = [
            ("CITA_DATABASE_URL", shop.db.url.expose().to_string()),
            ("CITA_AMQP_URL", broker.url.clone()),
            ("CITA_AMQP_PREFIX", broker.prefix.clone()),
            ("CITA_GRAPH_API_BASE", graph.base.clone()),
            ("CITA_SECRETS_KEY", SECRETS_KEY.to_string()),
            ("CITA_OUTBOUND_PAIR_BURST", "1000".to_string()),
            ("CITA_OUTBOUND_NUMBER_RATE", "10000".to_string()),
            ("CITA_OUTBOUND_NUMBER_BURST", "1000".to_string()),
            ("CITA_ANTHROPIC_API_KEY", "test-key".to_string()),
            ("CITA_ANTHROPIC_BASE_URL", model.base.clone()),
            ("CITA_AI_CALL_TIMEOUT_MS", "3000".to_string()),
            ("CITA_AI_ATTEMPTS", "2".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (key, value) in overrides {
            env.insert((*key).to_string(), (*value).to_string());
        }
        Fleet {
            shop,
            broker,
            graph,
            model,
            env,
            clock: ManualClock::new(now()),
            sent,
            commands: Default::default(),
            services: Vec::new(),
            next_wamid: std::sync::atomic::AtomicU64::new(1),
        }
    }

    fn settings(&self, component: Component) -> Settings {
        Settings::from_env(component, self.env.clone()).unwrap()
    }

    fn spawn<F>(&mut self, name: &'static str, run: impl FnOnce(CancellationToken) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(shutdown.clone()));
        self.services.push((name, shutdown, task));
    }

    pub async fn start_scheduling(&mut self) {
        let settings = self.settings(Component::Scheduling);
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let clock = self.clock.clock();
        self.spawn("scheduling", move |stop| async move {
            cita_scheduling::serve(&settings, admin, clock, stop)
                .await
                .unwrap()
        });
    }

    pub async fn start_outbound(&mut self) {
        let settings = self.settings(Component::Outbound);
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.spawn("outbound", move |stop| async move {
            cita_outbound::serve(&settings, admin, stop).await.unwrap()
        });
    }

    pub async fn start_conversation(&mut self, name: &'static str) {
        let settings = self.settings(Component::Conversation);
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let clock = self.clock.clock();
        self.spawn(name, move |stop| async move {
            cita_conversation::serve(&settings, admin, clock, stop)
                .await
                .unwrap()
        });
    }

    /// Stops the services named `name` (draining what they hold).
    pub async fn stop(&mut self, name: &str) {
        let (stopping, kept): (Vec<_>, Vec<_>) =
            self.services.drain(..).partition(|(n, ..)| *n == name);
        self.services = kept;
        for (_, shutdown, task) in stopping {
            shutdown.cancel();
            let _ = task.await;
        }
    }

    /// Posts a raw webhook body as the ingress would.
    pub async fn post(&self, body: &[u8]) {
        self.broker
            .channel
            .basic_publish(
                self.broker.topology.name(WA_WEBHOOKS).as_str().into(),
                WHATSAPP_ROUTING_KEY.into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }

    /// A confirmed publisher on the fleet's broker prefix, for what a test publishes
    /// itself (turn requests, sweeps).
    pub async fn publisher(&self) -> Arc<cita_shared::amqp::Publisher> {
        let ready = cita_shared::admin::Health::default().register("amqp");
        let (publisher, _task) = cita_shared::amqp::Publisher::start(
            Secret::new(self.broker.url.clone()),
            self.broker.topology.clone(),
            cita_shared::amqp::PublisherOptions {
                connection_name: "test".into(),
                confirm_timeout: Duration::from_secs(5),
                channels: 1,
                ..Default::default()
            },
            ready.clone(),
        );
        tokio::time::timeout(PATIENCE, ready.ready())
            .await
            .expect("the test publisher connects");
        publisher
    }

    /// `from` writes `text`; returns its WhatsApp message id.
    pub async fn say(&self, from: &str, text: &str) -> String {
        let n = self
            .next_wamid
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let wamid = format!("wamid.in.{n}");
        // One second apart, as WhatsApp stamps messages typed one after another (Meta
        // gives no order within a second).
        self.post(&text_from(
            from,
            "Ana",
            &wamid,
            now_seconds() + n as i64,
            text,
        ))
        .await;
        wamid
    }

    /// `from` taps the option `id` titled `title` of a button (`button_reply`) or list
    /// (`list_reply`) message.
    pub async fn tap(&self, from: &str, kind: &str, id: &str, title: &str) -> String {
        let n = self
            .next_wamid
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let wamid = format!("wamid.in.{n}");
        self.post(&tap_from(
            from,
            &wamid,
            now_seconds() + n as i64,
            kind,
            id,
            title,
        ))
        .await;
        wamid
    }

    /// The texts and interactive messages sent to `to` (not read receipts), as sent.
    pub fn replies_now(&self, to: &str) -> Vec<Value> {
        self.graph
            .sends()
            .into_iter()
            .filter(|r| r.body["to"] == to && r.body["type"] != Value::Null)
            .map(|r| r.body)
            .collect()
    }

    /// The text messages sent to `to` so far, once there are at least `n`.
    pub async fn texts_to(&self, to: &str, n: usize) -> Vec<String> {
        eventually(PATIENCE, &format!("{n} texts to {to}"), || async {
            let texts = self.texts_now(to);
            (texts.len() >= n).then_some(texts)
        })
        .await
    }

    pub fn texts_now(&self, to: &str) -> Vec<String> {
        self.graph
            .sends()
            .iter()
            .filter(|r| r.body["to"] == to && r.body["type"] == "text")
            .map(|r| {
                r.body["text"]["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    pub fn read_receipts(&self) -> Vec<Recorded> {
        self.graph
            .sends()
            .into_iter()
            .filter(|r| r.body["status"] == "read")
            .collect()
    }

    /// The messages (not read receipts) published to `to` so far, once each.
    pub async fn commands_to(&self, to: &str) -> Vec<Outgoing> {
        let mut seen = self.commands.lock().unwrap().clone();
        for copy in self.broker.drain_tap(&self.sent).await {
            if let Ok(Command::SendV1(send)) = serde_json::from_slice(&copy.delivery.data) {
                seen.push(send);
            }
        }
        *self.commands.lock().unwrap() = seen.clone();
        let mut to_them: Vec<Outgoing> = seen
            .into_iter()
            .filter(|c| c.to == to && !matches!(c.message, Message::ReadReceipt { .. }))
            .collect();
        // A turn run again resends under the same ids; outbound sends each once.
        let mut ids = std::collections::HashSet::new();
        to_them.retain(|c| ids.insert(c.command_id));
        to_them
    }

    /// Waits until every inbound message is answered and everything published to `to`
    /// has reached the fake Graph API: nothing more is on its way to them.
    pub async fn quiet(&self, to: &str) {
        self.settled().await;
        self.delivered(to).await;
    }

    /// Waits until the inbound message `wamid` is stored and answered.
    pub async fn answered(&self, wamid: &str) {
        eventually(PATIENCE, &format!("{wamid} answered"), || async {
            let answered: i64 = self
                .shop
                .scalar(
                    "SELECT count(*) FROM messages WHERE wa_message_id = $1 AND answered_at IS NOT NULL",
                    &[&wamid],
                )
                .await;
            (answered == 1).then_some(())
        })
        .await;
    }

    /// Waits until everything published to `to` so far has reached the fake Graph API.
    pub async fn delivered(&self, to: &str) {
        let published = self.commands_to(to).await.len();
        eventually(
            PATIENCE,
            &format!("{published} messages delivered to {to}"),
            || async { (self.replies_now(to).len() >= published).then_some(()) },
        )
        .await;
    }

    /// Waits until no inbound message is left unanswered.
    pub async fn settled(&self) {
        eventually(PATIENCE, "every inbound message answered", || async {
            let waiting: i64 = self
                .shop
                .scalar(
                    "SELECT count(*) FROM messages WHERE direction = 'inbound' AND answered_at IS NULL",
                    &[],
                )
                .await;
            (waiting == 0).then_some(())
        })
        .await;
    }

    pub async fn customer_conversation(&self, wa_id: &str) -> Uuid {
        self.shop
            .scalar("SELECT id FROM conversations WHERE wa_id = $1", &[&wa_id])
            .await
    }

    /// The tool results the model received in request `n` (0-based), by tool_use id order.
    pub fn tool_results(&self, n: usize) -> Vec<Value> {
        let requests = self.model.requests();
        let messages = requests[n]["messages"].as_array().unwrap();
        messages
            .last()
            .and_then(|m| m["content"].as_array())
            .map(|blocks| {
                blocks
                    .iter()
                    .filter(|b| b["type"] == "tool_result")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, shutdown, task) in self.services.drain(..) {
            shutdown.cancel();
            task.abort();
        }
    }
}
