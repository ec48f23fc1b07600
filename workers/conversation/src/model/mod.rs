//! Calls to Anthropic's Messages API through `anthropic-sdk-rs`, under a thin typed layer:
//! a request the worker builds (the SDK's free-form `extra` is filled here only, so
//! reserved keys can't leak in twice), a response with typed blocks, stop reason and
//! usage, and one classification of failures.
//!
//! The SDK's own retries are off (`max_retries: 0`): the turn owns the retry policy, and
//! one whole-call timeout bounds headers *and* body (the SDK's stops at the headers).

pub mod blocks;

use std::{collections::BTreeMap, time::Duration};

use anthropic_sdk::{
    Anthropic, ClientOptions, Error as SdkError, HttpApiError, RequestOptions,
    types::messages::{MessageContent, MessageCreateParams, MessageParam},
};
use cita_shared::config::{ConversationSettings, ModelPrices};
use serde_json::{Value, json};

pub use blocks::{Block, StopReason, Usage, tool_result};

/// One call's input. `system` and `tools` carry their cache breakpoints already.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub system: Vec<Value>,
    pub tools: Vec<Value>,
    /// `{role, content}` objects, alternating, starting with the user.
    pub messages: Vec<Value>,
    /// An opaque hash of organization and person (never a phone or a name).
    pub user_hash: String,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub request_id: Option<String>,
    /// The content array exactly as returned: what goes back in the next call.
    pub content: Vec<Value>,
    pub blocks: Vec<Block>,
    pub stop: StopReason,
    pub usage: Usage,
}

impl Response {
    /// The text blocks joined: what the person reads.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text(t) if !t.trim().is_empty() => Some(t.trim()),
                _ => None,
            })
            .collect();
        parts.join("\n\n")
    }
}

/// Every way a call fails, classified once.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Rate limits (429), overload (529), server errors, conflicts, timeouts, a broken
    /// connection or body: worth another try.
    #[error("the model is unavailable ({status:?}, request id {request_id:?}): {message}")]
    Unavailable {
        status: Option<u16>,
        message: String,
        request_id: Option<String>,
    },
    /// The API refused the request as invalid (400, 413, 422): a bug in the request.
    #[error(
        "the model refused the request as invalid ({status}, request id {request_id:?}): {message}"
    )]
    BadRequest {
        status: u16,
        message: String,
        request_id: Option<String>,
    },
    /// The key, the account or the model id is wrong (401, 402, 403, 404): retrying
    /// within the turn can't help; an operator must act.
    #[error("the model API refused our account ({status}, request id {request_id:?}): {message}")]
    Account {
        status: u16,
        message: String,
        request_id: Option<String>,
    },
}

impl CallError {
    /// A label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            CallError::Unavailable { .. } => "unavailable",
            CallError::BadRequest { .. } => "bad_request",
            CallError::Account { .. } => "account",
        }
    }
}

/// The model, its bounds and its prices.
#[derive(Clone)]
pub struct Model {
    client: Anthropic,
    pub name: String,
    pub prices: ModelPrices,
    max_tokens: u32,
    timeout: Duration,
}

impl Model {
    /// `None` when no API key is configured.
    pub fn from_settings(settings: &ConversationSettings) -> Option<Result<Self, SdkError>> {
        let key = settings.anthropic_api_key.as_ref()?;
        // Every field explicit: `ClientOptions::default()` would read ANTHROPIC_* from the
        // environment (an ambient ANTHROPIC_AUTH_TOKEN would add a Bearer header).
        let client = Anthropic::new(ClientOptions {
            api_key: Some(key.expose().to_owned()),
            auth_token: None,
            base_url: Some(settings.anthropic_base_url.clone()),
            timeout: Some(settings.call_timeout),
            max_retries: Some(0),
            default_headers: Default::default(),
        });
        Some(client.map(|client| Model {
            client,
            name: settings.model.clone(),
            prices: settings.prices,
            max_tokens: settings.max_tokens,
            timeout: settings.call_timeout,
        }))
    }

    pub async fn call(&self, request: &Request) -> Result<Response, CallError> {
        let mut extra = BTreeMap::new();
        extra.insert("system".to_owned(), Value::Array(request.system.clone()));
        if !request.tools.is_empty() {
            extra.insert("tools".to_owned(), Value::Array(request.tools.clone()));
            extra.insert("tool_choice".to_owned(), json!({"type": "auto"}));
        }
        extra.insert("metadata".to_owned(), json!({"user_id": request.user_hash}));
        let params = MessageCreateParams {
            model: self.name.clone(),
            max_tokens: u64::from(self.max_tokens),
            messages: request.messages.iter().map(param).collect(),
            stream: None,
            extra,
        };
        let options = RequestOptions {
            timeout: Some(self.timeout),
            max_retries: Some(0),
            ..Default::default()
        };
        let sent = self
            .client
            .messages
            .create_with_response(params, Some(options));
        let response = match tokio::time::timeout(self.timeout, sent).await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => return Err(classify(error)),
            Err(_) => {
                return Err(CallError::Unavailable {
                    status: None,
                    message: format!("no complete answer within {:?}", self.timeout),
                    request_id: None,
                });
            }
        };
        let message = response.data;
        Ok(Response {
            request_id: response.request_id,
            blocks: message.content.iter().map(Block::parse).collect(),
            stop: StopReason::parse(message.stop_reason.as_deref()),
            usage: Usage::parse(&message.usage),
            content: message.content,
        })
    }
}

fn param(message: &Value) -> MessageParam {
    let role = message["role"].as_str().unwrap_or("user").to_owned();
    let content = match &message["content"] {
        Value::String(text) => MessageContent::Text(text.clone()),
        Value::Array(blocks) => MessageContent::Blocks(blocks.clone()),
        other => MessageContent::Text(other.to_string()),
    };
    MessageParam { role, content }
}

fn classify(error: SdkError) -> CallError {
    let unavailable =
        |status: Option<u16>, message: String, request_id: Option<String>| CallError::Unavailable {
            status,
            message,
            request_id,
        };
    match error {
        SdkError::Http(http) => {
            let api = match &http {
                HttpApiError::BadRequest(e)
                | HttpApiError::Authentication(e)
                | HttpApiError::PermissionDenied(e)
                | HttpApiError::NotFound(e)
                | HttpApiError::Conflict(e)
                | HttpApiError::UnprocessableEntity(e)
                | HttpApiError::RateLimit(e)
                | HttpApiError::InternalServer(e)
                | HttpApiError::Other(e) => e,
            };
            let status = api.status.map(|s| s.as_u16());
            let kind = api
                .body
                .as_ref()
                .and_then(|b| b.pointer("/error/type"))
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let detail = api
                .body
                .as_ref()
                .and_then(|b| b.pointer("/error/message"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| api.message.clone())
                .unwrap_or_default();
            let message = format!("{kind}: {detail}");
            let request_id = api.request_id.clone().or_else(|| {
                api.body
                    .as_ref()
                    .and_then(|b| b["request_id"].as_str())
                    .map(str::to_owned)
            });
            match status {
                Some(status @ (400 | 413 | 422)) => CallError::BadRequest {
                    status,
                    message,
                    request_id,
                },
                Some(status @ 401..=404) => CallError::Account {
                    status,
                    message,
                    request_id,
                },
                _ => unavailable(status, message, request_id),
            }
        }
        SdkError::Timeout => unavailable(None, "timed out".into(), None),
        SdkError::Transport(error) => unavailable(None, format!("transport: {error}"), None),
        SdkError::Json(error) => unavailable(None, format!("unreadable response: {error}"), None),
        other => unavailable(None, other.to_string(), None),
    }
}
