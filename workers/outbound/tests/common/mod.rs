//! A running `cita-outbound` against a throwaway database, its own broker prefix and a
//! fake Graph API, with one organization that can send.

#![allow(dead_code)]

use std::{collections::HashMap, time::Duration};

use cita_shared::{
    amqp::topology::{CITA_COMMANDS, CITA_EVENTS, OUTBOUND_RETRY_TIERS, OUTBOUND_SEND},
    config::{Component, Settings},
    contracts::{
        events::Envelope,
        outbound::{Command, Message, Outgoing, Purpose, Template},
    },
    crypto::Keyring,
    secret::Secret,
    testing::{Barbershop, FakeGraph, TestBroker, TestDb, eventually},
};
use lapin::{
    BasicProperties,
    options::{
        BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::FieldTable,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const PATIENCE: Duration = Duration::from_secs(15);
pub const SECRETS_KEY: &str = "t1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub const TOKEN: &str = "EAAGtest-token-s3cr3t-value";
pub const CUSTOMER: &str = "5215512345678";

pub struct World {
    pub db: TestDb,
    pub broker: TestBroker,
    pub graph: FakeGraph,
    pub organization: Uuid,
    pub phone_number_id: String,
    /// A conversation with `CUSTOMER` whose last inbound message was a minute ago.
    pub conversation: Uuid,
    pub env: HashMap<String, String>,
    services: Vec<(CancellationToken, tokio::task::JoinHandle<()>)>,
    /// Each running service's admin address, for its `/metrics`.
    admins: Vec<std::net::SocketAddr>,
}

impl World {
    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    /// `overrides` are extra `CITA_*` settings for the services this world starts.
    pub async fn with(overrides: &[(&str, &str)]) -> Self {
        let db = TestDb::migrated().await;
        let broker = TestBroker::new().await;
        broker.declare().await;
        let graph = FakeGraph::start().await;
        let phone_number_id = format!("1{}", &Uuid::new_v4().as_u128().to_string()[..14]);
        let shop = Barbershop::builder()
            .phone_number_id(phone_number_id.clone())
            .access_token(Keyring::parse(&Secret::new(SECRETS_KEY)).unwrap(), TOKEN)
            .customer(Some(CUSTOMER), Some(CUSTOMER), Some("Ana"))
            .create(&db.pool)
            .await;
        let (organization, customer) = (shop.organization, shop.customers[0]);
        let client = db.pool.get().await.unwrap();
        let conversation: Uuid = client
            .query_one(
                "INSERT INTO conversations (organization_id, wa_id, customer_id, last_inbound_at)
                 VALUES ($1, $2, $3, now() - interval '1 minute') RETURNING id",
                &[&organization, &CUSTOMER, &customer],
            )
            .await
            .unwrap()
            .get(0);
        drop(client);
        let mut env: HashMap<String, String> = [
            ("CITA_DATABASE_URL", db.url.expose().to_string()),
            ("CITA_AMQP_URL", broker.url.clone()),
            ("CITA_AMQP_PREFIX", broker.prefix.clone()),
            ("CITA_GRAPH_API_BASE", graph.base.clone()),
            ("CITA_SECRETS_KEY", SECRETS_KEY.to_string()),
            ("CITA_GRAPH_TIMEOUT_MS", "2000".to_string()),
            // Tests pace only where they mean to.
            ("CITA_OUTBOUND_PAIR_BURST", "1000".to_string()),
            ("CITA_OUTBOUND_NUMBER_RATE", "10000".to_string()),
            ("CITA_OUTBOUND_NUMBER_BURST", "1000".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        for (key, value) in overrides {
            env.insert((*key).to_string(), (*value).to_string());
        }
        World {
            db,
            broker,
            graph,
            organization,
            phone_number_id,
            conversation,
            env,
            services: Vec::new(),
            admins: Vec::new(),
        }
    }

    /// Starts one more `cita-outbound` (replicas share the queue and the rate limits).
    pub async fn start(&mut self) {
        let settings = Settings::from_env(Component::Outbound, self.env.clone()).unwrap();
        let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.admins.push(admin.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                cita_outbound::serve(&settings, admin, shutdown)
                    .await
                    .unwrap()
            }
        });
        self.services.push((shutdown, task));
    }

    /// How many commands the running services handled with `outcome` (`sent`,
    /// `duplicate`, …), from their `/metrics`.
    pub async fn handled(&self, outcome: &str) -> u64 {
        let series = format!("cita_outbound_commands_total{{outcome=\"{outcome}\"}} ");
        let mut total = 0;
        for admin in &self.admins {
            let page = reqwest::get(format!("http://{admin}/metrics"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            total += page
                .lines()
                .find_map(|line| line.strip_prefix(&series)?.parse::<u64>().ok())
                .unwrap_or(0);
        }
        total
    }

    pub async fn stop(&mut self) {
        self.admins.clear();
        for (shutdown, task) in self.services.drain(..) {
            shutdown.cancel();
            let _ = task.await;
        }
    }

    /// Stops the services (the sends in hand finish first) and returns how many commands
    /// still wait in `outbound.send` or its retry tiers. With nothing consuming, 0 means
    /// no further send can happen: what a test checks before saying something was not.
    pub async fn settle(&mut self) -> u32 {
        self.stop().await;
        let mut waiting = self.broker.count(OUTBOUND_SEND).await;
        for tier in OUTBOUND_RETRY_TIERS {
            waiting += self.broker.count(tier.queue).await;
        }
        waiting
    }

    /// A text reply to `CUSTOMER` in the conversation.
    pub fn text(&self, body: &str) -> Outgoing {
        Outgoing {
            command_id: Uuid::new_v4(),
            organization_id: self.organization,
            to: CUSTOMER.into(),
            conversation_id: Some(self.conversation),
            purpose: Purpose::Reply,
            reply_to: None,
            message: Message::Text {
                body: body.into(),
                preview_url: false,
            },
            fallback: None,
            author: None,
        }
    }

    pub async fn publish(&self, send: &Outgoing) {
        let body = serde_json::to_vec(&Command::SendV1(send.clone())).unwrap();
        self.publish_raw(&body).await;
    }

    /// Publishes any body to `outbound.send`, confirmed.
    pub async fn publish_raw(&self, body: &[u8]) {
        let channel = &self.broker.channel;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        let confirmation = channel
            .basic_publish(
                self.broker.topology.name(CITA_COMMANDS).as_str().into(),
                OUTBOUND_SEND.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                body,
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(confirmation, lapin::Confirmation::Ack(None));
    }

    /// Binds a queue of the test's own to `cita.events` for `routing_key`; returns its name.
    pub async fn listen(&self, routing_key: &str) -> String {
        let queue = self
            .broker
            .topology
            .name(&format!("test-listen.{routing_key}"));
        self.broker
            .channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    exclusive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        self.broker
            .channel
            .queue_bind(
                queue.as_str().into(),
                self.broker.topology.name(CITA_EVENTS).as_str().into(),
                routing_key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        queue
    }

    /// Waits for the next event on a `listen` queue.
    pub async fn next_event(&self, queue: &str) -> Envelope {
        eventually(PATIENCE, &format!("an event on {queue}"), || async {
            self.broker
                .channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap()
                .map(|message| serde_json::from_slice(&message.delivery.data).unwrap())
        })
        .await
    }

    /// The message row of a command.
    pub async fn row(&self, command_id: Uuid) -> Option<Row> {
        let client = self.db.pool.get().await.unwrap();
        client
            .query_opt(
                "SELECT status, content_kind, wa_message_id, error_title, attempts, purpose, body, sender_kind
                 FROM messages WHERE command_id = $1",
                &[&command_id],
            )
            .await
            .unwrap()
            .map(|r| Row {
                status: r.get(0),
                content_kind: r.get(1),
                wa_message_id: r.get(2),
                error_title: r.get(3),
                attempts: r.get(4),
                purpose: r.get(5),
                body: r.get(6),
                sender_kind: r.get(7),
            })
    }

    /// Waits until the command's row has `status`.
    pub async fn wait_status(&self, command_id: Uuid, status: &str) -> Row {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let row = self.row(command_id).await;
            if let Some(row) = &row
                && row.status == status
            {
                return row.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "command {command_id} never reached {status}: {row:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Moves the customer's last inbound message `ago` into the past.
    pub async fn last_inbound(&self, ago: &str) {
        let client = self.db.pool.get().await.unwrap();
        client
            .execute(
                "UPDATE conversations SET last_inbound_at = now() - $2::text::interval WHERE id = $1",
                &[&self.conversation, &ago],
            )
            .await
            .unwrap();
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub status: String,
    pub content_kind: String,
    pub wa_message_id: Option<String>,
    pub error_title: Option<String>,
    pub attempts: i32,
    pub purpose: Option<String>,
    pub body: Option<String>,
    pub sender_kind: String,
}

pub fn template(name: &str) -> Template {
    Template {
        name: name.into(),
        language: "es_MX".into(),
        header: vec![],
        body: vec![cita_shared::contracts::outbound::Parameter {
            name: None,
            text: "Ana".into(),
        }],
        buttons: vec![],
    }
}
