//! The broker topology of DESIGN.md, as data. Every binary declares all of it at start
//! (declarations are idempotent), and `rabbitmq/definitions.json` mirrors it for operators
//! who provision the broker up front; a test keeps the two equal.
//!
//! Names are prefixed with `CITA_AMQP_PREFIX` (empty by default) so that tests and
//! environments can share one broker. Routing keys are never prefixed.

use lapin::{
    Channel, ExchangeKind,
    options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};

/// Exchange where the ingress publishes raw webhook bodies.
pub const WA_WEBHOOKS: &str = "wa.webhooks";
/// Routing key of raw WhatsApp webhook bodies.
pub const WHATSAPP_ROUTING_KEY: &str = "whatsapp";
/// Exchange where the ingress publishes payment providers' notifications, apart from
/// Meta's so that no WhatsApp consumer ever sees one.
pub const PAYMENT_WEBHOOKS: &str = "payments.webhooks";
/// Routing key of Mercado Pago's notifications.
pub const MERCADOPAGO_ROUTING_KEY: &str = "mercadopago";
/// Direct exchange for commands (`scheduling.rpc`, `outbound.send`).
pub const CITA_COMMANDS: &str = "cita.commands";
/// Topic exchange for domain events (`appointment.booked`, …).
pub const CITA_EVENTS: &str = "cita.events";
/// Dead-letter exchange: each work queue dead-letters with its own name as routing key.
pub const CITA_DLX: &str = "cita.dlx";

pub const CONVERSATION_INBOUND: &str = "conversation.inbound";
pub const SCHEDULING_RPC: &str = "scheduling.rpc";
pub const OUTBOUND_SEND: &str = "outbound.send";
pub const REMINDERS_EVENTS: &str = "reminders.events";
/// Payment notifications, signature checked, waiting to be re-fetched and believed.
pub const PAYMENTS_NOTIFICATIONS: &str = "payments.notifications";
/// New deposit holds, whose payment links scheduling makes, and the cancellations and
/// no-shows that refund or keep a paid deposit.
pub const SCHEDULING_DEPOSITS: &str = "scheduling.deposits";
/// Turns to run: a conversation has inbound messages waiting for the assistant.
pub const CONVERSATION_TURNS: &str = "conversation.turns";

/// A delay tier for retrying a work queue: a message published to the tier's queue (on
/// the default exchange) waits out `delay_ms`, then dead-letters back through
/// `cita.commands` to `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryTier {
    pub queue: &'static str,
    pub delay_ms: i32,
    pub target: &'static str,
}

/// Exponential, ×4 per attempt (1, 4, 16, 64, 256 s): Meta's advice for the pair rate
/// limit (131056), and wide enough for 5xx storms. Attempts past the last tier reuse it.
pub const OUTBOUND_RETRY_TIERS: &[RetryTier] = &[
    RetryTier {
        queue: "outbound.send.retry.1s",
        delay_ms: 1_000,
        target: OUTBOUND_SEND,
    },
    RetryTier {
        queue: "outbound.send.retry.4s",
        delay_ms: 4_000,
        target: OUTBOUND_SEND,
    },
    RetryTier {
        queue: "outbound.send.retry.16s",
        delay_ms: 16_000,
        target: OUTBOUND_SEND,
    },
    RetryTier {
        queue: "outbound.send.retry.64s",
        delay_ms: 64_000,
        target: OUTBOUND_SEND,
    },
    RetryTier {
        queue: "outbound.send.retry.256s",
        delay_ms: 256_000,
        target: OUTBOUND_SEND,
    },
];

/// A turn the model could not answer is tried again after 15 s, 1 min, then every 5 min,
/// while the person's messages wait unanswered (never lost).
pub const TURN_RETRY_TIERS: &[RetryTier] = &[
    RetryTier {
        queue: "conversation.turns.retry.15s",
        delay_ms: 15_000,
        target: CONVERSATION_TURNS,
    },
    RetryTier {
        queue: "conversation.turns.retry.60s",
        delay_ms: 60_000,
        target: CONVERSATION_TURNS,
    },
    RetryTier {
        queue: "conversation.turns.retry.300s",
        delay_ms: 300_000,
        target: CONVERSATION_TURNS,
    },
];

/// The outbound tier for the `n`-th retry (1-based).
pub fn retry_tier(n: u32) -> RetryTier {
    tier_of(OUTBOUND_RETRY_TIERS, n)
}

/// The tier of `tiers` for the `n`-th retry (1-based); retries past the last reuse it.
pub fn tier_of(tiers: &[RetryTier], n: u32) -> RetryTier {
    let i = (n.max(1) as usize - 1).min(tiers.len() - 1);
    tiers[i]
}

/// A queue redelivered this many times (a consumer crashed or requeued it each time) is
/// dead-lettered instead of looping forever. RabbitMQ 4 defaults to 20; 3.x has no limit
/// unless it is declared, so it is declared.
pub const DELIVERY_LIMIT: i32 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeType {
    Direct,
    Topic,
}

impl ExchangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeType::Direct => "direct",
            ExchangeType::Topic => "topic",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub name: String,
    pub kind: ExchangeType,
}

/// A queue argument value: the broker distinguishes strings from numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Str(String),
    Int(i32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub name: String,
    /// Sorted by key.
    pub arguments: Vec<(&'static str, Arg)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub exchange: String,
    pub queue: String,
    pub routing_key: String,
}

/// A work queue: where it is bound and with which keys. Each has a `<name>.dead` twin.
struct WorkQueue {
    name: &'static str,
    exchange: &'static str,
    routing_keys: &'static [&'static str],
}

const WORK_QUEUES: &[WorkQueue] = &[
    WorkQueue {
        name: CONVERSATION_INBOUND,
        exchange: WA_WEBHOOKS,
        routing_keys: &["#"],
    },
    WorkQueue {
        name: SCHEDULING_RPC,
        exchange: CITA_COMMANDS,
        routing_keys: &[SCHEDULING_RPC],
    },
    WorkQueue {
        name: OUTBOUND_SEND,
        exchange: CITA_COMMANDS,
        routing_keys: &[OUTBOUND_SEND],
    },
    WorkQueue {
        name: CONVERSATION_TURNS,
        exchange: CITA_COMMANDS,
        routing_keys: &[CONVERSATION_TURNS],
    },
    WorkQueue {
        name: PAYMENTS_NOTIFICATIONS,
        exchange: PAYMENT_WEBHOOKS,
        routing_keys: &[MERCADOPAGO_ROUTING_KEY],
    },
    WorkQueue {
        name: SCHEDULING_DEPOSITS,
        exchange: CITA_EVENTS,
        routing_keys: &[
            "appointment.held",
            "appointment.cancelled",
            "appointment.status_changed",
        ],
    },
    WorkQueue {
        name: REMINDERS_EVENTS,
        exchange: CITA_EVENTS,
        routing_keys: &["appointment.*", "conversation.*", "organization.*"],
    },
];

/// The whole topology under one name prefix.
#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
}

impl Topology {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The broker name of an exchange or queue.
    pub fn name(&self, base: &str) -> String {
        format!("{}{base}", self.prefix)
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        [
            (WA_WEBHOOKS, ExchangeType::Topic),
            (PAYMENT_WEBHOOKS, ExchangeType::Topic),
            (CITA_COMMANDS, ExchangeType::Direct),
            (CITA_EVENTS, ExchangeType::Topic),
            (CITA_DLX, ExchangeType::Direct),
        ]
        .into_iter()
        .map(|(base, kind)| Exchange {
            name: self.name(base),
            kind,
        })
        .collect()
    }

    pub fn queues(&self) -> Vec<Queue> {
        let quorum = || ("x-queue-type", Arg::Str("quorum".into()));
        WORK_QUEUES
            .iter()
            .flat_map(|q| {
                let work = Queue {
                    name: self.name(q.name),
                    arguments: vec![
                        ("x-dead-letter-exchange", Arg::Str(self.name(CITA_DLX))),
                        ("x-dead-letter-routing-key", Arg::Str(q.name.into())),
                        ("x-delivery-limit", Arg::Int(DELIVERY_LIMIT)),
                        quorum(),
                    ],
                };
                let dead = Queue {
                    name: self.name(&dead_name(q.name)),
                    arguments: vec![quorum()],
                };
                [work, dead]
            })
            .chain(retry_tiers().map(|tier| Queue {
                name: self.name(tier.queue),
                arguments: vec![
                    ("x-dead-letter-exchange", Arg::Str(self.name(CITA_COMMANDS))),
                    ("x-dead-letter-routing-key", Arg::Str(tier.target.into())),
                    ("x-message-ttl", Arg::Int(tier.delay_ms)),
                    quorum(),
                ],
            }))
            .collect()
    }

    pub fn bindings(&self) -> Vec<Binding> {
        WORK_QUEUES
            .iter()
            .flat_map(|q| {
                let work = q.routing_keys.iter().map(|key| Binding {
                    exchange: self.name(q.exchange),
                    queue: self.name(q.name),
                    routing_key: (*key).into(),
                });
                let dead = Binding {
                    exchange: self.name(CITA_DLX),
                    queue: self.name(&dead_name(q.name)),
                    routing_key: q.name.into(),
                };
                work.chain(std::iter::once(dead))
            })
            .collect()
    }

    /// Declares every exchange, queue and binding. Idempotent; a queue that exists with
    /// other arguments makes the broker close the channel (406), which is returned.
    pub async fn declare(&self, channel: &Channel) -> Result<(), lapin::Error> {
        for exchange in self.exchanges() {
            let kind = match exchange.kind {
                ExchangeType::Direct => ExchangeKind::Direct,
                ExchangeType::Topic => ExchangeKind::Topic,
            };
            channel
                .exchange_declare(
                    exchange.name.as_str().into(),
                    kind,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await?;
        }
        for queue in self.queues() {
            let mut arguments = FieldTable::default();
            for (key, value) in queue.arguments {
                let value = match value {
                    Arg::Str(s) => AMQPValue::LongString(s.into()),
                    Arg::Int(i) => AMQPValue::LongInt(i),
                };
                arguments.insert(key.into(), value);
            }
            channel
                .queue_declare(
                    queue.name.as_str().into(),
                    QueueDeclareOptions::durable(),
                    arguments,
                )
                .await?;
        }
        for binding in self.bindings() {
            channel
                .queue_bind(
                    binding.queue.as_str().into(),
                    binding.exchange.as_str().into(),
                    binding.routing_key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }
}

/// Every retry tier of every work queue.
pub fn retry_tiers() -> impl Iterator<Item = &'static RetryTier> {
    OUTBOUND_RETRY_TIERS.iter().chain(TURN_RETRY_TIERS)
}

/// The dead-letter queue of a work queue.
pub fn dead_name(work_queue: &str) -> String {
    format!("{work_queue}.dead")
}
